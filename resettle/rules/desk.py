"""三合署, the joint desk: the closed loop 需求 → 问题 → 实事 → 幸福清单 as pure rules — the state
machines, when residents' feedback makes a problem happy, overdue actions, ISO weeks and
periods, which open problems look like a new demand, and names masked for a public notice."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from resettle.errors import DomainError
from resettle.rules.workflow import Requirement, Table, Transition


class DemandStatus(enum.StrEnum):
    RECEIVED = "received"
    LINKED = "linked"  # to a problem
    ANSWERED = "answered"  # 当场答复
    DECLINED = "declined"  # with a reason, e.g. referred to a department


class ProblemStatus(enum.StrEnum):
    OPEN = "open"
    SCHEDULED = "scheduled"  # the weekly meeting gave it at least one action
    DONE = "done"  # every action completed; residents are being asked
    HAPPY = "happy"  # feedback met the threshold: on the 幸福清单


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"


class Rating(enum.StrEnum):
    SATISFIED = "satisfied"
    MOSTLY = "mostly"
    UNSATISFIED = "unsatisfied"


class Channel(enum.StrEnum):
    RECEPTION = "reception"  # 统一接待, the weekly fixed slot
    VISIT = "visit"  # 四百走访
    PHONE = "phone"
    HOTLINE = "hotline"  # 12345
    ONLINE = "online"


DEMAND_LABELS = {DemandStatus.RECEIVED: "待处理", DemandStatus.LINKED: "已转问题",
                 DemandStatus.ANSWERED: "当场答复", DemandStatus.DECLINED: "不予受理"}
PROBLEM_LABELS = {ProblemStatus.OPEN: "待商议", ProblemStatus.SCHEDULED: "办理中",
                  ProblemStatus.DONE: "待回访", ProblemStatus.HAPPY: "幸福清单"}
ACTION_STATUS_LABELS = {ActionStatus.PLANNED: "办理中", ActionStatus.COMPLETED: "已完成"}
RATING_LABELS = {Rating.SATISFIED: "满意", Rating.MOSTLY: "基本满意", Rating.UNSATISFIED: "不满意"}
CHANNEL_LABELS = {Channel.RECEPTION: "统一接待", Channel.VISIT: "走访", Channel.PHONE: "电话",
                  Channel.HOTLINE: "12345热线", Channel.ONLINE: "网上"}
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def parse_label(kind: type[enum.StrEnum], labels: dict, text: str, what: str) -> enum.StrEnum:
    """An enum member from its code (`phone`) or its Chinese label (`电话`)."""
    text = str(text).strip()
    for member, label in labels.items():
        if text in (member.value, label):
            return member
    raise DomainError(f"{what}只能是：{'、'.join(labels.values())}")


# ---------------------------------------------------------------- state machines

DEMAND_STEPS = {"link": "转为问题", "answer": "当场答复", "decline": "不予受理"}


def _demand_refused(status: str, step: str, facts: Mapping) -> str:
    return f"需求已是“{DEMAND_LABELS[DemandStatus(status)]}”，不能再{DEMAND_STEPS[step]}"


# A received demand is linked to a problem, answered or declined, once.
DEMAND = Table(frozenset(DemandStatus), (
    Transition(DemandStatus.RECEIVED, "link", DemandStatus.LINKED, "desk.work"),
    Transition(DemandStatus.RECEIVED, "answer", DemandStatus.ANSWERED, "desk.work"),
    Transition(DemandStatus.RECEIVED, "decline", DemandStatus.DECLINED, "desk.work"),
), _demand_refused)

PROBLEM_STEPS = {"link": "并入需求", "plan": "安排实事", "complete": "办结实事", "feedback": "回访",
                 "happy": "列入幸福清单", "reopen": "重新办理"}


def _problem_refused(status: str, step: str, facts: Mapping) -> str:
    if status == ProblemStatus.HAPPY and step == "plan":
        return "问题已进入幸福清单，不能再安排实事"
    if status == ProblemStatus.HAPPY and step == "link":
        return "该问题已进入幸福清单：新的需求请另立问题"
    if step == "feedback":
        return f"问题{facts['problem']}“{PROBLEM_LABELS[ProblemStatus(status)]}”，实事全部完成后才回访"
    return f"问题“{PROBLEM_LABELS[ProblemStatus(status)]}”，不能{PROBLEM_STEPS.get(step, step)}"


def _planned_left(left: bool) -> Callable[[Mapping], bool]:
    return lambda facts: (facts["planned"] > 0) is left


# A problem is scheduled while any of its actions is planned and done when all are completed;
# new work on a done problem schedules it again (a new feedback round). Residents are asked
# about a done problem; their verdict puts it on the 幸福清单 or sends it back to work.
# Facts: planned (actions still planned, for `complete`), problem (its id, for the refusal).
PROBLEM = Table(frozenset(ProblemStatus), (
    *(Transition(s, "link", s, "desk.work") for s in (ProblemStatus.OPEN, ProblemStatus.SCHEDULED, ProblemStatus.DONE)),
    Transition(ProblemStatus.OPEN, "plan", ProblemStatus.SCHEDULED, "desk.work"),
    Transition(ProblemStatus.SCHEDULED, "plan", ProblemStatus.SCHEDULED, "desk.work"),
    Transition(ProblemStatus.DONE, "plan", ProblemStatus.SCHEDULED, "desk.work"),
    Transition(ProblemStatus.SCHEDULED, "complete", ProblemStatus.SCHEDULED, "desk.work", when=_planned_left(True)),
    Transition(ProblemStatus.SCHEDULED, "complete", ProblemStatus.DONE, "desk.work", when=_planned_left(False)),
    Transition(ProblemStatus.DONE, "feedback", ProblemStatus.DONE, "desk.work"),
    Transition(ProblemStatus.DONE, "happy", ProblemStatus.HAPPY, "desk.work"),
    Transition(ProblemStatus.DONE, "reopen", ProblemStatus.SCHEDULED, "desk.work"),
), _problem_refused)


def _action_refused(status: str, step: str, facts: Mapping) -> str:
    return f"实事{facts['action']}已于{facts['completed_on']}完成"


# An action the meeting decided is planned until it is completed, with its result, once, on a day
# no earlier than the decision. Facts: on, decided_on; action and completed_on for the refusal.
ACTION = Table(frozenset(ActionStatus), (
    Transition(ActionStatus.PLANNED, "complete", ActionStatus.COMPLETED, "desk.work", (
        Requirement("on", "完成日期{on}早于议定日期{decided_on}", lambda facts: facts["on"] >= facts["decided_on"]),)),
), _action_refused)


# ---------------------------------------------------------------- feedback

@dataclass(frozen=True)
class Verdict:
    outcome: str  # "happy" | "reopen" | "wait"
    satisfaction: float | None  # share of 满意 + 基本满意 among the feedback given


def satisfaction(ratings: Iterable[Rating]) -> float | None:
    ratings = list(ratings)
    if not ratings:
        return None
    return sum(r is not Rating.UNSATISFIED for r in ratings) / len(ratings)


def verdict(ratings: Sequence[Rating], waiting: int, threshold_percent: int) -> Verdict:
    """Decided when every resident who raised a linked demand has answered: happy when the share
    of 满意 + 基本满意 reaches the threshold, else reopened. Counted in whole numbers, so 4 of 5
    at 80% is happy and no float rounding decides a case."""
    share = satisfaction(ratings)
    if waiting > 0 or not ratings:
        return Verdict("wait", share)
    content = sum(r is not Rating.UNSATISFIED for r in ratings)
    happy = content * 100 >= threshold_percent * len(ratings)
    return Verdict("happy" if happy else "reopen", share)


_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def valid_slot(start: str, end: str) -> bool:
    """A reception slot: two HH:MM times, the start before the end."""
    return bool(_CLOCK.match(start) and _CLOCK.match(end)) and start < end


def action_overdue(status: ActionStatus, due: dt.date, today: dt.date) -> bool:
    return status is ActionStatus.PLANNED and due < today


# ---------------------------------------------------------------- weeks and periods

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_label(week: str) -> str:
    """A week as users read it: 2026-W49 → 2026年第49周（11月30日—12月6日）. A day outside the
    week's ISO year names its own year (2026年第1周（2025年12月29日—1月4日））."""
    start = week_start(week)
    year, number, _ = start.isocalendar()

    def day(d: dt.date) -> str:
        return f"{'' if d.year == year else f'{d.year}年'}{d.month}月{d.day}日"
    return f"{year}年第{number}周（{day(start)}—{day(start + dt.timedelta(days=6))}）"


