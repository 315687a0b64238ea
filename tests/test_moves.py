"""Move-ins in batches: the 分房/入住 sheet against a real database, compared with single records."""

import csv
import datetime as dt
from pathlib import Path

import pytest

from resettle.actor import Actor
from resettle.models import AuditEvent, Entitlement, Handoff, Household, Person
from resettle.rules.household import Status
from services import registry
from services.registry_import import import_sheets
from services.registry_moves import MOVES_SHEET, import_moves, write_template
from tests.sheets import make_id, person, write_csv
from tests.test_cli import cli as _cli  # noqa: F401 (the fixture `cli`)
from tests.work import work

OFFICE = Actor("test:office", role="office")
CHENQIAO = Actor("test:cq", role="township", township="310151101")  # 城桥镇: origin of the S- households
XINHE = Actor("test:xh", role="township", township="310151103")  # 新河镇: none of them
D = dt.date
HOUSEHOLDS = 160  # per twin set; 160 household rows + 2 hukou rows each + planted = 500 rows
MOVE_HEADER = ["序号", "协议编号", "安置社区", "房号", "分房日期", "入住日期", "公民身份号码", "户籍迁入日期"]


def _ids(prefix: str, n: int) -> tuple[str, str]:
    base = 2 * n + (1 if prefix == "S" else 501)
    return make_id("19600101", base), make_id("19620101", base + 1)


def _signing_rows(prefix: str, community: str) -> list[list]:
    rows = []
    for n in range(HOUSEHOLDS):
        head, wife = _ids(prefix, n)
        tags = "低保" if n % 3 == 0 else ""
        rows.append(person(f"{prefix}-{n:04d}", "甲", head, "户主", handed="2024-01-02", community=community))
        rows.append(person(f"{prefix}-{n:04d}", "乙", wife, "配偶", handed="2024-01-02", community=community,
                           tags=tags))
    return rows


def _move_rows(prefix: str) -> list[list]:
    rows = []
    for n in range(HOUSEHOLDS):
        head, wife = _ids(prefix, n)
        agreement = f"{prefix}-{n:04d}"
        moved = "2025-09-30" if n % 2 else ""  # half move in before 国庆, half are only allocated
        rows.append(["", agreement, "", f"{n // 10 + 1}号{n % 10 + 1}01室", "2025-09-01", moved, "", ""])
        if moved:
            rows.append(["", agreement, "", "", "", "", head, "2025-10-09"])
            rows.append(["", agreement, "", "", "", "", wife, "2025-10-10"])
    return rows


def write_moves(path: Path, rows: list[list]) -> Path:
    return write_csv(path, rows, header=MOVE_HEADER)


@pytest.fixture
async def signed(db, tmp_path):
    for prefix, community in (("S", "陈家新苑"), ("T", "陈家二苑")):
        report = await import_sheets(work(OFFICE), [write_csv(tmp_path / f"{prefix}.csv",
                                                              _signing_rows(prefix, community))])
        assert report.outcome == "imported"


async def _singles(prefix: str) -> None:
    """What a clerk typing `registry record` for each row of _move_rows would do."""
    for n in range(HOUSEHOLDS):
        agreement = f"{prefix}-{n:04d}"
        await registry.record_step(work(OFFICE), agreement, Status.ALLOCATED, D(2025, 9, 1),
                                   unit=f"{n // 10 + 1}号{n % 10 + 1}01室")
        if n % 2:
            head, wife = _ids(prefix, n)
            await registry.record_step(work(OFFICE), agreement, Status.MOVED_IN, D(2025, 9, 30))
            await registry.record_hukou_moved(work(OFFICE), agreement, head, D(2025, 10, 9))
            await registry.record_hukou_moved(work(OFFICE), agreement, wife, D(2025, 10, 10))


