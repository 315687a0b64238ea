from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_jobs')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Household',
            index=Index(fields=['unit'], name='ix_household_unit'),
        ),
    ]
