"""Use case: record 分房/入住 and 户籍迁入 in batches from the township's move sheet.

The signing import's discipline (sheet read through resettle.sheets with its bounds, header under
title rows, aliases, the row number Excel shows, a report per bad row, all-or-nothing unless
`skip_invalid`, idempotent, `dry_run`), but every step goes through the very use cases a single
`registry record` calls (services.registry.record_step / record_hukou_moved), so a sheet of 500
rows and 500 single records end in the same database, hand-offs included. Each household runs in
its own savepoint: with `skip_invalid` a household with any bad row is skipped whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from resettle.errors import DomainError
from resettle.models import Community, Household, Person
from resettle.rules import idnumber
from resettle.rules.dates import parse_date
from resettle.rules.household import STATUS_LABELS, Status, unit_key
from resettle.rules.permissions import require
from resettle.rules.signing_sheet import ERROR, NUMERIC_ID_MESSAGE, WARNING, Issue
from resettle.sheets import SheetSpec, cell_text, read_sheet_apart, xlsx_cell
from services import audit, registry, scope
from services.registry_import import Progress, SheetOutcome
from services.work import Work

MOVES_SHEET = SheetSpec({
    "agreement_no": ("协议编号", (), True),
    "community": ("安置社区", (), False),
    "unit": ("房号", (), False),
    "allocated_on": ("分房日期", (), False),
    "moved_in_on": ("入住日期", (), False),
    "id_number": ("公民身份号码", ("身份证号", "身份证号码"), False),
    "hukou_moved_on": ("户籍迁入日期", ("户口迁入日期",), False),
}, "协议编号、房号、分房日期、入住日期", frozenset({"community"}))
DATES = ("allocated_on", "moved_in_on", "hukou_moved_on")
HOUSEHOLD_FIELDS = ("community", "unit", "allocated_on", "moved_in_on")
STEP_OF = {"allocated_on": Status.ALLOCATED, "moved_in_on": Status.MOVED_IN}
MAX_ROWS = 200_000  # far above a township's batch; every row is a few queries


@dataclass
class MovesReport(SheetOutcome):
    files: list[str]
    outcome: str = "imported"  # imported | partial | rejected | unchanged | preview
    rows_read: int = 0
    households_allocated: int = 0
    households_moved_in: int = 0
    persons_hukou_moved: int = 0
    rows_unchanged: int = 0
    households_skipped: int = 0
    error_rows: int = 0
    warnings: int = 0
    issues: list[Issue] = field(default_factory=list)


@dataclass
class _Row:
    file: str
    line: int
    raw: dict
    cells: dict  # text, dates parsed, ID normalised
    steps: set[str] = field(default_factory=set)  # fields of this row that are new (not yet recorded)
    ok: bool = True  # its cells passed


@dataclass
class _Household:
    agreement_no: str
    rows: list[_Row] = field(default_factory=list)
    given: dict[str, tuple[object, _Row]] = field(default_factory=dict)  # field -> (value, first row)
    hukou: dict[str, tuple[dt.date, _Row]] = field(default_factory=dict)  # ID -> (date, first row)
    bad: bool = False


class _Rollback(Exception):
    """Raised at the end of a refused or previewed import to undo its writes."""


class _SkipHousehold(Exception):
    """Raised inside a household's savepoint to undo its steps."""


class _Issues:
    def __init__(self):
        self.issues: list[Issue] = []
        self.bad_rows: set[tuple[str, int]] = set()

    def add(self, row: _Row, key: str | None, level: str, message: str) -> None:
        self.issues.append(Issue(row.file, row.line, row.cells.get("agreement_no", ""),
                                 MOVES_SHEET.header_of(key) if key else "",
                                 cell_text(row.raw.get(key)) if key else "", level, message))
        if level == ERROR:
            self.bad_rows.add((row.file, row.line))


