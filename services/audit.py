"""The audit log: one append-only row per mutation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from tortoise.expressions import Q

from resettle.db import connection, placeholders
from resettle.history import CHANNELS, USER_CHANNELS, Account, Names, actor_name
from resettle.models import AuditEvent, Community, Person, Problem, User, Village
from resettle.policy import Policy
from resettle.rules.dates import SHANGHAI
from resettle.rules.permissions import require
from services.work import Work


async def accounts(logins: Iterable[str]) -> dict[str, Account]:
    """The users behind logins of the log, with the community, carriage, department or township
    they act for (resettle/history.py says them)."""
    logins = set(logins)
    rows = await User.filter(login__in=logins).values(
        "login", "name", "role", "township_code", "carriage", "department",
        community="community__name") if logins else []
    return {r["login"]: Account(r["name"], r["role"], r["township_code"] or "", r["community"] or "",
                                r["carriage"], r["department"]) for r in rows}


def _logins(actors: Iterable[str]) -> set[str]:
    return {rest for channel, _, rest in (a.partition(":") for a in actors) if channel in USER_CHANNELS}


async def who_acted(actors: Iterable[str], policy: Policy | None = None) -> dict[str, str]:
    """Each actor of the log as a page names it (resettle.history.actor_name); without the policy
    a liaison acts for 乡镇信息员 rather than their township's name."""
    actors = set(actors)
    found = await accounts(_logins(actors))
    return {a: actor_name(a, found, policy) for a in actors}


def _ids(events: list[dict], object_type: str, key: str) -> set[int]:
    """The ids of `object_type` an event is about or a change points at."""
    ids = set()
    for e in events:
        if e["object_type"] == object_type and str(e["object_id"]).isdigit():
            ids.add(int(e["object_id"]))
        for value in (e["changes"] or {}).get(key, []) if isinstance(e["changes"], dict) else []:
            # a change is [before, after]; a list of ids (the persons an event concerns) counts whole
            for one in value if isinstance(value, list) else [value]:
                if isinstance(one, int) and not isinstance(one, bool):
                    ids.add(one)
    return ids


async def names_for(events: list[dict]) -> Names:
    """What resettle.history needs from the database to say `events` in words: who acted (and for
    whom), and the names of the communities, villages, persons and problems they mention."""
    events = list(events)
    users = _logins(e["actor"] for e in events) | {
        str(e["object_id"]) for e in events if e["object_type"] == "user"}

    async def named(model, ids: set[int], column: str) -> dict[int, str]:
        return dict(await model.filter(id__in=ids).values_list("id", column)) if ids else {}
    return Names(accounts=await accounts(users),
                 communities=await named(Community, _ids(events, "community", "community_id"), "name"),
                 villages=await named(Village, _ids(events, "village", "village_id"), "name"),
                 persons=await named(Person, _ids(events, "person", "person_id") | _ids(events, "", "persons"),
                                     "name"),
                 problems=await named(Problem, _ids(events, "problem", "problem_id"), "title"))


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def diff(before: dict, after: dict) -> dict[str, list]:
    """{field: [before, after]} for the fields whose value changed."""
    return {key: [_jsonable(before.get(key)), _jsonable(value)]
            for key, value in after.items() if before.get(key) != value}


async def record(work: Work, action: str, object_type: str, object_id: object,
                 changes: dict) -> None:
    """One event: who acted (the work's actor), when (its clock), on what, what changed."""
    await AuditEvent.create(at=work.now(), actor=work.actor.login, action=action, object_type=object_type,
                            object_id=str(object_id), changes=changes)


async def record_many(work: Work, action: str,
                      events: Iterable[tuple[str, object, dict]]) -> int:
    """Many events in one statement, for bulk use cases such as an import."""
    now = work.now()
    rows = [(now, work.actor.login, action, object_type, str(object_id),
             json.dumps(changes, ensure_ascii=False, separators=(",", ":")))
            for object_type, object_id, changes in events]
    if rows:
        conn = connection()
        sql = ('INSERT INTO audit_event (at, actor, action, object_type, object_id, changes) '
               f'VALUES ({placeholders(conn, 6)})')
        await conn.execute_many(sql, rows)
    return len(rows)


PAGE_SIZE = 50
HISTORY_LIMIT = 200  # a record's history on its page: the latest events, oldest first


def _item(r: AuditEvent) -> dict:
    return {"at": r.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "actor": r.actor,
            "action": r.action, "object_type": r.object_type, "object_id": r.object_id, "changes": r.changes}


async def household_history(work: Work, household: dict) -> list[dict]:
    """The logged events of a household (as services.registry.show_household gave it, in the actor's
    scope) and of its members, oldest first."""
    require(work.actor.role, "registry.view")
    persons = [str(m["person_id"]) for m in household["members"]]
    rows = await AuditEvent.filter(
        Q(object_type="household", object_id=household["agreement_no"]) |
        Q(object_type="person", object_id__in=persons)).order_by("-id").limit(HISTORY_LIMIT)
    return [_item(r) for r in reversed(rows)]


async def audit_log(work: Work, *, who: str = "", object_type: str = "", object_id: str = "",
                    action: str = "", since: dt.date | None = None, until: dt.date | None = None,
                    page: int = 1) -> dict:
    """The audit log, newest first, filtered and paginated (admin and office only)."""
    require(work.actor.role, "audit.view")
    query = AuditEvent.all()
    who = who.strip()
    if who:  # a login names its user on every channel; "web:login" just the one
        query = query.filter(actor=who) if ":" in who else query.filter(
            actor__in=[f"{channel}:{who}" for channel in CHANNELS])
    if object_type:
        query = query.filter(object_type=object_type.strip())
    if object_id:
        query = query.filter(object_id=object_id.strip())
    if action:
        query = query.filter(action__startswith=action.strip())
    if since:
        query = query.filter(at__gte=dt.datetime.combine(since, dt.time(), SHANGHAI))
    if until:
        query = query.filter(at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), SHANGHAI))
    total = await query.count()
    page = max(1, page)
    rows = await query.order_by("-id").offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return {"total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
            "items": [_item(r) for r in rows]}
