"""The OpenAPI 3 document of /api/v1 (a test holds it against the routes)."""

from __future__ import annotations

from resettle.rules.desk import CHANNEL_LABELS, RATING_LABELS
from resettle.rules.funding import Kind, ProjectStatus
from services.desk import TEXT_MAX
from services.funding import MAX_FEN

_ERROR = {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ERRORS = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR, "422": _ERROR}
_AGREEMENT = {"name": "agreement_no", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "协议编号（或户内成员的完整身份证号）"}


def _ok(schema: dict, status: str = "200", *, conflict: bool = False) -> dict:
    errors = {**_ERRORS, "409": _ERROR} if conflict else _ERRORS
    return {status: {"description": "成功", "content": {"application/json": {"schema": schema}}}, **errors}


# The desk's request bodies: web/desk_api.py validates against these very schemas, so the
# document and the checks cannot drift apart. `title` names a field in the Chinese messages.
def _text(title: str, limit: int = TEXT_MAX, **extra) -> dict:
    return {"type": "string", "title": title, "maxLength": limit, **extra}


def _id(title: str, **extra) -> dict:
    return {"type": "integer", "title": title, "minimum": 1, "maximum": 2**31 - 1, **extra}


def _date(title: str, **extra) -> dict:
    return {"type": "string", "format": "date", "title": title, "maxLength": 10, **extra}


