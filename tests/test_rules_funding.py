"""Funding rules: qualification reasons, the split to the fen, the project state machine, amounts."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.errors import DomainError
from resettle.policy import load_policy
from resettle.rules.funding import (
    PROJECT,
    CatalogItem,
    Deliberation,
    Facts,
    ProjectKind,
    ProjectStatus,
    qualify,
    split,
    yuan,
)
from resettle.rules.workflow import apply

GATES = CatalogItem("JS03", "智能门禁", ProjectKind.CONSTRUCTION, "区委政法委", cap_per_project=50_000_000,
                    cap_per_household=150_000)
SUBSIDY = CatalogItem("YY01", "物业服务补贴", ProjectKind.OPERATION, "区房管局", standard_per_household=36_000)
MEETING = Deliberation("居民代表会议", dt.date(2026, 3, 1), attendance=21, votes_for=11, votes_against=6)


def facts(**kw) -> Facts:
    base = dict(kind=ProjectKind.CONSTRUCTION, item_code="JS03", item=GATES, year=2026, requested=10_000_000,
                area_m2=None, moved_in_households=300, deliberation=None, linked_problems=0, duplicates=0)
    return Facts(**{**base, **kw})


@pytest.mark.parametrize("changes, ok, fragment", [
    ({}, True, "不超过单个项目上限500,000.00元"),
    ({"requested": 50_000_001}, False, "超过单个项目上限"),
    ({"moved_in_households": 100, "requested": 15_000_001}, False, "超过每户1,500.00元×100户"),
    ({"moved_in_households": 0}, False, "没有已入住的户"),
    ({"duplicates": 1}, False, "不能重复申报"),
    ({"item": None, "item_code": "XX"}, False, "没有编号为“XX”"),
    ({"kind": ProjectKind.OPERATION}, False, "不是日常运营管理类"),
    ({"kind": ProjectKind.OPERATION, "item": SUBSIDY, "requested": 36_000 * 300}, True,
     "年度标准每户360.00元×已入住300户"),
    ({"kind": ProjectKind.OPERATION, "item": SUBSIDY, "requested": 36_000 * 300 + 1}, False, "超过年度标准"),
    ({"kind": ProjectKind.CASE_BY_CASE, "item": None, "item_code": "", "deliberation": MEETING, "linked_problems": 1},
     True, "超过到会人数的一半"),
    ({"kind": ProjectKind.CASE_BY_CASE, "item": None, "deliberation": MEETING, "linked_problems": 0}, False,
     "至少一个三合署问题"),
    ({"kind": ProjectKind.CASE_BY_CASE, "item": None, "linked_problems": 1,
      "deliberation": Deliberation("居民代表会议", dt.date(2026, 3, 1), 20, 10, 5)}, False, "未超过到会20人的一半"),
    ({"kind": ProjectKind.CASE_BY_CASE, "item": None, "linked_problems": 1,
      "deliberation": Deliberation("会", dt.date(2026, 3, 1), 10, 8, 5)}, False, "票数不合理"),
    ({"kind": ProjectKind.CASE_BY_CASE, "item": None, "linked_problems": 1, "deliberation": None}, False,
     "须有议事记录"),
])
def test_qualification_gives_every_reason(changes, ok, fragment):
    verdict = qualify(facts(**changes))
    assert verdict.qualifies is ok
    assert any(fragment in reason for reason in verdict.reasons), verdict.reasons
    assert all(passed is ok for passed, text in verdict.checks if text in verdict.reasons)


def test_all_failures_are_listed_together():
    verdict = qualify(facts(requested=60_000_000, moved_in_households=0, duplicates=2))
    assert not verdict.qualifies and len(verdict.reasons) == 4  # no households, over both caps, duplicate


@pytest.mark.parametrize("approved, bp, district", [(100, 5000, 50), (101, 5000, 51), (1, 5000, 1), (3, 3333, 1),
                                                   (999_999, 6000, 599_999), (0, 6000, 0), (12_345, 10_000, 12_345)])
def test_split_rounds_half_up(approved, bp, district):
    assert split(approved, bp) == (district, approved - district)


@given(st.integers(0, 10**13), st.integers(0, 10_000))
def test_shares_are_never_negative_and_always_add_up(approved, bp):
    district, township = split(approved, bp)
    assert district >= 0 and township >= 0 and district + township == approved
    assert abs(district * 10_000 - approved * bp) <= 5_000  # within half a fen of the exact share


def test_split_refuses_nonsense():
    for approved, bp in ((-1, 5000), (100, 10_001)):
        with pytest.raises(DomainError):
            split(approved, bp)


def test_state_machine():
    assert apply(PROJECT, ProjectStatus.DRAFT, "submit", "admin") is ProjectStatus.SUBMITTED
    assert apply(PROJECT, ProjectStatus.RETURNED, "submit", "admin") is ProjectStatus.SUBMITTED
    S = ProjectStatus
    for status, step in ((S.DRAFT, "approve"), (S.SUBMITTED, "approve"), (S.APPROVED, "return"),
                         (S.REJECTED, "submit")):
        with pytest.raises(DomainError, match="不能"):
            apply(PROJECT, status, step, "admin", reason="x")


def test_money_text():
    assert yuan(123_456_789) == "1,234,567.89元" and yuan(5) == "0.05元" and yuan(-150) == "-1.50元"


def test_policy_example():
    funding = load_policy().funding
    assert funding.item("YY01").standard_per_household == 36_000
    assert funding.ratio(ProjectKind.CONSTRUCTION, "310151104") == 7000  # 庙镇, a weaker township
    assert funding.ratio(ProjectKind.CONSTRUCTION, "310151110") == 6000
    assert funding.envelope(2031) == 3_000_000_000
