"""The joint desk's JSON API (every step of the loop), over the same services as its pages;
bodies and query strings are parsed into the desk's contracts (services/desk_contracts.py)
through the route table (web/openapi.py)."""

from __future__ import annotations

from aiohttp import web

from services import desk, desk_views
from services.contracts import Query
from web.api import body_of, query_of, respond
from web.desk_pages import community_key, span_of, week_of
from web.fields import ID, field, path_id
from web.security import work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


def _community(query: Query) -> str | None:
    return community_key(query.model_dump())


# ---------------------------------------------------------------- the loop


@routes.post("/api/v1/desk/demands")
async def intake(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.intake(work(request), body.pop("community", None), **body))


@routes.get(f"/api/v1/desk/demands/{ID}")
async def demand(request: web.Request) -> web.Response:
    return respond(request, await desk.demand_detail(work(request), path_id(request)))


@routes.post("/api/v1/desk/demands/link")
async def link(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.link(work(request), body.pop("demand_ids"), **body))


@routes.post(f"/api/v1/desk/demands/{ID}/answer")
async def answer(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.answer(work(request), path_id(request), body.pop("text"), **body))


@routes.post(f"/api/v1/desk/demands/{ID}/decline")
async def decline(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.decline(work(request), path_id(request), body.pop("reason"), **body))


@routes.post(f"/api/v1/desk/demands/{ID}/feedback")
async def feedback(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.record_feedback(work(request), path_id(request), body.pop("rating"), **body))


@routes.get(f"/api/v1/desk/problems/{ID}")
async def problem(request: web.Request) -> web.Response:
    return respond(request, await desk.problem_detail(work(request), path_id(request)))


@routes.patch(f"/api/v1/desk/problems/{ID}")
async def edit(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.edit_problem(work(request), path_id(request), **body))


@routes.post(f"/api/v1/desk/problems/{ID}/actions")
async def add_action(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.add_action(work(request), path_id(request), **body))


@routes.post(f"/api/v1/desk/actions/{ID}/complete")
async def complete(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await desk.complete_action(work(request), path_id(request), **body))


# ---------------------------------------------------------------- reading and the week


@routes.get("/api/v1/desk/similar")
async def similar(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await desk_views.similar_problems(work(request), _community(q), q.category, q.text))


@routes.get("/api/v1/desk/residents")
async def residents(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await desk_views.find_residents(work(request), _community(q), q.q))


@routes.get("/api/v1/desk/board")
async def board(request: web.Request) -> web.Response:
    w, q = work(request), query_of(request)
    return respond(request, await desk_views.board(w, _community(q), week_of(q.model_dump(), w.today)))


@routes.get("/api/v1/desk/agenda")
async def agenda(request: web.Request) -> web.Response:
    w, q = work(request), query_of(request)
    return respond(request, await desk_views.agenda(w, _community(q), week_of(q.model_dump(), w.today)))


@routes.put("/api/v1/desk/weeks/{week}")
async def save_week(request: web.Request) -> web.Response:
    body = await body_of(request)
    week = field(request.match_info, "week")
    return respond(request, await desk.save_week(work(request), _community(query_of(request)), week, **body))


@routes.get("/api/v1/desk/lists")
async def lists(request: web.Request) -> web.Response:
    w, q = work(request), query_of(request)
    return respond(request, await desk_views.lists(w, _community(q), span_of(q.model_dump(), w.today)))


@routes.get("/api/v1/desk/summary")
async def summary(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await desk_views.summary(work(request), township=q.township or None,
                                                     community=_community(q), month=q.month or ""))
