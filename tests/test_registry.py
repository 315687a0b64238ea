"""Counts, a household's page and its steps, against a real database."""

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from resettle.actor import Actor
from resettle.db import APP, connection
from resettle.errors import DomainError, NotFound, StaleVersion
from resettle.models import AuditEvent, Household
from resettle.rules.household import Status
from services import registry, registry_import
from services.registry_import import import_sheets
from tests.conftest import PG_URL
from tests.sheets import make_id, person, write_csv
from tests.work import work

ACTOR = Actor("test:liaison")
D = dt.date


@pytest.fixture
async def registry_rows(db, tmp_path):
    rows = [
        # 城桥镇 → 陈家镇, 3 persons, one hukou already in 陈家镇
        person("A-001", "甲", make_id("19600101", 1), "户主", handed="2023-06-01"),
        person("A-001", "乙", make_id("19610101", 2), "配偶", handed="2023-06-01", hukou="陈家镇"),
        person("A-001", "丙", make_id("19900101", 3), "儿子", handed="2023-06-01"),
        # B-002: 陈家镇 → 陈家镇 (a move within one township), 1 person
        person("B-002", "丁", make_id("19500101", 4), "户主", origin="陈家镇", village="瀛东村"),
        # C-003: 堡镇 → 城桥镇, 2 persons
        person("C-003", "戊", make_id("19700101", 5), "户主", origin="堡镇", dest="城桥镇",
               community="城桥新苑", handed="2023-07-01"),
        person("C-003", "己", make_id("19710101", 6), "配偶", origin="堡镇", dest="城桥镇",
               community="城桥新苑", handed="2023-07-01"),
    ]
    report = await import_sheets(work(ACTOR), [write_csv(tmp_path / "r.csv", rows)])
    assert report.outcome == "imported", report.issues


def by_township(rows):
    return {r["township"]: r for r in rows}


async def test_township_counts_add_up(registry_rows):
    rows = by_township(await registry.township_stats(work(ACTOR)))
    assert len(rows) == 19  # 18 townships and the total
    assert (rows["城桥镇"]["out_households"], rows["城桥镇"]["out_persons"]) == (1, 3)
    assert (rows["城桥镇"]["in_households"], rows["城桥镇"]["in_persons"]) == (1, 2)
    # a move within one township counts as out of and into it
    assert (rows["陈家镇"]["out_households"], rows["陈家镇"]["in_households"]) == (1, 2)
    assert (rows["陈家镇"]["in_persons"], rows["陈家镇"]["in_handed_over"], rows["陈家镇"]["in_signed"]) == (4, 1, 1)
    total = rows["合计"]
    assert total["out_households"] == total["in_households"] == 3
    assert total["out_persons"] == total["in_persons"] == 6
    for prefix in ("out_", "in_"):
        assert sum(total[f"{prefix}{s}"] for s in registry.STEPS) == total[f"{prefix}households"]


async def test_withdrawn_households_do_not_count(registry_rows):
    await registry.record_step(work(ACTOR), "C-003", Status.WITHDRAWN, D(2023, 8, 1), reason="放弃安置")
    rows = by_township(await registry.township_stats(work(ACTOR)))
    assert rows["堡镇"]["out_households"] == 0 and rows["合计"]["out_households"] == 2


async def test_community_counts_and_separated_persons(registry_rows):
    await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), unit="1号101室")
    await registry.record_step(work(ACTOR), "A-001", Status.MOVED_IN, D(2023, 8, 1))
    rows = {r["community"]: r for r in await registry.community_stats(work(ACTOR))}
    chenjia = rows["陈家新苑"]
    assert (chenjia["households"], chenjia["persons"], chenjia["moved_in_households"]) == (2, 4, 1)
    assert chenjia["separated_persons"] == 2  # 甲 and 丙 still have their hukou in 城桥镇
    await registry.record_hukou_moved(work(ACTOR), "A-001", make_id("19600101", 1), D(2023, 9, 1))
    rows = {r["community"]: r for r in await registry.community_stats(work(ACTOR))}
    assert rows["陈家新苑"]["separated_persons"] == 1
    assert rows["合计"]["households"] == 3 and rows["合计"]["persons"] == 6


