"""Contracts of the household-change use cases (see services/contracts.py for the convention)."""

from __future__ import annotations

from pydantic import Field

from resettle.rules.household_changes import DETAIL_MAX, REQUEST_STEPS, EventKind, RequestStatus
from services.contracts import ID, VERSION, Contract, Query, Result, Rows, day, items, query_text, text

KINDS = tuple(k.value for k in EventKind)


class Change(Contract):
    """一项户内成员变动。各类变动所需字段：出生 birth（name、id_number、relation）；死亡 death
    （person，户主死亡时另填 head）；迁入 join（name、id_number、relation，可填 hukou_township）；
    迁出 leave（person，可填 to_township 与 hukou_moves，户主迁出时另填 head）；户主变更 head
    （person 为新户主，old_relation 为原户主的新关系）；分户 split（persons、head，已分房的户须填 unit）。"""
    kind: text(8, *KINDS, title="变动类型")
    on: day(title="日期", description="不早于签约日期，不晚于今天")
    name: text(64, title="姓名") = ""
    id_number: text(18, title="公民身份号码") = ""
    relation: text(16, title="与户主关系") = ""
    phone: text(32, title="联系电话") = ""
    tags: text(200, title="特殊群体标签") = ""
    hukou_township: text(32, title="户籍所在乡镇", description="迁入成员的户籍乡镇；默认与户主相同") = ""
    person: ID | None = Field(None, title="成员编号")
    head: ID | None = Field(None, title="新户主的成员编号")
    old_relation: text(16, title="原户主的新关系") = ""
    to_township: text(32, title="迁往乡镇", description="区内乡镇；留空为迁出本区") = ""
    hukou_moves: bool = Field(False, title="户籍随迁")
    persons: items(ID, 0, 50, title="分出的成员编号") = []
    unit: text(64, title="新户房号") = ""
    note: text(DETAIL_MAX, title="说明") = ""
    version: VERSION | None = None


class Decision(Contract):
    step: text(8, *REQUEST_STEPS, title="操作")
    reason: text(DETAIL_MAX, title="退回原因") = ""
    version: VERSION | None = None


class Requests(Query):
    status: query_text(*(s.value for s in RequestStatus)) = RequestStatus.REQUESTED.value


# ---------------------------------------------------------------- results


class Event(Result):
    """登记的一项变动。"""
    id: int
    agreement_no: str
    kind: str
    kind_label: str
    on: str
    persons: list[int]
    detail: dict
    version: int | None = Field(None, description="该户的新版本号")
    new_agreement_no: str | None = Field(None, description="分户所建新户的协议编号")


class History(Result):
    agreement_no: str
    members: Rows
    events: Rows
    requests: Rows


class Request(Result):
    id: int
    agreement_no: str
    community: str
    kind: str
    kind_label: str
    on: str
    status: str
    status_label: str
    detail: dict
    requested_by: str
    decided_by: str
    decided_on: str | None = None
    reason: str
    event_id: int | None = None
    version: int
    steps: list[str]


class RequestList(Result):
    total: int
    items: list[Request]
