"""Logging in under attack (issue 12): the client address and scheme believed only from a trusted
proxy, throttling that hurts the failing place and not the account's owner, sessions that end on
the server (logout, new password, disabled account, sign out everywhere, absolute lifetime),
login time that does not tell which accounts exist, obvious passwords refused, and API actions
audited as the API."""

import ipaddress

import pytest
from argon2 import PasswordHasher

from resettle.errors import DomainError
from resettle.models import AuditEvent, LoginSession
from services import accounts
from tests.test_web import ADMIN, PASSWORD, csrf_of, make_site
from tests.work import DAY, clock_on, work
from web import security

NOW = clock_on(DAY)()  # the moment the logins of a test happen

PROXY = "127.0.0.1"  # the test client's own address: here it plays nginx
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


@pytest.fixture
async def proxied(aiohttp_client, db_url, tmp_path):
    """The site behind a trusted reverse proxy (the test client is the proxy)."""
    return await make_site(aiohttp_client, db_url, tmp_path, trusted_proxies=PROXY)


async def attempt(client, login, password=PASSWORD, *, via=None, proto=None):
    """A login from the address `via` as the proxy reports it (None: no forwarding header)."""
    headers = {}
    if via is not None:
        headers["X-Forwarded-For"] = via
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    token = await csrf_of(client)
    return await client.post("/login", data={"csrf": token, "login": login, "password": password},
                             headers=headers, allow_redirects=False)


async def test_made_up_names_through_the_proxy_do_not_lock_out_the_admin(proxied):
    for n in range(accounts.ADDRESS_LIMIT):
        response = await attempt(proxied, f"nobody{n}", "wrong-password", via=ATTACKER)
        assert response.status == 401 and "登录名或密码错误" in await response.text()
    blocked = await attempt(proxied, "admin", via=ATTACKER)  # the failing place is stopped
    assert blocked.status == 401 and "次数过多" in await blocked.text()
    assert (await attempt(proxied, "admin", via=OWNER)).status == 303


async def test_guessing_an_account_from_one_place_does_not_lock_its_owner_elsewhere(proxied):
    for _ in range(accounts.ACCOUNT_LIMIT):
        assert (await attempt(proxied, "admin", "wrong-password", via=ATTACKER)).status == 401
    blocked = await attempt(proxied, "admin", via=ATTACKER)  # even with the right password
    assert blocked.status == 401 and "次数过多" in await blocked.text()
    assert (await attempt(proxied, "admin", via=OWNER)).status == 303
    assert (await attempt(proxied, "office", via=ATTACKER)).status == 303  # other accounts there too


async def test_guessing_from_many_places_tightens_each_but_never_locks_the_owner(db, monkeypatch):
    await accounts.add_user(work(ADMIN), "admin", "管理员", "admin", PASSWORD)
    monkeypatch.setattr(accounts, "ACCOUNT_ALARM", 6)
    for n in range(accounts.ACCOUNT_ALARM + 1):  # a botnet: one guess per address
        with pytest.raises(accounts.LoginRefused, match="登录名或密码错误"):
            await accounts.login("admin", f"guess-{n}", f"192.0.2.{n}", NOW)
    for _ in range(accounts.ALARM_LIMIT):  # under attack, a new place gets fewer tries
        with pytest.raises(accounts.LoginRefused, match="登录名或密码错误"):
            await accounts.login("admin", "guess", "192.0.2.200", NOW)
    with pytest.raises(accounts.LoginRefused, match="次数过多"):
        await accounts.login("admin", PASSWORD, "192.0.2.200", NOW)
    assert (await accounts.login("admin", PASSWORD, OWNER, NOW)).login == "web:admin"


async def test_parallel_guesses_do_not_slip_past_the_limit(db, monkeypatch):
    import asyncio

    hasher = CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    await accounts.add_user(work(ADMIN), "admin", "管理员", "admin", PASSWORD)
    before = CountingHasher.verified

    async def guess(n):
        try:
            await accounts.login("admin", f"guess-{n}", ATTACKER, NOW)
        except accounts.LoginRefused as exc:
            return exc.message
    answers = await asyncio.gather(*(guess(n) for n in range(4 * accounts.ACCOUNT_LIMIT)))
    assert CountingHasher.verified - before == accounts.ACCOUNT_LIMIT  # the rest never reach argon2
    assert answers.count("登录名或密码错误") == accounts.ACCOUNT_LIMIT