async def test_steps_are_recorded_with_audit(registry_rows):
    result = await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), unit="2号202室")
    assert result["status"] == "allocated" and result["version"] == 2
    household = await Household.get(agreement_no="A-001")
    assert (household.unit, household.allocated_on) == ("2号202室", D(2023, 7, 1))
    event = await AuditEvent.get(object_type="household", object_id="A-001", action="registry.allocated")
    assert event.changes == {"status": ["handed_over", "allocated"], "allocated_on": [None, "2023-07-01"],
                             "unit": ["", "2号202室"]}


@pytest.mark.parametrize(("agreement", "step", "on", "message"), [
    ("B-002", Status.MOVED_IN, D(2023, 9, 1), "尚未交房"),
    ("A-001", Status.ALLOCATED, D(2023, 5, 1), "早于上一步的日期2023-06-01"),
])
async def test_impossible_steps_are_refused(registry_rows, agreement, step, on, message):
    with pytest.raises(DomainError, match=message):
        await registry.record_step(work(ACTOR), agreement, step, on)
    assert await AuditEvent.filter(action__startswith="registry.m").count() == 0


async def test_withdrawal_needs_a_reason(registry_rows):
    with pytest.raises(DomainError, match="原因"):
        await registry.record_step(work(ACTOR), "B-002", Status.WITHDRAWN, D(2023, 9, 1), reason=" ")


async def test_stale_version_is_refused_not_lost(registry_rows):
    await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), expected_version=1)
    with pytest.raises(StaleVersion, match="刚被其他人修改过"):
        await registry.record_step(work(ACTOR), "A-001", Status.MOVED_IN, D(2023, 8, 1), expected_version=1)
    assert (await Household.get(agreement_no="A-001")).status == "allocated"


async def test_show_by_agreement_or_id_masks_ids(registry_rows):
    page = await registry.show_household(work(ACTOR), make_id("19610101", 2).lower())
    assert page["agreement_no"] == "A-001"
    head = make_id("19600101", 1)
    assert page["members"][0]["id_number"] == head[:6] + "********" + head[14:]
    assert [e["event"] for e in page["events"]] == ["签约", "交房"]
    with pytest.raises(NotFound):
        await registry.show_household(work(ACTOR), "Z-999")


async def test_search_by_every_key_within_scope(registry_rows):
    await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), unit="1号101室")

    async def found(q, actor=ACTOR, **page):
        result = await registry.search_households(work(actor), q, **page)
        return result["total"], [h["agreement_no"] for h in result["items"]]
    assert await found("乙") == (1, ["A-001"])  # a member's name
    assert await found("1号101室") == (1, ["A-001"])  # 房号
    assert await found("C-003") == (1, ["C-003"])
    assert await found(make_id("19500101", 4).lower()) == (1, ["B-002"])  # a full ID, any case
    assert await found("A-") == (1, ["A-001"])  # nothing exact: a 协议编号 prefix
    assert await found("1号") == (1, ["A-001"])  # … or a 房号 prefix
    assert await found("%") == (0, []) and await found("_-00_") == (0, [])  # wildcards are literal
    assert await found("-00") == (0, [])  # a prefix, not a substring
    page = await registry.search_households(work(ACTOR), "A-001")
    assert page["items"][0] | {"head": "甲", "members": 3, "unit": "1号101室", "community": "陈家新苑",
                               "origin_township": "城桥镇", "status": "allocated"} == page["items"][0]
    # 堡镇's liaison sees C-003 (moving out of 堡镇) but not the others, however they are named
    baozhen = Actor("test:bz", role="township", township="310151102")
    assert await found("戊", baozhen) == (1, ["C-003"])
    assert await found("甲", baozhen) == (0, []) and await found("A-", baozhen) == (0, [])


