"""一老一小一残: counts of the elderly, the very old, children, the disabled and those living
alone among the persons of non-withdrawn households, per destination township or settlement
community, on a date; and the masked roster of one group.

Definitions (on the day D asked): 老年 `aged_60_plus` and 高龄 `aged_80_plus` are ages >= 60 and
>= 80, 未成年 `under_18` age < 18 (born by D), from the birth date stored from the ID; 残疾
`disabled` and 独居 `living_alone` are persons holding that basic tag on D (granted from on or
before D, not closed by D). 独居 is the tag its owner grants after a visit, not a one-person
household: an agreement (协议编号) of one person says nothing about who that person lives with.
Ages are index-only range counts of ix_person_counted (counted, community_id, birth_date), the
person's own copies of what the count filters by (see COUNTED), so a city-sized registry counts
in SQL without joining its households; 残疾 and 独居 are index-only too, of ix_person_tag_counted,
each grant carrying its person's copies (sync_counted keeps both)."""

from __future__ import annotations

import datetime as dt

from resettle.db import connection, is_postgres, placeholders
from resettle.errors import DomainError
from resettle.models import Household, Person
from resettle.rules import idnumber
from resettle.rules import scope as rule
from resettle.rules.permissions import require
from resettle.rules.tags import age_on, born_by
from services.work import Work

GROUPS = {"aged_60_plus": "老年（60岁及以上）", "aged_80_plus": "高龄（80岁及以上）", "under_18": "未成年（不满18岁）",
          "disabled": "残疾", "living_alone": "独居"}
TAG_GROUPS = {"disabled": "残疾", "living_alone": "独居"}
ROSTER_MAX = 5000


def _age_conditions(on: dt.date) -> dict[str, str]:
    """Each age group as a condition on p.birth_date (ISO literals from the pure rule)."""
    c60, c80, c18 = (born_by(on, n).isoformat() for n in (60, 80, 18))
    return {"aged_60_plus": f"p.birth_date <= '{c60}'", "aged_80_plus": f"p.birth_date <= '{c80}'",
            "under_18": f"p.birth_date > '{c18}' AND p.birth_date <= '{on.isoformat()}'"}


def _tag_condition(on: dt.date) -> str:
    day = on.isoformat()
    return f"t.valid_from <= '{day}' AND (t.closed_on IS NULL OR t.closed_on > '{day}')"


def _present(day: dt.date) -> str:
    """A member on that day: not yet dead or moved away (household_changes sets left_on)."""
    return f"(p.left_on IS NULL OR p.left_on > '{day.isoformat()}')"


# What counts, the one statement of the rule: a person of a household not withdrawn, present
# (left_on null: household_changes sets it on a death or a leave). Stored on the person as
# `counted` (with the household's `community_id`) by sync_counted, in the writer's transaction;
# a day before someone left is answered by adding back those who left after it (_left_after).
COUNTED = "(person.left_on IS NULL AND h.status <> 'withdrawn')"


async def sync_counted(conn, household_ids) -> None:
    """Make `person.community_id` and `person.counted` true for the persons of some households,
    and their grants' copies of them (every write path that changes a household's status or
    community, or a person's household or presence, calls this with the households it touched,
    on its own connection)."""
    await _by_ids(conn, "UPDATE person SET community_id = h.community_id, counted = "
                        f"{COUNTED} FROM household h WHERE h.id = person.household_id AND person.household_id ",
                  household_ids)
    await _by_ids(conn, f"{_COPY_TO_GRANTS} IN (SELECT id FROM person WHERE household_id ", household_ids, ")")


async def sync_grants(conn, person_ids) -> None:
    """Give some persons' grants their persons' copies (a grant written in bulk, the import's)."""
    await _by_ids(conn, f"{_COPY_TO_GRANTS} ", person_ids)


async def locked_copies(person_ids) -> dict[int, dict]:
    """What grants written one at a time copy from their persons, read under a lock of the
    persons' household rows: every writer of a household's status or members updates that row
    too, so a withdrawal and a grant beside it wait for each other and the grant copies what the
    withdrawal committed (PostgreSQL; SQLite's writers queue anyway)."""
    ids = sorted({int(i) for i in person_ids})
    households = sorted(set(await Person.filter(id__in=ids).values_list("household_id", flat=True)))
    await Household.filter(id__in=households).order_by("id").select_for_update()
    return {r["id"]: {"community_id": r["community_id"], "counted": r["counted"]}
            for r in await Person.filter(id__in=ids).values("id", "community_id", "counted")}


