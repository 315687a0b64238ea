"""A small file must not take the server down (issue 12): every sheet is measured before it is
loaded, and read in a child process whose death is one Chinese sentence, not the server's."""

import asyncio
import dataclasses
import os
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from cli.main import main
from resettle import isolated, sheets
from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Household
from resettle.sheets import Limits, check_xlsx, read_sheet, read_sheet_apart
from services import desk_import
from services.registry_import import import_sheets
from tests.sheets import HEADER, make_id, person, write_csv, write_xlsx
from tests.test_desk_papers import seed_residents
from tests.test_web import csrf_of, log_in, make_site

ADMIN = Actor("admin")
TOO_BIG = "超出可读取的范围"


def far_cell(path: Path, cell: str = "XFD1048576") -> Path:
    """The attack: a header, one good row and one cell at the sheet's far corner (about 5 KB)."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(person("Z-001", "远", make_id("19800101", 7)))
    sheet[cell] = "x"
    book.save(path)
    return path


def rewrite_sheet(path: Path, change) -> Path:
    """The .xlsx at `path` with its first worksheet's XML passed through `change`."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    parts["xl/worksheets/sheet1.xml"] = change(parts["xl/worksheets/sheet1.xml"].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def good_sheet(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "good.xlsx", [person("G-001", "好", make_id("19800101", 8))], title=False)


def test_the_far_corner_is_refused_before_any_reader_lays_it_out(tmp_path):
    path = far_cell(tmp_path / "attack.xlsx")
    assert path.stat().st_size < 8000
    with pytest.raises(DomainError, match=f"attack.xlsx {TOO_BIG}：第一个工作表用到第 16384 列"):
        read_sheet(path)


@pytest.mark.parametrize("cell, why", [("GS2", "第 201 列"), ("AH1048576", "1048576 行 × 34 列")])
def test_rows_and_columns_are_bounded_apart_and_together(tmp_path, cell, why):
    with pytest.raises(DomainError, match=why):
        read_sheet(far_cell(tmp_path / "far.xlsx", cell))
    read_sheet(far_cell(tmp_path / "near.xlsx", "GR2"))  # 200 columns is within the bound


def test_a_lying_dimension_is_not_believed_either_way(tmp_path):
    huge = rewrite_sheet(good_sheet(tmp_path), lambda xml: re.sub(
        r'<dimension ref="[^"]+"', '<dimension ref="A1:XFD1048576"', xml))
    assert len(read_sheet(huge).frame) == 1
    small = rewrite_sheet(far_cell(tmp_path / "attack.xlsx"), lambda xml: re.sub(
        r'<dimension ref="[^"]+"', '<dimension ref="A1:B2"', xml))
    with pytest.raises(DomainError, match=TOO_BIG):
        read_sheet(small)


def test_cells_placed_by_order_or_under_a_prefix_are_measured_too(tmp_path):
    unplaced = "".join('<c t="inlineStr"><is><t>x</t></is></c>' for _ in range(250))
    by_order = rewrite_sheet(good_sheet(tmp_path), lambda xml: xml.replace(
        "</sheetData>", f"<row>{unplaced}</row></sheetData>"))
    with pytest.raises(DomainError, match="第 250 列"):
        check_xlsx(by_order, sheets.LIMITS)
    prefixed = rewrite_sheet(good_sheet(tmp_path), lambda xml: xml.replace(
        "</sheetData>", '<x:row r="9"><x:c r="ZZ9" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></x:row></sheetData>'))
    with pytest.raises(DomainError, match="第 702 列"):
        check_xlsx(prefixed, sheets.LIMITS)


def test_unpacked_size_and_zip_bombs_are_refused(tmp_path):
    padding = " " * (3 << 20)
    padded = rewrite_sheet(good_sheet(tmp_path), lambda xml: xml.replace("<sheetData>", "<sheetData>" + padding))
    with pytest.raises(DomainError, match="压缩比超过 100 倍"):
        check_xlsx(padded, Limits(ratio=100))
    with pytest.raises(DomainError, match="解压后 3 MB，上限 1 MB"):
        check_xlsx(padded, Limits(unpacked=1 << 20))
    assert len(read_sheet(padded).frame) == 1  # the default bounds take it: ~350× is no bomb


