"""Governance projects against a real database: the workflow by role, qualification from the
registry, the frozen split, and the envelope under concurrent approvals."""

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound, StaleVersion
from resettle.models import Community, FundingYear, Project
from resettle.policy import load_policy
from resettle.rules.household import Status
from resettle.rules.permissions import Forbidden
from services import desk, funding, registry
from services.registry_import import import_sheets
from tests.conftest import PG_URL
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, work

ADMIN = Actor("test:admin")
TOWNSHIP = Actor("test:cj", role="township", township="310151110", name="陈家镇信息员")  # 陈家镇
OTHER_TOWNSHIP = Actor("test:bz", role="township", township="310151102")
MINZHENG = Actor("test:mz", role="department", department="区民政局", name="民政局科员")
ZHENGFA = Actor("test:zf", role="department", department="区委政法委")
FINANCE = Actor("test:cz", role="finance", name="财政局科员")
YEAR = DAY.year


@pytest.fixture
async def community(db, tmp_path):
    """陈家新苑 with 4 moved-in households (2 not yet moved in)."""
    rows = [person(f"A-{i:03d}", f"户主{i}", make_id("19600101", i), handed="2024-01-02") for i in range(1, 7)]
    assert (await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])).outcome == "imported"
    for i in range(1, 5):
        await registry.record_step(work(ADMIN), f"A-{i:03d}", Status.ALLOCATED, dt.date(2024, 2, 1))
        await registry.record_step(work(ADMIN), f"A-{i:03d}", Status.MOVED_IN, dt.date(2024, 3, 1))
    return "陈家新苑"


async def subsidy(amount: int, **kw) -> dict:
    """物业服务补贴: 360元 per moved-in household a year (the example policy)."""
    return await funding.draft(work(TOWNSHIP), community="陈家新苑", kind="operation", item="YY01",
                               title="物业服务补贴", year=kw.pop("year", YEAR), requested=amount, **kw)


async def test_the_workflow_and_the_frozen_split(community):
    project = await subsidy(4 * 36_000)
    assert project["status"] == "draft" and project["qualification"]["qualifies"]
    assert any("已入住4户" in r for r in project["qualification"]["reasons"])
    project = await funding.submit(work(TOWNSHIP), project["id"], version=project["version"])
    with pytest.raises(NotFound):  # the 区房管局 verifies 物业服务补贴, not 民政局
        await funding.verify(work(MINZHENG), project["id"], 100)
    housing = Actor("test:fg", role="department", department="区房管局")
    with pytest.raises(DomainError, match="超过申请金额"):
        await funding.verify(work(housing), project["id"], 4 * 36_000 + 1)
    project = await funding.verify(work(housing), project["id"], 100_001)
    with pytest.raises(Forbidden):
        await funding.approve(work(housing), project["id"], 100_001)
    queue = await funding.queue(work(FINANCE), year=YEAR)
    assert [p["id"] for p in queue["items"]] == [project["id"]]
    assert queue["items"][0]["split_preview"] == {"district_share": 50_001, "township_share": 50_000, "ratio": 0.5}
    with pytest.raises(DomainError, match="超过核定金额"):
        await funding.approve(work(FINANCE), project["id"], 100_002)
    project = await funding.approve(work(FINANCE), project["id"], 100_001)
    assert (project["district_share"], project["township_share"], project["ratio"]) == (50_001, 50_000, 0.5)
    assert project["approved_by"] == "财政局科员"
    assert (await FundingYear.get(year=YEAR)).committed == 50_001
    project = await funding.complete(work(TOWNSHIP), project["id"], spent=100_000)
    assert project["status"] == "completed" and project["spent"] == 100_000
    actions = [h["action"] for h in project["history"]]
    assert actions == ["funding.draft", "funding.submitted", "funding.verified", "funding.approved",
                       "funding.completed"]
    summary = await funding.summary(work(FINANCE), YEAR)
    assert summary["rows"] == [{"township": "陈家镇", "township_code": "310151110", "kind": "operation",
                                "kind_label": "日常运营管理类", "projects": 1, "approved": 100_001,
                                "district_share": 50_001, "township_share": 50_000}]
    assert summary["committed"] == 50_001 == summary["envelope"] - summary["remaining"]


