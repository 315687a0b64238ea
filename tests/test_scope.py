"""The scope filters (`services.scope`) admit exactly the stored rows the pure rule admits, for
every role and object kind, on a real database."""

import datetime as dt

import pytest

from resettle.actor import Actor
from resettle.models import Community, Handoff, Household, Problem, Project
from resettle.policy import load_policy
from resettle.rules import scope as rule
from resettle.rules.funding import ProjectStatus
from resettle.rules.household import Status
from services import registry, scope
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import work

OFFICE = Actor("test:office", role="office")
# (agreement, origin, destination, community): moving within, out of and into 陈家镇, and elsewhere
HOUSEHOLDS = [("A-1", "城桥镇", "陈家镇", "陈家新苑"), ("A-2", "陈家镇", "陈家镇", "瀛东新苑"),
              ("A-3", "堡镇", "城桥镇", "城桥新苑"), ("A-4", "陈家镇", "堡镇", "堡镇新苑"),
              ("A-5", "城桥镇", "陈家镇", "陈家新苑")]


@pytest.fixture
async def district(db, tmp_path):
    rows = [person(agreement, f"户主{n}", make_id("19600101", n), origin=origin, village="永乐村", dest=dest,
                   community=community, handed="2024-01-02", tags="低保")
            for n, (agreement, origin, dest, community) in enumerate(HOUSEHOLDS, 1)]
    assert (await import_sheets(work(OFFICE), [write_csv(tmp_path / "d.csv", rows)])).outcome == "imported"
    for agreement in ("A-1", "A-3", "A-4"):  # moving in sends hand-offs between the townships
        await registry.record_step(work(OFFICE), agreement, Status.ALLOCATED, dt.date(2024, 2, 1))
        await registry.record_step(work(OFFICE), agreement, Status.MOVED_IN, dt.date(2024, 3, 1))
    for n, c in enumerate(await Community.all().order_by("id")):
        await Problem.create(community=c, category="环境", title=f"问题{n}", status="open",
                             opened_on=dt.date(2024, 3, 1))
        for status, department in ((ProjectStatus.DRAFT, "民政局"), (ProjectStatus.SUBMITTED, "民政局"),
                                   (ProjectStatus.VERIFIED, "住建委")):
            await Project.create(township_code=c.township_code, community=c, kind="operation", department=department,
                                 title="项目", year=2024, status=status.value, requested=100)
    return {c.name: c for c in await Community.all()}


def actors(communities: dict[str, Community]) -> list[Actor]:
    cj = load_policy().match_township("陈家镇").code
    home = communities["陈家新苑"]
    return [Actor("t:admin"), OFFICE, Actor("t:cj", role="township", township=cj),
            Actor("t:desk", role="desk", township=home.township_code, community_id=home.id),
            Actor("t:dept", role="department", department="民政局"), Actor("t:fin", role="finance")]


async def ids(query) -> set[int]:
    return set(await query.values_list("id", flat=True))


async def test_every_filter_admits_what_the_rule_admits(district):
    assert await Handoff.all().count() > 0
    for who in actors(district):
        households = await Household.all()
        assert await ids(Household.filter(scope.households(who))) == {
            h.id for h in households if rule.sees_household(who, h)}, who.role
        communities = await Community.all()
        assert await ids(Community.filter(scope.communities(who))) == {
            c.id for c in communities if rule.sees_community(who, c.id, c.township_code)}, who.role
        by_id = {c.id: c for c in communities}
        assert await ids(Problem.filter(scope.communities(who, of="community"))) == {
            p.id for p in await Problem.all()
            if rule.sees_community(who, p.community_id, by_id[p.community_id].township_code)}, who.role
        assert await ids(Project.filter(scope.projects(who))) == {
            p.id for p in await Project.all() if rule.sees_project(who, p.township_code, p.department, p.status)}
        if rule.own_township(who) is not None or rule.whole_district(who):  # the roles on a hand-off's sides
            assert await ids(Handoff.filter(scope.handoffs(who))) == {
                h.id for h in await Handoff.all() if rule.handoff_side(who, h.from_township, h.to_township)}
        mine = {h.id for h in households if rule.sees_household(who, h)}
        if rule.township_reached(who) is not None:  # the rows are mixed enough to tell the roles apart
            assert 0 < len(mine) < len(households)
        if rule.own_community(who) is not None:  # desk staff: the hand-offs of their community's households
            assert await ids(Handoff.filter(scope.handoffs(who))) == {
                h.id for h in await Handoff.all() if h.household_id in mine}
