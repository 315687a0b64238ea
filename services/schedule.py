"""What runs on a schedule: the age refresh once a day (ages cross 18, 60 and 80 overnight) and
the morning digest (which sends once a day from the policy's `[notify] digest_at`, on working
days). Cron runs them as the README's crontab shows; `resettle serve` on SQLite, one process,
runs them in-process (web/app.py), so that a single-machine deployment needs no cron."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from resettle.rules.dates import SHANGHAI
from services import notify, tags
from services.work import Work

REFRESH_AT = dt.time(0, 30)  # after midnight in Shanghai: the day's birthdays have come
RETRY_AFTER = dt.timedelta(hours=1)  # a run that failed waits this long, not a minute
log = logging.getLogger("resettle.schedule")


@dataclass
class Daily:
    """The day's runs so far, in memory: a restart runs them again, which changes nothing. Each
    job runs once a day when due (the refresh from REFRESH_AT; the digest until it has run past
    its hour instead of skipping), and fails on its own: a job that raises neither stops the
    other nor is retried every minute (the log says so, and it is tried after RETRY_AFTER)."""

    done_on: dict[str, dt.date] = field(default_factory=dict)
    quiet_until: dict[str, dt.datetime] = field(default_factory=dict)

    async def tick(self, work: Work) -> dict:
        """One look at the clock; what ran, by job."""
        done: dict = {}
        local = work.now().astimezone(SHANGHAI)  # as work.today is read (services.work.begin)
        if local.time() >= REFRESH_AT:
            r = await self._attempt(work, "refresh", lambda: tags.refresh(work))
            if r is not None:
                done["refresh"] = r
                log.info("schedule: ages refreshed on %s: %d persons checked, %d lines opened, %d closed",
                         r["on"], r["persons_checked"], r["lines_opened"], r["lines_closed"])
        digest = await self._attempt(work, "digest", lambda: notify.digest(work), until=lambda d: not d["skipped"])
        if digest is not None:
            done["digest"] = digest
        return done

    async def _attempt(self, work: Work, job: str, call: Callable[[], Awaitable[dict]],
                       until: Callable[[dict], bool] = lambda result: True) -> dict | None:
        """Run `job` unless it is done today or quiet after a failure; done once `until` says so."""
        now = work.now()
        if self.done_on.get(job) == work.today or now < self.quiet_until.get(job, now):
            return None
        try:
            result = await call()
        except Exception:  # noqa: BLE001 — one failed job must not stop the other or the server
            self.quiet_until[job] = now + RETRY_AFTER
            log.exception("schedule: %s failed; tried again after %s", job, RETRY_AFTER)
            return None
        if until(result):
            self.done_on[job] = work.today
        return result


async def run(work_of: Callable[[], Work], stop: asyncio.Event, *, every: float = 60.0) -> None:
    """Look every `every` seconds until `stop` is set."""
    daily = Daily()
    while not stop.is_set():
        await daily.tick(work_of())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
