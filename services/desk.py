"""Use cases of 三合署, the joint desk of 居委会, 业委会 and 物业: the weekly reception and meeting,
and the loop 需求 → 问题 → 实事 → 幸福清单 closed only by residents' feedback.

Here are the writes, and the reads of the one object a write returns (the desk, a demand, a
problem); what only reads (a week's record, residents, look-alikes, the four lists and the
notice, the board, the agenda, 一月一汇) is in `services/desk_views.py`.

Scope: desk staff work in their own community; a township liaison reads the communities of its
township; the office reads all. Out-of-scope objects are not found (404), as elsewhere."""

from __future__ import annotations

import datetime as dt

from tortoise.functions import Count

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound
from resettle.models import (
    Action,
    Community,
    Demand,
    Desk,
    DeskWeek,
    Entitlement,
    Feedback,
    Handoff,
    Person,
    Problem,
    Reopening,
    User,
)
from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.contact import mask_phone, normalize_phone
from resettle.rules.desk import (
    ACTION,
    ACTION_STATUS_LABELS,
    CHANNEL_LABELS,
    DEMAND,
    DEMAND_LABELS,
    PROBLEM,
    PROBLEM_LABELS,
    RATING_LABELS,
    WEEKDAYS,
    ActionStatus,
    Channel,
    DemandStatus,
    ProblemStatus,
    Rating,
    action_overdue,
    look_alike,
    parse_label,
    satisfaction,
    valid_slot,
    verdict,
    week_label,
    week_start,
)
from resettle.rules.ledger import HANDOFF_LABELS, OPEN
from resettle.rules.permissions import CARRIAGES, require
from resettle.rules.workflow import apply
from services import audit, notify, registry, scope, versioned
from services.work import Work

TEXT_MAX = 2000
SIMILAR_CANDIDATES = 500  # the newest open problems of a category compared with a new demand


# ---------------------------------------------------------------- scope


async def community_of(work: Work, community: str | int | None = None) -> Community:
    """The community an actor works on: desk staff their own (naming another is not found);
    a liaison one of its township's; the office any. `community` is an id or a name."""
    actor = work.actor
    require(actor.role, "desk.view")
    if (own := rule.own_community(actor)) is not None:
        found = await Community.get(id=own)
        if community not in (None, "") and str(community) not in (str(found.id), found.name,
                                                                  f"{found.township_code}/{found.name}"):
            raise NotFound(f"找不到安置社区“{community}”")
        return found
    if community in (None, ""):
        raise DomainError("请指定安置社区")
    found = await registry.find_community(str(community).strip(), work.policy)
    if not rule.sees_community(actor, found.id, found.township_code):
        raise NotFound(f"找不到安置社区“{community}”")
    return found


WHAT = {Demand: "需求", Problem: "问题", Action: "实事"}


async def _in_reach(actor: Actor, model: type[Demand | Problem | Action], row_id: int):
    """A demand, problem or action of a community the actor reaches; else not found."""
    found = await model.filter(scope.communities(actor, of="community"), id=row_id).first()
    if found is None:
        raise NotFound(f"找不到编号为{row_id}的{WHAT[model]}")
    return found


def _text(value: str, what: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"请填写{what}")
    if len(value) > limit:
        raise DomainError(f"{what}不能超过{limit}字")
    return value


def _not_future(on: dt.date | None, what: str, today: dt.date) -> dt.date:
    on = on or today
    if on > today:
        raise DomainError(f"{what}{on}晚于今天")
    return on


# ---------------------------------------------------------------- the desk and its weeks


