"""Pages of community-governance projects and their co-funding: each role's list and queue, the
draft form with its qualification verdict (a button re-renders the form with every check, no
JavaScript), the project page with the forms its state allows the role, the 审定单 and the yearly
summary with their downloads.

Amounts are typed and shown in 元 and go to the services in fen. A refusal of a form is shown on
the page it came from, with what was typed (400; 409 when someone saved first)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import aiohttp_jinja2
from aiohttp import web

from resettle.charts import bar_chart, to_svg
from resettle.errors import DomainError, NotFound, StaleVersion
from resettle.rules import scope as rule
from resettle.rules.funding import EDITABLE, KIND_LABELS, PROJECT, STATUS_LABELS, ProjectKind, ProjectStatus, yuan
from resettle.rules.numbers import percent
from resettle.rules.permissions import Forbidden, allowed, require
from resettle.rules.workflow import allowed_steps
from services import desk, funding, notify, registry
from services.funding_contracts import YEARS
from services.funding_papers import (
    ENVELOPE_COLUMNS,
    NUMBERS,
    SUMMARY_COLUMNS,
    TOWNSHIP_COLUMNS,
    by_township,
    envelope_rows,
    history_rows,
    plain_yuan,
    summary_rows,
    township_rows,
    write_approval_sheet,
    write_summary,
)
from services.work import Work
from web import downloads, security
from web.fields import ID, day, field, number, path_id, whole
from web.security import work

routes = web.RouteTableDef()
PAGE = 100  # projects per page of the list
FORM_FIELDS = ("community", "kind", "item", "title", "year", "amount", "area_m2", "department", "description",
               "body", "held_on", "attendance", "votes_for", "votes_against", "problems")
DELIBERATION = {"body": "议事机构", "held_on": "议事日期", "attendance": "到会人数", "votes_for": "赞成票数",
                "votes_against": "反对票数"}
DONE = {"draft": "已保存草稿。", "edit": "已保存修改。", "submit": "已提交，等待核定部门核定。",
        "verify": "已核定，等待区财政局审定。", "approve": "已审定，区级与乡镇承担金额已按比例确定。",
        "return": "已退回乡镇修改。", "reject": "已作不予通过。", "complete": "已登记验收。"}
_IDS = re.compile(r"[,，、;；\s]+")


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)
    aiohttp_jinja2.get_env(app).filters.update({
        "yuan": lambda fen: "—" if fen is None else yuan(fen),  # 1,234.50元
        "plain": lambda fen: "" if fen is None else plain_yuan(fen),  # 1,234.50, for a field in 元
        "share": lambda ratio: percent(ratio, places=2)})  # a ratio of the services as 50%


# ---------------------------------------------------------------- fields (shared with web/funding_api.py)


def year_of(values: Mapping) -> int | None:
    return whole(values, "year", "年度", *YEARS)


def _ids(chosen: list[str]) -> list[int]:
    """Desk problem ids as ticked (a field may also hold several typed: '12, 15、18')."""
    return [number(part, "问题编号") for value in chosen for part in _IDS.split(value) if part]


def _yuan(values: Mapping, name: str, what: str) -> int:
    text = field(values, name)
    if not text:
        raise DomainError(f"请填写{what}（元）")
    return funding.fen(text, what)


def draft_fields(v: Mapping) -> dict:
    """The typed draft form as the services' keyword arguments (besides community and problems):
    an empty amount is 0, which the verdict shows as not qualifying."""
    year = number(v["year"], "项目年度")
    if year is None:
        raise DomainError("请填写项目年度")
    deliberation = None
    if v["kind"] == ProjectKind.CASE_BY_CASE and any(v[key] for key in DELIBERATION):
        deliberation = {"body": v["body"], "held_on": day(v["held_on"], "议事日期"),
                        **{key: number(v[key], DELIBERATION[key]) or 0
                           for key in ("attendance", "votes_for", "votes_against")}}
    return {"kind": v["kind"], "item": v["item"], "title": v["title"], "year": year,
            "requested": funding.fen(v["amount"] or "0", "申请金额"), "area_m2": number(v["area_m2"], "建筑面积"),
            "department": v["department"], "description": v["description"], "deliberation": deliberation}


def _typed(form: Mapping) -> dict:
    """The form as typed; 'problems' is the list of ticked problem ids."""
    ticked = [value.strip() for value in form.getall("problems", []) if isinstance(value, str)]
    return {**{name: field(form, name) for name in FORM_FIELDS}, "problems": [t for t in ticked if t]}


def _values(p: dict) -> dict[str, str]:
    """A project as its edit form shows it; 'problems' holds only the ones to add."""
    d = p["deliberation"] or {}
    return {"community": f"{p['township']}/{p['community']}", "kind": p["kind"], "item": p["item"],
            "title": p["title"], "year": str(p["year"]), "amount": plain_yuan(p["requested"]),
            "area_m2": str(p["area_m2"] or ""), "department": p["department"], "description": p["description"],
            **{key: str(d.get(key) or "") for key in DELIBERATION}, "problems": []}


def _refused(exc: DomainError) -> int:
    return 409 if isinstance(exc, StaleVersion) else 404 if isinstance(exc, NotFound) else 400


async def _citable(w: Work, community: str, cited: list[dict] = ()) -> list[dict] | None:
    """The problems the form offers to cite for the chosen community, those already cited left out;
    None while no community (or one out of reach, which the save refuses) is chosen."""
    if not community:
        return None
    try:
        offered = await funding.citable_problems(w, community)
    except (NotFound, DomainError):
        return None
    have = {e["id"] for e in cited}
    return [x for x in offered if x["id"] not in have]


async def _choices(w: Work) -> dict:
    """What the draft form offers: the communities in the actor's scope, the catalog by kind, the
    departments a 一事一议 project may go to."""
    policy = w.policy
    stats = await registry.community_stats(w)
    return {"communities": [(f"{r['township']}/{r['community']}", f"{r['township']} · {r['community']}")
                            for r in stats[:-1]],
            "kinds": {kind.value: label for kind, label in KIND_LABELS.items()},
            "catalog": {KIND_LABELS[kind]: [i for i in policy.funding.items if i.kind is kind]
                        for kind in ProjectKind if kind is not ProjectKind.CASE_BY_CASE},
            "departments": policy.funding.departments}


# ---------------------------------------------------------------- the lists and queues


@routes.get("/funding")
async def home(request: web.Request) -> web.Response:
    """Every role its projects with filters; a department first its verify queue, finance its
    approve queue with the evidence, each project's split and the year's remaining envelope."""
    w, q = security.work(request), request.query
    who = w.actor
    require(who.role, "funding.view")
    year, status, township = year_of(q), field(q, "status"), field(q, "township")
    offset = whole(q, "offset", "起始位置", 0, 10**9) or 0
    found = await funding.list_projects(w, year=year, status=status or None, township=township or None,
                                        limit=PAGE, offset=offset)
    queue_offset = whole(q, "queue_offset", "起始位置", 0, 10**9) or 0
    reviews = rule.review_queue(who)
    queue = await funding.queue(w, year=year, limit=funding.QUEUE_PAGE, offset=queue_offset) \
        if reviews is not None else None
    if reviews is ProjectStatus.VERIFIED and not queue["envelopes"]:  # an empty queue still shows what remains
        queue["envelopes"] = [await funding.envelope(w, year or w.today.year)]
    keep = {k: v for k, v in (("year", year), ("status", status), ("township", township)) if v}
    return aiohttp_jinja2.render_template("funding_home.html", request, {
        "found": found, "queue": queue, "year": year, "status": status, "township": township, "offset": offset,
        "page": PAGE, "queue_offset": queue_offset, "queue_page": funding.QUEUE_PAGE, "keep": keep,
        "statuses": {s.value: label for s, label in STATUS_LABELS.items()},
        "townships": [t.name for t in w.policy.townships] if rule.own_township(who) is None else [],
        "flags": await notify.flags("project", [p["id"] for p in found["items"] + (queue["items"] if queue else [])])})


# ---------------------------------------------------------------- the draft form


async def _problem(request: web.Request) -> dict | None:
    """The desk problem of `?problem=` a project is drafted from, with its community."""
    w = work(request)
    problem_id = number(field(request.query, "problem"), "问题编号")
    if problem_id is None:
        return None
    data = await desk.problem_detail(w, problem_id)
    info = await desk.desk_info(w, data["community_id"])
    return {**data, "community": f"{info['township']}/{info['community']}",
            "community_label": f"{info['township']} · {info['community']}"}


async def _form(request: web.Request, w: Work, v: dict, problem: dict | None, *, verdict: dict | None = None,
                error: str = "", status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template("funding_new.html", request, {
        "v": v, "problem": problem, "verdict": verdict, "error": error, **await _choices(w),
        "citable": None if problem else await _citable(w, v["community"]),
        "action": f"/funding/new?problem={problem['id']}" if problem else "/funding/new"}, status=status)


@routes.get("/funding/new")
async def new(request: web.Request) -> web.Response:
    """An empty draft (for the community of `?community=`, or the actor's only one, whose desk
    problems it offers to cite), or one filled from the desk problem of `?problem=` (一事一议,
    citing it)."""
    w = security.work(request)
    require(w.actor.role, "funding.draft")
    problem = await _problem(request)
    communities = (await _choices(w))["communities"]
    only = communities[0][0] if len(communities) == 1 else ""
    v = dict.fromkeys(FORM_FIELDS, "") | {"year": str(w.today.year), "problems": [],
                                          "community": field(request.query, "community") or only}
    if problem:
        v |= {"community": problem["community"], "kind": ProjectKind.CASE_BY_CASE.value, "title": problem["title"],
              "description": problem["description"]}
    return await _form(request, w, v, problem)


@routes.post("/funding/new")
async def save_new(request: web.Request) -> web.Response:
    """检查是否符合条件 re-renders the form with the verdict; 保存草稿 saves it."""
    w = security.work(request)
    require(w.actor.role, "funding.draft")
    form = await request.post()
    problem = await _problem(request)
    v = _typed(form)
    if problem:
        v["community"] = problem["community"]
    if field(form, "do") == "problems":  # the community changed: offer its problems, check nothing yet
        return await _form(request, w, v, problem)
    try:
        values = draft_fields(v)
        problems = [problem["id"]] if problem else _ids(v["problems"])
        if field(form, "do") == "check":
            verdict = await funding.preview(w, community=v["community"], problems=problems, **values)
            return await _form(request, w, v, problem, verdict=verdict)
        if problem:
            project = await funding.draft_from_problem(w, problem["id"], **values)
        else:
            project = await funding.draft(w, community=v["community"], problems=problems, **values)
    except Forbidden:
        raise
    except DomainError as exc:
        return await _form(request, w, v, problem, error=exc.message, status=_refused(exc))
    raise web.HTTPSeeOther(f"/funding/projects/{project['id']}?done=draft")


# ---------------------------------------------------------------- a project


async def _page(request: web.Request, w: Work, project_id: int, *, error: str = "", failed: str = "",
                typed: Mapping | None = None, verdict: dict | None = None, status: int = 200) -> web.Response:
    """A project: amounts, the split (frozen, or worked out from the verified amount beside the
    year's remaining envelope), qualification, evidence, history, and the forms of the role."""
    p = await funding.show(w, project_id)
    editing = allowed(w.actor.role, "funding.draft") and ProjectStatus(p["status"]) in EDITABLE
    steps = allowed_steps(PROJECT, p["status"], w.actor.role)
    envelope = await funding.envelope(w, p["year"]) if "approve" in steps else None
    item = w.policy.funding.item(p["item"]) if p["item"] else None
    done = field(request.query, "done")
    return aiohttp_jinja2.render_template("funding_project.html", request, {
        "p": p, "item": item, "envelope": envelope, "editing": editing, "steps": steps,
        "escalation": await notify.item_escalation(w, "project", project_id),
        "short": envelope is not None and p["split_preview"]["district_share"] > envelope["remaining"],
        "v": _typed(typed) if typed is not None and failed == "edit" else _values(p),
        "verdict": verdict, "error": error, "failed": failed, "typed": typed or {},
        "done": DONE.get(done, ""), "history": history_rows(p, policy=w.policy), "today": w.today.isoformat(),
        "sheet": p["status"] in (ProjectStatus.VERIFIED, ProjectStatus.APPROVED, ProjectStatus.COMPLETED),
        "citable": await _citable(w, f"{p['township']}/{p['community']}", p["evidence"]["problems"])
        if editing else None,
        **(await _choices(w) if editing else {})}, status=status)


@routes.get(f"/funding/projects/{ID}")
async def project(request: web.Request) -> web.Response:
    return await _page(request, security.work(request), path_id(request))


@routes.post(f"/funding/projects/{ID}/edit")
async def edit(request: web.Request) -> web.Response:
    """A draft or returned project changed over the version read; 检查 shows the verdict of what
    was typed (the cited problems with the ones to add) without saving."""
    w, project_id = security.work(request), path_id(request)
    form = await request.post()
    v = _typed(form)
    try:
        values = draft_fields(v)
        problems = _ids(v["problems"])
        if field(form, "do") == "check":
            cited = [e["id"] for e in (await funding.show(w, project_id))["evidence"]["problems"]]
            verdict = await funding.preview(w, community=v["community"], problems=[*cited, *problems], **values)
            return await _page(request, w, project_id, failed="edit", typed=form, verdict=verdict)
        await funding.update(w, project_id, version=number(field(form, "version"), "版本号") or 0,
                             community=v["community"], problems=problems, **values)
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(request, w, project_id, error=exc.message, failed="edit", typed=form,
                           status=_refused(exc))
    raise web.HTTPSeeOther(f"/funding/projects/{project_id}?done=edit")


STEPS = {  # the workflow's forms: (work, project, form, version) → the service's call
    "submit": lambda w, pid, form, version: funding.submit(w, pid, version=version),
    "verify": lambda w, pid, form, version: funding.verify(w, pid, _yuan(form, "amount", "核定金额"),
                                                           version=version),
    "approve": lambda w, pid, form, version: funding.approve(w, pid, _yuan(form, "amount", "审定金额"),
                                                             version=version),
    "return": lambda w, pid, form, version: funding.send_back(w, pid, ProjectStatus.RETURNED.value,
                                                              field(form, "reason"), version=version),
    "reject": lambda w, pid, form, version: funding.send_back(w, pid, ProjectStatus.REJECTED.value,
                                                              field(form, "reason"), version=version),
    "complete": lambda w, pid, form, version: funding.complete(
        w, pid, spent=_yuan(form, "spent", "实际支出"), on=day(field(form, "on"), "验收日期"), version=version),
}


@routes.post(f"/funding/projects/{ID}/{{step:{'|'.join(STEPS)}}}")
async def step(request: web.Request) -> web.Response:
    """One step of the workflow with the version the page showed; a refusal (over the envelope,
    a stale version) is shown on the project's page with what was typed."""
    w, project_id, name = security.work(request), path_id(request), request.match_info["step"]
    form = await request.post()
    try:
        await STEPS[name](w, project_id, form, number(field(form, "version"), "版本号"))
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(request, w, project_id, error=exc.message, failed=name, typed=form, status=_refused(exc))
    raise web.HTTPSeeOther(f"/funding/projects/{project_id}?done={name}")


@routes.get(f"/funding/projects/{ID}/sheet.pdf")
async def sheet(request: web.Request) -> web.Response:
    """The 审定单; a verified project's is a preview with the year's remaining envelope."""
    w = security.work(request)
    p = await funding.show(w, path_id(request))
    envelope = await funding.envelope(w, p["year"]) if p["status"] == ProjectStatus.VERIFIED else None
    return await downloads.attachment(lambda path: write_approval_sheet(p, path, policy=w.policy, on=w.today,
                                                                        envelope=envelope),
                                      f"社区治理项目审定单{p['id']}", "pdf")


# ---------------------------------------------------------------- the yearly summary


@routes.get("/funding/summary")
async def summary(request: web.Request) -> web.Response:
    """Township × kind with 合计, per township with a chart, the district envelope; .xlsx or PDF."""
    w, q = security.work(request), request.query
    year = year_of(q) or w.today.year
    fmt = field(q, "format")
    if fmt not in ("", "xlsx", "pdf"):
        raise DomainError("资金汇总只能下载 xlsx 或 pdf")
    data = await funding.summary(w, year)
    if fmt:
        return await downloads.attachment(lambda path: write_summary(data, path, on=w.today),
                                          f"{year}年社区治理项目资金汇总", fmt)
    towns = by_township(data)
    chart = bar_chart("各乡镇区级与乡镇承担金额（元）", [t["township"] for t in towns],
                      {"区级承担": [t["district_share"] // 100 for t in towns],
                       "乡镇承担": [t["township_share"] // 100 for t in towns]}) if towns else None
    return aiohttp_jinja2.render_template("funding_summary.html", request, {
        "s": data, "chart": to_svg(chart) if chart else "", "numbers": NUMBERS,
        "tables": [("summary", f"分乡镇、分类别（{len(data['rows'])}行）", SUMMARY_COLUMNS,
                    summary_rows(data, plain_yuan)),
                   ("townships", f"分乡镇（{len(towns)}个乡镇）", TOWNSHIP_COLUMNS, township_rows(data, plain_yuan)),
                   ("envelope", "区级资金", ENVELOPE_COLUMNS, envelope_rows(data, plain_yuan))]})
