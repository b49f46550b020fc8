"""The OpenAPI description of full-text search (GET /api/search)."""
from __future__ import annotations

from ..search.fields import FACETS
from ..search.query import MAX_PER_PAGE, MAX_QUERY, SORTS
from .openapi_text import PARAM_NOT_BLANK, PARAM_TEXT


def _param(name, description, schema, required=False):
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema}


SCHEMAS = {
    "SearchHit": {"type": "object", "properties": {
        "key": {"type": "string", "description": "household/档号、unit/档号、employer/档号 或 …/文件编号"},
        "kind": {"type": "string", "enum": ["household", "unit", "employer", "document"]},
        "archive_no": {"type": "string"}, "doc_id": {"type": ["string", "null"]},
        "title": {"type": "string"},
        "snippet": {"type": "string", "description": "HTML：命中词以 <mark> 标出；身份证号、手机号已脱敏"},
        "page": {"type": ["integer", "null"], "description": "文件中首个命中词所在的页码"},
        "date": {"type": ["string", "null"],
                 "description": "文件日期或档案修改时间（ISO 8601，如 2026-03-02T00:00:00，不带时区）"},
        "score": {"type": "number"},
        "facets": {"type": "object", "additionalProperties": {"type": "string"}},
        "links": {"type": "object", "properties": {
            "dossier": {"type": "string", "format": "uri"},
            "file": {"type": "string", "format": "uri", "description": "打开文件并定位到命中页"}}}}},
    "SearchResults": {"type": "object", "properties": {
        "q": {"type": "string"}, "total": {"type": "integer"}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "pages": {"type": "integer"},
        "sort": {"type": "string", "enum": list(SORTS)}, "runtime_ms": {"type": "number"},
        "hits": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}},
        "facets": {"type": "object", "description": "各分面的取值与命中数（多的在前）",
                   "properties": {name: {"type": "array", "items": {"type": "object", "properties": {
                       "value": {"type": "string"}, "title": {"type": "string"},
                       "count": {"type": "integer"}}}} for name in FACETS}}}},
}

OPERATIONS = {"api_search": {"get": {
    "summary": "全文检索：住户、房源档案及其文件（中文分词、短语、AND/OR/NOT、字段:值）",
    "tags": ["Search"],
    "parameters": [
        _param("q", "检索式，如 王秀英、\"人均月收入\"、承诺书 NOT 撤回、类型:收入证明 辖区:曲靖、"
                    "身份证号、手机号或档号。须含有可检索的词（字母、数字或汉字）；无法回答的检索式"
                    "（只有标点、未知字段、无法解析）以400说明原因",
               {"type": "string", "minLength": 1, "maxLength": MAX_QUERY, "pattern": PARAM_NOT_BLANK},
               required=True),
        _param("sort", "排序：relevance（相关度）或 date（日期，新的在前）",
               {"type": "string", "enum": list(SORTS), "default": "relevance"}),
        _param("page", "页码（1到10000）", {"type": "integer", "minimum": 1, "maximum": 10000,
                                          "default": 1}),
        _param("per_page", f"每页条数（最多{MAX_PER_PAGE}）",
               {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20}),
        *[_param(name, f"按分面 {name} 筛选（取分面中的 value）", {"type": "string", "pattern": PARAM_TEXT})
          for name in FACETS],
    ],
    "responses": {"200": {"description": "成功", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/SearchResults"}}}},
        "400": {"$ref": "#/components/responses/400"},
        "401": {"$ref": "#/components/responses/401"},
        "403": {"$ref": "#/components/responses/403"}}}}}
