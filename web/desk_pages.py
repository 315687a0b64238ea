"""Pages of 三合署, the joint desk: the week's board, intake at the reception table (keyboard
alone, no JavaScript), a demand and a problem with their forms, the weekly meeting run from its
agenda, the four lists and 一月一汇 with their downloads.

Desk staff work in their own community; the others name one with `?community=` (a picker offers
those in their scope). A refusal of a form is shown on the page it came from, with what was typed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from resettle.charts import bar_chart, to_svg
from resettle.errors import DomainError, NotFound, StaleVersion
from resettle.history import history_rows
from resettle.rules import scope as rule
from resettle.rules.desk import DEMAND, PROBLEM, RATING_LABELS, Period, iso_week, period, week_label
from resettle.rules.permissions import Forbidden, allowed, require
from resettle.rules.workflow import allowed_steps
from services import desk, desk_views, ledger, notify, registry
from services.audit import audit_log, names_for
from services.desk_papers import (
    ESCALATION_COLUMNS,
    LIST_COLUMNS,
    LIST_NAMES,
    SUMMARY_COLUMNS,
    chosen_lists,
    escalation_rows,
    list_rows,
    percent,
    summary_rows,
    write_lists,
    write_minutes,
    write_notice,
    write_summary,
)
from services.work import Work
from web import downloads
from web.fields import ID, day, field, number, path_id
from web.security import actor, work

routes = web.RouteTableDef()
FEEDBACK_INLINE = 20  # problems awaiting feedback whose residents the board lists with a form each
INTAKE_FIELDS = ("q", "person", "contact", "name", "unit", "channel", "category", "text", "received_on",
                 "entitlement", "lines_offered")
_NAMES = re.compile(r"[,，、;；\s]+")


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)
    filters = aiohttp_jinja2.get_env(app).filters
    filters["percent"] = percent  # shares as the papers print them
    filters["week_label"] = week_label


# ---------------------------------------------------------------- fields (shared with web/desk_api.py)


def community_key(values: Mapping) -> str | None:
    """The community asked about: a name, 乡镇/名称 or an id; None leaves desk staff in their own."""
    return field(values, "community") or None


def week_of(values: Mapping, today: dt.date) -> str:
    """The ISO week asked for; the week of `today` when none is."""
    return field(values, "week") or iso_week(today)


def span_of(values: Mapping, today: dt.date) -> Period:
    """The week, month or year asked for; the week of `today` when none is."""
    given = {kind: field(values, kind) or None for kind in ("week", "month", "year")}
    if not any(given.values()):
        given["week"] = iso_week(today)
    return period(**given)


def _names(text: str) -> list[str]:
    return [name for name in _NAMES.split(text) if name]


def _back(form: Mapping, default: str) -> str:
    """Where a form returns to: a desk page of this site, else `default`."""
    back = field(form, "back")
    return back if back.startswith("/desk") and "//" not in back and "\\" not in back else default


def _q(community: int | str | None) -> str:
    """The query part that keeps a page in its community (for those who must name it)."""
    return urlencode({"community": community}) if community else ""


def _at(path: str, community: int | str | None, **params) -> str:
    """A desk path in a community, with `params`."""
    query = "&".join(part for part in (urlencode(params), _q(community)) if part)
    return f"{path}?{query}" if query else path


# ---------------------------------------------------------------- which community


async def _where(request: web.Request) -> tuple[str | None, list[dict]]:
    """The community a page is about, and the picker's choices (each with its open desk work):
    desk staff have their own; the others what they picked, or the only community in their scope."""
    who = actor(request)
    require(who.role, "desk.view")
    key = community_key(request.query)
    if rule.own_community(who) is not None:
        return key, []
    w = work(request)
    busy = await desk_views.open_work(w)
    choices = []
    for r in (await registry.community_stats(w))[:-1]:
        at = f"{r['township']}/{r['community']}"
        n = busy.get(at, 0)
        choices.append({"key": at, "open": n,
                        "label": f"{r['township']} · {r['community']}" + (f"（在办{n}件）" if n else "")})
    if key is None and len(choices) == 1:
        key = choices[0]["key"]
    return key, choices


def _pick(request: web.Request, choices: list[dict], title: str) -> web.Response:
    """The picker alone, opening on the community with the most open work (the first when none has)."""
    busiest = max(choices, key=lambda c: c["open"], default=None)
    return aiohttp_jinja2.render_template("desk_pick.html", request, {
        "choices": choices, "title": title, "action": request.path, "current": busiest["key"] if busiest else "",
        "keep": {k: v for k, v in request.query.items() if k != "community"}})


# ---------------------------------------------------------------- the week's board


@routes.get("/desk")
async def board(request: web.Request) -> web.Response:
    w, q = work(request), request.query
    key, choices = await _where(request)
    if key is None and rule.own_community(w.actor) is None:
        return _pick(request, choices, "三合署一周看板")
    data = await desk_views.board(w, key, week_of(q, w.today))
    info = await desk.desk_info(w, data["community_id"])
    waiting = [await desk.problem_detail(w, p["id"]) for p in data["awaiting_feedback"][:FEEDBACK_INLINE]]
    starts = dt.date.fromisoformat(data["starts"])
    return aiohttp_jinja2.render_template("desk_board.html", request, {
        "b": data, "info": info, "waiting": waiting, "choices": choices, "cq": _q(data["community_id"]),
        "ratings": RATING_LABELS, "back": request.path_qs,
        "flags": await notify.flags("action", [a["id"] for a in data["actions_due"]]),
        "weeks": {"prev": iso_week(starts - dt.timedelta(days=7)), "next": iso_week(starts + dt.timedelta(days=7)),
                  "this": iso_week(w.today)}})


# ---------------------------------------------------------------- intake


def _intake_form(request: web.Request, info: dict, values: dict, *, status: int = 200, **extra) -> web.Response:
    return aiohttp_jinja2.render_template("desk_intake.html", request, {
        "info": info, "v": values, "cq": _q(info["community_id"]), "focus": "q", "choices": [], "lines": [],
        "resident": None, "stranger": bool(values.get("name")), "note": "", "error": "", **extra}, status=status)


@routes.get("/desk/intake")
async def intake_form(request: web.Request) -> web.Response:
    w = work(request)
    require(w.actor.role, "desk.work")
    key, choices = await _where(request)
    if key is None and rule.own_community(w.actor) is None:
        return _pick(request, choices, "受理需求")
    info = await desk.desk_info(w, key)
    return _intake_form(request, info, {"channel": "reception", "received_on": w.today.isoformat()})


@routes.post("/desk/intake")
async def intake(request: web.Request) -> web.Response:
    """One submit takes the demand when the resident is clear. Otherwise the form comes back with
    everything typed: several residents to choose from, the fields of a non-resident, or (事项对接)
    the resident's ledger lines to choose one of."""
    w = work(request)
    require(w.actor.role, "desk.work")
    form = await request.post()
    v = {name: field(form, name) for name in INTAKE_FIELDS}
    info = await desk.desk_info(w, community_key(request.query))
    resident = v["person"]
    if not resident and v["q"]:
        found = await desk_views.find_residents(w, info["community_id"], v["q"])
        if len(found) == 1:
            resident = str(found[0]["person_id"])
        elif found:
            return _intake_form(request, info, v, choices=found, focus="person",
                                note=f"“{v['q']}”对应{len(found)}位居民，请选择一位")
        elif not v["name"]:
            v["name"] = "" if any(ch.isdigit() for ch in v["q"]) else v["q"]
            return _intake_form(request, info, v, stranger=True, focus="contact" if v["name"] else "name",
                                note=f"本社区登记居民中没有“{v['q']}”。非登记居民请填写姓名和联系电话")
    if resident and v["category"] == info["matter_category"] and not v["lines_offered"] \
            and allowed(w.actor.role, "ledger.view"):
        person = await ledger.person_ledger(w, resident)
        if person["lines"]:
            return _intake_form(request, info, {**v, "person": resident, "lines_offered": "1"}, resident=person,
                                lines=person["lines"], focus="entitlement",
                                note=f"请选择{person['name']}所对接的台账事项（也可不选）")
    try:
        if not resident and not v["name"]:
            raise DomainError("请填写居民的身份证号、姓名或房号；非登记居民请填写姓名和联系电话")
        demand = await desk.intake(
            w, info["community_id"], channel=v["channel"], category=v["category"], text=v["text"],
            resident=resident, name=v["name"], contact=v["contact"], unit=v["unit"],
            entitlement_id=number(v["entitlement"], "事项台账编号"), received_on=day(v["received_on"], "受理日期"))
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return _intake_form(request, info, v, error=exc.message, status=400)
    raise web.HTTPSeeOther(_at(f"/desk/demands/{demand['id']}", info["community_id"], new=1))


