# The 残疾/独居 counts at a million persons (issue 15): each grant carries its person's community
# and `counted`, so that a count is an index-only range of ix_person_tag_counted instead of a
# lookup of the person per grant. Filled from the persons in SQL, then indexed.
from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from resettle.migrations._ops import AddColumn

FILL = ("UPDATE person_tag SET (community_id, counted) = "
        "(SELECT p.community_id, p.counted FROM person p WHERE p.id = person_tag.person_id)")


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(FILL)


class Migration(migrations.Migration):
    dependencies = [('models', '0015_person_counted')]

    initial = False

    operations = [
        AddColumn(
            'person_tag',
            model_name='PersonTag',
            name='community_id',
            field=fields.IntField(null=True),
        ),
        AddColumn(
            'person_tag',
            model_name='PersonTag',
            name='counted',
            field=fields.BooleanField(default=False),
            column_sql='BOOL NOT NULL DEFAULT FALSE',
        ),
        ops.RunPython(forward, ops.RunPython.noop),
        ops.AddIndex(
            model_name='PersonTag',
            index=Index(fields=['tag', 'counted', 'community_id', 'valid_from', 'closed_on', 'person_id'],
                        name='ix_person_tag_counted'),
        ),
    ]
