"""The welfare-matters ledger against a real database."""

import datetime as dt

import pytest

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound
from resettle.models import Entitlement, Handoff, Person
from resettle.policy import load_policy
from resettle.rules.household import Status
from services import ledger, ledger_views, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import work

OFFICE = Actor("test:office", role="office")
CHENQIAO = Actor("test:cq", role="township", township="310151101")  # 城桥镇: origin
CHENJIA = Actor("test:cj", role="township", township="310151110")  # 陈家镇: destination
D = dt.date
HEAD, WIFE, SON = make_id("19600101", 1), make_id("19620101", 2), make_id("19400101", 3)


@pytest.fixture
async def family(db, tmp_path):
    rows = [
        person("A-001", "甲", HEAD, "户主", handed="2024-01-02", tags="党员"),
        person("A-001", "乙", WIFE, "配偶", handed="2024-01-02", tags="低保"),
        person("A-001", "丙", SON, "父亲", handed="2024-01-02"),  # 80+ at signing
        person("B-002", "丁", make_id("19700101", 4), "户主", origin="陈家镇", village="瀛东村", dest="陈家镇"),
    ]
    report = await import_sheets(work(OFFICE), [write_csv(tmp_path / "f.csv", rows)])
    assert report.outcome == "imported"
    return report


async def lines_of(id_number):
    person_row = await Person.get(id_number=id_number)
    return {line.matter_code: line for line in await Entitlement.filter(person_id=person_row.id)}


async def move_in(agreement="A-001"):
    await registry.record_step(work(OFFICE), agreement, Status.ALLOCATED, D(2024, 2, 1))
    await registry.record_step(work(OFFICE), agreement, Status.MOVED_IN, D(2024, 3, 1))


async def test_lines_open_at_signing_by_the_catalog(family):
    assert set(await lines_of(HEAD)) == {"JTJJ", "TDCB", "ZJD", "XJQ", "CXJB", "YB", "WGZF", "DZZ"}
    assert set(await lines_of(WIFE)) == {"JTJJ", "XJQ", "CXJB", "YB", "DB"}
    # 80+: 高龄 is a dynamic tag from the birth date, so 居家养老 applies without a typed tag
    assert set(await lines_of(SON)) == {"JTJJ", "XJQ", "CXJB", "YB", "GLJT", "JJYL"}
    line = (await lines_of(WIFE))["DB"]
    assert (line.routing, line.responsible_township, line.opened_on) == ("FOLLOWS", "310151101", D(2023, 5, 6))
    assert family.lines_opened == 8 + 5 + 6 + 7


async def test_move_in_sends_transfers_and_one_notice(family):
    await move_in()
    handoffs = await Handoff.filter(household__agreement_no="A-001")
    transfers = [h for h in handoffs if h.kind == "transfer"]
    notices = [h for h in handoffs if h.kind == "notice"]
    assert len(transfers) == 5  # WGZF, DZZ, DB, GLJT, JJYL (高龄 by age) follow the person
    assert len(notices) == 1
    kept = (await ledger.notice_lines([notices[0].household_id], load_policy()))[notices[0].household_id]
    assert len(kept) == 6 + 4 + 4  # the lines that stay (and HUKOU, until the hukou moves)
    assert {h.from_township for h in handoffs} == {"310151101"} and {h.to_township for h in handoffs} == {"310151110"}
    db_line = (await lines_of(WIFE))["DB"]
    db_handoff = next(h for h in transfers if h.entitlement_id == db_line.id)
    assert (db_handoff.sent_on, db_handoff.accept_due, db_handoff.complete_due) == (
        D(2024, 3, 1), D(2024, 3, 6), D(2024, 3, 22))  # 3 and 15 working days


async def test_a_move_within_one_township_hands_nothing_off(family):
    await registry.record_step(work(OFFICE), "B-002", Status.HANDED_OVER, D(2024, 1, 1))
    await move_in("B-002")
    assert await Handoff.filter(household__agreement_no="B-002").count() == 0


