"""Matching a township as clerks write it: with or without 镇/乡, spaces, full-width forms."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def township_key(text: str) -> str:
    """The comparison key: NFKC-folded, no spaces, without a trailing 镇 or 乡."""
    folded = _SPACE.sub("", unicodedata.normalize("NFKC", text))
    if len(folded) > 1 and folded[-1] in "镇乡":
        folded = folded[:-1]
    return folded


def clean_name(text: str) -> str:
    """Village and community names: NFKC-folded and without inner whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))
