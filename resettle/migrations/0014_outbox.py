from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Messages out (issue 16): group robots per township, community or department (the webhook stored
# encrypted), the transactional outbox the sender drains, the bell's notices per user, and 督办.


class Migration(migrations.Migration):
    dependencies = [('models', '0013_household_events')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Channel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('scope', fields.CharField(max_length=12)),
                ('target', fields.CharField(max_length=64)),
                ('kind', fields.CharField(default='robot', max_length=8)),
                ('secret', fields.TextField(unique=False)),
                ('hint', fields.CharField(max_length=80)),
                ('failures', fields.IntField(default=0)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=300)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'notify_channel', 'app': 'models', 'unique_together': (('scope', 'target', 'kind'),), 'pk_attr': 'id', 'table_description': 'Where a township, community or department is told things: a 企业微信/政务微信 group robot.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Notice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=160)),
                ('kind', fields.CharField(max_length=32)),
                ('text', fields.CharField(max_length=300)),
                ('link', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice', 'app': 'models', 'unique_together': (('user_id', 'key'),), 'indexes': [Index(fields=['user_id', 'read_at', 'id'], name='ix_notice_unread')], 'pk_attr': 'id', 'table_description': 'The bell: one row per user and event, so nothing depends on the robot alone.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('scope', fields.CharField(max_length=12)),
                ('target', fields.CharField(max_length=64)),
                ('kind', fields.CharField(max_length=32)),
                ('key', fields.CharField(unique=True, max_length=160)),
                ('batch', fields.CharField(null=True, max_length=160)),
                ('count', fields.IntField(default=1)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('body', fields.TextField(default='', unique=False)),
                ('status', fields.CharField(default='queued', max_length=8)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(default='', max_length=128)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'outbox_message', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'], name='ix_outbox_due'), Index(fields=['scope', 'target', 'status'], name='ix_outbox_target'), Index(fields=['batch', 'status'], name='ix_outbox_batch')], 'pk_attr': 'id', 'table_description': 'A message to a group, written in the transaction of the event it reports (so a rolled-back'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Escalation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('object_type', fields.CharField(max_length=8)),
                ('object_id', fields.IntField()),
                ('at_status', fields.CharField(max_length=12)),
                ('township_code', fields.CharField(max_length=9)),
                ('scope', fields.CharField(max_length=12)),
                ('target', fields.CharField(max_length=64)),
                ('note', fields.CharField(max_length=200)),
                ('new_due', fields.DateField()),
                ('opened_on', fields.DateField()),
                ('opened_by', fields.CharField(max_length=64)),
                ('closed_on', fields.DateField(null=True)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'escalation', 'app': 'models', 'indexes': [Index(fields=['object_type', 'object_id'], name='ix_escalation_object'), Index(fields=['township_code', 'closed_on'], name='ix_escalation_township')], 'pk_attr': 'id', 'table_description': '督办: the office presses the group responsible for an overdue hand-off, action or project step,'},
            bases=['Timestamped'],
        ),
    ]
