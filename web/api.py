"""JSON API under /api/v1: Bearer tokens, the same services, roles and scopes as the pages.
Errors are {"error": {"code", "message"}} with a Chinese message."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from resettle.errors import DomainError
from services import ledger, registry
from services.registry_import import import_sheets
from web import keys, limits, uploads
from web.fields import CONTROL, field, flag, whole
from web.forms import record_from_form
from web.openapi import OPENAPI
from web.security import actor, api_error, is_api

routes = web.RouteTableDef()
MAX_LIMIT = 200


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


def respond(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False, default=str))


async def json_object(request: web.Request) -> dict:
    """The request body as a JSON object, or a 400 in the API's error shape."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="请求体应为 JSON 对象")
    return body


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
    return respond(OPENAPI)


@routes.get("/api/v1/registry/stats")
async def stats(request: web.Request) -> web.Response:
    by = request.query.get("by", "township")
    if by not in ("township", "community"):
        return api_error(422, "invalid_parameter", "参数 by 只能是 township 或 community")
    service = registry.township_stats if by == "township" else registry.community_stats
    return respond(await service(actor(request)))


@routes.get("/api/v1/households")
async def households(request: web.Request) -> web.Response:
    limit = whole(request.query, "limit", "参数 limit ", 1, MAX_LIMIT) or registry.SEARCH_LIMIT
    offset = whole(request.query, "offset", "参数 offset ", 0, 10**9) or 0
    return respond(await registry.search_households(actor(request), field(request.query, "q"),
                                                    limit=limit, offset=offset))


@routes.get("/api/v1/households/{agreement_no}")
async def household(request: web.Request) -> web.Response:
    return respond(await registry.show_household(actor(request), field(request.match_info, "agreement_no")))


@routes.post("/api/v1/households/{agreement_no}/events")
async def record(request: web.Request) -> web.Response:
    body = await json_object(request)
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in body.values()):
        return api_error(422, "invalid_body", "请求体应为 JSON 对象，各字段为字符串或整数")
    data = {k: str(v) for k, v in body.items()}
    result = await record_from_form(actor(request), field(request.match_info, "agreement_no"),
                                    {k: field(data, k) for k in data})
    return respond(result, status=201)


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
    who = actor(request)
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
        report = await import_sheets(who, [uploads.find(folder, who, upload)],
                                     skip_invalid=options.get("skip_invalid", False),
                                     dry_run=options.get("dry_run", False))
    finally:
        if upload:
            uploads.discard(folder, upload)
    status = {"rejected": 422, "partial": 200, "preview": 200}.get(report.outcome, 200)
    return respond({**report.summary(), "issues": [vars(i) for i in report.issues]}, status=status)


@routes.get("/api/v1/ledger/handoffs")
async def ledger_handoffs(request: web.Request) -> web.Response:
    q = request.query
    direction = q.get("direction", "both")
    if direction not in ("incoming", "outgoing", "both"):
        return api_error(422, "invalid_parameter", "参数 direction 只能是 incoming、outgoing 或 both")
    found = await ledger.list_handoffs(
        actor(request), township=field(q, "township") or None, direction=direction,
        overdue=flag(q, "overdue"), open_only=not flag(q, "all"),
        limit=whole(q, "limit", "参数 limit ", 1, 1000) or ledger.PAGE,
        offset=whole(q, "offset", "参数 offset ", 0, 10**9) or 0)
    return respond(found)


@routes.post("/api/v1/ledger/handoffs/actions")
async def ledger_act(request: web.Request) -> web.Response:
    """{"ids": [...], "action": "accept|reject|complete|revoke", "reason": "..."}: per-item results."""
    body = await json_object(request)
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool)
                                                        and 0 < i < 2**31 for i in ids):
        return api_error(422, "invalid_body", "ids 应为正整数列表")
    action, reason = body.get("action"), body.get("reason", "")
    if not isinstance(action, str) or not isinstance(reason, str) or CONTROL.search(reason):
        return api_error(422, "invalid_body", "action 和 reason 应为字符串（不含控制字符）")
    return respond({"results": await ledger.act(actor(request), ids, action, reason=reason)})


@routes.get("/api/v1/ledger/persons/{key}")
async def ledger_person(request: web.Request) -> web.Response:
    return respond(await ledger.person_ledger(actor(request), field(request.match_info, "key")))
