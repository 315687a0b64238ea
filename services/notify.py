"""Messages out (issue 16): the transactional outbox, the sender, channels, the digest and the bell.

Delivery guarantee, honestly stated. The robot has no idempotency key, so:
- an event that rolls back sends nothing: `enqueue` writes in the event's own transaction;
- two senders never both post a message: a sender owns a row only after a conditional
  `UPDATE … SET status='sending' WHERE id=? AND status='queued'` that changed one row, committed
  before the POST (SQLite and PostgreSQL alike);
- the claim is the mark: a row is `sending` from before the POST until it is marked `sent`. If the
  sender dies in between (after or before the robot got it: nobody can know which), the row is never
  posted again by itself: once its lease runs out it turns `unknown`, `notify status` and the office
  page count it, and `resettle notify retry` posts it again after someone has looked at the group.
  So a crash never duplicates a message (at most once) and never loses one silently;
- what the sender itself sees fail (a 5xx, an errcode, a refused connection, a timeout) is retried
  with exponential backoff. A timeout is the one at-least-once case: the robot may have posted a
  message whose answer never arrived, and the retry posts it again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from cryptography.fernet import Fernet, InvalidToken
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from resettle.errors import DomainError, NotFound
from resettle.models import Action, Channel, Community, Desk, Escalation, Handoff, Notice, OutboxMessage, User
from resettle.rules import notify as rule
from resettle.rules import scope as scope_rule
from resettle.rules.permissions import allowed, require
from services import audit
from services.work import Work

log = logging.getLogger("resettle.notify")
PASS_SIZE = 500  # rows read per pass of the sender


# ---------------------------------------------------------------- groups


@dataclass(frozen=True)
class Group:
    scope: str  # township | community | department
    target: str  # township code, community id, department name

    def users(self):
        return User.filter(active=True, **scope_rule.group_members(self.scope, self.target))


async def group_name(work: Work, scope: str, target: str) -> str:
    if scope == "township":
        try:
            return work.policy.township(target).name
        except (KeyError, LookupError, DomainError):
            return target
    if scope == "community":
        c = await Community.get_or_none(id=int(target)) if target.isdigit() else None
        return f"{work.policy.township(c.township_code).name}/{c.name}" if c else target
    return target


# ---------------------------------------------------------------- enqueue


def _notice_text(kind: str, count: int, payload: dict) -> str:
    """The bell's one line: the message's first sentence, without markdown."""
    body = rule.render(kind, count, payload, "")
    line = body.splitlines()[1] if "\n" in body else body
    return line.replace("**", "")[:300]


async def enqueue(work: Work, group: Group, kind: str, payload: dict, *, key: str | None = None,
                  count: int = 1, batch: bool = False) -> None:
    """Write a message for `group` in the caller's transaction (call it inside `work.transaction()`).
    `key` makes it idempotent (the same key twice is one message); `batch` adds `count` to a message
    of the same kind and group that no sender has claimed yet, so a burst is one message."""
    now = work.now()
    status = "digest" if kind in work.policy.notify.digest_only else "queued"
    batch_key = f"{kind}:{group.scope}:{group.target}" if batch else None
    if batch_key:
        pending = await OutboxMessage.filter(batch=batch_key, status="queued").order_by("id").first()
        if pending is not None:
            merged = _merge(pending.payload, payload)
            # conditional: a sender that claimed it meanwhile wins, and this burst starts a new message
            if await OutboxMessage.filter(id=pending.id, status="queued").update(
                    count=F("count") + count, payload=merged):
                await _bell(work, group, kind, pending.key, pending.count + count, merged, now)
                return
    key = key or f"{kind}:{group.scope}:{group.target}:{uuid.uuid4().hex}"
    try:
        async with in_transaction():  # a savepoint: a repeated key leaves the caller's transaction usable
            await OutboxMessage.create(scope=group.scope, target=group.target, kind=kind, key=key,
                                       batch=batch_key, count=count, payload=payload, status=status,
                                       due_at=now, next_attempt_at=now, created_at=now)
    except IntegrityError:
        return  # this event was already told
    await _bell(work, group, kind, key, count, payload, now)


def _merge(old: dict, new: dict) -> dict:
    merged = dict(old)
    for name, value in new.items():
        if isinstance(value, list):
            merged[name] = sorted(set(merged.get(name, [])) | set(value))[:20]
        else:
            merged[name] = value
    return merged


async def _bell(work: Work, group: Group, kind: str, key: str, count: int, payload: dict,
                now: dt.datetime) -> None:
    text, link = _notice_text(kind, count, payload), rule.KINDS[kind][1]
    users = await group.users().values_list("id", flat=True)
    for user_id in users:
        updated = await Notice.filter(user_id=user_id, key=key).update(text=text, created_at=now, read_at=None)
        if not updated:
            await Notice.create(user_id=user_id, key=key, kind=kind, text=text, link=link, created_at=now)


# ---------------------------------------------------------------- events (one call each from the services)


async def handoffs_arrived(work: Work, rows: list[tuple[str, str]]) -> None:
    """New hand-offs, as (from_township, to_township): one message per receiving township, joined
    with any not yet sent."""
    per: dict[str, tuple[int, set[str]]] = {}
    for from_code, to_code in rows:
        n, senders = per.get(to_code, (0, set()))
        senders.add(_township(work, from_code))
        per[to_code] = (n + 1, senders)
    for to_code, (n, senders) in sorted(per.items()):
        await enqueue(work, Group("township", to_code), "handoff.arrived", {"from": sorted(senders)},
                      count=n, batch=True)


async def handoff_rejected(work: Work, handoff, reason: str) -> None:
    await enqueue(work, Group("township", handoff.from_township), "handoff.rejected",
                  {"to": _township(work, handoff.to_township), "reason": reason},
                  key=f"handoff.rejected:{handoff.id}")


async def problem_reopened(work: Work, problem) -> None:
    await enqueue(work, Group("community", str(problem.community_id)), "problem.reopened",
                  {"title": problem.title}, key=f"problem.reopened:{problem.id}:{problem.round}")


async def project_moved(work: Work, project, status: str) -> None:
    """Submitted: the verifying department; verified: finance; returned: the township."""
    community = await Community.get(id=project.community_id)
    payload = {"title": project.title, "community": community.name}
    key = f"project:{project.id}:{project.version}:{status}"
    if status == "submitted":
        await enqueue(work, Group("department", project.department), "project.waiting",
                      {**payload, "step": "待核定"}, key=key)
    elif status == "verified":
        await enqueue(work, Group("department", scope_rule.FINANCE_GROUP), "project.waiting",
                      {**payload, "step": "待审定"}, key=key)
    elif status == "returned":
        await enqueue(work, Group("township", project.township_code), "project.returned",
                      {**payload, "reason": project.reason}, key=key)


def _township(work: Work, code: str) -> str:
    try:
        return work.policy.township(code).name
    except (KeyError, LookupError, DomainError):
        return code


# ---------------------------------------------------------------- channels


def _fernet(site_key: bytes) -> Fernet:
    # a key of its own, derived from the site key, so a session cookie key never decrypts webhooks
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"resettle-notify\0" + site_key).digest()))


async def _group_of(work: Work, *, township: str | None, community: str | None,
                    department: str | None) -> Group:
    given = [x for x in (township, community, department) if x]
    if len(given) != 1:
        raise DomainError("请给出 --township、--community、--department 中的一个")
    if township:
        t = work.policy.match_township(township.strip())
        if t is None:
            raise NotFound(f"找不到乡镇“{township}”")
        return Group("township", t.code)
    if community:
        from services.registry import find_community
        c = await find_community(community.strip(), work.policy)
        return Group("community", str(c.id))
    name = department.strip()
    if not name or len(name) > 64:
        raise DomainError("部门名称应为 1 到 64 个字符")
    return Group("department", name)


async def set_channel(work: Work, site_key: bytes, webhook: str, *, township: str | None = None,
                      community: str | None = None, department: str | None = None) -> dict:
    require(work.actor.role, "notify.manage")
    try:
        url = rule.check_webhook(webhook)
    except ValueError as exc:
        raise DomainError(str(exc)) from None
    group = await _group_of(work, township=township, community=community, department=department)
    token = _fernet(site_key).encrypt(url.encode()).decode()
    hint = rule.mask_webhook(url)
    async with work.transaction():
        row = await Channel.get_or_none(scope=group.scope, target=group.target, kind="robot")
        if row is None:
            row = await Channel.create(scope=group.scope, target=group.target, secret=token, hint=hint)
            action = "notify.channel_add"
        else:
            await Channel.filter(id=row.id).update(secret=token, hint=hint, failures=0, failing_since=None,
                                                   last_error="", version=row.version + 1, updated_at=work.now())
            action = "notify.channel_set"
        await audit.record(work, action, "channel", row.id, {"group": [None, f"{group.scope}:{group.target}"],
                                                             "webhook": [None, hint]})
    return {"scope": group.scope, "target": group.target, "name": await group_name(work, group.scope, group.target),
            "webhook": hint}


async def remove_channel(work: Work, *, township: str | None = None, community: str | None = None,
                         department: str | None = None) -> dict:
    require(work.actor.role, "notify.manage")
    group = await _group_of(work, township=township, community=community, department=department)
    async with work.transaction():
        row = await Channel.get_or_none(scope=group.scope, target=group.target, kind="robot")
        if row is None:
            raise NotFound("该单位还没有设置群机器人")
        await row.delete()
        await audit.record(work, "notify.channel_remove", "channel", row.id, {"webhook": [row.hint, None]})
    return {"scope": group.scope, "target": group.target, "name": await group_name(work, group.scope, group.target)}


async def list_channels(work: Work) -> list[dict]:
    require(work.actor.role, "notify.manage")
    return [{"scope": c.scope, "scope_label": rule.SCOPES[c.scope], "target": c.target,
             "name": await group_name(work, c.scope, c.target), "webhook": c.hint,
             "failing": c.failing_since is not None, "state": "发送失败" if c.failing_since else "正常",
             "last_error": c.last_error}
            for c in await Channel.all().order_by("scope", "target")]


# ---------------------------------------------------------------- status


async def status(work: Work) -> dict:
    """Per group: queued, sent, failed, unknown, the channel's state and last error (masked webhook)."""
    require(work.actor.role, "notify.manage")
    counts: dict[tuple[str, str], dict[str, int]] = {}
    rows = await OutboxMessage.all().annotate(n=Count("id")).group_by("scope", "target", "status").values_list(
        "scope", "target", "status", "n")
    for scope, target, state, n in rows:
        counts.setdefault((scope, target), {})[state] = n
    channels = {(c.scope, c.target): c for c in await Channel.all()}
    groups = []
    for scope, target in sorted(counts.keys() | channels.keys()):
        c, n = channels.get((scope, target)), counts.get((scope, target), {})
        groups.append({
            "scope": scope, "scope_label": rule.SCOPES.get(scope, scope), "target": target,
            "name": await group_name(work, scope, target), "webhook": c.hint if c else "",
            "queued": n.get("queued", 0) + n.get("sending", 0), "digest": n.get("digest", 0),
            "sent": n.get("sent", 0) + n.get("digested", 0), "failed": n.get("failed", 0),
            "unknown": n.get("unknown", 0),
            "state": "未设置群机器人" if c is None else ("发送失败" if c.failing_since else "正常"),
            "failing": bool(c and c.failing_since), "last_error": c.last_error if c else ""})
    total = {name: sum(g[name] for g in groups) for name in ("queued", "digest", "sent", "failed", "unknown")}
    return {"groups": groups, "total": total}


