"""Query, path and form fields as the services take them, shared by the pages and the API:
text without control characters, whole numbers written in ASCII digits, dates as clerks type
them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from resettle.errors import DomainError
from resettle.rules.dates import parse_date

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not storable (NUL) or not typed by anyone


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


def day(value: str, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise DomainError(f"{what}：{exc}") from None
