"""Governance projects through the web: a township drafts with the verdict checked live (no
JavaScript), cannot submit what does not qualify, two edits over one version; the department
verifies, finance approves beside the split and the remaining envelope (an approval over it is
refused on the page); the 审定单, a desk problem turned into a project, the yearly summary adding
up with its .xlsx; and the same workflow through the JSON API with amounts in fen."""

import datetime as dt
import io
import re

import pandas as pd
import pytest

from resettle.actor import Actor
from resettle.policy import load_policy
from resettle.rules.household import Status
from services import accounts, desk, funding, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.test_web import PASSWORD, csrf_of, log_in
from tests.work import DAY, clock_on, work
from web.app import init_app

ADMIN = Actor("test:setup")
YEAR = DAY.year
FORM = {"community": "陈家镇/陈家新苑", "kind": "operation", "item": "YY01", "title": "物业服务补贴",
        "year": str(YEAR), "amount": "", "area_m2": "", "department": "", "description": "", "body": "",
        "held_on": "", "attendance": "", "votes_for": "", "votes_against": "", "problems": ""}


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    """陈家新苑 with 4 moved-in households (物业服务补贴 up to 4 × 360元 a year); 堡新苑 elsewhere."""
    client = await aiohttp_client(init_app(db_url, secret=b"p" * 32, uploads=tmp_path / "uploads",
                                           clock=clock_on(DAY)))
    rows = [person(f"A-{i:03d}", f"户主{i}", make_id("19600101", i), handed="2024-01-02") for i in range(1, 5)]
    rows.append(person("C-009", "丁", make_id("19800101", 9), origin="堡镇", dest="堡镇", community="堡新苑"))
    await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])
    for i in range(1, 5):
        await registry.record_step(work(ADMIN), f"A-{i:03d}", Status.ALLOCATED, dt.date(2024, 2, 1))
        await registry.record_step(work(ADMIN), f"A-{i:03d}", Status.MOVED_IN, dt.date(2024, 3, 1))
    for login, role, extra in (("liaison", "township", {"township": "陈家镇"}),
                               ("housing", "department", {"department": "区房管局"}),
                               ("civil", "department", {"department": "区民政局"}),
                               ("finance", "finance", {}), ("office", "office", {}),
                               ("clerk", "desk", {"community": "陈家新苑", "carriage": "居委会"})):
        await accounts.add_user(work(ADMIN), login, f"{login}用户", role, PASSWORD, **extra)
    client.auth = {login: {"Authorization": f"Bearer {await accounts.issue_token(work(ADMIN), login)}"}
                   for login in ("liaison", "housing", "finance")}
    return client


async def post(site, path, status=303, **fields):
    token = await csrf_of(site, "/funding")
    response = await site.post(path, data={"csrf": token, **fields}, allow_redirects=False)
    assert response.status == status, await response.text()
    return response


def project_id(response) -> int:
    return int(re.search(r"/funding/projects/(\d+)", response.headers["Location"])[1])


def version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page)[1]


async def drafted(site, amount: str) -> int:
    """A 物业服务补贴 draft saved from the form by the township."""
    return project_id(await post(site, "/funding/new", **{**FORM, "amount": amount, "do": "save"}))


