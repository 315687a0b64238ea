"""Policy data: loaded from TOML (RESETTLE_POLICY, default the Chongming example) and validated."""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

from resettle.errors import DomainError
from resettle.rules.calendar import WorkCalendar, YearOverride
from resettle.rules.desk import valid_slot
from resettle.rules.funding import CatalogItem, ProjectKind
from resettle.rules.ledger import Matter, Routing
from resettle.rules.notify import KINDS as MESSAGE_KINDS
from resettle.rules.tags import AGE_RULES, TagDef, TagKind
from resettle.rules.township import township_key

ROLES = {"out", "in"}


class PolicyError(DomainError):
    pass


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    roles: frozenset[str]


@dataclass(frozen=True)
class DeskPolicy:
    """三合署: the weekly reception slot unless a community sets its own, demand categories,
    the township departments an action can be given to, and the happiness threshold."""

    categories: tuple[str, ...] = ("物业维修", "环境卫生", "停车", "安全", "养老服务", "事项对接",
                                   "邻里纠纷", "设施配套", "其他")
    departments: tuple[str, ...] = ()
    happy_percent: int = 80
    reception_weekday: int = 3  # ISO weekday, 3 = Wednesday
    reception_start: str = "09:00"
    reception_end: str = "11:30"
    matter_category: str = "事项对接"  # demands of this category link to a resident's ledger


@dataclass(frozen=True)
class NotifyPolicy:
    """The morning digest: its time (Shanghai, working days only) and the message kinds that wait
    for it instead of going out one by one."""

    digest_at: dt.time = dt.time(8, 30)
    digest_only: frozenset[str] = frozenset({"handoff.due", "handoff.overdue", "action.due"})


@dataclass(frozen=True)
class FundingPolicy:
    """The project catalog, the district's ratio by kind (and township tier), the yearly envelope.
    Amounts in fen; ratios in basis points."""

    items: tuple[CatalogItem, ...] = ()
    ratios: dict = field(default_factory=dict)  # {ProjectKind: {tier or "default": basis points}}
    tiers: dict = field(default_factory=dict)  # {township code: tier}
    envelopes: dict = field(default_factory=dict)  # {year or "default": fen}

    @functools.cached_property
    def departments(self) -> tuple[str, ...]:
        """The departments that verify catalog items: those a 一事一议 project may go to."""
        return tuple(sorted({i.department for i in self.items}))

    def item(self, code: str) -> CatalogItem | None:
        return next((i for i in self.items if i.code == code), None)

    def ratio(self, kind: ProjectKind, township_code: str) -> int:
        by_tier = self.ratios[kind]
        return by_tier.get(self.tiers.get(township_code, "default"), by_tier["default"])

    def envelope(self, year: int) -> int:
        if year in self.envelopes:
            return self.envelopes[year]
        if "default" in self.envelopes:
            return self.envelopes["default"]
        raise DomainError(f"政策文件没有{year}年的区级资金总额（[funding.envelope_yuan]）")


