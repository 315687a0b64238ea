"""The holiday-aware working-day calendar: package years, policy overrides, uncovered years."""

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.models import Handoff
from resettle.policy import PolicyError, _load, default_policy_path, load_policy
from resettle.rules.calendar import WorkCalendar, YearOverride
from resettle.rules.household import Status
from services import ledger, ledger_views, registry
from tests.test_ledger import CHENJIA, OFFICE, WIFE, family, lines_of  # noqa: F401 (the fixture)
from tests.work import work

D = dt.date
CAL = load_policy().calendar


@pytest.mark.parametrize(("day", "working"), [
    (D(2025, 9, 26), True),  # Friday
    (D(2025, 9, 27), False),  # Saturday
    (D(2025, 9, 28), True),  # Sunday, 调休 for 国庆
    (D(2025, 9, 30), True),
    *[(D(2025, 10, n), False) for n in range(1, 9)],  # 国庆 + 中秋, 1st to 8th
    (D(2025, 10, 9), True),
    (D(2025, 10, 11), True),  # Saturday, 调休
    (D(2025, 10, 12), False),
    (D(2026, 2, 13), True),
    (D(2026, 2, 14), True),  # Saturday, 调休 for 春节
    *[(D(2026, 2, n), False) for n in range(15, 24)],  # 春节, 15th to 23rd
    (D(2026, 2, 24), True),
    (D(2026, 2, 28), True),  # Saturday, 调休
    (D(2026, 3, 1), False),
    (D(2026, 6, 17), True),
])
def test_holiday_weeks(day, working):
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(("start", "days", "due"), [
    (D(2025, 9, 26), 1, D(2025, 9, 28)),  # Friday + 1 = the make-up Sunday
    (D(2025, 9, 30), 1, D(2025, 10, 9)),  # over the whole 国庆 week
    (D(2025, 9, 30), 3, D(2025, 10, 11)),  # ... to the make-up Saturday
    (D(2025, 9, 25), 5, D(2025, 10, 9)),  # 26, 28, 29, 30, 9
    (D(2025, 9, 25), 6, D(2025, 10, 10)),
    (D(2026, 2, 13), 1, D(2026, 2, 14)),
    (D(2026, 2, 14), 1, D(2026, 2, 24)),  # over 春节
    (D(2026, 2, 24), 4, D(2026, 2, 28)),
    (D(2026, 2, 10), 20, D(2026, 3, 16)),  # a complete deadline across 春节
    (D(2024, 3, 1), 3, D(2024, 3, 6)),  # an ordinary week: Friday + 3 = Wednesday
    (D(2024, 3, 2), 1, D(2024, 3, 4)),  # Saturday + 1 = Monday
    (D(2026, 6, 17), 0, D(2026, 6, 17)),
])
def test_add_working_days(start, days, due):
    assert CAL.add_working_days(start, days) == due
    assert CAL.due(start, days) == (due, False)


def test_weekends_only_differs_on_holidays():
    assert WorkCalendar.weekends_only().add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 1)
    assert CAL.add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)


def test_uncovered_year_is_weekends_only_and_flagged():
    assert CAL.covers(2025) and CAL.covers(2026)
    assert not CAL.covers(2099)
    assert not CAL.covers(1950)
    due = CAL.due(D(2099, 9, 30), 1)  # 2099-10-01 is a Thursday: counted, as no source knows
    assert due == (D(2099, 10, 1), True)
    assert CAL.is_working_day(D(2099, 10, 3)) is False  # Saturday
    assert CAL.uncovered([2025, 2099, 2099]) == [2099]


def test_crossing_into_an_uncovered_year_is_flagged():
    cal = WorkCalendar(holidays=frozenset({D(2030, 12, 31)}), source_years=frozenset({2030}))
    assert cal.due(D(2030, 12, 20), 3) == (D(2030, 12, 25), False)
    due = cal.due(D(2030, 12, 27), 3)  # 30th, (31st off), 2031-01-01, 2nd: counted by weekends only
    assert due == (D(2031, 1, 2), True)
    assert cal.estimated(D(2030, 12, 27), D(2031, 1, 2))


def test_override_wins_and_complete_year_covers():
    years = {2099: YearOverride(holidays=frozenset({D(2099, 10, 1), D(2099, 10, 2)}),
                                workdays=frozenset({D(2099, 10, 3)}), complete=True),
             2025: YearOverride(holidays=frozenset({D(2025, 9, 30)}), workdays=frozenset({D(2025, 10, 8)}))}
    cal = WorkCalendar.build(years)
    assert cal.covers(2099)
    assert cal.due(D(2099, 9, 30), 1) == (D(2099, 10, 3), False)  # the override's Saturday
    assert not cal.is_working_day(D(2025, 9, 30))  # an extra holiday over the package
    assert cal.is_working_day(D(2025, 10, 8))  # an extra working day over the package's holiday
    assert cal.is_working_day(D(2025, 10, 9))  # the rest of the package's year stands
    partial = WorkCalendar.build({2098: YearOverride(holidays=frozenset({D(2098, 1, 1)}))})
    assert not partial.covers(2098)  # a partial year is still not covered: flagged
    assert partial.due(D(2097, 12, 31), 1) == (D(2098, 1, 2), True)