async def retry(work: Work) -> dict:
    """After someone looked at the groups: failed and unknown messages go out again, failing
    channels are tried again."""
    require(work.actor.role, "notify.manage")
    now = work.now()
    async with work.transaction():
        again = await OutboxMessage.filter(status__in=("failed", "unknown")).update(
            status="queued", attempts=0, next_attempt_at=now, claimed_by="", claimed_until=None,
            failed_at=None)
        channels = await Channel.filter(failing_since__not_isnull=True).update(failing_since=None, failures=0)
        await audit.record(work, "notify.retry", "outbox", "*",
                           {"messages": [None, again], "channels": [None, channels]})
    return {"messages": again, "channels": channels}


# ---------------------------------------------------------------- the sender


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Sender:
    """One sender: its name (host:pid), the site key, the site's base URL for links, one rate limit
    per robot. `crash_after_post` exists for the crash test: it raises where a killed process stops."""

    site_key: bytes
    base_url: str
    name: str = field(default_factory=worker_name)
    rate: int = rule.RATE_PER_MINUTE
    timeout: float = 10.0
    limits: dict[int, rule.RateLimit] = field(default_factory=dict)
    sleep: Callable[[float], Awaitable] = asyncio.sleep
    crash_after_post: bool = False
    crash_before_post: bool = False

    def limit(self, channel_id: int) -> rule.RateLimit:
        return self.limits.setdefault(channel_id, rule.RateLimit(self.rate))


