"""The papers of 三合署: the four lists (.xlsx, .csv, .pdf), the weekly meeting's minutes (纪要),
the 幸福清单 notice (公示) for the community board and the monthly summary (一月一汇).

Pure writers over the plain dicts services/desk_views.py returns: no database here. Each list is
written from the same rows with the same columns in every format, so page, sheet and PDF add up
(each PDF section names its count)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reportlab.platypus import KeepTogether

from resettle import pdf
from resettle.charts import bar_chart
from resettle.errors import DomainError
from resettle.rules.desk import week_label
from resettle.rules.numbers import percent
from resettle.rules.permissions import CARRIAGES
from resettle.sheets import write_sheets, write_table

LIST_NAMES = {"demands": "需求清单", "problems": "问题清单", "actions": "实事清单", "happy": "幸福清单"}

DEMAND_COLUMNS = {"id": "编号", "received_on": "受理日期", "channel_label": "渠道", "category": "类别",
                  "resident": "居民", "unit": "房号", "text": "诉求内容", "status_label": "状态",
                  "problem": "问题编号", "answer": "答复或原因"}
PROBLEM_COLUMNS = {"id": "编号", "category": "类别", "title": "问题", "opened_on": "立项日期",
                   "status_label": "状态", "demands": "需求数", "households": "涉及户数", "actions": "实事数",
                   "satisfaction": "满意度", "happy_on": "进入幸福清单"}
ACTION_COLUMNS = {"id": "编号", "problem": "问题编号", "problem_title": "问题", "owner": "责任方",
                  "text": "实事内容", "decided_on": "议定日期", "due": "完成期限", "status_label": "状态",
                  "overdue": "逾期", "completed_on": "完成日期", "result": "办理结果"}
LIST_COLUMNS = {"demands": DEMAND_COLUMNS, "problems": PROBLEM_COLUMNS, "actions": ACTION_COLUMNS,
                "happy": PROBLEM_COLUMNS}
# PDF column widths in mm: a landscape A4 page holds 273 mm
LIST_WIDTHS = {
    "demands": {"id": 14, "received_on": 22, "channel_label": 20, "category": 18, "resident": 18, "unit": 22,
                "text": 80, "status_label": 16, "problem": 16, "answer": 45},
    "problems": {"id": 14, "category": 20, "title": 100, "opened_on": 22, "status_label": 18, "demands": 16,
                 "households": 18, "actions": 16, "satisfaction": 18, "happy_on": 26},
    "actions": {"id": 14, "problem": 16, "problem_title": 40, "owner": 28, "text": 55, "decided_on": 20,
                "due": 20, "status_label": 16, "overdue": 12, "completed_on": 20, "result": 32},
}
LIST_WIDTHS["happy"] = LIST_WIDTHS["problems"]

SUMMARY_COLUMNS = {"community": "安置社区", "township": "乡镇", "demands": "需求数", "solved": "解决问题数",
                   "median_days": "办结天数中位数", "feedback": "回访人次", "satisfaction": "满意率",
                   "overdue_actions": "逾期实事", "reopened": "重新办理", "reopen_rate": "重新办理率"}
SUMMARY_WIDTHS = {"community": 34, "township": 18, "demands": 14, "solved": 16, "median_days": 18, "feedback": 14,
                  "satisfaction": 16, "overdue_actions": 16, "reopened": 16, "reopen_rate": 18}
ESCALATION_COLUMNS = {"township": "乡镇", "opened": "当月督办", "closed": "当月办结", "open": "月末仍在督办"}
ESCALATION_WIDTHS = {"township": 40, "opened": 30, "closed": 30, "open": 30}
CHART_ROWS = 16  # communities per bar chart: a portrait page holds this many bar pairs
PERCENT_KEYS = {"satisfaction", "reopen_rate"}
NONE = "—"
BLANK = "________"  # a name nobody recorded: a line to write it in by hand on the printed minutes


def paper_row(row: dict, columns: dict[str, str]) -> dict:
    """A row as printed: shares as percentages, overdue as 逾期 (a truthy "overdue" also makes the
    PDF row red), nothing as an empty cell."""
    out = {}
    for key in columns:
        value = row.get(key)
        if key in PERCENT_KEYS:
            out[key] = percent(value)
        elif key == "overdue":
            out[key] = "逾期" if value else ""
        else:
            out[key] = "" if value is None else value
    return out


def list_rows(data: dict, name: str) -> list[dict]:
    """One of the four lists of `desk_views.lists()` as printed rows."""
    return [paper_row(row, LIST_COLUMNS[name]) for row in data[name]]


def section_title(name: str, count: int) -> str:
    return f"{LIST_NAMES[name]}（{count}条）"


def chosen_lists(which: list[str] | None) -> list[str]:
    """The lists asked for, in the loop's order; all four when none is named."""
    if not which:
        return list(LIST_NAMES)
    unknown = [n for n in which if n not in LIST_NAMES]
    if unknown:
        raise DomainError(f"没有“{'、'.join(unknown)}”这张清单，只有：{'、'.join(LIST_NAMES)}")
    return [n for n in LIST_NAMES if n in which]


