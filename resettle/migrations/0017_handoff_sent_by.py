# Who sent a hand-off (a move-in's liaison, a resend, a member's leave), recorded at sending
# rather than inferred from the log; rows sent before stay "" and their page infers it as before.
from tortoise import fields, migrations

from resettle.migrations._ops import AddColumn


class Migration(migrations.Migration):
    dependencies = [('models', '0016_person_tag_counted')]

    initial = False

    operations = [
        AddColumn(
            'handoff',
            model_name='Handoff',
            name='sent_by',
            field=fields.CharField(default='', max_length=64),
            column_sql="VARCHAR(64) NOT NULL DEFAULT ''",
        ),
    ]
