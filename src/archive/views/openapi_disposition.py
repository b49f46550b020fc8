"""The OpenAPI description of disposition (views/disposition.py): a dossier's disposition
date, holds and appraisals, the appraisal worklist, destruction lists and their PDF."""
from __future__ import annotations

from ..disposition.appraisal import STATUS as APPRAISAL_STATUS
from ..disposition.destruction import MAX_ITEMS, STATUS as LIST_STATUS
from ..disposition.schedule import EVENTS
from .openapi_text import PARAM_TEXT, TEXT
from .openapi_text import ref as _ref, errors as _errors, json_answer as _json


def _body(name):
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


STRING = {"type": "string"}
NULL_STRING = {"type": ["string", "null"]}
DATE = {"type": "string", "format": "date"}
NULL_DATE = {"type": ["string", "null"], "format": "date"}
NULL_DATETIME = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
NOTE = {"type": "string", "minLength": 1, "maxLength": 1900, "pattern": r"^[\s\S]*\S[\s\S]*$",
        "description": "说明（必填）"}
PATH_PARAMS = {
    "hold": {"name": "hold", "in": "path", "required": True, "description": "冻结编号（如 H00001）",
             "schema": {"type": "string", "pattern": "^H[0-9]{1,9}$"}},
    "appraisal": {"name": "appraisal", "in": "path", "required": True, "description": "鉴定意见编号",
                  "schema": {"type": "integer", "minimum": 1, "maximum": 999999999}},
    "list_no": {"name": "list_no", "in": "path", "required": True, "description": "销毁清册编号",
                "schema": {"type": "integer", "minimum": 1, "maximum": 999999999}},
}
ACTION_VERSIONS = ["held", "released", "appraisal", "appraisal_decided", "destroyed"]