async def test_colleagues_logging_in_at_once_from_one_office_all_get_in(db, monkeypatch):
    """A success gives back the place's attempt and may delete its row while another login of the
    same place is between counting and locking it (PostgreSQL): that login still gets in."""
    import asyncio

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    names = [f"clerk{n}" for n in range(12)]  # under the per-place limit: a burst counts first
    for name in names:
        await accounts.add_user(work(ADMIN), name, name, "office", PASSWORD)
    for _ in range(5):  # several rounds: the window is a few milliseconds wide
        signed_in = await asyncio.gather(*(accounts.login(name, PASSWORD, OWNER, NOW) for name in names))
        assert sorted(a.login for a in signed_in) == sorted(f"web:{name}" for name in names)


async def test_made_up_names_cannot_fill_the_throttle_table(db):
    import datetime as dt

    from resettle.models import Throttle

    await accounts.add_user(work(ADMIN), "admin", "管理员", "admin", PASSWORD)
    start = NOW
    for n in range(accounts.ADDRESS_LIMIT):
        with pytest.raises(accounts.LoginRefused, match="登录名或密码错误"):
            await accounts.login(f"nobody{n}" * 50, "wrong-password", ATTACKER, start)
    rows = await Throttle.all().count()
    for n in range(100):  # the locked address keeps trying new names: nothing more is stored
        with pytest.raises(accounts.LoginRefused, match="次数过多"):
            await accounts.login(f"other{n}", "wrong-password", ATTACKER, start)
    assert await Throttle.all().count() == rows
    later = start + accounts.WINDOW + accounts.LOCK + dt.timedelta(minutes=1)
    await accounts.login("admin", PASSWORD, OWNER, later)  # a success sweeps what is over
    assert await Throttle.all().count() == 0  # and its own attempt is given back


async def test_forwarded_for_is_ignored_unless_the_peer_is_trusted(aiohttp_client, db_url, tmp_path):
    """Without the setting, or from a peer outside it, an attacker cannot pick addresses to
    dodge throttling: every spoofed X-Forwarded-For counts against the real peer."""
    site = await make_site(aiohttp_client, db_url, tmp_path, trusted_proxies="10.0.0.0/8")
    for n in range(accounts.ADDRESS_LIMIT):
        assert (await attempt(site, f"nobody{n}", "wrong", via=f"192.0.2.{n}")).status == 401
    blocked = await attempt(site, "admin", via=OWNER)
    assert blocked.status == 401 and "次数过多" in await blocked.text()


async def test_secure_cookie_when_a_trusted_proxy_says_https(proxied):
    assert "Secure" in (await attempt(proxied, "office", via=OWNER, proto="https")).headers["Set-Cookie"]
    assert "Secure" not in (await attempt(proxied, "admin", via=OWNER, proto="http")).headers["Set-Cookie"]
    assert "Secure" not in (await attempt(proxied, "admin", via=OWNER, proto="gopher")).headers["Set-Cookie"]


async def test_no_secure_cookie_on_an_untrusted_https_claim(aiohttp_client, db_url, tmp_path):
    site = await make_site(aiohttp_client, db_url, tmp_path)  # nobody is trusted
    assert "Secure" not in (await attempt(site, "office", proto="https")).headers["Set-Cookie"]


