"""The migrations build exactly the models: a model changed without its migration fails here, as
`tortoise makemigrations` would write one (several branches add migrations at once); and an
upgrade of a database that holds rows fills what the newer migrations add."""
import datetime as dt
import uuid

from tortoise.cli.cli import tortoise_cli_context
from tortoise.context import require_context
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.transactions import in_transaction

from resettle.db import APP, connection, open_db, orm_config, pending_migrations
from services.bulk import db_date, db_stamp, insert
from tests.conftest import PG_URL, _pg
from tests.sheets import make_id


async def test_no_model_change_lacks_its_migration():
    config = orm_config("sqlite://:memory:")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert [(w.name, [type(op).__name__ for op in w.operations]) for w in writers] == []


async def test_an_upgrade_from_0015_fills_the_columns_0016_and_0017_add(tmp_path):
    """A database at 0015 with rows (as a deployment holds them) upgraded to the latest: each grant
    gets its person's community and `counted` (0016), each hand-off an empty sender (0017)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    if PG_URL:
        name = f"resettle_upgrade_{uuid.uuid4().hex[:8]}"
        await _pg(PG_URL, f'CREATE DATABASE "{name}"')
        url = f"{PG_URL.rpartition('/')[0]}/{name}"
    try:
        async with open_db(url, migrate=False):
            conn = connection()
            executor = MigrationExecutor(conn, {"models": APP})
            await executor.migrate([MigrationTarget("models", "0015_person_counted")])
            async with in_transaction() as tx:  # COPY on PostgreSQL needs the transaction's connection
                stamp, day = db_stamp(tx, dt.datetime(2026, 1, 5, tzinfo=dt.UTC)), db_date(tx, dt.date(2024, 5, 6))
                await insert(tx, "village", ("created_at", "updated_at", "township_code", "name"),
                             [(stamp, stamp, "310151101", "永乐村")])
                await insert(tx, "community", ("created_at", "updated_at", "township_code", "name"),
                             [(stamp, stamp, "310151110", "陈家新苑")])
                await insert(tx, "household", (
                    "id", "created_at", "updated_at", "agreement_no", "origin_township", "village_id", "group",
                    "dest_township", "community_id", "unit", "status", "signed_on", "withdrawn_reason", "member_count",
                    "separated_count", "version"), [
                    (n, stamp, stamp, f"U-{n}", "310151101", 1, "", "310151110", 1, "", status, day, "", 1, 0, 1)
                    for n, status in ((1, "signed"), (2, "withdrawn"))])
                await insert(tx, "person", (
                    "id", "created_at", "updated_at", "household_id", "id_number", "name", "relation", "phone",
                    "hukou_township", "tags", "birth_date", "version", "community_id", "counted"), [
                    (n, stamp, stamp, n, make_id("19500101", n), f"人{n}", "户主", "", "310151101", "残疾",
                     db_date(tx, dt.date(1950, 1, 1)), 1, 1, n == 1) for n in (1, 2)])
                await insert(tx, "person_tag", ("created_at", "updated_at", "person_id", "tag", "valid_from",
                                                  "valid_to", "granted_by", "renewed_by", "closed_by", "reason",
                                                  "version"),
                             [(stamp, stamp, n, "残疾", day, day, "cli:root", "", "", "", 1) for n in (1, 2)])
                columns = ("created_at", "updated_at", "kind", "status", "household_id", "entitlement_id",
                           "from_township", "to_township", "sent_on", "accept_due", "complete_due", "reason",
                           "version")
                await insert(tx, "handoff", columns, [
                    (stamp, stamp, "notice", "sent", 1, None, "310151101", "310151110", day, day, day, "", 1)])
            await executor.migrate()
            assert await pending_migrations(require_context()) == []
            grants = await conn.execute_query_dict("SELECT person_id, community_id, counted FROM person_tag "
                                                   "ORDER BY person_id")
            assert [(g["person_id"], g["community_id"], bool(g["counted"])) for g in grants] == [
                (1, 1, True), (2, 1, False)]
            assert [r["sent_by"] for r in await conn.execute_query_dict("SELECT sent_by FROM handoff")] == [""]
    finally:
        if PG_URL:
            await _pg(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
