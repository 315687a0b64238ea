"""tortoise's SQLite engine, with transactions that take the write lock when they begin, and the
connection settings resettle runs SQLite with.

SQLite's default BEGIN starts as a reader; a transaction that reads and then writes (every
optimistic-lock save, every import) cannot become the writer once another process has committed
since its read, and fails at once with "database is locked" — the busy timeout does not apply,
as waiting could not help. BEGIN IMMEDIATE makes writers queue at the start instead (waiting up to
the busy timeout), so a second process (the CLI beside the server, a second save) waits its turn
and then meets the version check like anyone else. Within one process tortoise already runs one
SQLite transaction at a time, so nothing changes there.

tortoise runs every query of a process on one connection behind one lock, which a transaction
holds until it ends: while an import writes for a minute, every page waits for it. Reads outside
a transaction (what pages do) go to a second connection instead, which under WAL sees the last
committed state without waiting for the writer. Writes outside a transaction stay on the first
connection, queued as before.
"""

from __future__ import annotations

import asyncio
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
        self._reader = _Reader(self)

    def _in_transaction(self) -> base.TransactionContext:
        return base.SqliteTransactionContext(_Transaction(self), self._lock)

    def _reads(self, query: str) -> bool:
        # an in-memory database is private to its connection: a second one would see another
        return (self.filename != ":memory:" and "mode=memory" not in self.filename
                and query.lstrip()[:6].upper() == "SELECT")

    async def execute_query(self, query: str, values: list | None = None):
        if self._reads(query):
            return await self._reader.execute_query(query, values)
        return await super().execute_query(query, values)

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        if self._reads(query):
            return await self._reader.execute_query_dict(query, values)
        return await super().execute_query_dict(query, values)

    async def close(self) -> None:
        await self._reader.close()
        await super().close()


class _Reader(base.SqliteClient):
    """The second connection: the same file and settings, used only for reads outside a
    transaction; its own lock, so a read never waits for the writer's."""

    def __init__(self, parent: SqliteClient) -> None:
        super().__init__(parent.filename, connection_name=parent.connection_name)
        # WAL is the file's already; query_only makes a write sent here fail instead of slipping past
        # the writer's queue
        self.pragmas = {k: v for k, v in parent.pragmas.items() if k != "journal_mode"} | {"query_only": "ON"}
        self._lock = asyncio.Lock()


client_class = SqliteClient
