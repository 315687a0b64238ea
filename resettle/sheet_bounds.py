"""What no real sheet reaches, measured before a reader lays a sheet out.

A 1.6 KB .xlsx with one cell at XFD1048576 makes the reader lay out 17 billion cells; a shared
string referenced by every cell makes a small file a big sheet; a .csv of newlines is a hundred
million rows. The bounds below are far above a city-wide signing sheet (~1M rows of 15 columns:
15M cells, ~0.8 GiB of sheet XML, ~150M characters of text)."""

from __future__ import annotations

import re
import xml.parsers.expat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from resettle.errors import DomainError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    rows: int = 1_100_000  # data rows of a .csv (an .xlsx stops at Excel's 1,048,576)
    columns: int = 200
    cells: int = 30_000_000  # rows × columns of the area the reader lays out
    unpacked: int = 2 << 30  # bytes of a .csv, or of an .xlsx's parts once unpacked
    ratio: int = 1000  # unpacked ÷ packed bytes of one .xlsx part; real sheet XML packs ~10-30×
    text: int = 500_000_000  # characters of text in the columns a sheet is read for
    memory: int = 8 << 30  # address space of the process that reads a sheet (resettle.isolated)
    seconds: int = 900  # how long that process may take
    readers: int = 2  # sheets read at once in one server process; the others wait their turn


LIMITS = Limits()


def size(n: int) -> str:
    return f"{n / (1 << 30):.0f} GB" if n >= 1 << 30 else f"{max(1, n // MB)} MB"


def too_big(path: Path, what: str) -> DomainError:
    return DomainError(f"{path.name} 超出可读取的范围：{what}；真实的表格不会这么大，请检查文件"
                       "（如误把格式或内容填到了很远的单元格，请删除多余的行列后另存）")


def damaged(path: Path) -> DomainError:
    return DomainError(f"{path.name} 不是可读取的 Excel 文件（文件可能已损坏，或不是 .xlsx）")


def check_xlsx(path: Path, limits: Limits) -> None:
    """Refuse an .xlsx whose parts unpack too big or too far (a zip bomb), or any of whose parts
    places cells further than `limits` allow. Every part is measured, not the one the workbook
    names first: the reader resolves names its own way. No <dimension> is believed."""
    try:
        with zipfile.ZipFile(path) as book:
            parts = book.infolist()
            unpacked = sum(part.file_size for part in parts)
            if unpacked > limits.unpacked:
                raise too_big(path, f"解压后 {size(unpacked)}，上限 {size(limits.unpacked)}")
            for part in parts:
                if part.file_size > MB and part.file_size > limits.ratio * max(part.compress_size, 1):
                    raise too_big(path, f"其中 {part.filename} 的压缩比超过 {limits.ratio} 倍，像是“压缩炸弹”")
            for part in parts:
                Extent(path, limits).measure(book, part, xml_only=not part.filename.lower().endswith(".xml"))
    except DomainError:
        raise
    except Exception:  # a damaged, encrypted or oddly packed zip: zipfile, zlib and expat errors
        raise damaged(path) from None


# Every <c> element, prefixed or not; and how Excel, WPS and openpyxl write one: unprefixed, r=
# first, then plain attributes (no second r, no "<" or ">" in a value). A chunk where every cell
# is written so is measured at C speed; any other goes through a real XML parser.
_ANY_CELL = re.compile(rb"<(?:[^\s<>/!?:]+:)?c[\s/>]")
_PLAIN_CELL = re.compile(
    rb'<c r="([A-Za-z]{1,3})([0-9]{1,7})"(?:\s+(?!r\s*=)[A-Za-z_:][\w.:-]*\s*=\s*"[^"<>]*")*\s*/?>')
_LONGEST_TAG = MB


def column_number(letters: str | bytes) -> int:
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.upper().decode():
        n = n * 26 + ord(ch) - 64
    return n


class Extent:
    """The furthest row and column a part places a cell at, refused as soon as it is too far."""

    def __init__(self, path: Path, limits: Limits):
        self.path, self.limits = path, limits
        self.last_row = self.last_column = 0

    def reach(self, row: int, column: int) -> None:
        self.last_row, self.last_column = max(self.last_row, row), max(self.last_column, column)
        if self.last_column > self.limits.columns:
            raise too_big(self.path, f"工作表用到第 {self.last_column} 列，上限 {self.limits.columns} 列")
        if self.last_row * self.last_column > self.limits.cells:
            raise too_big(self.path, f"工作表用到 {self.last_row} 行 × {self.last_column} 列，"
                                     f"超过 {self.limits.cells // 10000} 万个单元格")

    def measure(self, book: zipfile.ZipFile, part: zipfile.ZipInfo, *, xml_only: bool) -> None:
        """`xml_only` for a part not named .xml (an image, a macro): measured only if it parses
        as XML, so a picture whose bytes happen to spell "<c " is no reason to refuse."""
        if self._plain(book, part):
            return
        try:
            self._parsed(book, part)
        except xml.parsers.expat.ExpatError:
            if not xml_only:
                raise

    def _plain(self, book: zipfile.ZipFile, part: zipfile.ZipInfo) -> bool:
        """Measure at C speed; False (nothing concluded) at the first chunk not written plainly."""
        with book.open(part) as stream:
            carry = b""
            while chunk := stream.read(8 * MB):
                chunk = carry + chunk
                cut = chunk.rfind(b">") + 1
                chunk, carry = chunk[:cut], chunk[cut:]
                if len(carry) > _LONGEST_TAG:  # text with no tag in it, or a tag no writer makes
                    start = carry.rfind(b"<")
                    carry = b"" if start < 0 else carry[start:]
                    if len(carry) > _LONGEST_TAG:
                        return False
                placed = _PLAIN_CELL.findall(chunk)
                if len(placed) != len(_ANY_CELL.findall(chunk)):
                    return False
                if placed:
                    letters = max({c.upper() for c, _ in placed}, key=lambda c: (len(c), c))
                    self.reach(max(map(int, {r for _, r in placed})), column_number(letters))
            return not _ANY_CELL.search(carry)

    def _parsed(self, book: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
        """Measure with expat, placing cells as the reader does: at r=, else after the one before
        (and a row at r=, else after the row before). Duplicate attributes are malformed XML."""
        row = column = 0

        def start(name: str, attributes: dict[str, str]) -> None:
            nonlocal row, column
            local = name.rpartition(":")[2]
            if local not in ("row", "c"):
                return
            r = next((v for k, v in attributes.items() if k.rpartition(":")[2] == "r"), None)
            place = re.fullmatch(r"\s*([A-Za-z]{0,3})([0-9]{1,7})\s*", r) if r is not None else None
            if local == "row":
                row, column = (int(place[2]) if place else row + 1), 0
                return
            column = column_number(place[1]) if place and place[1] else column + 1
            if place:
                row = int(place[2])
            self.reach(row, column)

        parser = xml.parsers.expat.ParserCreate()
        parser.StartElementHandler = start
        with book.open(part) as stream:
            while chunk := stream.read(8 * MB):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)


def check_csv_lines(path: Path, limits: Limits) -> None:
    """A .csv's lines counted at C speed before a parser makes each a row. A quoted value may hold
    line breaks, so lines may be up to twice the row bound; rows are counted exactly after."""
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(8 * MB):
            lines += chunk.count(b"\n")
            if lines > 2 * limits.rows:
                raise too_big(path, f"超过 {2 * limits.rows} 行（上限 {limits.rows} 行）")
