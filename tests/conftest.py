"""Every test that touches the database runs on the database CI gives it: a fresh SQLite file by
default, or PostgreSQL when RESETTLE_TEST_DATABASE_URL is set (then it must be reachable: a
PostgreSQL run never skips silently)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid

import pytest

from resettle.db import open_db

PG_URL = os.environ.get("RESETTLE_TEST_DATABASE_URL")


async def _pg(dsn: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn.replace("postgres://", "postgresql://", 1))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database():
    """One throw-away PostgreSQL database for the session, dropped at the end."""
    if not PG_URL:
        yield None
        return
    base, _, _ = PG_URL.rpartition("/")
    name = f"resettle_test_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(PG_URL, f'CREATE DATABASE "{name}"'))
    url = f"{base}/{name}"

    async def migrate():
        async with open_db(url):
            pass
    asyncio.run(migrate())
    yield url
    asyncio.run(_pg(PG_URL, f'DROP DATABASE "{name}" WITH (FORCE)'))


TRUNCATE_ALL = """DO $$ BEGIN EXECUTE (
    SELECT 'TRUNCATE ' || string_agg(quote_ident(tablename), ', ') || ' RESTART IDENTITY CASCADE'
    FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'); END $$"""


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated, empty SQLite file for the session: each test copies it instead of running
    every migration again (that was most of the suite's time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def migrate():
        async with open_db(f"sqlite:///{path}"):
            pass
    asyncio.run(migrate())
    return path


@pytest.fixture
def fresh_database(tmp_path, pg_database, request):
    """A function giving a migrated, empty database each time it is called."""
    count = 0

    def make() -> str:
        nonlocal count
        count += 1
        if pg_database is None:
            target = tmp_path / f"test-{count}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
            return f"sqlite:///{target}"
        asyncio.run(_pg(pg_database, TRUNCATE_ALL))
        return pg_database
    return make


@pytest.fixture
def db_url(fresh_database) -> str:
    """A migrated, empty database for one test."""
    return fresh_database()


@pytest.fixture
async def db(db_url):
    async with open_db(db_url) as ctx:
        yield ctx


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2's production cost is the point in production and only slowness in tests."""
    from argon2 import PasswordHasher

    from services import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