def _policy_with(tmp_path: Path, calendar: str) -> Path:
    text = Path(default_policy_path()).read_text(encoding="utf-8").replace("years = {}\n", calendar)
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_policy_file_overrides(tmp_path):
    path = _policy_with(tmp_path, "[calendar.years.2099]\ncomplete = true\nholidays = [2099-10-01, \"2099-10-02\"]\n"
                                  "workdays = [2099-10-03]\n")
    cal = _load(str(path)).calendar
    assert cal.covers(2099) and cal.covers(2026)
    assert cal.add_working_days(D(2099, 9, 30), 1) == D(2099, 10, 3)


@pytest.mark.parametrize(("calendar", "message"), [
    ("[calendar.years.2099]\nholidays = [2098-10-01]\n", "不在2099年"),
    ("[calendar.years.2099]\nholidays = [\"10-01\"]\n", "不是 YYYY-MM-DD"),
    ("[calendar.years.2099]\nholidays = [2099-10-01]\nworkdays = [2099-10-01]\n", "既是放假日又是调休上班日"),
    ("[calendar.years.next]\nholidays = []\n", "年份"),
    ("[calendar.years.2099]\ncomplete = \"yes\"\n", "true 或 false"),
    ("[calendar.years.2099]\nholiday = []\n", "不认识"),
    ("[calendar.years.2099]\nholidays = 3\n", "日期的列表"),
    ("[calendar.years.2099]\nholidays = [2099-10-01T08:00:00]\n", "不是日期"),
])
def test_policy_file_refuses(tmp_path, calendar, message):
    path = _policy_with(tmp_path, calendar)
    with pytest.raises(PolicyError, match=message):
        _load(str(path))


def test_out_of_range_days_refused():
    with pytest.raises(ValueError):
        CAL.due(D(2026, 1, 1), -1)


@given(st.dates(D(2003, 1, 1), D(2035, 12, 31)), st.integers(1, 80), st.integers(0, 20))
def test_due_is_a_working_day_and_monotone(start, days, more):
    due = CAL.add_working_days(start, days)
    assert CAL.is_working_day(due)
    assert due > start
    assert CAL.add_working_days(start, days + more) >= due
    between = [start + dt.timedelta(n) for n in range(1, (due - start).days + 1)]
    assert sum(CAL.is_working_day(d) for d in between) == days


# ---------------------------------------------------------------- hand-off deadlines in the database



async def _move_in(allocated: dt.date, moved: dt.date) -> None:
    await registry.record_step(work(OFFICE, on=moved), "A-001", Status.ALLOCATED, allocated)
    await registry.record_step(work(OFFICE, on=moved), "A-001", Status.MOVED_IN, moved)


@pytest.mark.usefixtures("family")
async def test_a_move_in_before_national_day_skips_the_holiday():
    await _move_in(D(2025, 9, 1), D(2025, 9, 30))
    line = (await lines_of(WIFE))["DB"]  # 3 working days to accept, 15 to complete
    h = await Handoff.get(entitlement_id=line.id)
    assert (h.sent_on, h.accept_due, h.complete_due) == (D(2025, 9, 30), D(2025, 10, 11), D(2025, 10, 28))
    inbox = await ledger_views.list_handoffs(work(CHENJIA, on=D(2025, 10, 9)), direction="incoming")
    assert inbox["total"] == 6 and not any(i["due_estimated"] or i["overdue"] for i in inbox["items"])


@pytest.mark.usefixtures("family")
async def test_a_deadline_in_an_uncovered_year_says_so():
    assert not load_policy().calendar.covers(2027)  # the package's release ends with 2026
    await _move_in(D(2026, 12, 1), D(2026, 12, 28))
    line = (await lines_of(WIFE))["DB"]
    h = await Handoff.get(entitlement_id=line.id)
    assert h.accept_due == D(2026, 12, 31)  # within 2026: the package knows it
    assert h.complete_due == D(2027, 1, 18)  # 2027-01-01 counted as a working day: weekends only
    sent = await ledger_views.list_handoffs(work(CHENJIA, on=D(2026, 12, 29)), direction="incoming")
    flags = {i["matter"]: i["due_estimated"] for i in sent["items"] if i["kind"] == "transfer"}
    assert flags.pop("最低生活保障") is False  # accept due on 2026-12-31: the package knows it
    assert flags and all(flags.values())  # 5 working days reach into 2027
    await _accept_all(sent["items"])
    accepted = await ledger_views.list_handoffs(work(CHENJIA, on=D(2026, 12, 29)), direction="incoming")
    assert accepted["items"] and all(i["due_estimated"] for i in accepted["items"])  # complete dues, in 2027
    report = await ledger_views.pair_report(work(CHENJIA, on=D(2026, 12, 29)), "陈家镇")
    assert all(i["due"].endswith("（按周末推算）") for p in report["pairs"] for i in p["awaiting_us"])


async def _accept_all(items):
    results = await ledger.act(work(CHENJIA, on=D(2026, 12, 29)), [i["id"] for i in items], "accept")
    assert all(r["ok"] for r in results)
