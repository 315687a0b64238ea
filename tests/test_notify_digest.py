"""The morning digest: at the policy's hour on working days only (China's holidays included), once a
day per group, carrying the digest-only kinds; and two sender processes draining one outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

from resettle.models import OutboxMessage
from resettle.rules import notify as rule
from services import notify
from services.audit import SHANGHAI
from services.work import Work
from tests.test_notify import ADMIN, CHENJIA, CHENQIAO, SITE_KEY, moved, robot  # noqa: F401
from tests.work import DAY, work

HOLIDAY = dt.date(2026, 6, 19)  # 端午节, a Friday


def at(day: dt.date, hour: int, minute: int = 0) -> Work:
    """A work on `day` at hour:minute in Shanghai, where the digest's time is meant."""
    moment = dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)
    return Work(ADMIN, work(ADMIN).policy, day, lambda: moment)


async def digests() -> dict[str, dict]:
    return {m.target: m.payload for m in await OutboxMessage.filter(kind="digest")}


async def test_a_digest_at_half_past_eight_on_a_working_day_once(moved):  # noqa: F811
    early = await notify.digest(at(DAY, 8, 29))
    assert early["sent"] == 0 and "08:30" in early["skipped"] and await digests() == {}
    result = await notify.digest(at(DAY, 8, 30))
    assert result["sent"] == 2 and not result["skipped"]
    found = await digests()
    assert found[CHENJIA]["items"] == [["逾期未办的对接单", moved]]  # the 2024 move-ins are long overdue
    assert found[CHENQIAO]["items"] == [["对方逾期未办的我方对接单", moved]]
    await notify.digest(at(DAY, 9))
    assert await OutboxMessage.filter(kind="digest").count() == 2  # once a day per group
    text = rule.render("digest", 1, found[CHENJIA], "https://x.gov.cn")
    assert f"逾期未办的对接单：**{moved}**" in text


async def test_no_digest_on_a_holiday_or_a_weekend_even_now(moved):  # noqa: F811
    for day in (HOLIDAY, dt.date(2026, 6, 20)):
        result = await notify.digest(at(day, 9), now=True)
        assert result["sent"] == 0 and result["skipped"] == "今天不是工作日，不发每日提醒"
    assert await digests() == {}
    # the day before the holiday: what falls due on the next working day (Monday) is "tomorrow"
    assert notify.next_working_day(at(DAY, 9), dt.date(2026, 6, 18)) == dt.date(2026, 6, 22)


async def test_digest_only_kinds_wait_for_the_digest(moved):  # noqa: F811
    w = at(DAY, 7)
    async with w.transaction():
        await notify.enqueue(w, notify.Group("township", CHENJIA), "handoff.overdue", {}, key="late-1", count=3)
    [m] = await OutboxMessage.filter(key="late-1")
    assert m.status == "digest"
    await notify.digest(at(DAY, 8, 45))
    assert ["对接单逾期", 3] in (await digests())[CHENJIA]["items"]
    assert (await OutboxMessage.get(key="late-1")).status == "digested"


async def test_two_sender_processes_post_each_message_once(moved, robot, tmp_path, db_url):  # noqa: F811
    """Two `resettle notify run --once` processes at the same moment against one outbox."""
    await notify.set_channel(at(DAY, 9), SITE_KEY, robot.url, township="陈家镇")
    await notify.set_channel(at(DAY, 9), SITE_KEY, robot.url, township="城桥镇")
    w = at(DAY, 9)
    async with w.transaction():
        for i in range(40):
            await notify.enqueue(w, notify.Group("township", CHENQIAO if i % 2 else CHENJIA), "project.returned",
                                 {"title": f"项目{i}", "reason": "补材料"}, key=f"p{i}")
    import base64
    env = {**os.environ, "RESETTLE_SECRET_KEY": base64.urlsafe_b64encode(SITE_KEY).decode(),
           "RESETTLE_BASE_URL": "https://resettle.example.gov.cn"}
    command = [sys.executable, "-c", "from cli.main import main; main()", "notify", "run", "--once", "--db", db_url]
    procs = [await asyncio.create_subprocess_exec(*command, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
                                                  stderr=asyncio.subprocess.PIPE) for _ in range(2)]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    import re
    assert sum(int(re.search(r"已发送 (\d+) 条", o[0].decode())[1]) for o in outputs) == 41
    contents = [p["markdown"]["content"] for p in robot.posted]
    assert len(contents) == len(set(contents)) == 41  # 40 returns and the hand-offs' message
    assert await OutboxMessage.filter(status="sent").count() == 41
