"""Use case: fill an empty registry with a generated demo so a newcomer sees the product work."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import string
from pathlib import Path

from fixtures.generate import write_sheet
from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Community, Handoff, Household
from resettle.rules.household import Status
from services import accounts, ledger, registry
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
            # most moved in long ago; a few this week, so that some hand-offs are not yet overdue
            moved_on = allocated_on + dt.timedelta(days=rng.randrange(30, 120))
            if roll > 0.45:
                moved_on = max(moved_on, dt.date.today() - dt.timedelta(days=rng.randrange(0, 3)))
            await registry.record_step(actor, agreement, Status.MOVED_IN, moved_on)
            counts["moved_in"] += 1
    # letters and digits only: it is read off a terminal and typed into a login form
    counts.update(await _work_some_handoffs(actor, rng))
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    users = await _demo_users(actor, password)
    return {"households": generated.households, "persons": generated.persons, **counts,
            "password": password, "users": users,
            "stats": await registry.township_stats(actor),
            "sample_agreement": handed[0][0] if handed else ""}


async def _demo_users(actor: Actor, password: str) -> list[dict]:
    """One account per role, scoped to the demo's busiest township and community."""
    community = await Community.filter(township_code="310151110").order_by("id").first() \
        or await Community.all().order_by("id").first()
    specs = [
        ("admin", "演示管理员", "admin", {}),
        ("office", "区集中居住办", "office", {}),
        ("chenjia", "陈家镇信息员", "township", {"township": "陈家镇"}),
        ("desk", f"{community.name}居委会", "desk",
         {"community": f"{community.township_code}/{community.name}", "carriage": "居委会"}),
        ("minzheng", "区民政局", "department", {"department": "区民政局"}),
        ("finance", "区财政局", "finance", {}),
    ]
    users = []
    for login, name, role, extra in specs:
        user = await accounts.add_user(actor, login, name, role, password, **extra)
        users.append({**user, "scope": user["community"] or user["township"] or "全区"})
    return users


async def _work_some_handoffs(actor: Actor, rng: random.Random) -> dict:
    """Destination townships have accepted and completed part of the hand-offs; the rest wait,
    many of them overdue, as in a real inbox."""
    ids = await Handoff.filter(status="sent").order_by("id").values_list("id", "sent_on")
    accept = [i for i, sent_on in ids if sent_on < dt.date.today() - dt.timedelta(days=14) and rng.random() < 0.6]
    complete = [i for i in accept if rng.random() < 0.6]
    await ledger.act(actor, accept, "accept")
    await ledger.act(actor, complete, "complete")
    return {"handoffs": len(ids), "handoffs_completed": len(complete)}
