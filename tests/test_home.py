"""Each role's home page: its work first. On seeded hand-offs (incoming and outgoing, overdue and
not, accepted, rejected), desk work in two communities and projects at every review stage, each
number equals the total of the list its link opens (asked with the link's own filters), every
link on each role's home answers 200 for that role, and a desk account sees its own community
only."""

import datetime as dt
import re
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import Handoff, User
from resettle.policy import load_policy
from resettle.rules.desk import iso_week
from resettle.rules.household import Status
from services import accounts, desk, desk_views, funding, home_views, jobs, ledger, ledger_views, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.test_web import PASSWORD, csrf_of, log_in
from tests.work import DAY, clock_on, work
from web.app import init_app

ADMIN = Actor("test:setup")
POLICY = load_policy()
CHENJIA, CHENGQIAO, BAO = (POLICY.match_township(t).code for t in ("陈家镇", "城桥镇", "堡镇"))
WEEK = iso_week(DAY)
ROLES = {"admin": {}, "office": {}, "township": {"township": "陈家镇"},
         "desk": {"community": "陈家新苑", "carriage": "居委会"}, "desk2": {"community": "堡新苑", "carriage": "物业"},
         "department": {"department": "区民政局"}, "finance": {}, "chengqiao": {"township": "城桥镇"}}
ROLE_OF = {"desk2": "desk", "chengqiao": "township"}


async def who(login: str) -> Actor:
    """The account as the web would act for it."""
    return accounts.actor_of(await User.get(login=login))


async def move_in(agreement: str, on: dt.date) -> None:
    for step, day in ((Status.HANDED_OVER, on - dt.timedelta(days=2)), (Status.ALLOCATED, on - dt.timedelta(days=1)),
                      (Status.MOVED_IN, on)):
        await registry.record_step(work(ADMIN), agreement, step, day)


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    client = await aiohttp_client(init_app(db_url, secret=b"h" * 32, uploads=tmp_path / "uploads",
                                           clock=clock_on(DAY)))
    await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", [
        # 城桥镇 → 陈家镇: moved in long ago (every hand-off overdue) and yesterday (none yet)
        person("A-001", "甲", make_id("19600101", 1), "户主", tags="党员", unit="3-101"),
        person("A-001", "乙", make_id("19620101", 2), "配偶", tags="低保", unit="3-101"),
        person("E-005", "戊", make_id("19650101", 5), "户主", tags="低保", unit="4-101"),
        # 陈家镇 → 城桥镇: 陈家镇 sends, 城桥镇 rejects one
        person("G-007", "庚", make_id("19660101", 7), "户主", origin="陈家镇", dest="城桥镇", community="城桥新苑",
               tags="低保"),
        person("C-003", "丁", make_id("19800101", 4), "户主", origin="堡镇", dest="堡镇", community="堡新苑",
               unit="9-909"),
    ])])
    for login, extra in ROLES.items():
        await accounts.add_user(work(ADMIN), login, f"{login}用户", ROLE_OF.get(login, login), PASSWORD, **extra)
    await move_in("A-001", dt.date(2024, 3, 1))
    await move_in("E-005", DAY - dt.timedelta(days=1))
    await move_in("G-007", dt.date(2024, 3, 1))
    incoming = await Handoff.filter(to_township=CHENJIA, kind="transfer").order_by("id")
    await ledger.act(work(await who("township")), [incoming[0].id], "accept")
    outgoing = await Handoff.filter(from_township=CHENJIA, kind="transfer").order_by("id")
    await ledger.act(work(await who("chengqiao")), [outgoing[0].id], "reject", reason="该户尚未实际入住")

    w, earlier = work(ADMIN), work(ADMIN, on=DAY - dt.timedelta(days=9))
    cited = {}
    for community in ("陈家新苑", "堡新苑"):  # the same work in both: a desk must count only its own
        lift = await desk.intake(earlier, community, channel="统一接待", category="物业维修", text="电梯经常停运",
                                 name="访客", contact="13812345678")
        problem = await desk.link(earlier, [lift["id"]], title="电梯故障")
        cited[community] = problem["id"]
        await desk.add_action(earlier, problem["id"], owner="物业", text="检修电梯", due=DAY - dt.timedelta(days=2))
        await desk.intake(w, community, channel="电话", category="物业维修", text="电梯按钮失灵", name="访客",
                          contact="13812345678")
        lamp = await desk.intake(w, community, channel="统一接待", category="物业维修", text="路灯不亮", name="访客",
                                 contact="13812345678")
        lamp_problem = await desk.link(w, [lamp["id"]], title="路灯")
        lamp_problem = await desk.add_action(w, lamp_problem["id"], owner="物业", text="更换路灯", due=DAY)
        await desk.complete_action(w, lamp_problem["action_items"][0]["id"], result="已更换", on=DAY)
        fresh = await desk.intake(w, community, channel="统一接待", category="环境卫生", text="垃圾房有异味",
                                  name="访客", contact="13812345678")
        await desk.link(w, [fresh["id"]], title="垃圾房异味")  # no action yet: for the meeting
    fields = {"community": "陈家新苑", "kind": "case_by_case", "year": DAY.year, "requested": 12_000_000,
              "department": "区民政局", "problems": [cited["陈家新苑"]]}
    meeting = {"body": "居民代表会议", "held_on": f"{DAY.year}-01-15", "attendance": 9, "votes_for": 7,
               "votes_against": 1}
    for state in ("draft", "submitted", "submitted", "verified", "approved"):
        project = await funding.draft(w, title=f"电梯更新（{state}）", deliberation=meeting, **fields)
        if state != "draft":
            await funding.submit(w, project["id"])
        if state in ("verified", "approved"):
            await funding.verify(w, project["id"], 11_000_000)
        if state == "approved":
            await funding.approve(w, project["id"], 10_000_000)
    return client


