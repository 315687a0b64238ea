"""The JSON API of tags and groups: 一老一小一残 counts, a person's tags, the owner's grants,
renewals, closings and review list, and the age refresh. Thin: parse, call, answer."""

from __future__ import annotations

from aiohttp import web

from services import groups, tags
from web.api import body_of, query_of, respond
from web.fields import ID, field, path_id
from web.security import work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/api/v1/registry/groups")
async def group_counts(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await groups.group_counts(work(request), by=q.by, on=q.on))


@routes.get("/api/v1/persons/{key}/tags")
async def person_tags(request: web.Request) -> web.Response:
    return respond(request, await tags.person_tags(work(request), field(request.match_info, "key"),
                                                   on=query_of(request).on))


@routes.post("/api/v1/tags/grants")
async def grant(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await tags.grant(work(request), body.pop("person"), body.pop("tag"), **body))


@routes.post(f"/api/v1/tags/grants/{ID}/renew")
async def renew(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await tags.renew(work(request), path_id(request), valid_to=body.get("valid_to"),
                                             expected_version=body.get("version")))


@routes.post(f"/api/v1/tags/grants/{ID}/close")
async def close(request: web.Request) -> web.Response:
    body = await body_of(request)
    return respond(request, await tags.close(work(request), path_id(request), body["reason"],
                                             expected_version=body.get("version")))


@routes.get("/api/v1/tags/review")
async def review(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await tags.review_list(work(request), owner=q.owner, state=q.state, limit=q.limit,
                                                   offset=q.offset))


@routes.post("/api/v1/tags/refresh")
async def refresh(request: web.Request) -> web.Response:
    return respond(request, await tags.refresh(work(request), (await body_of(request)).get("on")))
