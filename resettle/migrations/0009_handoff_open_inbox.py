from tortoise import migrations
from tortoise.migrations import operations as ops

# An inbox lists a township's open hand-offs (sent or accepted) by due date, a page at a time.
# ix_handoff_to/_from lead with status, so two statuses came back unordered and every open
# hand-off of the township was sorted for each page (6 ms at a 7,000-item backlog on
# PostgreSQL); these partial indexes hand the page over in order and stop after it. Both engines
# use a partial index when the query repeats its condition, which the inbox query does
# (status IN ('sent', 'accepted'), the order of resettle.rules.ledger.OPEN).
OPEN_INBOX = "WHERE status IN ('sent', 'accepted')"


class Migration(migrations.Migration):
    dependencies = [('models', '0008_household_unit')]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX ix_handoff_to_open ON handoff (to_township, accept_due, id) {OPEN_INBOX}",
             f"CREATE INDEX ix_handoff_from_open ON handoff (from_township, accept_due, id) {OPEN_INBOX}"],
            reverse_sql=["DROP INDEX ix_handoff_to_open", "DROP INDEX ix_handoff_from_open"],
        ),
    ]