async def desk_info(work: Work, community: str | int | None = None) -> dict:
    """The community's desk: reception slot (its own or the policy's) and members by carriage."""
    c = await community_of(work, community)
    policy = work.policy
    desk = await Desk.get_or_none(community_id=c.id)
    slot = (desk.reception_weekday, desk.reception_start, desk.reception_end) if desk else (
        policy.desk.reception_weekday, policy.desk.reception_start, policy.desk.reception_end)
    members = {carriage: [] for carriage in CARRIAGES}
    for user in await User.filter(community_id=c.id, role="desk", active=True).order_by("name"):
        members.setdefault(user.carriage, []).append(user.name)
    return {"community_id": c.id, "community": c.name, "township": policy.township(c.township_code).name,
            "reception": {"weekday": slot[0], "start": slot[1], "end": slot[2],
                          "label": f"每{WEEKDAYS[slot[0] - 1]} {slot[1]}–{slot[2]}", "own": desk is not None},
            "members": members, "categories": list(policy.desk.categories),
            "channels": {c.value: label for c, label in CHANNEL_LABELS.items()},
            "owners": [*CARRIAGES, *policy.desk.departments],
            "matter_category": policy.desk.matter_category}


async def set_reception(work: Work, community: str | int | None, weekday: int, start: str, end: str) -> dict:
    """A community's own fixed reception slot (一口受理), replacing the policy's."""
    require(work.actor.role, "desk.work")
    c = await community_of(work, community)
    if not 1 <= weekday <= 7:
        raise DomainError("接待日应为周一到周日")
    if not valid_slot(start, end):
        raise DomainError("接待时间应写成 09:00，且开始早于结束")
    async with work.transaction():
        desk = await Desk.get_or_none(community_id=c.id)
        before = {"reception_weekday": desk.reception_weekday, "reception_start": desk.reception_start,
                  "reception_end": desk.reception_end} if desk else {}
        after = {"reception_weekday": weekday, "reception_start": start, "reception_end": end}
        if desk:
            await versioned.save(work, desk, after, None, "接待时间")
        else:
            await Desk.create(community_id=c.id, **after)
        await audit.record(work, "desk.reception", "community", c.id, audit.diff(before, after))
    return await desk_info(work, c.id)


def _attendance(value: dict | None) -> dict[str, list[str]]:
    """{carriage or department: [names]}, names trimmed, empty entries dropped."""
    result: dict[str, list[str]] = {}
    for who, names in (value or {}).items():
        if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            raise DomainError("出席名单应为每个单位一组姓名")
        kept = [n.strip()[:32] for n in names if n.strip()]
        if kept:
            result[str(who).strip()[:64]] = kept
    return result


def _week_dict(c: Community, week: str, row: DeskWeek | None) -> dict:
    return {"community_id": c.id, "community": c.name, "week": week,
            "starts": week_start(week).isoformat(),
            "reception_attendance": row.reception_attendance if row else {},
            "meeting_on": row.meeting_on.isoformat() if row and row.meeting_on else None,
            "meeting_attendance": row.meeting_attendance if row else {},
            "decisions": row.decisions if row else "", "version": row.version if row else 0}


async def save_week(work: Work, community: str | int | None, week: str, *, reception: dict | None = None,
                    meeting_on: dt.date | None = None, meeting: dict | None = None, decisions: str = "",
                    version: int | None = None) -> dict:
    """Record a week: reception attendance per carriage, the meeting's date, attendance and
    decisions. `version` 0 means "I saw no record yet"; a stale version is refused."""
    require(work.actor.role, "desk.work")
    c = await community_of(work, community)
    starts = week_start(week)
    if meeting_on and not starts <= meeting_on < starts + dt.timedelta(days=7):
        raise DomainError(f"例会日期{meeting_on}不在{week_label(week)}")
    after = {"reception_attendance": _attendance(reception), "meeting_on": meeting_on,
             "meeting_attendance": _attendance(meeting), "decisions": _text(decisions, "例会决定", required=False)}
    async with work.transaction():
        row = await DeskWeek.get_or_none(community_id=c.id, week=week)
        if row is None:
            if version not in (None, 0):
                raise DomainError("这一周的记录已被删除或不存在，请刷新后重试")
            row = await DeskWeek.create(community_id=c.id, week=week, **after)
            before = {}
        else:
            if version == 0:
                raise DomainError("这一周已有人先记录了，请刷新后再保存")
            before = {k: getattr(row, k) for k in after}
            await versioned.save(work, row, after, version, "这一周的记录")
        await audit.record(work, "desk.week", "desk_week", row.id, audit.diff(before, after))
    return _week_dict(c, week, row)


