"""Use cases for accounts: users, passwords (argon2), API tokens, login with throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound
from resettle.models import LoginSession, Throttle, User
from resettle.policy import Policy
from resettle.rules.permissions import CARRIAGES, ROLES, require
from services import audit, registry
from services.work import Work

MIN_PASSWORD = 8
MAX_LOGIN = 60  # "web:" or "api:" and the login fit the audit log's 64-character actor
MAX_PASSWORD = 256  # argon2 takes any length; a megabyte "password" is an attack, not a secret
# Throttling hurts the place that fails, not the account's owner elsewhere:
ADDRESS_LIMIT = 20  # failures from one address (any names) within WINDOW lock that address
ACCOUNT_LIMIT = 5  # failures at one account from one address lock that pair, not the account
ACCOUNT_ALARM = 50  # failures at one account from everywhere: each address then gets ALARM_LIMIT
ALARM_LIMIT = 2
WINDOW = dt.timedelta(minutes=15)
LOCK = dt.timedelta(minutes=15)
_hasher = PasswordHasher()
_dummy: dict[tuple, str] = {}  # a hash per hasher cost, verified when there is no account
# The most common passwords that pass the other rules (leaked-password lists, Chinese and
# international); compared case-insensitively.
COMMON_PASSWORDS = frozenset((
    "password", "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty123",
    "qwertyui", "qwer1234", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "zaq12wsx", "abc12345",
    "abcd1234", "a1234567", "a12345678", "aa123456", "aa123456789", "asdf1234", "admin123",
    "admin888", "administrator", "iloveyou", "woaini1314", "woaini520", "5201314woaini",
    "letmein1", "welcome1", "sunshine", "princess", "football", "baseball", "superman", "trustno1",
    "dragon123", "monkey123", "master123", "changeme",
))


class LoginRefused(DomainError):
    pass


def _token_hash(token: str) -> str:
    # surrogatepass: aiohttp hands undecodable header bytes over as lone surrogates
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def actor_of(user: User, channel: str = "web") -> Actor:
    """The user as an actor; `channel` ("web" for a session, "api" for a token) is written to
    the audit log with the login, so that what a token did is told apart from a person's clicks."""
    return Actor(login=f"{channel}:{user.login}", role=user.role, township=user.township_code,
                 community_id=user.community_id, name=user.name, user_id=user.id, department=user.department)


def _check_password(password: str, login: str) -> None:
    """Refuse what a guesser tries first; each rule its own sentence."""
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"密码至少{MIN_PASSWORD}位")
    if len(password) > MAX_PASSWORD:
        raise DomainError(f"密码不能超过{MAX_PASSWORD}位")
    if not password.isprintable() or not password.isascii() and not _utf8(password):
        raise DomainError("密码不能含控制字符或无法识别的字符")
    if password.isdigit():
        raise DomainError("密码不能全是数字")
    if len(set(password)) == 1:
        raise DomainError("密码不能由同一个字符重复组成")
    folded = password.casefold()
    if login.strip() and login.strip().casefold() in folded:
        raise DomainError("密码不能包含登录名")
    if folded in COMMON_PASSWORDS:
        raise DomainError("这个密码太常见，容易被猜中，请换一个")


