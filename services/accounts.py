"""Use cases for accounts: users, passwords (argon2), API tokens, login with throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from resettle.actor import Actor
from resettle.errors import DomainError, NotFound
from resettle.models import Throttle, User
from resettle.policy import load_policy
from resettle.rules.permissions import CARRIAGES, ROLES, require
from services import audit, registry

MIN_PASSWORD = 8
ACCOUNT_LIMIT = 5  # failures per account within WINDOW before it is locked for LOCK
ADDRESS_LIMIT = 20  # failures per address within WINDOW
WINDOW = dt.timedelta(minutes=15)
LOCK = dt.timedelta(minutes=15)
_hasher = PasswordHasher()


class LoginRefused(DomainError):
    pass


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(user: User) -> Actor:
    return Actor(login=f"web:{user.login}", role=user.role, township=user.township_code,
                 community_id=user.community_id, name=user.name, user_id=user.id, department=user.department)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"密码至少{MIN_PASSWORD}位")


async def add_user(actor: Actor, login: str, name: str, role: str, password: str, *,
                   township: str | None = None, community: str | None = None,
                   carriage: str = "", department: str = "") -> dict:
    require(actor.role, "users.manage")
    login, name = login.strip(), name.strip()
    if not login or not name:
        raise DomainError("登录名和姓名不能为空")
    if role not in ROLES:
        raise DomainError(f"角色只能是：{'、'.join(ROLES)}")
    _check_password(password)
    township_code, community_row = None, None
    if role == "township":
        match = load_policy().match_township(township or "")
        if match is None:
            raise DomainError("乡镇信息员须用 --township 指定政策文件中的乡镇")
        township_code = match.code
    if role == "desk":
        if not community:
            raise DomainError("三合署窗口人员须用 --community 指定安置社区")
        community_row = await registry.find_community(community)
        township_code = community_row.township_code
        if carriage not in CARRIAGES:
            raise DomainError(f"三合署窗口人员须用 --carriage 指定：{'、'.join(CARRIAGES)}")
    if role == "department" and not department.strip():
        raise DomainError("业务主管部门人员须用 --department 指定部门")
    async with in_transaction():
        if await User.exists(login=login):
            raise DomainError(f"登录名“{login}”已存在")
        user = await User.create(login=login, name=name, role=role, township_code=township_code,
                                 community=community_row, carriage=carriage if role == "desk" else "",
                                 department=department.strip(), password_hash=_hasher.hash(password))
        await audit.record(actor, "users.add", "user", login, audit.diff({}, {
            "name": name, "role": role, "township_code": township_code,
            "community_id": user.community_id, "carriage": user.carriage, "department": user.department}))
    return await _describe(user)


async def _describe(user: User) -> dict:
    policy = load_policy()
    community = await user.community if user.community_id else None
    return {"login": user.login, "name": user.name, "role": user.role, "role_label": ROLES[user.role],
            "township": policy.township(user.township_code).name if user.township_code else "",
            "community": community.name if community else "", "carriage": user.carriage,
            "department": user.department, "active": user.active}


async def list_users(actor: Actor) -> list[dict]:
    require(actor.role, "users.manage")
    return [await _describe(u) for u in await User.all().order_by("login")]


async def _user(login: str) -> User:
    user = await User.get_or_none(login=login)
    if user is None:
        raise NotFound(f"没有登录名为“{login}”的账号")
    return user


async def set_password(actor: Actor, login: str, password: str) -> None:
    require(actor.role, "users.manage")
    _check_password(password)
    async with in_transaction():
        user = await _user(login)
        await User.filter(id=user.id).update(password_hash=_hasher.hash(password),
                                             version=user.version + 1)
        await audit.record(actor, "users.passwd", "user", login, {"password_hash": ["***", "***"]})


async def disable(actor: Actor, login: str) -> None:
    require(actor.role, "users.manage")
    async with in_transaction():
        user = await _user(login)
        await User.filter(id=user.id).update(active=False, token_hash=None, version=user.version + 1)
        await audit.record(actor, "users.disable", "user", login, {"active": [user.active, False]})


async def issue_token(actor: Actor, login: str) -> str:
    """A new API token for the user (the old one stops working); only its hash is stored."""
    require(actor.role, "users.manage")
    token = secrets.token_urlsafe(32)
    async with in_transaction():
        user = await _user(login)
        if not user.active:
            raise DomainError(f"账号“{login}”已停用")
        await User.filter(id=user.id).update(token_hash=_token_hash(token), version=user.version + 1)
        await audit.record(actor, "users.token", "user", login, {"token_hash": ["***", "***"]})
    return token


async def actor_for_token(token: str) -> Actor | None:
    user = await User.get_or_none(token_hash=_token_hash(token), active=True)
    return actor_of(user) if user else None


async def actor_for_user(user_id: int) -> Actor | None:
    user = await User.get_or_none(id=user_id, active=True)
    return actor_of(user) if user else None


async def login(login: str, password: str, address: str, *, now: dt.datetime | None = None) -> Actor:
    """Check a password; repeated failures lock the account and the address for a while."""
    now = now or dt.datetime.now(dt.UTC)
    keys = (f"account:{login.strip()}", f"address:{address}")
    async with in_transaction():
        for key in keys:
            throttle = await Throttle.get_or_none(key=key)
            if throttle and throttle.locked_until and throttle.locked_until > now:
                minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
                raise LoginRefused(f"登录失败次数过多，请{minutes}分钟后再试")
        user = await User.get_or_none(login=login.strip(), active=True)
        try:
            ok = user is not None and _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            for key, limit in zip(keys, (ACCOUNT_LIMIT, ADDRESS_LIMIT), strict=True):
                await _fail(key, limit, now)
    if not ok:  # outside the transaction, so that the failure counts are kept
        raise LoginRefused("登录名或密码错误")
    await Throttle.filter(key=keys[0]).delete()
    if _hasher.check_needs_rehash(user.password_hash):
        await User.filter(id=user.id).update(password_hash=_hasher.hash(password))
    return actor_of(user)


async def _fail(key: str, limit: int, now: dt.datetime) -> None:
    throttle = await Throttle.get_or_none(key=key)
    if throttle is None or now - throttle.window_start > WINDOW:
        await Throttle.update_or_create(key=key, defaults={"failures": 1, "window_start": now,
                                                           "locked_until": None})
        return
    failures = throttle.failures + 1
    await Throttle.filter(key=key).update(
        failures=failures, locked_until=now + LOCK if failures >= limit else None)
