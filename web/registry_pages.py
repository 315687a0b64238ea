"""The registry's pages: counts per township and community, the household search and a
household's page with its steps and changes, and the signing and 分房/入住 sheets (upload → preview →
confirm)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from resettle.charts import bar_chart, to_svg
from resettle.errors import DomainError, NotFound
from resettle.history import history_rows
from resettle.rules.household import HOUSEHOLD, STATUS_LABELS, Status
from resettle.rules.household_changes import EVENT_LABELS, REQUEST_LABELS, RequestStatus
from resettle.rules.permissions import Forbidden, allowed, require
from resettle.rules.workflow import allowed_steps
from services import audit, registry
from services import household_changes as changes
from services.audit import who_acted as audit_names
from services.contracts import ContractError, parse
from services.household_changes_contracts import Change
from services.registry_import import import_sheets, write_issue_report
from web import downloads, jobs, keys, limits, uploads
from web.fields import ID, day, field, flag, number, page_of, path_id
from web.forms import STEP_CHOICES, record_from_form
from web.security import actor, work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


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
    page = page_of(request.query)
    found = await registry.search_households(work(request), q, offset=(page - 1) * registry.SEARCH_LIMIT)
    return {"q": q, "found": found, "page": page,
            "pages": max(1, -(-found["total"] // registry.SEARCH_LIMIT))}


async def _household_page(request: web.Request, *, full_ids: bool = False, error: str = "",
                          status: int = 200, change_error: str = "") -> web.Response:
    w = work(request)
    household = await registry.show_household(w, field(request.match_info, "no"), full_ids=full_ids)
    # only the steps the household's state allows, and 户籍迁入 while a member's hukou is elsewhere
    offered = set(allowed_steps(HOUSEHOLD, household["status"], w.actor.role))
    if household["status"] != Status.WITHDRAWN and allowed(w.actor.role, "registry.record") and any(
            m["hukou_township"] != household["dest_township"] for m in household["members"]):
        offered.add("hukou_moved")
    events = await audit.household_history(w, household)
    history = history_rows(events, policy=w.policy, names=await audit.names_for(events))
    return aiohttp_jinja2.render_template("household.html", request, {
        "h": household, "full_ids": full_ids, "error": error, "history": history,
        "steps": {step: label for step, label in STEP_CHOICES.items() if step in offered},
        "today": w.today.isoformat(),
        # households that change (household_changes.html)
        "c": await changes.history(w, household["agreement_no"], full_ids=full_ids), "change_error": change_error,
        "change_done": _DONE.get(field(request.query, "done"), "")}, status=status)


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


@dataclass(frozen=True)
class _SheetFlow:
    """The way a sheet comes in on the web: upload, a preview job (a dry run naming every problem),
    confirm on the same upload, the result. The signing sheet and the 分房/入住 sheet share it."""

    path: str  # the form's address; the upload's pages hang below it
    action: str  # the permission it needs
    use_case: Callable[[], Callable]  # the service's import, looked up when first used
    preview: str  # templates
    done: str
    gone: str  # the upload was used up or swept


def _moves_use_case() -> Callable:
    from services.registry_moves import import_moves

    return import_moves


SIGNING = _SheetFlow("/registry/import", "registry.import", lambda: import_sheets, "preview.html",
                     "import_done.html", "该表已经导入或已过期删除，请重新上传")
MOVES = _SheetFlow("/registry/moves", "registry.record", _moves_use_case, "moves_preview.html",
                   "moves_done.html", "该表已经登记或已过期删除，请重新上传")


async def _sheet_upload(request: web.Request, flow: _SheetFlow) -> web.Response:
    """Upload, then (as a job with a progress page) see what the sheet would do and every
    problem, before anything is written."""
    w = work(request)
    who = w.actor
    require(who.role, flow.action)
    folder = request.app[keys.UPLOADS]
    upload = await uploads.save(folder, who, (await request.post()).get("sheet"))
    sheet = uploads.find(folder, who, upload)
    use_case = flow.use_case()

    async def preview(job: jobs.Job):
        try:
            report = await use_case(w, [sheet], skip_invalid=True, dry_run=True, progress=job.progress)
            if report.issues:
                write_issue_report(report, uploads.report_path(sheet))
                uploads.private(uploads.report_path(sheet))
        except BaseException:  # refused (unreadable, wrong shape) or crashed: nothing to confirm
            uploads.discard(folder, upload)
            raise
        return report
    await jobs.start(request.app, upload, jobs.Job("preview", who.login), preview)
    raise web.HTTPSeeOther(f"{flow.path}/{upload}")


async def _sheet_status(request: web.Request, flow: _SheetFlow) -> web.Response:
    """Progress while the job runs, then the preview or the result."""
    who, upload = actor(request), request.match_info["upload"]
    require(who.role, flow.action)
    # the job is its owner's alone; its upload may be gone already (refused, or imported)
    job = await jobs.settle(request.app, upload, who.login)
    if job is None:
        raise NotFound("找不到该上传的检查结果，请重新上传")
    if not job.finished:
        return aiohttp_jinja2.render_template("progress.html", request, {"job": job})
    if job.error:
        back = {"href": flow.path, "label": "改好后重新上传"}  # the clerk's next step
        return aiohttp_jinja2.render_template("error.html", request, {"message": job.error, "status": 400,
                                                                      "back": back}, status=400)
    template = flow.preview if job.kind == "preview" else flow.done
    return aiohttp_jinja2.render_template(template, request, {"upload": upload, "r": job.result})


async def _sheet_confirm(request: web.Request, flow: _SheetFlow) -> web.Response:
    w, upload = work(request), request.match_info["upload"]
    who = w.actor
    require(who.role, flow.action)
    folder = request.app[keys.UPLOADS]
    sheet = uploads.find(folder, who, upload)
    if not sheet.exists():
        raise NotFound(flow.gone)
    uploads.touch(folder, upload)
    skip_invalid = (await request.post()).get("skip_invalid") == "1"
    use_case = flow.use_case()

    async def run(job: jobs.Job):
        try:
            report = await use_case(w, [sheet], skip_invalid=skip_invalid, progress=job.progress)
        except BaseException:
            uploads.imported(sheet)  # a crashed import is not retried from this upload
            raise
        if report.outcome != "rejected":  # written: the sheet is done with; rejected: it may be confirmed again
            uploads.imported(sheet)
        return report
    await jobs.start(request.app, upload, jobs.Job("import", who.login), run)
    raise web.HTTPSeeOther(f"{flow.path}/{upload}")


@routes.post("/registry/import")
@limits.body_limit(limits.SHEET_LIMIT, upload=True)
async def import_upload(request: web.Request) -> web.Response:
    return await _sheet_upload(request, SIGNING)


@routes.get("/registry/import/{upload}")
async def import_status(request: web.Request) -> web.Response:
    return await _sheet_status(request, SIGNING)


@routes.post("/registry/import/{upload}/confirm")
async def import_confirm(request: web.Request) -> web.Response:
    return await _sheet_confirm(request, SIGNING)


@routes.get("/registry/import/{upload}/errors.xlsx")
async def import_errors(request: web.Request) -> web.FileResponse:
    return _issue_report(request, SIGNING)


def _issue_report(request: web.Request, flow: _SheetFlow) -> web.FileResponse:
    """An upload's 问题报告, named for the uploaded sheet (it may be gone already: the report
    outlives it), typed as xlsx."""
    who = actor(request)
    require(who.role, flow.action)
    sheet = uploads.find(request.app[keys.UPLOADS], who, request.match_info["upload"])
    report = uploads.report_path(sheet)
    if not report.exists():
        raise web.HTTPNotFound()
    name = downloads.disposition(f"{sheet.stem}-问题报告.xlsx")
    return web.FileResponse(report, headers={"Content-Type": downloads.TYPES["xlsx"], "Content-Disposition": name})


# ---------------------------------------------------------------- the 分房/入住 sheet (registry moves)
# The signing import's flow (upload → a preview job → confirm → the result), on its own routes:
# the same uploads, jobs and issue report; the steps themselves are services.registry_moves'.


@routes.get("/registry/moves")
@aiohttp_jinja2.template("moves.html")
async def moves_form(request: web.Request) -> dict:
    require(actor(request).role, "registry.record")
    return {}


@routes.post("/registry/moves")
@limits.body_limit(limits.SHEET_LIMIT, upload=True)
async def moves_upload(request: web.Request) -> web.Response:
    return await _sheet_upload(request, MOVES)


@routes.get("/registry/moves/template.xlsx")  # after POST /registry/moves: one resource answers both
async def moves_template(request: web.Request) -> web.Response:
    require(actor(request).role, "registry.record")
    import io

    from services.registry_moves import write_template

    body = io.BytesIO()
    write_template(body)
    return web.Response(body=body.getvalue(), headers={
        "Content-Type": downloads.TYPES["xlsx"], "Content-Disposition": downloads.disposition("分房入住表.xlsx")})


@routes.get("/registry/moves/{upload}")
async def moves_status(request: web.Request) -> web.Response:
    return await _sheet_status(request, MOVES)


@routes.post("/registry/moves/{upload}/confirm")
async def moves_confirm(request: web.Request) -> web.Response:
    return await _sheet_confirm(request, MOVES)


@routes.get("/registry/moves/{upload}/errors.xlsx")
async def moves_errors(request: web.Request) -> web.FileResponse:
    return _issue_report(request, MOVES)


# ---------------------------------------------------------------- households that change

_DONE = {**{f"event-{k.value}": f"已登记{v}" for k, v in EVENT_LABELS.items()},
         "request": "申请已提交，等待乡镇信息员确认"}
_TEXTS = ("name", "id_number", "relation", "phone", "tags", "hukou_township", "old_relation", "to_township",
          "unit", "note")
MAX_CHOSEN = 50  # members chosen in one split (the contract's bound)


async def _change(w, no: str, form, kind: str | None = None) -> Change:
    """A household event from a form: members come as person ids (or, typed at the desk, ID
    numbers), resolved within the household; the contract judges the rest."""
    data: dict = {"kind": kind or field(form, "kind"), "on": (day(field(form, "on"), "日期") or w.today).isoformat()}
    data.update({name: field(form, name) for name in _TEXTS if field(form, name)})
    for name in ("person", "head"):
        if field(form, name):
            data[name] = await changes.member_id(w, no, field(form, name))
    chosen = form.getall("persons", []) if hasattr(form, "getall") else []
    if len(chosen) > MAX_CHOSEN:
        raise DomainError(f"一次最多分出{MAX_CHOSEN}人")
    if chosen:
        data["persons"] = [await changes.member_id(w, no, field({"p": p}, "p")) for p in chosen]
    if flag(form, "hukou_moves"):
        data["hukou_moves"] = True
    version = number(field(form, "version"), "版本号")
    if version is not None:
        data["version"] = version
    try:
        return parse(Change, data)
    except ContractError as exc:
        raise DomainError(exc.message) from None


@routes.post("/registry/households/{no}/changes")
async def record_change(request: web.Request) -> web.Response:
    """Record a birth, death, join, leave, head change or split; a refusal is shown in place."""
    w, no = work(request), field(request.match_info, "no")
    require(w.actor.role, "registry.change")
    form = await request.post()
    try:
        result = await changes.record_event(w, no, await _change(w, no, form))
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return await _household_page(request, change_error=exc.message, status=400)
    raise web.HTTPSeeOther(f"/registry/households/{quote(no)}?done=event-{result['kind']}#changes")


@routes.post("/registry/households/{no}/requests")
async def file_change_request(request: web.Request) -> web.Response:
    """A desk files a birth or a death it heard of; the household is not touched."""
    w, no = work(request), field(request.match_info, "no")
    require(w.actor.role, "registry.request")
    form = await request.post()
    try:
        await changes.file_request(w, no, await _change(w, no, form))
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return await _household_page(request, change_error=exc.message, status=400)
    raise web.HTTPSeeOther(f"/registry/households/{quote(no)}?done=request#changes")


_STATUSES = {s.value: REQUEST_LABELS[s] for s in RequestStatus}


async def _requests_page(request: web.Request, *, error: str = "", done: str = "", status: int = 200):
    w = work(request)
    wanted = field(request.query, "status") or RequestStatus.REQUESTED.value
    if wanted not in _STATUSES:
        raise DomainError(f"状态只能是：{'、'.join(_STATUSES)}")
    found = await changes.list_requests(w, wanted)
    names = await audit_names({r["requested_by"] for r in found["items"]})
    return aiohttp_jinja2.render_template("change_requests.html", request, {
        "found": found, "status": wanted, "statuses": _STATUSES, "names": names, "error": error,
        "done": done or {"confirmed": "已确认并登记", "refused": "已退回"}.get(field(request.query, "done"), "")},
        status=status)


@routes.get("/registry/requests")
async def change_requests(request: web.Request) -> web.Response:
    """The requests of the households the actor reaches: a liaison's pending ones to decide,
    a desk's own to follow."""
    return await _requests_page(request)


