"""One shape for every workflow: a table of transitions (from state, step, to state, who may, what
it needs) and two pure functions over it. Each workflow's table lives in its rules module; the
services `apply` it and the pages ask `allowed_steps` which steps to offer, so a page offers no
step the service would refuse for the state or the role."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from resettle.errors import DomainError
from resettle.rules import permissions

Facts = Mapping[str, Any]


def given(value: Any) -> bool:
    """A fact is given when it is there and, for text, not blank."""
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


@dataclass(frozen=True)
class Requirement:
    """What a step needs: the fact `fact` given, and `holds(facts)` true when it is set; otherwise
    `message`, formatted with the facts, says why not."""

    fact: str
    message: str
    holds: Callable[[Facts], bool] | None = None

    def met(self, facts: Facts) -> bool:
        return given(facts.get(self.fact)) and (self.holds is None or self.holds(facts))


@dataclass(frozen=True)
class Transition:
    source: str
    step: str
    to: str
    who: str | frozenset[str]  # a permissions action ("funding.verify"), or the roles that may
    needs: tuple[Requirement, ...] = ()
    when: Callable[[Facts], bool] | None = None  # which row applies where one step has two ends

    def may(self, role: str) -> bool:
        return permissions.allowed(role, self.who) if isinstance(self.who, str) else role in self.who


def _require(state: str, row: Transition, role: str) -> None:
    permissions.require(role, row.who)


@dataclass(frozen=True)
class Table:
    """`refused(state, step, facts)` says why a step cannot be taken from a state (or is no step
    of this workflow at all); `forbid(state, row, role)` raises the refusal of a role."""

    states: frozenset[str]
    transitions: tuple[Transition, ...]
    refused: Callable[[str, str, Facts], str]
    forbid: Callable[[str, Transition, str], None] = _require

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.step for t in self.transitions))


def _rows(table: Table, state: str, step: str) -> list[Transition]:
    return [t for t in table.transitions if t.source == state and t.step == step]


def apply(table: Table, state: str, step: str, actor_role: str, **facts: Any) -> str:
    """The state after `step`, or a DomainError saying why not. What the step asks of anyone is
    checked first (a role that may take it from no state, a fact not given), then the state, the
    role for this state, and how the facts stand to it."""
    every = [t for t in table.transitions if t.step == step]
    here = _rows(table, state, step)
    if every:
        first = (here or every)[0]
        if not any(t.may(actor_role) for t in every):
            table.forbid(state, first, actor_role)
        for need in first.needs:
            if not given(facts.get(need.fact)):
                raise DomainError(need.message.format(**facts))
    row = next((t for t in here if t.when is None or t.when(facts)), None)
    if row is None:
        raise DomainError(table.refused(state, step, facts))
    if not row.may(actor_role):
        table.forbid(state, row, actor_role)
    for need in row.needs:
        if not need.met(facts):
            raise DomainError(need.message.format(**facts))
    return row.to


def allowed_steps(table: Table, state: str, actor_role: str, **facts: Any) -> tuple[str, ...]:
    """The steps the role may take from `state`, in the table's order. A need is held against the
    facts given; one whose fact is not given is left to the form that asks for it."""
    return tuple(step for step in table.steps if any(
        t.may(actor_role) and all(n.met(facts) for n in t.needs if n.fact in facts)
        for t in _rows(table, state, step)))
