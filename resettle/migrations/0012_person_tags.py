import datetime as dt
import json

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from resettle.db import is_postgres, placeholders

# Issue 15, tags with owners and dates. Person gets the birth date from the ID (so that the
# 一老一小一残 counts are index range counts), and each basic tag a person carried in the
# 、-joined `tags` string becomes a grant (person_tag) valid from the household's signing date for
# the review period the dictionary of the policy in force gives it; `tags` stays as the cache of
# the open grants. Tags outside the dictionary, or dynamic ones (高龄), stay in the string only.
ACTOR = "system:migration-0012"
PAGE = 50_000
SEPARATORS = "、,，;； \t\n"


async def fill_birth_dates(conn) -> None:
    """The birth date is digits 7-14 of every (validated, 18-character) stored ID."""
    if is_postgres(conn):
        await conn.execute_script(
            "UPDATE person SET birth_date = to_date(substr(id_number, 7, 8), 'YYYYMMDD') WHERE birth_date IS NULL")
    else:
        await conn.execute_script(
            "UPDATE person SET birth_date = substr(id_number, 7, 4) || '-' || substr(id_number, 11, 2) || '-' "
            "|| substr(id_number, 13, 2) WHERE birth_date IS NULL")


def _split(text: str) -> list[str]:
    """resettle.rules.tags.split_tags as it was."""
    for sep in SEPARATORS[1:]:
        text = text.replace(sep, SEPARATORS[0])
    return list(dict.fromkeys(t for t in text.split(SEPARATORS[0]) if t))


def _add_months(day: dt.date, months: int) -> dt.date:
    import calendar

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def grant_basic_tags(conn) -> None:
    from resettle.policy import load_policy
    from resettle.rules.tags import TagKind

    months = {t.name: t.review_months for t in load_policy().tag_dictionary if t.kind is TagKind.BASIC}
    now = dt.datetime.now(dt.UTC)
    stamp = now if is_postgres(conn) else now.isoformat(" ")
    last = 0
    while True:
        page = (await conn.execute_query(
            f"SELECT p.id, p.tags, h.signed_on FROM person p JOIN household h ON h.id = p.household_id "
            f"WHERE p.tags <> '' AND p.id > {placeholders(conn, 1)} ORDER BY p.id LIMIT {PAGE}", [last]))[1]
        if not page:
            return
        last = page[-1][0]
        rows = []
        for person_id, tags, signed in page:
            signed = signed if isinstance(signed, dt.date) else dt.date.fromisoformat(str(signed))
            for tag in _split(tags):
                if tag in months:
                    to = _add_months(signed, months[tag])
                    pg = is_postgres(conn)
                    rows.append((stamp, stamp, person_id, tag, signed if pg else signed.isoformat(),
                                 to if pg else to.isoformat(), ACTOR, 1))
        if rows:
            await conn.execute_many(
                "INSERT INTO person_tag (created_at, updated_at, person_id, tag, valid_from, valid_to, granted_by, "
                f"version, renewed_by, closed_by, reason) VALUES ({placeholders(conn, 8)}, '', '', '')", rows)
            await conn.execute_many(
                f"INSERT INTO audit_event (at, actor, action, object_type, object_id, changes) "
                f"VALUES ({placeholders(conn, 6)})",
                [(now, ACTOR, "tags.grant", "person", str(r[2]), json.dumps({"tag": [None, r[3]]}, ensure_ascii=False))
                 for r in rows])


class AddColumn(ops.AddField):
    """AddField whose undo drops the column in place: SQLite's default undo remakes the person
    table, which the ledger's foreign keys refuse once persons exist."""

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor:
            await state_editor.client.execute_script(f"ALTER TABLE person DROP COLUMN {self.name}")


async def forward(apps, schema_editor) -> None:
    conn = schema_editor.client
    await fill_birth_dates(conn)
    await grant_basic_tags(conn)


class Migration(migrations.Migration):
    dependencies = [('models', '0011_login_session')]

    initial = False

    operations = [
        AddColumn(
            model_name='Person',
            name='birth_date',
            field=fields.DateField(null=True),
        ),
        ops.CreateModel(
            name='PersonTag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='tag_grants', on_delete=OnDelete.RESTRICT)),
                ('tag', fields.CharField(max_length=16)),
                ('valid_from', fields.DateField()),
                ('valid_to', fields.DateField()),
                ('granted_by', fields.CharField(max_length=64)),
                ('renewed_on', fields.DateField(null=True)),
                ('renewed_by', fields.CharField(default='', max_length=64)),
                ('closed_on', fields.DateField(null=True)),
                ('closed_by', fields.CharField(default='', max_length=64)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'person_tag', 'app': 'models', 'indexes': [Index(fields=['person_id', 'tag'], name='ix_person_tag_person'), Index(fields=['tag', 'closed_on', 'valid_to'], name='ix_person_tag_review')], 'pk_attr': 'id', 'table_description': 'A basic tag (基础标签) granted to a person by its owner for a period: renewing extends'},
            bases=['Timestamped'],
        ),
        ops.RunPython(forward, ops.RunPython.noop),
        # after the fill: building the index over a million rows once, not updating it per row
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['birth_date', 'household_id'], name='ix_person_birth'),
        ),
    ]
