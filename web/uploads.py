"""Uploaded sheets between preview and confirmation: kept on disk (shared by every server
process of a site) in a folder per upload, readable only by the account that uploaded it."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

from aiohttp import BodyPartReader, web

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound

SUFFIXES = (".xlsx", ".csv")
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_UNSAFE = re.compile(r"[^\w.\-（）()\u4e00-\u9fff]+")


def _target(folder: Path, actor: Actor, filename: str | None) -> tuple[str, Path]:
    name = _UNSAFE.sub("_", Path(filename or "").name).lstrip(".")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise DomainError("请选择要上传的签约交房表：只支持 .xlsx 和 .csv 文件")
    upload = secrets.token_urlsafe(18)
    home = folder / upload
    home.mkdir()
    (home / "meta.json").write_text(json.dumps({"owner": actor.login, "filename": name}, ensure_ascii=False))
    return upload, home / name


async def save(folder: Path, actor: Actor, field) -> str:
    """Store an uploaded form field; returns the upload's id."""
    if not isinstance(field, web.FileField):
        raise DomainError("请选择要上传的签约交房表（.xlsx 或 .csv）")
    upload, path = _target(folder, actor, field.filename)
    with path.open("wb") as handle:
        shutil.copyfileobj(field.file, handle)
    return upload


async def save_part(folder: Path, actor: Actor, part: BodyPartReader) -> str:
    """Store a multipart part streamed from an API request; returns the upload's id."""
    upload, path = _target(folder, actor, part.filename)
    with path.open("wb") as handle:
        while chunk := await part.read_chunk():
            handle.write(chunk)
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