def _cells(raw: dict, typed: bool, today: dt.date, row: _Row, out: _Issues) -> bool:
    """The row's cells as text, dates parsed (not after today), the ID normalised and checked."""
    cells = row.cells
    cells.update({key: cell_text(value) for key, value in raw.items()})
    ok = True
    if not cells["agreement_no"]:
        out.add(row, "agreement_no", ERROR, "协议编号不能为空")
        ok = False
    elif len(cells["agreement_no"]) > registry.KEY_MAX:
        out.add(row, "agreement_no", ERROR, f"协议编号过长（最多{registry.KEY_MAX}个字）")
        ok = False
    for key in DATES:
        if not cells[key]:
            cells[key] = None
            continue
        try:
            cells[key] = parse_date(raw[key])
        except ValueError as exc:
            out.add(row, key, ERROR, str(exc))
            ok = False
            continue
        if cells[key] > today:
            out.add(row, key, ERROR, f"{MOVES_SHEET.header_of(key)}{cells[key]}晚于今天（{today}）")
            ok = False
    number = raw["id_number"]
    if typed and isinstance(number, int | float) and not isinstance(number, bool):
        out.add(row, "id_number", ERROR, NUMERIC_ID_MESSAGE)
        return False
    cells["id_number"] = idnumber.normalize(cells["id_number"])
    if cells["id_number"]:
        problem = idnumber.problem(cells["id_number"], today)
        if problem:
            out.add(row, "id_number", ERROR, problem)
            ok = False
    if cells["unit"]:
        try:
            cells["unit"] = unit_key(cells["unit"])
        except DomainError as exc:
            out.add(row, "unit", ERROR, exc.message)
            ok = False
    if ok and bool(cells["id_number"]) != bool(cells["hukou_moved_on"]):
        key = "hukou_moved_on" if cells["id_number"] else "id_number"
        out.add(row, key, ERROR, "户籍迁入须同时填写公民身份号码和户籍迁入日期")
        ok = False
    if ok and not any(cells[k] for k in ("unit", "allocated_on", "moved_in_on", "hukou_moved_on")):
        out.add(row, None, ERROR, "本行没有可登记的内容（房号、分房日期、入住日期或户籍迁入日期）")
        ok = False
    return ok


def _group(rows: list[_Row], out: _Issues) -> dict[str, _Household]:
    """Rows by household, in sheet order; a household's cells must agree across its rows."""
    households: dict[str, _Household] = {}
    for row in rows:
        if not row.cells["agreement_no"] or len(row.cells["agreement_no"]) > registry.KEY_MAX:
            continue  # named already; no household to skip
        h = households.setdefault(row.cells["agreement_no"], _Household(row.cells["agreement_no"]))
        h.rows.append(row)
        if not row.ok:
            continue
        for key in HOUSEHOLD_FIELDS:
            value = row.cells[key]
            if not value:
                continue
            first = h.given.setdefault(key, (value, row))
            if first[0] != value:
                out.add(row, key, ERROR, f"与第{first[1].line}行（{first[1].file}）的{MOVES_SHEET.header_of(key)}"
                                         f"“{cell_text(first[1].raw[key])}”不一致")
        number, on = row.cells["id_number"], row.cells["hukou_moved_on"]
        if number:
            first = h.hukou.setdefault(number, (on, row))
            if first[0] != on:
                out.add(row, "hukou_moved_on", ERROR, f"同一成员在第{first[1].line}行的户籍迁入日期为{first[0]}")
    return households


LOOKUP = 500  # keys per IN (...) lookup


