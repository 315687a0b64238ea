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
    limit: query_whole(1, 1000) = PAGE
    offset: query_whole(0, 10**9) = 0


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
