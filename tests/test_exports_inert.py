"""Nothing we hand out can attack the person who opens it: text a clerk, a resident or a sheet
typed that starts like a formula (= + - @, a tab or a carriage return) is written into every
.xlsx as a string cell (read back exactly as typed) and into every .csv behind a single quote.
Each kind of export is made the way a user gets it: through the CLI on a seeded database."""

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from cli.main import main
from cli.output import render
from resettle.actor import Actor
from resettle.db import open_db
from resettle.models import Community
from resettle.policy import load_policy
from resettle.rules.desk import period
from resettle.rules.household import Status
from resettle.sheets import write_sheets, write_table
from services import desk, desk_views, funding, registry
from services.desk_papers import write_lists
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.test_desk_papers import pdf_text
from tests.work import DAY, clock_on, work
from web.downloads import attachment

# What a spreadsheet may take for the start of a formula (the full-width forms too: an IME types them).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00", "＝", "＋", "－", "＠")
ADMIN = Actor("test:admin")
NAME = '=HYPERLINK("http://x","y")'
DEMAND = "+1+1"
TITLE = "-2+3"
UNIT = "@SUM(A1)"
COMMUNITY = "=1+2新苑"
REASON = "=2+5 已转区民政局"  # desk.decline strips the tab a clerk typed first
VALUE = "=cmd|' /C calc'!A0"
HEAD, WIFE = make_id("19600101", 1), make_id("19620101", 2)
YEAR = DAY.year


async def seed(tmp_path: Path) -> None:
    """A household of 城桥镇 moved into 陈家镇's COMMUNITY (so the ledger hands lines off), whose
    head is NAME in UNIT; a demand DEMAND in a problem TITLE, one declined with REASON; a funding
    project titled NAME."""
    rows = [person("A-001", NAME, HEAD, "户主", community=COMMUNITY, unit=UNIT, handed="2024-01-02", tags="党员"),
            person("A-001", "李四", WIFE, "配偶", community=COMMUNITY, unit=UNIT, handed="2024-01-02", tags="低保")]
    report = await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])
    assert report.outcome == "imported", report.issues
    await registry.record_step(work(ADMIN), "A-001", Status.ALLOCATED, dt.date(2024, 2, 1))
    await registry.record_step(work(ADMIN), "A-001", Status.MOVED_IN, dt.date(2024, 3, 1))
    c = await Community.get(name=COMMUNITY)
    clerk = work(Actor("test:desk", role="desk", township=c.township_code, community_id=c.id))
    taken = await desk.intake(clerk, None, channel="统一接待", category="物业维修", text=DEMAND, resident=HEAD)
    await desk.link(clerk, [taken["id"]], title=TITLE)
    other = await desk.intake(clerk, None, channel="统一接待", category="物业维修", text="低保咨询", resident=WIFE)
    await desk.decline(clerk, other["id"], "\t" + REASON)
    township = Actor("test:cj", role="township", township=c.township_code)
    await funding.draft(work(township), community=COMMUNITY, kind="operation", item="YY01", title=NAME, year=YEAR,
                        requested=36_000)


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def seeded():
        async with open_db(db_url):
            await seed(tmp_path)
    asyncio.run(seeded())
    runner = CliRunner()

    def invoke(*args, db=True):
        return runner.invoke(main, [*args, *(("--db", db_url) if db else ())], catch_exceptions=False)
    return invoke


