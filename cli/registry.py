"""`resettle registry`: import signing sheets, count, look up and record progress.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.common import DATE, EXIT_PARTIAL, EXIT_REJECTED, db_option, fail, run, work
from cli.output import FORMATS, Progress, check_out, render, written
from resettle.rules.household import Status
from services import registry


@click.group("registry")
def registry_group() -> None:
    """初始人员信息库：导入签约交房表、统计、查询、登记进度。"""


IMPORT_LABELS = {
    "rows_read": "读取行数", "duplicate_rows": "重复行", "households_added": "新增户",
    "households_updated": "更新户", "households_unchanged": "未变户", "households_skipped": "跳过户",
    "persons_added": "新增人", "persons_updated": "更新人", "persons_unchanged": "未变人",
    "error_rows": "错误行", "warnings": "警告", "warning_rows": "警告行",
}


@registry_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="写入所有没有错误的户，跳过有错误的户")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="问题报告路径（默认在第一个文件旁，名为 <文件名>.errors.xlsx）")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def registry_import(files, skip_invalid, errors_path, fmt, db) -> None:
    """导入签约交房表（.xlsx / .csv），一行一人。默认全有或全无。"""
    from services.registry_import import import_sheets, write_issue_report  # pandas: only this command

    progress = Progress()
    report = run(db, lambda: import_sheets(work(), files, skip_invalid=skip_invalid,
                                           progress=progress))
    progress.close()
    report_path = None
    if report.issues:
        first = Path(files[0])
        report_path = write_issue_report(
            report, errors_path or first.with_name(f"{first.stem}.errors.xlsx"))
    summary = report.summary()
    summary["error_report"] = str(report_path) if report_path else None
    if fmt == "json":
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        click.echo(_import_text(summary))
    if report.outcome == "rejected":
        sys.exit(EXIT_REJECTED)
    if report.outcome == "partial":
        sys.exit(EXIT_PARTIAL)


def _import_text(s: dict) -> str:
    head = {
        "imported": "导入完成。",
        "unchanged": "与库中记录完全一致，没有任何改动。",
        "rejected": "发现错误，未写入任何数据。请按问题报告修改后重新导入，或用 --skip-invalid 只导入无错误的户。",
        "partial": "已写入无错误的户，有错误的户已跳过。",
    }[s["outcome"]]
    lines = [head, "  ".join(f"{label} {s[key]}" for key, label in IMPORT_LABELS.items())]
    if s["new_communities"]:
        lines.append(f"新建安置社区 {len(s['new_communities'])} 个：{'、'.join(s['new_communities'])}")
    if s["new_villages"]:
        lines.append(f"新建迁出村 {len(s['new_villages'])} 个")
    if s["error_report"]:
        lines.append(f"问题报告：{s['error_report']}")
    return "\n".join(lines)


MOVES_LABELS = {
    "rows_read": "读取行数", "households_allocated": "分房户", "households_moved_in": "入住户",
    "persons_hukou_moved": "户籍迁入人", "rows_unchanged": "已登记过的行", "households_skipped": "跳过户",
    "error_rows": "错误行", "warnings": "警告",
}
MOVES_HEAD = {
    "imported": "登记完成。",
    "unchanged": "表中的分房、入住和户籍迁入都已登记过，没有任何改动。",
    "rejected": "发现错误，未写入任何数据。请按问题报告修改后重新导入，或用 --skip-invalid 只登记无错误的户。",
    "partial": "已登记无错误的户，有错误的户已整户跳过。",
    "preview": "预览：以下是登记的结果，没有写入任何数据。",
}
SHOWN_ISSUES = 20


@registry_group.command("moves")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="登记所有没有错误的户，整户跳过有错误的户")
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="问题报告路径（默认在第一个文件旁，名为 <文件名>.errors.xlsx）")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def registry_moves(files, skip_invalid, dry_run, errors_path, fmt, db) -> None:
    """批量登记分房、入住与户籍迁入（.xlsx / .csv，模板见 resettle registry template moves）。默认全有或全无。"""
    from services.registry_import import ISSUE_COLUMNS, write_issue_report
    from services.registry_moves import import_moves

    progress = Progress()
    report = run(db, lambda: import_moves(work(), files, skip_invalid=skip_invalid, dry_run=dry_run,
                                          progress=progress))
    progress.close()
    report_path = None
    if report.issues:
        first = Path(files[0])
        report_path = written(lambda: write_issue_report(
            report, errors_path or first.with_name(f"{first.stem}.errors.xlsx")))
    summary = report.summary()
    summary["error_report"] = str(report_path) if report_path else None
    if fmt == "json":
        summary["issues"] = [vars(i) for i in report.issues]
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(MOVES_HEAD[report.outcome])
        click.echo("  ".join(f"{label} {summary[key]}" for key, label in MOVES_LABELS.items()))
        if report.issues:
            columns = {k: v for k, v in ISSUE_COLUMNS.items() if k != "file" or len(report.files) > 1}
            click.echo(render([vars(i) for i in report.issues[:SHOWN_ISSUES]], columns, "table"))
            more = len(report.issues) - SHOWN_ISSUES
            click.echo(f"{f'另有 {more} 条问题，' if more > 0 else ''}问题报告：{report_path}")
    if report.error_rows:  # a preview exits as the import would
        sys.exit(EXIT_PARTIAL if skip_invalid else EXIT_REJECTED)


@registry_group.group("template")
def registry_template() -> None:
    """空白导入模板。"""


@registry_template.command("moves")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".xlsx 文件")
def registry_template_moves(out) -> None:
    """分房入住表模板（.xlsx）：表头（必填列标 *）、身份证号列为文本格式、填写说明。"""
    from services.registry_moves import write_template

    check_out("xlsx", out)
    click.echo(f"已生成 {written(lambda: write_template(out))}")


STATUS_COLUMNS = {step.value: label for step, label in (
    (Status.SIGNED, "已签约"), (Status.HANDED_OVER, "已交房"), (Status.ALLOCATED, "已分房"),
    (Status.MOVED_IN, "已入住"))}
TOWNSHIP_COLUMNS = {
    "township": "乡镇", "out_households": "迁出户数", "out_persons": "迁出人数",
    **{f"out_{k}": f"迁出{v}" for k, v in STATUS_COLUMNS.items()},
    "in_households": "迁入户数", "in_persons": "迁入人数",
    **{f"in_{k}": f"迁入{v}" for k, v in STATUS_COLUMNS.items()},
}
COMMUNITY_COLUMNS = {
    "community": "安置社区", "township": "所属乡镇", "households": "户数", "persons": "人数",
    "moved_in_households": "已入住户数", "separated_persons": "人户分离人数", **STATUS_COLUMNS,
}


@registry_group.command("stats")
@click.option("--by", type=click.Choice(["township", "community"]), default="township",
              help="按乡镇或按安置社区统计")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--out", type=click.Path(dir_okay=False), help="另存为 .xlsx 或 .csv")
@db_option
def registry_stats(by, fmt, out, db) -> None:
    """底数统计：各乡镇迁出/迁入户数人数，各安置社区户数、人数、入住与人户分离。"""
    service = registry.township_stats if by == "township" else registry.community_stats
    rows = run(db, lambda: service(work()))
    columns = TOWNSHIP_COLUMNS if by == "township" else COMMUNITY_COLUMNS
    if fmt == "json":
        rows = [{k: v for k, v in r.items() if k in columns or k == "code"} for r in rows]
    click.echo(render(rows, columns, fmt))
    if out:
        from resettle.sheets import write_table

        click.echo(f"已另存为 {write_table(rows, columns, out)}", err=True)


@registry_group.command("show")
@click.argument("key")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def registry_show(key, fmt, db) -> None:
    """按协议编号或身份证号查看一户：成员（证件号已遮蔽）与各步日期。"""
    h = run(db, lambda: registry.show_household(work(), key))
    if fmt == "json":
        click.echo(json.dumps(h, ensure_ascii=False, indent=2))
        return
    click.echo(f"协议编号 {h['agreement_no']}  状态 {h['status_label']}  版本 {h['version']}")
    click.echo(f"迁出 {h['origin_township']}{h['village']}{h['group']}  →  "
               f"迁入 {h['dest_township']}{h['community']} {h['unit']}".rstrip())
    click.echo("\n成员：")
    click.echo(render(h["members"], {"name": "姓名", "id_number": "公民身份号码", "relation": "与户主关系",
                                     "phone": "联系电话", "hukou_township": "户籍地",
                                     "tags": "特殊群体"}, "table"))
    click.echo("\n经过：")
    click.echo(render(h["events"], {"on": "日期", "event": "事项", "note": "说明"}, "table"))


@registry_group.command("record")
@click.argument("agreement_no")
@click.option("--handed-over", type=DATE, help="交房日期")
@click.option("--allocated", type=DATE, help="分房日期（可同时用 --unit 登记房号）")
@click.option("--unit", help="房号")
@click.option("--moved-in", type=DATE, help="入住日期")
@click.option("--withdrawn", "reason", help="退出原因（入住前可退出）")
@click.option("--on", "on", type=DATE, help="退出日期（默认今天）")
@click.option("--hukou-moved", type=DATE, help="户籍迁入迁入乡镇的日期，须配合 --person")
@click.option("--person", help="户籍迁移的成员身份证号")
@click.option("--version", type=int, help="按页面上看到的版本号保存，他人已修改则拒绝")
@db_option
def registry_record(agreement_no, handed_over, allocated, unit, moved_in, reason, on, hukou_moved,
                    person, version, db) -> None:
    """登记一户的进度：交房、分房、入住、退出，或某成员户籍迁入。"""
    steps = [(Status.HANDED_OVER, handed_over), (Status.ALLOCATED, allocated),
             (Status.MOVED_IN, moved_in), (Status.WITHDRAWN, reason), ("hukou", hukou_moved)]
    chosen = [(s, v) for s, v in steps if v]
    if len(chosen) != 1:
        fail("请且只请给出一项：--handed-over、--allocated、--moved-in、--withdrawn 或 --hukou-moved", 2)
    step, value = chosen[0]
    if unit and step is not Status.ALLOCATED:
        fail("--unit 只能和 --allocated 一起使用", 2)
    if step == "hukou":
        if not person:
            fail("--hukou-moved 需要用 --person 指明成员身份证号", 2)
        result = run(db, lambda: registry.record_hukou_moved(work(), agreement_no, person, value))
        click.echo(f"已登记：{result['name']}的户籍于{result['hukou_moved_on']}迁入")
        return

    async def record():
        w = work()
        when = (on or w.today) if step is Status.WITHDRAWN else value
        return await registry.record_step(w, agreement_no, step, when, unit=unit,
                                          reason=reason if step is Status.WITHDRAWN else "", expected_version=version)
    result = run(db, record)
    click.echo(f"已登记：{result['agreement_no']} 现为{result['status_label']}（版本 {result['version']}）")