def week_start(week: str) -> dt.date:
    match = _WEEK.match(week.strip())
    if match is None:
        raise DomainError(f"周次“{week}”应写成 2026-W47")
    year, number = int(match[1]), int(match[2])
    _sane_year(year)
    try:
        return dt.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise DomainError(f"{year}年没有第{number}周") from None


def _sane_year(year: int) -> None:
    # dates beyond these years cannot be a desk's (and year 0 or 9999's end do not exist)
    if not 1900 <= year <= 2999:
        raise DomainError(f"年份{year}超出范围（1900–2999）")


@dataclass(frozen=True)
class Period:
    """A week, month or year: [start, end) with a label for papers."""

    kind: str
    start: dt.date
    end: dt.date
    label: str

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def period(*, week: str | None = None, month: str | None = None, year: str | None = None) -> Period:
    """Exactly one of week (2026-W47), month (2026-11) or year (2026)."""
    given = [v for v in (week, month, year) if v]
    if len(given) != 1:
        raise DomainError("请指定一个周期：周（2026-W47）、月（2026-11）或年（2026）之一")
    if week:
        start = week_start(week)
        return Period("week", start, start + dt.timedelta(days=7), week_label(week))
    if month:
        match = _MONTH.match(month.strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            raise DomainError(f"月份“{month}”应写成 2026-11")
        y, m = int(match[1]), int(match[2])
        _sane_year(y)
        start = dt.date(y, m, 1)
        end = dt.date(y + (m == 12), m % 12 + 1, 1)
        return Period("month", start, end, f"{y}年{m}月")
    match = _YEAR.match(str(year).strip())
    if match is None:
        raise DomainError(f"年份“{year}”应写成 2026")
    y = int(match[1])
    _sane_year(y)
    return Period("year", dt.date(y, 1, 1), dt.date(y + 1, 1, 1), f"{y}年")


def median_days(spans: Iterable[tuple[dt.date, dt.date]]) -> int | None:
    """The median of whole days from start to end, itself a whole day: between two middle values
    it is their mean rounded half up (3 and 4 days → 4), so a summary never prints 3.5 days."""
    days = sorted((end - start).days for start, end in spans)
    if not days:
        return None
    middle = len(days) // 2
    return days[middle] if len(days) % 2 else (days[middle - 1] + days[middle] + 1) // 2


# ---------------------------------------------------------------- look-alike problems

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _grams(text: str) -> set[str]:
    """Character bigrams: Chinese has no spaces, and 'X号楼电梯坏了' and '电梯又坏了' share 电梯, 梯坏…"""
    text = _NOISE.sub("", text.lower())
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


def likeness(a: str, b: str) -> float:
    """Share of the shorter text's bigrams found in the other (0..1)."""
    ga, gb = _grams(a), _grams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / min(len(ga), len(gb))


LIKENESS_FLOOR = 0.2


def look_alike(text: str, candidates: Iterable[tuple[int, str]], limit: int = 5) -> list[tuple[int, float]]:
    """The candidates (id, text) most like `text`, best first; those sharing too little are left
    out. Ties go to the newer problem (higher id)."""
    scored = [(cid, likeness(text, other)) for cid, other in candidates]
    scored = [(cid, score) for cid, score in scored if score >= LIKENESS_FLOOR]
    scored.sort(key=lambda pair: (-pair[1], -pair[0]))
    return scored[:limit]


# ---------------------------------------------------------------- papers

def mask_name(name: str) -> str:
    """张三英 → 张*英, 张三 → 张*, 欧阳娜娜 → 欧**娜: enough for neighbours, not for strangers."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
