"""Contracts of the entitlement ledger's use cases (see services/contracts.py for the convention)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from services.contracts import ID, Contract, Flag, Query, Result, items, query_text, query_whole, text
from services.ledger import PAGE

ACTIONS = ("accept", "reject", "complete", "revoke")


class Steps(Contract):
    """对多张对接单做同一操作；每张各自成败。"""
    ids: items(ID, 1, 1000, title="对接单编号")
    action: text(16, *ACTIONS, title="操作")
    reason: text(2000, title="原因") = ""


class Handoffs(Query):
    township: query_text(description="乡镇名称；乡镇信息员只看本乡镇的") = None
    direction: query_text("incoming", "outgoing", "both") = "both"
    overdue: Flag = False
    all: Flag = Field(False, description="含已办结、已退回的")
    kind: query_text("transfer", "notice", description="转移或告知") = None
    status: query_text("sent", "accepted", "completed", "rejected", "revoked",
                       description="只看一种状态（给出时不看 all）") = None
    counterpart: query_text(max_length=64, description="只看与该乡镇之间的（名称或代码）") = None
    q: query_text(max_length=64, description="协议编号或户内人员姓名（部分即可）") = None
    limit: query_whole(1, 1000) = PAGE
    offset: query_whole(0, 999_999_999) = 0


# ---------------------------------------------------------------- results


class Handoff(Result):
    id: int
    kind: str
    status: str
    from_township: str
    to_township: str
    household: str
    due: str
    due_estimated: bool = Field(False, description="期限所在年份无节假日数据，按周末推算")
    overdue: bool


class HandoffPage(Result):
    total: int
    items: list[Handoff]


class HandoffStep(Result):
    step: str = Field(description="发出、接收、退回、办结、撤回")
    who: str = Field(description="操作人姓名及其乡镇或部门")
    when: str
    note: str = Field(description="退回或撤回的原因")


class HandoffDetail(Handoff):
    kind_label: str
    status_label: str
    sender: str
    sent_words: str
    accept_due: str
    complete_due: str
    reason: str
    community: str
    lines: list[dict[str, Any]] = Field(description="转移的事项，或告知的、仍由发出乡镇负责的事项")
    persons: list[dict[str, Any]] = Field(description="涉及人员（身份证号遮蔽）")
    steps: list[HandoffStep]
    chain: list[dict[str, Any]] = Field(description="重新发出的前后各单（无则为空）")
    actions: list[str] = Field(description="当前用户此刻可做的操作")
    may_resend: bool


class StepResult(Result):
    id: int
    ok: bool
    status: str | None = None
    message: str


class StepResults(Result):
    results: list[StepResult]


class PersonLedger(Result):
    person_id: int
    name: str
    id_number: str = Field(description="遮蔽的身份证号")
    household: str
    lines: list[dict[str, Any]]
