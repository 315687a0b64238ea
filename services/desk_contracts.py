"""Contracts of the joint desk's use cases (see services/contracts.py for the convention)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from resettle.rules.desk import CHANNEL_LABELS, RATING_LABELS
from services.contracts import ID, VERSION, Contract, Query, Result, Rows, day, items, mapping, query_text, text
from services.desk import TEXT_MAX

_NAMES = mapping(text(64, title="单位"), items(text(64, title="姓名"), 0, 50), 20, description="{单位: [姓名, …]}")


class Intake(Contract):
    community: text(200, title="安置社区") = None
    channel: text(16, *(c.value for c in CHANNEL_LABELS), *CHANNEL_LABELS.values(), title="受理渠道")
    category: text(64, title="需求类别")
    text: text(TEXT_MAX, title="诉求内容")
    resident: text(64, title="居民", description="登记居民的人员编号或完整身份证号") = ""
    name: text(64, title="来访人姓名", description="非本社区登记居民时必填") = ""
    contact: text(64, title="联系电话", description="非本社区登记居民时必填") = ""
    unit: text(64, title="房号") = ""
    entitlement_id: ID | None = Field(None, title="事项台账编号", description="“事项对接”类需求关联的台账事项")
    received_on: day(title="受理日期", description="默认今天", nullable=True) = None


class Link(Contract):
    demand_ids: items(ID, 1, 200, title="需求编号")
    problem_id: ID | None = Field(None, title="问题编号", description="并入已有问题；省略则新立问题")
    title: text(200, title="问题标题", description="新立问题的标题；默认取第一条需求的内容") = ""
    description: text(TEXT_MAX, title="问题说明") = ""
    on: day(title="日期", nullable=True) = None


class Answer(Contract):
    text: text(TEXT_MAX, title="答复内容")
    version: VERSION = None


class Decline(Contract):
    reason: text(TEXT_MAX, title="不予受理的原因")
    version: VERSION = None


class Feedback(Contract):
    rating: text(16, *(r.value for r in RATING_LABELS), *RATING_LABELS.values(), title="满意度")
    remark: text(500, title="回访备注", description="不满意时必填原因") = ""
    on: day(title="回访日期", nullable=True) = None


class ProblemEdit(Contract):
    title: text(200, title="问题标题") = None
    description: text(TEXT_MAX, title="问题说明") = None
    version: VERSION


class ActionNew(Contract):
    owner: text(64, title="责任方", description="三驾马车之一或政策文件中的部门")
    text: text(500, title="实事内容")
    due: day(title="完成期限")
    decided_on: day(title="议定日期", nullable=True) = None
    version: VERSION = None


class ActionComplete(Contract):
    result: text(TEXT_MAX, title="办理结果")
    on: day(title="完成日期", nullable=True) = None
    version: VERSION = None


class Week(Contract):
    reception: _NAMES = Field(None, title="接待出席")
    meeting_on: day(title="例会日期", nullable=True) = None
    meeting: _NAMES = Field(None, title="例会出席")
    decisions: text(TEXT_MAX, title="例会决定") = ""
    version: VERSION = Field(description="读到的版本号，尚无记录时为 0；他人已先保存则拒绝（409）")


# ---------------------------------------------------------------- query strings

_COMMUNITY = query_text(description="安置社区名称、乡镇/名称或编号；窗口人员可省略（只能是本社区）")
_WEEK = query_text(description="ISO 周，如 2026-W47；默认本周", pattern=r"^\d{4}-W\d{2}$")
_MONTH = query_text(description="月份，如 2026-11", pattern=r"^\d{4}-\d{2}$")


class InCommunity(Query):
    community: _COMMUNITY = None


class Similar(InCommunity):
    category: query_text(description="需求类别") = ""
    text: query_text(description="诉求内容") = ""


class Residents(InCommunity):
    q: query_text(description="身份证号、姓名或房号") = ""


class OfWeek(InCommunity):
    week: _WEEK = None


class Span(OfWeek):
    """Week, month or year: one of the three."""
    month: _MONTH = None
    year: query_text(description="年份，如 2026", pattern=r"^\d{4}$") = None


class Summary(InCommunity):
    township: query_text(description="乡镇名称；省略则为本人范围") = None
    month: _MONTH = None


# ---------------------------------------------------------------- results

class Demand(Result):
    id: int
    status: str
    category: str
    channel: str
    problem: int | None
    text: str
    version: int | None = None


class Taken(Demand):
    similar: Rows


class Problem(Result):
    id: int
    status: str
    title: str
    demands: int
    households: int
    actions: int
    satisfaction: float | None
    version: int
    demand_items: Rows = []
    action_items: Rows = []
    reopenings: Rows = []


class SimilarProblem(Result):
    id: int
    title: str
    status: str


class Resident(Result):
    person_id: int
    name: str
    id_number: str = Field(description="遮蔽的身份证号")


class Verdict(Result):
    outcome: str
    status: str
    waiting: int


class Board(Result):
    week: str
    demands: Rows
    counts: dict[str, int]
    awaiting_feedback: Rows
    actions_due: Rows


class Agenda(Result):
    week: str
    version: int
    problems: Rows
    reopened: Rows
    overdue_actions: Rows
    new_demands: Rows


class WeekRecord(Result):
    week: str
    version: int


class Lists(Result):
    period: Any
    demands: Rows
    problems: Rows
    actions: Rows
    happy: Rows


class MonthSummary(Result):
    month: str
    rows: Rows
    total: dict[str, Any]
