"""The migrations build exactly the models: a model changed without its migration fails here, as
`tortoise makemigrations` would write one (several branches add migrations at once)."""
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from resettle.db import orm_config


async def test_no_model_change_lacks_its_migration():
    config = orm_config("sqlite://:memory:")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert [(w.name, [type(op).__name__ for op in w.operations]) for w in writers] == []