# ---------------------------------------------------------------- residents and intake


async def _resident(c: Community, key: str) -> Person:
    """A resident of the community by person id or full ID number."""
    key = key.strip()
    query = Person.filter(household__community_id=c.id)
    if key.isascii() and key.isdigit() and len(key) < 10:
        person = await query.filter(id=int(key)).first()
    else:
        person = await query.filter(id_number=idnumber.normalize(key)).first()
    if person is None:
        raise NotFound(f"{c.name}的居民中找不到“{idnumber.mask(key) if len(key) >= 15 else key}”")
    return person


async def intake(work: Work, community: str | int | None, *, channel: str, category: str, text: str,
                 resident: str = "", name: str = "", contact: str = "", unit: str = "",
                 entitlement_id: int | None = None, received_on: dt.date | None = None,
                 similar: bool = True) -> dict:
    """Take one demand (一口受理). A resident from the registry (person id or ID number), or a
    non-resident with a name and a contact. Returns the demand and (unless `similar` is off, as
    for a batch import) the open problems of the same category that look alike, to link with
    one click."""
    require(work.actor.role, "desk.work")
    policy = work.policy
    c = await community_of(work, community)
    channel = parse_label(Channel, CHANNEL_LABELS, channel, "受理渠道")
    category = _category(category, policy)
    text = _text(text, "诉求内容")
    received_on = _not_future(received_on, "受理日期", work.today)
    person, phone = None, ""
    if resident.strip():
        person = await _resident(c, resident)
        await person.fetch_related("household")
        name, unit = person.name, unit.strip() or person.household.unit
    else:
        name = _text(name, "来访人姓名（非本社区登记居民）", limit=64)
    if contact.strip():
        phone, ok = normalize_phone(contact)
        if not ok:
            raise DomainError(f"联系电话“{contact.strip()}”不是有效的手机或座机号码")
    elif person is None:
        raise DomainError("非本社区登记居民须留联系电话")
    line = None
    if entitlement_id is not None:
        if category != policy.desk.matter_category or person is None:
            raise DomainError(f"只有“{policy.desk.matter_category}”类、且来自登记居民的需求可以关联事项台账")
        line = await Entitlement.get_or_none(id=entitlement_id, person_id=person.id)
        if line is None:
            raise NotFound(f"{person.name}的事项台账中没有编号为{entitlement_id}的事项")
    async with work.transaction():
        demand = await Demand.create(
            community_id=c.id, received_on=received_on, channel=channel.value, category=category, text=text,
            person_id=person.id if person else None, resident_name=name, contact=phone,
            unit=_text(unit, "房号", required=False, limit=64), entitlement_id=line.id if line else None,
            status=DemandStatus.RECEIVED.value)
        # what was taken, as the demand holds it; the phone only masked (the log is read widely)
        await audit.record(work, "desk.intake", "demand", demand.id, audit.diff({}, {
            "community_id": c.id, "channel": channel.value, "category": category, "text": demand.text,
            "person_id": demand.person_id, "resident_name": demand.resident_name, "unit": demand.unit,
            "contact": mask_phone(demand.contact), "entitlement_id": demand.entitlement_id,
            "received_on": received_on}))
    return {**(await _demand_dicts([demand]))[0],
            "similar": await _similar(c.id, category, text) if similar else []}


def _category(category: str, policy: Policy) -> str:
    if category not in policy.desk.categories:
        raise DomainError(f"需求类别只能是：{'、'.join(policy.desk.categories)}")
    return category


async def _similar(community_id: int, category: str, text: str) -> list[dict]:
    """Problems not yet on the 幸福清单, same community and category, most alike first."""
    rows = await Problem.filter(community_id=community_id, category=category,
                                status__in=[s.value for s in ProblemStatus if s is not ProblemStatus.HAPPY]) \
        .order_by("-id").limit(SIMILAR_CANDIDATES).values_list("id", "title", "description", "status")
    by_id = {r[0]: r for r in rows}
    best = look_alike(text, [(r[0], f"{r[1]} {r[2]}") for r in rows])
    counts = await _demand_counts([pid for pid, _ in best])
    return [{"id": pid, "title": by_id[pid][1], "status": by_id[pid][3],
             "status_label": PROBLEM_LABELS[ProblemStatus(by_id[pid][3])],
             "demands": counts.get(pid, 0), "likeness": round(score, 2)} for pid, score in best]


