"""Pages of the ledger: a township's inbox with bulk actions, a person's matters, the office's
overview, and the 对接清单 download."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from resettle.errors import DomainError
from resettle.history import history_rows
from resettle.rules import scope as rule
from resettle.rules.ledger import HANDOFF_STEPS
from resettle.rules.permissions import require
from services import audit, ledger, ledger_views
from web import downloads
from web.fields import ID, field, flag, number, page_of, path_id
from web.security import work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


@routes.get("/ledger/inbox")
async def inbox(request: web.Request, results: list[dict] | None = None, status: int = 200) -> web.Response:
    """Incoming to accept, outgoing awaiting the other side; overdue first."""
    q = request.query
    direction = field(q, "direction")
    if direction not in ("incoming", "outgoing", "both"):
        direction = "incoming"
    page = page_of(request.query)
    found = await ledger_views.list_handoffs(work(request), township=field(q, "township") or None, direction=direction,
                                       overdue=flag(q, "overdue"), open_only=not flag(q, "all"),
                                       offset=(page - 1) * ledger.PAGE)
    # the bulk form offers what the listed hand-offs allow this actor now, in the table's order
    offered = {step: label for step, label in HANDOFF_STEPS.items() if any(step in h["steps"] for h in found["items"])}
    return aiohttp_jinja2.render_template("inbox.html", request, {
        "found": found, "direction": direction, "q": q, "page": page, "results": results or [],
        "pages": max(1, -(-found["total"] // ledger.PAGE)), "actions": offered}, status=status)


@routes.post("/ledger/handoffs/act")
async def act(request: web.Request) -> web.Response:
    """Bulk action on the ticked hand-offs; each result is shown on the inbox."""
    form = await request.post()
    action = field(form, "action")
    if action not in HANDOFF_STEPS:
        raise DomainError("请选择要执行的操作")
    ids = [number(v, "对接单编号") for v in form.getall("id", []) if isinstance(v, str) and v]
    if not ids:
        raise DomainError("请至少勾选一张对接单")
    results = await ledger.act(work(request), ids, action, reason=field(form, "reason"))
    return await inbox(request, results=results)


@routes.post(f"/ledger/handoffs/{ID}/resend")
async def resend(request: web.Request) -> web.Response:
    form = await request.post()
    await ledger.resend(work(request), path_id(request), field(form, "note"))
    raise web.HTTPSeeOther("/ledger/inbox?direction=outgoing")


@routes.get("/ledger/persons/{key}")
@aiohttp_jinja2.template("person.html")
async def person(request: web.Request) -> dict:
    w = work(request)
    p = await ledger.person_ledger(w, field(request.match_info, "key"))
    # each line's history said as every history is (resettle/history.py)
    events = [{**e, "object_type": "entitlement", "object_id": str(line["id"])}
              for line in p["lines"] for e in line["history"]]
    names = await audit.names_for(events)
    said = {line["id"]: history_rows([e for e in events if e["object_id"] == str(line["id"])],
                                     policy=w.policy, names=names) for line in p["lines"]}
    return {"p": p, "said": said}


@routes.get("/ledger/dashboard")
@aiohttp_jinja2.template("ledger_dashboard.html")
async def dashboard(request: web.Request) -> dict:
    return {"d": await ledger_views.dashboard(work(request))}


@routes.get("/ledger/report")
async def report(request: web.Request) -> web.StreamResponse:
    """The 对接清单 of a township (a liaison's own; any for the office) as PDF or xlsx."""
    w, q = work(request), request.query
    who = w.actor
    require(who.role, "ledger.view")
    township = field(q, "township") or (rule.own_township(who) or "")
    fmt = "xlsx" if field(q, "format") == "xlsx" else "pdf"
    data = await ledger_views.pair_report(w, township, field(q, "with") or None)
    return await downloads.attachment(lambda path: ledger_views.write_pair_report(data, path), "对接清单", fmt)
