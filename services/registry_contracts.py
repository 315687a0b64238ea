"""Contracts of the registry's use cases (see services/contracts.py for the convention)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from services.contracts import Contract, Query, Result, Rows, query_text, query_whole, refuse
from services.registry import SEARCH_LIMIT

STEPS = ("handed_over", "allocated", "moved_in", "withdrawn", "hukou_moved")


def _typed(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int):
        refuse("loose", "应为字符串或整数")
    return str(value)


# A step is recorded from the same fields as the page's form: text the form helpers read
# (a version may come as "3" or 3), judged there with the page's messages.
_Loose = Annotated[str, BeforeValidator(_typed), WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}]})]


class Step(Contract):
    event: Annotated[_Loose, WithJsonSchema({"type": "string", "enum": list(STEPS)})]
    on: _Loose = Field(None, description="日期，默认今天")
    unit: _Loose = Field(None, description="房号")
    reason: _Loose = Field(None, description="退出原因")
    person: _Loose = Field(None, description="户籍迁入成员的身份证号")
    version: _Loose = Field(None, description="看到的版本号；他人已修改则拒绝")


class Stats(Query):
    by: query_text("township", "community") = "township"


class Search(Query):
    q: query_text() = ""
    limit: query_whole(1, 200) = SEARCH_LIMIT
    offset: query_whole(0, 999_999_999) = 0


# ---------------------------------------------------------------- results

class Recorded(Result):
    """一户走了一步（status、version），或一名成员户籍迁入（name、hukou_moved_on）。"""
    agreement_no: str
    status: str | None = None
    version: int | None = None
    name: str | None = None
    hukou_moved_on: str | None = None


class StatsRow(Result):
    """一个乡镇或一个安置社区的底数；最后一行为合计。"""
    township: str
    code: str | None = Field(None, description="乡镇代码（合计行为空）")
    community: str | None = None
    __pydantic_extra__: dict[str, int]


class Household(Result):
    agreement_no: str
    status: str
    status_label: str | None = None
    origin_township: str | None = None
    village: str | None = None
    group: str | None = None
    dest_township: str | None = None
    community: str | None = None
    unit: str | None = None
    version: int | None = None
    members: Rows
    events: Rows


class HouseholdPage(Result):
    total: int
    items: Rows


class Issue(Result):
    file: str
    row: int
    agreement_no: str
    column: str
    value: Any
    level: str
    message: str
    count: int = Field(1, description="此条问题涉及的行数（重复的警告只报一条）")


class ImportSummary(Result):
    outcome: Literal["imported", "partial", "rejected", "unchanged", "preview"]
    households_added: int
    households_updated: int
    households_unchanged: int
    persons_added: int
    persons_updated: int
    persons_unchanged: int
    error_rows: int
    warnings: int
    warning_rows: int | None = None
    rows_read: int | None = None
    new_communities: list[str]
    issues: list[Issue]


class MovesSummary(Result):
    """分房入住表的登记结果：与命令行 registry moves --format json 相同。"""
    outcome: Literal["imported", "partial", "rejected", "unchanged", "preview"]
    rows_read: int
    households_allocated: int
    households_moved_in: int
    persons_hukou_moved: int
    rows_unchanged: int = Field(description="表中已登记过（日期相同）的行")
    households_skipped: int
    error_rows: int
    warnings: int
    issues: list[Issue]
