"""`resettle <area> <verb>`: the areas' command groups, each loaded only when it is used, so
`resettle --help` and a command that reads no sheet start without pandas, reportlab or the
services of other areas."""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute, the short help `resettle --help` shows without importing it)
AREAS = {
    "db": ("cli.db", "db", "数据库：建表与迁移。"),
    "demo": ("cli.demo", "demo", "在当前目录建库、生成并导入约2000户演示数据，登记部分分房与入住，打印统计。"),
    "desk": ("cli.desk", "desk_group", "三合署：四张清单、例会纪要、幸福清单公示、一月一汇，批量导入需求。"),
    "fixtures": ("cli.demo", "fixtures_group", "演示与测试数据。"),
    "funding": ("cli.funding", "funding_group", "社区治理项目：申报、核定、审定、区乡两级分担，审定单与年度资金汇总。"),
    "ledger": ("cli.ledger", "ledger_group", "民生保障事项台账：人走事留、事随人走与乡镇间双向对接。"),
    "notify": ("cli.notify", "notify_group", "消息推送：企业微信/政务微信群机器人、发送、每日提醒。"),
    "registry": ("cli.registry", "registry_group", "初始人员信息库：导入签约交房表、统计、查询、登记进度。"),
    "serve": ("cli.serve", "serve", "启动网页工作台与 JSON API。"),
    "users": ("cli.users", "users_group", "账号：添加、列出、改密码、停用、全部退出登录、发放 API 令牌。"),
}


class Areas(click.Group):
    """click's lazily loading group (click docs, "Lazily Loading Subcommands"), listing the
    areas from AREAS instead of importing each one to ask for its help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(AREAS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in AREAS:
            return None
        module, attribute, _ = AREAS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, AREAS[name][2]) for name in self.list_commands(ctx)])


@click.group(cls=Areas, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """resettle — 集中居住社区治理工作台。"""
