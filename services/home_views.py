"""Each role's home page: that person's work first. Every figure is counted by the very read that
the list behind it runs (the inbox, the desk's board and agenda, the reviewers' queues, the
monthly summary), and carries that list's address with the same filters, so a number and the list
its link opens cannot disagree.

Scope is the reads' own: a liaison's figures are its township's, desk staff's their community's
(never the township's totals), the office's the district's."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from urllib.parse import urlencode

from pydantic import BaseModel

from resettle.rules import scope as rule
from resettle.rules.desk import iso_week
from resettle.rules.permissions import Forbidden, allowed, require
from services import desk, desk_views, funding, jobs, ledger_views, notify
from services.work import Work

IMPORTS_SHOWN = 5  # a liaison's latest imports on its home
QUEUE_SHOWN = 5  # the oldest projects of a reviewer's queue shown on its home


class Figure(BaseModel):
    """A number and the page that lists what it counts, filtered the same way."""

    count: int
    href: str


def _at(path: str, **params: object) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return f"{path}?{urlencode(kept)}" if kept else path


async def _handoffs(work: Work, **filters) -> Figure:
    """Hand-offs counted by the inbox's own read; the link asks the inbox for the same filters."""
    found = await ledger_views.list_handoffs(work, limit=1, **filters)
    params = {"direction": filters.get("direction"), "status": filters.get("status"),
              "overdue": 1 if filters.get("overdue") else None, "township": filters.get("township"),
              "all": 1 if filters.get("open_only") is False else None}
    return Figure(count=found["total"], href=_at("/ledger/inbox", **params))


class Escalated(BaseModel):
    """An open 督办 the person's group answers for (the office's: every open one), until done."""

    label: str
    href: str
    note: str
    new_due: str
    late: bool  # past the new date too


async def _escalated(work: Work) -> list[Escalated]:
    return [Escalated(label=e["label"], href=e["href"], note=e["note"], new_due=e["new_due"], late=e["late"])
            for e in await notify.open_for(work)]


# ---------------------------------------------------------------- township liaison


class ImportJob(BaseModel):
    key: str
    kind: Literal["preview", "import"]
    status: Literal["running", "done", "failed"]
    stage: str
    started_at: dt.datetime
    error: str  # why a failed one failed: its page answers with the failure (400), so it is told here
    href: str | None  # the preview or the result; none for a failed one


class TownshipHome(BaseModel):
    role: Literal["township"] = "township"
    township: str
    to_accept: Figure  # sent to us, waiting for us to accept (or reject)
    to_complete: Figure  # accepted by us, waiting for us to complete
    overdue_incoming: Figure  # ours to act on, past its deadline
    overdue_outgoing: Figure  # sent by us, the other side past its deadline
    rejected: Figure  # sent by us and rejected (resent ones stay rejected: the inbox lists them)
    imports: list[ImportJob]
    escalated: list[Escalated] = []  # 督办 on this person's work


async def township_home(work: Work) -> TownshipHome:
    actor = work.actor
    require(actor.role, "ledger.view")
    own = rule.own_township(actor)
    recent = await jobs.recent(actor.login, ("preview", "import"), work.now(), IMPORTS_SHOWN) \
        if allowed(actor.role, "registry.import") else []
    return TownshipHome(
        township=work.policy.township(own).name,
        to_accept=await _handoffs(work, direction="incoming", status="sent"),
        to_complete=await _handoffs(work, direction="incoming", status="accepted"),
        overdue_incoming=await _handoffs(work, direction="incoming", overdue=True),
        overdue_outgoing=await _handoffs(work, direction="outgoing", overdue=True),
        rejected=await _handoffs(work, direction="outgoing", status="rejected", open_only=False),
        imports=[ImportJob(**j, href=None if j["status"] == "failed" else f"/registry/import/{j['key']}")
                 for j in recent],
        escalated=await _escalated(work))


# ---------------------------------------------------------------- 三合署 desk


class DeskHome(BaseModel):
    role: Literal["desk"] = "desk"
    community: str
    township: str
    week: str
    reception: str  # the slot as the desk's settings (or the policy) give it
    reception_today: bool
    received: Figure  # demands received this week (the board)
    waiting: Figure  # demands not yet linked, answered or declined (the meeting's agenda)
    for_meeting: Figure  # problems without an action, new and reopened (the agenda)
    awaiting_feedback: Figure  # problems done, residents still to be asked (the board)
    actions_due: Figure  # open actions due by the end of this week, overdue ones included (the board)
    actions_overdue: Figure  # open actions past their due date (the agenda)
    escalated: list[Escalated] = []  # 督办 on this person's work


async def desk_home(work: Work) -> DeskHome:
    """Desk staff's own community, this week: it is the only community they reach, so nothing of
    the township's shows."""
    require(work.actor.role, "desk.work")
    week = iso_week(work.today)
    info = await desk.desk_info(work)
    board = await desk_views.board(work, info["community_id"], week)
    agenda = await desk_views.agenda(work, info["community_id"], week)
    here = _at("/desk", week=week)
    meeting = _at("/desk/meeting", week=week)
    return DeskHome(
        community=info["community"], township=info["township"], week=week, reception=info["reception"]["label"],
        reception_today=work.today.isoweekday() == info["reception"]["weekday"],
        received=Figure(count=len(board["demands"]), href=here),
        waiting=Figure(count=len(agenda["new_demands"]), href=meeting),
        for_meeting=Figure(count=len(agenda["problems"]) + len(agenda["reopened"]), href=meeting),
        awaiting_feedback=Figure(count=len(board["awaiting_feedback"]), href=here),
        actions_due=Figure(count=len(board["actions_due"]), href=here),
        actions_overdue=Figure(count=len(agenda["overdue_actions"]), href=meeting),
        escalated=await _escalated(work))