# ---------------------------------------------------------------- a demand


async def _demand_page(request: web.Request, w: Work, demand_id: int, *, error: str = "", failed: str = "",
                       typed: Mapping | None = None, status: int = 200) -> web.Response:
    """A demand; a received one with the open problems that look like it, to link with one click,
    and the forms to open a problem, answer it on the spot or decline it."""
    key = community_key(request.query)
    data = await desk.demand_detail(w, demand_id)
    steps = allowed_steps(DEMAND, data["status"], w.actor.role)
    similar = await desk_views.similar_problems(w, data["community_id"], data["category"], data["text"]) \
        if "link" in steps else []
    return aiohttp_jinja2.render_template("desk_demand.html", request, {
        "d": data, "similar": similar, "steps": steps, "new": "new" in request.query, "cq": _q(key),
        "error": error, "failed": failed, "typed": typed or {}}, status=status)


@routes.get(f"/desk/demands/{ID}")
async def demand(request: web.Request) -> web.Response:
    return await _demand_page(request, work(request), path_id(request))


Act = Callable[[Mapping], Awaitable[str]]  # a form's work; returns where to go next


async def _on_demand(request: web.Request, w: Work, act: Act) -> web.Response:
    """Run a demand's form; a refusal is shown on the demand's page with what was typed."""
    form = await request.post()
    try:
        location = await act(form)
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return await _demand_page(request, w, path_id(request), error=exc.message,
                                  failed=request.path.rsplit("/", 1)[1], typed=form,
                                  status=409 if isinstance(exc, StaleVersion) else 400)
    raise web.HTTPSeeOther(location)