# the person's copies onto its grants, one row-value assignment (SQLite 3.15+, PostgreSQL)
_COPY_TO_GRANTS = ("UPDATE person_tag SET (community_id, counted) = (SELECT p.community_id, p.counted "
                   "FROM person p WHERE p.id = person_tag.person_id) WHERE person_tag.person_id")


async def _by_ids(conn, sql: str, ids, tail: str = "") -> None:
    """Run `sql` + a match of some ids + `tail`: one array on PostgreSQL, chunks of the bind
    limit on SQLite."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        return
    if is_postgres(conn):
        await conn.execute_query(f"{sql}= ANY($1::int[]){tail}", [ids])
        return
    from services.bulk import LOOKUP_CHUNK

    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start:start + LOOKUP_CHUNK]
        await conn.execute_query(f"{sql}IN ({placeholders(conn, len(chunk))}){tail}", chunk)


def _left_after(day: dt.date) -> str:
    """Not counted today, but counted on `day`: left after it, from a household not withdrawn
    (the few rows of ix_person_left, each joined to its household)."""
    return (f"(p.counted = FALSE AND p.left_on > '{day.isoformat()}' AND EXISTS (SELECT 1 FROM household h "
            "WHERE h.id = p.household_id AND h.status <> 'withdrawn'))")


async def _range_counts(conn, ranges: list[tuple[str | None, str]]) -> dict[int, list[int]]:
    """Counted persons per community born in each (low, high]: one index-only range of
    ix_person_counted per community and range, all in one statement (a correlated COUNT per
    community reads only its range; an IN list with GROUP BY was slower on SQLite)."""
    parts = []
    for low, high in ranges:
        lower = f" AND p.birth_date > '{low}'" if low else ""
        parts.append(f"(SELECT COUNT(*) FROM person p WHERE p.counted = TRUE AND p.community_id = c.id "
                     f"AND p.birth_date <= '{high}'{lower})")
    rows = await conn.execute_query(f"SELECT c.id, {', '.join(parts)} FROM community c")
    return {int(r[0]): [int(n) for n in list(r)[1:]] for r in rows[1]}


async def group_counts(work: Work, *, by: str = "township", on: dt.date | None = None) -> list[dict]:
    """Per destination township (or community): the five counts, a total row last."""
    actor, policy = work.actor, work.policy
    require(actor.role, "registry.stats")
    if by not in ("township", "community"):
        raise DomainError("只能按 township（乡镇）或 community（安置社区）统计")
    on = on or work.today
    conn = connection()
    c60, c80, c18 = (born_by(on, n).isoformat() for n in (60, 80, 18))
    communities = await conn.execute_query_dict(
        "SELECT id, name, township_code FROM community ORDER BY township_code, name")
    # counted today: three disjoint ranges (80+, 60-79, under 18) of the one index
    found: dict[int, dict] = {}
    for c, (old, sixties, young) in (await _range_counts(conn, [(None, c80), (c80, c60),
                                                                 (c18, on.isoformat())])).items():
        found[c] = {"aged_60_plus": old + sixties, "aged_80_plus": old, "under_18": young,
                    "disabled": 0, "living_alone": 0}
    ages = _age_conditions(on)
    for r in await conn.execute_query_dict(
            f"SELECT p.community_id AS k, SUM(CASE WHEN {ages['aged_60_plus']} THEN 1 ELSE 0 END) AS a60, "
            f"SUM(CASE WHEN {ages['aged_80_plus']} THEN 1 ELSE 0 END) AS a80, "
            f"SUM(CASE WHEN {ages['under_18']} THEN 1 ELSE 0 END) AS u18 FROM person p "
            f"WHERE {_left_after(on)} GROUP BY p.community_id"):
        row = found.setdefault(r["k"], dict.fromkeys(GROUPS, 0))
        row["aged_60_plus"] += int(r["a60"] or 0)
        row["aged_80_plus"] += int(r["a80"] or 0)
        row["under_18"] += int(r["u18"] or 0)
    # two disjoint sets of persons, summed: those counted today, an index-only range of
    # ix_person_tag_counted per tag; those who left after the day, the few grants not counted
    # today, each checked against its person (an OR of them would have PostgreSQL plan, and
    # JIT-compile, a nested loop over every grant)
    for present in ("t.counted = TRUE", f"t.counted = FALSE AND EXISTS (SELECT 1 FROM person p WHERE "
                                        f"p.id = t.person_id AND {_left_after(on)})"):
        for r in await conn.execute_query_dict(
                f"SELECT t.community_id AS k, t.tag AS tag, COUNT(DISTINCT t.person_id) AS n FROM person_tag t "
                f"WHERE t.tag IN ('残疾', '独居') AND {present} AND {_tag_condition(on)} "
                "GROUP BY t.community_id, t.tag"):
            row = found.setdefault(r["k"], dict.fromkeys(GROUPS, 0))
            row["disabled" if r["tag"] == "残疾" else "living_alone"] += int(r["n"])
    blank = dict.fromkeys(GROUPS, 0)
    rows = []
    if by == "township":
        counts: dict[str, dict] = {}
        for c in communities:
            into = counts.setdefault(c["township_code"], dict.fromkeys(GROUPS, 0))
            for name in GROUPS:
                into[name] += found[c["id"]][name]
        for t in policy.townships:
            if rule.sees_township(actor, t.code) and ("in" in t.roles or t.code in counts):
                rows.append({"township": t.name, "code": t.code, **blank, **counts.get(t.code, {})})
    else:
        for c in communities:
            if rule.sees_community(actor, c["id"], c["township_code"]):
                rows.append({"community": c["name"], "township": policy.township(c["township_code"]).name,
                             "community_id": c["id"], **blank, **found[c["id"]]})
    total = {"township": "合计"} if by == "township" else {"community": "合计", "township": ""}
    total.update({name: sum(r[name] for r in rows) for name in GROUPS})
    return rows + [total]


async def roster(work: Work, group: str, *, community: int | None = None, township: str = "",
                 on: dt.date | None = None, limit: int = ROSTER_MAX) -> dict:
    """The persons of one group, masked, for the desk (its community) and the township (its
    destination households): name, masked ID, age, household, community, unit, phone masked."""
    actor, policy = work.actor, work.policy
    require(actor.role, "groups.roster")
    if group not in GROUPS:
        raise DomainError(f"人群只能是：{'、'.join(GROUPS)}")
    on = on or work.today
    conn = connection()
    where, args = ["h.status <> 'withdrawn'", _present(on)], []
    if group in TAG_GROUPS:
        where.append(f"EXISTS (SELECT 1 FROM person_tag t WHERE t.person_id = p.id AND t.tag = '{TAG_GROUPS[group]}' "
                     f"AND {_tag_condition(on)})")
    else:
        where.append(_age_conditions(on)[group])
    own = rule.own_community(actor)
    reached = rule.own_township(actor)
    if own is not None:
        community = own
    if community is not None:
        where.append(f"h.community_id = {placeholders(conn, 1, start=len(args) + 1)}")
        args.append(int(community))
    if reached is not None:
        township = reached
    if township:
        where.append(f"h.dest_township = {placeholders(conn, 1, start=len(args) + 1)}")
        args.append(township)
    rows = await conn.execute_query_dict(
        "SELECT p.id, p.name, p.id_number, p.birth_date, p.phone, p.relation, h.agreement_no, h.unit, "
        "c.name AS community, c.township_code FROM person p JOIN household h ON h.id = p.household_id "
        f"JOIN community c ON c.id = h.community_id WHERE {' AND '.join(where)} "
        f"ORDER BY c.township_code, c.name, h.agreement_no, p.id LIMIT {int(limit) + 1}", args)
    items = []
    for r in rows[:limit]:
        born = idnumber.birth_date(r["id_number"])
        # a paper that travels: the ID is masked for every role
        items.append({"name": r["name"], "id_number": idnumber.mask(r["id_number"]),
                      "age": age_on(born, on),
                      "relation": r["relation"], "household": r["agreement_no"], "unit": r["unit"],
                      "community": r["community"], "township": policy.township(r["township_code"]).name,
                      "phone": _mask_phone(r["phone"])})
    return {"group": group, "label": GROUPS[group], "on": on.isoformat(), "items": items,
            "truncated": len(rows) > limit}


def _mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else ("*" * len(phone))


ROSTER_COLUMNS = {"township": "乡镇", "community": "安置社区", "household": "协议编号", "unit": "房号",
                  "name": "姓名", "id_number": "公民身份号码", "age": "年龄", "relation": "与户主关系",
                  "phone": "联系电话"}


def write_roster(result: dict, path) -> str:
    """The roster as .xlsx (inert cells, resettle.sheets) or .pdf (embedded font, resettle.pdf)."""
    from pathlib import Path

    path = Path(path)
    title = f"一老一小一残名册：{result['label']}"
    if path.suffix.lower() == ".pdf":
        from resettle.pdf import list_pdf

        widths = {"township": 18, "community": 30, "household": 28, "unit": 22, "name": 20, "id_number": 40,
                  "age": 12, "relation": 18, "phone": 28}
        list_pdf(path, title, f"统计日 {result['on']}，共 {len(result['items'])} 人",
                 [(result["label"], ROSTER_COLUMNS, result["items"])], widths)
        return str(path)
    from resettle.sheets import write_table

    return str(write_table(result["items"], ROSTER_COLUMNS, path))
