"""The papers of governance-project funding: the 审定单 (approval sheet) of one project and the
yearly summary of what district and townships pay, as .xlsx and PDF.

Pure writers over the plain dicts services/funding.py returns: no database here. Amounts arrive
as integer fen; a sheet holds them as numbers in 元 made exactly from the fen (Decimal), so that
Excel's sums of a column equal the 合计 row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from resettle import history, pdf
from resettle.errors import DomainError
from resettle.history import Names
from resettle.policy import Policy
from resettle.rules.funding import ProjectKind, ProjectStatus, yuan
from resettle.rules.numbers import percent
from resettle.sheets import write_sheets

NONE = "—"
YUAN_FORMAT = "#,##0.00"
# the marks of a check: √ and × are in GB2312 and so in every CJK font the PDF may use (✓ is not)
MET, UNMET = "√", "×"
SIGNED_ON = "（盖章）" + "\u00a0" * 16 + "年" + "\u00a0" * 6 + "月" + "\u00a0" * 6 + "日"  # room to write the date


def in_yuan(fen: int) -> Decimal:
    """12345 → Decimal('123.45'): exact, two decimals, a number in a sheet."""
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))


def _money(fen: int | None) -> str:
    return NONE if fen is None else yuan(fen)


def plain_yuan(fen: int) -> str:
    """12345678 → '123,456.78': for a column whose header already says 元."""
    return yuan(fen).removesuffix("元")


def _on(day: dt.date | str | None) -> str:
    return str(day) if day else NONE


# ---------------------------------------------------------------- the list of projects

PROJECT_COLUMNS = {"id": "编号", "year": "年度", "township": "乡镇", "community": "安置社区", "kind_label": "类别",
                   "item": "目录项目", "title": "项目名称", "status_label": "状态", "requested": "申请（元）",
                   "verified": "核定（元）", "approved": "审定（元）", "district_share": "区级承担（元）",
                   "township_share": "乡镇承担（元）", "ratio": "区级比例"}
PROJECT_AMOUNTS = ("requested", "verified", "approved", "district_share", "township_share")


def project_rows(projects: list[dict]) -> list[dict]:
    """Projects of `funding.list_projects()` as printed: amounts in 元 (empty until fixed), the
    frozen ratio as a percentage."""
    return [{**p, **{key: "" if p[key] is None else in_yuan(p[key]) for key in PROJECT_AMOUNTS},
             "ratio": "" if p["ratio"] is None else percent(p["ratio"], places=2)} for p in projects]


# ---------------------------------------------------------------- 审定单


def sheet_kind(project: dict) -> str:
    """'final' for an approved (or completed) project, 'preview' for a verified one waiting for
    finance; anything else has no amount to approve and gets no sheet."""
    status = ProjectStatus(project["status"])
    if status in (ProjectStatus.APPROVED, ProjectStatus.COMPLETED):
        return "final"
    if status is ProjectStatus.VERIFIED:
        return "preview"
    if status is ProjectStatus.REJECTED:
        raise DomainError(f"项目{project['id']}未通过（{project['reason'] or '未写原因'}），不出具审定单")
    raise DomainError(f"项目{project['id']}“{project['status_label']}”，尚未经核定部门核定，没有可审定的金额，"
                      "不能出具审定单")


def _item(project: dict, policy: Policy) -> str:
    if project["kind"] == ProjectKind.CASE_BY_CASE:
        return "目录外（一事一议）"
    item = policy.funding.item(project["item"])
    return f"{project['item']} {item.name}" if item else project["item"]


def _deliberation(d: dict | None) -> str:
    if not d:
        return "（无议事记录）"
    return (f"{d['held_on'] or '日期未填'} {d['body']}：到会{d['attendance']}人，赞成{d['votes_for']}票，"
            f"反对{d['votes_against']}票")


def history_rows(project: dict, *, policy: Policy) -> list[dict]:
    """A project's history as read on its page, said as every history is (resettle.history)."""
    names = Names(communities={project["community_id"]: project["community"]})
    return history.history_rows(project["history"], policy=policy, names=names)


def _by(who: str, on: dt.date | None) -> str:
    return f"{who or NONE}（{_on(on)}）"


def _ratio(label: str, base: str) -> str:
    return f"{label}：区级承担{base}的{label}（四舍五入到分），其余由乡镇承担"