class _Stored:
    """The sheet's households as stored and in the actor's scope (the filter a single record's
    lookup uses), their communities and the members the hukou rows name: a few queries in all."""

    def __init__(self):
        self.households: dict[str, Household] = {}
        self.communities: dict[int, tuple[str, str]] = {}
        self.people: dict[tuple[int, str], Person] = {}

    async def load(self, work: Work, households: dict[str, _Household]) -> None:
        keys = list(households)
        for start in range(0, len(keys), LOOKUP):
            found = await Household.filter(agreement_no__in=keys[start:start + LOOKUP]).filter(
                scope.households(work.actor))
            self.households.update({h.agreement_no: h for h in found})
        ids = list({h.community_id for h in self.households.values()})
        for c in await Community.filter(id__in=ids):
            self.communities[c.id] = (c.name, c.township_code)
        wanted = [(self.households[k].id, number) for k, h in households.items() if k in self.households
                  for number in h.hukou]
        for start in range(0, len(wanted), LOOKUP):
            chunk = wanted[start:start + LOOKUP]
            for p in await Person.filter(household_id__in={i for i, _ in chunk},
                                         id_number__in={n for _, n in chunk}):
                self.people[(p.household_id, p.id_number)] = p


async def _check_stored(work: Work, h: _Household, known: _Stored, out: _Issues) -> Household | None:
    """The stored household (scope judged on it), its community, and which steps are new; a
    step already recorded with the same date is unchanged, with another date an error."""
    stored = known.households.get(h.agreement_no)
    if stored is None:
        try:  # the single record's refusal, word for word (not found, or out of scope alike)
            await registry._find_household(work.actor, h.agreement_no)
            raise DomainError(f"找不到协议编号为“{h.agreement_no}”的户")  # only if it appeared meanwhile
        except DomainError as exc:
            for row in h.rows:  # every row of it is one that cannot be recorded
                out.add(row, "agreement_no", ERROR, exc.message)
        return None
    if "community" in h.given:
        text, row = h.given["community"]
        name, township = known.communities[stored.community_id]
        spelled = {name, f"{work.policy.township(township).name}/{name}"}
        if text not in spelled:
            out.add(row, "community", ERROR, f"该户登记的安置社区是“{name}”，与表中不一致")
    for key, step in STEP_OF.items():
        if key not in h.given:
            continue
        on, row = h.given[key]
        done = getattr(stored, key)
        if done is None:
            for r in h.rows:
                if r.cells[key]:
                    r.steps.add(key)
        elif done != on:
            out.add(row, key, ERROR, f"该户已于{done}{STATUS_LABELS[step].removeprefix('已')}，与表中的{on}不一致"
                                     "（如需更正，请逐户登记）")
    if "unit" in h.given:
        unit, row = h.given["unit"]
        if any("allocated_on" in r.steps for r in h.rows):
            for r in h.rows:
                if r.cells["unit"]:
                    r.steps.add("unit")
        elif stored.allocated_on is None:
            out.add(row, "unit", ERROR, "房号须与分房日期一起登记")
        elif stored.unit != unit:
            out.add(row, "unit", ERROR, f"该户已分房，房号为“{stored.unit or '未登记'}”，与表中不一致"
                                        "（如需更正，请逐户登记）")
    for number, (on, row) in h.hukou.items():
        person = known.people.get((stored.id, number))
        if person is None:
            out.add(row, "id_number", ERROR,
                    f"协议编号{stored.agreement_no}的户中没有身份证号为{idnumber.mask(number)}的成员")
        elif person.hukou_township == stored.dest_township and person.hukou_moved_on == on:
            continue
        else:
            for r in h.rows:
                if r.cells["id_number"] == number:
                    r.steps.add("hukou_moved_on")
    return stored


def _unit_taken_in_sheet(households: list[tuple[_Household, Household]], out: _Issues) -> None:
    """A unit given to two households of one community in the sheet: both named, both refused."""
    seen: dict[tuple[int, str], tuple[_Household, _Row]] = {}
    for h, stored in households:
        if "unit" not in h.given or "allocated_on" not in h.given:
            continue
        unit, row = h.given["unit"]
        other = seen.setdefault((stored.community_id, unit), (h, row))
        if other[0] is not h:
            message = (f"房号{unit}在表中同时分给了协议编号{other[0].agreement_no}（第{other[1].line}行）和"
                       f"协议编号{h.agreement_no}（第{row.line}行），同一套房同一时间只能分给一户")
            out.add(row, "unit", ERROR, message)
            out.add(other[1], "unit", ERROR, message)


