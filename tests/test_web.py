"""The web workbench and JSON API through aiohttp's test client: every route × every role, in
and out of scope; CSRF, throttling, idle timeout, masking, headers, the OpenAPI document."""

import asyncio
import datetime as dt
import json
import re

import pytest

from resettle.actor import Actor
from resettle.rules.desk import iso_week
from resettle.rules.household import Status
from services import accounts, desk, funding, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, clock_on, work
from web import security
from web.app import init_app
from web.openapi import OPENAPI

ADMIN = Actor("test:setup")
PASSWORD = "correct-horse-9"
ROLES = ("admin", "office", "township", "desk", "department", "finance")
HEAD_ID = make_id("19600101", 1)  # 户主 of A-001
# A-001 moves 城桥镇 → 陈家镇 (陈家新苑); C-003 stays within 堡镇: out of the liaison's and desk's scope.
IN_SCOPE, OUT_OF_SCOPE = "A-001", "C-003"
PERSON = {IN_SCOPE: HEAD_ID, OUT_OF_SCOPE: make_id("19800101", 4)}
COMMUNITY = {IN_SCOPE: "陈家新苑", OUT_OF_SCOPE: "堡新苑"}
WEEK = iso_week(DAY)
YEAR = DAY.year
# governance projects: 陈家新苑's go to the 区民政局 (the department user's), 堡新苑's to the 区房管局
DEPARTMENT = {IN_SCOPE: "区民政局", OUT_OF_SCOPE: "区房管局"}
TOWNSHIP_COMMUNITY = {IN_SCOPE: "陈家镇/陈家新苑", OUT_OF_SCOPE: "堡镇/堡新苑"}


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    return await make_site(aiohttp_client, db_url, tmp_path)


async def make_site(aiohttp_client, db_url, tmp_path, trusted_proxies=None, **server_kwargs):
    """The app seeded with four households and one account (and API token) per role."""
    from aiohttp.test_utils import TestServer

    server = TestServer(init_app(db_url, secret=b"k" * 32, uploads=tmp_path / "uploads",
                                 trusted_proxies=trusted_proxies, clock=clock_on(DAY)))
    await server.start_server(**server_kwargs)  # e.g. the access log (the client's own start keeps these)
    client = await aiohttp_client(server)
    rows = [
        person("A-001", "甲", HEAD_ID, "户主"),
        person("A-001", "乙", make_id("19610101", 2), "配偶"),
        person("B-002", "丙", make_id("19700101", 3), "户主", origin="堡镇", dest="城桥镇", community="城桥新苑"),
        person("C-003", "丁", make_id("19800101", 4), "户主", origin="堡镇", dest="堡镇", community="堡新苑"),
    ]
    await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", rows)])
    tokens = {}
    for role, extra in (("admin", {}), ("office", {}), ("township", {"township": "陈家镇"}),
                        ("desk", {"community": "陈家新苑", "carriage": "居委会"}),
                        ("department", {"department": "区民政局"}), ("finance", {})):
        await accounts.add_user(work(ADMIN), role, f"{role}用户", role, PASSWORD, **extra)
        tokens[role] = await accounts.issue_token(work(ADMIN), role)
    client.tokens = tokens
    client.tmp = tmp_path
    return client


@pytest.fixture
async def desk_ids(site):
    """In each of the two communities, a resident's demand linked to a problem with one action."""
    ids = {}
    for key, community in COMMUNITY.items():
        demand = await desk.intake(work(ADMIN), community, channel="统一接待", category="物业维修", text="电梯坏了",
                                   resident=PERSON[key])
        problem = await desk.link(work(ADMIN), [demand["id"]], title="电梯")
        problem = await desk.add_action(work(ADMIN), problem["id"], owner="物业", text="修电梯",
                                        due=DAY + dt.timedelta(days=7))
        ids[key] = {"demand": demand["id"], "problem": problem["id"], "action": problem["action_items"][0]["id"]}
    return ids


@pytest.fixture
async def funding_ids(desk_ids):
    """In each community (moved in now), 一事一议 projects citing its desk problem: a draft that does
    not qualify (no deliberation), and qualifying ones submitted, verified and approved."""
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        for step, on in ((Status.HANDED_OVER, "2024-01-02"), (Status.ALLOCATED, "2024-02-01"),
                         (Status.MOVED_IN, "2024-03-01")):
            await registry.record_step(work(ADMIN), key, step, dt.date.fromisoformat(on))
    meeting = {"body": "居民代表会议", "held_on": f"{YEAR}-01-15", "attendance": 9, "votes_for": 7, "votes_against": 1}
    ids = {}
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        fields = {"community": COMMUNITY[key], "kind": "case_by_case", "year": YEAR, "requested": 100_000,
                  "department": DEPARTMENT[key], "problems": [desk_ids[key]["problem"]]}
        ids[key] = {"draft": (await funding.draft(work(ADMIN), title="没有议事记录", **fields))["id"]}
        for state in ("submitted", "verified", "approved"):
            project = await funding.draft(work(ADMIN), title=state, deliberation=meeting, **fields)
            project = await funding.submit(work(ADMIN), project["id"])
            if state != "submitted":
                project = await funding.verify(work(ADMIN), project["id"], 100_000)
            if state == "approved":
                project = await funding.approve(work(ADMIN), project["id"], 100_000)
            ids[key][state] = project["id"]
    return ids


async def csrf_of(client, path="/login") -> str:
    text = await (await client.get(path)).text()
    return re.search(r'name="csrf" value="([^"]+)"', text)[1]


async def log_in(client, login, password=PASSWORD):
    token = await csrf_of(client)
    return await client.post("/login", data={"csrf": token, "login": login, "password": password},
                             allow_redirects=False)


