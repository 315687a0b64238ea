"""The papers of 三合署 from real desk data: every list adds up across .xlsx, .csv and PDF; the
minutes, the notice and the monthly summary say what the data says; a long list PDF is quick."""

import datetime as dt
import re
import subprocess
import time

import pandas as pd
import pytest

from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Community
from resettle.rules.desk import iso_week, period, week_label
from services import desk, desk_papers, desk_views
from services.desk_papers import LIST_NAMES, percent, section_title, write_lists
from services.registry_import import import_sheets
from services.work import Work
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, work

ADMIN = Actor("test:admin")
HEAD, WIFE, OTHER = make_id("19600101", 1), make_id("19620101", 2), make_id("19700101", 3)
STRANGER = make_id("19800101", 4)  # a resident of 堡新苑
WEEK = iso_week(DAY)
EARLIER = DAY - dt.timedelta(days=2)  # the overdue action's problem: last week on a Monday
DECISIONS = "电梯维保合同续签；路灯由城建中心整体更换。"


async def seed_residents(tmp_path) -> Work:
    """Registry residents: 张三英 and 李四 in 陈家新苑 3号101室, 王五 in 5号202室, 赵六 in 堡新苑.
    Returns the work of 陈家新苑's desk clerk."""
    rows = [person("A-001", "张三英", HEAD, "户主", unit="3号101室"),
            person("A-001", "李四", WIFE, "配偶", unit="3号101室"),
            person("B-002", "王五", OTHER, "户主", unit="5号202室"),
            person("C-003", "赵六", STRANGER, "户主", origin="堡镇", dest="堡镇", community="堡新苑")]
    assert (await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])).outcome == "imported"
    community = await Community.get(name="陈家新苑")
    return work(Actor("test:desk", role="desk", township=community.township_code, community_id=community.id))


async def seed_desk(tmp_path) -> Work:
    """Residents and a week of desk work in 陈家新苑: a problem made happy, one reopened by a
    resident, one with an overdue action, a demand waiting for the meeting and one answered at
    the desk, and the week's record. Returns the work of the community's desk clerk."""
    clerk = await seed_residents(tmp_path)

    async def take(text, category="物业维修", **who):
        return (await desk.intake(clerk, None, channel="统一接待", category=category, text=text, **who))["id"]

    lift = [await take("3号楼电梯坏了", resident=HEAD), await take("电梯又坏了", resident=OTHER)]
    problem = await desk.link(clerk, lift, title="3号楼电梯故障")
    problem = await desk.add_action(clerk, problem["id"], owner="物业", text="更换电梯主板", due=DAY)
    await desk.complete_action(clerk, problem["action_items"][0]["id"], result="已更换，运行正常")
    await desk.record_feedback(clerk, lift[0], "满意")
    await desk.record_feedback(clerk, lift[1], "基本满意")

    light = await take("路灯不亮", "设施配套", resident=WIFE)
    problem = await desk.link(clerk, [light], title="小区路灯不亮")
    problem = await desk.add_action(clerk, problem["id"], owner="乡镇城建中心", text="更换灯泡", due=DAY)
    await desk.complete_action(clerk, problem["action_items"][0]["id"], result="已换")
    await desk.record_feedback(clerk, light, "不满意", "晚上还是黑")

    parking = await take("外来车辆占用消防通道", "停车", name="访客甲", contact="13812345678", received_on=EARLIER)
    problem = await desk.link(clerk, [parking], title="消防通道被占", on=EARLIER)
    await desk.add_action(clerk, problem["id"], owner="物业", text="安装地锁", decided_on=EARLIER,
                          due=DAY - dt.timedelta(days=1))

    await take("垃圾房有异味", "环境卫生", resident=OTHER)
    await desk.answer(clerk, await take("垃圾房几点开", "环境卫生", resident=HEAD), "每天7:00–9:00")
    monday = dt.date.fromisocalendar(*DAY.isocalendar()[:2], 1)
    await desk.save_week(clerk, None, WEEK, reception={"居委会": ["张主任"], "物业": ["李经理"]}, meeting_on=monday,
                         meeting={"居委会": ["张主任"], "业委会": ["王主任"], "物业": ["李经理"],
                                  "乡镇城建中心": ["陈工"]}, decisions=DECISIONS, version=0)
    return clerk