async def _state(prefix: str) -> list:
    """Everything a household's steps touch, keyed by what the twin sets share (not ids)."""
    households = await Household.filter(agreement_no__startswith=f"{prefix}-").order_by("agreement_no")
    out = []
    for h in households:
        people = await Person.filter(household_id=h.id).order_by("id")
        lines = await Entitlement.filter(person_id__in=[p.id for p in people]).order_by("id")
        matter = {line.id: line.matter_code for line in lines}
        handoffs = await Handoff.filter(household_id=h.id).order_by("id")
        out.append((h.agreement_no[2:], h.status, h.allocated_on, h.moved_in_on, h.unit, h.separated_count,
                    h.version, [(p.relation, p.hukou_township, p.hukou_moved_on, p.version) for p in people],
                    [(line.matter_code, line.responsible_township, line.closed_on) for line in lines],
                    [(x.kind, x.status, matter.get(x.entitlement_id), x.from_township, x.to_township, x.sent_on,
                      x.accept_due, x.complete_due) for x in handoffs]))
    return out


async def _events(prefix: str) -> list:
    rows = await AuditEvent.filter(object_type__in=["household", "person"]).exclude(
        action="registry.import").order_by("id").values_list("action", "object_type", "object_id")
    ids = {str(p) for p in await Person.filter(household__agreement_no__startswith=f"{prefix}-")
           .values_list("id", flat=True)}
    return [(a, t) for a, t, o in rows if o.startswith(f"{prefix}-") or (t == "person" and o in ids)]


async def test_a_sheet_ends_as_single_records(signed, tmp_path):
    rows = _move_rows("S")
    assert len(rows) == HOUSEHOLDS + 2 * (HOUSEHOLDS // 2)
    report = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", rows)])
    assert report.outcome == "imported", report.issues
    assert (report.households_allocated, report.households_moved_in, report.persons_hukou_moved) == (
        HOUSEHOLDS, HOUSEHOLDS // 2, HOUSEHOLDS)
    assert report.error_rows == 0 and report.rows_unchanged == 0
    await _singles("T")
    assert await _state("S") == await _state("T")
    assert len(await _events("S")) == len(await _events("T"))
    # the move-ins on 2025-09-30 were handed off with deadlines past 国庆
    sample = await Handoff.filter(household__agreement_no="S-0001", kind="notice").first()
    assert (sample.accept_due, sample.complete_due) == (D(2025, 10, 14), D(2025, 11, 4))  # 5 and 20 working days
    again = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", rows)])
    assert again.outcome == "unchanged" and again.rows_unchanged == len(rows)
    assert again.households_allocated == again.households_moved_in == again.persons_hukou_moved == 0
    assert await _state("S") == await _state("T")


def _plant(rows: list[list]) -> tuple[list[list], dict[int, str]]:
    """The 500-row sheet with errors planted, and the sheet lines (title + blank + header: data
    starts on line 4) that must be named, with their households."""
    hukou = [list(r) for r in rows if r[6]]
    rows = [list(r) for r in rows]
    rows[10][4] = "2025-13-01"  # no such date
    rows[100][5] = "2025-08-01"  # moved in before the allocation: the state machine refuses
    rows[200][7] = "2099-01-01"  # after today
    bad = [rows[10], rows[100], rows[200]]
    unknown = [["", "S-9999", "", "99号101室", "2025-09-01", "", "", ""],  # no such household:
               ["", "S-9999", "", "", "", "2025-09-30", "", ""]]  # both its rows are named
    rows[40:40] = unknown
    head = _ids("S", 159)[0]
    wrong = ["", "S-0159", "", "", "", "", head[:-1] + ("0" if head[-1] != "0" else "1"), "2025-10-09"]
    rows.append(wrong)  # a wrong check digit
    bad += [*unknown, wrong]
    while len(rows) < 500:  # filler: hukou rows repeated, same dates: no error, nothing more to do
        rows.append(list(hukou[(7 * len(rows)) % len(hukou)]))
    marked = {id(r) for r in bad}
    return rows, {n + 4: r[1] for n, r in enumerate(rows) if id(r) in marked}


async def test_planted_errors_refuse_the_sheet_naming_those_rows(signed, tmp_path):
    rows, planted = _plant(_move_rows("S"))
    assert len(rows) == 500
    before = await _state("S")
    report = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", rows)])
    assert report.outcome == "rejected"
    assert {i.row for i in report.issues if i.level == "错误"} == set(planted)
    assert report.error_rows == len(planted)
    assert await _state("S") == before
    skipped = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", rows)], skip_invalid=True)
    assert skipped.outcome == "partial"
    bad = set(planted.values())
    assert skipped.households_skipped == len(bad)
    assert skipped.households_allocated == HOUSEHOLDS - len(bad - {"S-9999"})
    # the households without an error ended as single records would; the bad ones are untouched
    await _singles("T")
    good = [s for s in await _state("S") if f"S-{s[0]}" not in bad]
    twins = [t for t in await _state("T") if f"S-{t[0]}" not in bad]
    assert good == twins
    untouched = {s[0]: s[1] for s in await _state("S") if f"S-{s[0]}" in bad}
    assert set(untouched.values()) == {"handed_over"}


async def test_dry_run_writes_nothing(signed, tmp_path):
    rows = _move_rows("S")
    before = await _state("S")
    events = await AuditEvent.all().count()
    preview = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", rows)], dry_run=True)
    assert preview.outcome == "preview" and preview.households_moved_in == HOUSEHOLDS // 2
    assert await _state("S") == before
    assert await AuditEvent.all().count() == events
    assert await Handoff.all().count() == 0


async def test_one_unit_one_household(signed, tmp_path):
    rows = [["", "S-0000", "", "1号101室", "2025-09-01", "", "", ""],
            ["", "S-0001", "", "1号１０１室", "2025-09-01", "", "", ""]]  # the same unit, spelt apart
    report = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", rows)])
    assert report.outcome == "rejected"
    messages = [i.message for i in report.issues]
    assert len(messages) == 2 and all("S-0000" in m and "S-0001" in m for m in messages)
    await registry.record_step(work(OFFICE), "S-0005", Status.ALLOCATED, D(2025, 8, 1), unit="9号901室")
    report = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", [
        ["", "S-0006", "陈家新苑", "9号901室", "2025-09-01", "", "", ""]])])
    assert report.outcome == "rejected"
    (issue,) = report.issues
    assert "S-0005" in issue.message and "S-0006" in issue.message and issue.row == 4
    # another community's unit of the same number is another unit
    other = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", [
        ["", "T-0006", "陈家二苑", "9号901室", "2025-09-01", "", "", ""]])])
    assert other.outcome == "imported"