def test_forwarded_client_walks_from_the_right_and_falls_back_on_nonsense():
    proxies = security.trusted_proxies("10.0.0.0/8, 127.0.0.1,::1")
    assert security.trusted_proxies("") == () and security.trusted_proxies(" , ") == ()
    client = security.forwarded_client
    assert client("10.0.0.1", ["6.6.6.6, 192.0.2.1, 10.0.0.2"], "https", proxies) == ("192.0.2.1", "https")
    assert client("10.0.0.1", ["6.6.6.6", "192.0.2.1"], None, proxies) == ("192.0.2.1", None)  # two headers
    assert client("::ffff:127.0.0.1", ["2001:db8::5"], "HTTPS", proxies) == ("2001:db8::5", "https")
    assert client("192.0.2.9", ["10.0.0.1"], "https", proxies) == ("192.0.2.9", None)  # untrusted peer
    assert client("10.0.0.1", [], None, proxies) == ("10.0.0.1", None)
    assert client("10.0.0.1", ["10.0.0.3"], None, proxies) == ("10.0.0.3", None)  # all proxies: the leftmost
    for hostile in ("not-an-ip", "192.0.2.1, unknown", "192.0.2.1:8080", "", ",,,", "1.2.3.4\x00",
                    "<script>", "999.1.1.1", "x" * 8000, "192.0.2.1, 10.0.0.2, ../../etc"):
        assert client("10.0.0.1", [hostile], "javascript:alert(1)", proxies) == ("10.0.0.1", None), hostile
    with pytest.raises(ValueError, match="RESETTLE_TRUSTED_PROXIES"):
        security.trusted_proxies("10.0.0.0/8, localhost")
    assert ipaddress.ip_address("10.1.2.3") in proxies[0]


async def test_a_malformed_forwarded_for_counts_against_the_proxy(proxied):
    for n in range(accounts.ADDRESS_LIMIT):
        assert (await attempt(proxied, f"nobody{n}", "wrong", via=f"{OWNER}, garbage{n}")).status == 401
    assert (await attempt(proxied, "admin", via=OWNER)).status == 303  # the owner's address is clean
    blocked = await attempt(proxied, "admin", via="garbage")  # the proxy's own address is locked
    assert blocked.status == 401 and "次数过多" in await blocked.text()


# --- sessions end on the server ---------------------------------------------------------------

async def logged_in(client, login):
    assert (await attempt(client, login)).status == 303
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))["resettle"].value


async def with_cookie(client, cookie):
    """A request carrying a copied cookie only (as a thief would replay it)."""
    client.session.cookie_jar.clear()
    return await client.get("/", headers={"Cookie": f"resettle={cookie}"}, allow_redirects=False)


