from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_desk')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FundingYear',
            fields=[
                ('year', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('envelope', fields.BigIntField()),
                ('committed', fields.BigIntField(default=0)),
            ],
            options={'table': 'funding_year', 'app': 'models', 'pk_attr': 'year', 'table_description': 'The district envelope of a year and what approvals have committed of it. Approval adds to'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Project',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('township_code', fields.CharField(max_length=9)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='projects', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=12)),
                ('item_code', fields.CharField(default='', max_length=16)),
                ('department', fields.CharField(max_length=64)),
                ('title', fields.CharField(max_length=200)),
                ('year', fields.IntField()),
                ('description', fields.TextField(default='', unique=False)),
                ('area_m2', fields.IntField(null=True)),
                ('deliberation', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(max_length=12)),
                ('requested', fields.BigIntField()),
                ('verified', fields.BigIntField(null=True)),
                ('approved', fields.BigIntField(null=True)),
                ('ratio_bp', fields.IntField(null=True)),
                ('district_share', fields.BigIntField(null=True)),
                ('township_share', fields.BigIntField(null=True)),
                ('spent', fields.BigIntField(null=True)),
                ('submitted_on', fields.DateField(null=True)),
                ('verified_on', fields.DateField(null=True)),
                ('verified_by', fields.CharField(default='', max_length=64)),
                ('approved_on', fields.DateField(null=True)),
                ('approved_by', fields.CharField(default='', max_length=64)),
                ('completed_on', fields.DateField(null=True)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'project', 'app': 'models', 'indexes': [Index(fields=['year', 'status', 'township_code'], name='ix_project_year'), Index(fields=['status', 'department', 'year'], name='ix_project_queue'), Index(fields=['community_id', 'item_code', 'year'], name='ix_project_item')], 'pk_attr': 'id', 'table_description': '社区治理项目 asking for district–township co-funding. Amounts in fen. The ratio and the two'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='ProjectEvidence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('models.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='evidence', on_delete=OnDelete.RESTRICT)),
                ('problem', fields.ForeignKeyField('models.Problem', source_field='problem_id', db_constraint=True, to_field='id', related_name='projects', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'project_evidence', 'app': 'models', 'unique_together': (('project_id', 'problem_id'),), 'pk_attr': 'id', 'table_description': 'A desk problem a project cites (the residents who raised it are its evidence).'},
            bases=['Model'],
        ),
    ]
