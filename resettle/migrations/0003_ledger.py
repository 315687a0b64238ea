from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Entitlement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='entitlements', on_delete=OnDelete.RESTRICT)),
                ('matter_code', fields.CharField(max_length=16)),
                ('routing', fields.CharField(max_length=8)),
                ('responsible_township', fields.CharField(max_length=9)),
                ('opened_on', fields.DateField()),
                ('closed_on', fields.DateField(null=True)),
                ('close_reason', fields.CharField(default='', max_length=200)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'entitlement', 'app': 'models', 'indexes': [Index(fields=['person_id', 'matter_code'], name='ix_entitlement_person'), Index(fields=['matter_code', 'closed_on', 'responsible_township'], name='ix_entitlement_matter')], 'pk_attr': 'id', 'table_description': '事项台账: one person × one welfare matter, with the township responsible now. Lines are'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Handoff',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('kind', fields.CharField(max_length=8)),
                ('status', fields.CharField(max_length=12)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='handoffs', on_delete=OnDelete.RESTRICT)),
                ('entitlement', fields.ForeignKeyField('models.Entitlement', source_field='entitlement_id', null=True, db_constraint=True, to_field='id', related_name='handoffs', on_delete=OnDelete.RESTRICT)),
                ('from_township', fields.CharField(max_length=9)),
                ('to_township', fields.CharField(max_length=9)),
                ('sent_on', fields.DateField()),
                ('accept_due', fields.DateField()),
                ('complete_due', fields.DateField()),
                ('accepted_on', fields.DateField(null=True)),
                ('completed_on', fields.DateField(null=True)),
                ('closed_on', fields.DateField(null=True)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('resend_of', fields.ForeignKeyField('models.Handoff', source_field='resend_of_id', null=True, db_constraint=True, to_field='id', related_name='resends', on_delete=OnDelete.RESTRICT)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'handoff', 'app': 'models', 'indexes': [Index(fields=['to_township', 'status', 'accept_due'], name='ix_handoff_to'), Index(fields=['from_township', 'status', 'accept_due'], name='ix_handoff_from'), Index(fields=['household_id'], name='ix_handoff_household'), Index(fields=['entitlement_id'], name='ix_handoff_entitlement'), Index(fields=['resend_of_id'], name='ix_handoff_resend')], 'pk_attr': 'id', 'table_description': '双向对接: a dated message between two townships. A transfer carries one line and moves its'},
            bases=['Timestamped'],
        ),
    ]