def write_lists(data: dict, path: str | Path, which: list[str] | None = None) -> Path:
    """The lists of `desk_views.lists()`: an .xlsx with one worksheet per list, a .csv of one list, or a
    PDF with one section per list (overdue actions in red)."""
    path = Path(path)
    names = chosen_lists(which)
    tables = [(name, list_rows(data, name)) for name in names]
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return write_sheets([(LIST_NAMES[n], rows, LIST_COLUMNS[n]) for n, rows in tables], path)
    if suffix == ".csv":
        if len(names) != 1:
            raise DomainError("一个 CSV 文件只能保存一张清单，请指定需求、问题、实事或幸福清单之一")
        return write_table(tables[0][1], LIST_COLUMNS[names[0]], path)
    if suffix != ".pdf":
        raise DomainError(f"{path.name}：清单只能保存为 .xlsx、.csv 或 .pdf 文件")
    title = f"{data['community']} {LIST_NAMES[names[0]] if len(names) == 1 else '三合署清单'}"
    subtitle = f"{data['period']}，截至 {data['as_of']}。"
    if "actions" in names:
        subtitle += "逾期未完成的实事标红。"
    story = []
    for name, rows in tables:
        story += [pdf.heading(section_title(name, len(rows))),
                  *pdf.table(LIST_COLUMNS[name], rows, LIST_WIDTHS[name])]
    return pdf.build(path, title, subtitle, story)


# ---------------------------------------------------------------- the weekly meeting's minutes

# portrait A4 holds 186 mm
MINUTES_PROBLEMS = ({"id": "编号", "category": "类别", "title": "问题", "opened_on": "立项日期",
                     "demands": "需求数", "households": "涉及户数", "status_label": "状态"},
                    {"id": 12, "category": 20, "title": 76, "opened_on": 22, "demands": 16, "households": 18,
                     "status_label": 22})
MINUTES_REOPENED = ({"id": "编号", "title": "问题", "demands": "需求数", "households": "涉及户数",
                     "reason": "居民意见"},
                    {"id": 12, "title": 64, "demands": 14, "households": 16, "reason": 80})
MINUTES_ACTIONS = ({"id": "编号", "problem_title": "问题", "owner": "责任方", "text": "实事内容", "due": "完成期限",
                    "status_label": "状态", "overdue": "逾期"},
                   {"id": 12, "problem_title": 40, "owner": 28, "text": 54, "due": 20, "status_label": 16,
                    "overdue": 16})
MINUTES_DEMANDS = ({"id": "编号", "received_on": "受理日期", "channel_label": "渠道", "category": "类别",
                    "resident": "居民", "text": "诉求内容"},
                   {"id": 12, "received_on": 20, "channel_label": 20, "category": 18, "resident": 18, "text": 98})


def _attendance(agenda: dict) -> list[dict]:
    """Per unit (the three carriages first, then departments): who came to the meeting and who
    kept the reception; a blank line where nobody was recorded."""
    meeting, reception = agenda["meeting_attendance"], agenda["reception_attendance"]
    units = list(dict.fromkeys([*CARRIAGES, *meeting, *reception]))
    return [{"unit": unit, "meeting": "、".join(meeting.get(unit, [])) or BLANK,
             "reception": "、".join(reception.get(unit, [])) or BLANK} for unit in units]


def _section(title: str, rows: list[dict], spec: tuple[dict, dict]) -> list:
    columns, widths = spec
    return [pdf.heading(f"{title}（{len(rows)}条）"),
            *pdf.table(columns, [paper_row(r, columns) for r in rows], widths)]


def write_minutes(agenda: dict, path: str | Path) -> Path:
    """The 纪要 of a week's joint meeting from `desk_views.agenda()`: attendance per carriage (and
    department), the decisions, the agenda it worked from, and the actions it decided."""
    reopened = MINUTES_REOPENED if any(r.get("reason") for r in agenda["reopened"]) else MINUTES_PROBLEMS
    story = [pdf.heading("一、出席情况"),
             *pdf.table({"unit": "单位", "meeting": "例会出席", "reception": "统一接待值班"}, _attendance(agenda),
                        {"unit": 50, "meeting": 68, "reception": 68}),
             pdf.heading("二、议定事项"),
             pdf.paragraph(agenda["decisions"] or "（未记录）"),
             *_section("三、待商议的问题", agenda["problems"], MINUTES_PROBLEMS),
             *_section("四、居民不满意、重新办理的问题", agenda["reopened"], reopened),
             *_section("五、逾期未完成的实事", agenda["overdue_actions"], MINUTES_ACTIONS),
             *_section("六、待处理的需求", agenda["new_demands"], MINUTES_DEMANDS),
             *_section("七、本周议定的实事", agenda["new_actions"], MINUTES_ACTIONS),
             pdf.paragraph("\n记录人：________________" + "\u00a0" * 12 + "审核：________________")]
    subtitle = (f"{agenda['township']} · {week_label(agenda['week'])} · "
                f"例会日期：{agenda['meeting_on'] or '未记录'} · 统一接待：{agenda['reception']['label']}")
    return pdf.build(path, f"{agenda['community']}三合署例会纪要", subtitle, story, portrait=True)


