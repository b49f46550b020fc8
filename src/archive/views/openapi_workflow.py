"""The OpenAPI description of the procedure's routes (transitions, worklists)."""
from __future__ import annotations


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes):
    return {str(c): {"$ref": f"#/components/responses/{c}"} for c in codes}


REFUSED = {"description": "步骤被拒绝：403 角色无权办理，409 档案已不处于该步骤的起始状态，"
                          "422 不满足办理条件（problems 列出每一条原因）",
           "content": {"application/json": {"schema": _ref("StepRefused")}}}


def schemas(procedure) -> dict:
    states = sorted({s for w in procedure.workflows.kinds.values() for s in w.states})
    steps = sorted({t for w in procedure.workflows.kinds.values()
                    for t, tr in w.transitions.items() if tr.manual})
    date = {"type": ["string", "null"], "format": "date"}
    return {
        "ProcedureState": {"type": "object", "properties": {
            "code": {"type": "string", "enum": states}, "title": {"type": "string"},
            "since": {"type": ["string", "null"], "format": "date-time"}, "due": date,
            "due_estimated": {"type": "boolean", "description": "期限超出已发布的节假日安排，按周一至周五估算"},
            "overdue": {"type": "boolean"}, "final": {"type": "boolean"}}},
        "Lease": {"type": ["object", "null"], "properties": {
            "lease_id": {"type": "string"}, "state": {"type": "string",
                                                      "enum": ["offered", "current", "ended", "cancelled"]},
            "household": {"type": "string"}, "unit": {"type": "string"}, "start": date, "end": date,
            "rent": {"type": ["number", "null"]}, "deposit": {"type": ["number", "null"]},
            "transition_until": date, "transition_rent": {"type": ["number", "null"]},
            "ended_on": date, "end_reason": {"type": "string"}}},
        "Step": {"type": "object", "properties": {
            "name": {"type": "string", "enum": steps}, "title": {"type": "string"},
            "to": {"type": "string"}, "comment_required": {"type": "boolean"},
            "inputs": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"},
                "required": {"type": "boolean"}}}},
            "ready": {"type": "boolean", "description": "此刻是否满足全部办理条件"},
            "problems": {"type": "array", "items": {"type": "string"}},
            "overridable": {"type": "boolean", "description": "不满足的条件均可破格（须填写说明）"}}},
        "Transitions": {"type": "object", "properties": {
            "archive_no": {"type": "string"}, "state": _ref("ProcedureState"),
            "transitions": {"type": "array", "items": _ref("Step"),
                            "description": "当前用户的角色可以办理的步骤"},
            "lease": _ref("Lease"), "leases": {"type": "array", "items": _ref("Lease")},
            "history": {"type": "array", "items": {"type": "object"}},
            "version": {"type": "integer", "description": "办理后生成的版本号（仅 POST）"},
            "links": {"type": "object"}}},
        "TransitionRequest": {"type": "object", "required": ["transition"], "properties": {
            "transition": {"type": "string", "enum": steps},
            "comment": {"type": "string", "maxLength": 2000},
            "override": {"type": "boolean", "default": False,
                         "description": "破格办理可破格的条件（如收入超限），须填写说明，记入历史并标记"},
            "inputs": {"type": "object", "description": "配租：{unit}；签约：{start, end, rent?, deposit?}；"
                                                        "续租：{end, rent?}", "properties": {
                "unit": {"type": "string"}, "start": {"type": "string", "format": "date"},
                "end": {"type": "string", "format": "date"}, "rent": {"type": "number"},
                "deposit": {"type": "number"}}}}},
        "StepRefused": {"type": "object", "properties": {
            "error": {"type": "string"}, "status": {"type": "integer"},
            "problems": {"type": "array", "items": {"type": "string"}},
            "overridable": {"type": "boolean"}}},
        "Worklist": {"type": "object", "properties": {
            "total": {"type": "integer"}, "items": {"type": "array", "items": {
                "type": "object", "properties": {
                    "archive_no": {"type": "string"}, "kind": {"type": "string"},
                    "title": {"type": "string"}, "state": {"type": "string"},
                    "state_title": {"type": "string"}, "due": date, "overdue": {"type": "boolean"},
                    "days_left": {"type": ["integer", "null"]},
                    "href": {"type": "string"}}}}}},
    }


def kind_operations(tag):
    return {"api_transitions": {
        "get": {"summary": "办理状态与可办理的步骤（含各步骤此刻是否满足条件）", "tags": tag,
                "responses": {"200": {"description": "成功", "content": {
                    "application/json": {"schema": _ref("Transitions")}}}, **_errors(401, 403, 404)}},
        "post": {"summary": "办理一个步骤（受理、审核通过、公示、配租、签约、退出……）", "tags": tag,
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": _ref("TransitionRequest")}}},
                 "responses": {"200": {"description": "已办理", "content": {
                     "application/json": {"schema": _ref("Transitions")}}},
                     "403": REFUSED, "409": REFUSED, "422": REFUSED, **_errors(400, 401, 404)}},
    }}


GLOBAL_OPERATIONS = {"api_worklist": {"get": {
    "summary": "待我处理：当前用户角色的待办档案，期限最近的在前，逾期标记", "tags": ["Procedure"],
    "parameters": [{"name": "limit", "in": "query", "required": False, "description": "最多条数（≤500）",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}],
    "responses": {"200": {"description": "成功", "content": {
        "application/json": {"schema": _ref("Worklist")}}}, **_errors(401, 403, 422)}}}}