@routes.post(f"/desk/demands/{ID}/link")
async def link(request: web.Request) -> web.Response:
    """并入此问题 (one click) or 新立问题."""
    w = work(request)

    async def act(form: Mapping) -> str:
        problem = await desk.link(w, [path_id(request)],
                                  problem_id=number(field(form, "problem_id"), "问题编号"),
                                  title=field(form, "title"), description=field(form, "description"))
        return _at(f"/desk/problems/{problem['id']}", community_key(request.query))
    return await _on_demand(request, w, act)


@routes.post(f"/desk/demands/{ID}/answer")
async def answer(request: web.Request) -> web.Response:
    w = work(request)

    async def act(form: Mapping) -> str:
        await desk.answer(w, path_id(request), field(form, "text"),
                          version=number(field(form, "version"), "版本号"))
        return _at(f"/desk/demands/{path_id(request)}", community_key(request.query))
    return await _on_demand(request, w, act)


@routes.post(f"/desk/demands/{ID}/decline")
async def decline(request: web.Request) -> web.Response:
    w = work(request)

    async def act(form: Mapping) -> str:
        await desk.decline(w, path_id(request), field(form, "reason"),
                           version=number(field(form, "version"), "版本号"))
        return _at(f"/desk/demands/{path_id(request)}", community_key(request.query))
    return await _on_demand(request, w, act)


