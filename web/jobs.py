"""Long work started from a page (an import of a big sheet) runs as a task of the process that
received it; its stage, progress and outcome are kept in the database (services/jobs.py), so any
server process behind the proxy can show the progress page and the result, and a job whose
process died shows as failed instead of spinning for ever. Small files finish within the first
wait and never show progress."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from resettle.errors import DomainError
from services import jobs as state
from web import keys

log = logging.getLogger("resettle.web")
JOBS = web.AppKey("jobs", dict)
FIRST_WAIT = 2.0  # seconds a request waits before showing a progress page instead
BEAT = 5.0  # seconds between heartbeats (well inside services.jobs.STALE)
FAILED = "服务器内部错误，已记录，请稍后再试或联系管理员"


@dataclass
class Job:
    """A job as this process runs it (and as every page shows it)."""

    kind: str  # what the result page is: "preview" or "import"
    owner: str
    stage: str = "排队"
    done: int = 0
    total: int = 0
    finished: bool = False
    result: object = None
    error: str = ""
    task: asyncio.Task | None = field(default=None, repr=False)

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total


@contextlib.asynccontextmanager
async def running(loop: Callable[[asyncio.Event], Awaitable[None]]):
    """A loop of the process from start-up to shutdown (a cleanup context's `async with`): at
    shutdown it is told to stop and given 15 s to finish its pass."""
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, 15)


def setup(app: web.Application) -> None:
    app[JOBS] = {}

    async def cancel_all(app: web.Application) -> None:
        for job in app[JOBS].values():
            if job.task and not job.task.done():
                job.task.cancel()
    app.on_shutdown.append(cancel_all)


def _outside(coro: Awaitable) -> asyncio.Task:
    """Run a state write in a fresh context: not inside the job's own transaction, so it is seen
    at once by the other processes and survives the job's rollback."""
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())


def _jsonable(result: object) -> object:
    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


async def start(app: web.Application, key: str, job: Job, work: Callable[[Job], Awaitable]) -> Job:
    clock = app[keys.CLOCK]
    await state.start(key, job.kind, job.owner, clock())

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(BEAT)
            await _outside(state.beat(key, job.stage, job.done, job.total, clock()))

    async def run() -> None:
        beating = asyncio.get_running_loop().create_task(heartbeat())
        try:
            job.result = await work(job)
        except DomainError as exc:
            job.error = exc.message
        except Exception:
            log.exception("background job %s failed", key)
            job.error = FAILED
        finally:
            beating.cancel()
        await _outside(state.finish(key, clock(), result=None if job.error else _jsonable(job.result), error=job.error))
        job.finished = True
    job.task = asyncio.get_running_loop().create_task(run())
    app[JOBS][key] = job
    return job


async def settle(app: web.Application, key: str, owner: str) -> Job | None:
    """The job under `key` if this owner started it, after waiting a moment for it to finish:
    as this process runs it, or as the database tells of it when another process does."""
    job = app[JOBS].get(key)
    if job is not None and job.owner == owner:
        if not job.finished:
            await asyncio.wait([job.task], timeout=FIRST_WAIT)
        return job
    row = await state.read(key, owner, app[keys.CLOCK]())
    if row is None:
        return None
    return Job(kind=row["kind"], owner=owner, stage=row["stage"], done=row["done"], total=row["total"],
               finished=row["status"] != "running", result=row["result"], error=row["error"])
