"""The unit of work a use case runs in: who acts (and so, through `services.scope`, which rows
they reach), under which policy, on which working day and clock, in which transaction.

It is made once per request (`web.security.work`) or command (`cli.common.work`) and passed
in as the first argument of every use case. No service reads the wall clock or loads the
policy itself (`tests/test_work.py` scans for it), so a test sets the day it runs on instead of
computing one at import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tortoise.transactions import in_transaction

from resettle.actor import Actor
from resettle.policy import Policy
from resettle.rules.dates import SHANGHAI


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Work:
    actor: Actor
    policy: Policy
    today: dt.date  # the working day, fixed when the work begins: deadlines and "since" count from it
    clock: Callable[[], dt.datetime] = field(default=system_clock, compare=False)

    def now(self) -> dt.datetime:
        """The moment, for timestamps (audit, versions, sessions)."""
        return self.clock()

    def transaction(self):
        """One database transaction (BEGIN IMMEDIATE on SQLite) for the writes of a use case."""
        return in_transaction()

    def by(self, actor: Actor) -> Work:
        """The same work done on behalf of another actor (the demo acting as each role)."""
        return replace(self, actor=actor)

    def on(self, day: dt.date) -> Work:
        """The same work on another working day (back-dated demo data, tests)."""
        return replace(self, today=day)


def begin(actor: Actor, policy: Policy, clock: Callable[[], dt.datetime] = system_clock) -> Work:
    """Work starting now: the working day is the clock's date in Shanghai, not the host's zone."""
    return Work(actor, policy, clock().astimezone(SHANGHAI).date(), clock)
