"""督办 on the pages, through the test client: the flag shows on every page that lists or shows an
escalated item (inbox, hand-off, problem, board, meeting, funding list and project, homes) and
disappears once the item is done; the office's form shows only on overdue items and works."""

from __future__ import annotations

import datetime as dt
import re

from resettle.actor import Actor
from resettle.models import Community, Escalation, Handoff, OutboxMessage
from services import desk, funding, ledger, notify
from tests.test_notify_web import _move_in
from tests.test_web import HEAD_ID, csrf_of, log_in, site  # noqa: F401
from tests.work import DAY, work

OFFICE = Actor("test:office", role="office")
LIAISON = Actor("test:cj", role="township", township="310151110")  # 陈家镇
LATER = DAY + dt.timedelta(days=5)
EARLIER = DAY - dt.timedelta(days=20)
FLAG = re.compile(r'<span class="escalated" title="督办：([^"]*)（([0-9-]+)前办结）">督办')


async def page(site, path: str) -> str:  # noqa: F811
    response = await site.get(path)
    assert response.status == 200, path
    return await response.text()


def flags_in(text: str) -> list[tuple[str, str]]:
    return FLAG.findall(text)


async def as_(site, login: str) -> None:  # noqa: F811
    site.session.cookie_jar.clear()
    await log_in(site, login)


async def overdue_action() -> tuple[int, int]:
    """A problem of 陈家新苑 with an action due long ago (planned 20 days back)."""
    c = await Community.get(name="陈家新苑")
    clerk = work(Actor("test:desk", role="desk", township=c.township_code, community_id=c.id), EARLIER)
    d = await desk.intake(clerk, None, channel="统一接待", category="物业维修", text="电梯坏了", resident=HEAD_ID)
    p = await desk.link(clerk, [d["id"]], title="3号楼电梯故障")
    p = await desk.add_action(clerk, p["id"], owner="物业", text="更换主板", due=EARLIER + dt.timedelta(days=3))
    return p["id"], p["action_items"][0]["id"]


async def test_the_flag_follows_a_handoff_until_it_is_done_and_the_form_only_where_it_works(site):  # noqa: F811
    await _move_in(site)
    h = await Handoff.filter(to_township="310151110", kind="transfer").first()
    await as_(site, "office")
    text = await page(site, f"/ledger/handoffs/{h.id}")
    assert '<summary>督办</summary>' in text and flags_in(text) == []
    token = await csrf_of(site, f"/ledger/handoffs/{h.id}")
    # hostile input: a Chinese 400 on the office's page, nothing created
    bad = await site.post("/notify/escalate", data={"csrf": token, "object_type": "handoff", "object_id": str(h.id),
                                                    "note": "", "new_due": LATER.isoformat(), "back": "1"})
    assert bad.status == 400 and "督办说明" in await bad.text()
    bad = await site.post("/notify/escalate", data={"csrf": token, "object_type": "handoff", "object_id": "x" * 40,
                                                    "note": "催", "new_due": "2026-13-40", "back": "1"})
    assert bad.status == 400 and not await Escalation.exists()
    answer = await site.post("/notify/escalate", allow_redirects=False, data={
        "csrf": token, "object_type": "handoff", "object_id": str(h.id), "note": "请本周内接收",
        "new_due": LATER.isoformat(), "back": "1"})
    assert answer.status == 303 and answer.headers["Location"] == f"/ledger/handoffs/{h.id}"
    assert await OutboxMessage.filter(kind="escalation.handoff", target="310151110").count() == 1
    text = await page(site, f"/ledger/handoffs/{h.id}")
    assert flags_in(text) == [("请本周内接收", LATER.isoformat())] and "<summary>督办</summary>" not in text
    assert "区集中居住办督办：请本周内接收" in text
    inbox = await page(site, "/ledger/inbox?direction=incoming&township=310151110")
    assert flags_in(inbox) == [("请本周内接收", LATER.isoformat())]
    home = await page(site, "/")
    assert "督办中（1）" in home and f'href="/ledger/handoffs/{h.id}"' in home
    # the township sees the flag on its inbox, its hand-off and its home, and never the form
    await as_(site, "township")
    for path in (f"/ledger/handoffs/{h.id}", "/ledger/inbox", "/"):
        text = await page(site, path)
        assert flags_in(text) == [("请本周内接收", LATER.isoformat())], path
        assert 'action="/notify/escalate"' not in text
    # done: the township accepts and completes; the sweep closes it and the flag is gone everywhere
    await ledger.act(work(LIAISON), [h.id], "accept")
    await ledger.act(work(LIAISON), [h.id], "complete")
    assert await notify.close_done(work(OFFICE)) == 1
    for path in (f"/ledger/handoffs/{h.id}", "/ledger/inbox?status=all", "/"):
        text = await page(site, path)
        assert flags_in(text) == [] and "督办中" not in text, path
    # a done hand-off is not overdue: the office is not offered the form again
    await as_(site, "office")
    assert "<summary>督办</summary>" not in await page(site, f"/ledger/handoffs/{h.id}")


async def test_a_handoff_not_yet_overdue_offers_no_form(site):  # noqa: F811
    await _move_in(site)
    h = await Handoff.filter(to_township="310151110").first()
    await Handoff.filter(id=h.id).update(accept_due=LATER, complete_due=LATER)
    await as_(site, "office")
    assert 'action="/notify/escalate"' not in await page(site, f"/ledger/handoffs/{h.id}")
    assert 'action="/notify/escalate"' in await page(site, "/notify")  # the office's own page keeps its form


