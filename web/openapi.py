"""The route table of /api/v1 and the OpenAPI 3.1 document generated from it.

Each operation names its query, body and result contracts (services/*_contracts.py); the
handlers parse and answer through this table (web/api.py `query_of`, `body_of`, `respond`), so
what is documented is what is accepted and answered. A test holds the table against the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from services import desk_contracts as desk
from services import funding_contracts as funding
from services import household_changes_contracts as changes
from services import ledger_contracts as ledger
from services import notify_contracts as notify
from services import registry_contracts as registry
from services import tags_contracts as tags
from services.contracts import Query

REF = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    code: str
    message: str = Field(description="给用户看的一句话（中文）")


class Error(BaseModel):
    error: ErrorBody


class SheetUpload(BaseModel):
    """multipart/form-data：文件与两个是否选项。"""
    sheet: bytes = Field(json_schema_extra={"format": "binary"}, description=".xlsx 或 .csv")
    skip_invalid: bool = Field(False, description="跳过有错误的行，导入其余的")
    dry_run: bool = Field(False, description="只检查，不保存")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    result: Any  # a type the result is serialised through
    query: type[Query] | None = None
    body: type[BaseModel] | None = None
    status: int = 200
    refusals: tuple[int, ...] = (400, 401, 403, 404, 422)
    media: str = "application/json"


_STALE = (400, 401, 403, 404, 409, 422)  # a write that carries the version it read
_PATH = {
    "id": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    "agreement_no": {"type": "string", "description": "协议编号（或户内成员的完整身份证号）"},
    "key": {"type": "string", "description": "身份证号或人员编号"},
    "week": {"type": "string", "pattern": r"^\d{4}-W\d{2}$", "description": "ISO 周，如 2026-W47"},
}
_FUNDING_STEPS = (
    ("submit", funding.Submit, "提交（提交时重新审查资格，不符合条件的不能提交）"),
    ("verify", funding.Amount, "核定：核定部门确定金额（不超过申请金额）"),
    ("approve", funding.Amount,
     "审定：区财政局确定金额（不超过核定金额），按比例分担并计入当年区级资金，超出剩余额度的拒绝"),
    ("return", funding.Reason, "退回乡镇修改（核定前由核定部门，核定后由区财政局）"),
    ("reject", funding.Reason, "不予通过（核定前由核定部门，核定后由区财政局）"),
    ("complete", funding.Completion, "验收：乡镇登记验收日期与实际支出（不超过审定金额）"),
)

OPERATIONS = (
    Operation("GET", "/api/v1/openapi.json", "本文档", dict[str, Any]),
    Operation("GET", "/api/v1/registry/stats", "各乡镇或各安置社区的底数（最后一行为合计）",
              list[registry.StatsRow], query=registry.Stats),
    Operation("GET", "/api/v1/households", "按协议编号、姓名、房号或完整身份证号查询户",
              registry.HouseholdPage, query=registry.Search),
    Operation("GET", "/api/v1/households/{agreement_no}", "一户：成员（证件号遮蔽）与经过", registry.Household),
    Operation("POST", "/api/v1/households/{agreement_no}/events", "登记交房、分房、入住、退出或户籍迁入",
              registry.Recorded, body=registry.Step, status=201, refusals=_STALE),
    Operation("GET", "/api/v1/households/{agreement_no}/changes", "一户的成员变动：历年成员、变动记录与窗口申请",
              changes.History),
    Operation("POST", "/api/v1/households/{agreement_no}/changes",
              "登记出生、死亡、迁入、迁出、户主变更或分户（事项台账与对接单随之变动）", changes.Event,
              body=changes.Change, status=201, refusals=_STALE),
    Operation("POST", "/api/v1/households/{agreement_no}/change-requests",
              "窗口提交出生或死亡的申请（确认前不改动该户）", changes.Request, body=changes.Change, status=201),
    Operation("GET", "/api/v1/change-requests", "所及各户的成员变动申请，最早的在前", changes.RequestList,
              query=changes.Requests),
    Operation("POST", "/api/v1/change-requests/{id}", "乡镇信息员确认（按申请登记）或退回（须写原因）申请",
              changes.Request, body=changes.Decision, refusals=_STALE),
    Operation("POST", "/api/v1/imports", "导入签约交房表（与命令行 --format json 相同的汇总，加上每一处问题）",
              registry.ImportSummary, body=SheetUpload, media="multipart/form-data",
              refusals=(400, 401, 403, 404, 413, 415, 422)),
    Operation("POST", "/api/v1/moves", "批量登记分房、入住与户籍迁入（分房入住表；与命令行 registry moves 相同）",
              registry.MovesSummary, body=SheetUpload, media="multipart/form-data",
              refusals=(400, 401, 403, 404, 413, 415, 422)),
    Operation("GET", "/api/v1/registry/groups",
              "一老一小一残：各乡镇或各安置社区的老年、高龄、未成年、残疾、独居人数（最后一行为合计）",
              list[tags.GroupCounts], query=tags.Groups),
    Operation("GET", "/api/v1/persons/{key}/tags", "一个人的特殊群体标签：基础标签（含历次认定、续期、关闭）与动态标签",
              tags.PersonTags, query=tags.OnDay),
    Operation("POST", "/api/v1/tags/grants", "负责部门认定一条基础标签（有效期默认按复核周期），由它带来的事项随之建立",
              tags.TagGrant, body=tags.Grant, status=201),
    Operation("POST", "/api/v1/tags/grants/{id}/renew", "复核后续期（须带读到的版本号）", tags.TagGrant,
              body=tags.Renew, refusals=_STALE),
    Operation("POST", "/api/v1/tags/grants/{id}/close", "关闭一条基础标签，只由它带来的事项一并关闭（须写原因）",
              tags.TagGrant, body=tags.Close, refusals=_STALE),
    Operation("GET", "/api/v1/tags/review", "负责部门的复核清单：已到期与临近复核的基础标签，到期早的在前",
              tags.ReviewPage, query=tags.Review),
    Operation("POST", "/api/v1/tags/refresh", "按年龄更新动态标签带来的事项（每日运行，可随时再运行）",
              tags.Refreshed, body=tags.Refresh),
    Operation("GET", "/api/v1/notices", "自己的通知（铃铛）：未读数与最近 50 条", notify.Notices),
    Operation("POST", "/api/v1/notices/read", "把自己的通知标为已读（给出编号只标这些）", notify.Marked,
              body=notify.MarkRead),
    Operation("GET", "/api/v1/notify/status", "区集中居住办：各群待发、已发、失败的消息与群机器人状态",
              notify.OutboxStatus),
    Operation("GET", "/api/v1/escalations", "区集中居住办：督办中的事项与各乡镇的督办、办结数", notify.Escalations),
    Operation("POST", "/api/v1/escalations", "督办一件逾期（或等待审核）的对接单、实事或项目，责任方立即收到",
              notify.Escalated, body=notify.Escalate, status=201),
    Operation("GET", "/api/v1/ledger/handoffs", "双向对接单（逾期在前）；乡镇信息员只看本乡镇的",
              ledger.HandoffPage, query=ledger.Handoffs),
    Operation("GET", "/api/v1/ledger/handoffs/{id}",
              "一张对接单：涉及的事项与人员、户、发出人、每一步的经过、重新发出记录", ledger.HandoffDetail),
    Operation("POST", "/api/v1/ledger/handoffs/actions", "接收、退回、办结或撤回多张对接单；每张各自成败",
              ledger.StepResults, body=ledger.Steps),
    Operation("GET", "/api/v1/ledger/persons/{key}", "一个人的事项台账", ledger.PersonLedger),
    Operation("POST", "/api/v1/desk/demands", "受理一条需求；返回需求与同社区、同类别中相似的未结问题（可一键并入）",
              desk.Taken, body=desk.Intake, status=201),
    Operation("GET", "/api/v1/desk/demands/{id}", "一条需求；“事项对接”类附台账事项及其对接单", desk.Demand),
    Operation("POST", "/api/v1/desk/demands/link", "把待处理的需求并入一个问题，或新立问题",
              desk.Problem, body=desk.Link, refusals=_STALE),
    Operation("POST", "/api/v1/desk/demands/{id}/answer", "当场答复", desk.Demand, body=desk.Answer,
              refusals=_STALE),
    Operation("POST", "/api/v1/desk/demands/{id}/decline", "不予受理（附原因）", desk.Demand, body=desk.Decline,
              refusals=_STALE),
    Operation("POST", "/api/v1/desk/demands/{id}/feedback",
              "记录居民对办理结果的评价；够满意则进入幸福清单，不满意则重新办理", desk.Verdict, body=desk.Feedback,
              refusals=_STALE),
    Operation("GET", "/api/v1/desk/problems/{id}", "一个问题：需求及本轮回访、实事、重新办理记录", desk.Problem),
    Operation("PATCH", "/api/v1/desk/problems/{id}", "修改问题标题与说明（只改给出的项，须带读到的版本号）",
              desk.Problem, body=desk.ProblemEdit, refusals=_STALE),
    Operation("POST", "/api/v1/desk/problems/{id}/actions", "例会为问题安排一件实事（责任方、完成期限）",
              desk.Problem, body=desk.ActionNew, status=201, refusals=_STALE),
    Operation("POST", "/api/v1/desk/actions/{id}/complete", "实事办结（附办理结果）", desk.Problem,
              body=desk.ActionComplete, refusals=_STALE),
    Operation("GET", "/api/v1/desk/similar", "与一段诉求相似的未结问题（同社区、同类别）",
              list[desk.SimilarProblem], query=desk.Similar),
    Operation("GET", "/api/v1/desk/residents", "按完整身份证号、姓名或房号查找本社区居民（证件号遮蔽）",
              list[desk.Resident], query=desk.Residents),
    Operation("GET", "/api/v1/desk/board", "一周看板：本周需求、待回访的问题、到期与逾期的实事", desk.Board,
              query=desk.OfWeek),
    Operation("GET", "/api/v1/desk/agenda",
              "例会议程：待商议与重新办理的问题、逾期实事、新需求；含这一周的记录与版本号", desk.Agenda,
              query=desk.OfWeek),
    Operation("PUT", "/api/v1/desk/weeks/{week}", "记录一周：接待与例会的出席、例会日期与决定（须带读到的版本号）",
              desk.WeekRecord, query=desk.InCommunity, body=desk.Week, refusals=_STALE),
    Operation("GET", "/api/v1/desk/lists", "四张清单（需求、问题、实事、幸福）：周、月、年三者取一", desk.Lists,
              query=desk.Span),
    Operation("GET", "/api/v1/desk/summary",
              "一月一汇：乡镇各安置社区（或一个社区）的需求、解决、用时、满意率、逾期与重新办理",
              desk.MonthSummary, query=desk.Summary),
    Operation("GET", "/api/v1/funding/projects",
              "社区治理项目（乡镇信息员看本乡镇的，核定部门看本部门已提交的，区财政局看已提交的）",
              funding.ProjectPage, query=funding.Projects),
    Operation("POST", "/api/v1/funding/projects", "起草一个项目（草稿）；返回项目与资格审查结论", funding.Project,
              body=funding.Draft, status=201),
    Operation("POST", "/api/v1/funding/preview", "正在填写的项目的资格审查结论（不保存）", funding.Qualification,
              body=funding.Draft),
    Operation("GET", "/api/v1/funding/projects/{id}", "一个项目：金额、分担、资格审查、申报依据与经过",
              funding.Project),
    Operation("PATCH", "/api/v1/funding/projects/{id}", "修改草稿或退回的项目（只改给出的项，须带读到的版本号）",
              funding.Project, body=funding.Update, refusals=_STALE),
    *(Operation("POST", f"/api/v1/funding/projects/{{id}}/{step}", summary, funding.Project, body=body,
                refusals=_STALE) for step, body, summary in _FUNDING_STEPS),
    Operation("GET", "/api/v1/funding/queue",
              "待办：核定部门的待核定项目，区财政局的待审定项目（附申报依据、试算的分担与当年区级资金）",
              funding.ReviewQueue, query=funding.Queue),
    Operation("GET", "/api/v1/funding/summary",
              "年度资金汇总：分乡镇、分类别的审定金额与区级、乡镇承担，当年区级资金总额、已承诺与剩余",
              funding.YearSummary, query=funding.OfYear),
    Operation("GET", "/api/v1/funding/envelope", "当年区级资金：总额、已承诺（已审定项目的区级承担之和）与剩余",
              funding.Envelope, query=funding.OfYear),
)
BY_ROUTE = {(op.method, op.path): op for op in OPERATIONS}


class _Schema(GenerateJsonSchema):
    """A default of None on a field that is not nullable means "leave it out", not a value to send."""

    def default_schema(self, schema):
        if schema.get("default") is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def _schema(kind: Any, components: dict, mode: str) -> dict:
    """`kind`'s JSON Schema, a model by reference; the models it names go into `components`
    (one name, one schema: two contracts of one name would be an error here, not a wrong document)."""
    found = TypeAdapter(kind).json_schema(ref_template=REF, schema_generator=_Schema, mode=mode)
    named = found.pop("$defs", {})
    model = isinstance(kind, type) and issubclass(kind, BaseModel)
    if model:
        named[kind.__name__] = found
    for name, schema in named.items():
        if components.setdefault(name, schema) != schema:
            raise ValueError(f"two contracts are both named {name}")
    return {"$ref": REF.format(model=kind.__name__)} if model else found


def _parameters(op: Operation) -> list[dict]:
    found = [{"name": name, "in": "path", "required": True, "schema": schema}
             for name, schema in _PATH.items() if f"{{{name}}}" in op.path]
    if op.query:
        schema = TypeAdapter(op.query).json_schema(schema_generator=_Schema)
        for name, prop in schema["properties"].items():
            prop.pop("title", None)
            described = {"description": prop.pop("description")} if "description" in prop else {}
            found.append({"name": name, "in": "query", "required": name in schema.get("required", ()),
                          "schema": prop, **described})
    return found


def _operation(op: Operation, components: dict) -> dict:
    error = {"description": "错误", "content": {"application/json": {"schema": _schema(Error, components,
                                                                                       "serialization")}}}
    found = {"summary": op.summary, "responses": {
        str(op.status): {"description": "成功", "content": {"application/json": {
            "schema": _schema(op.result, components, "serialization")}}},
        **{str(status): error for status in op.refusals}}}
    parameters = _parameters(op)
    if parameters:
        found["parameters"] = parameters
    if op.body:
        found["requestBody"] = {"required": True, "content": {op.media: {
            "schema": _schema(op.body, components, "validation")}}}
    return found


def document(operations: tuple[Operation, ...] = OPERATIONS) -> dict:
    components: dict = {}
    paths: dict = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "resettle 集中居住社区治理工作台 API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "由 `resettle users token LOGIN` 发放"}},
            "schemas": dict(sorted(components.items()))},
        "paths": paths,
    }


OPENAPI = document()
