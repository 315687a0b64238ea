"""The demo shows the registry over time: a move-in on the eve of a public holiday whose hand-off
deadlines skip it, a birth, a death, a 分户, and basic tags due for review."""

import datetime as dt

import pytest

from resettle.actor import Actor
from resettle.models import Handoff, Household, HouseholdEvent, Notice, Person
from resettle.policy import load_policy
from services.demo import seed_demo
from services.demo_changes import last_eve_of_holiday
from tests.work import DAY, work


@pytest.mark.parametrize("today, eve", [
    (dt.date(2025, 10, 20), dt.date(2025, 9, 30)),  # 国庆 and 中秋, 10-01..08
    (dt.date(2026, 2, 27), dt.date(2026, 2, 14)),  # 春节 2026, 02-15..23: its eve is a make-up Saturday
    (DAY, dt.date(2026, 4, 30)),  # 劳动节; 端午 (06-19) is still to come
])
def test_the_eve_of_the_last_holiday(today, eve):
    assert last_eve_of_holiday(work(Actor("test:demo"), today)) == eve


def test_a_year_no_source_covers_has_no_eve():
    assert last_eve_of_holiday(work(Actor("test:demo"), dt.date(2030, 1, 10))) is None


async def test_the_demo_changes_its_registry_over_time(db, tmp_path):
    result = await seed_demo(work(Actor("test:demo")), tmp_path / "demo.csv", 200)
    holiday = result["holiday"]
    assert holiday["moved_in_on"] == dt.date(2026, 4, 30)
    household = await Household.get(agreement_no=holiday["agreement_no"])
    assert (household.status, household.moved_in_on) == ("moved_in", dt.date(2026, 4, 30))
    sent = await Handoff.filter(household_id=household.id).order_by("id").first()
    calendar = load_policy().calendar
    assert sent.accept_due == holiday["accept_due"] > dt.date(2026, 5, 5)  # after the five days off
    assert calendar.is_working_day(sent.accept_due)
    life = result["life"]
    assert {e.kind for e in await HouseholdEvent.all()} == {"birth", "death", "split"}
    assert await Person.filter(left_kind="death").count() == 1
    old, new = life["split"]
    assert new == f"{old}-1" and await Household.filter(agreement_no=new).exists()
    assert len({life["birth"], life["death"], old, holiday["agreement_no"]}) == 4
    assert result["tags"]["expired"] > 0
    # the printed sentence agrees with the table under it (the 分户's new household, moved in, too)
    total = result["stats"][-1]
    assert (result["moved_in"], result["allocated"]) == (total["in_moved_in"],
                                                         total["in_allocated"] + total["in_moved_in"])
    # the liaison's account came before the move-ins: the bell says what arrived for 陈家镇
    arrived = await Notice.filter(user__login="chenjia", kind="handoff.arrived", read_at=None).first()
    incoming = await Handoff.filter(to_township="310151110").count()
    assert arrived is not None and incoming > 0 and arrived.text.startswith("收到 ")
