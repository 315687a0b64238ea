"""Optimistic locking: a row people edit is written only if nobody saved it since it was read."""

from __future__ import annotations

from tortoise.models import Model

from resettle.errors import StaleVersion
from services.work import Work


async def save(work: Work, row: Model, changes: dict, expected_version: int | None, what: str) -> int:
    """UPDATE … WHERE id = ? AND version = ? with the version bumped; a stale write is refused
    with a message naming `what` (e.g. "该户"). Returns the new version; `row` is updated."""
    version = row.version if expected_version is None else expected_version
    updated = await type(row).filter(id=row.id, version=version).update(
        **changes, version=version + 1, updated_at=work.now())
    if not updated:
        raise StaleVersion(f"{what}刚被其他人修改过，请刷新后重试")
    for key, value in changes.items():
        setattr(row, key, value)
    row.version = version + 1
    return row.version
