"""The audit log read as people read it: one formatter for every history (a project's 经过, a
problem's 操作记录, a household's, and /audit).

Pure: the raw events (services/audit.py keeps them as logged, and the API serves them so) come in
with the names the database knows (who acted, the communities, villages, persons and problems the
changes point at); labels come from the rules and from the policy (townships, matters, catalog
items). What goes out is Chinese: field labels, 元 for fen, dates as dates, names for codes and
ids, never a Python value."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from resettle.policy import Policy
from resettle.rules.desk import (
    ACTION_STATUS_LABELS,
    CHANNEL_LABELS,
    DEMAND_LABELS,
    PROBLEM_LABELS,
    RATING_LABELS,
    ActionStatus,
    Channel,
    DemandStatus,
    ProblemStatus,
    Rating,
)
from resettle.rules.funding import KIND_LABELS, STATUS_LABELS, ProjectKind, ProjectStatus, yuan
from resettle.rules.household import STATUS_LABELS as HOUSEHOLD_LABELS
from resettle.rules.household import Status
from resettle.rules.household_changes import EVENT_LABELS, EventKind
from resettle.rules.ledger import HANDOFF_LABELS, ROUTING_LABELS, HandoffStatus, Routing
from resettle.rules.numbers import percent
from resettle.rules.permissions import ROLES

SHANGHAI = ZoneInfo("Asia/Shanghai")  # timestamps are stored in UTC and shown in Shanghai time
EMPTY = "（空）"
CLEARED = "（清空）"

# ---------------------------------------------------------------- who acted

# where an actor of the log came from: a user's login over the web, the API or the demo
# ("web:login"); the command line and the demo's made-up townships ("cli:root", "demo:新河镇")
CHANNELS = {"web": "网页", "api": "接口", "demo": "演示数据", "cli": "命令行", "system": "系统"}
USER_CHANNELS = ("web", "api", "demo")


@dataclass(frozen=True)
class Account:
    """What a history says of a user: the name, and the carriage, department or township acted for."""

    name: str
    role: str = ""
    township_code: str = ""  # for a liaison
    community: str = ""  # the community's name, for desk staff
    carriage: str = ""
    department: str = ""

    def acting_for(self, policy: Policy | None) -> str:
        if self.role == "desk":
            return f"{self.community}{self.carriage}" if self.carriage else self.community
        if self.role == "township":
            if policy is None or not self.township_code:
                return ROLES["township"]
            return _township(policy, self.township_code)
        if self.role == "department":
            return self.department or ROLES["department"]
        return self.department or ROLES.get(self.role, "")


def actor_name(actor: str, accounts: Mapping[str, Account], policy: Policy | None) -> str:
    """An actor of the log in words: 张三（居委会）, 李四（新河镇，接口）, root（命令行）."""
    channel, _, rest = actor.partition(":")
    if channel in USER_CHANNELS and rest in accounts:
        who = accounts[rest]
        extra = [w for w in (who.acting_for(policy), "接口" if channel == "api" else "") if w and w != who.name]
        return f"{who.name}（{'，'.join(extra)}）" if extra else who.name
    if channel in CHANNELS and rest:
        return f"{rest}（{CHANNELS[channel]}）"
    return actor


# ---------------------------------------------------------------- what was done

ACTIONS = {
    "registry.import": "导入签约交房表", "registry.handed_over": "登记交房", "registry.allocated": "登记分房",
    "registry.moved_in": "登记入住", "registry.withdrawn": "登记退出", "registry.hukou_moved": "登记户籍迁入",
    "registry.reveal_ids": "查看完整身份证号",
    "ledger.open": "建立事项", "ledger.close": "事项办结", "ledger.transfer": "事项转移",
    "ledger.routing": "调整事项去向", "ledger.tags": "修改特殊群体", "ledger.send": "发出对接",
    "ledger.accept": "接收对接", "ledger.reject": "退回对接", "ledger.complete": "办结对接",
    "ledger.revoke": "撤回对接", "ledger.resend": "重新发出对接",
    "desk.intake": "受理需求", "desk.link": "需求转为问题", "desk.answered": "当场答复",
    "desk.declined": "不予受理", "desk.problem": "立项", "desk.edit": "修改", "desk.status": "推进",
    "desk.plan": "例会安排实事", "desk.done": "实事全部完成", "desk.wait": "回访",
    "desk.happy": "进入幸福清单", "desk.reopen": "居民不满意，重新办理", "desk.action": "安排实事",
    "desk.complete": "完成实事", "desk.feedback": "居民评价", "desk.week": "记录统一接待和例会",
    "desk.reception": "设定接待时间", "desk.import": "导入三合署清单",
    "funding.draft": "起草", "funding.update": "修改", "funding.evidence": "关联三合署问题",
    "funding.submitted": "提交", "funding.verified": "核定", "funding.approved": "审定",
    "funding.returned": "退回", "funding.rejected": "不予通过", "funding.completed": "验收",
    "users.add": "新增账号", "users.passwd": "修改密码", "users.disable": "停用账号",
    "users.signout": "注销登录", "users.token": "生成接口令牌", "db.copy": "复制数据库",
    "notify.escalate": "督办",
    # households that change, the 分房/入住 sheet
    "registry.birth": "登记出生", "registry.death": "登记死亡", "registry.join": "登记迁入（婚入、回迁）",
    "registry.leave": "登记迁出", "registry.head": "户主变更", "registry.split": "分户",
    "registry.counts": "更新户内人数", "registry.request": "提交成员变动申请",
    "registry.request_confirm": "确认成员变动申请", "registry.request_refuse": "退回成员变动申请",
    "registry.moves": "导入分房入住表",
    # tags
    "tags.grant": "认定标签", "tags.renew": "续期标签", "tags.close": "关闭标签", "tags.import": "随签约表认定标签",
    "tags.cache": "更新特殊群体", "tags.refresh": "按年龄更新事项",
    # messages out
    "notify.channel_add": "设置群机器人", "notify.channel_set": "更换群机器人", "notify.channel_remove": "删除群机器人",
    "notify.retry": "重新发送消息", "notify.digest": "发出每日提醒", "notify.escalation_closed": "督办办结",
}
AREAS = {"registry": "登记", "ledger": "台账", "desk": "三合署", "funding": "项目", "users": "账号",
         "db": "数据库", "tags": "标签", "notify": "消息"}

OBJECTS = {"household": "户", "person": "人员", "village": "村", "community": "安置社区",
           "entitlement": "事项台账", "handoff": "对接", "handoffs": "对接批次", "demand": "需求",
           "problem": "问题", "action": "实事", "desk_week": "三合署周记录", "project": "项目",
           "user": "账号", "database": "数据库", "import": "导入", "change_request": "成员变动申请",
           "person_tag": "标签", "person_tags": "标签认定", "channel": "群机器人", "outbox": "消息",
           "digest": "每日提醒", "escalation": "督办", "ledger": "台账"}


def action_label(action: str) -> str:
    if action in ACTIONS:
        return ACTIONS[action]
    area, _, verb = action.partition(".")
    return f"{AREAS[area]}（{verb}）" if area in AREAS and verb.isascii() and verb.isidentifier() else action


# ---------------------------------------------------------------- what changed

LABELS = {
    # a household and its people
    "status": "状态", "origin_township": "迁出乡镇", "village_id": "村", "group": "村民小组",
    "dest_township": "迁入乡镇", "community_id": "安置社区", "unit": "房号", "signed_on": "签约日期",
    "handed_over_on": "交房日期", "allocated_on": "分房日期", "moved_in_on": "入住日期",
    "withdrawn_on": "退出日期", "withdrawn_reason": "退出原因", "members": "显示成员人数",
    "name": "姓名", "relation": "与户主关系", "phone": "联系电话", "hukou_township": "户籍地",
    "tags": "特殊群体", "hukou_moved_on": "户籍迁入日期",
    # an import
    "files": "文件", "rows_read": "读取行数", "duplicate_rows": "重复行", "households_added": "新增户",
    "households_updated": "更新户", "households_unchanged": "未变户", "households_skipped": "跳过户",
    "persons_added": "新增人员", "persons_updated": "更新人员", "persons_unchanged": "未变人员",
    "lines_opened": "新建事项", "error_rows": "错误行", "warnings": "提醒", "warning_rows": "有提醒的行",
    "new_communities": "新建安置社区", "new_villages": "新建村", "file": "文件", "added": "新增",
    # the ledger
    "matter_code": "事项", "reason": "原因", "closed_on": "办结日期", "close_reason": "办结原因",
    "responsible_township": "负责乡镇", "routing": "去向", "resend_of": "重新发出自对接",
    "households": "户数", "transfers": "转移事项", "notices": "告知事项",
    # the desk
    "channel": "渠道", "category": "类别", "text": "内容", "person_id": "居民", "resident_name": "居民姓名",
    "contact": "联系电话", "entitlement_id": "关联事项", "received_on": "受理日期", "answer": "答复",
    "problem_id": "问题", "rating": "评价", "round": "回访轮次", "remark": "意见", "title": "标题",
    "description": "说明", "opened_on": "立项日期", "scheduled_on": "安排实事日期", "done_on": "实事完成日期",
    "happy_on": "进入幸福清单日期", "owner": "责任方", "due": "完成期限", "decided_on": "议定日期",
    "completed_on": "完成日期", "result": "办理结果", "reception_weekday": "接待日",
    "reception_start": "接待开始", "reception_end": "接待结束", "reception_attendance": "统一接待值班",
    "meeting_on": "例会日期", "meeting_attendance": "例会出席", "decisions": "例会决定",
    # a project
    "township_code": "乡镇", "kind": "项目类别", "item_code": "目录项目", "department": "部门",
    "year": "项目年度", "requested": "申请金额", "area_m2": "建筑面积", "deliberation": "议事记录",
    "submitted_on": "提交日期", "verified": "核定金额", "verified_on": "核定日期", "verified_by": "核定部门",
    "approved": "审定金额", "approved_on": "审定日期", "approved_by": "审定单位", "ratio_bp": "区级承担比例",
    "district_share": "区级承担", "township_share": "乡镇承担", "spent": "实际支出", "problems": "引用的三合署问题",
    # 督办
    "new_due": "新的办理期限", "note": "说明", "closed": "办结数",
    # households that change, tags, messages
    "event": "变动记录", "persons": "涉及成员", "on": "日期", "from": "分自", "member_count": "在户人数",
    "separated_count": "人户分离人数", "left_on": "离户日期", "left_kind": "离户原因", "tag": "标签",
    "valid_from": "有效期起", "valid_to": "有效期止", "granted_by": "认定人", "lines_closed": "关闭事项",
    "grants": "认定标签", "webhook": "群机器人", "detail": "内容", "requested_by": "申请人", "decided_by": "处理人",
    # an account, a database
    "role": "角色", "carriage": "三驾马车", "password_hash": "密码", "token_hash": "接口令牌",
    "active": "启用", "sessions": "登录会话", "source": "来源", "rows": "行数",
}
# the same field name meaning another thing on another object
TYPE_LABELS = {
    ("problem", "title"): "问题标题", ("problem", "description"): "问题说明", ("project", "title"): "项目名称",
    ("project", "description"): "项目说明", ("project", "department"): "核定部门", ("action", "text"): "实事内容",
    ("demand", "text"): "诉求内容", ("community", "name"): "名称", ("village", "name"): "名称",
    ("user", "name"): "姓名", ("action", "status"): "实事状态", ("channel", "group"): "群",
    ("change_request", "status"): "申请状态", ("change_request", "kind"): "变动类型",
}
# fields a history leaves out: the qualification is shown on its own
HIDDEN = {"qualification", "version"}
FEN = {"requested", "verified", "approved", "district_share", "township_share", "spent"}
TOWNSHIPS = {"origin_township", "dest_township", "hukou_township", "responsible_township", "township_code",
             "to_township", "from_township"}
DATES = {"signed_on", "handed_over_on", "allocated_on", "moved_in_on", "withdrawn_on", "hukou_moved_on",
         "closed_on", "received_on", "opened_on", "scheduled_on", "done_on", "happy_on", "due", "decided_on",
         "completed_on", "meeting_on", "submitted_on", "verified_on", "approved_on", "on", "left_on",
         "valid_from", "valid_to", "new_due", "renewed_on"}
STATUSES = {"household": (Status, HOUSEHOLD_LABELS), "project": (ProjectStatus, STATUS_LABELS),
            "problem": (ProblemStatus, PROBLEM_LABELS), "demand": (DemandStatus, DEMAND_LABELS),
            "action": (ActionStatus, ACTION_STATUS_LABELS), "handoff": (HandoffStatus, HANDOFF_LABELS)}
COUNTS = {"rows_read": "行", "duplicate_rows": "行", "households_added": "户", "households_updated": "户",
          "households_unchanged": "户", "households_skipped": "户", "persons_added": "人", "persons_updated": "人",
          "persons_unchanged": "人", "lines_opened": "条", "error_rows": "行", "warnings": "条", "warning_rows": "行",
          "added": "条", "households": "户", "transfers": "条", "notices": "条", "members": "人", "rows": "行",
          "sessions": "个", "member_count": "人", "separated_count": "人", "lines_closed": "条", "grants": "个",
          "closed": "件"}
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class Names:
    """The names the database knows for ids a history mentions, per kind; a missing one is said as
    编号N的… rather than guessed."""

    accounts: Mapping[str, Account] = field(default_factory=dict)
    communities: Mapping[int, str] = field(default_factory=dict)
    villages: Mapping[int, str] = field(default_factory=dict)
    persons: Mapping[int, str] = field(default_factory=dict)
    problems: Mapping[int, str] = field(default_factory=dict)


def on_day(value: object) -> str:
    """2026-12-03 → 2026年12月3日; anything else as given."""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def at_time(value: object) -> str:
    """A logged time as 2026年12月3日 14:05, in Shanghai time: one with an offset is converted, one
    without is taken as already in Shanghai time (services/audit.py gives them so)."""
    if isinstance(value, str) and len(value) > 19 and value[19:20] in "+-Z.":
        with contextlib.suppress(ValueError):
            value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(SHANGHAI)
        return f"{on_day(value.date())} {value:%H:%M}"
    text = str(value)
    return f"{on_day(text[:10])} {text[11:16]}".rstrip() if len(text) >= 10 else text


def _named(names: Mapping[int, str], value: object, what: str) -> str:
    try:
        key = int(str(value))
    except ValueError:
        return str(value)
    return names.get(key) or f"编号{key}的{what}"


def _township(policy: Policy, code: object) -> str:
    try:
        return policy.township(str(code)).name
    except KeyError:
        return f"代码{code}的乡镇"


def _enum(kind: tuple, value: object) -> str:
    enum, labels = kind
    try:
        return labels[enum(value)]
    except ValueError:
        return str(value)


def _deliberation(d: Mapping) -> str:
    held = on_day(d["held_on"]) if d.get("held_on") else "日期未填"
    return (f"{held} {d.get('body', '')}：到会{d.get('attendance')}人，"
            f"赞成{d.get('votes_for')}票，反对{d.get('votes_against')}票")


def _attendance(value: Mapping) -> str:
    return "；".join(f"{unit}：{'、'.join(str(n) for n in people)}" for unit, people in value.items()
                    if isinstance(people, list | tuple)) or EMPTY


def value_text(object_type: str, key: str, value: object, *, policy: Policy, names: Names) -> str:
    """One logged value in words; "" for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if value == "***":  # a secret the log keeps only as changed
        return "（已更改）"
    if isinstance(value, bool):
        return "是" if value else "否"
    number = isinstance(value, int) and not isinstance(value, bool)
    if key in FEN and number:
        return yuan(value)
    if key == "ratio_bp" and number:
        return percent(value / 10_000, places=2)
    if key in DATES:
        return on_day(value)
    if key in TOWNSHIPS:
        return _township(policy, value)
    if key == "status" and object_type in STATUSES:
        return _enum(STATUSES[object_type], value)
    if key == "kind" and object_type == "project":
        return _enum((ProjectKind, KIND_LABELS), value)
    if key == "channel":
        return _enum((Channel, CHANNEL_LABELS), value)
    if key == "rating":
        return _enum((Rating, RATING_LABELS), value)
    if key == "routing":
        return _enum((Routing, ROUTING_LABELS), value)
    if key == "role":
        return ROLES.get(str(value), str(value))
    if key == "matter_code":
        try:
            return policy.matter(str(value)).name
        except KeyError:
            return str(value)
    if key == "item_code":
        item = policy.funding.item(str(value))
        return f"{value} {item.name}" if item else str(value)
    if key == "community_id":
        return _named(names.communities, value, "安置社区")
    if key == "village_id":
        return _named(names.villages, value, "村")
    if key == "person_id":
        return _named(names.persons, value, "居民")
    if key == "problem_id":
        return f"问题{value} {names.problems[value]}" if value in names.problems else f"问题{value}"
    if key == "persons" and isinstance(value, list):
        return "、".join(_named(names.persons, v, "居民") for v in value)
    if key == "left_kind":
        return _enum((EventKind, EVENT_LABELS), value)
    if key == "event":
        return f"第{value}号变动"
    if key == "problems":
        return "、".join(f"问题{n}" for n in value) if isinstance(value, list) else str(value)
    if key == "resend_of":
        return f"第{value}号对接"
    if key == "entitlement_id":
        return f"第{value}号事项"
    if key == "deliberation" and isinstance(value, Mapping):
        return _deliberation(value)
    if key.endswith("_attendance") and isinstance(value, Mapping):
        return _attendance(value)
    if key == "reception_weekday" and isinstance(value, int) and 0 <= value < 7:
        return WEEKDAYS[value]
    if key == "round":
        return f"第{value}轮"
    if key == "area_m2":
        return f"{value} 平方米"
    if key == "year":
        return f"{value}年"
    if key in COUNTS and isinstance(value, int):
        return f"{value}{COUNTS[key]}"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{field_label(object_type, str(k))}："
                        f"{value_text(object_type, str(k), v, policy=policy, names=names) or EMPTY}"
                        for k, v in value.items())
    return str(value)