@dataclass(frozen=True)
class Policy:
    name: str
    source: str
    townships: tuple[Township, ...]
    tags: frozenset[str]  # every name of the tag dictionary (what a sheet may carry unwarned)
    relations: frozenset[str]
    matters: tuple[Matter, ...] = ()
    tag_dictionary: tuple[TagDef, ...] = ()
    tag_due_days: int = 30  # a basic tag this close to its end is due for review
    notice_days: tuple[int, int] = (5, 20)  # a notice's (accept, complete) working days
    desk: DeskPolicy = field(default_factory=lambda: DeskPolicy())
    funding: FundingPolicy = field(default_factory=lambda: FundingPolicy())
    notify: NotifyPolicy = field(default_factory=lambda: NotifyPolicy())
    calendar: WorkCalendar = field(default_factory=WorkCalendar.build)  # every working-day deadline

    @functools.cached_property
    def _matters(self) -> dict[str, Matter]:
        return {m.code: m for m in self.matters}

    def matter(self, code: str) -> Matter:
        return self._matters[code]

    @functools.cached_property
    def _tags(self) -> dict[str, TagDef]:
        return {t.name: t for t in self.tag_dictionary}

    def tag(self, name: str) -> TagDef | None:
        return self._tags.get(name)

    @functools.cached_property
    def basic_tags(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tag_dictionary if t.kind is TagKind.BASIC)

    @functools.cached_property
    def dynamic_tags(self) -> frozenset[str]:
        return frozenset(t.name for t in self.tag_dictionary if t.kind is TagKind.DYNAMIC)

    def tags_owned(self, department: str) -> tuple[str, ...]:
        """The basic tags a department grants and reviews."""
        return tuple(t.name for t in self.tag_dictionary if t.kind is TagKind.BASIC and t.owner == department)

    @functools.cached_property
    def _by_key(self) -> dict[str, Township]:
        return {township_key(t.name): t for t in self.townships}

    @functools.cached_property
    def _by_code(self) -> dict[str, Township]:
        return {t.code: t for t in self.townships}

    def match_township(self, text: str) -> Township | None:
        """The township a sheet means by `text` (name with/without 镇/乡, or its code)."""
        return self._by_code.get(text.strip()) or self._by_key.get(township_key(text))

    def township(self, code: str) -> Township:
        return self._by_code[code]


def default_policy_path() -> str:
    return os.environ.get("RESETTLE_POLICY") or str(
        resources.files("fixtures").joinpath("policy.toml")
    )


def load_policy(path: str | None = None) -> Policy:
    return _load(path or default_policy_path())


@functools.lru_cache(maxsize=8)
def _load(path: str) -> Policy:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"找不到政策文件 {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"政策文件 {path} 格式错误：{exc}") from None
    return _validate(data, path)


def _validate(data: dict, path: str) -> Policy:
    def fail(message: str) -> PolicyError:
        return PolicyError(f"政策文件 {path}：{message}")

    rows = data.get("townships")
    if not isinstance(rows, list) or not rows:
        raise fail("缺少 [[townships]] 乡镇列表")
    townships = []
    seen_codes: set[str] = set()
    seen_keys: set[str] = set()
    for i, row in enumerate(rows, 1):
        code, name = str(row.get("code", "")), str(row.get("name", "")).strip()
        if not re.fullmatch(r"\d{9}", code):
            raise fail(f"第{i}个乡镇的代码“{code}”应为9位数字")
        if not name:
            raise fail(f"第{i}个乡镇缺少名称")
        roles = row.get("roles", [])
        if not isinstance(roles, list) or not set(roles) <= ROLES:
            raise fail(f"乡镇{name}的 roles 只能包含 out、in")
        if code in seen_codes or township_key(name) in seen_keys:
            raise fail(f"乡镇{name}（{code}）重复")
        seen_codes.add(code)
        seen_keys.add(township_key(name))
        townships.append(Township(code, name, frozenset(roles)))
    registry = data.get("registry", {})
    relations = registry.get("relations", [])
    if "户主" not in relations:
        raise fail("[registry] relations 必须包含“户主”")
    if "tags" in registry:
        raise fail("[registry] tags 已改为标签字典：请为每个标签写一节 [[tags]]（name、owner、kind、review_months）")
    dictionary = _tag_dictionary(data, fail)
    due_days = data.get("tag_review", {}).get("due_days", 30)
    if not isinstance(due_days, int) or isinstance(due_days, bool) or not 0 <= due_days <= 366:
        raise fail("[tag_review] due_days 应为 0 到 366 之间的整数（到期前多少天列入复核清单）")
    return Policy(
        name=str(data.get("policy", {}).get("name", path)),
        source=path,
        townships=tuple(townships),
        tags=frozenset(t.name for t in dictionary),
        relations=frozenset(relations),
        matters=_matters(data, fail),
        tag_dictionary=dictionary,
        tag_due_days=due_days,
        notice_days=(int(data.get("ledger", {}).get("accept_days", 5)),
                     int(data.get("ledger", {}).get("complete_days", 20))),
        desk=_desk(data.get("desk", {}), fail),
        funding=_funding(data.get("funding", {}), townships, fail),
        notify=_notify(data.get("notify", {}), fail),
        calendar=WorkCalendar.build(_calendar(data.get("calendar", {}), fail)),
    )


