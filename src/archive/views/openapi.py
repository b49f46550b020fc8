"""GET /api/openapi.json: an OpenAPI 3.1 description of the JSON API, built from the app.

Nothing about the data is written twice: paths come from the registered routes (one
concrete path per dossier kind), each operation's permission from the view registered
for it, and the metadata schemas from the compiled FieldSpecs and vocabularies, so a
field or term added in schemas/*.yaml shows here without code. What is written here is
the prose and the shape of the answers; tests/functional/test_api.py checks that every
API route and method is described and nothing else.
"""
from __future__ import annotations

import copy
import re

from pyramid.interfaces import IRoutesMapper
from pyramid.view import view_config

from . import (openapi_audit, openapi_custody, openapi_health, openapi_history, openapi_loans,
               openapi_search, openapi_versions, openapi_workflow)
from ..access.local import NARROWED
from ..records.attempts import OUTCOMES
from . import openapi_disposition
from . import openapi_collective
from ..schema.validators import CEILING
from ..records.intake import CATEGORIES as INTAKE_CATEGORIES, CHECKS as INTAKE_CHECKS
from .base import DEFAULT_PER_PAGE, KIND_OF, MAX_PER_PAGE
from .openapi_text import BLANK, NOT_BLANK, PARAM_TEXT, TEXT
from .openapi_text import ref as _ref, errors as _errors

TITLES = {"household": "Household", "unit": "Unit"}
LOCAL_NOTE = ("。局部角色（如 archivist@qujing，只在某辖区或某份档案持有的角色）也可使用：只列出、只计其辖区的"
              "档案（总数、分项计数同样只计这些）；涉及辖区以外档案的查看或操作返回 403，error 说明原因")
_PLACEHOLDER = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})+))?\}")
ERROR_RESPONSES = {
    "400": "请求有误：请求本身无法读取（地址、参数或正文不是UTF-8，含控制字符或不成对的代理项，"
           "JSON无法解析，表单格式不正确），文件不是可接收的PDF，或档案拒绝此操作",
    "401": "需要登录或提供有效的API令牌",
    "403": "您的角色无权执行此操作",
    "404": "档案、文件、版本或接口不存在",
    "405": "不支持此请求方法",
    "409": "没有修改任何内容（或该版本就是当前版本）",
    "413": "文件大小超过上限",
    "422": "输入有误：errors 按字段路径给出中文说明",
}


# -- introspection ------------------------------------------------------------------------
def route_views(registry, route_name):
    """(methods or None, permission) of every view registered for a route."""
    introspector = registry.introspector
    out = []
    for item in introspector.get_category("views") or ():
        intr = item["introspectable"]
        if intr["route_name"] != route_name:
            continue
        methods = intr["request_methods"]
        if isinstance(methods, str):
            methods = (methods,)
        permission = next((r["value"] for r in item["related"]
                           if r.category_name == "permissions"), None)
        out.append((set(methods) - {"HEAD"} if methods else None, permission))
    return out


def route_methods(registry, route_name) -> set:
    """The HTTP methods some view of the route answers (HEAD left out)."""
    return {m for methods, _ in route_views(registry, route_name) for m in methods or ()}


def _permission(registry, route_name, method):
    for methods, permission in route_views(registry, route_name):
        if methods and method.upper() in methods:
            return permission
    return None


def openapi_paths(pattern):
    """[(OpenAPI path, kind or None)] for a route pattern; {kind:...} becomes one path per kind."""
    kinds = [None]
    match = re.search(r"\{kind:([^}]+)\}", pattern)
    if match:
        kinds = match.group(1).split("|")
    out = []
    for kind in kinds:
        path = pattern.replace(match.group(0), kind) if kind else pattern
        out.append((_PLACEHOLDER.sub(lambda m: "{%s}" % m.group(1), path),
                    KIND_OF[kind] if kind else None))
    return out


# -- schemas from the compiled metadata schemas --------------------------------------------
# What the server takes for a phone number (archive.schema.validators.phone): a mobile number or a
# landline with its area code; spaces anywhere are ignored, blanks around it too.
PHONE = (r"^[ \t\r\n]*(1 *[3-9]( *[0-9]){9}|0( *[0-9]){2,3} *-?( *[0-9]){7,8}"
         r"( *- *[0-9]( *[0-9]){0,5})?)[ \t\r\n]*$")