async def test_a_copied_cookie_stops_working_after_logout(proxied, aiohttp_client):
    other = await aiohttp_client(proxied.server)  # the same person on a second browser
    await logged_in(other, "office")
    cookie = await logged_in(proxied, "office")
    token = await csrf_of(proxied, "/")
    assert (await proxied.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 303
    replayed = await with_cookie(proxied, cookie)
    assert replayed.status == 302 and replayed.headers["Location"] == "/login"
    assert (await other.get("/", allow_redirects=False)).status == 200  # logout ends only that session


async def test_logging_in_again_replaces_the_session(proxied):
    first = await logged_in(proxied, "office")
    await logged_in(proxied, "admin")
    assert await LoginSession.all().count() == 1
    replayed = await with_cookie(proxied, first)
    assert replayed.status == 302 and replayed.headers["Location"] == "/login"


@pytest.mark.parametrize("revoke", ["passwd", "disable", "signout"])
async def test_password_change_disable_and_sign_out_everywhere_end_every_session(proxied, aiohttp_client,
                                                                                 revoke):
    other = await aiohttp_client(proxied.server)
    await logged_in(other, "township")
    cookie = await logged_in(proxied, "township")
    await logged_in(await aiohttp_client(proxied.server), "office")
    if revoke == "passwd":
        await accounts.set_password(work(ADMIN), "township", "another-horse-7")
    elif revoke == "disable":
        await accounts.disable(work(ADMIN), "township")
    else:
        assert await accounts.sign_out_everywhere(work(ADMIN), "township") == 2
    for response in (await with_cookie(proxied, cookie), await other.get("/", allow_redirects=False)):
        assert response.status == 302 and response.headers["Location"] == "/login"
    assert await LoginSession.filter(user__login="office").count() == 1  # others keep theirs
    if revoke == "signout":
        event = await AuditEvent.get(action="users.signout")
        assert event.object_id == "township" and event.changes == {"sessions": [2, 0]}


async def test_a_session_ends_after_its_lifetime_however_busy(proxied, monkeypatch):
    start = security.clock()
    await logged_in(proxied, "office")
    for minutes in range(20, security.SESSION_LIFETIME // 60, 20):  # used every 20 minutes: never idle
        monkeypatch.setattr(security, "clock", lambda m=minutes: start + m * 60)
        assert (await proxied.get("/", allow_redirects=False)).status == 200
    monkeypatch.setattr(security, "clock", lambda: start + security.SESSION_LIFETIME + 1)
    response = await proxied.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/login?expired=1"
    assert await LoginSession.all().count() == 0


# --- low: login time, obvious passwords, API actor --------------------------------------------

class CountingHasher(PasswordHasher):
    """A real argon2 hasher that counts its verifications."""

    verified = 0

    def verify(self, hash, password):  # noqa: A002 (argon2's own parameter name)
        CountingHasher.verified += 1
        return super().verify(hash, password)


async def test_missing_and_disabled_accounts_cost_one_verification_like_a_wrong_password(db, monkeypatch):
    hasher = CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    await accounts.add_user(work(ADMIN), "office", "办公室", "office", PASSWORD)
    await accounts.add_user(work(ADMIN), "gone", "已停用", "office", PASSWORD)
    await accounts.disable(work(ADMIN), "gone")
    for login in ("office", "nobody", "gone", "x" * 10_000, "", "\udcff"):
        before = CountingHasher.verified
        with pytest.raises(accounts.LoginRefused, match="登录名或密码错误"):
            await accounts.login(login, "wrong-password", f"192.0.2.{len(login) % 250}", NOW)
        assert CountingHasher.verified == before + 1, login
    with pytest.raises(accounts.LoginRefused, match="登录名或密码错误"):  # not a crash
        await accounts.login("office", "bad\udcffbyte", OWNER, NOW)


@pytest.mark.parametrize(("password", "message"), [
    ("short1", "至少8位"), ("12345678", "全是数字"), ("８８８８８８８８", "全是数字"), ("aaaaaaaa", "同一个字符"),
    ("wangwu2024", "登录名"), ("xxWANGWUxx", "登录名"), ("Password1", "太常见"), ("woaini1314", "太常见"),
    ("qwerty123", "太常见"), ("abc12345", "太常见"), ("admin123", "太常见"), ("p" * 257 + "1", "不能超过"),
    ("tab\there-9", "控制字符"), ("nul\x00byte-9", "控制字符"), ("bad\udcffbyte-9", "无法识别"),
])
async def test_obvious_passwords_are_refused(db, password, message):
    with pytest.raises(DomainError, match=message):
        await accounts.add_user(work(ADMIN), "wangwu", "王五", "office", password)
    await accounts.add_user(work(ADMIN), "wangwu", "王五", "office", "correct-horse-9")
    with pytest.raises(DomainError, match=message):
        await accounts.set_password(work(ADMIN), "wangwu", password)


async def test_logins_fit_the_audit_log_and_have_no_spaces(db):
    for login in ("x" * 61, "two words", "tab\there", "new\nline"):
        with pytest.raises(DomainError, match="登录名"):
            await accounts.add_user(work(ADMIN), login, "某人", "office", PASSWORD)
    await accounts.add_user(work(ADMIN), "x" * 60, "某人", "office", PASSWORD)


async def test_an_api_token_is_audited_as_the_api(proxied):
    response = await proxied.post("/api/v1/households/A-001/events",
                                  json={"event": "handed_over", "on": "2024-01-01", "version": 1},
                                  headers={"Authorization": f"Bearer {proxied.tokens['township']}"})
    assert response.status == 201, await response.text()
    event = await AuditEvent.get(action="registry.handed_over")
    assert event.actor == "api:township"


async def test_users_signout_from_the_command_line(proxied, db_url):
    import asyncio

    from click.testing import CliRunner

    from cli.main import main

    await logged_in(proxied, "office")
    result = await asyncio.to_thread(CliRunner().invoke, main, ["users", "signout", "office", "--db", db_url])
    assert result.exit_code == 0 and "结束 1 个会话" in result.output, result.output
    response = await proxied.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/login"
    missing = await asyncio.to_thread(CliRunner().invoke, main, ["users", "signout", "nobody", "--db", db_url])
    assert missing.exit_code != 0 and "没有登录名为“nobody”的账号" in missing.output


async def test_the_access_log_still_names_who_asked_behind_the_proxy(aiohttp_client, db_url, tmp_path):
    import io
    import json
    import logging

    from web import logs

    stream = io.StringIO()
    logs.configure(stream=stream)
    try:
        site = await make_site(aiohttp_client, db_url, tmp_path, trusted_proxies=PROXY,
                               access_log_class=logs.AccessLog, access_log=logging.getLogger("resettle.access"))
        await attempt(site, "office", via=OWNER)
        assert (await site.get("/", headers={"X-Forwarded-For": OWNER}, allow_redirects=False)).status == 200
        await site.get("/api/v1/registry/stats", headers={"X-Forwarded-For": OWNER,
                                                          "Authorization": f"Bearer {site.tokens['office']}"})
    finally:
        logging.getLogger().handlers.clear()
    access = [json.loads(line) for line in stream.getvalue().splitlines() if '"resettle.access"' in line]
    assert {line["actor"] for line in access if line["path"] in ("/", "/api/v1/registry/stats")} == {
        "web:office", "api:office"}


async def raw_request(client, head: bytes) -> bytes:
    """The status line of a request written byte for byte (headers a client library refuses)."""
    import asyncio

    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    status = await reader.readline()
    writer.close()
    return status


async def test_undecodable_header_bytes_are_refused_not_crashed(proxied):
    status = await raw_request(proxied, b"GET /api/v1/registry/stats HTTP/1.1\r\nAuthorization: Bearer \xff\xfe")
    assert b" 401 " in status
    status = await raw_request(proxied, b"GET /login HTTP/1.1\r\nX-Forwarded-For: \xff, 10.0.0.1\r\n"
                                        b"X-Forwarded-Proto: \xffhttps")
    assert b" 200 " in status


@pytest.mark.parametrize(("address", "place"), [
    ("203.0.113.66", "203.0.113.66"),
    ("::ffff:203.0.113.66", "203.0.113.66"),  # an IPv4 client of a dual-stack socket
    ("::FFFF:cb00:7142", "203.0.113.66"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2:0:0:0:1", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::1", "::/64"),
    ("", ""), ("not-an-ip", "not-an-ip"),  # no address (a Unix socket): counted as given
])
def test_the_place_a_login_is_counted_against(address, place):
    """An IPv6 client holds its whole /64 (one customer's network): rotating through it is one place."""
    assert accounts.throttle_place(address) == place


@pytest.mark.parametrize(("failing", "then", "refused"), [
    ([f"2001:db8:1:2::{n:x}" for n in range(1, 100)], "2001:db8:1:2:ffff::1", True),
    ([f"2001:db8:1:2::{n:x}" for n in range(1, 100)], "2001:db8:1:3::1", False),
    (["::ffff:203.0.113.1"] * 100, "203.0.113.1", True),
    (["203.0.113.1"] * 100, "::ffff:203.0.113.1", True),
    (["203.0.113.1"] * 100, "203.0.113.2", False),
])
async def test_rotating_addresses_within_a_network_is_throttled(db, failing, then, refused):
    await accounts.add_user(work(ADMIN), "admin", "管理员", "admin", PASSWORD)
    for n in range(accounts.ADDRESS_LIMIT):
        with pytest.raises(accounts.LoginRefused, match="登录名或密码错误"):
            await accounts.login(f"nobody{n}", "wrong-password", failing[n], NOW)
    if refused:
        with pytest.raises(accounts.LoginRefused, match="次数过多"):
            await accounts.login("admin", PASSWORD, then, NOW)
    else:
        assert (await accounts.login("admin", PASSWORD, then, NOW)).login == "web:admin"