async def _unit_taken_stored(h: _Household, stored: Household, out: _Issues) -> None:
    if "unit" not in h.given or not any("allocated_on" in r.steps for r in h.rows):
        return
    unit, row = h.given["unit"]
    refusal = await registry.unit_taken(stored.community_id, unit, stored.id)
    if refusal is not None:
        out.add(row, "unit", ERROR, f"协议编号{h.agreement_no}：{refusal.message}")


async def _apply(work: Work, h: _Household, stored: Household, report: MovesReport, out: _Issues) -> None:
    """The household's new steps, through the single-record use cases, in the state machine's
    order: allocation, move-in, then each member's hukou in sheet order."""
    counts = {"allocated_on": 0, "moved_in_on": 0, "hukou_moved_on": 0}
    try:
        async with work.transaction():
            for key, step in STEP_OF.items():
                if not any(key in r.steps for r in h.rows):
                    continue
                on, row = h.given[key]
                unit = h.given.get("unit", ("", None))[0] if step is Status.ALLOCATED else None
                if step is Status.ALLOCATED and not unit and not stored.unit:
                    out.add(row, "unit", WARNING, "未填写房号，分房时未登记房号")
                try:
                    await registry.record_step(work, h.agreement_no, step, on, unit=unit or None)
                except DomainError as exc:
                    out.add(row, key, ERROR, exc.message)
                    raise _SkipHousehold from None
                counts[key] += 1
            for number, (on, row) in h.hukou.items():
                if not any("hukou_moved_on" in r.steps and r.cells["id_number"] == number for r in h.rows):
                    continue
                try:
                    await registry.record_hukou_moved(work, h.agreement_no, number, on)
                except DomainError as exc:
                    out.add(row, "hukou_moved_on", ERROR, exc.message)
                    raise _SkipHousehold from None
                counts["hukou_moved_on"] += 1
    except _SkipHousehold:
        h.bad = True
        return
    report.households_allocated += counts["allocated_on"]
    report.households_moved_in += counts["moved_in_on"]
    report.persons_hukou_moved += counts["hukou_moved_on"]