def filters(href: str) -> tuple[str, dict]:
    parts = urlsplit(href)
    return parts.path, dict(parse_qsl(parts.query))


async def inbox_total(login: str, href: str) -> int:
    """The total the inbox lists for the link's filters, as the inbox page asks the service."""
    path, q = filters(href)
    assert path == "/ledger/inbox"
    found = await ledger_views.list_handoffs(
        work(await who(login)), township=q.get("township"), direction=q.get("direction", "incoming"),
        overdue=q.get("overdue") == "1", open_only=q.get("all") != "1", status=q.get("status"), limit=1)
    return found["total"]


async def links_answer(site, login: str) -> list[str]:
    """Every link of the role's home page, each fetched as that role: all 200."""
    await log_in(site, login)
    page = await (await site.get("/")).text()
    main = page.split("<main>", 1)[1]
    hrefs = sorted(set(re.findall(r'href="(/[^"]*)"', main)))
    assert hrefs
    for href in hrefs:
        response = await site.get(href.replace("&amp;", "&"))
        assert response.status == 200, (login, href, response.status)
    return hrefs


async def inbox_page_total(site, href: str) -> int:
    """The total the inbox page itself prints for a link."""
    page = await (await site.get(href)).text()
    return int(re.search(r"<p>共 (\d+) 张</p>", page)[1])


