"""Messages out, the pure part: what a message says, how long it may be, how fast a robot may be
posted to, how long to wait after a failure, when the digest is due, how a webhook is shown.

No database and no clock here: the sender passes the moment in."""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

SCOPES = {"township": "乡镇", "community": "安置社区", "department": "部门"}
MAX_BYTES = 4096  # the robot's markdown content limit, in UTF-8 bytes
MAX_WEBHOOK = 500
RATE_PER_MINUTE = 20  # per robot, the documented limit
SLOW_DOWN = 45009  # errcode: too many messages, wait
MAX_ATTEMPTS = 8  # then the message is failed and reported
FAILING_AFTER = 5  # consecutive failures before a channel is reported failing
LEASE = dt.timedelta(minutes=2)  # a claim longer than any one POST (timeout 10 s)

# kinds, with the page a message links to (relative to the site's base URL)
KINDS = {
    "handoff.arrived": ("新到对接单", "/ledger/inbox"),
    "handoff.rejected": ("对接单被退回", "/ledger/inbox"),
    "handoff.due": ("对接单明日到期", "/ledger/inbox"),
    "handoff.overdue": ("对接单逾期", "/ledger/inbox"),
    "action.due": ("实事到期", "/desk"),
    "problem.reopened": ("问题被居民重新打开", "/desk"),
    "meeting.agenda": ("本周例会议程", "/desk"),
    "project.waiting": ("项目待审核", "/funding"),
    "project.returned": ("项目被退回", "/funding"),
    "digest": ("每日提醒", "/"),
    "escalation.handoff": ("督办：对接单", "/ledger/inbox"),
    "escalation.action": ("督办：实事", "/desk"),
    "escalation.project": ("督办：项目", "/funding"),
}
# which kinds wait for the morning digest, and its time, are the policy's [notify]


def link(base_url: str, kind: str) -> str:
    return base_url.rstrip("/") + KINDS[kind][1]


# ---------------------------------------------------------------- text

_ID = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9])")
_PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def scrub(text: str) -> str:
    """Belt and braces: no full ID number or mobile number leaves in a message, whatever a reason
    typed by a person contains (a rejected hand-off's reason is free text)."""
    return _PHONE.sub(r"\1****\2", _ID.sub(r"\1********\2", text))


def fit(text: str, limit: int = MAX_BYTES) -> str:
    """The text cut, at a character boundary, to the robot's byte limit."""
    data = text.encode()
    if len(data) <= limit:
        return text
    tail = "\n……"
    return data[:limit - len(tail.encode())].decode(errors="ignore") + tail


