"""One percentage rule for the desk's shares and the funding's basis points."""

import pytest

from resettle.rules.numbers import percent


@pytest.mark.parametrize(("share", "places", "printed"), [
    # the desk's satisfaction and reopening shares: one decimal
    (None, 1, "—"), (0.0, 1, "0%"), (0.5, 1, "50%"), (0.6667, 1, "66.7%"), (0.05, 1, "5%"), (1.0, 1, "100%"),
    # the funding's district ratios, basis points as a share: two decimals
    (6000 / 10_000, 2, "60%"), (6250 / 10_000, 2, "62.5%"), (3333 / 10_000, 2, "33.33%"), (1 / 10_000, 2, "0.01%"),
    (0 / 10_000, 2, "0%"), (10_000 / 10_000, 2, "100%"),
])
def test_percent(share, places, printed):
    assert percent(share, places) == printed


def test_every_basis_point_prints_exactly():
    """bp / 10_000 at two places is the basis point in whole and hundredths, never a float's
    neighbour (33.33%, not 33.32% or 33.330000000000005%)."""
    for bp in range(10_001):
        whole, part = divmod(bp, 100)
        assert percent(bp / 10_000, places=2) == (f"{whole}.{part:02d}".rstrip("0").rstrip(".") + "%"), bp
