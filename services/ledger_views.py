"""The ledger's reads: the hand-off inbox (both directions, overdue first, the steps each row
offers), the district dashboard, and the 对接清单 between two townships. A person's ledger stays in
`services.ledger`, which its writes answer with."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path

from tortoise.expressions import Q, Subquery

from resettle.actor import Actor
from resettle.db import connection
from resettle.errors import DomainError, NotFound
from resettle.models import AuditEvent, Entitlement, Handoff, Household, Person, User
from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.desk import period
from resettle.rules.ledger import (
    HANDOFF,
    HANDOFF_LABELS,
    KIND_LABELS,
    OPEN,
    ROUTING_LABELS,
    HandoffKind,
    HandoffStatus,
    is_overdue,
)
from resettle.rules.permissions import allowed, require
from resettle.rules.workflow import allowed_steps
from services import audit, notify, scope
from services.ledger import PAGE, _matter_name, _township_name, notice_lines
from services.work import Work

SEARCH_MAX = 64  # a 协议编号 or a name; longer names nothing


def _township_code(policy: Policy, text: str) -> str:
    match = policy.match_township(text)
    if match is None:
        raise DomainError(f"“{text[:SEARCH_MAX]}”不是政策文件中的乡镇")
    return match.code


async def list_handoffs(work: Work, *, township: str | None = None, direction: str = "both",
                        overdue: bool = False, open_only: bool = True, household: str | None = None,
                        kind: str | None = None, status: str | None = None, counterpart: str | None = None,
                        search: str | None = None, limit: int = PAGE, offset: int = 0) -> dict:
    """Hand-offs to and/or from a township, overdue first, then by due date. A township liaison
    sees only its own; `township` names one for the office. `counterpart` keeps those exchanged
    with one other township, `status` one status (else `open_only` the open ones), `search` a
    协议编号 or a person's name in the household."""
    actor, policy, today = work.actor, work.policy, work.today
    require(actor.role, "ledger.view")
    query = Handoff.filter(scope.handoffs(actor))
    if (own := rule.own_township(actor)) is not None:
        township = own
    elif township:
        township = _township_code(policy, township)
    if direction not in ("incoming", "outgoing", "both"):
        raise DomainError("方向只能是 incoming（收到的）、outgoing（发出的）或 both")
    if township:
        if direction == "incoming":
            query = query.filter(to_township=township)
        elif direction == "outgoing":
            query = query.filter(from_township=township)
        else:
            query = query.filter(Q(to_township=township) | Q(from_township=township))
    if counterpart:
        other = _township_code(policy, counterpart)
        query = query.filter(Q(to_township=other) | Q(from_township=other))
    if kind:
        if kind not in set(HandoffKind):
            raise DomainError("类型只能是 transfer（转移）或 notice（告知）")
        query = query.filter(kind=kind)
    if status:
        try:
            query = query.filter(status=HandoffStatus(status).value)
        except ValueError:
            known = "、".join(f"{s.value}（{label}）" for s, label in HANDOFF_LABELS.items())
            raise DomainError(f"状态只能是：{known}") from None
    elif open_only:
        query = query.filter(status__in=list(OPEN))
    if search := (search or "").strip():
        if len(search) > SEARCH_MAX:
            raise DomainError(f"协议编号或姓名最多 {SEARCH_MAX} 个字")
        named = Person.filter(name__contains=search).values("household_id")
        query = query.filter(Q(household__agreement_no__icontains=search) | Q(household_id__in=Subquery(named)))
    if household:
        query = query.filter(household__agreement_no=household.strip())
    if overdue:
        query = query.filter(Q(status=HandoffStatus.SENT, accept_due__lt=today)
                             | Q(status=HandoffStatus.ACCEPTED, complete_due__lt=today))
    total = await query.count()
    # Plain rows, and the names for the page's rows only: an inbox page is read all day; model
    # objects (every timestamp parsed) cost most of it, and joining before the page is cut would
    # join every open hand-off of the township.
    rows = await query.order_by("accept_due", "id").offset(offset).limit(limit).values(*INBOX_FIELDS)
    numbers = dict(await Household.filter(id__in={h["household_id"] for h in rows}).values_list("id", "agreement_no"))
    lines = {line["id"]: line for line in await Entitlement.filter(
        id__in={h["entitlement_id"] for h in rows if h["entitlement_id"]}).values(
            "id", "matter_code", person="person__name")}
    for h in rows:
        line = lines.get(h["entitlement_id"], {})
        h.update(household_no=numbers[h["household_id"]], matter_code=line.get("matter_code"),
                 person=line.get("person"))
    kept = await notice_lines([h["household_id"] for h in rows if h["kind"] == HandoffKind.NOTICE], policy)
    items = [{**_describe(h, today, policy, kept.get(h["household_id"], [])), "steps": _steps(actor, h)}
             for h in rows]
    items.sort(key=lambda h: (not h["overdue"], h["due"]))
    return {"total": total, "items": items}