async def test_responsibility_moves_only_when_a_transfer_completes(family):
    await move_in()
    line = (await lines_of(WIFE))["DB"]
    handoff = await Handoff.get(entitlement_id=line.id)
    [result] = await ledger.act(work(CHENJIA, on=D(2024, 3, 4)), [handoff.id], "accept")
    assert result["ok"] and (await Entitlement.get(id=line.id)).responsible_township == "310151101"
    [result] = await ledger.act(work(CHENJIA, on=D(2024, 3, 10)), [handoff.id], "complete")
    assert result["ok"] and (await Entitlement.get(id=line.id)).responsible_township == "310151110"
    notice = await Handoff.get(household__agreement_no="A-001", kind="notice")
    await ledger.act(work(CHENJIA), [notice.id], "accept")
    await ledger.act(work(CHENJIA), [notice.id], "complete")
    assert all(e.responsible_township == "310151101" for e in (await lines_of(WIFE)).values() if e.matter_code != "DB")


async def test_who_may_act(family):
    await move_in()
    handoff = await Handoff.filter(kind="transfer").first()
    [own] = await ledger.act(work(CHENQIAO), [handoff.id], "accept")
    assert not own["ok"] and "接收方" in own["message"]
    [no_reason] = await ledger.act(work(CHENJIA), [handoff.id], "reject")
    assert not no_reason["ok"] and "原因" in no_reason["message"]
    stranger = Actor("test:bz", role="township", township="310151102")
    [hidden] = await ledger.act(work(stranger), [handoff.id], "accept")
    assert not hidden["ok"] and "找不到" in hidden["message"]
    [rejected] = await ledger.act(work(CHENJIA), [handoff.id], "reject", reason="该户尚未实际入住")
    assert rejected["ok"]
    with pytest.raises(NotFound):
        await ledger.resend(work(CHENJIA), handoff.id)  # only the sender resends
    again = await ledger.resend(work(CHENQIAO), handoff.id, note="已核实入住")
    assert again["status"] == "sent" and (await Handoff.get(id=again["id"])).resend_of_id == handoff.id
    [revoked] = await ledger.act(work(CHENQIAO), [again["id"]], "revoke")
    assert revoked["ok"]


async def test_bulk_reports_each_item_and_none_is_half_done(family):
    await move_in()
    ids = [h.id for h in await Handoff.filter(kind="transfer").order_by("id")]
    await ledger.act(work(CHENJIA), ids[:1], "accept")
    results = await ledger.act(work(CHENJIA), [*ids, 999_999], "accept")
    assert [r["ok"] for r in results] == [False] + [True] * (len(ids) - 1) + [False]
    assert "已接收" in results[0]["message"] and "找不到" in results[-1]["message"]
    assert await Handoff.filter(id__in=ids, status="accepted").count() == len(ids)


async def test_overdue_in_working_days(family):
    await move_in()
    on_time = await ledger_views.list_handoffs(work(CHENJIA, on=D(2024, 3, 6)), direction="incoming", overdue=True)
    late = await ledger_views.list_handoffs(work(CHENJIA, on=D(2024, 3, 7)), direction="incoming", overdue=True)
    assert on_time["total"] == 0
    assert {h["matter"] for h in late["items"]} == {"最低生活保障"}  # DB has 3 days; the rest 5
    assert late["items"][0]["overdue"] is True
    everything = await ledger_views.list_handoffs(work(CHENJIA, on=D(2024, 4, 1)), direction="incoming")
    assert everything["total"] == 6 and all(h["overdue"] for h in everything["items"])
    theirs = await ledger_views.list_handoffs(work(Actor("x", role="township", township="310151102")))
    assert theirs["total"] == 0


async def test_tags_open_and_close_lines(family):
    page = await ledger.set_tags(work(OFFICE), WIFE, "残疾", reason="低保到期，新办残疾证")
    lines = {line["matter_code"]: line for line in page["lines"]}
    assert lines["DB"]["status"] == "closed" and lines["DB"]["close_reason"] == "低保到期，新办残疾证"
    assert lines["CJBT"]["status"] == "open"
    assert lines["JTJJ"]["status"] == "open"
    with pytest.raises(DomainError, match="原因"):
        await ledger.set_tags(work(OFFICE), WIFE, "低保", reason="")


