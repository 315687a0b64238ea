"""Use cases over the registry: counts per township and community, a household's page, and
recording a household's steps (allocation, move-in, withdrawal, hukou moves)."""

from __future__ import annotations

import datetime as dt

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from resettle.actor import Actor
from resettle.db import connection, placeholders
from resettle.errors import DomainError, NotFound
from resettle.models import Community, Household, Person
from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.household import HOLDS_UNIT, HOUSEHOLD, ORDER, STATUS_LABELS, Dates, Status, unit_key
from resettle.rules.permissions import require
from resettle.rules.workflow import apply
from services import audit, groups, ledger, scope, versioned
from services.work import Work

STEPS = tuple(s.value for s in ORDER)
SEARCH_LIMIT = 50
KEY_MAX = 64  # the longest 协议编号, name or 房号 the registry stores


async def find_community(text: str, policy: Policy) -> Community:
    """A community by name, or 乡镇/名称 when two townships use the same name (a township of
    `policy`), or its id."""
    if text.isascii() and text.isdigit():
        found = await Community.get_or_none(id=int(text)) if len(text) < 10 else None  # ids are 32-bit
        if found is None:
            raise NotFound(f"找不到编号为{text}的安置社区")
        return found
    township, _, name = text.rpartition("/")
    if len(name.strip()) > KEY_MAX:  # no community is named that long
        raise NotFound(f"找不到安置社区“{text[:KEY_MAX]}…”")
    query = Community.filter(name=name.strip())
    if township:
        match = policy.match_township(township)
        if match is None:
            raise DomainError(f"“{township}”不是政策文件中的乡镇")
        query = query.filter(township_code=match.code)
    found = await query
    if not found:
        raise DomainError(f"找不到安置社区“{text}”（社区在首次导入签约交房表时建立）")
    if len(found) > 1:
        raise DomainError(f"有多个名为“{name}”的安置社区，请写成 乡镇/社区名")
    return found[0]


def _blank_counts(prefixes: tuple[str, ...]) -> dict:
    row = {}
    for prefix in prefixes:
        row[f"{prefix}households"] = 0
        row[f"{prefix}persons"] = 0
        for step in STEPS:
            row[f"{prefix}{step}"] = 0
    return row


async def township_stats(work: Work) -> list[dict]:
    """Per township: households and persons moved out (origin) and in (destination), with the
    households by status; withdrawn households don't count. A total row ends the list."""
    actor = work.actor
    require(actor.role, "registry.stats")
    rows = {t.code: {"township": t.name, "code": t.code, **_blank_counts(("out_", "in_"))}
            for t in work.policy.townships if rule.sees_township(actor, t.code)}
    conn = connection()
    for prefix, column in (("out_", "origin_township"), ("in_", "dest_township")):
        found = await conn.execute_query_dict(
            f"SELECT {column} AS code, status, COUNT(*) AS households, "
            f"COALESCE(SUM(member_count), 0) AS persons FROM household "
            f"WHERE status <> 'withdrawn' GROUP BY {column}, status")
        for r in found:
            row = rows.get(r["code"])
            if row is None:  # another township's counts
                continue
            row[f"{prefix}households"] += r["households"]
            row[f"{prefix}persons"] += int(r["persons"])
            row[f"{prefix}{r['status']}"] += r["households"]
    result = list(rows.values())
    return result + [_total(result, {"township": "合计", "code": ""})]