def pdf_text(path) -> str:
    assert path.read_bytes()[:4] == b"%PDF"
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture
async def clerk(db, tmp_path):
    return await seed_desk(tmp_path)


async def test_every_list_adds_up_across_xlsx_csv_and_pdf(clerk, tmp_path):
    data = await desk_views.lists(clerk, None, period(week=WEEK))
    counts = {name: len(data[name]) for name in LIST_NAMES}
    assert counts == {"demands": 5 + (EARLIER in period(week=WEEK)), "problems": 3, "actions": 3, "happy": 1}

    sheets = pd.read_excel(write_lists(data, tmp_path / "l.xlsx"), sheet_name=None, dtype=str, engine="calamine")
    assert list(sheets) == list(LIST_NAMES.values())
    assert {name: len(sheets[LIST_NAMES[name]]) for name in LIST_NAMES} == counts
    actions = sheets["实事清单"]
    assert list(actions.columns[:4]) == ["编号", "问题编号", "问题", "责任方"]
    assert (actions["逾期"] == "逾期").sum() == sum(a["overdue"] for a in data["actions"]) == 1
    assert sheets["问题清单"].set_index("问题").loc["3号楼电梯故障", "需求数"] == "2"
    assert sheets["幸福清单"]["满意度"].tolist() == ["100%"]

    text = pdf_text(write_lists(data, tmp_path / "l.pdf"))
    assert "陈家新苑 三合署清单" in text and "逾期未完成的实事标红" in text
    for name, count in counts.items():
        assert section_title(name, count) in text
    one = pdf_text(write_lists(data, tmp_path / "h.pdf", ["happy"]))
    assert "陈家新苑 幸福清单" in one and "幸福清单（1条）" in one and "需求清单" not in one

    csv = pd.read_csv(write_lists(data, tmp_path / "a.csv", ["actions"]), dtype=str)
    assert len(csv) == counts["actions"] and csv.columns[0] == "编号"
    with pytest.raises(DomainError, match="一个 CSV 文件只能保存一张清单"):
        write_lists(data, tmp_path / "all.csv")
    with pytest.raises(DomainError, match="没有“lifts”这张清单"):
        write_lists(data, tmp_path / "x.pdf", ["lifts"])
    with pytest.raises(DomainError, match="只能保存为"):
        write_lists(data, tmp_path / "x.docx")


async def test_minutes_record_the_meeting(clerk, tmp_path):
    agenda = await desk_views.agenda(clerk, None, WEEK)
    text = pdf_text(desk_papers.write_minutes(agenda, tmp_path / "m.pdf"))
    assert "陈家新苑三合署例会纪要" in text and week_label(WEEK) in text
    for name in ("张主任", "王主任", "李经理", "陈工", "乡镇城建中心", DECISIONS):
        assert name in text
    assert "四、居民不满意、重新办理的问题（1条）" in text and "小区路灯不亮" in text
    assert f"五、逾期未完成的实事（{len(agenda['overdue_actions'])}条）" in text and "安装地锁" in text
    assert "六、待处理的需求（1条）" in text and "垃圾房有异味" in text
    assert f"七、本周议定的实事（{len(agenda['new_actions'])}条）" in text
    assert agenda["reopened"][0]["reason"] == "晚上还是黑"  # the residents' words, on the minutes
    assert "居民意见" in text and "晚上还是黑" in text


