"""The papers of project funding from real projects: the 审定单 says what was approved, by whom,
split how and on what evidence; the yearly summary's .xlsx adds up in Excel and its PDF says the
same."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Community
from resettle.policy import load_policy
from resettle.rules.household import Status
from services import desk, funding, funding_papers, registry
from services.funding_papers import in_yuan, write_approval_sheet, write_summary
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.test_desk_papers import pdf_text
from tests.test_funding import ADMIN, FINANCE, MINZHENG, TOWNSHIP, YEAR, community  # noqa: F401 (a fixture)
from tests.work import DAY, work

HOUSING = Actor("test:fg", role="department", department="区房管局", name="房管局科员")
POLICY = load_policy()  # the catalog the sheets name their items from
BAOZHEN = Actor("test:bz", role="township", township="310151102")  # 堡镇
MEETING = {"body": "居民代表会议", "held_on": f"{YEAR}-01-15", "attendance": 21, "votes_for": 15, "votes_against": 2}


async def desk_problem(community_name: str, title: str, *residents: str) -> int:
    """A 三合署 problem of the community raised by these residents (ID numbers)."""
    found = await Community.get(name=community_name)
    clerk = Actor("test:desk", role="desk", township=found.township_code, community_id=found.id)
    demands = [(await desk.intake(work(clerk), None, channel="统一接待", category="设施配套", text=title,
                                  resident=who))["id"] for who in residents]
    return (await desk.link(work(clerk), demands, title=title))["id"]


async def case_by_case(requested: int) -> dict:
    """A 一事一议 project in 陈家新苑 turned from a desk problem two households raised."""
    problem = await desk_problem("陈家新苑", "缺少电动自行车充电桩", make_id("19600101", 1), make_id("19600101", 2))
    return await funding.draft_from_problem(work(TOWNSHIP), problem, requested=requested, department="区民政局",
                                            deliberation=MEETING, description="在3号楼旁建车棚及充电桩20个")


@pytest.mark.usefixtures("community")
async def test_the_approval_sheet_of_an_approved_project(tmp_path):
    project = await case_by_case(12_000_000)
    await funding.submit(work(TOWNSHIP), project["id"])
    await funding.verify(work(MINZHENG), project["id"], 10_000_000)
    approved = await funding.approve(work(FINANCE), project["id"], 9_999_999)
    assert (approved["district_share"], approved["township_share"]) == (5_000_000, 4_999_999)  # half up

    text = pdf_text(write_approval_sheet(approved, tmp_path / "s.pdf", policy=POLICY, on=DAY))
    assert "社区治理项目审定单" in text and "预览" not in text
    for shown in ("陈家镇", "陈家新苑", "一事一议", "目录外（一事一议）", f"{YEAR}年", "区民政局",
                  "120,000.00元", "100,000.00元", "99,999.99元", "50%", "50,000.00元", "49,999.99元",
                  "民政局科员", "财政局科员", str(DAY),
                  "居民代表会议：到会21人，赞成15票，反对2票", "在3号楼旁建车棚及充电桩20个",
                  "三合署问题1个，2户居民反映", "缺少电动自行车充电桩", "资格审查：符合申报条件",
                  "赞成15票，超过到会人数的一半", "核定部门：区民政局", "区财政局", "经办人", "负责人"):
        assert shown in text, shown
    checks = approved["qualification"]["checks"]
    assert text.count(funding_papers.MET) == len(checks) and funding_papers.UNMET not in text

    done = await funding.complete(work(TOWNSHIP), project["id"], spent=9_000_000)
    text = pdf_text(write_approval_sheet(done, tmp_path / "done.pdf", policy=POLICY, on=DAY))
    assert "实际支出" in text and "90,000.00元" in text and "已验收" in text


@pytest.mark.usefixtures("community")
async def test_a_verified_project_prints_as_a_preview_and_an_earlier_one_not_at_all(tmp_path):
    project = await funding.draft(work(TOWNSHIP), community="陈家新苑", kind="operation", item="YY01",
                                  title="物业服务补贴", year=YEAR, requested=144_000)
    with pytest.raises(DomainError, match="“草稿”，尚未经核定部门核定，没有可审定的金额"):
        write_approval_sheet(project, tmp_path / "x.pdf", policy=POLICY, on=DAY)
    await funding.submit(work(TOWNSHIP), project["id"])
    with pytest.raises(DomainError, match="“待核定”"):
        write_approval_sheet(await funding.show(work(FINANCE), project["id"]), tmp_path / "x.pdf", policy=POLICY,
                             on=DAY)
    verified = await funding.verify(work(HOUSING), project["id"], 100_001)
    envelope = await funding.envelope(work(FINANCE), YEAR)
    text = pdf_text(write_approval_sheet(verified, tmp_path / "p.pdf", policy=POLICY, on=DAY, envelope=envelope))
    assert "社区治理项目审定单（预览）" in text and "待区财政局审定" in text and "不作拨款依据" in text
    assert "物业服务补贴" in text and "YY01" in text and "房管局科员" in text and "1,000.01元" in text
    assert "区级承担（试算）" in text and "500.01元" in text and "500.00元" in text  # 50% of 1,000.01
    assert "已入住4户" in text and "未引用三合署问题" in text
    assert f"{YEAR}年区级资金" in text and "剩余30,000,000.00元，足以承担本项目区级部分" in text
    assert "经办人" not in text  # nobody signs a preview
    assert not (tmp_path / "x.pdf").exists()

    rejected = await funding.send_back(work(FINANCE), project["id"], "rejected", "与已建项目重复")
    with pytest.raises(DomainError, match="未通过（与已建项目重复），不出具审定单"):
        write_approval_sheet(rejected, tmp_path / "x.pdf", policy=POLICY, on=DAY)


@pytest.mark.usefixtures("community")
async def test_the_sheet_shows_the_verdict_as_submitted(tmp_path):
    project = await funding.draft(work(TOWNSHIP), community="陈家新苑", kind="operation", item="YY01",
                                  title="物业服务补贴", year=YEAR, requested=144_000)
    await funding.submit(work(TOWNSHIP), project["id"])
    await funding.verify(work(HOUSING), project["id"], 100_000)
    # the standard was lowered to 300元 a household since the township submitted: the review
    # rests on the verdict the township submitted under
    policy = load_policy()
    lowered = tuple(replace(i, standard_per_household=30_000) if i.code == "YY01" else i for i in policy.funding.items)
    policy = replace(policy, funding=replace(policy.funding, items=lowered))
    shown = await funding.show(replace(work(FINANCE), policy=policy), project["id"])
    text = pdf_text(write_approval_sheet(shown, tmp_path / "p.pdf", policy=policy, on=DAY))
    assert "不超过年度标准每户360.00元×已入住4户=1,440.00元" in text and "不符合申报条件" not in text
    # a failed check is marked as such (the writer prints whatever verdict it is given)
    shown["qualification"] = {"qualifies": False, "reasons": ["申请金额超过年度标准"],
                              "checks": [{"ok": False, "text": "申请金额超过年度标准"}]}
    text = pdf_text(write_approval_sheet(shown, tmp_path / "q.pdf", policy=policy, on=DAY))
    assert "资格审查：不符合申报条件" in text and funding_papers.UNMET in text


async def approved_year(tmp_path) -> dict:
    """Approved projects of the year in 陈家镇 (operation, and construction where the district
    pays 60%) and 堡镇 (operation), one completed, and one only verified (not in the summary);
    returns finance's summary of the year."""
    rows = [person(f"B-{i:03d}", f"堡镇户主{i}", make_id("19500101", i), origin="堡镇", dest="堡镇",
                   community="堡新苑", handed="2024-01-02") for i in range(1, 4)]
    assert (await import_sheets(work(ADMIN), [write_csv(tmp_path / "m.csv", rows)])).outcome == "imported"
    for i in range(1, 4):
        await registry.record_step(work(ADMIN), f"B-{i:03d}", Status.ALLOCATED, dt.date(2024, 2, 1))
        await registry.record_step(work(ADMIN), f"B-{i:03d}", Status.MOVED_IN, dt.date(2024, 3, 1))
    health = Actor("test:wj", role="department", department="区卫生健康委")
    plans = [(TOWNSHIP, "陈家新苑", "YY01", 144_000, HOUSING, 143_999, 143_333),
             (TOWNSHIP, "陈家新苑", "JS02", 50_000_000, health, 45_000_000, 44_444_445),
             (BAOZHEN, "堡新苑", "YY01", 108_000, HOUSING, 108_000, 100_001),
             (BAOZHEN, "堡新苑", "YY02", 72_000, MINZHENG, 72_000, None)]
    ids = []
    for who, where, item, requested, verifier, verified, approved in plans:
        kind = "construction" if item.startswith("JS") else "operation"
        project = await funding.draft(work(who), community=where, kind=kind, item=item, title=f"{where}{item}",
                                      year=YEAR, requested=requested)
        await funding.submit(work(who), project["id"])
        await funding.verify(work(verifier), project["id"], verified)
        if approved:
            await funding.approve(work(FINANCE), project["id"], approved)
        ids.append(project["id"])
    await funding.complete(work(TOWNSHIP), ids[0], spent=143_000)
    return await funding.summary(work(FINANCE), YEAR)


