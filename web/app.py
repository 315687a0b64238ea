"""`init_app()`: the aiohttp application factory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware
from tortoise.context import set_global_context

from resettle.actor import Actor
from resettle.db import connect, resolve_url
from resettle.policy import load_policy
from services import schedule
from services.work import begin, system_clock
from web import (
    api,
    desk_api,
    desk_pages,
    funding_api,
    funding_pages,
    jobs,
    keys,
    ledger_api,
    ledger_pages,
    limits,
    logs,
    notify_api,
    notify_pages,
    pages,
    registry_api,
    registry_pages,
    security,
    tags_api,
    tags_pages,
)
from web import uploads as web_uploads

HERE = Path(__file__).parent
FAVICON = HERE / "static" / "favicon.svg"


async def _database(app: web.Application):
    """The database for the whole process. Handlers run in other tasks than start-up, so the
    ORM context is the process-wide fallback rather than a context variable."""
    ctx = await connect(app[keys.DB_URL])
    set_global_context(ctx)
    try:
        yield
    finally:
        await ctx.close_connections()  # also clears the fallback


SCHEDULE = Actor("system:schedule", role="admin", name="定时任务")


async def _schedule(app: web.Application):
    """The daily runs (services.schedule) in this process: `serve` on SQLite, one process."""
    async with jobs.running(lambda stop: schedule.run(lambda: begin(SCHEDULE, app[keys.POLICY], app[keys.CLOCK]),
                                                      stop)):
        yield


async def _favicon(request: web.Request) -> web.FileResponse:
    """Browsers ask for /favicon.ico whatever the page links: the house glyph the pages link."""
    return web.FileResponse(FAVICON)


def init_app(db_url: str | None = None, *, secret: bytes | None = None,
             uploads: Path | None = None, trusted_proxies: str | None = None,
             clock: Callable[[], dt.datetime] = system_clock, send: bool = False) -> web.Application:
    """`trusted_proxies`: as RESETTLE_TRUSTED_PROXIES (read here, once, when not given);
    `clock`: what every request's unit of work tells the time by (tests pin the day);
    `send`: the process also drains the message outbox and runs the daily schedule (`serve` on
    SQLite, one process; elsewhere `notify run` and cron do)."""
    # Who is asking is settled before any body is read: auth runs before the length check and
    # before CSRF parses a form, so an anonymous body is never read beyond the login form's.
    app = web.Application(
        client_max_size=limits.FORM_LIMIT,
        middlewares=[security.edge_middleware, logs.request_id_middleware,
                     session_middleware(security.session_storage(secret or security.secret_key())),
                     security.headers_middleware, security.errors_middleware,
                     security.auth_middleware, limits.length_middleware, security.csrf_middleware,
                     api.query_middleware])
    app[keys.DB_URL] = resolve_url(db_url)
    app[keys.POLICY] = load_policy()
    app[keys.CLOCK] = clock
    app[security.TRUSTED_PROXIES] = security.trusted_proxies(trusted_proxies)
    app[keys.UPLOADS] = web_uploads.prepare(uploads or web_uploads.configured())
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         context_processors=[pages.template_context, notify_pages.bell_context])
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(web_uploads.sweeping)
    if send:
        app[notify_pages.SENDER_KEY] = secret or security.secret_key()
        app.cleanup_ctx.append(notify_pages.in_process_sender)
        app.cleanup_ctx.append(_schedule)
    jobs.setup(app)
    pages.setup_routes(app)
    registry_pages.setup_routes(app)
    tags_pages.setup_routes(app)
    ledger_pages.setup_routes(app)
    desk_pages.setup_routes(app)
    funding_pages.setup_routes(app)
    notify_pages.setup_routes(app)
    api.setup_routes(app)
    registry_api.setup_routes(app)
    ledger_api.setup_routes(app)
    desk_api.setup_routes(app)
    funding_api.setup_routes(app)
    tags_api.setup_routes(app)
    notify_api.setup_routes(app)
    app.router.add_static("/static/", HERE / "static", name="static")
    app.router.add_get("/favicon.ico", _favicon)
    return app
