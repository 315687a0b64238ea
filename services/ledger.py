"""Use cases of the welfare-matters ledger (民生保障事项信息库): opening lines, move-in hand-offs,
accepting / rejecting / completing / revoking them, tag changes, and the views over them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tortoise.backends.base.client import BaseDBAsyncClient

from resettle.actor import Actor
from resettle.db import connection
from resettle.errors import DomainError, NotFound, StaleVersion
from resettle.models import AuditEvent, Entitlement, Handoff, Household, Person
from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.household import Status
from resettle.rules.ledger import (
    HANDOFF,
    HANDOFF_LABELS,
    OPEN,
    ROUTING_LABELS,
    HandoffKind,
    HandoffStatus,
    Routing,
    age_on,
    applies,
    line_need,
)
from resettle.rules.permissions import require
from resettle.rules.tags import TagKind, join_tags, split_tags, tags_of_age
from resettle.rules.workflow import apply
from services import audit, notify  # registry imports this module too: used at call time only
from services.bulk import LOOKUP_CHUNK, Chunks, db_date, db_stamp, factorize_rows, insert
from services.work import Work

if TYPE_CHECKING:  # the import's vectorised paths import them when called
    import numpy as np
    import pandas as pd

ENTITLEMENT_COLUMNS = ("created_at", "updated_at", "person_id", "matter_code", "routing",
                       "responsible_township", "opened_on", "close_reason", "version")
HANDOFF_COLUMNS = ("created_at", "updated_at", "kind", "status", "household_id", "entitlement_id",
                   "from_township", "to_township", "sent_on", "accept_due", "complete_due", "reason", "version",
                   "sent_by")
PAGE = 100
def matters_for(policy: Policy, tags: Iterable[str], age: int, head: bool) -> list[str]:
    """The catalog's matters that apply to one person, in catalog order. Dynamic tags (高龄…)
    come from the age, never from what was written (a sheet's 高龄 on a 70-year-old is ignored)."""
    dynamic = policy.dynamic_tags
    tags = (set(tags) - dynamic) | (tags_of_age(age) & dynamic)
    return [m.code for m in policy.matters if applies(m, tags=tags, age=age, head=head)]


# ---------------------------------------------------------------- opening lines


async def open_lines_bulk(conn: BaseDBAsyncClient, persons: pd.DataFrame, policy: Policy, now: dt.datetime,
                          progress=None) -> int:
    """Open a line for each person × applicable matter, the origin township responsible.
    `persons` has person_id, id_number, relation, tags, origin_township, signed_on (dates). The
    catalog rule runs once per distinct (tags, age, head), not once per person."""
    import numpy as np
    import pandas as pd

    if persons.empty:
        return 0
    # pandas over every person: in a worker thread, as the import's other steps (the event loop
    # keeps serving meanwhile)
    codes, per_combo = await asyncio.to_thread(_combos, persons, policy)
    total = int(np.array([len(m) for m in per_combo], dtype=np.int64)[codes].sum())
    if not total:
        return 0
    # Lines are never read back here, so the database numbers them; and the values that repeat
    # (dates, townships) are shared objects, not a million copies.
    person_ids = persons["person_id"].tolist()
    origins = persons["origin_township"].tolist()
    day_codes, days = pd.factorize(persons["signed_on"])
    opened = [db_date(conn, d) for d in days]
    routing = {m.code: m.routing.value for m in policy.matters}
    stamp = db_stamp(conn, now)

    def rows(first: int, stop: int) -> list[tuple]:
        return [(stamp, stamp, person_ids[i], code, routing[code], origins[i], opened[day_codes[i]], "", 1)
                for i in range(first, stop) for code in per_combo[codes[i]]]
    bounds = [(b, min(b + 5_000, len(persons))) for b in range(0, len(persons), 5_000)]
    await insert(conn, "entitlement", ENTITLEMENT_COLUMNS, Chunks(bounds, rows), progress)
    return total


def _combos(persons: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, list[list[str]]]:
    """Per person the index of its distinct (tags, age, head), and per such combination the
    catalog's matters."""
    import pandas as pd

    born = persons["id_number"].astype("str")
    signed = pd.to_datetime(pd.Series(persons["signed_on"].to_numpy(), index=persons.index))
    birth_md = born.str.slice(10, 14).astype(int).to_numpy()
    on_md = (signed.dt.month * 100 + signed.dt.day).to_numpy()
    ages = signed.dt.year.to_numpy() - born.str.slice(6, 10).astype(int).to_numpy() - (on_md < birth_md)
    codes, uniques = factorize_rows(persons["tags"], ages, (persons["relation"] == "户主").to_numpy())
    return codes, [matters_for(policy, split_tags(t), int(a), bool(h)) for t, a, h in uniques]


async def sync_tag_lines(work: Work, conn: BaseDBAsyncClient, person_ids: list[int], on: dt.date,
                         reason: str) -> None:
    """After tags changed: open lines for matters that now apply, close tag-driven lines that
    no longer do. Age- and head-based lines are left alone (policy never rewrites history). A
    line opening after its household moved in gets what `line_need` says, as at the move-in."""
    policy = work.policy
    persons = await Person.filter(id__in=person_ids).prefetch_related("household")
    open_lines = {}
    for line in await Entitlement.filter(person_id__in=person_ids, closed_on=None):
        open_lines.setdefault(line.person_id, {})[line.matter_code] = line
    opened: dict[int, list[tuple[Entitlement, bool]]] = {}
    for person in persons:
        household = person.household
        tags = split_tags(person.tags)
        due = set(matters_for(policy, tags, age_on(idnumber.birth_date(person.id_number), on),
                              person.relation == "户主"))
        have = open_lines.get(person.id, {})
        for code in sorted(due - have.keys()):
            matter = policy.matter(code)
            line = await Entitlement.create(person_id=person.id, matter_code=code, routing=matter.routing.value,
                                            responsible_township=household.origin_township, opened_on=on)
            await audit.record(work, "ledger.open", "entitlement", line.id,
                               {"matter_code": [None, code], "reason": [None, reason]})
            opened.setdefault(household.id, []).append((line, person.hukou_township == household.dest_township))
        for code, line in have.items():
            if code not in due and _tag_driven(policy, code):
                await _close(work, line, on, reason)
    households = {p.household.id: p.household for p in persons}
    for household_id, lines in opened.items():
        await _send_needs(work, conn, households[household_id], lines, on)


async def send_new_lines(work: Work, conn: BaseDBAsyncClient, person_ids: list[int], on: dt.date) -> int:
    """What the lines of persons just added to stored households need (`line_need`): a member a
    sheet adds to a household that has moved in gets its transfers and, unless one is open, a
    notice, as at the move-in. For the import, with the persons it adds to stored households."""
    found: dict[int, list[tuple[Entitlement, bool]]] = {}
    households: dict[int, Household] = {}
    for start in range(0, len(person_ids), LOOKUP_CHUNK):
        chunk = person_ids[start:start + LOOKUP_CHUNK]
        persons = {p.id: p for p in await Person.filter(id__in=chunk, household__status=Status.MOVED_IN)
                   .prefetch_related("household")}
        for line in await Entitlement.filter(person_id__in=list(persons), closed_on=None).order_by("id"):
            person = persons[line.person_id]
            households[person.household.id] = person.household
            found.setdefault(person.household.id, []).append(
                (line, person.hukou_township == person.household.dest_township))
    sent = 0
    for household_id, lines in found.items():
        sent += await _send_needs(work, conn, households[household_id], lines, on)
    return sent


def _need(household: Household, line: Entitlement, hukou_at_dest: bool):
    return line_need(line.routing, origin=household.origin_township, dest=household.dest_township,
                     moved_in=household.status == Status.MOVED_IN, hukou_at_dest=hukou_at_dest,
                     responsible=line.responsible_township)


async def _send_needs(work: Work, conn: BaseDBAsyncClient, household: Household,
                      lines: list[tuple[Entitlement, bool]], on: dt.date) -> int:
    """The hand-offs some new lines of one household need (each with whether its person's hukou
    is in the destination): their transfers, and a notice unless one is open (a notice lists the
    lines the origin keeps as they stand when it is read, new ones included)."""
    needs = [(line, _need(household, line, hukou).handoff) for line, hukou in lines]
    transfers = [(line.id, line.matter_code) for line, kind in needs if kind is HandoffKind.TRANSFER]
    notice = any(kind is HandoffKind.NOTICE for _, kind in needs) and not await Handoff.filter(
        household_id=household.id, kind=HandoffKind.NOTICE, status__in=list(OPEN)).exists()
    if not transfers and not notice:
        return 0
    batch = _Batch(work, conn, on)
    batch.add(household, transfers, notice)
    return await batch.send()


def _tag_driven(policy: Policy, code: str) -> bool:
    """A line that only a tag opened (a removed tag closes it)."""
    try:
        matter = policy.matter(code)
    except KeyError:  # a matter since dropped from the catalog keeps its lines
        return False
    return bool(matter.tags) and not (matter.everyone or matter.head_only or matter.min_age is not None)


async def _close(work: Work, line: Entitlement, on: dt.date, reason: str) -> None:
    await Entitlement.filter(id=line.id).update(closed_on=on, close_reason=reason, version=line.version + 1)
    for handoff in await Handoff.filter(entitlement_id=line.id, status__in=list(OPEN)):
        await Handoff.filter(id=handoff.id).update(status=HandoffStatus.REVOKED, closed_on=on,
                                                  reason=f"事项已关闭：{reason}", version=handoff.version + 1)
        await audit.record(work, "ledger.revoke", "handoff", handoff.id,
                           {"status": [handoff.status, HandoffStatus.REVOKED.value]})
    await audit.record(work, "ledger.close", "entitlement", line.id,
                       {"closed_on": [None, on.isoformat()], "close_reason": ["", reason]})


# ---------------------------------------------------------------- hand-offs


def _line_predicates() -> dict[HandoffKind, str]:
    """SQL conditions selecting, among the open lines the origin holds, those a move-in transfers
    and those its notice lists — generated from `line_need`, so the rule stays in one place
    while a batch of 100,000 households is decided inside the database."""
    found: dict[HandoffKind, list[str]] = {HandoffKind.TRANSFER: [], HandoffKind.NOTICE: []}
    for routing in Routing:
        for there in (False, True):
            need = line_need(routing.value, origin="origin", dest="dest", moved_in=True, hukou_at_dest=there)
            if need.handoff is not None:
                found[need.handoff].append(f"(e.routing = '{routing.value}' AND "
                                           f"p.hukou_township {'=' if there else '<>'} h.dest_township)")
    return {kind: " OR ".join(conds) or "1 = 0" for kind, conds in found.items()}


_AT_ORIGIN = ("FROM entitlement e JOIN person p ON p.id = e.person_id JOIN household h ON h.id = p.household_id "
              "WHERE e.closed_on IS NULL AND e.responsible_township = h.origin_township")


async def send_move_in(work: Work, conn: BaseDBAsyncClient, households: list[Household], on: dt.date) -> int:
    """On move-in: a transfer for each line that follows the person, one notice telling the
    destination which matters the origin keeps. Many households at once; returns the hand-offs."""
    moving = {h.id: h for h in households if h.origin_township != h.dest_township}
    predicates = _line_predicates()
    transfers: dict[int, list[tuple[int, str]]] = {}
    noticed: set[int] = set()
    ids = list(moving)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ", ".join(str(i) for i in ids[start:start + LOOKUP_CHUNK])  # integer ids from the database
        for line_id, code, household_id in (await conn.execute_query(
                f"SELECT e.id, e.matter_code, p.household_id {_AT_ORIGIN} AND p.household_id IN ({chunk}) "
                f"AND ({predicates[HandoffKind.TRANSFER]}) ORDER BY e.id"))[1]:
            transfers.setdefault(household_id, []).append((line_id, code))
        noticed.update(row[0] for row in (await conn.execute_query(
            f"SELECT DISTINCT p.household_id {_AT_ORIGIN} AND p.household_id IN ({chunk}) "
            f"AND ({predicates[HandoffKind.NOTICE]})"))[1])
    batch = _Batch(work, conn, on)
    for household_id in transfers.keys() | noticed:
        batch.add(moving[household_id], transfers.get(household_id, []), household_id in noticed)
    return await batch.send(len(moving))


async def notice_lines(household_ids: list[int], policy: Policy) -> dict[int, list[dict]]:
    """What a notice tells: the household's open lines the origin keeps, as they stand now."""
    found: dict[int, list[dict]] = {}
    if not household_ids:
        return found
    names = {m.code: m.name for m in policy.matters}
    ids = ", ".join(str(int(i)) for i in household_ids)
    for household_id, person, code in (await connection().execute_query(
            f"SELECT p.household_id, p.name, e.matter_code {_AT_ORIGIN} AND p.household_id IN ({ids}) "
            f"AND ({_line_predicates()[HandoffKind.NOTICE]}) ORDER BY e.id"))[1]:
        found.setdefault(household_id, []).append({"person": person, "matter": names.get(code, code)})
    return found


async def _send(work: Work, conn: BaseDBAsyncClient, household: Household, transfer: list[int],
                on: dt.date) -> int:
    """Transfers of some lines of one household (a hukou move, a new matter after move-in)."""
    matters = dict(await Entitlement.filter(id__in=transfer).values_list("id", "matter_code"))
    batch = _Batch(work, conn, on)
    batch.add(household, [(i, matters[i]) for i in transfer], False)
    return await batch.send()


class _Batch:
    """Hand-off rows and their audit events, written with one bulk insert each."""

    def __init__(self, work: Work, conn: BaseDBAsyncClient, on: dt.date):
        self.work, self.conn, self.on, self.policy = work, conn, on, work.policy
        self.stamp = db_stamp(conn, work.now())
        self.rows: list[tuple] = []
        self.transfers = self.notices = 0
        self._due: dict[int, str] = {}

    def _date_after(self, days: int):
        if days not in self._due:
            self._due[days] = db_date(self.conn, self.policy.calendar.add_working_days(self.on, days))
        return self._due[days]

    def add(self, household: Household, transfers: list[tuple[int, str]], notice: bool) -> None:
        common = (household.id,)
        sent_on = db_date(self.conn, self.on)
        for line_id, code in transfers:
            matter = self.policy.matter(code)
            self.rows.append((self.stamp, self.stamp, HandoffKind.TRANSFER.value, HandoffStatus.SENT.value, *common,
                              line_id, household.origin_township, household.dest_township, sent_on,
                              self._date_after(matter.accept_days), self._date_after(matter.complete_days),
                              "", 1, self.work.actor.login))
        if notice:
            accept, complete = self.policy.notice_days
            self.rows.append((self.stamp, self.stamp, HandoffKind.NOTICE.value, HandoffStatus.SENT.value, *common,
                              None, household.origin_township, household.dest_township, sent_on,
                              self._date_after(accept), self._date_after(complete), "", 1, self.work.actor.login))
        self.transfers += len(transfers)
        self.notices += 1 if notice else 0

    async def send(self, households: int = 1) -> int:
        """Insert the rows; one audit event for the batch (the rows carry their household)."""
        if self.rows:
            await insert(self.conn, "handoff", HANDOFF_COLUMNS, self.rows)
            await audit.record(self.work, "ledger.send", "handoffs", self.on.isoformat(), {
                "households": [None, households], "transfers": [None, self.transfers],
                "notices": [None, self.notices]})
            await notify.handoffs_arrived(self.work, [(row[6], row[7]) for row in self.rows])
        return len(self.rows)


def _side(actor: Actor, handoff: Handoff) -> str:
    """Which side of a hand-off the actor stands on; a township with no part in it cannot see it."""
    side = rule.handoff_side(actor, handoff.from_township, handoff.to_township)
    if side is None:
        raise NotFound(f"找不到对接单 {handoff.id}")
    return side


async def act(work: Work, ids: list[int], action: str, *, reason: str = "") -> list[dict]:
    """Accept, reject, complete or revoke many hand-offs: each item in its own savepoint,
    succeeding whole or reported with the reason; none is half-done."""
    require(work.actor.role, "ledger.handoff")
    results = []
    async with work.transaction():
        for handoff_id in ids:
            try:
                async with work.transaction():
                    results.append(await _act_one(work, handoff_id, action, reason))
            except DomainError as exc:
                results.append({"id": handoff_id, "ok": False, "message": exc.message})
    return results


async def _act_one(work: Work, handoff_id: int, action: str, reason: str) -> dict:
    actor, today = work.actor, work.today
    handoff = await Handoff.get_or_none(id=handoff_id)
    if handoff is None:
        raise NotFound(f"找不到对接单 {handoff_id}")
    after = apply(HANDOFF, handoff.status, action, _side(actor, handoff), reason=reason)
    changes: dict = {"status": after.value, "version": handoff.version + 1}
    if after is HandoffStatus.ACCEPTED:
        changes["accepted_on"] = today
    elif after is HandoffStatus.COMPLETED:
        changes["completed_on"] = today
    else:
        changes["closed_on"], changes["reason"] = today, reason.strip()
    updated = await Handoff.filter(id=handoff.id, version=handoff.version).update(**changes)
    if not updated:
        raise StaleVersion(f"对接单 {handoff_id} 刚被其他人处理过，请刷新后重试")
    if after is HandoffStatus.COMPLETED and handoff.kind == HandoffKind.TRANSFER and handoff.entitlement_id:
        # the one place responsibility moves: a completed transfer
        line = await Entitlement.get(id=handoff.entitlement_id)
        await Entitlement.filter(id=line.id).update(responsible_township=handoff.to_township,
                                                    version=line.version + 1)
        await audit.record(work, "ledger.transfer", "entitlement", line.id,
                           {"responsible_township": [line.responsible_township, handoff.to_township]})
    if after is HandoffStatus.REJECTED:
        await notify.handoff_rejected(work, handoff, changes["reason"])
    before = {"status": handoff.status, "reason": handoff.reason}
    await audit.record(work, f"ledger.{action}", "handoff", handoff.id,
                       audit.diff(before, {"status": after.value, "reason": changes.get("reason", handoff.reason)}))
    return {"id": handoff.id, "ok": True, "status": after.value, "message": HANDOFF_LABELS[after]}


async def resend(work: Work, handoff_id: int, note: str = "") -> dict:
    """The sender corrects and resends a rejected hand-off: a new one, pointing at the old."""
    actor, policy, today = work.actor, work.policy, work.today
    require(actor.role, "ledger.handoff")
    async with work.transaction():
        old = await Handoff.get_or_none(id=handoff_id)
        if old is None or _side(actor, old) == "receiver":
            raise NotFound(f"找不到可重新发出的对接单 {handoff_id}")
        if old.status != HandoffStatus.REJECTED:
            raise DomainError("只有已退回的对接单可以重新发出")
        if old.kind == HandoffKind.TRANSFER:
            matter = policy.matter((await Entitlement.get(id=old.entitlement_id)).matter_code)
            accept, complete = matter.accept_days, matter.complete_days
        else:
            accept, complete = policy.notice_days
        new = await Handoff.create(kind=old.kind, status=HandoffStatus.SENT, household_id=old.household_id,
                                   entitlement_id=old.entitlement_id, from_township=old.from_township,
                                   to_township=old.to_township, sent_on=today,
                                   accept_due=policy.calendar.add_working_days(today, accept),
                                   complete_due=policy.calendar.add_working_days(today, complete),
                                   reason=note.strip(), resend_of_id=old.id, sent_by=work.actor.login)
        await audit.record(work, "ledger.resend", "handoff", new.id, {"resend_of": [None, old.id]})
        await notify.handoffs_arrived(work, [(new.from_township, new.to_township)])
    return {"id": new.id, "status": new.status}


# ---------------------------------------------------------------- views


def _township_name(policy: Policy, code: str) -> str:
    return policy.township(code).name


async def person_ledger(work: Work, key: str) -> dict:
    """A person's lines: each matter, who is responsible now, and its history. `key` is a full
    ID number or a person id."""
    actor, policy = work.actor, work.policy
    require(actor.role, "ledger.view")
    person = await _find_person(key)
    household = await person.household
    lines = await Entitlement.filter(person_id=person.id).order_by("id")
    if not rule.sees_person(actor, household, (line.responsible_township for line in lines)):
        raise NotFound(f"找不到身份证号或编号为“{key.strip()[:64]}”的人员")
    handoffs: dict[int, list[Handoff]] = {}
    for h in await Handoff.filter(entitlement_id__in=[line.id for line in lines]).order_by("id"):
        handoffs.setdefault(h.entitlement_id, []).append(h)
    events = await AuditEvent.filter(object_type="entitlement",
                                     object_id__in=[str(line.id) for line in lines]).order_by("id")
    history: dict[str, list[dict]] = {}
    for e in events:
        history.setdefault(e.object_id, []).append(
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "changes": e.changes})
    return {
        "person_id": person.id, "name": person.name, "id_number": idnumber.mask(person.id_number),
        "household": household.agreement_no, "tags": person.tags,
        "lines": [{
            "id": line.id, "matter_code": line.matter_code, "matter": _matter_name(policy, line.matter_code),
            "routing": line.routing, "routing_label": ROUTING_LABELS[Routing(line.routing)],
            "responsible_township": _township_name(policy, line.responsible_township),
            "status": "closed" if line.closed_on else "open",
            "opened_on": line.opened_on.isoformat(),
            "closed_on": line.closed_on.isoformat() if line.closed_on else None,
            "close_reason": line.close_reason,
            "handoffs": [{"id": h.id, "status": h.status, "status_label": HANDOFF_LABELS[HandoffStatus(h.status)],
                          "to_township": _township_name(policy, h.to_township), "sent_on": h.sent_on.isoformat()}
                         for h in handoffs.get(line.id, [])],
            "history": history.get(str(line.id), []),
        } for line in lines]}