class SenderCrash(RuntimeError):
    """Stands for the process dying (tests only)."""


async def run_once(work: Work, sender: Sender, session: aiohttp.ClientSession | None = None) -> dict:
    """One pass: give up on claims whose sender died, then post every due message whose group has
    a working robot. Returns counts of what happened."""
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        return await _pass(work, sender, session)
    finally:
        if own:
            await session.close()


async def _pass(work: Work, sender: Sender, session: aiohttp.ClientSession) -> dict:
    now = work.now()
    stats = {"sent": 0, "retry": 0, "failed": 0, "unknown": 0, "slowed": 0}
    if await Escalation.exists(closed_on__isnull=True):
        async with work.transaction():
            await close_done(work)
    # a claim past its lease: its sender died somewhere around the POST; never post it blind again
    stats["unknown"] = await OutboxMessage.filter(status="sending", claimed_until__lt=now).update(
        status="unknown", last_error="发送进程中断，不确定是否已送达，请核实后用 notify retry 重发")
    channels = {(c.scope, c.target): c for c in await Channel.filter(kind="robot", failing_since__isnull=True)}
    if not channels:
        return stats
    fernet, urls = _fernet(sender.site_key), {}
    paused: set[int] = set()
    due = await OutboxMessage.filter(status="queued", next_attempt_at__lte=now).order_by("id").limit(PASS_SIZE)
    loop = asyncio.get_running_loop()
    for message in due:
        channel = channels.get((message.scope, message.target))
        if channel is None or channel.id in paused:
            continue
        limit = sender.limit(channel.id)
        wait = limit.wait(loop.time())
        if wait > 0:
            await sender.sleep(wait)
        now = work.now()
        body = rule.render(message.kind, message.count, message.payload, sender.base_url)
        claimed = await OutboxMessage.filter(id=message.id, status="queued").update(
            status="sending", claimed_by=sender.name, claimed_until=now + rule.LEASE,
            attempts=F("attempts") + 1, body=body)
        if not claimed:
            continue  # another sender has it
        if channel.id not in urls:
            try:
                urls[channel.id] = fernet.decrypt(channel.secret.encode()).decode()
            except InvalidToken:
                await _release(message, sender, now, "群机器人地址无法解密（站点密钥已更换？请重新设置）")
                await _channel_failed(channel, now, "群机器人地址无法解密", give_up=True)
                paused.add(channel.id)
                continue
        if sender.crash_before_post:
            raise SenderCrash("before post")
        limit.took(loop.time())
        delivered, slow, error = await _post(session, urls[channel.id], body, sender.timeout)
        if sender.crash_after_post:
            raise SenderCrash("after post")
        now = work.now()
        if delivered:
            await OutboxMessage.filter(id=message.id, claimed_by=sender.name, status="sending").update(
                status="sent", sent_at=now, claimed_until=None, last_error="")
            if channel.failures:
                await Channel.filter(id=channel.id).update(failures=0, last_error="")
                channel.failures = 0
            stats["sent"] += 1
        elif slow:
            # 45009: not the message's fault; pause the robot a minute and keep the message
            limit.slow_down(loop.time())
            await OutboxMessage.filter(id=message.id, claimed_by=sender.name).update(
                status="queued", claimed_by="", claimed_until=None, last_error=error,
                next_attempt_at=now + dt.timedelta(seconds=60), attempts=F("attempts") - 1)
            paused.add(channel.id)
            stats["slowed"] += 1
        else:
            attempts = message.attempts + 1
            if await _release(message, sender, now, error, attempts=attempts):
                stats["failed"] += 1
            else:
                stats["retry"] += 1
            if await _channel_failed(channel, now, error):
                paused.add(channel.id)
    return stats


