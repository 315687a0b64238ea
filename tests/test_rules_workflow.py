"""The workflow tables: every from-state × step pair is either the expected move or refused, the
roles of each row, and `apply` and `allowed_steps` agreeing along any path through a table."""

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.errors import DomainError
from resettle.rules.desk import ACTION, DEMAND, PROBLEM, ActionStatus, DemandStatus, ProblemStatus
from resettle.rules.funding import PROJECT, ProjectStatus
from resettle.rules.household import HOUSEHOLD, Status
from resettle.rules.ledger import HANDOFF, HandoffStatus
from resettle.rules.permissions import Forbidden
from resettle.rules.workflow import allowed_steps, apply

DAY = dt.date(2026, 3, 2)
# Facts under which every need holds: a reason, a date after the last one, no action left planned.
FACTS = {"reason": "原因", "on": DAY, "last_date": DAY, "withdrawn_on": DAY, "planned": 0, "problem": 7,
         "decided_on": DAY, "action": 3, "completed_on": DAY}

H, D, Pr, P, S = HandoffStatus, DemandStatus, ProblemStatus, ProjectStatus, Status
MOVES = {
    "hand-off": (HANDOFF, "office", {
        (H.SENT, "accept"): H.ACCEPTED, (H.SENT, "reject"): H.REJECTED, (H.SENT, "revoke"): H.REVOKED,
        (H.ACCEPTED, "complete"): H.COMPLETED}),
    "household": (HOUSEHOLD, "admin", {
        (S.SIGNED, S.HANDED_OVER): S.HANDED_OVER, (S.HANDED_OVER, S.ALLOCATED): S.ALLOCATED,
        (S.ALLOCATED, S.MOVED_IN): S.MOVED_IN, (S.SIGNED, S.WITHDRAWN): S.WITHDRAWN,
        (S.HANDED_OVER, S.WITHDRAWN): S.WITHDRAWN, (S.ALLOCATED, S.WITHDRAWN): S.WITHDRAWN}),
    "demand": (DEMAND, "desk", {
        (D.RECEIVED, "link"): D.LINKED, (D.RECEIVED, "answer"): D.ANSWERED, (D.RECEIVED, "decline"): D.DECLINED}),
    "problem": (PROBLEM, "desk", {
        (Pr.OPEN, "link"): Pr.OPEN, (Pr.SCHEDULED, "link"): Pr.SCHEDULED, (Pr.DONE, "link"): Pr.DONE,
        (Pr.OPEN, "plan"): Pr.SCHEDULED, (Pr.SCHEDULED, "plan"): Pr.SCHEDULED, (Pr.DONE, "plan"): Pr.SCHEDULED,
        (Pr.SCHEDULED, "complete"): Pr.DONE, (Pr.DONE, "feedback"): Pr.DONE, (Pr.DONE, "happy"): Pr.HAPPY,
        (Pr.DONE, "reopen"): Pr.SCHEDULED}),
    "action": (ACTION, "desk", {(ActionStatus.PLANNED, "complete"): ActionStatus.COMPLETED}),
    "project": (PROJECT, "admin", {
        (P.DRAFT, "submit"): P.SUBMITTED, (P.RETURNED, "submit"): P.SUBMITTED, (P.SUBMITTED, "verify"): P.VERIFIED,
        (P.SUBMITTED, "return"): P.RETURNED, (P.SUBMITTED, "reject"): P.REJECTED, (P.VERIFIED, "approve"): P.APPROVED,
        (P.VERIFIED, "return"): P.RETURNED, (P.VERIFIED, "reject"): P.REJECTED, (P.APPROVED, "complete"): P.COMPLETED}),
}
PAIRS = [(name, state, step) for name, (table, _, _) in MOVES.items()
         for state, step in itertools.product(sorted(table.states), table.steps)]


@pytest.mark.parametrize(("name", "state", "step"), PAIRS)
def test_every_state_and_step(name, state, step):
    table, role, moves = MOVES[name]
    expected = moves.get((state, step))
    if expected is None:
        with pytest.raises(DomainError):
            apply(table, state, step, role, **FACTS)
        assert step not in allowed_steps(table, state, role)
    else:
        assert apply(table, state, step, role, **FACTS) is expected
        assert step in allowed_steps(table, state, role)


def test_tables_name_only_their_states():
    for table, _, moves in MOVES.values():
        assert {t.source for t in table.transitions} | {t.to for t in table.transitions} <= table.states
        assert set(moves) == {(t.source, t.step) for t in table.transitions}


