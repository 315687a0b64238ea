"""Fuzz the JSON API from its own OpenAPI document (schemathesis): a few hundred generated
requests, valid and not, against a real server; none may answer 5xx."""

import asyncio
import threading

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings

from resettle.actor import Actor
from services import accounts
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from web.app import init_app
from web.openapi import OPENAPI

EXAMPLES = 60  # per operation: ~360 requests in all


@pytest.fixture
def live_server(db_url, tmp_path):
    """The app on a real port, in its own thread and event loop, seeded through the services."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(init_app(db_url, secret=b"f" * 32, uploads=tmp_path / "uploads"))

    async def start():
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        admin = Actor("test:setup")
        await import_sheets(admin, [write_csv(tmp_path / "seed.csv", [
            person("A-001", "甲", make_id("19600101", 1)), person("A-001", "乙", make_id("19610101", 2), "配偶")])])
        await accounts.add_user(admin, "fuzz", "模糊测试", "office", "schema-walk-7")  # not containing the login
        return site._server.sockets[0].getsockname()[1], await accounts.issue_token(admin, "fuzz")

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port, token = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    yield f"http://127.0.0.1:{port}", token
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_no_server_errors_from_generated_requests(live_server):
    base_url, token = live_server
    schema = schemathesis.openapi.from_dict(OPENAPI)
    calls = []

    def fuzz(operation):
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
            calls.append(response.status_code)
            assert response.status_code < 500, (operation.label, case.path_parameters, case.query,
                                                case.body, response.text[:300])
        check()

    for result in schema.get_all_operations():
        fuzz(result.ok())
    assert len(calls) >= 100
