"""Uploaded sheets between preview and confirmation: kept on disk (shared by every server
process of a site) in a folder per upload, readable only by the account that uploaded it.

The folder is RESETTLE_UPLOADS (default ./resettle-uploads, beside ./resettle.secret); it and
everything in it are private to the service user (0700 folders, 0600 files, whatever the umask).
An upload is deleted when it is refused (a wrong type, a sheet that cannot be read, a check
that crashed), when its import has written, and otherwise once ABANDONED old (swept at start-up
and every SWEEP_EVERY seconds); the error report of an import stays until then."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from aiohttp import BodyPartReader, web

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound
from web import keys, limits

log = logging.getLogger("resettle.web")
SUFFIXES = (".xlsx", ".csv")
ABANDONED = 24 * 3600  # seconds after its upload (or its last confirmation) an upload is swept
SWEEP_EVERY = 3600
NAME_BYTES = 255  # what a file system holds in one name
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # no name holds a line break or a tab either
_UNSAFE = re.compile(r"[^\w.\-（）()\u4e00-\u9fff]+")


def configured() -> Path:
    return Path(os.environ.get("RESETTLE_UPLOADS") or "resettle-uploads")


def prepare(folder: Path) -> Path:
    """The uploads folder, made if missing and private to this user (chmod: mkdir's mode is
    cut by the umask)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _private_file(path: Path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def private(path: Path) -> None:
    """A file written into an upload's folder by someone else (the error report) made 0600."""
    with contextlib.suppress(FileNotFoundError):
        path.chmod(0o600)


def _target(folder: Path, actor: Actor, filename: str | None) -> tuple[str, Path]:
    filename = filename or ""
    if _NAME_CONTROL.search(filename):
        raise DomainError("文件名中含有控制字符，请改名后重新上传")
    if len(filename.encode("utf-8", "surrogatepass")) > NAME_BYTES:
        raise DomainError(f"文件名太长（超过 {NAME_BYTES} 字节），请改短后重新上传")
    name = _UNSAFE.sub("_", Path(filename).name).lstrip(".")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise DomainError("请选择要上传的签约交房表：只支持 .xlsx 和 .csv 文件")
    upload = secrets.token_urlsafe(18)
    home = folder / upload
    home.mkdir()
    home.chmod(0o700)
    with _private_file(home / "meta.json") as handle:
        handle.write(json.dumps({"owner": actor.login, "filename": name}, ensure_ascii=False).encode())
    return upload, home / name


async def save(folder: Path, actor: Actor, field) -> str:
    """Store an uploaded form field (already bounded by the route's body limit); returns the
    upload's id."""
    if not isinstance(field, web.FileField):
        raise DomainError("请选择要上传的签约交房表（.xlsx 或 .csv）")
    upload, path = _target(folder, actor, field.filename)
    with _private_file(path) as handle:
        shutil.copyfileobj(field.file, handle)
    return upload


async def save_part(request: web.Request, actor: Actor, part: BodyPartReader) -> str:
    """Store a multipart part streamed from an API request; returns the upload's id. A part
    over the route's body limit is refused (413) and nothing of it is left on disk (aiohttp's
    limit does not apply to a streamed part)."""
    folder, limit = request.app[keys.UPLOADS], request.client_max_size
    upload, path = _target(folder, actor, part.filename)
    written = 0
    try:
        with _private_file(path) as handle:
            while chunk := await part.read_chunk():
                written += len(chunk)
                if written > limit:
                    raise limits.too_large(request)
                handle.write(chunk)
    except BaseException:
        discard(folder, upload)
        raise
    return upload


def find(folder: Path, actor: Actor, upload: str) -> Path:
    """The stored sheet of one of this actor's uploads (another's is not found)."""
    meta_path = folder / upload / "meta.json"
    if not _ID.match(upload) or not meta_path.exists():
        raise NotFound("找不到该上传文件，请重新上传")
    meta = json.loads(meta_path.read_text())
    if meta["owner"] != actor.login:
        raise NotFound("找不到该上传文件，请重新上传")
    return folder / upload / meta["filename"]


def report_path(sheet: Path) -> Path:
    return sheet.with_name(f"{sheet.stem}.errors.xlsx")


def discard(folder: Path, upload: str) -> None:
    if _ID.match(upload):
        shutil.rmtree(folder / upload, ignore_errors=True)


def imported(sheet: Path) -> None:
    """An import has written (or failed for good): the sheet is done with. Its error report, if
    any, stays for the result page's download until swept; without one the upload goes whole."""
    sheet.unlink(missing_ok=True)
    if not report_path(sheet).exists():
        shutil.rmtree(sheet.parent, ignore_errors=True)


def touch(folder: Path, upload: str) -> None:
    """An upload in use again (confirmed): its age counts from now."""
    with contextlib.suppress(FileNotFoundError):
        (folder / upload / "meta.json").touch()


def sweep(folder: Path, now: float | None = None) -> int:
    """Delete the uploads older than ABANDONED; returns how many."""
    now = time.time() if now is None else now
    swept = 0
    for home in folder.iterdir():
        if not (home.is_dir() and _ID.match(home.name)):
            continue
        meta = home / "meta.json"
        try:
            at = (meta if meta.exists() else home).stat().st_mtime
        except FileNotFoundError:  # another process swept it first
            continue
        if now - at > ABANDONED:
            shutil.rmtree(home, ignore_errors=True)
            swept += 1
    return swept


async def sweeping(app: web.Application):
    """Sweep abandoned uploads at start-up and every SWEEP_EVERY seconds while serving."""
    async def loop() -> None:
        while True:
            try:
                swept = await asyncio.to_thread(sweep, app[keys.UPLOADS])
                if swept:
                    log.info("swept %d abandoned uploads", swept)
            except OSError:
                log.exception("sweeping abandoned uploads failed")
            await asyncio.sleep(SWEEP_EVERY)
    task = asyncio.get_running_loop().create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