# ---------------------------------------------------------------- demands: link, answer, decline


async def link(work: Work, demand_ids: list[int], *, problem_id: int | None = None, title: str = "",
               description: str = "", on: dt.date | None = None) -> dict:
    """Link received demands to an open problem, or to a new one titled `title` (several demands
    about one lift are one problem). All demands must be of the problem's community."""
    require(work.actor.role, "desk.work")
    if not demand_ids:
        raise DomainError("请至少选择一条需求")
    on = _not_future(on, "日期", work.today)
    async with work.transaction():
        demands = [await _in_reach(work.actor, Demand, i) for i in dict.fromkeys(demand_ids)]
        if problem_id is not None:
            problem = await _in_reach(work.actor, Problem, problem_id)
            apply(PROBLEM, problem.status, "link", work.actor.role)
        else:
            first = demands[0]
            problem = await Problem.create(
                community_id=first.community_id, category=first.category,
                title=_text(title or first.text[:60], "问题标题", limit=200),
                description=_text(description, "问题说明", required=False),
                status=ProblemStatus.OPEN.value, opened_on=on)
            await audit.record(work, "desk.problem", "problem", problem.id, audit.diff({}, {
                "title": problem.title, "category": problem.category, "opened_on": on}))
        for demand in demands:
            if on < demand.received_on:
                raise DomainError(f"日期{on}早于需求{demand.id}的受理日期{demand.received_on}")
            if demand.community_id != problem.community_id:
                raise DomainError(f"需求{demand.id}与问题{problem.id}不属于同一个安置社区")
            linked = apply(DEMAND, demand.status, "link", work.actor.role)
            await versioned.save(work, demand, {"status": linked.value, "problem_id": problem.id,
                                          "closed_on": on}, None, f"需求{demand.id}")
            await audit.record(work, "desk.link", "demand", demand.id,
                               {"status": [DemandStatus.RECEIVED.value, DemandStatus.LINKED.value],
                                "problem_id": [None, problem.id]})
    return await problem_detail(work, problem.id)


async def answer(work: Work, demand_id: int, text: str, *, on: dt.date | None = None,
                 version: int | None = None) -> dict:
    """当场答复: the demand is closed at the desk with the answer given."""
    return await _close_demand(work, demand_id, "answer", _text(text, "答复内容"), on, version)


async def decline(work: Work, demand_id: int, reason: str, *, on: dt.date | None = None,
                  version: int | None = None) -> dict:
    """Not taken up here, with the reason (e.g. referred to a department)."""
    return await _close_demand(work, demand_id, "decline", _text(reason, "不予受理的原因"), on, version)


async def _close_demand(work: Work, demand_id: int, step: str, text: str, on: dt.date | None,
                        version: int | None) -> dict:
    require(work.actor.role, "desk.work")
    on = _not_future(on, "日期", work.today)
    async with work.transaction():
        demand = await _in_reach(work.actor, Demand, demand_id)
        before = demand.status
        to = apply(DEMAND, before, step, work.actor.role)
        if on < demand.received_on:
            raise DomainError(f"日期{on}早于需求{demand.id}的受理日期{demand.received_on}")
        await versioned.save(work, demand, {"status": to.value, "answer": text, "closed_on": on}, version,
                             f"需求{demand.id}")
        await audit.record(work, f"desk.{to.value}", "demand", demand.id,
                           {"status": [before, to.value], "answer": ["", text]})
    return await demand_detail(work, demand_id)


# ---------------------------------------------------------------- problems and actions