def _column(sheet, header: str) -> list:
    head = [c.value for c in sheet[1]]
    return [row[head.index(header)] for row in sheet.iter_rows(min_row=2, values_only=True)]


@pytest.mark.usefixtures("community")
async def test_the_yearly_summary_adds_up_in_excel(tmp_path):
    summary = await approved_year(tmp_path)
    assert [(r["township"], r["kind"]) for r in summary["rows"]] == [
        ("堡镇", "operation"), ("陈家镇", "construction"), ("陈家镇", "operation")]
    assert [(r["district_share"], r["township_share"]) for r in summary["rows"]] == [
        (50_001, 50_000), (26_666_667, 17_777_778), (71_667, 71_666)]  # 50%, 60%, 50%: half up
    book = load_workbook(write_summary(summary, tmp_path / "s.xlsx", on=DAY))
    assert book.sheetnames == ["分乡镇分类别", "分乡镇", "区级资金"]
    rows = book["分乡镇分类别"]
    assert _column(rows, "乡镇") == ["堡镇", "陈家镇", "陈家镇", "合计"]
    assert _column(rows, "项目数") == [1, 1, 1, 3]
    towns = book["分乡镇"]
    assert _column(towns, "乡镇") == ["堡镇", "陈家镇", "合计"]
    for key, header in [("approved", "审定金额（元）"), ("district_share", "区级承担（元）"),
                        ("township_share", "乡镇承担（元）")]:
        for sheet in (rows, towns):
            cells = _column(sheet, header)
            assert all(isinstance(v, int | float) for v in cells)  # numbers, not text
            values = [Decimal(str(v)) for v in cells]
            assert sum(values[:-1]) == values[-1] == in_yuan(summary["total"][key]), (sheet.title, key)
        assert rows.cell(2, list(funding_papers.SUMMARY_COLUMNS).index(key) + 1).number_format == "#,##0.00"
    shares = [Decimal(str(v)) for v in _column(rows, "区级承担（元）")[:-1]]
    townships = [Decimal(str(v)) for v in _column(rows, "乡镇承担（元）")[:-1]]
    approved = [Decimal(str(v)) for v in _column(rows, "审定金额（元）")[:-1]]
    assert all(d + t == a for d, t, a in zip(shares, townships, approved, strict=True))
    envelope = dict(book["区级资金"].iter_rows(min_row=2, values_only=True))
    assert Decimal(str(envelope["已承诺（已审定项目的区级承担）"])) == in_yuan(summary["committed"]) \
        == in_yuan(summary["total"]["district_share"])
    assert Decimal(str(envelope["剩余"])) == in_yuan(summary["remaining"])


