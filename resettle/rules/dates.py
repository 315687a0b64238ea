"""Dates as they appear in sheets (Excel cells and serials, the formats clerks type) and the
product's time zone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

# The product's time zone: the working day is Shanghai's date, timestamps are stored in UTC and
# shown in Shanghai time, whatever zone the host is set to (a container's is often UTC).
SHANGHAI = ZoneInfo("Asia/Shanghai")

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_TYPED = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(value: object) -> dt.date:
    """Parse one sheet cell into a date or raise ValueError with a Chinese message."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel serials from 1900-01-01 to 9999-12-31
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(f"日期数值{value}不是Excel日期")
    text = str(value).strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if text.endswith(" 00:00:00"):
        text = text[:-9]
    match = _TYPED.match(text) or _COMPACT.match(text)
    if match is None:
        if re.fullmatch(r"\d{5}(\.0+)?", text):  # a serial that arrived as text (CSV from Excel)
            return parse_date(int(float(text)))
        raise ValueError(f"无法识别的日期“{text}”，请写成2023-05-06或2023年5月6日")
    year, month, day = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"日期“{text}”不存在") from None