async def edit_problem(work: Work, problem_id: int, *, title: str | None = None, description: str | None = None,
                       version: int) -> dict:
    """Two staff editing one problem: the second save is refused (version), nothing lost. A
    field not given (None) keeps its value, so a partial update changes only what it names."""
    require(work.actor.role, "desk.work")
    after = {}
    if title is not None:
        after["title"] = _text(title, "问题标题", limit=200)
    if description is not None:
        after["description"] = _text(description, "问题说明", required=False)
    async with work.transaction():
        problem = await _in_reach(work.actor, Problem, problem_id)
        before = {k: getattr(problem, k) for k in after}
        await versioned.save(work, problem, after, version, f"问题{problem_id}")
        await audit.record(work, "desk.edit", "problem", problem.id, audit.diff(before, after))
    return await problem_detail(work, problem_id)


def _owner(owner: str, policy: Policy) -> str:
    owner = owner.strip()
    allowed = (*CARRIAGES, *policy.desk.departments)
    if owner not in allowed:
        raise DomainError(f"实事的责任方只能是：{'、'.join(allowed)}")
    return owner


async def _move_problem(work: Work, problem: Problem, step: str, on: dt.date, version: int | None = None, *,
                        event: str = "desk.status", **facts) -> None:
    """Take a step of the problem workflow on `on` and save it, with the version bumped even when
    the status stays, so that two clerks acting on one problem at once cannot both win. A done
    problem given new work, or reopened, starts a new feedback round when residents answered this
    one: they are asked again about the new result."""
    old = ProblemStatus(problem.status)
    new = apply(PROBLEM, old, step, work.actor.role, problem=problem.id, **facts)
    changes: dict = {"status": new.value}
    if new is ProblemStatus.SCHEDULED and problem.scheduled_on is None:
        changes["scheduled_on"] = on
    if new is ProblemStatus.DONE and old is not ProblemStatus.DONE:
        changes["done_on"] = on
    if new is ProblemStatus.HAPPY:
        changes["happy_on"] = on
    if old is ProblemStatus.DONE and new is ProblemStatus.SCHEDULED:
        changes["done_on"] = None
        if await Feedback.exists(problem_id=problem.id, round=problem.round):
            changes["round"] = problem.round + 1
    before = {k: getattr(problem, k) for k in changes}
    await versioned.save(work, problem, changes, version, f"问题{problem.id}")
    if new is not old:
        await audit.record(work, event, "problem", problem.id, audit.diff(before, changes))


async def add_action(work: Work, problem_id: int, *, owner: str, text: str, due: dt.date,
                     decided_on: dt.date | None = None, version: int | None = None) -> dict:
    """The weekly meeting gives a problem an action (owner, due date): the problem is scheduled."""
    require(work.actor.role, "desk.work")
    owner = _owner(owner, work.policy)
    text = _text(text, "实事内容", limit=500)
    decided_on = _not_future(decided_on, "议定日期", work.today)
    if due < decided_on:
        raise DomainError(f"完成期限{due}早于议定日期{decided_on}")
    async with work.transaction():
        problem = await _in_reach(work.actor, Problem, problem_id)
        apply(PROBLEM, problem.status, "plan", work.actor.role)  # refused before the action is made
        if decided_on < problem.opened_on:
            raise DomainError(f"议定日期{decided_on}早于问题提出日期{problem.opened_on}")
        action = await Action.create(problem_id=problem.id, community_id=problem.community_id, owner=owner,
                                     text=text, decided_on=decided_on, due=due, status=ActionStatus.PLANNED.value)
        await audit.record(work, "desk.action", "action", action.id, audit.diff({}, {
            "problem_id": problem.id, "owner": owner, "text": text, "due": due, "decided_on": decided_on}))
        await _move_problem(work, problem, "plan", decided_on, version)
    return await problem_detail(work, problem_id)