async def test_search_pages_a_common_name(db, tmp_path):
    rows = [person(f"N-{n:03d}", "王伟", make_id("19800101", n)) for n in range(1, 8)]
    await import_sheets(work(ACTOR), [write_csv(tmp_path / "n.csv", rows)])
    first = await registry.search_households(work(ACTOR), "王伟", limit=3)
    rest = await registry.search_households(work(ACTOR), "王伟", limit=3, offset=3)
    assert first["total"] == rest["total"] == 7
    assert [h["agreement_no"] for h in first["items"] + rest["items"]] == [f"N-{n:03d}" for n in range(1, 7)]


async def test_hukou_move_refusals(registry_rows):
    with pytest.raises(DomainError, match="已在迁入乡镇"):
        await registry.record_hukou_moved(work(ACTOR), "A-001", make_id("19610101", 2), D(2023, 9, 1))
    with pytest.raises(NotFound):
        await registry.record_hukou_moved(work(ACTOR), "A-001", make_id("19500101", 4), D(2023, 9, 1))


# ---------------------------------------------------------------- one household per unit


async def test_an_allocated_unit_holds_one_household(registry_rows):
    await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), unit="27号503室")
    await registry.record_step(work(ACTOR), "B-002", Status.HANDED_OVER, D(2023, 6, 1))
    # the same unit spelled with full-width digits and a space is the same unit
    for spelled in ("27号503室", "２７号 ５０３室"):
        with pytest.raises(DomainError, match="27号503室已分给协议编号A-001的户"):
            await registry.record_step(work(ACTOR), "B-002", Status.ALLOCATED, D(2023, 7, 2), unit=spelled)
    assert (await Household.get(agreement_no="B-002")).status == "handed_over"
    # moving in with a new 房号 is held to the same rule
    await registry.record_step(work(ACTOR), "B-002", Status.ALLOCATED, D(2023, 7, 2), unit="27号504室")
    with pytest.raises(DomainError, match="A-001"):
        await registry.record_step(work(ACTOR), "B-002", Status.MOVED_IN, D(2023, 8, 1), unit="27号503室")
    await registry.record_step(work(ACTOR), "A-001", Status.MOVED_IN, D(2023, 8, 1))
    stored = dict(await Household.filter(agreement_no__in=["A-001", "B-002"]).values_list("agreement_no", "unit"))
    assert stored == {"A-001": "27号503室", "B-002": "27号504室"}
    # another community's 27号503室 is another unit
    await registry.record_step(work(ACTOR), "C-003", Status.ALLOCATED, D(2023, 7, 2), unit="27号503室")


async def test_a_sheets_provisional_unit_is_checked_when_allocated(db, tmp_path):
    rows = [person("P-001", "甲", make_id("19600101", 1), handed="2023-06-01", unit="5号101室"),
            person("P-002", "乙", make_id("19600101", 2), handed="2023-06-01", unit="5号101室")]
    await import_sheets(work(ACTOR), [write_csv(tmp_path / "p.csv", rows)])
    await registry.record_step(work(ACTOR), "P-001", Status.ALLOCATED, D(2023, 7, 1))
    with pytest.raises(DomainError, match="5号101室已分给协议编号P-001的户"):
        await registry.record_step(work(ACTOR), "P-002", Status.ALLOCATED, D(2023, 7, 1))
    await registry.record_step(work(ACTOR), "P-002", Status.ALLOCATED, D(2023, 7, 1), unit="5号102室")


@pytest.mark.parametrize(("unit", "message"), [("1" * 65, "过长"), ("1号\x00室", "控制字符")])
async def test_a_hostile_unit_is_refused_in_chinese(registry_rows, unit, message):
    with pytest.raises(DomainError, match=message):
        await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), unit=unit)


