"""The OpenAPI description of collective applications by employers (/api/batches…,
/api/employers…): views/collective.py."""
from __future__ import annotations

from ..workflow.collective.batch import STATES
from ..workflow.collective.quota import AGREED, METHODS
from ..workflow.collective.rules import APPLICANTS
from ..workflow.collective.steps import MAX_MEMBERS, PLAN_FIELDS
from .openapi_custody import kind_operations as _custody_operations
from .openapi_disposition import kind_operations as _disposition_operations
from .openapi_versions import kind_operations as _version_operations
from .openapi_text import NOT_BLANK, PARAM_TEXT, TEXT
from .openapi_text import ref as _ref, errors as _errors, json_answer as _json

STR = {"type": "string"}
TEXT_FIELD = {"type": "string", "maxLength": 2000, "pattern": TEXT}
DATE = {"type": ["string", "null"], "format": "date"}
NUMBERS = {"type": "array", "items": {"type": "string", "maxLength": 64, "pattern": PARAM_TEXT},
           "minItems": 1, "maxItems": MAX_MEMBERS, "uniqueItems": True}


def _required_text(limit):
    """A required text as steps._text takes it: at most ``limit`` characters, not blank."""
    return {"type": "string", "minLength": 1, "maxLength": limit, "pattern": NOT_BLANK}
PATH_PARAMS = {
    "batch_id": {"name": "batch_id", "in": "path", "required": True, "description": "批次编号（如 PC-XM-2026-001）",
                 "schema": {"type": "string", "maxLength": 64, "pattern": PARAM_TEXT}},
}
STEP_FIELDS = ("step: apply {credit_code, members, contact?, comment?} | close | review {employer, approved, "
               "refused: {档号: 原因}, late_reason?} | publicity {starts_on?} | propose {proposal: {单位档号: 套数}, "
               "late_reason?} | agree {comment?} | announce {method, reason, draw_on, commitment?}（须 lottery 权限）"
               " | decide {seed}（须 lottery 权限） | report {employer, allocation: {住户档号: 房源档号}}")

