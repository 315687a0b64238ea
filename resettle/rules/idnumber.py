"""GB 11643-1999 citizen identity numbers: normalisation, checking, masking.

The check character is ISO 7064 MOD 11-2 over the first 17 digits.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

# Full-width digits and X (Excel/IME input) fold to ASCII; lower-case x becomes X.
FOLD = str.maketrans("０１２３４５６７８９ｘＸx", "0123456789XXX")
_SPACES = re.compile(r"[\s\u3000]+")
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


def is_male(value: str) -> bool:
    return int(value[16]) % 2 == 1


def mask(value: str) -> str:
    """Show region and last four only: 310230********123X."""
    if len(value) != 18:
        return "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def valid_mask(values: list[str], today: dt.date) -> np.ndarray:
    """Vectorised fast path of `problem(v, today) is None` for many normalised IDs.

    A million IDs are checked in well under a second this way. Rows it rejects are explained
    one by one by `problem`, so every message comes from one place; a property test keeps the
    two in agreement.
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=bool)
    encoded = np.array([v.encode("ascii", "replace") if len(v) == 18 else b"" for v in values],
                       dtype="S18")
    raw = np.frombuffer(encoded.tobytes(), dtype=np.uint8).reshape(n, 18)
    digits = raw[:, :17].astype(np.int32) - 48
    shaped = ((digits >= 0) & (digits <= 9)).all(axis=1)
    digits = np.where(shaped[:, None], digits, 0)
    total = (digits * np.array(WEIGHTS, dtype=np.int32)).sum(axis=1) % 11
    expected = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[total]
    ok = shaped & (raw[:, 17] == expected)
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10:12] @ np.array([10, 1])
    day = digits[:, 12:14] @ np.array([10, 1])
    births = pd.to_datetime(
        pd.DataFrame({"year": np.where(ok, year, 2000), "month": np.where(ok, month, 1),
                      "day": np.where(ok, day, 1)}),
        errors="coerce",
    )
    born_ok = births.notna().to_numpy() & (year >= 1890)
    born_ok &= (births.fillna(pd.Timestamp(today)) <= pd.Timestamp(today)).to_numpy()
    return ok & born_ok
