"""The OpenAPI description of the procedure's routes (transitions, worklists)."""
from __future__ import annotations

from .api_workflow import WORKLIST_LIMIT, WORKLIST_MAX
from .openapi_text import NOT_BLANK, TEXT
from .openapi_text import ref as _ref, errors as _errors


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
        "Subsidy": {"type": ["object", "null"], "description": "租赁补贴：档次、月补贴额（不高于实际承担的租金）、补贴期、发放记录、累计月数", "properties": {
            "grant_id": {"type": "string"}, "state": {"type": "string",
                                                      "enum": ["applied", "current", "refused", "ended"]},
            "tier": {"type": "string"}, "tier_title": {"type": "string"},
            "rent_paid": {"type": "number"}, "standard": {"type": ["number", "null"]},
            "monthly": {"type": ["number", "null"]}, "basis": {"type": "string"},
            "period": {"type": "string", "enum": ["quarter", "month"]}, "start": date, "end": date,
            "months_paid": {"type": "integer"}, "cap_months": {"type": ["integer", "null"]},
            "months_used": {"type": "integer", "description": "本户该档次累计发放月数（计入累计上限）"},
            "ended_on": date, "end_reason": {"type": "string"},
            "payments": {"type": "array", "items": {"type": "object", "properties": {
                "period": {"type": "string"}, "first": date, "last": date,
                "months": {"type": "integer"}, "amount": {"type": "number"},
                "document": {"type": "string"}, "paid_on": date}}}}},
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
            "subsidy": _ref("Subsidy"), "subsidies": {"type": "array", "items": _ref("Subsidy")},
            "history": {"type": "array", "items": {"type": "object"}},
            "version": {"type": "integer", "description": "办理后生成的版本号（仅 POST）"},
            "links": {"type": "object"}}},
        "StepRefused": {"type": "object", "properties": {
            "error": {"type": "string"}, "status": {"type": "integer"},
            "problems": {"type": "array", "items": {"type": "string"}},
            "overridable": {"type": "boolean"}}},
        **{f"{title}TransitionRequest": transition_request(procedure.workflows[kind])
           for kind, title in TITLES.items()},
        "Worklist": {"type": "object", "properties": {
            "total": {"type": "integer"}, "items": {"type": "array", "items": {
                "type": "object", "properties": {
                    "archive_no": {"type": "string"}, "kind": {"type": "string"},
                    "title": {"type": "string"}, "state": {"type": "string"},
                    "state_title": {"type": "string"}, "due": date, "overdue": {"type": "boolean"},
                    "days_left": {"type": ["integer", "null"]},
                    "href": {"type": "string"}}}}}},
    }


TITLES = {"household": "Household", "unit": "Unit"}


def transition_request(workflow) -> dict:
    """The body of POST …/transitions for one kind: its own manual steps, and a comment
    (not blank) for each step that requires one (``if transition is X then comment …``)."""
    manual = sorted(t for t, tr in workflow.transitions.items() if tr.manual)
    needs_comment = sorted(t for t in manual if workflow.transitions[t].comment_required)
    out = {"type": "object", "required": ["transition"], "properties": {
        "transition": {"type": "string", "enum": manual},
        "comment": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT,
                    "description": "说明；" + "、".join(needs_comment) + " 必须填写（去掉首尾空白后不为空）"
                    if needs_comment else "说明"},
        "override": {"type": "boolean", "default": False,
                     "description": "破格办理可破格的条件（如收入超限），须填写说明，记入历史并标记"},
        "inputs": {"type": ["object", "null"], "description": "配租：{unit}；签约：{start, end, rent?, deposit?}；"
                                                          "续租：{end, rent?}；申请租赁补贴：{rent_paid, tier?, education?, other_subsidy?}；"
                                                          "核定补贴：{start?, end?}；登记补贴发放：{period, amount, document, paid_on?}；"
                                                          "变更补贴：{rent_paid?, tier?, education?}", "properties": {
            "unit": {"type": "string"}, "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"}, "rent": {"type": "number"},
            "deposit": {"type": "number"}, "rent_paid": {"type": "number"},
            "tier": {"type": "string"}, "education": {"type": "string"},
            "other_subsidy": {"type": "string"}, "period": {"type": "string", "format": "date"},
            "amount": {"type": "number"}, "document": {"type": "string"},
            "paid_on": {"type": "string", "format": "date"}}}}}
    if needs_comment:
        out["allOf"] = [{"if": {"required": ["transition"],
                                "properties": {"transition": {"enum": needs_comment}}},
                         "then": {"required": ["comment"],
                                  "properties": {"comment": {"type": "string", "minLength": 1,
                                                             "pattern": NOT_BLANK}}}}]
    return out


def kind_operations(tag, kind="household"):
    return {"api_transitions": {
        "get": {"summary": "办理状态与可办理的步骤（含各步骤此刻是否满足条件）", "tags": tag,
                "responses": {"200": {"description": "成功", "content": {
                    "application/json": {"schema": _ref("Transitions")}}}, **_errors(401, 403, 404)}},
        "post": {"summary": "办理一个步骤（受理、审核通过、公示、配租、签约、退出……）", "tags": tag,
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": _ref(f"{TITLES[kind]}TransitionRequest")}}},
                 "responses": {"200": {"description": "已办理", "content": {
                     "application/json": {"schema": _ref("Transitions")}}},
                     "403": REFUSED, "409": REFUSED, "422": REFUSED, **_errors(400, 401, 404)}},
    }}


GLOBAL_OPERATIONS = {"api_worklist": {"get": {
    "summary": "待我处理：当前用户角色的待办档案，期限最近的在前，逾期标记", "tags": ["Procedure"],
    "parameters": [{"name": "limit", "in": "query", "required": False,
                    "description": f"最多条数（1到{WORKLIST_MAX}；超出范围的以422拒绝）",
                    "schema": {"type": "integer", "minimum": 1, "maximum": WORKLIST_MAX,
                               "default": WORKLIST_LIMIT}}],
    "responses": {"200": {"description": "成功", "content": {
        "application/json": {"schema": _ref("Worklist")}}}, **_errors(401, 403, 422)}}}}
