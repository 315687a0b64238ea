import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.errors import DomainError
from resettle.rules.ledger import (
    HANDOFF,
    HandoffKind,
    HandoffStatus,
    Matter,
    Need,
    Routing,
    age_on,
    applies,
    is_overdue,
    line_need,
    move_in_action,
)
from resettle.rules.workflow import apply

D = dt.date
LOW_INCOME = Matter("DB", "最低生活保障", "区民政局", Routing.FOLLOWS, tags=frozenset({"低保"}))
ELDERLY = Matter("GL", "高龄津贴", "区民政局", Routing.FOLLOWS, min_age=80)
HEAD = Matter("TD", "土地承包经营权", "区农业农村委", Routing.STAYS, head_only=True)
ALL = Matter("YB", "医保", "区医保局", Routing.HUKOU, everyone=True)


@pytest.mark.parametrize(("matter", "tags", "age", "head", "expected"), [
    (LOW_INCOME, {"低保"}, 40, False, True),
    (LOW_INCOME, {"党员"}, 40, True, False),
    (ELDERLY, set(), 80, False, True),
    (ELDERLY, set(), 79, False, False),
    (HEAD, set(), 30, True, True),
    (HEAD, {"低保"}, 90, False, False),
    (ALL, set(), 0, False, True),
])
def test_applies(matter, tags, age, head, expected):
    assert applies(matter, tags=tags, age=age, head=head) is expected


def test_age_on_birthday():
    assert age_on(D(1944, 3, 1), D(2024, 2, 29)) == 79
    assert age_on(D(1944, 3, 1), D(2024, 3, 1)) == 80


@pytest.mark.parametrize(("routing", "at_origin", "moved", "action"), [
    ("FOLLOWS", True, False, HandoffKind.TRANSFER),
    ("STAYS", True, False, HandoffKind.NOTICE),
    ("STAYS", True, True, HandoffKind.NOTICE),
    ("HUKOU", True, False, HandoffKind.NOTICE),
    ("HUKOU", True, True, HandoffKind.TRANSFER),
    ("FOLLOWS", False, False, None),  # already held elsewhere
])
def test_move_in_action(routing, at_origin, moved, action):
    assert move_in_action(routing, at_origin, moved) is action


@pytest.mark.parametrize(("status", "action", "side", "after"), [
    ("sent", "accept", "receiver", HandoffStatus.ACCEPTED),
    ("sent", "accept", "office", HandoffStatus.ACCEPTED),
    ("accepted", "complete", "receiver", HandoffStatus.COMPLETED),
    ("sent", "revoke", "sender", HandoffStatus.REVOKED),
])
def test_handoff_steps(status, action, side, after):
    assert apply(HANDOFF, status, action, side, reason="x") is after


@pytest.mark.parametrize(("status", "action", "side", "reason", "message"), [
    ("sent", "accept", "sender", "", "只有接收方乡镇或区集中居住办可以接收"),
    ("sent", "revoke", "receiver", "", "只有发出方乡镇或区集中居住办可以撤回"),
    ("sent", "complete", "receiver", "", "该对接单待接收，不能办结"),
    ("completed", "reject", "receiver", "不对", "该对接单已办结，不能退回"),
    ("sent", "reject", "receiver", " ", "退回必须写明原因"),
    ("sent", "delete", "office", "", "操作只能是：接收、退回、办结、撤回"),
])
def test_handoff_refusals(status, action, side, reason, message):
    with pytest.raises(DomainError) as caught:
        apply(HANDOFF, status, action, side, reason=reason)
    assert caught.value.message == message


def test_overdue():
    assert not is_overdue("sent", D(2024, 3, 6), D(2024, 3, 22), D(2024, 3, 6))
    assert is_overdue("sent", D(2024, 3, 6), D(2024, 3, 22), D(2024, 3, 7))
    assert not is_overdue("accepted", D(2024, 3, 6), D(2024, 3, 22), D(2024, 3, 20))
    assert is_overdue("accepted", D(2024, 3, 6), D(2024, 3, 22), D(2024, 3, 23))
    assert not is_overdue("completed", D(2024, 3, 6), D(2024, 3, 22), D(2025, 1, 1))


ORIGIN, DEST = "310151101", "310151110"


@pytest.mark.parametrize(("routing", "moved_in", "hukou", "responsible", "dest", "need"), [
    # not yet living in the destination: nothing yet, the move-in decides
    ("FOLLOWS", False, False, ORIGIN, DEST, Need(None, ORIGIN)),
    ("HUKOU", False, True, ORIGIN, DEST, Need(None, ORIGIN)),
    # living there: what the routing says, with the hukou deciding HUKOU lines
    ("FOLLOWS", True, False, ORIGIN, DEST, Need(HandoffKind.TRANSFER, ORIGIN, DEST)),
    ("STAYS", True, False, ORIGIN, DEST, Need(HandoffKind.NOTICE, ORIGIN, DEST)),
    ("STAYS", True, True, ORIGIN, DEST, Need(HandoffKind.NOTICE, ORIGIN, DEST)),
    ("HUKOU", True, False, ORIGIN, DEST, Need(HandoffKind.NOTICE, ORIGIN, DEST)),
    # … e.g. 城乡居保 opening at 16 after the hukou moved
    ("HUKOU", True, True, ORIGIN, DEST, Need(HandoffKind.TRANSFER, ORIGIN, DEST)),
    # a line already transferred, or a move within one township: nothing to hand off
    ("FOLLOWS", True, True, DEST, DEST, Need(None, DEST)),
    ("HUKOU", True, True, DEST, DEST, Need(None, DEST)),
    ("FOLLOWS", True, False, ORIGIN, ORIGIN, Need(None, ORIGIN)),
])
def test_line_need(routing, moved_in, hukou, responsible, dest, need):
    assert line_need(routing, origin=ORIGIN, dest=dest, moved_in=moved_in, hukou_at_dest=hukou,
                     responsible=responsible) == need


@given(routing=st.sampled_from(list(Routing)), moved_in=st.booleans(), hukou=st.booleans(),
       dest=st.sampled_from([ORIGIN, DEST]), responsible=st.sampled_from([ORIGIN, DEST, None]))
def test_line_need_invariants(routing, moved_in, hukou, dest, responsible):
    need = line_need(routing, origin=ORIGIN, dest=dest, moved_in=moved_in, hukou_at_dest=hukou, responsible=responsible)
    held = ORIGIN if responsible is None else responsible
    assert need.responsible == held  # a decision never moves responsibility; a completed transfer does
    assert (need.handoff is None) == (need.to is None) == (dest == ORIGIN or not moved_in or held != ORIGIN)
    if need.handoff is not None:
        assert need.to == dest != ORIGIN
        follows = routing is Routing.FOLLOWS or (routing is Routing.HUKOU and hukou)
        assert (need.handoff is HandoffKind.TRANSFER) == follows
    # the move-in's view of the rule is the same rule
    if dest == DEST and moved_in:
        assert move_in_action(routing, held == ORIGIN, hukou) is need.handoff