async def test_a_project_that_does_not_qualify_cannot_be_submitted(community):
    project = await subsidy(4 * 36_000 + 1)
    assert not project["qualification"]["qualifies"]
    with pytest.raises(DomainError, match="不符合申报条件：.*超过年度标准每户360.00元×已入住4户"):
        await funding.submit(work(TOWNSHIP), project["id"])
    # the standard counts households moved in by the end of the project year: none in 2023
    early = await subsidy(100, year=2023)
    assert any("没有已入住的户" in r for r in early["qualification"]["reasons"])
    fixed = await funding.update(work(TOWNSHIP), project["id"], requested=4 * 36_000, version=project["version"])
    assert fixed["qualification"]["qualifies"]
    with pytest.raises(StaleVersion):
        await funding.update(work(TOWNSHIP), project["id"], requested=1, version=project["version"])
    await funding.submit(work(TOWNSHIP), project["id"])
    duplicate = await subsidy(100)  # drafts never block each other; a submitted project holds its item
    assert any("不能重复申报" in r for r in duplicate["qualification"]["reasons"])
    assert (await funding.show(work(TOWNSHIP), project["id"]))["qualification"]["qualifies"]  # as submitted


async def test_case_by_case_needs_a_deliberation_and_a_desk_problem(community):
    clerk = Actor("test:desk", role="desk", township="310151110", community_id=(await Community.get(name=community)).id)
    demand = await desk.intake(work(clerk), None, channel="统一接待", category="设施配套", text="小区没有充电桩",
                               resident=make_id("19600101", 1))
    problem = await desk.link(work(clerk), [demand["id"]], title="缺少电动自行车充电桩")
    meeting = {"body": "居民代表会议", "held_on": f"{YEAR}-01-15", "attendance": 21, "votes_for": 15,
               "votes_against": 2}
    project = await funding.draft_from_problem(work(TOWNSHIP), problem["id"], requested=12_000_000,
                                               department="区民政局", deliberation=meeting)
    assert project["kind"] == "case_by_case" and project["title"] == "缺少电动自行车充电桩"
    assert project["evidence"] == {"problems": [{"id": problem["id"], "title": "缺少电动自行车充电桩"}],
                                   "households": 1, "demands": 1}
    assert project["qualification"]["qualifies"], project["qualification"]
    weak = await funding.preview(work(TOWNSHIP), community=community, kind="case_by_case", title="x", year=YEAR,
                                 requested=100, department="区民政局",
                                 deliberation={**meeting, "votes_for": 10, "votes_against": 0})
    assert not weak["qualifies"] and any("未超过到会21人的一半" in r for r in weak["reasons"])
    with pytest.raises(NotFound):
        await funding.draft_from_problem(work(OTHER_TOWNSHIP), problem["id"], requested=1, department="区民政局")
    submitted = await funding.submit(work(TOWNSHIP), project["id"])
    returned = await funding.send_back(work(MINZHENG), submitted["id"], "returned", "请补充报价单")
    assert returned["status"] == "returned" and returned["reason"] == "请补充报价单"
    with pytest.raises(DomainError, match="写明原因"):
        await funding.send_back(work(MINZHENG), submitted["id"], "rejected", " ")
    again = await funding.submit(work(TOWNSHIP), project["id"])
    verified = await funding.verify(work(MINZHENG), again["id"], 10_000_000)
    with pytest.raises(Forbidden):  # after verification only finance may send it back
        await funding.send_back(work(MINZHENG), verified["id"], "rejected", "不需要")
    rejected = await funding.send_back(work(FINANCE), verified["id"], "rejected", "与已建项目重复")
    assert rejected["status"] == "rejected"


async def test_scopes(community):
    project = await subsidy(100)
    with pytest.raises(NotFound):
        await funding.show(work(OTHER_TOWNSHIP), project["id"])
    with pytest.raises(NotFound):  # finance does not see drafts
        await funding.show(work(FINANCE), project["id"])
    with pytest.raises(Forbidden):
        await funding.show(work(Actor("test:d", role="desk", community_id=1)), project["id"])
    with pytest.raises(NotFound):
        await funding.draft(work(OTHER_TOWNSHIP), community="陈家新苑", kind="operation", item="YY01", title="x",
                            year=YEAR, requested=1)
    assert (await funding.list_projects(work(OTHER_TOWNSHIP), year=YEAR))["total"] == 0
    assert (await funding.list_projects(work(TOWNSHIP), year=YEAR))["items"][0]["requested"] == 100