async def test_draft_with_the_verdict_live_and_submit_only_what_qualifies(site):
    await log_in(site, "liaison")
    form = await (await site.get("/funding/new")).text()
    assert 'value="陈家镇/陈家新苑" selected' in form and "堡新苑" not in form  # its own communities only
    assert 'name="do" value="check"' in form and "<script" not in form
    checked = await post(site, "/funding/new", 200, **{**FORM, "amount": "1,440.01", "do": "check"})
    page = await checked.text()
    assert "不符合申报条件" in page and "✗" in page and "超过年度标准每户360.00元×已入住4户=1,440.00元" in page
    assert 'value="1,440.01"' in page and 'value="物业服务补贴"' in page and 'value="YY01" selected' in page
    assert "已入住4户" in page and "✓" in page
    refused = await post(site, "/funding/new", 400, **{**FORM, "amount": "12.345", "do": "check"})
    assert "最多两位小数" in (text := await refused.text()) and 'value="12.345"' in text

    project = await drafted(site, "1,440.01")
    page = await (await site.get(f"/funding/projects/{project}?done=draft")).text()
    assert "已保存草稿" in page and 'id="verdict">资格审查：不符合申报条件' in page and 'id="status">草稿<' in page
    read = version(page)
    refused = await post(site, f"/funding/projects/{project}/submit", 400, version=read)
    assert "项目不符合申报条件" in (text := await refused.text()) and "超过年度标准" in text
    await post(site, f"/funding/projects/{project}/edit", **{**FORM, "amount": "1440", "title": "物业服务补贴（一期）",
                                                            "version": read, "do": "save"})
    stale = await post(site, f"/funding/projects/{project}/edit", 409,
                       **{**FORM, "amount": "1000", "title": "第二位的名称", "version": read, "do": "save"})
    text = await stale.text()
    assert "刚被其他人修改过" in text and 'value="第二位的名称"' in text and 'value="1000"' in text
    assert "项目 1 物业服务补贴（一期）" in text  # the first save stands
    page = await (await site.get(f"/funding/projects/{project}")).text()
    assert 'id="verdict">资格审查：符合申报条件' in page and "1,440.00元" in page
    await post(site, f"/funding/projects/{project}/submit", version=version(page))
    page = await (await site.get(f"/funding/projects/{project}")).text()
    assert 'id="status">待核定<' in page and "/submit" not in page and "资格审查（提交时）" in page
    history = re.search(r'<table id="history">.*?</table>', page, re.S)[0]
    assert [a for a in ("起草", "修改", "提交") if a in history] == ["起草", "修改", "提交"]
    # in words: who by name, labels for codes, 元 for fen, nothing raw
    assert "liaison用户" in history and "web:liaison" not in history
    assert "项目类别：日常运营管理类" in history and "目录项目：YY01 " in history and "乡镇：陈家镇" in history
    assert "安置社区：陈家新苑" in history and "申请金额：1,440.01元 → 1,440.00元" in history
    assert "状态：草稿 → 待核定" in history and f"项目年度：{YEAR}年" in history
    for raw in ("None", "operation", "township_code", "requested", "144001", "draft"):
        assert raw not in history, raw


async def test_verify_then_approve_beside_the_split_and_the_envelope(site, monkeypatch):
    await log_in(site, "liaison")
    project = await drafted(site, "1,440")
    page = await (await site.get(f"/funding/projects/{project}")).text()
    await post(site, f"/funding/projects/{project}/submit", version=version(page))

    await log_in(site, "finance")  # nothing to approve yet: the year's envelope all the same
    home = await (await site.get("/funding")).text()
    assert "没有待审定的项目" in home and f"{YEAR}年区级资金：总额 30,000,000.00元" in home
    await log_in(site, "civil")  # 物业服务补贴 is the 区房管局's to verify
    assert (await site.get(f"/funding/projects/{project}")).status == 404
    await log_in(site, "housing")
    home = await (await site.get("/funding")).text()
    assert "待核定（<span id=\"count-queue\">1<" in home and f'href="/funding/projects/{project}"' in home
    page = await (await site.get(f"/funding/projects/{project}")).text()
    assert 'name="amount" value="1,440.00"' in page and "/approve" not in page
    over = await post(site, f"/funding/projects/{project}/verify", 400, amount="1,500", version=version(page))
    assert "核定金额1,500.00元超过申请金额1,440.00元" in (text := await over.text()) and 'value="1,500"' in text
    await post(site, f"/funding/projects/{project}/verify", amount="1,000.01", version=version(page))

    await log_in(site, "finance")
    home = await (await site.get("/funding")).text()
    assert "待审定" in home and "500.01元 / 500.00元（区级50%）" in home and "未引用三合署问题" in home
    assert re.search(rf"{YEAR}年区级资金：总额 30,000,000.00元，已承诺 0.00元，剩余 <strong>30,000,000.00元", home)
    page = await (await site.get(f"/funding/projects/{project}")).text()
    split = re.search(r'<section class="card" id="split">.*?</section>', page, re.S)[0]
    assert "区级承担 <strong>500.01元</strong>，乡镇承担 <strong>500.00元</strong>" in split
    assert "剩余 <strong>30,000,000.00元</strong>" in split
    preview = await site.get(f"/funding/projects/{project}/sheet.pdf")
    assert preview.status == 200 and (await preview.read())[:4] == b"%PDF"

    monkeypatch.setitem(load_policy().funding.envelopes, YEAR, 50_000)  # 500元 left: short of 500.01元
    page = await (await site.get(f"/funding/projects/{project}")).text()
    assert "剩余区级资金不足以承担本项目区级部分" in page
    refused = await post(site, f"/funding/projects/{project}/approve", 400, amount="1,000.01", version=version(page))
    text = await refused.text()
    assert "剩余500.00元，不足本项目区级承担的500.01元" in text and 'value="1,000.01"' in text
    assert (await funding.envelope(work(ADMIN), YEAR))["committed"] == 0
    monkeypatch.undo()
    await post(site, f"/funding/projects/{project}/approve", amount="1,000.01", version=version(page))
    page = await (await site.get(f"/funding/projects/{project}?done=approve")).text()
    assert "已审定" in page and 'id="district">500.01元<' in page and 'id="township">500.00元<' in page
    assert "50%（审定时确定" in page
    sheet = await site.get(f"/funding/projects/{project}/sheet.pdf")
    assert sheet.status == 200 and sheet.content_type == "application/pdf" and (await sheet.read())[:4] == b"%PDF"
    assert "attachment" in sheet.headers["Content-Disposition"]

    await log_in(site, "liaison")
    page = await (await site.get(f"/funding/projects/{project}")).text()
    over = await post(site, f"/funding/projects/{project}/complete", 400, spent="1,000.02", version=version(page))
    assert "超过审定金额" in await over.text()
    await post(site, f"/funding/projects/{project}/complete", spent="990", version=version(page))
    page = await (await site.get(f"/funding/projects/{project}")).text()
    assert "已验收" in page and "990.00元" in page