def _amounts(project: dict, final: bool, envelope: dict | None) -> list[list[object]]:
    """申请 → 核定 → 审定 with who and when, then the split: frozen on a final sheet, worked out
    from the verified amount on a preview (with the envelope it would draw on)."""
    rows = [["申请金额", yuan(project["requested"]), "提交日期", _on(project["submitted_on"])],
            ["核定金额", _money(project["verified"]), "核定人", _by(project["verified_by"], project["verified_on"])]]
    if final:
        rows += [["审定金额", yuan(project["approved"]), "审定人", _by(project["approved_by"], project["approved_on"])],
                 ["区级承担比例", _ratio(project["ratio_label"], "审定金额")],
                 ["区级承担", yuan(project["district_share"]), "乡镇承担", yuan(project["township_share"])]]
        if project["status"] == ProjectStatus.COMPLETED:
            rows.append(["实际支出", _money(project["spent"]), "验收日期", _on(project["completed_on"])])
    else:
        preview = project["split_preview"]
        rows += [["审定金额", "待区财政局审定"],
                 ["区级承担比例", _ratio(preview["ratio_label"], "核定金额") + "（审定时按当时的比例确定）"],
                 ["区级承担（试算）", yuan(preview["district_share"]), "乡镇承担（试算）",
                  yuan(preview["township_share"])]]
        if envelope:
            line = (f"总额{yuan(envelope['envelope'])}，已承诺{yuan(envelope['committed'])}，"
                    f"剩余{yuan(envelope['remaining'])}")
            fits = project["split_preview"]["district_share"] <= envelope["remaining"]
            line += "，足以承担本项目区级部分" if fits else "，不足以承担本项目区级部分"
            rows.append([f"{envelope['year']}年区级资金", line])
    return rows


def write_approval_sheet(project: dict, path: str | Path, *, policy: Policy, on: dt.date,
                         envelope: dict | None = None) -> Path:
    """The 审定单 of a project from `funding.show()` (portrait): what was asked, verified and
    approved by whom and when, the ratio and the two shares, the residents' problems it rests on,
    every qualification check, and boxes for the verifying department and the finance bureau to
    sign. A verified project prints as a 审定单（预览） with the split worked out from the verified
    amount, no signature boxes and, given `funding.envelope()`, whether the year's remaining
    district money covers the district share; an earlier (or rejected) project is refused. `on`
    is the day it is printed."""
    final = sheet_kind(project) == "final"
    wide = [34, 59, 34, 59]  # portrait A4 holds 186 mm
    basics = [["项目名称", project["title"]],
              ["乡镇", project["township"], "安置社区", project["community"]],
              ["项目类别", project["kind_label"], "目录项目", _item(project, policy)],
              ["项目年度", f"{project['year']}年", "核定部门", project["department"]],
              ["建筑面积", f"{project['area_m2']}平方米" if project["area_m2"] else NONE,
               "已入住户数", f"{project['moved_in_households']}户（至{project['year']}年底）"]]
    if project["kind"] == ProjectKind.CASE_BY_CASE:
        basics.append(["一事一议议事记录", _deliberation(project["deliberation"])])
    if project["description"]:
        basics.append(["项目说明", project["description"]])
    proof = project["evidence"]
    checks = project["qualification"]
    story = [pdf.heading("一、项目基本情况"), pdf.form(basics, wide),
             pdf.heading("二、金额与区、乡镇分担"), pdf.form(_amounts(project, final, envelope), wide),
             pdf.heading(f"三、申报依据：三合署问题{len(proof['problems'])}个，{proof['households']}户居民反映"
                         if proof["problems"] else "三、申报依据：未引用三合署问题"),
             *pdf.table({"id": "问题编号", "title": "问题"}, proof["problems"], {"id": 24, "title": 162}),
             pdf.heading(f"四、资格审查：{'符合申报条件' if checks['qualifies'] else '不符合申报条件'}"),
             *pdf.table({"mark": "结果", "text": "审查内容"},
                        [{"mark": MET if c["ok"] else UNMET, "text": c["text"]} for c in checks["checks"]],
                        {"mark": 14, "text": 172})]
    if final:
        story.append(pdf.signatures([
            (f"核定部门：{project['department']}", [f"核定金额：{yuan(project['verified'])}", "经办人：", "负责人：",
                                                 SIGNED_ON]),
            ("区财政局", [f"审定金额：{yuan(project['approved'])}", "经办人：", "负责人：", SIGNED_ON])]))
    else:
        story.append(pdf.paragraph("本单为预览：项目待区财政局审定，区级与乡镇承担金额按核定金额和现行比例试算，"
                                   "以审定后的审定单为准，不作拨款依据。", "note"))
    title = "社区治理项目审定单" + ("" if final else "（预览）")
    subtitle = f"项目编号 {project['id']} · {project['status_label']} · 打印日期 {on}"
    return pdf.build(path, title, subtitle, story, portrait=True)


# ---------------------------------------------------------------- yearly summary

SUMMARY_COLUMNS = {"township": "乡镇", "kind_label": "项目类别", "projects": "项目数", "approved": "审定金额（元）",
                   "district_share": "区级承担（元）", "township_share": "乡镇承担（元）"}
