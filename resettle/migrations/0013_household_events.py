# Households that change (issue 15): dated member events, the desk's requests for a birth or a
# death, and a member's leaving date on the person (the row stays for the ledger and history).
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class AddPersonField(ops.AddField):
    """Reversed with DROP COLUMN (SQLite 3.35+, PostgreSQL): SQLite's default rebuild of the
    person table would trip the foreign keys that point at it (entitlement, demand)."""

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor:
            await state_editor._run_sql(f'ALTER TABLE "person" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    dependencies = [('models', '0012_person_tags')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HouseholdEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='change_events', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=8)),
                ('on', fields.DateField()),
                ('persons', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('actor', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'household_event', 'app': 'models', 'indexes': [Index(fields=['household_id', 'on'], name='ix_household_event_household')], 'pk_attr': 'id', 'table_description': "A dated change of a household's members (birth, death, join, leave, 户主 change, 分户),"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChangeRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='change_requests', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=8)),
                ('on', fields.DateField()),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(max_length=10)),
                ('requested_by', fields.CharField(max_length=64)),
                ('decided_by', fields.CharField(default='', max_length=64)),
                ('decided_on', fields.DateField(null=True)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('event', fields.ForeignKeyField('models.HouseholdEvent', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name='requests', on_delete=OnDelete.RESTRICT)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'change_request', 'app': 'models', 'indexes': [Index(fields=['status', 'household_id'], name='ix_change_request_status'), Index(fields=['household_id'], name='ix_change_request_household'), Index(fields=['event_id'], name='ix_change_request_event')], 'pk_attr': 'id', 'table_description': 'A birth or a death a desk heard of at the reception, waiting for the township liaison:'},
            bases=['Timestamped'],
        ),
        AddPersonField(
            model_name='Person',
            name='left_kind',
            field=fields.CharField(max_length=8, null=True),
        ),
        AddPersonField(
            model_name='Person',
            name='left_on',
            field=fields.DateField(null=True),
        ),
    ]
