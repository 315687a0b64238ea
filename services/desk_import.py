"""Use case: import demands taken outside the reception (四百走访 visits, the 12345 hotline's
export, phone, online) from a sheet in the documented template, into one community's 需求清单.

The registry import's discipline: every row is checked and reported (行号, 列, 值, 问题), and
nothing is written when any row has an error unless `skip_invalid` says to write the good rows.
Each good row goes through `desk.intake`, the very rule the reception form uses, inside one
transaction that is rolled back when the import is refused or only previewed."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path

from resettle.errors import DomainError
from resettle.models import Demand
from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules.dates import parse_date
from resettle.rules.desk import CHANNEL_LABELS
from resettle.rules.permissions import require
from resettle.rules.signing_sheet import ERROR, NUMERIC_ID_MESSAGE, WARNING, Issue
from resettle.sheets import SheetSpec, cell_text, read_sheet_apart, write_table, xlsx_cell
from services import audit, desk, desk_views
from services.registry_import import ISSUE_COLUMNS, Progress
from services.work import Work

# The template (fixtures/desk-demands-template.xlsx): key -> (header, aliases, required)
DEMAND_SHEET = SheetSpec({
    "received_on": ("受理日期", ("日期",), True),
    "channel": ("渠道", ("受理渠道", "来源"), True),
    "category": ("类别", ("需求类别", "诉求类别"), True),
    "text": ("诉求内容", ("诉求", "需求内容", "内容"), True),
    "name": ("姓名", ("居民姓名", "来访人", "来电人"), True),
    "id_number": ("身份证号", ("公民身份号码", "身份证号码"), False),
    "unit": ("房号", (), False),
    "phone": ("联系电话", ("手机", "电话", "联系方式"), False),
}, "受理日期、渠道、类别、诉求内容、姓名")
TEMPLATE_ROWS = 1000  # rows of the template given the drop-downs and the text-formatted ID column
REPORT_COLUMNS = {k: v for k, v in ISSUE_COLUMNS.items() if k not in ("file", "agreement_no")}
# The column a refusal of desk.intake is about, found by the words its message names.
_MESSAGE_COLUMNS = (("受理渠道", "channel"), ("需求类别", "category"), ("诉求内容", "text"),
                    ("受理日期", "received_on"), ("姓名", "name"), ("联系电话", "phone"), ("房号", "unit"))


class _Rollback(Exception):
    """Raised at the end of a refused or previewed import to undo its writes."""


async def _resident(work: Work, community_id: int, row: dict, issue) -> tuple[str, str]:
    """The registry resident a row is about, as (person id, registered name), or ("", name as
    written) for a non-resident: by ID number, or without one by 姓名 + 房号 when they name
    exactly one resident."""
    number = row["id_number"]
    if number:
        found = await desk_views.find_residents(work, community_id, number)
        if not found:
            issue("id_number", WARNING, "不是本社区登记居民的身份证号，按非登记居民受理（须留联系电话）")
            return "", row["name"]
        if found[0]["name"] != row["name"]:
            issue("name", WARNING, f"与身份证号登记的姓名“{found[0]['name']}”不一致，按登记居民受理")
        return str(found[0]["person_id"]), found[0]["name"]
    if row["name"] and row["unit"]:
        same = [p for p in await desk_views.find_residents(work, community_id, row["unit"], limit=50)
                if p["name"] == row["name"] and p["unit"] == row["unit"]]
        if len(same) > 1:
            issue("unit", ERROR, f"本社区该房号有{len(same)}位名为“{row['name']}”的居民，请填写身份证号以区分")
        if len(same) == 1:
            return str(same[0]["person_id"]), row["name"]
    return "", row["name"]


async def _on_record(community_id: int, rows: list[dict]) -> dict[tuple, str]:
    """Demands of the community already taken on the sheet's dates, by (受理日期, 诉求内容, name):
    a sheet imported again after its errors were fixed adds only what is new."""
    days = [r["received_on"] for r in rows if r and isinstance(r["received_on"], dt.date)]
    if not days:
        return {}
    found = await Demand.filter(community_id=community_id, received_on__gte=min(days), received_on__lte=max(days)) \
        .values_list("id", "received_on", "text", "resident_name")
    return {(on, text, name): f"已登记的需求{pk}" for pk, on, text, name in found}


def _cells(raw: dict, typed: bool, issue, today: dt.date) -> dict | None:
    """A row's cells as text, the date parsed and the ID number normalised and checked; None
    when a cell already fails here."""
    row = {key: cell_text(value) for key, value in raw.items()}
    ok = True
    try:
        row["received_on"] = parse_date(raw["received_on"]) if row["received_on"] else None
    except ValueError as exc:
        issue("received_on", ERROR, str(exc))
        ok = False
    if row["received_on"] is None and ok:
        issue("received_on", ERROR, f"{DEMAND_SHEET.header_of('received_on')}不能为空")
        ok = False
    number = raw["id_number"]
    if typed and isinstance(number, int | float) and not isinstance(number, bool):
        issue("id_number", ERROR, NUMERIC_ID_MESSAGE)
        return None
    row["id_number"] = idnumber.normalize(row["id_number"])
    if row["id_number"]:
        problem = idnumber.problem(row["id_number"], today)
        if problem:
            issue("id_number", ERROR, problem)
            ok = False
    return row if ok else None


def _column_of(message: str) -> str | None:
    return next((key for word, key in _MESSAGE_COLUMNS if word in message), None)


async def import_demands(work: Work, path: str | Path, community: str | int | None, *,
                         skip_invalid: bool = False, dry_run: bool = False, progress: Progress | None = None) -> dict:
    """Import a sheet of demands into a community. Outcome `imported` (every row but those
    already on record), `unchanged` (all of them were), `partial` (`skip_invalid`: the good rows),
    `rejected` (an error: nothing written) or `preview` (`dry_run`: everything checked, nothing
    kept)."""
    require(work.actor.role, "desk.work")
    c = await desk.community_of(work, community)
    path = Path(path)
    if progress:
        progress("读取表格", 0, 1)
    sheet = await read_sheet_apart(path, DEMAND_SHEET)
    records = sheet.frame.to_dict("records")
    if not records:
        raise DomainError(f"{path.name} 中没有需求行")
    issues: list[Issue] = []
    bad_rows: set[int] = set()
    added: list[int] = []
    duplicates = 0
    lines = sheet.row_numbers.tolist()

    def reporter(raw: dict, line: int):
        def issue(key: str | None, level: str, message: str) -> None:
            issues.append(Issue(path.name, line, "", DEMAND_SHEET.header_of(key) if key else "",
                                cell_text(raw[key]) if key else "", level, message))
            if level == ERROR:
                bad_rows.add(line)
        return issue
    reporters = [reporter(raw, line) for raw, line in zip(records, lines, strict=True)]
    rows = [_cells(raw, sheet.numeric_cells, issue, work.today) for raw, issue in zip(records, reporters, strict=True)]
    try:
        async with work.transaction():
            seen = await _on_record(c.id, rows)
            for n, (row, line, issue) in enumerate(zip(rows, lines, reporters, strict=True)):
                if progress:
                    progress("逐行校验并写入", n, len(records))
                resident, name = await _resident(work, c.id, row, issue) if row else ("", "")
                if line in bad_rows:
                    continue
                key = (row["received_on"], row["text"], name)
                if key in seen:
                    issue("text", WARNING, f"与{seen[key]}相同（受理日期、诉求内容、姓名都一样），未重复导入")
                    duplicates += 1
                    continue
                try:
                    demand = await desk.intake(
                        work, c.id, channel=row["channel"], category=row["category"], text=row["text"],
                        resident=resident, name=row["name"], contact=row["phone"], unit=row["unit"],
                        received_on=row["received_on"], similar=False)
                except DomainError as exc:
                    issue(_column_of(exc.message), ERROR, exc.message)
                    continue
                added.append(demand["id"])
                seen[key] = f"第{line}行"
            if progress:
                progress("逐行校验并写入", len(records), len(records))
            if dry_run or (bad_rows and not skip_invalid):
                raise _Rollback
            if added:
                await audit.record(work, "desk.import", "community", c.id, {
                    "file": [None, path.name], "added": [None, len(added)], "error_rows": [None, len(bad_rows)]})
    except _Rollback:
        pass
    outcome = ("preview" if dry_run else "rejected" if bad_rows and not skip_invalid
               else "partial" if bad_rows else "imported" if added else "unchanged")
    issues.sort(key=lambda i: i.row)
    return {"file": path.name, "community": c.name, "outcome": outcome, "rows_read": len(records),
            "added": 0 if outcome == "rejected" else len(added),
            "demand_ids": added if outcome in ("imported", "partial") else [],
            "duplicates": duplicates, "error_rows": len(bad_rows), "warnings": sum(i.level == WARNING for i in issues),
            "issues": [{k: v for k, v in asdict(i).items() if k in REPORT_COLUMNS} for i in issues]}


NOTES = {"received_on": "如 2026-11-02 或 2026年11月2日，不晚于导入当天",
         "text": "居民反映的问题，不超过2000字", "name": "反映人姓名",
         "id_number": "本社区登记居民填写后直接匹配；请保持本列为“文本”格式，以免Excel改坏号码",
         "unit": "未填身份证号时，按“姓名 + 房号”匹配本社区登记居民",
         "phone": "非本社区登记居民必填（手机或座机）"}


CHOICES_SHEET = "选项"


def _choice_list(book, choices: list[str]) -> str:
    """A drop-down's list formula. Written out ("a,b") when Excel reads it back as these very
    choices: no comma (the separator), no quote (it would end the string and the rest would be
    formula text) and within Excel's 255 characters; otherwise the choices go, as text cells, in
    a row of a hidden sheet the drop-down refers to."""
    inline = ",".join(choices)
    if len(inline) <= 255 and not any("," in c or '"' in c for c in choices):
        return f'"{inline}"'
    from openpyxl.utils import get_column_letter

    if CHOICES_SHEET not in book.sheetnames:
        book.create_sheet(CHOICES_SHEET).sheet_state = "hidden"
    sheet = book[CHOICES_SHEET]
    sheet.append([xlsx_cell(sheet, choice) for choice in choices])  # one row per drop-down
    row = sheet.max_row
    return f"'{CHOICES_SHEET}'!$A${row}:${get_column_letter(len(choices))}${row}"


def write_template(path: str | Path, policy: Policy) -> Path:
    """The blank template: the header (required columns marked *), drop-down lists for 渠道 and
    类别 from the policy, the ID column as text, and a sheet of notes."""
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    choices = {"channel": list(CHANNEL_LABELS.values()), "category": list(policy.desk.categories)}
    book = Workbook()
    sheet = book.active
    sheet.title = "需求"
    keys = list(DEMAND_SHEET.columns)
    sheet.append([xlsx_cell(sheet, main + ("*" if required else ""))
                  for main, _, required in DEMAND_SHEET.columns.values()])
    for n, key in enumerate(keys):
        letter = chr(ord("A") + n)
        sheet.column_dimensions[letter].width = 40 if key == "text" else 22 if key == "id_number" else 14
        if key in choices:
            rule = DataValidation(type="list", formula1=_choice_list(book, choices[key]), allow_blank=True)
            rule.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
            sheet.add_data_validation(rule)
        if key == "id_number":
            for (cell,) in sheet.iter_rows(min_row=2, max_row=TEMPLATE_ROWS, min_col=n + 1, max_col=n + 1):
                cell.number_format = "@"
    notes = book.create_sheet("填写说明")
    notes.append([xlsx_cell(notes, text) for text in ("列", "是否必填", "说明")])
    for key, (main, aliases, required) in DEMAND_SHEET.columns.items():
        told = "、".join(choices[key]) if key in choices else NOTES[key]
        also = f"（表头也可写作：{'、'.join(aliases)}）" if aliases else ""
        # the policy's categories are text too: never a formula, whatever a site names them
        notes.append([xlsx_cell(notes, text) for text in (main, "必填" if required else "选填", told + also)])
    notes.column_dimensions["C"].width = 90
    book.save(path)
    return Path(path)


def write_issue_report(report: dict, path: str | Path) -> Path:
    """The problem report a clerk works through: 行号, 列, 值, 级别, 问题, in sheet order."""
    return write_table(report["issues"], REPORT_COLUMNS, path)
