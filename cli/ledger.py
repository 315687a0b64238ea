"""`resettle ledger`: each person's welfare matters and the hand-offs between townships.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import json
import sys

import click

from cli.common import DATE, EXIT_PARTIAL, db_option, fail, run, work
from cli.output import FORMATS, render
from resettle.rules.ledger import HANDOFF_STEPS
from services import ledger, ledger_views


@click.group("ledger")
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
    page = run(db, lambda: ledger.person_ledger(work(), person))
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
    found = run(db, lambda: ledger_views.list_handoffs(work(), township=township, direction=direction or "both",
                                                 overdue=overdue, open_only=not show_all, limit=100_000))
    items = found["items"] if fmt == "json" else [{**h, "overdue": "逾期" if h["overdue"] else "",
                                                   "due": h["due"] + ("（按周末推算）" if h["due_estimated"] else "")}
                                                  for h in found["items"]]
    click.echo(render(items, HANDOFF_COLUMNS, fmt))


def _ledger_action(action: str):
    @click.argument("ids", nargs=-1, required=True, type=int)
    @click.option("--reason", default="", help="退回或撤回的原因")
    @db_option
    def command(ids, reason, db) -> None:
        results = run(db, lambda: ledger.act(work(), list(ids), action, reason=reason))
        failed = [r for r in results if not r["ok"]]
        for r in results:
            click.echo(f"{r['id']}：{'已' + HANDOFF_STEPS[action] if r['ok'] else '未' + HANDOFF_STEPS[action]}"
                       f"{'' if r['ok'] else '，' + r['message']}")
        if failed:
            sys.exit(EXIT_PARTIAL if len(failed) < len(results) else 1)
    command.__doc__ = f"{HANDOFF_STEPS[action]}对接单（可一次多个）；每单各自成败，不会做一半。"
    return ledger_group.command(action)(command)


for _action in HANDOFF_STEPS:
    _ledger_action(_action)


@ledger_group.command("tags")
@click.argument("person")
@click.option("--set", "tags", required=True, help="新的特殊群体标签，如“低保、党员”；空字符串为清除")
@click.option("--reason", required=True, help="变更原因")
@db_option
def ledger_tags(person, tags, reason, db) -> None:
    """变更一个人的特殊群体标签：适用的事项随之建立，不再适用的随之关闭。"""
    page = run(db, lambda: ledger.set_tags(work(), person, tags, reason))
    click.echo(render(page["lines"], LINE_COLUMNS, "table"))


@ledger_group.command("close")
@click.argument("person")
@click.option("--reason", required=True, help="如“死亡”“迁出本区”")
@click.option("--on", "on", type=DATE, help="日期（默认今天）")
@db_option
def ledger_close(person, reason, on, db) -> None:
    """关闭一个人的全部事项（其未完成的对接单一并撤回）。"""
    result = run(db, lambda: ledger.close_person(work(), person, reason, on))
    click.echo(f"已关闭 {result['closed']} 项事项")


@ledger_group.command("routing")
@click.argument("line", type=int)
@click.option("--to", "routing", required=True, type=click.Choice(["STAYS", "FOLLOWS", "HUKOU"]))
@click.option("--reason", required=True, help="为何此人的这项事项不按目录办理")
@db_option
def ledger_routing(line, routing, reason, db) -> None:
    """改变某人某项事项的归属方式（目录之外的个案），写明原因并记入日志。"""
    result = run(db, lambda: ledger.change_routing(work(), line, routing, reason))
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
    report = run(db, lambda: ledger_views.pair_report(work(), township, other))
    path = ledger_views.write_pair_report(report, out)
    pending = sum(len(p["awaiting_us"]) + len(p["awaiting_them"]) for p in report["pairs"])
    click.echo(f"已生成 {path}：{report['township']}与 {len(report['pairs'])} 个乡镇之间的 {pending} 张对接单")