async def test_a_long_queue_is_paged_with_its_count(site, monkeypatch):
    monkeypatch.setattr(funding, "QUEUE_PAGE", 2)
    await log_in(site, "liaison")
    projects = [project_id(await post(site, "/funding/new", **{**FORM, "amount": "100", "year": str(YEAR + n),
                                                               "do": "save"})) for n in range(3)]  # one item a year
    for project in projects:
        page = await (await site.get(f"/funding/projects/{project}")).text()
        await post(site, f"/funding/projects/{project}/submit", version=version(page))
    await log_in(site, "housing")
    first = (await (await site.get("/funding")).text()).split("count-projects")[0]  # the queue, not the list
    assert "待核定（<span id=\"count-queue\">3<" in first and "第 1–2 项，共 3 项" in first
    assert [f'href="/funding/projects/{p}"' in first for p in projects] == [True, True, False]
    assert 'href="/funding?&queue_offset=2" rel="next"' in first
    second = (await (await site.get("/funding?queue_offset=2")).text()).split("count-projects")[0]
    assert "第 3–3 项，共 3 项" in second and f'href="/funding/projects/{projects[2]}"' in second
    assert 'queue_offset=0" rel="prev"' in second and 'rel="next"' not in second


async def test_return_with_a_reason_kept_on_refusal(site):
    await log_in(site, "liaison")
    project = await drafted(site, "100")
    page = await (await site.get(f"/funding/projects/{project}")).text()
    await post(site, f"/funding/projects/{project}/submit", version=version(page))
    await log_in(site, "housing")
    page = await (await site.get(f"/funding/projects/{project}")).text()
    stale = await post(site, f"/funding/projects/{project}/return", 409, reason="请补充报价单", version="1")
    assert "刚被其他人修改过" in (text := await stale.text()) and 'value="请补充报价单"' in text
    await post(site, f"/funding/projects/{project}/return", reason="请补充报价单", version=version(page))
    await log_in(site, "liaison")
    page = await (await site.get(f"/funding/projects/{project}")).text()
    assert "已退回" in page and "退回原因" in page and "请补充报价单" in page and "/edit" in page


