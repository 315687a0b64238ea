"""Database setup: URL resolution, the ORM context, migrations, dialect helpers."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

from resettle.errors import DomainError

DEFAULT_URL = "sqlite://resettle.db"
APP = {"models": ["resettle.models"], "migrations": "resettle.migrations",
       "default_connection": "default"}


def resolve_url(url: str | None = None) -> str:
    """--db, else DATABASE_URL, else the SQLite file resettle.db in the working directory."""
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgres://" + url[len("postgresql://"):]
    if not url.startswith(("sqlite://", "postgres://")):
        raise DomainError(f"不支持的数据库地址“{url}”：请用 sqlite:///路径 或 postgres://用户@主机:端口/库名")
    return url


def orm_config(url: str) -> dict:
    connection: str | dict = url
    if url.startswith("sqlite://"):  # writers take the lock when they begin (resettle/sqlite_engine.py)
        connection = {**expand_db_url(url), "engine": "resettle.sqlite_engine"}
    return {"connections": {"default": connection}, "apps": {"models": APP}, "use_tz": True,
            "timezone": "UTC"}


# Read by `tortoise makemigrations` through [tool.tortoise] in pyproject.toml.
TORTOISE_ORM = orm_config(os.environ.get("DATABASE_URL") or DEFAULT_URL)


def is_postgres(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


async def connect(url: str | None = None, *, migrate: bool = True) -> TortoiseContext:
    """Connect an ORM context to the database, applying pending migrations first, so that a
    command pointed at an empty database creates its schema itself. The caller activates the
    context (`with ctx:` or as the process-wide fallback) and closes it."""
    url = resolve_url(url)
    if url.startswith("sqlite://") and url not in ("sqlite://:memory:",):
        Path(url[len("sqlite://"):]).parent.mkdir(parents=True, exist_ok=True)
    ctx = TortoiseContext()
    try:
        with ctx:  # active only while it is set up, in this task
            await ctx.init(config=orm_config(url), _create_db=False)
            connection = ctx.connections.get("default")
            _forget_statements_of_other_engines(connection)
            if migrate:
                await migrate_schema(ctx)
    except OSError as exc:
        await ctx.close_connections()
        raise DomainError(f"无法连接数据库 {url}：{exc}") from None
    except BaseException:
        await ctx.close_connections()
        raise
    return ctx


_last_dialect: list[str] = []


def _forget_statements_of_other_engines(connection: BaseDBAsyncClient) -> None:
    """tortoise caches prepared INSERT statements by connection *name* ("default"), not engine: a
    process that opens SQLite and then PostgreSQL (`db copy`, the tests) would send SQLite's '?'
    placeholders to PostgreSQL. Forget them whenever the engine changes."""
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    dialect = connection.capabilities.dialect
    if _last_dialect and _last_dialect[0] != dialect:
        EXECUTOR_CACHE.clear()
    _last_dialect[:] = [dialect]


@asynccontextmanager
async def open_db(url: str | None = None, *, migrate: bool = True) -> AsyncIterator[TortoiseContext]:
    """The database for one command or test, active in the current task."""
    ctx = await connect(url, migrate=migrate)
    try:
        with ctx:
            yield ctx
    finally:
        await ctx.close_connections()


async def migrate_schema(ctx: TortoiseContext, progress=None) -> None:
    executor = MigrationExecutor(ctx.connections.get("default"), {"models": APP})
    await executor.migrate(progress=progress)


async def pending_migrations(ctx: TortoiseContext) -> list[str]:
    """Migrations not yet applied to the database (empty when its schema is current)."""
    executor = MigrationExecutor(ctx.connections.get("default"), {"models": APP})
    return [str(step) for step in await executor.plan()]


def connection() -> BaseDBAsyncClient:
    from tortoise.context import require_context

    return require_context().connections.get("default")


def placeholders(conn: BaseDBAsyncClient, count: int, start: int = 1) -> str:
    """'?, ?, ?' on SQLite, '$1, $2, $3' on PostgreSQL."""
    if is_postgres(conn):
        return ", ".join(f"${i}" for i in range(start, start + count))
    return ", ".join("?" * count)


def as_date(value: object) -> dt.date | None:
    """SQLite hands dates back as ISO text, PostgreSQL as dates."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