def test_not_a_zip_is_one_sentence(tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a zip at all")
    with pytest.raises(DomainError, match="不是可读取的 Excel 文件"):
        read_sheet(fake)


def test_csv_bounds(tmp_path):
    rows = [person(f"C-{n:03}", "某", make_id("19800101", n)) for n in range(1, 6)]
    sheet = write_csv(tmp_path / "s.csv", rows)
    assert len(read_sheet(sheet).frame) == 5
    for limits, why in ((Limits(rows=4), "5 行，上限 4 行"), (Limits(columns=16), "分成了 17 列，上限 16 列"),
                        (Limits(unpacked=100), "上限 1 MB")):
        with pytest.raises(DomainError, match=why):
            read_sheet(sheet, limits=limits)
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(HEADER) + "," * 500 + "\n", encoding="utf-8")
    with pytest.raises(DomainError, match="分成了 517 列，上限 200 列"):
        read_sheet(wide)
    huge_field = tmp_path / "field.csv"
    huge_field.write_text("标题" + "长" * 200_000 + "\n" + ",".join(HEADER) + "\n", encoding="utf-8")
    with pytest.raises(DomainError, match="前30行中有超长或含非法字符的单元格"):
        read_sheet(huge_field)


def _die() -> None:
    os.abort()


async def test_a_reader_that_dies_is_one_sentence_and_the_next_read_works(tmp_path, monkeypatch):
    with pytest.raises(DomainError, match="^挂了$"):
        await isolated.run(_die, (), memory=sheets.LIMITS.memory, died="挂了")
    # Bounds lifted: the far corner reaches the reader, which runs out of its 2 GiB and dies alone.
    monkeypatch.setattr(sheets, "LIMITS", Limits(columns=1 << 20, cells=1 << 60, memory=2 << 30))
    with pytest.raises(DomainError, match="attack.xlsx 无法读取：读取它的进程意外终止|内存超出上限"):
        await read_sheet_apart(far_cell(tmp_path / "attack.xlsx"))
    assert len((await read_sheet_apart(good_sheet(tmp_path))).frame) == 1


async def test_a_refusal_in_the_child_comes_back_as_the_same_sentence(tmp_path):
    with pytest.raises(DomainError, match=f"^attack.xlsx {TOO_BIG}"):
        await read_sheet_apart(far_cell(tmp_path / "attack.xlsx"))


@pytest.mark.parametrize("dry_run", [False, True])
async def test_the_import_refuses_the_attack_and_writes_nothing(db, tmp_path, dry_run):
    with pytest.raises(DomainError, match=TOO_BIG):
        await import_sheets(ADMIN, [far_cell(tmp_path / "attack.xlsx")], dry_run=dry_run)
    assert await Household.all().count() == 0


async def test_the_desk_import_refuses_the_attack(db, tmp_path):
    clerk = await seed_residents(tmp_path)
    with pytest.raises(DomainError, match=TOO_BIG):
        await desk_import.import_demands(clerk, far_cell(tmp_path / "demands.xlsx"), None)


def test_the_cli_says_one_sentence(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["registry", "import", str(far_cell(tmp_path / "attack.xlsx")),
                                       "--db", db_url])
    assert result.exit_code == 1 and TOO_BIG in result.output and "Traceback" not in result.output


async def test_the_page_and_the_api_answer_with_one_sentence(aiohttp_client, db_url, tmp_path):
    site = await make_site(aiohttp_client, db_url, tmp_path)
    attack = far_cell(tmp_path / "attack.xlsx")
    auth = {"Authorization": f"Bearer {site.tokens['office']}"}
    for dry_run in ("false", "true"):
        with attack.open("rb") as handle:
            response = await site.post("/api/v1/imports", data={"sheet": handle, "dry_run": dry_run}, headers=auth)
        assert response.status == 400 and TOO_BIG in (await response.json())["error"]["message"]
    await log_in(site, "office")
    token = await csrf_of(site, "/registry/import")
    with attack.open("rb") as handle:
        page = await site.post("/registry/import", data={"csrf": token, "sheet": handle})
    for _ in range(100):  # the preview is a job: its page refreshes until it ends
        text = await page.text()
        if 'http-equiv="refresh"' not in text:
            break
        await asyncio.sleep(0.1)
        page = await site.get(page.url.path)
    assert TOO_BIG in text and page.status < 500
    assert not list((tmp_path / "uploads").glob("*.xlsx"))  # a refused sheet is not kept
    assert (await site.get("/healthz")).status == 200
    assert dataclasses.asdict(sheets.LIMITS) == dataclasses.asdict(Limits())