async def test_a_desk_problem_becomes_a_case_by_case_project(site):
    clerk = Actor("test:clerk", role="desk", township="310151110",
                  community_id=(await desk.desk_info(work(ADMIN), "陈家新苑"))["community_id"])
    demand = await desk.intake(work(clerk), None, channel="统一接待", category="设施配套", text="小区没有充电桩",
                               resident=make_id("19600101", 1))
    problem = (await desk.link(work(clerk), [demand["id"]], title="缺少电动自行车充电桩"))["id"]
    await log_in(site, "clerk")
    assert "转为治理项目" not in await (await site.get(f"/desk/problems/{problem}")).text()
    await log_in(site, "liaison")
    assert f'href="/funding/new?problem={problem}"' in await (await site.get(f"/desk/problems/{problem}")).text()
    form = await (await site.get(f"/funding/new?problem={problem}")).text()
    assert 'value="缺少电动自行车充电桩"' in form and 'value="case_by_case" selected' in form
    assert f"问题{problem} 缺少电动自行车充电桩" in form and "1 户" in form
    meeting = {"kind": "case_by_case", "title": "缺少电动自行车充电桩", "year": str(YEAR), "amount": "120,000",
               "department": "区民政局", "body": "居民代表会议", "held_on": f"{YEAR}-01-15", "attendance": "21",
               "votes_for": "10", "votes_against": "2"}
    weak = await (await post(site, f"/funding/new?problem={problem}", 200, **meeting, do="check")).text()
    assert "赞成10票，未超过到会21人的一半" in weak and "关联三合署问题1个" in weak and 'value="10"' in weak
    saved = await post(site, f"/funding/new?problem={problem}", **{**meeting, "votes_for": "15"}, do="save")
    page = await (await site.get(saved.headers["Location"])).text()
    assert "目录外（一事一议）" in page and 'id="verdict">资格审查：符合申报条件' in page
    assert f'href="/desk/problems/{problem}"' in page and "1 户 / 1 条需求" in page
    await log_in(site, "finance")  # finance does not see drafts, nor the desk
    assert (await site.get(saved.headers["Location"])).status == 404


async def test_summary_page_adds_up_with_the_xlsx(site):
    township = Actor("test:cj", role="township", township="310151110")
    for item, amount in (("YY01", 100_001), ("YY02", 60_000)):
        project = await funding.draft(work(township), community="陈家新苑", kind="operation", item=item, title=item,
                                      year=YEAR, requested=amount)
        await funding.submit(work(township), project["id"])
        await funding.verify(work(ADMIN), project["id"], amount)
        await funding.approve(work(ADMIN), project["id"], amount)
    await log_in(site, "office")
    page = await (await site.get(f"/funding/summary?year={YEAR}")).text()
    assert "<svg" in page and "<script" not in page
    table = re.search(r'<table id="summary">.*?</table>', page, re.S)[0]
    total = re.findall(r"<td[^>]*>([^<]*)</td>", re.search(r'<tr class="total">.*?</tr>', table, re.S)[0])
    assert total == ["合计", "", "2", "1,600.01", "800.01", "800.00"]
    xlsx = await site.get(f"/funding/summary?year={YEAR}&format=xlsx")
    assert xlsx.status == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    sheet = pd.read_excel(io.BytesIO(await xlsx.read()), sheet_name="分乡镇分类别")
    last = sheet.iloc[-1]
    assert last["乡镇"] == "合计" and last["项目数"] == 2
    assert [f"{last[c]:,.2f}" for c in ("审定金额（元）", "区级承担（元）", "乡镇承担（元）")] == total[3:]
    pdf = await site.get(f"/funding/summary?year={YEAR}&format=pdf")
    assert (await pdf.read())[:4] == b"%PDF"
    assert (await site.get(f"/funding/summary?year={YEAR}&format=csv")).status == 400
    assert (await site.get("/funding/summary?year=99999")).status == 400