async def test_a_liaison_sees_its_hand_offs_and_imports_first(site, tmp_path):
    await log_in(site, "township")
    form = aiohttp.FormData()
    form.add_field("csrf", await csrf_of(site, "/registry/import"))
    form.add_field("sheet", write_csv(tmp_path / "new.csv", [person("H-008", "辛", make_id("19700101", 8), "户主")])
                   .read_bytes(), filename="new.csv")
    uploaded = await site.post("/registry/import", data=form, allow_redirects=False)
    assert uploaded.status == 303
    h = await home_views.township_home(work(await who("township")))
    assert h.township == "陈家镇"
    figures = {"to_accept": h.to_accept, "to_complete": h.to_complete, "overdue_incoming": h.overdue_incoming,
               "overdue_outgoing": h.overdue_outgoing, "rejected": h.rejected}
    for name, figure in figures.items():
        assert figure.count == await inbox_total("township", figure.href), name
    # A-001's three transfers and notice came in 2024 (one accepted since), all overdue; E-005's two
    # transfers and notice came yesterday
    assert (h.to_accept.count, h.to_complete.count, h.overdue_incoming.count) == (6, 1, 4)
    # G-007: 城桥镇 rejected one transfer; the other and the notice wait there, overdue
    assert (h.rejected.count, h.overdue_outgoing.count) == (1, 2)
    assert [(j.kind, j.href) for j in h.imports] == [("preview", uploaded.headers["Location"])]
    # an import whose server process died long ago reads as failed, as its own page tells it
    await jobs.start("gone", "import", "web:township", clock_on(DAY - dt.timedelta(days=1))())
    await jobs.start("elsewhere", "import", "web:chengqiao", clock_on(DAY)())  # another liaison's
    h = await home_views.township_home(work(await who("township")))
    assert [(j.key, j.status, j.href) for j in h.imports][1:] == [("gone", "failed", None)]
    assert h.imports[1].error == jobs.DIED  # said on the home: its page answers the failure with a 400
    page = await (await site.get("/")).text()
    assert "待我接收" in page and 'href="/ledger/inbox?direction=incoming&amp;status=sent"' in page
    assert "检查预览" in page
    # the filters the inbox page reads today (the status filter comes with the inbox's own work)
    for figure in (h.overdue_incoming, h.overdue_outgoing):
        assert await inbox_page_total(site, figure.href) == figure.count
    await links_answer(site, "township")


async def test_the_inbox_read_refuses_an_unknown_status(site):
    with pytest.raises(DomainError, match="状态只能是"):
        await ledger_views.list_handoffs(work(await who("township")), status="lost")


async def test_a_desk_sees_its_own_community_this_week(site):
    h = await home_views.desk_home(work(await who("desk")))
    assert (h.community, h.week) == ("陈家新苑", WEEK)
    assert h.reception_today == (DAY.isoweekday() == POLICY.desk.reception_weekday)
    board = await desk_views.board(work(await who("desk")), None, WEEK)
    agenda = await desk_views.agenda(work(await who("desk")), None, WEEK)
    assert (h.received.count, h.awaiting_feedback.count, h.actions_due.count) == (
        len(board["demands"]), len(board["awaiting_feedback"]), len(board["actions_due"]))
    assert (h.waiting.count, h.for_meeting.count, h.actions_overdue.count) == (
        len(agenda["new_demands"]), len(agenda["problems"]) + len(agenda["reopened"]),
        len(agenda["overdue_actions"]))
    # what was seeded in 陈家新苑 alone, though 堡新苑 holds the same work
    assert (h.received.count, h.waiting.count, h.for_meeting.count, h.awaiting_feedback.count,
            h.actions_due.count, h.actions_overdue.count) == (3, 1, 1, 1, 1, 1)
    assert h.reception_today and h.reception == "每周三 09:00–11:30"  # DAY is the policy's Wednesday
    await desk.set_reception(work(await who("desk2")), None, 5, "14:00", "16:00")  # 堡新苑 receives on Fridays
    other = await home_views.desk_home(work(await who("desk2")))
    assert other.community == "堡新苑" and other.actions_overdue.count == 1
    assert not other.reception_today and other.reception == "每周五 14:00–16:00"
    await log_in(site, "desk")
    page = await (await site.get("/")).text()
    assert "陈家新苑" in page and "堡新苑" not in page and "城桥新苑" not in page
    assert "本乡镇" not in page and "全区" not in page  # no township or district totals
    assert ("今天接待" in page) == h.reception_today
    board_page = await (await site.get(h.received.href)).text()
    assert re.search(r'id="count-demands">(\d+)<', board_page)[1] == str(h.received.count)
    assert re.search(r'id="count-waiting">(\d+)<', board_page)[1] == str(h.awaiting_feedback.count)
    await links_answer(site, "desk")
    await log_in(site, "desk2")
    page = await (await site.get("/")).text()
    assert "堡新苑" in page and "陈家新苑" not in page and "今天接待" not in page and "每周五 14:00–16:00" in page


