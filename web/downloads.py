"""Papers for download: a service's writer fills a file in a temporary folder, the bytes go out
as an attachment with a Chinese file name, and the folder is gone before the response leaves."""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

# Not in a file name: path separators, a quote, control characters (a line break would end the header).
_NOT_IN_NAME = re.compile(r'[/\\"\x00-\x1f\x7f]')
TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


async def attachment(write: Callable[[Path], Path], name: str, fmt: str) -> web.Response:
    """`write(path)` writes the paper (in a worker thread: a long PDF must not stall the other
    requests) and returns where it wrote it; the download is called `name.fmt`."""
    with tempfile.TemporaryDirectory(prefix="resettle-paper-") as folder:
        path = await asyncio.to_thread(write, Path(folder) / f"paper.{fmt}")
        body = path.read_bytes()
    content_type, _, charset = TYPES[fmt].partition("; charset=")
    return web.Response(body=body, content_type=content_type, charset=charset or None,
                        headers={"Content-Disposition": disposition(f"{name}.{fmt}")})


def disposition(filename: str) -> str:
    """The attachment header for a file name made of user text (a community's name): separators
    and control characters become "_", and everything outside RFC 8187's attr-chars is
    percent-encoded (quote's default keeps "/")."""
    return f"attachment; filename*=UTF-8''{quote(_NOT_IN_NAME.sub('_', filename), safe='')}"
