"""Moving and keeping the database: copy a whole database to PostgreSQL (schema through the
migrations, then every table, audit included, verified by row counts and a checksum per table),
and back up / restore SQLite (online backup API) or PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from resettle.db import connect, is_postgres, resolve_url
from resettle.errors import DomainError
from resettle.rules.permissions import require
from services import audit
from services.bulk import CHUNK, insert
from services.work import Work

Progress = Callable[[str, int, int], None]
SKIP = {"tortoise_migrations"}  # the target's own migrations write it


def _ordered(models: list) -> list[tuple[str, str]]:
    by_table = {m._meta.db_table: m for m in models}
    done: list[str] = []

    def visit(table: str, path: tuple = ()) -> None:
        if table in done or table in path:
            return
        model = by_table[table]
        for field in model._meta.fk_fields | model._meta.o2o_fields:
            parent = model._meta.fields_map[field].related_model._meta.db_table
            if parent != table:
                visit(parent, (*path, table))
        done.append(table)
    for table in sorted(by_table):
        visit(table)
    return [(t, by_table[t]._meta.db_pk_column) for t in done if t not in SKIP]


async def _column_types(conn: BaseDBAsyncClient, table: str) -> dict[str, str]:
    rows = await conn.execute_query_dict("SELECT column_name, data_type FROM information_schema.columns "
                                         "WHERE table_schema = current_schema() AND table_name = $1", [table])
    return {r["column_name"]: r["data_type"] for r in rows}


def _to_pg(value: object, kind: str) -> object:
    """A value as SQLite stores it, as PostgreSQL's column of `kind` takes it."""
    if value is None:
        return None
    if kind == "date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if kind.startswith("timestamp"):
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    if kind == "boolean":
        return bool(value)
    if kind in ("json", "jsonb") and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return value


def _canonical(value: object, kind: str) -> str:
    """One text for a value whichever engine returned it, for the per-table checksum."""
    value = _to_pg(value, kind)
    if value is None:
        return "\x00"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if kind in ("json", "jsonb"):
        return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


async def _pages(conn: BaseDBAsyncClient, table: str, pk: str, columns: list[str]):
    """Every row of a table in primary-key order, a page at a time (keyset pagination)."""
    mark = "$1" if is_postgres(conn) else "?"
    names = ", ".join(f'"{c}"' for c in columns)
    last = None
    while True:
        where = f' WHERE "{pk}" > {mark}' if last is not None else ""
        rows = await conn.execute_query(f'SELECT {names} FROM "{table}"{where} ORDER BY "{pk}" LIMIT {CHUNK}',
                                        [last] if last is not None else [])
        rows = rows[1]
        if not rows:
            return
        yield [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]
        last = rows[-1][pk]