async def community_stats(work: Work) -> list[dict]:
    """Per settlement community: households, persons, moved-in households and 人户分离 persons
    (members of moved-in households whose hukou is not in the destination township)."""
    actor, policy = work.actor, work.policy
    require(actor.role, "registry.stats")
    conn = connection()
    # Aggregate households first (an index-only scan of ix_household_community), then name them.
    found = await conn.execute_query_dict(
        "SELECT c.id, c.name, c.township_code, a.status, a.households, a.persons, a.separated "
        "FROM community c LEFT JOIN (SELECT community_id, status, COUNT(*) AS households, "
        "SUM(member_count) AS persons, SUM(separated_count) AS separated FROM household "
        "WHERE status <> 'withdrawn' GROUP BY community_id, status) a ON a.community_id = c.id "
        "ORDER BY c.township_code, c.name")
    rows: dict[int, dict] = {}
    for r in found:
        if not rule.sees_community(actor, r["id"], r["township_code"]):
            continue
        row = rows.setdefault(r["id"], {
            "community": r["name"], "township": policy.township(r["township_code"]).name,
            "households": 0, "persons": 0, "moved_in_households": 0, "separated_persons": 0,
            **{step: 0 for step in STEPS}})
        if r["status"] is None:
            continue
        row["households"] += r["households"]
        row["persons"] += int(r["persons"])
        row[r["status"]] += r["households"]
        if r["status"] == Status.MOVED_IN:
            row["moved_in_households"] += r["households"]
            row["separated_persons"] += int(r["separated"])
    result = list(rows.values())
    return result + [_total(result, {"community": "合计", "township": ""})]


def _total(rows: list[dict], labels: dict) -> dict:
    total = dict(labels)
    for key, value in rows[0].items() if rows else ():
        if isinstance(value, int):
            total[key] = sum(r[key] for r in rows)
    return total


async def _find_household(actor: Actor, key: str) -> Household:
    """By 协议编号 or a member's full ID; a household out of the actor's scope is not found."""
    key = key.strip()
    if not key or len(key) > KEY_MAX:
        raise NotFound(f"找不到协议编号或身份证号为“{key[:KEY_MAX]}”的户")
    query = Household.filter(agreement_no=key)
    number = idnumber.normalize(key)
    if len(number) == 18:
        query = Household.filter(Q(agreement_no=key) | Q(members__id_number=number))
    household = await query.filter(scope.households(actor)).first()
    if household is None:
        raise NotFound(f"找不到协议编号或身份证号为“{key}”的户")
    return household


def _dates(h: Household) -> Dates:
    return Dates(h.signed_on, h.handed_over_on, h.allocated_on, h.moved_in_on, h.withdrawn_on)


async def search_households(work: Work, q: str, *, limit: int = SEARCH_LIMIT, offset: int = 0) -> dict:
    """Households by 协议编号 (or its start), a member's name, 房号, or an exact full ID."""
    actor, policy = work.actor, work.policy
    require(actor.role, "registry.view")
    q = q.strip()
    if not q or len(q) > KEY_MAX:  # nothing is keyed or named that long
        return {"total": 0, "items": []}
    number = idnumber.normalize(q)
    conn = connection()
    if len(number) == 18 and idnumber.is_valid(number):
        keys = [number]
        matches = "h.id IN (SELECT household_id FROM person WHERE id_number = {})"
    else:
        # The exact keys as a UNION of three index lookups (an OR across the two tables makes
        # PostgreSQL scan every household), so a search stays fast on a city-sized registry.
        keys = [q, q, q]
        matches = ("h.id IN (SELECT id FROM household WHERE agreement_no = {} UNION "
                   "SELECT id FROM household WHERE unit = {} UNION "
                   "SELECT household_id FROM person WHERE name = {})")
    total, ids = await _search_page(conn, actor, matches, keys, limit, offset)
    if not total and len(keys) == 3:  # nothing exact: 协议编号 and 房号 as prefixes, which scans
        prefix = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        total, ids = await _search_page(conn, actor, "(h.agreement_no LIKE {} ESCAPE '\\' OR h.unit LIKE {} "
                                        "ESCAPE '\\')", [prefix, prefix], limit, offset)
    rows = await Household.filter(id__in=ids).order_by("agreement_no").values(
        "id", "agreement_no", "status", "origin_township", "dest_township", "unit", community="community__name")
    members: dict[int, list[tuple[str, str]]] = {}
    for household_id, name, relation in await Person.filter(
            household_id__in=ids, left_on=None).order_by("id").values_list("household_id", "name", "relation"):
        members.setdefault(household_id, []).append((name, relation))
    return {"total": total, "items": [{
        "agreement_no": h["agreement_no"], "status": h["status"],
        "status_label": STATUS_LABELS[Status(h["status"])],
        "origin_township": policy.township(h["origin_township"]).name,
        "dest_township": policy.township(h["dest_township"]).name, "community": h["community"],
        "unit": h["unit"],
        "head": next((name for name, relation in members.get(h["id"], []) if relation == "户主"), ""),
        "members": len(members.get(h["id"], []))} for h in rows]}


