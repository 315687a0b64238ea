"""Sheets in and out: find the header under title rows, map aliases, keep Excel row numbers.

Reading is deliberately dumb: every cell arrives as text (CSV) or as the cell's own value
(.xlsx, so a date cell stays a date and an ID that Excel turned into a number can be named as
such). Validation is the registry import's job.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from resettle.errors import DomainError
from resettle.sheet_bounds import LIMITS, Limits, check_csv_lines, check_xlsx, size, too_big

Columns = dict[str, tuple[str, tuple[str, ...], bool]]  # key -> (header shown, aliases accepted, required)

# The 签约交房 signing/handover sheet.
COLUMNS: Columns = {
    "agreement_no": ("协议编号", (), True),
    "name": ("姓名", (), True),
    "id_number": ("公民身份号码", ("身份证号", "身份证号码"), True),
    "relation": ("与户主关系", (), True),
    "phone": ("联系电话", ("手机", "电话"), False),
    "origin_township": ("迁出乡镇", (), True),
    "village": ("迁出村", (), True),
    "group": ("迁出村民小组", (), False),
    "dest_township": ("迁入乡镇", (), True),
    "community": ("安置社区", (), True),
    "unit": ("房号", (), False),
    "signed_on": ("签约日期", (), True),
    "handed_over_on": ("交房日期", (), False),
    "hukou": ("户籍地", (), False),
    "tags": ("特殊群体", (), False),
}
HEADER_OF = {key: spec[0] for key, spec in COLUMNS.items()}
# Columns whose values repeat across rows: read as categoricals, so a million-row sheet costs a
# few bytes per cell and every rule runs on a handful of distinct values.
REPEATED = {"relation", "origin_township", "village", "group", "dest_township", "community",
            "hukou", "tags"}
_HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class SheetSpec:
    """The columns of one kind of sheet: what the reader looks for under the title rows."""

    columns: Columns
    hint: str  # the columns named when no header is found, e.g. "协议编号、姓名、公民身份号码"
    repeated: frozenset[str] = frozenset()
    alias: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "alias", {label: key for key, (main, aliases, _) in self.columns.items()
                                           for label in (main, *aliases)})

    def header_of(self, key: str) -> str:
        return self.columns[key][0]


SIGNING_SHEET = SheetSpec(COLUMNS, "协议编号、姓名、公民身份号码", frozenset(REPEATED))
_CELL_SPACE = re.compile(r"[\s\u3000*＊]+")  # '姓 名', '姓名*' (required marks), line breaks


@dataclass
class Sheet:
    """Rows of one file in canonical columns, with the row number Excel (or a text editor) shows."""

    path: Path
    frame: pd.DataFrame  # canonical columns; absent optional columns are filled with ""
    row_numbers: pd.Series  # aligned with frame.index
    numeric_cells: bool  # True when cells keep their own types (.xlsx)


def _find_header(rows: list[list[object]], path: Path, spec: SheetSpec) -> tuple[int, dict[int, str]]:
    for index, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        mapping: dict[int, str] = {}
        for col, cell in enumerate(row):
            key = None if cell is None else spec.alias.get(_CELL_SPACE.sub("", str(cell)))
            if key is not None and key not in mapping.values():
                mapping[col] = key
        if len(mapping) >= 3:
            missing = [main for k, (main, _, required) in spec.columns.items()
                       if required and k not in mapping.values()]
            if missing:
                raise DomainError(f"{path.name} 第{index + 1}行的表头缺少必需的列：{'、'.join(missing)}")
            return index, mapping
    raise DomainError(f"{path.name} 的前{_HEADER_SCAN_ROWS}行里找不到表头（应含 {spec.hint} 等列）")


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the start of the file decodes as UTF-8, else GB18030."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def read_sheet(path: str | Path, spec: SheetSpec = SIGNING_SHEET, limits: Limits | None = None) -> Sheet:
    """The first worksheet (or the CSV) in `spec`'s canonical columns, refused with one Chinese
    sentence when it is bigger than `limits` (LIMITS) allow. Services read through
    read_sheet_apart, so a reader that still dies takes only its own process with it."""
    path, limits = Path(path), limits or LIMITS
    if not path.exists():
        raise DomainError(f"找不到文件 {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, spec, limits)
    if suffix in (".xlsx", ".xlsm"):
        check_xlsx(path, limits)
        return _read_excel(path, spec, limits)
    raise DomainError(f"{path.name}：只支持 .xlsx 和 .csv 文件")


async def read_sheet_apart(path: str | Path, spec: SheetSpec = SIGNING_SHEET) -> Sheet:
    """read_sheet in a child process with bounded memory (resettle.isolated): whatever a file
    does to the reader, the server and its other users go on."""
    from resettle import isolated

    path = Path(path)
    return await isolated.run(read_sheet, (path, spec, LIMITS), limits=LIMITS,
                              died=f"{path.name} 无法读取：文件可能已损坏，或大到读不完"
                                   "（读取它的进程已停止，其他工作未受影响）")


def _finish(path: Path, frame: pd.DataFrame, mapping: dict[int, str], first_data_row: int,
            numeric_cells: bool, spec: SheetSpec) -> Sheet:
    frame = frame[list(mapping)].rename(columns=mapping)
    for key in spec.columns:
        if key not in frame.columns:
            frame[key] = ""
    frame = frame[list(spec.columns)]
    row_numbers = pd.Series(frame.index + first_data_row, index=frame.index)
    blank = np.logical_and.reduce([_empty(frame[key]) for key in spec.columns])
    if blank.any():
        frame, row_numbers = frame[~blank], row_numbers[~blank]
    return Sheet(path, frame, row_numbers, numeric_cells)


def _empty(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        empty_category = np.asarray(column.cat.categories.astype("str").str.strip() == "")
        codes = column.cat.codes.to_numpy()
        return np.where(codes < 0, True, empty_category[codes] if len(empty_category) else True)
    if column.dtype == object:
        return np.asarray(column.map(lambda v: v is None or cell_text(v) == ""), dtype=bool)
    return np.asarray(column.isna() | (column.astype("str").str.strip() == ""))


def _read_csv(path: Path, spec: SheetSpec, limits: Limits) -> Sheet:
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    stored = path.stat().st_size
    if stored > limits.unpacked:
        raise too_big(path, f"文件 {size(stored)}，上限 {size(limits.unpacked)}")
    encoding = detect_encoding(path)
    try:
        with path.open(encoding=encoding, newline="") as handle:
            head = list(itertools.islice(csv.reader(handle), _HEADER_SCAN_ROWS))
    except UnicodeDecodeError:
        raise DomainError(f"{path.name} 无法读取：编码应为 UTF-8 或 GB18030") from None
    except csv.Error:  # a field over csv's 128 KiB limit (no real cell is that long), or a NUL
        raise DomainError(f"{path.name} 无法读取：前{_HEADER_SCAN_ROWS}行中有超长或含非法字符的单元格") from None
    widest = max(map(len, head), default=0)
    if widest > limits.columns:
        raise too_big(path, f"有一行分成了 {widest} 列，上限 {limits.columns} 列")
    check_csv_lines(path, limits)
    header_index, mapping = _find_header(head, path, spec)
    names = [f"c{i}" for i in range(len(head[header_index]))]
    # Arrow's reader: multi-threaded, no Python object per cell, and repeated columns arrive
    # dictionary-encoded (categoricals). Empty lines are kept as rows so row numbers stay true.
    types = {names[i]: pa.dictionary(pa.int32(), pa.string()) if key in spec.repeated else pa.string()
             for i, key in mapping.items()}
    try:
        table = arrow_csv.read_csv(
            path,
            read_options=arrow_csv.ReadOptions(skip_rows=header_index + 1, column_names=names,
                                               encoding="utf8" if encoding.startswith("utf-8") else encoding),
            parse_options=arrow_csv.ParseOptions(ignore_empty_lines=False, newlines_in_values=True),
            convert_options=arrow_csv.ConvertOptions(
                include_columns=[names[i] for i in mapping], column_types=types,
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise DomainError(f"{path.name} 无法读取（请检查各行的列数是否与表头一致、"
                          f"编码是否为 UTF-8 或 GB18030）：{exc}") from None
    if table.num_rows > limits.rows:
        raise too_big(path, f"{table.num_rows} 行，上限 {limits.rows} 行")
    frame = table.to_pandas(self_destruct=True)
    frame.columns = list(mapping)
    # Text editors and Excel both number the header line; data starts right after it.
    return _finish(path, frame, mapping, header_index + 2, False, spec)


def _read_excel(path: Path, spec: SheetSpec, limits: Limits) -> Sheet:
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        # iter_rows starts at Excel's row 1 (row numbers survive) and at the first used column
        # (positions in the header row are relative, so that does not matter). Only the mapped
        # columns are kept: a stray note far right costs nothing.
        rows = sheet.iter_rows()
        head = list(itertools.islice(rows, _HEADER_SCAN_ROWS))
        header_index, mapping = _find_header(head, path, spec)
        keep = list(mapping)
        body = [[row[i] if i < len(row) else "" for i in keep]
                for row in itertools.chain(head[header_index + 1:], rows)]
    except DomainError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise DomainError(f"{path.name} 不是可读取的 Excel 文件：{exc}") from None
    # A shared string is stored once and may be referenced by every cell: bound what the rows
    # hold, not the file, before they cross to the server.
    text = sum(len(v) for row in body for v in row if type(v) is str)
    if text > limits.text:
        raise too_big(path, f"各列文字合计 {text // 10000} 万字，上限 {limits.text // 10000} 万字")
    frame = pd.DataFrame(body, columns=keep, dtype=object)
    return _finish(path, frame, mapping, header_index + 2, True, spec)


def cell_text(value: object) -> str:
    """How a cell reads to a clerk: dates as dates, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# What a spreadsheet takes for the start of a formula: "=", and "+", "-", "@" too (Excel and WPS
