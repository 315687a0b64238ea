"""Server-rendered pages: parse the form, call a service, render. Usable without JavaScript."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from resettle.charts import bar_chart, to_svg
from resettle.errors import DomainError, NotFound
from resettle.rules import scope as rule
from resettle.rules.household import HOUSEHOLD, STATUS_LABELS
from resettle.rules.permissions import ROLES, Forbidden, allowed, require
from resettle.rules.workflow import allowed_steps
from services import accounts, health, registry
from services.audit import audit_log
from services.registry_import import import_sheets, write_issue_report
from web import jobs, keys, limits, uploads
from web.fields import day, field, page_of
from web.forms import STEP_CHOICES, record_from_form
from web.security import ACTOR, actor, csrf_token, database_down, is_api, log_in, log_out, work

routes = web.RouteTableDef()


async def template_context(request: web.Request) -> dict:
    if is_api(request):  # JSON only: no page context, and no session (nor cookie) for a token client
        return {}
    who = request.get(ACTOR)
    return {"actor": who, "role_label": ROLES.get(who.role, "") if who else "",
            "csrf": await csrf_token(request),
            "can": (lambda action: allowed(who.role, action)) if who else (lambda action: False),
            "whole_district": bool(who) and rule.whole_district(who),
            "own_township": rule.own_township(who) if who else None}


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up (for a supervisor's liveness check)."""
    return web.Response(text="ok")


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready to serve (for the proxy's health check): the database answers and its schema is
    current; otherwise 503, and the proxy sends users to the other processes."""
    try:
        state = await health.readiness()
    except Exception as exc:
        if not database_down(exc):
            raise
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    ready = state["migrations"] == "current"
    return web.json_response({"status": "ready" if ready else "unavailable", **state}, status=200 if ready else 503)


@routes.get("/login")
@aiohttp_jinja2.template("login.html")
async def login_form(request: web.Request) -> dict:
    return {"expired": "expired" in request.query}


@routes.post("/login")
@limits.body_limit(limits.LOGIN_LIMIT)
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name = field(form, "login")  # the password is taken as typed: argon2 alone reads it
    try:  # request.remote is the browser's address when a trusted proxy says so (edge_middleware)
        who = await accounts.login(name, str(form.get("password", "")), request.remote or "",
                                   request.app[keys.CLOCK]())
    except accounts.LoginRefused as exc:
        return aiohttp_jinja2.render_template("login.html", request, {"error": exc.message, "login": name},
                                              status=401)
    await log_in(request, who)
    raise web.HTTPSeeOther("/")


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await log_out(request)  # ends the session on the server too: a copied cookie stops working
    raise web.HTTPSeeOther("/login")


@routes.get("/")
@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict:
    w = work(request)
    rows = await registry.township_stats(w)
    return {"total": rows[-1], "townships": rows[:-1] if rule.township_reached(w.actor) is not None else []}


@routes.get("/registry/stats")
@aiohttp_jinja2.template("stats.html")
async def stats(request: web.Request) -> dict:
    w = work(request)
    by = "community" if field(request.query, "by") == "community" else "township"
    if by == "township":
        rows = await registry.township_stats(w)
        shown = [r for r in rows[:-1] if r["out_households"] or r["in_households"]] or rows[:-1]
        chart = bar_chart("各乡镇迁出、迁入户数", [r["township"] for r in shown],
                          {"迁出户数": [r["out_households"] for r in shown],
                           "迁入户数": [r["in_households"] for r in shown]})
    else:
        rows = await registry.community_stats(w)
        chart = bar_chart("各安置社区户数与已入住户数", [r["community"] for r in rows[:-1]],
                          {"户数": [r["households"] for r in rows[:-1]],
                           "已入住户数": [r["moved_in_households"] for r in rows[:-1]]})
    return {"by": by, "rows": rows, "chart": to_svg(chart), "steps": STATUS_LABELS}


@routes.get("/registry/households")
@aiohttp_jinja2.template("search.html")
async def search(request: web.Request) -> dict:
    q = field(request.query, "q")
    page = _page(request)
    found = await registry.search_households(work(request), q, offset=(page - 1) * registry.SEARCH_LIMIT)
    return {"q": q, "found": found, "page": page,
            "pages": max(1, -(-found["total"] // registry.SEARCH_LIMIT))}


def _page(request: web.Request) -> int:
    return page_of(request.query)


async def _household_page(request: web.Request, *, full_ids: bool = False, error: str = "",
                          status: int = 200) -> web.Response:
    w = work(request)
    household = await registry.show_household(w, field(request.match_info, "no"), full_ids=full_ids)
    offered = {*allowed_steps(HOUSEHOLD, household["status"], w.actor.role), "hukou_moved"}
    return aiohttp_jinja2.render_template("household.html", request, {
        "h": household, "full_ids": full_ids, "error": error,
        "steps": {step: label for step, label in STEP_CHOICES.items() if step in offered},
        "today": w.today.isoformat()}, status=status)


@routes.get("/registry/households/{no}")
async def household(request: web.Request) -> web.Response:
    return await _household_page(request)


@routes.post("/registry/households/{no}/reveal")
async def reveal(request: web.Request) -> web.Response:
    return await _household_page(request, full_ids=True)


@routes.post("/registry/households/{no}/events")
async def record_event(request: web.Request) -> web.Response:
    """Record a step; a refusal of the state machine is shown in place, on the same page."""
    no = field(request.match_info, "no")
    form = await request.post()
    try:
        await record_from_form(work(request), no, {k: field(form, k) for k in form})
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return await _household_page(request, error=exc.message, status=400)
    raise web.HTTPSeeOther(f"/registry/households/{no}")


@routes.get("/registry/import")
@aiohttp_jinja2.template("import.html")
async def import_form(request: web.Request) -> dict:
    require(actor(request).role, "registry.import")
    return {}


@routes.post("/registry/import")
@limits.body_limit(limits.SHEET_LIMIT, upload=True)
async def import_upload(request: web.Request) -> web.Response:
    """Upload, then (as a job with a progress page) see what an import would do and every
    problem, before anything is written."""
    w = work(request)
    who = w.actor
    require(who.role, "registry.import")
    folder = request.app[keys.UPLOADS]
    upload = await uploads.save(folder, who, (await request.post()).get("sheet"))
    sheet = uploads.find(folder, who, upload)

    async def preview(job: jobs.Job):
        try:
            report = await import_sheets(w, [sheet], skip_invalid=True, dry_run=True, progress=job.progress)
            if report.issues:
                write_issue_report(report, uploads.report_path(sheet))
                uploads.private(uploads.report_path(sheet))
        except BaseException:  # refused (unreadable, wrong shape) or crashed: nothing to confirm
            uploads.discard(folder, upload)
            raise
        return report
    await jobs.start(request.app, upload, jobs.Job("preview", who.login), preview)
    raise web.HTTPSeeOther(f"/registry/import/{upload}")


@routes.get("/registry/import/{upload}")
async def import_status(request: web.Request) -> web.Response:
    """Progress while the job runs, then the preview or the result."""
    who, upload = actor(request), request.match_info["upload"]
    require(who.role, "registry.import")
    # the job is its owner's alone; its upload may be gone already (refused, or imported)
    job = await jobs.settle(request.app, upload, who.login)
    if job is None:
        raise NotFound("找不到该上传的检查结果，请重新上传")
    if not job.finished:
        return aiohttp_jinja2.render_template("progress.html", request, {"job": job})
    if job.error:
        back = {"href": "/registry/import", "label": "改好后重新上传"}  # the clerk's next step
        return aiohttp_jinja2.render_template("error.html", request, {"message": job.error, "status": 400,
                                                                      "back": back}, status=400)
    template = "preview.html" if job.kind == "preview" else "import_done.html"
    return aiohttp_jinja2.render_template(template, request, {"upload": upload, "r": job.result})


@routes.post("/registry/import/{upload}/confirm")
async def import_confirm(request: web.Request) -> web.Response:
    w, upload = work(request), request.match_info["upload"]
    who = w.actor
    require(who.role, "registry.import")
    folder = request.app[keys.UPLOADS]
    sheet = uploads.find(folder, who, upload)
    if not sheet.exists():
        raise NotFound("该表已经导入或已过期删除，请重新上传")
    uploads.touch(folder, upload)
    skip_invalid = (await request.post()).get("skip_invalid") == "1"

    async def run_import(job: jobs.Job):
        try:
            report = await import_sheets(w, [sheet], skip_invalid=skip_invalid, progress=job.progress)
        except BaseException:
            uploads.imported(sheet)  # a crashed import is not retried from this upload
            raise
        if report.outcome != "rejected":  # written: the sheet is done with; rejected: it may be confirmed again
            uploads.imported(sheet)
        return report
    await jobs.start(request.app, upload, jobs.Job("import", who.login), run_import)
    raise web.HTTPSeeOther(f"/registry/import/{upload}")


@routes.get("/registry/import/{upload}/errors.xlsx")
async def import_errors(request: web.Request) -> web.FileResponse:
    who = actor(request)
    require(who.role, "registry.import")
    report = uploads.report_path(uploads.find(request.app[keys.UPLOADS], who, request.match_info["upload"]))
    if not report.exists():
        raise web.HTTPNotFound()
    return web.FileResponse(report, headers={
        "Content-Disposition": "attachment; filename*=UTF-8''%E9%97%AE%E9%A2%98%E6%8A%A5%E5%91%8A.xlsx"})


@routes.get("/audit")
@aiohttp_jinja2.template("audit.html")
async def audit_page(request: web.Request) -> dict:
    q = request.query
    filters = {k: field(q, k) for k in ("actor", "object_type", "object_id", "action", "since", "until")}
    log = await audit_log(work(request), who=filters["actor"], object_type=filters["object_type"],
                          object_id=filters["object_id"], action=filters["action"],
                          since=day(filters["since"], "起始日期"), until=day(filters["until"], "截止日期"),
                          page=_page(request))
    return {"log": log, "filters": filters, "query": urlencode({k: v for k, v in filters.items() if v})}
