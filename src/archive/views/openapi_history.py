"""The OpenAPI description of the case history (GET /api/households/{no}/history)."""
from __future__ import annotations

from ..records.history import DOC_CHANGES, FACTS, GROUPS
from .openapi_text import ref as _ref, errors as _errors


PAIRS = {"type": "array", "description": "（项目, 内容）对，如租期、破格办理、标记",
         "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}}
TEXT = {"type": "string"}


def schemas(procedure) -> dict:
    """HistoryEvent and CaseHistory; the step and state names come from the workflows."""
    workflow = procedure.workflows["household"]
    steps = sorted(workflow.transitions)
    states = sorted(workflow.states)
    nullable_int = {"type": ["integer", "null"]}
    return {
        "HistoryEvent": {"type": "object", "properties": {
            "when": {"type": "string", "description": "UTC时间（date-time）；只按日记录的事实（限制申请、"
                                                      "台账补录租赁的终止）为日期（date），date_only 为 true"},
            "day": {"type": "string", "format": "date", "description": "办理地的日期"},
            "date_only": {"type": "boolean"}, "actor": TEXT,
            "kind": {"type": "string", "description": "版本的操作（created, edited, filed, refiled, "
                                                      "document_edited, withdrawn, restored, transition, "
                                                      "lease, adopted）、不属于任何版本的事实（见 Fact.kind；use 为利用记录），"
                                                      "或 attempt：被拒绝的办理步骤、摇号的每次尝试（谁、何时、"
                                                      "哪一步、拒绝原因在 details 中），不是档案的版本"},
            "groups": {"type": "array", "items": {"type": "string", "enum": list(GROUPS)}},
            "title": TEXT, "comment": TEXT,
            "version": nullable_int, "restored_from": nullable_int,
            "transition": {"type": "string", "enum": [""] + steps},
            "from_state": {"type": "string", "enum": [""] + states},
            "to_state": {"type": "string", "enum": [""] + states},
            "from_title": TEXT, "to_title": TEXT, "details": PAIRS,
            "flagged": {"type": "boolean", "description": "破格办理或流程标记的步骤"},
            "fields": {"type": "array", "description": "信息变化（个人信息脱敏，除非 unmask=1）",
                       "items": {"type": "object", "properties": {
                           "path": TEXT, "title": TEXT, "old": TEXT, "new": TEXT}}},
            "documents": {"type": "array", "items": {"type": "object", "properties": {
                "doc_id": TEXT, "change": {"type": "string", "enum": list(DOC_CHANGES)},
                "change_title": TEXT, "title": TEXT, "doc_type": TEXT,
                "file_no": nullable_int, "old_file_no": nullable_int,
                "fields": {"type": "array", "items": TEXT}, "reason": TEXT}}},
            "facts": {"type": "array", "description": "与此事件同时发生的租赁或诚信事实",
                      "items": _ref("HistoryFact")},
            "href": {"type": ["string", "null"], "format": "uri", "description": "该版本（GET …/versions/{n}）"}}},
        "HistoryFact": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": list(FACTS)}, "title": TEXT,
            "ref": {"type": "string", "description": "租赁编号，受限人员的身份证号码（脱敏），或借阅单号"},
            "details": PAIRS,
            "link": {"type": ["object", "null"], "properties": {
                "kind": {"type": "string", "enum": ["household", "unit"]}, "archive_no": TEXT,
                "href": {"type": "string", "format": "uri"}}}}},
        "CaseHistory": {"type": "object", "properties": {
            "archive_no": TEXT, "title": TEXT, "unmasked": {"type": "boolean"},
            "kinds": {"type": "array", "items": {"type": "string", "enum": list(GROUPS)}},
            "total": {"type": "integer"},
            "events": {"type": "array", "items": _ref("HistoryEvent"), "description": "最早的在前"},
            "links": {"type": "object"}}},
    }


OPERATIONS = {"api_household_history": {"get": {
    "summary": "案件历程：一户的版本、文件、办理步骤、租赁和诚信记录合并为一条时间线",
    "tags": ["Household dossiers"],
    "parameters": [
        {"name": "kind", "in": "query", "required": False, "style": "form", "explode": True,
         "description": "只列出这些类别的事件（可重复）",
         "schema": {"type": "array", "items": {"type": "string", "enum": list(GROUPS)}}},
        {"name": "unmask", "in": "query", "required": False,
         "description": "1 = 显示未脱敏的个人信息（需 view_personal 权限，记入审计日志）",
         "schema": {"type": "string", "enum": ["1"]}}],
    "responses": {"200": {"description": "成功", "content": {
        "application/json": {"schema": _ref("CaseHistory")}}}, **_errors(401, 403, 404, 422)}}}}