async def test_closing_a_person_revokes_open_handoffs(family):
    await move_in()
    result = await ledger.close_person(work(OFFICE), WIFE, "死亡", on=D(2024, 4, 1))
    assert result["closed"] == 5
    line = (await lines_of(WIFE))["DB"]
    assert (await Handoff.get(entitlement_id=line.id)).status == "revoked"


async def test_hukou_move_after_move_in_transfers_hukou_lines(family):
    await move_in()
    await registry.record_hukou_moved(work(OFFICE), "A-001", HEAD, D(2024, 5, 6))
    lines = await lines_of(HEAD)
    moved = await Handoff.filter(entitlement_id__in=[lines["CXJB"].id, lines["YB"].id])
    assert len(moved) == 2 and {h.sent_on for h in moved} == {D(2024, 5, 6)}


async def test_person_ledger_and_scope(family):
    await move_in()
    page = await ledger.person_ledger(work(CHENJIA), WIFE)
    db_line = next(line for line in page["lines"] if line["matter_code"] == "DB")
    assert db_line["routing"] == "FOLLOWS" and db_line["responsible_township"] == "城桥镇"
    assert db_line["handoffs"][0]["status"] == "sent"
    assert page["id_number"].count("*") == 8
    with pytest.raises(NotFound):
        await ledger.person_ledger(work(Actor("x", role="township", township="310151102")), WIFE)


async def test_routing_change_for_one_person_is_audited(family):
    line = (await lines_of(HEAD))["XJQ"]
    await ledger.change_routing(work(OFFICE), line.id, "FOLLOWS", reason="本人申请在新社区参加选举")
    assert (await Entitlement.get(id=line.id)).routing == "FOLLOWS"
    page = await ledger.person_ledger(work(OFFICE), HEAD)
    history = next(item for item in page["lines"] if item["id"] == line.id)["history"]
    assert history[-1]["changes"]["reason"][1] == "本人申请在新社区参加选举"


async def test_dashboard_counts(family):
    await move_in()
    line = (await lines_of(WIFE))["DB"]
    handoff = await Handoff.get(entitlement_id=line.id)
    await ledger.act(work(OFFICE, on=D(2024, 3, 2)), [handoff.id], "accept")
    await ledger.act(work(OFFICE, on=D(2024, 3, 5)), [handoff.id], "complete")
    view = await ledger_views.dashboard(work(OFFICE, on=D(2024, 3, 5)))
    db_row = next(m for m in view["matters"] if m["matter"] == "最低生活保障")
    assert (db_row["at_origin"], db_row["transferred"]) == (0, 1)
    chenjia = next(t for t in view["townships"] if t["township"] == "陈家镇")
    assert chenjia["incoming"] == 5 and chenjia["median_days"] == 4


async def test_a_hukou_line_opening_after_the_hukou_moved_is_transferred(db, tmp_path):
    """城乡居保 (HUKOU) opens when a child, 15 at signing, is 16 or more at a later tag change;
    the child's hukou already moved to the destination, so the line follows it at once."""
    child = make_id("20070901", 7)
    rows = [person("K-001", "庚", make_id("19700101", 8), "户主", handed="2024-01-02"),
            person("K-001", "辛", child, "儿子", handed="2024-01-02")]
    await import_sheets(work(OFFICE), [write_csv(tmp_path / "k.csv", rows)])
    await move_in("K-001")
    await registry.record_hukou_moved(work(OFFICE), "K-001", child, D(2024, 4, 1))
    assert "CXJB" not in await lines_of(child)
    notice = await Handoff.get(household__agreement_no="K-001", kind="notice")
    for action in ("accept", "complete"):
        await ledger.act(work(CHENJIA, on=D(2024, 4, 2)), [notice.id], action)
    await ledger.set_tags(work(OFFICE), child, "残疾", reason="新办残疾证", on=D(2025, 10, 8))
    lines = await lines_of(child)
    assert lines["CXJB"].opened_on == D(2025, 10, 8) and lines["CXJB"].responsible_township == "310151101"
    sent = {h.entitlement_id: h for h in await Handoff.filter(household__agreement_no="K-001", sent_on=D(2025, 10, 8))}
    for code in ("CXJB", "CJBT"):  # the new HUKOU line as well as the new FOLLOWS one
        handoff = sent.pop(lines[code].id)
        assert (handoff.kind, handoff.status, handoff.from_township, handoff.to_township) == (
            "transfer", "sent", "310151101", "310151110"), code
    # 村委会选举权 (STAYS, at 18) stays with the origin: the destination is told again, the
    # move-in's notice being done
    [told] = sent.values()
    assert told.kind == "notice" and told.entitlement_id is None
    kept = (await ledger.notice_lines([told.household_id], load_policy()))[told.household_id]
    assert {"person": "辛", "matter": "村委会选举权"} in kept


