"""The household state machine: signed → handed_over → allocated → moved_in, or withdrawn.

Each step is dated and never earlier than the step before it. A household can be withdrawn
(with a reason) until it has moved in.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from resettle.errors import DomainError
from resettle.rules.township import clean_name


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


def unit_key(text: str) -> str:
    """A 房号 as stored: NFKC-folded and without whitespace, so that “２７号 503室” and “27号503室”
    are one unit (and cannot be given to two households by spelling them apart)."""
    unit = clean_name(text)
    if len(unit) > UNIT_MAX:
        raise DomainError(f"房号“{unit[:20]}…”过长（最多{UNIT_MAX}个字）")
    if any(not c.isprintable() for c in unit):
        raise DomainError("房号含有不可见的控制字符")
    return unit


def advance(dates: Dates, step: Status, on: dt.date) -> Dates:
    """The dates after taking `step` on `on`, or a DomainError saying why it cannot be taken."""
    current = dates.status
    label = STATUS_LABELS[step][1:]  # the verb: 交房, 分房, 入住, 退出
    if current is Status.WITHDRAWN:
        raise DomainError(f"该户已于{dates.withdrawn_on}退出，不能再登记{label}")
    if step is Status.WITHDRAWN:
        if current is Status.MOVED_IN:
            raise DomainError("该户已入住，不能退出")
    elif step is Status.SIGNED:
        raise DomainError("签约日期由签约交房表导入，不能单独登记")
    else:
        wanted = ORDER.index(step)
        have = ORDER.index(current)
        if wanted <= have:
            raise DomainError(f"该户已是{STATUS_LABELS[current]}状态，不能再登记{label}")
        if wanted > have + 1:
            missing = STATUS_LABELS[ORDER[have + 1]][1:]
            raise DomainError(f"该户尚未{missing}，不能直接登记{label}")
    if on < dates.last_date:
        raise DomainError(f"{label}日期{on}早于上一步的日期{dates.last_date}")
    return replace(dates, **{DATE_FIELD[step]: on})


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