def field_schema(spec, vocabularies, strict=False) -> dict:
    """A JSON Schema for one FieldSpec.

    ``strict`` describes what a request must send (the server's checks: no blank required
    text, the shape of a phone number, null for an empty optional field); without it, what
    a response shows, where personal data is masked (``138****5678``) and so has no shape."""
    out = {"title": spec.label("zh"), "x-title-en": spec.label("en"), "x-field-type": spec.type}
    if spec.description:
        out["description"] = spec.description.get("zh") or ""
    if spec.personal:
        out["x-personal"] = True
        out["description"] = (out.get("description", "") + " 个人信息：响应中脱敏显示，"
                              "有 view_personal 权限者加 ?unmask=1 可查看原值（留痕）").strip()
    if spec.type == "mapping":
        out.update(object_schema(spec.fields, vocabularies, strict))
        return out
    if spec.type == "sequence":
        out.update(type="array", items=field_schema(spec.item, vocabularies, strict))
        return out
    t = spec.type
    enum = None
    if t in ("string", "text", "phone", "id_number"):
        out["type"] = "string"
        if spec.max_length:
            out["maxLength"] = spec.max_length
        if t == "id_number":
            out["format"] = "gb11643"
            out.setdefault("description", "18位居民身份证号码（GB 11643：地区码、出生日期、校验码必须正确；"
                                          "末位x按X、全角数字按半角、空格忽略）")
        if t == "phone":
            out["description"] = ("11位手机号码，或带区号的固定电话（如 0519-88886666），"
                                  "其中的空格忽略")
            if strict:
                out["pattern"] = PHONE if spec.required else BLANK + "|" + PHONE
        if strict and spec.required:
            out["minLength"] = 1
            out.setdefault("pattern", NOT_BLANK)
        elif strict:
            out.setdefault("pattern", TEXT)
    elif t == "date":
        out.update(type="string", format="date")
        if strict and not spec.required:
            del out["format"]
            out["anyOf"] = [{"format": "date"}, {"pattern": BLANK}]
    elif t in ("money", "area", "integer"):
        out["type"] = "integer" if t == "integer" else "number"
        out["minimum"] = spec.min if spec.min is not None else 0
        # validators.Quantity: the field's own limit, and never beyond CEILING (1 万亿)
        out["maximum"] = spec.max if spec.max is not None else CEILING
    elif t == "choice":
        vocab = vocabularies[spec.vocabulary]
        enum = vocab.codes() + ([] if spec.required else [""])
        out.update(type="string", enum=enum,
                   **{"x-vocabulary": vocab.name,
                      "x-enum-titles": {term.code: term.zh for term in vocab.terms}})
    elif t == "multichoice":
        vocab = vocabularies[spec.vocabulary]
        out.update(type="array", uniqueItems=True,
                   items={"type": "string", "enum": vocab.codes()},
                   **{"x-vocabulary": vocab.name,
                      "x-enum-titles": {term.code: term.zh for term in vocab.terms}})
    if spec.default is not None:
        out["default"] = spec.default
    if not spec.required:
        out["type"] = [out["type"], "null"]
        if enum is not None:
            out["enum"] = enum + [None]
    return out


def object_schema(specs, vocabularies, strict=False) -> dict:
    out = {"type": "object",
           "properties": {s.name: field_schema(s, vocabularies, strict) for s in specs}}
    # a mapping (e.g. applicant) is required as a whole; its own fields say what it needs
    required = [s.name for s in specs if s.required or s.type == "mapping"]
    if required:
        out["required"] = required
    return out


def metadata_schema(schema, strict=False) -> dict:
    out = object_schema(schema.fields, schema.vocabularies, strict)
    out["title"] = schema.title.get("zh")
    out["x-title-en"] = schema.title.get("en")
    if schema.rules:
        out["x-rules"] = list(schema.rules)
    return out


COMMENT = {"type": ["string", "null"], "title": "修改说明", "description": "为何建档或修改（记入版本）",
           "pattern": TEXT}
# a text the server requires: blanks alone count as missing
REQUIRED_TEXT = {"type": "string", "minLength": 1, "pattern": NOT_BLANK}
REQUIRED_COMMENT = {**COMMENT, **REQUIRED_TEXT}
# The formats filing accepts (records.formats), told by their bytes: PDF, OFD (GB/T 33190)
# and a scan's or photo's image; each but a PDF with text gains a PDF/A access copy.
ACCEPTED_TYPES = ("application/pdf", "application/ofd", "image/jpeg", "image/png", "image/tiff")
PDF = {"type": "string", "format": "binary",
       "description": "PDF、OFD版式文件或扫描图像（JPEG、PNG、多页TIFF）：未加密、可打开、有页面；"
                      "格式以文件内容判断，文件名取自上传的文件。扫描件、图像和OFD归档后由后台生成"
                      "带文字层的PDF/A利用副本（?copy=access）"}
MULTIPART_PDF = {"file": {"contentType": ", ".join(ACCEPTED_TYPES)}}
# a form part needs a name (views/input.py refuses a part without one)
PART_NAME = {"minLength": 1}
# any other part is text the server ignores (still refused if it holds control characters)
OTHER_PARTS = {"type": "string", "pattern": TEXT}
RULES = {"unique_id_numbers": "同一身份证号码在一户中只能出现一次",
         "birth_date_matches_id_number": "填写的出生日期须与身份证号码中的一致",
         "applicant_adult": "申请人须年满18周岁"}


def _form_field(spec, vocabularies):
    """A metadata field as a multipart/form-data part: text, never null."""
    out = field_schema(spec, vocabularies, strict=True)
    if isinstance(out["type"], list):
        out["type"] = "string"
    if "enum" in out:
        out["enum"] = [v for v in out["enum"] if v is not None]
    return out


def _doc_types_of(vocabularies, kind):
    """The document types a dossier of ``kind`` takes (filing.check_document_type)."""
    return [t.code for t in vocabularies["document_types"].terms
            if t.extra.get("kind") in (kind, "both")]
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_INT = {"type": ["integer", "null"]}