async def test_a_withdrawn_household_frees_its_unit(registry_rows):
    await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), unit="3号301室")
    await registry.record_step(work(ACTOR), "A-001", Status.WITHDRAWN, D(2023, 7, 5), reason="放弃安置")
    await registry.record_step(work(ACTOR), "B-002", Status.HANDED_OVER, D(2023, 6, 1))
    await registry.record_step(work(ACTOR), "B-002", Status.ALLOCATED, D(2023, 7, 6), unit="3号301室")
    assert (await Household.get(agreement_no="B-002")).unit == "3号301室"


async def test_two_allocations_of_one_unit_at_once_leave_one_holder(registry_rows):
    await registry.record_step(work(ACTOR), "B-002", Status.HANDED_OVER, D(2023, 6, 1))
    results = await asyncio.gather(*(
        registry.record_step(work(ACTOR), agreement, Status.ALLOCATED, D(2023, 7, 1), unit="8号808室")
        for agreement in ("A-001", "B-002")), return_exceptions=True)
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], DomainError), results
    assert f"协议编号{won[0]['agreement_no']}" in lost[0].message
    assert await Household.filter(unit="8号808室", status="allocated").count() == 1


@pytest.mark.skipif(not PG_URL, reason="two server processes share one database only on PostgreSQL")
async def test_two_processes_allocating_one_unit_leave_one_holder(db, db_url, tmp_path):
    rows = [person(f"R-{n:02d}", "甲", make_id("19600101", n), handed="2023-06-01") for n in range(1, 21)]
    await import_sheets(work(ACTOR), [write_csv(tmp_path / "r.csv", rows)])
    runs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.racer", db_url, "allocate", "9号909室",
        json.dumps([f"R-{n:02d}" for n in range(first, 21, 2)]),
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parent.parent) for first in (1, 2)]
    outputs = [json.loads((await run.communicate())[0]) for run in runs]
    assert all(run.returncode == 0 for run in runs) and not any(o["unexpected"] for o in outputs), outputs
    assert sum(o["allocated"] for o in outputs) == 1
    assert await Household.filter(unit="9号909室", status="allocated").count() == 1


async def test_the_migration_keeps_the_first_holder_of_a_doubly_allocated_unit(registry_rows, capsys):
    """A database from before migration 0010 may hold one unit twice, even spelled apart: held
    units are folded, the earliest allocation keeps the unit, the later household's 房号 is
    cleared with an audit event and a line saying so."""
    conn = connection()
    executor = MigrationExecutor(conn, {"models": APP})
    await executor.migrate([MigrationTarget("models", "0009_handoff_open_inbox")])
    await registry.record_step(work(ACTOR), "A-001", Status.ALLOCATED, D(2023, 7, 1), unit="6号601室")
    await Household.filter(agreement_no="A-001").update(unit="６号 601室")  # as spelled before folding
    await registry.record_step(work(ACTOR), "B-002", Status.HANDED_OVER, D(2023, 6, 1))
    await registry.record_step(work(ACTOR), "B-002", Status.ALLOCATED, D(2023, 8, 1), unit="6号601室")
    await registry.record_step(work(ACTOR), "B-002", Status.MOVED_IN, D(2023, 9, 1))
    await MigrationExecutor(conn, {"models": APP}).migrate()
    stored = dict(await Household.filter(agreement_no__in=["A-001", "B-002"]).values_list("agreement_no", "unit"))
    assert stored == {"A-001": "6号601室", "B-002": ""}
    folded = await AuditEvent.get(action="registry.unit_folded")
    assert (folded.object_id, folded.changes) == ("A-001", {"unit": ["６号 601室", "6号601室"]})
    event = await AuditEvent.get(action="registry.unit_released")
    assert (event.object_id, event.changes) == ("B-002", {"unit": ["6号601室", ""], "holder": [None, "A-001"]})
    assert "陈家新苑的房号6号601室已分给协议编号A-001的户" in capsys.readouterr().err
    with pytest.raises(IntegrityError):  # from now on the database itself refuses a second holder
        await Household.filter(agreement_no="B-002").update(unit="6号601室")


