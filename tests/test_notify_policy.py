"""The digest's settings live in the policy's [notify]: its time and which kinds wait for it. A
deployment's override changes when the digest is due and what waits; a bad value is refused in
Chinese when the policy loads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from importlib import resources

import pytest

from resettle.models import OutboxMessage
from resettle.policy import NotifyPolicy, PolicyError, _validate, load_policy
from services import notify
from services.audit import SHANGHAI
from services.work import Work
from tests.test_notify import ADMIN, CHENJIA, moved  # noqa: F401
from tests.work import DAY


def fixture_data() -> dict:
    return tomllib.loads(resources.files("fixtures").joinpath("policy.toml").read_text(encoding="utf-8"))


def with_notify(**values) -> dict:
    data = fixture_data()
    data["notify"] = {**data.get("notify", {}), **values}
    return data


def at(hour: int, minute: int, policy) -> Work:
    moment = dt.datetime.combine(DAY, dt.time(hour, minute), SHANGHAI)
    return Work(ADMIN, policy, DAY, lambda: moment)


def test_the_fixture_policy_carries_the_digest_settings():
    n = load_policy().notify
    assert n.digest_at == dt.time(8, 30)
    assert n.digest_only == frozenset({"handoff.due", "handoff.overdue", "action.due"})
    assert fixture_data()["notify"]["digest_at"] == "08:30"
    # no [notify] at all: the same defaults
    data = fixture_data()
    del data["notify"]
    assert _validate(data, "x.toml").notify == NotifyPolicy()


def test_an_override_is_read():
    p = _validate(with_notify(digest_at="07:05", digest_only=["handoff.arrived"]), "x.toml")
    assert p.notify.digest_at == dt.time(7, 5) and p.notify.digest_only == frozenset({"handoff.arrived"})
    assert _validate(with_notify(digest_only=[]), "x.toml").notify.digest_only == frozenset()


@pytest.mark.parametrize(("values", "message"), [
    ({"digest_at": "8:30"}, "digest_at“8:30”应为 HH:MM"),
    ({"digest_at": "24:00"}, "应为 HH:MM"),
    ({"digest_at": "08:60"}, "应为 HH:MM"),
    ({"digest_at": 830}, "应为 HH:MM"),
    ({"digest_at": "08:30 "}, "应为 HH:MM"),
    ({"digest_only": "handoff.due"}, "digest_only 应为消息类型的列表"),
    ({"digest_only": [1]}, "digest_only 应为消息类型的列表"),
    ({"digest_only": ["handoff.lost"]}, "“handoff.lost”不存在"),
    ({"digest_only": ["escalation.handoff"]}, "不能只在每日提醒中发送"),
    ({"digest_only": ["digest"]}, "不能只在每日提醒中发送"),
    ({"digest_time": "08:30"}, "不认识的设置：digest_time"),
])
def test_bad_settings_are_refused_in_chinese(values, message):
    with pytest.raises(PolicyError, match=message) as caught:
        _validate(with_notify(**values), "x.toml")
    assert "政策文件 x.toml：[notify]" in caught.value.message


async def test_an_override_moves_the_digest_and_changes_what_waits(moved):  # noqa: F811
    base = load_policy()
    late = dataclasses.replace(base, notify=NotifyPolicy(digest_at=dt.time(10, 15),
                                                         digest_only=frozenset({"project.returned"})))
    # 09:00 is past the default 08:30 but before this policy's 10:15
    early = await notify.digest(at(9, 0, late))
    assert early["sent"] == 0 and "10:15" in early["skipped"]
    w = at(9, 5, late)
    async with w.transaction():
        group = notify.Group("township", CHENJIA)
        await notify.enqueue(w, group, "project.returned", {"title": "道路", "reason": "补"}, key="r1")
        await notify.enqueue(w, group, "handoff.overdue", {}, key="o1", count=2)
    assert (await OutboxMessage.get(key="r1")).status == "digest"  # waits under this policy
    assert (await OutboxMessage.get(key="o1")).status == "queued"  # goes at once under this policy
    result = await notify.digest(at(10, 15, late))
    assert result["sent"] >= 1 and not result["skipped"]
    [d] = await OutboxMessage.filter(kind="digest", target=CHENJIA)
    assert ["项目被退回", 1] in d.payload["items"]
    assert (await OutboxMessage.get(key="r1")).status == "digested"
    # under the default policy the same kinds do the opposite
    w = at(11, 0, base)
    async with w.transaction():
        await notify.enqueue(w, notify.Group("township", CHENJIA), "project.returned", {"title": "x"}, key="r2")
        await notify.enqueue(w, notify.Group("township", CHENJIA), "handoff.overdue", {}, key="o2")
    assert (await OutboxMessage.get(key="r2")).status == "queued"
    assert (await OutboxMessage.get(key="o2")).status == "digest"
