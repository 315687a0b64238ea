"""督办: the office presses the group responsible for an overdue item; the group is told at once, the
item carries the flag until done, and the counts per township show opened and closed."""

from __future__ import annotations

import datetime as dt

import pytest

from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Escalation, Handoff, Notice, OutboxMessage
from resettle.rules import notify as rule
from resettle.rules.permissions import Forbidden
from services import ledger, notify
from tests.test_notify import CHENJIA, moved  # noqa: F401
from tests.work import DAY, work

OFFICE = Actor("test:office", role="office")
CJ = Actor("test:cj", role="township", township=CHENJIA)
LATER = DAY + dt.timedelta(days=7)


async def test_the_office_presses_an_overdue_handoff_and_the_township_is_told(moved):  # noqa: F811
    h = await Handoff.filter(to_township=CHENJIA, kind="transfer").first()
    done = await notify.escalate(work(OFFICE), "handoff", h.id, "  请本周内接收  ", LATER)
    assert done["group"] == "陈家镇" and done["note"] == "请本周内接收"
    [m] = await OutboxMessage.filter(kind="escalation.handoff")
    assert (m.scope, m.target, m.status) == ("township", CHENJIA, "queued")
    text = rule.render(m.kind, m.count, m.payload, "https://x")
    assert "督办" in text and "请本周内接收" in text and LATER.isoformat() in text
    assert await Notice.filter(user__login="cj", kind="escalation.handoff").exists()
    assert await notify.flags("handoff", [h.id]) == {h.id: {"note": "请本周内接收", "new_due": LATER.isoformat()}}
    with pytest.raises(DomainError, match="已在督办中"):
        await notify.escalate(work(OFFICE), "handoff", h.id, "再催", LATER)
    # done: accepted and completed, the sweep closes it and the counts say so
    await ledger.act(work(CJ), [h.id], "accept")
    await notify.close_done(work(OFFICE))
    assert await notify.flags("handoff", [h.id]) != {}  # accepted is not done yet
    await ledger.act(work(CJ), [h.id], "complete")
    assert await notify.close_done(work(OFFICE)) == 1
    assert await notify.flags("handoff", [h.id]) == {}
    report = await notify.escalations(work(OFFICE))
    assert report["per_township"] == [{"township": "陈家镇", "opened": 1, "closed": 1, "open": 0}]
    assert report["open"] == []


async def test_only_overdue_items_only_by_the_office_with_a_note_and_a_date(moved):  # noqa: F811
    h = await Handoff.filter(to_township=CHENJIA).first()
    with pytest.raises(Forbidden):
        await notify.escalate(work(CJ), "handoff", h.id, "催办", LATER)
    for note, due, message in (("", LATER, "督办说明"), ("长" * 201, LATER, "督办说明"),
                               ("催办", DAY - dt.timedelta(days=1), "不能早于今天")):
        with pytest.raises(DomainError, match=message):
            await notify.escalate(work(OFFICE), "handoff", h.id, note, due)
    with pytest.raises(DomainError, match="找不到对接单"):
        await notify.escalate(work(OFFICE), "handoff", 999_999, "催办", LATER)
    with pytest.raises(DomainError, match="对象"):
        await notify.escalate(work(OFFICE), "household", h.id, "催办", LATER)
    await Handoff.filter(id=h.id).update(accept_due=LATER, complete_due=LATER)
    with pytest.raises(DomainError, match="只有逾期"):
        await notify.escalate(work(OFFICE), "handoff", h.id, "催办", LATER)
    assert not await Escalation.exists() and not await OutboxMessage.filter(kind__startswith="escalation").exists()