def components(registry) -> dict:
    archive = registry.archive_schemas
    s = {
        "Error": {"type": "object", "required": ["error", "status"], "properties": {
            "error": {"type": "string", "description": "给人看的中文说明"},
            "status": {"type": "integer"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "字段路径（如 applicant.id_number、members.0.name、file）"
                                      " → 中文说明，说明以字段名称开头"}}},
        "DocumentMetadata": metadata_schema(archive["document"]),
        "FileUpload": {"type": "object", "required": ["file"], "properties": {
            "comment": {"type": "string", "title": "修改说明", "pattern": TEXT}, "file": PDF},
            "propertyNames": PART_NAME, "additionalProperties": OTHER_PARTS},
        "Withdrawal": {"type": "object", "required": ["reason"], "properties": {
            "reason": {**REQUIRED_TEXT, "title": "撤出原因"}}},
        "Restore": {"type": "object", "required": ["version", "comment"], "properties": {
            "version": {"type": "integer", "minimum": 1, "title": "恢复到的版本号"},
            "comment": REQUIRED_COMMENT}},
        "FileRevision": {"type": "object", "properties": {
            "number": {"type": "integer"}, "filename": {"type": "string"},
            "content_type": {"type": "string"}, "size": {"type": "integer"},
            "sha256": {"type": "string"}, "pages": {"type": "integer"},
            "sm3": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$",
                    "description": "SM3杂凑值（GB/T 32905），归档时记录；升级前归档且尚未补算的文件为 null"},
            "filed_at": DATETIME, "filed_by": {"type": "string"},
            "intake": {"type": "array", "description": "接收检测（DA/T 70-2018）：归档或导入时逐项检测的结果",
                       "items": {"type": "object", "required": ["check", "title", "passed", "category", "detail"],
                                 "properties": {
                                     "check": {"type": "string", "enum": list(INTAKE_CHECKS)},
                                     "title": {"type": "string"}, "passed": {"type": "boolean"},
                                     "category": {"type": "string", "enum": list(INTAKE_CATEGORIES),
                                                  "description": "四性：真实性、完整性、可用性、安全性"},
                                     "detail": {"type": "string"}}}},
            "text_status": {"type": "string", "enum": ["pending", "done", "failed", "ocr_pending",
                                                       "ocr_done", "ocr_failed"],
                            "description": "文字层（全文检索用）在提交后由后台读取；"
                                           "没有文字层的扫描件随后由后台OCR识别"},
            "text_source": {"type": "string", "enum": ["layer", "ocr", "ofd"],
                            "description": "文本来源：PDF自带的文字层，OCR识别，或OFD文件中的文字"},
            "text_error": {"type": "string", "description": "OCR识别失败的原因"},
            "access_copy": {"type": ["object", "null"],
                            "description": "利用副本：扫描件、图像和OFD归档后由后台生成的PDF（扫描件和图像为带"
                                           "OCR文字层的PDF/A-2b）；原件不变。尚未生成或无需生成时为 null",
                            "required": ["size", "sha256", "pages", "pdfa", "href"],
                            "properties": {"size": {"type": "integer"},
                                           "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                           "pages": {"type": "integer"},
                                           "pdfa": {"type": "string", "description": "PDF/A 部分与级别，如 2B；空串为普通PDF"},
                                           "href": {"type": "string", "format": "uri"}}},
            "current": {"type": "boolean"}, "href": {"type": "string", "format": "uri"}}},
        "Document": {"type": "object", "properties": {
            "doc_id": {"type": "string"}, "metadata": _ref("DocumentMetadata"),
            "withdrawn": {"type": "boolean"}, "withdraw_reason": {"type": "string"},
            "current_file": NULLABLE_INT,
            "files": {"type": "array", "items": _ref("FileRevision")},
            "links": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "DocumentList": {"type": "object", "properties": {
            "archive_no": {"type": "string"}, "total": {"type": "integer"},
            "items": {"type": "array", "items": _ref("Document")}}},
        "ManifestEntry": {"type": ["object", "null"], "properties": {
            "doc_id": {"type": "string"}, "file_no": {"type": "integer"},
            "sha256": {"type": "string"}, "metadata": _ref("DocumentMetadata"),
            "withdrawn": {"type": "boolean"}, "reason": {"type": "string"}}},
        "VersionSummary": {"type": "object", "properties": {
            "number": {"type": "integer"}, "when": DATETIME, "actor": {"type": "string"},
            "comment": {"type": "string"}, "action": {"type": "string", "enum": [
                "created", "edited", "filed", "refiled", "document_edited", "withdrawn",
                "restored", "transition", "lease", "adopted"]},
            "action_title": {"type": "string"}, "restored_from": NULLABLE_INT}},
        "VersionList": {"type": "object", "properties": {
            "archive_no": {"type": "string"}, "total": {"type": "integer"},
            "items": {"type": "array", "items": _ref("VersionSummary")}}},
        "Diff": {"type": "object", "properties": {
            "archive_no": {"type": "string"}, "from": {"type": "integer"},
            "to": {"type": "integer"}, "unmasked": {"type": "boolean"},
            "fields": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string"}, "title": {"type": "string"}, "old": {}, "new": {}}}},
            "documents": {"type": "array", "items": {"type": "object", "properties": {
                "doc_id": {"type": "string"},
                "change": {"type": "string", "enum": ["added", "removed", "withdrawn",
                                                      "reinstated", "file", "metadata"]},
                "fields": {"type": "array", "items": {"type": "string"}},
                "old": _ref("ManifestEntry"), "new": _ref("ManifestEntry")}}}}},
    }
    for kind, title in TITLES.items():
        schema = archive[kind]
        s[f"{title}Metadata"] = metadata_schema(schema)
        strict = metadata_schema(schema, strict=True)
        strict["title"] = f"{strict['title']}（提交）"
        if schema.rules:
            strict["description"] = "另须满足：" + "；".join(RULES.get(r, r) for r in schema.rules)
        s[f"{title}MetadataInput"] = strict
        s[f"{title}Input"] = {"allOf": [_ref(f"{title}MetadataInput"), {
            "type": "object", "properties": {"comment": COMMENT}}]}
        s[f"{title}Edit"] = {"allOf": [_ref(f"{title}MetadataInput"), {
            "type": "object", "required": ["comment"],
            "properties": {"comment": REQUIRED_COMMENT}}]}
        # a document's description as this kind of dossier takes it (its own document types)
        document = metadata_schema(archive["document"], strict=True)
        document["properties"]["doc_type"]["enum"] = _doc_types_of(archive.vocabularies, kind)
        s[f"{title}DocumentInput"] = {**document, "properties": {
            **document["properties"], "comment": COMMENT}}
        fields = {spec.name: _form_field(spec, archive.vocabularies)
                  for spec in archive["document"].fields}
        fields["doc_type"]["enum"] = _doc_types_of(archive.vocabularies, kind)
        for part in (document["properties"]["doc_type"], fields["doc_type"]):
            part["x-enum-titles"] = {c: t for c, t in part["x-enum-titles"].items()
                                     if c in part["enum"]}
        s[f"{title}DocumentUpload"] = {
            "type": "object", "title": f"归档到{schema.title['zh']}的文件",
            "propertyNames": PART_NAME, "additionalProperties": OTHER_PARTS,
            "properties": {**fields, "comment": {"type": "string", "title": "修改说明", "pattern": TEXT},
                           "file": PDF},
            "required": ["file"] + [spec.name for spec in archive["document"].fields
                                    if spec.required]}
        columns = {p: {"title": schema.field_title(p)} for p in schema.listing.get("columns", ())}
        s[f"{title}Summary"] = {"type": "object", "properties": {
            "archive_no": {"type": "string"}, "kind": {"const": kind},
            "title": {"type": "string"}, "version": {"type": "integer"},
            "created": DATETIME, "modified": DATETIME,
            "columns": {"type": "object", "properties": columns},
            "href": {"type": "string", "format": "uri"}}}
        s[f"{title}List"] = {"type": "object", "properties": {
            "total": {"type": "integer"}, "page": {"type": "integer"},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "sort": {"type": "string"},
            "order": {"enum": ["asc", "desc"]}, "filters": {"type": "object"},
            "items": {"type": "array", "items": _ref(f"{title}Summary")}}}
        s[f"{title}Dossier"] = {"type": "object", "properties": {
            "archive_no": {"type": "string", "title": "档号"}, "kind": {"const": kind},
            "title": {"type": "string"}, "version": {"type": "integer", "title": "当前版本号"},
            "created": DATETIME, "created_by": {"type": "string"}, "modified": DATETIME,
            "unmasked": {"type": "boolean"}, "metadata": _ref(f"{title}Metadata"),
            "documents": {"type": "array", "items": _ref("Document")},
            "linked": {"type": "array", "items": {"type": "object", "properties": {
                "archive_no": {"type": "string"}, "kind": {"type": "string"},
                "title": {"type": "string"}, "href": {"type": "string"}}}},
            "links": {"type": "object", "additionalProperties": {"type": "string"}}}}
        s[f"{title}Version"] = {"allOf": [_ref("VersionSummary"), {
            "type": "object", "properties": {
                "archive_no": {"type": "string"}, "unmasked": {"type": "boolean"},
                "metadata": _ref(f"{title}Metadata"),
                "manifest": {"type": "array", "items": _ref("ManifestEntry")}}}]}
    return {
        "schemas": s,
        "responses": {code: {"description": text, "content": {
            "application/json": {"schema": _ref("Error")}}}
            for code, text in ERROR_RESPONSES.items()},
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "管理员在“用户”页面为用户签发的API令牌；令牌请求无需CSRF令牌"}},
    }