async def test_the_workflow_through_the_api(site):
    liaison, housing, finance = site.auth["liaison"], site.auth["housing"], site.auth["finance"]
    body = {"community": "陈家新苑", "kind": "operation", "item": "YY01", "title": "物业服务补贴", "year": YEAR,
            "requested": 144_001}
    verdict = await (await site.post("/api/v1/funding/preview", headers=liaison, json=body)).json()
    assert not verdict["qualifies"] and any("超过年度标准" in r for r in verdict["reasons"])
    created = await site.post("/api/v1/funding/projects", headers=liaison, json=body)
    assert created.status == 201
    project = await created.json()
    refused = await site.post(f"/api/v1/funding/projects/{project['id']}/submit", headers=liaison, json={})
    assert refused.status == 400 and "不符合申报条件" in (await refused.json())["error"]["message"]
    fixed = await site.patch(f"/api/v1/funding/projects/{project['id']}", headers=liaison,
                             json={"requested": 144_000, "version": project["version"]})
    assert fixed.status == 200 and (await fixed.json())["qualification"]["qualifies"]
    stale = await site.patch(f"/api/v1/funding/projects/{project['id']}", headers=liaison,
                             json={"requested": 1, "version": project["version"]})
    assert stale.status == 409 and (await stale.json())["error"]["code"] == "conflict"
    submitted = await site.post(f"/api/v1/funding/projects/{project['id']}/submit", headers=liaison, json={})
    assert (await submitted.json())["status"] == "submitted"
    queue = await (await site.get(f"/api/v1/funding/queue?year={YEAR}", headers=housing)).json()
    assert [p["id"] for p in queue["items"]] == [project["id"]] and queue["status"] == "submitted"
    verified = await site.post(f"/api/v1/funding/projects/{project['id']}/verify", headers=housing,
                               json={"amount": 100_001})
    assert (await verified.json())["split_preview"]["district_share"] == 50_001
    queue = await (await site.get("/api/v1/funding/queue", headers=finance)).json()
    assert queue["items"][0]["split_preview"] == {"district_share": 50_001, "township_share": 50_000, "ratio": 0.5}
    approved = await (await site.post(f"/api/v1/funding/projects/{project['id']}/approve", headers=finance,
                                      json={"amount": 100_001})).json()
    assert (approved["district_share"], approved["township_share"]) == (50_001, 50_000)
    envelope = await (await site.get(f"/api/v1/funding/envelope?year={YEAR}", headers=finance)).json()
    assert envelope["committed"] == 50_001 and envelope["remaining"] == envelope["envelope"] - 50_001
    summary = await (await site.get(f"/api/v1/funding/summary?year={YEAR}", headers=liaison)).json()
    assert summary["total"] == {"projects": 1, "approved": 100_001, "district_share": 50_001, "township_share": 50_000}
    listed = await (await site.get(f"/api/v1/funding/projects?year={YEAR}&status=approved", headers=finance)).json()
    assert listed["total"] == 1 and listed["items"][0]["approved"] == 100_001
    done = await site.post(f"/api/v1/funding/projects/{project['id']}/complete", headers=liaison,
                           json={"spent": 100_000, "on": DAY.isoformat()})
    assert (await done.json())["status"] == "completed"
    shown = await (await site.get(f"/api/v1/funding/projects/{project['id']}", headers=finance)).json()
    assert [h["action"] for h in shown["history"]][-1] == "funding.completed"


@pytest.mark.parametrize("body, message", [
    ({"community": "陈家新苑", "kind": "operation", "title": "x", "year": YEAR, "requested": "100"}, "应为整数"),
    ({"community": "陈家新苑", "kind": "operation", "title": "x", "year": YEAR, "requested": 1.5}, "应为整数"),
    ({"community": "陈家新苑", "kind": "operation", "title": "x", "year": YEAR, "requested": -1}, "应在0到"),
    ({"community": "陈家新苑", "kind": "operation", "title": "x", "year": 99999, "requested": 1}, "应在2000到2100"),
    ({"community": "陈家新苑", "kind": "other", "title": "x", "year": YEAR, "requested": 1}, "只能是"),
    ({"community": "陈家新苑", "kind": "operation", "title": "x", "year": YEAR, "requested": 1, "amount": 1},
     "不认识的字段：amount"),
    ({"community": "陈家新苑", "kind": "case_by_case", "title": "x", "year": YEAR, "requested": 1,
      "deliberation": {"body": "会", "held_on": "2026/1/1", "attendance": 3, "votes_for": 2, "votes_against": 0}},
     "应为日期"),
    ({"community": "陈家新苑", "kind": "operation", "title": "x", "year": YEAR}, "缺少字段：requested"),
])
async def test_api_bodies_are_checked_strictly(site, body, message):
    response = await site.post("/api/v1/funding/projects", headers=site.auth["liaison"], json=body)
    assert response.status == 422 and message in (await response.json())["error"]["message"]


