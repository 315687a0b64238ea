"""Contracts of governance projects' use cases (see services/contracts.py for the convention).
Amounts are integer fen both ways (12345 = 123.45元)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from resettle.rules.funding import ProjectKind, ProjectStatus
from services.contracts import (
    ID,
    VERSION,
    Contract,
    Query,
    Result,
    Rows,
    day,
    items,
    query_text,
    query_whole,
    text,
    whole,
)
from services.funding import MAX_FEN, QUEUE_PAGE

YEARS = (2000, 2100)  # a project year outside is a typing error (the services refuse it too)


def _fen(title: str, **documented: Any) -> Any:
    return whole(0, MAX_FEN, title=title, description=documented.pop("description", "单位：分"), **documented)


def _count(title: str) -> Any:
    return whole(0, 100_000, title=title)


class Deliberation(Contract):
    """一事一议的议事记录：赞成票须超过到会人数的一半"""
    body: text(64, title="议事机构")
    held_on: day(title="议事日期")
    attendance: _count("到会人数")
    votes_for: _count("赞成票数")
    votes_against: _count("反对票数")


class ProjectFields(Contract):
    """What a township writes about a project; every field may be left out of a change."""
    community: text(200, title="安置社区", description="安置社区名称、乡镇/名称或编号；乡镇信息员只能是本乡镇的") = None
    kind: text(16, *(k.value for k in ProjectKind), title="项目类别",
               description="construction 一次性建设类、operation 日常运营管理类、case_by_case 一事一议") = None
    item: text(16, title="目录项目编号", description="政策文件项目目录中的编号，如 YY01；一事一议不填") = None
    title: text(200, title="项目名称") = None
    year: whole(*YEARS, title="项目年度") = None
    requested: _fen("申请金额") = None
    description: text(5000, title="项目说明") = None
    area_m2: whole(1, 10**7 - 1) | None = Field(None, title="建筑面积",
                                                 description="平方米；按面积设上限的目录项目须填")
    department: text(64, title="核定部门", description="一事一议的核定部门（政策文件项目目录中的部门）") = None
    deliberation: Deliberation | None = Field(None, title="议事记录")
    problems: items(ID, 0, 100, title="三合署问题编号",
                    description="作为申报依据的本社区三合署问题（修改时为追加）") = None


class Draft(ProjectFields):
    community: text(200, title="安置社区", description="安置社区名称、乡镇/名称或编号；乡镇信息员只能是本乡镇的")
    kind: text(16, *(k.value for k in ProjectKind), title="项目类别",
               description="construction 一次性建设类、operation 日常运营管理类、case_by_case 一事一议")
    title: text(200, title="项目名称")
    year: whole(*YEARS, title="项目年度")
    requested: _fen("申请金额")


class Update(ProjectFields):
    version: VERSION


class Submit(Contract):
    version: VERSION = None


class Amount(Contract):
    amount: _fen("金额", description="核定金额不超过申请金额，审定金额不超过核定金额；单位：分")
    version: VERSION = None


class Reason(Contract):
    reason: text(500, title="原因")
    version: VERSION = None


class Completion(Contract):
    spent: _fen("实际支出", description="不超过审定金额；单位：分")
    on: day(title="验收日期", description="默认今天", nullable=True) = None
    version: VERSION = None


# ---------------------------------------------------------------- query strings

_YEAR = query_whole(*YEARS, description="项目年度，如 2026")


class Projects(Query):
    year: _YEAR = None
    status: query_text(*(s.value for s in ProjectStatus), unknown="status", description="只看这一状态") = None
    township: query_text(description="只看这个乡镇") = None
    limit: query_whole(1, 200) = 200
    offset: query_whole(0, 999_999_999) = 0


class Queue(Query):
    year: _YEAR = None
    limit: query_whole(1, 200) = QUEUE_PAGE
    offset: query_whole(0, 999_999_999) = 0


class OfYear(Query):
    year: query_whole(*YEARS, description="年度，默认今年") = None


# ---------------------------------------------------------------- results

class Project(Result):
    id: int
    township: str
    community: str
    kind: ProjectKind
    status: ProjectStatus
    requested: int | None = Field(description="单位：分")
    verified: int | None = Field(description="单位：分")
    approved: int | None = Field(description="单位：分")
    district_share: int | None = Field(description="单位：分")
    township_share: int | None = Field(description="单位：分")
    spent: int | None = Field(None, description="单位：分")
    ratio: float | None = Field(description="审定时确定的区级比例")
    version: int
    qualification: dict[str, Any] = Field(None, description="qualifies、reasons 与每项 checks")
    evidence: dict[str, Any] = None
    history: Rows = None


class ProjectPage(Result):
    total: int
    items: list[Project]


class Qualification(Result):
    qualifies: bool
    reasons: list[Any]
    checks: list[Any]


class Envelope(Result):
    year: int
    envelope: int
    committed: int
    remaining: int


class ReviewQueue(Result):
    status: str
    total: int
    items: list[Project]
    envelopes: list[Envelope]


class YearSummary(Envelope):
    rows: Rows
    total: dict[str, Any]