async def test_a_new_line_after_move_in_adds_no_second_open_notice(family):
    await move_in()
    await ledger.set_tags(work(OFFICE), WIFE, "低保、残疾", reason="新办残疾证", on=D(2024, 4, 1))
    assert await Handoff.filter(household__agreement_no="A-001", kind="notice").count() == 1
    line = (await lines_of(WIFE))["CJBT"]
    assert (await Handoff.get(entitlement_id=line.id)).kind == "transfer"


async def test_move_in_transfers_hukou_lines_of_a_member_whose_hukou_is_already_there(db, tmp_path):
    wife = make_id("19620101", 9)
    rows = [person("H-001", "壬", make_id("19600101", 8), "户主", handed="2024-01-02"),
            person("H-001", "癸", wife, "配偶", handed="2024-01-02", hukou="陈家镇")]
    await import_sheets(work(OFFICE), [write_csv(tmp_path / "h.csv", rows)])
    await move_in("H-001")
    lines = await lines_of(wife)
    kinds = {h.entitlement_id: h.kind for h in await Handoff.filter(household__agreement_no="H-001")}
    assert kinds.get(lines["YB"].id) == kinds.get(lines["CXJB"].id) == "transfer"
    assert lines["JTJJ"].id not in kinds  # a STAYS line is listed in the notice, not transferred


async def test_the_import_hands_off_lines_of_a_member_added_after_move_in(db, tmp_path):
    """A-001 moved in; then a sheet adds a wife with 低保 (a FOLLOWS line) to it: her lines get
    what `line_need` says, as at the move-in, dated the import."""
    head = person("A-001", "甲", HEAD, "户主", handed="2024-01-02")
    await import_sheets(work(OFFICE), [write_csv(tmp_path / "a.csv", [head])])
    await move_in()
    sheet = write_csv(tmp_path / "b.csv", [head, person("A-001", "乙", WIFE, "配偶", handed="2024-01-02", tags="低保")])
    assert (await import_sheets(work(OFFICE, on=D(2024, 5, 6)), [sheet])).persons_added == 1
    lines = await lines_of(WIFE)
    [transfer] = await Handoff.filter(entitlement_id=lines["DB"].id)
    assert (transfer.kind, transfer.from_township, transfer.to_township, transfer.sent_on) == (
        "transfer", "310151101", "310151110", D(2024, 5, 6))
    # the move-in's notice is still open and lists the new STAYS lines as they stand
    assert await Handoff.filter(household__agreement_no="A-001", kind="notice").count() == 1
    handoffs = await Handoff.all().count()
    assert (await import_sheets(work(OFFICE, on=D(2024, 5, 7)), [sheet])).outcome == "unchanged"
    assert await Handoff.all().count() == handoffs


async def _moved_in_couple(tmp_path, wife_hukou: str = "") -> list[list]:
    """H-001 (城桥镇 → 陈家镇) moved in; returns its sheet, the wife's 户籍地 as given."""
    rows = [person("H-001", "甲", HEAD, "户主", handed="2024-01-02"),
            person("H-001", "乙", WIFE, "配偶", handed="2024-01-02", hukou=wife_hukou)]
    await import_sheets(work(OFFICE), [write_csv(tmp_path / "h.csv", rows)])
    await move_in("H-001")
    return rows


