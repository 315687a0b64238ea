"""Benchmark: what an anonymous client costs the server with one huge POST to /login.

    python bench/hostile_body.py [--mb 200] [--port 18930]

Serves the workbench (this checkout) in a child process on a fresh SQLite file, sends --mb MB
of form data to /login without a session (chunked, as a script would), and prints the answer,
how long it took, how long /healthz then takes, and the server's peak resident memory (VmHWM,
Linux). With the body bounded before it is read: 413 within milliseconds and no more memory
than an idle server; before (the whole body read to check the CSRF token): 403 after it was all
in memory. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
SERVER = """
import asyncio, pathlib, sys
from aiohttp import web
from resettle.db import open_db
from web.app import init_app

url, uploads, port = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])

async def migrate():
    async with open_db(url):
        pass
asyncio.run(migrate())
web.run_app(init_app(url, secret=b"k" * 32, uploads=uploads), port=port, print=None)
"""


async def body(size_mb: int):
    yield b"csrf=x&login="
    chunk = b"a" * MB
    for _ in range(size_mb):
        yield chunk


async def measure(size_mb: int, port: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    server = subprocess.Popen([sys.executable, "-c", SERVER, f"sqlite:///{tmp}/bench.db", str(tmp / "uploads"),
                               str(port)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(150):
                try:
                    await client.get(f"{base}/healthz")
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
            idle = _peak(server.pid)
            started = time.monotonic()
            try:
                response = await client.post(f"{base}/login", data=body(size_mb),
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                answer = str(response.status)
            except aiohttp.ClientError as exc:
                answer = type(exc).__name__
            took = time.monotonic() - started
            started = time.monotonic()
            await client.get(f"{base}/healthz")
            health = time.monotonic() - started
        print(f"POST /login {size_mb} MB: {answer} in {took:.2f} s; /healthz after {health * 1000:.0f} ms; "
              f"server peak RSS {_peak(server.pid)} MiB (idle {idle} MiB)")
    finally:
        server.terminate()
        server.wait()


def _peak(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--port", type=int, default=18930)
    args = parser.parse_args()
    asyncio.run(measure(args.mb, args.port))


if __name__ == "__main__":
    main()
