import datetime as dt
import json
import re
import sys
import unicodedata

from tortoise import migrations
from tortoise.migrations import operations as ops

from resettle.db import placeholders

# Once allocated (分房) or moved in (入住) a unit holds one household at a time per community; a
# sheet's 房号 before allocation is provisional and a withdrawn household frees its unit. The
# statuses are resettle.rules.household.HOLDS_UNIT, written out here so that this migration
# stays what it was when it ran. A partial unique index decides it in the database, so two
# clerks allocating one unit at once cannot both win.
STATUSES = "('allocated', 'moved_in')"
HELD = f"status IN {STATUSES} AND unit <> ''"
ACTOR = "system:migration-0010"
PAGE = 50_000
_SPACE = re.compile(r"\s+")


def _fold(unit: str) -> str:
    """resettle.rules.household.unit_key as it was: NFKC-folded, no whitespace (column width)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", unit))[:64]


async def _audit(conn, rows: list[tuple[str, str, dict]]) -> None:
    now = dt.datetime.now(dt.UTC)
    await conn.execute_many(
        f"INSERT INTO audit_event (at, actor, action, object_type, object_id, changes) VALUES ({placeholders(conn, 6)})",
        [(now, ACTOR, action, "household", agreement_no, json.dumps(changes, ensure_ascii=False, separators=(",", ":")))
         for action, agreement_no, changes in rows])


async def fold_held_units(conn) -> None:
    """Held units in the one spelling the index compares (“２７号 503室” is 27号503室), a page of
    ids at a time; only the few spelled otherwise are written."""
    last = 0
    while True:
        page = (await conn.execute_query(
            f"SELECT id, agreement_no, unit FROM household WHERE {HELD} AND id > {placeholders(conn, 1)} "
            f"ORDER BY id LIMIT {PAGE}", [last]))[1]
        if not page:
            return
        last = page[-1][0]
        changed = [(i, no, unit, _fold(unit)) for i, no, unit in page if _fold(unit) != unit]
        if changed:
            marks = placeholders(conn, 2).split(", ")
            await conn.execute_many(f"UPDATE household SET unit = {marks[0]}, version = version + 1 WHERE id = {marks[1]}",
                                    [(folded, i) for i, _, _, folded in changed])
            await _audit(conn, [("registry.unit_folded", no, {"unit": [unit, folded]}) for _, no, unit, folded in changed])


async def release_duplicates(apps, schema_editor) -> None:
    """Before this index a unit could be allocated twice. The earliest allocation (then the
    lowest id) keeps it — the one the rule would have let through; each later holder's 房号 is
    cleared, with an audit event keeping the old value and the holder, and one line on stderr,
    so the clerk can check the household and record its real unit. The index cannot be built
    over duplicates, and refusing would stop every command, including the ones that fix it."""
    conn = schema_editor.client
    await fold_held_units(conn)
    rows = await conn.execute_query_dict(
        f"SELECT h.id, h.agreement_no, h.community_id, h.unit, c.name AS community FROM household h "
        f"JOIN community c ON c.id = h.community_id WHERE h.status IN {STATUSES} AND h.unit <> '' AND EXISTS ("
        f"SELECT 1 FROM household o WHERE o.community_id = h.community_id AND o.unit = h.unit AND o.id <> h.id "
        f"AND o.status IN {STATUSES}) ORDER BY h.community_id, h.unit, h.allocated_on, h.id")
    keeper: dict[tuple[int, str], str] = {}
    released = []
    for r in rows:
        key = (r["community_id"], r["unit"])
        if key not in keeper:
            keeper[key] = r["agreement_no"]
            continue
        await conn.execute_query(
            f"UPDATE household SET unit = '', version = version + 1 WHERE id = {placeholders(conn, 1)}", [r["id"]])
        released.append(("registry.unit_released", r["agreement_no"], {"unit": [r["unit"], ""], "holder": [None, keeper[key]]}))
        print(f"迁移0010：{r['community']}的房号{r['unit']}已分给协议编号{keeper[key]}的户（分房在先），"
              f"协议编号{r['agreement_no']}的户的房号已清空，请核实后重新登记其房号", file=sys.stderr)
    if released:
        await _audit(conn, released)


class Migration(migrations.Migration):
    dependencies = [('models', '0009_handoff_open_inbox')]

    initial = False

    operations = [
        ops.RunPython(release_duplicates, ops.RunPython.noop),
        ops.RunSQL(
            [f"CREATE UNIQUE INDEX ux_household_unit_held ON household (community_id, unit) WHERE {HELD}"],
            reverse_sql=["DROP INDEX ux_household_unit_held"],
        ),
    ]
