"""Use cases of community-governance projects and their co-funding: the township drafts and
submits, the catalog item's department verifies (核定), the finance bureau approves (审定) and the
amount is split between district and township; the year's district envelope is never exceeded.

Scope: a township liaison sees its township's projects; a department the submitted projects it
verifies; finance every submitted project; the office all. Out of scope is not found (404)."""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import F, Q

from resettle.actor import Actor
from resettle.db import connection, placeholders
from resettle.errors import DomainError, NotFound
from resettle.models import (
    AuditEvent,
    Community,
    Demand,
    FundingYear,
    Household,
    Problem,
    Project,
    ProjectEvidence,
)
from resettle.policy import Policy
from resettle.rules import scope as rule
from resettle.rules.dates import parse_date
from resettle.rules.desk import PROBLEM_LABELS, ProblemStatus
from resettle.rules.funding import (
    EDITABLE,
    KIND_LABELS,
    PROJECT,
    STATUS_LABELS,
    Deliberation,
    Facts,
    ProjectKind,
    ProjectStatus,
    Qualification,
    qualify,
    split,
    yuan,
)
from resettle.rules.household import Status
from resettle.rules.numbers import percent
from resettle.rules.permissions import require
from resettle.rules.workflow import apply
from services import audit, notify, registry, scope, versioned
from services.work import Work

# a submitted project holds its catalog item for its community and year; drafts do not
CLAIMED = [ProjectStatus.SUBMITTED.value, ProjectStatus.VERIFIED.value, ProjectStatus.APPROVED.value,
           ProjectStatus.COMPLETED.value]
COMMITTED = [ProjectStatus.APPROVED.value, ProjectStatus.COMPLETED.value]
MAX_FEN = 10**13  # 1,000 亿元: anything above is a typing error


def _scope(actor: Actor) -> Q:
    require(actor.role, "funding.view")
    return scope.projects(actor)


async def _project(actor: Actor, project_id: int) -> Project:
    found = await Project.filter(_scope(actor), id=project_id).first()
    if found is None:
        raise NotFound(f"找不到编号为{project_id}的项目")
    return found


def _amount(value: object, what: str) -> int:
    """Fen from an int (already fen) — the entry points convert 元 text with `fen()`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
        raise DomainError(f"{what}应为0到{MAX_FEN // 100:,}元之间的金额")
    return value


def fen(text: str, what: str = "金额") -> int:
    """'12,345.6' (元, as clerks type it) → 1234560 fen; more than two decimals is refused."""
    raw = str(text).strip().replace(",", "").replace("，", "").removesuffix("元")
    whole, dot, part = raw.partition(".")
    if not whole.isascii() or not whole.isdigit() or (dot and not (part.isascii() and part.isdigit()
                                                                    and len(part) <= 2)):
        raise DomainError(f"{what}“{text}”应为以元为单位、最多两位小数的数字")
    digits = whole.lstrip("0")  # int() refuses more than 4,300 digits: a longer one is past MAX_FEN anyway
    yuan = int(digits or "0") if len(digits) <= len(str(MAX_FEN)) else MAX_FEN
    return _amount(yuan * 100 + int((part or "0").ljust(2, "0")), what)


# ---------------------------------------------------------------- drafting and qualification


def _deliberation(value: dict | None) -> Deliberation | None:
    if not value:
        return None
    try:
        held_on = parse_date(value["held_on"]) if value.get("held_on") else None
        counts = [int(value.get(k, 0)) for k in ("attendance", "votes_for", "votes_against")]
    except (ValueError, TypeError) as exc:
        raise DomainError(f"议事记录有误：{exc}") from None
    return Deliberation(str(value.get("body", "")).strip(), held_on, *counts)


def _deliberation_json(d: Deliberation | None) -> dict | None:
    if d is None:
        return None
    return {"body": d.body, "held_on": d.held_on.isoformat() if d.held_on else None, "attendance": d.attendance,
            "votes_for": d.votes_for, "votes_against": d.votes_against}


async def moved_in_households(community_id: int, year: int) -> int:
    """Households of the community moved in by the end of `year`, from the registry."""
    return await Household.filter(community_id=community_id, status=Status.MOVED_IN.value,
                                  moved_in_on__lte=dt.date(year, 12, 31)).count()


async def _qualification(p: Project, problems: int, policy: Policy) -> Qualification:
    duplicates = 0
    if p.item_code:
        duplicates = await Project.filter(community_id=p.community_id, item_code=p.item_code, year=p.year,
                                          status__in=CLAIMED).exclude(id=p.id).count()
    return qualify(Facts(
        kind=ProjectKind(p.kind), item_code=p.item_code, item=policy.funding.item(p.item_code) if p.item_code else None,
        year=p.year, requested=p.requested, area_m2=p.area_m2,
        moved_in_households=await moved_in_households(p.community_id, p.year),
        deliberation=_deliberation(p.deliberation), linked_problems=problems, duplicates=duplicates))


async def _community(work: Work, community: str | int) -> Community:
    """The community a draft is for, among the actor's."""
    key = str(community).strip()
    if not key:
        raise DomainError("请选择安置社区")
    c = await registry.find_community(key, work.policy)
    if not rule.sees_community(work.actor, c.id, c.township_code):
        raise NotFound(f"找不到安置社区“{community}”")
    return c