def xlsx_cells(path: Path) -> list[str]:
    """Every text cell of every worksheet; fails on any formula cell."""
    book = load_workbook(path)
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (path.name, sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    return texts


def inert_csv(text: str) -> list[str]:
    """Every cell of a csv, the quote prefix taken off; fails on a cell that starts a formula."""
    cells = [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]
    for cell in cells:
        assert not cell.startswith(FORMULA_START), cell
    return [cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell for cell in cells]


def read_csv(path: Path) -> str:
    with path.open(encoding="utf-8-sig", newline="") as handle:  # a quoted CR stays a CR
        return handle.read()


def sheet_with_values(path: Path, header: list[str], rows: list[list]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for r, row in enumerate(rows, 2):
        for c, value in enumerate(row, 1):
            sheet.cell(r, c, value).data_type = "s"  # text the clerk typed, as Excel keeps it
    book.save(path)
    return path


def test_every_export_stores_formula_text_as_text(cli, tmp_path):
    made: dict[str, Path] = {}

    def out(name: str, *args: str) -> Path:
        result = cli(*args, "--out", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        made[name] = tmp_path / name
        return made[name]
    where = ("--community", COMMUNITY, "--month", DAY.strftime("%Y-%m"))
    out("lists.xlsx", "desk", "lists", *where, "--format", "xlsx")
    out("demands.csv", "desk", "lists", *where, "--list", "demands", "--format", "csv")
    out("problems.csv", "desk", "lists", *where, "--list", "problems", "--format", "csv")
    out("summary.xlsx", "desk", "summary", "--township", "陈家镇", "--month", DAY.strftime("%Y-%m"),
        "--format", "xlsx")
    out("ledger.xlsx", "ledger", "report", "--township", "城桥镇")
    out("ledger.csv", "ledger", "report", "--township", "城桥镇")
    out("funding.xlsx", "funding", "summary", "--year", str(YEAR))
    out("stats.xlsx", "registry", "stats", "--by", "community")
    out("stats.csv", "registry", "stats", "--by", "community")
    assert cli("desk", "template", "--out", str(tmp_path / "template.xlsx"), db=False).exit_code == 0
    made["template.xlsx"] = tmp_path / "template.xlsx"

    bad = write_csv(tmp_path / "bad.csv", [person("B-001", "王五", VALUE, "户主")])
    assert cli("registry", "import", str(bad), "--errors", str(tmp_path / "registry-errors.xlsx")).exit_code != 0
    made["registry-errors.xlsx"] = tmp_path / "registry-errors.xlsx"
    assert cli("registry", "import", str(bad), "--errors", str(tmp_path / "registry-errors.csv")).exit_code != 0
    made["registry-errors.csv"] = tmp_path / "registry-errors.csv"
    demands = sheet_with_values(tmp_path / "demands.xlsx", ["受理日期", "渠道", "类别", "诉求内容", "姓名", "身份证号"],
                                [[VALUE, "走访", "物业维修", DEMAND, NAME, ""]])
    for name in ("desk-errors.xlsx", "desk-errors.csv"):
        result = cli("desk", "import-demands", str(demands), "--community", COMMUNITY, "--errors",
                     str(tmp_path / name))
        assert (tmp_path / name).exists(), result.output
        made[name] = tmp_path / name

    texts = {name: xlsx_cells(path) if name.endswith(".xlsx") else inert_csv(read_csv(path))
             for name, path in made.items()}
    expected = {"lists.xlsx": {NAME, DEMAND, TITLE, UNIT, REASON}, "demands.csv": {NAME, DEMAND, UNIT, REASON},
                "problems.csv": {TITLE}, "summary.xlsx": {COMMUNITY}, "ledger.xlsx": {NAME},
                "ledger.csv": {NAME}, "stats.xlsx": {COMMUNITY}, "stats.csv": {COMMUNITY},
                "registry-errors.xlsx": {VALUE}, "registry-errors.csv": {VALUE},
                "desk-errors.xlsx": {VALUE}, "desk-errors.csv": {VALUE}}
    for name, values in expected.items():
        assert values <= set(texts[name]), (name, values - set(texts[name]))

    for args in (("desk", "lists", *where, "--list", "demands"), ("registry", "stats", "--by", "community"),
                 ("funding", "list", "--year", str(YEAR))):
        printed = cli(*args, "--format", "csv")
        assert printed.exit_code == 0, printed.output
        assert {NAME, COMMUNITY} & set(inert_csv(printed.output)), args


def test_the_writers_keep_numbers_and_neutralise_only_text(tmp_path):
    hostile = ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "\x00=1", "＝1+1", "#N/A", "'=quoted", "1-2", "plain",
               "=", "-"]
    rows = [{"text": v, "amount": -100, "share": -0.5, "on": dt.date(2026, 1, 2)} for v in hostile]
    columns = {"text": "文本", "amount": "金额", "share": "比例", "on": "日期"}
    book = load_workbook(write_sheets([("表", rows, columns)], tmp_path / "t.xlsx",
                                      number_formats={"amount": "#,##0.00"}))
    sheet = book["表"]
    assert [c.value for c in sheet[1]] == list(columns.values())
    for n, value in enumerate(hostile, 2):
        text, amount, share, on = sheet[n]
        # XML reads a CR as LF, and cannot hold NUL at all (U+FFFD shows where it was)
        assert (text.value, text.data_type) == (value.replace("\r", "\n").replace("\x00", "\ufffd"), "s")
        assert (amount.value, amount.data_type, amount.number_format) == (-100, "n", "#,##0.00")
        assert (share.value, share.data_type) == (-0.5, "n")
        assert on.value == dt.datetime(2026, 1, 2) and on.is_date

    text = read_csv(write_table(rows, columns, tmp_path / "t.csv"))
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == list(columns.values())
    assert [line[0] for line in lines[1:]] == ["'" + v if v.startswith(FORMULA_START) else v for v in hostile]
    assert {tuple(line[1:]) for line in lines[1:]} == {("-100", "-0.5", "2026-01-02")}  # numbers stay numbers
    assert [line[0] for line in csv.reader(io.StringIO(render(rows, columns, "csv")))][1:] == \
        [line[0] for line in lines[1:]]


def test_the_desk_template_keeps_a_sites_categories_as_text(tmp_path):
    from services.desk_import import write_template

    base = load_policy()
    policy = dataclasses.replace(base, desk=dataclasses.replace(base.desk, categories=("=1+1", "物业维修")))
    texts = xlsx_cells(write_template(tmp_path / "t.xlsx", policy))
    assert "诉求内容*" in texts and any(text.startswith("=1+1、物业维修") for text in texts)


async def test_a_control_character_from_a_sheet_does_not_break_the_papers(db, tmp_path):
    """The web refuses control characters, a signing sheet does not: an .xlsx cannot hold them,
    and one such name made every list of its community fail to download (IllegalCharacterError)."""
    rows = [person("A-001", "张\x07三", HEAD, "户主", unit="3号\x01室")]
    assert (await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])).outcome == "imported"
    c = await Community.get(name="陈家新苑")
    clerk = work(Actor("test:desk", role="desk", township=c.township_code, community_id=c.id))
    await desk.intake(clerk, None, channel="统一接待", category="物业维修", text="楼道灯坏了", resident=HEAD)
    data = await desk_views.lists(clerk, None, period(month=DAY.strftime("%Y-%m")))
    texts = xlsx_cells(write_lists(data, tmp_path / "l.xlsx"))
    assert {"张\ufffd三", "3号\ufffd室"} <= set(texts)
    assert "张\x07三" in read_csv(write_lists(data, tmp_path / "l.csv", ["demands"]))  # csv holds it as it is