def _scaled(value: object, scale: int, what: str, fail) -> int:
    """A number from the file (元 or percent, possibly with decimals) as whole fen or basis points."""
    try:
        exact = Decimal(str(value)) * scale
    except InvalidOperation:
        raise fail(f"{what}“{value}”不是数字") from None
    if isinstance(value, bool) or exact < 0 or exact != exact.to_integral_value():
        raise fail(f"{what}“{value}”应为非负数，且最多精确到{'分' if scale == 100 else '0.01%'}")
    return int(exact)


def _funding(row: dict, townships: list[Township], fail) -> FundingPolicy:
    if not row:
        return FundingPolicy()
    items, seen = [], set()
    for i, item in enumerate(row.get("items", []), 1):
        code, name = str(item.get("code", "")).strip(), str(item.get("name", "")).strip()
        if not code or not name or code in seen:
            raise fail(f"第{i}个治理项目目录条目缺少 code、name，或 code 重复")
        seen.add(code)
        try:
            kind = ProjectKind(item.get("kind", ""))
        except ValueError:
            raise fail(f"目录项目{name}的 kind 只能是 construction 或 operation") from None
        if kind is ProjectKind.CASE_BY_CASE or not str(item.get("department", "")).strip():
            raise fail(f"目录项目{name}须写明 kind（construction/operation）和 department（核定部门）")
        money = {key: _scaled(item[f"{key}_yuan"], 100, f"目录项目{name}的 {key}_yuan", fail)
                 for key in ("cap_per_project", "cap_per_m2", "cap_per_household", "standard_per_household")
                 if f"{key}_yuan" in item}
        if kind is ProjectKind.OPERATION and "standard_per_household" not in money:
            raise fail(f"日常运营管理类目录项目{name}须有 standard_per_household_yuan（每户年度标准）")
        items.append(CatalogItem(code=code, name=name, kind=kind, department=str(item["department"]).strip(),
                                 **money))
    by_name = {township_key(t.name): t.code for t in townships}
    tiers = {}
    for tier, names in row.get("tiers", {}).items():
        for name in names:
            code = by_name.get(township_key(str(name)))
            if code is None:
                raise fail(f"[funding.tiers] {tier} 中的“{name}”不是政策文件中的乡镇")
            tiers[code] = tier
    ratios = {}
    for kind in ProjectKind:
        given = row.get("district_percent", {}).get(kind.value)
        if not isinstance(given, dict) or "default" not in given:
            raise fail(f"[funding.district_percent] 须为 {kind.value} 写明 default（区级承担的百分比）")
        ratios[kind] = {tier: _scaled(value, 100, f"{kind.value} 的区级比例", fail) for tier, value in given.items()}
        if any(bp > 10_000 for bp in ratios[kind].values()):
            raise fail(f"{kind.value} 的区级比例不能超过100%")
        unknown = set(ratios[kind]) - {"default", *tiers.values()}
        if unknown:
            raise fail(f"{kind.value} 的区级比例用到了未定义的档次：{'、'.join(sorted(unknown))}")
    envelopes = {}
    for year, value in row.get("envelope_yuan", {}).items():
        if year != "default" and not (year.isascii() and year.isdigit()):
            raise fail(f"[funding.envelope_yuan] 的键应为年份或 default，而不是“{year}”")
        envelopes[year if year == "default" else int(year)] = _scaled(value, 100, f"{year}年的区级资金总额", fail)
    return FundingPolicy(items=tuple(items), ratios=ratios, tiers=tiers, envelopes=envelopes)