async def test_community_must_match_and_conflicting_dates_refused(signed, tmp_path):
    await registry.record_step(work(OFFICE), "S-0002", Status.ALLOCATED, D(2025, 8, 1), unit="2号201室")
    report = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", [
        ["", "S-0000", "陈家二苑", "1号101室", "2025-09-01", "", "", ""],
        ["", "S-0001", "陈家镇/陈家新苑", "1号201室", "2025-09-01", "", "", ""],
        ["", "S-0002", "", "2号201室", "2025-09-01", "", "", ""],
        ["", "S-0003", "", "3号301室", "2025-09-01", "", "", ""],
        ["", "S-0003", "", "3号302室", "", "", "", ""]])])
    errors = {i.row: i for i in report.issues if i.level == "错误"}
    assert set(errors) == {4, 6, 8}
    assert "陈家新苑" in errors[4].message and errors[4].column == "安置社区"
    assert "2025-08-01" in errors[6].message
    assert "第7行" in errors[8].message and errors[8].column == "房号"


async def test_scope_is_judged_on_stored_rows(signed, tmp_path):
    rows = [["", "S-0000", "", "1号101室", "2025-09-01", "", "", ""]]
    theirs = await import_moves(work(XINHE), [write_moves(tmp_path / "m.csv", rows)])
    assert theirs.outcome == "rejected" and "找不到" in theirs.issues[0].message
    assert (await Household.get(agreement_no="S-0000")).allocated_on is None
    ours = await import_moves(work(CHENQIAO), [write_moves(tmp_path / "m.csv", rows)])
    assert ours.outcome == "imported"
    with pytest.raises(Exception, match="权限|无权"):
        await import_moves(work(Actor("d", role="desk")), [write_moves(tmp_path / "m.csv", rows)])