# read "+1+1" and "@SUM(A1)" as formulas when a .csv is opened), also hidden behind a leading tab
# or carriage return (or NUL, which OWASP ASVS 1.2.10 names too); the full-width forms because a
# Chinese input method types them and some spreadsheets fold them. Text we write that starts so
# must stay text (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00", "＝", "＋", "－", "＠")
DATE_FORMAT, DATETIME_FORMAT = "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS"


def _plain(value: object) -> object:
    """None for a missing value, whichever way pandas or a service spelled it."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value


def csv_cell(value: object) -> object:
    """A value as a .csv cell. A .csv has no text type, so text that would start a formula gets
    a leading single quote (OWASP's advice: the spreadsheet then takes the cell for text, the
    clerk still reads what was typed); everything else, numbers (a negative amount) and dates
    included, is written as it is."""
    value = _plain(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_rows(rows: list[dict], columns: dict[str, str]) -> Iterator[list]:
    """The header and the rows (dicts keyed by the `columns` keys) as .csv cells."""
    yield [csv_cell(header) for header in columns.values()]
    for row in rows:
        yield [csv_cell(row.get(key)) for key in columns]


def xlsx_cell(sheet, value: object, number_format: str | None = None):
    """What to put in a row for `sheet.append` (a normal or a write-only worksheet) so that the
    value is stored as it is: text as a string cell, never a formula ("=...") or an error
    ("#N/A"), which is what openpyxl makes of text starting with "=" or "#"; dates in the
    formats the papers have always had. Characters an .xlsx cannot hold (control characters)
    become U+FFFD instead of failing the whole paper. Plain values go as they are: a cell object
    costs openpyxl's write-only append several times a value."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = _plain(value)
    if isinstance(value, str):
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if not number_format and not value.startswith(("=", "#")):
            return value
    elif not number_format and not isinstance(value, dt.date):
        return value  # numbers (a negative amount stays a number), None
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, dt.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    if number_format:
        cell.number_format = number_format
    return cell


