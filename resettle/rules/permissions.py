"""Who may do what: the role table. Scope (which township or community) is `resettle.rules.scope`,
judged on the stored rows; this table only says whether a role may act at all."""

from __future__ import annotations

from resettle.errors import DomainError

ROLES = {
    "admin": "系统管理员",
    "office": "区集中居住办",
    "township": "乡镇信息员",
    "desk": "三合署窗口",
    "department": "业务主管部门",
    "finance": "区财政局",
}
CARRIAGES = ("居委会", "业委会", "物业")

_EVERYONE = frozenset(ROLES)
ACTIONS: dict[str, frozenset[str]] = {
    "registry.stats": _EVERYONE,
    "registry.view": frozenset({"admin", "office", "township", "desk"}),
    "registry.record": frozenset({"admin", "office", "township"}),
    "registry.import": frozenset({"admin", "office", "township"}),
    "registry.change": frozenset({"admin", "office", "township"}),
    "registry.request": frozenset({"admin", "desk"}),
    "registry.decide": frozenset({"admin", "office", "township"}),
    "registry.full_id": frozenset({"admin", "office", "township"}),
    "audit.view": frozenset({"admin", "office"}),
    "ledger.view": frozenset({"admin", "office", "township", "desk"}),
    "ledger.handoff": frozenset({"admin", "office", "township"}),
    "ledger.edit": frozenset({"admin", "office", "township"}),
    "ledger.dashboard": frozenset({"admin", "office", "department", "finance"}),
    "desk.view": frozenset({"admin", "office", "township", "desk"}),
    "desk.work": frozenset({"admin", "desk"}),
    "funding.view": frozenset({"admin", "office", "township", "department", "finance"}),
    "funding.draft": frozenset({"admin", "township"}),
    "funding.verify": frozenset({"admin", "department"}),
    "funding.approve": frozenset({"admin", "finance"}),
    "users.manage": frozenset({"admin"}),
    "notify.manage": frozenset({"admin", "office"}),
    "tags.view": frozenset({"admin", "office", "township", "department", "desk"}),
    "tags.manage": frozenset({"admin", "office", "department"}),
    "tags.refresh": frozenset({"admin", "office"}),
    "groups.roster": frozenset({"admin", "office", "township", "desk"}),
}
ACTION_LABELS = {
    "registry.stats": "查看底数统计",
    "registry.view": "查看户籍信息",
    "registry.record": "登记分房、入住、退出",
    "registry.import": "导入签约交房表",
    "registry.change": "登记户内成员变动",
    "registry.request": "提交户内成员变动申请",
    "registry.decide": "确认或退回成员变动申请",
    "registry.full_id": "查看完整身份证号",
    "audit.view": "查看操作日志",
    "ledger.view": "查看民生保障事项台账",
    "ledger.handoff": "处理双向对接单",
    "ledger.edit": "变更事项台账",
    "ledger.dashboard": "查看事项对接总览",
    "desk.view": "查看三合署清单",
    "desk.work": "办理三合署接待与例会",
    "funding.view": "查看社区治理项目",
    "funding.draft": "申报社区治理项目",
    "funding.verify": "核定社区治理项目",
    "funding.approve": "审定社区治理项目",
    "users.manage": "管理账号",
    "notify.manage": "管理消息推送",
    "tags.view": "查看特殊群体标签",
    "tags.manage": "认定、续期、关闭特殊群体标签",
    "tags.refresh": "按年龄更新动态标签",
    "groups.roster": "导出一老一小一残名册",
}


class Forbidden(DomainError):
    """The role may not take this action at all (403); an object out of scope is NotFound."""


def allowed(role: str, action: str) -> bool:
    return role in ACTIONS[action]


def require(role: str, action: str) -> None:
    if not allowed(role, action):
        raise Forbidden(f"{ROLES.get(role, role)}无权{ACTION_LABELS[action]}")