# -- operations ------------------------------------------------------------------------------
def _param(name, where, description, schema=None, required=False):
    return {"name": name, "in": where, "required": required or where == "path",
            "description": description, "schema": schema or {"type": "string", "pattern": PARAM_TEXT}}


UNMASK_PARAM = _param("unmask", "query", "1 = 显示未脱敏的个人信息（需 view_personal 权限，记入审计日志）；"
                      "其他值或无此权限时照常脱敏", {"type": "string", "pattern": PARAM_TEXT,
                                                          "examples": ["1"]})


def page_params(default=DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE, name="per_page"):
    """page and per_page as views/api.py reads them: out of range is a 422, never cut."""
    return [
        _param("page", "query", "页码（从1开始）", {"type": "integer", "minimum": 1, "maximum": 10 ** 18 - 1, "default": 1}),
        _param(name, "query", f"每页条数（1到{maximum}；超出范围的以422拒绝）",
               {"type": "integer", "minimum": 1, "maximum": maximum, "default": default})]
PATH_PARAMS = {
    "no": _param("no", "path", "档号"),
    "doc": _param("doc", "path", "文件编号（如 D0001）"),
    "n": _param("n", "path", "版本号", {"type": "integer", "minimum": 1}),
}


def _json(ref):
    return {"content": {"application/json": {"schema": _ref(ref)}}}


