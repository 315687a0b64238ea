"""The scope rule (`resettle.rules.scope`) as ORM filters: per object kind, the rows an actor may
see. Services filter every read with these and judge a single stored row with the rule itself."""

from __future__ import annotations

from tortoise.expressions import Q

from resettle.actor import Actor
from resettle.rules import scope as rule
from resettle.rules.funding import ProjectStatus


def households(actor: Actor) -> Q:
    """`rule.household_columns` as a filter: any one of the columns admits a household."""
    columns = rule.household_columns(actor)
    if columns is None:
        return Q()
    return Q(*(Q(**{column: value}) for column, value in columns), join_type="OR")


def handoffs(actor: Actor) -> Q:
    """A liaison the hand-offs to or from its township; desk staff those of their community's
    households; the others all."""
    township = rule.own_township(actor)
    if township is not None:
        return Q(to_township=township) | Q(from_township=township)
    community = rule.own_community(actor)
    return Q() if community is None else Q(household__community_id=community)


def communities(actor: Actor, of: str = "") -> Q:
    """Communities; with `of="community"`, the rows that belong to one (a desk's demands,
    problems and actions)."""
    path = f"{of}__" if of else ""
    community = rule.own_community(actor)
    if community is not None:
        return Q(**{f"{path}id": community})
    township = rule.own_township(actor)
    return Q() if township is None else Q(**{f"{path}township_code": township})


def projects(actor: Actor) -> Q:
    """`rule.project_reach` as a filter."""
    reach = rule.project_reach(actor)
    found = Q()
    if reach.township is not None:
        found &= Q(township_code=reach.township)
    if reach.department is not None:
        found &= Q(department=reach.department)
    return found if reach.drafts else found & ~Q(status=ProjectStatus.DRAFT.value)