# ---------------------------------------------------------------- the 幸福清单 notice


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def write_notice(notice: dict, path: str | Path, *, on: dt.date) -> Path:
    """The 幸福清单 公示 for the community board from `desk_views.notice()` (names already masked): each
    solved problem, who raised it, what was done with what result, and how content residents were;
    signed on the day `on`."""
    items = notice["items"]
    story = [pdf.paragraph(f"本期经居委会、业委会、物业“三驾马车”共同商议办理，并经居民回访满意，"
                           f"进入幸福清单的问题共 {len(items)} 件，现予公示。" if items
                           else "本期暂无进入幸福清单的问题。")]
    for n, item in enumerate(items, 1):
        block = [pdf.heading(f"{n}. {item['title']}"),
                 pdf.paragraph(f"类别：{item['category']}；反映居民：{'、'.join(item['residents']) or NONE}"
                               f"（{item['demands']}条诉求，涉及{item['households']}户）"),
                 pdf.paragraph("办理情况：")]
        block += [pdf.paragraph(f"{a['owner']}：{a['text'].rstrip('。')}。结果：{a['result'] or NONE}"
                                + (f"（{a['completed_on']}完成）" if a["completed_on"] else ""), "indented")
                  for a in item["action_items"]]
        block.append(pdf.paragraph(f"居民满意度：{percent(item['satisfaction'])}（满意与基本满意占回访居民的比例）；"
                                   f"进入幸福清单：{item['happy_on']}"))
        story.append(KeepTogether(block))
    story += [pdf.paragraph("\n如对公示内容有意见，请在三合署统一接待时间或通过社区居委会反映。"),
              pdf.paragraph(f"\n{notice['community']}三合署（居委会　业委会　物业）\n"
                            f"{_chinese_date(on)}", "signature")]
    subtitle = f"{notice['township']}{notice['community']} · {notice['period']}"
    return pdf.build(path, f"幸福清单公示（{len(items)}件）", subtitle, story, portrait=True, centred=True)


# ---------------------------------------------------------------- 一月一汇


def summary_rows(summary: dict) -> list[dict]:
    """The communities and the 合计 row as printed: shares as percentages, no value as —."""
    rows = []
    for row in [*summary["rows"], summary["total"]]:
        printed = paper_row(row, SUMMARY_COLUMNS)
        printed["median_days"] = NONE if row["median_days"] is None else row["median_days"]
        rows.append(printed)
    return rows


def escalation_rows(summary: dict) -> list[dict]:
    """督办 per township and the 合计 row, as printed."""
    rows = [{k: r[k] for k in ESCALATION_COLUMNS} for r in summary.get("escalated", [])]
    return [*rows, {"township": "合计", **summary.get("escalated_total", {"opened": 0, "closed": 0, "open": 0})}]


def write_summary(summary: dict, path: str | Path) -> Path:
    """一月一汇 from `desk_views.summary()`: an .xlsx of the rows and 合计, or a PDF with bar charts of
    demands and solved problems per community above the same table."""
    path = Path(path)
    rows = summary_rows(summary)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return write_sheets([("一月一汇", rows, SUMMARY_COLUMNS),
                             ("督办", escalation_rows(summary), ESCALATION_COLUMNS)], path)
    if suffix != ".pdf":
        raise DomainError(f"{path.name}：一月一汇只能保存为 .xlsx 或 .pdf 文件")
    communities = summary["rows"]
    story = []
    for start in range(0, len(communities), CHART_ROWS):
        part = communities[start:start + CHART_ROWS]
        story.append(pdf.chart(bar_chart(
            "各安置社区需求数与解决问题数", [r["community"] for r in part],
            {"需求数": [r["demands"] for r in part], "解决问题数": [r["solved"] for r in part]},
            width=int(pdf.PORTRAIT_WIDTH))))
    story += [pdf.heading(f"汇总（{len(communities)}个安置社区）"),
              *pdf.table(SUMMARY_COLUMNS, rows, SUMMARY_WIDTHS),
              pdf.paragraph("解决问题：当月进入幸福清单的问题；办结天数：立项到进入幸福清单；满意率：当月回访中满意与基本满意"
                            "的比例；重新办理率：重新办理 ÷（解决 + 重新办理）；“—”表示当月没有可计算的数据。", "note"),
              pdf.heading("督办（按乡镇）"),
              *pdf.table(ESCALATION_COLUMNS, escalation_rows(summary), ESCALATION_WIDTHS),
              pdf.paragraph("当月督办：当月由区集中居住办督办的对接单、实事和项目；当月办结：当月办结而解除督办的；"
                            "月末仍在督办：到月末尚未办结的。", "note")]
    return pdf.build(path, f"{summary['title']}三合署一月一汇", f"{summary['month']}（{summary['start']} 至 "
                     f"{summary['end']}）", story, portrait=True)