async def citable_problems(work: Work, community: str | int) -> list[dict]:
    """The desk problems a draft for the community may cite: those still in the loop (not yet on
    the 幸福清单), oldest first."""
    require(work.actor.role, "funding.draft")
    c = await _community(work, community)
    rows = await Problem.filter(community_id=c.id).exclude(status=ProblemStatus.HAPPY.value) \
        .order_by("id").values_list("id", "title", "status")
    return [{"id": pid, "title": title, "status_label": PROBLEM_LABELS[ProblemStatus(status)]}
            for pid, title, status in rows]


async def _fields(work: Work, *, community: str | int, kind: str, item: str, title: str,
                  year: int, requested: int, description: str, area_m2: int | None, deliberation: dict | None,
                  department: str) -> dict:
    """Validated columns of a draft; a township drafts only for its own communities."""
    policy = work.policy
    c = await _community(work, community)
    if not kind:
        raise DomainError("请选择项目类别")
    try:
        kind = ProjectKind(kind)
    except ValueError:
        raise DomainError(f"项目类别只能是：{'、'.join(f'{k.value}（{v}）' for k, v in KIND_LABELS.items())}") from None
    item = (item or "").strip()
    if kind is ProjectKind.CASE_BY_CASE:
        item = ""
        if department.strip() not in policy.funding.departments:
            raise DomainError(f"一事一议项目须指定核定部门：{'、'.join(policy.funding.departments)}")
        department = department.strip()
    else:
        found = policy.funding.item(item)
        if found is None:
            raise DomainError(f"项目目录中没有编号为“{item}”的项目")
        department = found.department
    title = title.strip()
    if not title or len(title) > 200:
        raise DomainError("请填写项目名称（200字以内）")
    if not 2000 <= year <= 2100:
        raise DomainError(f"项目年度{year}不合理")
    if area_m2 is not None and not 0 < area_m2 < 10**7:
        raise DomainError("建筑面积应为正整数（平方米）")
    return {"township_code": c.township_code, "community_id": c.id, "kind": kind.value, "item_code": item,
            "department": department, "title": title, "year": year, "requested": _amount(requested, "申请金额"),
            "description": description.strip()[:5000], "area_m2": area_m2,
            "deliberation": _deliberation_json(_deliberation(deliberation))
            if kind is ProjectKind.CASE_BY_CASE else None}


async def _link_problems(work: Work, project: Project, problem_ids: list[int]) -> None:
    """Cite desk problems of the project's community as evidence."""
    found = await Problem.filter(id__in=problem_ids, community_id=project.community_id).values_list("id", flat=True)
    missing = sorted(set(problem_ids) - set(found))
    if missing:
        raise NotFound(f"该社区的三合署问题清单中没有编号为{'、'.join(map(str, missing))}的问题")
    have = set(await ProjectEvidence.filter(project_id=project.id).values_list("problem_id", flat=True))
    for problem_id in sorted(set(found) - have):
        await ProjectEvidence.create(project_id=project.id, problem_id=problem_id)
    if set(found) - have:
        await audit.record(work, "funding.evidence", "project", project.id,
                           {"problems": [sorted(have), sorted(have | set(found))]})