async def test_pdfs_print_markup_as_typed(db, tmp_path):
    """reportlab's Paragraph parses markup: a name with <font> or & must print as typed."""
    name, title = "<font size=40>王</font>&amp;五", "A&B <b>电梯</b> " + "很长的问题描述" * 12
    rows = [person("A-001", name, HEAD, "户主")]
    assert (await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])).outcome == "imported"
    c = await Community.get(name="陈家新苑")
    clerk = work(Actor("test:desk", role="desk", township=c.township_code, community_id=c.id))
    taken = await desk.intake(clerk, None, channel="统一接待", category="物业维修", text=title, resident=HEAD)
    await desk.link(clerk, [taken["id"]], title=title)
    data = await desk_views.lists(clerk, None, period(month=DAY.strftime("%Y-%m")))
    text = pdf_text(write_lists(data, tmp_path / "l.pdf"))
    flat = text.replace("\n", "")  # a narrow column wraps the name
    assert name in flat and "A&B <b>电梯</b>" in flat


async def test_a_download_name_cannot_break_its_header():
    """A community name is part of a download's file name: a quote, a line break or a slash in it
    must neither end the header nor name a folder."""
    response = await attachment(lambda path: path.write_bytes(b"x") and path,
                                'a"b\r\nSet-Cookie: x=1/..\\c', "csv")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=UTF-8''")
    encoded = disposition.removeprefix("attachment; filename*=UTF-8''")
    assert re.fullmatch(r"[A-Za-z0-9!#$&+.^_`|~%-]+", encoded), encoded  # RFC 8187 attr-chars only
    assert unquote(encoded) == "a_b__Set-Cookie: x=1_.._c.csv"