def _body(ref, media="application/json", encoding=None):
    content = {"schema": _ref(ref)}
    if encoding:
        content["encoding"] = encoding
    return {"required": True, "content": {media: content}}


def _ok(ref, description="成功", status="200"):
    return {status: {"description": description, **_json(ref)}}


def _listing_params(schema):
    vocab = schema.vocabularies
    params = [
        *page_params(),
        _param("sort", "query", "排序字段", {"type": "string", "enum": list(schema.listing.get(
            "sort", ())), "default": "archive_no"}),
        _param("order", "query", "排序方向", {"type": "string", "enum": ["asc", "desc"],
                                           "default": "asc"}),
    ]
    for path in schema.listing.get("filters", ()):
        spec = schema.spec(path)
        filt = {"type": "string", "pattern": PARAM_TEXT}
        if spec is not None and spec.vocabulary:
            filt["enum"] = vocab[spec.vocabulary].codes()
        params.append(_param(path, "query", f"按“{schema.field_title(path)}”筛选（等于）", filt))
    return params


def operations(kind, schema):
    """{route name: {method: operation}} for one kind of dossier (Household / Unit)."""
    T = TITLES[kind]
    tag = [f"{T} dossiers"]
    return {
        "api_dossiers": {
            "get": {"summary": f"{schema.title['zh']}列表", "tags": tag,
                    "parameters": _listing_params(schema),
                    "responses": {**_ok(f"{T}List"), **_errors(401, 403, 422)}},
            "post": {"summary": f"新建{schema.title['zh']}（建档）", "tags": tag,
                     "parameters": [UNMASK_PARAM], "requestBody": _body(f"{T}Input"),
                     "responses": {**_ok(f"{T}Dossier", "已建档（Location 为新档案地址）", "201"),
                                   **_errors(400, 401, 403, 422)}},
        },
        "api_dossier": {
            "get": {"summary": "档案详情", "tags": tag, "parameters": [UNMASK_PARAM],
                    "responses": {**_ok(f"{T}Dossier"), **_errors(401, 403, 404)}},
            "put": {"summary": "修改档案信息（完整元数据，生成新版本）", "tags": tag,
                    "parameters": [UNMASK_PARAM], "requestBody": _body(f"{T}Edit"),
                    "responses": {**_ok(f"{T}Dossier"), **_errors(400, 401, 403, 404, 409, 422)}},
        },
        "api_documents": {
            "get": {"summary": "档案中的文件", "tags": tag,
                    "responses": {**_ok("DocumentList"), **_errors(401, 403, 404)}},
            "post": {"summary": "归档文件（上传PDF、OFD或扫描图像）", "tags": tag,
                     "requestBody": _body(f"{T}DocumentUpload", "multipart/form-data",
                                          MULTIPART_PDF),
                     "responses": {**_ok("Document", "已归档（Location 为文件地址）", "201"),
                                   **_errors(400, 401, 403, 404, 413, 422)}},
        },
        "api_document": {
            "get": {"summary": "文件详情（含各次上传的文件）", "tags": tag,
                    "responses": {**_ok("Document"), **_errors(401, 403, 404)}},
            "put": {"summary": "修改文件信息", "tags": tag, "requestBody": _body(f"{T}DocumentInput"),
                    "responses": {**_ok("Document"), **_errors(400, 401, 403, 404, 409, 422)}},
        },
        "api_document_content": {
            "get": {"summary": "文件内容（原件或利用副本）", "tags": tag, "parameters": [
                _param("file", "query", "文件版本号；缺省为当前文件",
                       {"type": "integer", "minimum": 1}),
                _param("copy", "query", "access = 利用副本（PDF；尚未生成时 404）；缺省为归档的原件",
                       {"type": "string", "enum": ["access"]}),
                _param("download", "query", "1 = 作为附件下载", {"type": "string"})],
                "responses": {"200": {
                    "description": "归档的原件（格式如其归档时）或利用副本（PDF）；X-Content-SHA256 头为其SHA-256",
                    "headers": {"X-Content-SHA256": {"schema": {"type": "string"}}},
                    "content": {t: {"schema": {"type": "string", "contentMediaType": t}}
                                for t in ACCEPTED_TYPES}},
                    **_errors(401, 403, 404)}},
        },
        "api_document_files": {
            "post": {"summary": "替换文件（上传新的文件，原文件保留）", "tags": tag,
                     "requestBody": _body("FileUpload", "multipart/form-data", MULTIPART_PDF),
                     "responses": {**_ok("Document", "已替换（Location 为新文件内容地址）", "201"),
                                   **_errors(400, 401, 403, 404, 409, 413)}},
        },
        "api_document_withdraw": {
            "post": {"summary": "撤出文件（须说明原因）", "tags": tag,
                     "requestBody": _body("Withdrawal"),
                     "responses": {**_ok("Document"), **_errors(400, 401, 403, 404, 409, 422)}},
        },
        **openapi_versions.kind_operations(tag, f"{T}Version", f"{T}Dossier"),
    }


