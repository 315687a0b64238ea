"""Community-governance projects and district–township co-funding (沪崇府发〔2023〕69号): the project
state machine, qualification, and the split of an approved amount. Pure: no database. Money is
integer fen; ratios are integer basis points (1/10,000) so that no float decides a fen."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from resettle.errors import DomainError
from resettle.rules import permissions
from resettle.rules.workflow import Requirement, Table, Transition


class ProjectKind(enum.StrEnum):
    CONSTRUCTION = "construction"  # 一次性建设类
    OPERATION = "operation"  # 日常运营管理类
    CASE_BY_CASE = "case_by_case"  # 一事一议


KIND_LABELS = {ProjectKind.CONSTRUCTION: "一次性建设类", ProjectKind.OPERATION: "日常运营管理类",
               ProjectKind.CASE_BY_CASE: "一事一议"}


class ProjectStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"  # 核定 by the item's department
    APPROVED = "approved"  # 审定 by the finance bureau; shares frozen
    COMPLETED = "completed"  # 验收
    RETURNED = "returned"  # back to the township, with a reason
    REJECTED = "rejected"


STATUS_LABELS = {ProjectStatus.DRAFT: "草稿", ProjectStatus.SUBMITTED: "待核定", ProjectStatus.VERIFIED: "待审定",
                 ProjectStatus.APPROVED: "已审定", ProjectStatus.COMPLETED: "已验收",
                 ProjectStatus.RETURNED: "已退回", ProjectStatus.REJECTED: "未通过"}
EDITABLE = frozenset({ProjectStatus.DRAFT, ProjectStatus.RETURNED})
PROJECT_STEPS = {"submit": "提交", "verify": "核定", "approve": "审定", "complete": "验收", "return": "退回",
                 "reject": "不予通过"}


def _refused(status: str, step: str, facts: Mapping) -> str:
    return f"项目“{STATUS_LABELS[ProjectStatus(status)]}”，不能{PROJECT_STEPS.get(step, step)}"


def _forbid(status: str, row: Transition, role: str) -> None:
    """退回 and 不予通过 belong to whoever holds the project now: the verifying department, then finance."""
    if row.step in ("return", "reject"):
        holder = "核定部门" if row.who == "funding.verify" else "区财政局"
        raise permissions.Forbidden(f"项目“{STATUS_LABELS[ProjectStatus(status)]}”，只能由{holder}退回或不予通过")
    permissions.require(role, row.who)


def _sent_back(holds: ProjectStatus, who: str) -> tuple[Transition, ...]:
    reason = (Requirement("reason", "退回或不予通过须写明原因"),)
    return (Transition(holds, "return", ProjectStatus.RETURNED, who, reason),
            Transition(holds, "reject", ProjectStatus.REJECTED, who, reason))


PROJECT = Table(frozenset(ProjectStatus), (
    Transition(ProjectStatus.DRAFT, "submit", ProjectStatus.SUBMITTED, "funding.draft"),
    Transition(ProjectStatus.RETURNED, "submit", ProjectStatus.SUBMITTED, "funding.draft"),
    Transition(ProjectStatus.SUBMITTED, "verify", ProjectStatus.VERIFIED, "funding.verify"),
    *_sent_back(ProjectStatus.SUBMITTED, "funding.verify"),
    Transition(ProjectStatus.VERIFIED, "approve", ProjectStatus.APPROVED, "funding.approve"),
    *_sent_back(ProjectStatus.VERIFIED, "funding.approve"),
    Transition(ProjectStatus.APPROVED, "complete", ProjectStatus.COMPLETED, "funding.draft"),
), _refused, _forbid)


@dataclass(frozen=True)
class CatalogItem:
    code: str
    name: str
    kind: ProjectKind
    department: str
    cap_per_project: int | None = None  # fen
    cap_per_m2: int | None = None  # fen per square metre
    cap_per_household: int | None = None  # fen per moved-in household
    standard_per_household: int | None = None  # fen per moved-in household per year (daily operation)


@dataclass(frozen=True)
class Deliberation:
    """一事一议: the record of the body that deliberated (居民代表会议, 联席会议…)."""

    body: str
    held_on: dt.date | None
    attendance: int
    votes_for: int
    votes_against: int


@dataclass(frozen=True)
class Facts:
    """What qualification looks at, gathered by the service from the project and the registry."""

    kind: ProjectKind
    item_code: str
    item: CatalogItem | None
    year: int
    requested: int
    area_m2: int | None
    moved_in_households: int  # of the community, moved in by the end of the project year
    deliberation: Deliberation | None
    linked_problems: int
    duplicates: int  # other live projects of the same item, community and year


@dataclass(frozen=True)
class Qualification:
    qualifies: bool
    reasons: tuple[str, ...]  # why not, when it does not; otherwise what it met
    checks: tuple[tuple[bool, str], ...]  # every check, met or not


def yuan(fen: int) -> str:
    """12345 → '123.45元' (integer arithmetic: fen are never floats)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{part:02d}元"


