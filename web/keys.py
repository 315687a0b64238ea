"""Typed application keys, in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from resettle.policy import Policy

DB_URL = web.AppKey("db_url", str)
UPLOADS = web.AppKey("uploads", Path)
POLICY = web.AppKey("policy", Policy)  # loaded once when the application is made
CLOCK = web.AppKey("clock", Callable[[], dt.datetime])  # the system clock; a test may pin it
