"""The registry import under hostile or careless sheets: scope judged on the stored rows, one
户主 per household, townships never changed by a sheet, provisional 房号, warnings at scale."""

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from resettle.actor import Actor
from resettle.errors import NotFound
from resettle.models import Household, Person
from resettle.policy import default_policy_path, load_policy
from services import registry
from services.registry_import import import_sheets, write_issue_report
from tests.sheets import make_id, person, write_csv
from tests.work import work

TODAY = dt.date(2026, 1, 1)
OFFICE = Actor("test:office", role="office")
CHENGQIAO = Actor("web:cq", role="township", township="310151101")  # 城桥镇, A-001's origin
BAOZHEN = Actor("web:bz", role="township", township="310151102")  # 堡镇, no part in A-001


async def run(actor, *paths, **kw):
    return await import_sheets(work(actor, on=TODAY), paths, **kw)


def family(agreement="A-001", seq=1, **kw):
    return [person(agreement, "张三", make_id("19600101", seq), "户主", **kw),
            person(agreement, "李四", make_id("19620202", seq + 1), "配偶", **kw)]


async def stored(agreement="A-001"):
    household = await Household.get(agreement_no=agreement).prefetch_related("community")
    members = await Person.filter(household_id=household.id).order_by("id")
    return ((household.origin_township, household.dest_township, household.community.name,
             household.signed_on, household.handed_over_on, household.unit),
            [(m.name, m.id_number, m.relation) for m in members])


async def seeded(tmp_path):
    """A-001 moves out of 城桥镇 into 陈家镇, imported by the office."""
    report = await run(OFFICE, write_csv(tmp_path / "seed.csv", family(handed="2023-06-01")))
    assert report.outcome == "imported", report.issues
    return await stored()


async def test_liaison_cannot_take_another_townships_household(db, tmp_path):
    before = await seeded(tmp_path)
    attack = [person("A-001", "王五", make_id("19700303", 50), "户主", origin="堡镇", dest="堡镇",
                     community="堡新苑", signed="2024-01-01", handed="2024-02-01"),
              person("A-001", "张三", make_id("19600101", 1), "配偶", origin="堡镇", dest="堡镇",
                     community="堡新苑", signed="2024-01-01", handed="2024-02-01")]
    report = await run(BAOZHEN, write_csv(tmp_path / "attack.csv", attack))
    assert report.outcome == "rejected"
    assert {i.row for i in report.issues} == {4, 5}
    assert all(i.level == "错误" and "既不从堡镇迁出" in i.message for i in report.issues)
    assert not any("城桥镇" in i.message or "陈家镇" in i.message for i in report.issues)  # no leak
    assert await stored() == before
    assert await Person.filter(relation="户主").count() == 1
    with pytest.raises(NotFound):
        await registry.show_household(work(BAOZHEN), "A-001", full_ids=True)
    # --skip-invalid skips the whole household and writes nothing of it either
    report = await run(BAOZHEN, write_csv(tmp_path / "attack.csv", attack), skip_invalid=True)
    assert report.households_skipped == 1 and report.persons_added == 0
    assert await stored() == before


async def test_liaison_corrects_own_household_and_office_reimport_is_unchanged(db, tmp_path):
    before = await seeded(tmp_path)
    rows = family(handed="2023-06-01")
    rows[1][5] = "13987654321"
    report = await run(CHENGQIAO, write_csv(tmp_path / "fix.csv", rows))
    assert report.outcome == "imported", report.issues
    assert (report.persons_updated, report.households_unchanged) == (1, 1)
    assert (await Person.get(name="李四")).phone == "13987654321"
    assert await stored() == before
    report = await run(OFFICE, write_csv(tmp_path / "fix.csv", rows))
    assert report.outcome == "unchanged" and not report.issues


async def test_a_second_head_beside_the_stored_one_is_refused(db, tmp_path):
    before = await seeded(tmp_path)
    rows = [person("A-001", "王五", make_id("19700303", 50), "户主", handed="2023-06-01")]
    report = await run(CHENGQIAO, write_csv(tmp_path / "head.csv", rows))
    assert report.outcome == "rejected"
    [issue] = report.issues
    assert (issue.row, issue.column, issue.level) == (4, "与户主关系", "错误")
    assert "已登记户主张三" in issue.message and "只能有1个户主" in issue.message
    assert await stored() == before
    # naming the old head on the sheet with another relation hands the household over
    rows.append(person("A-001", "张三", make_id("19600101", 1), "父亲", handed="2023-06-01"))
    report = await run(CHENGQIAO, write_csv(tmp_path / "head.csv", rows))
    assert report.outcome == "imported", report.issues
    assert [p.name for p in await Person.filter(relation="户主")] == ["王五"]


