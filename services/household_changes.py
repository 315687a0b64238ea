"""Households that change after signing: a birth, a death, a member joining or leaving, a new 户主,
分户 — each dated, audited, and moving the ledger with it; and the desk's requests for a birth or
a death, which change nothing until the township liaison confirms them.

The household's person counts (member_count, separated_count) are recomputed in the same
transaction, so the township and community counts follow at once."""

from __future__ import annotations

import datetime as dt

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery

from resettle.actor import Actor
from resettle.db import connection
from resettle.errors import DomainError, NotFound
from resettle.models import ChangeRequest, Entitlement, Handoff, Household, HouseholdEvent, Person
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.household import HOLDS_UNIT, Status, unit_key
from resettle.rules.household_changes import (
    EVENT_LABELS,
    HEAD,
    JOIN_REASONS,
    LEAVE_ACTION_LABELS,
    LEAVE_REASONS,
    LEFT_LABELS,
    REQUEST,
    REQUEST_KINDS,
    REQUEST_LABELS,
    EventKind,
    LeaveAction,
    Member,
    RequestStatus,
    bounded_text,
    check_date,
    check_leaving,
    check_new_head,
    check_relation,
    check_split,
    leave_action,
    member,
    split_agreement_no,
)
from resettle.rules.ledger import OPEN, HandoffKind, HandoffStatus
from resettle.rules.permissions import allowed, require
from resettle.rules.tags import join_tags, split_tags
from resettle.rules.workflow import allowed_steps, apply
from services import audit, groups, ledger, notify, scope, versioned
from services import tags as tag_grants
from services.household_changes_contracts import Change
from services.registry import KEY_MAX, unit_taken
from services.work import Work

REQUEST_PAGE = 200
DEATH_REASON = "死亡"


# ---------------------------------------------------------------- finding things


async def _household(actor: Actor, key: str) -> Household:
    """A household by 协议编号 within the actor's scope (out of scope: not found)."""
    key = (key or "").strip()
    found = None
    if key and len(key) <= KEY_MAX:
        found = await Household.filter(agreement_no=key).filter(scope.households(actor)).first()
    if found is None:
        raise NotFound(f"找不到协议编号为“{key[:KEY_MAX]}”的户")
    return found


async def _members(household_id: int) -> list[Person]:
    return await Person.filter(household_id=household_id).order_by("id")


def _as_members(persons: list[Person]) -> list[Member]:
    return [Member(p.id, p.name, p.relation, p.left_on, p.left_kind or "") for p in persons]


async def _recount(work: Work, h: Household, expected_version: int | None) -> int:
    """The household's counts from its present members, with its version bumped (a stale form
    is refused)."""
    # every event (birth, join, death, leave, split) ends here for each household it touched
    await groups.sync_counted(connection(), [h.id])
    present = Person.filter(household_id=h.id, left_on=None)
    changes = {"member_count": await present.count(),
               "separated_count": await present.exclude(hukou_township=h.dest_township).count()}
    before = {k: getattr(h, k) for k in changes}
    version = await versioned.save(work, h, changes, expected_version, "该户")
    if before != changes:
        await audit.record(work, "registry.counts", "household", h.agreement_no, audit.diff(before, changes))
    return version


def _township(work: Work, text: str, what: str) -> str:
    found = work.policy.match_township(text)
    if found is None:
        raise DomainError(f"{what}“{text[:32]}”不是政策文件中的乡镇")
    return found.code


def _new_id(change: Change, today: dt.date) -> str:
    number = idnumber.normalize(change.id_number)
    problem = idnumber.problem(number, today) if number else "公民身份号码不能为空"
    if problem:
        raise DomainError(problem)
    return number


async def _event(work: Work, h: Household, kind: EventKind, on: dt.date, persons: list[int],
                 detail: dict) -> HouseholdEvent:
    event = await HouseholdEvent.create(household_id=h.id, kind=kind.value, on=on, persons=persons, detail=detail,
                                        actor=work.actor.login, created_at=work.now())
    await audit.record(work, f"registry.{kind.value}", "household", h.agreement_no,
                       {"event": [None, event.id], "persons": [None, persons], "on": [None, on.isoformat()]})
    return event