async def _checksum(conn: BaseDBAsyncClient, table: str, pk: str, types: dict[str, str]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    columns = list(types)
    async for page in _pages(conn, table, pk, columns):
        for row in page:
            digest.update("\x1f".join(_canonical(v, types[c]) for c, v in zip(columns, row, strict=True)).encode())
            digest.update(b"\x1e")
        count += len(page)
    return count, digest.hexdigest()


async def copy(work: Work, source: str | None, target: str, *, replace: bool = False,
               progress: Progress | None = None) -> dict:
    """Copy the whole source database into a PostgreSQL target: its schema through the
    migrations, every table in one transaction, sequences moved past the copied ids, then row
    counts and a checksum per table compared. A target with rows is refused unless `replace`."""
    require(work.actor.role, "users.manage")
    source, target = resolve_url(source), resolve_url(target)
    if not target.startswith("postgres://"):
        raise DomainError("--to 须是 PostgreSQL 地址：postgres://用户@主机:端口/库名")
    if source == target:
        raise DomainError("源库与目标库相同")
    src_ctx = await connect(source)
    try:
        dst_ctx = await connect(target)
        try:
            with dst_ctx:
                return await _copy(work, src_ctx, dst_ctx, source, target, replace, progress)
        finally:
            await dst_ctx.close_connections()
    finally:
        await src_ctx.close_connections()


async def _copy(work: Work, src_ctx, dst_ctx, source: str, target: str, replace: bool, progress) -> dict:
    src, dst = src_ctx.connections.get("default"), dst_ctx.connections.get("default")
    tables = _ordered(list(dst_ctx.apps.get_models_iterable()))
    busy = [t for t, _ in tables if (await dst.execute_query_dict(f'SELECT COUNT(*) AS n FROM "{t}"'))[0]["n"]]
    if busy and not replace:
        raise DomainError(f"目标库已有数据（{'、'.join(busy)}）：确认要清空它们时加 --replace")
    counts = {t: (await src.execute_query_dict(f'SELECT COUNT(*) AS n FROM "{t}"'))[0]["n"] for t, _ in tables}
    types = {t: await _column_types(dst, t) for t, _ in tables}
    async with in_transaction() as tx:
        if busy:
            await tx.execute_script("TRUNCATE " + ", ".join(f'"{t}"' for t, _ in tables) + " RESTART IDENTITY CASCADE")
        for table, pk in tables:
            columns = list(types[table])
            done = 0
            async for page in _pages(src, table, pk, columns):
                kinds = [types[table][c] for c in columns]
                rows = [tuple(_to_pg(v, k) for v, k in zip(row, kinds, strict=True)) for row in page]
                await insert(tx, table, columns, rows)
                done += len(rows)
                if progress:
                    progress(f"复制 {table}", done, counts[table])
            if pk == "id":
                await tx.execute_query(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                       f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table}"')
    report = []
    for n, (table, pk) in enumerate(tables, 1):
        if progress:
            progress("核对", n, len(tables))
        mine, theirs = await _checksum(src, table, pk, types[table]), await _checksum(dst, table, pk, types[table])
        report.append({"table": table, "rows": mine[0], "copied": theirs[0], "checksum": theirs[1][:16],
                       "match": mine == theirs})
    if not all(r["match"] for r in report):
        bad = "、".join(r["table"] for r in report if not r["match"])
        raise DomainError(f"复制后核对不一致：{bad}。目标库内容不可用，请检查后用 --replace 重新复制")
    # raw SQL, not the ORM: two ORM contexts are open in this process and share model classes
    await audit.record_many(work, "db.copy", [("database", target.rpartition("@")[2], {
        "source": [None, _safe(source)], "rows": [None, sum(r["rows"] for r in report)]})])
    return {"source": _safe(source), "target": _safe(target), "tables": report}


def _safe(url: str) -> str:
    """A URL without its password, for messages and the audit log."""
    scheme, sep, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    return f"{scheme}{sep}{credentials.split(':')[0]}{at}{place}" if at else url


# ---------------------------------------------------------------- backup and restore


def _sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite://"):])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DomainError(f"未找到 {name}：PostgreSQL 的备份与恢复需要 PostgreSQL 客户端工具"
                          "（Debian/Ubuntu：apt install postgresql-client），或由数据库管理员用 pg_dump 备份")
    return found


def _pg_dsn(url: str) -> str:
    return "postgresql://" + url[len("postgres://"):]


def backup(work: Work, url: str | None, path: str | Path) -> dict:
    """A consistent copy while the server keeps serving: SQLite's online backup API, or pg_dump's
    custom format (a snapshot of one transaction)."""
    require(work.actor.role, "users.manage")
    url, path = resolve_url(url), Path(path)
    if path.exists():
        raise DomainError(f"备份文件 {path} 已存在，请换一个文件名")
    if url.startswith("sqlite://"):
        db = _sqlite_path(url)
        if not db.exists():
            raise DomainError(f"找不到数据库文件 {db}")
        with sqlite3.connect(db) as source, sqlite3.connect(path) as copy_:
            source.backup(copy_)
    else:
        run = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={path}", _pg_dsn(url)],
                             capture_output=True, text=True)
        if run.returncode:
            path.unlink(missing_ok=True)
            raise DomainError(f"pg_dump 失败：{run.stderr.strip()[:300]}")
    return {"database": _safe(url), "file": str(path), "bytes": path.stat().st_size}


def restore(work: Work, url: str | None, path: str | Path) -> dict:
    """Put a backup back in place of the database (the caller has confirmed: this replaces it)."""
    require(work.actor.role, "users.manage")
    url, path = resolve_url(url), Path(path)
    if not path.exists():
        raise DomainError(f"找不到备份文件 {path}")
    if url.startswith("sqlite://"):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as backup_, \
                    sqlite3.connect(_sqlite_path(url)) as db:
                backup_.execute("SELECT COUNT(*) FROM tortoise_migrations")
                backup_.backup(db)
        except sqlite3.DatabaseError as exc:
            raise DomainError(f"{path} 不是 resettle 的 SQLite 备份：{exc}") from None
    else:
        run = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                              f"--dbname={_pg_dsn(url)}", str(path)], capture_output=True, text=True)
        if run.returncode:
            raise DomainError(f"pg_restore 失败（数据库未改变）：{run.stderr.strip()[:300]}")
    return {"database": _safe(url), "file": str(path)}