def schemas(registry) -> dict:
    """The disposition schemas; reasons and actions come from schemas/disposition.yaml."""
    sched = registry.archive_disposition
    periods = registry.archive_schemas.vocabularies["retention_periods"].codes()
    return {
        "Hold": {"type": "object", "description": "冻结", "properties": {
            "hold_id": STRING, "archive_no": NULL_STRING,
            "reason": {"type": "string", "enum": list(sched.hold_reasons)}, "reason_title": STRING,
            "note": STRING, "placed_by": STRING, "placed_at": {"type": "string", "format": "date-time"},
            "open": {"type": "boolean"}, "released_by": NULL_STRING, "released_at": NULL_DATETIME,
            "release_note": STRING}},
        "HoldInput": {"type": "object", "required": ["reason", "note"], "properties": {
            "reason": {"type": "string", "enum": list(sched.hold_reasons),
                       "description": "冻结原因：" + "、".join(f"{c} {z}" for c, (z, _) in sched.hold_reasons.items())},
            "note": NOTE}},
        "HoldRelease": {"type": "object", "required": ["note"], "properties": {"note": NOTE}},
        "HoldList": {"type": "object", "properties": {
            "archive_no": STRING, "total": INT, "open": INT, "items": {"type": "array", "items": _ref("Hold")}}},
        "Appraisal": {"type": "object", "description": "鉴定意见及其审批", "properties": {
            "number": INT, "action": {"type": "string", "enum": list(sched.actions)}, "action_title": STRING,
            "years": INT, "reason": STRING, "proposed_by": STRING,
            "proposed_at": {"type": "string", "format": "date-time"},
            "status": {"type": "string", "enum": list(APPRAISAL_STATUS)}, "status_title": STRING,
            "decided_by": NULL_STRING, "decided_at": NULL_DATETIME, "opinion": STRING}},
        # years is required when (and only when it matters) the proposal is to extend
        "AppraisalInput": {"type": "object", "required": ["action", "reason"],
                           "if": {"properties": {"action": {"const": "extend"}}, "required": ["action"]},
                           "then": {"required": ["years"]}, "properties": {
            "action": {"type": "string", "enum": list(sched.actions),
                       "description": "extend 延长保管期限，destroy 销毁，transfer 移交档案馆"},
            "years": {"type": "integer", "minimum": 1, "maximum": sched.max_extension_years,
                      "description": "延长年限（仅 extend，必填）"},
            "reason": NOTE}},
        "AppraisalDecision": {"type": "object", "required": ["approve", "opinion"], "properties": {
            "approve": {"type": "boolean", "description": "true 批准，false 不批准"}, "opinion": NOTE}},
        "AppraisalList": {"type": "object", "properties": {
            "archive_no": STRING, "total": INT, "items": {"type": "array", "items": _ref("Appraisal")}}},
        "DestroyedFile": {"type": "object", "properties": {
            "doc_id": STRING, "item_no": {"type": ["integer", "null"]}, "title": STRING, "doc_type": STRING,
            "file_no": INT, "filename": STRING, "size": INT, "pages": {"type": ["integer", "null"]},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}},
        "Disposition": {"type": "object", "description": "鉴定与处置：保管期限、起算事件、处置日期、冻结、鉴定、销毁记录",
                        "properties": {
            "retention": {"type": "string", "enum": periods}, "retention_title": STRING,
            "event": {"type": "string", "enum": list(EVENTS)}, "event_title": STRING,
            "started": NULL_DATE, "extension_years": INT,
            "disposition_date": {**NULL_DATE, "description": "处置日期；永久保管或期限尚未起算为 null"},
            "due": {"type": "boolean", "description": "处置日期已到（到期待鉴定）"},
            "closed": {"type": ["string", "null"], "enum": ["destroyed", "transfer", None]},
            "holds": {"type": "array", "items": _ref("Hold")},
            "automatic_holds": {"type": "array", "description": "因诚信档案未了事项或案件核查自动冻结",
                                "items": {"type": "object", "properties": {
                                    "source": {"type": "string", "enum": ["credit", "inspection"]},
                                    "text": STRING}}},
            "appraisals": {"type": "array", "items": _ref("Appraisal")},
            "destruction": {"type": ["object", "null"], "description": "已销毁时的存根记录", "properties": {
                "list_number": INT, "when": {"type": "string", "format": "date-time"},
                "approved_by": STRING, "supervisor": STRING, "opinion": STRING,
                "files": {"type": "array", "items": _ref("DestroyedFile")}}}}},
        "DueList": {"type": "object", "properties": {
            "date": DATE, "total": INT, "items": {"type": "array", "items": {"type": "object", "properties": {
                "archive_no": STRING, "kind": {"type": "string", "enum": ["household", "unit", "employer"]},
                "title": STRING, "disposition_date": DATE, "held": {"type": "boolean"},
                "pending_appraisal": {"type": ["integer", "null"]},
                "destruction_approved": {"type": "boolean"}, "href": {"type": "string", "format": "uri"}}}}}},
        "DestructionList": {"type": "object", "description": "销毁清册", "properties": {
            "number": INT, "status": {"type": "string", "enum": list(LIST_STATUS)}, "status_title": STRING,
            "drawn_by": STRING, "drawn_at": {"type": "string", "format": "date-time"}, "comment": STRING,
            "approved_by": NULL_STRING, "approved_at": NULL_DATETIME, "supervisor": NULL_STRING,
            "carried_out_at": NULL_DATETIME,
            "rows": {"type": "array", "items": {"type": "object", "properties": {
                "archive_no": STRING, "kind": {"type": "string", "enum": ["household", "unit", "employer"]},
                "title": STRING, "documents": INT, "pages": INT,
                "retention": {"type": "string", "enum": periods}, "retention_title": STRING,
                "opinion": STRING, "appraised_by": STRING}}},
            "href": {"type": "string", "format": "uri"}, "pdf": {"type": "string", "format": "uri"}}},
        "DestructionListInput": {"type": "object", "required": ["archive_nos"], "properties": {
            "archive_nos": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                            "items": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": TEXT},
                            "description": "经批准销毁的档号"},
            "comment": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT}}},
        "DestructionLists": {"type": "object", "properties": {
            "total": INT, "items": {"type": "array", "items": _ref("DestructionList")}}},
    }


def extend(parts):
    """What disposition adds to the dossier and version schemas."""
    for title in ("Household", "Unit"):
        parts[f"{title}Dossier"]["properties"]["disposition"] = _ref("Disposition")
    parts["VersionSummary"]["properties"]["action"]["enum"] += ACTION_VERSIONS


PDF_ANSWER = {"description": "PDF（每次下载记入审计日志）", "content": {"application/pdf": {"schema": {
    "type": "string", "contentMediaType": "application/pdf"}}}}