async def _search_page(conn, actor: Actor, matches: str, keys: list, limit: int, offset: int) -> tuple[int, list[int]]:
    """How many households in the actor's scope `matches` (SQL over household h, one {} per key)
    admits, and the ids of the asked page in 协议编号 order. Plain SQL: the matched ids never
    travel through Python, however common the name."""
    columns = rule.household_columns(actor) or []
    marks = placeholders(conn, len(keys) + len(columns)).split(", ")
    where = matches.format(*marks[:len(keys)])
    if columns:
        where += " AND (" + " OR ".join(f"h.{column} = {mark}" for (column, _), mark in
                                        zip(columns, marks[len(keys):], strict=True)) + ")"
    params = [*keys, *(value for _, value in columns)]
    total = (await conn.execute_query_dict(f"SELECT COUNT(*) AS n FROM household h WHERE {where}", params))[0]["n"]
    if not total:
        return 0, []
    page = await conn.execute_query_dict(f"SELECT h.id FROM household h WHERE {where} ORDER BY h.agreement_no "
                                         f"LIMIT {int(limit)} OFFSET {int(offset)}", params)
    return total, [r["id"] for r in page]


async def show_household(work: Work, key: str, *, full_ids: bool = False) -> dict:
    """A household with its members (IDs masked) and its dated events, oldest first.
    `full_ids` shows whole ID numbers to the roles that need them and writes an audit event."""
    actor, policy = work.actor, work.policy
    require(actor.role, "registry.view")
    if full_ids:
        require(actor.role, "registry.full_id")
    h = await _find_household(actor, key)
    await h.fetch_related("village", "community")
    members = await Person.filter(household_id=h.id, left_on=None).order_by("id")  # the past: household_changes
    events = [{"on": getattr(h, field).isoformat(), "event": label, "note": ""}
              for step, field, label in (
                  (Status.SIGNED, "signed_on", "签约"), (Status.HANDED_OVER, "handed_over_on", "交房"),
                  (Status.ALLOCATED, "allocated_on", "分房"), (Status.MOVED_IN, "moved_in_on", "入住"),
                  (Status.WITHDRAWN, "withdrawn_on", "退出"))
              if getattr(h, field) is not None]
    if h.withdrawn_reason:
        events[-1]["note"] = h.withdrawn_reason
    for m in members:
        if m.hukou_moved_on:
            events.append({"on": m.hukou_moved_on.isoformat(), "event": "户籍迁入",
                           "note": f"{m.name}的户籍迁入{policy.township(m.hukou_township).name}"})
    events.sort(key=lambda e: e["on"])
    if full_ids:
        await audit.record(work, "registry.reveal_ids", "household", h.agreement_no,
                           {"members": [None, len(members)]})
    return {
        "agreement_no": h.agreement_no,
        "status": h.status,
        "status_label": STATUS_LABELS[Status(h.status)],
        "origin_township": policy.township(h.origin_township).name,
        "village": h.village.name,
        "group": h.group,
        "dest_township": policy.township(h.dest_township).name,
        "community": h.community.name,
        "unit": h.unit,
        "version": h.version,
        "members": [{"person_id": m.id, "name": m.name,
                     "id_number": m.id_number if full_ids else idnumber.mask(m.id_number),
                     "relation": m.relation, "phone": m.phone,
                     "hukou_township": policy.township(m.hukou_township).name,
                     "tags": m.tags} for m in members],
        "events": events,
    }


