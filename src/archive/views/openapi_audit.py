"""The OpenAPI description of integrity audits (/api/audits…) and the credit record
(/api/credit, POST /api/households/{no}/credit): views/audits.py and views/credit.py."""
from __future__ import annotations

from ..audit.rules import CATEGORIES, RULES, SEVERITIES
from ..audit.runs import STATUSES
from ..workflow.credit import REASONS
from .openapi_text import NOT_BLANK, PARAM_TEXT, TEXT
from .base import DEFAULT_PER_PAGE, MAX_PER_PAGE
from .openapi_text import ref as _ref, errors as _errors, json_answer as _json


TEXT = {"type": "string"}
NULL_TEXT = {"type": ["string", "null"]}
DATETIME = {"type": ["string", "null"], "format": "date-time"}
DATE = {"type": "string", "format": "date"}
RULE_ID = {"type": "string", "enum": list(RULES)}
SEVERITY_COUNTS = {"type": "object", "properties": {s: {"type": "integer"} for s in SEVERITIES}}

PATH_PARAMS = {"run_id": {"name": "run_id", "in": "path", "required": True, "description": "审计编号",
                          "schema": {"type": "integer", "minimum": 1}}}

SCHEMAS = {
    "AuditRunSummary": {"type": "object", "properties": {
        "run_id": {"type": "integer"}, "status": {"type": "string", "enum": list(STATUSES)},
        "status_title": TEXT, "trigger": {"type": "string", "description": "web、api 或 cli"},
        "actor": TEXT, "requested": DATETIME, "started": DATETIME, "finished": DATETIME,
        "progress": {"type": "object", "description": "已检查的档案数/档案总数",
                     "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}}},
        "rules": {"type": "array", "items": RULE_ID}, "findings": {"type": "integer"},
        "by_severity": SEVERITY_COUNTS, "error": NULL_TEXT,
        "href": {"type": "string", "format": "uri"}, "html": {"type": "string", "format": "uri"}}},
    "AuditAck": {"type": "object", "properties": {
        "actor": TEXT, "when": {"type": "string", "format": "date-time"}, "comment": TEXT,
        "run_id": {"type": "integer", "description": "确认时所在的审计"}}},
    "AuditFinding": {"type": "object", "properties": {
        "fingerprint": {"type": "string", "description": "规则|档号|对象：同一问题在各次审计中相同，确认按它保存"},
        "rule": RULE_ID, "rule_title": TEXT,
        "category": {"type": ["string", "null"], "enum": list(CATEGORIES) + [None],
                     "description": "四性检测类别"},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "message": {"type": "string", "description": "中文说明（身份证号码已脱敏）"},
        "kind": {"type": ["string", "null"], "enum": ["household", "unit", "employer", None]},
        "archive_no": NULL_TEXT, "subject": TEXT,
        "status": {"type": "string", "enum": ["new", "open", "resolved"],
                   "description": "new 新发现（上次没有）、open 仍未解决、resolved 已解决（上次有、本次没有）"},
        "dossier": {"type": ["string", "null"], "format": "uri"},
        "acks": {"type": "array", "items": _ref("AuditAck")}}},
    "AuditRun": {"allOf": [_ref("AuditRunSummary"), {"type": "object", "properties": {
        "counts": {"type": "object", "description": "dossiers, households, units, employers, documents, files, "
                                                    "bytes, versions, log_entries, seconds",
                   "additionalProperties": {"type": "number"}},
        "seconds": {"type": ["number", "null"]},
        "by_rule": {"type": "object", "additionalProperties": {"type": "integer"}},
        "previous": {"type": ["integer", "null"], "description": "对比的上一次已完成审计"},
        "items": {"type": "array", "items": _ref("AuditFinding"), "description": "完成后才有"},
        "resolved": {"type": "array", "items": _ref("AuditFinding")},
        "links": {"type": "object", "additionalProperties": {"type": "string"}}}}]},
    "AuditRunList": {"type": "object", "properties": {
        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
        "rules": {"type": "array", "items": {"type": "object", "properties": {
            "id": RULE_ID, "title": TEXT, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "category": {"type": "string", "enum": list(CATEGORIES)}, "description": TEXT}}},
        "items": {"type": "array", "items": _ref("AuditRunSummary")}}},
    "AuditStart": {"type": "object", "properties": {
        "rules": {"type": ["array", "null"], "items": RULE_ID,
                  "description": "只运行这些规则；省略、null 或空列表则运行全部规则"}}},
    "AuditAckInput": {"type": "object", "required": ["fingerprint", "comment"], "properties": {
        "fingerprint": {"type": "string", "minLength": 1, "pattern": TEXT,
                        "description": "该次审计（已完成）中一条发现的 fingerprint；没有这条发现的以400拒绝"},
        "comment": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": NOT_BLANK,
                    "description": "说明（去掉首尾空白后不得为空）"}}},
    "CreditEvent": {"type": "object", "properties": {
        "event_id": TEXT, "id_number": {"type": "string", "description": "身份证号码（脱敏，除非 unmask=1）"},
        "name": TEXT, "kind": {"type": "string", "enum": list(REASONS)}, "kind_title": TEXT,
        "day": DATE, "description": TEXT, "archive_no": NULL_TEXT,
        "dossier": {"type": ["string", "null"], "format": "uri"}, "evidence": NULL_TEXT,
        "recorded_by": TEXT, "recorded_at": {"type": "string", "format": "date-time"},
        "ban_last_day": {"type": ["string", "null"], "format": "date",
                         "description": "由此限制申请的最后一天；辖区未规定年限的为 null"}}},
    "CreditBan": {"type": "object", "properties": {
        "reason": {"type": "string", "enum": list(REASONS)}, "reason_title": TEXT,
        "since": DATE, "last_day": DATE, "active": {"type": "boolean", "description": "今天是否在限制期内"},
        "archive_no": NULL_TEXT, "event_id": NULL_TEXT, "recorded_by": TEXT}},
    "CreditPerson": {"type": "object", "properties": {
        "name": TEXT, "id_number": TEXT, "banned": {"type": "boolean"},
        "events": {"type": "array", "items": _ref("CreditEvent")},
        "bans": {"type": "array", "items": _ref("CreditBan")}}},
    "CreditList": {"type": "object", "properties": {
        "q": TEXT, "active": {"type": "boolean"}, "today": DATE, "unmasked": {"type": "boolean"},
        "total": {"type": "integer"}, "limit": {"type": "integer"},
        "items": {"type": "array", "items": _ref("CreditPerson")}}},
    "CreditInput": {"type": "object", "required": ["id_number", "kind", "day", "description"], "properties": {
        "id_number": {"type": "string", "format": "gb11643",
                      "description": "档案中申请人或共同申请人的身份证号码；不在档案中的以400拒绝"},
        "kind": {"type": "string", "enum": list(REASONS),
                 "description": "；".join(f"{k} {zh}" for k, (zh, _) in REASONS.items())},
        "day": {"type": "string", "format": "date", "description": "认定日期，不得晚于今天（晚于今天的以400拒绝）"},
        "description": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": NOT_BLANK},
        "evidence": {"type": ["string", "null"],
                     "description": "本档案中未撤出的证据文件编号（如 D0003）；不在档案中的以400拒绝"}}},
    "CreditRecorded": {"allOf": [_ref("CreditEvent"), {"type": "object", "properties": {
        "bans": {"type": "array", "items": _ref("CreditBan")}}}]},
}