SCHEMAS = {
    "BatchSummary": {"type": "object", "properties": {
        "batch_id": STR, "jurisdiction": STR, "title": STR,
        "state": {"type": "string", "enum": list(STATES)}, "state_title": STR,
        "units": {"type": "integer"}, "applications": {"type": "integer"}, "href": STR}},
    "EmployerSummary": {"type": "object", "properties": {
        "archive_no": STR, "name": STR, "credit_code": STR,
        "applicant_type": {"type": "string", "enum": list(APPLICANTS)},
        "requested": {"type": "integer"}, "approved": {"type": ["integer", "null"]},
        "quota": {"type": ["integer", "null"]}, "href": STR}},
    "Batch": {"allOf": [_ref("BatchSummary"), {"type": "object", "properties": {
        "plan": {"type": "object"}, "unit_numbers": {"type": "array", "items": STR},
        "opens_on": DATE, "closes_on": DATE, "review_due": DATE, "publicity_from": DATE,
        "publicity_to": DATE, "proposal_due": DATE,
        "named_employers": {"type": "array", "items": {"type": "object"}},
        "employers": {"type": "array", "items": _ref("EmployerSummary")},
        "proposal": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
        "decision": {"type": ["object", "null"], "properties": {
            "method": {"type": "string", "enum": [*METHODS, AGREED]}, "method_title": STR,
            "reason": STR, "commitment": {"type": ["string", "null"]}, "draw_on": DATE,
            "seed": {"type": ["string", "null"]},
            "result": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
            "detail": {"type": ["object", "null"]}, "digest": {"type": ["string", "null"]},
            "decided_at": {"type": ["string", "null"], "format": "date-time"}, "decided_by": STR,
            "verified": {"type": ["boolean", "null"], "description": "以种子复算的结果与记录一致"}}},
        "allocations": {"type": "array", "items": {"type": "object"}},
        "events": {"type": "array", "items": {"type": "object"}},
        "seed_once": {"type": "string", "description": "预告时由系统生成的种子（只返回这一次）"},
        "employer": _ref("EmployerSummary")}}]},
    "BatchInput": {"type": "object", "required": ["jurisdiction", "title", "units", "employers",
                                                  "opens_on", "closes_on"], "properties": {
        "jurisdiction": STR, "title": _required_text(200), "units": NUMBERS,
        "employers": {"type": "array", "minItems": 1, "maxItems": 500, "items": {
            "type": "object", "required": ["credit_code", "name"], "properties": {
                "credit_code": {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$",
                                "description": "统一社会信用代码（GB 32100-2015，校验位）"},
                "name": _required_text(100), "type": {"type": "string", "enum": list(APPLICANTS)}}}},
        "opens_on": {"type": "string", "format": "date"}, "closes_on": {"type": "string", "format": "date"},
        "plan": {"type": "object", "description": "方案内容：" + "、".join(f"{k}（{v}）" for k, v in PLAN_FIELDS.items()),
                 "propertyNames": {"enum": list(PLAN_FIELDS)},
                 "additionalProperties": {"type": "string", "maxLength": 500, "pattern": TEXT}}}},
    "BatchStep": {"type": "object", "required": ["step"], "description": STEP_FIELDS, "properties": {
        "step": {"type": "string", "enum": ["apply", "close", "review", "publicity", "propose", "agree",
                                           "announce", "decide", "report"]},
        "credit_code": STR, "members": NUMBERS, "contact": {"type": "string", "maxLength": 100, "pattern": TEXT},
        "comment": TEXT_FIELD,
        "employer": STR, "approved": {"type": "array", "items": STR},
        "refused": {"type": "object", "additionalProperties": TEXT_FIELD},
        "late_reason": TEXT_FIELD, "starts_on": {"type": "string", "format": "date"},
        "proposal": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "method": {"type": "string", "enum": list(METHODS)}, "reason": TEXT_FIELD,
        "draw_on": {"type": "string", "format": "date"},
        "commitment": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}, "seed": STR,
        "allocation": {"type": "object", "additionalProperties": STR}}},
    "EmployerDossier": {"allOf": [_ref("EmployerSummary"), {"type": "object", "properties": {
        "batch": STR, "metadata": {"type": "object"}, "members": {"type": "array", "items": STR},
        "refused": {"type": "array", "items": {"type": "object"}},
        "documents": {"type": "array", "items": {"type": "object"}},
        "versions": {"type": "array", "items": {"type": "object"}},
        "disposition": _ref("Disposition")}}]},
    # one version in full (GET /api/employers/{no}/versions/{n}), as a household's
    "EmployerVersion": {"allOf": [_ref("VersionSummary"), {"type": "object", "properties": {
        "archive_no": STR, "unmasked": {"type": "boolean"},
        "metadata": {"type": "object", "description": "该版本的单位集体申请档案信息（schemas/employer.yaml）"},
        "state": {"type": ["string", "null"]},
        "manifest": {"type": "array", "items": _ref("ManifestEntry")}}}]},
}


def extend(parts):
    """What collective applications add to the shared schemas: a version recording a step
    of a batch (an employer's, and its member households' and units')."""
    parts["VersionSummary"]["properties"]["action"]["enum"] += ["collective"]

TAGS = ["Collective applications"]