async def import_moves(work: Work, paths: list[str | Path], *, skip_invalid: bool = False,
                       dry_run: bool = False, progress: Progress | None = None) -> MovesReport:
    """Record the move sheets' allocations, move-ins and hukou moves. Outcome `imported`,
    `unchanged` (everything was on record), `partial` (`skip_invalid`: the households without an
    error), `rejected` (an error: nothing written) or `preview` (`dry_run`: all done, then undone)."""
    require(work.actor.role, "registry.record")
    paths = [Path(p) for p in paths]
    report = MovesReport(files=[p.name for p in paths])
    out = _Issues()
    rows: list[_Row] = []
    for n, path in enumerate(paths):
        if progress:
            progress("读取表格", n, len(paths))
        sheet = await read_sheet_apart(path, MOVES_SHEET)
        for raw, line in zip(sheet.frame.to_dict("records"), sheet.row_numbers.tolist(), strict=True):
            row = _Row(path.name, int(line), raw, {})
            row.ok = _cells(raw, sheet.numeric_cells, work.today, row, out)
            rows.append(row)  # a bad row still belongs to its household: skipped with it
            report.rows_read += 1
            if report.rows_read > MAX_ROWS:
                raise DomainError(f"一次最多登记{MAX_ROWS}行，请分批导入")
    if not report.rows_read:
        raise DomainError(f"{'、'.join(report.files)} 中没有数据行")
    households = _group(rows, out)
    try:
        async with work.transaction():
            checked: list[tuple[_Household, Household]] = []
            known = _Stored()
            await known.load(work, households)
            for n, h in enumerate(households.values()):
                if progress:
                    progress("逐户校验", n, len(households))
                stored = await _check_stored(work, h, known, out)
                if stored is not None:
                    checked.append((h, stored))
            _unit_taken_in_sheet(checked, out)
            for h, stored in checked:
                await _unit_taken_stored(h, stored, out)
            for n, (h, stored) in enumerate(checked):
                if progress:
                    progress("逐户登记", n, len(checked))
                if any((r.file, r.line) in out.bad_rows for r in h.rows):
                    h.bad = True
                    continue
                await _apply(work, h, stored, report, out)
            if progress:
                progress("逐户登记", len(checked), len(checked))
            bad = out.bad_rows
            written = report.households_allocated + report.households_moved_in + report.persons_hukou_moved
            if dry_run or (bad and not skip_invalid):
                raise _Rollback
            if written:
                await audit.record(work, "registry.moves", "sheet", "、".join(report.files)[:200], {
                    "households_allocated": [None, report.households_allocated],
                    "households_moved_in": [None, report.households_moved_in],
                    "persons_hukou_moved": [None, report.persons_hukou_moved],
                    "error_rows": [None, len(bad)]})
    except _Rollback:
        pass
    bad_households = {r.cells.get("agreement_no") for r in rows if (r.file, r.line) in out.bad_rows}
    bad_households |= {h.agreement_no for h in households.values() if h.bad}
    report.households_skipped = len(bad_households - {""})
    report.error_rows = len(out.bad_rows)
    report.rows_unchanged = sum(1 for r in rows if not r.steps and (r.file, r.line) not in out.bad_rows)
    report.issues = sorted(out.issues, key=lambda i: (i.file, i.row))
    report.warnings = sum(1 for i in out.issues if i.level == WARNING)
    written = report.households_allocated + report.households_moved_in + report.persons_hukou_moved
    report.outcome = ("preview" if dry_run else "rejected" if out.bad_rows and not skip_invalid
                      else "partial" if out.bad_rows else "imported" if written else "unchanged")
    if report.outcome == "rejected":
        report.households_allocated = report.households_moved_in = report.persons_hukou_moved = 0
    return report


NOTES = {
    "agreement_no": "签约交房表中的协议编号",
    "community": "可不填；填写时须与该户登记的安置社区一致（可写作 乡镇/社区名）",
    "unit": "分房时登记的房号；同一安置社区的一套房同一时间只能分给一户",
    "allocated_on": "如 2026-11-02 或 2026年11月2日，不晚于导入当天",
    "moved_in_on": "入住（交钥匙）日期，须在分房之后；入住即向迁入乡镇发出事项对接",
    "id_number": "户籍迁入的成员身份证号，一人一行（可与分房、入住写在同一张表）；请保持本列为“文本”格式",
    "hukou_moved_on": "该成员户籍迁入迁入乡镇的日期，须与公民身份号码一起填写",
}


def write_template(path):
    """The blank 分房/入住 template: header (required columns marked *), ID and key columns as text,
    notes. `path` a file name or a binary stream (the page's download)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "分房入住"
    sheet.append([xlsx_cell(sheet, main + ("*" if required else ""))
                  for main, _, required in MOVES_SHEET.columns.values()])
    for n, key in enumerate(MOVES_SHEET.columns):
        letter = chr(ord("A") + n)
        sheet.column_dimensions[letter].width = 22 if key == "id_number" else 14
        if key in ("id_number", "agreement_no", "unit"):
            for (cell,) in sheet.iter_rows(min_row=2, max_row=1000, min_col=n + 1, max_col=n + 1):
                cell.number_format = "@"
    notes = book.create_sheet("填写说明")
    notes.append([xlsx_cell(notes, text) for text in ("列", "是否必填", "说明")])
    for key, (main, aliases, required) in MOVES_SHEET.columns.items():
        also = f"（表头也可写作：{'、'.join(aliases)}）" if aliases else ""
        notes.append([xlsx_cell(notes, text) for text in (main, "必填" if required else "选填", NOTES[key] + also)])
    notes.column_dimensions["C"].width = 90
    book.save(path)
    return Path(path) if isinstance(path, str | Path) else path
