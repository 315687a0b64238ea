"""特殊群体 tags: as clerks write them ("低保、党员", "低保,党员", "低保 党员" are the same two
tags), the policy's tag dictionary (basic tags granted and reviewed by an owner, dynamic tags
derived from the birth date), and the age rules. Pure: no database."""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
from dataclasses import dataclass

_SPLIT = re.compile(r"[、,，;；\s]+")


def split_tags(text: str) -> list[str]:
    """The tags in the order written, each once."""
    return list(dict.fromkeys(t for t in _SPLIT.split(text or "") if t))


def join_tags(tags: list[str]) -> str:
    """The one stored form."""
    return "、".join(tags)


# ---------------------------------------------------------------- the tag dictionary

class TagKind(enum.StrEnum):
    BASIC = "basic"  # 基础标签: granted by its owner for a period, then reviewed
    DYNAMIC = "dynamic"  # 动态标签: derived from data (the birth date in the ID), never typed


KIND_LABELS = {TagKind.BASIC: "基础标签", TagKind.DYNAMIC: "动态标签"}


@dataclass(frozen=True)
class TagDef:
    name: str
    owner: str  # the department that grants and reviews it, as users' department is written
    kind: TagKind
    review_months: int | None = None  # basic tags: how long a grant or renewal holds


# The age rules of the dynamic tags: (name, lower bound inclusive, upper bound exclusive).
AGE_RULES: dict[str, tuple[int | None, int | None]] = {
    "高龄": (80, None),
    "老年": (60, None),
    "未成年": (None, 18),
    "学龄前": (None, 6),
}


def age_on(born: dt.date, on: dt.date) -> int:
    """Whole years on `on`; someone born on 29 February is a year older on 1 March of a common
    year (the law counts the day after 28 February)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def dynamic_tags(born: dt.date, on: dt.date) -> frozenset[str]:
    """The dynamic tags a person born on `born` has on `on`."""
    return tags_of_age(age_on(born, on))


def tags_of_age(age: int) -> frozenset[str]:
    """The same by age (the catalog rule is asked by age)."""
    return frozenset(name for name, (low, high) in AGE_RULES.items()
                     if (low is None or age >= low) and (high is None or age < high))


def born_by(on: dt.date, years: int) -> dt.date:
    """The latest birth date of someone at least `years` old on `on`: age >= years exactly when
    born <= born_by(on, years). On 29 February, years back into a common year, that is the 28th
    (someone born on the 29th of a leap year is not yet that old)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February into a common year
        return dt.date(on.year - years, 2, 28)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_state(valid_to: dt.date, closed_on: dt.date | None, on: dt.date, due_days: int) -> str:
    """closed, expired (past valid_to, not yet reviewed), due (within `due_days`), or valid."""
    if closed_on is not None:
        return "closed"
    if valid_to < on:
        return "expired"
    if (valid_to - on).days <= due_days:
        return "due"
    return "valid"


STATE_LABELS = {"closed": "已关闭", "expired": "已到期待复核", "due": "临近复核", "valid": "有效"}