async def draft(work: Work, *, community: str | int, kind: str, title: str, year: int, requested: int,
                item: str = "", description: str = "", area_m2: int | None = None,
                deliberation: dict | None = None, department: str = "", problems: list[int] = ()) -> dict:
    """A township drafts a project (nothing is checked against caps until it is submitted; the
    page shows the verdict live)."""
    actor = work.actor
    require(actor.role, "funding.draft")
    values = await _fields(work, community=community, kind=kind, item=item, title=title, year=year,
                           requested=requested, description=description, area_m2=area_m2,
                           deliberation=deliberation, department=department)
    async with work.transaction():
        project = await Project.create(**values, status=ProjectStatus.DRAFT.value)
        await audit.record(work, "funding.draft", "project", project.id, audit.diff({}, values))
        await _link_problems(work, project, list(problems))
    return await show(work, project.id)


async def draft_from_problem(work: Work, problem_id: int, *, requested: int, year: int | None = None,
                             title: str = "", kind: str = ProjectKind.CASE_BY_CASE.value, **fields) -> dict:
    """A desk problem that needs money becomes a draft project citing it (一事一议 unless a catalog
    item is given), of this year unless another is given."""
    require(work.actor.role, "funding.draft")
    problem = await Problem.filter(scope.communities(work.actor, of="community"), id=problem_id).first()
    if problem is None:
        raise NotFound(f"找不到编号为{problem_id}的问题")
    return await draft(work, community=problem.community_id, kind=kind, title=title or problem.title,
                       year=year or work.today.year, requested=requested,
                       description=fields.pop("description", "") or problem.description,
                       problems=[problem.id, *fields.pop("problems", ())], **fields)


async def update(work: Work, project_id: int, *, version: int, problems: list[int] = (), **changes) -> dict:
    """Edit a draft or a returned project (the township's, with the version it saw)."""
    actor = work.actor
    require(actor.role, "funding.draft")
    async with work.transaction():
        p = await _project(actor, project_id)
        if ProjectStatus(p.status) not in EDITABLE:
            raise DomainError(f"项目“{STATUS_LABELS[ProjectStatus(p.status)]}”，只有草稿或退回的项目可以修改")
        current = {"community": p.community_id, "kind": p.kind, "item": p.item_code, "title": p.title,
                   "year": p.year, "requested": p.requested, "description": p.description, "area_m2": p.area_m2,
                   "deliberation": p.deliberation, "department": p.department}
        unknown = set(changes) - set(current)
        if unknown:
            raise DomainError(f"不能修改：{'、'.join(sorted(unknown))}")
        values = await _fields(work, **{**current, **changes})
        before = {k: getattr(p, k) for k in values}
        await versioned.save(work, p, values, version, f"项目{project_id}")
        await audit.record(work, "funding.update", "project", p.id, audit.diff(before, values))
        await _link_problems(work, p, list(problems))
    return await show(work, project_id)


async def preview(work: Work, *, problems: list[int] = (), **fields) -> dict:
    """The qualification verdict of a project being filled in, without saving it."""
    require(work.actor.role, "funding.draft")
    values = await _fields(work, **{"item": "", "description": "", "area_m2": None,
                                                       "deliberation": None, "department": "", **fields})
    found = await Problem.filter(id__in=list(problems), community_id=values["community_id"]).count()
    return _verdict_json(await _qualification(Project(id=0, **values), found, work.policy))


def _verdict_json(verdict: Qualification) -> dict:
    return {"qualifies": verdict.qualifies, "reasons": list(verdict.reasons),
            "checks": [{"ok": ok, "text": text} for ok, text in verdict.checks]}


# ---------------------------------------------------------------- the workflow


async def _move(work: Work, project_id: int, step: str, changes: dict, version: int | None,
                check=None, **facts) -> dict:
    """One step of the workflow in one transaction: scope, the workflow table, `check(p)`, save, audit."""
    actor = work.actor
    async with work.transaction():
        p = await _project(actor, project_id)
        before_status = p.status
        to = apply(PROJECT, p.status, step, actor.role, **facts)
        if check:
            changes = {**changes, **(await check(p) or {})}
        changes = {"status": to.value, **changes}
        before = {k: getattr(p, k) for k in changes}
        await versioned.save(work, p, changes, version, f"项目{project_id}")
        await audit.record(work, f"funding.{to.value}", "project", p.id,
                           {**audit.diff(before, changes), "status": [before_status, to.value]})
        await notify.project_moved(work, p, to.value)
    return await show(work, project_id)