# ---------------------------------------------------------------- the ledger


async def _open_lines(work: Work, conn: BaseDBAsyncClient, person_ids: list[int], on: dt.date,
                      reason: str) -> list[str]:
    """The catalog lines a new or newly-placed member lacks open now, with the hand-offs they
    need as at a move-in (`ledger.sync_tag_lines`, `line_need`); the matter codes opened."""
    before = set(await Entitlement.filter(person_id__in=person_ids, closed_on=None).values_list("id", flat=True))
    await ledger.sync_tag_lines(work, conn, person_ids, on, reason)
    return [code for line_id, code in await Entitlement.filter(
        person_id__in=person_ids, closed_on=None).order_by("id").values_list("id", "matter_code")
        if line_id not in before]


async def _close_lines(work: Work, person_id: int, on: dt.date, reason: str,
                       codes: set[str] | None = None) -> list[str]:
    """Close a person's open lines (those of `codes` only, if given) with the reason; their
    open hand-offs are revoked with them (`ledger._close`)."""
    closed = []
    for line in await Entitlement.filter(person_id=person_id, closed_on=None).order_by("id"):
        if codes is None or line.matter_code in codes:
            await ledger._close(work, line, on, reason)
            closed.append(line.matter_code)
    return closed


async def _revoke_open(work: Work, line: Entitlement, on: dt.date, reason: str) -> int:
    revoked = 0
    for handoff in await Handoff.filter(entitlement_id=line.id, status__in=list(OPEN)):
        await Handoff.filter(id=handoff.id).update(status=HandoffStatus.REVOKED, closed_on=on, reason=reason,
                                                  version=handoff.version + 1, updated_at=work.now())
        await audit.record(work, "ledger.revoke", "handoff", handoff.id,
                           {"status": [handoff.status, HandoffStatus.REVOKED.value], "reason": [None, reason]})
        revoked += 1
    return revoked


def _head_codes(work: Work) -> set[str]:
    return {m.code for m in work.policy.matters if m.head_only}


# ---------------------------------------------------------------- the events


async def record_event(work: Work, agreement_no: str, change: Change) -> dict:
    """Record one change of a household's members (the liaison in scope, the office)."""
    require(work.actor.role, "registry.change")
    async with work.transaction() as conn:
        h = await _household(work.actor, agreement_no)
        return await _apply(work, conn, h, change)


async def _apply(work: Work, conn: BaseDBAsyncClient, h: Household, change: Change) -> dict:
    kind = EventKind(change.kind)
    if h.status == Status.WITHDRAWN:
        raise DomainError(f"该户已于{h.withdrawn_on}退出，不能再登记{EVENT_LABELS[kind]}")
    check_date(change.on, h.signed_on, work.today, EVENT_LABELS[kind])
    note = bounded_text(change.note, "说明")
    handler = {EventKind.BIRTH: _birth, EventKind.JOIN: _join, EventKind.DEATH: _death,
               EventKind.LEAVE: _leave, EventKind.HEAD: _head, EventKind.SPLIT: _split}[kind]
    persons, detail, extra = await handler(work, conn, h, change)
    if note:
        detail["note"] = note
    version = await _recount(work, h, change.version)
    event = await _event(work, h, kind, change.on, persons, detail)
    return {"id": event.id, "agreement_no": h.agreement_no, "kind": kind.value, "kind_label": EVENT_LABELS[kind],
            "on": change.on.isoformat(), "persons": persons, "detail": detail, "version": version, **extra}


