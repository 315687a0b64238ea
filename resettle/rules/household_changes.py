"""Households that change after signing: births, deaths, members joining or leaving, a new
户主, 分户 — the pure rules the use cases apply, and the desk's request workflow (a birth or a death
heard at the reception, confirmed or refused by the township liaison). No database."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from resettle.errors import DomainError
from resettle.rules.ledger import Routing
from resettle.rules.workflow import Facts, Requirement, Table, Transition

HEAD = "户主"
DETAIL_MAX = 200  # a free-text reason or note


class EventKind(enum.StrEnum):
    BIRTH = "birth"
    DEATH = "death"
    JOIN = "join"
    LEAVE = "leave"
    HEAD = "head"
    SPLIT = "split"


EVENT_LABELS = {EventKind.BIRTH: "出生", EventKind.DEATH: "死亡", EventKind.JOIN: "迁入",
                EventKind.LEAVE: "迁出", EventKind.HEAD: "户主变更", EventKind.SPLIT: "分户"}
# why a member joins or leaves, as the forms offer it
JOIN_REASONS = ("婚入", "回迁", "投靠", "其他")
LEAVE_REASONS = ("婚出", "外迁", "参军", "其他")
# how a member stops being one: Person.left_kind
LEFT_LABELS = {EventKind.DEATH: "死亡", EventKind.LEAVE: "迁出"}


# ---------------------------------------------------------------- dates and members


def check_date(on: dt.date, signed_on: dt.date, today: dt.date, what: str) -> None:
    """An event is dated no earlier than the household's signing and no later than today."""
    if on < signed_on:
        raise DomainError(f"{what}日期{on}早于该户的签约日期{signed_on}")
    if on > today:
        raise DomainError(f"{what}日期{on}晚于今天（{today}），不能登记未发生的事")


@dataclass(frozen=True)
class Member:
    """One person of a household as the rules see it."""

    id: int
    name: str
    relation: str
    left_on: dt.date | None = None
    left_kind: str = ""

    @property
    def current(self) -> bool:
        return self.left_on is None


def current(members: Iterable[Member]) -> list[Member]:
    return [m for m in members if m.current]


def member(members: Sequence[Member], person_id: int, agreement_no: str) -> Member:
    """A member of the household, present or past; another person is refused."""
    found = next((m for m in members if m.id == person_id), None)
    if found is None:
        raise DomainError(f"编号{person_id}的人员不是协议编号{agreement_no}的户的成员")
    return found


def check_present(m: Member, what: str) -> None:
    """A death or a leave is of someone still in the household."""
    if m.left_kind == EventKind.DEATH:
        raise DomainError(f"{m.name}已于{m.left_on}登记死亡，不能再登记{what}")
    if not m.current:
        raise DomainError(f"{m.name}已于{m.left_on}迁出该户，不能再登记{what}")


def check_leaving(members: Sequence[Member], m: Member, what: str, *, death: bool = False) -> None:
    """A member leaving (death, moving away) never leaves the household headless: the head is
    replaced first (or in the same event). A household's last member cannot move away from it
    (that is a withdrawal); the death of the last member is recorded, and the household then
    counts no persons."""
    check_present(m, what)
    if len(current(members)) == 1:
        if death:
            return
        raise DomainError(f"{m.name}是该户唯一的成员，不能登记{what}（整户不再安置请登记退出）")
    if m.relation == HEAD:
        raise DomainError(f"{m.name}是户主：请先登记户主变更，再登记{what}")


def check_new_head(members: Sequence[Member], person_id: int, agreement_no: str) -> Member:
    """The new head is a present member who is not already the head."""
    found = next((m for m in members if m.id == person_id), None)
    if found is None:
        raise DomainError(f"编号{person_id}的人员不是协议编号{agreement_no}的户的成员，不能成为户主")
    if not found.current:
        gone = LEFT_LABELS.get(found.left_kind, "离开")
        raise DomainError(f"{found.name}已于{found.left_on}{gone}，不能成为户主")
    if found.relation == HEAD:
        raise DomainError(f"{found.name}已是户主")
    return found


def check_relation(relation: str, relations: Iterable[str], *, head_allowed: bool = False) -> str:
    """A 与户主关系 from the policy's list; 户主 only where the event makes a head."""
    relation = (relation or "").strip()
    allowed = set(relations)
    if relation not in allowed:
        raise DomainError(f"与户主关系“{relation[:16]}”不在政策文件的列表中")
    if relation == HEAD and not head_allowed:
        raise DomainError("一户只能有一位户主：新成员不能登记为户主（请另行登记户主变更）")
    return relation