def _matter_name(policy: Policy, code: str) -> str:
    try:
        return policy.matter(code).name
    except KeyError:
        return code


async def set_tags(work: Work, key: str, tags: str, reason: str, on: dt.date | None = None) -> dict:
    """A person's 特殊群体 tags change (a new 低保 status, say): lines open or close to match."""
    actor = work.actor
    require(actor.role, "ledger.edit")
    if not reason.strip():
        raise DomainError("变更特殊群体标签须写明原因")
    on = on or work.today
    from services import tags as tag_grants  # it builds on this module

    async with work.transaction() as conn:
        person = await _person_in_scope(actor, key)
        new = join_tags(split_tags(tags))
        # a basic tag is granted or ended by its owner (民政 for 低保…) or the office, never by the string
        for name in sorted(set(split_tags(new)) ^ set(split_tags(person.tags))):
            found = work.policy.tag(name)
            if found is not None and found.kind is TagKind.BASIC:
                tag_grants.may_manage(actor, found)
        updated = await Person.filter(id=person.id, version=person.version).update(tags=new, version=person.version + 1)
        if not updated:
            raise StaleVersion("该人员刚被其他人修改过，请刷新后重试")
        await audit.record(work, "ledger.tags", "person", person.id, audit.diff({"tags": person.tags}, {"tags": new}))
        await tag_grants.sync_imported(work, conn, [person.id])  # the grants follow the string
        await sync_tag_lines(work, conn, [person.id], on, reason.strip())
    return await person_ledger(work, str(person.id))


