"""The joint desk's JSON API (every step of the loop), over the same services as its pages.

Bodies are checked against their schemas in the OpenAPI document (web/openapi.py), so what is
documented is what is accepted: a wrong type, an unknown field or a date not written 2026-11-18
is a 422 with a Chinese message; a refusal of the desk's rules is a 400, a stale version a 409."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import suppress

from aiohttp import web

from services import desk
from web.api import json_object, respond
from web.desk_pages import community_key, span_of, week_of
from web.fields import CONTROL, ID, field, path_id
from web.openapi import OPENAPI
from web.security import actor

routes = web.RouteTableDef()
SCHEMAS = OPENAPI["components"]["schemas"]
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_KEY = {"type": "string", "title": "单位", "maxLength": 64}  # keys of an attendance object


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes)


def _invalid(message: str) -> web.HTTPUnprocessableEntity:
    return web.HTTPUnprocessableEntity(reason="Invalid body", text=message)


def checked(value, schema: dict, name: str):
    """`value` held against the part of JSON Schema the desk's bodies use; dates come back as
    dates. Only JSON integers are numbers (not "12", not 1.0, not true)."""
    what = f"{schema['title']}（{name}）" if "title" in schema else name
    if value is None and schema.get("nullable"):
        return None
    kind = schema["type"]
    if kind == "object":
        if not isinstance(value, dict):
            raise _invalid(f"{what}应为 JSON 对象")
        if "properties" not in schema:  # a map, e.g. {单位: [姓名]}
            if len(value) > schema.get("maxProperties", len(value)):
                raise _invalid(f"{what}最多{schema['maxProperties']}项")
            return {checked(k, _KEY, name): checked(v, schema["additionalProperties"], k) for k, v in value.items()}
        unknown = sorted(value.keys() - schema["properties"].keys())
        if unknown and schema.get("additionalProperties") is False:
            raise _invalid(f"不认识的字段：{'、'.join(unknown)}")
        missing = [k for k in schema.get("required", ()) if k not in value]
        if missing:
            raise _invalid(f"缺少字段：{'、'.join(missing)}")
        return {k: checked(v, schema["properties"][k], k) for k, v in value.items()}
    if kind == "array":
        if not isinstance(value, list):
            raise _invalid(f"{what}应为数组")
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            raise _invalid(f"{what}应有{schema.get('minItems', 0)}到{schema['maxItems']}项")
        return [checked(v, schema["items"], name) for v in value]
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _invalid(f"{what}应为整数")
        if not schema.get("minimum", value) <= value <= schema.get("maximum", value):
            raise _invalid(f"{what}应在{schema['minimum']}到{schema['maximum']}之间")
        return value
    if not isinstance(value, str):
        raise _invalid(f"{what}应为字符串")
    if CONTROL.search(value):
        raise _invalid(f"{what}含有无法保存的控制字符")
    if len(value) > schema["maxLength"]:
        raise _invalid(f"{what}不能超过{schema['maxLength']}字")
    if "enum" in schema and value not in schema["enum"]:
        raise _invalid(f"{what}只能是：{'、'.join(schema['enum'])}")
    if schema.get("format") == "date":
        if _DATE.fullmatch(value):
            with suppress(ValueError):
                return dt.date.fromisoformat(value)
        raise _invalid(f"{what}应为日期，写成 2026-11-18")
    return value


async def body_of(request: web.Request, schema: str) -> dict:
    """The request body checked against the named schema: the fields given, nothing else."""
    return checked(await json_object(request), SCHEMAS[schema], "请求体")


def _community(request: web.Request) -> str | None:
    return community_key(request.query)


# ---------------------------------------------------------------- the loop


@routes.post("/api/v1/desk/demands")
async def intake(request: web.Request) -> web.Response:
    body = await body_of(request, "DeskIntake")
    return respond(await desk.intake(actor(request), body.pop("community", None), **body), status=201)


@routes.get(f"/api/v1/desk/demands/{ID}")
async def demand(request: web.Request) -> web.Response:
    return respond(await desk.demand_detail(actor(request), path_id(request)))


@routes.post("/api/v1/desk/demands/link")
async def link(request: web.Request) -> web.Response:
    body = await body_of(request, "DeskLink")
    return respond(await desk.link(actor(request), body.pop("demand_ids"), **body))


@routes.post(f"/api/v1/desk/demands/{ID}/answer")
async def answer(request: web.Request) -> web.Response:
    body = await body_of(request, "DeskAnswer")
    return respond(await desk.answer(actor(request), path_id(request), body.pop("text"), **body))


@routes.post(f"/api/v1/desk/demands/{ID}/decline")
async def decline(request: web.Request) -> web.Response:
    body = await body_of(request, "DeskDecline")
    return respond(await desk.decline(actor(request), path_id(request), body.pop("reason"), **body))


@routes.post(f"/api/v1/desk/demands/{ID}/feedback")
async def feedback(request: web.Request) -> web.Response:
    body = await body_of(request, "DeskFeedback")
    return respond(await desk.record_feedback(actor(request), path_id(request), body.pop("rating"), **body))


@routes.get(f"/api/v1/desk/problems/{ID}")
async def problem(request: web.Request) -> web.Response:
    return respond(await desk.problem_detail(actor(request), path_id(request)))


@routes.patch(f"/api/v1/desk/problems/{ID}")
async def edit(request: web.Request) -> web.Response:
    body = await body_of(request, "ProblemEdit")
    return respond(await desk.edit_problem(actor(request), path_id(request), **body))


@routes.post(f"/api/v1/desk/problems/{ID}/actions")
async def add_action(request: web.Request) -> web.Response:
    body = await body_of(request, "ActionNew")
    return respond(await desk.add_action(actor(request), path_id(request), **body), status=201)


@routes.post(f"/api/v1/desk/actions/{ID}/complete")
async def complete(request: web.Request) -> web.Response:
    body = await body_of(request, "ActionComplete")
    return respond(await desk.complete_action(actor(request), path_id(request), **body))


# ---------------------------------------------------------------- reading and the week


@routes.get("/api/v1/desk/similar")
async def similar(request: web.Request) -> web.Response:
    q = request.query
    return respond(await desk.similar_problems(actor(request), _community(request), field(q, "category"),
                                               field(q, "text")))


@routes.get("/api/v1/desk/residents")
async def residents(request: web.Request) -> web.Response:
    return respond(await desk.find_residents(actor(request), _community(request), field(request.query, "q")))


@routes.get("/api/v1/desk/board")
async def board(request: web.Request) -> web.Response:
    return respond(await desk.board(actor(request), _community(request), week_of(request.query)))


@routes.get("/api/v1/desk/agenda")
async def agenda(request: web.Request) -> web.Response:
    return respond(await desk.agenda(actor(request), _community(request), week_of(request.query)))


@routes.put("/api/v1/desk/weeks/{week}")
async def save_week(request: web.Request) -> web.Response:
    body = await body_of(request, "DeskWeek")
    week = field(request.match_info, "week")
    return respond(await desk.save_week(actor(request), _community(request), week, **body))


@routes.get("/api/v1/desk/lists")
async def lists(request: web.Request) -> web.Response:
    return respond(await desk.lists(actor(request), _community(request), span_of(request.query)))


@routes.get("/api/v1/desk/summary")
async def summary(request: web.Request) -> web.Response:
    q = request.query
    return respond(await desk.summary(actor(request), township=field(q, "township") or None,
                                      community=_community(request), month=field(q, "month")))
