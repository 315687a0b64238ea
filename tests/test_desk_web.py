"""三合署 through the web: intake at the reception table (by ID number, by a name two residents
share, a non-resident, a 事项对接 line), one-click linking, two clerks editing one problem, the
weekly meeting, the lists adding up with their .xlsx, feedback closing the loop; and the same loop
through the JSON API with its strict bodies."""

import datetime as dt
import io
import re

import pandas as pd
import pytest

from resettle.actor import Actor
from resettle.rules.desk import iso_week
from services import accounts
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.test_web import PASSWORD, csrf_of, log_in
from tests.work import DAY, clock_on, work
from web.app import init_app

ADMIN = Actor("test:setup")
HEAD, WIFE, OTHER = make_id("19600101", 1), make_id("19620101", 2), make_id("19700101", 3)
NAMESAKE = make_id("19650101", 5)  # a second 张三英 in the same community
WEEK = iso_week(DAY)


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    client = await aiohttp_client(init_app(db_url, secret=b"d" * 32, uploads=tmp_path / "uploads",
                                           clock=clock_on(DAY)))
    rows = [
        person("A-001", "张三英", HEAD, "户主", unit="3号101室", tags="低保"),
        person("A-001", "李四", WIFE, "配偶", unit="3号101室"),
        person("B-002", "王五", OTHER, "户主", unit="5号202室"),
        person("D-004", "张三英", NAMESAKE, "户主", unit="7号303室"),
        person("C-003", "赵六", make_id("19800101", 4), "户主", origin="堡镇", dest="堡镇", community="堡新苑"),
    ]
    await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])
    for login, role, extra in (("clerk", "desk", {"community": "陈家新苑", "carriage": "居委会"}),
                               ("clerk2", "desk", {"community": "陈家新苑", "carriage": "物业"}),
                               ("liaison", "township", {"township": "陈家镇"}), ("office", "office", {})):
        await accounts.add_user(work(ADMIN), login, f"{login}用户", role, PASSWORD, **extra)
    client.auth = {"Authorization": f"Bearer {await accounts.issue_token(work(ADMIN), 'clerk')}"}
    return client


async def take(site, status=303, **fields):
    """Post the intake form as a clerk would fill it."""
    token = await csrf_of(site, "/desk/intake")
    data = {"csrf": token, "channel": "reception", "category": "物业维修", "text": "3号楼电梯坏了", **fields}
    response = await site.post("/desk/intake", data=data, allow_redirects=False)
    assert response.status == status, await response.text()
    return response


def demand_id(response) -> int:
    return int(re.search(r"/desk/demands/(\d+)", response.headers["Location"])[1])


async def post(site, path, status=303, **fields):
    token = await csrf_of(site, "/desk")
    response = await site.post(path, data={"csrf": token, **fields}, allow_redirects=False)
    assert response.status == status, await response.text()
    return response


async def test_intake_by_id_number_then_one_click_link(site):
    await log_in(site, "clerk")
    form = await (await site.get("/desk/intake")).text()
    assert re.search(r'<input name="q"[^>]*autofocus', form) and 'value="reception" selected' in form
    first = demand_id(await take(site, q=HEAD, text="3号楼电梯坏了，老人下不了楼"))
    page = await (await site.get(f"/desk/demands/{first}?new=1")).text()
    assert "张三英" in page and "3号101室" in page and HEAD not in page
    assert "没有相似的未结问题" in page
    assert re.search(r'name="title" value="3号楼电梯坏了，老人下不了楼"[^>]*autofocus', page)  # 新立问题, prefilled
    problem = await post(site, f"/desk/demands/{first}/link", title="3号楼电梯故障")
    problem_id = int(re.search(r"/desk/problems/(\d+)", problem.headers["Location"])[1])

    second = demand_id(await take(site, q=OTHER, text="电梯又坏了"))
    page = await (await site.get(f"/desk/demands/{second}?new=1")).text()
    offer = re.search(r'name="problem_id" value="(\d+)">.*?<button type="submit" autofocus>并入此问题', page, re.S)
    assert offer and int(offer[1]) == problem_id
    linked = await post(site, f"/desk/demands/{second}/link", problem_id=str(problem_id))
    assert linked.headers["Location"].startswith(f"/desk/problems/{problem_id}")
    page = await (await site.get(f"/desk/problems/{problem_id}")).text()
    assert "2 条 / 2 户" in page and "王五" in page
    again = await post(site, f"/desk/demands/{second}/link", 400, problem_id=str(problem_id))
    assert "需求已是“已转问题”" in await again.text()