def _body(schema: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _query(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string", **schema}}


_VERSION = {"type": "integer", "title": "版本号", "minimum": 0, "maximum": 2**31 - 1,
            "description": "读到的版本号；他人已先保存则拒绝（409）"}
_NAMES = {"type": "object", "title": "出席名单", "maxProperties": 20, "description": "{单位: [姓名, …]}",
          "additionalProperties": {"type": "array", "maxItems": 50, "items": _text("姓名", 64)}}
_COMMUNITY = _query("community", "安置社区名称、乡镇/名称或编号；窗口人员可省略（只能是本社区）")
_WEEK = _query("week", "ISO 周，如 2026-W47；默认本周", pattern=r"^\d{4}-W\d{2}$")
_MONTH = _query("month", "月份，如 2026-11", pattern=r"^\d{4}-\d{2}$")
_YEAR = _query("year", "年份，如 2026", pattern=r"^\d{4}$")
_DESK_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_DEMAND = {"$ref": "#/components/schemas/Demand"}
_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_ROWS = {"type": "array", "items": {"type": "object"}}


# Governance projects: amounts are integer fen (12345 = 123.45元) both ways.
def _fen(title: str, **extra) -> dict:
    return {"type": "integer", "title": title, "minimum": 0, "maximum": MAX_FEN, "description": "单位：分", **extra}


def _count(title: str) -> dict:
    return {"type": "integer", "title": title, "minimum": 0, "maximum": 100_000}


_PROJECT_FIELDS = {
    "community": _text("安置社区", 200, description="安置社区名称、乡镇/名称或编号；乡镇信息员只能是本乡镇的"),
    "kind": _text("项目类别", 16, enum=[k.value for k in Kind],
                  description="construction 一次性建设类、operation 日常运营管理类、case_by_case 一事一议"),
    "item": _text("目录项目编号", 16, description="政策文件项目目录中的编号，如 YY01；一事一议不填"),
    "title": _text("项目名称", 200), "year": {"type": "integer", "title": "项目年度", "minimum": 2000, "maximum": 2100},
    "requested": _fen("申请金额"), "description": _text("项目说明", 5000),
    "area_m2": {"type": "integer", "title": "建筑面积", "minimum": 1, "maximum": 10**7 - 1, "nullable": True,
                "description": "平方米；按面积设上限的目录项目须填"},
    "department": _text("核定部门", 64, description="一事一议的核定部门（政策文件项目目录中的部门）"),
    "deliberation": {"type": "object", "title": "议事记录", "nullable": True, "additionalProperties": False,
                     "description": "一事一议的议事记录：赞成票须超过到会人数的一半",
                     "required": ["body", "held_on", "attendance", "votes_for", "votes_against"], "properties": {
                         "body": _text("议事机构", 64), "held_on": _date("议事日期"), "attendance": _count("到会人数"),
                         "votes_for": _count("赞成票数"), "votes_against": _count("反对票数")}},
    "problems": {"type": "array", "title": "三合署问题编号", "maxItems": 100, "items": _id("问题编号"),
                 "description": "作为申报依据的本社区三合署问题（修改时为追加）"}}
_FUNDING_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_PROJECT = {"$ref": "#/components/schemas/FundingProject"}
_FUNDING_YEAR = _query("year", "项目年度，如 2026", pattern=r"^\d{4}$")
_PAGING = ({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
           {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}})
_ENVELOPE = {"type": "object", "required": ["year", "envelope", "committed", "remaining"],
             "properties": {k: {"type": "integer"} for k in ("year", "envelope", "committed", "remaining")}}


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "resettle 集中居住社区治理工作台 API", "version": "1"},
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "由 `resettle users token LOGIN` 发放"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Household": {"type": "object", "required": ["agreement_no", "status", "members", "events"],
                          "properties": {
                              "agreement_no": {"type": "string"}, "status": {"type": "string"},
                              "status_label": {"type": "string"}, "origin_township": {"type": "string"},
                              "village": {"type": "string"}, "group": {"type": "string"},
                              "dest_township": {"type": "string"}, "community": {"type": "string"},
                              "unit": {"type": "string"}, "version": {"type": "integer"},
                              "members": {"type": "array", "items": {"type": "object"}},
                              "events": {"type": "array", "items": {"type": "object"}}}},
            "Event": {"type": "object", "required": ["event"], "properties": {
                "event": {"type": "string", "enum": ["handed_over", "allocated", "moved_in", "withdrawn",
                                                     "hukou_moved"]},
                "on": {"type": "string", "format": "date", "description": "默认今天"},
                "unit": {"type": "string"}, "reason": {"type": "string", "description": "退出原因"},
                "person": {"type": "string", "description": "户籍迁入成员的身份证号"},
                "version": {"type": "integer", "description": "看到的版本号；他人已修改则拒绝"}}},
            "ImportSummary": {"type": "object", "required": [
                "outcome", "households_added", "households_updated", "households_unchanged",
                "persons_added", "persons_updated", "persons_unchanged", "error_rows", "warnings",
                "new_communities", "issues"], "properties": {
                "outcome": {"type": "string", "enum": ["imported", "partial", "rejected", "unchanged", "preview"]},
                **{k: {"type": "integer"} for k in (
                    "households_added", "households_updated", "households_unchanged", "persons_added",
                    "persons_updated", "persons_unchanged", "error_rows", "warnings", "warning_rows",
                    "rows_read")},
                "new_communities": {"type": "array", "items": {"type": "string"}},
                "issues": {"type": "array", "items": {"type": "object", "properties": {
                    "row": {"type": "integer"}, "agreement_no": {"type": "string"}, "column": {"type": "string"},
                    "value": {"type": "string"}, "level": {"type": "string"}, "message": {"type": "string"},
                    "count": {"type": "integer", "description": "此条问题涉及的行数（重复的警告只报一条）"}}}}}},
            "Demand": {"type": "object", "required": ["id", "status", "category", "channel", "problem", "text"],
                       "properties": {"id": {"type": "integer"}, "status": {"type": "string"},
                                      "category": {"type": "string"}, "channel": {"type": "string"},
                                      "problem": {"type": "integer", "nullable": True},
                                      "text": {"type": "string"}, "version": {"type": "integer"}}},
            "Problem": {"type": "object", "required": ["id", "status", "title", "demands", "households", "actions",
                                                       "satisfaction", "version"],
                        "properties": {"id": {"type": "integer"}, "status": {"type": "string"},
                                       "title": {"type": "string"}, "demands": {"type": "integer"},
                                       "households": {"type": "integer"}, "actions": {"type": "integer"},
                                       "satisfaction": {"type": "number", "nullable": True},
                                       "version": {"type": "integer"},
                                       "demand_items": _ROWS, "action_items": _ROWS, "reopenings": _ROWS}},
            "DeskIntake": {"type": "object", "additionalProperties": False,
                           "required": ["channel", "category", "text"], "properties": {
                "community": _text("安置社区", 200),
                "channel": _text("受理渠道", 16, enum=[*(c.value for c in CHANNEL_LABELS), *CHANNEL_LABELS.values()]),
                "category": _text("需求类别", 64), "text": _text("诉求内容"),
                "resident": _text("居民", 64, description="登记居民的人员编号或完整身份证号"),
                "name": _text("来访人姓名", 64, description="非本社区登记居民时必填"),
                "contact": _text("联系电话", 64, description="非本社区登记居民时必填"),
                "unit": _text("房号", 64),
                "entitlement_id": _id("事项台账编号", nullable=True, description="“事项对接”类需求关联的台账事项"),
                "received_on": _date("受理日期", nullable=True, description="默认今天")}},
            "DeskLink": {"type": "object", "additionalProperties": False, "required": ["demand_ids"], "properties": {
                "demand_ids": {"type": "array", "title": "需求编号", "minItems": 1, "maxItems": 200,
                               "items": _id("需求编号")},
                "problem_id": _id("问题编号", nullable=True, description="并入已有问题；省略则新立问题"),
                "title": _text("问题标题", 200, description="新立问题的标题；默认取第一条需求的内容"),
                "description": _text("问题说明"), "on": _date("日期", nullable=True)}},
            "DeskAnswer": {"type": "object", "additionalProperties": False, "required": ["text"], "properties": {
                "text": _text("答复内容"), "version": _VERSION}},
            "DeskDecline": {"type": "object", "additionalProperties": False, "required": ["reason"], "properties": {
                "reason": _text("不予受理的原因"), "version": _VERSION}},
            "DeskFeedback": {"type": "object", "additionalProperties": False, "required": ["rating"], "properties": {
                "rating": _text("满意度", 16, enum=[*(r.value for r in RATING_LABELS), *RATING_LABELS.values()]),
                "remark": _text("回访备注", 500, description="不满意时必填原因"),
                "on": _date("回访日期", nullable=True)}},
            "ProblemEdit": {"type": "object", "additionalProperties": False, "required": ["version"],
                            "properties": {"title": _text("问题标题", 200), "description": _text("问题说明"),
                                           "version": _VERSION}},
            "ActionNew": {"type": "object", "additionalProperties": False, "required": ["owner", "text", "due"],
                          "properties": {"owner": _text("责任方", 64, description="三驾马车之一或政策文件中的部门"),
                                         "text": _text("实事内容", 500), "due": _date("完成期限"),
                                         "decided_on": _date("议定日期", nullable=True), "version": _VERSION}},
            "ActionComplete": {"type": "object", "additionalProperties": False, "required": ["result"],
                               "properties": {"result": _text("办理结果"), "on": _date("完成日期", nullable=True),
                                              "version": _VERSION}},
            "FundingProject": {
                "type": "object", "required": ["id", "township", "community", "kind", "status", "requested", "verified",
                                               "approved", "district_share", "township_share", "ratio", "version"],
                "properties": {"id": {"type": "integer"}, "township": {"type": "string"},
                               "community": {"type": "string"},
                               "kind": {"type": "string", "enum": [k.value for k in Kind]},
                               "status": {"type": "string", "enum": [s.value for s in ProjectStatus]},
                               **{k: {"type": "integer", "nullable": True, "description": "单位：分"} for k in (
                                   "requested", "verified", "approved", "district_share", "township_share", "spent")},
                               "ratio": {"type": "number", "nullable": True, "description": "审定时确定的区级比例"},
                               "version": {"type": "integer"},
                               "qualification": {"type": "object", "description": "qualifies、reasons 与每项 checks"},
                               "evidence": {"type": "object"}, "history": _ROWS}},
            "FundingDraft": {"type": "object", "additionalProperties": False, "properties": _PROJECT_FIELDS,
                             "required": ["community", "kind", "title", "year", "requested"]},
            "FundingUpdate": {"type": "object", "additionalProperties": False, "required": ["version"],
                              "properties": {**_PROJECT_FIELDS, "version": _VERSION}},
            "FundingSubmit": {"type": "object", "additionalProperties": False, "properties": {"version": _VERSION}},
            "FundingAmount": {"type": "object", "additionalProperties": False, "required": ["amount"], "properties": {
                "amount": _fen("金额", description="核定金额不超过申请金额，审定金额不超过核定金额；单位：分"),
                "version": _VERSION}},
            "FundingReason": {"type": "object", "additionalProperties": False, "required": ["reason"], "properties": {
                "reason": _text("原因", 500), "version": _VERSION}},
            "FundingComplete": {"type": "object", "additionalProperties": False, "required": ["spent"], "properties": {
                "spent": _fen("实际支出", description="不超过审定金额；单位：分"),
                "on": _date("验收日期", nullable=True, description="默认今天"), "version": _VERSION}},
            "DeskWeek": {"type": "object", "additionalProperties": False, "required": ["version"], "properties": {
                "reception": {**_NAMES, "title": "接待出席"}, "meeting_on": _date("例会日期", nullable=True),
                "meeting": {**_NAMES, "title": "例会出席"}, "decisions": _text("例会决定"),
                "version": {**_VERSION, "description": "读到的版本号，尚无记录时为 0；他人已先保存则拒绝（409）"}}},
        },
    },
    "paths": {
        "/api/v1/openapi.json": {"get": {"summary": "本文档", "responses": _ok({"type": "object"})}},
        "/api/v1/registry/stats": {"get": {
            "summary": "各乡镇或各安置社区的底数（最后一行为合计）",
            "parameters": [{"name": "by", "in": "query", "schema": {"type": "string",
                                                                    "enum": ["township", "community"]}}],
            "responses": _ok({"type": "array", "items": {"type": "object"}})}},
        "/api/v1/households": {"get": {
            "summary": "按协议编号、姓名、房号或完整身份证号查询户",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}}, *_PAGING],
            "responses": _ok({"type": "object", "required": ["total", "items"], "properties": {
                "total": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}})}},
        "/api/v1/households/{agreement_no}": {"get": {
            "summary": "一户：成员（证件号遮蔽）与经过", "parameters": [_AGREEMENT],
            "responses": _ok({"$ref": "#/components/schemas/Household"})}},
        "/api/v1/households/{agreement_no}/events": {"post": {
            "summary": "登记交房、分房、入住、退出或户籍迁入", "parameters": [_AGREEMENT],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Event"}}}},
            "responses": _ok({"type": "object"}, "201", conflict=True)}},
        "/api/v1/ledger/handoffs": {"get": {
            "summary": "双向对接单（逾期在前）；乡镇信息员只看本乡镇的",
            "parameters": [
                {"name": "township", "in": "query", "schema": {"type": "string"}},
                {"name": "direction", "in": "query", "schema": {"type": "string",
                                                                "enum": ["incoming", "outgoing", "both"]}},
                {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                {"name": "all", "in": "query", "schema": {"type": "boolean"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": _ok({"type": "object", "required": ["total", "items"], "properties": {
                "total": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object", "required": [
                    "id", "kind", "status", "from_township", "to_township", "household", "due", "overdue"]}}}})}},
        "/api/v1/ledger/handoffs/actions": {"post": {
            "summary": "接收、退回、办结或撤回多张对接单；每张各自成败",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["ids", "action"], "properties": {
                    "ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
                    "action": {"type": "string", "enum": ["accept", "reject", "complete", "revoke"]},
                    "reason": {"type": "string"}}}}}},
            "responses": _ok({"type": "object"})}},
        "/api/v1/ledger/persons/{key}": {"get": {
            "summary": "一个人的事项台账", "parameters": [
                {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
                 "description": "身份证号或人员编号"}],
            "responses": _ok({"type": "object"})}},
        "/api/v1/imports": {"post": {
            "summary": "导入签约交房表（与命令行 --format json 相同的汇总，加上每一处问题）",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["sheet"], "properties": {
                    "sheet": {"type": "string", "format": "binary"},
                    "skip_invalid": {"type": "boolean"}, "dry_run": {"type": "boolean"}}}}}},
            "responses": _ok({"$ref": "#/components/schemas/ImportSummary"})}},
        "/api/v1/desk/demands": {"post": {
            "summary": "受理一条需求；返回需求与同社区、同类别中相似的未结问题（可一键并入）",
            "requestBody": _body("DeskIntake"),
            "responses": _ok({"allOf": [_DEMAND, {"type": "object", "required": ["similar"],
                                                  "properties": {"similar": _ROWS}}]}, "201")}},
        "/api/v1/desk/demands/{id}": {"get": {
            "summary": "一条需求；“事项对接”类附台账事项及其对接单", "parameters": [_DESK_ID],
            "responses": _ok(_DEMAND)}},
        "/api/v1/desk/demands/link": {"post": {
            "summary": "把待处理的需求并入一个问题，或新立问题", "requestBody": _body("DeskLink"),
            "responses": _ok(_PROBLEM, conflict=True)}},
        "/api/v1/desk/demands/{id}/answer": {"post": {
            "summary": "当场答复", "parameters": [_DESK_ID], "requestBody": _body("DeskAnswer"),
            "responses": _ok(_DEMAND, conflict=True)}},
        "/api/v1/desk/demands/{id}/decline": {"post": {
            "summary": "不予受理（附原因）", "parameters": [_DESK_ID], "requestBody": _body("DeskDecline"),
            "responses": _ok(_DEMAND, conflict=True)}},
        "/api/v1/desk/demands/{id}/feedback": {"post": {
            "summary": "记录居民对办理结果的评价；够满意则进入幸福清单，不满意则重新办理",
            "parameters": [_DESK_ID], "requestBody": _body("DeskFeedback"),
            "responses": _ok({"type": "object", "required": ["outcome", "status", "waiting"]}, conflict=True)}},
        "/api/v1/desk/problems/{id}": {
            "get": {"summary": "一个问题：需求及本轮回访、实事、重新办理记录", "parameters": [_DESK_ID],
                    "responses": _ok(_PROBLEM)},
            "patch": {"summary": "修改问题标题与说明（只改给出的项，须带读到的版本号）", "parameters": [_DESK_ID],
                      "requestBody": _body("ProblemEdit"), "responses": _ok(_PROBLEM, conflict=True)}},
        "/api/v1/desk/problems/{id}/actions": {"post": {
            "summary": "例会为问题安排一件实事（责任方、完成期限）", "parameters": [_DESK_ID],
            "requestBody": _body("ActionNew"), "responses": _ok(_PROBLEM, "201", conflict=True)}},
        "/api/v1/desk/actions/{id}/complete": {"post": {
            "summary": "实事办结（附办理结果）", "parameters": [_DESK_ID], "requestBody": _body("ActionComplete"),
            "responses": _ok(_PROBLEM, conflict=True)}},
        "/api/v1/desk/similar": {"get": {
            "summary": "与一段诉求相似的未结问题（同社区、同类别）",
            "parameters": [_COMMUNITY, _query("category", "需求类别"), _query("text", "诉求内容")],
            "responses": _ok(_ROWS)}},
        "/api/v1/desk/residents": {"get": {
            "summary": "按完整身份证号、姓名或房号查找本社区居民（证件号遮蔽）",
            "parameters": [_COMMUNITY, _query("q", "身份证号、姓名或房号")], "responses": _ok(_ROWS)}},
        "/api/v1/desk/board": {"get": {
            "summary": "一周看板：本周需求、待回访的问题、到期与逾期的实事", "parameters": [_COMMUNITY, _WEEK],
            "responses": _ok({"type": "object", "required": ["week", "demands", "counts", "awaiting_feedback",
                                                             "actions_due"]})}},
        "/api/v1/desk/agenda": {"get": {
            "summary": "例会议程：待商议与重新办理的问题、逾期实事、新需求；含这一周的记录与版本号",
            "parameters": [_COMMUNITY, _WEEK],
            "responses": _ok({"type": "object", "required": ["week", "version", "problems", "reopened",
                                                             "overdue_actions", "new_demands"]})}},
        "/api/v1/desk/weeks/{week}": {"put": {
            "summary": "记录一周：接待与例会的出席、例会日期与决定（须带读到的版本号）",
            "parameters": [{"name": "week", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": r"^\d{4}-W\d{2}$"}}, _COMMUNITY],
            "requestBody": _body("DeskWeek"), "responses": _ok({"type": "object"}, conflict=True)}},
        "/api/v1/desk/lists": {"get": {
            "summary": "四张清单（需求、问题、实事、幸福）：周、月、年三者取一",
            "parameters": [_COMMUNITY, _WEEK, _MONTH, _YEAR],
            "responses": _ok({"type": "object", "required": ["period", "demands", "problems", "actions", "happy"]})}},
        "/api/v1/desk/summary": {"get": {
            "summary": "一月一汇：乡镇各安置社区（或一个社区）的需求、解决、用时、满意率、逾期与重新办理",
            "parameters": [_query("township", "乡镇名称；省略则为本人范围"), _COMMUNITY, _MONTH],
            "responses": _ok({"type": "object", "required": ["month", "rows", "total"]})}},
        "/api/v1/funding/projects": {
            "get": {"summary": "社区治理项目（乡镇信息员看本乡镇的，核定部门看本部门已提交的，区财政局看已提交的）",
                    "parameters": [_FUNDING_YEAR,
                                   _query("status", "只看这一状态", enum=[s.value for s in ProjectStatus]),
                                   _query("township", "只看这个乡镇"), *_PAGING],
                    "responses": _ok({"type": "object", "required": ["total", "items"], "properties": {
                        "total": {"type": "integer"}, "items": {"type": "array", "items": _PROJECT}}})},
            "post": {"summary": "起草一个项目（草稿）；返回项目与资格审查结论", "requestBody": _body("FundingDraft"),
                     "responses": _ok(_PROJECT, "201")}},
        "/api/v1/funding/preview": {"post": {
            "summary": "正在填写的项目的资格审查结论（不保存）", "requestBody": _body("FundingDraft"),
            "responses": _ok({"type": "object", "required": ["qualifies", "reasons", "checks"]})}},
        "/api/v1/funding/projects/{id}": {
            "get": {"summary": "一个项目：金额、分担、资格审查、申报依据与经过", "parameters": [_FUNDING_ID],
                    "responses": _ok(_PROJECT)},
            "patch": {"summary": "修改草稿或退回的项目（只改给出的项，须带读到的版本号）", "parameters": [_FUNDING_ID],
                      "requestBody": _body("FundingUpdate"), "responses": _ok(_PROJECT, conflict=True)}},
        **{f"/api/v1/funding/projects/{{id}}/{step}": {"post": {
            "summary": summary, "parameters": [_FUNDING_ID], "requestBody": _body(schema),
            "responses": _ok(_PROJECT, conflict=True)}} for step, schema, summary in (
            ("submit", "FundingSubmit", "提交（提交时重新审查资格，不符合条件的不能提交）"),
            ("verify", "FundingAmount", "核定：核定部门确定金额（不超过申请金额）"),
            ("approve", "FundingAmount",
             "审定：区财政局确定金额（不超过核定金额），按比例分担并计入当年区级资金，超出剩余额度的拒绝"),
            ("return", "FundingReason", "退回乡镇修改（核定前由核定部门，核定后由区财政局）"),
            ("reject", "FundingReason", "不予通过（核定前由核定部门，核定后由区财政局）"),
            ("complete", "FundingComplete", "验收：乡镇登记验收日期与实际支出（不超过审定金额）"))},
        "/api/v1/funding/queue": {"get": {
            "summary": "待办：核定部门的待核定项目，区财政局的待审定项目（附申报依据、试算的分担与当年区级资金）",
            "parameters": [_FUNDING_YEAR, *_PAGING],
            "responses": _ok({"type": "object", "required": ["status", "total", "items", "envelopes"], "properties": {
                "status": {"type": "string"}, "total": {"type": "integer"},
                "items": {"type": "array", "items": _PROJECT},
                "envelopes": {"type": "array", "items": _ENVELOPE}}})}},
        "/api/v1/funding/summary": {"get": {
            "summary": "年度资金汇总：分乡镇、分类别的审定金额与区级、乡镇承担，当年区级资金总额、已承诺与剩余",
            "parameters": [_query("year", "年度，默认今年", pattern=r"^\d{4}$")],
            "responses": _ok({"type": "object", "required": ["year", "envelope", "committed", "remaining", "rows",
                                                             "total"]})}},
        "/api/v1/funding/envelope": {"get": {
            "summary": "当年区级资金：总额、已承诺（已审定项目的区级承担之和）与剩余",
            "parameters": [_query("year", "年度，默认今年", pattern=r"^\d{4}$")], "responses": _ok(_ENVELOPE)}},
    },
}
