"""Long work started from a page (an import of a big sheet) runs as a task of this process;
the page shows its stage and progress, refreshing itself without JavaScript, and shows the
result when it is done. Small files finish within the first wait and never show progress."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from resettle.errors import DomainError

log = logging.getLogger("resettle.web")
JOBS = web.AppKey("jobs", dict)
FIRST_WAIT = 2.0  # seconds a request waits before showing a progress page instead


@dataclass
class Job:
    kind: str  # what the result page is: "preview" or "import"
    owner: str
    stage: str = "排队"
    done: int = 0
    total: int = 0
    task: asyncio.Task | None = None
    result: object = None
    error: str = ""
    extra: dict = field(default_factory=dict)

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    @property
    def finished(self) -> bool:
        return self.task is not None and self.task.done()


def setup(app: web.Application) -> None:
    app[JOBS] = {}

    async def cancel_all(app: web.Application) -> None:
        for job in app[JOBS].values():
            if job.task and not job.task.done():
                job.task.cancel()
    app.on_shutdown.append(cancel_all)


def start(app: web.Application, key: str, job: Job, work: Callable[[Job], Awaitable]) -> Job:
    async def run() -> None:
        try:
            job.result = await work(job)
        except DomainError as exc:
            job.error = exc.message
        except Exception:
            log.exception("background job %s failed", key)
            job.error = "服务器内部错误，已记录，请稍后再试或联系管理员"
    job.task = asyncio.get_running_loop().create_task(run())
    app[JOBS][key] = job
    return job


async def settle(app: web.Application, key: str, owner: str) -> Job | None:
    """The job under `key` if this owner started it, after waiting a moment for it to finish."""
    job = app[JOBS].get(key)
    if job is None or job.owner != owner:
        return None
    if not job.finished:
        await asyncio.wait([job.task], timeout=FIRST_WAIT)
    return job
