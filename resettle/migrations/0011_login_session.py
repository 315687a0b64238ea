from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Server-side sessions (issue 12, item 6): a copied cookie stops working after logout, a new
# password, a disabled account or "sign out everywhere", and every session has an absolute
# lifetime counted from `created_at`. Login throttling sweeps expired rows by window_start.


class Migration(migrations.Migration):
    dependencies = [('models', '0010_household_unit_held')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginSession',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_index=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_session', 'app': 'models', 'indexes': [Index(fields=['created_at'], name='ix_login_session_created')], 'pk_attr': 'key', 'table_description': 'One signed-in browser. The cookie carries a random id, this table its hash: logging out'},
            bases=['Model'],
        ),
        # expired failure counts are swept by window_start
        ops.AddIndex(
            model_name='Throttle',
            index=Index(fields=['window_start'], name='ix_login_throttle_window'),
        ),
    ]