@routes.post(f"/desk/demands/{ID}/feedback")
async def feedback(request: web.Request) -> web.Response:
    """A resident's answer, from the board or the problem's page; a refusal shows the problem."""
    w, demand_id = work(request), path_id(request)
    form = await request.post()
    try:
        result = await desk.record_feedback(w, demand_id, field(form, "rating"), field(form, "remark"),
                                            on=day(field(form, "on"), "回访日期"))
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        problem = (await desk.demand_detail(w, demand_id))["problem"]
        if problem is None:
            raise
        return await _problem_page(request, w, problem, error=exc.message, failed=f"feedback-{demand_id}",
                                   typed=form, status=400)
    raise web.HTTPSeeOther(_back(form, _at(f"/desk/problems/{result['problem']}", community_key(request.query))))


# ---------------------------------------------------------------- a problem


async def _problem_page(request: web.Request, w: Work, problem_id: int, *, error: str = "", failed: str = "",
                        typed: Mapping | None = None, status: int = 200) -> web.Response:
    """A problem: its demands with this round's feedback (a form for each resident still to be
    asked), its actions (a form to complete each planned one, one to add another), reopenings, the
    edit form, and the audit history for those who may read it."""
    who = w.actor
    key = community_key(request.query)
    data = await desk.problem_detail(w, problem_id)
    working = allowed(who.role, "desk.work")
    # the owners come from the desk of the problem's community: desk staff's own, or the one named
    info = await desk.desk_info(w, key) if working and (key or rule.own_community(who) is not None) else None
    history = None
    if allowed(who.role, "audit.view"):
        events = (await audit_log(w, object_type="problem", object_id=str(problem_id)))["items"]
        history = history_rows(events, policy=w.policy, names=await names_for(events))
    return aiohttp_jinja2.render_template("desk_problem.html", request, {
        "p": data, "info": info, "working": working, "steps": allowed_steps(PROBLEM, data["status"], who.role),
        "history": history, "cq": _q(key),
        "ratings": RATING_LABELS, "today": w.today.isoformat(), "back": _at(request.path, key),
        "marks": await notify.marks(w, "action", {a["id"]: a["overdue"] for a in data["action_items"]}),
        "error": error, "failed": failed, "typed": typed or {}}, status=status)


@routes.get(f"/desk/problems/{ID}")
async def problem(request: web.Request) -> web.Response:
    return await _problem_page(request, work(request), path_id(request))


async def _on_problem(request: web.Request, w: Work, problem_id: int, failed: str,
                      act: Callable[[Mapping], Awaitable[object]]) -> web.Response:
    """Run a problem's form and go where the form says (else to the problem); a refusal (a stale
    version too) is shown on the problem's page with what was typed still in the form."""
    form = await request.post()
    try:
        await act(form)
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return await _problem_page(request, w, problem_id, error=exc.message, failed=failed, typed=form,
                                   status=409 if isinstance(exc, StaleVersion) else 400)
    raise web.HTTPSeeOther(_back(form, _at(f"/desk/problems/{problem_id}", community_key(request.query))))


@routes.post(f"/desk/problems/{ID}/edit")
async def edit(request: web.Request) -> web.Response:
    """Saved only over the version the clerk read: the second of two clerks is told, text kept."""
    w, problem_id = work(request), path_id(request)

    async def act(form: Mapping):
        return await desk.edit_problem(w, problem_id, title=field(form, "title"),
                                       description=field(form, "description"),
                                       version=number(field(form, "version"), "版本号") or 0)
    return await _on_problem(request, w, problem_id, "edit", act)