async def test_the_flag_on_the_desk_pages_for_an_action(site):  # noqa: F811
    problem_id, action_id = await overdue_action()
    await as_(site, "office")
    text = await page(site, f"/desk/problems/{problem_id}")
    assert text.count("<summary>督办</summary>") == 1
    token = await csrf_of(site, f"/desk/problems/{problem_id}")
    answer = await site.post("/notify/escalate", allow_redirects=False, data={
        "csrf": token, "object_type": "action", "object_id": str(action_id), "note": "月底前完成",
        "new_due": LATER.isoformat(), "back": "1"})
    assert answer.status == 303 and answer.headers["Location"] == f"/desk/problems/{problem_id}"
    text = await page(site, f"/desk/problems/{problem_id}")
    assert flags_in(text) == [("月底前完成", LATER.isoformat())] and "<summary>督办</summary>" not in text
    await as_(site, "desk")
    for path in (f"/desk/problems/{problem_id}", "/desk", "/desk/meeting", "/"):
        text = await page(site, path)
        assert flags_in(text) == [("月底前完成", LATER.isoformat())], path
        assert 'action="/notify/escalate"' not in text
    c = await Community.get(name="陈家新苑")
    clerk = work(Actor("test:desk", role="desk", township=c.township_code, community_id=c.id))
    await desk.complete_action(clerk, action_id, result="已更换")
    await notify.close_done(work(OFFICE))
    for path in (f"/desk/problems/{problem_id}", "/desk/meeting", "/"):
        assert flags_in(await page(site, path)) == [], path


async def test_the_flag_on_the_funding_pages_for_a_project_step(site):  # noqa: F811
    await _move_in(site)
    township = Actor("test:cj", role="township", township="310151110", name="陈家镇信息员")
    p = await funding.draft(work(township), community="陈家新苑", kind="operation", item="YY01",
                            title="物业服务补贴", year=DAY.year, requested=36_000)
    p = await funding.submit(work(township), p["id"], version=p["version"])
    await as_(site, "office")
    text = await page(site, f"/funding/projects/{p['id']}")
    assert "<summary>督办</summary>" in text  # waiting for its department's verification
    token = await csrf_of(site, f"/funding/projects/{p['id']}")
    answer = await site.post("/notify/escalate", allow_redirects=False, data={
        "csrf": token, "object_type": "project", "object_id": str(p["id"]), "note": "请尽快核定",
        "new_due": LATER.isoformat(), "back": "1"})
    assert answer.headers["Location"] == f"/funding/projects/{p['id']}"
    for path in (f"/funding/projects/{p['id']}", "/funding", "/"):
        assert flags_in(await page(site, path)) == [("请尽快核定", LATER.isoformat())], path
    history = await page(site, f"/funding/projects/{p['id']}")
    assert "notify.escalate" not in history and "新的办理期限" in history  # the history says it in Chinese
    await as_(site, "township")
    assert 'action="/notify/escalate"' not in await page(site, f"/funding/projects/{p['id']}")
    assert flags_in(await page(site, "/funding")) == [("请尽快核定", LATER.isoformat())]
    # the department it waits for sees it on its home: in its queue and in its 督办 list
    from services import home_views
    housing = work(Actor("test:fg", role="department", department="区房管局"))
    h = await home_views.review_home(housing)
    assert [q.flag for q in h.oldest] == [{"note": "请尽快核定", "new_due": LATER.isoformat()}]
    assert [(e.label, e.href) for e in h.escalated] == [(f"项目 {p['id']}", f"/funding/projects/{p['id']}")]
    civil = work(Actor("test:mz", role="department", department="区民政局"))
    assert (await home_views.review_home(civil)).escalated == []
    # the department verifies: the step it was pressed on is past, the flag goes
    await funding.verify(housing, p["id"], 36_000)
    await notify.close_done(work(OFFICE))
    for path in (f"/funding/projects/{p['id']}", "/funding"):
        assert flags_in(await page(site, path)) == [], path


async def test_the_dashboard_and_the_summary_pages_and_xlsx_show_the_counts(site):  # noqa: F811
    import io

    import pandas as pd

    await _move_in(site)
    ids = await Handoff.filter(to_township="310151110", kind="transfer").values_list("id", flat=True)
    for i in ids:
        await notify.escalate(work(OFFICE), "handoff", i, "催办", LATER)
    await ledger.act(work(LIAISON), [ids[0]], "accept")
    await ledger.act(work(LIAISON), [ids[0]], "complete")
    await notify.close_done(work(OFFICE))
    n = len(ids)
    await as_(site, "office")
    text = await page(site, "/ledger/dashboard")
    row = re.search(r'<table class="counts" id="escalations">.*?</table>', text, re.S)[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells == ["陈家镇", str(n), "1", str(n - 1), "合计", str(n), "1", str(n - 1)]
    assert "当月没有督办事项" in await page(site, "/ledger/dashboard?month=2026-05")
    bad = await site.get("/ledger/dashboard?month=" + "9" * 500)
    assert bad.status == 400 and "月份" in await bad.text()
    summary = await page(site, "/desk/summary?township=陈家镇&month=2026-06")
    table = re.search(r'<table id="escalations">.*?</table>', summary, re.S)[0]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", table) == ["陈家镇", str(n), "1", str(n - 1),
                                                           "合计", str(n), "1", str(n - 1)]
    xlsx = await site.get("/desk/summary?format=xlsx&township=陈家镇&month=2026-06")
    assert xlsx.status == 200
    sheets = pd.read_excel(io.BytesIO(await xlsx.read()), sheet_name=None, dtype=str, engine="calamine")
    assert sheets["督办"].values.tolist()[0] == ["陈家镇", str(n), "1", str(n - 1)]
    pdf = await site.get("/desk/summary?format=pdf&township=陈家镇&month=2026-06")
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
