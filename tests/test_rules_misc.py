import datetime as dt

import pytest

from resettle.errors import DomainError
from resettle.policy import PolicyError, _validate, load_policy
from resettle.rules.contact import normalize_phone
from resettle.rules.dates import parse_date
from resettle.rules.household import HOUSEHOLD, Dates, Status, order_problem
from resettle.rules.township import township_key
from resettle.rules.workflow import apply

D = dt.date


@pytest.mark.parametrize(("raw", "expected"), [
    ("13812345678", ("13812345678", True)),
    ("+86 138-1234-5678", ("13812345678", True)),
    ("138 1234 5678", ("13812345678", True)),
    ("１３８１２３４５６７８", ("13812345678", True)),
    ("021-59691234", ("021-59691234", True)),
    ("59691234", ("59691234", True)),
    ("", ("", True)),
    ("12345", ("", False)),
    ("无", ("", False)),
    ("12812345678", ("", False)),
])
def test_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2023-05-06", D(2023, 5, 6)),
    ("2023/5/6", D(2023, 5, 6)),
    ("2023.5.6", D(2023, 5, 6)),
    ("2023年5月6日", D(2023, 5, 6)),
    ("20230506", D(2023, 5, 6)),
    (45052, D(2023, 5, 6)),
    (45052.0, D(2023, 5, 6)),
    ("45052", D(2023, 5, 6)),
    (dt.datetime(2023, 5, 6, 0, 0), D(2023, 5, 6)),
    ("2023-05-06 00:00:00", D(2023, 5, 6)),
])
def test_parse_date_accepts_what_clerks_type(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["2023-13-45", "明年", "2023-02-30", "5/6"])
def test_parse_date_refuses_with_chinese_message(value):
    with pytest.raises(ValueError, match="日期"):
        parse_date(value)


@pytest.mark.parametrize(("text", "key"), [("城桥镇", "城桥"), ("城桥", "城桥"), (" 城 桥 镇 ", "城桥"),
                                           ("新村乡", "新村"), ("ＸＸ镇", "XX")])
def test_township_key(text, key):
    assert township_key(text) == key


def test_policy_matches_townships_as_written():
    policy = load_policy()
    assert len(policy.townships) == 18
    assert policy.match_township("城桥").code == "310151101"
    assert policy.match_township("横沙乡").code == "310151202"
    assert policy.match_township("310151116").name == "长兴镇"
    assert policy.match_township("东海镇") is None


def test_policy_validation_names_the_problem():
    with pytest.raises(PolicyError, match="代码“1234”应为9位数字"):
        _validate({"townships": [{"code": "1234", "name": "某镇"}],
                   "registry": {"relations": ["户主"]}}, "x.toml")
    with pytest.raises(PolicyError, match="relations 必须包含“户主”"):
        _validate({"townships": [{"code": "310151101", "name": "城桥镇"}]}, "x.toml")


SIGNED = Dates(D(2023, 1, 1))
HANDED = Dates(D(2023, 1, 1), D(2023, 2, 1))


@pytest.mark.parametrize(("dates", "step", "on", "status"), [
    (SIGNED, Status.HANDED_OVER, D(2023, 2, 1), Status.HANDED_OVER),
    (HANDED, Status.ALLOCATED, D(2023, 2, 1), Status.ALLOCATED),
    (Dates(D(2023, 1, 1), D(2023, 2, 1), D(2023, 3, 1)), Status.MOVED_IN, D(2023, 4, 1), Status.MOVED_IN),
    (HANDED, Status.WITHDRAWN, D(2023, 3, 1), Status.WITHDRAWN),
])
def test_state_machine_steps(dates, step, on, status):
    assert apply(HOUSEHOLD, dates.status, step, "township", on=on, reason="x", **dates.facts) is status
    assert dates.after(step, on).status is status


@pytest.mark.parametrize(("dates", "step", "on", "message"), [
    (HANDED, Status.MOVED_IN, D(2023, 3, 1), "该户尚未分房，不能直接登记入住"),
    (SIGNED, Status.ALLOCATED, D(2023, 3, 1), "该户尚未交房，不能直接登记分房"),
    (HANDED, Status.ALLOCATED, D(2023, 1, 15), "分房日期2023-01-15早于上一步的日期2023-02-01"),
    (HANDED, Status.HANDED_OVER, D(2023, 3, 1), "该户已是已交房状态，不能再登记交房"),
    (Dates(D(2023, 1, 1), D(2023, 2, 1), D(2023, 3, 1), D(2023, 4, 1)), Status.WITHDRAWN,
     D(2023, 5, 1), "该户已入住，不能退出"),
    (Dates(D(2023, 1, 1), withdrawn_on=D(2023, 1, 5)), Status.HANDED_OVER, D(2023, 2, 1),
     "该户已于2023-01-05退出，不能再登记交房"),
])
def test_state_machine_refusals(dates, step, on, message):
    with pytest.raises(DomainError) as caught:
        apply(HOUSEHOLD, dates.status, step, "township", on=on, reason="x", **dates.facts)
    assert caught.value.message == message


def test_order_problem():
    assert order_problem(Dates(D(2023, 2, 1), D(2023, 1, 1))) == "交房日期2023-01-01早于签约日期2023-02-01"
    assert order_problem(Dates(D(2023, 1, 1), None, D(2022, 12, 1))) == "分房日期2022-12-01早于签约日期2023-01-01"
    assert order_problem(HANDED) is None
