"""The OpenAPI 3 document of /api/v1 (a test holds it against the routes)."""

from __future__ import annotations

_ERROR = {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ERRORS = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR, "422": _ERROR}
_AGREEMENT = {"name": "agreement_no", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "协议编号（或户内成员的完整身份证号）"}


def _ok(schema: dict, status: str = "200") -> dict:
    return {status: {"description": "成功", "content": {"application/json": {"schema": schema}}}, **_ERRORS}


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
                    "persons_updated", "persons_unchanged", "error_rows", "warnings", "rows_read")},
                "new_communities": {"type": "array", "items": {"type": "string"}},
                "issues": {"type": "array", "items": {"type": "object", "properties": {
                    "row": {"type": "integer"}, "agreement_no": {"type": "string"}, "column": {"type": "string"},
                    "value": {"type": "string"}, "level": {"type": "string"}, "message": {"type": "string"}}}}}},
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
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": _ok({"type": "object", "required": ["total", "items"], "properties": {
                "total": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}})}},
        "/api/v1/households/{agreement_no}": {"get": {
            "summary": "一户：成员（证件号遮蔽）与经过", "parameters": [_AGREEMENT],
            "responses": _ok({"$ref": "#/components/schemas/Household"})}},
        "/api/v1/households/{agreement_no}/events": {"post": {
            "summary": "登记交房、分房、入住、退出或户籍迁入", "parameters": [_AGREEMENT],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Event"}}}},
            "responses": _ok({"type": "object"}, "201")}},
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
    },
}
