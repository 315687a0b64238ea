"""Whether this process can serve: the database answers and its schema is current."""

from __future__ import annotations

from tortoise.context import require_context

from resettle.db import connection, pending_migrations


async def readiness() -> dict:
    await connection().execute_query("SELECT 1")
    pending = await pending_migrations(require_context())
    return {"database": "ok", "migrations": "current" if not pending else "pending", "pending": pending}