async def test_intake_by_a_shared_name_keeps_what_was_typed(site):
    await log_in(site, "clerk")
    choose = await take(site, 200, q="张三英", text="楼道灯坏了", category="设施配套", contact="13900001111")
    page = await choose.text()
    assert "对应2位居民" in page and page.count('name="person"') == 2 and HEAD not in page
    assert ">楼道灯坏了</textarea>" in page and 'value="13900001111"' in page and "<option selected>设施配套" in page
    namesake = re.findall(r'name="person" value="(\d+)"', page)[1]
    assert re.search(r'name="person" value="\d+"\s+autofocus', page)
    taken = await take(site, q="张三英", person=namesake, text="楼道灯坏了", category="设施配套")
    page = await (await site.get(taken.headers["Location"])).text()
    assert "7号303室" in page and "设施配套" in page
    # a 房号 two members share is as ambiguous as the name
    assert "对应2位居民" in await (await take(site, 200, q="3号101室")).text()


async def test_intake_of_a_non_resident(site):
    await log_in(site, "clerk")
    ask = await (await take(site, 200, q="访客甲", text="想了解社区食堂")).text()
    assert "本社区登记居民中没有“访客甲”" in ask and re.search(r'name="name" value="访客甲"', ask)
    assert re.search(r'name="contact"[^>]*autofocus', ask) and ">想了解社区食堂</textarea>" in ask
    refused = await (await take(site, 400, q="访客甲", name="访客甲", text="想了解社区食堂")).text()
    assert "非本社区登记居民须留联系电话" in refused and ">想了解社区食堂</textarea>" in refused
    taken = await take(site, q="访客甲", name="访客甲", contact="138 1234 5678", text="想了解社区食堂")
    page = await (await site.get(taken.headers["Location"])).text()
    assert "访客甲（非登记居民）" in page and "13812345678" in page
    empty = await (await take(site, 400, text="没有写是谁")).text()
    assert "请填写居民的身份证号、姓名或房号" in empty


async def test_a_matter_demand_offers_the_residents_ledger_lines(site):
    await log_in(site, "clerk")
    offer = await (await take(site, 200, q=HEAD, category="事项对接", text="低保转到陈家镇了吗")).text()
    assert 'name="entitlement"' in offer and "城桥镇负责" in offer and "不关联具体事项" in offer
    line = re.search(r'<option value="(\d+)" >最低生活保障', offer)[1]
    person_id = re.search(r'name="person" value="(\d+)"', offer)[1]
    taken = await take(site, q=HEAD, person=person_id, lines_offered="1", entitlement=line, category="事项对接",
                       text="低保转到陈家镇了吗")
    page = await (await site.get(taken.headers["Location"])).text()
    assert "对接的台账事项" in page and f"编号 {line}" in page and "城桥镇" in page


async def test_answer_and_decline_in_place(site):
    await log_in(site, "clerk")
    first = demand_id(await take(site, q=OTHER, text="垃圾房几点开", category="环境卫生"))
    refused = await post(site, f"/desk/demands/{first}/answer", 400, text="  ")
    assert "请填写答复内容" in await refused.text()
    await post(site, f"/desk/demands/{first}/answer", text="每天7:00–9:00", version="1")
    page = await (await site.get(f"/desk/demands/{first}")).text()
    assert "当场答复" in page and "每天7:00–9:00" in page and "并入此问题" not in page
    second = demand_id(await take(site, q=OTHER, text="户口迁移"))
    stale = await post(site, f"/desk/demands/{second}/decline", 409, reason="已转派出所", version="7")
    assert "刚被其他人修改过" in (text := await stale.text()) and 'value="已转派出所"' in text


