"""Demands imported from a sheet (四百走访, the 12345 hotline): the template, row-level messages,
all or nothing, --skip-invalid, a preview, and residents matched from the registry."""

import datetime as dt

import pandas as pd
import pytest
from openpyxl import load_workbook

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound
from resettle.models import AuditEvent, Community, Demand
from resettle.policy import load_policy
from resettle.rules.permissions import Forbidden
from resettle.rules.signing_sheet import NUMERIC_ID_MESSAGE
from services.desk_import import import_demands, write_issue_report, write_template
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.test_desk_papers import ADMIN, HEAD, STRANGER, seed_residents
from tests.work import DAY, work

HEADER = ["受理日期", "渠道", "类别", "诉求内容", "姓名", "身份证号", "房号", "联系电话"]


def filled(path, rows):
    """The template as a clerk fills it: rows typed under the header."""
    write_template(path, load_policy())
    book = load_workbook(path)
    for r, row in enumerate(rows, 2):
        for c, value in enumerate(row, 1):
            book["需求"].cell(r, c, value)
    book.save(path)
    return path


def demand(text="电梯异响", name="张三英", id_number=HEAD, unit="", phone="", channel="走访", category="物业维修",
           on=DAY):
    return [on, channel, category, text, name, id_number, unit, phone]


@pytest.fixture
async def clerk(db, tmp_path):
    return await seed_residents(tmp_path)


async def test_all_or_nothing_then_skip_invalid(clerk, tmp_path):
    rows = [demand("3号楼电梯异响", on=DAY - dt.timedelta(days=1)),
            demand("垃圾清运不及时", name="王五", id_number="", unit="5号202室", channel="12345热线",
                   category="环境卫生"),
            demand("外来车辆乱停", name="访客甲", id_number="", phone="138-1234-5678", channel="电话", category="停车",
                   on=f"{DAY.year}年{DAY.month}月{DAY.day}日"),
            demand(channel="微信"),
            demand(category="装修"),
            demand(on="2026-13-01"),
            demand(name="访客乙", id_number=""),
            demand(id_number=310230196001010000),
            demand(text=""),
            demand(on=DAY + dt.timedelta(days=1))]
    path = filled(tmp_path / "visits.xlsx", rows)
    report = await import_demands(clerk, path, None)
    assert (report["outcome"], report["rows_read"], report["added"], report["error_rows"]) == ("rejected", 10, 0, 7)
    assert await Demand.all().count() == 0 and not await AuditEvent.filter(action="desk.intake").exists()
    assert [(i["row"], i["column"], i["level"]) for i in report["issues"]] == [
        (5, "渠道", "错误"), (6, "类别", "错误"), (7, "受理日期", "错误"), (8, "联系电话", "错误"),
        (9, "身份证号", "错误"), (10, "诉求内容", "错误"), (11, "受理日期", "错误")]
    by_row = {i["row"]: i for i in report["issues"]}
    assert by_row[5]["value"] == "微信" and "受理渠道只能是" in by_row[5]["message"]
    assert "需求类别只能是" in by_row[6]["message"] and "不存在" in by_row[7]["message"]
    assert by_row[8]["message"] == "非本社区登记居民须留联系电话"
    assert by_row[9]["message"] == NUMERIC_ID_MESSAGE and "晚于今天" in by_row[11]["message"]

    sheet = pd.read_excel(write_issue_report(report, tmp_path / "e.xlsx"), dtype=str, engine="calamine")
    assert list(sheet.columns) == ["行号", "列", "值", "级别", "问题"] and len(sheet) == 7

    report = await import_demands(clerk, path, None, skip_invalid=True)
    assert (report["outcome"], report["added"], report["error_rows"]) == ("partial", 3, 7)
    taken = {d.text: d for d in await Demand.filter(id__in=report["demand_ids"]).prefetch_related("person")}
    assert taken["3号楼电梯异响"].person.id_number == HEAD
    assert taken["3号楼电梯异响"].received_on == DAY - dt.timedelta(days=1)
    assert taken["垃圾清运不及时"].resident_name == "王五" and taken["垃圾清运不及时"].person is not None
    assert taken["垃圾清运不及时"].channel == "hotline" and taken["垃圾清运不及时"].unit == "5号202室"
    visitor = taken["外来车辆乱停"]
    assert visitor.person is None and visitor.contact == "13812345678" and visitor.received_on == DAY
    assert await AuditEvent.filter(action="desk.import").count() == 1


