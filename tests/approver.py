"""Run as a separate process by the funding tests: approve the given projects all at once, against
an envelope set for the year, and print how many were approved and refused as JSON."""

import asyncio
import json
import sys

from resettle.actor import Actor
from resettle.db import open_db
from resettle.errors import DomainError
from resettle.policy import load_policy
from services import funding


async def main(url: str, year: int, envelope: int, amount: int, ids: list[int]) -> dict:
    load_policy().funding.envelopes[year] = envelope
    finance = Actor("test:finance", role="finance")
    async with open_db(url):
        results = await asyncio.gather(*(funding.approve(finance, i, amount) for i in ids), return_exceptions=True)
    unexpected = [repr(r) for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)]
    return {"approved": sum(isinstance(r, dict) for r in results), "unexpected": unexpected}


if __name__ == "__main__":
    url, year, envelope, amount, ids = sys.argv[1], *map(int, sys.argv[2:5]), json.loads(sys.argv[5])
    print(json.dumps(asyncio.run(main(url, year, envelope, amount, ids))))
