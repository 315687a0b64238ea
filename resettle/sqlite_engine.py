"""tortoise's SQLite engine, with transactions that take the write lock when they begin, and the
connection settings resettle runs SQLite with.

SQLite's default BEGIN starts as a reader; a transaction that reads and then writes (every
optimistic-lock save, every import) cannot become the writer once another process has committed
since its read, and fails at once with "database is locked" — the busy timeout does not apply,
as waiting could not help. BEGIN IMMEDIATE makes writers queue at the start instead (waiting up to
the busy timeout), so a second process (the CLI beside the server, a second save) waits its turn
and then meets the version check like anyone else. Within one process tortoise already runs one
SQLite transaction at a time, so nothing changes there.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.sqlite import client as base
from tortoise.exceptions import TransactionManagementError

BUSY_TIMEOUT_MS = 15_000  # a writer waits this long behind another (an import) before giving up


class _Transaction(base.SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class SqliteClient(base.SqliteClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # tortoise already sets WAL (readers work during an import) and foreign keys; NORMAL sync is
        # safe with WAL.
        self.pragmas.setdefault("synchronous", "NORMAL")
        self.pragmas.setdefault("busy_timeout", BUSY_TIMEOUT_MS)

    def _in_transaction(self) -> base.TransactionContext:
        return base.SqliteTransactionContext(_Transaction(self), self._lock)


client_class = SqliteClient