async def test_residents_matched_by_id_or_name_and_unit(clerk, tmp_path):
    # a second 李四 in 3号101室: name and unit no longer tell them apart
    extra = write_csv(tmp_path / "more.csv", [person("A-001", "张三英", HEAD, "户主", unit="3号101室"),
                                              person("A-001", "李四", make_id("19620101", 2), "配偶", unit="3号101室"),
                                              person("A-001", "李四", make_id("19900101", 5), "子女", unit="3号101室")])
    assert (await import_sheets(work(ADMIN), [extra])).error_rows == 0
    rows = [demand("路灯", name="赵六", id_number=STRANGER, phone="13900001111"),
            demand("噪音", name="张三"),
            demand("漏水", name="李四", id_number="", unit="3号101室"),
            demand("停车位", name="王五", id_number="", unit="9号909室")]
    path = write_csv(tmp_path / "hotline.csv", [[str(c) for c in row] for row in rows], header=HEADER)
    report = await import_demands(clerk, path, "陈家新苑", skip_invalid=True)
    assert report["outcome"] == "partial" and report["added"] == 2 and report["warnings"] == 2
    assert [(i["row"], i["column"], i["level"]) for i in report["issues"]] == [
        (4, "身份证号", "警告"), (5, "姓名", "警告"), (6, "房号", "错误"), (7, "联系电话", "错误")]
    assert "按非登记居民受理" in report["issues"][0]["message"]
    assert "张三英" in report["issues"][1]["message"] and "2位名为“李四”" in report["issues"][2]["message"]
    stranger, head = await Demand.filter(id__in=report["demand_ids"]).order_by("id")
    assert stranger.person_id is None and stranger.resident_name == "赵六" and stranger.contact == "13900001111"
    assert head.person_id is not None and head.resident_name == "张三英" and head.unit == "3号101室"


async def test_preview_and_importing_again(clerk, tmp_path):
    rows = [demand(), demand("楼道灯坏", category="设施配套"), demand("楼道灯坏", category="设施配套"),
            demand("车棚漏雨", name="访客丙", id_number="")]
    path = filled(tmp_path / "d.xlsx", rows)
    report = await import_demands(clerk, path, None, dry_run=True)
    assert (report["outcome"], report["added"], report["demand_ids"]) == ("preview", 2, [])
    assert report["duplicates"] == 1 and "与第3行相同" in report["issues"][0]["message"]
    assert await Demand.all().count() == 0 and not await AuditEvent.filter(action="desk.import").exists()
    steps = []
    report = await import_demands(clerk, path, None, skip_invalid=True,
                                  progress=lambda stage, done, total: steps.append((done, total)))
    assert report["outcome"] == "partial" and await Demand.all().count() == 2
    assert steps[-1] == (4, 4)
    # the clerk adds the missing phone and imports the whole sheet again: only that row is new
    rows[3][-1] = "021-59612345"
    report = await import_demands(clerk, filled(tmp_path / "d.xlsx", rows), None)
    assert (report["outcome"], report["added"], report["duplicates"]) == ("imported", 1, 3)
    assert [i["message"][:6] for i in report["issues"]] == ["与已登记的需"] * 3
    again = await import_demands(clerk, tmp_path / "d.xlsx", None)
    assert (again["outcome"], again["added"], again["duplicates"]) == ("unchanged", 0, 4)
    assert await Demand.all().count() == 3


async def test_scope_and_unreadable_sheets(clerk, tmp_path):
    community = await Community.get(name="陈家新苑")
    path = filled(tmp_path / "d.xlsx", [demand()])
    liaison = work(Actor("test:cj", role="township", township=community.township_code))
    with pytest.raises(Forbidden):
        await import_demands(liaison, path, "陈家新苑")
    other = await Community.get(name="堡新苑")
    stranger = work(Actor("t:d2", role="desk", township=other.township_code, community_id=other.id))
    with pytest.raises(NotFound):
        await import_demands(stranger, path, "陈家新苑")
    with pytest.raises(DomainError, match="缺少必需的列：渠道、类别"):
        await import_demands(clerk, write_csv(tmp_path / "x.csv", [["2026-11-01", "电梯", "张三英"]],
                                              header=["受理日期", "诉求内容", "姓名"]), None)
    with pytest.raises(DomainError, match="中没有需求行"):
        await import_demands(clerk, filled(tmp_path / "empty.xlsx", []), None)
    with pytest.raises(DomainError, match="找不到表头（应含 受理日期、渠道、类别、诉求内容、姓名 等列）"):
        await import_demands(clerk, write_csv(tmp_path / "y.csv", [["a"]], header=["x"]), None)


def test_template_offers_the_policy_choices(tmp_path):
    book = load_workbook(write_template(tmp_path / "t.xlsx", load_policy()))
    assert [c.value for c in book["需求"][1]] == ["受理日期*", "渠道*", "类别*", "诉求内容*", "姓名*",
                                                  "身份证号", "房号", "联系电话"]
    lists = [v.formula1 for v in book["需求"].data_validations.dataValidation]
    assert '"统一接待,走访,电话,12345热线,网上"' in lists and any("物业维修" in f for f in lists)
    assert book["需求"]["F2"].number_format == "@"
    notes = {row[0]: row for row in book["填写说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["联系电话"][1] == "选填" and "养老服务" in notes["类别"][2]