async def _add_person(work: Work, h: Household, change: Change, what: str) -> tuple[Person, bool]:
    """A new member from the form (or a person who left a household of the registry coming
    back: the row moves, its ledger with it); whether it is a returning person."""
    policy = work.policy
    name = bounded_text(change.name, "姓名", required=True, limit=64)
    number = _new_id(change, work.today)
    relation = check_relation(change.relation, policy.relations)
    tags = join_tags([t for t in split_tags(change.tags)])
    unknown = [t for t in split_tags(tags) if t not in policy.tags]
    if unknown:
        raise DomainError(f"特殊群体标签“{'、'.join(unknown)[:40]}”不在政策文件的列表中")
    head = await Person.filter(household_id=h.id, relation=HEAD, left_on=None).first()
    hukou = (_township(work, change.hukou_township, "户籍所在乡镇") if change.hukou_township
             else head.hukou_township if head else h.origin_township)
    if what == EventKind.BIRTH:
        born = idnumber.birth_date(number)
        if born != change.on:
            raise DomainError(f"出生日期{change.on}与身份证号中的出生日期{born}不一致")
    existing = await Person.get_or_none(id_number=number)
    if existing is not None:
        if what == EventKind.BIRTH or existing.left_kind != EventKind.LEAVE:
            holder = await Household.get(id=existing.household_id)
            state = "已登记死亡" if existing.left_kind == EventKind.DEATH else "现为该户成员"
            raise DomainError(f"身份证号{idnumber.mask(number)}已在协议编号{holder.agreement_no}的户中登记"
                              f"（{state}），不能重复登记")
        changes = {"household_id": h.id, "name": name, "relation": relation, "hukou_township": hukou,
                   "left_on": None, "left_kind": None, **({"phone": change.phone.strip()} if change.phone else {}),
                   **({"tags": tags} if tags else {})}
        before = {k: getattr(existing, k) for k in changes}
        await versioned.save(work, existing, changes, None, "该人员")
        await audit.record(work, "registry.join", "person", existing.id, audit.diff(before, changes))
        async with work.transaction() as conn:  # the form's basic tags are grants, as a sheet's are
            await tag_grants.sync_imported(work, conn, [existing.id])
        return existing, True
    try:
        async with work.transaction():  # a savepoint: the same person registered at the same moment
            person = await Person.create(household_id=h.id, id_number=number, name=name, relation=relation,
                                         phone=change.phone.strip(), hukou_township=hukou, tags=tags)
    except IntegrityError:
        raise DomainError(f"身份证号{idnumber.mask(number)}刚被同时登记，不能重复登记") from None
    await audit.record(work, f"registry.{what}", "person", person.id,
                       {"household": [None, h.agreement_no], "name": [None, name], "relation": [None, relation]})
    async with work.transaction() as conn:
        await tag_grants.sync_imported(work, conn, [person.id])
    return person, False


async def _birth(work: Work, conn, h: Household, change: Change):
    person, _ = await _add_person(work, h, change, EventKind.BIRTH)
    opened = await _open_lines(work, conn, [person.id], change.on, "出生")
    return [person.id], {"name": person.name, "relation": person.relation, "lines_opened": opened}, {}


async def _join(work: Work, conn, h: Household, change: Change):
    reason = bounded_text(change.note, "说明") or JOIN_REASONS[0]
    person, returning = await _add_person(work, h, change, EventKind.JOIN)
    if returning:
        # the hand-offs of their leaving are moot; their lines get what a move-in would send
        for line in await Entitlement.filter(person_id=person.id, closed_on=None):
            await _revoke_open(work, line, change.on, f"成员迁回：{reason}")
        await ledger.send_new_lines(work, conn, [person.id], change.on)
    opened = await _open_lines(work, conn, [person.id], change.on, f"迁入：{reason}")
    return [person.id], {"name": person.name, "relation": person.relation, "returning": returning,
                         "lines_opened": opened}, {}


async def _leaving(work: Work, conn: BaseDBAsyncClient, h: Household, change: Change,
                   what: str) -> tuple[Person, dict]:
    """The member who dies or leaves, and a new head when it was the head (named in `head`)."""
    if change.person is None:
        raise DomainError(f"请选择登记{what}的成员")
    persons = await _members(h.id)
    members = _as_members(persons)
    m = member(members, change.person, h.agreement_no)
    detail: dict = {"name": m.name}
    if m.relation == HEAD and m.current and change.head is not None:
        check_new_head(members, change.head, h.agreement_no)
        made = await _make_head(work, conn, h, persons, change.head, change.old_relation or "其他", change.on,
                                f"原户主{what}")
        m = Member(m.id, m.name, change.old_relation or "其他")
        members = [m if x.id == m.id else x for x in _as_members(await _members(h.id))]
        detail.update(new_head=change.head, head=made["head"], head_lines_opened=made["lines_opened"])
    check_leaving(members, m, what, death=what == EVENT_LABELS[EventKind.DEATH])
    return next(p for p in persons if p.id == m.id), detail