async def close_person(work: Work, key: str, reason: str, on: dt.date | None = None) -> dict:
    """Every open line of a person closes (a death, a move out of the district); open hand-offs of
    those lines are revoked."""
    actor = work.actor
    require(actor.role, "ledger.edit")
    if not reason.strip():
        raise DomainError("关闭事项须写明原因，如“死亡”")
    on = on or work.today
    async with work.transaction():
        person = await _person_in_scope(actor, key)
        lines = await Entitlement.filter(person_id=person.id, closed_on=None)
        for line in lines:
            await _close(work, line, on, reason.strip())
    return {"person_id": person.id, "closed": len(lines)}


async def change_routing(work: Work, line_id: int, routing: str, reason: str) -> dict:
    """One person's line changes routing (an exception to the catalog), with a reason."""
    actor = work.actor
    require(actor.role, "ledger.edit")
    if not reason.strip():
        raise DomainError("变更事项归属方式须写明原因")
    try:
        new = Routing(routing)
    except ValueError:
        raise DomainError("归属方式只能是 STAYS、FOLLOWS 或 HUKOU") from None
    async with work.transaction():
        line = await Entitlement.get_or_none(id=line_id, closed_on=None)
        if line is None:
            raise NotFound(f"找不到未关闭的事项台账 {line_id}")
        await _person_in_scope(actor, str(line.person_id))
        await Entitlement.filter(id=line.id).update(routing=new.value, version=line.version + 1)
        await audit.record(work, "ledger.routing", "entitlement", line.id,
                           {"routing": [line.routing, new.value], "reason": [None, reason.strip()]})
    return {"id": line.id, "routing": new.value}


