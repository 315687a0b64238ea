"""The JSON API of governance projects, over the same services as their pages. Amounts are
integer fen both ways. Bodies are checked against their schemas in the OpenAPI document (as the
desk's are): a wrong type or an unknown field is a 422; a refusal of the rules a 400; a stale
version a 409."""

from __future__ import annotations

from aiohttp import web

from services import funding
from web.api import respond
from web.desk_api import body_of
from web.fields import ID, field, path_id, whole
from web.funding_pages import year_of
from web.security import actor

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/api/v1/funding/projects")
async def projects(request: web.Request) -> web.Response:
    q = request.query
    return respond(await funding.list_projects(
        actor(request), year=year_of(q), status=field(q, "status") or None, township=field(q, "township") or None,
        limit=whole(q, "limit", "参数 limit ", 1, 200) or 200,
        offset=whole(q, "offset", "参数 offset ", 0, 10**9) or 0))


@routes.post("/api/v1/funding/projects")
async def draft(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingDraft")
    return respond(await funding.draft(actor(request), **body), status=201)


@routes.post("/api/v1/funding/preview")
async def preview(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingDraft")
    return respond(await funding.preview(actor(request), **body))


@routes.get(f"/api/v1/funding/projects/{ID}")
async def project(request: web.Request) -> web.Response:
    return respond(await funding.show(actor(request), path_id(request)))


@routes.patch(f"/api/v1/funding/projects/{ID}")
async def update(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingUpdate")
    return respond(await funding.update(actor(request), path_id(request), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/submit")
async def submit(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingSubmit")
    return respond(await funding.submit(actor(request), path_id(request), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/verify")
async def verify(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingAmount")
    return respond(await funding.verify(actor(request), path_id(request), body.pop("amount"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/approve")
async def approve(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingAmount")
    return respond(await funding.approve(actor(request), path_id(request), body.pop("amount"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/return")
async def send_back(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingReason")
    return respond(await funding.send_back(actor(request), path_id(request), "returned", body.pop("reason"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/reject")
async def reject(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingReason")
    return respond(await funding.send_back(actor(request), path_id(request), "rejected", body.pop("reason"), **body))


@routes.post(f"/api/v1/funding/projects/{ID}/complete")
async def complete(request: web.Request) -> web.Response:
    body = await body_of(request, "FundingComplete")
    return respond(await funding.complete(actor(request), path_id(request), **body))


@routes.get("/api/v1/funding/queue")
async def queue(request: web.Request) -> web.Response:
    q = request.query
    return respond(await funding.queue(actor(request), year=year_of(q),
                                       limit=whole(q, "limit", "参数 limit ", 1, 200) or funding.QUEUE_PAGE,
                                       offset=whole(q, "offset", "参数 offset ", 0, 10**9) or 0))


@routes.get("/api/v1/funding/summary")
async def summary(request: web.Request) -> web.Response:
    return respond(await funding.summary(actor(request), year_of(request.query) or funding.today().year))


@routes.get("/api/v1/funding/envelope")
async def envelope(request: web.Request) -> web.Response:
    return respond(await funding.envelope(actor(request), year_of(request.query) or funding.today().year))
