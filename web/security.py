"""The client as a trusted proxy reports it, sessions (an encrypted cookie naming a server-side
session, with idle timeout and absolute lifetime), CSRF, security headers, and the mapping of
domain errors to responses. Every route needs a logged-in actor except those in PUBLIC."""

from __future__ import annotations

import base64
import datetime as dt
import errno
import ipaddress
import logging
import os
import secrets
import sqlite3
import time
from pathlib import Path

from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from tortoise.exceptions import ValidationError

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound, StaleVersion
from resettle.rules.permissions import Forbidden
from services import accounts
from services.work import Work, begin
from web import keys, limits
from web.logs import REQUEST_ID

log = logging.getLogger("resettle.web")
IDLE_SECONDS = 30 * 60
SESSION_LIFETIME = 12 * 3600  # from login, however busy the session: a copied cookie dies too
clock = time.time  # seconds since the epoch; tests move it
PUBLIC = ("/login", "/healthz", "/readyz", "/static/", "/favicon.ico")
ACTOR = web.RequestKey("actor", Actor)  # the logged-in Actor of a request
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple)  # of Network
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SessionStorage(EncryptedCookieStorage):
    """The encrypted cookie, marked Secure whenever the request came over HTTPS."""

    async def save_session(self, request, response, session):
        self._cookie_params = {**self._cookie_params, "secure": request.secure}
        await super().save_session(request, response, session)


def trusted_proxies(setting: str | None = None) -> tuple[Network, ...]:
    """RESETTLE_TRUSTED_PROXIES (or `setting`): comma-separated addresses or networks of the
    reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed. Unset: none."""
    text = os.environ.get("RESETTLE_TRUSTED_PROXIES", "") if setting is None else setting
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"RESETTLE_TRUSTED_PROXIES 中的“{item}”不是 IP 地址或网段") from None
    return tuple(networks)


def _trusted(address: str | None, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip  # ::ffff:127.0.0.1 from a dual-stack socket
    return any(ip.version == net.version and ip in net for net in proxies)


def forwarded_client(peer: str | None, forwarded_for: list[str], proto: str | None,
                     proxies: tuple[Network, ...]) -> tuple[str | None, str | None]:
    """The client's address and scheme as far as trusted proxies vouch for them: walk
    X-Forwarded-For from the right (each proxy appends the address it saw) past the trusted
    ones; the first other address is the client. Anything a proxy did not vouch for, or that
    does not parse, leaves the peer (and the connection's scheme) as they are."""
    if not _trusted(peer, proxies):
        return peer, None
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            client = peer  # malformed (or "unknown"): the chain cannot be trusted past here
            break
        client = hop
        if not _trusted(hop, proxies):
            break
    scheme = (proto or "").split(",")[-1].strip().lower()  # the nearest proxy's word counts
    return client, scheme if scheme in ("http", "https") else None


@web.middleware
async def edge_middleware(request: web.Request, handler):
    """Once, at the edge, the request every later middleware and the handler see: the client
    address and scheme a trusted proxy reports (so throttling, logs and the cookie's Secure flag
    see the browser, not the proxy) and the body limit of its route (web/limits.py). A clone has
    its own state and the access log reads who asked from the original, so the actor is copied
    back."""
    changes: dict = {}
    proxies = request.app[TRUSTED_PROXIES]
    if proxies:
        remote, scheme = forwarded_client(request.remote, request.headers.getall("X-Forwarded-For", []),
                                          request.headers.get("X-Forwarded-Proto"), proxies)
        if remote and remote != request.remote:
            changes["remote"] = remote
        if scheme:
            changes["scheme"] = scheme
    if (limit := limits.limit_of(request)) != request.client_max_size:
        changes["client_max_size"] = limit
    if not changes:
        return await handler(request)
    seen = request.clone(**changes)
    try:
        return await handler(seen)
    finally:
        if ACTOR in seen:
            request[ACTOR] = seen[ACTOR]


def secret_key() -> bytes:
    """RESETTLE_SECRET_KEY (32 bytes, urlsafe base64), else a key kept in ./resettle.secret, so
    that sessions survive restarts and every server process of one site shares them."""
    configured = os.environ.get("RESETTLE_SECRET_KEY")
    if configured:
        return base64.urlsafe_b64decode(configured)
    path = Path("resettle.secret")
    if not path.exists():
        path.write_bytes(base64.urlsafe_b64encode(secrets.token_bytes(32)))
        path.chmod(0o600)
    return base64.urlsafe_b64decode(path.read_bytes())


def session_storage(key: bytes) -> SessionStorage:
    return SessionStorage(key, cookie_name="resettle", httponly=True, samesite="Lax", max_age=None)


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status,
                             dumps=_dumps)


def _dumps(data) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, default=str)


@web.middleware
async def headers_middleware(request: web.Request, handler):
    response = await handler(request)
    response.headers.update(HEADERS)
    return response


