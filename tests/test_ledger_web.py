"""The hand-off inbox and a hand-off's page through the test client: per-row and bulk steps
answered by a redirect (a reload repeats nothing), the filters, the page's content and scope, and
no link either page offers that answers 400 or 403 for the role that sees it."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from resettle.actor import Actor
from resettle.models import AuditEvent, Handoff
from resettle.rules.household import Status
from services import accounts, registry
from tests.test_web import HEAD_ID, PASSWORD, ROLES, csrf_of, log_in, make_site
from tests.work import DAY, work
from web import ledger_pages

CHENJIA, CHENQIAO = "310151110", "310151101"  # A-001 moves 城桥镇 → 陈家镇


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    """The web tests' site with A-001 moved in (by the administrator's web login): 城桥镇 sends
    陈家镇 its transfers and a notice; and a 堡镇 liaison, who takes no part in them."""
    client = await make_site(aiohttp_client, db_url, tmp_path)
    admin = Actor("web:admin", role="admin", name="admin用户")
    for step, on in ((Status.HANDED_OVER, DAY - dt.timedelta(days=40)), (Status.ALLOCATED, DAY - dt.timedelta(days=30)),
                     (Status.MOVED_IN, DAY - dt.timedelta(days=2))):
        await registry.record_step(work(admin, on=on), "A-001", step, on)
    await accounts.add_user(work(admin), "baozhen", "堡镇联络员", "township", PASSWORD, township="堡镇")
    client.ids = {h.kind: h.id for h in await Handoff.all().order_by("-id")}  # one of each kind
    client.transfers = [h.id for h in await Handoff.filter(kind="transfer").order_by("id")]
    return client


async def as_(client, login):
    assert (await log_in(client, login)).status == 303
    return await csrf_of(client, "/ledger/inbox")


async def status_of(handoff_id):
    return (await Handoff.get(id=handoff_id)).status


async def test_each_row_offers_its_own_steps_and_the_bar_is_above_the_list(site):
    await as_(site, "township")
    page = await (await site.get("/ledger/inbox")).text()
    transfer = site.transfers[0]
    assert f'action="/ledger/handoffs/{transfer}/accept?' in page
    assert f'action="/ledger/handoffs/{transfer}/reject?' in page
    assert f'/ledger/handoffs/{transfer}/complete' not in page  # not accepted yet
    assert "/revoke" not in page  # the receiver cannot revoke
    assert page.index('class="bulk-bar"') < page.index("<table")
    assert f'name="id" value="{transfer}" form="bulk"' in page


async def test_accepting_on_the_row_redirects_and_a_repeat_is_harmless(site):
    token = await as_(site, "township")
    transfer = site.transfers[0]
    url = f"/ledger/handoffs/{transfer}/accept?direction=incoming&kind=transfer&page=1"
    answer = await site.post(url, data={"csrf": token}, allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/ledger/inbox?direction=incoming&kind=transfer"
    assert await status_of(transfer) == "accepted"
    shown = await (await site.get(answer.headers["Location"])).text()
    assert f"已接收 1 张（{transfer}）" in shown
    assert "已接收 1 张" not in await (await site.get(answer.headers["Location"])).text()  # shown once
    again = await site.post(url, data={"csrf": token}, allow_redirects=False)
    assert again.status == 303
    shown = await (await site.get(again.headers["Location"])).text()
    assert f"未能处理 {transfer}：该对接单已接收，不能接收" in shown
    assert await AuditEvent.filter(action="ledger.accept", object_id=str(transfer)).count() == 1
    # now it may be completed, on its row
    page = await (await site.get("/ledger/inbox")).text()
    assert f'action="/ledger/handoffs/{transfer}/complete?' in page
    done = await site.post(f"/ledger/handoffs/{transfer}/complete", data={"csrf": token}, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/ledger/inbox"
    assert await status_of(transfer) == "completed"


async def test_a_rejection_asks_its_reason_on_the_row(site):
    token = await as_(site, "township")
    transfer = site.transfers[0]
    page = await (await site.get("/ledger/inbox")).text()
    form = re.search(rf'<form method="post" action="/ledger/handoffs/{transfer}/reject\?[^"]*">(.*?)</form>',
                     page, re.S)[1]
    assert 'name="reason" required' in form
    answer = await site.post(f"/ledger/handoffs/{transfer}/reject?overdue=1", data={"csrf": token, "reason": " "},
                             allow_redirects=False)
    assert answer.headers["Location"] == "/ledger/inbox?overdue=1"
    assert "退回必须写明原因" in await (await site.get("/ledger/inbox")).text()
    assert await status_of(transfer) == "sent"
    await site.post(f"/ledger/handoffs/{transfer}/reject", data={"csrf": token, "reason": "该户尚未实际入住"})
    handoff = await Handoff.get(id=transfer)
    assert (handoff.status, handoff.reason) == ("rejected", "该户尚未实际入住")
    too_long = await site.post(f"/ledger/handoffs/{transfer}/reject", data={"csrf": token, "reason": "长" * 201})
    assert too_long.status == 400 and "原因最多 200 个字" in await too_long.text()


async def test_bulk_steps_redirect_with_the_filters_and_report_each(site):
    token = await as_(site, "township")
    first, second = sorted([site.transfers[0], site.ids["notice"]])
    answer = await site.post("/ledger/handoffs/act?kind=transfer&q=A-001&page=1",
                             data={"csrf": token, "action": "accept", "id": [str(first), str(second), "999999"]},
                             allow_redirects=False)
    assert answer.status == 303
    assert parse_qs(urlsplit(answer.headers["Location"]).query) == {"kind": ["transfer"], "q": ["A-001"]}
    shown = await (await site.get(answer.headers["Location"])).text()
    assert f"已接收 2 张（{first}、{second}）" in shown and "未能处理 999999：找不到对接单 999999" in shown
    assert [await status_of(first), await status_of(second)] == ["accepted", "accepted"]
    # a filter no inbox offers is refused before anything is done
    bad = await site.post("/ledger/handoffs/act?status=nonsense", data={"csrf": token, "action": "complete",
                                                                       "id": str(first)})
    assert bad.status == 400 and await status_of(first) == "accepted"
    none = await site.post("/ledger/handoffs/act?kind=notice", data={"csrf": token, "action": "accept"},
                           allow_redirects=False)
    assert none.headers["Location"] == "/ledger/inbox?kind=notice"
    assert "请先勾选要处理的对接单" in await (await site.get("/ledger/inbox?kind=notice")).text()
    many = await site.post("/ledger/handoffs/act", data={"csrf": token, "action": "accept",
                                                        "id": [str(i) for i in range(1, 60)]})
    assert many.status == 400 and "一次最多处理 50 张" in await many.text()


def rows(page: str) -> list[str]:
    return re.findall(r'<a href="/ledger/handoffs/(\d+)">', page)


async def test_each_filter_narrows(site, monkeypatch):
    token = await as_(site, "township")
    every = rows(await (await site.get("/ledger/inbox")).text())
    assert len(every) == len(site.transfers) + 1
    notices = rows(await (await site.get("/ledger/inbox?kind=notice")).text())
    assert notices == [str(site.ids["notice"])]
    assert rows(await (await site.get("/ledger/inbox?direction=outgoing")).text()) == []
    assert rows(await (await site.get("/ledger/inbox?q=A-00")).text()) == every
    assert sorted(rows(await (await site.get("/ledger/inbox?q=乙")).text())) == sorted(every)  # a member's name
    assert rows(await (await site.get("/ledger/inbox?q=没有这个人")).text()) == []
    assert rows(await (await site.get(f"/ledger/inbox?township={CHENQIAO}")).text()) == every
    assert rows(await (await site.get("/ledger/inbox?township=310151102")).text()) == []
    # moved in two days ago: nothing is overdue yet
    assert rows(await (await site.get("/ledger/inbox?overdue=1")).text()) == []
    await site.post(f"/ledger/handoffs/{site.transfers[0]}/accept", data={"csrf": token})
    assert rows(await (await site.get("/ledger/inbox?status=accepted")).text()) == [str(site.transfers[0])]
    assert str(site.transfers[0]) not in rows(await (await site.get("/ledger/inbox?status=sent")).text())
    await site.post(f"/ledger/handoffs/{site.transfers[0]}/complete", data={"csrf": token})
    assert str(site.transfers[0]) not in rows(await (await site.get("/ledger/inbox")).text())  # open ones
    assert str(site.transfers[0]) in rows(await (await site.get("/ledger/inbox?status=all")).text())
    assert str(site.transfers[0]) in rows(await (await site.get("/ledger/inbox?all=1")).text())
    # the picker names the other townships, not codes typed by hand, and not the liaison's own
    page = await (await site.get("/ledger/inbox")).text()
    picker = re.search(r'<select name="township">(.*?)</select>', page, re.S)[1]
    assert f'<option value="{CHENQIAO}" >城桥镇</option>' in picker and "陈家镇" not in picker
    # the filters ride along the pager
    monkeypatch.setattr(ledger_pages, "INBOX_PAGE", 1)
    paged = await (await site.get("/ledger/inbox?status=all&q=A-001")).text()
    assert 'href="/ledger/inbox?status=all&amp;q=A-001&amp;page=2"' in paged


@pytest.mark.parametrize("query", ["q=" + "长" * 65, "township=火星镇", "status=lost", "kind=gift",
                                   "direction=sideways", "overdue=maybe", "page=0"])
async def test_a_filter_out_of_bounds_is_a_chinese_400(site, query):
    await as_(site, "office")
    answer = await site.get(f"/ledger/inbox?{query}")
    assert answer.status == 400 and re.search(r"[\u4e00-\u9fff]", await answer.text())


async def test_the_office_picks_a_township_and_downloads_its_list(site):
    await as_(site, "office")
    page = await (await site.get("/ledger/inbox")).text()
    assert "/ledger/report" not in page  # a whole district has no one 对接清单
    page = await (await site.get(f"/ledger/inbox?township={CHENJIA}")).text()
    assert f'href="/ledger/report?township={CHENJIA}"' in page
    assert len(rows(page)) == len(site.transfers) + 1
    assert (await site.get(f"/ledger/report?township={CHENJIA}")).status == 200
    assert rows(await (await site.get(f"/ledger/inbox?township={CHENJIA}&direction=outgoing")).text()) == []


async def test_the_handoff_page_reads_in_words(site):
    token = await as_(site, "township")
    transfer = site.transfers[0]
    await site.post(f"/ledger/handoffs/{transfer}/reject", data={"csrf": token, "reason": "该户尚未实际入住"})
    page = await (await site.get(f"/ledger/handoffs/{transfer}")).text()
    assert "城桥镇 → 陈家镇" in page and "已退回" in page and "该户尚未实际入住" in page
    assert 'href="/registry/households/A-001"' in page and "陈家新苑" in page
    assert HEAD_ID not in page and HEAD_ID[:6] in page  # masked
    moved_in = DAY - dt.timedelta(days=2)
    assert f"城桥镇，admin用户，{moved_in.year}年{moved_in.month}月{moved_in.day}日" in page  # who sent it
    assert re.search(r"\d+年\d+月\d+日 \d\d:\d\d，township用户（陈家镇）退回：该户尚未实际入住", page)
    for code in ("web:", CHENJIA, CHENQIAO, "rejected", "ledger."):
        assert code not in page
    notice = await (await site.get(f"/ledger/handoffs/{site.ids['notice']}")).text()
    assert "告知的事项" in notice


async def test_a_resend_is_chained_both_ways(site):
    token = await as_(site, "township")
    old = site.transfers[0]
    await site.post(f"/ledger/handoffs/{old}/reject", data={"csrf": token, "reason": "该户尚未实际入住"})
    token = await as_(site, "office")
    answer = await site.post(f"/ledger/handoffs/{old}/resend", data={"csrf": token, "note": "已核实入住"},
                             allow_redirects=False)
    assert answer.status == 303
    new = int(answer.headers["Location"].rsplit("/", 1)[1])
    page = await (await site.get(answer.headers["Location"])).text()
    assert "已重新发出" in page and f'href="/ledger/handoffs/{old}"' in page and "office用户重新发出" not in page
    back = await (await site.get(f"/ledger/handoffs/{old}")).text()
    assert f'href="/ledger/handoffs/{new}"' in back and "重新发出</button>" not in back  # resent once


@pytest.mark.parametrize("role", ROLES)
async def test_the_handoff_page_is_the_two_townships_and_the_office(site, role):
    await as_(site, role)
    answer = await site.get(f"/ledger/handoffs/{site.transfers[0]}")
    assert answer.status == {"admin": 200, "office": 200, "township": 200}.get(role, 403)
    if answer.status == 403:
        assert "无权" in await answer.text() or "处理双向对接单" in await answer.text()
    await as_(site, "baozhen")
    assert (await site.get(f"/ledger/handoffs/{site.transfers[0]}")).status == 404


@pytest.mark.parametrize("login", [*ROLES, "baozhen"])
async def test_no_link_on_either_page_is_refused(site, login):
    """Every link the inbox (with each filter) and a hand-off's page offer opens for the role."""
    await as_(site, login)
    pages = ["/ledger/inbox", f"/ledger/inbox?township={CHENJIA}", "/ledger/inbox?status=all&kind=transfer",
             f"/ledger/handoffs/{site.transfers[0]}"]
    seen = set()
    for path in pages:
        answer = await site.get(path)
        if login in ("department", "finance"):  # no inbox at all: the menu does not offer it
            assert answer.status == 403
            continue
        if path.startswith("/ledger/handoffs/") and answer.status in (403, 404):
            continue  # not this role's page: it is linked from nowhere it sees (checked below)
        assert answer.status == 200, path
        for href in re.findall(r'href="(/[^"]*)"', await answer.text()):
            href = href.replace("&amp;", "&")
            if href in seen or href.startswith("/static/"):
                continue
            seen.add(href)
            got = await site.get(href, allow_redirects=False)
            assert got.status not in (400, 403, 404, 500), (login, path, href, got.status)


