"""Papers for download: a service's writer fills a file in a temporary folder, the bytes go out
as an attachment with a Chinese file name, and the folder is gone before the response leaves."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

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
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'{name}.{fmt}')}"})
