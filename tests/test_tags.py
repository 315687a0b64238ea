"""Tags with owners and dates: the pure age rules (table-tested at the boundaries), the policy's
tag dictionary, and the use cases against a real database."""

import datetime as dt

import pytest

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound
from resettle.models import AuditEvent, Entitlement, Handoff, Person, PersonTag
from resettle.policy import PolicyError, _validate, load_policy
from resettle.rules.dates import SHANGHAI
from resettle.rules.household import Status
from resettle.rules.permissions import Forbidden
from resettle.rules.tags import add_months, age_on, born_by, dynamic_tags, review_state
from services import ledger, registry, schedule, tags
from services.registry_import import import_sheets
from services.work import Work
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, work

D = dt.date
OFFICE = Actor("test:office", role="office")
ADMIN = Actor("system:schedule", role="admin", name="定时任务")
MINZHENG = Actor("test:mz", role="department", department="区民政局")
CANLIAN = Actor("test:cl", role="department", department="区残联")
CHENQIAO = Actor("test:cq", role="township", township="310151101")  # origin
OTHER = Actor("test:x", role="township", township="310151102")
HEAD, WIFE, CHILD = make_id("19600101", 1), make_id("19620101", 2), make_id("20080229", 3)


# ---------------------------------------------------------------- pure rules


@pytest.mark.parametrize(("born", "on", "age"), [
    (D(2000, 6, 17), D(2018, 6, 16), 17),  # the day before the birthday
    (D(2000, 6, 17), D(2018, 6, 17), 18),  # the birthday itself
    (D(2008, 2, 29), D(2026, 2, 28), 17),  # born on 29 February: not yet in a common year
    (D(2008, 2, 29), D(2026, 3, 1), 18),
    (D(2008, 2, 29), D(2028, 2, 29), 20),  # a leap year has the day
    (D(1946, 1, 1), D(2026, 1, 1), 80),
])
def test_age_on_the_boundaries(born, on, age):
    assert age_on(born, on) == age


@pytest.mark.parametrize(("on", "years", "latest"), [
    (D(2026, 6, 17), 18, D(2008, 6, 17)),
    (D(2028, 2, 29), 18, D(2010, 2, 28)),  # 29 Feb into a common year: the 28th
    (D(2028, 2, 29), 20, D(2008, 2, 29)),
])
def test_born_by_is_the_latest_birth_date_of_that_age(on, years, latest):
    assert born_by(on, years) == latest
    assert age_on(latest, on) >= years and age_on(latest + dt.timedelta(days=1), on) < years


@pytest.mark.parametrize(("born", "on", "expected"), [
    (D(2020, 6, 17), D(2026, 6, 16), {"未成年", "学龄前"}),
    (D(2020, 6, 17), D(2026, 6, 17), {"未成年"}),  # six today
    (D(2008, 6, 17), D(2026, 6, 17), set()),  # eighteen today
    (D(1966, 6, 17), D(2026, 6, 17), {"老年"}),
    (D(1946, 6, 18), D(2026, 6, 17), {"老年"}),  # eighty tomorrow
    (D(1946, 6, 17), D(2026, 6, 17), {"老年", "高龄"}),
])
def test_dynamic_tags(born, on, expected):
    assert dynamic_tags(born, on) == expected


