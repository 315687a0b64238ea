"""Benchmark: the web API under load against a 1,000,000-person registry.

    python bench/web_load.py [--persons 1000000] [--clients 50] [--seconds 60] [--workers 1]
                             [--db postgres://postgres@127.0.0.1:5432/postgres --workers 2]

1. builds the database (the generated signing sheet imported with its ledger, as
   bench/import_registry.py does), moves 20,000 households in (their hand-offs fill the inbox),
   and adds desk problems and verified governance projects;
2. starts `resettle serve` (one process on SQLite; `--workers N` on PostgreSQL);
3. runs `--clients` concurrent clients for `--seconds` with a realistic mix — registry search,
   household page, the inbox, finance's approve queue, and desk intake (20% writes) — and reports
   req/s, p50, p99 and errors per kind;
4. runs the same clients against a bare aiohttp handler in the same run: the ratio says what the
   product costs over aiohttp itself on this machine;
5. checks that every intake answered 201 is in the database afterwards.
Goal: p99 under 50 ms at 50 clients, no errors, nothing lost. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_registry as base  # noqa: E402  (the same sheet and databases)

MOVE_INS = 20_000
WARMUP = 5  # seconds of load before the measured `--seconds`
MIX = (("search", 25), ("household", 20), ("inbox", 20), ("queue", 15), ("intake", 20))
BARE_APP = """
import sys
from aiohttp import web
async def handler(request):
    return web.json_response({"total": 1, "items": [{"agreement_no": "CM-1", "status": "moved_in"}]})