def throttle_place(address: str) -> str:
    """The place a login attempt from `address` is counted against: an IPv6 client by its /64
    (one subscriber's network, whose every address is theirs to rotate through), an IPv4-mapped
    one (::ffff:1.2.3.4) as its IPv4 address; what is not an address is counted as given."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, from undecodable bytes on a C-locale stdin
        return False
    return True


async def add_user(work: Work, login: str, name: str, role: str, password: str, *,
                   township: str | None = None, community: str | None = None,
                   carriage: str = "", department: str = "") -> dict:
    require(work.actor.role, "users.manage")
    login, name = login.strip(), name.strip()
    if not login or not name:
        raise DomainError("登录名和姓名不能为空")
    if len(login) > MAX_LOGIN or not login.isprintable() or any(c.isspace() for c in login):
        raise DomainError(f"登录名最多{MAX_LOGIN}个字符，且不能含空格或控制字符")
    if role not in ROLES:
        raise DomainError(f"角色只能是：{'、'.join(ROLES)}")
    _check_password(password, login)
    township_code, community_row = None, None
    if role == "township":
        match = work.policy.match_township(township or "")
        if match is None:
            raise DomainError("乡镇信息员须用 --township 指定政策文件中的乡镇")
        township_code = match.code
    if role == "desk":
        if not community:
            raise DomainError("三合署窗口人员须用 --community 指定安置社区")
        community_row = await registry.find_community(community, work.policy)
        township_code = community_row.township_code
        if carriage not in CARRIAGES:
            raise DomainError(f"三合署窗口人员须用 --carriage 指定：{'、'.join(CARRIAGES)}")
    if role == "department" and not department.strip():
        raise DomainError("业务主管部门人员须用 --department 指定部门")
    async with work.transaction():
        if await User.exists(login=login):
            raise DomainError(f"登录名“{login}”已存在")
        user = await User.create(login=login, name=name, role=role, township_code=township_code,
                                 community=community_row, carriage=carriage if role == "desk" else "",
                                 department=department.strip(), password_hash=_hasher.hash(password))
        await audit.record(work, "users.add", "user", login, audit.diff({}, {
            "name": name, "role": role, "township_code": township_code,
            "community_id": user.community_id, "carriage": user.carriage, "department": user.department}))
    return await _describe(user, work.policy)


async def _describe(user: User, policy: Policy) -> dict:
    community = await user.community if user.community_id else None
    return {"login": user.login, "name": user.name, "role": user.role, "role_label": ROLES[user.role],
            "township": policy.township(user.township_code).name if user.township_code else "",
            "community": community.name if community else "", "carriage": user.carriage,
            "department": user.department, "active": user.active}


async def list_users(work: Work) -> list[dict]:
    require(work.actor.role, "users.manage")
    return [await _describe(u, work.policy) for u in await User.all().order_by("login")]


async def _user(login: str) -> User:
    user = await User.get_or_none(login=login)
    if user is None:
        raise NotFound(f"没有登录名为“{login}”的账号")
    return user


async def set_password(work: Work, login: str, password: str) -> None:
    """A new password; every session of the account ends (whoever knew the old one is out)."""
    require(work.actor.role, "users.manage")
    _check_password(password, login)
    async with work.transaction():
        user = await _user(login)
        await User.filter(id=user.id).update(password_hash=_hasher.hash(password),
                                             version=user.version + 1)
        await LoginSession.filter(user_id=user.id).delete()
        await audit.record(work, "users.passwd", "user", login, {"password_hash": ["***", "***"]})


async def disable(work: Work, login: str) -> None:
    require(work.actor.role, "users.manage")
    async with work.transaction():
        user = await _user(login)
        await User.filter(id=user.id).update(active=False, token_hash=None, version=user.version + 1)
        await LoginSession.filter(user_id=user.id).delete()
        await audit.record(work, "users.disable", "user", login, {"active": [user.active, False]})


async def sign_out_everywhere(work: Work, login: str) -> int:
    """End every session of the account (a lost phone, a shared screen); returns how many."""
    require(work.actor.role, "users.manage")
    async with work.transaction():
        user = await _user(login)
        ended = await LoginSession.filter(user_id=user.id).delete()
        await audit.record(work, "users.signout", "user", login, {"sessions": [ended, 0]})
    return ended


async def open_session(actor: Actor, now: dt.datetime, lifetime: dt.timedelta) -> str:
    """A new server-side session for a logged-in user; returns the id the cookie carries.
    Sessions past `lifetime` are swept here, so that the table holds only live ones."""
    session_id = secrets.token_urlsafe(32)
    await LoginSession.filter(created_at__lt=now - lifetime).delete()
    await LoginSession.create(key=_token_hash(session_id), user_id=actor.user_id, created_at=now)
    return session_id


async def session_of(session_id: str) -> tuple[Actor, dt.datetime] | None:
    """The actor of a live session and when it began; None once it was ended or the account
    disabled (the caller judges its age)."""
    row = await LoginSession.get_or_none(key=_token_hash(session_id), user__active=True).select_related("user")
    return (actor_of(row.user), row.created_at) if row else None


async def end_session(session_id: str) -> None:
    await LoginSession.filter(key=_token_hash(session_id)).delete()


async def issue_token(work: Work, login: str) -> str:
    """A new API token for the user (the old one stops working); only its hash is stored."""
    require(work.actor.role, "users.manage")
    token = secrets.token_urlsafe(32)
    async with work.transaction():
        user = await _user(login)
        if not user.active:
            raise DomainError(f"账号“{login}”已停用")
        await User.filter(id=user.id).update(token_hash=_token_hash(token), version=user.version + 1)
        await audit.record(work, "users.token", "user", login, {"token_hash": ["***", "***"]})
    return token


async def actor_for_token(token: str) -> Actor | None:
    user = await User.get_or_none(token_hash=_token_hash(token), active=True)
    return actor_of(user, "api") if user else None


async def login(login: str, password: str, address: str, now: dt.datetime) -> Actor:
    """Check a password. Each attempt is counted before the password is checked (so that a burst
    of parallel guesses cannot all slip past the limit) and given back when it succeeds.
    Counted: the address (any names), the account at that address, and the account from
    everywhere; the last only tightens the per-address limit, so an attacker, however many
    addresses they hold, never locks the owner out of a place that has not been failing.
    Anonymous, so outside any unit of work: the web gives the moment from its clock."""
    name, address = login.strip(), throttle_place(address)
    place, pair, account = (f"address:{_token_hash(address)}", f"pair:{_token_hash(name + chr(0) + address)}",
                            f"account:{_token_hash(name)}")
    async with in_transaction():
        # a locked address adds no rows: made-up names cannot fill the table from there
        until = await _count(place, now, ADDRESS_LIMIT)
        if not isinstance(until, dt.datetime):
            alarm = await _count(account, now, None) > ACCOUNT_ALARM
            until = await _count(pair, now, ALARM_LIMIT if alarm else ACCOUNT_LIMIT)
    if isinstance(until, dt.datetime):
        minutes = max(1, int((until - now).total_seconds() // 60) + 1)
        raise LoginRefused(f"登录失败次数过多，请{minutes}分钟后再试")
    user = await User.get_or_none(login=name, active=True) if len(name) <= 64 and _utf8(name) else None
    # A missing or disabled account costs the same argon2 work as a wrong password: the time
    # taken does not tell which logins exist.
    try:
        ok = _hasher.verify(user.password_hash if user else _dummy_hash(), password) and user is not None
    except (VerificationError, InvalidHashError, UnicodeEncodeError):  # the last: no password has it
        ok = False
    if not ok:
        raise LoginRefused("登录名或密码错误")
    async with in_transaction():  # a success gives its attempt back and clears this place's tally
        await Throttle.filter(key=pair).delete()
        await Throttle.filter(key__in=(place, account), failures__gt=0).update(failures=F("failures") - 1)
        await Throttle.filter(key__in=(place, account), failures__lte=0, locked_until__isnull=True).delete()
        # rows whose window and any lock begun in it are over (a lock starts within the window)
        await Throttle.filter(window_start__lt=now - WINDOW - LOCK).delete()
    if _hasher.check_needs_rehash(user.password_hash):
        await User.filter(id=user.id).update(password_hash=_hasher.hash(password))
    return actor_of(user)


RACE_RETRIES = 5  # a row deleted under us each time would take five successes in a few milliseconds


def _dummy_hash() -> str:
    cost = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism, _hasher.hash_len)
    if cost not in _dummy:
        _dummy[cost] = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy[cost]


async def _count(key: str, now: dt.datetime, limit: int | None) -> int | dt.datetime:
    """Count one attempt under `key` in its window, atomically. Returns when the key stays locked
    (an attempt that arrives while locked is refused and not counted), else the failures so far
    counting this one. `limit` None: only counted (an alarm), never locked."""
    # A success elsewhere may delete the row between our insert and our lock (PostgreSQL, READ
    # COMMITTED): insert again until we hold it; once locked, nobody deletes it before we commit.
    for _ in range(RACE_RETRIES):
        await Throttle.bulk_create([Throttle(key=key, failures=0, window_start=now)], ignore_conflicts=True)
        throttle = await Throttle.select_for_update().get_or_none(key=key)
        if throttle is not None:
            break
    else:
        throttle = await Throttle.select_for_update().get(key=key)
    if throttle.locked_until and throttle.locked_until > now:
        return throttle.locked_until
    if now - throttle.window_start > WINDOW or throttle.locked_until:  # a new window
        failures, start = 1, now
    else:
        failures, start = throttle.failures + 1, throttle.window_start
    until = now + LOCK if limit is not None and failures > limit else None
    await Throttle.filter(key=key).update(failures=failures, window_start=start, locked_until=until)
    return until or failures
