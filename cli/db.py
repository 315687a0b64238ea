"""`resettle db`: create, migrate, copy, back up and restore the database.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import click

from cli.common import db_option, run, sync, work
from cli.output import FORMATS, Progress, render
from resettle.db import migrate_schema, resolve_url
from services import database


@click.group("db")
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
    report = run(db, lambda: database.copy(work(), db, target, replace=replace, progress=progress),
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
    result = sync(db, lambda: database.backup(work(), db, file))
    click.echo(f"已备份 {result['database']} 到 {result['file']}（{result['bytes'] / 1024 / 1024:.1f} MiB）")


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="不再确认（脚本用）")
@db_option
def db_restore(file, yes, db) -> None:
    """用备份 FILE 替换数据库的全部内容（先停止服务进程）。"""
    if not yes:
        click.confirm(f"将用 {file} 替换 {resolve_url(db)} 的全部内容，之后的修改都会丢失，确定吗？", abort=True)
    result = sync(db, lambda: database.restore(work(), db, file))
    click.echo(f"已用 {result['file']} 恢复 {result['database']}")