def can(role, action) -> bool:
    from resettle.rules.permissions import allowed
    return allowed(role, action)


def expected(role, action, key=IN_SCOPE, ok=200):
    if not can(role, action):
        return 403
    if key == OUT_OF_SCOPE and role in ("township", "desk"):
        return 404
    return ok


def funding_expected(role, action, key=IN_SCOPE, ok=200, draft=False):
    """A township sees its township's projects, a department its items' once submitted, finance
    every submitted one: the rest is not found."""
    if not can(role, action):
        return 403
    if key == OUT_OF_SCOPE and role in ("township", "department"):
        return 404
    if draft and role in ("department", "finance"):
        return 404
    return ok


def sent_back(role, key, holder):
    """退回/不予通过 with a stale version: refused (409) to whoever holds the project, 403 to
    the others who see it."""
    return funding_expected(role, "funding.view", key, ok=409 if can(role, holder) else 403)


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_for_every_role(site, desk_ids, funding_ids, role):
    assert (await log_in(site, role)).status == 303
    token = await csrf_of(site, "/")
    sheet = write_csv(site.tmp / f"{role}.csv", [person("Z-009", "戊", make_id("19900101", 9), origin="陈家镇")])
    checks = [
        ("GET", "/", None, 200),
        ("GET", "/registry/stats", None, 200),
        ("GET", "/registry/stats?by=community", None, 200),
        ("GET", "/registry/households?q=A-001", None, expected(role, "registry.view")),
        ("GET", "/registry/import", None, expected(role, "registry.import")),
        ("GET", "/audit", None, expected(role, "audit.view")),
        ("GET", "/ledger/inbox", None, expected(role, "ledger.view")),
        ("GET", "/ledger/inbox?direction=outgoing&overdue=1", None, expected(role, "ledger.view")),
        ("GET", "/ledger/dashboard", None, expected(role, "ledger.dashboard")),
        ("GET", "/ledger/report?township=陈家镇", None, expected(role, "ledger.handoff")),
        ("GET", "/ledger/report?township=堡镇&format=xlsx", None,
         404 if role == "township" else expected(role, "ledger.handoff")),
        # answered by a redirect to the inbox, which shows each one's result
        ("POST", "/ledger/handoffs/act", {"csrf": token, "id": "999999", "action": "accept"},
         expected(role, "ledger.handoff", ok=303)),
        ("POST", "/ledger/handoffs/999999/accept", {"csrf": token}, expected(role, "ledger.handoff", ok=303)),
        ("GET", "/ledger/handoffs/999999", None, expected(role, "ledger.handoff", ok=404)),
        ("POST", "/ledger/handoffs/999999/resend", {"csrf": token, "note": "请尽快"},
         expected(role, "ledger.handoff", ok=404)),
        ("GET", f"/desk/summary?month={WEEK[:4]}-01", None, expected(role, "desk.view")),
        ("GET", f"/desk/summary?month={WEEK[:4]}-01&format=xlsx", None, expected(role, "desk.view")),
        ("GET", "/funding", None, expected(role, "funding.view")),
        ("GET", f"/funding?year={YEAR}&status=verified&township=陈家镇", None, expected(role, "funding.view")),
        ("GET", "/funding/new", None, expected(role, "funding.draft")),
        ("POST", "/funding/new", {"csrf": token, "community": TOWNSHIP_COMMUNITY[IN_SCOPE], "kind": "operation",
                                  "item": "YY02", "title": "社区工作者配备", "year": str(YEAR), "amount": "100",
                                  "do": "check"}, expected(role, "funding.draft")),
        ("GET", f"/funding/summary?year={YEAR}", None, expected(role, "funding.view")),
        ("GET", f"/funding/summary?year={YEAR}&format=pdf", None, expected(role, "funding.view")),
    ]
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        p = funding_ids[key]
        checks += [
            ("GET", f"/funding/projects/{p['draft']}", None, funding_expected(role, "funding.view", key, draft=True)),
            ("GET", f"/funding/projects/{p['submitted']}", None, funding_expected(role, "funding.view", key)),
            ("GET", f"/funding/projects/{p['approved']}", None, funding_expected(role, "funding.view", key)),
            ("GET", f"/funding/projects/{p['verified']}/sheet.pdf", None, funding_expected(role, "funding.view", key)),
            ("GET", f"/funding/new?problem={desk_ids[key]['problem']}", None, expected(role, "funding.draft", key)),
            # refused in place: it does not qualify, a stale version, amounts over what the step allows
            ("POST", f"/funding/projects/{p['draft']}/submit", {"csrf": token},
             funding_expected(role, "funding.draft", key, ok=400, draft=True)),
            ("POST", f"/funding/projects/{p['draft']}/edit",
             {"csrf": token, "community": TOWNSHIP_COMMUNITY[key], "kind": "case_by_case", "title": "改名",
              "year": str(YEAR), "amount": "1", "department": DEPARTMENT[key], "version": "99", "do": "save"},
             funding_expected(role, "funding.draft", key, ok=409, draft=True)),
            ("POST", f"/funding/projects/{p['submitted']}/verify", {"csrf": token, "amount": "1,000.01"},
             funding_expected(role, "funding.verify", key, ok=400)),
            ("POST", f"/funding/projects/{p['submitted']}/return", {"csrf": token, "reason": "补材料", "version": "99"},
             sent_back(role, key, "funding.verify")),
            ("POST", f"/funding/projects/{p['verified']}/approve", {"csrf": token, "amount": "1,000.01"},
             funding_expected(role, "funding.approve", key, ok=400)),
            ("POST", f"/funding/projects/{p['verified']}/reject", {"csrf": token, "reason": "重复", "version": "99"},
             sent_back(role, key, "funding.approve")),
            ("POST", f"/funding/projects/{p['approved']}/complete", {"csrf": token, "spent": "1,000.01"},
             funding_expected(role, "funding.draft", key, ok=400)),
        ]
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        c, ids = COMMUNITY[key], desk_ids[key]
        checks += [
            ("GET", f"/desk?community={c}", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/meeting?community={c}", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/meeting/minutes?community={c}", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/lists?community={c}&month={WEEK[:4]}-01", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/lists?community={c}&format=pdf", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/lists/notice?community={c}&year={WEEK[:4]}", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/demands/{ids['demand']}", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/problems/{ids['problem']}", None, expected(role, "desk.view", key)),
            ("GET", f"/desk/intake?community={c}", None, expected(role, "desk.work", key)),
            # the demand is linked already, the action's problem is not done: refused in place (400)
            ("POST", f"/desk/intake?community={c}", {"csrf": token, "q": "", "text": "x"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/desk/demands/{ids['demand']}/answer", {"csrf": token, "text": "好的"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/desk/demands/{ids['demand']}/feedback", {"csrf": token, "rating": "满意"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/desk/problems/{ids['problem']}/edit", {"csrf": token, "title": "电梯", "version": "99"},
             expected(role, "desk.work", key, ok=409)),
            ("POST", f"/desk/meeting?community={c}", {"csrf": token, "week": WEEK, "version": "5"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/desk/demands/{ids['demand']}/link", {"csrf": token, "title": "又一个"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/desk/demands/{ids['demand']}/decline", {"csrf": token, "reason": "转交"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/desk/problems/{ids['problem']}/actions", {"csrf": token, "owner": "无此方", "text": "x",
                                                                  "due": "2099-01-01"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/desk/actions/{ids['action']}/complete", {"csrf": token, "problem": str(ids["problem"]),
                                                                 "result": "修好了", "version": "99"},
             expected(role, "desk.work", key, ok=409)),
        ]
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        checks.append(("GET", f"/ledger/persons/{PERSON[key]}", None, expected(role, "ledger.view", key)))
        checks += [
            ("GET", f"/registry/households/{key}", None, expected(role, "registry.view", key)),
            ("POST", f"/registry/households/{key}/reveal", {"csrf": token},
             expected(role, "registry.full_id", key)),
            # a date before signing: permitted actors see the refusal in place (400)
            ("POST", f"/registry/households/{key}/events", {"csrf": token, "event": "handed_over", "on": "2000-01-01"},
             expected(role, "registry.record", key, ok=400)),
        ]
    for method, path, data, status in checks:
        response = await site.request(method, path, data=data, allow_redirects=False)
        if response.status == 303:
            assert status == 303, (role, method, path)
            continue
        if response.content_type != "text/html":  # the 对接清单 PDF / xlsx
            assert response.status == status and (await response.read())[:2] in (b"%P", b"PK"), (role, path)
            continue
        assert response.status == status, (role, method, path, await response.text())
        text = await response.text()
        if not path.endswith("/reveal") and "/persons/" not in path:
            assert HEAD_ID not in text, (role, path)  # masked everywhere but the reveal
    with sheet.open("rb") as handle:
        response = await site.post("/registry/import", data={"csrf": token, "sheet": handle})
    assert response.status == expected(role, "registry.import"), await response.text()


@pytest.mark.parametrize("role", ROLES)
async def test_every_api_route_for_every_role(site, desk_ids, funding_ids, role):
    auth = {"Authorization": f"Bearer {site.tokens[role]}"}
    checks = [
        ("GET", "/api/v1/openapi.json", None, 200),
        ("GET", "/api/v1/registry/stats?by=township", None, 200),
        ("GET", "/api/v1/registry/stats?by=community", None, 200),
        ("GET", "/api/v1/households?q=A", None, expected(role, "registry.view")),
        ("GET", "/api/v1/ledger/handoffs?overdue=true", None, expected(role, "ledger.view")),
        ("POST", "/api/v1/ledger/handoffs/actions", {"ids": [999999], "action": "accept"},
         expected(role, "ledger.handoff")),
        ("GET", f"/api/v1/desk/summary?month={WEEK[:4]}-01", None, expected(role, "desk.view")),
        ("GET", f"/api/v1/funding/projects?year={YEAR}&status=approved", None, expected(role, "funding.view")),
        ("GET", f"/api/v1/funding/queue?year={YEAR}", None,
         200 if can(role, "funding.verify") or can(role, "funding.approve") else 403),
        ("GET", f"/api/v1/funding/summary?year={YEAR}", None, expected(role, "funding.view")),
        ("GET", f"/api/v1/funding/envelope?year={YEAR}", None, expected(role, "funding.view")),
        ("POST", "/api/v1/funding/preview", {"community": "陈家新苑", "kind": "operation", "item": "YY02",
                                             "title": "社区工作者配备", "year": YEAR, "requested": 10_000},
         expected(role, "funding.draft")),
        ("POST", "/api/v1/funding/projects", {"community": "陈家新苑", "kind": "operation", "item": "YY02",
                                              "title": "社区工作者配备", "year": YEAR, "requested": 10_000},
         expected(role, "funding.draft", ok=201)),
    ]
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        p, base = funding_ids[key], "/api/v1/funding/projects"
        checks += [
            ("GET", f"{base}/{p['draft']}", None, funding_expected(role, "funding.view", key, draft=True)),
            ("GET", f"{base}/{p['approved']}", None, funding_expected(role, "funding.view", key)),
            ("PATCH", f"{base}/{p['draft']}", {"title": "改名", "version": 99},
             funding_expected(role, "funding.draft", key, ok=409, draft=True)),
            ("POST", f"{base}/{p['draft']}/submit", {},
             funding_expected(role, "funding.draft", key, ok=400, draft=True)),
            ("POST", f"{base}/{p['submitted']}/verify", {"amount": 100_001},
             funding_expected(role, "funding.verify", key, ok=400)),
            ("POST", f"{base}/{p['submitted']}/reject", {"reason": "重复", "version": 99},
             sent_back(role, key, "funding.verify")),
            ("POST", f"{base}/{p['verified']}/approve", {"amount": 100_001},
             funding_expected(role, "funding.approve", key, ok=400)),
            ("POST", f"{base}/{p['verified']}/return", {"reason": "补材料", "version": 99},
             sent_back(role, key, "funding.approve")),
            ("POST", f"{base}/{p['approved']}/complete", {"spent": 100_001},
             funding_expected(role, "funding.draft", key, ok=400)),
        ]
    due = (DAY + dt.timedelta(days=3)).isoformat()
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        c, ids = COMMUNITY[key], desk_ids[key]
        checks += [
            ("GET", f"/api/v1/desk/board?community={c}", None, expected(role, "desk.view", key)),
            ("GET", f"/api/v1/desk/agenda?community={c}&week={WEEK}", None, expected(role, "desk.view", key)),
            ("GET", f"/api/v1/desk/lists?community={c}&year={WEEK[:4]}", None, expected(role, "desk.view", key)),
            ("GET", f"/api/v1/desk/summary?community={c}&month={WEEK[:4]}-01", None, expected(role, "desk.view", key)),
            ("GET", f"/api/v1/desk/similar?community={c}&category=物业维修&text=电梯", None,
             expected(role, "desk.view", key)),
            ("GET", f"/api/v1/desk/residents?community={c}&q=甲", None, expected(role, "desk.view", key)),
            ("GET", f"/api/v1/desk/demands/{ids['demand']}", None, expected(role, "desk.view", key)),
            ("GET", f"/api/v1/desk/problems/{ids['problem']}", None, expected(role, "desk.view", key)),
            ("POST", "/api/v1/desk/demands", {"community": c, "channel": "电话", "category": "物业维修", "text": "",
                                              "resident": PERSON[key]}, expected(role, "desk.work", key, ok=400)),
            # the demand is linked already, the action's problem is not done: refused (400)
            ("POST", "/api/v1/desk/demands/link", {"demand_ids": [ids["demand"]], "problem_id": ids["problem"]},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/api/v1/desk/demands/{ids['demand']}/answer", {"text": "好的"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/api/v1/desk/demands/{ids['demand']}/decline", {"reason": "转派"},
             expected(role, "desk.work", key, ok=400)),
            ("POST", f"/api/v1/desk/demands/{ids['demand']}/feedback", {"rating": "满意"},
             expected(role, "desk.work", key, ok=400)),
            ("PATCH", f"/api/v1/desk/problems/{ids['problem']}", {"title": "电梯", "version": 99},
             expected(role, "desk.work", key, ok=409)),
            ("POST", f"/api/v1/desk/problems/{ids['problem']}/actions", {"owner": "物业", "text": "再修", "due": due},
             expected(role, "desk.work", key, ok=201)),
            ("POST", f"/api/v1/desk/actions/{ids['action']}/complete", {"result": "修好"},
             expected(role, "desk.work", key)),
            ("PUT", f"/api/v1/desk/weeks/{WEEK}?community={c}", {"decisions": "先修电梯", "version": 0},
             expected(role, "desk.work", key)),
        ]
    for key in (IN_SCOPE, OUT_OF_SCOPE):
        checks.append(("GET", f"/api/v1/ledger/persons/{PERSON[key]}", None, expected(role, "ledger.view", key)))
        checks += [
            ("GET", f"/api/v1/households/{key}", None, expected(role, "registry.view", key)),
            ("POST", f"/api/v1/households/{key}/events", {"event": "handed_over", "on": "2000-01-01"},
             expected(role, "registry.record", key, ok=400)),
        ]
    for method, path, body, status in checks:
        response = await site.request(method, path, json=body, headers=auth)
        assert response.status == status, (role, method, path, await response.text())
        assert "Set-Cookie" not in response.headers, path  # a token client gets no session
        data = await response.json()
        if status >= 400:
            assert set(data["error"]) == {"code", "message"}
        if "/persons/" not in path:  # the path itself carries the ID there
            assert HEAD_ID not in await response.text()
    sheet = write_csv(site.tmp / f"{role}.csv", [person("Z-009", "戊", make_id("19900101", 9), origin="陈家镇")])
    with sheet.open("rb") as handle:
        response = await site.post("/api/v1/imports", data={"sheet": handle, "dry_run": "true"}, headers=auth)
    assert response.status == expected(role, "registry.import"), await response.text()


async def test_anonymous_sees_only_login_health_and_static(site):
    for path in ("/", "/registry/stats", "/registry/households/A-001", "/audit", "/registry/import"):
        response = await site.get(path, allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] == "/login"
    for path in ("/api/v1/registry/stats", "/api/v1/households/A-001", "/api/v1/openapi.json"):
        response = await site.get(path)
        assert response.status == 401 and "API 令牌" in (await response.json())["error"]["message"]
    for path in ("/login", "/healthz", "/static/style.css"):
        assert (await site.get(path)).status == 200
    bad = await site.get("/api/v1/households", headers={"Authorization": "Bearer nonsense"})
    assert bad.status == 401


async def test_security_headers_and_cookie_flags(site):
    response = await log_in(site, "office")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = await site.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in await page.text()


async def test_anonymous_requests_between_form_and_post_keep_the_login_token(site):
    """A browser fetches /favicon.ico and the like while the login form is open."""
    token = await csrf_of(site)
    assert (await site.get("/favicon.ico", allow_redirects=False)).status == 200  # public, like /static/
    assert (await site.get("/apple-touch-icon.png", allow_redirects=False)).status == 302
    response = await site.post("/login", data={"csrf": token, "login": "office", "password": PASSWORD},
                               allow_redirects=False)
    assert response.status == 303


async def test_csrf_token_is_required(site):
    await log_in(site, "office")
    response = await site.post("/registry/households/A-001/reveal", data={})
    assert response.status == 403 and "刷新页面" in await response.text()
    response = await site.post("/registry/households/A-001/reveal", data={"csrf": "forged"})
    assert response.status == 403
    login_without_token = await site.post("/login", data={"login": "office", "password": PASSWORD})
    assert login_without_token.status == 403


async def test_login_is_throttled_per_account(site):
    for _ in range(accounts.ACCOUNT_LIMIT):
        response = await log_in(site, "office", "wrong-password")
        assert response.status == 401 and "登录名或密码错误" in await response.text()
    locked = await log_in(site, "office")  # even the right password is refused for a while
    assert locked.status == 401 and "次数过多" in await locked.text()
    assert (await log_in(site, "admin")).status == 303  # other accounts are unaffected


async def test_idle_session_expires(site, monkeypatch):
    await log_in(site, "office")
    assert (await site.get("/", allow_redirects=False)).status == 200
    monkeypatch.setattr(security, "IDLE_SECONDS", -1)
    response = await site.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/login?expired=1"
    monkeypatch.setattr(security, "IDLE_SECONDS", 1800)
    assert (await site.get("/", allow_redirects=False)).status == 302  # the session is gone


async def test_logout_and_disabled_account(site):
    await log_in(site, "office")
    token = await csrf_of(site, "/")
    assert (await site.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 303
    assert (await site.get("/", allow_redirects=False)).status == 302
    await accounts.disable(work(ADMIN), "township")
    assert (await log_in(site, "township")).status == 401
    response = await site.get("/api/v1/registry/stats", headers={"Authorization": f"Bearer {site.tokens['township']}"})
    assert response.status == 401


async def test_reveal_shows_full_ids_and_is_audited(site):
    await log_in(site, "township")
    token = await csrf_of(site, "/")
    response = await site.post("/registry/households/A-001/reveal", data={"csrf": token})
    assert response.status == 200 and HEAD_ID in await response.text()
    await log_in(site, "admin")
    log = await (await site.get("/audit?action=registry.reveal_ids")).text()
    # said in words: who by name and township, what, on which household; never the raw actor
    assert "township用户（陈家镇）" in log and "查看完整身份证号" in log and "户 A-001" in log
    assert "显示成员人数：2人" in log and "web:township" not in log


async def test_record_from_the_page_and_refusal_in_place(site):
    await log_in(site, "township")
    token = await csrf_of(site, "/registry/households/A-001")
    refused = await site.post("/registry/households/A-001/events",
                              data={"csrf": token, "event": "moved_in", "on": "2024-01-01", "version": "1"})
    assert refused.status == 400 and "尚未交房" in await refused.text()
    done = await site.post("/registry/households/A-001/events",
                           data={"csrf": token, "event": "handed_over", "on": "2024-01-01", "version": "1"},
                           allow_redirects=False)
    assert done.status == 303
    stale = await site.post("/registry/households/A-001/events",
                            data={"csrf": token, "event": "allocated", "on": "2024-02-01", "version": "1"})
    assert stale.status == 400 and "刚被其他人修改过" in await stale.text()


async def test_import_preview_then_confirm_with_skip_invalid(site):
    await log_in(site, "township")
    token = await csrf_of(site, "/registry/import")
    rows = [person("N-100", "新甲", make_id("19550505", 5), origin="陈家镇", community="陈家新苑"),
            person("N-101", "", make_id("19560606", 6), origin="陈家镇", community="陈家新苑"),
            person("N-102", "外乡", make_id("19570707", 7), origin="堡镇", dest="堡镇", community="堡新苑")]
    with write_csv(site.tmp / "up.csv", rows).open("rb") as handle:
        preview = await site.post("/registry/import", data={"csrf": token, "sheet": handle})
    text = await preview.text()
    assert preview.status == 200 and "尚未写入任何数据" in text
    assert "姓名不能为空" in text and "既不从陈家镇迁出" in text
    upload = re.search(r"/registry/import/([\w-]+)/confirm", text)[1]
    report = await site.get(f"/registry/import/{upload}/errors.xlsx")
    assert report.status == 200 and (await report.read())[:2] == b"PK"
    before = await (await site.get("/api/v1/registry/stats", headers={
        "Authorization": f"Bearer {site.tokens['township']}"})).json()
    rejected = await site.post(f"/registry/import/{upload}/confirm", data={"csrf": token})
    assert "未写入任何数据" in await rejected.text()
    done = await site.post(f"/registry/import/{upload}/confirm", data={"csrf": token, "skip_invalid": "1"})
    assert "已导入没有错误的户" in await done.text()
    after = await (await site.get("/api/v1/registry/stats", headers={
        "Authorization": f"Bearer {site.tokens['township']}"})).json()
    assert after[-1]["out_households"] == before[-1]["out_households"] + 1
    await log_in(site, "office")  # another account cannot use that upload
    assert (await site.get(f"/registry/import/{upload}/errors.xlsx")).status == 404


async def test_api_import_and_record(site):
    auth = {"Authorization": f"Bearer {site.tokens['office']}"}
    with write_csv(site.tmp / "a.csv", [person("N-200", "某", make_id("19580808", 8))]).open("rb") as handle:
        response = await site.post("/api/v1/imports", data={"sheet": handle}, headers=auth)
    summary = await response.json()
    assert response.status == 200 and summary["households_added"] == 1 and summary["issues"] == []
    with write_csv(site.tmp / "b.csv", [person("N-201", "", make_id("19590909", 9))]).open("rb") as handle:
        response = await site.post("/api/v1/imports", data={"sheet": handle}, headers=auth)
    body = await response.json()
    assert response.status == 422 and body["outcome"] == "rejected" and body["issues"][0]["column"] == "姓名"
    response = await site.post("/api/v1/households/N-200/events", json={"event": "handed_over", "on": "2024-01-01"},
                               headers=auth)
    assert response.status == 201 and (await response.json())["status"] == "handed_over"
    for bad in ("not json", "[1]"):
        response = await site.post("/api/v1/households/N-200/events", data=bad, headers=auth)
        assert response.status in (400, 422)
    response = await site.get("/api/v1/households?limit=0", headers=auth)
    assert response.status == 400 and "limit" in (await response.json())["error"]["message"]


async def test_openapi_document_matches_the_routes(site):
    spec = await (await site.get("/api/v1/openapi.json", headers={
        "Authorization": f"Bearer {site.tokens['admin']}"})).json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    routed = {(r.method, r.resource.canonical.replace("{agreement_no}", "{agreement_no}"))
              for r in site.app.router.routes()
              if r.resource and r.resource.canonical.startswith("/api/") and r.method != "HEAD"}
    assert documented == routed
    assert spec == json.loads(json.dumps(OPENAPI))  # the document served is the one generated


async def slow_import(site, monkeypatch):
    """An office user uploads a sheet whose check stops at 逐行校验 3/10 until `release` is set;
    returns the response (the progress page) and the event."""
    from web import jobs, registry_pages

    release = asyncio.Event()
    real = registry_pages.import_sheets

    async def slow(*args, progress=None, **kw):
        progress("逐行校验", 3, 10)
        await release.wait()
        return await real(*args, progress=progress, **kw)

    monkeypatch.setattr(registry_pages, "import_sheets", slow)
    monkeypatch.setattr(jobs, "FIRST_WAIT", 0.05)
    await log_in(site, "office")
    token = await csrf_of(site, "/registry/import")
    with write_csv(site.tmp / "big.csv", [person("P-1", "某", make_id("19500101", 1))]).open("rb") as handle:
        return await site.post("/registry/import", data={"csrf": token, "sheet": handle}), release


async def test_long_import_shows_progress_until_done(site, monkeypatch):
    from web import jobs

    response, release = await slow_import(site, monkeypatch)
    text = await response.text()
    assert 'http-equiv="refresh"' in text and "逐行校验：3 / 10" in text and "<script" not in text
    release.set()
    upload = str(response.url).rsplit("/", 1)[1]
    await site.app[jobs.JOBS][upload].task  # the job finishes; no sleeping on the clock
    done = await site.get(str(response.url.relative()))
    assert "尚未写入任何数据" in await done.text()


async def test_inbox_bulk_accept_and_person_page(site):
    import datetime as dt

    from resettle.rules.household import Status
    from services import registry

    await registry.record_step(work(ADMIN), "A-001", Status.HANDED_OVER, dt.date(2024, 1, 2))
    await registry.record_step(work(ADMIN), "A-001", Status.ALLOCATED, dt.date(2024, 2, 1))
    await registry.record_step(work(ADMIN), "A-001", Status.MOVED_IN, dt.date(2024, 3, 1))
    await log_in(site, "township")
    page = await (await site.get("/ledger/inbox")).text()
    ids = re.findall(r'name="id" value="(\d+)"', page)
    assert len(ids) == 2 and "逾期" in page  # WGZF transfer + the notice, long overdue

    def offered(text: str) -> list[str]:  # the bulk form's steps: what the table lets the receiver do
        return re.findall(r'<option value="(\w+)">', text.split('name="action"', 1)[1].split("</select>", 1)[0])
    assert offered(page) == ["accept", "reject"]  # a receiver cannot revoke what it did not send
    token = await csrf_of(site, "/ledger/inbox")
    form = [("csrf", token), ("action", "accept")] + [("id", i) for i in ids]
    done = await site.post("/ledger/handoffs/act", data=form)
    text = await done.text()
    assert done.status == 200 and text.count("已接收") >= 2
    assert "complete" in offered(text) and "accept" not in offered(text)
    if not {"reject", "revoke"} & set(offered(text)):
        assert 'name="reason"' not in text  # no reason asked when no offered step takes one
    person = await (await site.get(f"/ledger/persons/{HEAD_ID}")).text()
    assert "社区网格走访" in person and "事随人走" in person and "城桥镇" in person


async def test_a_body_nested_deeper_than_the_parser_goes_is_a_400(site):
    auth = {"Authorization": f"Bearer {site.tokens['office']}"}
    deep = "[" * 100_000 + "]" * 100_000  # 200 KB, under the form limit; json.loads raises RecursionError
    response = await site.post("/api/v1/ledger/handoffs/actions", data=deep, headers={
        **auth, "Content-Type": "application/json"})
    assert response.status == 400 and "JSON" in await response.text()


async def test_unicode_digits_are_not_numbers(site):
    """'²'.isdigit() is True in Python; found by the fuzzer."""
    auth = {"Authorization": f"Bearer {site.tokens['office']}"}
    assert (await site.get("/api/v1/ledger/persons/²", headers=auth)).status == 404
    assert (await site.get("/api/v1/households?limit=²", headers=auth)).status == 400
    response = await site.post("/api/v1/households/A-001/events", json={"event": "handed_over", "version": "²"},
                               headers=auth)
    assert response.status == 400


async def test_control_characters_are_refused(site):
    """PostgreSQL cannot store NUL: it is refused at the door (400), never sent to the database."""
    auth = {"Authorization": f"Bearer {site.tokens['admin']}"}
    for path in ("/api/v1/households/A%00", "/api/v1/ledger/persons/%00x", "/api/v1/households?q=%00",
                 "/api/v1/desk/board?community=%00", "/api/v1/desk/similar?community=陈家新苑&category=%00"):
        assert (await site.get(path, headers=auth)).status == 400, path
    response = await site.post("/api/v1/households/A-001/events", json={"event": "withdrawn", "reason": "a\x00"},
                               headers=auth)
    assert response.status == 400


# Page values with a NUL in each place a page reads one: (who, method, path, form)
NUL_IN_PAGES = [
    ("office", "GET", "/registry/households?q=a%00", None),
    ("office", "GET", "/registry/households/A%00", None),
    ("office", "POST", "/registry/households/A%00/reveal", {}),
    ("office", "POST", "/registry/households/A%00/events", {"event": "withdrawn", "reason": "走了"}),
    ("office", "POST", "/registry/households/A-001/events", {"event": "withdrawn", "reason": "a\x00"}),
    ("office", "POST", "/registry/households/A-001/events", {"event": "allocated", "unit": "1号\x00"}),
    ("office", "POST", "/registry/households/A-001/events", {"event": "hukou_moved", "person": "a\x00"}),
    ("township", "GET", "/ledger/inbox?township=%00", None),
    ("township", "GET", "/ledger/inbox?direction=%00", None),
    ("township", "GET", f"/ledger/persons/{HEAD_ID}%00", None),
    ("office", "GET", "/ledger/report?township=%00", None),
    ("office", "GET", "/ledger/report?township=陈家镇&with=%00", None),
    ("township", "POST", "/ledger/handoffs/act", {"action": "accept", "id": "1", "reason": "a\x00"}),
    ("township", "POST", "/ledger/handoffs/act", {"action": "accept\x00", "id": "1"}),
    ("township", "POST", "/ledger/handoffs/1/resend", {"note": "a\x00"}),
    (None, "POST", "/login", {"login": "office\x00", "password": PASSWORD}),
]


@pytest.mark.parametrize(("who", "method", "path", "form"), NUL_IN_PAGES)
async def test_control_characters_in_page_values_are_refused(site, who, method, path, form):
    """Page queries, paths and forms go through the same field check as the API's (a NUL is a
    500 on PostgreSQL when it reaches the database)."""
    if who:
        await log_in(site, who)
    if form is None:
        response = await site.get(path)
    else:
        response = await site.post(path, data={"csrf": await csrf_of(site, "/" if who else "/login"), **form},
                                   allow_redirects=False)
    assert response.status == 400, await response.text()
    assert "控制字符" in await response.text()


@pytest.mark.parametrize(("method", "path", "form", "status"), [
    ("POST", "/ledger/handoffs/act", {"action": "accept", "id": "9" * 20}, 400),
    ("POST", "/ledger/handoffs/act", {"action": "accept", "id": "²"}, 400),
    ("POST", "/ledger/handoffs/act", {"action": "accept", "id": "1\x00"}, 400),
    ("POST", f"/ledger/handoffs/{'9' * 20}/resend", {"note": ""}, 404),
    ("POST", f"/ledger/handoffs/{'9' * 10}/resend", {"note": ""}, 404),
])
async def test_ids_past_32_bits_are_refused_not_sent_to_the_database(site, method, path, form, status):
    await log_in(site, "township")
    response = await site.post(path, data={"csrf": await csrf_of(site, "/"), **form}, allow_redirects=False)
    assert response.status == status, await response.text()


UNSTABLE = {"version", "history", "qualification"}  # what every save changes, or is judged afresh
MEETING = {"body": "居民代表会议", "held_on": f"{YEAR}-01-15", "attendance": 9, "votes_for": 7, "votes_against": 1}
# Per PATCH route of the API: the resource (key in desk_ids/funding_ids), a starting state with every
# field set, and partial updates (each with the fields that follow from it: an operation project's
# department is its catalogue item's, and it holds no deliberation)
PATCHES = {
    "/api/v1/desk/problems/{id}": (("desk", "problem"), {"title": "电梯", "description": "三号楼电梯常坏"}, [
        ({"title": "三号楼电梯"}, ()), ({"description": "换新电梯"}, ())]),
    "/api/v1/funding/projects/{id}": (("funding", "draft"), {
        "title": "电梯维修", "description": "更换三号楼电梯", "area_m2": 120, "deliberation": MEETING}, [
        ({"title": "电梯更换"}, ()), ({"description": "只换曳引机"}, ()), ({"year": YEAR + 1}, ()),
        ({"requested": 200_000}, ()), ({"area_m2": 150}, ()), ({"department": "区房管局"}, ()),
        ({"deliberation": {**MEETING, "votes_for": 8, "votes_against": 0}}, ()), ({"deliberation": None}, ()),
        ({"community": "堡新苑"}, ("township", "township_code", "community_id", "evidence")), ({"problems": []}, ()),
        ({"kind": "operation", "item": "YY01"}, ("kind_label", "department", "deliberation"))]),
}


def test_every_patch_route_is_in_the_table_with_every_field():
    patched = {path: item["patch"] for path, item in OPENAPI["paths"].items() if "patch" in item}
    assert patched.keys() == PATCHES.keys()
    for path, operation in patched.items():
        schema = OPENAPI["components"]["schemas"][operation["requestBody"]["content"]["application/json"]
                                                  ["schema"]["$ref"].rsplit("/", 1)[1]]
        covered = {name for changes, _ in PATCHES[path][2] for name in changes}
        assert covered == schema["properties"].keys() - {"version"}, path


@pytest.mark.parametrize(("path", "case"), [(path, n) for path, (_, _, cases) in PATCHES.items()
                                            for n in range(len(cases))])
async def test_a_patch_leaves_fields_it_does_not_name_as_they_were(site, desk_ids, funding_ids, path, case):
    """Issue 12 item 8: a PATCH of a problem's title used to erase its description."""
    (kind, name), start, cases = PATCHES[path]
    changes, follows = cases[case]
    url = path.replace("{id}", str((desk_ids if kind == "desk" else funding_ids)[IN_SCOPE][name]))
    auth = {"Authorization": f"Bearer {site.tokens['admin']}"}
    version = (await (await site.get(url, headers=auth)).json())["version"]
    started = await site.patch(url, json={**start, "version": version}, headers=auth)
    assert started.status == 200, await started.text()
    before = await started.json()
    response = await site.patch(url, json={**changes, "version": before["version"]}, headers=auth)
    assert response.status == 200, await response.text()
    after = await (await site.get(url, headers=auth)).json()
    for field_name, value in before.items():
        if field_name in changes or field_name in follows or field_name in UNSTABLE:
            continue
        assert after[field_name] == value, field_name
    for field_name, value in changes.items():
        if field_name in after:
            assert after[field_name] == value, field_name



PATH_VALUES = {"id": "1", "no": IN_SCOPE, "agreement_no": IN_SCOPE, "key": HEAD_ID, "upload": "x" * 16,
               "week": WEEK, "step": "submit", "filename": "app.css"}


def _routes(app):
    """(a concrete path, the methods it answers) for each resource of the app."""
    for resource in app.router.resources():
        methods = {route.method for route in resource} - {"HEAD"}
        info = resource.get_info()
        template = info.get("formatter") or info.get("path") or (info.get("prefix", "") + "/app.css")
        yield re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m[1]], template), methods


@pytest.mark.parametrize("who", ["api", "page", None])
async def test_a_wrong_method_is_405_with_allow_on_every_route(site, who):
    """Through every middleware (CSRF, the API's errors): 405 and what the route does answer. An
    anonymous client learns it only of the public routes (the others want a login first)."""
    headers = {"Authorization": f"Bearer {site.tokens['admin']}"} if who == "api" else {}
    if who == "page":
        await log_in(site, "admin")
    checked = 0
    for path, methods in _routes(site.app):
        if "*" in methods or (who == "api") != path.startswith("/api/") or (
                who is None and not path.startswith(security.PUBLIC)):
            continue
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
            response = await site.request(method, path, headers=headers, allow_redirects=False)
            assert response.status == 405, (method, path, response.status, await response.text())
            assert set(response.headers.get("Allow", "").split(",")) >= methods, (method, path)
            checked += 1
    assert checked > (10 if who is None else 100)


_FORM = re.compile(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


async def _pages_of(site, role: str, desk_ids, funding_ids) -> list[str]:
    """The pages a role reaches (in scope, every project state), as text."""
    c, ids, projects = COMMUNITY[IN_SCOPE], desk_ids[IN_SCOPE], funding_ids[IN_SCOPE]
    pages = ["/", f"/desk?community={c}", f"/desk/demands/{ids['demand']}", f"/desk/problems/{ids['problem']}",
             f"/desk/meeting?community={c}", f"/desk/intake?community={c}", "/funding", "/funding/new",
             *(f"/funding/projects/{pid}" for pid in projects.values()), f"/registry/households/{IN_SCOPE}",
             "/ledger/inbox", "/registry/import", "/audit"]
    found = []
    for page in pages:
        response = await site.get(page)
        if response.status in (403, 404):  # not the role's, or a draft its owner has not submitted
            continue
        assert response.status == 200, (role, page)
        found.append(await response.text())
    return found


_LINK = re.compile(r'<a href="(/[^"]*)"')


@pytest.mark.parametrize("role", ROLES)
async def test_a_link_a_page_shows_is_one_the_role_may_follow(site, desk_ids, funding_ids, role):
    """Every link on the pages a role reaches leads to a page (or a paper) the role may see:
    what a page offers comes from the permission table and the scope rule, never a 403 or 404."""
    import html

    await log_in(site, role)
    links = {html.unescape(href) for page in await _pages_of(site, role, desk_ids, funding_ids)
             for href in _LINK.findall(page)} - {"/logout"}
    assert links
    for link in sorted(links):
        response = await site.get(link, allow_redirects=False)
        assert response.status not in (403, 404, 405, 500), (role, link, response.status)


@pytest.mark.parametrize("role", ROLES)
async def test_a_form_a_page_shows_is_one_the_role_may_send(site, desk_ids, funding_ids, role):
    """Every form on the pages a role reaches (in scope, every project state) is one its POST
    handler takes from that role: no button answers 403. (That the others refuse each role that
    may not is test_every_page_for_every_role's.)"""
    import html

    await log_in(site, role)
    forms = {}
    for page in await _pages_of(site, role, desk_ids, funding_ids):
        for action, body in _FORM.findall(page):
            forms.setdefault(html.unescape(action), dict(_HIDDEN.findall(body)))
    forms.pop("/logout")
    for action, hidden in forms.items():
        response = await site.post(action, data={k: html.unescape(v) for k, v in hidden.items()},
                                   allow_redirects=False)
        assert response.status not in (403, 404, 405, 500), (role, action, response.status)
