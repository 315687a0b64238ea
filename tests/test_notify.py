"""Messages out against a local HTTP server speaking the group robot's contract (errcode 0, 45009,
timeouts, 5xx): the outbox, the sender's claims, crashes, two senders, rollback, what messages say."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Channel, Handoff, Notice, OutboxMessage, User
from resettle.rules import notify as rule
from resettle.rules.household import Status
from services import accounts, ledger, notify, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, clock_on, work

ADMIN = Actor("test:admin", role="admin")
CHENJIA = "310151110"  # 陈家镇, where the households move in
CHENQIAO = "310151101"  # 城桥镇, where they come from
SITE_KEY = b"s" * 32
FULL_ID = re.compile(r"[0-9]{17}[0-9Xx]")
PHONE = re.compile(r"1[3-9][0-9]{9}")


class Robot:
    """The 企业微信 group robot: answers each POST from `script` ("ok", 45009, "slow" — longer than
    the sender's timeout —, 500), then "ok"; `posted` keeps the messages it accepted."""

    def __init__(self):
        self.script: list = []
        self.posted: list[dict] = []
        self.seen = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen += 1
        answer = self.script.pop(0) if self.script else "ok"
        if answer == "slow":
            await asyncio.sleep(1.0)
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        if answer == 500:
            return web.Response(status=502, text="bad gateway")
        if answer == rule.SLOW_DOWN:
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        assert body["msgtype"] == "markdown" and len(body["markdown"]["content"].encode()) <= rule.MAX_BYTES
        self.posted.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@pytest.fixture
async def robot():
    r = Robot()
    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", r.handle)
    server = TestServer(app)
    await server.start_server()
    r.url = str(server.make_url("/cgi-bin/webhook/send")) + "?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    yield r
    await server.close()


def at(minutes: float = 0):
    """A work on DAY, `minutes` after 10:00."""
    clock = clock_on(DAY)
    start = clock()
    w = work(ADMIN)
    return type(w)(w.actor, w.policy, w.today, lambda: start + dt.timedelta(minutes=minutes))


def sender(**kw) -> notify.Sender:
    return notify.Sender(SITE_KEY, "https://resettle.example.gov.cn", rate=10_000, timeout=0.3, **kw)


@pytest.fixture
async def moved(db, tmp_path):
    """Three households of 城桥镇 moving into 陈家镇, a liaison in each township, a robot for 陈家镇."""
    rows = [person(f"A-00{i}", f"户主{i}", make_id("19600101", i), "户主", phone=f"1381234567{i}",
                   handed="2024-01-02", tags="低保") for i in range(1, 4)]
    assert (await import_sheets(work(ADMIN), [write_csv(tmp_path / "f.csv", rows)])).outcome == "imported"
    await accounts.add_user(work(ADMIN), "cj", "陈家镇信息员", "township", "Secret-pass-1", township="陈家镇")
    await accounts.add_user(work(ADMIN), "cq", "城桥镇信息员", "township", "Secret-pass-1", township="城桥镇")
    for i in range(1, 4):
        await registry.record_step(work(ADMIN), f"A-00{i}", Status.ALLOCATED, dt.date(2024, 2, 1))
        await registry.record_step(work(ADMIN), f"A-00{i}", Status.MOVED_IN, dt.date(2024, 3, 1))
    return await Handoff.filter(to_township=CHENJIA).count()


async def test_a_burst_of_handoffs_is_one_message_per_township_with_its_count(moved):
    messages = await OutboxMessage.filter(kind="handoff.arrived")
    assert [(m.scope, m.target, m.count) for m in messages] == [("township", CHENJIA, moved)]
    assert moved >= 6  # three households, transfers and notices
    text = rule.render(messages[0].kind, messages[0].count, messages[0].payload, "https://x.gov.cn")
    assert f"收到 **{moved}** 条新的对接单" in text and "城桥镇" in text and "https://x.gov.cn/ledger/inbox" in text
    bell = await Notice.filter(user__login="cj")
    assert len(bell) == 1 and str(moved) in bell[0].text and bell[0].read_at is None
    assert not await Notice.filter(user__login="cq").exists()


async def test_an_event_that_rolls_back_sends_nothing(moved):
    before = await OutboxMessage.all().count()
    w = at()
    with pytest.raises(RuntimeError):
        async with w.transaction():
            await notify.enqueue(w, notify.Group("township", CHENQIAO), "handoff.rejected",
                                 {"to": "陈家镇", "reason": "材料不全"}, key="rolled-back")
            raise RuntimeError("the event fails after writing its message")
    assert await OutboxMessage.all().count() == before
    assert not await OutboxMessage.filter(key="rolled-back").exists()
    # and a rejection refused by the workflow (no reason) writes no message either
    handoff = await Handoff.filter(to_township=CHENJIA).first()
    cj = Actor("test:cj", role="township", township=CHENJIA)
    [result] = await ledger.act(work(cj), [handoff.id], "reject", reason="")
    assert not result["ok"] and not await OutboxMessage.filter(kind="handoff.rejected").exists()


async def test_the_same_key_is_one_message(moved):
    w = at()
    for _ in range(2):
        async with w.transaction():
            await notify.enqueue(w, notify.Group("township", CHENQIAO), "project.returned",
                                 {"title": "健身步道", "reason": "预算偏高"}, key="project:1:2:returned")
    assert await OutboxMessage.filter(key="project:1:2:returned").count() == 1


async def test_the_sender_posts_markdown_once_and_marks_it_sent(moved, robot):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    stats = await notify.run_once(at(1), sender())
    assert stats["sent"] == 1 and len(robot.posted) == 1
    content = robot.posted[0]["markdown"]["content"]
    assert content.startswith("### 新到对接单") and "https://resettle.example.gov.cn/ledger/inbox" in content
    [m] = await OutboxMessage.filter(kind="handoff.arrived")
    assert (m.status, m.attempts, m.sent_at is not None, m.body) == ("sent", 1, True, content)
    assert (await notify.run_once(at(2), sender()))["sent"] == 0 and len(robot.posted) == 1
    # hand-offs arriving after the claim start a new message
    handoff = await Handoff.filter(to_township=CHENJIA).first()
    async with at(3).transaction():
        await notify.handoffs_arrived(at(3), [(handoff.from_township, handoff.to_township)])
    assert await OutboxMessage.filter(kind="handoff.arrived", status="queued", count=1).count() == 1


async def test_a_rejection_tells_the_sender_township_the_reason_without_ids_or_phones(moved, robot, caplog):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="城桥镇")
    handoff = await Handoff.filter(to_township=CHENJIA, kind="transfer").first()
    cj = Actor("test:cj", role="township", township=CHENJIA)
    reason = f"身份证{make_id('19600101', 1)}与手机13812345671对不上"
    [result] = await ledger.act(work(cj), [handoff.id], "reject", reason=reason)
    assert result["ok"]
    caplog.set_level(logging.DEBUG)
    await notify.run_once(at(1), sender())
    [posted] = robot.posted
    content = posted["markdown"]["content"]
    assert content.startswith("### 对接单被退回") and "陈家镇" in content and "对不上" in content
    bodies = [m.body for m in await OutboxMessage.all()] + [n.text for n in await Notice.all()]
    for text in [content, *bodies, *(r.getMessage() for r in caplog.records)]:
        assert not FULL_ID.search(text) and not PHONE.search(text), text


