"""Logs are JSON lines with a request id, and no full ID number, phone number or password ever
reaches a log line or an error page."""

import io
import json
import logging

import pytest

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
    for secret in (HEAD_ID, PHONE, PASSWORD, logged.tokens["office"]):
        assert secret not in text
        assert secret not in error_page
    failure = [line for line in lines if line["level"] == "error"]
    assert failure and failure[0]["request_id"] == response.headers["X-Request-ID"]
    assert "RuntimeError" in failure[0]["error"]
    access = [line for line in lines if line["logger"] == "resettle.access"]
    assert {line["status"] for line in access} >= {200, 303, 401, 500}
    assert all(line.get("request_id") for line in access)
    assert any(line["actor"] == "web:office" for line in access)
