"""The ledger's JSON API: hand-offs (listed and acted on in batches) and a person's ledger."""

from __future__ import annotations

from aiohttp import web

from services import ledger, ledger_views
from web.api import body_of, query_of, respond
from web.fields import ID, field, path_id
from web.security import work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/api/v1/ledger/handoffs")
async def ledger_handoffs(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await ledger_views.list_handoffs(
        work(request), township=q.township or None, direction=q.direction, overdue=q.overdue,
        open_only=not q.all, kind=q.kind, status=q.status, counterpart=q.counterpart, search=q.q,
        limit=q.limit, offset=q.offset))


@routes.get(f"/api/v1/ledger/handoffs/{ID}")
async def ledger_handoff(request: web.Request) -> web.Response:
    return respond(request, await ledger_views.handoff_detail(work(request), path_id(request)))


@routes.post("/api/v1/ledger/handoffs/actions")
async def ledger_act(request: web.Request) -> web.Response:
    """Per-item results: each hand-off succeeds or fails on its own."""
    body = await body_of(request)
    return respond(request, {"results": await ledger.act(work(request), body.pop("ids"), body.pop("action"),
                                                         **body)})


@routes.get("/api/v1/ledger/persons/{key}")
async def ledger_person(request: web.Request) -> web.Response:
    return respond(request, await ledger.person_ledger(work(request), field(request.match_info, "key")))
