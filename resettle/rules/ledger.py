"""The welfare-matters ledger: which matters apply to whom, where responsibility lies, and the
hand-off state machine between townships (transfer moves responsibility when completed; notice
never does). Pure: no database."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from resettle.errors import DomainError
from resettle.rules.workflow import Facts, Requirement, Table, Transition


class Routing(enum.StrEnum):
    STAYS = "STAYS"  # 人走事留
    FOLLOWS = "FOLLOWS"  # 事随人走
    HUKOU = "HUKOU"  # stays until the hukou moves, then follows


ROUTING_LABELS = {Routing.STAYS: "人走事留", Routing.FOLLOWS: "事随人走", Routing.HUKOU: "随户籍迁移"}


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    department: str
    routing: Routing
    everyone: bool = False
    head_only: bool = False
    tags: frozenset[str] = frozenset()
    min_age: int | None = None
    accept_days: int = 5
    complete_days: int = 20


def applies(matter: Matter, *, tags: Iterable[str], age: int, head: bool) -> bool:
    """Whether a matter applies to a person: everyone, the head of household, a tag, an age."""
    if matter.everyone:
        return True
    if matter.head_only:
        return head
    if matter.tags and matter.tags & set(tags):
        return True
    return matter.min_age is not None and age >= matter.min_age


def age_on(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class HandoffKind(enum.StrEnum):
    TRANSFER = "transfer"
    NOTICE = "notice"


class HandoffStatus(enum.StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    REJECTED = "rejected"
    REVOKED = "revoked"


HANDOFF_LABELS = {HandoffStatus.SENT: "待接收", HandoffStatus.ACCEPTED: "已接收",
                  HandoffStatus.COMPLETED: "已办结", HandoffStatus.REJECTED: "已退回",
                  HandoffStatus.REVOKED: "已撤回"}
KIND_LABELS = {HandoffKind.TRANSFER: "转移", HandoffKind.NOTICE: "告知"}
OPEN = (HandoffStatus.SENT, HandoffStatus.ACCEPTED)

HANDOFF_STEPS = {"accept": "接收", "reject": "退回", "complete": "办结", "revoke": "撤回"}
_RECEIVER = frozenset({"receiver", "office"})
_SENDER = frozenset({"sender", "office"})


def _handoff_refused(status: str, step: str, facts: Facts) -> str:
    if step not in HANDOFF_STEPS:
        return f"操作只能是：{'、'.join(HANDOFF_STEPS.values())}"
    return f"该对接单{HANDOFF_LABELS[HandoffStatus(status)]}，不能{HANDOFF_STEPS[step]}"


def _handoff_forbid(status: str, row: Transition, side: str) -> None:
    whose = "接收方乡镇" if "receiver" in row.who else "发出方乡镇"
    raise DomainError(f"只有{whose}或区集中居住办可以{HANDOFF_STEPS[row.step]}")


# The actor's role here is its side of the hand-off: "sender", "receiver" or "office".
HANDOFF = Table(frozenset(HandoffStatus), (
    Transition(HandoffStatus.SENT, "accept", HandoffStatus.ACCEPTED, _RECEIVER),
    Transition(HandoffStatus.SENT, "reject", HandoffStatus.REJECTED, _RECEIVER,
               (Requirement("reason", "退回必须写明原因"),)),
    Transition(HandoffStatus.ACCEPTED, "complete", HandoffStatus.COMPLETED, _RECEIVER),
    Transition(HandoffStatus.SENT, "revoke", HandoffStatus.REVOKED, _SENDER),
), _handoff_refused, _handoff_forbid)


def is_overdue(status: str, accept_due: dt.date, complete_due: dt.date, today: dt.date) -> bool:
    """Not accepted within the accept days, or not completed within the complete days."""
    if status == HandoffStatus.SENT:
        return today > accept_due
    if status == HandoffStatus.ACCEPTED:
        return today > complete_due
    return False


@dataclass(frozen=True)
class Need:
    """What one open line needs: the hand-off the origin sends (None: nothing), to whom, and
    the township responsible meanwhile (responsibility moves only when a transfer completes)."""

    handoff: HandoffKind | None
    responsible: str
    to: str | None = None


def line_need(routing: str, *, origin: str, dest: str, moved_in: bool, hukou_at_dest: bool,
              responsible: str | None = None) -> Need:
    """The one rule for a line that opens, a household that moves in and a hukou that moves.
    A line opens with the origin responsible. Until the household lives in the destination — or
    when it never leaves the township — nothing is handed off (the move-in decides). Once it
    does, a line the origin still holds is transferred when it follows the person (FOLLOWS), or
    the hukou that is now in the destination (HUKOU); otherwise the destination is told (notice).
    A line another township already holds is left alone."""
    responsible = origin if responsible is None else responsible
    if origin == dest or not moved_in or responsible != origin:
        return Need(None, responsible)
    follows = routing == Routing.FOLLOWS or (routing == Routing.HUKOU and hukou_at_dest)
    return Need(HandoffKind.TRANSFER if follows else HandoffKind.NOTICE, origin, dest)


def move_in_action(routing: str, at_origin: bool, hukou_moved: bool) -> HandoffKind | None:
    """`line_need` at a move-in between two townships, for a line held at the origin or not."""
    return line_need(routing, origin="origin", dest="dest", moved_in=True, hukou_at_dest=hukou_moved,
                     responsible="origin" if at_origin else "elsewhere").handoff
