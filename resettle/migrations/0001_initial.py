from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(db_index=True, max_length=64)),
                ('action', fields.CharField(max_length=64)),
                ('object_type', fields.CharField(max_length=32)),
                ('object_id', fields.CharField(max_length=64)),
                ('changes', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'audit_event', 'app': 'models', 'indexes': [Index(fields=['object_type', 'object_id'], name='ix_audit_object')], 'pk_attr': 'id', 'table_description': 'Append-only: one row per mutation, never updated or deleted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Community',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('township_code', fields.CharField(max_length=9)),
                ('name', fields.CharField(max_length=64)),
            ],
            options={'table': 'community', 'app': 'models', 'unique_together': (('township_code', 'name'),), 'pk_attr': 'id', 'table_description': 'Settlement community (集中居住点 / 安置社区) in its destination township.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Village',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('township_code', fields.CharField(max_length=9)),
                ('name', fields.CharField(max_length=64)),
            ],
            options={'table': 'village', 'app': 'models', 'unique_together': (('township_code', 'name'),), 'pk_attr': 'id', 'table_description': 'Origin village, created on first sight in a sheet.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Household',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('agreement_no', fields.CharField(unique=True, max_length=64)),
                ('origin_township', fields.CharField(max_length=9)),
                ('village', fields.ForeignKeyField('models.Village', source_field='village_id', db_constraint=True, to_field='id', related_name='households', on_delete=OnDelete.RESTRICT)),
                ('group', fields.CharField(default='', max_length=32)),
                ('dest_township', fields.CharField(max_length=9)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='households', on_delete=OnDelete.RESTRICT)),
                ('unit', fields.CharField(default='', max_length=64)),
                ('status', fields.CharField(max_length=16)),
                ('signed_on', fields.DateField()),
                ('handed_over_on', fields.DateField(null=True)),
                ('allocated_on', fields.DateField(null=True)),
                ('moved_in_on', fields.DateField(null=True)),
                ('withdrawn_on', fields.DateField(null=True)),
                ('withdrawn_reason', fields.CharField(default='', max_length=200)),
                ('member_count', fields.IntField(default=0)),
                ('separated_count', fields.IntField(default=0)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'household', 'app': 'models', 'indexes': [Index(fields=['origin_township', 'status', 'member_count'], name='ix_household_origin'), Index(fields=['dest_township', 'status', 'member_count'], name='ix_household_dest'), Index(fields=['community_id', 'status', 'member_count', 'separated_count'], name='ix_household_community')], 'pk_attr': 'id', 'table_description': 'One relocation agreement (协议编号). Person counts are kept here so that township and'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_index=True, db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.RESTRICT)),
                ('id_number', fields.CharField(unique=True, max_length=18)),
                ('name', fields.CharField(db_index=True, max_length=64)),
                ('relation', fields.CharField(max_length=16)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('hukou_township', fields.CharField(max_length=9)),
                ('hukou_moved_on', fields.DateField(null=True)),
                ('tags', fields.CharField(default='', max_length=200)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'person', 'app': 'models', 'pk_attr': 'id'},
            bases=['Timestamped'],
        ),
    ]
