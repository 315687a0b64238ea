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
from tests.conftest import PG_URL

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


def _get(url: str, token: str = "") -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _cluster(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "15", "main", action], check=True, capture_output=True, timeout=120)


@pytest.mark.skipif(not PG_URL, reason="restarts the PostgreSQL server the suite runs on")
def test_the_server_survives_a_postgresql_restart(db_url, tmp_path):
    """While PostgreSQL is down the server answers 503 (pages, API, readiness); once it is back the
    same server process answers 200 again, without being restarted."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": db_url, "RESETTLE_SECRET_KEY": "k" * 43 + "="}
    server = subprocess.Popen([str(Path(sys.executable).parent / "resettle"), "serve", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _get_or_none(f"{base}/healthz") != 200:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        assert _get(f"{base}/readyz") == 200 and _get(f"{base}/login") == 200
        _cluster("stop")
        try:
            assert _get(f"{base}/readyz") == 503
            assert _get(f"{base}/api/v1/registry/stats", token="any") == 503  # the token is looked up: 503
            assert _get(f"{base}/healthz") == 200  # the process itself is fine
        finally:
            _cluster("start")
        deadline = time.monotonic() + 60
        while _get(f"{base}/readyz") != 200:
            assert time.monotonic() < deadline, "the server never reconnected"
            time.sleep(0.5)
        assert server.poll() is None  # the same process, never restarted
    finally:
        server.terminate()
        server.wait(timeout=20)


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url)
    except OSError:
        return None