async def test_bad_cells_are_named(signed, tmp_path):
    rows = [["", "", "", "1号101室", "2025-09-01", "", "", ""],
            ["", "S-0001", "", "", "", "", make_id("19600101", 3), ""],
            ["", "S-0002", "", "", "", "", "", ""],
            ["", "S-0003", "", "", "2025/9/1", "", "", ""]]
    report = await import_moves(work(OFFICE), [write_moves(tmp_path / "m.csv", rows)])
    by_row = {i.row: i.message for i in report.issues}
    assert "协议编号不能为空" in by_row[4]
    assert "同时填写" in by_row[5]
    assert "没有可登记的内容" in by_row[6]
    assert [i.level for i in report.issues if i.row == 7] == ["警告"]  # slashes make a date; no 房号 warns
    assert report.error_rows == 3


def test_template_has_every_column(tmp_path):
    from openpyxl import load_workbook

    path = write_template(tmp_path / "t.xlsx")
    header = [c.value for c in next(load_workbook(path).active.iter_rows(max_row=1))]
    assert header == [main + ("*" if required else "") for main, _, required in MOVES_SHEET.columns.values()]


def test_move_header_reads_back(tmp_path):
    from resettle.sheets import read_sheet

    path = tmp_path / "x.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["标题"], MOVE_HEADER, ["", "S-1", "", "1", "2025-09-01", "", "", ""]])
    sheet = read_sheet(path, MOVES_SHEET)
    assert sheet.row_numbers.tolist() == [3] and sheet.frame["agreement_no"].tolist() == ["S-1"]


def test_the_command_and_its_exit_statuses(_cli, tmp_path):  # noqa: F811 (the fixture)
    cli = _cli
    import json

    signing = write_csv(tmp_path / "s.csv", [person("A-001", "张三", make_id("19600101", 1), handed="2024-01-02"),
                                             person("A-002", "李四", make_id("19600101", 2), handed="2024-01-02")])
    assert cli("registry", "import", str(signing)).exit_code == 0
    template = tmp_path / "moves.xlsx"
    from click.testing import CliRunner

    from cli.main import main
    made = CliRunner().invoke(main, ["registry", "template", "moves", "--out", str(template)])
    assert made.exit_code == 0 and template.exists()
    bad = write_moves(tmp_path / "m.csv", [["", "A-001", "", "1号101室", "2025-09-01", "2025-09-30", "", ""],
                                           ["", "A-002", "", "1号101室", "2025-09-01", "", "", ""]])
    result = cli("registry", "moves", str(bad), "--format", "json")
    assert result.exit_code == 3
    summary = json.loads(result.output)
    for key in ("households_allocated", "households_moved_in", "persons_hukou_moved", "rows_unchanged",
                "error_rows", "warnings"):
        assert key in summary
    assert summary["error_rows"] == 2 and (tmp_path / "m.errors.xlsx").exists()
    assert cli("registry", "moves", str(bad), "--dry-run", "--skip-invalid").exit_code == 4
    good = write_moves(tmp_path / "g.csv", [["", "A-001", "陈家新苑", "1号101室", "2025-09-01", "2025-09-30", "",
                                             ""], ["", "A-001", "", "", "", "", make_id("19600101", 1), "2025-10-09"]])
    result = cli("registry", "moves", str(good))
    assert result.exit_code == 0 and "登记完成" in result.output and "入住户 1" in result.output
    again = cli("registry", "moves", str(good), "--format", "json")
    assert again.exit_code == 0 and json.loads(again.output)["rows_unchanged"] == 2


# ---------------------------------------------------------------- the pages and the API


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    from tests.test_web import ADMIN, make_site

    client = await make_site(aiohttp_client, db_url, tmp_path)
    await registry.record_step(work(ADMIN), "A-001", Status.HANDED_OVER, D(2024, 1, 2))
    return client