async def record_step(work: Work, agreement_no: str, step: Status, on: dt.date, *,
                      unit: str | None = None, reason: str = "",
                      expected_version: int | None = None) -> dict:
    """Take one step of the household state machine; a stale version is refused, and so is a
    unit another household of the community holds (the database decides, even at once)."""
    actor = work.actor
    require(actor.role, "registry.record")
    unit = unit_key(unit) if unit else ""
    try:
        async with work.transaction() as conn:
            h = await _find_household(actor, agreement_no)
            dates = _dates(h)
            apply(HOUSEHOLD, dates.status, step, actor.role, on=on, reason=reason, **dates.facts)
            dates = dates.after(step, on)
            changes = {"status": dates.status.value, **{
                field: getattr(dates, field) for field in
                ("handed_over_on", "allocated_on", "moved_in_on", "withdrawn_on")}}
            # A unit given now replaces the stored one; the sheet's provisional 房号 becomes the
            # held unit at allocation, in the one spelling the unique index compares.
            if unit or (dates.status in HOLDS_UNIT and h.unit != unit_key(h.unit)):
                changes["unit"] = unit or unit_key(h.unit)
            if reason:
                changes["withdrawn_reason"] = reason.strip()
            before = {k: getattr(h, k) for k in changes}
            await versioned.save(work, h, changes, expected_version, "该户")
            if Status.WITHDRAWN in (before["status"], dates.status):  # the one step that moves `counted`
                await groups.sync_counted(conn, [h.id])
            await audit.record(work, f"registry.{step.value}", "household", h.agreement_no,
                               audit.diff(before, changes))
            if step is Status.MOVED_IN:
                await ledger.send_move_in(work, conn, [h], on)
    except IntegrityError:
        refusal = await unit_taken(h.community_id, unit or unit_key(h.unit), h.id)
        if refusal is None:
            raise
        raise refusal from None
    return {"agreement_no": h.agreement_no, "status": dates.status.value,
            "status_label": STATUS_LABELS[dates.status], "version": h.version}


async def unit_taken(community_id: int, unit: str, household_id: int) -> DomainError | None:
    """What to say when the unique index of held units refused to give `unit` of a community
    to a household: the other household holding it, or None if none does (the error was
    another). Looked up after the rollback: the winner of a race has committed by then
    (PostgreSQL reports the conflict only once the other transaction commits; SQLite has one
    writer)."""
    if not unit:
        return None
    holder = await Household.filter(community_id=community_id, unit=unit, status__in=[
        s.value for s in HOLDS_UNIT]).exclude(id=household_id).first().values(
        "agreement_no", "unit", "status", community="community__name")
    if holder is None:
        return None
    return DomainError(f"{holder['community']}的房号{holder['unit']}已分给协议编号{holder['agreement_no']}的户"
                       f"（{STATUS_LABELS[Status(holder['status'])]}），同一套房同一时间只能分给一户")


async def record_hukou_moved(work: Work, agreement_no: str, id_number: str, on: dt.date) -> dict:
    """A member's hukou moved to the destination township: no longer 人户分离."""
    actor = work.actor
    require(actor.role, "registry.record")
    async with work.transaction() as conn:
        h = await _find_household(actor, agreement_no)
        number = idnumber.normalize(id_number)
        person = await Person.get_or_none(household_id=h.id, id_number=number)
        if person is None:
            raise NotFound(f"协议编号{h.agreement_no}的户中没有身份证号为{idnumber.mask(number)}的成员")
        if on < h.signed_on:
            raise DomainError(f"户籍迁入日期{on}早于签约日期{h.signed_on}")
        if person.hukou_township == h.dest_township:
            raise DomainError(f"{person.name}的户籍已在迁入乡镇，无需再登记")
        changes = {"hukou_township": h.dest_township, "hukou_moved_on": on}
        before = {k: getattr(person, k) for k in changes}
        await versioned.save(work, person, changes, None, "该成员")
        separated = await Person.filter(household_id=h.id, left_on=None).exclude(
            hukou_township=h.dest_township).count()
        await Household.filter(id=h.id).update(separated_count=separated)
        await audit.record(work, "registry.hukou_moved", "person", person.id,
                           audit.diff(before, changes))
        await ledger.send_hukou_transfers(work, conn, h, person.id, on)
    return {"agreement_no": h.agreement_no, "name": person.name, "hukou_moved_on": on.isoformat()}