OPENAPI_OPERATIONS = {"api_openapi": {"get": {
    "summary": "本接口的 OpenAPI 3.1 描述", "tags": ["Meta"], "security": [],
    "responses": {"200": {"description": "OpenAPI 文档",
                          "content": {"application/json": {"schema": {"type": "object"}}}}}}}}


# -- lottery (摇号): /api/lotteries, views/lottery.py -------------------------------------------
PATH_PARAMS["lottery_id"] = _param("lottery_id", "path", "摇号批次编号（如 YH-CZ-2026-001）")
_NULLABLE = lambda schema: {**schema, "type": [schema["type"], "null"]}  # noqa: E731
_DATE = {"type": "string", "format": "date"}
_HEX64 = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}
_LOTTERY_SUMMARY = {"type": "object", "properties": {
    "lottery_id": {"type": "string"}, "jurisdiction": {"type": "string"},
    "state": {"type": "string", "enum": ["announced", "drawn", "superseded"],
              "description": "announced 已预告待摇号；drawn 已摇号；superseded 已重新摇号（本批次作废，记录保留）"},
    "draw_on": {"type": ["string", "null"], "format": "date", "description": "预告的摇号日期"},
    "when": {"type": ["string", "null"], "format": "date-time", "description": "摇号时间；未摇号为 null"},
    "actor": {"type": ["string", "null"], "description": "摇号人"},
    "households": {"type": "integer", "description": "本批次（预告时确定）的户数"},
    "digest": {"type": ["string", "null"], "description": "输入与结果的规范JSON的SHA-256；未摇号为 null"},
    "href": {"type": "string", "format": "uri"}}}
_NOTICE = ("预告发布日期（YYYY-MM-DD），留空为今天，不得晚于今天。辖区规则设有预告期（lottery.notice_days，"
           "如腾冲市15日）的，摇号日期不得早于预告发布日期（及本预告登记之日）加该天数")
_REDRAW = {"type": ["object", "null"], "description": "重新摇号申请（待同意或已同意）", "properties": {
    "requested_by": {"type": "string"}, "requested_at": DATETIME, "reason": {"type": "string"},
    "commitment": {"type": "string"}, "draw_on": _DATE,
    "approved_by": {"type": ["string", "null"]},
    "approved_at": {"type": ["string", "null"], "format": "date-time"}}}
_LOTTERY = {"allOf": [_LOTTERY_SUMMARY, {"type": "object", "properties": {
    "comment": {"type": "string"}, "jurisdiction_title": {"type": "string"},
    "announced_on": {"type": ["string", "null"], "format": "date",
                     "description": "预告发布日期；未记录的为 null"},
    "announced_at": {"type": ["string", "null"], "format": "date-time",
                     "description": "预告（及种子承诺值）登记的时间；早于预告制度的记录为 null"},
    "announced_by": {"type": ["string", "null"]},
    "commitment": {"type": ["string", "null"],
                   "description": "种子承诺值：摇号种子（UTF-8）的SHA-256，随预告公布；早于预告制度的记录为 null"},
    "seed": {"type": ["string", "null"], "description": "摇号种子；摇号后公开，之前为 null"},
    "algorithm": {"type": "string", "const": "HMAC-SHA256-v1"},
    "algorithm_description": {"type": "string"},
    "tiers": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
    "batch": {"type": "array", "items": {"type": "string"}, "description": "预告时确定的住户档号"},
    "absent": {"type": "array", "items": {"type": "string"},
               "description": "摇号时已不在已登记轮候状态、未参加摇号的住户"},
    "redraw_of": {"type": ["string", "null"], "description": "本批次重新摇号的原批次"},
    "superseded_by": {"type": ["string", "null"], "description": "重新摇号产生的新批次"},
    "redraw": _REDRAW,
    "attempts": {"type": "array", "description": "每次尝试（预告、摇号、被拒绝的摇号、重摇申请与同意），最早的在前",
                 "items": {"type": "object", "properties": {
                     "when": DATETIME, "actor": {"type": "string"},
                     "outcome": {"type": "string", "enum": list(OUTCOMES)},
                     "outcome_title": {"type": "string"},
                     "reasons": {"type": "array", "items": {"type": "string"}},
                     "details": {"type": "array", "items": {"type": "array", "items": {"type": "string"},
                                                            "minItems": 2, "maxItems": 2}}}}},
    "verified": {"type": ["boolean", "null"],
                 "description": "按记录的种子重新摇号：结果、摘要与种子承诺值均一致；未摇号为 null"},
    "order": {"type": "array", "items": {"type": "object", "properties": {
        "rank": {"type": "integer"}, "archive_no": {"type": "string"},
        "tier": {"type": "integer", "description": "1起；大于优先组数的为一般组"},
        "tier_title": {"type": "string"}, "name": {"type": "string", "description": "脱敏姓名"},
        "priority_groups": {"type": "array", "items": {"type": "string"}},
        "key": {"type": "string", "description": "HMAC-SHA256(种子, 档号) 十六进制"},
        "document": {"type": ["string", "null"], "format": "uri"}}}},
    "links": {"type": "object", "additionalProperties": {"type": "string"}}}}]}
_SEED_ONCE = {"type": "object", "properties": {"seed_once": {
    "type": "string", "description": "未给种子承诺值时系统生成的摇号种子：只在这一次应答中出现，系统不保存"}}}
