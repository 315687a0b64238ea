"""Logs as JSON lines, one per request and per event, each with the request's id; ID numbers,
phone numbers and passwords never reach a log line (they are masked wherever they appear, query
strings and exception texts included, and request bodies are never logged)."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import secrets
import sys
import unicodedata
from urllib.parse import unquote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from resettle.rules import idnumber

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# an 18-character ID (or a 15-digit old one) and a mobile number, wherever they stand in a text
_ID_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_SECRET = re.compile(r"(?i)(password|passwd|token|authorization|csrf)([\"']?\s*[:=]\s*[\"']?)(?:Bearer\s+)?"
                     r"[^\s&\"',}]+")


# digits as people type them: grouped by whatever `idnumber.normalize` strips, hyphens, or '+'
# for a space in a query string
_GAP = rf"[{idnumber.SPACES}+\-]+"
_DIGITS = re.compile(rf"(?<![0-9])[0-9](?:(?:{_GAP})?[0-9])*(?:(?:{_GAP})?[Xx])?(?![0-9])")
_GAPS = re.compile(f"({_GAP})")
_LONGEST = 18  # an ID; '0086' and a mobile number make 15


def fold(text: str) -> str:
    """`text` as its reader would take it: percent-decoded, full-width and other compatibility
    forms folded (NFKC: '３１０' is '310', an ideographic space a space)."""
    return unicodedata.normalize("NFKC", unquote(text, errors="replace"))


def _mask_id(value: str) -> str:
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _masked(compact: str) -> str | None:
    """`compact` masked if it is an ID or a mobile number (with or without +86), else None."""
    if _ID_NUMBER.fullmatch(compact):
        return _mask_id(compact)
    mobile = re.sub(r"^(?:0086|86)(?=1[3-9][0-9]{9}$)", "", compact)  # +86 138 …
    if _MOBILE.fullmatch(mobile):
        return compact[:-8] + "****" + compact[-4:]
    return None


def _mask_digits(match: re.Match) -> str:
    """One run of digit groups masked by what its groups say once the gaps are gone: from each
    group on, the longest stretch of groups that makes a personal number is masked, so a spaced
    ID followed by another number, or two IDs side by side, are masked number by number."""
    parts = _GAPS.split(match[0])
    groups, gaps = parts[::2], parts[1::2]
    out, i = [], 0
    while i < len(groups):
        end, masked, compact = i + 1, groups[i], ""
        for j in range(i, len(groups)):
            compact += groups[j]
            if len(compact) > _LONGEST:
                break
            if (found := _masked(compact)) is not None:
                end, masked = j + 1, found
        out.append(masked)
        if end < len(groups):
            out.append(gaps[end - 1])
        i = end
    return "".join(out)


def scrub(text: str) -> str:
    """`text` with personal numbers and secrets masked, judged after folding (a full-width,
    spaced or percent-encoded ID is still an ID)."""
    text = _DIGITS.sub(_mask_digits, fold(text))
    return _SECRET.sub(lambda m: f"{m[1]}{m[2]}***", text)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": scrub(record.getMessage())}
        request_id = getattr(record, "request_id", "") or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key in ("method", "path", "status", "ms", "actor"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure(level: int = logging.INFO, stream=None) -> None:
    """Every logger of the process writes JSON lines (stderr by default, for journald)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class AccessLog(AbstractAccessLogger):
    """One line per request: method, path (query scrubbed), status, milliseconds, who, request id."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        from web.security import ACTOR

        who = request.get(ACTOR)
        self.logger.info("%s %s %s", request.method, scrub(request.path_qs), response.status, extra={
            "method": request.method, "path": scrub(request.path_qs), "status": response.status,
            "ms": round(time * 1000, 1), "actor": who.login if who else "",
            "request_id": response.headers.get("X-Request-ID", "")})


@web.middleware
async def request_id_middleware(request: web.Request, handler):
    """Each request gets an id (the proxy's X-Request-ID when it sends a sane one), carried by every
    log line written while it runs and sent back, so a clerk's error page points at its lines."""
    given = request.headers.get("X-Request-ID", "")
    request_id = given if _GIVEN_ID.match(given) else secrets.token_hex(8)
    token = REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["X-Request-ID"] = request_id
        raise
    finally:
        REQUEST_ID.reset(token)
    response.headers["X-Request-ID"] = request_id
    return response