@pytest.mark.usefixtures("community")
async def test_the_yearly_summary_pdf(tmp_path):
    summary = await approved_year(tmp_path)
    text = pdf_text(write_summary(summary, tmp_path / "s.pdf", on=DAY))
    assert f"{YEAR}年社区治理项目区、乡镇两级资金汇总" in text
    assert "各乡镇区级与乡镇承担金额（万元）" in text and "区级承担" in text and "乡镇承担" in text
    assert "分乡镇、分类别（3行）" in text and "分乡镇（2个乡镇）" in text
    assert "一次性建设类" in text and "日常运营管理类" in text and "合计" in text
    total = summary["total"]
    for fen in (total["approved"], total["district_share"], total["township_share"], summary["remaining"]):
        assert funding_papers.plain_yuan(fen) in text
    with pytest.raises(DomainError, match="只能保存为 .xlsx 或 .pdf"):
        write_summary(summary, tmp_path / "s.csv", on=DAY)


def test_an_empty_year_still_prints():
    summary = {"year": 2031, "envelope": 100, "committed": 0, "remaining": 100, "rows": [],
               "total": {"projects": 0, "approved": 0, "district_share": 0, "township_share": 0}}
    assert [r["township"] for r in funding_papers.summary_rows(summary)] == ["合计"]
    assert funding_papers.township_rows(summary)[0]["approved"] == Decimal("0.00")


def test_amounts_in_yuan_are_exact():
    assert [in_yuan(f) for f in (0, 1, 10, 123_456_789_01)] == [Decimal("0.00"), Decimal("0.01"), Decimal("0.10"),
                                                                 Decimal("123456789.01")]
    assert str(in_yuan(5)) == "0.05"
    assert funding_papers.plain_yuan(123_456_78) == "123,456.78"