async def _death(work: Work, conn, h: Household, change: Change):
    person, detail = await _leaving(work, conn, h, change, EVENT_LABELS[EventKind.DEATH])
    changes = {"left_on": change.on, "left_kind": EventKind.DEATH.value}
    await versioned.save(work, person, changes, None, "该成员")
    await audit.record(work, "registry.death", "person", person.id, audit.diff({"left_on": None, "left_kind": None},
                                                                              changes))
    detail["lines_closed"] = await _close_lines(work, person.id, change.on, DEATH_REASON)
    return [person.id], detail, {}


async def _leave(work: Work, conn, h: Household, change: Change):
    """Lines follow `leave_action`: out of the district every line closes; to a township of
    the district FOLLOWS (and HUKOU with the hukou) are transferred to it, the rest stay with
    the township responsible now. Open hand-offs of the old move are revoked first."""
    person, detail = await _leaving(work, conn, h, change, EVENT_LABELS[EventKind.LEAVE])
    to = _township(work, change.to_township, "迁往乡镇") if change.to_township else None
    reason = bounded_text(change.note, "说明") or (LEAVE_REASONS[1] if to is None else "迁往区内其他乡镇")
    changes = {"left_on": change.on, "left_kind": EventKind.LEAVE.value}
    if to is not None and change.hukou_moves:
        changes["hukou_township"] = to
        changes["hukou_moved_on"] = change.on
    before = {k: getattr(person, k) for k in changes}
    await versioned.save(work, person, changes, None, "该成员")
    await audit.record(work, "registry.leave", "person", person.id, audit.diff(before, changes))
    actions: dict[str, list[str]] = {a.value: [] for a in LeaveAction}
    for line in await Entitlement.filter(person_id=person.id, closed_on=None).order_by("id"):
        action = leave_action(line.routing, responsible=line.responsible_township, to_township=to,
                              hukou_moves=change.hukou_moves)
        actions[action.value].append(line.matter_code)
        if action is LeaveAction.CLOSE:
            await ledger._close(work, line, change.on, f"迁出：{reason}")
            continue
        await _revoke_open(work, line, change.on, f"成员已迁出：{reason}")
        if action is LeaveAction.TRANSFER:
            matter, calendar = work.policy.matter(line.matter_code), work.policy.calendar
            handoff = await Handoff.create(
                kind=HandoffKind.TRANSFER.value, status=HandoffStatus.SENT.value, household_id=h.id,
                entitlement_id=line.id, from_township=line.responsible_township, to_township=to,
                sent_on=change.on, accept_due=calendar.add_working_days(change.on, matter.accept_days),
                complete_due=calendar.add_working_days(change.on, matter.complete_days), reason=f"成员迁出：{reason}",
                sent_by=work.actor.login)
            await audit.record(work, "ledger.send", "handoff", handoff.id,
                               {"kind": [None, HandoffKind.TRANSFER.value], "to_township": [None, to]})
            await notify.handoffs_arrived(work, [(handoff.from_township, to)])
    detail.update(to_township=to, hukou_moves=change.hukou_moves, reason=reason,
                  lines={LEAVE_ACTION_LABELS[LeaveAction(k)]: v for k, v in actions.items() if v})
    return [person.id], detail, {}


