"""Server-rendered pages every role shares: health, login and logout, home and the audit log. Each
area has its own (`web/<area>_pages.py`): parse the form, call a service, render. Usable without
JavaScript."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from resettle.history import AREAS, OBJECTS, action_label, history_rows
from resettle.rules import scope as rule
from resettle.rules.permissions import ROLES, allowed
from services import accounts, health, home_views
from services.audit import SHANGHAI, audit_log, names_for
from web import keys, limits
from web.fields import day, field, page_of
from web.security import ACTOR, csrf_token, database_down, is_api, log_in, log_out, work

routes = web.RouteTableDef()


async def template_context(request: web.Request) -> dict:
    if is_api(request):  # JSON only: no page context, and no session (nor cookie) for a token client
        return {}
    who = request.get(ACTOR)
    return {"actor": who, "role_label": ROLES.get(who.role, "") if who else "",
            "csrf": await csrf_token(request),
            "can": (lambda action: allowed(who.role, action)) if who else (lambda action: False),
            "whole_district": bool(who) and rule.whole_district(who),
            "own_township": rule.own_township(who) if who else None}


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)
    # a stored UTC moment as people read it
    aiohttp_jinja2.get_env(app).filters["local_time"] = lambda at: at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up (for a supervisor's liveness check)."""
    return web.Response(text="ok")


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready to serve (for the proxy's health check): the database answers and its schema is
    current; otherwise 503, and the proxy sends users to the other processes."""
    try:
        state = await health.readiness()
    except Exception as exc:
        if not database_down(exc):
            raise
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    ready = state["migrations"] == "current"
    return web.json_response({"status": "ready" if ready else "unavailable", **state}, status=200 if ready else 503)


@routes.get("/login")
@aiohttp_jinja2.template("login.html")
async def login_form(request: web.Request) -> dict:
    return {"expired": "expired" in request.query}


@routes.post("/login")
@limits.body_limit(limits.LOGIN_LIMIT)
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name = field(form, "login")  # the password is taken as typed: argon2 alone reads it
    try:  # request.remote is the browser's address when a trusted proxy says so (edge_middleware)
        who = await accounts.login(name, str(form.get("password", "")), request.remote or "",
                                   request.app[keys.CLOCK]())
    except accounts.LoginRefused as exc:
        return aiohttp_jinja2.render_template("login.html", request, {"error": exc.message, "login": name},
                                              status=401)
    await log_in(request, who)
    raise web.HTTPSeeOther("/")


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await log_out(request)  # ends the session on the server too: a copied cookie stops working
    raise web.HTTPSeeOther("/login")


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """Each role's work first (services/home_views.py), one template per kind of home."""
    h = await home_views.home(work(request))
    return aiohttp_jinja2.render_template(f"home_{HOMES[h.role]}.html", request, {"h": h})


HOMES = {"township": "township", "desk": "desk", "department": "review", "finance": "review",
         "office": "district", "admin": "district"}


@routes.get("/audit")
@aiohttp_jinja2.template("audit.html")
async def audit_page(request: web.Request) -> dict:
    q = request.query
    filters = {k: field(q, k) for k in ("actor", "object_type", "object_id", "action", "since", "until")}
    w = work(request)
    log = await audit_log(w, who=filters["actor"], object_type=filters["object_type"],
                          object_id=filters["object_id"], action=filters["action"],
                          since=day(filters["since"], "起始日期"), until=day(filters["until"], "截止日期"),
                          page=page_of(request.query))
    # said in words (resettle/history.py); the raw events stay in the database
    rows = history_rows(log["items"], policy=w.policy, names=await names_for(log["items"]))
    return {"log": log, "rows": rows, "filters": filters, "objects": OBJECTS, "areas": AREAS,
            "action_shown": action_label(filters["action"]),
            "query": urlencode({k: v for k, v in filters.items() if v})}
