"""Invariants of the ledger under any sequence of hand-off actions by anyone (hypothesis,
stateful): every open line has exactly one responsible township, responsibility is at the
destination exactly when a transfer of that line completed, and the counts add up."""

import asyncio
import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from resettle.actor import Actor
from resettle.db import connect
from resettle.models import Entitlement, Handoff
from resettle.rules.household import Status
from services import ledger, ledger_views, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import work

ORIGIN, DEST = "310151101", "310151110"
ACTORS = [Actor("o", role="office"), Actor("s", role="township", township=ORIGIN),
          Actor("r", role="township", township=DEST), Actor("x", role="township", township="310151102")]


@pytest.fixture
def machine(fresh_database):
    class LedgerMachine(RuleBasedStateMachine):
        @initialize()
        def family_moves_in(self):
            self.loop = asyncio.new_event_loop()
            self.ctx = self.run(connect(fresh_database()))
            self.ctx.__enter__()
            folder = Path(tempfile.mkdtemp())
            rows = [person("A-001", "甲", make_id("19600101", 1), "户主", handed="2024-01-02", tags="党员"),
                    person("A-001", "乙", make_id("19620101", 2), "配偶", handed="2024-01-02", tags="低保、残疾")]
            self.run(import_sheets(work(ACTORS[0]), [write_csv(folder / "s.csv", rows)]))
            self.run(registry.record_step(work(ACTORS[0]), "A-001", Status.ALLOCATED, dt.date(2024, 2, 1)))
            self.run(registry.record_step(work(ACTORS[0]), "A-001", Status.MOVED_IN, dt.date(2024, 3, 1)))

        def run(self, coroutine):
            return self.loop.run_until_complete(coroutine)

        def teardown(self):
            if hasattr(self, "ctx"):
                self.ctx.__exit__(None, None, None)
                self.run(self.ctx.close_connections())
                self.loop.close()

        def handoff_ids(self):
            return self.run(Handoff.all().order_by("id").values_list("id", flat=True))

        @rule(who=st.sampled_from(ACTORS), action=st.sampled_from(["accept", "reject", "complete", "revoke"]),
              pick=st.integers(0, 50), reason=st.sampled_from(["", "材料不全"]))
        def act(self, who, action, pick, reason):
            ids = self.handoff_ids()
            self.run(ledger.act(work(who), [ids[pick % len(ids)]], action, reason=reason))

        @rule(pick=st.integers(0, 50))
        def sender_resends(self, pick):
            rejected = self.run(Handoff.filter(status="rejected").order_by("id").values_list("id", flat=True))
            if rejected:
                self.run(ledger.resend(work(ACTORS[1]), rejected[pick % len(rejected)]))

        @invariant()
        def responsibility_follows_completed_transfers_only(self):
            if not hasattr(self, "ctx"):
                return
            for line in self.run(Entitlement.filter(closed_on=None)):
                completed = self.run(Handoff.filter(entitlement_id=line.id, kind="transfer",
                                                    status="completed").count())
                assert completed <= 1
                assert line.responsible_township == (DEST if completed else ORIGIN)

        @invariant()
        def counts_add_up(self):
            if not hasattr(self, "ctx"):
                return
            view = self.run(ledger_views.dashboard(work(ACTORS[0])))
            lines = self.run(Entitlement.filter(closed_on=None).count())
            assert sum(m["at_origin"] + m["transferred"] for m in view["matters"]) == lines
            open_handoffs = self.run(Handoff.filter(status__in=["sent", "accepted"]).count())
            assert sum(t["incoming"] for t in view["townships"]) == open_handoffs

    return LedgerMachine


def test_ledger_invariants(machine):
    test = machine.TestCase
    test.settings = settings(max_examples=12, stateful_step_count=15, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
    test().runTest()
