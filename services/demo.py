"""Use case: fill an empty registry with a generated demo so a newcomer sees the product work."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from fixtures.generate import write_sheet
from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Household
from resettle.rules.household import Status
from services import registry
from services.registry_import import Progress, import_sheets


async def seed_demo(actor: Actor, sheet: Path, households: int, *, seed: int = 2024,
                    progress: Progress | None = None) -> dict:
    existing = await Household.all().count()
    if existing:
        raise DomainError(f"数据库里已有 {existing} 户，演示只在空库上运行：请换一个空目录，或用 --db 指定新库")
    tick = (lambda n: progress("生成演示表", min(households, n), households)) if progress else None
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if tick:
            tick(done)

    generated = write_sheet(sheet, households, seed=seed, progress=step)
    report = await import_sheets(actor, [sheet], progress=progress)
    if not report.written:
        raise DomainError(f"演示表导入失败：{report.issues[0].message if report.issues else report.outcome}")
    rng = random.Random(seed)
    counts = {"allocated": 0, "moved_in": 0, "withdrawn": 0}
    handed = await Household.filter(status=Status.HANDED_OVER).order_by("id") \
        .values_list("agreement_no", "handed_over_on")
    for n, (agreement, handed_on) in enumerate(handed):
        if progress:
            progress("登记分房与入住", n + 1, len(handed))
        roll = rng.random()
        if roll < 0.03:
            await registry.record_step(actor, agreement, Status.WITHDRAWN,
                                       handed_on + dt.timedelta(days=5), reason="自愿放弃集中居住（演示）")
            counts["withdrawn"] += 1
            continue
        if roll > 0.75:
            continue
        allocated_on = handed_on + dt.timedelta(days=rng.randrange(15, 60))
        await registry.record_step(actor, agreement, Status.ALLOCATED, allocated_on,
                                   unit=f"{rng.randrange(1, 40)}号{rng.randrange(1, 7)}0{rng.randrange(1, 5)}室")
        counts["allocated"] += 1
        if roll < 0.5:
            await registry.record_step(actor, agreement, Status.MOVED_IN,
                                       allocated_on + dt.timedelta(days=rng.randrange(30, 120)))
            counts["moved_in"] += 1
    return {"households": generated.households, "persons": generated.persons, **counts,
            "stats": await registry.township_stats(actor),
            "sample_agreement": handed[0][0] if handed else ""}