_LOTTERY_NEW = {"allOf": [_LOTTERY, _SEED_ONCE]}
_LOTTERY_INPUT = {"type": "object", "required": ["jurisdiction", "households", "draw_on"], "properties": {
    "jurisdiction": {"type": "string", "title": "辖区代码"},
    "households": {"type": "array", "minItems": 1, "uniqueItems": True,
                   "items": {"type": "string"}, "title": "参加摇号的住户档号（须为已登记轮候，且不在另一未摇号的批次中）"},
    "draw_on": {"type": "string", "format": "date", "description": "摇号日期（不早于今天，并满足预告期）"},
    "commitment": {**_NULLABLE(_HEX64),
                   "description": "种子承诺值：摇号种子的SHA-256（64位十六进制）；留空则由系统生成种子并在应答的 seed_once 中给出一次"},
    "comment": {"type": "string", "maxLength": 2000},
    "announced_on": {"type": ["string", "null"], "format": "date", "description": _NOTICE}}}
_DRAW_INPUT = {"type": "object", "required": ["seed"], "properties": {
    "seed": {"type": "string", "minLength": 8, "maxLength": 128, "pattern": "^[!-~]{8,128}$",
             "description": "摇号种子；其SHA-256必须等于预告公布的承诺值"}}}
_REDRAW_INPUT = {"type": "object", "required": ["reason", "draw_on"], "properties": {
    "reason": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "重新摇号的理由"},
    "draw_on": {"type": "string", "format": "date", "description": "新批次的摇号日期"},
    "commitment": {**_NULLABLE(_HEX64), "description": "新种子的承诺值；留空则由系统生成（seed_once）"}}}
_EMPTY_INPUT = {"type": "object", "properties": {}}


def _lottery_post(summary, body, status, description, schema, codes):
    return {"summary": summary, "tags": ["Lotteries"],
            "requestBody": {"required": body is not _EMPTY_INPUT, "content": {
                "application/json": {"schema": body}}},
            "responses": {status: {"description": description,
                                   "content": {"application/json": {"schema": schema}}},
                          **_errors(*codes)}}


OPENAPI_OPERATIONS.update({
    "api_lotteries": {
        "get": {"summary": "摇号批次（新的在前）", "tags": ["Lotteries"], "parameters": page_params(),
                "responses": {"200": {"description": "成功", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "total": {"type": "integer"}, "page": {"type": "integer"},
                        "per_page": {"type": "integer"},
                        "items": {"type": "array", "items": _LOTTERY_SUMMARY}}}}}},
                    **_errors(401, 403, 422)}},
        "post": _lottery_post(
            "发布摇号预告：确定一批已登记轮候的住户、摇号日期和种子承诺值（SHA-256），记入每户案件历程",
            _LOTTERY_INPUT, "201", "已预告（Location 为批次地址）", _LOTTERY_NEW,
            (400, 401, 403, 409, 422)),
    },
    "api_lottery": {
        "get": {"summary": "摇号批次（含复核）", "tags": ["Lotteries"],
                "responses": {"200": {"description": "成功", "content": {
                    "application/json": {"schema": _LOTTERY}}}, **_errors(401, 403, 404)}},
    },
    "api_lottery_draw": {"post": _lottery_post(
        "摇号：以与承诺值相符的种子摇号，同一批次只摇一次；结果PDF归入每户档案。每次尝试（含被拒绝的）"
        "都记入每户案件历程：种子不符、格式不对为422，未到摇号日期、已摇号、已作废为409",
        _DRAW_INPUT, "200", "已摇号", _LOTTERY, (400, 401, 403, 404, 409, 422))},
    "api_lottery_redraw": {"post": _lottery_post(
        "申请重新摇号：写明理由、新的摇号日期和新种子承诺值，待另一名摇号人员同意",
        _REDRAW_INPUT, "200", "已申请", _LOTTERY_NEW, (400, 401, 403, 404, 409, 422))},
    "api_lottery_approve": {"post": _lottery_post(
        "同意重新摇号（须为申请人以外的摇号人员，否则403）：原批次作废并保留，新批次以申请的承诺值重新预告",
        _EMPTY_INPUT, "201", "新批次已预告（Location 为其地址）", _LOTTERY,
        (400, 401, 403, 404, 409, 422))},
})
# -- end lottery ------------------------------------------------------------------------------
PATH_PARAMS.update(openapi_audit.PATH_PARAMS)
PATH_PARAMS.update(openapi_custody.PATH_PARAMS)
PATH_PARAMS.update(openapi_loans.PATH_PARAMS)
PATH_PARAMS.update(openapi_disposition.PATH_PARAMS)
PATH_PARAMS.update(openapi_collective.PATH_PARAMS)


