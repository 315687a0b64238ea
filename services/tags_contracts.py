"""Contracts of the tag and group use cases (see services/contracts.py for the convention)."""

from __future__ import annotations

from pydantic import Field

from services.contracts import VERSION, Contract, Query, Result, day, query_text, query_whole, text
from services.groups import GROUPS
from services.tags import PAGE, REASON_MAX


class Grant(Contract):
    """认定一条基础标签。"""
    person: text(64, title="人员", description="人员编号或完整身份证号")
    tag: text(16, title="标签")
    valid_from: day(title="有效期起", description="默认今天", nullable=True) = None
    valid_to: day(title="有效期止", description="默认按字典中的复核周期", nullable=True) = None
    note: text(REASON_MAX, title="说明") = ""


class Renew(Contract):
    """复核后续期。"""
    valid_to: day(title="有效期止", description="默认按复核周期", nullable=True) = None
    version: VERSION = None


class Close(Contract):
    """关闭一条基础标签；只由它带来的事项一并关闭。"""
    reason: text(REASON_MAX, title="关闭原因")
    version: VERSION = None


class Review(Query):
    owner: query_text(description="负责部门；业务主管部门只看本部门的") = ""
    state: query_text("expired", "due") = ""
    limit: query_whole(1, 1000) = PAGE
    offset: query_whole(0, 999_999_999) = 0


class Groups(Query):
    by: query_text("township", "community") = "township"
    on: day(title="统计日", nullable=True) = None


class Roster(Query):
    group: query_text(*GROUPS)
    format: query_text("xlsx", "pdf")
    on: day(title="统计日", nullable=True) = None


class Refresh(Contract):
    """按年龄更新动态标签带来的事项（幂等：再运行一次不再变动）。"""
    on: day(title="日期", description="默认今天", nullable=True) = None


class OnDay(Query):
    on: day(title="日期", description="动态标签按这一天的年龄，默认今天", nullable=True) = None


# ---------------------------------------------------------------- results


class TagGrant(Result):
    id: int
    tag: str
    owner: str
    valid_from: str
    valid_to: str
    granted_by: str
    closed_on: str | None
    state: str
    version: int


class ReviewItem(TagGrant):
    name: str
    id_number: str = Field(description="遮蔽的身份证号")
    household: str
    community: str
    township: str
    gone: str | None = Field(description="本人已死亡、迁出或所在户已退出时的说明：该标签待关闭")


class ReviewPage(Result):
    owner: str
    total: int
    limit: int
    offset: int
    items: list[ReviewItem]


class PersonTags(Result):
    person_id: int
    name: str
    id_number: str
    household: str
    on: str
    dynamic: list[str]
    basic: list[TagGrant]
    grantable: list[str]


class Refreshed(Result):
    on: str
    persons_checked: int
    lines_opened: int
    lines_closed: int


class GroupCounts(Result):
    township: str
    community: str | None = None
    aged_60_plus: int
    aged_80_plus: int
    under_18: int
    disabled: int
    living_alone: int