def _steps(actor: Actor, h: dict) -> list[str]:
    """What the actor may do to this hand-off now, by the table and its side: what an inbox offers."""
    side = rule.handoff_side(actor, h["from_township"], h["to_township"])
    if side is None or not allowed(actor.role, "ledger.handoff"):
        return []
    return list(allowed_steps(HANDOFF, h["status"], side))


INBOX_FIELDS = ("id", "kind", "status", "household_id", "entitlement_id", "from_township", "to_township", "sent_on",
                "accept_due", "complete_due", "reason", "version")


def _describe(h: dict, today: dt.date, policy: Policy, kept: list[dict]) -> dict:
    due = h["accept_due"] if h["status"] == HandoffStatus.SENT else h["complete_due"]
    if h["matter_code"] is not None:
        matter, person = policy.matter(h["matter_code"]).name, h["person"]
    else:
        matter = "、".join(sorted({d["matter"] for d in kept}))
        person = "、".join(dict.fromkeys(d["person"] for d in kept))
    return {"id": h["id"], "kind": h["kind"], "kind_label": KIND_LABELS[HandoffKind(h["kind"])], "status": h["status"],
            "status_label": HANDOFF_LABELS[HandoffStatus(h["status"])],
            "from_township": _township_name(policy, h["from_township"]),
            "to_township": _township_name(policy, h["to_township"]), "household": h["household_no"],
            "person": person, "matter": matter, "sent_on": h["sent_on"].isoformat(), "due": due.isoformat(),
            "due_estimated": policy.calendar.estimated(h["sent_on"], due),
            "overdue": is_overdue(h["status"], h["accept_due"], h["complete_due"], today), "reason": h["reason"],
            "version": h["version"]}


STEP_WORDS = {"ledger.accept": "接收", "ledger.reject": "退回", "ledger.complete": "办结", "ledger.revoke": "撤回",
              "ledger.resend": "重新发出"}
CHAIN_MAX = 50  # resends of resends: a chain longer than this is not walked further