async def complete_action(work: Work, action_id: int, *, result: str, on: dt.date | None = None,
                          version: int | None = None) -> dict:
    """An action done, with its result; when it was the last, the problem is done and its residents
    are to be asked."""
    require(work.actor.role, "desk.work")
    result = _text(result, "办理结果")
    on = _not_future(on, "完成日期", work.today)
    async with work.transaction():
        action = await _in_reach(work.actor, Action, action_id)
        after = apply(ACTION, action.status, "complete", work.actor.role, on=on, decided_on=action.decided_on,
                      action=action_id, completed_on=action.completed_on)
        await versioned.save(work, action, {"status": after.value, "completed_on": on, "result": result},
                             version, f"实事{action_id}")
        await audit.record(work, "desk.complete", "action", action.id, {
            "status": [ActionStatus.PLANNED.value, after.value],
            "completed_on": [None, on.isoformat()], "result": ["", result]})
        problem = await Problem.get(id=action.problem_id)
        planned = await Action.filter(problem_id=problem.id, status=ActionStatus.PLANNED.value).count()
        await _move_problem(work, problem, "complete", on, planned=planned)
    return await problem_detail(work, action.problem_id)


# ---------------------------------------------------------------- feedback


async def record_feedback(work: Work, demand_id: int, rating: str, remark: str = "", *,
                          on: dt.date | None = None) -> dict:
    """One resident's answer about a done problem (asked in person or by phone, recorded by
    staff). Once nobody is waiting, the problem is happy when the share of 满意 + 基本满意 reaches
    the policy threshold, and otherwise goes back to work with the residents' reasons."""
    require(work.actor.role, "desk.work")
    rating = parse_label(Rating, RATING_LABELS, rating, "满意度")
    remark = _text(remark, "不满意的原因" if rating is Rating.UNSATISFIED else "回访备注",
                   required=rating is Rating.UNSATISFIED, limit=500)
    on = _not_future(on, "回访日期", work.today)
    async with work.transaction():
        demand = await _in_reach(work.actor, Demand, demand_id)
        if demand.problem_id is None:
            raise DomainError("只有已转为问题的需求才回访")
        problem = await Problem.get(id=demand.problem_id)
        apply(PROBLEM, problem.status, "feedback", work.actor.role, problem=problem.id)
        if problem.done_on and on < problem.done_on:
            raise DomainError(f"回访日期{on}早于实事办结日期{problem.done_on}")
        if await Feedback.exists(demand_id=demand.id, round=problem.round):
            raise DomainError(f"已记录过{demand.resident_name}对这一轮办理结果的评价")
        await Feedback.create(demand_id=demand.id, problem_id=problem.id, round=problem.round,
                              rating=rating.value, remark=remark, given_on=on)
        await audit.record(work, "desk.feedback", "demand", demand.id,
                           {"rating": [None, rating.value], "round": [None, problem.round], "remark": ["", remark]})
        given = await Feedback.filter(problem_id=problem.id, round=problem.round).values_list("rating", "remark")
        asked = await Demand.filter(problem_id=problem.id).count()
        outcome = verdict([Rating(r) for r, _ in given], asked - len(given), work.policy.desk.happy_percent)
        if outcome.outcome == "reopen":
            reason = "；".join(text for r, text in given if r == Rating.UNSATISFIED) or "居民不满意"
            await Reopening.create(problem_id=problem.id, round=problem.round, on=on, reason=reason)
            await notify.problem_reopened(work, problem)
        # saved on every answer (the version bumped), so two clerks recording the last two answers
        # at once cannot both see someone still waiting
        await _move_problem(work, problem, "feedback" if outcome.outcome == "wait" else outcome.outcome, on,
                            event=f"desk.{outcome.outcome}")
    return {"demand": demand_id, "problem": problem.id, "outcome": outcome.outcome,
            "status": problem.status, "status_label": PROBLEM_LABELS[ProblemStatus(problem.status)],
            "satisfaction": outcome.satisfaction, "waiting": max(0, asked - len(given))}


# ---------------------------------------------------------------- reading one object


async def _demand_counts(problem_ids: list[int]) -> dict[int, int]:
    if not problem_ids:
        return {}
    rows = await Demand.filter(problem_id__in=problem_ids).annotate(n=Count("id")) \
        .group_by("problem_id").values_list("problem_id", "n")
    return dict(rows)