async def test_a_sheet_moving_a_hukou_to_the_destination_is_a_hukou_move(db, tmp_path):
    """As `registry.record_hukou_moved`, dated the import: no longer 人户分离, and the HUKOU lines
    follow the person."""
    rows = await _moved_in_couple(tmp_path)
    rows[1] = person("H-001", "乙", WIFE, "配偶", handed="2024-01-02", hukou="陈家镇")
    report = await import_sheets(work(OFFICE, on=D(2024, 5, 6)), [write_csv(tmp_path / "b.csv", rows)])
    assert (report.outcome, report.persons_updated) == ("imported", 1)
    wife = await Person.get(id_number=WIFE).prefetch_related("household")
    assert (wife.hukou_township, wife.hukou_moved_on, wife.household.separated_count) == (
        "310151110", D(2024, 5, 6), 1)
    lines = await lines_of(WIFE)
    moved = await Handoff.filter(entitlement_id__in=[lines["CXJB"].id, lines["YB"].id])
    assert len(moved) == 2 and {(h.kind, h.sent_on) for h in moved} == {("transfer", D(2024, 5, 6))}
    events = (await registry.show_household(work(OFFICE), "H-001"))["events"]
    assert {"on": "2024-05-06", "event": "户籍迁入", "note": "乙的户籍迁入陈家镇"} in events


async def test_a_recorded_hukou_move_wins_over_the_sheet(db, tmp_path):
    rows = await _moved_in_couple(tmp_path)
    await registry.record_hukou_moved(work(OFFICE), "H-001", WIFE, D(2024, 4, 1))
    report = await import_sheets(work(OFFICE), [write_csv(tmp_path / "again.csv", rows)])  # 户籍地 blank: the origin
    assert report.outcome == "unchanged"
    [issue] = report.issues
    assert (issue.column, issue.value, issue.level, issue.message) == (
        "户籍地", "城桥镇", "警告", "乙的户籍已于2024-04-01登记迁入陈家镇，户籍地以登记的为准，表中的户籍地未采用")
    wife = await Person.get(id_number=WIFE)
    assert (wife.hukou_township, wife.hukou_moved_on) == ("310151110", D(2024, 4, 1))


async def test_a_sheet_cannot_take_a_moved_in_members_hukou_out_of_the_destination(db, tmp_path):
    """Her HUKOU lines were handed off at the move-in as her hukou stood (in the destination)."""
    rows = await _moved_in_couple(tmp_path, wife_hukou="陈家镇")
    rows[1] = person("H-001", "乙", WIFE, "配偶", handed="2024-01-02", hukou="城桥镇")
    report = await import_sheets(work(OFFICE), [write_csv(tmp_path / "b.csv", rows)])
    assert report.outcome == "rejected"
    [issue] = report.issues
    assert (issue.row, issue.column, issue.value, issue.level) == (5, "户籍地", "城桥镇", "错误")
    assert issue.message.startswith("户籍地与已登记的“陈家镇”不同：该户已入住")
    assert (await Person.get(id_number=WIFE)).hukou_township == "310151110"


async def test_before_move_in_a_sheet_corrects_a_hukou_outside_the_destination(db, tmp_path):
    rows = [person("H-001", "甲", HEAD, "户主"), person("H-001", "乙", WIFE, "配偶", hukou="陈家镇")]
    await import_sheets(work(OFFICE), [write_csv(tmp_path / "a.csv", rows)])
    rows[1] = person("H-001", "乙", WIFE, "配偶", hukou="堡镇")
    assert (await import_sheets(work(OFFICE), [write_csv(tmp_path / "b.csv", rows)])).persons_updated == 1
    wife = await Person.get(id_number=WIFE).prefetch_related("household")
    assert (wife.hukou_township, wife.hukou_moved_on, wife.household.separated_count) == ("310151102", None, 2)