@pytest.mark.parametrize("actor", [OFFICE, CHENGQIAO], ids=["office", "township"])
@pytest.mark.parametrize(("column", "value", "header"), [(6, "堡镇", "迁出乡镇"), (9, "城桥镇", "迁入乡镇")])
async def test_a_sheet_never_moves_a_household_to_another_township(db, tmp_path, actor, column, value, header):
    before = await seeded(tmp_path)
    rows = family(handed="2023-06-01")
    for row in rows:
        row[column] = value
        row[10] = "城桥新苑" if column == 9 else row[10]
    report = await run(actor, write_csv(tmp_path / "move.csv", rows))
    assert report.outcome == "rejected"
    [issue] = report.issues
    assert (issue.row, issue.column, issue.value) == (4, header, value)
    assert f"{header}与已登记的" in issue.message and "区集中居住办" in issue.message
    assert await stored() == before


async def test_a_provisional_unit_shared_or_held_is_a_warning(db, tmp_path):
    await seeded(tmp_path)
    await registry.record_step(work(OFFICE), "A-001", registry.Status.ALLOCATED, dt.date(2024, 1, 5),
                               unit="27号503室")
    rows = (family("B-002", seq=10, unit="27号503室") + family("C-003", seq=20, unit="28号101室")
            + family("D-004", seq=30, unit="28号101室"))
    report = await run(OFFICE, write_csv(tmp_path / "units.csv", rows))
    assert report.outcome == "imported", report.issues
    by_row = {i.row: i for i in report.issues}
    assert set(by_row) == {4, 6, 8} and {i.level for i in report.issues} == {"警告"}
    assert "协议编号A-001（已分房）" in by_row[4].message and by_row[4].value == "27号503室"
    assert "D-004" in by_row[6].message and "C-003" in by_row[8].message
    assert await Household.filter(unit="28号101室").count() == 2


async def test_a_held_unit_out_of_scope_is_not_named(db, tmp_path):
    """A liaison of the origin township learns that the unit is held, not by whom."""
    await seeded(tmp_path)
    await registry.record_step(work(OFFICE), "A-001", registry.Status.ALLOCATED, dt.date(2024, 1, 5),
                               unit="27号503室")
    rows = family("B-002", seq=10, origin="堡镇", unit="27号503室")
    report = await run(BAOZHEN, write_csv(tmp_path / "units.csv", rows))
    [issue] = report.issues
    assert issue.level == "警告" and "A-001" not in issue.message and "另一户" in issue.message


async def test_an_id_held_out_of_scope_does_not_name_its_household(db, tmp_path):
    await seeded(tmp_path)
    rows = [person("B-002", "张三", make_id("19600101", 1), origin="堡镇")]
    report = await run(BAOZHEN, write_csv(tmp_path / "id.csv", rows))
    [issue] = report.issues
    assert issue.level == "错误" and "A-001" not in issue.message and "另一户" in issue.message


async def test_repeated_warning_is_reported_once_with_count_and_first_rows(db, tmp_path):
    from fixtures.generate import write_sheet

    unmarked = tmp_path / "policy.toml"  # the example policy with no township marked out or in
    unmarked.write_text(re.sub(r"(?m)^roles = .*$", "roles = []",
                               Path(default_policy_path()).read_text(encoding="utf-8")), encoding="utf-8")
    stats = write_sheet(tmp_path / "g.csv", 400, seed=3)
    under = dataclasses.replace(work(OFFICE, on=TODAY), policy=load_policy(str(unmarked)))
    report = await import_sheets(under, [tmp_path / "g.csv"])
    assert report.outcome == "imported", report.issues[:3]
    townships = [i for i in report.issues if "未标为" in i.message]
    # one finding per township named, however many rows name it
    assert len(townships) == len({(i.column, i.value) for i in townships}) < 40
    assert sum(i.count for i in townships) == 2 * stats.persons
    biggest = max(townships, key=lambda i: i.count)
    assert biggest.count > 5 and f"共 {biggest.count:,} 行，首见于第 {biggest.row}、" in biggest.message
    assert report.warning_rows == stats.persons and report.warnings == len(report.issues)
    # the clerk's report keeps its columns, one line per finding
    sheet = load_workbook(write_issue_report(report, tmp_path / "g.errors.xlsx")).active
    assert [c.value for c in sheet[1]] == ["行号", "协议编号", "列", "值", "级别", "问题"]
    assert sheet.max_row == len(report.issues) + 1

