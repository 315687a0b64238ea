"""督办: the office presses the group responsible for an overdue item; the group is told at once, the
item carries the flag until done, and the counts per township show opened and closed."""

from __future__ import annotations

import datetime as dt
import re

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


async def _three_pressed(moved) -> list[int]:  # noqa: F811
    """Three overdue hand-offs to 陈家镇: one pressed in May, two in June (DAY); in June the May one
    and one June one are done. June: 2 opened, 2 closed, 1 still open; May: 1 opened, 1 open."""
    ids = await Handoff.filter(to_township=CHENJIA, kind="transfer").order_by("id").limit(3) \
        .values_list("id", flat=True)
    assert len(ids) == 3
    may = dt.date(2026, 5, 20)
    await notify.escalate(work(OFFICE, may), "handoff", ids[0], "五月督办", may + dt.timedelta(days=5))
    for i in ids[1:]:
        await notify.escalate(work(OFFICE), "handoff", i, "六月督办", LATER)
    for i in ids[:2]:
        await ledger.act(work(CJ), [i], "accept")
        await ledger.act(work(CJ), [i], "complete")
    assert await notify.close_done(work(OFFICE)) == 2
    return ids


async def test_the_dashboard_and_the_monthly_summary_count_opened_and_closed_per_township(moved, tmp_path):  # noqa: F811
    import subprocess

    import pandas as pd

    from services import desk_papers, desk_views, ledger_views

    await _three_pressed(moved)
    june = {"code": CHENJIA, "township": "陈家镇", "opened": 2, "closed": 2, "open": 1}
    d = await ledger_views.dashboard(work(OFFICE))
    assert d["month"] == "2026年6月" and d["escalated"] == [june]
    assert d["escalated_total"] == {"opened": 2, "closed": 2, "open": 1}
    may = await ledger_views.dashboard(work(OFFICE), "2026-05")
    assert may["escalated"] == [{**june, "opened": 1, "closed": 0, "open": 1}]
    assert (await ledger_views.dashboard(work(OFFICE), "2026-04"))["escalated"] == []
    with pytest.raises(DomainError, match="月份"):
        await ledger_views.dashboard(work(OFFICE), "2026-13")
    # the escalations the service reports agree with the rows created
    assert await Escalation.filter(opened_on__gte=dt.date(2026, 6, 1)).count() == 2
    assert await Escalation.filter(closed_on__gte=dt.date(2026, 6, 1)).count() == 2
    # 一月一汇 of the township and of the district: the same counts; a community's counts only its actions
    s = await desk_views.summary(work(OFFICE), township="陈家镇", month="2026-06")
    assert s["escalated"] == [june] and s["escalated_total"]["opened"] == 2
    assert (await desk_views.summary(work(OFFICE), month="2026-06"))["escalated"] == [june]
    assert (await desk_views.summary(work(OFFICE), township="城桥镇", month="2026-06"))["escalated"] == []
    assert (await desk_views.summary(work(OFFICE), community="陈家镇/陈家新苑", month="2026-06"))["escalated"] == []
    # the papers carry them: a 督办 sheet in the xlsx, a 督办 table in the PDF
    sheets = pd.read_excel(desk_papers.write_summary(s, tmp_path / "s.xlsx"), sheet_name=None, dtype=str,
                           engine="calamine")
    assert list(sheets["督办"].columns) == ["乡镇", "当月督办", "当月办结", "月末仍在督办"]
    assert sheets["督办"].values.tolist() == [["陈家镇", "2", "2", "1"], ["合计", "2", "2", "1"]]
    text = subprocess.run(["pdftotext", "-layout", str(desk_papers.write_summary(s, tmp_path / "s.pdf")), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "督办（按乡镇）" in text and re.search(r"陈家镇\s+2\s+2\s+1", text) and re.search(r"合计\s+2\s+2\s+1", text)


async def test_an_action_escalation_counts_in_its_communitys_summary(moved):  # noqa: F811
    from resettle.models import Community
    from services import desk, desk_views

    c = await Community.filter(township_code=CHENJIA).first()
    clerk = work(Actor("test:desk", role="desk", township=CHENJIA, community_id=c.id), dt.date(2026, 6, 1))
    d = await desk.intake(clerk, None, channel="统一接待", category="物业维修", text="路灯坏了",
                          name="来访者", contact="021-12345678")
    p = await desk.link(clerk, [d["id"]], title="路灯")
    p = await desk.add_action(clerk, p["id"], owner="物业", text="修路灯", due=dt.date(2026, 6, 5))
    await notify.escalate(work(OFFICE), "action", p["action_items"][0]["id"], "尽快修", LATER)
    own = await desk_views.summary(clerk, month="2026-06")
    assert own["escalated"] == [{"code": CHENJIA, "township": "陈家镇", "opened": 1, "closed": 0, "open": 1}]
