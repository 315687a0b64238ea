"""Benchmark: the welfare-matters ledger on a 1,000,000-person registry.

    python bench/ledger.py --persons 1000000 [--db postgres://postgres@127.0.0.1:5432/postgres]

1. imports the generated signing sheet (as bench/import_registry.py does) into a fresh database;
2. opens the ledger for every person with `services.ledger.open_lines_bulk` (the import's own
   step), then times a bare `executemany` of exactly those rows into the same table;
3. marks 100,000 households moved in (the busiest destination township first) and times
   `services.ledger.send_move_in` for all of them, then a bare `executemany` of the same rows;
4. times that township's inbox (`services.ledger_views.list_handoffs`, incoming, first page).
Prints seconds, rows/s, the ratios (goal ≥ 0.5) and the inbox time (goal < 100 ms). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_registry as base  # noqa: E402  (the same sheet, databases and child-process runner)

MOVE_INS = 100_000


async def _bare(conn, table: str, rows: list[dict]) -> float:
    """Bare executemany of rows into table, one transaction; returns seconds."""
    from tortoise.transactions import in_transaction

    from resettle.db import is_postgres, placeholders

    columns = list(rows[0])
    marks = placeholders(conn, len(columns))
    sql = f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) VALUES ({marks})'
    values = [tuple(r.values()) for r in rows]
    start = time.perf_counter()
    async with in_transaction() as tx:
        if is_postgres(tx):
            await tx._connection.executemany(sql, values)
        else:
            await tx.execute_many(sql, values)
    return time.perf_counter() - start


async def step_ledger(url: str) -> dict:
    import pandas as pd
    from tortoise.transactions import in_transaction

    from resettle.actor import Actor
    from resettle.db import as_date, connection, open_db
    from resettle.policy import load_policy
    from services import ledger, ledger_views
    from services.work import begin

    policy, result = load_policy(), {}
    office = begin(Actor("bench", role="office"), policy)
    async with open_db(url):
        conn = connection()
        persons = pd.DataFrame(await conn.execute_query_dict(
            "SELECT p.id AS person_id, p.id_number, p.relation, p.tags, h.origin_township, h.signed_on "
            "FROM person p JOIN household h ON h.id = p.household_id ORDER BY p.id"))
        persons["signed_on"] = [as_date(d) for d in persons["signed_on"]]
        await conn.execute_script("DELETE FROM entitlement")
        start = time.perf_counter()
        async with in_transaction() as tx:
            lines = await ledger.open_lines_bulk(tx, persons, policy, office.now())
        result["open_seconds"], result["lines"] = time.perf_counter() - start, lines
        del persons
        rows = await conn.execute_query_dict("SELECT * FROM entitlement ORDER BY id")
        await conn.execute_script("DELETE FROM entitlement")
        result["open_bare_seconds"] = await _bare(conn, "entitlement", rows)
        del rows
        await conn.execute_script("ANALYZE entitlement")  # as the import does after a bulk load

        households = await conn.execute_query_dict(
            "SELECT id, agreement_no, origin_township, dest_township FROM household "
            "WHERE origin_township <> dest_township")
        counts = pd.Series([h["dest_township"] for h in households]).value_counts()
        busiest = counts.index[0]
        households.sort(key=lambda h: (h["dest_township"] != busiest, h["id"]))
        chosen = households[:MOVE_INS]
        on = office.today - dt.timedelta(days=3)
        ids = ", ".join(str(h["id"]) for h in chosen)
        # moved in without a 房号: the sheet's provisional ones repeat, and a held unit cannot
        await conn.execute_query(f"UPDATE household SET status = 'moved_in', allocated_on = signed_on, "
                                 f"moved_in_on = signed_on, unit = '' WHERE id IN ({ids})")
        objects = [types.SimpleNamespace(**h) for h in chosen]
        start = time.perf_counter()
        async with in_transaction() as tx:
            sent = await ledger.send_move_in(office, tx, objects, on)
        result["send_seconds"], result["handoffs"] = time.perf_counter() - start, sent
        rows = await conn.execute_query_dict("SELECT * FROM handoff ORDER BY id")
        await conn.execute_script("DELETE FROM handoff")
        result["send_bare_seconds"] = await _bare(conn, "handoff", rows)
        del rows
        if conn.capabilities.dialect == "postgres":
            await conn.execute_script("VACUUM (ANALYZE) handoff")
        else:
            await conn.execute_script("ANALYZE handoff")

        liaison = office.by(Actor("bench:inbox", role="township", township=busiest))
        timings = []
        for _ in range(7):
            start = time.perf_counter()
            inbox = await ledger_views.list_handoffs(liaison, direction="incoming")
            timings.append((time.perf_counter() - start) * 1000)
        result.update(inbox_ms=statistics.median(timings), inbox_pending=inbox["total"],
                      township=policy.township(busiest).name)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--db", help="PostgreSQL server URL (a database is created and dropped); default SQLite")
    parser.add_argument("--workdir", default="/tmp/resettle-bench")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step == "ledger":
        print(json.dumps(asyncio.run(step_ledger(*rest))))
        return
    workdir = Path(args.workdir)
    sheet = base.signing_sheet(workdir, args.persons)
    url = base.fresh_database(args.db, workdir, "ledger")
    try:
        imported = base.child("import", url, str(sheet))
        import subprocess

        out = subprocess.run([sys.executable, __file__, "--step", "ledger", url], check=True,
                             capture_output=True, text=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        base.drop_database(args.db, url)
    print(f"engine                  {'PostgreSQL' if args.db else 'SQLite'}")
    print(f"registry                {imported['persons']:,} persons (import incl. ledger: {imported['seconds']:.1f} s)")
    for label, key, rows in (("open ledger lines", "open", r["lines"]), ("move-in hand-offs", "send", r["handoffs"])):
        rate, bare = rows / r[f"{key}_seconds"], rows / r[f"{key}_bare_seconds"]
        print(f"{label:22s}  {rows:,} rows  service {r[key + '_seconds']:.2f} s ({rate:,.0f}/s)  "
              f"bare executemany {r[key + '_bare_seconds']:.2f} s ({bare:,.0f}/s)  "
              f"ratio {rate / bare:.2f} (goal >= 0.5)")
    print(f"inbox of {r['township']}         {r['inbox_pending']:,} pending  {r['inbox_ms']:.1f} ms "
          f"(median of 7; goal < 100)")


if __name__ == "__main__":
    main()
