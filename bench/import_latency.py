"""Benchmark: how other requests fare while a big signing sheet is imported through the API.

    python bench/import_latency.py --persons 100000 [--db postgres://postgres@127.0.0.1:5432/postgres] [--reimport]

Starts `resettle serve` on a fresh database holding a small registry, then probes three requests
every --interval seconds (each probe its own task, so a request stuck behind the import shows its
full wait): `/healthz` (no database), `/api/v1/registry/stats` (the counts) and
`/api/v1/households?page=2` (a page of households). It probes first with the server idle (the
baseline), then while `POST /api/v1/imports` writes a sheet of about --persons persons (the
import's check and write, one transaction). With --reimport the registry already holds the whole
sheet (imported untimed before the server starts), so the probed import changes nothing: its time
goes into comparing every row with the stored one. Prints p50/p99/max of each probe in both phases and the
p99 ratio during/idle. Goal: p99 of every probe under 100 ms during the import. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.import_registry import drop_database, fresh_database, signing_sheet  # noqa: E402

PROBES = {"healthz": "/healthz", "stats": "/api/v1/registry/stats", "households": "/api/v1/households?page=2"}
PASSWORD = "Probe-while-importing-2026"


RESETTLE = str(Path(sys.executable).with_name("resettle"))  # the venv's command


def resettle(url: str, *args: str, stdin: str = "") -> str:
    out = subprocess.run([RESETTLE, *args, "--db", url], input=stdin, text=True, capture_output=True,
                         cwd=ROOT, check=True)
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def probe(session: aiohttp.ClientSession, base: str, headers: dict, seconds: float, interval: float,
                until: asyncio.Future | None = None) -> dict[str, list[float]]:
    """Latencies in ms per probe, fired every `interval` for `seconds` (or until `until` is done)."""
    timings: dict[str, list[float]] = {name: [] for name in PROBES}

    async def one(name: str, path: str) -> None:
        start = time.perf_counter()
        async with session.get(base + path, headers=headers) as response:
            await response.read()
            assert response.status == 200, (path, response.status)
        timings[name].append((time.perf_counter() - start) * 1000)

    tasks = []
    stop = time.perf_counter() + seconds
    while (until is None and time.perf_counter() < stop) or (until is not None and not until.done()):
        tasks += [asyncio.create_task(one(name, path)) for name, path in PROBES.items()]
        await asyncio.sleep(interval)
    await asyncio.gather(*tasks)
    return timings


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1] if len(values) > 1 else values[0]


async def run(url: str, sheet: Path, seed: Path, interval: float, expect: str) -> None:
    resettle(url, "users", "add", "bench", "--name", "测试", "--role", "office", "--password-stdin",
             stdin=PASSWORD + "\n")
    token = resettle(url, "users", "token", "bench")
    resettle(url, "registry", "import", str(seed))
    port = free_port()
    server = subprocess.Popen([RESETTLE, "serve", "--port", str(port), "--db", url],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as session:
            for _ in range(100):
                try:
                    async with session.get(base + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.2)
            idle = await probe(session, base, headers, 5, interval)

            async def upload() -> dict:
                form = aiohttp.FormData()
                form.add_field("sheet", sheet.open("rb"), filename=sheet.name, content_type="text/csv")
                start = time.perf_counter()
                async with session.post(base + "/api/v1/imports", data=form, headers=headers) as response:
                    body = await response.json()
                return {"status": response.status, "seconds": time.perf_counter() - start, **body}
            importing = asyncio.ensure_future(upload())
            during = await probe(session, base, headers, 0, interval, until=importing)
            result = importing.result()
    finally:
        server.terminate()
        server.wait(30)
    assert result["status"] == 200 and result["outcome"] == expect, (
        result["status"], result.get("outcome"), result.get("issues", [])[:3])
    persons = result["persons_added"] + result["persons_unchanged"] + result["persons_updated"]
    print(f"{expect:<22} {persons:,} persons in {result['seconds']:.1f} s "
          f"(probes every {interval * 1000:.0f} ms)")
    print(f"{'probe':<12} {'idle p50':>9} {'idle p99':>9} {'during p50':>11} {'during p99':>11} "
          f"{'during max':>11} {'n':>6} {'p99 ratio':>10}")
    for name in PROBES:
        a, b = idle[name], during[name]
        print(f"{name:<12} {quantile(a, .5):>8.1f}  {quantile(a, .99):>8.1f}  {quantile(b, .5):>10.1f}  "
              f"{quantile(b, .99):>10.1f}  {max(b):>10.1f}  {len(b):>5}  {quantile(b, .99) / quantile(a, .99):>9.1f}")
    print("goal: p99 of every probe during the import < 100 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--db", help="PostgreSQL server URL (a database is created and dropped); default SQLite")
    parser.add_argument("--workdir", default="/tmp/resettle-bench")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between probes")
    parser.add_argument("--reimport", action="store_true",
                        help="import the whole sheet first (untimed), then probe during its re-import")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    sheet = signing_sheet(workdir, args.persons)
    seed = workdir / f"{sheet.stem}-first-1000.csv"  # the registry before: the sheet's first households
    if args.reimport:
        seed = sheet
    elif not seed.exists():
        import pandas as pd

        rows = pd.read_csv(sheet, dtype=str, keep_default_na=False, skiprows=2, encoding="utf-8-sig")
        first = rows["协议编号"].drop_duplicates().head(1000)
        rows[rows["协议编号"].isin(first)].to_csv(seed, index=False)
    url = fresh_database(args.db, workdir, "latency")
    try:
        asyncio.run(run(url, sheet, seed, args.interval, "unchanged" if args.reimport else "imported"))
    finally:
        drop_database(args.db, url)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
