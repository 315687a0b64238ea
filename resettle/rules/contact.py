"""Phone numbers as clerks type them."""

from __future__ import annotations

import re

_STRIP = re.compile(r"[\s\-－—()（）]+")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# Landlines: optional area code 0xx(x), 7-8 digit number, optional extension.
_LANDLINE = re.compile(r"^(0[0-9]{2,3})?[2-9][0-9]{6,7}(转[0-9]{1,5})?$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def normalize_phone(raw: str) -> tuple[str, bool]:
    """Return (value to store, ok). A mobile is folded to 11 digits; a landline is kept as given;
    anything else is not ok and stored empty (the caller warns)."""
    text = raw.strip().translate(_FULLWIDTH)
    if not text:
        return "", True
    compact = _STRIP.sub("", text)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    if _MOBILE.match(compact):
        return compact, True
    if _LANDLINE.match(compact):
        return text, True
    return "", False


def mask_phone(phone: str) -> str:
    """A stored phone as a record may show it: the first three and last four digits."""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)
