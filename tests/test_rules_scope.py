"""The scope rule on plain values: which townships, communities, hand-offs and projects each
role reaches; and the pages never judge a role string themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.actor import Actor
from resettle.rules import scope
from resettle.rules.funding import ProjectStatus
from services.registry_import import households_reached

CJ, BZ, XH = "310151101", "310151102", "310151103"  # three townships
ADMIN = Actor("t:admin")
OFFICE = Actor("t:office", role="office")
LIAISON = Actor("t:cj", role="township", township=CJ)
DESK = Actor("t:desk", role="desk", township=CJ, community_id=7)
DEPARTMENT = Actor("t:dept", role="department", department="民政局")
FINANCE = Actor("t:fin", role="finance")
EVERYONE = (ADMIN, OFFICE, LIAISON, DESK, DEPARTMENT, FINANCE)


@pytest.mark.parametrize(("who", "district", "township", "community", "reached"), [
    (ADMIN, True, None, None, None),
    (OFFICE, True, None, None, None),
    (LIAISON, False, CJ, None, CJ),
    (DESK, False, None, 7, CJ),
    (DEPARTMENT, False, None, None, None),
    (FINANCE, False, None, None, None),
])
def test_what_a_role_reaches(who, district, township, community, reached):
    assert scope.whole_district(who) is district
    assert scope.own_township(who) == township
    assert scope.own_community(who) == community
    assert scope.township_reached(who) == reached


HOUSEHOLDS = [  # origin, destination, community
    (CJ, CJ, 7), (CJ, BZ, 8), (BZ, CJ, 7), (BZ, CJ, 9), (BZ, XH, 8), (XH, XH, 10),
]


@pytest.mark.parametrize(("who", "seen"), [
    (ADMIN, [True] * 6),
    (OFFICE, [True] * 6),
    (LIAISON, [True, True, True, True, False, False]),  # moving out of or into 陈家镇
    (DESK, [True, False, True, False, False, False]),  # of community 7 only
    (DEPARTMENT, [True] * 6),
    (FINANCE, [True] * 6),
])
def test_households(who, seen):
    rows = [{"origin_township": o, "dest_township": d, "community_id": c} for o, d, c in HOUSEHOLDS]
    assert [scope.sees_household(who, row) for row in rows] == seen
    assert households_reached(who, pd.DataFrame(rows)).tolist() == seen


def test_a_frame_without_the_column_reaches_nothing_for_a_limited_role():
    frame = pd.DataFrame({"agreement_no": ["A1", "A2"]})
    assert households_reached(DESK, frame).tolist() == [False, False]
    assert households_reached(OFFICE, frame).tolist() == [True, True]


def test_a_person_is_reached_by_the_township_now_responsible_for_a_line():
    elsewhere = {"origin_township": BZ, "dest_township": XH, "community_id": 8}
    assert not scope.sees_person(LIAISON, elsewhere, [BZ, XH])
    assert scope.sees_person(LIAISON, elsewhere, [BZ, CJ])
    assert not scope.sees_person(DESK, elsewhere, [CJ])  # desk staff: their community only


@pytest.mark.parametrize(("who", "own", "other_in_township", "elsewhere"), [
    (ADMIN, True, True, True),
    (LIAISON, True, True, False),
    (DESK, True, False, False),
    (FINANCE, True, True, True),
])
def test_communities(who, own, other_in_township, elsewhere):
    assert scope.sees_community(who, 7, CJ) is own
    assert scope.sees_community(who, 9, CJ) is other_in_township
    assert scope.sees_community(who, 8, BZ) is elsewhere


@pytest.mark.parametrize(("who", "cj", "bz"), [
    (ADMIN, True, True), (LIAISON, True, False), (DESK, True, False), (DEPARTMENT, True, True),
])
def test_township_counts(who, cj, bz):
    assert (scope.sees_township(who, CJ), scope.sees_township(who, BZ)) == (cj, bz)


@pytest.mark.parametrize(("who", "from_", "to", "side"), [
    (ADMIN, BZ, XH, "office"),
    (OFFICE, CJ, BZ, "office"),
    (LIAISON, BZ, CJ, "receiver"),
    (LIAISON, CJ, BZ, "sender"),
    (LIAISON, BZ, XH, None),
    (Actor("t:bz", role="township", township=BZ), CJ, BZ, "receiver"),
    (DESK, BZ, CJ, None),  # desk staff stand on no side, though their community lies in 陈家镇
    (FINANCE, BZ, CJ, None),
])
def test_the_side_of_a_handoff(who, from_, to, side):
    assert scope.handoff_side(who, from_, to) == side


DRAFT, SUBMITTED, APPROVED = (ProjectStatus.DRAFT.value, ProjectStatus.SUBMITTED.value,
                              ProjectStatus.APPROVED.value)


@pytest.mark.parametrize(("who", "seen"), [
    (ADMIN, [True, True, True, True]),
    (OFFICE, [True, True, True, True]),
    (LIAISON, [True, True, False, False]),
    (DEPARTMENT, [False, True, False, False]),  # its items, submitted; not another department's
    (FINANCE, [False, True, True, False]),  # every submitted project, no draft
])
def test_projects(who, seen):
    projects = [(CJ, "民政局", DRAFT), (CJ, "民政局", SUBMITTED), (BZ, "住建委", APPROVED), (BZ, "民政局", DRAFT)]
    assert [scope.sees_project(who, *p) for p in projects] == seen


@pytest.mark.parametrize(("who", "queue"), [
    (DEPARTMENT, ProjectStatus.SUBMITTED), (FINANCE, ProjectStatus.VERIFIED), (ADMIN, None), (LIAISON, None),
])
def test_review_queue(who, queue):
    assert scope.review_queue(who) is queue


codes = st.sampled_from([CJ, BZ, XH])


@given(who=st.sampled_from(EVERYONE), rows=st.lists(st.tuples(codes, codes, st.integers(6, 9)), max_size=8))
def test_the_frame_and_the_row_say_the_same(who, rows):
    households = [{"origin_township": o, "dest_township": d, "community_id": c} for o, d, c in rows]
    frame = pd.DataFrame(households, columns=["origin_township", "dest_township", "community_id"])
    assert households_reached(who, frame).tolist() == [scope.sees_household(who, h) for h in households]


@given(who=st.sampled_from(EVERYONE), community=st.integers(6, 9), township=codes)
def test_a_community_reached_is_in_a_township_reached(who, community, township):
    if scope.sees_community(who, community, township):
        assert scope.sees_township(who, township) or scope.own_community(who) is not None


WEB = Path(__file__).resolve().parent.parent / "web"
# `x.role == "…"`, `role in (…)`, `role != …`: a page judging the role itself instead of asking
# the permission table (`allowed`/`can`) or the scope rule
ROLE_TEST = re.compile(r"\brole\s*(==|!=|\bin\b|\bnot\s+in\b)|[\"'](admin|office|township|desk|department|finance)"
                       r"[\"']\s*(==|!=|\bin\b)\s*\w*\.?role\b")


def test_no_page_compares_a_role_string():
    found = [f"{path.relative_to(WEB)}:{n}: {line.strip()}"
             for path in sorted(WEB.rglob("*")) if path.suffix in (".py", ".html", ".js")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if ROLE_TEST.search(line)]
    assert found == []


ROOT = WEB.parent
# in the use cases: an actor's role judged outside the rule (`work.actor.role == …`); a role given
# as input (the account services.accounts creates) is not an actor's
ACTOR_ROLE_TEST = re.compile(r"\w\.role\s*(==|!=|\bin\b|\bnot\s+in\b)")


def test_no_use_case_compares_an_actors_role():
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for folder in ("services", "cli") for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if ACTOR_ROLE_TEST.search(line)]
    assert found == []
    assert ACTOR_ROLE_TEST.search('if a.role == "township":') and not ACTOR_ROLE_TEST.search('if role == "desk":')


@pytest.mark.parametrize(("who", "group", "home"), [
    (ADMIN, None, "district"),
    (OFFICE, None, "district"),
    (LIAISON, ("township", CJ), "township"),
    (DESK, ("community", "7"), "desk"),
    (DEPARTMENT, ("department", "民政局"), "review"),
    (FINANCE, ("department", "区财政局"), "review"),
])
def test_the_group_an_actor_answers_for_and_its_home(who, group, home):
    assert scope.message_group(who) == group
    assert scope.home_of(who) == home
    if group is not None:  # the group's members are the actor's kind, by the actor's own columns
        members = scope.group_members(*group)
        assert members["role"] == who.role
        assert {k: v for k, v in members.items() if k != "role"} == {
            "township": {"township_code": CJ}, "desk": {"community_id": 7}, "department": {"department": "民政局"},
            "finance": {}}[who.role]


def test_the_scan_would_see_one():
    for line in ('if who.role == "desk":', '{% if actor.role in ("admin", "office") %}',
                 "x = actor(request).role != 'desk'", 'if "finance" == who.role:'):
        assert ROLE_TEST.search(line), line
    for line in ('require(who.role, "desk.view")', 'allowed(who.role, "ledger.view")', "ROLES.get(who.role, '')"):
        assert not ROLE_TEST.search(line), line
