# The 一老一小一残 counts at a million persons (issue 15): the person carries its household's
# community and whether it counts (household not withdrawn, person present), so that each age
# group is an index-only range count of one table (ix_person_counted); ix_person_left finds the
# few who left, added back on a day before they left. Filled from the rows in SQL, then indexed.
from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from resettle.migrations._ops import AddColumn

# services.groups.COUNTED as it was: a migration does not follow later code
FILL = ("UPDATE person SET community_id = h.community_id, "
        "counted = (person.left_on IS NULL AND h.status <> 'withdrawn') "
        "FROM household h WHERE h.id = person.household_id")


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(FILL)


class Migration(migrations.Migration):
    dependencies = [('models', '0014_outbox')]

    initial = False

    operations = [
        AddColumn(
            'person',
            model_name='Person',
            name='community_id',
            field=fields.IntField(null=True),
        ),
        AddColumn(
            'person',
            model_name='Person',
            name='counted',
            field=fields.BooleanField(default=False),
            column_sql='BOOL NOT NULL DEFAULT FALSE',
        ),
        ops.RunPython(forward, ops.RunPython.noop),
        # after the fill: the indexes are built once, not updated per row
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['counted', 'community_id', 'birth_date'], name='ix_person_counted'),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['left_on'], name='ix_person_left'),
        ),
    ]
