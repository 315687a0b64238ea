"""Use cases of the 特殊群体 tags: basic tags granted, renewed and closed by their owning
department (each a dated `PersonTag`, history kept), a person's tags, the owner's review list,
the tags a signing sheet brings, and the daily run that opens or closes the ledger lines that
depend on age (dynamic tags are computed from the birth date, never stored).

`Person.tags` stays as the cache of a person's open basic tags (plus whatever a sheet wrote
outside the dictionary, kept as written): the catalog rule and the bulk import read one column
per person, a million times, without a join. Every write here rewrites it in the same
transaction, and the ledger follows through `ledger.sync_tag_lines` (its close path revokes the
open hand-offs of a line it closes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from resettle.actor import Actor
from resettle.db import connection, placeholders
from resettle.errors import DomainError, NotFound, StaleVersion
from resettle.models import AuditEvent, Entitlement, Household, Person, PersonTag
from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.permissions import Forbidden, allowed, require
from resettle.rules.tags import (
    AGE_RULES,
    KIND_LABELS,
    STATE_LABELS,
    TagDef,
    TagKind,
    add_months,
    born_by,
    dynamic_tags,
    join_tags,
    review_state,
    split_tags,
)
from services import audit, groups, ledger
from services.bulk import LOOKUP_CHUNK, db_date, db_stamp, insert
from services.work import Work

PAGE = 50
REASON_MAX = 200
TAG_COLUMNS = ("created_at", "updated_at", "person_id", "tag", "valid_from", "valid_to", "granted_by",
               "renewed_by", "closed_by", "reason", "version")


def _basic(policy: Policy, name: str) -> TagDef:
    found = policy.tag(name.strip())
    if found is None:
        raise DomainError(f"“{name.strip()[:16]}”不是标签字典中的标签")
    if found.kind is not TagKind.BASIC:
        raise DomainError(f"“{found.name}”是动态标签，由出生日期计算，不能人工认定")
    return found


def may_manage(actor: Actor, tag: TagDef) -> None:
    require(actor.role, "tags.manage")
    if not rule.manages_tag(actor, tag.owner):
        raise Forbidden(f"“{tag.name}”标签由{tag.owner}认定和复核，{actor.department or '本账号'}无权办理")


def _absence(person: Person, household: Household) -> str | None:
    """Why a person is no longer one whose tags are kept, in words; None while they are."""
    if person.left_on is not None:
        return f"已于{person.left_on}{'死亡' if person.left_kind == 'death' else '迁出'}"
    if household.status == "withdrawn":
        return "所在的户已退出集中居住"
    return None


def _present(person: Person, household: Household, doing: str) -> None:
    """A tag is granted or renewed for a member of a household still being settled: one who died,
    moved away or withdrew has lines closed that a grant would open again (closing stays open,
    and the owner's review list says why such a tag is there)."""
    gone = _absence(person, household)
    if gone:
        raise DomainError(f"{person.name}{gone}，不能{doing}标签")


async def _person(actor: Actor, key: str) -> tuple[Person, Household]:
    """By full ID number or person id, within the actor's reach (else not found)."""
    person = await ledger._find_person(key)
    household = await person.household
    if not rule.sees_person_tags(actor, household):
        raise NotFound(f"找不到身份证号或编号为“{key.strip()[:64]}”的人员")
    return person, household


async def _grant_row(actor: Actor, grant_id: int) -> tuple[PersonTag, Person]:
    grant = await PersonTag.get_or_none(id=grant_id)
    if grant is None:
        raise NotFound(f"找不到标签记录 {grant_id}")
    person = await Person.get(id=grant.person_id)
    if not rule.sees_person_tags(actor, await person.household):
        raise NotFound(f"找不到标签记录 {grant_id}")
    return grant, person


def _cache(policy: Policy, written: str, open_tags: Sequence[str]) -> str:
    """The cached string: the open basic tags, then what a sheet wrote outside the dictionary's
    basic tags (a dynamic tag written in a sheet is left as written; the catalog ignores it)."""
    basic = set(policy.basic_tags)
    kept = [t for t in split_tags(written) if t not in basic]
    return join_tags(list(dict.fromkeys([*open_tags, *kept])))[:200]


async def _recache(work: Work, conn: BaseDBAsyncClient, person: Person, reason: str) -> None:
    """Rewrite the person's cached tags from the open grants, and move the ledger with them."""
    open_tags = await PersonTag.filter(person_id=person.id, closed_on=None).order_by("id").values_list("tag", flat=True)
    new = _cache(work.policy, person.tags, open_tags)
    if new != person.tags:
        updated = await Person.filter(id=person.id, version=person.version).update(tags=new, version=person.version + 1)
        if not updated:
            raise StaleVersion("该人员刚被其他人修改过，请刷新后重试")
        await audit.record(work, "tags.cache", "person", person.id, audit.diff({"tags": person.tags}, {"tags": new}))
    await ledger.sync_tag_lines(work, conn, [person.id], work.today, reason)


def _grant_dict(grant: PersonTag, policy: Policy, on: dt.date) -> dict:
    tag = policy.tag(grant.tag)
    state = review_state(grant.valid_to, grant.closed_on, on, policy.tag_due_days)
    return {"id": grant.id, "tag": grant.tag, "owner": tag.owner if tag else "",
            "valid_from": grant.valid_from.isoformat(), "valid_to": grant.valid_to.isoformat(),
            "granted_by": grant.granted_by, "renewed_on": grant.renewed_on.isoformat() if grant.renewed_on else None,
            "renewed_by": grant.renewed_by, "closed_on": grant.closed_on.isoformat() if grant.closed_on else None,
            "closed_by": grant.closed_by, "reason": grant.reason, "state": state, "state_label": STATE_LABELS[state],
            "version": grant.version}


# ---------------------------------------------------------------- writes


async def grant(work: Work, key: str, tag: str, *, valid_from: dt.date | None = None,
                valid_to: dt.date | None = None, note: str = "") -> dict:
    """The owner grants a basic tag for its review period (or until `valid_to`); lines the tag
    drives open from today."""
    actor, policy = work.actor, work.policy
    found = _basic(policy, tag)
    may_manage(actor, found)
    start = valid_from or work.today
    if start > work.today:
        raise DomainError("有效期起不能晚于今天")
    end = valid_to or add_months(start, found.review_months)
    if end < start:
        raise DomainError("有效期止不能早于有效期起")
    if end > add_months(start, 120):
        raise DomainError("有效期最长十年")
    async with work.transaction() as conn:
        person, household = await _person(actor, key)
        _present(person, household, "认定")
        if await PersonTag.filter(person_id=person.id, tag=found.name, closed_on=None).exists():
            raise DomainError(f"{person.name}已有有效的“{found.name}”标签，请续期或先关闭")
        row = await PersonTag.create(person_id=person.id, tag=found.name, valid_from=start, valid_to=end,
                                     granted_by=actor.login, reason=note.strip()[:REASON_MAX],
                                     **(await groups.locked_copies([person.id]))[person.id])
        await audit.record(work, "tags.grant", "person_tag", row.id, {
            "person_id": [None, person.id], "tag": [None, found.name], "valid_from": [None, start.isoformat()],
            "valid_to": [None, end.isoformat()]})
        await _recache(work, conn, person, f"认定“{found.name}”标签")
    return _grant_dict(row, policy, work.today)


async def renew(work: Work, grant_id: int, *, valid_to: dt.date | None = None,
                expected_version: int | None = None) -> dict:
    """The owner reviews an open tag and keeps it: a new end, by default a review period from
    today (or from the old end, when that is later)."""
    actor, policy = work.actor, work.policy
    require(actor.role, "tags.manage")  # before the lookup: no role learns which grants exist
    async with work.transaction():
        row, person = await _grant_row(actor, grant_id)
        found = _basic(policy, row.tag)
        may_manage(actor, found)
        _present(person, await person.household, "续期")
        if row.closed_on is not None:
            raise DomainError("该标签已关闭，不能续期；如仍符合条件请重新认定")
        if expected_version is not None and expected_version != row.version:
            raise StaleVersion("该标签刚被其他人处理过，请刷新后重试")
        end = valid_to or add_months(max(work.today, row.valid_to), found.review_months)
        if end < work.today or end <= row.valid_from:
            raise DomainError("续期后的有效期止不能早于今天")
        if end > add_months(work.today, 120):
            raise DomainError("有效期最长十年")
        updated = await PersonTag.filter(id=row.id, version=row.version).update(
            valid_to=end, renewed_on=work.today, renewed_by=actor.login, version=row.version + 1)
        if not updated:
            raise StaleVersion("该标签刚被其他人处理过，请刷新后重试")
        await audit.record(work, "tags.renew", "person_tag", row.id,
                           {"valid_to": [row.valid_to.isoformat(), end.isoformat()]})
    return _grant_dict(await PersonTag.get(id=row.id), policy, work.today)


async def close(work: Work, grant_id: int, reason: str, *, expected_version: int | None = None) -> dict:
    """The owner ends a tag (no longer qualifies, reviewed out): the lines only it drove close
    with the reason, their open hand-offs revoked."""
    actor, policy = work.actor, work.policy
    reason = reason.strip()
    if not reason:
        raise DomainError("关闭标签须写明原因")
    if len(reason) > REASON_MAX:
        raise DomainError(f"原因不能超过{REASON_MAX}字")
    require(actor.role, "tags.manage")  # before the lookup: no role learns which grants exist
    async with work.transaction() as conn:
        row, person = await _grant_row(actor, grant_id)
        found = policy.tag(row.tag) or TagDef(row.tag, "", TagKind.BASIC, 12)
        may_manage(actor, found)
        if row.closed_on is not None:
            raise DomainError("该标签已关闭")
        if expected_version is not None and expected_version != row.version:
            raise StaleVersion("该标签刚被其他人处理过，请刷新后重试")
        updated = await PersonTag.filter(id=row.id, version=row.version).update(
            closed_on=work.today, closed_by=actor.login, reason=reason, version=row.version + 1)
        if not updated:
            raise StaleVersion("该标签刚被其他人处理过，请刷新后重试")
        await audit.record(work, "tags.close", "person_tag", row.id,
                           {"closed_on": [None, work.today.isoformat()], "reason": [row.reason, reason]})
        await _recache(work, conn, person, f"“{row.tag}”标签关闭：{reason}")
    return _grant_dict(await PersonTag.get(id=row.id), policy, work.today)


# ---------------------------------------------------------------- reads


async def person_tags(work: Work, key: str, on: dt.date | None = None) -> dict:
    """A person's basic tags, open and closed, with each one's history, and the dynamic tags on
    `on` (default today)."""
    actor, policy = work.actor, work.policy
    require(actor.role, "tags.view")
    on = on or work.today
    person, household = await _person(actor, key)
    rows = await PersonTag.filter(person_id=person.id).order_by("-valid_from", "-id")
    events = await AuditEvent.filter(object_type="person_tag",
                                     object_id__in=[str(r.id) for r in rows]).order_by("id")
    history: dict[str, list[dict]] = {}
    for e in events:
        history.setdefault(e.object_id, []).append({"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                                                    "changes": e.changes})
    grants = []
    for r in rows:
        item = _grant_dict(r, policy, on)
        item["may_manage"] = allowed(actor.role, "tags.manage") and rule.manages_tag(actor, item["owner"])
        item["history"] = history.get(str(r.id), [])
        grants.append(item)
    born = idnumber.birth_date(person.id_number)
    dynamic = sorted(dynamic_tags(born, on) & policy.dynamic_tags, key=list(AGE_RULES).index)
    grantable = [t.name for t in policy.tag_dictionary if t.kind is TagKind.BASIC
                 and allowed(actor.role, "tags.manage") and rule.manages_tag(actor, t.owner)
                 and not any(g["tag"] == t.name and g["closed_on"] is None for g in grants)]
    full = allowed(actor.role, "registry.full_id") and rule.sees_household(actor, household)
    return {"person_id": person.id, "name": person.name,
            "id_number": person.id_number if full else idnumber.mask(person.id_number),
            "household": household.agreement_no, "on": on.isoformat(), "dynamic": dynamic,
            "basic": grants, "grantable": grantable, "kinds": {k.value: v for k, v in KIND_LABELS.items()}}


async def review_list(work: Work, *, owner: str = "", state: str = "", limit: int = PAGE, offset: int = 0) -> dict:
    """The owner's review list: open basic tags expired or due (within the policy's due days),
    and those of persons who died, moved away or withdrew (first: they are to be closed), then
    oldest end first, paged. A department sees its own tags district-wide; the office any owner
    (or all); a liaison and a desk the tags of the households they reach."""
    actor, policy = work.actor, work.policy
    require(actor.role, "tags.view")
    if state not in ("", "expired", "due"):
        raise DomainError("状态只能是 expired（已到期）或 due（临近复核）")
    reached = rule.tag_owner_reached(actor)
    if reached is not None:
        if owner and owner != reached:
            raise DomainError(f"只能查看{reached}负责的标签")
        owner = reached
    owners = sorted({t.owner for t in policy.tag_dictionary if t.kind is TagKind.BASIC})
    if owner and owner not in owners:
        raise DomainError(f"标签字典中没有“{owner[:64]}”负责的基础标签")
    names = list(policy.tags_owned(owner)) if owner else list(policy.basic_tags)
    horizon = work.today + dt.timedelta(days=policy.tag_due_days)
    query = PersonTag.filter(tag__in=names, closed_on=None)
    if state == "expired":
        query = query.filter(valid_to__lt=work.today)
    elif state == "due":
        query = query.filter(valid_to__gte=work.today, valid_to__lte=horizon)
    else:  # and the tags of persons no longer counted (died, moved away, withdrew): to close now
        query = query.filter(Q(valid_to__lte=horizon) | Q(counted=False))
    columns = rule.household_columns(actor)
    if columns is not None and reached is None:
        query = query.filter(Q(*(Q(**{f"person__household__{c}": v}) for c, v in columns), join_type="OR"))
    total = await query.count()
    rows = await query.order_by("counted", "valid_to", "id").offset(offset).limit(limit)
    persons = {p.id: p for p in await Person.filter(id__in=[r.person_id for r in rows]).prefetch_related(
        "household", "household__community")}
    items = []
    for r in rows:
        p = persons[r.person_id]
        item = _grant_dict(r, policy, work.today)
        gone = _absence(p, p.household)
        may_manage = allowed(actor.role, "tags.manage") and rule.manages_tag(actor, item["owner"])
        item.update(person_id=p.id, name=p.name, id_number=idnumber.mask(p.id_number),
                    household=p.household.agreement_no, community=p.household.community.name,
                    township=policy.township(p.household.community.township_code).name, gone=gone,
                    may_manage=may_manage, may_renew=may_manage and gone is None)
        items.append(item)
    return {"owner": owner, "owners": owners if reached is None else [reached], "state": state,
            "total": total, "limit": limit, "offset": offset, "items": items}


# ---------------------------------------------------------------- the signing import


async def grant_imported(work: Work, conn: BaseDBAsyncClient, person_ids: Sequence[int], tags: Sequence[str],
                         signed_on: Sequence[dt.date]) -> int:
    """The basic tags of persons a sheet adds: each a grant from the signing date for its review
    period, by the import's actor (one bulk insert and one audit event for the batch)."""
    months = {t.name: t.review_months for t in work.policy.tag_dictionary if t.kind is TagKind.BASIC}
    stamp, by = db_stamp(conn, work.now()), work.actor.login
    ends: dict[tuple, tuple] = {}
    rows = []
    for person_id, text, signed in zip(person_ids, tags, signed_on, strict=True):
        if not text:
            continue
        for tag in split_tags(text):
            if tag in months:
                key = (signed, tag)
                if key not in ends:
                    day = signed if isinstance(signed, dt.date) else dt.date.fromisoformat(str(signed)[:10])
                    ends[key] = (db_date(conn, day), db_date(conn, add_months(day, months[tag])))
                rows.append((stamp, stamp, person_id, tag, *ends[key], by, "", "", "", 1))
    if rows:
        await insert(conn, "person_tag", TAG_COLUMNS, rows)
        await groups.sync_grants(conn, {row[2] for row in rows})
        await audit.record(work, "tags.import", "person_tags", work.today.isoformat(),
                           {"grants": [None, len(rows)]})
    return len(rows)


async def sync_imported(work: Work, conn: BaseDBAsyncClient, person_ids: Sequence[int]) -> None:
    """Persons whose cached tags were rewritten whole (a re-imported sheet, `ledger.set_tags`):
    a basic tag added is granted from today, one dropped is closed (the caller moves the
    ledger, as before)."""
    months = {t.name: t.review_months for t in work.policy.tag_dictionary if t.kind is TagKind.BASIC}
    for start in range(0, len(person_ids), LOOKUP_CHUNK):
        chunk = list(person_ids[start:start + LOOKUP_CHUNK])
        open_rows: dict[int, dict[str, PersonTag]] = {}
        for row in await PersonTag.filter(person_id__in=chunk, closed_on=None):
            open_rows.setdefault(row.person_id, {})[row.tag] = row
        persons = await Person.filter(id__in=chunk)
        wants = {p.id: {t for t in split_tags(p.tags) if t in months} for p in persons}
        granted = [p.id for p in persons if wants[p.id] - open_rows.get(p.id, {}).keys()]
        copies = await groups.locked_copies(granted) if granted else {}
        for person in persons:
            want, have = wants[person.id], open_rows.get(person.id, {})
            for tag in sorted(want - have.keys()):
                row = await PersonTag.create(person_id=person.id, tag=tag, valid_from=work.today,
                                             valid_to=add_months(work.today, months[tag]), granted_by=work.actor.login,
                                             **copies[person.id])
                await audit.record(work, "tags.grant", "person_tag", row.id,
                                   {"person_id": [None, person.id], "tag": [None, tag]})
            for tag in sorted(have.keys() - want):
                row = have[tag]
                await PersonTag.filter(id=row.id).update(closed_on=work.today, closed_by=work.actor.login,
                                                         reason="特殊群体标签整体更新", version=row.version + 1)
                await audit.record(work, "tags.close", "person_tag", row.id,
                                   {"closed_on": [None, work.today.isoformat()]})


# ---------------------------------------------------------------- age boundaries


def _age_sql(policy: Policy, matter, on: dt.date) -> tuple[list[str], list[str]]:
    """SQL conditions on p.birth_date under which age alone makes `matter` apply on `on`, and
    those under which a dynamic tag it names no longer does (someone who turned 18 is no longer
    未成年). Dates are written as literals of the pure `born_by` (no user input reaches them)."""
    applies, left = [], []
    if matter.min_age is not None:
        applies.append(f"p.birth_date <= '{born_by(on, matter.min_age).isoformat()}'")
    for name in sorted(matter.tags & policy.dynamic_tags):
        low, high = AGE_RULES[name]
        parts = []
        if low is not None:
            parts.append(f"p.birth_date <= '{born_by(on, low).isoformat()}'")
        if high is not None:
            parts.append(f"p.birth_date > '{born_by(on, high).isoformat()}'")
            left.append(f"p.birth_date <= '{born_by(on, high).isoformat()}'")
        applies.append(" AND ".join(parts))
    return applies, left


async def refresh(work: Work, on: dt.date | None = None) -> dict:
    """On `on` (default today): persons whom age now brings under a matter get its line, and
    lines only a dynamic tag they have outgrown drove are closed — found in SQL, decided by the
    one catalog rule (`ledger.sync_tag_lines`). Idempotent: a second run finds no one. A person
    whose every line is closed (a death, a move out of the district) is left alone."""
    require(work.actor.role, "tags.refresh")
    policy, on = work.policy, on or work.today
    if on > work.today:  # lines opened for an age not yet reached would stay open
        raise DomainError(f"只能按今天或以前的日期更新（今天是{work.today}）")
    found: set[int] = set()
    conn = connection()
    live = ("JOIN household h ON h.id = p.household_id WHERE h.status <> 'withdrawn' AND p.birth_date IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM entitlement a WHERE a.person_id = p.id AND a.closed_on IS NULL)")
    for matter in policy.matters:
        if matter.everyone or matter.head_only:
            continue
        applies, left = _age_sql(policy, matter, on)
        code = placeholders(conn, 1)
        if applies:
            found.update(r[0] for r in (await conn.execute_query(
                f"SELECT p.id FROM person p {live} AND ({' OR '.join(f'({a})' for a in applies)}) "
                f"AND NOT EXISTS (SELECT 1 FROM entitlement e WHERE e.person_id = p.id AND e.matter_code = {code} "
                f"AND e.closed_on IS NULL)", [matter.code]))[1])
        if left:
            found.update(r[0] for r in (await conn.execute_query(
                f"SELECT p.id FROM person p JOIN entitlement e ON e.person_id = p.id WHERE e.matter_code = {code} "
                f"AND e.closed_on IS NULL AND ({' OR '.join(left)})", [matter.code]))[1])
    ids = sorted(found)
    opened = closed = 0
    async with work.transaction() as tx:
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            before = set(await Entitlement.filter(person_id__in=chunk, closed_on=None).values_list("id", flat=True))
            await ledger.sync_tag_lines(work, tx, chunk, on, f"年龄变化（{on.isoformat()}）")
            after = set(await Entitlement.filter(person_id__in=chunk, closed_on=None).values_list("id", flat=True))
            opened, closed = opened + len(after - before), closed + len(before - after)
        if opened or closed:
            await audit.record(work, "tags.refresh", "ledger", on.isoformat(), {
                "persons": [None, len(ids)], "lines_opened": [None, opened], "lines_closed": [None, closed]})
    return {"on": on.isoformat(), "persons_checked": len(ids), "lines_opened": opened, "lines_closed": closed}