def _query(name, description, schema):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# as views/collective.py reads them (page and per_page as every listing: views/base.py)
EMPLOYER_LISTING = [
    _query("page", "页码（从1开始）", {"type": "integer", "minimum": 1, "maximum": 10 ** 18 - 1, "default": 1}),
    _query("per_page", "每页条数（1到100；超出范围的以422拒绝）",
           {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    _query("sort", "排序字段", {"type": "string", "enum": ["archive_no", "name", "modified"], "default": "archive_no"}),
    _query("order", "排序方向", {"type": "string", "enum": ["asc", "desc"], "default": "asc"}),
    _query("jurisdiction", "按辖区筛选（等于；辖区代码）", {"type": "string", "pattern": PARAM_TEXT}),
    _query("batch", "按批次筛选（等于；批次编号）", {"type": "string", "pattern": PARAM_TEXT}),
    _query("applicant_type", "按单位类型筛选（等于）", {"type": "string", "enum": list(APPLICANTS)}),
]
OPERATIONS = {
    "api_batches": {
        "get": {"summary": "批次租赁方案（单位集体申请），新的在前", "tags": TAGS,
                "responses": {"200": _json({"type": "object", "properties": {
                    "total": {"type": "integer"}, "items": {"type": "array", "items": _ref("BatchSummary")}}}),
                    **_errors(401, 403)}},
        "post": {"summary": "公布批次租赁方案：房源、申请时间、负责集体申请的单位", "tags": TAGS,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BatchInput")}}},
                 "responses": {"201": _json(_ref("Batch"), "已公布（Location 为批次地址）"),
                               **_errors(400, 401, 403, 409, 422)}},
    },
    "api_batch": {"get": {"summary": "批次：申请单位、审核、公示、分配方案、房源租赁数量及复算", "tags": TAGS,
                          "responses": {"200": _json(_ref("Batch")), **_errors(401, 403, 404)}}},
    "api_batch_steps": {"post": {
        "summary": "办理批次的一个步骤（申请、截止、审核、公示、分配方案、协商确定、预告确定方式、确定、报送配租结果）；"
                   "每一步记入批次、每个相关单位档案和住户档案的版本",
        "tags": TAGS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BatchStep")}}},
        "responses": {"200": _json(_ref("Batch"), "已办理"), **_errors(400, 401, 403, 404, 409, 422)}}},
    "api_employers": {"get": {
        "summary": "单位集体申请档案列表（局部角色只见其辖区的档案，总数亦然）", "tags": TAGS,
        "parameters": EMPLOYER_LISTING,
        "responses": {"200": _json({"type": "object", "properties": {
            "total": {"type": "integer"}, "page": {"type": "integer"},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "sort": STR, "order": {"type": "string", "enum": ["asc", "desc"]},
            "filters": {"type": "object", "additionalProperties": STR},
            "items": {"type": "array", "items": {"allOf": [_ref("EmployerSummary"), {"type": "object", "properties": {
                "batch": STR, "jurisdiction": STR, "modified": {"type": "string", "format": "date-time"}}}]}}}}),
            **_errors(401, 403, 422)}}},
    "api_employer": {"get": {"summary": "单位集体申请档案：名册、文件、版本", "tags": TAGS,
                             "responses": {"200": _json(_ref("EmployerDossier")), **_errors(401, 403, 404)}}},
    "api_employer_documents": {"post": {
        "summary": "向单位集体申请档案归档文件（PDF）", "tags": TAGS,
        "requestBody": {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["file", "doc_type", "title"], "properties": {
                "doc_type": {"type": "string", "enum": ["collective_application", "staff_roster",
                                                        "employer_license", "employer_pledge"]},
                "title": _required_text(200),   # blank (spaces, U+0085 …) is a missing title
                "file": {"type": "string", "format": "binary", "contentMediaType": "application/pdf",
                         "description": "PDF文件（未加密、可打开、有页面）"}},
            # a part needs a name; any other part is text the server ignores (views/input.py)
            "propertyNames": {"minLength": 1}, "additionalProperties": {"type": "string", "pattern": TEXT}},
            "encoding": {"file": {"contentType": "application/pdf"}}}}},
        "responses": {"201": _json(_ref("EmployerDossier"), "已归档"), **_errors(400, 401, 403, 404, 413, 422)}}},
    # an employer's paper volume stands in a box like any dossier's (views/custody.py)
    **{name.replace("api_", "api_employer_"): _custody_operations(TAGS)[name]
       for name in ("api_place", "api_volume", "api_labels", "api_bind")},
    # its holds and appraisals (views/disposition.py), as any dossier's
    **{name.replace("api_dossier_", "api_employer_"): ops
       for name, ops in _disposition_operations(TAGS).items()},
    # its versions, compared and restored (views/api.py), as a household's
    **{name.replace("api_", "api_employer_"): ops
       for name, ops in _version_operations(TAGS, "EmployerVersion", "EmployerDossier").items()},
}
