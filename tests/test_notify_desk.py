"""Desks are told in their community's group: a problem reopened by residents at once; actions due
and overdue, and the agenda of the week's meeting on its morning, in the digest."""

from __future__ import annotations

import datetime as dt

from resettle.models import OutboxMessage
from resettle.rules import notify as rule
from services import desk, notify
from tests.test_desk import HEAD, OTHER, clerk, community, take  # noqa: F401
from tests.test_notify_digest import at
from tests.work import DAY


async def test_a_reopened_problem_tells_the_desk_and_the_meeting_morning_brings_the_agenda(clerk, community):  # noqa: F811
    first = await take(clerk, "3号楼电梯坏了")
    second = await take(clerk, "电梯又坏了", resident=OTHER)
    problem = await desk.link(clerk, [first["id"], second["id"]], title="3号楼电梯故障")
    problem = await desk.add_action(clerk, problem["id"], owner="物业", text="更换主板", due=DAY)
    await desk.complete_action(clerk, problem["action_items"][0]["id"], result="已更换")
    await desk.record_feedback(clerk, first["id"], "满意")
    await desk.record_feedback(clerk, second["id"], "不满意", "还是经常停，联系我13812345678")
    [m] = await OutboxMessage.filter(kind="problem.reopened")
    assert (m.scope, m.target) == ("community", str(community.id))
    text = rule.render(m.kind, m.count, m.payload, "https://x")
    assert "3号楼电梯故障" in text and "13812345678" not in text
    # the morning of the meeting (Wednesdays): the agenda
    result = await notify.digest(at(DAY, 8, 30))
    assert result["meetings"] == 1
    [agenda] = await OutboxMessage.filter(kind="meeting.agenda")
    assert agenda.target == str(community.id) and agenda.payload["reopened"] == 1
    assert "今天例会" in rule.render(agenda.kind, 1, agenda.payload, "https://x")
    # Thursday: Friday is 端午, so an action due on Monday is due "tomorrow"; no meeting, no agenda
    await desk.add_action(clerk, problem["id"], owner="物业", text="整机更换", due=dt.date(2026, 6, 22))
    await notify.digest(at(DAY + dt.timedelta(days=1), 8, 30))
    assert await OutboxMessage.filter(kind="meeting.agenda").count() == 1
    digest = await OutboxMessage.get(kind="digest", target=str(community.id), key__endswith="2026-06-18")
    assert ["明日到期的实事", 1] in digest.payload["items"]
