"""Pages of the ledger: a township's inbox with bulk actions, a person's matters, the office's
overview, and the 对接清单 download."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from resettle.errors import DomainError
from resettle.history import history_rows
from resettle.rules import scope as rule
from resettle.rules.ledger import HANDOFF_LABELS, HANDOFF_STEPS, KIND_LABELS, HandoffKind, HandoffStatus
from resettle.rules.permissions import allowed, require
from services import audit, ledger, ledger_views, notify
from web import downloads, keys
from web.fields import ID, field, flag, number, page_of, path_id
from web.security import actor, work

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


INBOX_PAGE = 50  # a morning's screenful; the bulk bar acts on one page at a time
FILTERS = ("direction", "kind", "status", "overdue", "township", "q", "page")
STATUSES = {"": "未办结", **{s.value: HANDOFF_LABELS[s] for s in HandoffStatus}, "all": "全部"}
FLASH = "handoff_results"
FLASH_GROUPS, FLASH_TEXT = 4, 60  # the session is a cookie: what a flash holds stays small


def _filters(request: web.Request) -> dict[str, str]:
    """The inbox's filters as asked (the query string of the inbox, or of a POST from it), checked
    so that a redirect back carries only these and nothing else."""
    q = request.query
    kept = {name: field(q, name) for name in FILTERS if field(q, name)}
    if kept.get("direction") not in (None, "incoming", "outgoing", "both"):
        raise DomainError("方向只能是收到的（incoming）或发出的（outgoing）")
    if kept.get("kind") not in (None, *HandoffKind):
        raise DomainError("类型只能是转移（transfer）或告知（notice）")
    if kept.get("status") not in (None, *STATUSES):
        raise DomainError("请从列表中选择状态")
    if flag(q, "all") and "status" not in kept:  # the older ?all=1: open and closed alike
        kept["status"] = "all"
    if flag(q, "overdue"):
        kept["overdue"] = "1"
    else:
        kept.pop("overdue", None)
    if len(kept.get("q", "")) > ledger_views.SEARCH_MAX:
        raise DomainError(f"协议编号或姓名最多 {ledger_views.SEARCH_MAX} 个字")
    if "township" in kept and request.app[keys.POLICY].match_township(kept["township"]) is None:
        raise DomainError("请从列表中选择乡镇")
    if "page" in kept:
        kept["page"] = str(page_of(q))
    return kept


def inbox_url(filters: dict[str, str], **changes: object) -> str:
    """The inbox with these filters (a page change or none), for links, the pager and redirects."""
    kept = {k: str(v) for k, v in {**filters, **changes}.items() if v not in (None, "")}
    if kept.get("page") == "1":
        del kept["page"]
    return "/ledger/inbox" + (f"?{urlencode(kept)}" if kept else "")


async def _flash(request: web.Request, results: list[dict]) -> None:
    """The results of an action for the page the redirect shows, grouped by what happened so
    that a batch of 50 stays a few hundred bytes of cookie."""
    groups: dict[tuple[bool, str], list[int]] = {}
    for r in results:
        groups.setdefault((r["ok"], r["message"][:FLASH_TEXT]), []).append(r["id"])
    kept = sorted(groups.items(), key=lambda g: g[0][0])[:FLASH_GROUPS]  # failures first
    left = sum(len(ids) for _, ids in sorted(groups.items(), key=lambda g: g[0][0])[FLASH_GROUPS:])
    (await get_session(request))[FLASH] = {"groups": [[ok, text, ids] for (ok, text), ids in kept], "more": left}


async def _flashed(request: web.Request) -> dict | None:
    """The results flashed by the last action, shown once."""
    value = (await get_session(request)).pop(FLASH, None)
    return value if isinstance(value, dict) else None


def _counterparts(request: web.Request) -> list[dict]:
    """The townships the picker offers: every one, but a liaison's own."""
    own = rule.own_township(actor(request))
    return [{"code": t.code, "name": t.name} for t in request.app[keys.POLICY].townships if t.code != own]


