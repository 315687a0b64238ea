"""What every command shares: one-line refusals, the database option, dates."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import sys
from collections.abc import Awaitable, Callable

import click
from tortoise.exceptions import BaseORMException

from resettle.actor import cli_actor
from resettle.db import open_db, resolve_url
from resettle.errors import DomainError
from resettle.rules.dates import parse_date

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


def work():
    """The command's unit of work: the operating-system user with full rights, the policy file,
    today. Made inside the command, so `--help` loads neither the policy nor the ORM."""
    from resettle.policy import load_policy
    from services.work import begin

    return begin(cli_actor(), load_policy())


def attempt(work: Callable[[], object], trouble: str):
    """work(), with a refusal or a failing file as one Chinese line ("{trouble}：…") and exit 1."""
    try:
        return work()
    except DomainError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{trouble}：{exc}")


def sync(db: str | None, work: Callable[[], object]):
    """A service call that needs no ORM (file backups), with the same one-line refusals."""
    return attempt(work, f"文件或数据库出错（{resolve_url(db)}）")


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


COMMUNITY = click.option("--community", required=True, help="安置社区（名称、编号，重名时写 乡镇/社区名）")