async def test_second_stale_save_keeps_the_text(site):
    await log_in(site, "clerk")
    first = demand_id(await take(site, q=HEAD))
    location = (await post(site, f"/desk/demands/{first}/link", title="电梯")).headers["Location"]
    page = await (await site.get(location)).text()
    version = re.search(r'name="version" value="(\d+)"', page)[1]
    await post(site, f"{location}/edit", title="3号楼电梯", description="第一位的说明", version=version)
    stale = await post(site, f"{location}/edit", 409, title="电梯故障", description="第二位的说明", version=version)
    text = await stale.text()
    assert "刚被其他人修改过，请刷新后重试" in text
    assert 'value="电梯故障"' in text and ">第二位的说明</textarea>" in text  # the second clerk's text is kept
    assert "问题 1 3号楼电梯" in text  # and the first clerk's save stands


async def test_meeting_page_saves_the_week_and_plans_actions(site):
    await log_in(site, "clerk")
    first = demand_id(await take(site, q=HEAD))
    await post(site, f"/desk/demands/{first}/link", title="电梯")
    page = await (await site.get("/desk/meeting")).text()
    assert "问题1 电梯" in page and 'name="reception:居委会"' in page and 'name="meeting:物业"' in page
    monday = dt.date.fromisocalendar(*DAY.isocalendar()[:2], 1)
    saved = await post(site, "/desk/meeting", week=WEEK, version="0", meeting_on=monday.isoformat(),
                       **{"reception:居委会": "张主任、李委员", "meeting:物业": "王经理, 赵主管"}, decisions="电梯先修")
    assert "saved=1" in saved.headers["Location"]
    page = await (await site.get(saved.headers["Location"])).text()
    assert 'value="张主任、李委员"' in page and 'value="王经理、赵主管"' in page and ">电梯先修</textarea>" in page
    second = await post(site, "/desk/meeting", 400, week=WEEK, version="0", decisions="另一份决定")
    assert "已有人先记录" in (text := await second.text()) and ">另一份决定</textarea>" in text

    back = f"/desk/meeting?week={WEEK}"
    due = (DAY + dt.timedelta(days=7)).isoformat()
    planned = await post(site, "/desk/problems/1/actions", owner="物业", text="联系维保单位", due=due, back=back)
    assert planned.headers["Location"] == back
    page = await (await site.get(back)).text()
    assert "本周议定的实事（1）" in page and "联系维保单位" in page and "待商议的问题（0）" in page
    minutes = await site.get(f"/desk/meeting/minutes?week={WEEK}")
    assert minutes.status == 200 and (await minutes.read())[:4] == b"%PDF"
    refused = await post(site, "/desk/problems/1/actions", 400, owner="物业", text="再修", due="", back=back)
    assert "请填写完成期限" in (text := await refused.text()) and 'value="再修"' in text


async def loop_to_done(site) -> tuple[list[int], int]:
    """Two residents' demands on one problem with one action, completed from the problem's page."""
    ids = [demand_id(await take(site, q=key)) for key in (HEAD, OTHER)]
    await post(site, f"/desk/demands/{ids[0]}/link", title="电梯")
    await post(site, f"/desk/demands/{ids[1]}/link", problem_id="1")
    await post(site, "/desk/problems/1/actions", owner="物业", text="换主板", due=DAY.isoformat())
    page = await (await site.get("/desk/problems/1")).text()
    action = re.search(r"/desk/actions/(\d+)/complete", page)[1]
    await post(site, f"/desk/actions/{action}/complete", problem="1", result="已更换", on=DAY.isoformat())
    return ids, 1


async def test_feedback_from_the_board_closes_the_loop(site):
    await log_in(site, "clerk")
    ids, problem = await loop_to_done(site)
    board = await (await site.get("/desk")).text()
    assert 'id="count-waiting">1<' in board and board.count("记录回访") == 2
    refused = await post(site, f"/desk/demands/{ids[0]}/feedback", 400, rating="unsatisfied", remark="", back="/desk")
    assert "请填写不满意的原因" in await refused.text()
    done = await post(site, f"/desk/demands/{ids[0]}/feedback", rating="satisfied", back="/desk")
    assert done.headers["Location"] == "/desk"
    await post(site, f"/desk/demands/{ids[1]}/feedback", rating="mostly", remark="还行", back="/desk")
    page = await (await site.get(f"/desk/problems/{problem}")).text()
    assert "幸福清单" in page and "满意率 100%" in page and "基本满意：还行" in page
    lists = await (await site.get("/desk/lists?list=happy")).text()
    assert 'id="count-happy">1<' in lists


