"""`resettle notify`: group robots, the sender, the morning digest.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import json
import os

import click

from cli.common import DATE, db_option, fail, run, work
from cli.output import FORMATS, render

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def base_url() -> str:
    """Where messages link to: RESETTLE_BASE_URL, the address people open the workbench at."""
    return os.environ.get("RESETTLE_BASE_URL") or DEFAULT_BASE_URL


def _sender(rate: int | None = None):
    from services import notify
    from web.security import secret_key

    return notify.Sender(secret_key(), base_url(), **({"rate": rate} if rate else {}))


@click.group("notify")
def notify_group() -> None:
    """消息推送：企业微信/政务微信群机器人、发送、每日提醒。"""


GROUP_OPTIONS = [
    click.option("--township", help="乡镇（名称或代码）"),
    click.option("--community", help="安置社区（名称、编号，重名时写 乡镇/社区名）"),
    click.option("--department", help="部门名称（如 区民政局，区财政局）"),
]


def _group_options(func):
    for option in reversed(GROUP_OPTIONS):
        func = option(func)
    return func


@notify_group.group("channels")
def channels_group() -> None:
    """每个乡镇、社区、部门推送到哪个群机器人。"""


@channels_group.command("set")
@_group_options
@click.option("--webhook", required=True, help="群机器人的 webhook 地址（含 key，保密）")
@db_option
def channels_set(township, community, department, webhook, db) -> None:
    """设置（或更换）群机器人；webhook 加密保存，只显示末四位。"""
    from services import notify
    from web.security import secret_key

    shown = run(db, lambda: notify.set_channel(work(), secret_key(), webhook, township=township,
                                               community=community, department=department))
    click.echo(f"已设置 {shown['name']} 的群机器人：{shown['webhook']}")


CHANNEL_COLUMNS = {"scope_label": "类别", "name": "单位", "webhook": "群机器人", "state": "状态",
                   "last_error": "最近错误"}


@channels_group.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def channels_list(fmt, db) -> None:
    """列出群机器人（webhook 只显示主机与 key 末四位）。"""
    from services import notify

    click.echo(render(run(db, lambda: notify.list_channels(work())), CHANNEL_COLUMNS, fmt))


@channels_group.command("remove")
@_group_options
@db_option
def channels_remove(township, community, department, db) -> None:
    """删除群机器人；该单位的消息留在队列中，只在工作台铃铛里提醒。"""
    from services import notify

    gone = run(db, lambda: notify.remove_channel(work(), township=township, community=community,
                                                 department=department))
    click.echo(f"已删除 {gone['name']} 的群机器人")


@notify_group.command("run")
@click.option("--once", is_flag=True, help="发送一轮当前到期的消息后退出")
@click.option("--every", type=click.FloatRange(1, 3600), default=5.0, show_default=True, help="每隔几秒检查一次")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def notify_run(once, every, fmt, db) -> None:
    """发送消息队列：按每个群机器人每分钟 20 条的限制，失败时退避重试。"""
    from services import notify

    sender = _sender()
    if once:
        stats = run(db, lambda: notify.run_once(work(), sender))
        if fmt == "json":
            click.echo(json.dumps(stats, ensure_ascii=False))
        else:
            click.echo(f"已发送 {stats['sent']} 条，待重试 {stats['retry']} 条，失败 {stats['failed']} 条，"
                       f"限流 {stats['slowed']} 次，结果不明 {stats['unknown']} 条")
        return
    click.echo(f"消息发送中（每 {every:g} 秒一轮，Ctrl+C 停止），链接指向 {base_url()}")
    try:
        run(db, lambda: notify.run(work, sender, every=every))
    except KeyboardInterrupt:
        click.echo("已停止")


STATUS_COLUMNS = {"scope_label": "类别", "name": "单位", "webhook": "群机器人", "state": "状态", "queued": "待发送",
                  "digest": "待汇总", "sent": "已发送", "failed": "失败", "unknown": "结果不明",
                  "last_error": "最近错误"}


@notify_group.command("status")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def notify_status(fmt, db) -> None:
    """每个单位的消息：待发送、已发送、失败、结果不明，群机器人状态与最近错误。"""
    from services import notify

    report = run(db, lambda: notify.status(work()))
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(render(report["groups"], STATUS_COLUMNS, fmt))
    if fmt == "table":
        t = report["total"]
        click.echo(f"合计：待发送 {t['queued']}，待汇总 {t['digest']}，已发送 {t['sent']}，失败 {t['failed']}，"
                   f"结果不明 {t['unknown']}")


@notify_group.command("retry")
@db_option
def notify_retry(db) -> None:
    """核实群里的消息后：失败和结果不明的消息重新发送，发送失败的群机器人重新启用。"""
    from services import notify

    again = run(db, lambda: notify.retry(work()))
    click.echo(f"重新排队 {again['messages']} 条消息，重新启用 {again['channels']} 个群机器人")


@notify_group.command("digest")
@click.option("--now", "now", is_flag=True, help="不等到发送时间（工作日才发）")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def notify_digest(now, fmt, db) -> None:
    """每日提醒：工作日早上每个单位一条（到期、逾期、例会议程、汇总类消息），当天只发一次。"""
    from services import notify

    result = run(db, lambda: notify.digest(work(), now=now))
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif result["skipped"]:
        click.echo(result["skipped"])
    else:
        for group in result["groups"]:
            click.echo(f"{group['name']}：" + "，".join(f"{label} {n}" for label, n in group["items"]))
        click.echo(f"已排队 {result['sent']} 条每日提醒、{result['meetings']} 条例会议程；由 notify run 发出")



@notify_group.command("escalate")
@click.option("--handoff", type=int, help="逾期的对接单编号")
@click.option("--action", type=int, help="逾期的实事编号")
@click.option("--project", type=int, help="等待审核的项目编号")
@click.option("--note", required=True, help="督办说明（不超过200字）")
@click.option("--due", required=True, type=DATE, help="新的办理期限")
@db_option
def notify_escalate(handoff, action, project, note, due, db) -> None:
    """督办：区集中居住办督促逾期事项的责任单位，立即通知其工作群。"""
    from services import notify

    given = [(kind, value) for kind, value in (("handoff", handoff), ("action", action), ("project", project))
             if value is not None]
    if len(given) != 1:
        fail("请给出 --handoff、--action、--project 中的一个", 2)
    kind, object_id = given[0]
    done = run(db, lambda: notify.escalate(work(), kind, object_id, note, due))
    click.echo(f"已督办{done['what']}，已通知 {done['group']}，新的期限 {done['new_due']}")


ESCALATION_COLUMNS = {"township": "乡镇", "opened": "督办", "closed": "已办结", "open": "未办结"}


@notify_group.command("escalations")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def notify_escalations(fmt, db) -> None:
    """督办情况：每个乡镇督办、已办结、未办结的件数。"""
    from services import notify

    report = run(db, lambda: notify.escalations(work()))
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(render(report["per_township"], ESCALATION_COLUMNS, fmt))
