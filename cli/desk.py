"""`resettle desk`: the three-carriage desk's lists, minutes, notices, summaries and demand sheets.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.common import COMMUNITY, EXIT_PARTIAL, EXIT_REJECTED, attempt, db_option, fail, run, work
from cli.output import Progress, check_out, render, write_json, written
from resettle.errors import DomainError
from resettle.rules.desk import period, week_label
from services import desk_import, desk_papers, desk_views


@click.group("desk")
def desk_group() -> None:
    """三合署：四张清单、例会纪要、幸福清单公示、一月一汇，批量导入需求。"""


def _period_options(func):
    func = click.option("--year", help="年，如 2026")(func)
    func = click.option("--month", help="月，如 2026-11")(func)
    return click.option("--week", help="ISO 周，如 2026-W47")(func)


def _span(week: str | None, month: str | None, year: str | None):
    try:
        return period(week=week, month=month, year=year)
    except DomainError as exc:
        fail(exc.message, 2)


@desk_group.command("lists")
@COMMUNITY
@_period_options
@click.option("--list", "which", type=click.Choice(list(desk_papers.LIST_NAMES)), help="只要其中一张清单")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "xlsx", "pdf"]), default="table")
@click.option("--out", type=click.Path(dir_okay=False), help="保存到文件（xlsx、pdf 必须指定）")
@db_option
def desk_lists(community, week, month, year, which, fmt, out, db) -> None:
    """四张清单：需求清单、问题清单（含需求数）、实事清单（逾期标出）、幸福清单。"""
    span = _span(week, month, year)
    check_out(fmt, out)
    if fmt == "csv" and not which:
        fail("CSV 一次只能输出一张清单，请用 --list 指定", 2)
    data = run(db, lambda: desk_views.lists(work(), community, span))
    names = [which] if which else list(desk_papers.LIST_NAMES)
    if fmt == "json":
        write_json(data[which] if which else data, out)
    elif fmt == "table" or (fmt == "csv" and not out):
        click.echo("\n\n".join(
            (f"{desk_papers.section_title(n, len(data[n]))}\n" if fmt == "table" else "")
            + render(desk_papers.list_rows(data, n), desk_papers.LIST_COLUMNS[n], fmt) for n in names))
    else:
        path = written(lambda: desk_papers.write_lists(data, out, names))
        click.echo(f"已生成 {path}：{data['community']} {data['period']} "
                   + "、".join(desk_papers.section_title(n, len(data[n])) for n in names))


@desk_group.command("minutes")
@COMMUNITY
@click.option("--week", required=True, help="ISO 周，如 2026-W47")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".pdf 文件")
@db_option
def desk_minutes(community, week, out, db) -> None:
    """例会纪要（PDF）：各方出席、议定事项、议程（待商议、重新办理的问题，逾期实事，待处理需求）与本周议定的实事。"""
    check_out("pdf", out)
    agenda = run(db, lambda: desk_views.agenda(work(), community, week))
    path = written(lambda: desk_papers.write_minutes(agenda, out))
    click.echo(f"已生成 {path}：{agenda['community']} {week_label(agenda['week'])} 例会纪要，"
               f"本周议定实事 {len(agenda['new_actions'])} 项")


@desk_group.command("notice")
@COMMUNITY
@_period_options
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".pdf 文件")
@db_option
def desk_notice(community, week, month, year, out, db) -> None:
    """幸福清单公示（PDF，张贴用）：本期解决的问题、办理结果与居民满意度，居民姓名已遮蔽。"""
    span = _span(week, month, year)
    check_out("pdf", out)
    w = attempt(work, "无法读取政策文件")  # made here: its day also signs the notice
    notice = run(db, lambda: desk_views.notice(w, community, span))
    path = written(lambda: desk_papers.write_notice(notice, out, on=w.today))
    click.echo(f"已生成 {path}：{notice['community']} {notice['period']} 幸福清单 {len(notice['items'])} 件")


@desk_group.command("summary")
@click.option("--township", help="乡镇：其各安置社区一社区一行")
@click.option("--community", help="只看一个安置社区")
@click.option("--month", required=True, help="月，如 2026-11")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "xlsx", "pdf"]), default="table")
@click.option("--out", type=click.Path(dir_okay=False), help="保存到文件（xlsx、pdf 必须指定）")
@db_option
def desk_summary(township, community, month, fmt, out, db) -> None:
    """一月一汇：各安置社区的需求数、解决问题数、办结天数中位数、满意率、逾期实事、重新办理率。"""
    if township and community:
        fail("--township 与 --community 只能给出一个", 2)
    check_out(fmt, out)
    data = run(db, lambda: desk_views.summary(work(), township=township, community=community, month=month))
    if fmt == "json":
        write_json(data, out)
    elif fmt == "table":
        click.echo(f"{data['title']} {data['month']} 一月一汇\n"
                   + render(desk_papers.summary_rows(data), desk_papers.SUMMARY_COLUMNS, "table")
                   + "\n\n督办（按乡镇）\n"
                   + render(desk_papers.escalation_rows(data), desk_papers.ESCALATION_COLUMNS, "table"))
    else:
        path = written(lambda: desk_papers.write_summary(data, out))
        click.echo(f"已生成 {path}：{data['title']} {data['month']}，{len(data['rows'])} 个安置社区")


@desk_group.command("template")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".xlsx 文件")
def desk_template(out) -> None:
    """需求导入模板（.xlsx）：表头、渠道与类别的下拉选项、填写说明。"""
    check_out("xlsx", out)
    click.echo(f"已生成 {written(lambda: desk_import.write_template(out, work().policy))}")


DEMAND_IMPORT_HEAD = {
    "imported": "导入完成。",
    "unchanged": "表中的需求都已登记过，没有任何改动。",
    "partial": "已写入无错误的行，有错误的行已跳过。",
    "rejected": "发现错误，未写入任何需求。请按问题报告修改后重新导入，或用 --skip-invalid 只导入无错误的行。",
    "preview": "预览：以下是导入的结果，没有写入任何需求。",
}
SHOWN_ISSUES = 20


@desk_group.command("import-demands")
@click.argument("file", type=click.Path(dir_okay=False))
@COMMUNITY
@click.option("--skip-invalid", is_flag=True, help="写入所有没有错误的行，跳过有错误的行")
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="问题报告路径（默认在文件旁，名为 <文件名>.errors.xlsx）")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def desk_import_demands(file, community, skip_invalid, dry_run, errors_path, fmt, db) -> None:
    """导入走访、12345热线等渠道收集的需求（.xlsx / .csv，模板见 resettle desk template）。默认全有或全无。"""
    progress = Progress()
    report = run(db, lambda: desk_import.import_demands(work(), file, community, skip_invalid=skip_invalid,
                                                        dry_run=dry_run, progress=progress))
    progress.close()
    report_path = None
    if report["issues"]:
        source = Path(file)
        report_path = written(lambda: desk_import.write_issue_report(
            report, errors_path or source.with_name(f"{source.stem}.errors.xlsx")))
    report["error_report"] = str(report_path) if report_path else None
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{DEMAND_IMPORT_HEAD[report['outcome']]}\n{report['community']}：读取 {report['rows_read']} 行，"
                   f"{'可' if dry_run else ''}写入需求 {report['added']} 条，已登记过 {report['duplicates']} 条，"
                   f"错误行 {report['error_rows']}，警告 {report['warnings']}")
        if report["issues"]:
            click.echo(render(report["issues"][:SHOWN_ISSUES], desk_import.REPORT_COLUMNS, "table"))
            more = len(report["issues"]) - SHOWN_ISSUES
            click.echo(f"{f'另有 {more} 条问题，' if more > 0 else ''}问题报告：{report_path}")
    if report["error_rows"]:  # a preview exits as the import would
        sys.exit(EXIT_PARTIAL if skip_invalid else EXIT_REJECTED)
