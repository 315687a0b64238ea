"""Bulk writing inside a use case's transaction, the same on SQLite and PostgreSQL: ids handed
out up front, rows inserted a chunk at a time (COPY on PostgreSQL, executemany on SQLite; the
ORM's bulk_create is ~5x slower), and IN-lookups chunked under SQLite's parameter limit."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING

from tortoise.backends.base.client import BaseDBAsyncClient

from resettle.db import is_postgres, placeholders

if TYPE_CHECKING:  # the column helpers import them when called: a command that writes one row loads none
    import numpy as np
    import pandas as pd

CHUNK = 20_000
COPY_BATCH = 4_000
LOOKUP_CHUNK = 5_000


def factorize_rows(*columns) -> tuple[np.ndarray, list[tuple]]:
    """Per row the index of its distinct combination of `columns`' values (a few columns of
    repeated values: townships, tags, ages), and those combinations. Integer codes combined, not a
    MultiIndex of a Python tuple per row, which at city scale holds the GIL (and so the event loop)
    for a tenth of a second at a time."""
    import numpy as np
    import pandas as pd

    codes, uniques = np.zeros(len(columns[0]), dtype=np.int64), []
    for column in columns:
        part, values = pd.factorize(column)
        codes = codes * len(values) + part
        uniques.append(values)
    codes, combined = pd.factorize(codes)
    combos = []
    for code in combined.tolist():
        combo = []
        for values in reversed(uniques):
            code, index = divmod(code, len(values))
            combo.append(values[index])
        combos.append(tuple(reversed(combo)))
    return codes, combos


def db_date(conn: BaseDBAsyncClient, value: dt.date | None):
    """A date as the engine takes it in raw SQL: sqlite3's implicit adapter is deprecated,
    PostgreSQL wants real dates."""
    if value is None or is_postgres(conn):
        return value
    return value.isoformat()


def db_stamp(conn: BaseDBAsyncClient, now: dt.datetime):
    """The moment (`Work.now()`) for created_at/updated_at in raw SQL: SQLite stores timestamps
    as text, formatted once per batch rather than once per row through an adapter."""
    return now if is_postgres(conn) else now.isoformat(" ")


class Chunks:
    """Rows produced a chunk at a time by `make(start, stop)`: a million tuples of Python
    strings held at once would cost about a gigabyte."""

    def __init__(self, bounds: list[tuple[int, int]], make: Callable[[int, int], list[tuple]]):
        self.bounds, self.make = bounds, make

    @classmethod
    def rows(cls, total: int, make: Callable[[int, int], list[tuple]], size: int = CHUNK) -> Chunks:
        return cls([(start, min(start + size, total)) for start in range(0, total, size)], make)

    def __iter__(self) -> Iterator[list[tuple]]:
        for start, stop in self.bounds:
            yield self.make(start, stop)


def quote(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


async def select_in(conn: BaseDBAsyncClient, sql: str, column: str, keys: list) -> list[dict]:
    """`sql` with `WHERE {column} IN keys`, chunked for SQLite's parameter limit and, on
    PostgreSQL, so that decoding the rows of one chunk (on the event loop) stays short."""
    rows: list[dict] = []
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start:start + LOOKUP_CHUNK]
        if is_postgres(conn):
            rows += await conn.execute_query_dict(f"{sql} WHERE {column} = ANY($1)", [chunk])
        else:
            rows += await conn.execute_query_dict(
                f"{sql} WHERE {column} IN ({placeholders(conn, len(chunk))})", chunk)
    return rows


def among(values: pd.Series, keys: Collection[str]) -> np.ndarray:
    """`values.isin(keys)` for text, in Arrow's C: pandas' isin over Arrow strings makes a Python
    scalar of every key (a third of a second for 100,000 keys, holding the GIL)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.is_in(pa.array(values, type=pa.string()), value_set=pa.array(list(keys), type=pa.string()))
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


async def has_rows(conn: BaseDBAsyncClient, table: str) -> bool:
    """Whether a table has rows: a first import into an empty registry skips the look-ups."""
    return bool(await conn.execute_query_dict(f'SELECT 1 AS x FROM "{table}" LIMIT 1'))


async def insert(conn: BaseDBAsyncClient, table: str, columns: Sequence[str],
                  rows: list[tuple] | Chunks, progress: Callable[[int], None] | None = None) -> None:
    """Bulk insert inside the caller's transaction: COPY on PostgreSQL, chunked executemany
    on SQLite (DESIGN.md: bulk_create is ~5x slower). The tuples of a chunk are made in a worker
    thread: at city scale that is seconds of Python, which on the event loop would stall every
    other request of the server."""
    async for chunk in _chunks(rows):
        if is_postgres(conn):
            # asyncpg encodes a COPY's records on the event loop: a few thousand at a time keeps
            # each pause of the loop short
            for start in range(0, len(chunk), COPY_BATCH):
                await conn._connection.copy_records_to_table(table, records=chunk[start:start + COPY_BATCH],
                                                             columns=list(columns))
        else:
            await conn.execute_many(
                f'INSERT INTO "{table}" ({quote(columns)}) VALUES ({placeholders(conn, len(columns))})',
                chunk)
        if progress:
            progress(len(chunk))


async def _chunks(rows: list[tuple] | Chunks) -> AsyncIterator[list[tuple]]:
    if isinstance(rows, Chunks):
        for start, stop in rows.bounds:
            yield await asyncio.to_thread(rows.make, start, stop)
    else:
        for start in range(0, len(rows), CHUNK):
            yield rows[start:start + CHUNK]


async def allocate_ids(conn: BaseDBAsyncClient, table: str, count: int) -> Sequence[int]:
    """Ids for `count` new rows, so that nothing has to be read back after a bulk insert.
    PostgreSQL hands them out from the table's sequence. On SQLite they follow the highest id
    used; should another writer take one meanwhile, the insert fails on the primary key and the
    whole import rolls back."""
    if is_postgres(conn):
        rows = await conn.execute_query_dict(
            f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id')) AS id "
            "FROM generate_series(1, $1)", [count])
        return [r["id"] for r in rows]
    top = await conn.execute_query_dict(
        f'SELECT MAX(COALESCE((SELECT MAX(id) FROM "{table}"), 0), '
        f"COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0)) AS top")
    first = top[0]["top"] + 1
    return range(first, first + count)  # a range costs nothing however many rows