async def _verified(n: int, amount: int) -> list[int]:
    """n verified 一事一议 projects waiting in finance's queue."""
    ids = []
    for i in range(n):
        project = await funding.draft(work(ADMIN), community="陈家新苑", kind="case_by_case", title=f"项目{i}",
                                      year=YEAR, requested=amount, department="区委政法委",
                                      deliberation={"body": "居民代表会议", "held_on": f"{YEAR}-01-15",
                                                    "attendance": 3, "votes_for": 2, "votes_against": 0})
        await Project.filter(id=project["id"]).update(status="verified", verified=amount)  # the queue, set up fast
        ids.append(project["id"])
    return ids


async def test_the_queue_comes_a_page_at_a_time_oldest_first(community):
    ids = await _verified(7, 600)
    pages = [await funding.queue(work(FINANCE), limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [p["total"] for p in pages] == [7, 7, 7]
    assert [row["id"] for p in pages for row in p["items"]] == ids
    assert all([e["year"] for e in p["envelopes"]] == [YEAR] for p in pages)  # every page shows what remains
    assert (await funding.queue(work(FINANCE), year=YEAR + 1)) | {"items": []} == {
        "status": "verified", "total": 0, "items": [], "envelopes": [await funding.envelope(work(FINANCE), YEAR + 1)]}


async def test_concurrent_approvals_never_overspend_the_envelope(community, monkeypatch):
    policy = load_policy()
    monkeypatch.setitem(policy.funding.envelopes, YEAR, 1_000)  # room for 3 district shares of 300
    ids = await _verified(8, 600)  # district share 50% = 300 each
    results = await asyncio.gather(*(funding.approve(work(FINANCE), i, 600) for i in ids), return_exceptions=True)
    approved = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(approved) == 3 and all(isinstance(e, DomainError) for e in refused), refused
    assert any("剩余" in e.message for e in refused)
    year = await FundingYear.get(year=YEAR)
    assert year.committed == 900 == sum(p["district_share"] for p in approved) <= year.envelope
    stored = await Project.filter(status="approved").values_list("approved", "district_share", "township_share")
    assert len(stored) == 3 and all(d + t == a for a, d, t in stored)


@pytest.mark.skipif(not PG_URL, reason="two server processes share one database only on PostgreSQL")
async def test_two_processes_approving_at_once_never_overspend(community, db_url):
    ids = await _verified(40, 600)  # district share 300 each; room for 10
    chunks = [json.dumps(ids[i::2]) for i in range(2)]
    runs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.racer", db_url, "approve", str(YEAR), "3000", "600", chunk,
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parent.parent) for chunk in chunks]
    outputs = [json.loads((await run.communicate())[0]) for run in runs]
    assert all(run.returncode == 0 for run in runs) and not any(o["unexpected"] for o in outputs), outputs
    assert sum(o["approved"] for o in outputs) == 10
    assert (await FundingYear.get(year=YEAR)).committed == 3000
    stored = await Project.filter(status="approved").values_list("approved", "district_share", "township_share")
    assert len(stored) == 10 and all(d + t == a for a, d, t in stored)


@pytest.mark.parametrize(("typed", "fen"), [("12,345.6", 1_234_560), ("0" * 30 + "1.05元", 105)])
def test_amounts_as_typed(typed, fen):
    assert funding.fen(typed) == fen


@pytest.mark.parametrize("typed", ["9" * 14, "9" * 5000, "1" + "0" * 4300 + ".5"])
def test_an_amount_past_the_bound_is_refused_however_long(typed):
    """Python's int() refuses a string of more than 4,300 digits with a ValueError (a 500)."""
    with pytest.raises(DomainError, match="应为0到100,000,000,000元之间的金额"):
        funding.fen(typed)
