"""Logs are JSON lines with a request id, and no full ID number, phone number or password ever
reaches a log line or an error page."""

import io
import json
import logging
import sys
from urllib.parse import quote

import pytest

from resettle.rules import idnumber
from services import registry
from tests.test_web import HEAD_ID, PASSWORD, log_in, make_site
from web import logs

PHONE = "13812345678"  # every seeded member's phone (tests/sheets.py)


@pytest.mark.parametrize("text, hidden", [
    (f"q={HEAD_ID}", HEAD_ID), (f"Key (id_number)=({HEAD_ID}) already exists", HEAD_ID),
    (f"tel {PHONE}.", PHONE), ("login=office&password=s3cret-pass", "s3cret-pass"),
    ('{"password": "s3cret-pass"}', "s3cret-pass"), ("Authorization: Bearer abc.def", "abc.def"),
])
def test_scrub(text, hidden):
    assert hidden not in logs.scrub(text)


# every character the ID normalizer strips between digits, so an ID typed with it is found by search
STRIPPED = [c for c in map(chr, range(sys.maxunicode + 1)) if idnumber.normalize(f"1{c}2") == "12"]


def test_stripped_separators_include_the_unusual_ones():
    assert {"\t", "\n", "\x85", "\u2028", "\u1680", "\u3000"} <= set(STRIPPED)


@pytest.mark.parametrize("separator", STRIPPED, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("encode", [str, quote], ids=["raw", "percent-encoded"])
def test_scrub_masks_an_id_with_any_separator_normalize_strips(separator, encode):
    typed = separator.join((HEAD_ID[:6], HEAD_ID[6:14], HEAD_ID[14:]))
    assert idnumber.normalize(typed) == HEAD_ID  # search finds it: the log must not show it
    for digits in (typed, typed.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})):  # full width
        line = logs.scrub(f"GET /registry/households?q={encode(digits)} 200")
        assert HEAD_ID not in line and HEAD_ID[6:14] not in line, line
        assert HEAD_ID[:6] + "********" + HEAD_ID[14:] in line


def test_scrub_keeps_what_is_not_personal():
    assert logs.scrub("GET /desk?week=2026-W47 200 12.5ms id=123456") == "GET /desk?week=2026-W47 200 12.5ms id=123456"


@pytest.fixture
async def logged(aiohttp_client, db_url, tmp_path):
    """The seeded site, served with the JSON access log, every log line captured."""
    stream = io.StringIO()
    logs.configure(stream=stream)
    client = await make_site(aiohttp_client, db_url, tmp_path, access_log_class=logs.AccessLog,
                             access_log=logging.getLogger("resettle.access"))
    client.stream = stream
    yield client
    logging.getLogger().handlers.clear()


async def test_no_personal_data_in_logs_or_error_pages(logged, monkeypatch):
    await log_in(logged, "office", password="wrong-" + PASSWORD)  # a failed login: the password typed
    await log_in(logged, "office")
    for q in (HEAD_ID, PHONE):  # the query string carries them into the access log, masked
        assert (await logged.get(f"/registry/households?q={q}")).status == 200
    for separator in ("\t", "\u2028", "\u3000"):  # found by search, so masked in the log
        typed = separator.join((HEAD_ID[:6], HEAD_ID[6:14], HEAD_ID[14:]))
        found = await logged.get(f"/registry/households?q={quote(typed)}")
        assert found.status == 200 and "A-001" in await found.text()

    async def broken(*args, **kwargs):
        raise RuntimeError(f"duplicate key (id_number)=({HEAD_ID}), phone {PHONE}")
    monkeypatch.setattr(registry, "show_household", broken)
    response = await logged.get("/registry/households/A-001")
    assert response.status == 500
    error_page = await response.text()
    assert "错误编号" in error_page and response.headers["X-Request-ID"] in error_page
    api = await logged.get(f"/api/v1/households?q={HEAD_ID}",
                           headers={"Authorization": f"Bearer {logged.tokens['office']}"})
    assert api.status == 200
    lines = [json.loads(line) for line in logged.stream.getvalue().splitlines()]
    assert lines and all("at" in line and "level" in line for line in lines)
    text = logged.stream.getvalue()
    for secret in (HEAD_ID, HEAD_ID[6:14], PHONE, PASSWORD, logged.tokens["office"]):
        assert secret not in text
        assert secret not in error_page
    failure = [line for line in lines if line["level"] == "error"]
    assert failure and failure[0]["request_id"] == response.headers["X-Request-ID"]
    assert "RuntimeError" in failure[0]["error"]
    access = [line for line in lines if line["logger"] == "resettle.access"]
    assert {line["status"] for line in access} >= {200, 303, 401, 500}
    assert all(line.get("request_id") for line in access)
    assert any(line["actor"] == "web:office" for line in access)
