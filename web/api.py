"""JSON API under /api/v1: Bearer tokens, the same services, roles and scopes as the pages.
Errors are {"error": {"code", "message"}} with a Chinese message.

Every route parses its query string and body into the contracts its entry in web/openapi.py
names, and answers through its result contract: a body that does not fit is a 422 (a wrong
type, an unknown field, a date not written 2026-11-18); a query value that is not one of the
listed choices a 422 and a malformed one a 400; a refusal of the rules a 400, a stale version
a 409."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import TypeAdapter

from resettle.errors import DomainError
from services import ledger, registry
from services.contracts import ContractError, Query, parse
from services.registry_import import import_sheets
from web import keys, limits, uploads
from web.fields import field, flag
from web.forms import record_from_form
from web.openapi import BY_ROUTE, OPENAPI, Operation
from web.security import api_error, is_api, work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


def _operation(request: web.Request) -> Operation:
    route = request.match_info.route
    return BY_ROUTE[(route.method, route.resource.canonical)]


@cache
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def respond(request: web.Request, data, status: int | None = None) -> web.Response:
    """`data` serialised through the route's result contract."""
    operation = _operation(request)
    adapter = _adapter(operation.result)
    result = adapter.dump_python(adapter.validate_python(data), mode="json")
    return web.json_response(result, status=status or operation.status,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def json_object(request: web.Request) -> dict:
    """The request body as a JSON object, or a 400 in the API's error shape."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # [[[…]]] deeper than the parser goes
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="请求体应为 JSON 对象")
    return body


async def body_of(request: web.Request) -> dict:
    """The fields the body gives, parsed into the route's body contract."""
    try:
        return parse(_operation(request).body, await json_object(request)).given()
    except ContractError as exc:
        raise web.HTTPUnprocessableEntity(reason="Invalid body", text=exc.message) from None


def query_of(request: web.Request) -> Query:
    """The query string parsed into the route's query contract."""
    try:
        return parse(_operation(request).query, dict(request.query))
    except ContractError as exc:
        if exc.choice:
            raise web.HTTPUnprocessableEntity(reason="Invalid parameter", text=exc.message) from None
        raise DomainError(exc.message) from None


@web.middleware
async def query_middleware(request: web.Request, handler):
    """On the API a parameter given is a parameter meant: `?limit=` is refused, not read as
    the default (leave a parameter out to get its default)."""
    if is_api(request):
        empty = sorted({k for k, v in request.query.items() if not v.strip()})
        if empty:
            return api_error(400, "invalid_parameter", f"参数 {'、'.join(empty)} 不能为空（不需要时请不写该参数）")
    return await handler(request)


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return respond(request, OPENAPI)


@routes.get("/api/v1/registry/stats")
async def stats(request: web.Request) -> web.Response:
    by = query_of(request).by
    service = registry.township_stats if by == "township" else registry.community_stats
    return respond(request, await service(work(request)))


@routes.get("/api/v1/households")
async def households(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await registry.search_households(work(request), q.q, limit=q.limit, offset=q.offset))


@routes.get("/api/v1/households/{agreement_no}")
async def household(request: web.Request) -> web.Response:
    return respond(request, await registry.show_household(work(request), field(request.match_info, "agreement_no")))


@routes.post("/api/v1/households/{agreement_no}/events")
async def record(request: web.Request) -> web.Response:
    """The same fields as the page's form, read by the same helpers."""
    data = await body_of(request)
    return respond(request, await record_from_form(work(request), field(request.match_info, "agreement_no"),
                                                   {k: field(data, k) for k in data}))


async def _option(part) -> str:
    """A yes/no multipart field, read no further than such a value goes."""
    value = b""
    while chunk := await part.read_chunk():
        value += chunk
        if len(value) > 16:
            raise DomainError(f"字段 {part.name} 只能是 true 或 false")
    return value.decode("utf-8", "replace")


@routes.post("/api/v1/imports")
@limits.body_limit(limits.SHEET_LIMIT, upload=True)
async def imports(request: web.Request) -> web.Response:
    """A multipart sheet (field `sheet`) and `skip_invalid`; the CLI's JSON summary plus every
    problem row."""
    w = work(request)
    who = w.actor
    if not request.content_type.startswith("multipart/"):
        return api_error(415, "unsupported_media_type", "请用 multipart/form-data 上传，文件字段名为 sheet")
    folder = request.app[keys.UPLOADS]
    upload, options = None, {}
    try:
        try:
            # each field once, and nothing else: a streamed body is bounded part by part (one
            # sheet up to the route's limit, a few bytes per option), never read on regardless
            async for part in await request.multipart():
                if part.name in options or (part.name == "sheet" and upload is not None):
                    raise DomainError(f"字段 {part.name} 只能出现一次")
                if part.name == "sheet":
                    upload = await uploads.save_part(request, who, part)
                elif part.name in ("skip_invalid", "dry_run"):
                    options[part.name] = flag({part.name: await _option(part)}, part.name)
                else:
                    raise DomainError(f"不认识的字段 {part.name}：只有 sheet、skip_invalid 和 dry_run")
        except (HttpProcessingError, ValueError):
            return api_error(400, "bad_multipart", "上传内容不是有效的 multipart/form-data")
        if upload is None:
            return api_error(422, "missing_file", "缺少文件字段 sheet（.xlsx 或 .csv）")
        report = await import_sheets(w, [uploads.find(folder, who, upload)],
                                     skip_invalid=options.get("skip_invalid", False),
                                     dry_run=options.get("dry_run", False))
    finally:
        if upload:
            uploads.discard(folder, upload)
    status = {"rejected": 422, "partial": 200, "preview": 200}.get(report.outcome, 200)
    return respond(request, {**report.summary(), "issues": [vars(i) for i in report.issues]}, status=status)


@routes.get("/api/v1/ledger/handoffs")
async def ledger_handoffs(request: web.Request) -> web.Response:
    q = query_of(request)
    return respond(request, await ledger.list_handoffs(
        work(request), township=q.township or None, direction=q.direction, overdue=q.overdue,
        open_only=not q.all, limit=q.limit, offset=q.offset))


@routes.post("/api/v1/ledger/handoffs/actions")
async def ledger_act(request: web.Request) -> web.Response:
    """Per-item results: each hand-off succeeds or fails on its own."""
    body = await body_of(request)
    return respond(request, {"results": await ledger.act(work(request), body.pop("ids"), body.pop("action"),
                                                         **body)})


@routes.get("/api/v1/ledger/persons/{key}")
async def ledger_person(request: web.Request) -> web.Response:
    return respond(request, await ledger.person_ledger(work(request), field(request.match_info, "key")))
