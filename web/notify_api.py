"""The JSON API of messages: one's own notices (the bell) and marking them read; for the office,
what the outbox holds per group, and 督办. Thin: parse, call, answer."""

from __future__ import annotations

from aiohttp import web

from services import notify
from web.api import body_of, respond
from web.security import work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/api/v1/notices")
async def notices(request: web.Request) -> web.Response:
    w = work(request)
    return respond(request, {"unread": await notify.unread(w), "items": await notify.notices(w)})


@routes.post("/api/v1/notices/read")
async def read(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, {"marked": await notify.mark_read(work(request), body.get("ids"))})


@routes.get("/api/v1/notify/status")
async def status(request: web.Request) -> web.Response:
    return respond(request, await notify.status(work(request)))


@routes.get("/api/v1/escalations")
async def escalations(request: web.Request) -> web.Response:
    return respond(request, await notify.escalations(work(request)))


@routes.post("/api/v1/escalations")
async def escalate(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await notify.escalate(work(request), body["object_type"], body["object_id"], body["note"],
                                                  body["new_due"]))