async def _find_person(key: str) -> Person:
    """By full ID number or person id."""
    key = key.strip()
    person = None
    if key.isascii() and key.isdigit() and len(key) < 10:  # "²".isdigit() is True too
        person = await Person.get_or_none(id=int(key))
    elif len(number := idnumber.normalize(key)) == 18:
        person = await Person.get_or_none(id_number=number)
    if person is None:
        raise NotFound(f"找不到身份证号或编号为“{key[:64]}”的人员")
    return person


async def _person_in_scope(actor: Actor, key: str) -> Person:
    person = await _find_person(key)
    if not rule.sees_household(actor, await person.household):
        raise NotFound(f"找不到身份证号或编号为“{key[:64]}”的人员")
    return person


async def send_hukou_transfers(work: Work, conn: BaseDBAsyncClient, household: Household, person_id: int,
                               on: dt.date) -> int:
    """A person's hukou moved to the destination: the lines whose need the move changes to a
    transfer (`line_need`: HUKOU lines of a moved-in household) are sent now."""
    lines = await Entitlement.filter(person_id=person_id, closed_on=None,
                                     responsible_township=household.origin_township)
    pending = set(await Handoff.filter(entitlement_id__in=[line.id for line in lines],
                                       status__in=list(OPEN)).values_list("entitlement_id", flat=True))
    moved = [line.id for line in lines if line.id not in pending and _need(household, line, True).handoff
             is HandoffKind.TRANSFER and _need(household, line, False).handoff is not HandoffKind.TRANSFER]
    return await _send(work, conn, household, moved, on) if moved else 0


