"""Query, path and form fields as the services take them, shared by the pages and the API:
text without control characters, whole numbers written in ASCII digits, dates as clerks type
them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from resettle.errors import DomainError
from resettle.rules.dates import parse_date
from services.contracts import CONTROL, FIRST_DAY, LAST_DAY  # one rule of text and dates, as the API's

ID = "{id:[0-9]{1,9}}"  # a route's id: ids are 32-bit, a longer number names nothing (not a 500)
MAX_PAGE = 1_000_000


def field(values: Mapping, name: str) -> str:
    """A field, trimmed. A file where text was expected counts as empty; control characters are
    refused rather than sent on (PostgreSQL cannot store NUL)."""
    value = values.get(name, "")
    if not isinstance(value, str):
        return ""
    if CONTROL.search(value):
        raise DomainError("输入中含有无法保存的控制字符")
    return value.strip()


def number(value: str, what: str) -> int | None:
    """A 32-bit id or version written in ASCII digits ('²'.isdigit() is true), or None."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise DomainError(f"{what}应为整数")
    return int(value)


def whole(values: Mapping, name: str, what: str, low: int, high: int) -> int | None:
    """A whole number in [low, high] written in ASCII digits, or None when not given."""
    value = number(field(values, name), what)
    if value is not None and not low <= value <= high:
        raise DomainError(f"{what}应在{low}到{high}之间")
    return value


def path_id(request) -> int:
    """The id of a route whose pattern is ID (1 to 9 ASCII digits)."""
    return int(request.match_info["id"])


def flag(values: Mapping, name: str) -> bool:
    """A yes/no value: absent is no; anything but 1/0/true/false/yes/no is refused, not read as no."""
    value = field(values, name).lower()
    if value not in ("", "1", "0", "true", "false", "yes", "no"):
        raise DomainError(f"参数 {name} 只能是 true 或 false")
    return value in ("1", "true", "yes")


def page_of(values: Mapping) -> int:
    """The page number asked for (1 when none is). One beyond what any list holds is refused
    rather than sent on as an offset no database column takes."""
    value = field(values, "page")
    if not value:
        return 1
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
        raise DomainError(f"页码应为 1 到 {MAX_PAGE} 之间的整数")
    return int(value)


def day(value: str, what: str) -> dt.date | None:
    """A date as typed, within FIRST_DAY..LAST_DAY (year 1 or 9999 is a typo, and its day
    after or time zone shift overflows)."""
    if not value:
        return None
    try:
        parsed = parse_date(value)
    except ValueError as exc:
        raise DomainError(f"{what}：{exc}") from None
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise DomainError(f"{what}应在{FIRST_DAY:%Y}年到{LAST_DAY:%Y}年之间")
    return parsed