def qualify(f: Facts) -> Qualification:
    checks: list[tuple[bool, str]] = []

    def check(ok: bool, met: str, failed: str) -> None:
        checks.append((ok, met if ok else failed))

    check(f.requested > 0, f"申请金额{yuan(f.requested)}", "申请金额应大于0")
    check(f.moved_in_households > 0, f"该安置社区至{f.year}年底已入住{f.moved_in_households}户",
          f"该社区至{f.year}年底没有已入住的户，不是有入住户的集中居住安置社区")
    if f.kind is ProjectKind.CASE_BY_CASE:
        d = f.deliberation
        if d is None or not d.body.strip() or d.held_on is None:
            checks.append((False, "一事一议须有议事记录：议事机构、日期、到会人数和表决票数"))
        else:
            valid = d.attendance > 0 and d.votes_for >= 0 and d.votes_against >= 0 \
                and d.votes_for + d.votes_against <= d.attendance
            check(valid, f"{d.held_on}{d.body}到会{d.attendance}人",
                  f"议事记录的票数不合理：到会{d.attendance}人，赞成{d.votes_for}票，反对{d.votes_against}票")
            if valid:
                check(d.votes_for * 2 > d.attendance, f"赞成{d.votes_for}票，超过到会人数的一半",
                      f"赞成{d.votes_for}票，未超过到会{d.attendance}人的一半")
            check(d.held_on.year <= f.year, f"议事日期{d.held_on}", f"议事日期{d.held_on}晚于项目年度{f.year}年")
        check(f.linked_problems > 0, f"关联三合署问题{f.linked_problems}个",
              "一事一议须关联至少一个三合署问题清单中的问题作为依据")
        return _done(checks)
    item = f.item
    if item is None:
        checks.append((False, f"项目目录中没有编号为“{f.item_code}”的项目"))
        return _done(checks)
    check(item.kind is f.kind, f"目录项目“{item.name}”属{KIND_LABELS[item.kind]}",
          f"目录项目“{item.name}”属{KIND_LABELS[item.kind]}，不是{KIND_LABELS[f.kind]}")
    if item.cap_per_project is not None:
        check(f.requested <= item.cap_per_project, f"不超过单个项目上限{yuan(item.cap_per_project)}",
              f"申请金额超过单个项目上限{yuan(item.cap_per_project)}")
    if item.cap_per_m2 is not None:
        if not f.area_m2:
            checks.append((False, "该目录项目按面积设上限，须填写建筑面积（平方米）"))
        else:
            cap = item.cap_per_m2 * f.area_m2
            check(f.requested <= cap, f"不超过每平方米{yuan(item.cap_per_m2)}×{f.area_m2}平方米={yuan(cap)}",
                  f"申请金额超过每平方米{yuan(item.cap_per_m2)}×{f.area_m2}平方米={yuan(cap)}")
    if item.cap_per_household is not None:
        cap = item.cap_per_household * f.moved_in_households
        check(f.requested <= cap, f"不超过每户{yuan(item.cap_per_household)}×{f.moved_in_households}户={yuan(cap)}",
              f"申请金额超过每户{yuan(item.cap_per_household)}×{f.moved_in_households}户={yuan(cap)}")
    if f.kind is ProjectKind.OPERATION:
        if item.standard_per_household is None:
            checks.append((False, f"目录项目“{item.name}”没有每户年度标准"))
        else:
            cap = item.standard_per_household * f.moved_in_households
            check(f.requested <= cap,
                  f"不超过年度标准每户{yuan(item.standard_per_household)}×已入住{f.moved_in_households}户={yuan(cap)}",
                  f"申请金额超过年度标准每户{yuan(item.standard_per_household)}×已入住{f.moved_in_households}户"
                  f"={yuan(cap)}")
    check(f.duplicates == 0, f"{f.year}年该社区没有重复申报“{item.name}”",
          f"{f.year}年该社区已申报过“{item.name}”，不能重复申报")
    return _done(checks)


def _done(checks: list[tuple[bool, str]]) -> Qualification:
    ok = all(passed for passed, _ in checks)
    reasons = tuple(text for passed, text in checks if passed is ok)
    return Qualification(ok, reasons, tuple(checks))


def split(approved: int, ratio_bp: int) -> tuple[int, int]:
    """(district share, township share): district = approved × ratio rounded half up to the fen,
    township = the rest, so the two always add up to the approved amount."""
    if approved < 0 or not 0 <= ratio_bp <= 10_000:
        raise DomainError("审定金额不能为负，区级比例应在0到100%之间")
    district = (approved * ratio_bp * 2 + 10_000) // 20_000
    return district, approved - district