async def test_web_downloads_are_inert(aiohttp_client, db_url, tmp_path):
    """The same papers as a clerk downloads them from the desk pages."""
    from services import accounts
    from tests.test_desk_web import take
    from tests.test_web import PASSWORD, log_in
    from web.app import init_app

    site = await aiohttp_client(init_app(db_url, secret=b"d" * 32, uploads=tmp_path / "uploads",
                                         clock=clock_on(DAY)))
    rows = [person("A-001", NAME, HEAD, "户主", community=COMMUNITY, unit=UNIT)]
    assert (await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])).outcome == "imported"
    await accounts.add_user(work(ADMIN), "clerk", "社区干部", "desk", PASSWORD, community=COMMUNITY, carriage="居委会")
    await log_in(site, "clerk")
    await take(site, q=HEAD, text=DEMAND)
    month = DAY.strftime("%Y-%m")
    xlsx = await site.get(f"/desk/lists?month={month}&format=xlsx")
    assert xlsx.status == 200, await xlsx.text()
    (tmp_path / "web.xlsx").write_bytes(await xlsx.read())
    assert {NAME, UNIT, DEMAND} <= set(xlsx_cells(tmp_path / "web.xlsx"))
    assert unquote(xlsx.headers["Content-Disposition"].partition("''")[2]).startswith(COMMUNITY)
    one = await site.get(f"/desk/lists?month={month}&list=demands&format=csv")
    assert one.status == 200
    assert {NAME, UNIT, DEMAND} <= set(inert_csv((await one.read()).decode("utf-8-sig")))


def test_a_table_on_the_terminal_prints_no_escape_sequence():
    """A name from a sheet can carry ESC: printed raw, it drives the clerk's terminal."""
    rows = [{"name": "\x1b]0;owned\x07张三\x1b[8m", "text": "第一行\n第二行\t完", "n": -1}]
    table = render(rows, {"name": "姓名", "text": "内容", "n": "数"}, "table")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", table)
    assert "\ufffd]0;owned\ufffd张三\ufffd[8m" in table and "第一行 第二行 完" in table and len(table.splitlines()) == 3


def test_missing_values_stay_empty_cells(tmp_path):
    """Rows built from pandas frames carry NA, NaN and NaT: empty cells, as pandas wrote them."""
    import pandas as pd

    rows = [{"a": pd.NA, "b": float("nan"), "c": pd.NaT, "d": None, "e": "=x"}]
    columns = {key: key for key in "abcde"}
    sheet = load_workbook(write_table(rows, columns, tmp_path / "na.xlsx")).active
    assert [c.value for c in sheet[2]] == [None, None, None, None, "=x"]
    assert read_csv(write_table(rows, columns, tmp_path / "na.csv")).splitlines()[1] == ",,,,'=x"


def test_the_template_drop_down_cannot_be_broken_by_a_category(tmp_path):
    """A quote in a category ended the drop-down's string and made the rest formula text; a comma
    split one category in two. Such choices go on a hidden sheet, as text."""
    from services.desk_import import write_template

    base = load_policy()
    odd = ('x",HYPERLINK("http://e"),"', "水,电", "物业维修")
    policy = dataclasses.replace(base, desk=dataclasses.replace(base.desk, categories=odd))
    book = load_workbook(write_template(tmp_path / "t.xlsx", policy))
    lists = [v.formula1 for v in book["需求"].data_validations.dataValidation]
    assert '"统一接待,走访,电话,12345热线,网上"' in lists and "'选项'!$A$1:$C$1" in lists
    assert not any("HYPERLINK" in f for f in lists)
    choices = book["选项"]
    assert choices.sheet_state == "hidden" and [c.value for c in choices[1]] == list(odd)
    assert all(c.data_type == "s" for c in choices[1])
    assert book.sheetnames[0] == "需求"