async def test_reviewers_see_their_queue_and_finance_the_envelope(site):
    dept = await home_views.review_home(work(await who("department")))
    listed = await funding.list_projects(work(await who("department")), status="submitted")
    assert dept.queue.count == listed["total"] == 2 and dept.envelope is None
    assert [p.title for p in dept.oldest] == ["电梯更新（submitted）"] * 2
    fin = await home_views.review_home(work(await who("finance")))
    listed = await funding.list_projects(work(await who("finance")), status="verified")
    assert fin.queue.count == listed["total"] == 1
    envelope = await funding.envelope(work(await who("finance")), DAY.year)
    [approved] = (await funding.list_projects(work(await who("finance")), status="approved"))["items"]
    assert fin.envelope.remaining == envelope["remaining"] == envelope["envelope"] - approved["district_share"] > 0
    await log_in(site, "finance")
    page = await (await site.get("/")).text()
    assert "待审定的项目" in page and f"{DAY.year}年区级额度剩余" in page
    for login in ("department", "finance"):
        assert "/funding/projects/" in " ".join(await links_answer(site, login))


@pytest.mark.parametrize("login", ["office", "admin"])
async def test_the_district_at_a_glance(site, login):
    w = work(await who(login))
    h = await home_views.district_home(w)
    assert {r.township for r in h.townships} == {"陈家镇", "城桥镇"}
    for row in h.townships:
        assert row.pending.count == await inbox_total(login, row.pending.href)
        assert row.overdue.count == await inbox_total(login, row.overdue.href)
        assert f"township={row.code}" in row.pending.href
        await log_in(site, login)
        assert await inbox_page_total(site, row.pending.href) == row.pending.count
        assert await inbox_page_total(site, row.overdue.href) == row.overdue.count
    chenjia = next(r for r in h.townships if r.code == CHENJIA)
    assert (chenjia.pending.count, chenjia.overdue.count) == (7, 4)
    assert h.pending == sum(r.pending.count for r in h.townships)
    shown = {r["township"]: (r["incoming"], r["overdue"]) for r in (await ledger_views.dashboard(w))["townships"]}
    assert {r.township: (r.pending.count, r.overdue.count) for r in h.townships} == {
        t: counts for t, counts in shown.items() if counts[0]}  # as the dashboard page shows them
    for row in h.desks_behind:
        _, q = filters(row.overdue_actions.href)
        agenda = await desk_views.agenda(w, q["community"], WEEK)
        assert row.overdue_actions.count == len(agenda["overdue_actions"]) == 1
    assert {r.community for r in h.desks_behind} == {"陈家新苑", "堡新苑"} and h.behind.count == 2
    summary = await desk_views.summary(w, month=DAY.strftime("%Y-%m"))
    assert h.happy.count == summary["total"]["solved"]
    assert (h.submitted.count, h.verified.count) == (
        (await funding.list_projects(w, status="submitted"))["total"],
        (await funding.list_projects(w, status="verified"))["total"]) == (2, 1)
    await links_answer(site, login)


async def test_every_role_gets_its_own_home(site):
    expected = {"township": "待我接收", "desk": "待例会研究的问题", "department": "待核定的项目",
                "finance": "待审定的项目", "office": "各乡镇待办对接单", "admin": "各乡镇待办对接单"}
    for login, words in expected.items():
        await log_in(site, login)
        response = await site.get("/")
        assert response.status == 200 and words in await response.text(), login
