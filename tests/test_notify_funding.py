"""Departments and finance are told what waits for them, the township what came back."""

from __future__ import annotations

from resettle.actor import Actor
from resettle.models import OutboxMessage
from resettle.rules import notify as rule
from services import funding
from tests.test_funding import FINANCE, TOWNSHIP, community, subsidy  # noqa: F401
from tests.work import work

HOUSING = Actor("test:fg", role="department", department="区房管局")


async def test_submitted_verified_returned_each_tell_the_group_whose_step_it_is(community):  # noqa: F811
    project = await subsidy(4 * 36_000)
    assert not await OutboxMessage.filter(kind__startswith="project").exists()  # a draft tells nobody
    project = await funding.submit(work(TOWNSHIP), project["id"], version=project["version"])
    await funding.verify(work(HOUSING), project["id"], 100_000)
    await funding.send_back(work(FINANCE), project["id"], "returned", "请补充物业合同")
    rows = await OutboxMessage.filter(kind__startswith="project").order_by("id")
    assert [(m.kind, m.scope, m.target) for m in rows] == [
        ("project.waiting", "department", "区房管局"), ("project.waiting", "department", "区财政局"),
        ("project.returned", "township", "310151110")]
    texts = [rule.render(m.kind, m.count, m.payload, "https://x") for m in rows]
    assert "待核定" in texts[0] and "待审定" in texts[1] and "请补充物业合同" in texts[2]
    assert all("物业服务补贴" in t and "https://x/funding" in t for t in texts)
