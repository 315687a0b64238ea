"""The registry import against a real database (SQLite file, or PostgreSQL in CI)."""

import datetime as dt

import pytest

from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import AuditEvent, Community, Household, Person, Village
from services import registry_import
from services.registry_import import import_sheets
from tests.sheets import HEADER, make_id, person, write_csv, write_xlsx
from tests.work import work

ACTOR = Actor("test:clerk")
TODAY = dt.date(2026, 1, 1)


async def run(*paths, **kw):
    return await import_sheets(work(ACTOR, on=TODAY), paths, **kw)


def family(agreement="A-001", seq=1, **kw):
    return [
        person(agreement, "张三", make_id("19600101", seq), "户主", **kw),
        person(agreement, "李四", make_id("19620202", seq + 1), "配偶", **kw),
    ]


async def test_clerk_sheet_imports(db, tmp_path):
    """Title row, aliases, extra columns, mixed date formats, lower-case x, full-width digits."""
    x_id = make_id("19500315", 37)
    while not x_id.endswith("X"):  # find an ID whose check character is X
        x_id = make_id("19500315", int(x_id[14:17]) + 1)
    wide = make_id("19851111", 20).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows = [
        person("A-001", " 王大明 ", x_id.lower(), "户主", phone="+86 138-1234-5678", origin="城桥",
               signed="2023/5/6", handed="2023年6月1日", tags="低保、党员"),
        person("A-001", "王小明", wide, "儿子", phone="", origin="城桥镇", signed="2023-05-06",
               handed="2023.6.1", hukou="陈家镇"),
        person("B-002", "赵六", make_id("19700707", 5, "310113"), "户主", origin="长兴镇", dest="长兴",
               community="长兴 佳苑", signed="45052"),
    ]
    report = await run(write_csv(tmp_path / "clerk.csv", rows, encoding="utf-8-sig"))
    assert report.outcome == "imported", report.issues
    assert (report.households_added, report.persons_added, report.error_rows) == (2, 3, 0)
    assert sorted(report.new_communities) == ["长兴镇长兴佳苑", "陈家镇陈家新苑"]
    head = await Person.get(id_number=x_id)
    assert (head.name, head.phone, head.tags) == ("王大明", "13812345678", "低保、党员")
    assert head.hukou_township == "310151101"
    son = await Person.get(name="王小明")
    assert son.id_number == make_id("19851111", 20) and son.hukou_township == "310151110"
    household = await Household.get(agreement_no="A-001")
    assert (household.status, household.signed_on, household.handed_over_on) == (
        "handed_over", dt.date(2023, 5, 6), dt.date(2023, 6, 1))
    assert (household.member_count, household.separated_count) == (2, 1)
    assert (await Household.get(agreement_no="B-002")).signed_on == dt.date(2023, 5, 6)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
async def test_csv_encodings(db, tmp_path, encoding):
    report = await run(write_csv(tmp_path / "s.csv", family(), encoding=encoding))
    assert report.outcome == "imported"
    assert await Person.filter(name="张三").count() == 1


async def test_xlsx_with_date_cells_and_header_lower_down(db, tmp_path):
    rows = family()
    for row in rows:
        row[12] = dt.datetime(2023, 5, 6)
        row[13] = 45100  # an Excel serial
    report = await run(write_xlsx(tmp_path / "s.xlsx", rows))
    assert report.outcome == "imported", report.issues
    household = await Household.get(agreement_no="A-001")
    assert household.handed_over_on == dt.date(2023, 6, 23)


async def test_id_stored_as_number_by_excel_is_named(db, tmp_path):
    rows = family()
    rows[0][3] = 310230196001010000  # what Excel keeps of a number typed without a text format
    report = await run(write_xlsx(tmp_path / "s.xlsx", rows))
    assert report.outcome == "rejected"
    [issue] = report.issues
    assert (issue.row, issue.column, issue.level) == (4, "公民身份号码", "错误")
    assert "被Excel存成了数字" in issue.message


async def test_errors_reject_everything_and_name_each_row(db, tmp_path):
    rows = family("A-001") + family("B-002", seq=10)
    rows[1][3] = rows[1][3][:-1] + ("0" if rows[1][3][-1] != "0" else "1")  # bad check character
    rows[2][6] = "东海镇"  # no such township
    report = await run(write_csv(tmp_path / "s.csv", rows))
    assert report.outcome == "rejected"
    assert report.error_rows == 2 and report.households_skipped == 2
    by_row = {i.row: i for i in report.issues}
    assert "校验位错误" in by_row[5].message and by_row[5].agreement_no == "A-001"
    assert by_row[6].column == "迁出乡镇" and "东海镇" in by_row[6].message
    assert await Household.all().count() == 0 and await AuditEvent.all().count() == 0


async def test_skip_invalid_writes_whole_good_households(db, tmp_path):
    rows = family("A-001") + family("B-002", seq=10)
    rows[3][2] = ""  # B-002's second member has no name
    report = await run(write_csv(tmp_path / "s.csv", rows), skip_invalid=True)
    assert report.outcome == "partial"
    assert (report.households_added, report.persons_added, report.households_skipped) == (1, 2, 1)
    assert await Household.filter(agreement_no="B-002").count() == 0
    assert await Person.all().count() == 2


async def test_reimport_changes_nothing(db, tmp_path):
    path = write_csv(tmp_path / "s.csv", family())
    await run(path)
    events = await AuditEvent.all().count()
    report = await run(path)
    assert report.outcome == "unchanged" and not report.written
    assert (report.households_unchanged, report.persons_unchanged) == (1, 2)
    assert await AuditEvent.all().count() == events


