"""Contracts of the message use cases: the bell, the outbox's status, 督办 (see
services/contracts.py for the convention)."""

from __future__ import annotations

from pydantic import Field

from resettle.rules.notify import ESCALATE, MAX_NOTE
from services.contracts import ID, Contract, Result, day, items, text


class MarkRead(Contract):
    """把自己的通知标为已读：给出编号只标这些，不给则全部。"""
    ids: items(ID, 1, 200, title="通知编号", description="不给则全部标为已读") | None = None


class Escalate(Contract):
    """区集中居住办督办一件逾期（或等待审核）的对接单、实事或项目：责任方的群和账号立即收到。"""
    object_type: text(8, *ESCALATE, title="督办对象")
    object_id: ID
    note: text(MAX_NOTE, title="督办说明")
    new_due: day(title="新的办理期限", description="不早于今天")


# ---------------------------------------------------------------- results


class Notice(Result):
    id: int
    kind: str
    label: str
    text: str
    link: str
    at: str = Field(description="上海时间")
    read: bool


class Notices(Result):
    unread: int
    items: list[Notice]


class Marked(Result):
    marked: int


class GroupStatus(Result):
    scope: str
    target: str
    name: str
    webhook: str = Field(description="遮蔽的群机器人地址")
    queued: int
    digest: int
    sent: int
    failed: int
    unknown: int
    state: str
    last_error: str


class OutboxStatus(Result):
    groups: list[GroupStatus]
    total: dict[str, int]


class Escalated(Result):
    id: int
    object_type: str
    object_id: int
    what: str
    group: str
    note: str
    new_due: str


class OpenEscalation(Result):
    id: int
    object_type: str
    label: str
    object_id: int
    group: str
    note: str
    new_due: str
    opened_on: str
    late: bool


class Escalations(Result):
    open: list[OpenEscalation]
    per_township: list[dict[str, str | int]]
