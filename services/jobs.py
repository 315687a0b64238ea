"""The state of long work started from a page, shared by every server process through the
database: started, progress, heartbeat, outcome; a job whose process died is reported failed.
Each call is given the moment by the caller's clock (the web application's)."""

from __future__ import annotations

import datetime as dt
import os
import socket

from resettle.models import Job

STALE = dt.timedelta(seconds=30)  # a heartbeat older than this means the process running it is gone
DIED = "处理这项任务的服务进程已中断，任务没有完成，也没有写入任何数据（导入是一个整体事务）。请重新提交。"
WORKER = f"{socket.gethostname()}:{os.getpid()}"


async def start(key: str, kind: str, owner: str, now: dt.datetime) -> None:
    """A job (re)starts under `key` in this process."""
    values = {"kind": kind, "owner": owner, "worker": WORKER, "status": "running", "stage": "排队", "done": 0,
              "total": 0, "result": None, "error": "", "started_at": now, "heartbeat_at": now}
    if not await Job.filter(key=key).update(**values):
        await Job.create(key=key, **values)


async def beat(key: str, stage: str, done: int, total: int, now: dt.datetime) -> None:
    await Job.filter(key=key, status="running").update(stage=stage[:64], done=done, total=total,
                                                       heartbeat_at=now)


async def finish(key: str, now: dt.datetime, *, result: dict | None = None, error: str = "") -> None:
    await Job.filter(key=key).update(status="failed" if error else "done", result=result, error=error,
                                     heartbeat_at=now)


async def read(key: str, owner: str, now: dt.datetime) -> dict | None:
    """The job under `key` if `owner` started it; a running job without a heartbeat is failed."""
    job = await Job.get_or_none(key=key, owner=owner)
    if job is None:
        return None
    if job.status == "running" and now - job.heartbeat_at > STALE:
        await Job.filter(key=key, status="running").update(status="failed", error=DIED)
        job.status, job.error = "failed", DIED
    return {"key": job.key, "kind": job.kind, "status": job.status, "stage": job.stage, "done": job.done,
            "total": job.total, "result": job.result, "error": job.error, "worker": job.worker}


async def recent(owner: str, kinds: tuple[str, ...], now: dt.datetime, limit: int = 5) -> list[dict]:
    """The owner's latest jobs of these kinds, newest first, without their results (an import's
    report can be large; its page reads it). A running job without a heartbeat is told as failed,
    as `read` tells it."""
    rows = await Job.filter(owner=owner, kind__in=list(kinds)).order_by("-started_at").limit(limit) \
        .values("key", "kind", "status", "stage", "started_at", "heartbeat_at", "error")
    for row in rows:
        if row.pop("heartbeat_at") < now - STALE and row["status"] == "running":
            row["status"], row["error"] = "failed", DIED
    return rows