@routes.post(f"/registry/requests/{ID}")
async def decide_change_request(request: web.Request) -> web.Response:
    w = work(request)
    require(w.actor.role, "registry.decide")
    form = await request.post()
    step = field(form, "step")
    try:
        result = await changes.decide_request(w, path_id(request), step, reason=field(form, "reason"),
                                              expected_version=number(field(form, "version"), "版本号"))
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return await _requests_page(request, error=exc.message, status=400)
    raise web.HTTPSeeOther(f"/registry/requests?done={result['status']}")


def _request_form(request: web.Request, form, error: str = "", status: int = 200) -> web.Response:
    w = work(request)
    return aiohttp_jinja2.render_template("change_request_new.html", request, {
        "form": {k: field(form, k) for k in ("no", "kind", "on", "name", "id_number", "relation", "person", "note")},
        "relations": sorted(w.policy.relations), "today": w.today.isoformat(), "error": error}, status=status)


@routes.get("/registry/requests/new")
async def new_change_request(request: web.Request) -> web.Response:
    require(actor(request).role, "registry.request")
    return _request_form(request, request.query)


@routes.post("/registry/requests/new")
async def post_change_request(request: web.Request) -> web.Response:
    """The desk's page: a household by 协议编号, a birth or a death (the member by ID number)."""
    w = work(request)
    require(w.actor.role, "registry.request")
    form = await request.post()
    no, kind = field(form, "no"), field(form, "kind")
    try:
        if kind not in ("birth", "death"):
            raise DomainError("请选择出生或死亡")
        fields = {k: field(form, k) for k in ("on", "note")}
        if kind == "birth":
            fields.update({k: field(form, k) for k in ("name", "id_number", "relation")})
        else:
            fields["person"] = field(form, "person")
            if not fields["person"]:
                raise DomainError("请填写死亡成员的公民身份号码")
        await changes.file_request(w, no, await _change(w, no, fields, kind))
    except Forbidden:
        raise
    except DomainError as exc:
        return _request_form(request, form, exc.message, 400)
    raise web.HTTPSeeOther(f"/registry/households/{quote(no)}?done=request#changes")
