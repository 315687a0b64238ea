"""一老一小一残: counts of the elderly, the very old, children, the disabled and those living
alone among the persons of non-withdrawn households, per destination township or settlement
community, on a date; and the masked roster of one group.

Definitions (on the day D asked): 老年 `aged_60_plus` and 高龄 `aged_80_plus` are ages >= 60 and
>= 80, 未成年 `under_18` age < 18 (born by D), from the birth date stored from the ID; 残疾
`disabled` and 独居 `living_alone` are persons holding that basic tag on D (granted from on or
before D, not closed by D). 独居 is the tag its owner grants after a visit, not a one-person
household: an agreement (协议编号) of one person says nothing about who that person lives with.
Ages are index range counts on `person.birth_date` (no per-person Python), so a city-sized
registry counts in SQL."""

from __future__ import annotations

import datetime as dt

from resettle.db import connection, is_postgres, placeholders
from resettle.errors import DomainError
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


async def group_counts(work: Work, *, by: str = "township", on: dt.date | None = None) -> list[dict]:
    """Per destination township (or community): the five counts, a total row last."""
    actor, policy = work.actor, work.policy
    require(actor.role, "registry.stats")
    if by not in ("township", "community"):
        raise DomainError("只能按 township（乡镇）或 community（安置社区）统计")
    on = on or work.today
    conn = connection()
    key = "h.dest_township" if by == "township" else "h.community_id"
    ages = _age_conditions(on)
    # only the persons in an age group are read, as two plain ranges of ix_person_birth (an OR
    # of the two would have SQLite fetch every matching person row); SQLite's planner would
    # start from the households and read every person row: CROSS JOIN keeps its order
    join = "JOIN" if is_postgres(conn) else "CROSS JOIN"
    base = (f"FROM person p {join} household h ON h.id = p.household_id WHERE h.status <> 'withdrawn' "
            f"AND {_present(on)}")
    found = await conn.execute_query_dict(
        f"SELECT {key} AS k, COUNT(*) AS aged_60_plus, SUM(CASE WHEN {ages['aged_80_plus']} THEN 1 ELSE 0 END) "
        f"AS aged_80_plus {base} AND {ages['aged_60_plus']} GROUP BY {key}")
    young = {r["k"]: int(r["n"]) for r in await conn.execute_query_dict(
        f"SELECT {key} AS k, COUNT(*) AS n {base} AND {ages['under_18']} GROUP BY {key}")}
    tags = await conn.execute_query_dict(
        f"SELECT {key} AS k, t.tag AS tag, COUNT(DISTINCT t.person_id) AS n FROM person_tag t "
        f"JOIN person p ON p.id = t.person_id JOIN household h ON h.id = p.household_id "
        f"WHERE t.tag IN ('残疾', '独居') AND {_tag_condition(on)} AND h.status <> 'withdrawn' "
        f"AND {_present(on)} "
        f"GROUP BY {key}, t.tag")
    counts: dict = {}
    for r in found:
        counts[r["k"]] = {"aged_60_plus": int(r["aged_60_plus"]), "aged_80_plus": int(r["aged_80_plus"] or 0),
                          "under_18": 0}
    for k, n in young.items():
        counts.setdefault(k, {name: 0 for name in ages})["under_18"] = n
    for r in tags:
        row = counts.setdefault(r["k"], {name: 0 for name in ages})
        row["disabled" if r["tag"] == "残疾" else "living_alone"] = int(r["n"])
    blank = dict.fromkeys(GROUPS, 0)
    rows = []
    if by == "township":
        for t in policy.townships:
            if rule.sees_township(actor, t.code) and ("in" in t.roles or t.code in counts):
                rows.append({"township": t.name, "code": t.code, **blank, **counts.get(t.code, {})})
    else:
        communities = await conn.execute_query_dict(
            "SELECT id, name, township_code FROM community ORDER BY township_code, name")
        for c in communities:
            if rule.sees_community(actor, c["id"], c["township_code"]):
                rows.append({"community": c["name"], "township": policy.township(c["township_code"]).name,
                             "community_id": c["id"], **blank, **counts.get(c["id"], {})})
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