@pytest.mark.parametrize(("table", "state", "step", "role", "message"), [
    (HANDOFF, H.SENT, "accept", "sender", "只有接收方乡镇或区集中居住办可以接收"),
    (HANDOFF, H.SENT, "revoke", "receiver", "只有发出方乡镇或区集中居住办可以撤回"),
    (HANDOFF, H.ACCEPTED, "revoke", "sender", "该对接单已接收，不能撤回"),
    (HANDOFF, H.SENT, "delete", "office", "操作只能是：接收、退回、办结、撤回"),
    (HOUSEHOLD, S.SIGNED, S.SIGNED, "admin", "签约日期由签约交房表导入，不能单独登记"),
    (DEMAND, D.ANSWERED, "decline", "desk", "需求已是“当场答复”，不能再不予受理"),
    (PROBLEM, Pr.SCHEDULED, "feedback", "desk", "问题7“办理中”，实事全部完成后才回访"),
    (PROJECT, P.DRAFT, "verify", "admin", "项目“草稿”，不能核定"),
    (PROJECT, P.APPROVED, "return", "admin", "项目“已审定”，不能退回"),
])
def test_refusals_say_why(table, state, step, role, message):
    with pytest.raises(DomainError) as caught:
        apply(table, state, step, role, **FACTS)
    assert caught.value.message == message


@pytest.mark.parametrize(("state", "step", "role", "message"), [
    (P.SUBMITTED, "return", "finance", "项目“待核定”，只能由核定部门退回或不予通过"),
    (P.VERIFIED, "reject", "department", "项目“待审定”，只能由区财政局退回或不予通过"),
    (P.SUBMITTED, "verify", "finance", "区财政局无权核定社区治理项目"),
    (P.DRAFT, "submit", "department", "业务主管部门无权申报社区治理项目"),
])
def test_who_holds_a_project(state, step, role, message):
    with pytest.raises(Forbidden) as caught:
        apply(PROJECT, state, step, role, **FACTS)
    assert caught.value.message == message
    assert step not in allowed_steps(PROJECT, state, role)


def test_what_a_step_needs():
    with pytest.raises(DomainError, match="退回或不予通过须写明原因"):
        apply(PROJECT, P.VERIFIED, "reject", "finance", reason=" ")
    with pytest.raises(DomainError, match="退出必须写明原因"):
        apply(HOUSEHOLD, S.ALLOCATED, S.WITHDRAWN, "township", **{**FACTS, "reason": ""})
    # a need is held against the facts a page gives, and left to the form otherwise
    assert "reject" in allowed_steps(PROJECT, P.VERIFIED, "finance")
    assert "reject" not in allowed_steps(PROJECT, P.VERIFIED, "finance", reason="")
    with pytest.raises(DomainError, match="完成日期2026-01-01早于议定日期2026-01-02"):
        apply(ACTION, ActionStatus.PLANNED, "complete", "desk", on=dt.date(2026, 1, 1), decided_on=dt.date(2026, 1, 2))
    with pytest.raises(DomainError, match="实事3已于2026-01-05完成"):
        apply(ACTION, ActionStatus.COMPLETED, "complete", "desk", on=DAY, decided_on=DAY, action=3,
              completed_on=dt.date(2026, 1, 5))
    # the facts choose between the two ends of a step
    assert apply(PROBLEM, Pr.SCHEDULED, "complete", "desk", planned=2) is Pr.SCHEDULED
    assert apply(PROBLEM, Pr.SCHEDULED, "complete", "admin", planned=0) is Pr.DONE


def test_roles_outside_the_desk_may_not_work_it():
    for state in DemandStatus:
        assert allowed_steps(DEMAND, state, "township") == ()
    assert allowed_steps(PROBLEM, Pr.DONE, "finance") == ()
    assert allowed_steps(HOUSEHOLD, S.SIGNED, "desk") == ()


TABLES = [(table, role) for table, role, _ in MOVES.values()]


@given(st.sampled_from(TABLES), st.data())
def test_any_path_of_allowed_steps_stays_inside_the_table(table_role, data):
    table, role = table_role
    state = data.draw(st.sampled_from(sorted(table.states)))
    for _ in range(data.draw(st.integers(0, 12))):
        facts = {**FACTS, "planned": data.draw(st.integers(0, 3))}
        steps = allowed_steps(table, state, role, **facts)
        for step in set(table.steps) - set(steps):
            with pytest.raises(DomainError):
                apply(table, state, step, role, **facts)
        if not steps:
            break
        state = apply(table, state, data.draw(st.sampled_from(steps)), role, **facts)
        assert state in table.states