async def submit(work: Work, project_id: int, *, version: int | None = None) -> dict:
    """A project that does not qualify cannot be submitted; the reasons say why."""
    require(work.actor.role, "funding.draft")

    async def qualifies(p: Project) -> dict:
        verdict = await _qualification(p, await ProjectEvidence.filter(project_id=p.id).count(), work.policy)
        if not verdict.qualifies:
            raise DomainError("项目不符合申报条件：" + "；".join(verdict.reasons))
        return {"submitted_on": work.today, "verified": None, "verified_on": None, "verified_by": "", "reason": "",
                "qualification": _verdict_json(verdict)}
    return await _move(work, project_id, "submit", {}, version, qualifies)


async def verify(work: Work, project_id: int, amount: int, *, version: int | None = None) -> dict:
    """核定: the item's department fixes an amount no higher than requested."""
    actor = work.actor
    require(actor.role, "funding.verify")
    amount = _amount(amount, "核定金额")

    async def within(p: Project) -> None:
        if amount > p.requested:
            raise DomainError(f"核定金额{yuan(amount)}超过申请金额{yuan(p.requested)}")
        if amount == 0:
            raise DomainError("核定金额为0时请改为“不予通过”并写明原因")
    return await _move(work, project_id, "verify",
                       {"verified": amount, "verified_on": work.today, "verified_by": actor.name or actor.login},
                       version, within)


async def approve(work: Work, project_id: int, amount: int, *, version: int | None = None) -> dict:
    """审定: finance fixes an amount no higher than verified; the split is frozen with its ratio,
    and the district share is taken from the year's envelope by a conditional UPDATE that fails
    rather than overspend, whoever approves at the same moment."""
    actor, policy = work.actor, work.policy
    require(actor.role, "funding.approve")
    amount = _amount(amount, "审定金额")

    async def commit(p: Project) -> dict:
        if p.verified is None or amount > p.verified:
            raise DomainError(f"审定金额{yuan(amount)}超过核定金额{yuan(p.verified or 0)}")
        ratio = policy.funding.ratio(ProjectKind(p.kind), p.township_code)
        district, township = split(amount, ratio)
        envelope = policy.funding.envelope(p.year)
        conn = connection()
        await conn.execute_query(f"INSERT INTO funding_year (year, envelope, committed) VALUES "
                                 f"({placeholders(conn, 3)}) ON CONFLICT (year) DO NOTHING", [p.year, envelope, 0])
        taken = await FundingYear.filter(year=p.year, committed__lte=envelope - district).update(
            committed=F("committed") + district, envelope=envelope)
        if not taken:
            year = await FundingYear.get(year=p.year)
            raise DomainError(f"{p.year}年区级资金总额{yuan(envelope)}已承诺{yuan(year.committed)}，剩余"
                              f"{yuan(max(0, envelope - year.committed))}，不足本项目区级承担的{yuan(district)}")
        return {"approved": amount, "ratio_bp": ratio, "district_share": district, "township_share": township,
                "approved_on": work.today, "approved_by": actor.name or actor.login}
    return await _move(work, project_id, "approve", {}, version, commit)


async def send_back(work: Work, project_id: int, to: str, reason: str, *, version: int | None = None) -> dict:
    """退回 (to the township, to amend and resubmit) or 不予通过, with a reason, by whoever holds
    the project now: the department before verification, finance after."""
    require(work.actor.role, "funding.view")
    step = {ProjectStatus.RETURNED: "return", ProjectStatus.REJECTED: "reject"}.get(to)
    if step is None:
        raise DomainError("只能退回或不予通过")
    reason = reason.strip()
    return await _move(work, project_id, step, {"reason": reason[:500]}, version, reason=reason)


async def complete(work: Work, project_id: int, *, spent: int, on: dt.date | None = None,
                   version: int | None = None) -> dict:
    """验收: the township records the acceptance date (today unless given) and the amount spent
    (≤ approved)."""
    require(work.actor.role, "funding.draft")
    spent = _amount(spent, "实际支出")
    on = on or work.today
    if on > work.today:
        raise DomainError(f"验收日期{on}晚于今天")

    async def within(p: Project) -> dict:
        if spent > p.approved:
            raise DomainError(f"实际支出{yuan(spent)}超过审定金额{yuan(p.approved)}")
        if on < p.approved_on:
            raise DomainError(f"验收日期{on}早于审定日期{p.approved_on}")
        return {"spent": spent, "completed_on": on}
    return await _move(work, project_id, "complete", {}, version, within)