@routes.post(f"/desk/problems/{ID}/actions")
async def add_action(request: web.Request) -> web.Response:
    w, problem_id = work(request), path_id(request)

    async def act(form: Mapping):
        due = day(field(form, "due"), "完成期限")
        if due is None:
            raise DomainError("请填写完成期限")
        return await desk.add_action(w, problem_id, owner=field(form, "owner"),
                                     text=field(form, "text"), due=due,
                                     decided_on=day(field(form, "decided_on"), "议定日期"))
    return await _on_problem(request, w, problem_id, "action", act)


@routes.post(f"/desk/actions/{ID}/complete")
async def complete(request: web.Request) -> web.Response:
    """An action done; the form names its problem, whose page shows a refusal."""
    w, action_id = work(request), path_id(request)
    problem_id = number(field(await request.post(), "problem"), "问题编号")
    if problem_id is None:
        raise DomainError("缺少实事所属的问题")

    async def act(form: Mapping):
        return await desk.complete_action(w, action_id, result=field(form, "result"),
                                          on=day(field(form, "on"), "完成日期"),
                                          version=number(field(form, "version"), "版本号"))
    return await _on_problem(request, w, problem_id, f"complete-{action_id}", act)


# ---------------------------------------------------------------- the weekly meeting


async def _meeting_page(request: web.Request, w: Work, key: str | None, week: str, *, error: str = "",
                        typed: Mapping | None = None, status: int = 200, choices: list | None = None) -> web.Response:
    agenda = await desk_views.agenda(w, key, week)
    info = await desk.desk_info(w, agenda["community_id"])
    starts = dt.date.fromisoformat(agenda["starts"])
    who_attends = list(dict.fromkeys([*agenda["members"], *agenda["reception_attendance"],
                                      *agenda["meeting_attendance"]]))
    return aiohttp_jinja2.render_template("desk_meeting.html", request, {
        "a": agenda, "info": info, "attends": who_attends, "choices": choices or [],
        "cq": _q(agenda["community_id"]), "back": _at("/desk/meeting", agenda["community_id"], week=agenda["week"]),
        "weeks": {"prev": iso_week(starts - dt.timedelta(days=7)), "next": iso_week(starts + dt.timedelta(days=7))},
        "saved": "saved" in request.query, "error": error, "typed": typed,
        "flags": await notify.flags("action", [x["id"] for x in agenda["overdue_actions"] + agenda["new_actions"]])},
        status=status)


@routes.get("/desk/meeting")
async def meeting(request: web.Request) -> web.Response:
    w = work(request)
    key, choices = await _where(request)
    if key is None and rule.own_community(w.actor) is None:
        return _pick(request, choices, "例会")
    return await _meeting_page(request, w, key, week_of(request.query, w.today), choices=choices)


@routes.post("/desk/meeting")
async def save_meeting(request: web.Request) -> web.Response:
    """The week's record. A stale version (someone saved first) keeps what was typed on the page."""
    w, form = work(request), await request.post()
    key, week = community_key(request.query), field(form, "week")
    try:
        saved = await desk.save_week(
            w, key, week, meeting_on=day(field(form, "meeting_on"), "例会日期"),
            reception={k.split(":", 1)[1]: _names(field(form, k)) for k in form if k.startswith("reception:")},
            meeting={k.split(":", 1)[1]: _names(field(form, k)) for k in form if k.startswith("meeting:")},
            decisions=field(form, "decisions"), version=number(field(form, "version"), "版本号") or 0)
    except (Forbidden, NotFound):
        raise
    except DomainError as exc:
        return await _meeting_page(request, w, key, week, error=exc.message, typed=form,
                                   status=409 if isinstance(exc, StaleVersion) else 400)
    raise web.HTTPSeeOther(_at("/desk/meeting", saved["community_id"], week=saved["week"], saved=1))


