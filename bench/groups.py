"""Benchmark: the 一老一小一残 counts over a 1,000,000-person registry.

    python bench/groups.py --persons 1000000 [--db postgres://postgres@127.0.0.1:5432/postgres]

Seeds a fresh database with raw bulk inserts (households in 60 communities of the destination
townships, persons with birth dates spread over 100 years, 5 % 残疾 and 3 % 独居 grants, 2 % of
households withdrawn), then times `services.groups.group_counts` by township and by community
(median of 7 runs each) against a baseline in the same run: a plain `SELECT COUNT(*) FROM
person`. Prints milliseconds and the ratio; the goal is under 100 ms. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = 7


def _id(born: dt.date, seq: int) -> str:
    from resettle.rules.idnumber import check_char

    first17 = f"{310000 + seq // 1000:06d}{born:%Y%m%d}{seq % 1000:03d}"  # unique by seq
    return first17 + check_char(first17)


async def seed(persons: int) -> None:
    from tortoise.transactions import in_transaction

    async with in_transaction() as tx:  # COPY on PostgreSQL needs the transaction's connection
        await _seed(tx, persons)
    from resettle.db import connection, is_postgres

    # VACUUM on PostgreSQL sets the visibility map that index-only scans need (autovacuum's
    # job in a running registry, which a just-loaded table has not had yet)
    conn = connection()
    await conn.execute_script("VACUUM ANALYZE" if is_postgres(conn) else "ANALYZE")


async def _seed(conn, persons: int) -> None:
    from resettle.policy import load_policy
    from services.bulk import db_date, db_stamp, insert

    rng = random.Random(15)
    policy = load_policy()
    dest = [t.code for t in policy.townships if "in" in t.roles]
    origin = [t.code for t in policy.townships if "out" in t.roles]
    stamp = db_stamp(conn, dt.datetime.now(dt.UTC))
    await insert(conn, "village", ("created_at", "updated_at", "township_code", "name"),
                 [(stamp, stamp, origin[0], "基准村")])
    await insert(conn, "community", ("created_at", "updated_at", "township_code", "name"),
                 [(stamp, stamp, dest[i % len(dest)], f"基准社区{i:02d}") for i in range(60)])
    signed = db_date(conn, dt.date(2023, 5, 6))
    households = persons // 3
    withdrawn = [rng.random() < 0.02 for _ in range(households + 1)]  # [0] unused
    await insert(conn, "household", (
        "id", "created_at", "updated_at", "agreement_no", "origin_township", "village_id", "group", "dest_township",
        "community_id", "unit", "status", "signed_on", "withdrawn_reason", "member_count", "separated_count",
        "version"), [(i, stamp, stamp, f"B-{i:07d}", origin[i % len(origin)], 1, "", dest[(i % 60) % len(dest)],
                      i % 60 + 1, "", "withdrawn" if withdrawn[i] else "signed", signed, "", 3, 0, 1)
                     for i in range(1, households + 1)])
    start = dt.date(1925, 1, 1)
    people, grants = [], []
    for i in range(1, persons + 1):
        born = start + dt.timedelta(days=rng.randrange(365 * 100))
        household = (i - 1) % households + 1
        # the person's copies of what the counts filter by (services.groups.COUNTED)
        people.append((i, stamp, stamp, household, _id(born, i), f"人{i}", "户主", "",
                       origin[0], "", db_date(conn, born), 1, household % 60 + 1, not withdrawn[household]))
        roll = rng.random()
        if roll < 0.08:  # with the person's copies, as services.groups.sync_counted keeps them
            tag, until = ("残疾", dt.date(2026, 5, 6)) if roll < 0.05 else ("独居", dt.date(2024, 5, 6))
            grants.append((stamp, stamp, i, tag, signed, db_date(conn, until), "bench", "", "", "", 1,
                           household % 60 + 1, not withdrawn[household]))
    await insert(conn, "person", ("id", "created_at", "updated_at", "household_id", "id_number", "name", "relation",
                                  "phone", "hukou_township", "tags", "birth_date", "version", "community_id",
                                  "counted"), people)
    await insert(conn, "person_tag", ("created_at", "updated_at", "person_id", "tag", "valid_from", "valid_to",
                                      "granted_by", "renewed_by", "closed_by", "reason", "version", "community_id",
                                      "counted"), grants)


async def timed(call) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def main(persons: int, url: str | None) -> dict:
    from resettle.actor import Actor
    from resettle.db import connection, open_db
    from resettle.policy import load_policy
    from services.groups import group_counts
    from services.work import Work

    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp()}/groups.db"
    async with open_db(url):
        conn = connection()
        if url.startswith("postgres"):
            await conn.execute_script("TRUNCATE person_tag, entitlement, handoff, person, household, community, "
                                      "village RESTART IDENTITY CASCADE")
        t0 = time.perf_counter()
        await seed(persons)
        seeded = time.perf_counter() - t0
        work = Work(Actor("bench", role="office"), load_policy(), dt.date(2026, 6, 17))
        baseline = await timed(lambda: conn.execute_query("SELECT COUNT(*) FROM person"))
        township = await timed(lambda: group_counts(work, by="township"))
        community = await timed(lambda: group_counts(work, by="community"))
        total = (await group_counts(work, by="township"))[-1]
    return {"engine": "postgres" if url.startswith("postgres") else "sqlite", "persons": persons,
            "seed_seconds": round(seeded, 1), "baseline_count_ms": round(baseline, 1),
            "groups_by_township_ms": round(township, 1), "groups_by_community_ms": round(community, 1),
            "ratio_township_to_baseline": round(township / baseline, 2),
            "ratio_community_to_baseline": round(community / baseline, 2),
            "goal_ms": 100, "totals": {k: v for k, v in total.items() if k != "township"}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--db", help="PostgreSQL URL (its tables are emptied); default a temporary SQLite file")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.persons, args.db)), ensure_ascii=False, indent=2))
