"""The bell, the notices page and the office's outbox page, through the test client."""

from __future__ import annotations

import datetime as dt

from resettle.models import Handoff, Notice, OutboxMessage
from resettle.rules.household import Status
from services import registry
from tests.test_notify import robot  # noqa: F401
from tests.test_web import ADMIN, IN_SCOPE, csrf_of, log_in, site  # noqa: F401
from tests.work import work


async def _move_in(site):  # noqa: F811
    await registry.record_step(work(ADMIN), IN_SCOPE, Status.HANDED_OVER, dt.date(2024, 1, 2))
    await registry.record_step(work(ADMIN), IN_SCOPE, Status.ALLOCATED, dt.date(2024, 2, 1))
    await registry.record_step(work(ADMIN), IN_SCOPE, Status.MOVED_IN, dt.date(2024, 3, 1))
    return await Handoff.filter(household__agreement_no=IN_SCOPE).count()


async def test_the_bell_counts_unread_notices_and_the_page_marks_them_read(site):  # noqa: F811
    arrived = await _move_in(site)
    assert arrived and await OutboxMessage.filter(kind="handoff.arrived").count() == 1
    await log_in(site, "township")
    home = await (await site.get("/")).text()
    assert 'href="/notices">通知（1条未读）</a>' in home
    page = await site.get("/notices")
    text = await page.text()
    assert page.status == 200 and f"收到 {arrived} 条新的对接单" in text and "标为已读" in text
    token = await csrf_of(site, "/notices")
    answer = await site.post("/notices/read", data={"csrf": token}, allow_redirects=False)
    assert answer.status == 303
    assert 'href="/notices">通知</a>' in await (await site.get("/")).text()
    assert await Notice.filter(read_at__isnull=True).count() == 0
    # hostile ids: a Chinese 400, never a 500
    bad = await site.post("/notices/read", data={"csrf": token, "id": "x" * 50})
    assert bad.status == 400 and "通知编号" in await bad.text()
    assert (await site.post("/notices/read", data={"id": "1"})).status in (400, 403)  # no CSRF token


async def test_the_office_sees_the_outbox_and_others_may_not(site):  # noqa: F811
    await _move_in(site)
    await log_in(site, "office")
    page = await site.get("/notify")
    text = await page.text()
    assert page.status == 200 and "消息推送" in text and "陈家镇" in text and "未设置群机器人" in text
    assert 'href="/notify">消息推送</a>' in await (await site.get("/")).text()
    for role in ("township", "desk", "finance"):
        site.session.cookie_jar.clear()
        await log_in(site, role)
        assert (await site.get("/notify")).status == 403
        assert 'href="/notify"' not in await (await site.get("/")).text()


async def test_serve_on_sqlite_drains_the_outbox_in_process(db_url, tmp_path, robot, caplog):  # noqa: F811
    """And runs the daily schedule beside it (services.schedule): nothing fails in it."""
    import asyncio
    import logging

    from aiohttp.test_utils import TestServer

    from resettle.db import open_db
    from services import notify
    from tests.test_notify import at
    from tests.work import DAY, clock_on
    from web.app import init_app

    async with open_db(db_url):
        await notify.set_channel(at(), b"k" * 32, robot.url, department="区民政局")
        async with at().transaction():
            await notify.enqueue(at(), notify.Group("department", "区民政局"), "project.returned",
                                 {"title": "健身步道", "reason": "补材料"}, key="p1")
    caplog.set_level(logging.INFO, logger="resettle.schedule")
    server = TestServer(init_app(db_url, secret=b"k" * 32, uploads=tmp_path / "u", clock=clock_on(DAY), send=True))
    await server.start_server()
    try:
        for _ in range(50):
            if robot.posted and any("ages refreshed" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
    finally:
        await server.close()
    assert [p["markdown"]["content"].splitlines()[0] for p in robot.posted] == ["### 项目被退回"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert f"schedule: ages refreshed on {DAY.isoformat()}: 0 persons checked" in caplog.text


async def test_the_office_escalates_from_its_page_and_bad_input_is_a_chinese_400(site):  # noqa: F811
    await _move_in(site)
    handoff = await Handoff.filter(household__agreement_no=IN_SCOPE).first()
    await log_in(site, "office")
    token = await csrf_of(site, "/notify")
    for typed, message in (({"object_id": "x" * 20}, "编号应为整数"), ({"object_id": "1"}, "请填写编号和新的办理期限"),
                           ({"object_id": "1", "new_due": "2026-13-45"}, "新的办理期限"),
                           ({"object_type": "household", "object_id": "1", "new_due": "2026-07-01", "note": "x"},
                            "督办的对象"),
                           ({"object_id": str(handoff.id), "new_due": "2026-07-01", "note": "<b>快</b>" * 60},
                            "督办说明")):
        answer = await site.post("/notify/escalate", data={"csrf": token, "object_type": "handoff", **typed})
        assert answer.status == 400 and message in await answer.text(), (typed, await answer.text())
    answer = await site.post("/notify/escalate", data={"csrf": token, "object_type": "handoff",
                                                         "object_id": str(handoff.id), "note": "<b>请接收</b>",
                                                         "new_due": "2026-07-01"})
    text = await answer.text()
    assert answer.status == 200 and "已督办对接单" in text and "&lt;b&gt;请接收&lt;/b&gt;" in text
    assert "<b>请接收</b>" not in text


async def test_the_api_has_the_bell_the_outbox_and_escalation(site):  # noqa: F811
    arrived = await _move_in(site)
    township = {"Authorization": f"Bearer {site.tokens['township']}"}
    office = {"Authorization": f"Bearer {site.tokens['office']}"}
    bell = await (await site.get("/api/v1/notices", headers=township)).json()
    assert bell["unread"] == 1 and bell["items"][0]["text"].startswith(f"收到 {arrived} 条新的对接单")
    assert (await site.post("/api/v1/notices/read", headers=township, json={"ids": []})).status == 422
    other = await site.post("/api/v1/notices/read", headers=office, json={"ids": [bell["items"][0]["id"]]})
    assert (await other.json())["marked"] == 0  # only one's own notices
    marked = await site.post("/api/v1/notices/read", headers=township, json={})
    assert (await marked.json())["marked"] == 1
    assert (await (await site.get("/api/v1/notices", headers=township)).json())["unread"] == 0
    # the office's: the outbox per group and 督办; a liaison may not
    status = await (await site.get("/api/v1/notify/status", headers=office)).json()
    assert status["total"]["queued"] >= 1 and any(g["name"] == "陈家镇" for g in status["groups"])
    assert (await site.get("/api/v1/notify/status", headers=township)).status == 403
    handoff = await Handoff.filter(household__agreement_no=IN_SCOPE).first()
    press = {"object_type": "handoff", "object_id": handoff.id, "note": "请本周内接收", "new_due": "2026-06-24"}
    assert (await site.post("/api/v1/escalations", headers=township, json=press)).status == 403
    assert (await site.post("/api/v1/escalations", headers=office, json={**press, "note": "长" * 201})).status == 422
    early = await site.post("/api/v1/escalations", headers=office, json={**press, "new_due": "2026-06-16"})
    assert early.status == 400 and "不能早于今天" in await early.text()
    made = await site.post("/api/v1/escalations", headers=office, json=press)
    assert made.status == 201, await made.text()
    assert (await made.json())["group"] == "陈家镇"
    again = await site.post("/api/v1/escalations", headers=office, json=press)
    assert again.status == 400 and "已在督办中" in await again.text()
    listed = await (await site.get("/api/v1/escalations", headers=office)).json()
    assert [e["object_id"] for e in listed["open"]] == [handoff.id]