def day_words(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def _named(actors: set[str], policy: Policy) -> dict[str, str]:
    """Each logged actor as a person reads it: the user's name and the township or department it
    acts for; a login no longer on file is not shown as its code."""
    logins = {a.partition(":")[2] for a in actors}
    users = {u["login"]: u for u in await User.filter(login__in=logins).values(
        "login", "name", "township_code", "department", "carriage", community_name="community__name")}
    named = await audit.who_acted(actors)
    out = {}
    for a in actors:
        user = users.get(a.partition(":")[2]) if a.partition(":")[0] in ("web", "api", "demo") else None
        if user is not None:
            where = (_township_name(policy, user["township_code"]) if user["township_code"] else
                     user["department"] or (f"{user['community_name']}{user['carriage']}"
                                            if user["community_name"] else ""))
            out[a] = f"{user['name']}（{where}）" if where else user["name"]
        elif named[a] != a:
            out[a] = named[a]
        else:
            out[a] = "系统"
    return out


async def handoff_detail(work: Work, handoff_id: int) -> dict:
    """One hand-off as its two townships and the office read it: what it covers (the line, or the
    lines a notice tells about, and their persons with masked IDs), the household, who sent it,
    every step with who and when, a rejection's reason, and the resend chain both ways."""
    actor, policy, today = work.actor, work.policy, work.today
    require(actor.role, "ledger.handoff")
    row = await Handoff.filter(scope.handoffs(actor), id=handoff_id).values(
        *INBOX_FIELDS, "accepted_on", "completed_on", "closed_on", "resend_of_id", "sent_by")
    if not row:
        raise NotFound(f"找不到对接单 {handoff_id}")
    h = row[0]
    household = await Household.get(id=h["household_id"]).prefetch_related("community")
    members = {p.id: p for p in await Person.filter(household_id=household.id).order_by("id")}
    if h["entitlement_id"]:
        line = await Entitlement.get(id=h["entitlement_id"])
        person = members[line.person_id]
        h.update(household_no=household.agreement_no, matter_code=line.matter_code, person=person.name)
        lines = [{"matter": _matter_name(policy, line.matter_code), "person": person.name,
                  "responsible_township": _township_name(policy, line.responsible_township),
                  "closed": line.closed_on is not None}]
        covered = [person]
        kept: list[dict] = []
    else:
        kept = (await notice_lines([household.id], policy)).get(household.id, [])
        h.update(household_no=household.agreement_no, matter_code=None, person=None)
        lines = [{"matter": k["matter"], "person": k["person"],
                  "responsible_township": _township_name(policy, h["from_township"]), "closed": False} for k in kept]
        names = {k["person"] for k in kept}
        covered = [p for p in members.values() if p.name in names]
    described = _describe(h, today, policy, kept)
    events = await AuditEvent.filter(object_type="handoff", object_id=str(h["id"]),
                                     action__in=list(STEP_WORDS)).order_by("id").values("at", "actor", "action")
    sender = h["sent_by"] or next((e["actor"] for e in events if e["action"] == "ledger.resend"), None)
    if sender is None:  # sent before the column: inferred from the log
        sender = await _sent_by(h["sent_on"], household)
    names = await _named({e["actor"] for e in events} | ({sender} if sender else set()), policy)
    steps = [{"step": "发出", "who": names[sender] if sender else described["from_township"],
              "when": day_words(h["sent_on"]), "note": ""}]
    for e in events:
        if e["action"] == "ledger.resend":
            continue  # the sending above
        at = e["at"].astimezone(audit.SHANGHAI)
        steps.append({"step": STEP_WORDS[e["action"]], "who": names[e["actor"]],
                      "when": f"{day_words(at.date())} {at:%H:%M}", "note": ""})
    if h["status"] in (HandoffStatus.REJECTED, HandoffStatus.REVOKED) and h["reason"]:
        steps[-1]["note"] = h["reason"]
    described.update(
        accept_due=day_words(h["accept_due"]), complete_due=day_words(h["complete_due"]),
        sent_words=day_words(h["sent_on"]), sender=names[sender] if sender else "随入住登记自动发出", lines=lines,
        persons=[{"name": p.name, "relation": p.relation, "id_number": idnumber.mask(p.id_number)} for p in covered],
        community=household.community.name, steps=steps, chain=await _chain(h["id"], h["resend_of_id"], policy),
        actions=_steps(actor, h),
        may_resend=(h["status"] == HandoffStatus.REJECTED and allowed(actor.role, "ledger.handoff")
                    and rule.handoff_side(actor, h["from_township"], h["to_township"]) in ("sender", "office")
                    and not await Handoff.filter(resend_of_id=h["id"]).exists()))
    return described


async def _sent_by(sent_on: dt.date, household: Household) -> str | None:
    """Who sent a first hand-off: the registry step of its household on the day it went out (a
    move-in sends them), else the one actor who sent hand-offs that day."""
    start = dt.datetime.combine(sent_on, dt.time(), audit.SHANGHAI)
    day = Q(at__gte=start, at__lt=start + dt.timedelta(days=1))
    step = await AuditEvent.filter(day, object_type="household", object_id=household.agreement_no,
                                   action__startswith="registry.").order_by("-id").limit(1).values("actor")
    if step:
        return step[0]["actor"]
    actors = set(await AuditEvent.filter(day, action="ledger.send").values_list("actor", flat=True))
    return actors.pop() if len(actors) == 1 else None


async def _chain(handoff_id: int, resend_of: int | None, policy: Policy) -> list[dict]:
    """The resend chain through this hand-off: the ones it resends (oldest first), itself, and
    the ones sent again after it."""
    ids, before = [handoff_id], resend_of
    while before is not None and len(ids) < CHAIN_MAX:
        ids.insert(0, before)
        before = (await Handoff.filter(id=before).values_list("resend_of_id", flat=True))[0]
    after = [handoff_id]
    while after and len(ids) < CHAIN_MAX:
        after = list(await Handoff.filter(resend_of_id__in=after).order_by("id").values_list("id", flat=True))
        ids.extend(after)
    if len(ids) == 1:
        return []
    rows = {r["id"]: r for r in await Handoff.filter(id__in=ids).values("id", "status", "sent_on", "reason")}
    return [{"id": i, "this": i == handoff_id, "status_label": HANDOFF_LABELS[HandoffStatus(rows[i]["status"])],
             "sent_on": day_words(rows[i]["sent_on"]), "reason": rows[i]["reason"]} for i in ids]


async def dashboard(work: Work, month: str | None = None) -> dict:
    """The office's view: per matter, open lines still at the origin vs transferred; per township,
    pending and overdue hand-offs and the median days from sending to completion; and 督办 opened
    and closed in `month` (this month by default) per township."""
    policy = work.policy
    require(work.actor.role, "ledger.dashboard")
    by_matter = await connection().execute_query_dict(
        "SELECT e.matter_code, "
        "SUM(CASE WHEN e.responsible_township = h.origin_township THEN 1 ELSE 0 END) AS at_origin, "
        "SUM(CASE WHEN e.responsible_township <> h.origin_township THEN 1 ELSE 0 END) AS transferred "
        "FROM entitlement e JOIN person p ON p.id = e.person_id JOIN household h ON h.id = p.household_id "
        "WHERE e.closed_on IS NULL GROUP BY e.matter_code")
    counts = {r["matter_code"]: r for r in by_matter}
    matters = [{"matter": m.name, "routing_label": ROUTING_LABELS[m.routing],
                "at_origin": int(counts.get(m.code, {}).get("at_origin") or 0),
                "transferred": int(counts.get(m.code, {}).get("transferred") or 0)} for m in policy.matters]
    townships = {code: {**row, "durations": []} for code, row in (await township_handoffs(work)).items()}
    for h in await Handoff.filter(status=HandoffStatus.COMPLETED).values("to_township", "sent_on", "completed_on"):
        townships[h["to_township"]]["durations"].append((h["completed_on"] - h["sent_on"]).days)
    rows = []
    for row in townships.values():
        durations = row.pop("durations")
        row["median_days"] = statistics.median(durations) if durations else None
        if row["incoming"] or row["outgoing"] or durations:
            rows.append(row)
    # 督办 this month, per township: opened, closed, still open at the month's end
    span = period(month=(month or "")[:16] or work.today.strftime("%Y-%m"))
    escalated = await notify.escalation_counts(work, span.start, span.end)
    return {"matters": matters, "townships": rows, "month": span.label, "month_value": span.start.strftime("%Y-%m"),
            "escalated": escalated,
            "escalated_total": {k: sum(r[k] for r in escalated) for k in ("opened", "closed", "open")}}


async def township_handoffs(work: Work) -> dict[str, dict]:
    """Per township (by code, in the policy's order): open hand-offs sent to it, sent by it, and
    of those sent to it the overdue ones (the dashboard's rows; the office's home)."""
    require(work.actor.role, "ledger.dashboard")
    townships = {t.code: {"township": t.name, "incoming": 0, "outgoing": 0, "overdue": 0}
                 for t in work.policy.townships}
    for h in await Handoff.filter(status__in=list(OPEN)).values("to_township", "from_township", "status",
                                                                  "accept_due", "complete_due"):
        townships[h["to_township"]]["incoming"] += 1
        townships[h["from_township"]]["outgoing"] += 1
        if is_overdue(h["status"], h["accept_due"], h["complete_due"], work.today):
            townships[h["to_township"]]["overdue"] += 1
    return townships


REPORT_COLUMNS = {"id": "编号", "kind_label": "类型", "household": "协议编号", "person": "人员", "matter": "事项",
                  "status_label": "状态", "sent_on": "发出", "due": "期限", "overdue_label": "逾期"}


async def pair_report(work: Work, township: str, other: str | None = None) -> dict:
    """对接清单: for a township and each counterpart (or one), what each side awaits from the other."""
    actor, policy, today = work.actor, work.policy, work.today
    require(actor.role, "ledger.handoff")
    match = policy.match_township(township)
    if match is None:
        raise DomainError(f"“{township}”不是政策文件中的乡镇")
    if rule.own_township(actor) not in (None, match.code):
        raise NotFound(f"找不到{match.name}的对接清单")
    other_match = policy.match_township(other) if other else None
    if other and other_match is None:
        raise DomainError(f"“{other}”不是政策文件中的乡镇")
    listed = await list_handoffs(work, township=match.code, limit=1_000_000)
    pairs: dict[str, dict] = {}
    for item in listed["items"]:
        counterpart = item["to_township"] if item["from_township"] == match.name else item["from_township"]
        if other_match and counterpart != other_match.name:
            continue
        item["overdue_label"] = "逾期" if item["overdue"] else ""
        if item["due_estimated"]:
            item["due"] += "（按周末推算）"
        pair = pairs.setdefault(counterpart, {"counterpart": counterpart, "awaiting_us": [], "awaiting_them": []})
        (pair["awaiting_us"] if item["to_township"] == match.name else pair["awaiting_them"]).append(item)
    return {"township": match.name, "today": today.isoformat(), "pairs": sorted(pairs.values(),
                                                                                 key=lambda p: p["counterpart"])}


def write_pair_report(report: dict, path: str | Path) -> Path:
    """The 对接清单 as a PDF to print or post, or an .xlsx of the same rows."""
    from resettle.pdf import list_pdf
    from resettle.sheets import write_table

    path = Path(path)
    me = report["township"]
    if path.suffix.lower() == ".xlsx" or path.suffix.lower() == ".csv":
        rows = [{**item, "direction": f"{me}待办" if side == "awaiting_us" else f"待{pair['counterpart']}办理"}
                for pair in report["pairs"] for side in ("awaiting_us", "awaiting_them") for item in pair[side]]
        return write_table(rows, {"direction": "方向", "from_township": "发出乡镇", "to_township": "接收乡镇",
                                  **REPORT_COLUMNS}, path)
    sections = []
    for pair in report["pairs"]:
        them, ours, theirs = pair["counterpart"], pair["awaiting_us"], pair["awaiting_them"]
        sections.append((f"{them} → {me}：待{me}接收或办结（{len(ours)}）", REPORT_COLUMNS, ours))
        sections.append((f"{me} → {them}：待{them}接收或办结（{len(theirs)}）", REPORT_COLUMNS, theirs))
    widths = {"id": 14, "kind_label": 12, "household": 40, "person": 40, "matter": 60, "status_label": 16,
              "sent_on": 22, "due": 22, "overdue_label": 12}
    return list_pdf(path, f"{me} 双向对接清单", f"截至 {report['today']}，逾期项标红。", sections, widths)