async def test_changed_value_updates_with_audit(db, tmp_path):
    await run(write_csv(tmp_path / "a.csv", family()))
    rows = family()
    rows[1][2] = "李四娘"
    for row in rows:
        row[11] = "5号101室"
    report = await run(write_csv(tmp_path / "b.csv", rows))
    assert (report.households_updated, report.persons_updated, report.persons_unchanged) == (1, 1, 1)
    spouse = await Person.get(id_number=make_id("19620202", 2))
    assert spouse.name == "李四娘" and spouse.version == 2
    event = await AuditEvent.get(object_type="person", object_id=str(spouse.id))
    assert (event.actor, event.changes) == ("test:clerk", {"name": ["李四", "李四娘"]})
    household_event = await AuditEvent.get(object_type="household", object_id="A-001")
    assert household_event.changes == {"unit": ["", "5号101室"]}


async def test_household_rows_must_agree(db, tmp_path):
    rows = family()
    rows[1][10] = "陈家馨苑"
    report = await run(write_csv(tmp_path / "s.csv", rows))
    assert report.outcome == "rejected"
    assert {i.column for i in report.issues} == {"安置社区"}
    assert {i.row for i in report.issues} == {4, 5}


async def test_one_head_per_household(db, tmp_path):
    rows = family()
    rows[1][4] = "户主"
    report = await run(write_csv(tmp_path / "s.csv", rows))
    assert [i.message for i in report.issues] == ["该户有2个户主，应只有1个"]


async def test_same_id_in_two_households(db, tmp_path):
    rows = family("A-001") + [person("B-002", "张三", make_id("19600101", 1), "户主")]
    report = await run(write_csv(tmp_path / "s.csv", rows))
    assert report.households_skipped == 2
    assert {i.row for i in report.issues} == {4, 6}


async def test_id_already_in_another_household_is_an_error_for_the_new_one(db, tmp_path):
    await run(write_csv(tmp_path / "a.csv", family("A-001")))
    report = await run(write_csv(tmp_path / "b.csv", [person("B-002", "张三", make_id("19600101", 1))]))
    assert report.outcome == "rejected"
    [issue] = report.issues
    assert issue.agreement_no == "B-002" and "已登记在协议编号A-001" in issue.message


async def test_exact_duplicate_row_is_a_warning_and_counts_once(db, tmp_path):
    rows = family()
    rows.append(list(rows[1]))
    report = await run(write_csv(tmp_path / "s.csv", rows))
    assert report.outcome == "imported"
    assert (report.duplicate_rows, report.warnings, report.persons_added) == (1, 1, 2)
    assert report.issues[0].row == 6 and report.issues[0].level == "警告"


async def test_warnings_do_not_block(db, tmp_path):
    rows = family()
    rows[0][5] = "不详"
    rows[0][15] = "低保，外星人"
    report = await run(write_csv(tmp_path / "s.csv", rows))
    assert report.outcome == "imported" and report.warnings == 2
    head = await Person.get(name="张三")
    assert head.phone == "" and head.tags == "低保、外星人"


async def test_handover_before_signing_is_an_error(db, tmp_path):
    rows = family(signed="2023-05-06", handed="2023-05-01")
    report = await run(write_csv(tmp_path / "s.csv", rows))
    assert report.outcome == "rejected"
    assert "交房日期2023-05-01早于签约日期2023-05-06" in report.issues[0].message


async def test_missing_required_column_is_one_clear_error(db, tmp_path):
    header = [h for h in HEADER if h != "姓名"]
    rows = [r[:2] + r[3:] for r in family()]
    with pytest.raises(DomainError, match="缺少必需的列：姓名"):
        await run(write_csv(tmp_path / "s.csv", rows, header=header))


async def test_a_crash_mid_import_leaves_the_database_as_it_was(db, tmp_path, monkeypatch):
    await run(write_csv(tmp_path / "a.csv", family("A-001")))
    before = (await Household.all().count(), await Person.all().count(),
              await Village.all().count(), await Community.all().count(),
              await AuditEvent.all().count())
    original = registry_import.insert

    async def dies_on_persons(conn, table, *args, **kw):
        if table == "person":
            raise RuntimeError("killed")
        return await original(conn, table, *args, **kw)

    monkeypatch.setattr(registry_import, "insert", dies_on_persons)
    with pytest.raises(RuntimeError):
        await run(write_csv(tmp_path / "b.csv", family("B-002", seq=10, village="新村", community="新苑")))
    after = (await Household.all().count(), await Person.all().count(),
             await Village.all().count(), await Community.all().count(),
             await AuditEvent.all().count())
    assert after == before
    monkeypatch.setattr(registry_import, "insert", original)
    report = await run(write_csv(tmp_path / "b.csv", family("B-002", seq=10)))
    assert report.outcome == "imported"


async def test_generated_sheet_with_planted_errors(db, tmp_path):
    from fixtures.generate import write_sheet

    stats = write_sheet(tmp_path / "g.xlsx", 120, seed=7, error_rate=0.05)
    report = await run(tmp_path / "g.xlsx")
    assert stats.planted_errors > 0
    planted_rows = report.error_rows
    assert report.outcome == "rejected" and planted_rows >= stats.planted_errors
    report = await run(tmp_path / "g.xlsx", skip_invalid=True)
    assert report.households_added == stats.households - report.households_skipped
    assert await Household.all().count() == report.households_added


async def test_bulk_load_refreshes_planner_statistics(db, tmp_path, monkeypatch):
    """Above BIG_LOAD rows the import refreshes statistics after commit (VACUUM cannot run
    inside a transaction on PostgreSQL: this proves it runs outside one)."""
    monkeypatch.setattr(registry_import, "BIG_LOAD", 1)
    report = await run(write_csv(tmp_path / "s.csv", family()))
    assert report.outcome == "imported" and await Household.all().count() == 1
