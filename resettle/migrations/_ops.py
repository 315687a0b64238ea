"""Operations the migrations share (the loader skips modules whose names start with "_")."""
from tortoise.migrations import operations as ops


class AddColumn(ops.AddField):
    """A column added to a table other rows point at (person: entitlement, demand): reversed with
    DROP COLUMN (SQLite 3.35+, PostgreSQL), because SQLite's default rebuild of the table would
    trip the foreign keys. `column_sql`, when given, is the column's definition spelled out:
    SQLite refuses a NOT NULL column without a default on a table that has rows, which is every
    database such a migration upgrades."""

    def __init__(self, table: str, model_name: str, name: str, field, column_sql: str = "") -> None:
        super().__init__(model_name=model_name, name=name, field=field)
        self.table, self.column_sql = table, column_sql

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if not self.column_sql:
            await super().database_forward(app_label, old_state, new_state, state_editor)
        elif state_editor:
            await state_editor._run_sql(f'ALTER TABLE "{self.table}" ADD COLUMN "{self.name}" {self.column_sql}')

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor:
            await state_editor._run_sql(f'ALTER TABLE "{self.table}" DROP COLUMN "{self.name}"')