async def _two_held_units(tmp_path, *, moved_in: bool = False) -> list:
    """A-1 of 甲苑 and B-1 of 乙苑 each allocated 1号101室; returns A-1's row re-homed to 乙苑."""
    rows = [person("A-1", "甲", make_id("19600101", 1), handed="2023-06-01", community="甲苑"),
            person("B-1", "乙", make_id("19600101", 2), handed="2023-06-01", community="乙苑")]
    await import_sheets(work(ACTOR), [write_csv(tmp_path / "a.csv", rows)])
    for agreement in ("A-1", "B-1"):
        await registry.record_step(work(ACTOR), agreement, Status.ALLOCATED, D(2023, 7, 1), unit="1号101室")
    if moved_in:
        await registry.record_step(work(ACTOR), "A-1", Status.MOVED_IN, D(2023, 8, 1))
    return person("A-1", "甲", make_id("19600101", 1), handed="2023-06-01", community="乙苑")


@pytest.mark.parametrize("moved_in", [False, True])
async def test_a_sheet_cannot_move_an_allocated_household_onto_a_held_unit(db, tmp_path, moved_in):
    row = await _two_held_units(tmp_path, moved_in=moved_in)
    events = await AuditEvent.all().count()
    report = await import_sheets(work(ACTOR), [write_csv(tmp_path / "b.csv", [row])])
    assert report.outcome == "rejected" and report.error_rows == 1
    [issue] = report.issues
    assert (issue.row, issue.column, issue.value, issue.level) == (4, "安置社区", "乙苑", "错误")
    label = "已入住" if moved_in else "已分房"
    assert issue.message == (f"安置社区与已登记的“甲苑”不同：该户{label}，已分房或入住的户不能通过导入签约交房表"
                             "更换安置社区（本系统尚无换房操作，请联系区集中居住办）")
    moved = await Household.get(agreement_no="A-1").prefetch_related("community")
    assert (moved.community.name, moved.unit) == ("甲苑", "1号101室")  # allocation fixed both
    assert await AuditEvent.all().count() == events


async def test_a_unit_the_index_refuses_to_an_import_is_a_sentence(db, tmp_path, monkeypatch):
    """Behind the row error (a race, say): the unique index refuses the write, and the import
    says who holds the unit, as a single allocation does, writing nothing."""
    row = await _two_held_units(tmp_path)
    monkeypatch.setattr(registry_import, "_community_fixed", lambda before, h: None)
    with pytest.raises(DomainError) as refused:
        await import_sheets(work(ACTOR), [write_csv(tmp_path / "b.csv", [row])])
    assert refused.value.message == "乙苑的房号1号101室已分给协议编号B-1的户（已分房），同一套房同一时间只能分给一户"
    moved = await Household.get(agreement_no="A-1").prefetch_related("community")
    assert moved.community.name == "甲苑"


async def test_a_sheet_moves_a_signed_household_to_another_community(db, tmp_path):
    """Before allocation the sheet's 安置社区 and 房号 are provisional: a unit B-1 holds in 乙苑 is
    a warning, and A-1 moves."""
    await _two_held_units(tmp_path)
    await import_sheets(work(ACTOR), [write_csv(tmp_path / "c.csv", [
        person("C-1", "丙", make_id("19600101", 3), community="甲苑", unit="2号202室")])])
    report = await import_sheets(work(ACTOR), [write_csv(tmp_path / "d.csv", [
        person("C-1", "丙", make_id("19600101", 3), community="乙苑", unit="1号101室")])])
    assert (report.outcome, report.households_updated) == ("imported", 1)
    [issue] = report.issues
    assert (issue.column, issue.level) == ("房号", "警告") and "B-1" in issue.message
    moved = await Household.get(agreement_no="C-1").prefetch_related("community")
    assert (moved.community.name, moved.unit, moved.status) == ("乙苑", "1号101室", "signed")
    event = await AuditEvent.get(action="registry.import", object_type="household", object_id="C-1")
    assert set(event.changes) == {"community_id", "unit"}
