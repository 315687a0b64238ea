"""The household state machine: signed → handed_over → allocated → moved_in, or withdrawn.

Each step is dated and never earlier than the step before it. A household can be withdrawn
(with a reason) until it has moved in.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from itertools import pairwise

from resettle.errors import DomainError
from resettle.rules.township import clean_name
from resettle.rules.workflow import Facts, Requirement, Table, Transition


class Status(enum.StrEnum):
    SIGNED = "signed"
    HANDED_OVER = "handed_over"
    ALLOCATED = "allocated"
    MOVED_IN = "moved_in"
    WITHDRAWN = "withdrawn"


STATUS_LABELS = {
    Status.SIGNED: "已签约",
    Status.HANDED_OVER: "已交房",
    Status.ALLOCATED: "已分房",
    Status.MOVED_IN: "已入住",
    Status.WITHDRAWN: "已退出",
}

# The forward path; withdrawn sits beside it.
ORDER = (Status.SIGNED, Status.HANDED_OVER, Status.ALLOCATED, Status.MOVED_IN)
# Once allocated a unit (房号) holds one household at a time per community; before allocation a
# sheet's 房号 is only provisional, and a withdrawn household frees its unit. The database enforces
# it with the partial unique index ux_household_unit_held (migration 0010, same statuses).
HOLDS_UNIT = (Status.ALLOCATED, Status.MOVED_IN)
UNIT_MAX = 64  # household.unit's column width

DATE_FIELD = {
    Status.SIGNED: "signed_on",
    Status.HANDED_OVER: "handed_over_on",
    Status.ALLOCATED: "allocated_on",
    Status.MOVED_IN: "moved_in_on",
    Status.WITHDRAWN: "withdrawn_on",
}


@dataclass(frozen=True)
class Dates:
    signed_on: dt.date
    handed_over_on: dt.date | None = None
    allocated_on: dt.date | None = None
    moved_in_on: dt.date | None = None
    withdrawn_on: dt.date | None = None

    @property
    def status(self) -> Status:
        if self.withdrawn_on is not None:
            return Status.WITHDRAWN
        for step in reversed(ORDER):
            if getattr(self, DATE_FIELD[step]) is not None:
                return step
        raise AssertionError("a household always has a signing date")

    @property
    def last_date(self) -> dt.date:
        return max(d for d in (getattr(self, f) for f in DATE_FIELD.values()) if d is not None)

    @property
    def facts(self) -> dict[str, dt.date | None]:
        """What the household workflow's refusals and date checks read."""
        return {"last_date": self.last_date, "withdrawn_on": self.withdrawn_on}

    def after(self, step: Status, on: dt.date) -> Dates:
        return replace(self, **{DATE_FIELD[step]: on})


def unit_key(text: str) -> str:
    """A 房号 as stored: NFKC-folded and without whitespace, so that “２７号 503室” and “27号503室”
    are one unit (and cannot be given to two households by spelling them apart)."""
    unit = clean_name(text)
    if len(unit) > UNIT_MAX:
        raise DomainError(f"房号“{unit[:20]}…”过长（最多{UNIT_MAX}个字）")
    if any(not c.isprintable() for c in unit):
        raise DomainError("房号含有不可见的控制字符")
    return unit


def _verb(step: str) -> str:
    return STATUS_LABELS[Status(step)][1:]  # 交房, 分房, 入住, 退出


def _refused(status: str, step: str, facts: Facts) -> str:
    label = _verb(step)
    if status == Status.WITHDRAWN:
        return f"该户已于{facts['withdrawn_on']}退出，不能再登记{label}"
    if step == Status.WITHDRAWN:
        return "该户已入住，不能退出"
    if step == Status.SIGNED:
        return "签约日期由签约交房表导入，不能单独登记"
    wanted, have = ORDER.index(Status(step)), ORDER.index(Status(status))
    if wanted <= have:
        return f"该户已是{STATUS_LABELS[Status(status)]}状态，不能再登记{label}"
    return f"该户尚未{_verb(ORDER[have + 1])}，不能直接登记{label}"


def _dated(step: Status) -> Requirement:
    """Each step is dated no earlier than the step before it."""
    return Requirement("on", f"{_verb(step)}日期{{on}}早于上一步的日期{{last_date}}",
                       lambda facts: facts["on"] >= facts["last_date"])


# A step is named by the status it reaches; facts: on, last_date, withdrawn_on (Dates.facts), reason.
HOUSEHOLD = Table(frozenset(Status), (
    *(Transition(before, after, after, "registry.record", (_dated(after),)) for before, after in pairwise(ORDER)),
    *(Transition(before, Status.WITHDRAWN, Status.WITHDRAWN, "registry.record",
                 (Requirement("reason", "退出必须写明原因"), _dated(Status.WITHDRAWN))) for before in ORDER[:-1]),
), _refused)


def order_problem(dates: Dates) -> str | None:
    """Each recorded step is dated no earlier than the step before it."""
    previous: tuple[Status, dt.date] | None = None
    for step in ORDER:
        on = getattr(dates, DATE_FIELD[step])
        if on is None:
            continue
        if previous is not None and on < previous[1]:
            return (f"{STATUS_LABELS[step][1:]}日期{on}早于"
                    f"{STATUS_LABELS[previous[0]][1:]}日期{previous[1]}")
        previous = (step, on)
    return None