def write_table(rows: list[dict], columns: dict[str, str], path: str | Path) -> Path:
    """Write rows (dicts keyed by the `columns` keys) with Chinese headers to .xlsx or .csv."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(csv_rows(rows, columns))  # CRLF: a CR in a value gets quoted
        return path
    return write_sheets([("Sheet1", rows, columns)], path)


def _width(text: str) -> int:
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def write_sheets(sheets: list[tuple[str, list[dict], dict[str, str]]], path: str | Path, *,
                 number_formats: dict[str, str] | None = None) -> Path:
    """An .xlsx with one worksheet per (name, rows, columns), in order. Columns are sized to
    their text (a CJK character counts double), so a clerk can read it without dragging.
    `number_formats` gives an Excel format per column key, e.g. {"amount": "#,##0.00"}.
    Written cell by cell with openpyxl (write-only: a long report streams to disk), every value
    through xlsx_cell, so no text a user typed becomes a live formula."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    path = Path(path)
    formats = number_formats or {}
    book = Workbook(write_only=True)
    for name, rows, columns in sheets:
        sheet = book.create_sheet(name)
        keys = list(columns)
        # Widths before the first row: a write-only sheet writes its columns first.
        for n, key in enumerate(keys, 1):
            shown = [columns[key], *("" if _plain(row.get(key)) is None else str(row.get(key)) for row in rows[:200])]
            wide = max(_width(text) for text in shown)
            sheet.column_dimensions[get_column_letter(n)].width = min(60, max(6, wide + 2))
        sheet.append([xlsx_cell(sheet, header) for header in columns.values()])
        for row in rows:
            sheet.append([xlsx_cell(sheet, row.get(key), formats.get(key)) for key in keys])
    book.save(path)
    return path