@pytest.mark.parametrize(("day", "months", "expected"), [
    (D(2026, 1, 31), 1, D(2026, 2, 28)), (D(2024, 2, 29), 12, D(2025, 2, 28)), (D(2026, 6, 17), 12, D(2027, 6, 17)),
    (D(2026, 11, 30), 3, D(2027, 2, 28)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_review_state():
    on = D(2026, 6, 17)
    assert review_state(D(2026, 6, 16), None, on, 30) == "expired"
    assert review_state(D(2026, 6, 17), None, on, 30) == "due"
    assert review_state(D(2026, 7, 17), None, on, 30) == "due"
    assert review_state(D(2026, 7, 18), None, on, 30) == "valid"
    assert review_state(D(2026, 1, 1), D(2026, 2, 1), on, 30) == "closed"


BASE = {"townships": [{"code": "310151101", "name": "城桥镇"}], "registry": {"relations": ["户主"]}}


@pytest.mark.parametrize(("tags", "message"), [
    ([{"name": "低保", "owner": "区民政局", "kind": "basic"}], "review_months"),
    ([{"name": "低保", "owner": "", "kind": "basic", "review_months": 12}], "owner"),
    ([{"name": "低保", "owner": "区民政局", "kind": "other", "review_months": 12}], "kind"),
    ([{"name": "长寿", "owner": "区民政局", "kind": "dynamic"}], "没有计算规则"),
    ([{"name": "高龄", "owner": "区民政局", "kind": "dynamic", "review_months": 12}], "不设 review_months"),
    ([{"name": "低保、特困", "owner": "区民政局", "kind": "basic", "review_months": 12}], "分隔符"),
    ([{"name": "低保", "owner": "甲", "kind": "basic", "review_months": 1}] * 2, "重复"),
])
def test_the_dictionary_is_validated_in_chinese(tags, message):
    with pytest.raises(PolicyError, match=message):
        _validate({**BASE, "tags": tags}, "x.toml")


def test_the_old_tag_list_is_refused_with_the_way_forward():
    with pytest.raises(PolicyError, match=r"\[\[tags\]\]"):
        _validate({**BASE, "registry": {"relations": ["户主"], "tags": ["低保"]}}, "x.toml")


def test_a_matter_may_only_name_dictionary_tags():
    with pytest.raises(PolicyError, match="没有的标签：党员"):
        _validate({**BASE, "matters": [{"code": "X", "name": "某事项", "routing": "STAYS", "tags": ["党员"]}]},
                  "x.toml")


# ---------------------------------------------------------------- use cases


@pytest.fixture
async def family(db, tmp_path):
    rows = [
        person("A-001", "甲", HEAD, "户主", handed="2024-01-02", tags="党员、孤儿院"),
        person("A-001", "乙", WIFE, "配偶", handed="2024-01-02", tags="低保"),
        person("A-001", "丙", CHILD, "女儿", handed="2024-01-02"),
    ]
    report = await import_sheets(work(OFFICE), [write_csv(tmp_path / "f.csv", rows)])
    assert report.outcome == "imported", report.issues
    return report


async def grants_of(id_number, **kw):
    p = await Person.get(id_number=id_number)
    return await PersonTag.filter(person_id=p.id, **kw).order_by("id")


async def open_codes(id_number):
    p = await Person.get(id_number=id_number)
    return set(await Entitlement.filter(person_id=p.id, closed_on=None).values_list("matter_code", flat=True))


async def test_the_import_brings_basic_tags_as_grants_from_the_signing_date(family):
    [grant] = await grants_of(WIFE)
    assert (grant.tag, grant.valid_from, grant.valid_to, grant.granted_by) == (
        "低保", D(2023, 5, 6), D(2024, 5, 6), "test:office")
    head = await grants_of(HEAD)
    assert [g.tag for g in head] == ["党员"]  # 孤儿院 is not in the dictionary: the string keeps it
    assert (await Person.get(id_number=HEAD)).tags == "党员、孤儿院"
    assert (await Person.get(id_number=CHILD)).birth_date == D(2008, 2, 29)


async def test_grant_renew_close_and_the_ledger_follows(family):
    await registry.record_step(work(OFFICE), "A-001", Status.ALLOCATED, D(2024, 2, 1))
    await registry.record_step(work(OFFICE), "A-001", Status.MOVED_IN, D(2024, 3, 1))
    [db_grant] = await grants_of(WIFE)
    line = await Entitlement.get(person__id_number=WIFE, matter_code="DB")
    handoff = await Handoff.get(entitlement_id=line.id)
    assert handoff.status == "sent"

    page = await tags.review_list(work(MINZHENG))
    assert [i["id"] for i in page["items"]] == [db_grant.id] and page["items"][0]["state"] == "expired"
    assert page["items"][0]["id_number"].count("*") == 8
    assert (await tags.review_list(work(CANLIAN)))["total"] == 0  # 残联 owns 残疾 only

    with pytest.raises(DomainError, match="区民政局"):
        await tags.close(work(CANLIAN), db_grant.id, "不再符合")
    with pytest.raises(Forbidden):
        await tags.close(work(CHENQIAO), db_grant.id, "不再符合")
    with pytest.raises(DomainError, match="原因"):
        await tags.close(work(MINZHENG), db_grant.id, " ")
    closed = await tags.close(work(MINZHENG), db_grant.id, "复核不再符合低保条件", expected_version=1)
    assert closed["state"] == "closed"
    line = await Entitlement.get(id=line.id)
    assert line.closed_on == D(2026, 6, 17) and "复核不再符合低保条件" in line.close_reason
    assert (await Handoff.get(id=handoff.id)).status == "revoked"  # through the ledger's close path
    assert (await Person.get(id_number=WIFE)).tags == ""
    assert (await tags.review_list(work(MINZHENG)))["total"] == 0

    granted = await tags.grant(work(CANLIAN), WIFE, "残疾")
    assert (granted["valid_from"], granted["valid_to"]) == ("2026-06-17", "2029-06-17")
    assert "CJBT" in await open_codes(WIFE)
    assert (await Person.get(id_number=WIFE)).tags == "残疾"
    with pytest.raises(DomainError, match="已有有效"):
        await tags.grant(work(OFFICE), WIFE, "残疾")
    with pytest.raises(DomainError, match="动态标签"):
        await tags.grant(work(OFFICE), WIFE, "高龄")
    renewed = await tags.renew(work(CANLIAN, on=D(2029, 6, 1)), granted["id"])
    assert renewed["valid_to"] == "2032-06-17" and renewed["version"] == 2
    with pytest.raises(Exception, match="刚被其他人"):
        await tags.renew(work(CANLIAN), granted["id"], expected_version=1)

    shown = await tags.person_tags(work(CHENQIAO), WIFE)  # the liaison may see
    assert [g["tag"] for g in shown["basic"]] == ["残疾", "低保"]
    assert [e["action"] for e in shown["basic"][0]["history"]] == ["tags.grant", "tags.renew"]
    assert shown["dynamic"] == ["老年"] and not shown["basic"][0]["may_manage"]
    with pytest.raises(NotFound):
        await tags.person_tags(work(OTHER), WIFE)
    assert await AuditEvent.filter(action="tags.close", object_id=str(db_grant.id)).count() == 1


async def test_the_review_list_is_paged_oldest_first(family):
    for key in (HEAD, CHILD):
        await tags.grant(work(OFFICE, on=D(2025, 1, 1)), key, "独居", valid_to=D(2026, 7, 1))
    page = await tags.review_list(work(MINZHENG), limit=2)
    assert page["total"] == 3 and [i["valid_to"] for i in page["items"]] == ["2024-05-06", "2026-07-01"]
    rest = await tags.review_list(work(MINZHENG), limit=2, offset=2)
    assert [i["state"] for i in rest["items"]] == ["due"]
    assert (await tags.review_list(work(MINZHENG), state="due"))["total"] == 2
    with pytest.raises(DomainError, match="只能查看区民政局"):
        await tags.review_list(work(MINZHENG), owner="区残联")
    assert (await tags.review_list(work(OTHER)))["total"] == 0  # another township's households


async def test_refresh_opens_lines_at_an_age_boundary_and_is_idempotent(family):
    # born 29 Feb 2008: 18 on 1 March 2026 (a common year), not on 28 February
    assert {"XJQ", "CXJB"} & await open_codes(CHILD) == set()  # 15 at signing
    before = await tags.refresh(work(OFFICE), D(2026, 2, 28))  # 17: the pension (from 16) only
    assert before["lines_opened"] == 1 and {"XJQ", "CXJB"} & await open_codes(CHILD) == {"CXJB"}
    first = await tags.refresh(work(OFFICE), D(2026, 3, 1))
    assert first["lines_opened"] == 1 and "XJQ" in await open_codes(CHILD)
    again = await tags.refresh(work(OFFICE), D(2026, 3, 1))
    assert (again["lines_opened"], again["lines_closed"]) == (0, 0)
    # the head turns 80 in 2040: 高龄津贴 and, by the dynamic 高龄 tag, 居家养老
    assert {"GLJT", "JJYL"} - await open_codes(HEAD) == {"GLJT", "JJYL"}
    # a day to come is refused: the lines of an age not yet reached would stay open
    with pytest.raises(DomainError, match="只能按今天或以前的日期更新"):
        await tags.refresh(work(OFFICE), D(2040, 1, 1))
    later = await tags.refresh(work(OFFICE, D(2040, 1, 1)))
    assert {"GLJT", "JJYL"} <= await open_codes(HEAD) and later["lines_opened"] >= 2
    assert (await tags.refresh(work(OFFICE, D(2040, 1, 1))))["lines_opened"] == 0
    with pytest.raises(Forbidden):
        await tags.refresh(work(CHENQIAO, D(2040, 1, 1)))


def at_time(day: dt.date, hour: int, minute: int) -> Work:
    moment = dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)
    return Work(ADMIN, load_policy(), day, lambda: moment)


async def test_the_schedule_refreshes_once_a_day_after_half_past_midnight(family):
    daily = schedule.Daily()
    early = await daily.tick(at_time(D(2026, 3, 1), 0, 10))
    assert "refresh" not in early and "XJQ" not in await open_codes(CHILD)
    assert early["digest"]["skipped"]  # a Sunday: no digest either
    ran = await daily.tick(at_time(D(2026, 3, 1), 0, 40))
    # 18 today: 村委会选举权 (XJQ), and the pension from 16 that no run saw her reach
    assert ran["refresh"]["lines_opened"] == 2 and {"XJQ", "CXJB"} <= await open_codes(CHILD)
    assert "refresh" not in await daily.tick(at_time(D(2026, 3, 1), 9, 0))  # once a day
    monday = await daily.tick(at_time(D(2026, 3, 2), 0, 31))
    assert monday["refresh"]["lines_opened"] == 0 and "08:30 之后" in monday["digest"]["skipped"]
    sent = await daily.tick(at_time(D(2026, 3, 2), 9, 0))  # a working day, past digest_at: it runs
    assert not sent["digest"]["skipped"] and "refresh" not in sent
    assert await daily.tick(at_time(D(2026, 3, 2), 9, 1)) == {}  # and not again that day


async def test_a_failed_refresh_neither_stops_the_digest_nor_retries_every_minute(family, monkeypatch, caplog):
    calls = []

    async def broken(work, on=None):
        calls.append(work.now())
        raise RuntimeError("database is locked")

    monkeypatch.setattr(tags, "refresh", broken)
    daily = schedule.Daily()
    first = await daily.tick(at_time(DAY, 9, 0))
    assert "refresh" not in first and "digest" in first and len(calls) == 1
    assert "schedule: refresh failed" in caplog.text
    await daily.tick(at_time(DAY, 9, 30))
    assert len(calls) == 1  # quiet for an hour
    await daily.tick(at_time(DAY, 10, 1))
    assert len(calls) == 2


async def test_no_tag_is_granted_or_renewed_for_one_who_died_or_a_withdrawn_household(family):
    from services import household_changes as changes
    from services.household_changes_contracts import Change

    low = (await grants_of(WIFE))[0]
    fresh = await tags.grant(work(MINZHENG), WIFE, "独居")  # due in a year
    await changes.record_event(work(OFFICE), "A-001", Change(kind="death", on=D(2026, 1, 2),
                                                             person=(await Person.get(id_number=WIFE)).id))
    for attempt in (tags.grant(work(OFFICE), WIFE, "残疾"), tags.renew(work(OFFICE), low.id)):
        with pytest.raises(DomainError, match="已于2026-01-02死亡"):
            await attempt
    assert await open_codes(WIFE) == set()  # her lines stay closed
    # the owner's review list puts her tag first, says why, and offers only closing
    listed = (await tags.review_list(work(MINZHENG)))["items"]
    assert [(i["id"], i["gone"], i["may_renew"], i["may_manage"]) for i in listed[:2]] == [
        (low.id, "已于2026-01-02死亡", False, True), (fresh["id"], "已于2026-01-02死亡", False, True)]
    assert fresh["valid_to"] == "2027-06-17"  # not due: listed for the death alone
    await tags.close(work(OFFICE), low.id, "本人已死亡")  # closing stays open
    await registry.record_step(work(OFFICE), "A-001", Status.WITHDRAWN, D(2026, 2, 1), reason="放弃安置")
    with pytest.raises(DomainError, match="已退出集中居住"):
        await tags.grant(work(OFFICE), CHILD, "残疾")


async def test_a_person_whose_lines_are_all_closed_is_left_alone(family):
    await ledger.close_person(work(OFFICE), CHILD, "死亡", on=D(2025, 1, 1))
    await tags.refresh(work(OFFICE), D(2026, 3, 1))
    assert await open_codes(CHILD) == set()


async def test_a_liaison_cannot_grant_a_basic_tag_through_the_ledger(family):
    with pytest.raises(DomainError, match="乡镇信息员无权认定"):
        await ledger.set_tags(work(CHENQIAO), WIFE, "低保、残疾", reason="新办残疾证")
    assert [g.tag for g in await grants_of(WIFE)] == ["低保"]


async def test_set_tags_keeps_the_grants_in_step(family):
    await ledger.set_tags(work(OFFICE), WIFE, "残疾、孤儿院", reason="新办残疾证")
    assert [(g.tag, g.closed_on) for g in await grants_of(WIFE)] == [("低保", D(2026, 6, 17)), ("残疾", None)]


async def test_refresh_closes_a_line_only_an_outgrown_dynamic_tag_drove(db, tmp_path):
    from dataclasses import replace

    from resettle.rules.ledger import Matter, Routing

    base = work(OFFICE)
    checkup = Matter(code="ETBJ", name="学龄前儿童保健", department="区卫生健康委", routing=Routing.FOLLOWS,
                     tags=frozenset({"学龄前"}))
    policy = replace(base.policy, matters=(*base.policy.matters, checkup))
    kid = make_id("20200617", 7)
    rows = [person("K-001", "丁", make_id("19900101", 8), "户主"), person("K-001", "戊", kid, "女儿")]
    w = replace(base, policy=policy)
    assert (await import_sheets(w, [write_csv(tmp_path / "k.csv", rows)])).outcome == "imported"
    assert "ETBJ" in await open_codes(kid)
    assert (await tags.refresh(replace(w, today=D(2026, 6, 16)), D(2026, 6, 16)))["lines_closed"] == 0
    done = await tags.refresh(w, D(2026, 6, 17))  # six today
    assert done["lines_closed"] == 1 and "ETBJ" not in await open_codes(kid)
    line = await Entitlement.get(person__id_number=kid, matter_code="ETBJ")
    assert line.close_reason == "年龄变化（2026-06-17）"
    assert (await tags.refresh(w, D(2026, 6, 17)))["lines_closed"] == 0


# ---------------------------------------------------------------- pages


async def test_the_pages(aiohttp_client, db_url, tmp_path):
    from tests.test_web import csrf_of, log_in, make_site

    site = await make_site(aiohttp_client, db_url, tmp_path)
    await log_in(site, "department")  # 区民政局
    page = await site.get("/registry/groups?by=community")
    assert page.status == 200 and "一老一小一残" in await page.text()
    assert (await site.get("/registry/groups?on=9999-99-99")).status == 400
    assert (await site.get("/registry/groups?by=x")).status == 400
    assert (await site.get("/registry/groups/roster?group=aged_60_plus&format=pdf")).status == 403  # no roster
    grant = await tags.grant(work(MINZHENG), HEAD_OF_SITE, "独居", valid_from=D(2025, 6, 1), valid_to=D(2026, 6, 1))
    review = await site.get("/registry/tags/review")
    text = await review.text()
    assert review.status == 200 and "独居" in text and "已到期待复核" in text and HEAD_OF_SITE not in text
    token = await csrf_of(site, "/registry/tags/review")
    refused = await site.post(f"/registry/tags/{grant['id']}/close", data={"csrf": token, "reason": "长" * 500},
                              allow_redirects=False)
    assert refused.status == 303 and "error=" in refused.headers["Location"]
    done = await site.post(f"/registry/tags/{grant['id']}/close", data={"csrf": token, "reason": "已与子女同住",
                                                                       "version": "1"})
    assert done.status == 200 and "已关闭" in await done.text()
    assert (await PersonTag.get(id=grant["id"])).closed_on == D(2026, 6, 17)
    await site.post("/logout", data={"csrf": await csrf_of(site, "/")})
    await log_in(site, "desk")
    roster = await site.get("/registry/groups/roster?group=aged_60_plus&format=xlsx")
    assert roster.status == 200 and "attachment" in roster.headers["Content-Disposition"]
    assert (await site.get("/registry/groups/roster?group=nobody&format=xlsx")).status == 400


HEAD_OF_SITE = make_id("19600101", 1)


async def test_the_api(aiohttp_client, db_url, tmp_path):
    from tests.test_web import make_site

    site = await make_site(aiohttp_client, db_url, tmp_path)

    def auth(role):
        return {"Authorization": f"Bearer {site.tokens[role]}"}

    counts = await site.get("/api/v1/registry/groups?by=community&on=2026-06-17", headers=auth("department"))
    rows = await counts.json()
    assert counts.status == 200 and rows[-1]["community"] == "合计"
    assert rows[-1]["aged_60_plus"] == sum(r["aged_60_plus"] for r in rows[:-1]) > 0
    assert (await site.get("/api/v1/registry/groups?by=x", headers=auth("department"))).status == 422
    assert (await site.get("/api/v1/registry/groups?on=2026-13-01", headers=auth("department"))).status == 400
    # the owner grants, renews and closes; a liaison may look but not grant
    made = await site.post("/api/v1/tags/grants", headers=auth("department"), json={
        "person": HEAD_OF_SITE, "tag": "独居", "valid_from": "2025-06-01", "valid_to": "2026-06-01"})
    assert made.status == 201, await made.text()
    grant = await made.json()
    assert (grant["tag"], grant["state"], grant["version"]) == ("独居", "expired", 1)
    refused = await site.post("/api/v1/tags/grants", headers=auth("township"), json={
        "person": HEAD_OF_SITE, "tag": "残疾"})
    assert refused.status == 403
    review = await (await site.get("/api/v1/tags/review?state=expired", headers=auth("department"))).json()
    assert [i["id"] for i in review["items"]] == [grant["id"]] and review["items"][0]["id_number"] != HEAD_OF_SITE
    stale = await site.post(f"/api/v1/tags/grants/{grant['id']}/renew", headers=auth("department"),
                            json={"version": 5})
    assert stale.status == 409
    renewed = await site.post(f"/api/v1/tags/grants/{grant['id']}/renew", headers=auth("department"),
                              json={"valid_to": "2027-06-01", "version": 1})
    assert renewed.status == 200 and (await renewed.json())["valid_to"] == "2027-06-01"
    assert (await site.post(f"/api/v1/tags/grants/{grant['id']}/close", headers=auth("department"),
                            json={"version": 2})).status == 422  # a reason is required
    closed = await site.post(f"/api/v1/tags/grants/{grant['id']}/close", headers=auth("department"),
                             json={"reason": "已与子女同住", "version": 2})
    assert closed.status == 200 and (await closed.json())["closed_on"] == "2026-06-17"
    mine = await (await site.get(f"/api/v1/persons/{HEAD_OF_SITE}/tags", headers=auth("township"))).json()
    assert [(g["tag"], g["closed_on"]) for g in mine["basic"] if g["id"] == grant["id"]] == [("独居", "2026-06-17")]
    assert "老年" in mine["dynamic"] and mine["grantable"] == []
    # hostile values: dates no clerk means, a tag another department owns, ids to probe
    assert (await site.get("/api/v1/registry/groups?on=0001-01-01", headers=auth("department"))).status == 400
    for body in ({"valid_from": "9999-01-01"}, {"valid_from": "0001-01-01"}, {"valid_to": "9999-12-31"}):
        answer = await site.post("/api/v1/tags/grants", headers=auth("department"),
                                 json={"person": HEAD_OF_SITE, "tag": "残疾", **body})
        assert answer.status == 422 and "1900年到2199年" in (await answer.json())["error"]["message"], body
    future = await site.post("/api/v1/tags/grants", headers=auth("department"),
                             json={"person": HEAD_OF_SITE, "tag": "独居", "valid_from": "2026-06-18"})
    assert future.status == 400 and "不能晚于今天" in await future.text()
    others = await site.post("/api/v1/tags/grants", headers=auth("department"), json={
        "person": HEAD_OF_SITE, "tag": "残疾"})  # 残联's tag, not 民政's
    assert others.status == 403 and "无权办理" in await others.text()
    for grant_id in (grant["id"], 999_999):  # finance may not manage tags: the same answer either way
        answer = await site.post(f"/api/v1/tags/grants/{grant_id}/renew", headers=auth("finance"), json={})
        assert answer.status == 403
    assert (await site.post("/api/v1/tags/refresh", headers=auth("office"), json={"on": "2026-06-18"})).status == 400
    # the age refresh is the office's; a second run changes nothing
    assert (await site.post("/api/v1/tags/refresh", headers=auth("township"), json={})).status == 403
    first = await site.post("/api/v1/tags/refresh", headers=auth("office"), json={"on": "2026-06-17"})
    assert first.status == 200, await first.text()
    again = await (await site.post("/api/v1/tags/refresh", headers=auth("office"), json={})).json()
    assert (again["lines_opened"], again["lines_closed"]) == (0, 0)


async def test_the_migration_turns_stored_tags_into_grants_and_fills_birth_dates(family):
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    from resettle.db import APP, connection

    conn = connection()
    await MigrationExecutor(conn, {"models": APP}).migrate([MigrationTarget("models", "0011_login_session")])
    await conn.execute_script("UPDATE person SET tags = '残疾、高龄' WHERE relation = '女儿'")
    await MigrationExecutor(conn, {"models": APP}).migrate()
    child = await Person.get(id_number=CHILD)
    assert child.birth_date == D(2008, 2, 29)
    [grant] = await grants_of(CHILD)  # 高龄 is dynamic: no grant, the string keeps it
    assert (grant.tag, grant.valid_from, grant.valid_to, grant.granted_by) == (
        "残疾", D(2023, 5, 6), D(2026, 5, 6), "system:migration-0012")
    assert [g.tag for g in await grants_of(WIFE)] == ["低保"]
