"""No role is offered a link it may not use: log in as every role, and from the home page follow
every link (downloads included) and submit every GET form (with the values it shows) two clicks
deep, on a database seeded with work at every stage as tests/test_walk.py seeds it. Any 400, 403,
404 or 5xx fails. No browser: aiohttp's test client and the standard library's HTML parser."""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from resettle.actor import Actor
from resettle.rules.desk import iso_week
from resettle.rules.household import Status
from services import accounts, desk, funding, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, clock_on, work
from web.app import init_app

ADMIN = Actor("test:setup")
PASSWORD = "links-pass-9"
ROLES = {"admin": {}, "office": {}, "township": {"township": "陈家镇"},
         "desk": {"community": "陈家新苑", "carriage": "居委会"},
         "department": {"department": "区民政局"}, "finance": {}}
DEPTH = 2  # clicks from the home page
REFUSED = {400, 403, 404}
# Links that end a session or leave the workbench are not followed.
LEAVE = ("/logout",)


class Page(HTMLParser):
    """The links of a page, and its GET forms as (action, [(name, value)]) with the values the
    page shows: an input's value, a checked box, a select's selected (or first) option."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._form: tuple[str, list[tuple[str, str]]] | None = None
        self._select: tuple[str, list[str], list[str]] | None = None  # name, options, selected
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "form":
            get = a.get("method", "get").lower() == "get"
            self._form = (a.get("action", ""), []) if get else None
        elif self._form is None:
            return
        elif tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._form[1].append((a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self._select = (a["name"], [], [])
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select[1].append(value)
            if "selected" in a:
                self._select[2].append(value)
        elif tag == "textarea" and a.get("name"):
            self._textarea = (a["name"], [])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            name, options, selected = self._select
            if selected or options:
                self._form[1].append((name, (selected or options)[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form[1].append((self._textarea[0], "".join(self._textarea[1])))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def _target(base: str, href: str) -> str | None:
    """`href` (on the page at `base`) as a path of this site to follow, without its fragment;
    None for another site, the API, static files, mailto: and the like."""
    url = urlsplit(urljoin(f"http://site{base}", href))
    if url.scheme != "http" or url.netloc != "site" or url.path.startswith(("/api/", "/static/")):
        return None
    if url.path in LEAVE:
        return None
    return urlunsplit(("", "", url.path, url.query, ""))


async def seed(tmp_path) -> None:
    """Four households, three moved in (their hand-offs sent), desk demands and problems in 陈家新苑
    at every stage, a recorded week, governance projects from draft to approved, one account per role."""
    head = make_id("19600101", 1)
    await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", [
        person("A-001", "甲", head, "户主", unit="3-101"),
        person("A-001", "乙", make_id("19610101", 2), "配偶", unit="3-101"),
        person("A-002", "戊", make_id("19450101", 5), "户主", origin="陈家镇", unit="5-202", tags="残疾"),
        person("B-002", "丙", make_id("19700101", 3), "户主", origin="堡镇", dest="城桥镇", community="城桥新苑"),
        person("C-003", "丁", make_id("19800101", 4), "户主", origin="堡镇", dest="堡镇", community="堡新苑"),
    ])])
    for agreement in ("A-001", "A-002", "B-002"):
        for step, on in ((Status.HANDED_OVER, "2024-01-02"), (Status.ALLOCATED, "2024-02-01"),
                         (Status.MOVED_IN, "2024-03-01")):
            await registry.record_step(work(ADMIN), agreement, step, dt.date.fromisoformat(on))
    for role, extra in ROLES.items():
        await accounts.add_user(work(ADMIN), role, f"{role}用户", role, PASSWORD, **extra)
    w, earlier = work(ADMIN), work(ADMIN, on=DAY - dt.timedelta(days=9))
    lift = await desk.intake(earlier, "陈家新苑", channel="统一接待", category="物业维修",
                             text="3号楼电梯经常停运，老人下不了楼", resident=head)
    await desk.intake(w, "陈家新苑", channel="电话", category="物业维修", text="电梯按钮失灵", name="访客",
                      contact="13812345678", unit="3-202")
    problem = await desk.link(earlier, [lift["id"]], title="3号楼电梯故障")
    await desk.add_action(earlier, problem["id"], owner="物业", text="请维保单位检修电梯",
                          due=DAY - dt.timedelta(days=2))
    lamp = await desk.intake(w, "陈家新苑", channel="统一接待", category="物业维修", text="5号楼路灯不亮",
                             resident=make_id("19450101", 5))
    lamp_problem = await desk.link(w, [lamp["id"]], title="5号楼路灯")
    lamp_problem = await desk.add_action(w, lamp_problem["id"], owner="物业", text="更换路灯", due=DAY)
    await desk.complete_action(w, lamp_problem["action_items"][0]["id"], result="已更换", on=DAY)
    await desk.save_week(w, "陈家新苑", iso_week(DAY), reception={"居委会": ["王芳"]}, meeting_on=DAY,
                         meeting={"居委会": ["王芳"], "物业": ["李强"]}, decisions="电梯本周内检修", version=0)
    meeting = {"body": "居民代表会议", "held_on": f"{DAY.year}-01-15", "attendance": 9, "votes_for": 7,
               "votes_against": 1}
    fields = {"community": "陈家新苑", "kind": "case_by_case", "year": DAY.year, "requested": 12_000_000,
              "department": "区民政局", "problems": [problem["id"]]}
    await funding.draft(w, title="电梯更新（草稿）", **fields)
    for state in ("submitted", "verified", "approved"):
        project = await funding.draft(w, title=f"3号楼电梯更新（{state}）", deliberation=meeting, **fields)
        await funding.submit(w, project["id"])
        if state != "submitted":
            await funding.verify(w, project["id"], 11_000_000)
        if state == "approved":
            await funding.approve(w, project["id"], 10_000_000)


@pytest.fixture
async def site(db_url, tmp_path):
    app = init_app(db_url, secret=b"l" * 32, uploads=tmp_path / "uploads", clock=clock_on(DAY))
    client = TestClient(TestServer(app))
    await client.start_server()
    await seed(tmp_path)
    yield client
    await client.close()


async def _log_in(client: TestClient, role: str) -> None:
    client.session.cookie_jar.clear()
    text = await (await client.get("/login")).text()
    token = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = await client.post("/login", data={"csrf": token, "login": role, "password": PASSWORD},
                                 allow_redirects=False)
    assert response.status in (302, 303), await response.text()


async def test_no_role_is_offered_a_link_it_may_not_use(site):
    refused: list[str] = []
    followed: dict[str, int] = {}
    started = time.monotonic()
    for role in ROLES:
        await _log_in(site, role)
        seen = {"/"}
        todo = deque([("/", 0, "登录后")])
        followed[role] = 0
        while todo:
            path, depth, came_from = todo.popleft()
            response = await site.get(path, allow_redirects=True)
            followed[role] += 1
            if response.status in REFUSED or response.status >= 500:
                refused.append(f"{role}: {path} → {response.status} (from {came_from})")
                continue
            if depth >= DEPTH or not response.headers.get("Content-Type", "").startswith("text/html"):
                await response.read()
                continue
            page = Page()
            page.feed(await response.text())
            here = response.url.path_qs
            found = [_target(here, href) for href in page.links]
            for action, fields in page.forms:
                target = _target(here, action or here)
                if target:
                    query = urlencode(fields)
                    found.append(f"{urlsplit(target).path}?{query}" if query else urlsplit(target).path)
            for target in found:
                if target and target not in seen:
                    seen.add(target)
                    todo.append((target, depth + 1, here))
    print(f"requests per role: {followed}; {time.monotonic() - started:.1f} s")
    assert all(n > 5 for n in followed.values()), followed
    assert not refused, f"{len(refused)} links or forms refused:\n" + "\n".join(refused)