@routes.get("/ledger/inbox")
@aiohttp_jinja2.template("inbox.html")
async def inbox(request: web.Request) -> dict:
    """Incoming to accept, outgoing awaiting the other side; overdue first. A liaison's `township`
    is the other side; the office's is the township whose inbox it reads."""
    w, filters = work(request), _filters(request)
    page = page_of(request.query)
    fixed = rule.own_township(w.actor) is not None or bool(filters.get("township"))
    direction = filters.get("direction") or ("incoming" if fixed else "both")
    status = filters.get("status", "")
    liaison = rule.own_township(w.actor) is not None
    found = await ledger_views.list_handoffs(
        w, township=None if liaison else filters.get("township"), direction=direction,
        counterpart=filters.get("township") if liaison else None, kind=filters.get("kind"),
        status=status if status in set(HandoffStatus) else None, open_only=status != "all",
        overdue="overdue" in filters, search=filters.get("q"), limit=INBOX_PAGE, offset=(page - 1) * INBOX_PAGE)
    # the bulk bar offers what the listed hand-offs allow this actor now, in the table's order
    offered = {step: label for step, label in HANDOFF_STEPS.items() if any(step in h["steps"] for h in found["items"])}
    township = filters.get("township")
    report = None
    if allowed(w.actor.role, "ledger.handoff"):
        # the 对接清单 is one township's: the whole district downloads the one it picked
        if liaison:
            report = "/ledger/report" + (f"?{urlencode({'with': township})}" if township else "")
        elif township:
            report = f"/ledger/report?{urlencode({'township': township})}"
    return {"found": found, "filters": filters, "direction": direction, "fixed": fixed, "page": page,
            "pages": max(1, -(-found["total"] // INBOX_PAGE)), "actions": offered, "statuses": STATUSES,
            "kinds": {k.value: KIND_LABELS[k] for k in HandoffKind}, "townships": _counterparts(request),
            "liaison": liaison, "report": report, "flash": await _flashed(request),
            "here": urlencode(filters), "url": lambda **changes: inbox_url(filters, **changes),
            "detail": allowed(w.actor.role, "ledger.handoff"), "labels": HANDOFF_STEPS,
            "flags": await notify.flags("handoff", [h["id"] for h in found["items"]])}


def _back(request: web.Request, handoff_id: int | None = None) -> web.HTTPSeeOther:
    """Where an action returns: the hand-off's page it was taken on, else the inbox with its
    filters and page (so a reload shows the result and repeats nothing)."""
    if handoff_id is not None and field(request.query, "back") == "handoff":
        return web.HTTPSeeOther(f"/ledger/handoffs/{handoff_id}")
    return web.HTTPSeeOther(inbox_url(_filters(request)))


@routes.post("/ledger/handoffs/act")
async def act(request: web.Request) -> web.Response:
    """Bulk action on the ticked hand-offs; each result is shown on the inbox after the redirect."""
    form = await request.post()
    back = _back(request)
    action = field(form, "action")
    if action not in HANDOFF_STEPS:
        raise DomainError("请选择要执行的操作")
    values = [v for v in form.getall("id", []) if isinstance(v, str) and v]
    if len(values) > INBOX_PAGE:
        raise DomainError(f"一次最多处理 {INBOX_PAGE} 张对接单")
    ids = list(dict.fromkeys(number(v, "对接单编号") for v in values))
    if not ids:  # said on the inbox, whose ticks and filters are still there
        (await get_session(request))[FLASH] = {"groups": [], "more": 0, "note": "请先勾选要处理的对接单，再点“执行”"}
        raise back
    await _flash(request, await ledger.act(work(request), ids, action, reason=_reason(form)))
    raise back


def _reason(form) -> str:
    reason = field(form, "reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"原因最多 {REASON_MAX} 个字")
    return reason


REASON_MAX = 200  # the column's length


async def act_one(request: web.Request) -> web.Response:
    """One row's step (a rejection with its reason, asked on the row). A refusal of the step
    (already accepted, no reason) is shown as the result, not as an error page."""
    form = await request.post()
    handoff_id, back = path_id(request), _back(request, path_id(request))
    step = request.path.rsplit("/", 1)[1]
    await _flash(request, await ledger.act(work(request), [handoff_id], step, reason=_reason(form)))
    raise back


for _step in HANDOFF_STEPS:  # a route per step: the path names only steps that exist
    routes.post(f"/ledger/handoffs/{ID}/{_step}")(act_one)


@routes.post(f"/ledger/handoffs/{ID}/resend")
async def resend(request: web.Request) -> web.Response:
    form = await request.post()
    note = field(form, "note")
    if len(note) > REASON_MAX:
        raise DomainError(f"说明最多 {REASON_MAX} 个字")
    new = await ledger.resend(work(request), path_id(request), note)
    await _flash(request, [{"id": new["id"], "ok": True, "message": "已重新发出"}])
    raise web.HTTPSeeOther(f"/ledger/handoffs/{new['id']}")


@routes.get(f"/ledger/handoffs/{ID}")
@aiohttp_jinja2.template("handoff.html")
async def handoff(request: web.Request) -> dict:
    w, handoff_id = work(request), path_id(request)
    return {"h": await ledger_views.handoff_detail(w, handoff_id), "flash": await _flashed(request),
            "labels": HANDOFF_STEPS, "escalation": await notify.item_escalation(w, "handoff", handoff_id)}


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
    return {"d": await ledger_views.dashboard(work(request), field(request.query, "month") or None)}


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