def field_label(object_type: str, key: str) -> str:
    return TYPE_LABELS.get((object_type, key)) or LABELS.get(key) or key.replace("_", " ")


def change_rows(object_type: str, changes: Mapping, *, policy: Policy, names: Names) -> list[tuple[str, str]]:
    """Each change as (字段, 前 → 后), just the value when there was none before; a change from
    nothing to nothing (a draft's unused field) is left out."""
    rows = []
    if not isinstance(changes, Mapping):
        return rows
    for key, pair in changes.items():
        if key in HIDDEN:
            continue
        if isinstance(pair, list | tuple) and list(pair) == ["***", "***"]:  # a secret: only that it changed
            rows.append((field_label(object_type, key), "已更改"))
            continue
        if isinstance(pair, list | tuple) and len(pair) == 2:
            before, after = (value_text(object_type, key, v, policy=policy, names=names) for v in pair)
        else:  # a summary value, as an import's totals
            before, after = "", value_text(object_type, key, pair, policy=policy, names=names)
        if not before and not after:
            continue
        rows.append((field_label(object_type, key), f"{before} → {after or CLEARED}" if before else after))
    return rows


def object_text(object_type: str, object_id: str, *, names: Names) -> str:
    """What an event was about: 户 A-001, 问题3 电梯坏了, 人员 张三."""
    what = OBJECTS.get(object_type, object_type)
    if object_type == "person":
        return f"人员 {_named(names.persons, object_id, '居民')}"
    if object_type == "problem" and object_id.isdigit() and int(object_id) in names.problems:
        return f"问题{object_id} {names.problems[int(object_id)]}"
    if object_type == "community" and object_id.isdigit():
        return _named(names.communities, object_id, "安置社区")
    if object_type == "village" and object_id.isdigit():
        return _named(names.villages, object_id, "村")
    if object_type == "household":
        return f"户 {object_id}"
    if object_type == "user":
        who = names.accounts.get(object_id)
        return f"账号 {who.name}（{object_id}）" if who else f"账号 {object_id}"
    if object_type in ("import", "handoffs", "database"):
        return f"{what} {on_day(object_id) if object_type == 'handoffs' else object_id}"
    return f"{what}{object_id}" if object_id.isdigit() else f"{what} {object_id}"


def history_rows(events: Iterable[Mapping], *, policy: Policy, names: Names) -> list[dict]:
    """Audit events ({at, actor, action, object_type, object_id, changes}, as services/audit.py
    returns them) as a page reads them: when, who by name and for whom, what in words, on what,
    and each change."""
    rows = []
    for e in events:
        object_type, object_id = str(e.get("object_type", "")), str(e.get("object_id", ""))
        # a service may have named the actor already (a project's history names them for the API)
        actor = e.get("actor_name") or actor_name(str(e["actor"]), names.accounts, policy)
        rows.append({"at": at_time(e["at"]), "actor": actor,
                     "action": action_label(str(e["action"])),
                     "object": object_text(object_type, object_id, names=names),
                     "changes": change_rows(object_type, e.get("changes") or {}, policy=policy, names=names)})
    return rows
