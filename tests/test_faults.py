"""Faults: an import killed with SIGKILL in the middle of writing leaves the database as it was,
and the same import run again succeeds — on the engine the suite runs on."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.generate import write_sheet
from resettle.db import open_db
from resettle.models import AuditEvent, Entitlement, Household, Person

HOUSEHOLDS = 8_000


async def _counts(url: str) -> dict:
    async with open_db(url):
        return {m.__name__: await m.all().count() for m in (Household, Person, Entitlement, AuditEvent)}


async def _writing(url: str, pid: int) -> bool:
    """Whether the import process is inside its write transaction right now."""
    if url.startswith("sqlite://"):
        wal = Path(f"{url[len('sqlite://'):]}-wal")
        return wal.exists() and wal.stat().st_size > 1_000_000
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                                "AND state = 'active' AND (query ILIKE 'COPY%' OR query ILIKE 'INSERT%') "
                                "AND pid <> pg_backend_pid()")
        return bool(rows)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def big_sheet(tmp_path_factory):
    path = tmp_path_factory.mktemp("fault") / "sheet.csv"
    write_sheet(path, HOUSEHOLDS, seed=3)
    return path


def test_sigkill_mid_import_leaves_the_database_as_it_was(db_url, big_sheet):
    before = asyncio.run(_counts(db_url))
    env = {**os.environ, "DATABASE_URL": db_url}
    command = [str(Path(sys.executable).parent / "resettle"), "registry", "import", str(big_sheet)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=Path(__file__).parent.parent)
    deadline = time.monotonic() + 120
    while not asyncio.run(_writing(db_url, process.pid)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert asyncio.run(_counts(db_url)) == before  # nothing half-written
    again = subprocess.run(command, env=env, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert again.returncode == 0, again.stderr
    after = asyncio.run(_counts(db_url))
    assert after["Household"] == before["Household"] + HOUSEHOLDS and after["Person"] > after["Household"]