async def test_api_refusals(site):
    finance, liaison = site.auth["finance"], site.auth["liaison"]
    for path in ("/api/v1/funding/queue?year=20260", "/api/v1/funding/summary?year=1",
                 "/api/v1/funding/envelope?year=x", "/api/v1/funding/projects?status=nope",
                 "/api/v1/funding/projects?township=火星镇",
                 "/api/v1/funding/projects?limit=0"):
        assert (await site.get(path, headers=finance)).status == 400, path
    assert (await site.get("/api/v1/funding/queue", headers=liaison)).status == 403
    assert (await site.get("/api/v1/funding/projects/99999", headers=finance)).status == 404
    response = await site.post("/api/v1/funding/projects/1/verify", headers=finance, json={"amount": 1})
    assert response.status == 403
    elsewhere = await site.post("/api/v1/funding/projects", headers=liaison, json={
        "community": "堡新苑", "kind": "operation", "item": "YY01", "title": "x", "year": YEAR, "requested": 1})
    assert elsewhere.status == 404


async def test_the_form_asks_for_a_community_and_offers_its_problems_to_tick(site, tmp_path):
    await import_sheets(work(ADMIN), [write_csv(tmp_path / "more.csv", [
        person("E-005", "戊", make_id("19700101", 5), community="陈家佳苑")])])

    async def problem(community: str, resident: str, title: str) -> int:
        info = await desk.desk_info(work(ADMIN), community)
        clerk = work(Actor("test:clerk", role="desk", township="310151110", community_id=info["community_id"]))
        demand = await desk.intake(clerk, None, channel="统一接待", category="设施配套", text=title, resident=resident)
        return (await desk.link(clerk, [demand["id"]], title=title))["id"]
    lamp = await problem("陈家新苑", make_id("19600101", 1), "路灯不亮")
    bench = await problem("陈家新苑", make_id("19600101", 2), "缺少休息座椅")
    gate = await problem("陈家佳苑", make_id("19700101", 5), "门禁损坏")

    await log_in(site, "liaison")
    form = await (await site.get("/funding/new")).text()  # two communities now: none chosen yet
    assert "先选择安置社区" in form and 'name="problems"' not in form and 'value="problems"' in form
    refused = await post(site, "/funding/new", 400, **{**FORM, "community": "", "do": "save"})
    assert "请选择安置社区" in (text := await refused.text()) and "找不到" not in text

    listed = await (await post(site, "/funding/new", 200, **{**FORM, "do": "problems"})).text()
    assert f'value="{lamp}"> 问题{lamp} 路灯不亮（待商议）' in listed and f"问题{bench} 缺少休息座椅" in listed
    assert "门禁损坏" not in listed and 'value="物业服务补贴"' in listed and "不符合申报条件" not in listed
    other = await (await site.get("/funding/new?community=陈家镇/陈家佳苑")).text()
    assert f"问题{gate} 门禁损坏" in other and "路灯不亮" not in other

    token = await csrf_of(site, "/funding")
    fields = [(k, v) for k, v in {**FORM, "amount": "1,000"}.items() if k != "problems"]
    checked = await site.post("/funding/new", data=[("csrf", token), *fields, ("problems", str(bench)),
                                                    ("do", "check")])
    page = await checked.text()  # what was ticked stays ticked, the rest does not
    assert f'value="{bench}" checked>' in page and f'value="{lamp}">' in page and "资格审查" in page
    saved = await site.post("/funding/new", data=[("csrf", token), *fields, ("problems", str(lamp)),
                                                  ("problems", str(bench)), ("do", "save")], allow_redirects=False)
    assert saved.status == 303, await saved.text()
    page = await (await site.get(saved.headers["Location"])).text()
    assert f"问题{lamp} 路灯不亮" in page and f"问题{bench} 缺少休息座椅" in page and "2 户 / 2 条需求" in page
    assert "该社区没有其他未解决的三合署问题" in page  # the edit form offers only what is not cited yet