@dataclass(frozen=True)
class Split:
    """Who moves to the new household (the head named among them), who stays."""

    moving: tuple[Member, ...]
    staying: tuple[Member, ...]
    new_head: Member


def check_split(members: Sequence[Member], chosen: Iterable[int], new_head: int, agreement_no: str) -> Split:
    """分户: the chosen present members move to a new household headed by one of them; the old
    household keeps at least one member and its head."""
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        raise DomainError("分户须选择分出的成员")
    present = {m.id: m for m in current(members)}
    for person_id in chosen:
        m = member(members, person_id, agreement_no)
        if not m.current:
            raise DomainError(f"{m.name}已不在该户，不能分户")
    staying = tuple(m for m in present.values() if m.id not in chosen)
    if not staying:
        raise DomainError("分户后原户没有成员：至少留一人在原户（整户不能分出）")
    if not any(m.relation == HEAD for m in staying):
        raise DomainError("分户后原户没有户主：户主不能分出，请先登记户主变更")
    if new_head not in chosen:
        raise DomainError("新户的户主须是分出的成员之一")
    moving = tuple(present[i] for i in chosen)
    return Split(moving, staying, present[new_head])


_SUFFIX = re.compile(r"-(\d+)$")


def split_agreement_no(agreement_no: str, taken: Iterable[str], max_length: int = 64) -> str:
    """The new household's 协议编号: the old one with the next free suffix (A-001 → A-001-1,
    then A-001-2), so the split is read off the number."""
    prefix = f"{agreement_no}-"
    used = {int(m.group(1)) for t in taken if t.startswith(prefix) and (m := _SUFFIX.match(t[len(agreement_no):]))}
    n = 1
    while n in used:
        n += 1
    number = f"{prefix}{n}"
    if len(number) > max_length:
        raise DomainError(f"协议编号{agreement_no}过长，无法再加分户后缀")
    return number


# ---------------------------------------------------------------- the ledger


class LeaveAction(enum.StrEnum):
    CLOSE = "close"
    TRANSFER = "transfer"
    KEEP = "keep"


LEAVE_ACTION_LABELS = {LeaveAction.CLOSE: "关闭", LeaveAction.TRANSFER: "转出", LeaveAction.KEEP: "保留"}


def leave_action(routing: str, *, responsible: str, to_township: str | None, hukou_moves: bool) -> LeaveAction:
    """What a line does when its person moves away. Leaving the district (no township of the
    policy to go to), every line closes: nobody here is responsible any longer. Moving to a
    township of the district, the routing decides as at a move-in: 事随人走 (FOLLOWS), and 随户籍
    (HUKOU) when the hukou moves too, are transferred to the new township; 人走事留 (STAYS) — and
    HUKOU without the hukou — stay with the township responsible now. A line already held by
    the new township is kept."""
    if to_township is None:
        return LeaveAction.CLOSE
    if responsible == to_township:
        return LeaveAction.KEEP
    follows = routing == Routing.FOLLOWS or (routing == Routing.HUKOU and hukou_moves)
    return LeaveAction.TRANSFER if follows else LeaveAction.KEEP


# ---------------------------------------------------------------- desk requests


class RequestStatus(enum.StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


REQUEST_LABELS = {RequestStatus.REQUESTED: "待确认", RequestStatus.CONFIRMED: "已确认",
                  RequestStatus.REFUSED: "已退回"}
REQUEST_KINDS = (EventKind.BIRTH, EventKind.DEATH)  # what a desk hears at the reception
REQUEST_STEPS = {"confirm": "确认", "refuse": "退回"}


def _request_refused(status: str, step: str, facts: Facts) -> str:
    if step not in REQUEST_STEPS:
        return f"操作只能是：{'、'.join(REQUEST_STEPS.values())}"
    return f"该申请{REQUEST_LABELS[RequestStatus(status)]}，不能再{REQUEST_STEPS[step]}"


REQUEST = Table(frozenset(RequestStatus), (
    Transition(RequestStatus.REQUESTED, "confirm", RequestStatus.CONFIRMED, "registry.decide"),
    Transition(RequestStatus.REQUESTED, "refuse", RequestStatus.REFUSED, "registry.decide",
               (Requirement("reason", "退回申请必须写明原因"),)),
), _request_refused)


def bounded_text(text: str | None, what: str, *, required: bool = False, limit: int = DETAIL_MAX) -> str:
    """A free text of a form: trimmed, bounded, printable."""
    text = (text or "").strip()
    if required and not text:
        raise DomainError(f"{what}不能为空")
    if len(text) > limit:
        raise DomainError(f"{what}过长（最多{limit}个字）")
    if any(not c.isprintable() for c in text):
        raise DomainError(f"{what}含有不可见的控制字符")
    return text