async def test_45009_pauses_the_robot_and_the_message_goes_later_once(moved, robot):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    robot.script = [rule.SLOW_DOWN]
    stats = await notify.run_once(at(1), sender())
    assert stats["slowed"] == 1 and robot.posted == []
    [m] = await OutboxMessage.filter(kind="handoff.arrived")
    assert m.status == "queued" and m.attempts == 0 and "45009" in m.last_error
    assert (await notify.run_once(at(1.5), sender()))["sent"] == 0  # not before the minute is over
    assert (await notify.run_once(at(2.5), sender()))["sent"] == 1
    assert len(robot.posted) == 1 and not (await Channel.get()).failures


async def test_timeouts_and_5xx_back_off_then_deliver(moved, robot):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    robot.script = ["slow", 500]
    assert (await notify.run_once(at(1), sender()))["retry"] == 1
    m = await OutboxMessage.get(kind="handoff.arrived")
    assert m.status == "queued" and m.last_error == "超时" and m.next_attempt_at > at(1).now()
    assert (await notify.run_once(at(1.2), sender()))["retry"] == 0  # still backing off (30 s)
    assert (await notify.run_once(at(2), sender()))["retry"] == 1  # the 502
    m = await OutboxMessage.get(kind="handoff.arrived")
    assert m.last_error == "HTTP 502" and m.next_attempt_at >= at(3).now()  # 60 s after the second
    assert (await notify.run_once(at(4), sender()))["sent"] == 1
    assert (await OutboxMessage.get(kind="handoff.arrived")).attempts == 3


