"""Messages out on the workbench: the bell in the header (unread notices per user), the notices
page, and the office's page of what the outbox holds per group (the same as `notify status`)."""

from __future__ import annotations

import logging
import os

import aiohttp_jinja2
from aiohttp import web

from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.rules.notify import ESCALATE
from resettle.rules.permissions import Forbidden, allowed
from services import notify
from services.work import begin
from web import jobs, keys
from web.fields import day, field, number
from web.security import ACTOR, is_api, work

routes = web.RouteTableDef()
SENDER_KEY = web.AppKey("notify_sender", bytes)
SYSTEM = Actor("system:notify", role="admin", name="消息发送")
log = logging.getLogger("resettle.notify")


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


async def bell_context(request: web.Request) -> dict:
    """The header's bell: how many notices the signed-in user has not read."""
    who = request.get(ACTOR)
    if is_api(request) or who is None or who.user_id is None:
        return {}
    return {"bell": await notify.unread(work(request))}


@routes.get("/notices")
@aiohttp_jinja2.template("notify_notices.html")
async def notices_page(request: web.Request) -> dict:
    w = work(request)
    return {"notices": await notify.notices(w), "unread": await notify.unread(w)}


@routes.post("/notices/read")
async def notices_read(request: web.Request) -> web.Response:
    form = await request.post()
    ids = [number(v, "通知编号") for v in form.getall("id", [])[:200] if isinstance(v, str) and v]
    await notify.mark_read(work(request), ids or None)
    raise web.HTTPSeeOther("/notices")


@routes.get("/notify")
async def status_page(request: web.Request, *, error: str = "", typed: dict | None = None,
                      done: dict | None = None) -> web.Response:
    w = work(request)
    context = {"report": await notify.status(w), "may_manage": allowed(w.actor.role, "notify.manage"),
               "escalations": await notify.escalations(w), "kinds": ESCALATE, "error": error,
               "typed": typed or {}, "done": done}
    return aiohttp_jinja2.render_template("notify_status.html", request, context, status=400 if error else 200)


@routes.post("/notify/escalate")
async def escalate(request: web.Request) -> web.Response:
    """督办 from the office's page, or from the item's own page (`back`: return to it, where the
    flag now shows); a refusal is shown on the office's page with what was typed."""
    form = await request.post()
    typed = {name: field(form, name)[:300] for name in ("object_type", "object_id", "note", "new_due")}
    try:
        object_id = number(typed["object_id"], "编号")
        new_due = day(typed["new_due"], "新的办理期限")
        if object_id is None or new_due is None:
            raise DomainError("请填写编号和新的办理期限")
        w = work(request)
        done = await notify.escalate(w, typed["object_type"], object_id, typed["note"], new_due)
    except Forbidden:
        raise
    except DomainError as exc:
        return await status_page(request, error=exc.message, typed=typed)
    if field(form, "back") == "1":
        # the item's page, worked out here (never taken from the form): no open redirect
        problem = None
        if done["object_type"] == "action":
            problem = await notify.action_problem(w, done["object_id"])
        raise web.HTTPSeeOther(notify.item_href(done["object_type"], done["object_id"], problem))
    return await status_page(request, done=done)


@routes.post("/notify/retry")
async def retry(request: web.Request) -> web.Response:
    await notify.retry(work(request))
    raise web.HTTPSeeOther("/notify")


async def in_process_sender(app: web.Application):
    """`serve` on SQLite (one server process) drains the outbox itself; with several processes on
    PostgreSQL run `resettle notify run` beside them (running it in each would also be safe: the
    claim lets one sender post a message)."""
    sender = notify.Sender(app[SENDER_KEY], os.environ.get("RESETTLE_BASE_URL") or "http://127.0.0.1:8080")
    async with jobs.running(lambda stop: notify.run(lambda: begin(SYSTEM, app[keys.POLICY], app[keys.CLOCK]),
                                                    sender, stop=stop)):
        yield
