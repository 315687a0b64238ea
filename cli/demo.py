"""`resettle demo` and `resettle fixtures`: demonstration and test data.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import db_option, fail, run, work
from cli.output import Progress, render
from cli.registry import TOWNSHIP_COLUMNS
from resettle.db import resolve_url
from resettle.rules.funding import STATUS_LABELS, ProjectStatus


@click.group("fixtures")
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


@click.command()
@click.option("--households", type=click.IntRange(1), default=2000, show_default=True)
@db_option
def demo(households, db) -> None:
    """在当前目录建库、生成并导入约2000户演示数据，登记部分分房与入住，打印统计。"""
    from services.demo import seed_demo

    sheet = Path("demo-signing-sheet.xlsx").resolve()
    progress = Progress()
    result = run(db, lambda: seed_demo(work(), sheet, households, progress=progress))
    progress.close()
    click.echo(f"演示数据已生成：{sheet.name}（{result['households']} 户 {result['persons']} 人），"
               f"已导入 {resolve_url(db)}")
    click.echo(f"登记分房 {result['allocated']} 户，入住 {result['moved_in']} 户，退出 {result['withdrawn']} 户；"
               f"入住产生双向对接单 {result['handoffs']} 张，已办结 {result['handoffs_completed']} 张。\n")
    click.echo(f"演示账号（密码均为 {result['password']}）：")
    click.echo(render(result["users"], {"login": "登录名", "role_label": "角色", "scope": "范围"}, "table") + "\n")
    click.echo(render(result["stats"], TOWNSHIP_COLUMNS, "table"))
    _registry_over_time(result)
    desk = result["desk"]
    first = desk["communities"][0]
    click.echo(f"\n三合署：{'、'.join(desk['communities'])}近 {desk['weeks']} 周的接待与例会，"
               f"需求 {desk['demands']} 条，问题 {desk['problems']} 个（幸福清单 {desk['happy']} 个，"
               f"居民不满意重新办理 {desk['reopened']} 次），实事 {desk['actions']} 项（逾期 {desk['overdue']} 项）。")
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
    _messages(db)
    click.echo("\n接下来可以试试：")
    for line in (
        *tries,
        f"resettle desk lists --community {first} --month {desk['month']}",
        f"resettle desk minutes --community {first} --week {desk['last_week']} --out 例会纪要.pdf",
        f"resettle desk summary --month {desk['month']} --format pdf --out 一月一汇.pdf",
        "resettle registry stats --by community",
        f"resettle registry show {result['sample_agreement']}",
        "resettle registry stats --format json",
        "resettle fixtures generate --households 50 --error-rate 0.05 --out 有错误的表.xlsx",
        "resettle registry import 有错误的表.xlsx",
        "resettle ledger handoffs --township 陈家镇 --incoming --overdue",
        "resettle ledger report --township 陈家镇 --out 陈家镇对接清单.pdf",
        "resettle notify status",
        "resettle notify channels set --township 陈家镇 "
        "--webhook 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…'",
        "resettle serve    # 然后用上面的演示账号登录 http://127.0.0.1:8080/",
    ):
        click.echo(f"  {line}")


def _registry_over_time(result: dict) -> None:
    """What the demo changed after the signing: a holiday-week move-in, a birth, a death, a 分户,
    and the basic tags due for review."""
    lines = []
    if holiday := result["holiday"]:
        due = f"，对接单接收期限 {holiday['accept_due']}（节假日不计入工作日）" if holiday["accept_due"] else ""
        lines.append(f"{holiday['agreement_no']} 于节前最后一个工作日 {holiday['moved_in_on']} 入住{due}")
    life = result["life"]
    for key, label in (("birth", "出生登记"), ("death", "死亡登记")):
        if key in life:
            lines.append(f"{life[key]} {label}")
    if "split" in life:
        lines.append(f"{life['split'][0]} 分户，新户 {life['split'][1]}")
    tags = result["tags"]
    lines.append(f"基础标签已到期待复核 {tags['expired']} 个，{tags['due_days']} 天内到期 {tags['due']} 个"
                 "（resettle registry tags review）")
    click.echo("\n底册变动：" + "；".join(lines) + "。")


def _messages(db) -> None:
    """Where the demo's messages would go: no robot is set, so they wait in the outbox (and ring
    the bell of each group's accounts)."""
    from services import notify

    report = run(db, lambda: notify.status(work()))
    bells = run(db, lambda: notify.unread_by_login(work()))
    waiting = [g for g in report["groups"] if g["queued"] or g["digest"]]
    if not waiting:
        return
    click.echo("\n消息推送（尚未设置群机器人，消息在队列中等待；设置后由 resettle notify run 发出）：")
    for g in waiting:
        click.echo(f"  {g['scope_label']} {g['name']}：待发送 {g['queued']} 条" +
                   (f"，待汇总进每日提醒 {g['digest']} 条" if g["digest"] else ""))
    if bells:
        rings = "，".join(f"{login} {n} 条未读" for login, n in sorted(bells.items()))
        click.echo(f"工作台右上角的“通知”铃铛：{rings}")
