"""The one formatter of histories (resettle/history.py), table-tested without a database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.history import Account, Names, action_label, actor_name, at_time, history_rows, on_day, value_text
from resettle.policy import load_policy

POLICY = load_policy()
NAMES = Names(
    accounts={"wang": Account("王丽华", "office"), "li": Account("李明", "township", township_code="310151110"),
              "zhao": Account("赵敏", "desk", community="陈家新苑", carriage="居委会"),
              "qian": Account("钱进", "department", department="区民政局"),
              "fin": Account("区财政局", "finance"), "root": Account("管理员", "admin")},
    communities={7: "陈家新苑"}, villages={3: "瀛东村"}, persons={11: "张三"}, problems={5: "电梯坏了"})

# what a raw value of the log says, by object, field and value
VALUES = [
    ("project", "requested", 144001, "1,440.01元"),
    ("project", "ratio_bp", 6000, "60%"),
    ("project", "status", "verified", "待审定"),
    ("project", "kind", "operation", "日常运营管理类"),
    ("project", "problems", [1, 2], "问题1、问题2"),
    ("project", "year", 2026, "2026年"),
    ("household", "status", "moved_in", "已入住"),
    ("household", "moved_in_on", "2026-12-03", "2026年12月3日"),
    ("household", "community_id", 7, "陈家新苑"),
    ("household", "community_id", 99, "编号99的安置社区"),
    ("household", "village_id", 3, "瀛东村"),
    ("household", "dest_township", "310151110", "陈家镇"),
    ("community", "township_code", "310151116", "长兴镇"),
    ("community", "township_code", "999999999", "代码999999999的乡镇"),
    ("community", "township_code", "310151103", "新河镇"),
    ("person", "hukou_township", "310151103", "新河镇"),
    ("problem", "status", "open", "待商议"),
    ("problem", "round", 2, "第2轮"),
    ("demand", "status", "linked", "已转问题"),
    ("demand", "channel", "reception", "统一接待"),
    ("demand", "rating", "mostly", "基本满意"),
    ("demand", "person_id", 11, "张三"),
    ("demand", "problem_id", 5, "问题5 电梯坏了"),
    ("action", "status", "completed", "已完成"),
    ("handoff", "status", "rejected", "已退回"),
    ("entitlement", "routing", "STAYS", "人走事留"),
    ("entitlement", "matter_code", "JTJJ", "集体经济组织成员身份及收益分配"),
    ("desk_week", "meeting_attendance", {"居委会": ["张三", "李四"], "物业": ["王五"]},
     "居委会：张三、李四；物业：王五"),
    ("user", "role", "finance", "区财政局"),
    ("user", "active", False, "否"),
    ("user", "password_hash", "***", "（已更改）"),
    ("import", "households_added", 12, "12户"),
    ("import", "new_communities", ["陈家新苑", "瀛东新村"], "陈家新苑、瀛东新村"),
    ("household", "unit", None, ""),
    ("household", "unit", "", ""),
]


@pytest.mark.parametrize(("object_type", "key", "value", "said"), VALUES)
def test_a_value_in_words(object_type, key, value, said):
    assert value_text(object_type, key, value, policy=POLICY, names=NAMES) == said


@pytest.mark.parametrize(("actor", "said"), [
    ("web:wang", "王丽华（区集中居住办）"),
    ("api:wang", "王丽华（区集中居住办，接口）"),
    ("web:li", "李明（陈家镇）"),
    ("web:zhao", "赵敏（陈家新苑居委会）"),
    ("web:qian", "钱进（区民政局）"),
    ("web:fin", "区财政局"),  # not 区财政局（区财政局）
    ("demo:root", "管理员（系统管理员）"),
    ("cli:root", "root（命令行）"),
    ("system:migration-0010", "migration-0010（系统）"),
    ("demo:新河镇", "新河镇（演示数据）"),
    ("web:gone", "gone（网页）"),
    ("odd", "odd"),
])
def test_who_acted_in_words(actor, said):
    assert actor_name(actor, NAMES.accounts, POLICY) == said


def test_without_the_policy_a_liaison_acts_for_their_role():
    assert actor_name("web:li", NAMES.accounts, None) == "李明（乡镇信息员）"


@pytest.mark.parametrize(("action", "said"), [
    ("registry.handed_over", "登记交房"), ("funding.approved", "审定"), ("desk.status", "推进"),
    ("ledger.reject", "退回对接"), ("users.add", "新增账号"), ("registry.new_thing", "登记（new_thing）"),
    ("odd", "odd"),
])
def test_what_was_done_in_words(action, said):
    assert action_label(action) == said


def test_times_and_dates_read_as_dates():
    assert on_day("2026-01-05") == "2026年1月5日" and on_day(dt.date(2026, 12, 3)) == "2026年12月3日"
    assert at_time("2026-12-03 14:05:09") == "2026年12月3日 14:05"
    assert at_time(dt.datetime(2026, 12, 3, 9, 7)) == "2026年12月3日 09:07"
    # a UTC timestamp reads in Shanghai time
    assert at_time("2026-12-03T17:30:00.123456+00:00") == "2026年12月4日 01:30"
    assert at_time(dt.datetime(2026, 12, 3, 17, 30, tzinfo=dt.UTC)) == "2026年12月4日 01:30"
    assert on_day("not a date") == "not a date"


def test_a_history_reads_in_words():
    events = [
        {"at": "2026-12-01 09:00:00", "actor": "cli:root", "action": "registry.import", "object_type": "community",
         "object_id": "7", "changes": {"township_code": [None, "310151110"], "name": [None, "陈家新苑"]}},
        {"at": "2026-12-02 10:30:00", "actor": "web:li", "action": "registry.allocated", "object_type": "household",
         "object_id": "A-001", "changes": {"status": ["handed_over", "allocated"], "allocated_on": [None, "2026-12-02"],
                                          "unit": ["3号101", "3号102"], "withdrawn_reason": ["x", ""]}},
        {"at": "2026-12-03 11:00:00", "actor": "web:wang", "action": "funding.approved", "object_type": "project",
         "object_id": "4", "changes": {"approved": [None, 100000], "ratio_bp": [None, 6000],
                                       "qualification": [None, {"ok": True}], "version": [1, 2]}},
    ]
    rows = history_rows(events, policy=POLICY, names=NAMES)
    assert rows[0] == {"at": "2026年12月1日 09:00", "actor": "root（命令行）", "action": "导入签约交房表",
                       "object": "陈家新苑", "changes": [("乡镇", "陈家镇"), ("名称", "陈家新苑")]}
    assert rows[1]["actor"] == "李明（陈家镇）" and rows[1]["object"] == "户 A-001"
    assert rows[1]["changes"] == [("状态", "已交房 → 已分房"), ("分房日期", "2026年12月2日"),
                                  ("房号", "3号101 → 3号102"), ("退出原因", "x → （清空）")]
    assert rows[2]["changes"] == [("审定金额", "1,000.00元"), ("区级承担比例", "60%")]


def test_a_secret_is_said_to_have_changed():
    rows = history_rows([{"at": "2026-12-03 11:00:00", "actor": "cli:root", "action": "users.passwd",
                          "object_type": "user", "object_id": "wang", "changes": {"password_hash": ["***", "***"]}}],
                        policy=POLICY, names=NAMES)
    assert rows[0]["object"] == "账号 王丽华（wang）" and rows[0]["changes"] == [("密码", "已更改")]


def test_a_named_actor_is_kept():
    """A service that named the actor (a project's history, for its API) is not named again."""
    rows = history_rows([{"at": "2026-12-03 11:00", "actor": "web:x", "actor_name": "某人", "action": "funding.draft",
                          "object_type": "project", "object_id": "1", "changes": {}}], policy=POLICY, names=NAMES)
    assert rows[0]["actor"] == "某人"


RAW = ("None", "ratio_bp", "web:", "cli:", "{", "}", "'", "_on", "_id")
values = st.one_of(st.none(), st.integers(-10**9, 10**9), st.booleans(), st.sampled_from(
    ["", "2026-12-03", "310151110", "open", "moved_in", "***", "陈家"]), st.lists(st.integers(0, 99), max_size=3))


@given(st.sampled_from(["household", "project", "problem", "demand", "person", "community", "user"]),
       st.sampled_from(["status", "requested", "ratio_bp", "community_id", "person_id", "moved_in_on",
                        "origin_township", "tags", "round", "problems", "members"]),
       values, values)
def test_no_change_shows_a_raw_value(object_type, key, before, after):
    for label, text in history_rows([{"at": "2026-12-03 11:00:00", "actor": "web:wang", "action": "x.y",
                                      "object_type": object_type, "object_id": "1",
                                      "changes": {key: [before, after]}}], policy=POLICY, names=NAMES)[0]["changes"]:
        shown = f"{label}：{text}"
        assert not any(raw in shown for raw in RAW), shown



def _recorded_actions() -> set[str]:
    """Every action a service writes to the audit log, the f-string ones spelled out."""
    import re
    from pathlib import Path

    from resettle.rules.desk import DemandStatus
    from resettle.rules.funding import ProjectStatus
    from resettle.rules.household import Status
    from resettle.rules.household_changes import REQUEST_STEPS, EventKind
    from resettle.rules.ledger import HANDOFF_STEPS

    found = set()
    for source in Path(__file__).parents[1].joinpath("services").glob("*.py"):
        text = source.read_text(encoding="utf-8")
        found |= set(re.findall(r'audit\.record(?:_many)?\(\s*work,\s*"([a-z_]+\.[a-z_]+)"', text))
        found |= set(re.findall(r'action = "([a-z_]+\.[a-z_]+)"', text))
    spelled = {f"registry.{s.value}" for s in Status if s is not Status.SIGNED} | {
        f"registry.{k.value}" for k in EventKind} | {f"registry.request_{s}" for s in REQUEST_STEPS} | {
        f"desk.{s.value}" for s in DemandStatus if s not in (DemandStatus.RECEIVED, DemandStatus.LINKED)} | {
        f"funding.{s.value}" for s in ProjectStatus if s is not ProjectStatus.DRAFT} | {
        f"ledger.{s}" for s in HANDOFF_STEPS}
    return found | spelled


def test_every_action_the_services_record_has_words():
    actions = _recorded_actions()
    assert {"registry.moved_in", "tags.grant", "notify.escalate", "registry.split"} <= actions  # the scan works
    raw = sorted(a for a in actions if any("a" <= c <= "z" for c in action_label(a)))
    assert raw == []