def build(registry) -> dict:
    """The whole document (without ``servers``, which depends on the request)."""
    mapper = registry.getUtility(IRoutesMapper)
    archive = registry.archive_schemas
    by_kind = {kind: {**operations(kind, archive[kind]),
                      **openapi_workflow.kind_operations([f"{TITLES[kind]} dossiers"], kind),
                      **openapi_custody.kind_operations([f"{TITLES[kind]} dossiers"]),
                      **openapi_disposition.kind_operations([f"{TITLES[kind]} dossiers"])}
               for kind in TITLES}
    others = {**OPENAPI_OPERATIONS, **openapi_search.OPERATIONS, **openapi_workflow.GLOBAL_OPERATIONS,
              **openapi_history.OPERATIONS, **openapi_audit.OPERATIONS, **openapi_custody.OPERATIONS,
              **openapi_loans.OPERATIONS,
              **openapi_health.OPERATIONS,
              **openapi_disposition.OPERATIONS, **openapi_collective.OPERATIONS}
    paths = {}
    for route in mapper.get_routes():
        if not (route.pattern.startswith("/api/") or route.name == "healthz") or "*" in route.pattern:
            continue
        for path, kind in openapi_paths(route.pattern):
            table = by_kind[kind] if kind else others
            methods = copy.deepcopy(table.get(route.name) or {})
            if not methods:
                continue
            item = {}
            names = re.findall(r"\{(\w+)\}", path)
            if names:
                item["parameters"] = [PATH_PARAMS[n] for n in names]
            for method, op in methods.items():
                op["operationId"] = _operation_id(route.name, method, kind)
                permission = _permission(registry, route.name, method)
                if permission:
                    op["x-permission"] = permission
                    op["description"] = (op.get("description", "") +
                                         f"所需权限：{permission}（见 schemas/roles.yaml）").strip()
                if route.name in NARROWED:   # archive.access.local: as the view behaves
                    op["x-local-roles"] = "narrowed"
                    op["description"] += LOCAL_NOTE
                    op["responses"].setdefault("403", {"$ref": "#/components/responses/403"})
                # any request can be unreadable (views/input.py refuses it before any view),
                # and text in a body holding control characters is a 422 naming the field
                op["responses"].setdefault("400", {"$ref": "#/components/responses/400"})
                if "requestBody" in op:
                    op["responses"].setdefault("422", {"$ref": "#/components/responses/422"})
                for param in op.get("parameters", ()):
                    if param["in"] == "query" and param["schema"].get("type") == "integer":
                        param["schema"] = _blank_or(param["schema"])
                for param in op.get("parameters", ()):
                    if param["name"] == UNMASK_PARAM["name"] and param["in"] == "query":
                        param.update(copy.deepcopy(UNMASK_PARAM))
                item[method] = op
            paths[path] = item
    lottery = paths.get("/api/lotteries", {}).get("post")
    if lottery:  # the jurisdictions are the city profiles' (one new profile, one more code)
        body = lottery["requestBody"]["content"]["application/json"]["schema"]
        body["properties"]["jurisdiction"]["enum"] = archive.vocabularies["jurisdictions"].codes()
    return {
        "openapi": "3.1.0",
        "info": {"title": "公租房档案管理系统 API", "version": "1",
                 "description": "住房保障对象档案（一户一档）与房源档案（一套一档）的JSON接口。"
                                "每次修改生成不可更改的新版本；个人信息默认脱敏。"
                                "错误一律以JSON返回：{error, status, errors?}。"
                                "文本中不得含有控制字符（正文的制表、换行、回车除外）、DEL或不成对的代理项，"
                                "地址和参数中不得含有任何控制字符：这样的请求一律以400拒绝，什么也不改变。"
                                "请求中未列出的字段被忽略。"},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": _with_procedure(components(registry), registry),
    }


def _with_procedure(parts, registry):
    """The procedure's schemas, and its state in the dossier schemas."""
    procedure = registry.archive_procedure
    schemas = parts["schemas"]
    schemas.update(openapi_workflow.schemas(procedure))
    schemas.update(openapi_history.schemas(procedure))
    schemas.update(openapi_search.SCHEMAS)
    schemas.update(openapi_audit.SCHEMAS)
    schemas.update(openapi_custody.schemas(registry))
    openapi_custody.extend(schemas)
    schemas.update(openapi_loans.schemas(registry.archive_schemas.vocabularies))
    schemas.update(openapi_health.SCHEMAS)
    schemas.update(openapi_collective.SCHEMAS)
    openapi_collective.extend(schemas)
    schemas.update(openapi_disposition.schemas(registry))
    openapi_disposition.extend(schemas)
    for kind, title in TITLES.items():
        workflow = procedure.workflows[kind]
        states = {"type": ["string", "null"], "enum": list(workflow.states) + [None],
                  "description": "办理状态（见 GET …/transitions）"}
        schemas[f"{title}Dossier"]["properties"]["state"] = states
        schemas[f"{title}Summary"]["properties"]["state"] = states
        if len(workflow.entry) > 1:
            schemas[f"{title}Input"]["allOf"][1]["properties"]["state"] = {
                "type": "string", "enum": list(workflow.entry), "default": workflow.initial,
                "description": "新建时的状态（接收既有房源时可直接登记为空置待配等）"}
    return parts


def _blank_or(schema):
    """An integer query parameter: left empty (``?page=``) it counts as not given."""
    out = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
    if "default" in schema:
        out["default"] = schema["default"]
    return out


def _operation_id(route_name, method, kind):
    base = route_name.removeprefix("api_")
    suffix = f"_{TITLES[kind]}" if kind else ""
    return f"{method}_{base}{suffix}"


@view_config(route_name="api_openapi", request_method="GET", renderer="json")
def openapi_document(request):
    """The OpenAPI description; public, like any API's documentation."""
    cached = getattr(request.registry, "archive_openapi", None)
    if cached is None:
        cached = request.registry.archive_openapi = build(request.registry)
    return {**cached, "servers": [{"url": request.application_url}]}
