from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_ledger')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Desk',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('community', fields.OneToOneField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='desk', on_delete=OnDelete.RESTRICT)),
                ('reception_weekday', fields.IntField()),
                ('reception_start', fields.CharField(max_length=5)),
                ('reception_end', fields.CharField(max_length=5)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'desk', 'app': 'models', 'pk_attr': 'id', 'table_description': '三合署 of one settlement community: its fixed weekly reception slot when it differs from'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DeskWeek',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='desk_weeks', on_delete=OnDelete.RESTRICT)),
                ('week', fields.CharField(max_length=8)),
                ('reception_attendance', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('meeting_on', fields.DateField(null=True)),
                ('meeting_attendance', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('decisions', fields.TextField(default='', unique=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'desk_week', 'app': 'models', 'unique_together': (('community_id', 'week'),), 'pk_attr': 'id', 'table_description': "One community's ISO week: who received residents from each carriage, and the weekly"},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Problem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='problems', on_delete=OnDelete.RESTRICT)),
                ('category', fields.CharField(max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('status', fields.CharField(max_length=12)),
                ('opened_on', fields.DateField()),
                ('scheduled_on', fields.DateField(null=True)),
                ('done_on', fields.DateField(null=True)),
                ('happy_on', fields.DateField(null=True)),
                ('round', fields.IntField(default=1)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'problem', 'app': 'models', 'indexes': [Index(fields=['community_id', 'status', 'category'], name='ix_problem_open'), Index(fields=['community_id', 'opened_on'], name='ix_problem_opened'), Index(fields=['community_id', 'happy_on'], name='ix_problem_happy')], 'pk_attr': 'id', 'table_description': '问题: what one or more demands are about, worked by actions until residents are content.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Action',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('problem', fields.ForeignKeyField('models.Problem', source_field='problem_id', db_constraint=True, to_field='id', related_name='actions', on_delete=OnDelete.RESTRICT)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='actions', on_delete=OnDelete.RESTRICT)),
                ('owner', fields.CharField(max_length=64)),
                ('text', fields.CharField(max_length=500)),
                ('decided_on', fields.DateField()),
                ('due', fields.DateField()),
                ('status', fields.CharField(max_length=12)),
                ('completed_on', fields.DateField(null=True)),
                ('result', fields.TextField(default='', unique=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'desk_action', 'app': 'models', 'indexes': [Index(fields=['problem_id'], name='ix_action_problem'), Index(fields=['community_id', 'status', 'due'], name='ix_action_due'), Index(fields=['community_id', 'decided_on'], name='ix_action_decided')], 'pk_attr': 'id', 'table_description': '实事: one step a carriage or a township department takes on a problem, with a due date.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Demand',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='demands', on_delete=OnDelete.RESTRICT)),
                ('received_on', fields.DateField()),
                ('channel', fields.CharField(max_length=12)),
                ('category', fields.CharField(max_length=16)),
                ('text', fields.TextField(unique=False)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='demands', on_delete=OnDelete.RESTRICT)),
                ('resident_name', fields.CharField(max_length=64)),
                ('contact', fields.CharField(default='', max_length=32)),
                ('unit', fields.CharField(default='', max_length=64)),
                ('entitlement', fields.ForeignKeyField('models.Entitlement', source_field='entitlement_id', null=True, db_constraint=True, to_field='id', related_name='demands', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharField(max_length=12)),
                ('problem', fields.ForeignKeyField('models.Problem', source_field='problem_id', null=True, db_constraint=True, to_field='id', related_name='demands', on_delete=OnDelete.RESTRICT)),
                ('closed_on', fields.DateField(null=True)),
                ('answer', fields.TextField(default='', unique=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'demand', 'app': 'models', 'indexes': [Index(fields=['community_id', 'received_on'], name='ix_demand_received'), Index(fields=['community_id', 'status'], name='ix_demand_status'), Index(fields=['problem_id'], name='ix_demand_problem'), Index(fields=['person_id'], name='ix_demand_person'), Index(fields=['entitlement_id'], name='ix_demand_entitlement')], 'pk_attr': 'id', 'table_description': '需求: what a resident (or a non-resident with a contact) asked, by which channel.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Feedback',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('demand', fields.ForeignKeyField('models.Demand', source_field='demand_id', db_constraint=True, to_field='id', related_name='feedback', on_delete=OnDelete.RESTRICT)),
                ('problem', fields.ForeignKeyField('models.Problem', source_field='problem_id', db_constraint=True, to_field='id', related_name='feedback', on_delete=OnDelete.RESTRICT)),
                ('round', fields.IntField()),
                ('rating', fields.CharField(max_length=12)),
                ('remark', fields.CharField(default='', max_length=500)),
                ('given_on', fields.DateField()),
            ],
            options={'table': 'feedback', 'app': 'models', 'unique_together': (('demand_id', 'round'),), 'indexes': [Index(fields=['problem_id', 'round'], name='ix_feedback_problem'), Index(fields=['given_on'], name='ix_feedback_given')], 'pk_attr': 'id', 'table_description': "回访: one resident's answer about a done problem, per round (a reopen starts a new round)."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Reopening',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('problem', fields.ForeignKeyField('models.Problem', source_field='problem_id', db_constraint=True, to_field='id', related_name='reopenings', on_delete=OnDelete.RESTRICT)),
                ('round', fields.IntField()),
                ('on', fields.DateField()),
                ('reason', fields.TextField(unique=False)),
            ],
            options={'table': 'reopening', 'app': 'models', 'indexes': [Index(fields=['problem_id'], name='ix_reopening_problem'), Index(fields=['on'], name='ix_reopening_on')], 'pk_attr': 'id', 'table_description': 'A done problem sent back to work because residents were not content (append-only).'},
            bases=['Model'],
        ),
    ]