async def test_lists_page_adds_up_with_the_sheets(site):
    await log_in(site, "clerk")
    await loop_to_done(site)
    demand_id(await take(site, q="王五", text="楼下停车乱", category="停车"))
    page = await (await site.get(f"/desk/lists?week={WEEK}")).text()
    counts = {k: int(v) for k, v in re.findall(r'id="count-(\w+)">(\d+)<', page)}
    assert counts == {"demands": 3, "problems": 1, "happy": 0, "actions": 1}
    response = await site.get(f"/desk/lists?week={WEEK}&format=xlsx")
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    sheets = pd.read_excel(io.BytesIO(await response.read()), sheet_name=None, dtype=str)
    assert {name: len(frame) for name, frame in sheets.items()} == {
        "需求清单": 3, "问题清单": 1, "实事清单": 1, "幸福清单": 0}
    one = await site.get(f"/desk/lists?week={WEEK}&list=demands&format=csv")
    assert one.status == 200 and len((await one.text()).strip().splitlines()) == 1 + 3
    pdf = await site.get(f"/desk/lists?week={WEEK}&format=pdf")
    assert (await pdf.read())[:4] == b"%PDF"
    notice = await site.get(f"/desk/lists/notice?month={DAY:%Y-%m}")
    assert (await notice.read())[:4] == b"%PDF"
    assert (await site.get(f"/desk/lists?week={WEEK}&format=csv")).status == 400  # csv holds one list


async def test_township_and_office_read_only(site):
    await log_in(site, "clerk")
    await take(site, q=HEAD)
    await log_in(site, "liaison")  # 陈家镇 has one community: no need to pick it
    board = await (await site.get("/desk")).text()
    assert "陈家新苑" in board and 'id="count-demands">1<' in board and "/desk/intake" not in board
    assert (await site.get("/desk/intake")).status == 403
    assert (await site.get("/desk/lists?community=堡镇/堡新苑")).status == 404
    summary = await (await site.get("/desk/summary")).text()
    assert "<svg" in summary and "陈家新苑" in summary and "<script" not in summary
    await log_in(site, "office")
    pick = await (await site.get("/desk")).text()
    assert "请选择安置社区" in pick and 'value="陈家镇/陈家新苑"' in pick and 'value="堡镇/堡新苑"' in pick
    chosen = await (await site.get("/desk/meeting?community=陈家镇/陈家新苑")).text()
    assert "例会 · 陈家新苑" in chosen and 'name="decisions"' not in chosen
    xlsx = await site.get(f"/desk/summary?month={DAY:%Y-%m}&township=陈家镇&format=xlsx")
    assert xlsx.status == 200 and (await xlsx.read())[:2] == b"PK"