TOWNSHIP_COLUMNS = {key: label for key, label in SUMMARY_COLUMNS.items() if key != "kind_label"}
ENVELOPE_COLUMNS = {"line": "项目", "amount": "金额（元）"}
AMOUNT_KEYS = ("approved", "district_share", "township_share")
SUMMARY_WIDTHS = {"township": 30, "kind_label": 36, "projects": 18, "approved": 34, "district_share": 34,
                  "township_share": 34}  # portrait A4 holds 186 mm
TOWNSHIP_WIDTHS = {**SUMMARY_WIDTHS, "township": 66}
NUMBERS = ("projects", *AMOUNT_KEYS, "amount")
TOTAL = "合计"


def by_township(summary: dict) -> list[dict]:
    """The township × kind rows of `funding.summary()` added up per township, in their order."""
    towns: dict[str, dict] = {}
    for row in summary["rows"]:
        town = towns.setdefault(row["township_code"], {"township": row["township"], "projects": 0,
                                                       **dict.fromkeys(AMOUNT_KEYS, 0)})
        for key in ("projects", *AMOUNT_KEYS):
            town[key] += row[key]
    return list(towns.values())


def _printed(rows: list[dict], money) -> list[dict]:
    return [{**row, **{key: money(row[key]) for key in AMOUNT_KEYS}} for row in rows]


def summary_rows(summary: dict, money=in_yuan) -> list[dict]:
    """The township × kind rows and the 合计 row with amounts as `money(fen)` (元 numbers by
    default)."""
    return _printed([*summary["rows"], {**summary["total"], "township": TOTAL, "kind_label": ""}], money)


def township_rows(summary: dict, money=in_yuan) -> list[dict]:
    return _printed([*by_township(summary), {**summary["total"], "township": TOTAL}], money)


def envelope_rows(summary: dict, money=in_yuan) -> list[dict]:
    return [{"line": f"{summary['year']}年区级资金总额", "amount": money(summary["envelope"])},
            {"line": "已承诺（已审定项目的区级承担）", "amount": money(summary["committed"])},
            {"line": "剩余", "amount": money(summary["remaining"])}]


def write_summary(summary: dict, path: str | Path, *, on: dt.date) -> Path:
    """The yearly summary of `funding.summary()`: an .xlsx (township × kind with 合计, per
    township, and the district envelope; amounts as numbers in 元) or a portrait PDF with a bar
    chart of the district and township shares per township above the same tables, printed `on`."""
    path = Path(path)
    suffix = path.suffix.lower()
    year = summary["year"]
    if suffix == ".xlsx":
        return write_sheets([("分乡镇分类别", summary_rows(summary), SUMMARY_COLUMNS),
                             ("分乡镇", township_rows(summary), TOWNSHIP_COLUMNS),
                             ("区级资金", envelope_rows(summary), ENVELOPE_COLUMNS)],
                            path, number_formats={key: YUAN_FORMAT for key in (*AMOUNT_KEYS, "amount")})
    if suffix != ".pdf":
        raise DomainError(f"{path.name}：资金汇总只能保存为 .xlsx 或 .pdf 文件")
    towns = by_township(summary)
    top = max((t[key] for t in towns for key in ("district_share", "township_share")), default=0)
    unit, scale = ("万元", 1_000_000) if top >= 1_000_000 else ("元", 100)
    story = [*pdf.bar_charts(f"各乡镇区级与乡镇承担金额（{unit}）", [t["township"] for t in towns],
                             {"区级承担": [t["district_share"] / scale for t in towns],
                              "乡镇承担": [t["township_share"] / scale for t in towns]})] if towns else []
    story += [pdf.heading(f"分乡镇、分类别（{len(summary['rows'])}行）"),
              *pdf.table(SUMMARY_COLUMNS, summary_rows(summary, plain_yuan), SUMMARY_WIDTHS, right=NUMBERS),
              pdf.heading(f"分乡镇（{len(towns)}个乡镇）"),
              *pdf.table(TOWNSHIP_COLUMNS, township_rows(summary, plain_yuan), TOWNSHIP_WIDTHS, right=NUMBERS),
              pdf.heading("区级资金"),
              *pdf.table(ENVELOPE_COLUMNS, envelope_rows(summary, plain_yuan), {"line": 116, "amount": 70},
                         right=NUMBERS),
              pdf.paragraph("统计已审定和已验收的项目；审定金额 = 区级承担 + 乡镇承担，区级承担按审定时的比例"
                            "四舍五入到分，已承诺为全区当年审定项目的区级承担之和。", "note")]
    subtitle = (f"区级资金总额 {yuan(summary['envelope'])}，已承诺 {yuan(summary['committed'])}，"
                f"剩余 {yuan(summary['remaining'])} · 打印日期 {on}")
    return pdf.build(path, f"{year}年社区治理项目区、乡镇两级资金汇总", subtitle, story, portrait=True)