@web.middleware
async def errors_middleware(request: web.Request, handler):
    """Domain refusals become 403/404/409 (someone saved first)/400 with the Chinese message;
    nothing becomes a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and (is_api(request) or exc.status in (405, 413)):
            response = _refusal(request, exc.status, exc.reason.lower().replace(" ", "_"), _http_message(request, exc))
            # what the client needs to go on: Allow of a 405 above all
            response.headers.extend((k, v) for k, v in exc.headers.items() if k.lower() not in _OWN_HEADERS)
            return response
        raise
    except Forbidden as exc:
        return _refusal(request, 403, "forbidden", exc.message)
    except NotFound as exc:
        return _refusal(request, 404, "not_found", exc.message)
    except StaleVersion as exc:
        return _refusal(request, 409, "conflict", exc.message)
    except DomainError as exc:
        return _refusal(request, 400, "invalid", exc.message)
    except ValidationError:
        # a value no column can hold (too long, out of range) that no rule caught before the ORM
        log.warning("value refused by the ORM on %s %s", request.method, request.path)
        return _refusal(request, 400, "invalid", "输入的内容过长或超出范围，请检查后重试")
    except Exception as exc:
        if database_down(exc):
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
            return _refusal(request, 503, "unavailable", "数据库暂时无法连接，请稍后再试")
        if database_busy(exc):
            log.warning("database busy on %s %s: %s", request.method, request.path, exc)
            return _refusal(request, 503, "unavailable", "数据库正忙（另一项写入正在进行），请稍后再试；本次没有保存")
        # Logged with its traceback for the operator; the user gets one plain sentence.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _refusal(request, 500, "internal", "服务器内部错误，已记录，请稍后再试或联系管理员")


def _in_chain(exc: BaseException | None, test) -> bool:
    """Whether an error or anything that caused it passes `test`."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if test(exc):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def database_down(exc: BaseException) -> bool:
    """Whether an error (or what caused it) says the database cannot be reached right now: a
    refused or broken connection, a server shutting down or starting up. The pool reconnects by
    itself once the server is back."""
    import asyncpg
    from tortoise.exceptions import DBConnectionError

    down = (ConnectionError, DBConnectionError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
            asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError)
    # asyncio's "Multiple exceptions: [Errno 111] Connect call failed" is a bare OSError
    return _in_chain(exc, lambda e: isinstance(e, down) or type(e) is OSError and (
        "Connect call failed" in str(e) or e.errno == errno.ECONNREFUSED))


def database_busy(exc: BaseException) -> bool:
    """Whether SQLite gave up waiting for another writer (a long import from the command line)."""
    return _in_chain(exc, lambda e: isinstance(e, sqlite3.OperationalError) and "locked" in str(e))


_OWN_HEADERS = {"content-type", "content-length"}


def _http_message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 405:
        return f"不支持该请求方法（可用：{exc.headers.get('Allow', '无')}）"
    if exc.status == 413:
        return limits.message(request)
    return {401: "请先登录或提供有效的 API 令牌", 403: "无权访问", 404: "找不到该资源"}.get(
        exc.status, exc.text or exc.reason)


def _refusal(request: web.Request, status: int, code: str, message: str) -> web.Response:
    if is_api(request):
        return api_error(status, code, message)
    from aiohttp_jinja2 import render_template

    return render_template("error.html", request, {"message": message, "status": status,
                                                   "request_id": REQUEST_ID.get()}, status=status)


@web.middleware
async def auth_middleware(request: web.Request, handler):
    """Who is asking: a Bearer token on the API, the session cookie on pages."""
    if request.path.startswith(PUBLIC):
        return await handler(request)
    if is_api(request):
        auth = request.headers.get("Authorization", "")
        actor = await accounts.actor_for_token(auth[7:].strip()) if auth.startswith("Bearer ") else None
        if actor is None:
            return api_error(401, "unauthorized", "请提供有效的 API 令牌（Authorization: Bearer …）")
        request[ACTOR] = actor
        return await handler(request)
    session = await get_session(request)
    session_id, seen = session.get("sid"), session.get("seen", 0)
    found = await accounts.session_of(session_id) if isinstance(session_id, str) else None
    now = clock()
    if found is None or now - seen > IDLE_SECONDS or now - found[1].timestamp() > SESSION_LIFETIME:
        if session_id is None:  # anonymous: keep the session (it holds the login form's CSRF token)
            raise web.HTTPFound("/login")
        session.invalidate()
        if found is None:  # logged out, revoked or disabled on the server
            raise web.HTTPFound("/login")
        await accounts.end_session(session_id)
        raise web.HTTPFound("/login?expired=1")
    session["seen"] = now
    request[ACTOR] = found[0]
    return await handler(request)


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@web.middleware
async def csrf_middleware(request: web.Request, handler):
    """State-changing form posts carry the session's token (the API uses tokens, not cookies)."""
    # a path or method no route takes changes nothing: answered 404/405 with its body unread
    if request.method in UNSAFE and not is_api(request) and request.match_info.http_exception is None:
        session = await get_session(request)
        expected = session.get("csrf", "")
        sent = request.headers.get("X-CSRF-Token") or (await request.post()).get("csrf", "")
        if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
            raise Forbidden("页面已过期或来源不明，请刷新页面后重试")
    return await handler(request)


async def log_in(request: web.Request, actor: Actor) -> None:
    """A fresh cookie and a server-side session behind it (which logout or an admin can end)."""
    now = clock()
    previous = (await get_session(request)).get("sid")
    if isinstance(previous, str):  # logging in again over a live session replaces it
        await accounts.end_session(previous)
    session = await new_session(request)
    session["sid"] = await accounts.open_session(actor, dt.datetime.fromtimestamp(now, dt.UTC),
                                                 dt.timedelta(seconds=SESSION_LIFETIME))
    session["seen"] = now
    session["csrf"] = secrets.token_urlsafe(32)


async def log_out(request: web.Request) -> None:
    session = await get_session(request)
    if isinstance(session.get("sid"), str):
        await accounts.end_session(session["sid"])
    session.invalidate()


def actor(request: web.Request) -> Actor:
    return request[ACTOR]


def work(request: web.Request) -> Work:
    """The request's unit of work: its actor, the application's policy, today."""
    return begin(request[ACTOR], request.app[keys.POLICY], request.app[keys.CLOCK])