OPERATIONS = {
    "api_audits": {
        "get": {"summary": "完整性审计记录（新的在前）及可用的审计规则", "tags": ["Audits"], "parameters": [
            {"name": "page", "in": "query", "required": False, "description": "页码（从1开始）",
             "schema": {"type": "integer", "minimum": 1, "maximum": 10 ** 18 - 1, "default": 1}},
            {"name": "per_page", "in": "query", "required": False,
             "description": f"每页条数（1到{MAX_PER_PAGE}；超出范围的以422拒绝）",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                        "default": DEFAULT_PER_PAGE}}],
            "responses": {"200": _json(_ref("AuditRunList")), **_errors(401, 403, 422)}},
        "post": {"summary": "发起完整性审计（后台运行；用 GET /api/audits/{run_id} 查看进度与结果）",
                 "tags": ["Audits"],
                 "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("AuditStart")}}},
                 "responses": {"202": _json(_ref("AuditRun"), "已排队（Location 为该次审计）"),
                               **_errors(400, 401, 403)}},
    },
    "api_audit": {
        "get": {"summary": "一次审计：状态、进度、检查数量、发现（含与上次对比和确认）、已解决的问题",
                "tags": ["Audits"],
                "responses": {"200": _json(_ref("AuditRun")), **_errors(401, 403, 404)}},
    },
    "api_audit_acks": {
        "post": {"summary": "确认一条审计发现（须填写说明；之后各次审计再发现时一并显示）", "tags": ["Audits"],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AuditAckInput")}}},
                 "responses": {"201": _json({"allOf": [_ref("AuditAck"), {"type": "object", "properties": {
                     "fingerprint": TEXT, "acks": {"type": "array", "items": _ref("AuditAck")}}}]}, "已确认"),
                     **_errors(400, 401, 403, 404)}},
    },
    "api_credit": {
        "get": {"summary": "诚信档案：有失信记录或被限制申请的人员", "tags": ["Credit record"], "parameters": [
            {"name": "q", "in": "query", "required": False, "description": "姓名（包含）或完整的身份证号码",
             "schema": {"type": "string", "pattern": PARAM_TEXT}},
            {"name": "active", "in": "query", "required": False,
             "description": "1 = 只列出今天在限制期内的人员；其他值列出全部",
             "schema": {"type": "string", "pattern": PARAM_TEXT, "examples": ["1"]}},
            {"name": "unmask", "in": "query", "required": False,
             "description": "1 = 显示未脱敏的身份证号码（需 view_personal 权限，记入审计日志）；"
                            "其他值或无此权限时照常脱敏",
             "schema": {"type": "string", "pattern": PARAM_TEXT, "examples": ["1"]}}],
            "responses": {"200": _json(_ref("CreditList")), **_errors(401, 403)}},
    },
    "api_household_credit": {
        "post": {"summary": "记录失信行为：按档案所属辖区的规定同时限制当事人申请", "tags": ["Credit record"],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CreditInput")}}},
                 "responses": {"201": _json(_ref("CreditRecorded"), "已记录"), **_errors(400, 401, 403, 404)}},
    },
}
