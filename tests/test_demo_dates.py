"""`resettle demo` builds its history relative to its work's today: run in any month, its dates lie
in the past, its recent weeks are busy, and its inbox mixes hand-offs in time with a few overdue."""

import datetime as dt

import pytest

from resettle.actor import Actor
from resettle.models import Handoff, Household
from resettle.rules.ledger import is_overdue
from services.demo import seed_demo
from tests.work import work

# a day of each half of the year, far from the 2023–2025 the demo's dates used to sit in
DAYS = (dt.date(2027, 3, 10), dt.date(2029, 10, 17))


@pytest.mark.parametrize("today", DAYS)
async def test_the_demo_is_dated_around_its_today(db, tmp_path, today):
    await seed_demo(work(Actor("test:demo"), today), tmp_path / "demo.csv", 120)
    dates = await Household.all().values_list("signed_on", "handed_over_on", "allocated_on", "moved_in_on")
    every = [d for row in dates for d in row if d is not None]
    assert max(every) <= today and min(every) >= today - dt.timedelta(days=3 * 366)
    moved = sorted(row[3] for row in dates if row[3] is not None)
    assert any(d >= today - dt.timedelta(days=21) for d in moved)  # recent move-ins
    handoffs = await Handoff.all().values_list("status", "sent_on", "accept_due", "complete_due")
    assert handoffs and max(h[1] for h in handoffs) <= today
    open_ = [h for h in handoffs if h[0] in ("sent", "accepted")]
    overdue = [h for h in open_ if is_overdue(h[0], h[2], h[3], today)]
    in_time = [h for h in open_ if not is_overdue(h[0], h[2], h[3], today)]
    assert overdue and in_time  # a mix, not a red inbox
    assert len(overdue) <= len(in_time) and len(overdue) < len(handoffs) / 5
    # hand-offs were completed weeks after sending, not years (the dashboard's median days)
    took = sorted((c - s).days for s, c in await Handoff.filter(status="completed").values_list(
        "sent_on", "completed_on"))
    assert took and took[len(took) // 2] <= 30 and max(took) <= 30