app = web.Application()
app.router.add_get("/{tail:.*}", handler)
app.router.add_post("/{tail:.*}", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


async def step_prepare(url: str) -> dict:
    """Move-ins with their hand-offs, desk problems, verified projects, and one token per role."""
    from tortoise.transactions import in_transaction

    from resettle.actor import Actor
    from resettle.db import connection, is_postgres, open_db
    from resettle.models import Community, Household, Person, Project
    from resettle.policy import load_policy
    from services import accounts, desk, funding, ledger
    from services.work import begin

    policy, admin = load_policy(), Actor("bench:admin")
    async with open_db(url):
        conn = connection()
        households = await conn.execute_query_dict(
            "SELECT id, agreement_no, origin_township, dest_township FROM household "
            f"WHERE origin_township <> dest_township ORDER BY id LIMIT {MOVE_INS}")
        ids = ", ".join(str(h["id"]) for h in households)
        # moved in without a 房号: the sheet's provisional ones repeat, and a held unit cannot
        await conn.execute_query(f"UPDATE household SET status = 'moved_in', allocated_on = signed_on, "
                                 f"moved_in_on = signed_on, unit = '' WHERE id IN ({ids})")
        import types

        async with in_transaction() as tx:
            moving = begin(admin, policy)
            await ledger.send_move_in(moving, tx, [types.SimpleNamespace(**h) for h in households],
                                      moving.today - dt.timedelta(days=3))
        busiest = max({h["dest_township"] for h in households},
                      key=lambda t: sum(h["dest_township"] == t for h in households))
        community = await Community.filter(township_code=busiest).order_by("id").first()
        residents = await Person.filter(household__community_id=community.id,
                                        household__status="moved_in").limit(500).values_list("id_number", flat=True)
        password = "bench-password-1"
        for login, role, extra in (("liaison", "township", {"township": policy.township(busiest).name}),
                                   ("clerk", "desk", {"community": f"{community.township_code}/{community.name}",
                                                      "carriage": "居委会"}),
                                   ("finance", "finance", {})):
            await accounts.add_user(admin, login, login, role, password, **extra)
        tokens = {login: await accounts.issue_token(admin, login) for login in ("liaison", "clerk", "finance")}
        clerk = begin(await accounts.actor_for_token(tokens["clerk"]), policy)
        for n in range(300):  # open problems for the intake's look-alike search
            demand = await desk.intake(clerk, None, channel="统一接待", category=policy.desk.categories[n % 5],
                                       text=f"{n % 40}号楼{['电梯', '路灯', '车位', '垃圾房', '楼道'][n % 5]}问题{n}",
                                       resident=residents[n % len(residents)])
            await desk.link(clerk, [demand["id"]], title=demand["text"])
        year = dt.date.today().year
        drafting = begin(admin, policy)
        for n in range(200):  # finance's queue
            project = await funding.draft(drafting, community=community.id, kind="case_by_case", title=f"项目{n}",
                                          year=year, requested=1_000_000, department="区民政局",
                                          deliberation={"body": "居民代表会议", "held_on": f"{year}-01-10",
                                                        "attendance": 3, "votes_for": 2, "votes_against": 0})
            await Project.filter(id=project["id"]).update(status="verified", verified=1_000_000)
        # fresh statistics for what the set-up wrote, as the import does after a bulk load (and
        # autovacuum would within a minute; it is off on some test servers)
        for table in ("household", "handoff", "demand", "problem", "desk_action", "project", "audit_event"):
            await conn.execute_script(f"VACUUM (ANALYZE) {table}" if is_postgres(conn) else f"ANALYZE {table}")
        agreements = await Household.filter(community_id=community.id).limit(2000).values_list("agreement_no",
                                                                                                 flat=True)
        names = await Person.filter(household__community_id=community.id).limit(2000).values_list("name", flat=True)
    return {"tokens": tokens, "agreements": agreements, "names": names, "residents": residents,
            "community": community.name}


async def step_check(url: str, ids_json: str) -> dict:
    from resettle.db import open_db
    from resettle.models import Demand

    ids = json.loads(Path(ids_json).read_text())
    async with open_db(url):
        found = set()
        for start in range(0, len(ids), 5000):
            found |= set(await Demand.filter(id__in=ids[start:start + 5000]).values_list("id", flat=True))
    return {"written": len(ids), "found": len(found)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


async def load(port: int, clients: int, seconds: float, data: dict | None, think: float,
               warmup: float = WARMUP) -> dict:
    """`clients` concurrent clients for `seconds`, each pausing a random 0..2×`think` seconds
    between requests as a person at a desk does (also before the first: fifty people do not press
    Enter in the same millisecond); per kind the latencies (ms) and errors. Requests started in the
    first `warmup` seconds (cold caches, first queries) are sent but not counted."""
    import aiohttp

    rng = random.Random(5)
    kinds = [k for k, weight in MIX for _ in range(weight)]
    latencies: dict[str, list[float]] = {k: [] for k, _ in MIX}
    errors: dict[str, int] = {k: 0 for k, _ in MIX}
    written: list[int] = []
    base_url = f"http://127.0.0.1:{port}"
    headers = (lambda who: {"Authorization": f"Bearer {data['tokens'][who]}"}) if data else (lambda who: {})

    def request(kind: str) -> tuple[str, str, dict, dict | None]:
        if not data:
            return ("POST" if kind == "intake" else "GET"), "/bare", {}, ({} if kind == "intake" else None)
        if kind == "search":
            return "GET", f"/api/v1/households?q={rng.choice(data['names'])}&limit=20", headers("liaison"), None
        if kind == "household":
            return "GET", f"/api/v1/households/{rng.choice(data['agreements'])}", headers("liaison"), None
        if kind == "inbox":
            return "GET", "/api/v1/ledger/handoffs?direction=incoming&limit=50", headers("liaison"), None
        if kind == "queue":
            return "GET", "/api/v1/funding/queue", headers("finance"), None
        return "POST", "/api/v1/desk/demands", headers("clerk"), {
            "channel": "统一接待", "category": "物业维修", "text": f"{rng.randrange(40)}号楼电梯又坏了",
            "resident": rng.choice(data["residents"])}

    async def client(session: aiohttp.ClientSession, end: float) -> None:
        if think:
            await asyncio.sleep(rng.uniform(0, 2 * think))
        while time.monotonic() < end:
            counted = time.monotonic() >= measured_from
            kind = rng.choice(kinds)
            method, path, head, body = request(kind)
            start = time.perf_counter()
            try:
                async with session.request(method, base_url + path, headers=head, json=body) as response:
                    payload = await response.read()
                    ok = response.status < 300
            except (TimeoutError, aiohttp.ClientError):
                ok, payload = False, b""
            if counted:
                latencies[kind].append((time.perf_counter() - start) * 1000)
            if not ok:
                errors[kind] += 1
            elif kind == "intake" and data:
                written.append(json.loads(payload)["id"])
            if think:
                await asyncio.sleep(rng.uniform(0, 2 * think))

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=10)  # a request this slow is an error, not a latency
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        measured_from = time.monotonic() + warmup
        end = measured_from + seconds
        await asyncio.gather(*(client(session, end) for _ in range(clients)))
        elapsed = time.monotonic() - measured_from
    every = [v for values in latencies.values() for v in values]
    return {"requests": len(every), "rps": len(every) / elapsed, "errors": sum(errors.values()),
            "p50": statistics.median(every), "p99": statistics.quantiles(every, n=100)[98],
            "kinds": {k: {"n": len(v), "p50": statistics.median(v) if v else 0,
                          "p99": statistics.quantiles(v, n=100)[98] if len(v) > 1 else 0, "errors": errors[k]}
                      for k, v in latencies.items()},
            "written": written}


def child(step: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--step", step, *args], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def serve(command: list[str], port: int, env: dict, log: Path) -> subprocess.Popen:
    """A server in its own session; its JSON log lines go to `log` (a pipe nobody reads would fill
    and stall it)."""
    with log.open("w") as handle:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=handle,
                                   start_new_session=True)
    wait_ready(port)
    return process


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def report(label: str, r: dict) -> None:
    print(f"{label:26s} {r['requests']:7,} requests  {r['rps']:7.0f} req/s  p50 {r['p50']:6.1f} ms  "
          f"p99 {r['p99']:6.1f} ms  errors {r['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--think", type=float, default=0.5,
                        help="mean seconds a client pauses between requests (0: as fast as possible)")
    parser.add_argument("--db", help="PostgreSQL server URL (a database is created and dropped); default SQLite")
    parser.add_argument("--workdir", default="/tmp/resettle-bench")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        print(json.dumps(asyncio.run({"prepare": step_prepare, "check": step_check}[args.step](*rest))))
        return
    workdir = Path(args.workdir)
    sheet = base.signing_sheet(workdir, args.persons)
    url = base.fresh_database(args.db, workdir, "web")
    try:
        imported = base.child("import", url, str(sheet))
        data = child("prepare", url)
        print(f"engine       {'PostgreSQL' if args.db else 'SQLite'}, {args.workers} server process(es), "
              f"{args.clients} clients for {args.seconds:.0f} s, {args.think} s mean pause between requests")
        print(f"registry     {imported['persons']:,} persons; inbox, desk ({data['community']}) and approve queue "
              f"seeded")
        port = free_port()
        bare = serve([sys.executable, "-c", BARE_APP, str(port)], port, os.environ.copy(), workdir / "bare.log")
        try:
            baseline = asyncio.run(load(port, args.clients, min(args.seconds, 20), None, args.think))
        finally:
            stop(bare)
        port = free_port()
        env = {**os.environ, "RESETTLE_SECRET_KEY": "x" * 43 + "=", "DATABASE_URL": url}
        server = serve([str(Path(sys.executable).parent / "resettle"), "serve", "--port", str(port),
                        "--workers", str(args.workers)], port, env, workdir / "server.log")
        try:
            result = asyncio.run(load(port, args.clients, args.seconds, data, args.think))
        finally:
            stop(server)
        ids = workdir / "written.json"
        ids.write_text(json.dumps(result["written"]))
        check = child("check", url, str(ids))
        report("bare aiohttp handler", baseline)
        report("resettle (mix)", result)
        for kind, r in result["kinds"].items():
            print(f"  {kind:10s} {r['n']:7,} requests  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
                  f"errors {r['errors']}")
        print(f"ratio        {result['rps'] / baseline['rps']:.2f} of the bare handler's req/s; "
              f"p99 {result['p99']:.1f} ms (goal < 50 ms), errors {result['errors']} (goal 0)")
        print(f"writes       {check['written']:,} intakes answered 201, {check['found']:,} in the database "
              f"({'nothing lost' if check['found'] == check['written'] else 'LOST WRITES'})")
    finally:
        base.drop_database(args.db, url)


if __name__ == "__main__":
    main()
