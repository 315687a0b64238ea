"""`resettle <area> <verb>`: parse options, call a service, print. No rules live here."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import click
from tortoise.exceptions import BaseORMException

from cli.output import FORMATS, Progress, render
from resettle.actor import cli_actor
from resettle.db import migrate_schema, open_db, resolve_url
from resettle.errors import DomainError
from resettle.rules.dates import parse_date
from resettle.rules.desk import iso_week, period
from resettle.rules.funding import STATUS_LABELS, Kind, ProjectStatus, yuan
from resettle.rules.household import Status
from resettle.rules.ledger import ACTION_LABELS
from resettle.rules.permissions import CARRIAGES, ROLES
from services import accounts, database, desk, desk_import, desk_papers, funding, funding_papers, ledger, registry
from services.registry_import import import_sheets, write_issue_report

EXIT_REJECTED, EXIT_PARTIAL = 3, 4


def fail(message: str, code: int = 1) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(code)


def run(db: str | None, work: Callable[[], Awaitable], *, migrate: bool = True, connect: bool = True):
    """Open the database (creating the schema on an empty one), run one service call, and
    turn refusals and database failures into one Chinese line and a non-zero exit. A service
    that opens databases itself (`db copy`) runs with connect=False."""
    async def main():
        if not connect:
            return await work()
        async with open_db(db, migrate=migrate):
            return await work()
    try:
        return asyncio.run(main())
    except DomainError as exc:
        fail(exc.message)
    except (BaseORMException, OSError) as exc:
        fail(f"数据库出错（{resolve_url(db)}）：{exc}")


def sync(db: str | None, work: Callable[[], object]):
    """A service call that needs no ORM (file backups), with the same one-line refusals."""
    try:
        return work()
    except DomainError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"文件或数据库出错（{resolve_url(db)}）：{exc}")


def db_option(func):
    @click.option("--db", "db", envvar="DATABASE_URL", metavar="URL",
                  help="数据库地址：sqlite:///路径 或 postgres://用户@主机:端口/库名（默认 DATABASE_URL，"
                       "未设置时为当前目录的 resettle.db）")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateType()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """resettle — 集中居住社区治理工作台。"""


@main.group()
def db() -> None:
    """数据库：建表与迁移。"""


@db.command("migrate")
@db_option
def db_migrate(db: str | None) -> None:
    """应用所有未执行的数据库迁移。"""
    async def work():
        from tortoise.context import require_context

        applied = []
        await migrate_schema(require_context(),
                             progress=lambda event, app, name: applied.append(name)
                             if event == "apply_done" else None)
        return applied
    applied = run(db, work, migrate=False)
    click.echo(f"已执行迁移：{'、'.join(applied)}" if applied else "数据库已是最新结构，无需迁移")


COPY_COLUMNS = {"table": "表", "rows": "源库行数", "copied": "目标库行数", "checksum": "校验和", "match": "一致"}


@db.command("copy")
@click.option("--to", "target", required=True, metavar="URL", help="目标 PostgreSQL：postgres://用户@主机:端口/库名")
@click.option("--replace", is_flag=True, help="目标库已有数据时，清空后再复制（会先请你确认）")
@click.option("--yes", is_flag=True, help="不再确认（脚本用）")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def db_copy(target, replace, yes, fmt, db) -> None:
    """把整个数据库（含操作日志）复制到 PostgreSQL，逐表核对行数与校验和。"""
    if replace and not yes:
        click.confirm(f"将清空 {target} 中已有的全部数据再复制，确定吗？", abort=True)
    progress = Progress()
    report = run(db, lambda: database.copy(cli_actor(), db, target, replace=replace, progress=progress),
                 connect=False)
    progress.close()
    click.echo(render(report["tables"], COPY_COLUMNS, fmt))
    if fmt == "table":
        rows = sum(t["rows"] for t in report["tables"])
        click.echo(f"\n已把 {report['source']} 的 {len(report['tables'])} 张表共 {rows} 行复制到 "
                   f"{report['target']}，逐表核对行数与校验和一致。\n以后请用：DATABASE_URL={target} resettle serve "
                   "--workers 2")


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
def db_backup(file, db) -> None:
    """备份数据库到 FILE：SQLite 用在线备份（服务运行中也一致），PostgreSQL 用 pg_dump。"""
    result = sync(db, lambda: database.backup(cli_actor(), db, file))
    click.echo(f"已备份 {result['database']} 到 {result['file']}（{result['bytes'] / 1024 / 1024:.1f} MiB）")


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="不再确认（脚本用）")
@db_option
def db_restore(file, yes, db) -> None:
    """用备份 FILE 替换数据库的全部内容（先停止服务进程）。"""
    if not yes:
        click.confirm(f"将用 {file} 替换 {resolve_url(db)} 的全部内容，之后的修改都会丢失，确定吗？", abort=True)
    result = sync(db, lambda: database.restore(cli_actor(), db, file))
    click.echo(f"已用 {result['file']} 恢复 {result['database']}")


@main.group("registry")
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
    progress = Progress()
    report = run(db, lambda: import_sheets(cli_actor(), files, skip_invalid=skip_invalid,
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
    rows = run(db, lambda: service(cli_actor()))
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
    h = run(db, lambda: registry.show_household(cli_actor(), key))
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
        result = run(db, lambda: registry.record_hukou_moved(cli_actor(), agreement_no, person, value))
        click.echo(f"已登记：{result['name']}的户籍于{result['hukou_moved_on']}迁入")
        return
    when = (on or dt.date.today()) if step is Status.WITHDRAWN else value
    result = run(db, lambda: registry.record_step(
        cli_actor(), agreement_no, step, when, unit=unit,
        reason=reason if step is Status.WITHDRAWN else "", expected_version=version))
    click.echo(f"已登记：{result['agreement_no']} 现为{result['status_label']}（版本 {result['version']}）")


@main.group("ledger")
def ledger_group() -> None:
    """民生保障事项台账：人走事留、事随人走与乡镇间双向对接。"""


LINE_COLUMNS = {"id": "编号", "matter": "事项", "routing_label": "归属方式", "responsible_township": "当前负责乡镇",
                "status": "状态", "opened_on": "建立", "closed_on": "关闭", "close_reason": "关闭原因"}
HANDOFF_COLUMNS = {"id": "编号", "kind_label": "类型", "status_label": "状态", "from_township": "发出",
                   "to_township": "接收", "household": "协议编号", "person": "人员", "matter": "事项",
                   "due": "期限", "overdue": "逾期"}


@ledger_group.command("show")
@click.argument("person")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def ledger_show(person, fmt, db) -> None:
    """一个人的事项台账：每项事项由哪个乡镇负责、对接经过。PERSON 为身份证号或人员编号。"""
    page = run(db, lambda: ledger.person_ledger(cli_actor(), person))
    if fmt == "json":
        click.echo(json.dumps(page["lines"], ensure_ascii=False, indent=2))
        return
    if fmt == "table":
        click.echo(f"{page['name']}  {page['id_number']}  协议编号 {page['household']}  "
                   f"特殊群体 {page['tags'] or '无'}")
    click.echo(render(page["lines"], LINE_COLUMNS, fmt))


@ledger_group.command("handoffs")
@click.option("--township", help="乡镇（区集中居住办可指定任一乡镇）")
@click.option("--incoming", "direction", flag_value="incoming", help="只看发给本乡镇的")
@click.option("--outgoing", "direction", flag_value="outgoing", help="只看本乡镇发出的")
@click.option("--overdue", is_flag=True, help="只看逾期未接收或未办结的")
@click.option("--all", "show_all", is_flag=True, help="包括已办结、已退回、已撤回的")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def ledger_handoffs(township, direction, overdue, show_all, fmt, db) -> None:
    """双向对接单：逾期的排在最前。"""
    found = run(db, lambda: ledger.list_handoffs(cli_actor(), township=township, direction=direction or "both",
                                                 overdue=overdue, open_only=not show_all, limit=100_000))
    items = found["items"] if fmt == "json" else [{**h, "overdue": "逾期" if h["overdue"] else ""}
                                                  for h in found["items"]]
    click.echo(render(items, HANDOFF_COLUMNS, fmt))


def _ledger_action(action: str):
    @click.argument("ids", nargs=-1, required=True, type=int)
    @click.option("--reason", default="", help="退回或撤回的原因")
    @db_option
    def command(ids, reason, db) -> None:
        results = run(db, lambda: ledger.act(cli_actor(), list(ids), action, reason=reason))
        failed = [r for r in results if not r["ok"]]
        for r in results:
            click.echo(f"{r['id']}：{'已' + ACTION_LABELS[action] if r['ok'] else '未' + ACTION_LABELS[action]}"
                       f"{'' if r['ok'] else '，' + r['message']}")
        if failed:
            sys.exit(EXIT_PARTIAL if len(failed) < len(results) else 1)
    command.__doc__ = f"{ACTION_LABELS[action]}对接单（可一次多个）；每单各自成败，不会做一半。"
    return ledger_group.command(action)(command)


for _action in ("accept", "reject", "complete", "revoke"):
    _ledger_action(_action)


@ledger_group.command("tags")
@click.argument("person")
@click.option("--set", "tags", required=True, help="新的特殊群体标签，如“低保、党员”；空字符串为清除")
@click.option("--reason", required=True, help="变更原因")
@db_option
def ledger_tags(person, tags, reason, db) -> None:
    """变更一个人的特殊群体标签：适用的事项随之建立，不再适用的随之关闭。"""
    page = run(db, lambda: ledger.set_tags(cli_actor(), person, tags, reason))
    click.echo(render(page["lines"], LINE_COLUMNS, "table"))


@ledger_group.command("close")
@click.argument("person")
@click.option("--reason", required=True, help="如“死亡”“迁出本区”")
@click.option("--on", "on", type=DATE, help="日期（默认今天）")
@db_option
def ledger_close(person, reason, on, db) -> None:
    """关闭一个人的全部事项（其未完成的对接单一并撤回）。"""
    result = run(db, lambda: ledger.close_person(cli_actor(), person, reason, on))
    click.echo(f"已关闭 {result['closed']} 项事项")


@ledger_group.command("routing")
@click.argument("line", type=int)
@click.option("--to", "routing", required=True, type=click.Choice(["STAYS", "FOLLOWS", "HUKOU"]))
@click.option("--reason", required=True, help="为何此人的这项事项不按目录办理")
@db_option
def ledger_routing(line, routing, reason, db) -> None:
    """改变某人某项事项的归属方式（目录之外的个案），写明原因并记入日志。"""
    result = run(db, lambda: ledger.change_routing(cli_actor(), line, routing, reason))
    click.echo(f"事项台账 {result['id']} 的归属方式已改为 {result['routing']}")


@ledger_group.command("report")
@click.option("--township", required=True, help="本乡镇")
@click.option("--with", "other", help="只列与这个乡镇之间的")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".pdf 或 .xlsx")
@db_option
def ledger_report(township, other, out, db) -> None:
    """对接清单：本乡镇与各乡镇之间互相等待的事项，逾期标出；打印或发到工作群用。"""
    if not out.lower().endswith((".pdf", ".xlsx", ".csv")):
        fail("--out 只能是 .pdf、.xlsx 或 .csv 文件", 2)
    report = run(db, lambda: ledger.pair_report(cli_actor(), township, other))
    path = ledger.write_pair_report(report, out)
    pending = sum(len(p["awaiting_us"]) + len(p["awaiting_them"]) for p in report["pairs"])
    click.echo(f"已生成 {path}：{report['township']}与 {len(report['pairs'])} 个乡镇之间的 {pending} 张对接单")


@main.group("desk")
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


def _check_out(fmt: str, out: str | None) -> None:
    """A paper goes to a file of its own kind; a table only to the terminal."""
    if fmt in ("xlsx", "pdf") and not out:
        fail(f"--format {fmt} 需要用 --out 指定文件", 2)
    if fmt in ("xlsx", "pdf", "csv") and out and Path(out).suffix.lower() != f".{fmt}":
        fail(f"--out 应为 .{fmt} 文件", 2)
    if fmt == "table" and out:
        fail("表格只显示在屏幕上；保存到文件请用 --format xlsx、pdf、csv 或 json", 2)


def _written(write: Callable[[], Path]) -> Path:
    try:
        return write()
    except DomainError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"无法写入文件：{exc}")


def _json(data, out: str | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if not out:
        click.echo(text)
        return

    def save() -> Path:
        Path(out).write_text(text + "\n", encoding="utf-8")
        return Path(out)
    click.echo(f"已保存 {_written(save)}", err=True)


COMMUNITY = click.option("--community", required=True, help="安置社区（名称、编号，重名时写 乡镇/社区名）")


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
    _check_out(fmt, out)
    if fmt == "csv" and not which:
        fail("CSV 一次只能输出一张清单，请用 --list 指定", 2)
    data = run(db, lambda: desk.lists(cli_actor(), community, span))
    names = [which] if which else list(desk_papers.LIST_NAMES)
    if fmt == "json":
        _json(data[which] if which else data, out)
    elif fmt == "table" or (fmt == "csv" and not out):
        click.echo("\n\n".join(
            (f"{desk_papers.section_title(n, len(data[n]))}\n" if fmt == "table" else "")
            + render(desk_papers.list_rows(data, n), desk_papers.LIST_COLUMNS[n], fmt) for n in names))
    else:
        path = _written(lambda: desk_papers.write_lists(data, out, names))
        click.echo(f"已生成 {path}：{data['community']} {data['period']} "
                   + "、".join(desk_papers.section_title(n, len(data[n])) for n in names))


@desk_group.command("minutes")
@COMMUNITY
@click.option("--week", required=True, help="ISO 周，如 2026-W47")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".pdf 文件")
@db_option
def desk_minutes(community, week, out, db) -> None:
    """例会纪要（PDF）：各方出席、议定事项、议程（待商议、重新办理的问题，逾期实事，待处理需求）与本周议定的实事。"""
    _check_out("pdf", out)
    agenda = run(db, lambda: desk.agenda(cli_actor(), community, week))
    path = _written(lambda: desk_papers.write_minutes(agenda, out))
    click.echo(f"已生成 {path}：{agenda['community']} {agenda['week']} 例会纪要，"
               f"本周议定实事 {len(agenda['new_actions'])} 项")


@desk_group.command("notice")
@COMMUNITY
@_period_options
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".pdf 文件")
@db_option
def desk_notice(community, week, month, year, out, db) -> None:
    """幸福清单公示（PDF，张贴用）：本期解决的问题、办理结果与居民满意度，居民姓名已遮蔽。"""
    span = _span(week, month, year)
    _check_out("pdf", out)
    notice = run(db, lambda: desk.notice(cli_actor(), community, span))
    path = _written(lambda: desk_papers.write_notice(notice, out))
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
    _check_out(fmt, out)
    data = run(db, lambda: desk.summary(cli_actor(), township=township, community=community, month=month))
    if fmt == "json":
        _json(data, out)
    elif fmt == "table":
        click.echo(f"{data['title']} {data['month']} 一月一汇\n"
                   + render(desk_papers.summary_rows(data), desk_papers.SUMMARY_COLUMNS, "table"))
    else:
        path = _written(lambda: desk_papers.write_summary(data, out))
        click.echo(f"已生成 {path}：{data['title']} {data['month']}，{len(data['rows'])} 个安置社区")


@desk_group.command("template")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".xlsx 文件")
def desk_template(out) -> None:
    """需求导入模板（.xlsx）：表头、渠道与类别的下拉选项、填写说明。"""
    _check_out("xlsx", out)
    click.echo(f"已生成 {_written(lambda: desk_import.write_template(out))}")


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
    report = run(db, lambda: desk_import.import_demands(cli_actor(), file, community, skip_invalid=skip_invalid,
                                                        dry_run=dry_run, progress=progress))
    progress.close()
    report_path = None
    if report["issues"]:
        source = Path(file)
        report_path = _written(lambda: desk_import.write_issue_report(
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


@main.group("funding")
def funding_group() -> None:
    """社区治理项目：申报、核定、审定、区乡两级分担，审定单与年度资金汇总。"""


def _fen(text: str, what: str) -> int:
    """元 as typed (12,345.6) → fen; an amount that is not one is a wrong option."""
    try:
        return funding.fen(text, what)
    except DomainError as exc:
        fail(exc.message, 2)


def _verdict(q: dict) -> str:
    return "\n".join([f"资格审查：{'符合申报条件' if q['qualifies'] else '不符合申报条件'}",
                      *(f"  {'✓' if c['ok'] else '✗'} {c['text']}" for c in q["checks"])])


def _project_head(p: dict) -> str:
    return f"项目 {p['id']}「{p['title']}」{p['status_label']}（版本 {p['version']}）"


def _split(district: int, township: int, ratio_label: str) -> str:
    return f"区级承担 {ratio_label}：{yuan(district)}，乡镇承担 {yuan(township)}"


def _show_text(p: dict) -> str:
    proof = p["evidence"]
    item = "一事一议" if p["kind"] == "case_by_case" else f"{p['kind_label']} {p['item']}"
    amounts = [f"申请 {yuan(p['requested'])}"]
    if p["verified"] is not None:
        amounts.append(f"核定 {yuan(p['verified'])}（{p['verified_by']} {p['verified_on']}）")
    if p["approved"] is not None:
        amounts.append(f"审定 {yuan(p['approved'])}（{p['approved_by']} {p['approved_on']}）")
    if p["spent"] is not None:
        amounts.append(f"实际支出 {yuan(p['spent'])}（{p['completed_on']}验收）")
    lines = [_project_head(p),
             f"{p['township']} {p['community']} · {item} · {p['year']}年 · 核定部门 {p['department']} · "
             f"已入住 {p['moved_in_households']} 户",
             " · ".join(amounts)]
    if p["approved"] is not None:
        lines.append(_split(p["district_share"], p["township_share"], p["ratio_label"]))
    elif p["split_preview"]:
        preview = p["split_preview"]
        lines.append("按核定金额试算：" + _split(preview["district_share"], preview["township_share"],
                                           preview["ratio_label"]))
    if p["reason"]:
        lines.append(f"{'退回' if p['status'] == 'returned' else '不予通过'}原因：{p['reason']}")
    lines += [_verdict(p["qualification"]),
              f"申报依据：三合署问题 {len(proof['problems'])} 个，{proof['households']} 户居民反映"
              if proof["problems"] else "申报依据：未引用三合署问题",
              *(f"  #{problem['id']} {problem['title']}" for problem in proof["problems"]),
              "经过：",
              render([{**h, "action": funding_papers.ACTION_LABELS.get(h["action"], h["action"])}
                      for h in p["history"]], {"at": "时间", "actor": "操作人", "action": "事项"}, "table")]
    return "\n".join(lines)


PROJECT_ID = click.argument("project_id", metavar="ID", type=int)
VERSION = click.option("--version", type=int, help="按看到的版本号保存，他人已修改则拒绝")
KINDS = click.Choice([k.value for k in Kind])


def _deliberation_options(func):
    for option in reversed((
            click.option("--deliberation-body", default="", help="一事一议：议事机构，如“居民代表会议”"),
            click.option("--deliberation-date", type=DATE, help="一事一议：议事日期"),
            click.option("--attendance", type=int, default=0, help="一事一议：到会人数"),
            click.option("--votes-for", type=int, default=0, help="一事一议：赞成票数"),
            click.option("--votes-against", type=int, default=0, help="一事一议：反对票数"))):
        func = option(func)
    return func


def _deliberation(body: str, held_on: dt.date | None, attendance: int, votes_for: int,
                  votes_against: int) -> dict | None:
    """The 一事一议 record from its options, or None when none was given."""
    if not (body or held_on or attendance or votes_for or votes_against):
        return None
    return {"body": body, "held_on": held_on.isoformat() if held_on else None, "attendance": attendance,
            "votes_for": votes_for, "votes_against": votes_against}


def _drafted(project: dict, fmt: str, verb: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(project, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{verb}{_project_head(project)}\n{_verdict(project['qualification'])}")
    click.echo(f"可以提交：resettle funding submit {project['id']}" if project["qualification"]["qualifies"]
               else f"不符合申报条件，用 resettle funding update {project['id']} --version {project['version']} "
                    "修改后才能提交。")


PROBLEMS = click.option("--problem", "problems", type=int, multiple=True,
                        help="作为依据的三合署问题编号（可多次给出）")
DRAFT_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")


@funding_group.command("draft")
@COMMUNITY
@click.option("--kind", required=True, type=KINDS,
              help="construction 一次性建设类、operation 日常运营管理类、case_by_case 一事一议")
@click.option("--item", default="", help="项目目录编号，如 YY01（一事一议不填）")
@click.option("--title", required=True, help="项目名称")
@click.option("--year", required=True, type=int, help="项目年度")
@click.option("--amount", required=True, help="申请金额（元，最多两位小数）")
@click.option("--area", type=int, help="建筑面积（平方米），按面积设上限的目录项目须填")
@click.option("--department", default="", help="一事一议的核定部门")
@click.option("--description", default="", help="项目说明")
@PROBLEMS
@_deliberation_options
@DRAFT_FORMAT
@db_option
def funding_draft(community, kind, item, title, year, amount, area, department, description, problems,
                  deliberation_body, deliberation_date, attendance, votes_for, votes_against, fmt, db) -> None:
    """起草一个项目（草稿）并显示资格审查结论；符合条件后用 resettle funding submit 提交。"""
    requested = _fen(amount, "申请金额")
    deliberation = _deliberation(deliberation_body, deliberation_date, attendance, votes_for, votes_against)
    project = run(db, lambda: funding.draft(
        cli_actor(), community=community, kind=kind, item=item, title=title, year=year, requested=requested,
        area_m2=area, department=department, description=description, problems=list(problems),
        deliberation=deliberation))
    _drafted(project, fmt, "已起草")


@funding_group.command("update")
@PROJECT_ID
@click.option("--version", required=True, type=int, help="看到的版本号，他人已修改则拒绝")
@click.option("--amount", help="申请金额（元）")
@click.option("--title", help="项目名称")
@click.option("--item", help="项目目录编号")
@click.option("--year", type=int, help="项目年度")
@click.option("--area", type=int, help="建筑面积（平方米）")
@click.option("--department", help="一事一议的核定部门")
@click.option("--description", help="项目说明")
@PROBLEMS
@_deliberation_options
@DRAFT_FORMAT
@db_option
def funding_update(project_id, version, amount, title, item, year, area, department, description, problems,
                   deliberation_body, deliberation_date, attendance, votes_for, votes_against, fmt, db) -> None:
    """修改草稿或退回的项目（只改给出的项，--problem 追加依据），并重新显示资格审查结论。"""
    changes = {key: value for key, value in (("title", title), ("item", item), ("year", year), ("area_m2", area),
                                             ("department", department), ("description", description))
               if value is not None}
    if amount is not None:
        changes["requested"] = _fen(amount, "申请金额")
    deliberation = _deliberation(deliberation_body, deliberation_date, attendance, votes_for, votes_against)
    if deliberation:
        changes["deliberation"] = deliberation
    project = run(db, lambda: funding.update(cli_actor(), project_id, version=version, problems=list(problems),
                                             **changes))
    _drafted(project, fmt, "已修改")


@funding_group.command("submit")
@PROJECT_ID
@VERSION
@db_option
def funding_submit(project_id, version, db) -> None:
    """提交项目（提交时重新审查资格，不符合条件的不能提交），等待核定部门核定。"""
    p = run(db, lambda: funding.submit(cli_actor(), project_id, version=version))
    click.echo(f"已提交：{_project_head(p)}，等待{p['department']}核定")


@funding_group.command("verify")
@PROJECT_ID
@click.option("--amount", required=True, help="核定金额（元），不超过申请金额")
@VERSION
@db_option
def funding_verify(project_id, amount, version, db) -> None:
    """核定：核定部门确定金额（不超过申请金额），等待区财政局审定。"""
    verified = _fen(amount, "核定金额")
    p = run(db, lambda: funding.verify(cli_actor(), project_id, verified, version=version))
    preview = p["split_preview"]
    click.echo(f"已核定 {yuan(p['verified'])}：{_project_head(p)}\n按现行比例试算："
               + _split(preview["district_share"], preview["township_share"], preview["ratio_label"]))


@funding_group.command("approve")
@PROJECT_ID
@click.option("--amount", required=True, help="审定金额（元），不超过核定金额")
@VERSION
@db_option
def funding_approve(project_id, amount, version, db) -> None:
    """审定：区财政局确定金额（不超过核定金额），按比例分担并计入当年区级资金，超出剩余额度的拒绝。"""
    approved = _fen(amount, "审定金额")

    async def work():
        actor = cli_actor()
        p = await funding.approve(actor, project_id, approved, version=version)
        return p, await funding.envelope(actor, p["year"])
    p, envelope = run(db, work)
    click.echo(f"已审定 {yuan(p['approved'])}：{_project_head(p)}\n"
               + _split(p["district_share"], p["township_share"], p["ratio_label"])
               + f"\n{p['year']}年区级资金已承诺 {yuan(envelope['committed'])}，剩余 {yuan(envelope['remaining'])}")


def _send_back(to: str, label: str):
    @PROJECT_ID
    @click.option("--reason", required=True, help="原因")
    @VERSION
    @db_option
    def command(project_id, reason, version, db) -> None:
        p = run(db, lambda: funding.send_back(cli_actor(), project_id, to, reason, version=version))
        click.echo(f"已{label}：{_project_head(p)}，原因：{p['reason']}")
    command.__doc__ = {"returned": "退回乡镇修改后重新提交（写明原因）：核定前由核定部门，核定后由区财政局。",
                       "rejected": "不予通过（写明原因）：核定前由核定部门，核定后由区财政局。"}[to]
    return command


funding_group.command("return")(_send_back("returned", "退回"))
funding_group.command("reject")(_send_back("rejected", "不予通过"))


@funding_group.command("complete")
@PROJECT_ID
@click.option("--spent", required=True, help="实际支出（元），不超过审定金额")
@click.option("--on", "on", type=DATE, help="验收日期（默认今天）")
@VERSION
@db_option
def funding_complete(project_id, spent, on, version, db) -> None:
    """验收：乡镇登记验收日期与实际支出。"""
    amount = _fen(spent, "实际支出")
    p = run(db, lambda: funding.complete(cli_actor(), project_id, spent=amount, on=on, version=version))
    click.echo(f"已验收：{_project_head(p)}，实际支出 {yuan(p['spent'])}（审定 {yuan(p['approved'])}）")


@funding_group.command("show")
@PROJECT_ID
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--sheet", type=click.Path(dir_okay=False), help="另存审定单（.pdf）")
@db_option
def funding_show(project_id, fmt, sheet, db) -> None:
    """查看一个项目：金额、分担、资格审查、申报依据与经过；--sheet 打印审定单（待审定的为预览）。"""
    if sheet and Path(sheet).suffix.lower() != ".pdf":
        fail("--sheet 应为 .pdf 文件", 2)

    async def work():
        actor = cli_actor()
        p = await funding.show(actor, project_id)
        return p, await funding.envelope(actor, p["year"]) if sheet else None
    p, envelope = run(db, work)
    click.echo(json.dumps(p, ensure_ascii=False, indent=2, default=str) if fmt == "json" else _show_text(p))
    if sheet:
        path = _written(lambda: funding_papers.write_approval_sheet(p, sheet, envelope=envelope))
        click.echo(f"已生成审定单 {path}", err=True)


@funding_group.command("list")
@click.option("--year", required=True, type=int, help="项目年度")
@click.option("--status", type=click.Choice([s.value for s in ProjectStatus]), help="只看这一状态")
@click.option("--township", help="只看这个乡镇")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def funding_list(year, status, township, fmt, db) -> None:
    """列出一年的项目：状态、申请/核定/审定金额与区乡分担。"""
    found = run(db, lambda: funding.list_projects(cli_actor(), year=year, status=status, township=township,
                                                  limit=1_000_000))
    items = found["items"] if fmt == "json" else funding_papers.project_rows(found["items"])
    click.echo(render(items, funding_papers.PROJECT_COLUMNS, fmt))


@funding_group.command("summary")
@click.option("--year", required=True, type=int, help="年度")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--out", type=click.Path(dir_okay=False), help="另存为 .xlsx 或 .pdf（含图表）")
@db_option
def funding_summary(year, fmt, out, db) -> None:
    """年度资金汇总：分乡镇、分类别的审定金额与区级、乡镇承担，当年区级资金总额、已承诺与剩余。"""
    if out and Path(out).suffix.lower() not in (".xlsx", ".pdf"):
        fail("--out 只能是 .xlsx 或 .pdf 文件", 2)
    data = run(db, lambda: funding.summary(cli_actor(), year))
    if out:
        path = _written(lambda: funding_papers.write_summary(data, out))
        click.echo(f"已生成 {path}：{year}年 {data['total']['projects']} 个已审定项目", err=fmt == "json")
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif not out:
        click.echo(f"{year}年社区治理项目资金汇总（单位：元）\n"
                   + render(funding_papers.summary_rows(data, funding_papers.plain_yuan),
                            funding_papers.SUMMARY_COLUMNS, "table")
                   + f"\n区级资金总额 {yuan(data['envelope'])}，已承诺 {yuan(data['committed'])}，"
                     f"剩余 {yuan(data['remaining'])}")


@main.group("users")
def users_group() -> None:
    """账号：添加、列出、改密码、停用、全部退出登录、发放 API 令牌。"""


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")


@users_group.command("add")
@click.argument("login")
@click.option("--name", required=True, help="姓名")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="角色")
@click.option("--township", help="乡镇信息员所在乡镇")
@click.option("--community", help="三合署窗口所在安置社区（重名时写 乡镇/社区名）")
@click.option("--carriage", type=click.Choice(list(CARRIAGES)), default=None, help="三驾马车之一")
@click.option("--department", default="", help="业务主管部门名称")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（脚本用）")
@db_option
def users_add(login, name, role, township, community, carriage, department, password_stdin, db) -> None:
    """添加账号；密码在提示符下输入，或用 --password-stdin。"""
    password = _password(password_stdin)
    user = run(db, lambda: accounts.add_user(cli_actor(), login, name, role, password, township=township,
                                             community=community, carriage=carriage or "",
                                             department=department))
    click.echo(f"已添加账号 {user['login']}（{user['name']}，{user['role_label']}）")


USER_COLUMNS = {"login": "登录名", "name": "姓名", "role_label": "角色", "township": "乡镇",
                "community": "安置社区", "carriage": "三驾马车", "department": "部门", "active": "启用"}


@users_group.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def users_list(fmt, db) -> None:
    """列出所有账号。"""
    users = run(db, lambda: accounts.list_users(cli_actor()))
    click.echo(render(users, USER_COLUMNS, fmt))


@users_group.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码")
@db_option
def users_passwd(login, password_stdin, db) -> None:
    """修改账号的密码（其所有登录会话随之结束）。"""
    password = _password(password_stdin)
    run(db, lambda: accounts.set_password(cli_actor(), login, password))
    click.echo(f"已修改 {login} 的密码")


@users_group.command("disable")
@click.argument("login")
@db_option
def users_disable(login, db) -> None:
    """停用账号（其 API 令牌和所有登录会话一并作废）。"""
    run(db, lambda: accounts.disable(cli_actor(), login))
    click.echo(f"已停用 {login}")


@users_group.command("signout")
@click.argument("login")
@db_option
def users_signout(login, db) -> None:
    """让账号在所有浏览器上退出登录（如手机丢失、在公用电脑上忘记退出）。"""
    ended = run(db, lambda: accounts.sign_out_everywhere(cli_actor(), login))
    click.echo(f"已让 {login} 在所有浏览器上退出登录（结束 {ended} 个会话）")


@users_group.command("token")
@click.argument("login")
@db_option
def users_token(login, db) -> None:
    """为账号发放新的 API 令牌（旧令牌作废），只打印令牌本身。"""
    click.echo(run(db, lambda: accounts.issue_token(cli_actor(), login)))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="服务进程数：多个进程共用同一端口，须使用 PostgreSQL")
@click.option("--worker", is_flag=True, hidden=True)  # one of --workers' processes
@db_option
def serve(host, port, workers, worker, db) -> None:
    """启动网页工作台与 JSON API。"""
    from aiohttp import web

    from web import logs
    from web.app import init_app
    from web.security import secret_key

    if workers > 1:
        _serve_workers(host, port, workers, db)
        return
    if not worker:
        run(db, lambda: asyncio.sleep(0))  # migrate before serving
        click.echo(f"工作台：http://{host}:{port}/  （Ctrl+C 停止）")
    logs.configure()
    web.run_app(init_app(db, secret=secret_key()), host=host, port=port, print=None, reuse_port=worker,
                access_log_class=logs.AccessLog, access_log=logging.getLogger("resettle.access"))


def _serve_workers(host: str, port: int, workers: int, db: str | None) -> None:
    """N processes on one port (SO_REUSEPORT: the kernel spreads connections). The parent
    migrates and makes the session key first, so the workers never race for either."""
    import signal
    import subprocess

    from web.security import secret_key

    url = resolve_url(db)
    if not url.startswith("postgres://"):
        fail("多个服务进程须使用 PostgreSQL（SQLite 同一时间只允许一个进程写入）："
             "请先 resettle db copy --to postgres://…", 2)
    run(db, lambda: asyncio.sleep(0))
    secret_key()
    command = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--host", host,
               "--port", str(port), "--db", url, "--worker"]
    children = [subprocess.Popen(command) for _ in range(workers)]
    click.echo(f"工作台：http://{host}:{port}/  （{workers} 个服务进程，Ctrl+C 停止）")

    def stop(signum, frame) -> None:
        for child in children:
            child.send_signal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [child.wait() for child in children]
    sys.exit(max(codes, key=abs) if any(codes) else 0)


@main.group("fixtures")
def fixtures_group() -> None:
    """演示与测试数据。"""


@fixtures_group.command("generate")
@click.option("--households", type=click.IntRange(1), required=True, help="户数")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help=".xlsx 或 .csv")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="按此比例在行中预置已知错误（备注列写明错误类型）")
def fixtures_generate(households, out, seed, error_rate) -> None:
    """用 faker 生成一份签约交房表（标题行、别名、混合日期格式等照实模拟）。"""
    from fixtures.generate import write_sheet

    if not out.lower().endswith((".xlsx", ".csv")):
        fail("--out 只能是 .xlsx 或 .csv 文件", 2)
    progress = Progress()
    stats = write_sheet(out, households, seed=seed, error_rate=error_rate,
                        progress=progress.step("生成", households))
    progress.close()
    click.echo(f"已生成 {out}：{stats.households} 户 {stats.persons} 人，预置错误 {stats.planted_errors} 处")


@main.command()
@click.option("--households", type=click.IntRange(1), default=2000, show_default=True)
@db_option
def demo(households, db) -> None:
    """在当前目录建库、生成并导入约2000户演示数据，登记部分分房与入住，打印统计。"""
    from services.demo import seed_demo

    sheet = Path("demo-signing-sheet.xlsx").resolve()
    progress = Progress()
    result = run(db, lambda: seed_demo(cli_actor(), sheet, households, progress=progress))
    progress.close()
    click.echo(f"演示数据已生成：{sheet.name}（{result['households']} 户 {result['persons']} 人），"
               f"已导入 {resolve_url(db)}")
    click.echo(f"登记分房 {result['allocated']} 户，入住 {result['moved_in']} 户，退出 {result['withdrawn']} 户；"
               f"入住产生双向对接单 {result['handoffs']} 张，已办结 {result['handoffs_completed']} 张。\n")
    click.echo(f"演示账号（密码均为 {result['password']}）：")
    click.echo(render(result["users"], {"login": "登录名", "role_label": "角色", "scope": "范围"}, "table") + "\n")
    click.echo(render(result["stats"], TOWNSHIP_COLUMNS, "table"))
    work = result["desk"]
    first = work["communities"][0]
    click.echo(f"\n三合署：{'、'.join(work['communities'])}近 {work['weeks']} 周的接待与例会，"
               f"需求 {work['demands']} 条，问题 {work['problems']} 个（幸福清单 {work['happy']} 个，"
               f"居民不满意重新办理 {work['reopened']} 次），实事 {work['actions']} 项（逾期 {work['overdue']} 项）。")
    projects = result["funding"]
    tries = []
    if projects["projects"]:
        states = "、".join(f"{STATUS_LABELS[ProjectStatus(s)]} {n} 个" for s, n in projects["states"].items())
        click.echo(f"社区治理项目：{projects['community']}{projects['year']}年 {projects['projects']} 个（{states}）"
                   + (f"，项目 {projects['from_problem']} 由三合署问题转来" if projects["from_problem"] else "") + "。")
        tries = [f"resettle funding list --year {projects['year']}",
                 f"resettle funding summary --year {projects['year']} --out 资金汇总.pdf"]
        if projects["from_problem"]:
            tries.append(f"resettle funding show {projects['from_problem']} --sheet 审定单.pdf")
    today = dt.date.today()
    click.echo("\n接下来可以试试：")
    for line in (
        *tries,
        f"resettle desk lists --community {first} --month {today:%Y-%m}",
        f"resettle desk minutes --community {first} --week {iso_week(today - dt.timedelta(days=7))} --out 例会纪要.pdf",
        f"resettle desk summary --month {today:%Y-%m} --format pdf --out 一月一汇.pdf",
        "resettle registry stats --by community",
        f"resettle registry show {result['sample_agreement']}",
        "resettle registry stats --format json",
        "resettle fixtures generate --households 50 --error-rate 0.05 --out 有错误的表.xlsx",
        "resettle registry import 有错误的表.xlsx",
        "resettle ledger handoffs --township 陈家镇 --incoming --overdue",
        "resettle ledger report --township 陈家镇 --out 陈家镇对接清单.pdf",
        "resettle serve    # 然后用上面的演示账号登录 http://127.0.0.1:8080/",
    ):
        click.echo(f"  {line}")
