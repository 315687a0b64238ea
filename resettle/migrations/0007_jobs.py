from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_project_verdict')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Job',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('kind', fields.CharField(max_length=16)),
                ('owner', fields.CharField(max_length=64)),
                ('worker', fields.CharField(max_length=128)),
                ('status', fields.CharField(max_length=8)),
                ('stage', fields.CharField(default='排队', max_length=64)),
                ('done', fields.BigIntField(default=0)),
                ('total', fields.BigIntField(default=0)),
                ('result', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(default='', unique=False)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('heartbeat_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job', 'app': 'models', 'indexes': [Index(fields=['status', 'heartbeat_at'], name='ix_job_running')], 'pk_attr': 'key', 'table_description': "Long work started from a page (an import, a year's papers): its progress and outcome, kept"},
            bases=['Model'],
        ),
    ]