async def _demand_dicts(demands: list[Demand]) -> list[dict]:
    return [{"id": d.id, "status": d.status, "status_label": DEMAND_LABELS[DemandStatus(d.status)],
             "category": d.category, "channel": d.channel, "channel_label": CHANNEL_LABELS[Channel(d.channel)],
             "problem": d.problem_id, "received_on": d.received_on.isoformat(), "resident": d.resident_name,
             "resident_id": d.person_id, "unit": d.unit, "contact": d.contact, "text": d.text,
             "answer": d.answer, "entitlement": d.entitlement_id, "version": d.version} for d in demands]


async def demand_detail(work: Work, demand_id: int) -> dict:
    """A demand, with the ledger line it is about and that line's open hand-offs."""
    require(work.actor.role, "desk.view")
    demand = await _in_reach(work.actor, Demand, demand_id)
    data = {**(await _demand_dicts([demand]))[0], "community_id": demand.community_id}
    if demand.entitlement_id:
        line = await Entitlement.get(id=demand.entitlement_id)
        policy = work.policy
        handoffs = await Handoff.filter(entitlement_id=line.id).order_by("-id").limit(5)
        try:
            matter = policy.matter(line.matter_code).name
        except KeyError:
            matter = line.matter_code
        data["ledger"] = {
            "id": line.id, "matter": matter, "open": line.closed_on is None,
            "responsible": policy.township(line.responsible_township).name,
            "handoffs": [{"id": h.id, "status": h.status, "status_label": HANDOFF_LABELS[h.status],
                          "open": h.status in OPEN, "to": policy.township(h.to_township).name} for h in handoffs]}
    return data


async def problem_detail(work: Work, problem_id: int) -> dict:
    """A problem with its demands (and each resident's answer this round), actions, reopenings."""
    require(work.actor.role, "desk.view")
    problem = await _in_reach(work.actor, Problem, problem_id)
    demands = await Demand.filter(problem_id=problem.id).order_by("id")
    feedback = {f.demand_id: f for f in await Feedback.filter(problem_id=problem.id, round=problem.round)}
    actions = await Action.filter(problem_id=problem.id).order_by("id")
    reopenings = await Reopening.filter(problem_id=problem.id).order_by("id")
    rows = await _demand_dicts(demands)
    for row in rows:
        f = feedback.get(row["id"])
        row["feedback"] = {"rating": f.rating, "label": RATING_LABELS[Rating(f.rating)], "remark": f.remark,
                           "on": f.given_on.isoformat()} if f else None
    waiting = sum(1 for row in rows if row["feedback"] is None) if problem.status == ProblemStatus.DONE else 0
    return {**_problem_dict(problem, len(demands), len(actions),
                            satisfaction(Rating(f.rating) for f in feedback.values()),
                            len({d.person_id for d in demands if d.person_id})),
            "description": problem.description, "round": problem.round, "waiting": waiting,
            "community_id": problem.community_id,
            "demand_items": rows,
            "action_items": [_action_dict(a, work.today) for a in actions],
            "reopenings": [{"on": r.on.isoformat(), "round": r.round, "reason": r.reason} for r in reopenings]}


def _problem_dict(p: Problem, demands: int, actions: int, share: float | None, households: int) -> dict:
    return {"id": p.id, "status": p.status, "status_label": PROBLEM_LABELS[ProblemStatus(p.status)],
            "category": p.category, "title": p.title, "opened_on": p.opened_on.isoformat(),
            "happy_on": p.happy_on.isoformat() if p.happy_on else None,
            "demands": demands, "households": households, "actions": actions,
            "satisfaction": None if share is None else round(share, 4), "version": p.version}


def _action_dict(a: Action, now: dt.date, problem_title: str = "") -> dict:
    overdue = action_overdue(ActionStatus(a.status), a.due, now)
    return {"id": a.id, "problem": a.problem_id, "problem_title": problem_title, "owner": a.owner, "text": a.text,
            "decided_on": a.decided_on.isoformat(), "due": a.due.isoformat(), "status": a.status,
            "status_label": ACTION_STATUS_LABELS[ActionStatus(a.status)], "overdue": overdue,
            "completed_on": a.completed_on.isoformat() if a.completed_on else None, "result": a.result,
            "version": a.version}
