"""How a share is printed as a percentage: one rule for every page, paper and command."""

from __future__ import annotations

NONE = "—"


def percent(share: float | None, places: int = 1) -> str:
    """A share as a percentage with at most `places` decimals and no trailing zeros: 0.6667 →
    66.7%, 1.0 → 100%, None (nothing to measure, e.g. nobody asked) → —. A funding ratio in basis
    points is `bp / 10_000` with places=2, which prints every basis point exactly (0.625 → 62.5%)."""
    if share is None:
        return NONE
    text = f"{share * 100:.{places}f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"