# ---------------------------------------------------------------- reviewers: department and finance


class QueuedProject(BaseModel):
    id: int
    title: str
    township: str
    community: str
    requested: int  # fen
    verified: int | None  # fen
    href: str
    flag: dict[str, str] | None = None  # its open 督办 (note, new_due)


class Envelope(BaseModel):
    year: int
    envelope: int  # fen
    committed: int
    remaining: int
    href: str  # the year's summary


class ReviewHome(BaseModel):
    role: Literal["department", "finance"]
    queue: Figure  # to verify (a department) or to approve (finance)
    oldest: list[QueuedProject]
    envelope: Envelope | None  # finance: the year's remaining district envelope
    escalated: list[Escalated] = []  # 督办 on this person's work


async def review_home(work: Work) -> ReviewHome:
    actor = work.actor
    status = rule.review_queue(actor)
    if status is None:
        require(actor.role, "funding.verify")  # only reviewers have a queue of their own
    queue = await funding.queue(work, limit=QUEUE_SHOWN)
    flags = await notify.flags("project", [p["id"] for p in queue["items"]])
    oldest = [QueuedProject(id=p["id"], title=p["title"], township=p["township"], community=p["community"],
                            requested=p["requested"], verified=p["verified"], href=f"/funding/projects/{p['id']}",
                            flag=flags.get(p["id"]))
              for p in queue["items"]]
    envelope = None
    if allowed(actor.role, "funding.approve"):  # the approver spends the year's envelope
        year = work.today.year
        e = await funding.envelope(work, year)
        envelope = Envelope(**e, href=_at("/funding/summary", year=year))
    # the funding home shows the queue first, with this total
    return ReviewHome(role=actor.role, queue=Figure(count=queue["total"], href="/funding"), oldest=oldest,
                      envelope=envelope, escalated=await _escalated(work))


# ---------------------------------------------------------------- the office and the administrator


class TownshipRow(BaseModel):
    township: str
    code: str
    pending: Figure  # open hand-offs sent to the township
    overdue: Figure  # of those, past their deadline


class DeskRow(BaseModel):
    community: str
    township: str
    overdue_actions: Figure  # the community's agenda lists them


class DistrictHome(BaseModel):
    role: Literal["office", "admin"]
    month: str
    townships: list[TownshipRow]  # townships with open hand-offs
    pending: int
    overdue: int
    desks_behind: list[DeskRow]  # communities with overdue actions
    behind: Figure  # how many communities, on the monthly summary
    submitted: Figure  # projects waiting for a department's verification
    verified: Figure  # projects waiting for finance's approval
    happy: Figure  # problems made happy this month (幸福清单), district-wide
    escalated: list[Escalated] = []  # 督办 on this person's work


async def district_home(work: Work) -> DistrictHome:
    actor = work.actor
    if not rule.whole_district(actor):
        raise Forbidden("只有区集中居住办和系统管理员查看全区概况")
    month = work.today.strftime("%Y-%m")
    townships = []
    for code, row in (await ledger_views.township_handoffs(work)).items():
        if not row["incoming"]:
            continue
        townships.append(TownshipRow(
            township=row["township"], code=code,
            pending=Figure(count=row["incoming"], href=_at("/ledger/inbox", direction="incoming", township=code)),
            overdue=Figure(count=row["overdue"],
                           href=_at("/ledger/inbox", direction="incoming", overdue=1, township=code))))
    townships.sort(key=lambda r: (-r.overdue.count, -r.pending.count, r.code))
    summary = await desk_views.summary(work, month=month)
    behind = [DeskRow(community=r["community"], township=r["township"],
                      overdue_actions=Figure(count=r["overdue_actions"], href=_at(
                          "/desk/meeting", community=f"{r['township']}/{r['community']}")))
              for r in summary["rows"] if r["overdue_actions"]]
    behind.sort(key=lambda r: -r.overdue_actions.count)
    projects = {status: (await funding.list_projects(work, status=status, limit=1))["total"]
                for status in ("submitted", "verified")}
    return DistrictHome(
        role=actor.role, month=month, townships=townships,
        pending=sum(r.pending.count for r in townships), overdue=sum(r.overdue.count for r in townships),
        desks_behind=behind, behind=Figure(count=len(behind), href=_at("/desk/summary", month=month)),
        submitted=Figure(count=projects["submitted"], href=_at("/funding", status="submitted")),
        verified=Figure(count=projects["verified"], href=_at("/funding", status="verified")),
        happy=Figure(count=summary["total"]["solved"], href=_at("/desk/summary", month=month)),
        escalated=await _escalated(work))


Home = TownshipHome | DeskHome | ReviewHome | DistrictHome


async def home(work: Work) -> Home:
    """The home of the actor's role."""
    return await {"township": township_home, "desk": desk_home, "review": review_home,
                  "district": district_home}[rule.home_of(work.actor)](work)
