"""Moving off SQLite and keeping backups: copy to PostgreSQL verified per table, SQLite online
backup and restore, refusals in Chinese."""

import asyncio
import datetime as dt
import json
import uuid

import pytest
from tortoise.transactions import in_transaction

from resettle.actor import Actor
from resettle.db import open_db
from resettle.errors import DomainError
from resettle.models import AuditEvent, Community, Demand, Entitlement, Household, Person
from resettle.rules.household import Status
from services import database, desk, registry
from services.registry_import import import_sheets
from tests.conftest import PG_URL, _pg
from tests.sheets import make_id, person, write_csv
from tests.work import work

ADMIN = Actor("test:admin")


async def _seed(url: str, tmp_path) -> None:
    async with open_db(url):
        rows = [person("A-001", "张三", make_id("19600101", 1), handed="2024-01-02", tags="低保"),
                person("A-001", "李四", make_id("19620101", 2), "配偶", handed="2024-01-02"),
                person("B-002", "王五", make_id("19700101", 3), handed="2024-01-02")]
        await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])
        await registry.record_step(work(ADMIN), "A-001", Status.ALLOCATED, dt.date(2024, 2, 1), unit="1号101室")
        await registry.record_step(work(ADMIN), "A-001", Status.MOVED_IN, dt.date(2024, 3, 1))
        demand = await desk.intake(work(ADMIN), "陈家新苑", channel="电话", category="停车", text="车位不够",
                                   resident=make_id("19600101", 1))
        await desk.link(work(ADMIN), [demand["id"]], title="车位")


async def _counts(url: str) -> dict:
    async with open_db(url):
        return {m.__name__: await m.all().count() for m in (Household, Person, Entitlement, AuditEvent, Demand)}


@pytest.fixture
def sqlite_source(tmp_path):
    url = f"sqlite:///{tmp_path / 'township.db'}"
    asyncio.run(_seed(url, tmp_path))
    return url


@pytest.mark.skipif(not PG_URL, reason="copies into PostgreSQL")
def test_copy_sqlite_to_postgres(sqlite_source, tmp_path):
    target = f"{PG_URL.rpartition('/')[0]}/resettle_copy_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(PG_URL, f'CREATE DATABASE "{target.rpartition("/")[2]}"'))
    try:
        stages = []
        report = asyncio.run(database.copy(work(ADMIN), sqlite_source, target,
                                           progress=lambda stage, done, total: stages.append(stage)))
        assert all(t["match"] and t["rows"] == t["copied"] for t in report["tables"])
        assert {t["table"] for t in report["tables"]} >= {"household", "person", "entitlement", "audit_event",
                                                          "demand", "problem", "handoff"}
        before, after = asyncio.run(_counts(sqlite_source)), asyncio.run(_counts(target))
        assert after == {**before, "AuditEvent": before["AuditEvent"] + 1}  # plus the copy's own event
        with pytest.raises(DomainError, match="目标库已有数据"):
            asyncio.run(database.copy(work(ADMIN), sqlite_source, target))
        again = asyncio.run(database.copy(work(ADMIN), sqlite_source, target, replace=True))
        assert all(t["match"] for t in again["tables"]) and "复制 person" in stages

        async def new_rows_get_new_ids():  # sequences were moved past the copied ids
            async with open_db(target):
                d = await desk.intake(work(ADMIN), "陈家新苑", channel="电话", category="停车", text="还是不够",
                                      resident=make_id("19700101", 3))
                return d["id"]
        assert asyncio.run(new_rows_get_new_ids()) == before["Demand"] + 1
    finally:
        asyncio.run(_pg(PG_URL, f'DROP DATABASE IF EXISTS "{target.rpartition("/")[2]}" WITH (FORCE)'))


def test_copy_refuses_what_it_cannot_do(sqlite_source):
    with pytest.raises(DomainError, match="PostgreSQL"):
        asyncio.run(database.copy(work(ADMIN), sqlite_source, "sqlite:///elsewhere.db"))
    with pytest.raises(DomainError, match="无权"):
        asyncio.run(database.copy(work(Actor("x", role="office")), sqlite_source, "postgres://u@h/db"))