async def test_the_loop_through_the_api(site):
    auth = site.auth
    taken = await site.post("/api/v1/desk/demands", headers=auth, json={
        "channel": "统一接待", "category": "物业维修", "text": "3号楼电梯坏了", "resident": HEAD})
    assert taken.status == 201, await taken.text()
    first = await taken.json()
    assert first["resident"] == "张三英" and first["similar"] == []
    problem = await (await site.post("/api/v1/desk/demands/link", headers=auth,
                                     json={"demand_ids": [first["id"]], "title": "电梯"})).json()
    second = await (await site.post("/api/v1/desk/demands", headers=auth, json={
        "channel": "phone", "category": "物业维修", "text": "电梯又坏了", "name": "访客",
        "contact": "13812345678"})).json()
    assert [s["id"] for s in second["similar"]] == [problem["id"]]
    similar = await site.get("/api/v1/desk/similar", headers=auth, params={"category": "物业维修", "text": "电梯"})
    assert [s["id"] for s in await similar.json()] == [problem["id"]]
    await site.post("/api/v1/desk/demands/link", headers=auth,
                    json={"demand_ids": [second["id"]], "problem_id": problem["id"]})
    edited = await site.patch(f"/api/v1/desk/problems/{problem['id']}", headers=auth,
                              json={"title": "3号楼电梯", "version": problem["version"]})
    assert edited.status == 200
    stale = await site.patch(f"/api/v1/desk/problems/{problem['id']}", headers=auth,
                             json={"title": "电梯故障", "version": problem["version"]})
    assert stale.status == 409 and (await stale.json())["error"]["code"] == "conflict"
    planned = await site.post(f"/api/v1/desk/problems/{problem['id']}/actions", headers=auth,
                              json={"owner": "物业", "text": "换主板", "due": DAY.isoformat()})
    assert planned.status == 201
    action = (await planned.json())["action_items"][0]["id"]
    done = await (await site.post(f"/api/v1/desk/actions/{action}/complete", headers=auth,
                                  json={"result": "已更换"})).json()
    assert done["status"] == "done" and done["waiting"] == 2
    for demand in (first, second):
        verdict = await site.post(f"/api/v1/desk/demands/{demand['id']}/feedback", headers=auth,
                                  json={"rating": "满意"})
        assert verdict.status == 200
    assert (await verdict.json())["outcome"] == "happy"
    lists = await (await site.get(f"/api/v1/desk/lists?week={WEEK}", headers=auth)).json()
    assert [p["id"] for p in lists["happy"]] == [problem["id"]] and len(lists["demands"]) == 2
    week = await site.put(f"/api/v1/desk/weeks/{WEEK}", headers=auth,
                          json={"reception": {"居委会": ["张主任"]}, "decisions": "电梯已修", "version": 0})
    assert week.status == 200 and (await week.json())["version"] == 1
    agenda = await (await site.get("/api/v1/desk/agenda", headers=auth)).json()
    assert agenda["decisions"] == "电梯已修" and agenda["version"] == 1
    board = await (await site.get("/api/v1/desk/board", headers=auth)).json()
    assert board["counts"]["linked"] == 2
    found = await (await site.get("/api/v1/desk/residents", headers=auth, params={"q": "张三英"})).json()
    assert len(found) == 2 and HEAD not in str(found)
    summary = await (await site.get(f"/api/v1/desk/summary?month={DAY:%Y-%m}", headers=auth)).json()
    assert summary["total"]["solved"] == 1


@pytest.mark.parametrize("body, message", [
    ({"channel": "统一接待", "category": "物业维修", "text": "x", "entitlement_id": "12"}, "应为整数"),
    ({"channel": "统一接待", "category": "物业维修", "text": "x", "entitlement_id": True}, "应为整数"),
    ({"channel": "统一接待", "category": "物业维修", "text": "x", "received_on": "2026/11/18"}, "应为日期"),
    ({"channel": "统一接待", "category": "物业维修", "text": "x", "received_on": "２０２６-11-18"}, "应为日期"),
    ({"channel": "统一接待", "category": "物业维修", "text": "a\x00b"}, "控制字符"),
    ({"channel": "统一接待", "category": "物业维修", "text": "x", "colour": "red"}, "不认识的字段：colour"),
    ({"channel": "走街串巷", "category": "物业维修", "text": "x"}, "只能是"),
    ({"category": "物业维修", "text": "x"}, "缺少字段：channel"),
])
async def test_api_bodies_are_checked_strictly(site, body, message):
    response = await site.post("/api/v1/desk/demands", headers=site.auth, json=body)
    assert response.status == 422 and message in (await response.json())["error"]["message"]


async def test_api_refusals(site):
    auth = site.auth
    bad = await site.post("/api/v1/desk/demands", headers=auth, json={"channel": "统一接待", "category": "不存在",
                                                                     "text": "x", "resident": HEAD})
    assert bad.status == 400 and "需求类别只能是" in (await bad.json())["error"]["message"]
    link = await site.post("/api/v1/desk/demands/link", headers=auth, json={"demand_ids": [], "title": "x"})
    assert link.status == 422
    assert (await site.get("/api/v1/desk/demands/99999999999", headers=auth)).status == 404
    assert (await site.get("/api/v1/desk/board?community=99999999999", headers=auth)).status == 404
    assert (await site.get("/api/v1/desk/board?week=2026-W99", headers=auth)).status == 400
    for far in ("week=9999-W52", "week=0001-W01", "month=0000-01", "year=9999"):  # the periods would overflow
        assert (await site.get(f"/api/v1/desk/lists?{far}", headers=auth)).status == 400, far
    week = await site.put("/api/v1/desk/weeks/not-a-week", headers=auth, json={"version": 0})
    assert week.status == 400 and "2026-W47" in (await week.json())["error"]["message"]
    names = await site.put(f"/api/v1/desk/weeks/{WEEK}", headers=auth, json={"reception": {"居委会": "张主任"},
                                                                            "version": 0})
    assert names.status == 422