async def test_page_upload_preview_confirm(site):
    import re

    from tests.test_web import csrf_of, log_in

    await log_in(site, "township")  # 陈家镇's liaison: A-001 moves into 陈家镇
    assert (await site.get("/registry/moves/template.xlsx")).status == 200
    token = await csrf_of(site, "/registry/moves")
    rows = [["", "A-001", "陈家新苑", "5号501室", "2025-09-01", "2025-09-30", "", ""],
            ["", "C-003", "", "1号101室", "2025-09-01", "", "", ""]]  # 堡镇 → 堡镇: out of scope
    with write_moves(site.tmp / "up.csv", rows).open("rb") as handle:
        preview = await site.post("/registry/moves", data={"csrf": token, "sheet": handle})
    text = await preview.text()
    assert preview.status == 200 and "尚未写入任何数据" in text and "找不到协议编号" in text
    upload = re.search(r"/registry/moves/([\w-]+)/confirm", text)[1]
    assert (await site.get(f"/registry/moves/{upload}/errors.xlsx")).status == 200
    assert (await Household.get(agreement_no="A-001")).allocated_on is None
    rejected = await site.post(f"/registry/moves/{upload}/confirm", data={"csrf": token})
    assert "未写入任何数据" in await rejected.text()
    done = await site.post(f"/registry/moves/{upload}/confirm", data={"csrf": token, "skip_invalid": "1"})
    assert "已登记没有错误的户" in await done.text()
    h = await Household.get(agreement_no="A-001")
    assert (h.status, h.unit) == ("moved_in", "5号501室")
    assert await Handoff.filter(household_id=h.id).count() > 0


async def test_api_moves(site):
    auth = {"Authorization": f"Bearer {site.tokens['office']}"}
    rows = [["", "A-001", "", "5号501室", "2025-09-01", "", "", ""]]
    with write_moves(site.tmp / "a.csv", rows).open("rb") as handle:
        response = await site.post("/api/v1/moves", data={"sheet": handle, "dry_run": "true"}, headers=auth)
    body = await response.json()
    assert response.status == 200 and body["outcome"] == "preview" and body["households_allocated"] == 1
    with write_moves(site.tmp / "a.csv", rows).open("rb") as handle:
        response = await site.post("/api/v1/moves", data={"sheet": handle}, headers=auth)
    assert response.status == 200 and (await response.json())["outcome"] == "imported"
    late = write_moves(site.tmp / "b.csv", [["", "B-002", "", "5号501室", "2099-01-01", "", "", ""]])
    with late.open("rb") as handle:
        response = await site.post("/api/v1/moves", data={"sheet": handle}, headers=auth)
    body = await response.json()
    assert response.status == 422 and body["issues"][0]["column"] == "分房日期"
    response = await site.post("/api/v1/moves", data={"nope": "1"}, headers=auth)
    assert response.status == 415 and "multipart" in (await response.json())["error"]["message"]
    desk = {"Authorization": f"Bearer {site.tokens['desk']}"}
    with write_moves(site.tmp / "a.csv", rows).open("rb") as handle:
        assert (await site.post("/api/v1/moves", data={"sheet": handle}, headers=desk)).status == 403


async def test_an_xlsx_with_date_cells_and_an_id_excel_made_a_number(signed, tmp_path):
    from tests.sheets import write_xlsx

    head = _ids("S", 1)[0]
    rows = [["", "S-0001", "陈家新苑", "1号201室", dt.datetime(2025, 9, 1), dt.datetime(2025, 9, 30), None, None],
            ["", "S-0001", None, None, None, None, float(head[:15]), dt.datetime(2025, 10, 9)]]
    report = await import_moves(work(OFFICE), [write_xlsx(tmp_path / "m.xlsx", rows, header=MOVE_HEADER)])
    assert report.outcome == "rejected"
    (issue,) = report.issues
    assert (issue.row, issue.column) == (5, "公民身份号码") and "Excel" in issue.message
    rows[1][6] = head
    report = await import_moves(work(OFFICE), [write_xlsx(tmp_path / "m.xlsx", rows, header=MOVE_HEADER)])
    assert report.outcome == "imported" and report.persons_hukou_moved == 1 and report.households_moved_in == 1
