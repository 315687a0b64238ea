"""The audit log: one append-only row per mutation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from resettle.db import connection, placeholders
from resettle.models import AuditEvent, User
from resettle.rules.permissions import require
from services.work import Work

SHANGHAI = ZoneInfo("Asia/Shanghai")  # timestamps are stored in UTC and shown in Shanghai time


# where an actor of the log came from besides a user's login ("web:login", "api:login"); the demo
# acts as its users ("demo:login") and as made-up townships and departments ("demo:新河镇")
_CHANNELS = {"cli": "命令行", "demo": "演示数据"}
_USERS = ("web", "api", "demo")


async def who_acted(actors: Iterable[str]) -> dict[str, str]:
    """Each actor of the log as a page names it: a user's name for a web, API or demo login, else
    the name with where it came from (张三（命令行）), else as logged."""
    actors = set(actors)
    logins = {a.partition(":")[2] for a in actors if a.partition(":")[0] in _USERS}
    names = dict(await User.filter(login__in=logins).values_list("login", "name")) if logins else {}
    named = {}
    for a in actors:
        channel, _, rest = a.partition(":")
        if channel in _USERS and rest in names:
            named[a] = names[rest]
        elif channel in _CHANNELS and rest:
            named[a] = f"{rest}（{_CHANNELS[channel]}）"
        else:
            named[a] = a
    return named


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def diff(before: dict, after: dict) -> dict[str, list]:
    """{field: [before, after]} for the fields whose value changed."""
    return {key: [_jsonable(before.get(key)), _jsonable(value)]
            for key, value in after.items() if before.get(key) != value}


async def record(work: Work, action: str, object_type: str, object_id: object,
                 changes: dict) -> None:
    """One event: who acted (the work's actor), when (its clock), on what, what changed."""
    await AuditEvent.create(at=work.now(), actor=work.actor.login, action=action, object_type=object_type,
                            object_id=str(object_id), changes=changes)


async def record_many(work: Work, action: str,
                      events: Iterable[tuple[str, object, dict]]) -> int:
    """Many events in one statement, for bulk use cases such as an import."""
    now = work.now()
    rows = [(now, work.actor.login, action, object_type, str(object_id),
             json.dumps(changes, ensure_ascii=False, separators=(",", ":")))
            for object_type, object_id, changes in events]
    if rows:
        conn = connection()
        sql = ('INSERT INTO audit_event (at, actor, action, object_type, object_id, changes) '
               f'VALUES ({placeholders(conn, 6)})')
        await conn.execute_many(sql, rows)
    return len(rows)


PAGE_SIZE = 50


async def audit_log(work: Work, *, who: str = "", object_type: str = "", object_id: str = "",
                    action: str = "", since: dt.date | None = None, until: dt.date | None = None,
                    page: int = 1) -> dict:
    """The audit log, newest first, filtered and paginated (admin and office only)."""
    require(work.actor.role, "audit.view")
    query = AuditEvent.all()
    if who:
        query = query.filter(actor=who.strip())
    if object_type:
        query = query.filter(object_type=object_type.strip())
    if object_id:
        query = query.filter(object_id=object_id.strip())
    if action:
        query = query.filter(action__startswith=action.strip())
    if since:
        query = query.filter(at__gte=dt.datetime.combine(since, dt.time(), SHANGHAI))
    if until:
        query = query.filter(at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), SHANGHAI))
    total = await query.count()
    page = max(1, page)
    rows = await query.order_by("-id").offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return {"total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)), "items": [
        {"at": r.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "actor": r.actor,
         "action": r.action, "object_type": r.object_type, "object_id": r.object_id,
         "changes": r.changes} for r in rows]}
