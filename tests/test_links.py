"""No role is offered a link it may not use: log in as every role, and from the home page follow
every link (downloads included) and submit every GET form (with the values it shows) two clicks
deep, on a database seeded with work at every stage as tests/test_walk.py seeds it. Any 400, 403,
404 or 5xx fails. No browser: aiohttp's test client and the standard library's HTML parser."""

from __future__ import annotations

import time
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.site import PASSWORD, ROLES, seed
from tests.work import DAY, clock_on
from web.app import init_app

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
