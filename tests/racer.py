"""Run as a separate process by the tests: act on objects all at once, as a second server process
would, and print what happened as JSON.

    python -m tests.racer URL approve YEAR ENVELOPE AMOUNT '[ids]'   (finance approving projects)
    python -m tests.racer URL edit PROBLEM VERSION TITLE             (a clerk saving a problem)
    python -m tests.racer URL allocate UNIT '[agreement nos]'        (clerks allocating one 房号)"""

import asyncio
import datetime as dt
import json
import sys

from resettle.actor import Actor
from resettle.db import open_db
from resettle.errors import DomainError, StaleVersion
from resettle.policy import load_policy
from resettle.rules.household import Status
from services import desk, funding, registry
from tests.work import work


async def approve(year: str, envelope: str, amount: str, ids: str) -> dict:
    load_policy().funding.envelopes[int(year)] = int(envelope)
    finance = work(Actor("test:finance", role="finance"))
    results = await asyncio.gather(*(funding.approve(finance, i, int(amount)) for i in json.loads(ids)),
                                   return_exceptions=True)
    unexpected = [repr(r) for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    return {"approved": sum(isinstance(r, dict) for r in results), "unexpected": unexpected}


async def edit(problem: str, version: str, title: str) -> dict:
    try:
        saved = await desk.edit_problem(work(Actor("test:admin")), int(problem), title=title, description=title,
                                        version=int(version))
    except StaleVersion as exc:
        return {"saved": False, "message": exc.message}
    return {"saved": True, "version": saved["version"]}


async def allocate(unit: str, agreements: str) -> dict:
    clerk = work(Actor("test:liaison"))
    results = await asyncio.gather(*(registry.record_step(clerk, a, Status.ALLOCATED, dt.date(2023, 7, 1), unit=unit)
                                     for a in json.loads(agreements)), return_exceptions=True)
    unexpected = [repr(r) for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    return {"allocated": sum(isinstance(r, dict) for r in results), "unexpected": unexpected}


async def main(url: str, action: str, *args: str) -> dict:
    async with open_db(url):
        return await {"approve": approve, "edit": edit, "allocate": allocate}[action](*args)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:])), ensure_ascii=False))