def _calendar(row: dict, fail) -> dict[int, YearOverride]:
    """[calendar.years.YYYY]: holidays and workdays (TOML dates or "YYYY-MM-DD") that win over the
    chinese-calendar package for that year; complete = true when the file gives the whole year."""
    if not isinstance(row, dict) or not isinstance(row.get("years", {}), dict):
        raise fail("[calendar] 应为表，年份写在 [calendar.years.年份] 中")
    if set(row) - {"years"}:
        raise fail(f"[calendar] 只能包含 years，不认识：{'、'.join(sorted(set(row) - {'years'}))}")
    years = {}
    for key, given in row.get("years", {}).items():
        if not (key.isascii() and key.isdigit() and 1900 <= int(key) <= 2200) or not isinstance(given, dict):
            raise fail(f"[calendar.years] 的键应为1900到2200之间的年份，而不是“{key}”")
        year = int(key)
        unknown = set(given) - {"holidays", "workdays", "complete"}
        if unknown:
            raise fail(f"[calendar.years.{year}] 只能包含 holidays、workdays、complete，"
                       f"不认识：{'、'.join(sorted(unknown))}")
        complete = given.get("complete", False)
        if not isinstance(complete, bool):
            raise fail(f"[calendar.years.{year}] complete 应为 true 或 false")
        days = {}
        for name, label in (("holidays", "放假日"), ("workdays", "调休上班日")):
            values = given.get(name, [])
            if not isinstance(values, list) or len(values) > 366:
                raise fail(f"[calendar.years.{year}] {name} 应为不超过366个日期的列表")
            days[name] = frozenset(_calendar_day(v, year, label, fail) for v in values)
        both = days["holidays"] & days["workdays"]
        if both:
            listed = "、".join(sorted(d.isoformat() for d in both))
            raise fail(f"[calendar.years.{year}] {listed} 既是放假日又是调休上班日")
        years[year] = YearOverride(days["holidays"], days["workdays"], complete)
    return years


def _calendar_day(value: object, year: int, label: str, fail) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise fail(f"[calendar.years.{year}] 的{label}“{value}”不是 YYYY-MM-DD 日期") from None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise fail(f"[calendar.years.{year}] 的{label}“{value}”不是日期")
    if value.year != year:
        raise fail(f"[calendar.years.{year}] 的{label}{value.isoformat()}不在{year}年")
    return value


def _desk(row: dict, fail) -> DeskPolicy:
    default = DeskPolicy()
    categories = tuple(str(c).strip() for c in row.get("categories", default.categories))
    if not categories or not all(categories) or len(set(categories)) != len(categories):
        raise fail("[desk] categories 应为不重复、非空的需求类别列表")
    percent = row.get("happy_percent", default.happy_percent)
    if not isinstance(percent, int) or not 1 <= percent <= 100:
        raise fail("[desk] happy_percent 应为 1 到 100 之间的整数（满意加基本满意的百分比）")
    weekday = row.get("reception_weekday", default.reception_weekday)
    if not isinstance(weekday, int) or not 1 <= weekday <= 7:
        raise fail("[desk] reception_weekday 应为 1（周一）到 7（周日）")
    start = str(row.get("reception_start", default.reception_start))
    end = str(row.get("reception_end", default.reception_end))
    if not valid_slot(start, end):
        raise fail("[desk] reception_start / reception_end 应为 HH:MM，且开始早于结束")
    matter_category = str(row.get("matter_category", default.matter_category))
    if matter_category not in categories:
        raise fail(f"[desk] matter_category“{matter_category}”不在 categories 中")
    departments = tuple(str(d).strip() for d in row.get("departments", ()))
    if not all(departments):
        raise fail("[desk] departments 不能有空名称")
    return DeskPolicy(categories=categories, departments=departments, happy_percent=percent,
                      reception_weekday=weekday, reception_start=start, reception_end=end,
                      matter_category=matter_category)


