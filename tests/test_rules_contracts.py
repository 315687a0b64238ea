"""The use-case contracts and the generated OpenAPI document, without a database: what each
contract takes and the one Chinese sentence it refuses with."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import desk_contracts, funding_contracts, ledger_contracts, registry_contracts
from services.contracts import MAX_ID, ContractError, parse
from web.openapi import OPENAPI, OPERATIONS

INTAKE = {"channel": "统一接待", "category": "物业维修", "text": "x"}
DRAFT = {"community": "陈家新苑", "kind": "operation", "title": "x", "year": 2026, "requested": 1}


@pytest.mark.parametrize("contract, data, message", [
    (desk_contracts.Intake, {**INTAKE, "entitlement_id": "12"}, "事项台账编号（entitlement_id）应为整数"),
    (desk_contracts.Intake, {**INTAKE, "entitlement_id": 1.5}, "事项台账编号（entitlement_id）应为整数"),
    (desk_contracts.Intake, {**INTAKE, "entitlement_id": True}, "事项台账编号（entitlement_id）应为整数"),
    (desk_contracts.Intake, {**INTAKE, "entitlement_id": 0}, f"事项台账编号（entitlement_id）应在1到{MAX_ID}之间"),
    (desk_contracts.Intake, {**INTAKE, "received_on": "2026/11/18"},
     "受理日期（received_on）应为日期，写成 2026-11-18"),
    (desk_contracts.Intake, {**INTAKE, "received_on": "2026-02-30"}, "应为日期"),
    (desk_contracts.Intake, {**INTAKE, "received_on": 20261118}, "应为日期"),
    (desk_contracts.Intake, {**INTAKE, "text": "a\x00b"}, "诉求内容（text）含有无法保存的控制字符"),
    (desk_contracts.Intake, {**INTAKE, "text": "长" * 2001}, "诉求内容（text）不能超过2000字"),
    (desk_contracts.Intake, {**INTAKE, "text": 5}, "诉求内容（text）应为字符串"),
    (desk_contracts.Intake, {**INTAKE, "community": None}, "安置社区（community）应为字符串"),
    (desk_contracts.Intake, {**INTAKE, "colour": "red", "size": 1}, "不认识的字段：colour、size"),
    (desk_contracts.Intake, {"text": "x"}, "缺少字段：channel、category"),
    (desk_contracts.Intake, {**INTAKE, "channel": "走街串巷"}, "受理渠道（channel）只能是：reception、"),
    (desk_contracts.Link, {"demand_ids": []}, "需求编号（demand_ids）应有1到200项"),
    (desk_contracts.Link, {"demand_ids": "1"}, "需求编号（demand_ids）应为数组"),
    (desk_contracts.Week, {"version": 0, "reception": ["张主任"]}, "接待出席（reception）应为 JSON 对象"),
    (desk_contracts.Week, {"version": 0, "reception": {f"单位{i}": [] for i in range(21)}}, "最多20项"),
    (funding_contracts.Draft, {**DRAFT, "requested": -1}, "申请金额（requested）应在0到"),
    (funding_contracts.Draft, {**DRAFT, "year": 99999}, "项目年度（year）应在2000到2100之间"),
    (funding_contracts.Draft, {**DRAFT, "deliberation": "开过会"}, "议事记录（deliberation）应为 JSON 对象"),
    (funding_contracts.Draft, {**DRAFT, "deliberation": {"body": "会", "held_on": "2026-01-01", "attendance": 3,
                                                         "votes_for": "2", "votes_against": 0}},
     "赞成票数（votes_for）应为整数"),
    (funding_contracts.Update, {"title": "x"}, "缺少字段：version"),
    (ledger_contracts.Steps, {"ids": [1, -2], "action": "accept"}, "对接单编号（ids）应在1到"),
    (ledger_contracts.Steps, {"ids": [1], "action": "delete"}, "操作（action）只能是：accept、reject、complete"),
    (registry_contracts.Step, {"event": "handed_over", "version": True}, "version应为字符串或整数"),
    (registry_contracts.Step, {"event": ["handed_over"]}, "event应为字符串或整数"),
])
def test_a_body_that_does_not_fit_is_refused_in_one_sentence(contract, data, message):
    with pytest.raises(ContractError) as refused:
        parse(contract, data)
    assert message in refused.value.message


@pytest.mark.parametrize("contract, query, message, choice", [
    (registry_contracts.Search, {"limit": "0"}, "参数 limit 应在1到200之间", False),
    (registry_contracts.Search, {"limit": "²"}, "参数 limit 应为整数", False),
    (registry_contracts.Search, {"q": "a\x00"}, "参数 q 含有无法保存的控制字符", False),
    (registry_contracts.Search, {"page": "2"}, "不认识的参数：page", False),
    (registry_contracts.Stats, {"by": "village"}, "参数 by 只能是 township 或 community", True),
    (ledger_contracts.Handoffs, {"direction": "up"}, "参数 direction 只能是 incoming、outgoing 或 both", True),
    (ledger_contracts.Handoffs, {"overdue": "maybe"}, "参数 overdue 只能是 true 或 false", False),
    (funding_contracts.Projects, {"status": "nope"}, "参数 status 只能是", False),
    (funding_contracts.OfYear, {"year": "x"}, "参数 year 应为整数", False),
])
def test_a_query_that_does_not_fit_is_refused(contract, query, message, choice):
    """A value outside the listed choices is answered 422, a malformed one 400 (web/api.py)."""
    with pytest.raises(ContractError) as refused:
        parse(contract, query)
    assert message in refused.value.message and refused.value.choice is choice


def test_a_body_gives_only_the_fields_it_names_with_dates_as_dates():
    given_ = parse(desk_contracts.Intake, {**INTAKE, "received_on": "2026-11-18", "entitlement_id": None}).given()
    assert given_ == {**INTAKE, "received_on": dt.date(2026, 11, 18), "entitlement_id": None}
    assert parse(funding_contracts.Update, {"version": 3, "deliberation": None}).given() == {
        "version": 3, "deliberation": None}
    assert parse(registry_contracts.Step, {"event": "handed_over", "version": 3}).given() == {
        "event": "handed_over", "version": "3"}


def test_query_defaults_and_words():
    q = parse(ledger_contracts.Handoffs, {"overdue": "yes", "limit": " 20 "})
    assert (q.direction, q.overdue, q.all, q.limit, q.offset) == ("both", True, False, 20, 0)


@given(st.integers(0, MAX_ID))
def test_every_version_in_range_is_taken_as_an_integer_or_its_float(version):
    for written in (version, float(version)) if version < 2**53 else (version,):
        assert parse(desk_contracts.Answer, {"text": "好", "version": written}).version == version


@given(st.one_of(st.text(), st.booleans(), st.floats().filter(lambda f: not f.is_integer()), st.none()))
def test_nothing_but_an_integer_is_a_version(written):
    with pytest.raises(ContractError, match="版本号"):
        parse(desk_contracts.Answer, {"text": "好", "version": written})


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_document_is_whole():
    schemas = OPENAPI["components"]["schemas"]
    assert {ref.rsplit("/", 1)[1] for ref in _refs(OPENAPI)} <= schemas.keys()
    assert len({(op.method, op.path) for op in OPERATIONS}) == len(OPERATIONS)
    for op in OPERATIONS:
        operation = OPENAPI["paths"][op.path][op.method.lower()]
        assert str(op.status) in operation["responses"] and "400" in operation["responses"], op.path
        if op.body and op.media == "application/json":
            body = schemas[operation["requestBody"]["content"][op.media]["schema"]["$ref"].rsplit("/", 1)[1]]
            assert body["additionalProperties"] is False, op.path
    # no result is a bare object any more: each names its fields
    results = [OPENAPI["paths"][op.path][op.method.lower()]["responses"][str(op.status)]["content"]
               ["application/json"]["schema"] for op in OPERATIONS if op.path != "/api/v1/openapi.json"]
    for schema in results:
        named = schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema.get("items", {})
        if "$ref" in named:
            named = schemas[named["$ref"].rsplit("/", 1)[1]]
        assert named.get("properties"), schema