# ---------------------------------------------------------------- reading


# What a list row shows: lists and queues read only these (no timestamps, no JSON to parse).
ROW_FIELDS = ("id", "township_code", "community_id", "kind", "item_code", "department", "title", "year", "status",
              "requested", "verified", "approved", "district_share", "township_share", "ratio_bp", "spent",
              "version")


def _row(p: Project, community: str, policy: Policy) -> dict:
    return {"id": p.id, "township": policy.township(p.township_code).name, "township_code": p.township_code,
            "community": community, "community_id": p.community_id, "kind": p.kind,
            "kind_label": KIND_LABELS[ProjectKind(p.kind)], "item": p.item_code, "department": p.department,
            "title": p.title, "year": p.year, "status": p.status,
            "status_label": STATUS_LABELS[ProjectStatus(p.status)], "requested": p.requested,
            "verified": p.verified, "approved": p.approved, "district_share": p.district_share,
            "township_share": p.township_share,
            "ratio": None if p.ratio_bp is None else p.ratio_bp / 10_000, "spent": p.spent, "version": p.version}


async def list_projects(work: Work, *, year: int | None = None, status: str | None = None,
                        township: str | None = None, limit: int = 200, offset: int = 0) -> dict:
    policy = work.policy
    query = Project.filter(_scope(work.actor))
    if year:
        query = query.filter(year=year)
    if status:
        try:
            query = query.filter(status=ProjectStatus(status).value)
        except ValueError:
            raise DomainError(f"状态只能是：{'、'.join(s.value for s in ProjectStatus)}") from None
    if township:
        match = policy.match_township(township)
        if match is None:
            raise DomainError(f"“{township}”不是政策文件中的乡镇")
        query = query.filter(township_code=match.code)
    total = await query.count()
    rows = await query.order_by("-year", "id").offset(offset).limit(limit).only(*ROW_FIELDS)
    names = dict(await Community.filter(id__in={p.community_id for p in rows}).values_list("id", "name"))
    return {"total": total, "items": [_row(p, names[p.community_id], policy) for p in rows]}


async def evidence(project_ids: list[int]) -> dict[int, dict]:
    """Per project: the cited problems, how many registered households raised them, and how many
    demands (visitors without a household included) they gathered."""
    links = await ProjectEvidence.filter(project_id__in=project_ids).order_by("problem_id") \
        .values_list("project_id", "problem_id")
    problems = dict(await Problem.filter(id__in={p for _, p in links}).values_list("id", "title"))
    raised: dict[int, list] = {}
    for problem_id, household in await Demand.filter(problem_id__in=list(problems)) \
            .values_list("problem_id", "person__household_id"):
        raised.setdefault(problem_id, []).append(household)
    result: dict[int, dict] = {pid: {"problems": [], "households": set(), "demands": 0} for pid in project_ids}
    for project_id, problem_id in links:
        entry = result[project_id]
        entry["problems"].append({"id": problem_id, "title": problems[problem_id]})
        entry["households"] |= {h for h in raised.get(problem_id, []) if h is not None}
        entry["demands"] += len(raised.get(problem_id, []))
    return {pid: {**v, "households": len(v["households"])} for pid, v in result.items()}


async def show(work: Work, project_id: int) -> dict:
    """A project with its qualification (as each reviewer sees it), evidence, split and history."""
    policy = work.policy
    p = await _project(work.actor, project_id)
    community = await Community.get(id=p.community_id)
    proof = (await evidence([p.id]))[p.id]
    # live while the township can still change it; as submitted once it is with the reviewers
    verdict = p.qualification if p.qualification and ProjectStatus(p.status) not in EDITABLE else \
        _verdict_json(await _qualification(p, len(proof["problems"]), policy))
    history = await AuditEvent.filter(object_type="project", object_id=str(p.id)).order_by("id")
    names = await audit.who_acted((e.actor for e in history), policy)
    preview_split = None
    if p.status == ProjectStatus.VERIFIED:
        ratio = policy.funding.ratio(ProjectKind(p.kind), p.township_code)
        district, township = split(p.verified, ratio)
        preview_split = {"ratio": ratio / 10_000, "ratio_label": percent(ratio / 10_000, places=2),
                         "district_share": district, "township_share": township}
    return {**_row(p, community.name, policy), "description": p.description, "area_m2": p.area_m2,
            "deliberation": p.deliberation, "reason": p.reason,
            "ratio_label": percent(p.ratio_bp / 10_000, places=2) if p.ratio_bp is not None else None,
            "submitted_on": p.submitted_on, "verified_on": p.verified_on, "verified_by": p.verified_by,
            "approved_on": p.approved_on, "approved_by": p.approved_by, "completed_on": p.completed_on,
            "moved_in_households": await moved_in_households(p.community_id, p.year),
            "evidence": proof, "split_preview": preview_split,
            "qualification": verdict,
            "history": [{"at": e.at.astimezone(audit.SHANGHAI).strftime("%Y-%m-%d %H:%M"), "actor": e.actor,
                         "actor_name": names[e.actor], "action": e.action, "object_type": e.object_type,
                         "object_id": e.object_id, "changes": e.changes} for e in history]}


