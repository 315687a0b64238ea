"""The demo's registry over time (issue 15): a move-in just before a public holiday, whose
hand-off deadlines skip it; a birth, a death and a 分户 in moved-in households; and the basic tags
that have come due for their owners' review. Every change goes through the use cases a liaison
uses, so the demo's ledger and counts are what the product itself makes of them."""

from __future__ import annotations

import datetime as dt
import random

from resettle.models import Handoff, Household, Person
from resettle.rules import idnumber
from resettle.rules.household import Status
from services import household_changes, registry, tags
from services.household_changes_contracts import Change
from services.work import Work

HOLIDAY_SEARCH_DAYS = 400  # look back this far for the last public holiday of three days or more


def last_eve_of_holiday(work: Work) -> dt.date | None:
    """The last working day before a public holiday (three days or more off, at least one of them
    a weekday) that ended before today."""
    calendar = work.policy.calendar
    for back in range(7, HOLIDAY_SEARCH_DAYS):
        eve = work.today - dt.timedelta(days=back)
        off = [eve + dt.timedelta(days=n) for n in (1, 2, 3)]
        if not calendar.covers(eve.year) or not calendar.is_working_day(eve):
            continue
        if not any(calendar.is_working_day(day) for day in off) and any(day.weekday() < 5 for day in off):
            return eve
    return None


async def holiday_move_in(work: Work) -> dict | None:
    """One allocated household moves in on the eve of the last holiday: its hand-offs are due
    after the holiday, counted in working days."""
    eve = last_eve_of_holiday(work)
    if eve is None:
        return None
    household = await Household.filter(status=Status.ALLOCATED, allocated_on__lte=eve).order_by("id").first()
    if household is None:
        return None
    await registry.record_step(work, household.agreement_no, Status.MOVED_IN, eve)
    sent = await Handoff.filter(household_id=household.id).order_by("id").first()
    return {"agreement_no": household.agreement_no, "moved_in_on": eve,
            "accept_due": sent.accept_due if sent else None}


def _baby_id(rng: random.Random, born: dt.date, used: set[str]) -> str:
    while True:
        first17 = f"310230{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
        number = first17 + idnumber.check_char(first17)
        if number not in used:
            return number


async def household_life(work: Work, rng: random.Random, *, besides: str = "") -> dict:
    """A birth, a death and a 分户, each in a different moved-in household of three or more (not
    the household `besides`, which shows something else)."""
    households = [h for h in await Household.filter(status=Status.MOVED_IN, member_count__gte=3)
                  .exclude(agreement_no=besides).order_by("id").limit(40)
                  if h.moved_in_on and h.moved_in_on < work.today - dt.timedelta(days=60)]
    if len(households) < 3:
        return {}
    used = set(await Person.all().values_list("id_number", flat=True))
    done: dict = {}
    birth_home, death_home, split_home = households[0], households[1], households[2]

    born = work.today - dt.timedelta(days=rng.randrange(20, 50))
    await household_changes.record_event(work, birth_home.agreement_no, Change(
        kind="birth", on=born, name="新生儿" + rng.choice("安宁康乐"), id_number=_baby_id(rng, born, used),
        relation="孙女"))
    done["birth"] = birth_home.agreement_no

    members = await Person.filter(household_id=death_home.id, left_on=None).order_by("id")
    elder = next((p for p in members if p.relation != "户主"), None)
    if elder is not None:
        await household_changes.record_event(work, death_home.agreement_no, Change(
            kind="death", on=work.today - dt.timedelta(days=rng.randrange(10, 40)), person=elder.id))
        done["death"] = death_home.agreement_no

    members = [p for p in await Person.filter(household_id=split_home.id, left_on=None).order_by("id")
               if p.relation != "户主"]
    if len(members) >= 1:
        leaving = members[-2:] if len(members) >= 3 else members[-1:]
        unit = f"{split_home.unit}-分" if split_home.unit else ""
        result = await household_changes.record_event(work, split_home.agreement_no, Change(
            kind="split", on=work.today - dt.timedelta(days=rng.randrange(5, 30)),
            persons=[p.id for p in leaving], head=leaving[0].id, unit=unit))
        done["split"] = (split_home.agreement_no, result.get("new_agreement_no", ""))
    return done


async def tags_for_review(work: Work) -> dict:
    """How many basic tags are past their end date or coming due, for their owners to review."""
    expired = await tags.review_list(work, state="expired", limit=1)
    due = await tags.review_list(work, state="due", limit=1)
    return {"expired": expired["total"], "due": due["total"], "due_days": work.policy.tag_due_days}
