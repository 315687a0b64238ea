"""The JSON API of governance projects, over the same services as their pages. Amounts are
integer fen both ways; bodies and query strings are parsed into the contracts of
services/funding_contracts.py through the route table (web/openapi.py)."""

from __future__ import annotations

from aiohttp import web

from services import funding
from web import security
from web.api import body_of, query_of, respond
from web.fields import ID, path_id

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/api/v1/funding/projects")
async def projects(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await funding.list_projects(
        security.work(request), year=q.year, status=q.status or None, township=q.township or None, limit=q.limit,
        offset=q.offset))


@routes.post("/api/v1/funding/projects")
async def draft(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.draft(security.work(request), **body))


@routes.post("/api/v1/funding/preview")
async def preview(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.preview(security.work(request), **body))


@routes.get(f"/api/v1/funding/projects/{ID}")
async def project(request: web.Request) -> web.Response:
    return respond(request, await funding.show(security.work(request), path_id(request)))


@routes.patch(f"/api/v1/funding/projects/{ID}")
async def update(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.update(security.work(request), path_id(request), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/submit")
async def submit(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.submit(security.work(request), path_id(request), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/verify")
async def verify(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.verify(security.work(request), path_id(request), body.pop("amount"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/approve")
async def approve(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.approve(security.work(request), path_id(request), body.pop("amount"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/return")
async def send_back(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.send_back(security.work(request), path_id(request), "returned",
                                                    body.pop("reason"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/reject")
async def reject(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.send_back(security.work(request), path_id(request), "rejected",
                                                    body.pop("reason"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/complete")
async def complete(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await funding.complete(security.work(request), path_id(request), **body))


@routes.get("/api/v1/funding/queue")
async def queue(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await funding.queue(security.work(request), year=q.year, limit=q.limit,
                                                offset=q.offset))


@routes.get("/api/v1/funding/summary")
async def summary(request: web.Request) -> web.Response:
    w = security.work(request)
    return respond(request, await funding.summary(w, query_of(request).year or w.today.year))


@routes.get("/api/v1/funding/envelope")
async def envelope(request: web.Request) -> web.Response:
    w = security.work(request)
    return respond(request, await funding.envelope(w, query_of(request).year or w.today.year))
