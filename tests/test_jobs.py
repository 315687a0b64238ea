"""Long jobs are shared by every server process through the database: progress and result are
visible from another process, and a job whose process died shows as failed."""

import asyncio
import datetime as dt

from services import jobs as state
from tests.test_web import log_in, site, slow_import  # noqa: F401  (the seeded site fixture)
from tests.work import DAY, clock_on
from web import jobs


async def test_another_process_shows_the_progress_and_the_result(site, monkeypatch):  # noqa: F811
    """The job runs in this process; the pages are asked as another process would be asked: one
    that knows nothing of the job but what the database says."""
    monkeypatch.setattr(jobs, "BEAT", 0.05)
    response, release = await slow_import(site, monkeypatch)
    upload = str(response.url).rsplit("/", 1)[1]
    running = site.app[jobs.JOBS].pop(upload)  # from now on this process knows only the database
    await asyncio.sleep(0.2)  # a heartbeat or two
    elsewhere = await (await site.get(f"/registry/import/{upload}")).text()
    assert 'http-equiv="refresh"' in elsewhere and "逐行校验：3 / 10" in elsewhere
    release.set()
    await running.task
    elsewhere = await (await site.get(f"/registry/import/{upload}")).text()
    assert "尚未写入任何数据" in elsewhere and "检查结果" in elsewhere
    await log_in(site, "admin")  # somebody else's job is nobody else's business
    assert (await site.get(f"/registry/import/{upload}")).status == 404


async def test_a_job_whose_process_died_shows_as_failed(site):  # noqa: F811
    now = clock_on(DAY)()
    await state.start("dead-job", "import", "web:office", now)
    assert (await state.read("dead-job", "web:office", now + state.STALE))["status"] == "running"
    found = await state.read("dead-job", "web:office", now + state.STALE + dt.timedelta(seconds=1))
    assert found["status"] == "failed" and "服务进程已中断" in found["error"]
    assert await state.read("dead-job", "web:other", now) is None
    await state.start("dead-job", "import", "web:office", now)  # submitted again
    assert (await state.read("dead-job", "web:office", now))["status"] == "running"
