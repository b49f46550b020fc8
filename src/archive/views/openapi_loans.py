"""The OpenAPI description of controlled use (/api/loans…): views/loans.py."""
from __future__ import annotations

from ..custody.loans import MAX_ITEMS, STATES, USES
from .base import DEFAULT_PER_PAGE, MAX_PER_PAGE
from .openapi_text import NOT_BLANK, PARAM_TEXT, TEXT
from .openapi_text import ref as _ref, errors as _errors, json_answer as _json


STR = {"type": "string"}
NULL_TEXT = {"type": ["string", "null"]}
WHEN = {"type": ["string", "null"], "format": "date-time"}
PATH_PARAMS = {"loan_id": {"name": "loan_id", "in": "path", "required": True,
                           "description": "借阅单的编号（申请时给出的 id）或借阅单号（如 JY-2026-00001）",
                           "schema": {"type": "string", "pattern": PARAM_TEXT}}}


def schemas(vocabularies) -> dict:
    """The loan schemas; purposes and forms are the vocabularies' codes (schemas/vocabularies.yaml)."""
    purposes, forms = vocabularies["loan_purposes"], vocabularies["loan_forms"]
    return {
        "LoanItem": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["household", "unit"]}, "archive_no": STR,
            "doc_id": {**NULL_TEXT, "description": "文件编号；整份档案为 null"}, "title": STR,
            "href": {"type": ["string", "null"], "format": "uri",
                     "description": "借阅单有效期内，利用者本人查阅（加水印）的地址；其他情况为 null"}}},
        "LoanUse": {"type": "object", "properties": {
            "when": {"type": "string", "format": "date-time"}, "actor": STR,
            "action": {"type": "string", "enum": list(USES)}, "title": STR,
            "archive_no": NULL_TEXT, "doc_id": NULL_TEXT, "detail": STR}},
        "Loan": {"type": "object", "properties": {
            "id": STR, "number": {**NULL_TEXT, "description": "借阅单号（JY-年度-序号）；提交后由后台在片刻内编号，此前为 null"},
            "borrower": STR, "borrower_name": STR,
            "purpose": {"type": "string", "enum": purposes.codes()}, "purpose_title": STR,
            "form": {"type": "string", "enum": forms.codes()}, "form_title": STR,
            "end": {"type": "string", "format": "date"}, "unmasked": {"type": "boolean"}, "note": STR,
            "requested": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": ["requested", "approved", "refused"]},
            "status": {"type": "string", "enum": list(STATES),
                       "description": "；".join(f"{k} {zh}" for k, (zh, _) in STATES.items())},
            "status_title": STR, "decided_by": NULL_TEXT, "decided_at": WHEN, "decision": NULL_TEXT,
            "lent_by": NULL_TEXT, "lent_at": WHEN, "returned_by": NULL_TEXT, "returned_at": WHEN,
            "href": {"type": "string", "format": "uri"}, "html": {"type": "string", "format": "uri"},
            "items": {"type": "array", "items": _ref("LoanItem")},
            "uses": {"type": "array", "items": _ref("LoanUse"), "description": "利用记录（仅单个借阅单）"}}},
        "LoanList": {"type": "object", "properties": {
            "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "items": {"type": "array", "items": _ref("Loan")}}},
        "LoanInput": {"type": "object", "required": ["items", "purpose", "form", "end"], "properties": {
            "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                      "description": "借阅的档案或文件；不存在的档案、文件和已撤出的文件以400拒绝",
                      "items": {"anyOf": [
                          {"type": "string", "minLength": 1, "pattern": TEXT, "description": "档号，或“档号/文件编号”"},
                          {"type": "object", "required": ["archive_no"], "properties": {
                              "archive_no": {"type": "string", "minLength": 1, "pattern": TEXT},
                              "doc_id": {"type": ["string", "null"], "pattern": TEXT}}}]}},
            "purpose": {"type": "string", "enum": purposes.codes(),
                        "description": "；".join(f"{t.code} {t.zh}" for t in purposes.terms)},
            "form": {"type": "string", "enum": forms.codes(),
                     "description": "；".join(f"{t.code} {t.zh}" for t in forms.terms) +
                                    "。外借以整份档案为单位"},
            "end": {"type": "string", "format": "date",
                    "description": "利用截止日期（含当天）：不得早于今天，不得超过一年，否则以400拒绝"},
            "unmasked": {"type": "boolean", "default": False, "description": "需要未脱敏的个人信息（每次查看记入审计日志）"},
            "note": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT,
                     "description": "利用说明；目的为 other 时必填"}}},
        "LoanDecision": {"type": "object", "properties": {
            "comment": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT, "description": "审批意见"}}},
        "LoanRefusal": {"type": "object", "required": ["reason"], "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": NOT_BLANK,
                       "description": "不予利用的理由（必填）"}}},
    }


def _step(summary, body=None, required=False):
    op = {"summary": summary, "tags": ["Loans"],
          "responses": {"200": _json(_ref("Loan")), **_errors(400, 401, 403, 404, 409)}}
    if body:
        op["requestBody"] = {"required": required, "content": {"application/json": {"schema": _ref(body)}}}
    return {"post": op}


OPERATIONS = {
    "api_loans": {
        "get": {"summary": "借阅单：审批人（lend）看全部，利用者看自己的（新的在前）", "tags": ["Loans"],
                "description": "see_loans 即持有 lend 或 borrow 权限的角色。",
                "parameters": [
                    {"name": "status", "in": "query", "required": False,
                     "description": "只列出此状态的借阅单（未知状态以422拒绝）",
                     "schema": {"type": "string", "enum": list(STATES)}},
                    {"name": "page", "in": "query", "required": False, "description": "页码（从1开始）",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 10 ** 18 - 1, "default": 1}},
                    {"name": "per_page", "in": "query", "required": False,
                     "description": f"每页条数（1到{MAX_PER_PAGE}；超出范围的以422拒绝）",
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                                "default": DEFAULT_PER_PAGE}}],
                "responses": {"200": _json(_ref("LoanList")), **_errors(401, 403, 422)}},
        "post": {"summary": "申请利用档案（利用者）：借阅单号在提交后片刻内编出", "tags": ["Loans"],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("LoanInput")}}},
                 "responses": {"201": _json(_ref("Loan"), "已提交（Location 为该借阅单）"),
                               **_errors(400, 401, 403)}},
    },
    "api_loan": {
        "get": {"summary": "一张借阅单及其利用记录（利用者本人或审批人）", "tags": ["Loans"],
                "description": "see_loan 即该借阅单的利用者本人或持有 lend 权限的角色；借阅单不存在时为404。",
                "responses": {"200": _json(_ref("Loan")), **_errors(401, 403, 404)}},
    },
    "api_loan_approve": _step("批准利用申请（不能审批自己的申请：403；已审批：409）", "LoanDecision"),
    "api_loan_refuse": _step("不予利用（须说明理由；已审批：409）", "LoanRefusal", required=True),
    "api_loan_lend": _step("借出纸质档案（已批准的外借；记录经办人和时间）"),
    "api_loan_return": _step("归还纸质档案（未借出的以409拒绝）"),
}
