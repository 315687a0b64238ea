"""What runs on a schedule: the age refresh once a day (ages cross 18, 60 and 80 overnight) and
the morning digest (which sends once a day from the policy's `[notify] digest_at`, on working
days). Cron runs them as the README's crontab shows; `resettle serve` on SQLite, one process,
runs them in-process (web/app.py), so that a single-machine deployment needs no cron."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from services import notify, tags
from services.work import Work

REFRESH_AT = dt.time(0, 30)  # after midnight: the day's birthdays have come
log = logging.getLogger("resettle.schedule")


@dataclass
class Daily:
    """The day's runs so far, in memory: a restart runs the refresh again, which changes nothing."""

    refreshed_on: dt.date | None = None

    async def tick(self, work: Work) -> dict:
        """One look at the clock: the refresh when it is due and not yet run today, the digest
        (it answers what it skipped when it is not time)."""
        done: dict = {}
        local = work.now().astimezone()  # the clock work.today is read by (services.work.begin)
        if self.refreshed_on != work.today and local.time() >= REFRESH_AT:
            done["refresh"] = r = await tags.refresh(work)
            self.refreshed_on = work.today
            log.info("schedule: ages refreshed on %s: %d persons checked, %d lines opened, %d closed",
                     r["on"], r["persons_checked"], r["lines_opened"], r["lines_closed"])
        done["digest"] = await notify.digest(work)
        return done


async def run(work_of: Callable[[], Work], stop: asyncio.Event, *, every: float = 60.0) -> None:
    """Look every `every` seconds until `stop` is set; a failed run is logged and tried again."""
    daily = Daily()
    while not stop.is_set():
        try:
            await daily.tick(work_of())
        except Exception:  # noqa: BLE001 — a bad run must not end the schedule; it is logged
            log.exception("schedule: daily run failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