async def _make_head(work: Work, conn: BaseDBAsyncClient, h: Household, persons: list[Person], new_head: int,
                     old_relation: str, on: dt.date, reason: str) -> dict:
    """户主 passes to `new_head`; the old head takes `old_relation`. The head-only lines (土地承包,
    宅基地…) close for the old head and open for the new one: exactly one head afterwards."""
    old_relation = check_relation(old_relation, work.policy.relations)
    found = {p.id: p for p in persons}
    closed: list[str] = []
    for p in persons:
        if p.relation == HEAD and p.left_on is None:
            await versioned.save(work, p, {"relation": old_relation}, None, "该成员")
            await audit.record(work, "registry.head", "person", p.id, {"relation": [HEAD, old_relation]})
            closed += await _close_lines(work, p.id, on, f"户主变更：{reason}", _head_codes(work))
    head = found[new_head]
    before = head.relation
    await versioned.save(work, head, {"relation": HEAD}, None, "该成员")
    await audit.record(work, "registry.head", "person", head.id, {"relation": [before, HEAD]})
    opened = await _open_lines(work, conn, [head.id], on, reason)
    return {"head": head.name, "lines_closed": closed, "lines_opened": opened}


async def _head(work: Work, conn, h: Household, change: Change):
    if change.person is None:
        raise DomainError("请选择新户主")
    persons = await _members(h.id)
    new = check_new_head(_as_members(persons), change.person, h.agreement_no)
    old = next((p for p in persons if p.relation == HEAD and p.left_on is None), None)
    if not (change.old_relation or "").strip():
        raise DomainError("请填写原户主与新户主的关系")
    detail = await _make_head(work, conn, h, persons, new.id, change.old_relation, change.on, "户主变更")
    detail["old_head"] = old.name if old else ""
    heads = await Person.filter(household_id=h.id, relation=HEAD, left_on=None).count()
    if heads != 1:  # the rule of the registry: one head, whatever the data held before
        raise DomainError(f"户主变更后该户有{heads}位户主，应恰好一位")
    return [new.id] + ([old.id] if old else []), detail, {}


async def _split(work: Work, conn, h: Household, change: Change):
    """分户: the chosen members move, with their ledger lines, to a new household of the same
    community (协议编号 with the next suffix), which takes the old one's dates and state and,
    once units are held, its own unit (the one-household-per-unit index decides)."""
    persons = await _members(h.id)
    if change.head is None:
        raise DomainError("请选择新户的户主")
    split = check_split(_as_members(persons), change.persons, change.head, h.agreement_no)
    unit = unit_key(change.unit) if change.unit else ""
    if h.status in HOLDS_UNIT and not unit:
        raise DomainError("该户已分房：分出的新户须填写自己的房号")
    if unit and unit == h.unit:
        raise DomainError(f"房号{unit}是原户的房号，分出的新户须另有房号")
    taken = await Household.filter(agreement_no__startswith=f"{h.agreement_no}-").values_list("agreement_no", flat=True)
    number = split_agreement_no(h.agreement_no, taken)
    try:
        async with work.transaction():  # a savepoint: a unit held by another household is refused by name
            new = await Household.create(
                agreement_no=number, origin_township=h.origin_township, village_id=h.village_id, group=h.group,
                dest_township=h.dest_township, community_id=h.community_id, unit=unit, status=h.status,
                signed_on=h.signed_on, handed_over_on=h.handed_over_on, allocated_on=h.allocated_on,
                moved_in_on=h.moved_in_on)
    except IntegrityError:
        refusal = await unit_taken(h.community_id, unit, 0)
        if refusal is None and await Household.filter(agreement_no=number).exists():
            refusal = DomainError(f"协议编号{number}刚被同时登记的另一次分户占用，请重试")
        if refusal is None:
            raise
        raise refusal from None
    moving = [m.id for m in split.moving]
    await Person.filter(id__in=moving).update(household_id=new.id, updated_at=work.now())
    head = next(p for p in persons if p.id == split.new_head.id)
    if head.relation != HEAD:
        await Person.filter(id=head.id).update(relation=HEAD)
    await audit.record(work, "registry.split", "household", new.agreement_no,
                       {"from": [None, h.agreement_no], "persons": [None, moving], "unit": [None, unit]})
    # the lines follow the persons; so do the open hand-offs about them
    line_ids = list(await Entitlement.filter(person_id__in=moving).values_list("id", flat=True))
    moved = await Handoff.filter(entitlement_id__in=line_ids, status__in=list(OPEN)).update(household_id=new.id)
    # the new household's head-only lines, and its notice when it has moved in
    opened = await _open_lines(work, conn, [head.id], change.on, "分户")
    if new.status == Status.MOVED_IN:
        pending = set(await Handoff.filter(entitlement__person_id__in=moving, status__in=list(OPEN)).values_list(
            "entitlement_id", flat=True))  # the moved ones, and those just sent for the new head's lines
        lines = [(line, (await line.person).hukou_township == new.dest_township) for line in
                 await Entitlement.filter(person_id__in=moving, closed_on=None) if line.id not in pending]
        await ledger._send_needs(work, conn, new, lines, change.on)
    await _recount(work, new, None)
    await _event(work, new, EventKind.SPLIT, change.on, moving, {"from": h.agreement_no, "head": head.name})
    return moving, {"to": number, "unit": unit, "head": head.name, "handoffs_moved": moved,
                    "lines_opened": opened}, {"new_agreement_no": number}


