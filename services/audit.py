"""The audit log: one append-only row per mutation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from resettle.actor import Actor
from resettle.db import connection, placeholders
from resettle.models import AuditEvent


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def diff(before: dict, after: dict) -> dict[str, list]:
    """{field: [before, after]} for the fields whose value changed."""
    return {key: [_jsonable(before.get(key)), _jsonable(value)]
            for key, value in after.items() if before.get(key) != value}


async def record(actor: Actor, action: str, object_type: str, object_id: object,
                 changes: dict) -> None:
    await AuditEvent.create(actor=actor.login, action=action, object_type=object_type,
                            object_id=str(object_id), changes=changes)


async def record_many(actor: Actor, action: str,
                      events: Iterable[tuple[str, object, dict]]) -> int:
    """Many events in one statement, for bulk use cases such as an import."""
    now = dt.datetime.now(dt.UTC)
    rows = [(now, actor.login, action, object_type, str(object_id),
             json.dumps(changes, ensure_ascii=False, separators=(",", ":")))
            for object_type, object_id, changes in events]
    if rows:
        conn = connection()
        sql = ('INSERT INTO audit_event (at, actor, action, object_type, object_id, changes) '
               f'VALUES ({placeholders(conn, 6)})')
        await conn.execute_many(sql, rows)
    return len(rows)
