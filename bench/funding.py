"""Benchmark: governance projects — 20,000 projects over 10 years, and approvals racing for one envelope.

    python bench/funding.py [--projects 20000] [--db postgres://postgres@127.0.0.1:5432/postgres]

1. writes 200 communities and 20,000 projects over 10 years (every state, as a district would have
   them) into a fresh database;
2. times finance's approve queue (`services.funding.queue`) and the yearly summary
   (`services.funding.summary`), each against a bare SELECT of the same rows in the same run
   (goal: under 100 ms);
3. races 100 approvals against one envelope that holds about 60 of them — in one process, and on
   PostgreSQL also split over two processes — and checks that the envelope is respected and every
   split adds up.
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_registry as base  # noqa: E402  (the same databases helpers)

RACE_YEAR = 2040
RACE_PROJECTS = 100
RACE_AMOUNT = 1_000_000  # 10,000 元 each, district share 50% = 5,000 元
RACE_ENVELOPE_YUAN = 300_000  # room for 60 district shares


def race_policy(workdir: Path) -> Path:
    """The example policy with an envelope for the race year."""
    text = (ROOT / "fixtures" / "policy.toml").read_text(encoding="utf-8")
    marker = "envelope_yuan = { default = 30000000"
    assert marker in text, "the example policy's envelope line changed"
    path = workdir / "race-policy.toml"
    path.write_text(
        text.replace(marker, f'envelope_yuan = {{ "{RACE_YEAR}" = {RACE_ENVELOPE_YUAN}, default = 30000000'),
        encoding="utf-8",
    )
    return path


async def seed(url: str, projects: int) -> dict:
    from tortoise.transactions import in_transaction

    from resettle.db import connection, open_db
    from resettle.policy import load_policy
    from resettle.rules.funding import ProjectKind, split
    from services.bulk import Chunks, db_date, db_stamp, insert

    policy = load_policy()
    rng = random.Random(7)
    this_year = dt.date.today().year
    years = list(range(this_year - 9, this_year + 1))
    towns = [t for t in policy.townships if "in" in t.roles]
    async with open_db(url):
        conn = connection()
        stamp = db_stamp(conn, dt.datetime.now(dt.UTC))
        async with in_transaction() as tx:
            await insert(
                tx,
                "community",
                ("created_at", "updated_at", "township_code", "name"),
                Chunks.rows(
                    200,
                    lambda a, b: [(stamp, stamp, towns[i % len(towns)].code, f"安置社区{i:03d}") for i in range(a, b)],
                ),
            )
        township_of = {
            r["id"]: r["township_code"]
            for r in await conn.execute_query_dict("SELECT id, township_code FROM community ORDER BY id")
        }
        ids = list(township_of)
        items = list(policy.funding.items)
        statuses = (
            ["completed"] * 30
            + ["approved"] * 25
            + ["verified"] * 8
            + ["submitted"] * 8
            + ["draft"] * 10
            + ["returned"] * 5
            + ["rejected"] * 14
        )

        def rows(a: int, b: int) -> list[tuple]:
            out = []
            for n in range(a, b):
                year = years[n % len(years)]
                community = ids[rng.randrange(len(ids))]
                township = township_of[community]
                item = items[rng.randrange(len(items))] if rng.random() < 0.85 else None
                kind = item.kind if item else ProjectKind.CASE_BY_CASE
                status = statuses[rng.randrange(len(statuses))]
                requested = rng.randrange(5_000_000, 80_000_000)
                verified = approved = district = township_share = ratio = None
                if status in ("verified", "approved", "completed"):
                    verified = requested - rng.randrange(0, requested // 5)
                if status in ("approved", "completed"):
                    approved = verified - rng.randrange(0, verified // 10)
                    ratio = policy.funding.ratio(kind, township)
                    district, township_share = split(approved, ratio)
                submitted = db_date(conn, dt.date(year, 3, 1)) if status != "draft" else None
                out.append(
                    (
                        stamp,
                        stamp,
                        township,
                        community,
                        kind.value,
                        item.code if item else "",
                        item.department if item else "区民政局",
                        f"项目{n}",
                        year,
                        "",
                        status,
                        requested,
                        verified,
                        approved,
                        ratio,
                        district,
                        township_share,
                        submitted,
                        "",
                        "",
                        "",
                        1,
                    )
                )
            return out

        columns = (
            "created_at",
            "updated_at",
            "township_code",
            "community_id",
            "kind",
            "item_code",
            "department",
            "title",
            "year",
            "description",
            "status",
            "requested",
            "verified",
            "approved",
            "ratio_bp",
            "district_share",
            "township_share",
            "submitted_on",
            "verified_by",
            "approved_by",
            "reason",
            "version",
        )
        start = time.perf_counter()
        async with in_transaction() as tx:
            await insert(tx, "project", columns, Chunks.rows(projects, rows))
        seconds = time.perf_counter() - start
        await conn.execute_script(
            "ANALYZE project" if conn.capabilities.dialect != "postgres" else "VACUUM (ANALYZE) project"
        )
    return {"seed_seconds": seconds, "year": this_year}


async def step_reads(url: str, year: int) -> dict:
    from resettle.actor import Actor
    from resettle.db import connection, open_db
    from resettle.policy import load_policy
    from services import funding
    from services.work import begin

    finance = begin(Actor("bench:finance", role="finance"), load_policy())

    async def median_ms(work, runs: int = 9) -> float:
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            await work()
            timings.append((time.perf_counter() - start) * 1000)
        return statistics.median(timings)

    async with open_db(url):
        conn = connection()
        mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
        queue = await funding.queue(finance, year=year)
        result = {
            "queue_items": len(queue["items"]),
            "queue_ms": await median_ms(lambda: funding.queue(finance, year=year)),
            "queue_bare_ms": await median_ms(
                lambda: conn.execute_query_dict(
                    f"SELECT * FROM project WHERE status = 'verified' AND year = {mark} ORDER BY submitted_on, id",
                    [year],
                )
            ),
            "summary_ms": await median_ms(lambda: funding.summary(finance, year)),
            "summary_bare_ms": await median_ms(
                lambda: conn.execute_query_dict(
                    "SELECT township_code, kind, COUNT(*), SUM(approved), SUM(district_share), SUM(township_share) "
                    f"FROM project WHERE year = {mark} AND status IN ('approved', 'completed') "
                    "GROUP BY township_code, kind",
                    [year],
                )
            ),
        }
        result["summary_rows"] = len((await funding.summary(finance, year))["rows"])
    return result


async def step_race_setup(url: str) -> dict:
    """RACE_PROJECTS verified projects of the race year, waiting for finance."""
    from resettle.db import connection, open_db

    async with open_db(url):
        conn = connection()
        community = (
            await conn.execute_query_dict(
                "SELECT id, township_code FROM community WHERE township_code = '310151110' ORDER BY id LIMIT 1"
            )
        )[0]
        await conn.execute_script(
            "INSERT INTO project (created_at, updated_at, township_code, community_id, kind, item_code, department, "
            "title, year, description, status, requested, verified, verified_by, approved_by, reason, version) "
            + " UNION ALL ".join(
                f"SELECT CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '{community['township_code']}', {community['id']}, "
                f"'case_by_case', '', '区民政局', '竞争审定{i}', {RACE_YEAR}, '', 'verified', {RACE_AMOUNT}, "
                f"{RACE_AMOUNT}, '', '', '', 1"
                for i in range(RACE_PROJECTS)
            )
        )
        ids = [
            r["id"]
            for r in await conn.execute_query_dict(f"SELECT id FROM project WHERE year = {RACE_YEAR} ORDER BY id")
        ]
    return {"ids": ids}


async def step_race(url: str, ids_json: str) -> dict:
    """Approve every given project at once (each approval its own task and transaction)."""
    from resettle.actor import Actor
    from resettle.db import open_db
    from resettle.errors import DomainError
    from resettle.policy import load_policy
    from services import funding
    from services.work import begin

    ids = json.loads(ids_json)
    finance = begin(Actor("bench:finance", role="finance"), load_policy())
    async with open_db(url):
        start = time.perf_counter()
        results = await asyncio.gather(*(funding.approve(finance, i, RACE_AMOUNT) for i in ids), return_exceptions=True)
        seconds = time.perf_counter() - start
    other = [repr(r) for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    return {
        "approved": sum(isinstance(r, dict) for r in results),
        "refused": sum(isinstance(r, DomainError) for r in results),
        "other_errors": other,
        "seconds": seconds,
    }


async def step_race_check(url: str) -> dict:
    from resettle.db import connection, open_db

    async with open_db(url):
        conn = connection()
        year = (
            await conn.execute_query_dict(f"SELECT envelope, committed FROM funding_year WHERE year = {RACE_YEAR}")
        )[0]
        rows = await conn.execute_query_dict(
            f"SELECT approved, district_share, township_share FROM project WHERE year = {RACE_YEAR} "
            "AND status = 'approved'"
        )
    return {
        "envelope": int(year["envelope"]),
        "committed": int(year["committed"]),
        "shares": sum(int(r["district_share"]) for r in rows),
        "approved": len(rows),
        "splits_add_up": all(int(r["district_share"]) + int(r["township_share"]) == int(r["approved"]) for r in rows),
    }


STEPS = {
    "seed": seed,
    "reads": step_reads,
    "race_setup": step_race_setup,
    "race": step_race,
    "race_check": step_race_check,
}


def child(step: str, *args: str, env: dict | None = None, background: bool = False):
    command = [sys.executable, __file__, "--step", step, *args]
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def race(url: str, processes: int, env: dict) -> dict:
    ids = child("race_setup", url, env=env)["ids"]
    parts = [ids[i::processes] for i in range(processes)]
    running = [child("race", url, json.dumps(part), env=env, background=True) for part in parts]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in running]
    check = child("race_check", url, env=env)
    return {
        "approved": sum(r["approved"] for r in results),
        "refused": sum(r["refused"] for r in results),
        "other_errors": [e for r in results for e in r["other_errors"]],
        "seconds": max(r["seconds"] for r in results),
        **{f"db_{k}": v for k, v in check.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=20_000)
    parser.add_argument("--db", help="PostgreSQL server URL (a database is created and dropped); default SQLite")
    parser.add_argument("--workdir", default="/tmp/resettle-bench")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        step = STEPS[args.step]
        values = [int(v) if v.isdigit() else v for v in rest]
        print(json.dumps(asyncio.run(step(*values)), default=str))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RESETTLE_POLICY": str(race_policy(workdir))}
    engine = "PostgreSQL" if args.db else "SQLite"
    print(f"engine        {engine}")
    urls = []
    try:
        url = base.fresh_database(args.db, workdir, "funding")
        urls.append(url)
        seeded = child("seed", url, str(args.projects), env=env)
        reads = child("reads", url, str(seeded["year"]), env=env)
        print(f"projects      {args.projects:,} over 10 years written in {seeded['seed_seconds']:.1f} s")
        for label, key, count in (
            ("approve queue", "queue", f"{reads['queue_items']} projects"),
            ("yearly summary", "summary", f"{reads['summary_rows']} township × kind rows"),
        ):
            ms, bare = reads[f"{key}_ms"], reads[f"{key}_bare_ms"]
            print(f"{label:14s}{ms:7.1f} ms ({count}; bare SELECT {bare:.1f} ms, ratio {ms / bare:.1f}; goal < 100 ms)")
        for processes in [1, 2] if args.db else [1]:
            url = base.fresh_database(args.db, workdir, f"race{processes}")
            urls.append(url)
            child("seed", url, "0", env=env)
            r = race(url, processes, env)
            ok = (
                r["db_committed"] <= r["db_envelope"]
                and r["db_committed"] == r["db_shares"]
                and r["db_approved"] == r["approved"]
                and r["db_splits_add_up"]
                and not r["other_errors"]
            )
            print(
                f"race x{processes} proc  {RACE_PROJECTS} approvals in {r['seconds']:.2f} s: {r['approved']} approved, "
                f"{r['refused']} refused; committed {r['db_committed'] / 100:,.2f} "
                f"of {r['db_envelope'] / 100:,.2f} 元; "
                f"{'envelope respected, every split adds up' if ok else 'FAILED: ' + json.dumps(r)}"
            )
    finally:
        for url in urls:
            base.drop_database(args.db, url)


if __name__ == "__main__":
    main()