async def member_id(work: Work, agreement_no: str, key: str) -> int:
    """A member of a household in the actor's scope, by full ID number or person id (the command
    line names persons by their ID)."""
    require(work.actor.role, "registry.view")
    h = await _household(work.actor, agreement_no)
    key = (key or "").strip()
    query = None
    if key.isascii() and key.isdigit() and len(key) < 10:
        query = Person.filter(household_id=h.id, id=int(key))
    elif len(number := idnumber.normalize(key)) == 18:
        query = Person.filter(household_id=h.id, id_number=number)
    found = await query.first() if query is not None else None
    if found is None:
        raise DomainError(f"协议编号{h.agreement_no}的户中没有身份证号或编号为“{key[:20]}”的成员")
    return found.id


# ---------------------------------------------------------------- reading


def _member_row(p: Person, policy, full_ids: bool) -> dict:
    return {"person_id": p.id, "name": p.name, "relation": p.relation,
            "id_number": p.id_number if full_ids else idnumber.mask(p.id_number),
            "hukou_township": policy.township(p.hukou_township).name,
            "left_on": p.left_on.isoformat() if p.left_on else None,
            "left_label": LEFT_LABELS.get(p.left_kind, "") if p.left_kind else "",
            "current": p.left_on is None}


async def history(work: Work, agreement_no: str, *, full_ids: bool = False) -> dict:
    """A household's members, present and past, its change events (newest first) and its
    requests; with the events and steps the actor may use here. IDs masked unless `full_ids`
    (shown where `registry.show_household` revealed them, and audited there)."""
    actor, policy = work.actor, work.policy
    require(actor.role, "registry.view")
    if full_ids:
        require(actor.role, "registry.full_id")
    h = await _household(actor, agreement_no)
    persons = await _members(h.id)
    names = {p.id: p.name for p in persons}
    events = await HouseholdEvent.filter(household_id=h.id).order_by("-on", "-id")
    missing = {i for e in events for i in e.persons if i not in names}
    if missing:  # members since split off or gone to another household
        names.update(dict(await Person.filter(id__in=list(missing)).values_list("id", "name")))
    actors = await audit.who_acted({e.actor for e in events})
    requests = await ChangeRequest.filter(household_id=h.id).order_by("-id").limit(50)
    open_ = h.status != Status.WITHDRAWN
    return {
        "agreement_no": h.agreement_no, "version": h.version, "signed_on": h.signed_on.isoformat(),
        "holds_unit": h.status in HOLDS_UNIT,
        "members": [_member_row(p, policy, full_ids) for p in persons],
        "events": [{"id": e.id, "kind": e.kind, "kind_label": EVENT_LABELS[EventKind(e.kind)], "on": e.on.isoformat(),
                    "persons": [names.get(i, str(i)) for i in e.persons], "detail": e.detail,
                    "text": _event_text(e, names, policy), "actor": actors.get(e.actor, e.actor)} for e in events],
        "requests": [_request_row(r, h, "", actor) for r in requests],
        "may_record": open_ and allowed(actor.role, "registry.change"),
        "may_request": open_ and allowed(actor.role, "registry.request"),
        "relations": sorted(policy.relations), "join_reasons": JOIN_REASONS, "leave_reasons": LEAVE_REASONS,
        "townships": [t.name for t in policy.townships],
    }


