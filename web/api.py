"""JSON API under /api/v1: Bearer tokens, the same services, roles and scopes as the pages.
Errors are {"error": {"code", "message"}} with a Chinese message.

Every route parses its query string and body into the contracts its entry in web/openapi.py
names, and answers through its result contract: a body that does not fit is a 422 (a wrong
type, an unknown field, a date not written 2026-11-18); a query value that is not one of the
listed choices a 422 and a malformed one a 400; a refusal of the rules a 400, a stale version
a 409."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter

from resettle.errors import DomainError
from services.contracts import ContractError, Query, parse
from web.openapi import BY_ROUTE, OPENAPI, Operation
from web.security import api_error, is_api

routes = web.RouteTableDef()


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


def _operation(request: web.Request) -> Operation:
    route = request.match_info.route
    return BY_ROUTE[(route.method, route.resource.canonical)]


@cache
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def respond(request: web.Request, data, status: int | None = None) -> web.Response:
    """`data` serialised through the route's result contract."""
    operation = _operation(request)
    adapter = _adapter(operation.result)
    result = adapter.dump_python(adapter.validate_python(data), mode="json")
    return web.json_response(result, status=status or operation.status,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def json_object(request: web.Request) -> dict:
    """The request body as a JSON object, or a 400 in the API's error shape."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # [[[…]]] deeper than the parser goes
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="请求体应为 JSON 对象")
    return body


async def body_of(request: web.Request) -> dict:
    """The fields the body gives, parsed into the route's body contract."""
    try:
        return parse(_operation(request).body, await json_object(request)).given()
    except ContractError as exc:
        raise web.HTTPUnprocessableEntity(reason="Invalid body", text=exc.message) from None


def query_of(request: web.Request) -> Query:
    """The query string parsed into the route's query contract."""
    try:
        return parse(_operation(request).query, dict(request.query))
    except ContractError as exc:
        if exc.choice:
            raise web.HTTPUnprocessableEntity(reason="Invalid parameter", text=exc.message) from None
        raise DomainError(exc.message) from None


@web.middleware
async def query_middleware(request: web.Request, handler):
    """On the API a parameter given is a parameter meant: `?limit=` is refused, not read as
    the default (leave a parameter out to get its default)."""
    if is_api(request):
        empty = sorted({k for k, v in request.query.items() if not v.strip()})
        if empty:
            return api_error(400, "invalid_parameter", f"参数 {'、'.join(empty)} 不能为空（不需要时请不写该参数）")
    return await handler(request)


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return respond(request, OPENAPI)