async def _post(session: aiohttp.ClientSession, url: str, content: str, timeout: float) -> tuple[bool, bool, str]:
    try:
        async with session.post(url, json=rule.markdown_body(content),
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            return rule.outcome(response.status, answer)
    except TimeoutError:
        return False, False, "超时"
    except aiohttp.ClientError as exc:
        return False, False, f"连接失败：{type(exc).__name__}"


async def _release(message: OutboxMessage, sender: Sender, now: dt.datetime, error: str,
                   attempts: int | None = None) -> bool:
    """Back to the queue after a backoff, or failed for good after MAX_ATTEMPTS; True when failed."""
    attempts = attempts or message.attempts + 1
    if attempts >= rule.MAX_ATTEMPTS:
        await OutboxMessage.filter(id=message.id, claimed_by=sender.name).update(
            status="failed", failed_at=now, claimed_until=None, last_error=error[:300])
        log.warning("notify: message %s to %s:%s failed after %s attempts: %s",
                    message.id, message.scope, message.target, attempts, error)
        return True
    await OutboxMessage.filter(id=message.id, claimed_by=sender.name).update(
        status="queued", claimed_by="", claimed_until=None, last_error=error[:300],
        next_attempt_at=now + dt.timedelta(seconds=rule.backoff(attempts)))
    return False


async def _channel_failed(channel: Channel, now: dt.datetime, error: str, give_up: bool = False) -> bool:
    """Counts a failure; after FAILING_AFTER in a row the channel is marked failing (and reported):
    its messages wait, not retried for ever, until `notify retry` or a new webhook. True when failing."""
    channel.failures += 1
    failing = give_up or channel.failures >= rule.FAILING_AFTER
    await Channel.filter(id=channel.id).update(failures=channel.failures, last_error=error[:300],
                                               failing_since=now if failing else None)
    if failing:
        log.warning("notify: channel %s:%s (%s) is failing: %s", channel.scope, channel.target, channel.hint, error)
    return failing


async def run(work_of: Callable[[], Work], sender: Sender, *, every: float = 5.0,
              stop: asyncio.Event | None = None) -> None:
    """The long-running sender: a pass every `every` seconds until `stop` is set."""
    stop = stop or asyncio.Event()
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            try:
                await run_once(work_of(), sender, session)
            except Exception:  # noqa: BLE001 — a bad pass must not end the sender; it is logged
                log.exception("notify: sender pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


# ---------------------------------------------------------------- the bell


async def unread(work: Work) -> int:
    if work.actor.user_id is None:
        return 0
    return await Notice.filter(user_id=work.actor.user_id, read_at__isnull=True).count()


async def notices(work: Work, limit: int = 50) -> list[dict]:
    if work.actor.user_id is None:
        return []
    rows = await Notice.filter(user_id=work.actor.user_id).order_by("-id").limit(limit)
    return [{"id": n.id, "kind": n.kind, "label": rule.KINDS.get(n.kind, (n.kind,))[0], "text": n.text,
             "link": n.link, "at": n.created_at.astimezone(audit.SHANGHAI).strftime("%Y-%m-%d %H:%M"),
             "read": n.read_at is not None} for n in rows]


async def mark_read(work: Work, ids: list[int] | None = None) -> int:
    """Marks the actor's notices read (all of them when `ids` is None); only the actor's own."""
    if work.actor.user_id is None:
        return 0
    query = Notice.filter(user_id=work.actor.user_id, read_at__isnull=True)
    if ids is not None:
        query = query.filter(id__in=ids[:200])
    return await query.update(read_at=work.now())



# ---------------------------------------------------------------- the morning digest


def is_working_day(work: Work, day: dt.date) -> bool:
    """The policy's holiday-aware calendar (chinese-calendar and the policy's [calendar])."""
    return work.policy.calendar.is_working_day(day)


def next_working_day(work: Work, day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    for _ in range(40):
        if is_working_day(work, day):
            return day
        day += dt.timedelta(days=1)
    return day


async def digest(work: Work, *, now: bool = False) -> dict:
    """The morning digest, one message per group that has something: hand-offs due on the next
    working day and overdue (townships), actions due and overdue (communities), the digest-only
    messages queued since the last digest, and on a desk's meeting day its agenda. Working days
    only, from the policy's `[notify] digest_at` on (`now` skips the hour, not the calendar); run
    twice, it sends once a day."""
    require(work.actor.role, "notify.manage")
    at = work.policy.notify.digest_at
    today, local = work.today, work.now().astimezone(audit.SHANGHAI)
    if not is_working_day(work, today):
        return {"day": today.isoformat(), "sent": 0, "groups": [], "skipped": "今天不是工作日，不发每日提醒"}
    if not now and not rule.digest_due(local, True, at):
        return {"day": today.isoformat(), "sent": 0, "groups": [],
                "skipped": f"每日提醒在 {at.strftime('%H:%M')} 之后发送"}
    tomorrow = next_working_day(work, today)
    items: dict[Group, list[tuple[str, int]]] = {}

    def add(group: Group, label: str, n: int) -> None:
        if n:
            items.setdefault(group, []).append((label, n))

    for code, in_due, in_late, out_late in await _handoff_counts(today, tomorrow):
        group = Group("township", code)
        add(group, "明日到期的对接单", in_due)
        add(group, "逾期未办的对接单", in_late)
        add(group, "对方逾期未办的我方对接单", out_late)
    for community_id, due, late in await _action_counts(today, tomorrow):
        group = Group("community", str(community_id))
        add(group, "明日到期的实事", due)
        add(group, "逾期实事", late)
    async with work.transaction():
        await close_done(work)
        queued = await OutboxMessage.filter(status="digest").values_list("id", "scope", "target", "kind", "count")
        for _, scope, target, kind, count in queued:
            add(Group(scope, target), rule.KINDS[kind][0], count)
        if queued:
            await OutboxMessage.filter(id__in=[row[0] for row in queued], status="digest").update(
                status="digested", sent_at=work.now())
        meetings = await _meetings_today(work)
        for group, payload in meetings:
            await enqueue(work, group, "meeting.agenda", payload, key=f"meeting:{group.target}:{today}")
        groups = []
        for group, lines in sorted(items.items(), key=lambda kv: (kv[0].scope, kv[0].target)):
            await enqueue(work, group, "digest", {"items": lines}, key=f"digest:{group.scope}:{group.target}:{today}")
            groups.append({"scope": group.scope, "target": group.target,
                           "name": await group_name(work, group.scope, group.target), "items": lines})
        await audit.record(work, "notify.digest", "digest", today.isoformat(),
                           {"groups": [None, len(groups)], "meetings": [None, len(meetings)]})
    return {"day": today.isoformat(), "sent": len(groups), "meetings": len(meetings), "groups": groups,
            "skipped": ""}


async def _handoff_counts(today: dt.date, tomorrow: dt.date) -> list[tuple[str, int, int, int]]:
    per: dict[str, list[int]] = {}
    rows = await Handoff.filter(status__in=("sent", "accepted")).values_list("status", "to_township", "from_township",
                                                              "accept_due", "complete_due")
    for status_, to, frm, accept_due, complete_due in rows:
        due = accept_due if status_ == "sent" else complete_due
        if due == tomorrow:
            per.setdefault(to, [0, 0, 0])[0] += 1
        elif due < today:
            per.setdefault(to, [0, 0, 0])[1] += 1
            per.setdefault(frm, [0, 0, 0])[2] += 1
    return [(code, *counts) for code, counts in sorted(per.items())]


async def _action_counts(today: dt.date, tomorrow: dt.date) -> list[tuple[int, int, int]]:
    per: dict[int, list[int]] = {}
    planned = Action.filter(status="planned", due__lte=tomorrow)
    for community_id, due in await planned.values_list("community_id", "due"):
        per.setdefault(community_id, [0, 0])[0 if due >= today else 1] += 1
    return [(c, *n) for c, n in sorted(per.items())]


async def _meetings_today(work: Work) -> list[tuple[Group, dict]]:
    """Communities whose weekly meeting (the reception slot) is today, with the agenda's counts."""
    from services import desk_views
    weekday = work.today.isoweekday()
    own = dict(await Desk.all().values_list("community_id", "reception_weekday"))
    communities = await Community.all().values_list("id", flat=True)
    iso = work.today.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    found = []
    for community_id in communities:
        if own.get(community_id, work.policy.desk.reception_weekday) != weekday:
            continue
        agenda = await desk_views.agenda(work, community_id, week)
        if not (agenda["problems"] or agenda["reopened"] or agenda["overdue_actions"] or agenda["new_demands"]):
            continue
        found.append((Group("community", str(community_id)), {
            "open": len(agenda["problems"]), "reopened": len(agenda["reopened"]),
            "overdue": len(agenda["overdue_actions"]), "waiting": len(agenda["new_demands"])}))
    return found


async def unread_by_login(work: Work) -> dict[str, int]:
    """Unread notices per account (the demo shows whose bell rings)."""
    require(work.actor.role, "notify.manage")
    rows = await Notice.filter(read_at__isnull=True).annotate(n=Count("id")).group_by("user__login") \
        .values_list("user__login", "n")
    return dict(rows)


# ---------------------------------------------------------------- 督办


@dataclass(frozen=True)
class _Item:
    status: str
    township: str
    group: Group
    what: str
    overdue: bool


async def _item(work: Work, object_type: str, object_id: int) -> _Item:
    from resettle.models import Project
    from resettle.rules.desk import ActionStatus, action_overdue
    from resettle.rules.ledger import is_overdue

    today = work.today
    if object_type == "handoff":
        h = await Handoff.get_or_none(id=object_id)
        if h is None:
            raise NotFound(f"找不到对接单 {object_id}")
        what = f"对接单 {h.id}（{_township(work, h.from_township)}→{_township(work, h.to_township)}）"
        return _Item(h.status, h.to_township, Group("township", h.to_township), what,
                     is_overdue(h.status, h.accept_due, h.complete_due, today))
    if object_type == "action":
        a = await Action.get_or_none(id=object_id)
        if a is None:
            raise NotFound(f"找不到实事 {object_id}")
        c = await Community.get(id=a.community_id)
        return _Item(a.status, c.township_code, Group("community", str(c.id)), f"实事“{rule._clip(a.text, 30)}”",
                     action_overdue(ActionStatus(a.status), a.due, today))
    p = await Project.get_or_none(id=object_id)
    if p is None:
        raise NotFound(f"找不到项目 {object_id}")
    whose = rule.PROJECT_WAITING.get(p.status)
    group = {"department": Group("department", p.department), "finance": Group("department", scope_rule.FINANCE_GROUP),
             "township": Group("township", p.township_code)}.get(whose or "", Group("township", p.township_code))
    return _Item(p.status, p.township_code, group, f"项目“{rule._clip(p.title, 30)}”", whose is not None)


async def escalate(work: Work, object_type: str, object_id: int, note: str, new_due: dt.date) -> dict:
    """督办: the office presses the group responsible for an overdue item; the group is told at once."""
    require(work.actor.role, "notify.manage")
    if object_type not in rule.ESCALATE:
        raise DomainError("督办的对象应为对接单、实事或项目")
    try:
        note = rule.check_escalation(note, new_due, work.today)
    except ValueError as exc:
        raise DomainError(str(exc)) from None
    label = rule.ESCALATE[object_type]
    async with work.transaction():
        item = await _item(work, object_type, object_id)
        if not item.overdue:
            raise DomainError(f"只有逾期（或等待审核）的{label}可以督办")
        if await Escalation.exists(object_type=object_type, object_id=object_id, closed_on__isnull=True):
            raise DomainError(f"该{label}已在督办中")
        row = await Escalation.create(object_type=object_type, object_id=object_id, at_status=item.status,
                                      township_code=item.township, scope=item.group.scope,
                                      target=item.group.target, note=note, new_due=new_due,
                                      opened_on=work.today, opened_by=work.actor.login)
        await audit.record(work, "notify.escalate", object_type, object_id,
                           {"note": [None, note], "new_due": [None, new_due.isoformat()]})
        await enqueue(work, item.group, f"escalation.{object_type}",
                      {"what": item.what, "note": note, "due": new_due.isoformat()}, key=f"escalation:{row.id}")
    return {"id": row.id, "object_type": object_type, "object_id": object_id, "what": item.what,
            "group": await group_name(work, item.group.scope, item.group.target), "note": note,
            "new_due": new_due.isoformat()}


async def close_done(work: Work) -> int:
    """Closes every open 督办 whose item is done (run by each sender pass and the digest)."""
    from resettle.models import Project

    models = {"handoff": Handoff, "action": Action, "project": Project}
    open_ = await Escalation.filter(closed_on__isnull=True)
    closed = 0
    for kind, model in models.items():
        rows = [e for e in open_ if e.object_type == kind]
        if not rows:
            continue
        states = dict(await model.filter(id__in=[e.object_id for e in rows]).values_list("id", "status"))
        done = [e.id for e in rows if rule.escalation_done(kind, e.at_status, states.get(e.object_id, ""))]
        if done:
            closed += await Escalation.filter(id__in=done, closed_on__isnull=True).update(
                closed_on=work.today, updated_at=work.now())
    if closed:
        await audit.record(work, "notify.escalation_closed", "escalation", "*", {"closed": [None, closed]})
    return closed


async def flags(object_type: str, ids: list[int]) -> dict[int, dict]:
    """The open 督办 of some items, for the pages that list them: {id: {note, new_due}}."""
    rows = await Escalation.filter(object_type=object_type, object_id__in=ids, closed_on__isnull=True)
    return {e.object_id: {"note": e.note, "new_due": e.new_due.isoformat()} for e in rows}


async def item_escalation(work: Work, object_type: str, object_id: int) -> dict:
    """An item page's 督办 part: its open flag, and whether this actor may press it now (the office,
    on an overdue item not already pressed), so the page offers the form only when it would work."""
    flag = (await flags(object_type, [object_id])).get(object_id)
    may = False
    if flag is None and allowed(work.actor.role, "notify.manage"):
        try:
            may = (await _item(work, object_type, object_id)).overdue
        except NotFound:
            may = False
    return {"flag": flag, "may": may, "type": object_type, "id": object_id, "today": work.today.isoformat()}


async def marks(work: Work, object_type: str, overdue: dict[int, bool]) -> dict[int, dict]:
    """The 督办 part of each listed item in one query: {id: {flag, may, type, id, today}}, `may`
    only for the office on an overdue item not already pressed (as `escalate` requires)."""
    found = await flags(object_type, list(overdue))
    manage = allowed(work.actor.role, "notify.manage")
    return {i: {"flag": found.get(i), "may": manage and late and i not in found, "type": object_type, "id": i,
                "today": work.today.isoformat()} for i, late in overdue.items()}


def item_href(object_type: str, object_id: int, problem_id: int | None = None) -> str:
    """The page an item of a 督办 is shown on (an action is shown on its problem's page)."""
    if object_type == "handoff":
        return f"/ledger/handoffs/{object_id}"
    if object_type == "project":
        return f"/funding/projects/{object_id}"
    return f"/desk/problems/{problem_id}"


async def action_problem(work: Work, action_id: int) -> int | None:
    return (await Action.filter(id=action_id).values_list("problem_id", flat=True) or [None])[0]


async def open_for(work: Work) -> list[dict]:
    """The open 督办 a person's group answers for (the office's: all), for their home page: one
    query for the flags, one for the actions' problems."""
    query = Escalation.filter(closed_on__isnull=True)
    group = scope_rule.message_group(work.actor)
    if group is not None:
        query = query.filter(scope=group[0], target=group[1])
    elif not allowed(work.actor.role, "notify.manage"):
        return []
    rows = await query.order_by("new_due", "id").limit(50)
    actions = [e.object_id for e in rows if e.object_type == "action"]
    problems = dict(await Action.filter(id__in=actions).values_list("id", "problem_id")) if actions else {}
    return [{"label": f"{rule.ESCALATE[e.object_type]} {e.object_id}", "note": e.note,
             "new_due": e.new_due.isoformat(), "late": e.new_due < work.today,
             "flag": {"note": e.note, "new_due": e.new_due.isoformat()},
             "href": item_href(e.object_type, e.object_id, problems.get(e.object_id))}
            for e in rows if e.object_type != "action" or e.object_id in problems]


async def escalation_counts(work: Work, start: dt.date, end: dt.date, *, townships: list[str] | None = None,
                            communities: list[int] | None = None) -> list[dict]:
    """督办 opened and closed in [start, end), per township in the policy's order (the ledger's
    dashboard and 一月一汇), and how many of each township are open at the period's end. `townships`
    limits to those codes; `communities` to the actions of those communities (a desk's summary).
    One query: the rows opened before the end and not closed before the start."""
    query = Escalation.filter(opened_on__lt=end).filter(Q(closed_on__isnull=True) | Q(closed_on__gte=start))
    if communities is not None:
        query = query.filter(scope="community", target__in=[str(c) for c in communities])
    elif townships is not None:
        query = query.filter(township_code__in=townships)
    rows = await query.values_list("township_code", "opened_on", "closed_on")
    per: dict[str, list[int]] = {}
    for code, opened, closed in rows:
        n = per.setdefault(code, [0, 0, 0])
        n[0] += opened >= start
        n[1] += closed is not None and closed < end
        n[2] += closed is None or closed >= end
    order = [t.code for t in work.policy.townships]
    return [{"code": code, "township": _township(work, code), "opened": n[0], "closed": n[1], "open": n[2]}
            for code, n in sorted(per.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0]))]


async def escalations(work: Work) -> dict:
    """Open 督办 items, and per township how many were opened and closed."""
    require(work.actor.role, "notify.manage")
    rows = await Escalation.all().order_by("-id")
    per: dict[str, list[int]] = {}
    for e in rows:
        counts = per.setdefault(e.township_code, [0, 0])
        counts[0] += 1
        counts[1] += e.closed_on is not None
    return {"open": [{"id": e.id, "object_type": e.object_type, "label": rule.ESCALATE[e.object_type],
                      "object_id": e.object_id, "group": await group_name(work, e.scope, e.target),
                      "note": e.note, "new_due": e.new_due.isoformat(), "opened_on": e.opened_on.isoformat(),
                      "late": e.new_due < work.today}
                     for e in rows if e.closed_on is None][:200],
            "per_township": [{"township": _township(work, code), "opened": n, "closed": c, "open": n - c}
                             for code, (n, c) in sorted(per.items())]}