def _event_text(e: HouseholdEvent, names: dict[int, str], policy) -> str:
    """One sentence of what happened, for the page."""
    d = e.detail
    who = "、".join(names.get(i, str(i)) for i in e.persons)
    kind = EventKind(e.kind)
    if kind is EventKind.BIRTH:
        text = f"{who}出生（{d.get('relation', '')}）"
    elif kind is EventKind.JOIN:
        text = f"{who}迁入本户（{d.get('relation', '')}）"
    elif kind is EventKind.DEATH:
        text = f"{who}死亡"
    elif kind is EventKind.LEAVE:
        to = d.get("to_township")
        where = f"迁往{policy.township(to).name}" if to else "迁出本区"
        text = f"{who}{where}（{d.get('reason', '')}）"
        for label, codes in (d.get("lines") or {}).items():
            text += f"；{len(codes)}项事项{label}"
    elif kind is EventKind.HEAD:
        text = f"户主由{d.get('old_head', '')}变更为{d.get('head', '')}"
    elif "to" in d:
        text = f"{who}分户至新户{d['to']}" + (f"（房号{d['unit']}）" if d.get("unit") else "")
    else:
        text = f"自原户{d.get('from', '')}分出：{who}，户主{d.get('head', '')}"
    if d.get("lines_opened"):
        text += f"；开立{len(d['lines_opened'])}项事项"
    if d.get("lines_closed"):
        text += f"；关闭{len(d['lines_closed'])}项事项"
    if d.get("note") and kind not in (EventKind.LEAVE,):
        text += f"。说明：{d['note']}"
    return text


# ---------------------------------------------------------------- desk requests


def _request_row(r: ChangeRequest, h: Household, community: str, actor: Actor) -> dict:
    kind = EventKind(r.kind)
    return {"id": r.id, "agreement_no": h.agreement_no, "community": community, "kind": kind.value,
            "kind_label": EVENT_LABELS[kind], "on": r.on.isoformat(), "status": r.status,
            "status_label": REQUEST_LABELS[RequestStatus(r.status)], "detail": _shown_detail(r.detail, actor),
            "requested_by": r.requested_by, "decided_by": r.decided_by,
            "decided_on": r.decided_on.isoformat() if r.decided_on else None, "reason": r.reason,
            "event_id": r.event_id, "version": r.version,
            "steps": list(allowed_steps(REQUEST, r.status, actor.role)) if rule.sees_household(actor, h) else []}


def _shown_detail(detail: dict, actor: Actor) -> dict:
    shown = dict(detail)
    if shown.get("id_number") and not allowed(actor.role, "registry.full_id"):
        shown["id_number"] = idnumber.mask(shown["id_number"])
    return shown


