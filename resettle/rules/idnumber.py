"""GB 11643-1999 citizen identity numbers: normalisation, checking, masking.

The check character is ISO 7064 MOD 11-2 over the first 17 digits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the vectorised path imports them itself: checking one ID needs no numpy
    import numpy as np
    import pandas as pd

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

# Full-width digits and X (Excel/IME input) fold to ASCII; lower-case x becomes X.
FOLD = str.maketrans("０１２３４５６７８９ｘＸx", "0123456789XXX")
# What clerks leave between digit groups and `normalize` strips (a regex class body: every Unicode
# space, tab, newline, U+0085, U+2028, U+1680, U+3000, ...); the log masking reads the same list.
SPACES = r"\s\u3000"
_SPACES = re.compile(f"[{SPACES}]+")
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(raw: str) -> str:
    """Fold the ways clerks type an ID into one form (no validation)."""
    return _SPACES.sub("", raw.translate(FOLD))


def problem(value: str, today: dt.date) -> str | None:
    """Why a *normalised* ID is invalid, in Chinese; None when it is valid."""
    if not value:
        return "公民身份号码为空"
    if len(value) != 18:
        return f"公民身份号码应为18位，实为{len(value)}位"
    if not _SHAPE.match(value):
        return "公民身份号码只能是17位数字加1位数字或X"
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"公民身份号码中的出生日期{value[6:14]}不存在"
    if born > today or born.year < 1890:
        return f"公民身份号码中的出生日期{value[6:14]}不合理"
    expected = check_char(value[:17])
    if value[17] != expected:
        return f"公民身份号码校验位错误（应为{expected}），请核对原件"
    return None


def is_valid(value: str, today: dt.date | None = None) -> bool:
    return problem(value, today or dt.date.today()) is None


def birth_date(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def mask(value: str) -> str:
    """Show region and last four only: 310230********123X."""
    if len(value) != 18:
        return "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def valid_mask(values: Sequence[str] | pd.Series, today: dt.date) -> np.ndarray:
    """Vectorised fast path of `problem(v, today) is None` for many normalised IDs.

    A million IDs are checked in a fraction of a second, reading the 18-byte values straight
    out of an Arrow buffer. Rows it rejects are explained one by one by `problem`, so every
    message comes from one place; a property test keeps the two in agreement.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.array if isinstance(values, pd.Series) else list(values),
                     type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    ok = np.zeros(len(array), dtype=bool)
    right_size = np.asarray(pc.fill_null(pc.equal(pc.binary_length(array), 18), False))
    if not right_size.any():
        return ok
    sized = array.filter(pa.array(right_size))
    offsets = np.frombuffer(sized.buffers()[1], dtype=np.int32)[sized.offset:sized.offset + len(sized) + 1]
    raw = np.frombuffer(sized.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(-1, 18)
    digit = [raw[:, i].astype(np.int16) - 48 for i in range(18)]
    good = np.ones(len(raw), dtype=bool)
    total = np.zeros(len(raw), dtype=np.int16)
    for i in range(17):
        good &= (digit[i] >= 0) & (digit[i] <= 9)
        total += digit[i] * WEIGHTS[i]
    expected = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[total % 11]
    good &= raw[:, 17] == expected
    year = digit[6] * 1000 + digit[7] * 100 + digit[8] * 10 + digit[9]
    month = digit[10] * 10 + digit[11]
    day = digit[12] * 10 + digit[13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int16)
    last_day = month_days[np.clip(month, 0, 12)] + ((month == 2) & leap)
    good &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= last_day) & (year >= 1890)
    born = year.astype(np.int32) * 10000 + month * 100 + day
    good &= born <= today.year * 10000 + today.month * 100 + today.day
    ok[right_size] = good
    return ok