def kind_operations(tag):
    """{route name: {method: operation}} for one kind of dossier."""
    return {
        "api_dossier_holds": {
            "get": {"summary": "档案的冻结记录（含已解除）", "tags": tag,
                    "responses": {"200": _json(_ref("HoldList")), **_errors(401, 403, 404)}},
            "post": {"summary": "冻结档案（稽查、诉讼、审计、其他）：冻结期间不能鉴定、销毁或撤出文件",
                     "tags": tag, "requestBody": _body("HoldInput"),
                     "responses": {"201": _json(_ref("Hold"), "已冻结"), **_errors(400, 401, 403, 404, 409, 422)}}},
        "api_dossier_hold_release": {
            "post": {"summary": "解除冻结", "tags": tag, "requestBody": _body("HoldRelease"),
                     "responses": {"200": _json(_ref("Hold")), **_errors(400, 401, 403, 404, 409, 422)}}},
        "api_dossier_appraisals": {
            "get": {"summary": "档案的鉴定意见及审批", "tags": tag,
                    "responses": {"200": _json(_ref("AppraisalList")), **_errors(401, 403, 404)}},
            "post": {"summary": "提出鉴定意见（延长保管期限、销毁、移交档案馆）；冻结的档案不能鉴定",
                     "tags": tag, "requestBody": _body("AppraisalInput"),
                     "responses": {"201": _json(_ref("Appraisal"), "已提出"),
                                   **_errors(400, 401, 403, 404, 409, 422)}}},
        "api_dossier_appraisal_decision": {
            "post": {"summary": "审批鉴定意见：须由提出人以外的另一人（同一人为 403）", "tags": tag,
                     "requestBody": _body("AppraisalDecision"),
                     "responses": {"200": _json(_ref("Appraisal")), **_errors(400, 401, 403, 404, 409, 422)}}},
    }


TAG = ["Disposition"]
OPERATIONS = {
    "api_due": {"get": {"summary": "到期鉴定：处置日期已到的档案（按处置日期，最多500份）", "tags": TAG,
                        "responses": {"200": _json(_ref("DueList")), **_errors(401, 403)}}},
    "api_holds": {"get": {"summary": "所有冻结记录（未解除的在前）", "tags": TAG,
                          "responses": {"200": _json(_ref("HoldList")), **_errors(401, 403)}}},
    "api_destruction_lists": {
        "get": {"summary": "销毁清册", "tags": TAG,
                "responses": {"200": _json(_ref("DestructionLists")), **_errors(401, 403)}},
        "post": {"summary": "拟制销毁清册（每份档案须有经批准的销毁鉴定意见、未冻结、未列入其他清册）",
                 "tags": TAG, "requestBody": _body("DestructionListInput"),
                 "responses": {"201": _json(_ref("DestructionList"), "已拟制（Location 为清册地址）"),
                               **_errors(400, 401, 403, 404, 409, 422)}}},
    "api_destruction_list": {
        "get": {"summary": "销毁清册", "tags": TAG,
                "responses": {"200": _json(_ref("DestructionList")), **_errors(401, 403, 404)}}},
    "api_destruction_list_pdf": {
        "get": {"summary": "销毁清册（PDF）：档号、题名、件数、页数、保管期限、鉴定意见、批准人、监销人", "tags": TAG,
                "responses": {"200": PDF_ANSWER, **_errors(401, 403, 404)}}},
    "api_destruction_list_approval": {
        "post": {"summary": "批准销毁清册（拟制人以外的另一人）", "tags": TAG,
                 "responses": {"200": _json(_ref("DestructionList")), **_errors(400, 401, 403, 404, 409)}}},
    "api_destruction_list_execution": {
        "post": {"summary": "监销：执行已批准的销毁清册（监销人即调用者，须为拟制人、批准人以外的第三人）。"
                            "每份档案的所有文件版本、文本层、识别文本和检索条目被销毁，数据库随后打包，不可恢复；"
                            "档案成为存根。冻结或未到处置日期的档案使整份清册被拒绝，什么也不改变。",
                 "tags": TAG,
                 "responses": {"200": _json(_ref("DestructionList")), **_errors(400, 401, 403, 404, 409)}}},
}
