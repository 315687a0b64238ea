"""What 三合署 reads: a week's record, the residents and the open problems offered at intake,
the four lists and the 幸福清单 notice, the week's board and the meeting's agenda, 一月一汇.
Nothing here writes; the writes, and the desk, demand and problem they return, are in
`services/desk.py`.

Scope as there: desk staff read their own community, a township liaison its township's, the
office all."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from resettle.errors import DomainError, NotFound
from resettle.models import Action, Community, Demand, DeskWeek, Feedback, Person, Problem, Reopening
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.desk import (
    ActionStatus,
    DemandStatus,
    Period,
    ProblemStatus,
    Rating,
    iso_week,
    mask_name,
    median_days,
    period,
    satisfaction,
    week_start,
)
from resettle.rules.permissions import require
from services import notify, scope
from services.desk import (
    _action_dict,
    _category,
    _demand_dicts,
    _problem_dict,
    _similar,
    _text,
    _week_dict,
    community_of,
    desk_info,
)
from services.work import Work

# Fields the list rows read: big lists skip building (and parsing timestamps of) whole rows.
DEMAND_FIELDS = ("id", "status", "category", "channel", "problem_id", "received_on", "resident_name", "person_id",
                 "unit", "contact", "text", "answer", "entitlement_id", "version")
PROBLEM_FIELDS = ("id", "status", "category", "title", "opened_on", "happy_on", "round", "version")
ACTION_FIELDS = ("id", "problem_id", "owner", "text", "decided_on", "due", "status", "completed_on", "result",
                 "version")


# ---------------------------------------------------------------- which community has work


async def open_work(work: Work) -> dict[str, int]:
    """Per community (乡镇/名称) in the actor's scope with any: its open desk work (demands waiting,
    problems not yet on the 幸福清单), for a picker to open on a community with work."""
    require(work.actor.role, "desk.view")
    within = scope.communities(work.actor, "community")
    counts: Counter = Counter()
    for query in (Demand.filter(within, status=DemandStatus.RECEIVED.value),
                  Problem.filter(within).exclude(status=ProblemStatus.HAPPY.value)):
        for community_id, n in await query.annotate(n=Count("id")).group_by("community_id") \
                .values_list("community_id", "n"):
            counts[community_id] += n
    names = await Community.filter(id__in=list(counts)).values_list("id", "township_code", "name") if counts else []
    return {f"{work.policy.township(code).name}/{name}": counts[i] for i, code, name in names}


# ---------------------------------------------------------------- the week's record, residents, look-alikes


async def desk_week(work: Work, community: str | int | None, week: str) -> dict:
    c = await community_of(work, community)
    week_start(week)
    return _week_dict(c, week, await DeskWeek.get_or_none(community_id=c.id, week=week))


async def find_residents(work: Work, community: str | int | None, q: str, limit: int = 10) -> list[dict]:
    """Residents of the community by full ID number, name or 房号 (the intake form's lookup)."""
    c = await community_of(work, community)
    q = (q or "").strip()
    if not q or len(q) > 64:
        return []
    query = Person.filter(household__community_id=c.id)
    number = idnumber.normalize(q)
    if len(number) == 18 and number[:17].isascii() and number[:17].isdigit():
        query = query.filter(id_number=number)
    else:
        query = query.filter(Q(name=q) | Q(household__unit=q))
    rows = await query.order_by("household_id", "id").limit(limit).prefetch_related("household")
    return [{"person_id": p.id, "name": p.name, "id_number": idnumber.mask(p.id_number), "phone": p.phone,
             "unit": p.household.unit, "agreement_no": p.household.agreement_no, "relation": p.relation}
            for p in rows]


async def similar_problems(work: Work, community: str | int | None, category: str, text: str) -> list[dict]:
    c = await community_of(work, community)
    return await _similar(c.id, _category(category, work.policy), _text(text, "诉求内容"))


# ---------------------------------------------------------------- the four lists


async def _problem_rows(problems: list[Problem]) -> list[dict]:
    """Problems as list rows: demand, household and action counts, this round's satisfaction."""
    ids = [p.id for p in problems]
    if not ids:
        return []
    demands: dict[int, int] = Counter()
    households: dict[int, set] = defaultdict(set)
    for pid, hid in await Demand.filter(problem_id__in=ids).values_list("problem_id", "person__household_id"):
        demands[pid] += 1
        if hid is not None:
            households[pid].add(hid)
    actions = dict(await Action.filter(problem_id__in=ids).annotate(n=Count("id"))
                   .group_by("problem_id").values_list("problem_id", "n"))
    rounds = {p.id: p.round for p in problems}
    ratings: dict[int, list[Rating]] = defaultdict(list)
    for pid, rnd, rating in await Feedback.filter(problem_id__in=ids).values_list("problem_id", "round", "rating"):
        if rnd == rounds[pid]:
            ratings[pid].append(Rating(rating))
    return [_problem_dict(p, demands[p.id], actions.get(p.id, 0), satisfaction(ratings[p.id]),
                          len(households[p.id])) for p in problems]


async def lists(work: Work, community: str | int | None, span: Period) -> dict:
    """The four lists of a community for a period:
    需求清单 demands received in it; 问题清单 problems in the loop during it (opened before its end
    and not yet happy at its start); 实事清单 actions open at some time in it; 幸福清单 problems
    that became happy in it. Overdue is judged today."""
    c = await community_of(work, community)
    now = work.today
    demands = await Demand.filter(community_id=c.id, received_on__gte=span.start,
                                  received_on__lt=span.end).order_by("received_on", "id").only(*DEMAND_FIELDS)
    problems = await Problem.filter(Q(happy_on=None) | Q(happy_on__gte=span.start), community_id=c.id,
                                    opened_on__lt=span.end).order_by("opened_on", "id").only(*PROBLEM_FIELDS)
    actions = await Action.filter(Q(completed_on=None) | Q(completed_on__gte=span.start), community_id=c.id,
                                  decided_on__lt=span.end).order_by("due", "id").only(*ACTION_FIELDS)
    problem_rows = await _problem_rows(problems)
    titles = {p.id: p.title for p in problems}
    missing = {a.problem_id for a in actions} - titles.keys()
    if missing:
        titles.update(dict(await Problem.filter(id__in=missing).values_list("id", "title")))
    return {"community_id": c.id, "community": c.name, "period": span.label, "start": span.start.isoformat(),
            "end": span.last_day.isoformat(), "as_of": now.isoformat(),
            "demands": await _demand_dicts(demands),
            "problems": problem_rows,
            "actions": [_action_dict(a, now, titles.get(a.problem_id, "")) for a in actions],
            "happy": [row for row in problem_rows if row["happy_on"] and span.start.isoformat()
                      <= row["happy_on"] <= span.last_day.isoformat()]}


async def notice(work: Work, community: str | int | None, span: Period) -> dict:
    """The 幸福清单 notice (公示) for the community board: problems made happy in the period, what
    was done, how content residents were, and who raised them with names masked (张*英)."""
    c = await community_of(work, community)
    problems = await Problem.filter(community_id=c.id, happy_on__gte=span.start, happy_on__lt=span.end) \
        .order_by("happy_on", "id").only(*PROBLEM_FIELDS)
    rows = {row["id"]: row for row in await _problem_rows(problems)}
    ids = list(rows)
    names: dict[int, list[str]] = defaultdict(list)
    for pid, name in await Demand.filter(problem_id__in=ids).order_by("id").values_list("problem_id", "resident_name"):
        if mask_name(name) not in names[pid]:
            names[pid].append(mask_name(name))
    done: dict[int, list[dict]] = defaultdict(list)
    for a in await Action.filter(problem_id__in=ids).order_by("completed_on", "id"):
        done[a.problem_id].append({"owner": a.owner, "text": a.text, "result": a.result,
                                   "completed_on": a.completed_on.isoformat() if a.completed_on else None})
    info = await desk_info(work, c.id)
    return {"community_id": c.id, "community": c.name, "township": info["township"], "period": span.label,
            "start": span.start.isoformat(), "end": span.last_day.isoformat(),
            "items": [{**rows[pid], "residents": names[pid], "action_items": done[pid]} for pid in ids]}


# ---------------------------------------------------------------- the week: board and agenda


async def board(work: Work, community: str | int | None = None, week: str | None = None) -> dict:
    """The week's board at the reception table: this week's demands, what waits for the meeting,
    actions due or overdue, and residents waiting to be asked."""
    c = await community_of(work, community)
    week = week or iso_week(work.today)
    starts = week_start(week)
    demands = await Demand.filter(community_id=c.id, received_on__gte=starts,
                                  received_on__lt=starts + dt.timedelta(days=7)).order_by("-id").only(*DEMAND_FIELDS)
    waiting = await Problem.filter(community_id=c.id, status=ProblemStatus.DONE.value).order_by("done_on", "id") \
        .only(*PROBLEM_FIELDS)
    due = await Action.filter(community_id=c.id, status=ActionStatus.PLANNED.value,
                              due__lt=starts + dt.timedelta(days=7)).order_by("due", "id").limit(200) \
        .only(*ACTION_FIELDS)
    counts = Counter(d.status for d in demands)
    titles = dict(await Problem.filter(id__in={a.problem_id for a in due}).values_list("id", "title"))
    return {"community_id": c.id, "community": c.name, "week": week, "starts": starts.isoformat(),
            "demands": await _demand_dicts(demands),
            "counts": {s.value: counts.get(s.value, 0) for s in DemandStatus},
            "open_problems": await Problem.filter(community_id=c.id, status=ProblemStatus.OPEN.value).count(),
            "awaiting_feedback": await _problem_rows(waiting),
            "actions_due": [_action_dict(a, work.today, titles.get(a.problem_id, "")) for a in due]}


async def agenda(work: Work, community: str | int | None, week: str) -> dict:
    """The weekly meeting's agenda, built from the data: problems without actions (new, and
    reopened by residents), overdue actions, and the week's demands still waiting."""
    c = await community_of(work, community)
    starts = week_start(week)
    ends = starts + dt.timedelta(days=7)
    record = await DeskWeek.get_or_none(community_id=c.id, week=week)
    as_of = min(ends, work.today + dt.timedelta(days=1))
    planned = Subquery(Action.filter(community_id=c.id, status=ActionStatus.PLANNED.value).values("problem_id"))
    unplanned = await Problem.filter(community_id=c.id, status__in=[ProblemStatus.OPEN.value,
                                                                      ProblemStatus.SCHEDULED.value]) \
        .exclude(id__in=planned).order_by("opened_on", "id")
    overdue = await Action.filter(community_id=c.id, status=ActionStatus.PLANNED.value,
                                  due__lt=as_of).order_by("due", "id")
    new = await Demand.filter(community_id=c.id, status=DemandStatus.RECEIVED.value,
                              received_on__lt=ends).order_by("received_on", "id")
    decided = await Action.filter(community_id=c.id, decided_on__gte=starts, decided_on__lt=ends).order_by("id")
    reasons = dict(await Reopening.filter(problem_id__in=[p.id for p in unplanned]).order_by("id")
                   .values_list("problem_id", "reason"))  # the newest reason per problem wins
    rows = await _problem_rows(unplanned)
    for row in rows:
        row["reopened"] = row["id"] in reasons
        row["reason"] = reasons.get(row["id"], "")
    titles = dict(await Problem.filter(id__in={a.problem_id for a in (*overdue, *decided)}).values_list("id", "title"))
    info = await desk_info(work, c.id)
    return {**_week_dict(c, week, record), "township": info["township"], "reception": info["reception"],
            "members": info["members"],
            "problems": [r for r in rows if not r["reopened"]], "reopened": [r for r in rows if r["reopened"]],
            "overdue_actions": [_action_dict(a, as_of, titles.get(a.problem_id, "")) for a in overdue],
            "new_demands": await _demand_dicts(new),
            "new_actions": [_action_dict(a, work.today, titles.get(a.problem_id, "")) for a in decided]}


# ---------------------------------------------------------------- 一月一汇


async def summary(work: Work, *, township: str | None = None, community: str | int | None = None,
                  month: str) -> dict:
    """The monthly summary per community of a township (or of one community): demands, problems
    solved (made happy), median days to solve, satisfaction, overdue actions, reopen rate."""
    require(work.actor.role, "desk.view")
    policy = work.policy
    span = period(month=month)
    if community not in (None, ""):
        communities = [await community_of(work, community)]
        title = communities[0].name
    else:
        if rule.own_community(work.actor) is not None:
            communities = [await community_of(work)]
            title = communities[0].name
        else:
            match = policy.match_township(township or "") if township else None
            if township and match is None:
                raise DomainError(f"“{township}”不是政策文件中的乡镇")
            own = rule.own_township(work.actor)
            if own is not None and (match is None or match.code != own):
                if township:
                    raise NotFound(f"找不到乡镇“{township}”")
                match = policy.township(own)
            query = Community.all() if match is None else Community.filter(township_code=match.code)
            communities = await query.order_by("township_code", "name")
            title = match.name if match else policy.name
    ids = [c.id for c in communities]
    as_of = min(span.end, work.today + dt.timedelta(days=1))
    demands = Counter(await Demand.filter(community_id__in=ids, received_on__gte=span.start,
                                          received_on__lt=span.end).values_list("community_id", flat=True))
    solved = defaultdict(list)
    for cid, opened, happy in await Problem.filter(community_id__in=ids, happy_on__gte=span.start,
                                                   happy_on__lt=span.end).values_list("community_id", "opened_on",
                                                                                      "happy_on"):
        solved[cid].append((opened, happy))
    ratings = defaultdict(list)
    for cid, rating in await Feedback.filter(problem__community_id__in=ids, given_on__gte=span.start,
                                             given_on__lt=span.end).values_list("problem__community_id", "rating"):
        ratings[cid].append(Rating(rating))
    overdue = Counter(await Action.filter(Q(completed_on=None) | Q(completed_on__gte=as_of), community_id__in=ids,
                                          due__lt=as_of, decided_on__lt=as_of).values_list("community_id", flat=True))
    reopened = Counter(await Reopening.filter(problem__community_id__in=ids, on__gte=span.start, on__lt=span.end)
                       .values_list("problem__community_id", flat=True))

    def row(name: str, town: str, keys: list[int]) -> dict:
        spans = [s for k in keys for s in solved[k]]
        given = [r for k in keys for r in ratings[k]]
        happy, reopen = len(spans), sum(reopened[k] for k in keys)
        share = satisfaction(given)
        return {"community": name, "township": town, "demands": sum(demands[k] for k in keys),
                "solved": happy, "median_days": median_days(spans),
                "feedback": len(given), "satisfaction": None if share is None else round(share, 4),
                "overdue_actions": sum(overdue[k] for k in keys), "reopened": reopen,
                "reopen_rate": round(reopen / (happy + reopen), 4) if happy + reopen else None}
    rows = [row(c.name, policy.township(c.township_code).name, [c.id]) for c in communities]
    # 督办 opened and closed this month, per township: a township's (or the district's) summary
    # counts every item of its townships, one community's only its actions
    single = len(communities) == 1 and (community not in (None, "") or rule.own_community(work.actor) is not None)
    escalated = await notify.escalation_counts(
        work, span.start, span.end, communities=ids if single else None,
        townships=None if single else sorted({c.township_code for c in communities}))
    return {"title": title, "month": span.label, "start": span.start.isoformat(), "end": span.last_day.isoformat(),
            "rows": rows, "total": row("合计", "", ids), "escalated": escalated,
            "escalated_total": {k: sum(r[k] for r in escalated) for k in ("opened", "closed", "open")}}
