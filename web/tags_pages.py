"""The registry's tag and group pages: 一老一小一残 counts with their rosters (xlsx, PDF), and
the owner's review list of basic tags with renew and close. Thin: parse, call, render."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from resettle.errors import DomainError
from resettle.rules.permissions import allowed
from services import groups, tags
from services.contracts import ContractError, parse
from services.tags_contracts import Close, Renew
from web import downloads
from web.fields import day, field, number, page_of
from web.security import work

routes = web.RouteTableDef()
ROSTER_TYPES = ("xlsx", "pdf")


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/registry/groups")
@aiohttp_jinja2.template("groups.html")
async def group_counts(request: web.Request) -> dict:
    w, q = work(request), request.query
    by = field(q, "by") or "township"
    if by not in ("township", "community"):
        raise DomainError("只能按乡镇或按安置社区统计")
    on = day(field(q, "on"), "统计日") or w.today
    rows = await groups.group_counts(w, by=by, on=on)
    return {"by": by, "rows": rows, "on": on.isoformat(), "labels": groups.GROUPS,
            "roster": allowed(w.actor.role, "groups.roster")}


@routes.get("/registry/groups/roster")
async def roster(request: web.Request) -> web.Response:
    w, q = work(request), request.query
    group, fmt = field(q, "group"), field(q, "format")
    if group not in groups.GROUPS:
        raise DomainError(f"人群只能是：{'、'.join(groups.GROUPS)}")
    if fmt not in ROSTER_TYPES:
        raise DomainError("名册只能下载为 xlsx 或 pdf")
    on = day(field(q, "on"), "统计日") or w.today
    result = await groups.roster(w, group, on=on)
    return await downloads.attachment(lambda path: groups.write_roster(result, path) and path,
                                      f"一老一小一残名册-{groups.GROUPS[group]}-{on.isoformat()}", fmt)


@routes.get("/registry/tags/review")
@aiohttp_jinja2.template("tags_review.html")
async def review(request: web.Request) -> dict:
    w, q = work(request), request.query
    state = field(q, "state")
    if state not in ("", "expired", "due"):
        raise DomainError("状态只能是已到期或临近复核")
    page = page_of(q)
    found = await tags.review_list(w, owner=field(q, "owner")[:64], state=state, limit=tags.PAGE,
                                   offset=(page - 1) * tags.PAGE)
    return {"found": found, "state": state, "page": page, "pages": max(1, -(-found["total"] // tags.PAGE)),
            "error": field(q, "error")[:200], "done": field(q, "done")[:200]}


async def _step(request: web.Request, act) -> web.Response:
    form = await request.post()
    back = "/registry/tags/review"
    try:
        result = await act(form)
    except DomainError as exc:
        raise web.HTTPSeeOther(f"{back}?{_query(error=exc.message)}") from None
    raise web.HTTPSeeOther(f"{back}?{_query(done=result)}")


def _query(**values: str) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


def _form(model, form, **values):
    """The form's fields as the use case's contract (bounded, Chinese refusals)."""
    try:
        return parse(model, {k: v for k, v in values.items() if v is not None})
    except ContractError as exc:
        raise DomainError(exc.message) from None


@routes.post(r"/registry/tags/{id:\d{1,9}}/renew")
async def renew(request: web.Request) -> web.Response:
    async def act(form) -> str:
        w = work(request)
        given = _form(Renew, form, version=number(field(form, "version"), "版本号"))
        result = await tags.renew(w, int(request.match_info["id"]),
                                  valid_to=day(field(form, "valid_to"), "有效期止"),
                                  expected_version=given.version)
        return f"已续期“{result['tag']}”至{result['valid_to']}"
    return await _step(request, act)


@routes.post(r"/registry/tags/{id:\d{1,9}}/close")
async def close(request: web.Request) -> web.Response:
    async def act(form) -> str:
        w = work(request)
        given = _form(Close, form, reason=field(form, "reason"), version=number(field(form, "version"), "版本号"))
        result = await tags.close(w, int(request.match_info["id"]), given.reason, expected_version=given.version)
        return f"已关闭“{result['tag']}”，相关事项已随之关闭"
    return await _step(request, act)
