"""Which rows an actor reaches: the one scope rule, on plain values.

The role table (`permissions`) says whether a role may take an action at all; this says on which
rows. A township liaison reaches the households moving out of or into its township, the
hand-offs to or from it, its communities and their desk work, and its projects; desk staff their
one community; a department the submitted projects of its catalog items; finance every submitted
project; the office and the administrator everything. `services.scope` turns the same answers
into ORM filters; the pages ask it what to offer. An object out of reach is not found (404)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from resettle.actor import Actor
from resettle.rules.funding import ProjectStatus
from resettle.rules.permissions import ROLES

WHOLE_DISTRICT = frozenset({"admin", "office"})


def whole_district(actor: Actor) -> bool:
    """Whether the actor works for the whole district (every township, every community)."""
    return actor.role in WHOLE_DISTRICT


def own_township(actor: Actor) -> str | None:
    """The one township a liaison works for; None for everyone else."""
    return actor.township if actor.role == "township" else None


def own_community(actor: Actor) -> int | None:
    """The one community desk staff work in; None for everyone else."""
    return actor.community_id if actor.role == "desk" else None


def township_reached(actor: Actor) -> str | None:
    """The township an actor's figures are limited to: a liaison's, or the township of desk
    staff's community; None is every township."""
    return actor.township if actor.role in ("township", "desk") else None


def household_columns(actor: Actor) -> list[tuple[str, object]] | None:
    """The households an actor reaches, as (column, value) pairs any one of which admits a
    household; None means all."""
    if actor.role == "township":
        return [("origin_township", actor.township), ("dest_township", actor.township)]
    if actor.role == "desk":
        return [("community_id", actor.community_id)]
    return None


def sees_household(actor: Actor, household: Mapping | object) -> bool:
    """Whether the actor reaches a household given by its STORED columns (a row, or the model)."""
    columns = household_columns(actor)
    if columns is None:
        return True
    stored: Callable[[str], object] = (household.get if isinstance(household, Mapping)
                                       else lambda column: getattr(household, column))
    return any(stored(column) == value for column, value in columns)


def sees_person(actor: Actor, household: Mapping | object, responsible_townships: Iterable[str]) -> bool:
    """A person's ledger: reached with their household, or by the township now responsible for
    one of their lines (a transfer moves a line to a township the household never touches)."""
    township = own_township(actor)
    return sees_household(actor, household) or (
        township is not None and any(code == township for code in responsible_townships))


def sees_township(actor: Actor, code: str) -> bool:
    """Whether a township's counts are shown to the actor."""
    reached = township_reached(actor)
    return reached is None or code == reached


def sees_community(actor: Actor, community_id: int, township_code: str) -> bool:
    """Whether the actor reaches a community (and its desk: demands, problems, actions, weeks)."""
    community = own_community(actor)
    if community is not None:
        return community_id == community
    township = own_township(actor)
    return township is None or township_code == township


def handoff_side(actor: Actor, from_township: str, to_township: str) -> str | None:
    """Which side of a hand-off the actor stands on (office, receiver, sender); None when it
    takes no part in it."""
    if whole_district(actor):
        return "office"
    township = own_township(actor)
    if township is None:
        return None
    if township == to_township:
        return "receiver"
    return "sender" if township == from_township else None


@dataclass(frozen=True)
class ProjectReach:
    """The projects an actor reaches; None is no limit on that column."""

    township: str | None = None
    department: str | None = None
    drafts: bool = True


def project_reach(actor: Actor) -> ProjectReach:
    """A liaison its township's projects, drafts too; a department the submitted ones of its
    catalog items; finance every submitted one; the others all."""
    if actor.role == "township":
        return ProjectReach(township=actor.township)
    if actor.role == "department":
        return ProjectReach(department=actor.department, drafts=False)
    if actor.role == "finance":
        return ProjectReach(drafts=False)
    return ProjectReach()


def sees_project(actor: Actor, township_code: str, department: str, status: str) -> bool:
    """Whether the actor reaches a project given by its stored columns."""
    reach = project_reach(actor)
    return (reach.township in (None, township_code) and reach.department in (None, department)
            and (reach.drafts or status != ProjectStatus.DRAFT.value))


def review_queue(actor: Actor) -> ProjectStatus | None:
    """The projects waiting on a reviewer: a department's to verify, finance's to approve; None
    for the roles that review nothing of their own (the administrator may ask for either)."""
    return {"department": ProjectStatus.SUBMITTED, "finance": ProjectStatus.VERIFIED}.get(actor.role)


def manages_tag(actor: Actor, owner: str) -> bool:
    """Whether the actor grants, renews and closes a basic tag owned by `owner`: the owning
    department (its users' 部门 as the dictionary writes it) and the office, district-wide."""
    return whole_district(actor) or (actor.role == "department" and actor.department == owner)


def tag_owner_reached(actor: Actor) -> str | None:
    """The one owner whose tags a department reviews; None for everyone else (a liaison's or
    a desk's review list is limited by household instead)."""
    return actor.department if actor.role == "department" else None


def sees_person_tags(actor: Actor, household: Mapping | object) -> bool:
    """A person's tags: departments work district-wide on the tags of every person; the others
    with the household."""
    return actor.role == "department" or sees_household(actor, household)


# Finance's messages go to the department group of its name (the group robots and the bell
# address groups, not roles).
FINANCE_GROUP = ROLES["finance"]


def message_group(actor: Actor) -> tuple[str, str] | None:
    """The group an actor answers for, as messages and 督办 address groups: (scope, target) with
    scope township (its code), community (its id) or department (its name); None for the roles
    of no group (the office and the administrator, who reach every group)."""
    if actor.role == "township":
        return "township", actor.township or ""
    if actor.role == "desk":
        return "community", str(actor.community_id or "")
    if actor.role == "finance":
        return "department", FINANCE_GROUP
    if actor.role == "department":
        return "department", actor.department or ""
    return None


def group_members(scope: str, target: str) -> dict:
    """The users a group is (message_group's converse), as filters on the user's columns."""
    if scope == "township":
        return {"role": "township", "township_code": target}
    if scope == "community":
        return {"role": "desk", "community_id": int(target)}
    if target == FINANCE_GROUP:
        return {"role": "finance"}
    return {"role": "department", "department": target}


def home_of(actor: Actor) -> str:
    """Whose work the actor's home page shows first: "township" (the liaison's inbox), "desk"
    (the week's reception), "review" (a department's or finance's queue) or "district"."""
    if actor.role in ("township", "desk"):
        return actor.role
    return "review" if actor.role in ("department", "finance") else "district"
