"""Typed application keys, in one place."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

DB_URL = web.AppKey("db_url", str)
UPLOADS = web.AppKey("uploads", Path)
