import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.rules import idnumber

TODAY = dt.date(2026, 1, 1)


@pytest.mark.parametrize(("raw", "expected"), [
    ("11010519491231002x", "11010519491231002X"),
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
    ("110105 19491231 002X", "11010519491231002X"),
    ("  110105\u300019491231002X ", "11010519491231002X"),
])
def test_normalize_folds_clerk_input(raw, expected):
    assert idnumber.normalize(raw) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("11010519491231002X", None),  # the GB 11643 standard's own example
    ("", "公民身份号码为空"),
    ("1101051949123100", "公民身份号码应为18位，实为16位"),
    ("11010519491231002A", "公民身份号码只能是17位数字加1位数字或X"),
    ("110105194902300028", "公民身份号码中的出生日期19490230不存在"),
    ("110105209901010020", "公民身份号码中的出生日期20990101不合理"),
    ("110105194912310021", "公民身份号码校验位错误（应为X），请核对原件"),
])
def test_problem_table(value, message):
    assert idnumber.problem(value, TODAY) == message


def test_mask_keeps_region_and_last_four():
    assert idnumber.mask("31023019900101123X") == "310230********123X"


ids = st.builds(
    lambda area, born, seq: f"{area:06d}{born:%Y%m%d}{seq:03d}",
    st.integers(100000, 999999), st.dates(dt.date(1900, 1, 1), TODAY), st.integers(0, 999),
)


@given(ids)
def test_any_17_digits_with_computed_check_validate(first17):
    assert idnumber.problem(first17 + idnumber.check_char(first17), TODAY) is None


@given(ids, st.integers(0, 17), st.integers(1, 9))
def test_changing_any_single_digit_fails(first17, position, delta):
    value = first17 + idnumber.check_char(first17)
    old = value[position]
    new = str(delta) if old == "X" else str((int(old) + delta) % 10)
    changed = value[:position] + new + value[position + 1:]
    assert idnumber.problem(changed, TODAY) is not None


@given(st.lists(st.one_of(
    ids.map(lambda f: f + idnumber.check_char(f)),
    ids.map(lambda f: f + "0"),
    st.text(alphabet="0123456789X", min_size=16, max_size=19),
), max_size=30))
def test_vector_fast_path_agrees_with_scalar_rule(values):
    fast = idnumber.valid_mask(values, TODAY)
    assert list(fast) == [idnumber.problem(v, TODAY) is None for v in values]
