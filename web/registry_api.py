"""The registry's JSON API: counts, households, a household's steps, and sheet imports."""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from resettle.errors import DomainError
from services import registry
from services.registry_import import import_sheets
from web import keys, limits, uploads
from web.api import body_of, query_of, respond
from web.fields import field, flag
from web.forms import record_from_form
from web.security import api_error, work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


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


async def _sheet_request(request: web.Request, use) -> web.Response:
    """A multipart sheet (field `sheet`) with `skip_invalid` and `dry_run`, given to `use(work,
    path, options)` and discarded after, whatever happens; every refusal of the upload in Chinese."""
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
        report = await use(w, uploads.find(folder, who, upload), options)
    finally:
        if upload:
            uploads.discard(folder, upload)
    status = {"rejected": 422, "partial": 200, "preview": 200}.get(report.outcome, 200)
    return respond(request, {**report.summary(), "issues": [vars(i) for i in report.issues]}, status=status)


@routes.post("/api/v1/imports")
@limits.body_limit(limits.SHEET_LIMIT, upload=True)
async def imports(request: web.Request) -> web.Response:
    """A signing sheet; the CLI's JSON summary plus every problem row."""
    return await _sheet_request(request, lambda w, path, options: import_sheets(
        w, [path], skip_invalid=options.get("skip_invalid", False),
        dry_run=options.get("dry_run", False)))


@routes.post("/api/v1/moves")
@limits.body_limit(limits.SHEET_LIMIT, upload=True)
async def moves(request: web.Request) -> web.Response:
    """A 分房/入住 sheet; the CLI's JSON summary plus every problem row."""
    from services.registry_moves import import_moves

    return await _sheet_request(request, lambda w, path, options: import_moves(
        w, [path], skip_invalid=options.get("skip_invalid", False),
        dry_run=options.get("dry_run", False)))