async def test_an_unrecorded_week_starts_from_the_members_as_real_values(site):
    await log_in(site, "clerk")
    page = await (await site.get(f"/desk/meeting?week={WEEK}")).text()
    assert "placeholder" not in page.split('class="attendance"')[1].split("</table>")[0]
    assert re.search(r'name="reception:居委会"[^>]*value="clerk用户"', page)
    assert re.search(r'name="meeting:物业"[^>]*value="clerk2用户"', page)
    assert re.search(r'name="meeting:业委会"[^>]*value=""', page) and "已按三合署成员预填" in page
    # once the week is recorded, what was recorded shows, an empty box stays empty
    await post(site, "/desk/meeting", week=WEEK, version="0", **{"reception:居委会": "张主任"})
    page = await (await site.get(f"/desk/meeting?week={WEEK}")).text()
    assert re.search(r'name="reception:居委会"[^>]*value="张主任"', page)
    assert re.search(r'name="meeting:物业"[^>]*value=""', page) and "已按三合署成员预填" not in page


async def test_weeks_read_as_dates_on_the_pages(site):
    await log_in(site, "clerk")
    board = await (await site.get("/desk?week=2026-W49")).text()
    assert "2026年第49周（11月30日—12月6日）" in board and "2026-W49（" not in board
    meeting = await (await site.get("/desk/meeting?week=2026-W53")).text()
    assert "2026年第53周（12月28日—2027年1月3日）" in meeting
    lists = await (await site.get("/desk/lists?week=2026-W49")).text()
    assert "2026年第49周（11月30日—12月6日）" in lists


async def test_the_header_names_the_user_once_and_the_favicon_is_served(site):
    await accounts.add_user(work(ADMIN), "caizheng", "区财政局", "finance", PASSWORD)
    await log_in(site, "caizheng")
    page = await (await site.get("/")).text()
    assert "<span class=\"who\">区财政局</span>" in page and "区财政局（区财政局）" not in page
    assert 'rel="icon" href="/static/favicon.svg"' in page
    await log_in(site, "clerk")
    assert "<span class=\"who\">clerk用户（三合署窗口）</span>" in await (await site.get("/")).text()
    site.session.cookie_jar.clear()  # browsers ask for it before anyone logs in
    for path in ("/favicon.ico", "/static/favicon.svg"):
        icon = await site.get(path, allow_redirects=False)
        assert icon.status == 200 and icon.content_type == "image/svg+xml" and b"<svg" in await icon.read()


async def test_a_problems_history_reads_in_words(site):
    await log_in(site, "clerk")
    await post(site, f"/desk/demands/{demand_id(await take(site, q=HEAD))}/link", title="电梯")
    await post(site, "/desk/problems/1/actions", owner="物业", text="换主板", due=DAY.isoformat())
    await log_in(site, "office")
    page = await (await site.get("/desk/problems/1")).text()
    history = page.split("操作记录")[1]
    assert "立项" in history and "问题标题：电梯" in history and "clerk用户" in history
    assert "推进" in history and "状态：待商议 → 办理中" in history
    for raw in ("web:clerk", "desk.", "status", "None", "open"):
        assert raw not in history, raw


async def test_who_acted_is_named(db):
    from services.audit import who_acted
    await accounts.add_user(work(ADMIN), "wang", "王丽华", "office", PASSWORD)
    actors = ["web:wang", "api:wang", "demo:wang", "cli:root", "demo:新河镇", "web:gone", "odd"]
    assert await who_acted(actors, work(ADMIN).policy) == {
        "web:wang": "王丽华（区集中居住办）", "api:wang": "王丽华（区集中居住办，接口）",
        "demo:wang": "王丽华（区集中居住办）",
        "cli:root": "root（命令行）", "demo:新河镇": "新河镇（演示数据）", "web:gone": "gone（网页）", "odd": "odd"}
