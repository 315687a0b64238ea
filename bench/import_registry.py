"""Benchmark: import a generated signing sheet, against a bare executemany of the same rows.

    python bench/import_registry.py --persons 1000000 [--db postgres://postgres@127.0.0.1:5432/postgres]

Steps, each in its own process so that peak memory is the step's own:
1. generate a CSV of about --persons persons with the faker generator (cached in --workdir);
2. import it with `services.registry_import.import_sheets` (all validation on) into a fresh
   database, and time it;
3. read the rows the import wrote back out of that database (households, persons and the ledger
   lines opened for them) and time a bare `executemany` of exactly those rows into the same
   tables of a second fresh database (the baseline);
4. time the township and community counts over the imported registry.
Prints rows/s of both, the ratio (goal ≥ 0.5), the import's peak memory (goal < 1 GiB) and the
stats times (goal < 100 ms). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PERSONS_PER_HOUSEHOLD = 3.2  # what the generator averages
# every table the import writes rows into: the registry and the ledger lines it opens
TABLES = ("village", "community", "household", "person", "entitlement")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _pg(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def fresh_database(base: str | None, workdir: Path, label: str) -> str:
    if base is None:
        path = workdir / f"{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"resettle_bench_{label}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg(base, f'CREATE DATABASE "{name}"'))
    return f"{base.rpartition('/')[0]}/{name}"


def drop_database(base: str | None, url: str) -> None:
    if base is not None:
        asyncio.run(_pg(base, f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)'))


def child(step: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--step", step, *args], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def signing_sheet(workdir: Path, persons: int) -> Path:
    """The generated sheet of about `persons` persons in `workdir`, made once and reused by every
    benchmark that needs a registry."""
    workdir.mkdir(parents=True, exist_ok=True)
    households = round(persons / PERSONS_PER_HOUSEHOLD)
    sheet = workdir / f"sheet-{households}.csv"
    if not sheet.exists():
        print(f"generating {sheet} ({households} households) …", flush=True)
        child("generate", str(sheet), str(households))
    return sheet


def step_generate(path: str, households: int) -> dict:
    from fixtures.generate import write_sheet

    stats = write_sheet(path, households, seed=1)
    return {"persons": stats.persons, "households": stats.households}


async def step_import(url: str, path: str) -> dict:
    from resettle.actor import Actor
    from resettle.db import open_db
    from resettle.policy import load_policy
    from services.registry_import import import_sheets
    from services.work import begin

    async with open_db(url):
        start = time.perf_counter()
        report = await import_sheets(begin(Actor("bench"), load_policy()), [path])
        seconds = time.perf_counter() - start
    assert report.outcome == "imported", report.summary()
    return {"seconds": seconds, "persons": report.persons_added, "peak_mib": peak_mib()}


async def step_baseline(source: str, target: str) -> dict:
    """Bare executemany of the imported rows into the same tables, one transaction."""
    from tortoise.transactions import in_transaction

    from resettle.db import connection, is_postgres, open_db, placeholders

    async with open_db(source):
        conn = connection()
        data = {}
        for table in TABLES:
            rows = await conn.execute_query_dict(f'SELECT * FROM "{table}" ORDER BY id')
            data[table] = ([list(r.keys()) for r in rows[:1]] or [[]])[0], [tuple(r.values()) for r in rows]
    async with open_db(target):
        start = time.perf_counter()
        async with in_transaction() as conn:
            for table in TABLES:
                columns, rows = data[table]
                if not rows:
                    continue
                marks = placeholders(conn, len(columns))
                sql = f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) VALUES ({marks})'
                if is_postgres(conn):
                    await conn._connection.executemany(sql, rows)
                else:
                    await conn.execute_many(sql, rows)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "persons": len(data["person"][1])}


async def step_stats(url: str) -> dict:
    from resettle.actor import Actor
    from resettle.db import open_db
    from resettle.policy import load_policy
    from services import registry
    from services.work import begin

    bench = begin(Actor("bench"), load_policy())

    timings = {"township": [], "community": []}
    async with open_db(url):
        for _ in range(7):
            for by, service in (("township", registry.township_stats), ("community", registry.community_stats)):
                start = time.perf_counter()
                rows = await service(bench)
                timings[by].append((time.perf_counter() - start) * 1000)
        total = rows[-1]
    return {f"{by}_ms": statistics.median(values) for by, values in timings.items()} | {
        "community_total_persons": total["persons"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--db", help="PostgreSQL server URL (a database is created and dropped); default SQLite")
    parser.add_argument("--workdir", default="/tmp/resettle-bench")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        result = {
            "generate": lambda: step_generate(*rest[:1], int(rest[1])),
            "import": lambda: asyncio.run(step_import(*rest)),
            "baseline": lambda: asyncio.run(step_baseline(*rest)),
            "stats": lambda: asyncio.run(step_stats(*rest)),
        }[args.step]()
        print(json.dumps(result))
        return

    workdir = Path(args.workdir)
    sheet = signing_sheet(workdir, args.persons)
    engine = "PostgreSQL" if args.db else "SQLite"
    imported = fresh_database(args.db, workdir, "import")
    baseline_db = fresh_database(args.db, workdir, "baseline")
    try:
        result = child("import", imported, str(sheet))
        base = child("baseline", imported, baseline_db)
        stats = child("stats", imported)
    finally:
        if not args.keep:
            drop_database(args.db, imported)
            drop_database(args.db, baseline_db)
    import_rate = result["persons"] / result["seconds"]
    base_rate = base["persons"] / base["seconds"]
    print(f"engine                 {engine}")
    print(f"persons                {result['persons']:,} ({sheet.stat().st_size / 2**20:.0f} MiB CSV)")
    print(f"import (validated)     {result['seconds']:.2f} s  {import_rate:,.0f} persons/s")
    print(f"bare executemany       {base['seconds']:.2f} s  {base_rate:,.0f} persons/s")
    print(f"ratio import/bare      {import_rate / base_rate:.2f}  (goal >= 0.5)")
    print(f"import peak memory     {result['peak_mib']:.0f} MiB  (goal < 1024)")
    print(f"stats by township      {stats['township_ms']:.1f} ms (median of 7; goal < 100)")
    print(f"stats by community     {stats['community_ms']:.1f} ms (median of 7; goal < 100)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