def _clip(text: str, chars: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= chars else text[:chars] + "…"


def render(kind: str, count: int, payload: dict, base_url: str) -> str:
    """Short Chinese markdown: a title, counts, a link. Names only what the group may see
    (township and community names, project titles, reasons), never a person."""
    title, _ = KINDS[kind]
    p = payload
    if kind == "handoff.arrived":
        lines = [f"收到 **{count}** 条新的对接单（来自：{_clip('、'.join(p.get('from', [])) or '—')}），请及时接收。"]
    elif kind == "handoff.rejected":
        lines = [f"{p.get('to', '')}退回了我方对接单 **{count}** 条。",
                 f"退回原因：{_clip(p.get('reason', '') or '—')}"]
    elif kind == "problem.reopened":
        lines = [f"居民反馈不满意，问题“{_clip(p.get('title', ''), 40)}”重新打开，请在例会上重新研究。"]
    elif kind == "project.waiting":
        lines = [f"项目“{_clip(p.get('title', ''), 40)}”（{p.get('community', '')}）{p.get('step', '待审核')}。"]
    elif kind == "project.returned":
        lines = [f"项目“{_clip(p.get('title', ''), 40)}”被退回。", f"原因：{_clip(p.get('reason', '') or '—')}"]
    elif kind == "meeting.agenda":
        lines = [f"今天例会：待研究问题 **{p.get('open', 0)}** 个，重新打开 **{p.get('reopened', 0)}** 个，"
                 f"逾期实事 **{p.get('overdue', 0)}** 项，待处理需求 **{p.get('waiting', 0)}** 条。"]
    elif kind.startswith("escalation."):
        lines = [f"区集中居住办督办{p.get('what', '')}：{_clip(p.get('note', ''), 100)}",
                 f"请于 **{p.get('due', '')}** 前办结。"]
    elif kind == "digest":
        lines = [f"- {label}：**{n}**" for label, n in p.get("items", [])] or ["今日无待办事项。"]
    else:  # the digest-only kinds, when sent on their own
        lines = [f"共 **{count}** 项。"]
    text = "\n".join([f"### {title}", *lines, f"[打开工作台]({link(base_url, kind)})"])
    return fit(scrub(text))


def markdown_body(content: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": fit(content)}}


# ---------------------------------------------------------------- sending


def backoff(attempts: int, base: float = 30.0, cap: float = 3600.0) -> float:
    """Seconds before the next try after `attempts` failed ones: 30 s, 1 min, 2 min … at most an hour."""
    return min(cap, base * 2 ** max(0, attempts - 1))


@dataclass
class RateLimit:
    """A sliding minute per robot: at most `per_minute` posts in any 60 seconds. `wait(now)` is 0
    when a post may go now, else the seconds until one may."""

    per_minute: int = RATE_PER_MINUTE
    sent: deque = field(default_factory=deque)
    paused_until: float = 0.0

    def wait(self, now: float) -> float:
        while self.sent and now - self.sent[0] >= 60:
            self.sent.popleft()
        pause = max(0.0, self.paused_until - now)
        if len(self.sent) < self.per_minute:
            return pause
        return max(pause, 60 - (now - self.sent[0]))

    def took(self, now: float) -> None:
        self.sent.append(now)

    def slow_down(self, now: float) -> None:
        """The robot said 45009: nothing more to it for a minute."""
        self.paused_until = now + 60


def outcome(status: int, body: object) -> tuple[bool, bool, str]:
    """(delivered, slow_down, error) from the robot's answer."""
    if status != 200:
        return False, False, f"HTTP {status}"
    if not isinstance(body, dict):
        return False, False, "应答不是 JSON 对象"
    code = body.get("errcode")
    if code == 0:
        return True, False, ""
    message = _clip(str(body.get("errmsg", "")), 100)
    return False, code == SLOW_DOWN, f"errcode {code}：{message}"


# ---------------------------------------------------------------- channels


def check_webhook(url: str) -> str:
    """A webhook is http(s) with a host, bounded; returns it stripped or raises ValueError."""
    url = (url or "").strip()
    if not url or len(url) > MAX_WEBHOOK:
        raise ValueError(f"webhook 地址应为 1 到 {MAX_WEBHOOK} 个字符")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(c.isspace() for c in url):
        raise ValueError("webhook 地址应为 https://… 的网址")
    return url


def mask_webhook(url: str) -> str:
    """What a list shows of a webhook: its host and the key's last four characters."""
    parts = urlsplit(url)
    key = (parse_qs(parts.query).get("key") or [parts.path.rsplit("/", 1)[-1]])[0]
    return f"{parts.hostname}…{key[-4:]}" if len(key) > 8 else f"{parts.hostname}…"


# ---------------------------------------------------------------- digest


def digest_due(now_local: dt.datetime, working_day: bool, at: dt.time) -> bool:
    """The digest goes at the policy's time (`[notify] digest_at`) on working days only."""
    return working_day and now_local.time() >= at


# ---------------------------------------------------------------- 督办

ESCALATE = {"handoff": "对接单", "action": "实事", "project": "项目"}
MAX_NOTE = 200
_DONE = {"handoff": {"completed", "rejected", "revoked"}, "action": {"completed"}}
# the project steps someone can be pressed on, and whose step it is
PROJECT_WAITING = {"submitted": "department", "verified": "finance", "returned": "township"}


def escalation_done(object_type: str, at_status: str, status: str) -> bool:
    """A 督办 closes when its item is done: a hand-off closed, an action completed, a project past
    the step it was pressed on."""
    if object_type == "project":
        return status != at_status
    return status in _DONE[object_type]


def check_escalation(note: str, new_due: dt.date, today: dt.date) -> str:
    """The office's note and new date: a note of 1 to 200 characters, a date not before today."""
    note = " ".join((note or "").split())
    if not note or len(note) > MAX_NOTE:
        raise ValueError(f"督办说明应为 1 到 {MAX_NOTE} 个字")
    if new_due < today:
        raise ValueError("新的办理期限不能早于今天")
    return note
