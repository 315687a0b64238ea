"""三合署 rules: state machines, the feedback verdict, weeks and periods, look-alike problems, masking."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.errors import DomainError
from resettle.rules.desk import (
    CHANNEL_LABELS,
    DEMAND,
    PROBLEM,
    ActionStatus,
    Channel,
    DemandStatus,
    ProblemStatus,
    Rating,
    action_overdue,
    iso_week,
    likeness,
    look_alike,
    mask_name,
    median_days,
    parse_label,
    period,
    satisfaction,
    valid_slot,
    verdict,
    week_label,
    week_start,
)
from resettle.rules.workflow import apply

S, M, U = Rating.SATISFIED, Rating.MOSTLY, Rating.UNSATISFIED
P, C = ActionStatus.PLANNED, ActionStatus.COMPLETED


@pytest.mark.parametrize("step, to", [("link", DemandStatus.LINKED), ("answer", DemandStatus.ANSWERED),
                                      ("decline", DemandStatus.DECLINED)])
def test_a_received_demand_closes_once(step, to):
    assert apply(DEMAND, DemandStatus.RECEIVED, step, "desk") is to
    for again in ("link", "answer", "decline"):
        with pytest.raises(DomainError, match="需求已是"):
            apply(DEMAND, to, again, "desk")


@pytest.mark.parametrize("step, planned, current, expected", [
    ("plan", 1, ProblemStatus.OPEN, ProblemStatus.SCHEDULED),
    ("plan", 2, ProblemStatus.SCHEDULED, ProblemStatus.SCHEDULED),
    ("complete", 1, ProblemStatus.SCHEDULED, ProblemStatus.SCHEDULED),
    ("complete", 0, ProblemStatus.SCHEDULED, ProblemStatus.DONE),
    ("plan", 1, ProblemStatus.DONE, ProblemStatus.SCHEDULED),  # new work on a done problem
])
def test_problem_status_follows_its_actions(step, planned, current, expected):
    assert apply(PROBLEM, current, step, "desk", planned=planned) is expected


def test_a_happy_problem_stays_happy():
    for step, message in (("plan", "问题已进入幸福清单，不能再安排实事"),
                          ("link", "该问题已进入幸福清单：新的需求请另立问题")):
        with pytest.raises(DomainError) as caught:
            apply(PROBLEM, ProblemStatus.HAPPY, step, "desk")
        assert caught.value.message == message


@pytest.mark.parametrize("ratings, waiting, percent, outcome, share", [
    ([S, S, S, S, U], 0, 80, "happy", 0.8),  # exactly the threshold
    ([S, S, S, U, U], 0, 80, "reopen", 0.6),
    ([U], 0, 80, "reopen", 0.0),  # a lone 不满意 reopens
    ([M], 0, 80, "happy", 1.0),  # 基本满意 counts as content
    ([S, S], 1, 80, "wait", 1.0),  # somebody not yet asked
    ([], 0, 80, "wait", None),
    ([S, U], 0, 50, "happy", 0.5),
])
def test_verdict(ratings, waiting, percent, outcome, share):
    result = verdict(ratings, waiting, percent)
    assert result.outcome == outcome and result.satisfaction == share


@given(st.lists(st.sampled_from(list(Rating)), min_size=1, max_size=40), st.integers(1, 100))
def test_verdict_agrees_with_the_share(ratings, percent):
    share = satisfaction(ratings)
    outcome = verdict(ratings, 0, percent).outcome
    content = sum(r is not U for r in ratings)
    assert 0 <= share <= 1
    assert outcome == ("happy" if content * 100 >= percent * len(ratings) else "reopen")
    if U not in ratings:
        assert outcome == "happy"


def test_overdue_only_while_planned():
    day = dt.date(2026, 11, 20)
    assert action_overdue(P, day, day + dt.timedelta(days=1))
    assert not action_overdue(P, day, day)
    assert not action_overdue(C, day, day + dt.timedelta(days=30))


@pytest.mark.parametrize("week, monday", [("2026-W47", dt.date(2026, 11, 16)), ("2026W01", dt.date(2025, 12, 29)),
                                          ("2020-W53", dt.date(2020, 12, 28))])
def test_weeks(week, monday):
    assert week_start(week) == monday
    assert iso_week(monday + dt.timedelta(days=6)) == week_start(week).strftime("%G-W%V")


@pytest.mark.parametrize("bad", ["2026-47", "2021-W53", "W47", ""])
def test_bad_weeks_are_refused_in_chinese(bad):
    with pytest.raises(DomainError):
        week_start(bad)


@given(st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)))
def test_every_day_lies_in_its_week_month_and_year(day):
    for span in (period(week=iso_week(day)), period(month=f"{day.year}-{day.month:02d}"), period(year=str(day.year))):
        assert day in span and span.start <= span.last_day < span.end


def test_periods():
    assert period(month="2026-12").end == dt.date(2027, 1, 1)
    assert period(year="2026").label == "2026年"
    assert period(week="2026-W47").label == "2026年第47周（11月16日—11月22日）"
    for kwargs in ({}, {"week": "2026-W47", "month": "2026-11"}, {"month": "2026-13"}, {"year": "26"}):
        with pytest.raises(DomainError):
            period(**kwargs)


def test_look_alike_finds_the_same_lift():
    problems = [(1, "3号楼电梯经常停运"), (2, "小区路灯不亮"), (3, "5号楼楼道堆放杂物"), (4, "3号楼电梯坏了")]
    found = look_alike("3号楼的电梯又坏了，老人上不去", problems)
    assert [pid for pid, _ in found][:2] == [4, 1]
    assert 2 not in [pid for pid, _ in found]
    assert likeness("", "电梯") == 0 and likeness("电梯", "电梯") == 1


@pytest.mark.parametrize("name, masked", [("张三英", "张*英"), ("张三", "张*"), ("欧阳娜娜", "欧**娜"),
                                          ("张", "张"), ("", "")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_labels_and_slots():
    assert parse_label(Channel, CHANNEL_LABELS, "12345热线", "渠道") is Channel.HOTLINE
    assert parse_label(Channel, CHANNEL_LABELS, "phone", "渠道") is Channel.PHONE
    with pytest.raises(DomainError, match="受理渠道只能是"):
        parse_label(Channel, CHANNEL_LABELS, "信件", "受理渠道")
    assert valid_slot("09:00", "11:30") and not valid_slot("11:30", "09:00") and not valid_slot("9:00", "11:30")


def _spans(*days: int) -> list[tuple[dt.date, dt.date]]:
    start = dt.date(2026, 1, 1)
    return [(start, start + dt.timedelta(days=n)) for n in days]


@pytest.mark.parametrize("days, median", [
    ((), None), ((5,), 5), ((10, 2), 6), ((3, 4), 4), ((1, 2, 9), 2), ((0, 1), 1), ((7, 7, 8, 9), 8),
    ((2, 3, 4, 5), 4)])
def test_median_days_is_a_whole_day_rounded_half_up(days, median):
    got = median_days(_spans(*days))
    assert got == median and (got is None or type(got) is int)


@pytest.mark.parametrize("week, label", [
    ("2026-W49", "2026年第49周（11月30日—12月6日）"),  # across a month
    ("2026-W47", "2026年第47周（11月16日—11月22日）"),  # within one
    ("2026-W53", "2026年第53周（12月28日—2027年1月3日）"),  # ends in the next year
    ("2027-W01", "2027年第1周（1月4日—1月10日）"),
    ("2026-W01", "2026年第1周（2025年12月29日—1月4日）"),  # starts in the year before
    ("2026W5", "2026年第5周（1月26日—2月1日）"),
])
def test_week_labels(week, label):
    assert week_label(week) == label


def test_a_week_that_does_not_exist_has_no_label():
    with pytest.raises(DomainError, match="2027年没有第53周"):
        week_label("2027-W53")


@pytest.mark.parametrize("kwargs", [{"month": "0000-01"}, {"year": "9999"}, {"week": "9999-W52"}, {"week": "0001-W01"}])
def test_absurd_years_are_refused_not_crashed(kwargs):
    with pytest.raises(DomainError, match="超出范围"):
        period(**kwargs)