async def test_minutes_leave_a_line_for_who_was_not_recorded(clerk, tmp_path):
    later = iso_week(DAY + dt.timedelta(days=7))  # no record yet
    text = pdf_text(desk_papers.write_minutes(await desk_views.agenda(clerk, None, later), tmp_path / "m.pdf"))
    for carriage in ("居委会", "业委会", "物业"):
        assert re.search(rf"{carriage}\s+_{{8}}\s+_{{8}}\s", text), carriage
    assert "—" not in text.split("一、出席情况")[1].split("二、议定事项")[0]
    assert f"{week_label(later)} · 例会日期：未记录" in text


async def test_notice_for_the_board(clerk, tmp_path):
    notice = await desk_views.notice(clerk, None, period(week=WEEK))
    text = pdf_text(desk_papers.write_notice(notice, tmp_path / "n.pdf", on=dt.date(2026, 11, 23)))
    assert "幸福清单公示（1件）" in text and "3号楼电梯故障" in text
    assert "张*英" in text and "王*" in text and "张三英" not in text
    assert "更换电梯主板" in text and "已更换，运行正常" in text and "100%" in text
    assert "2026年11月23日" in text
    empty = dict(notice, items=[])
    assert "本期暂无进入幸福清单的问题" in pdf_text(desk_papers.write_notice(empty, tmp_path / "e.pdf", on=DAY))


async def test_monthly_summary(clerk, tmp_path):
    summary = await desk_views.summary(work(ADMIN), township="陈家镇", month=DAY.strftime("%Y-%m"))
    frame = pd.read_excel(desk_papers.write_summary(summary, tmp_path / "s.xlsx"), dtype=str, engine="calamine")
    assert len(frame) == len(summary["rows"]) + 1 and frame.iloc[-1]["安置社区"] == "合计"
    ours = frame.set_index("安置社区").loc["陈家新苑"]
    assert ours["需求数"] == str(5 + (EARLIER.month == DAY.month)) and ours["解决问题数"] == "1"
    assert ours["满意率"] == "66.7%" and ours["回访人次"] == "3"  # 满意, 基本满意, 不满意
    assert ours["重新办理率"] == "50%"  # one solved, one reopened
    text = pdf_text(desk_papers.write_summary(summary, tmp_path / "s.pdf"))
    assert "陈家镇三合署一月一汇" in text and "各安置社区需求数与解决问题数" in text and "合计" in text
    with pytest.raises(DomainError, match="只能保存为 .xlsx 或 .pdf"):
        desk_papers.write_summary(summary, tmp_path / "s.csv")


def test_printed_values():
    assert [percent(v) for v in (None, 0.0, 0.5, 0.6667, 1.0)] == ["—", "0%", "50%", "66.7%", "100%"]
    row = {"community": "甲", "township": "乙", "demands": 0, "solved": 0, "median_days": None, "feedback": 0,
           "satisfaction": None, "overdue_actions": 0, "reopened": 0, "reopen_rate": None}
    printed = desk_papers.summary_rows({"rows": [dict(row, median_days=4)], "total": row})
    assert [r["median_days"] for r in printed] == [4, "—"] and printed[1]["reopen_rate"] == "—"


def test_a_thousand_row_list_pdf_is_quick(tmp_path):
    happy = [{"id": i, "category": "物业维修", "title": f"{i % 40 + 1}号楼电梯故障，居民多次反映，物业与业委会共同处理",
              "opened_on": "2026-01-05", "status": "happy", "status_label": "幸福清单", "demands": 3,
              "households": 2, "actions": 2, "satisfaction": 0.8333, "happy_on": "2026-03-01"} for i in range(1000)]
    data = {"community": "陈家新苑", "period": "2026年", "start": "2026-01-01", "end": "2026-12-31",
            "as_of": "2026-12-31", "demands": [], "problems": happy, "actions": [], "happy": happy}
    desk_papers.write_lists(data, tmp_path / "warm.pdf", ["demands"])  # font loading is not the list
    started = time.perf_counter()
    path = write_lists(data, tmp_path / "year.pdf", ["happy"])
    took = time.perf_counter() - started
    print(f"1,000-row 幸福清单 PDF: {took:.2f} s")
    assert took < 5
    assert "幸福清单（1000条）" in pdf_text(path)