def test_sqlite_backup_and_restore(sqlite_source, tmp_path):
    saved = database.backup(work(ADMIN), sqlite_source, tmp_path / "backup.db")
    assert saved["bytes"] > 0
    with pytest.raises(DomainError, match="已存在"):
        database.backup(work(ADMIN), sqlite_source, tmp_path / "backup.db")
    before = asyncio.run(_counts(sqlite_source))

    async def lose_a_household():
        async with open_db(sqlite_source):
            await registry.record_step(work(ADMIN), "B-002", Status.WITHDRAWN, dt.date(2024, 2, 1), reason="放弃")
            return await Household.filter(status="withdrawn").count()
    assert asyncio.run(lose_a_household()) == 1
    database.restore(work(ADMIN), sqlite_source, tmp_path / "backup.db")

    async def withdrawn():
        async with open_db(sqlite_source):
            return await Household.filter(status="withdrawn").count()
    assert asyncio.run(withdrawn()) == 0 and asyncio.run(_counts(sqlite_source)) == before
    (tmp_path / "junk.db").write_bytes(b"not a database")
    with pytest.raises(DomainError, match="不是 resettle 的 SQLite 备份"):
        database.restore(work(ADMIN), sqlite_source, tmp_path / "junk.db")


@pytest.mark.skipif(not PG_URL, reason="pg_dump backs up PostgreSQL")
def test_postgres_backup_and_restore(db_url, tmp_path, monkeypatch):
    asyncio.run(_seed(db_url, tmp_path))
    before = asyncio.run(_counts(db_url))
    saved = database.backup(work(ADMIN), db_url, tmp_path / "backup.dump")
    assert saved["bytes"] > 0 and database._safe("postgres://u:secret@h:5432/db") == "postgres://u@h:5432/db"

    async def withdraw():
        async with open_db(db_url):
            await registry.record_step(work(ADMIN), "B-002", Status.WITHDRAWN, dt.date(2024, 2, 1), reason="放弃")
    asyncio.run(withdraw())
    database.restore(work(ADMIN), db_url, tmp_path / "backup.dump")
    assert asyncio.run(_counts(db_url)) == before

    async def withdrawn():
        async with open_db(db_url):
            return await Household.filter(status="withdrawn").count()
    assert asyncio.run(withdrawn()) == 0
    monkeypatch.setattr(database.shutil, "which", lambda name: None)
    with pytest.raises(DomainError, match="未找到 pg_dump"):
        database.backup(work(ADMIN), db_url, tmp_path / "again.dump")


def test_the_commands(sqlite_source, tmp_path):
    from click.testing import CliRunner

    from cli.main import main

    runner = CliRunner()
    backup = tmp_path / "nightly.db"
    result = runner.invoke(main, ["db", "backup", str(backup), "--db", sqlite_source])
    assert result.exit_code == 0 and "已备份" in result.output
    result = runner.invoke(main, ["db", "backup", str(backup), "--db", sqlite_source])
    assert result.exit_code == 1 and "已存在" in result.output
    result = runner.invoke(main, ["db", "restore", str(backup), "--db", sqlite_source], input="n\n")
    assert result.exit_code == 1 and "确定吗" in result.output  # declined: nothing replaced
    result = runner.invoke(main, ["db", "restore", str(backup), "--db", sqlite_source, "--yes"])
    assert result.exit_code == 0 and "已用" in result.output
    result = runner.invoke(main, ["db", "copy", "--to", "sqlite:///x.db", "--db", sqlite_source])
    assert result.exit_code == 1 and "PostgreSQL" in result.output
    result = runner.invoke(main, ["serve", "--workers", "2", "--db", sqlite_source])
    assert result.exit_code == 2 and "须使用 PostgreSQL" in result.output
    if PG_URL:
        target = f"{PG_URL.rpartition('/')[0]}/resettle_cli_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg(PG_URL, f'CREATE DATABASE "{target.rpartition("/")[2]}"'))
        try:
            result = runner.invoke(main, ["db", "copy", "--to", target, "--db", sqlite_source, "--format", "json"])
            assert result.exit_code == 0, result.output
            assert all(t["match"] for t in json.loads(result.output))
        finally:
            asyncio.run(_pg(PG_URL, f'DROP DATABASE IF EXISTS "{target.rpartition("/")[2]}" WITH (FORCE)'))


async def test_a_read_outside_a_transaction_does_not_wait_for_a_writer(db):
    """An import writes in one long transaction; a page read meanwhile answers at once with
    what is committed (on SQLite, tortoise's single connection made it wait for the whole
    import)."""
    await Community.create(township_code="310151110", name="陈家新苑")
    written, finish = asyncio.Event(), asyncio.Event()

    async def import_like() -> None:
        async with in_transaction():
            await Community.create(township_code="310151110", name="瀛东苑")
            written.set()
            await finish.wait()
    writer = asyncio.create_task(import_like())
    await asyncio.wait_for(written.wait(), 5)
    names = await asyncio.wait_for(Community.all().values_list("name", flat=True), 2)
    assert names == ["陈家新苑"]  # the writer's row is not seen before it commits
    finish.set()
    await writer
    assert sorted(await Community.all().values_list("name", flat=True)) == ["瀛东苑", "陈家新苑"]