async def envelope(work: Work, year: int) -> dict:
    """The year's district envelope, what approvals committed, and what remains."""
    require(work.actor.role, "funding.view")
    total = work.policy.funding.envelope(year)
    row = await FundingYear.get_or_none(year=year)
    committed = row.committed if row else 0
    return {"year": year, "envelope": total, "committed": committed, "remaining": total - committed}


QUEUE_PAGE = 50  # projects per page of a reviewer's queue, oldest first


async def queue(work: Work, *, year: int | None = None, limit: int = QUEUE_PAGE, offset: int = 0) -> dict:
    """The reviewer's queue, oldest submission first, a page at a time: a department's projects
    to verify, finance's to approve (with the evidence, the split each would get, and the
    remaining envelope of every year the queue holds)."""
    actor, policy = work.actor, work.policy
    status = rule.review_queue(actor)
    if status is None:
        require(actor.role, "funding.approve")
        status = ProjectStatus.VERIFIED
    query = Project.filter(_scope(actor), status=status.value)
    if year:
        query = query.filter(year=year)
    total = await query.count()
    rows = await query.order_by("submitted_on", "id").offset(offset).limit(limit).only(*ROW_FIELDS)
    names = dict(await Community.filter(id__in={p.community_id for p in rows}).values_list("id", "name"))
    proof = await evidence([p.id for p in rows])
    items = []
    for p in rows:
        row = {**_row(p, names[p.community_id], policy), "evidence": proof[p.id]}
        if status is ProjectStatus.VERIFIED:
            ratio = policy.funding.ratio(ProjectKind(p.kind), p.township_code)
            row["split_preview"] = dict(zip(("district_share", "township_share"), split(p.verified, ratio),
                                            strict=True)) | {"ratio": ratio / 10_000}
        items.append(row)
    years = set(await query.distinct().values_list("year", flat=True)) if total else set()
    return {"status": status.value, "total": total, "items": items,
            "envelopes": [await envelope(work, y) for y in sorted(years | ({year} if year else set()))]}


async def summary(work: Work, year: int) -> dict:
    """Approved (and completed) projects of a year: township × kind with district and township
    totals, the envelope and what is committed. The totals add up to the fen."""
    require(work.actor.role, "funding.view")
    policy = work.policy
    conn = connection()
    own = rule.own_township(work.actor)
    within = "" if own is None else f" AND township_code = {placeholders(conn, 1, 4)}"
    params = [year, *COMMITTED] + ([] if own is None else [own])
    found = await conn.execute_query_dict(
        "SELECT township_code, kind, COUNT(*) AS projects, SUM(approved) AS approved, "
        "SUM(district_share) AS district, SUM(township_share) AS township FROM project "
        f"WHERE year = {placeholders(conn, 1)} AND status IN ({placeholders(conn, 2, 2)}){within} "
        "GROUP BY township_code, kind", params)
    rows = sorted(({"township": policy.township(r["township_code"]).name, "township_code": r["township_code"],
                    "kind": r["kind"], "kind_label": KIND_LABELS[ProjectKind(r["kind"])], "projects": r["projects"],
                    "approved": int(r["approved"]), "district_share": int(r["district"]),
                    "township_share": int(r["township"])} for r in found),
                  key=lambda r: (r["township_code"], list(ProjectKind).index(ProjectKind(r["kind"]))))
    total = {key: sum(r[key] for r in rows) for key in ("projects", "approved", "district_share", "township_share")}
    return {"year": year, **(await envelope(work, year)), "rows": rows, "total": total}
