"""特殊群体 tags as clerks write them: "低保、党员", "低保,党员", "低保 党员" are the same two tags."""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[、,，;；\s]+")


def split_tags(text: str) -> list[str]:
    """The tags in the order written, each once."""
    return list(dict.fromkeys(t for t in _SPLIT.split(text or "") if t))


def join_tags(tags: list[str]) -> str:
    """The one stored form."""
    return "、".join(tags)