async def test_the_api_has_the_handoff_and_the_filters(site):
    headers = {"Authorization": f"Bearer {site.tokens['township']}"}
    one = await (await site.get(f"/api/v1/ledger/handoffs/{site.transfers[0]}", headers=headers)).json()
    assert one["from_township"] == "城桥镇" and one["steps"][0]["step"] == "发出"
    # the sender is recorded at sending; a row sent before the column has it inferred from the log
    assert ((await Handoff.get(id=site.transfers[0])).sent_by, one["sender"]) == ("web:admin", "admin用户")
    await Handoff.filter(id=site.transfers[0]).update(sent_by="")
    older = await (await site.get(f"/api/v1/ledger/handoffs/{site.transfers[0]}", headers=headers)).json()
    assert older["sender"] == "admin用户"
    assert one["actions"] == ["accept", "reject"]
    assert one["persons"][0]["id_number"] != HEAD_ID
    listed = await (await site.get("/api/v1/ledger/handoffs?kind=notice&q=A-001", headers=headers)).json()
    assert [h["id"] for h in listed["items"]] == [site.ids["notice"]]
    desk = {"Authorization": f"Bearer {site.tokens['desk']}"}
    assert (await site.get(f"/api/v1/ledger/handoffs/{site.transfers[0]}", headers=desk)).status == 403


async def test_a_batch_of_failures_keeps_the_session_cookie_small(site):
    """The flash lives in the session cookie: fifty different refusals are grouped and cut."""
    token = await as_(site, "township")
    answer = await site.post("/ledger/handoffs/act", data={"csrf": token, "action": "accept",
                                                          "id": [str(900000 + i) for i in range(50)]},
                             allow_redirects=False)
    assert answer.status == 303 and len(answer.cookies["resettle"].value) < 2500
    shown = await (await site.get("/ledger/inbox")).text()
    assert shown.count("未能处理") == ledger_pages.FLASH_GROUPS and "另有 46 张的结果未列出" in shown


async def test_a_desk_reads_its_communitys_handoffs_without_steps_or_downloads(site):
    await as_(site, "desk")
    page = await (await site.get("/ledger/inbox")).text()
    assert len(re.findall(r"<td data-label=\"编号\">\d+</td>", page)) == len(site.transfers) + 1
    for offered in ('form="bulk"', "/ledger/report", "/ledger/handoffs/", 'class="bulk-bar"'):
        assert offered not in page