def _notify(row: object, fail) -> NotifyPolicy:
    default = NotifyPolicy()
    if not isinstance(row, dict):
        raise fail("[notify] 应为一节设置")
    unknown = sorted(set(row) - {"digest_at", "digest_only"})
    if unknown:
        raise fail(f"[notify] 不认识的设置：{'、'.join(unknown)}")
    at = row.get("digest_at", default.digest_at.strftime("%H:%M"))
    match = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", at) if isinstance(at, str) else None
    if match is None:
        raise fail(f"[notify] digest_at“{at}”应为 HH:MM 格式的时刻（如 08:30）")
    kinds = row.get("digest_only", sorted(default.digest_only))
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise fail("[notify] digest_only 应为消息类型的列表")
    # the digest itself, and 督办 (told at once by design), cannot wait for the digest
    allowed_kinds = {k for k in MESSAGE_KINDS if k != "digest" and not k.startswith("escalation.")}
    bad = sorted(set(kinds) - allowed_kinds)
    if bad:
        raise fail(f"[notify] digest_only 中的消息类型“{'、'.join(bad)}”不存在或不能只在每日提醒中发送"
                   f"（可用：{'、'.join(sorted(allowed_kinds))}）")
    return NotifyPolicy(digest_at=dt.time(int(match[1]), int(match[2])), digest_only=frozenset(kinds))


def _matters(data: dict, fail) -> tuple[Matter, ...]:
    defaults = data.get("ledger", {})
    matters, seen = [], set()
    for i, row in enumerate(data.get("matters", []), 1):
        code, name = str(row.get("code", "")).strip(), str(row.get("name", "")).strip()
        if not code or not name:
            raise fail(f"第{i}个民生保障事项缺少 code 或 name")
        if code in seen:
            raise fail(f"民生保障事项代码 {code} 重复")
        seen.add(code)
        try:
            routing = Routing(row.get("routing", ""))
        except ValueError:
            raise fail(f"事项{name}的 routing 只能是 STAYS、FOLLOWS 或 HUKOU") from None
        tags = frozenset(row.get("tags", []))
        min_age = row.get("min_age")
        if not (row.get("all") or row.get("head") or tags or min_age is not None):
            raise fail(f"事项{name}须写明适用对象：all、head、tags 或 min_age")
        days = {}
        for key in ("accept_days", "complete_days"):
            value = row.get(key, defaults.get(key))
            if not isinstance(value, int) or value < 1:
                raise fail(f"事项{name}的 {key} 应为正整数（或在 [ledger] 中给出默认值）")
            days[key] = value
        matters.append(Matter(code=code, name=name, department=str(row.get("department", "")),
                              routing=routing, everyone=bool(row.get("all")), head_only=bool(row.get("head")),
                              tags=tags, min_age=min_age, **days))
    return tuple(matters)


def _tag_dictionary(data: dict, fail) -> tuple[TagDef, ...]:
    rows = data.get("tags", [])
    if not isinstance(rows, list):
        raise fail("tags 应为 [[tags]] 标签字典")
    found, seen = [], set()
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise fail(f"第{i}个标签应为一节 [[tags]]")
        name, owner = str(row.get("name", "")).strip(), str(row.get("owner", "")).strip()
        if not name or len(name) > 16 or any(c in name for c in "、,，;； \t"):
            raise fail(f"第{i}个标签的 name 应为1到16个字，且不含分隔符（、，；空格）")
        if name in seen:
            raise fail(f"标签“{name}”重复")
        seen.add(name)
        if not owner or len(owner) > 64:
            raise fail(f"标签“{name}”须写明 owner（负责认定和复核的部门，1到64个字）")
        try:
            kind = TagKind(row.get("kind", ""))
        except ValueError:
            raise fail(f"标签“{name}”的 kind 只能是 basic（基础标签）或 dynamic（动态标签）") from None
        months = row.get("review_months")
        if kind is TagKind.BASIC:
            if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 120:
                raise fail(f"基础标签“{name}”须有 review_months（复核周期，1到120个月）")
        else:
            if name not in AGE_RULES:
                raise fail(f"动态标签“{name}”没有计算规则，只能是：{'、'.join(AGE_RULES)}")
            if months is not None:
                raise fail(f"动态标签“{name}”由出生日期计算，不设 review_months")
        found.append(TagDef(name=name, owner=owner, kind=kind, review_months=months))
    known = {t.name for t in found}
    for matter in data.get("matters", []):
        unknown = set(matter.get("tags", [])) - known
        if unknown:
            raise fail(f"事项{matter.get('name', '')}用到了标签字典中没有的标签：{'、'.join(sorted(unknown))}")
    return tuple(found)