async def file_request(work: Work, agreement_no: str, change: Change) -> dict:
    """A desk heard of a birth or a death at the reception: a request the liaison confirms or
    refuses. Checked now as the event would be (so an impossible one is refused at once) and
    again at confirmation; the household is not touched."""
    actor = work.actor
    require(actor.role, "registry.request")
    kind = EventKind(change.kind)
    if kind not in REQUEST_KINDS:
        raise DomainError("窗口只能提交出生或死亡的申请")
    async with work.transaction():
        h = await _household(actor, agreement_no)
        if h.status == Status.WITHDRAWN:
            raise DomainError(f"该户已于{h.withdrawn_on}退出，不能再申请登记{EVENT_LABELS[kind]}")
        check_date(change.on, h.signed_on, work.today, EVENT_LABELS[kind])
        detail: dict = {"note": bounded_text(change.note, "说明")}
        if kind is EventKind.BIRTH:
            detail.update(name=bounded_text(change.name, "姓名", required=True, limit=64),
                          id_number=_new_id(change, work.today),
                          relation=check_relation(change.relation, work.policy.relations))
            if idnumber.birth_date(detail["id_number"]) != change.on:
                raise DomainError(f"出生日期{change.on}与身份证号中的出生日期"
                                  f"{idnumber.birth_date(detail['id_number'])}不一致")
            if await Person.filter(id_number=detail["id_number"]).exists():
                raise DomainError(f"身份证号{idnumber.mask(detail['id_number'])}已在登记中，不能重复申请")
        else:
            if change.person is None:
                raise DomainError("请选择死亡的成员")
            members = _as_members(await _members(h.id))
            m = member(members, change.person, h.agreement_no)
            if m.left_on is not None:
                raise DomainError(f"{m.name}已于{m.left_on}{LEFT_LABELS.get(m.left_kind, '')}，不能再申请登记死亡")
            detail.update(person=m.id, name=m.name)
        pending = await ChangeRequest.filter(household_id=h.id, kind=kind.value,
                                             status=RequestStatus.REQUESTED.value).values_list("detail", flat=True)
        if any(p.get("name") == detail.get("name") for p in pending):
            raise DomainError(f"{detail['name']}的{EVENT_LABELS[kind]}申请已在等待确认，不必重复提交")
        r = await ChangeRequest.create(household_id=h.id, kind=kind.value, on=change.on, detail=detail,
                                       status=RequestStatus.REQUESTED.value, requested_by=actor.login)
        await audit.record(work, "registry.request", "change_request", r.id,
                           {"household": [None, h.agreement_no], "kind": [None, kind.value],
                            "on": [None, change.on.isoformat()]})
        community = (await h.community).name
    return _request_row(r, h, community, actor)


async def list_requests(work: Work, status: str = RequestStatus.REQUESTED.value) -> dict:
    """The requests of the households the actor reaches (a desk its community's, a liaison its
    township's), oldest first: the liaison's list of pending ones by default."""
    actor = work.actor
    require(actor.role, "registry.view")
    try:
        wanted = RequestStatus(status)
    except ValueError:
        raise DomainError("状态只能是 requested、confirmed 或 refused") from None
    query = ChangeRequest.filter(status=wanted.value, household_id__in=Subquery(
        Household.filter(scope.households(actor)).values("id")))
    total = await query.count()
    rows = await query.order_by("id").limit(REQUEST_PAGE).prefetch_related("household__community")
    return {"total": total, "items": [_request_row(r, r.household, r.household.community.name, actor)
                                      for r in rows]}


async def decide_request(work: Work, request_id: int, step: str, *, reason: str = "",
                         expected_version: int | None = None) -> dict:
    """The liaison in scope (or the office) confirms a request — the event is recorded as if
    they had entered it, dated as the desk heard it — or refuses it with a reason."""
    actor = work.actor
    require(actor.role, "registry.decide")
    reason = bounded_text(reason, "退回原因")
    async with work.transaction() as conn:
        r = await ChangeRequest.get_or_none(id=request_id)
        h = await Household.get_or_none(id=r.household_id) if r else None
        if r is None or h is None or not rule.sees_household(actor, h):
            raise NotFound(f"找不到成员变动申请 {request_id}")
        after = apply(REQUEST, r.status, step, actor.role, reason=reason)
        changes: dict = {"status": after.value, "decided_by": actor.login, "decided_on": work.today,
                         "reason": reason}
        if after is RequestStatus.CONFIRMED:
            d = r.detail
            change = Change.model_validate({
                "kind": r.kind, "on": r.on, "name": d.get("name", ""), "id_number": d.get("id_number", ""),
                "relation": d.get("relation", ""), "person": d.get("person"),
                "note": d.get("note") or f"窗口申请 {r.id}"}, strict=False)
            event = await _apply(work, conn, h, change)
            changes["event_id"] = event["id"]
        before = {k: getattr(r, k) for k in changes}
        await versioned.save(work, r, changes, expected_version, "该申请")
        await audit.record(work, f"registry.request_{step}", "change_request", r.id, audit.diff(before, changes))
        community = (await h.community).name
    return _request_row(r, h, community, actor)