async def test_a_channel_that_keeps_failing_is_reported_not_retried_for_ever(moved, robot):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    robot.script = [500] * 50
    minute = 1
    for _ in range(rule.FAILING_AFTER):
        await notify.run_once(at(minute), sender())
        minute += 120  # past any backoff
    seen = robot.seen
    assert seen == rule.FAILING_AFTER
    await notify.run_once(at(minute + 600), sender())
    assert robot.seen == seen  # a failing channel is left alone
    report = await notify.status(at(minute))
    [group] = [g for g in report["groups"] if g["target"] == CHENJIA]
    assert group["failing"] and group["state"] == "发送失败" and group["last_error"] == "HTTP 502"
    assert group["queued"] == 1 and "693a" not in group["webhook"] and group["webhook"].endswith("5aaa")
    robot.script = []
    assert (await notify.retry(at(minute)))["channels"] == 1
    assert (await notify.run_once(at(minute + 1), sender()))["sent"] == 1


async def test_a_crash_after_posting_never_posts_it_again(moved, robot):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    with pytest.raises(notify.SenderCrash):
        await notify.run_once(at(1), sender(crash_after_post=True))
    assert len(robot.posted) == 1
    assert (await notify.run_once(at(2), sender()))["sent"] == 0  # still within the dead sender's lease
    stats = await notify.run_once(at(1 + rule.LEASE.total_seconds() / 60 + 1), sender())
    assert stats == {**stats, "unknown": 1, "sent": 0}
    assert len(robot.posted) == 1  # exactly one message in the group
    report = await notify.status(at(10))
    assert report["total"]["unknown"] == 1 and report["total"]["sent"] == 0


async def test_a_crash_before_posting_is_reported_and_sent_once_on_retry(moved, robot):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    with pytest.raises(notify.SenderCrash):
        await notify.run_once(at(1), sender(crash_before_post=True))
    await notify.run_once(at(5), sender())
    assert robot.posted == [] and (await OutboxMessage.get(kind="handoff.arrived")).status == "unknown"
    assert (await notify.retry(at(6)))["messages"] == 1
    await notify.run_once(at(7), sender())
    await notify.run_once(at(8), sender())
    assert len(robot.posted) == 1


async def test_two_senders_at_once_post_each_message_once(moved, robot):
    await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    await notify.set_channel(at(), SITE_KEY, robot.url, township="城桥镇")
    w = at()
    async with w.transaction():
        for i in range(30):
            await notify.enqueue(w, notify.Group("township", CHENQIAO if i % 2 else CHENJIA), "project.returned",
                                 {"title": f"项目{i}", "reason": "补材料"}, key=f"k{i}")
    results = await asyncio.gather(*(notify.run_once(at(1), sender()) for _ in range(2)))
    assert sum(r["sent"] for r in results) == 31
    titles = [p["markdown"]["content"] for p in robot.posted]
    assert len(titles) == len(set(titles)) == 31
    assert await OutboxMessage.filter(status="sent").count() == 31


async def test_webhooks_are_secret_masked_and_validated(moved, robot):
    shown = await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇")
    row = await Channel.get()
    assert "693a91f6" not in row.secret and "127.0.0.1" not in row.secret
    assert shown["webhook"] == row.hint and "693a91f6" not in row.hint
    [listed] = await notify.list_channels(at())
    assert listed["name"] == "陈家镇" and "693a91f6" not in str(listed)
    for bad in ("", "ftp://x/y", "https://", "https://a b/c", "https://x/" + "k" * 600):
        with pytest.raises(DomainError):
            await notify.set_channel(at(), SITE_KEY, bad, township="陈家镇")
    with pytest.raises(DomainError):
        await notify.set_channel(at(), SITE_KEY, robot.url, township="陈家镇", department="区民政局")
    with pytest.raises(DomainError):
        await notify.set_channel(at(), SITE_KEY, robot.url, township="火星镇")
    # another site key cannot read it: the channel is reported, nothing posted
    await notify.run_once(at(1), notify.Sender(b"o" * 32, "https://x", rate=10_000))
    assert robot.seen == 0 and (await Channel.get()).failing_since is not None
    await notify.remove_channel(at(), township="陈家镇")
    assert not await Channel.exists()


async def test_the_bell_marks_only_the_actors_own_notices_read(moved):
    cj_user = await User.get(login="cj")
    cj = Actor("web:cj", role="township", township=CHENJIA, user_id=cj_user.id)
    cq = Actor("web:cq", role="township", township=CHENQIAO, user_id=(await User.get(login="cq")).id)
    assert await notify.unread(work(cj)) == 1 and await notify.unread(work(cq)) == 0
    [n] = await notify.notices(work(cj))
    assert n["label"] == "新到对接单" and not n["read"]
    assert await notify.mark_read(work(cq), [n["id"]]) == 0
    assert await notify.mark_read(work(cj), [n["id"]]) == 1
    assert await notify.unread(work(cj)) == 0