@routes.get("/desk/meeting/minutes")
async def minutes(request: web.Request) -> web.Response:
    """The minutes (纪要) as PDF: attendance per carriage, decisions, the actions decided."""
    w = work(request)
    week = week_of(request.query, w.today)
    agenda = await desk_views.agenda(w, community_key(request.query), week)
    return await downloads.attachment(lambda path: write_minutes(agenda, path),
                                      f"{agenda['community']}{week_label(week)}例会纪要", "pdf")


# ---------------------------------------------------------------- the four lists and 一月一汇


@routes.get("/desk/lists")
async def lists(request: web.Request) -> web.Response:
    """The four lists of a period as tables, and each (or all) as .xlsx, PDF or (one list) .csv."""
    w, q = work(request), request.query
    key, choices = await _where(request)
    if key is None and rule.own_community(w.actor) is None:
        return _pick(request, choices, "三合署清单")
    span, shown, fmt = span_of(q, w.today), field(q, "list"), field(q, "format")
    names = chosen_lists([shown] if shown else None)  # refuses a list that does not exist
    if fmt not in ("", *downloads.TYPES):
        raise DomainError("下载格式只能是 xlsx、pdf 或（单张清单）csv")
    data = await desk_views.lists(w, key, span)
    if fmt:
        name = f"{data['community']}{data['period']}{LIST_NAMES[shown] if shown else '三合署清单'}"
        return await downloads.attachment(lambda path: write_lists(data, path, names), name, fmt)
    chosen = {span.kind: field(q, span.kind) or iso_week(w.today)}
    # the rows and columns the papers print, so that page, sheet and PDF add up
    tables = [(name, LIST_COLUMNS[name], list_rows(data, name)) for name in names]
    return aiohttp_jinja2.render_template("desk_lists.html", request, {
        "l": data, "tables": tables, "shown": shown, "names": LIST_NAMES, "choices": choices,
        "cq": _q(data["community_id"]), "chosen": chosen, "pq": urlencode(chosen),
        "keep": {**chosen, **({"list": shown} if shown else {})}})


@routes.get("/desk/lists/notice")
async def notice(request: web.Request) -> web.Response:
    """The 幸福清单 notice (公示) for the community board, names masked."""
    w = work(request)
    data = await desk_views.notice(w, community_key(request.query), span_of(request.query, w.today))
    return await downloads.attachment(lambda path: write_notice(data, path, on=w.today),
                                      f"{data['community']}{data['period']}幸福清单公示", "pdf")


@routes.get("/desk/summary")
async def summary(request: web.Request) -> web.Response:
    """一月一汇 of a township's communities (or of one) with its chart, as a page, .xlsx or PDF."""
    w, q = work(request), request.query
    who = w.actor
    require(who.role, "desk.view")
    month = field(q, "month") or w.today.strftime("%Y-%m")
    data = await desk_views.summary(w, township=field(q, "township") or None, community=community_key(q), month=month)
    fmt = field(q, "format")
    if fmt:
        if fmt not in ("xlsx", "pdf"):
            raise DomainError("一月一汇只能下载 xlsx 或 pdf")
        return await downloads.attachment(lambda path: write_summary(data, path),
                                          f"{data['title']}{data['month']}一月一汇", fmt)
    shown = [r for r in data["rows"] if r["demands"] or r["solved"]] or data["rows"]
    chart = bar_chart("各安置社区需求数与解决问题数", [r["community"] for r in shown],
                      {"需求数": [r["demands"] for r in shown], "解决问题数": [r["solved"] for r in shown]})
    townships = sorted({r["township"] for r in (await registry.community_stats(work(request)))[:-1]}) \
        if rule.whole_district(who) else []
    return aiohttp_jinja2.render_template("desk_summary.html", request, {
        "s": data, "rows": summary_rows(data), "columns": SUMMARY_COLUMNS, "chart": to_svg(chart), "month": month,
        "escalation_rows": escalation_rows(data), "escalation_columns": ESCALATION_COLUMNS,
        "townships": townships, "q": q,
        "query": urlencode({k: q[k] for k in ("township", "community") if q.get(k)})})
