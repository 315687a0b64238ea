"""Benchmark: does the time a login takes tell whether the account exists?

    python bench/login_timing.py [--runs 9]

In a fresh SQLite file, one account; times `accounts.login` with a wrong password for that
account and for a missing one, at the production argon2 cost, with the throttle cleared before
each try (the path is measured, not a lock). Prints the median of each, twice, interleaved.
The two should agree within the machine's noise. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resettle.actor import Actor  # noqa: E402
from resettle.db import open_db  # noqa: E402
from resettle.models import Throttle  # noqa: E402
from services import accounts  # noqa: E402


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with open_db(f"sqlite:///{folder}/bench.db"):
            await accounts.add_user(Actor("bench"), "office", "办公室", "office", "correct-horse-9")
            for label, login in (("existing", "office"), ("missing", "nobody")) * 2:
                times = []
                for n in range(runs):
                    await Throttle.all().delete()
                    start = time.perf_counter()
                    with contextlib.suppress(accounts.LoginRefused):
                        await accounts.login(login, "wrong-password", f"192.0.2.{n}")
                    times.append((time.perf_counter() - start) * 1000)
                print(f"{label:9s} median {statistics.median(times):7.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    asyncio.run(main(parser.parse_args().runs))
