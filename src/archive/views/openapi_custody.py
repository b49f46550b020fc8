"""The OpenAPI description of custody (views/custody.py): the 归档章 of documents, the bound
volume and box labels, a volume's place, the register of places and stock-takes."""
from __future__ import annotations

from ..custody.arrangement import DIGITIZATION
from ..custody.shelving import LEVELS, MAX_SCANNED
from .openapi_text import NOT_BLANK, PARAM_TEXT, TEXT
from .openapi_text import ref as _ref, errors as _errors, json_answer as _json


STRING = {"type": "string"}
NULL_STRING = {"type": ["string", "null"]}
PDF_ANSWER = {"description": "PDF（每次下载记入审计日志）", "content": {"application/pdf": {"schema": {
    "type": "string", "contentMediaType": "application/pdf"}}}}
PATH_PARAMS = {
    "code": {"name": "code", "in": "path", "required": True,
             "description": "存放位置编号（库房-架-层-盒，如 A-01-02-003）",
             "schema": {"type": "string", "pattern": PARAM_TEXT}},
    "number": {"name": "number", "in": "path", "required": True, "description": "盘点编号",
               "schema": {"type": "integer", "minimum": 1}},
}


def schemas(registry) -> dict:
    """The custody schemas; periods and carriers come from the vocabularies."""
    vocab = registry.archive_schemas.vocabularies
    return {
        "Arrangement": {"type": "object", "description": "整理（DA/T 22）：归档章与载体", "properties": {
            "fonds": {"type": "string", "description": "全宗号"},
            "year": {"type": ["integer", "null"], "description": "年度（文件日期的年份）"},
            "retention": {"type": "string", "enum": vocab["retention_periods"].codes(),
                          "description": "保管期限（schemas/retention.yaml，按文件类型）"},
            "retention_title": STRING,
            "item_no": {"type": ["integer", "null"], "description": "件号：归档时按顺序给出，不重复使用"},
            "pages": {"type": "integer", "description": "页数"},
            "carrier": {"type": "string", "enum": vocab["carriers"].codes(), "description": "载体"},
            "carrier_title": STRING,
            "digitization": {"type": "string", "enum": list(DIGITIZATION), "description": "数字化状态"},
            "digitization_title": STRING}},
        "Place": {"type": "object", "properties": {
            "code": STRING, "level": {"type": "string", "enum": list(LEVELS)},
            "level_title": STRING, "title": STRING, "parent": NULL_STRING,
            "created_by": STRING, "created_at": {"type": "string", "format": "date-time"},
            "href": {"type": "string", "format": "uri"}}},
        "PlaceInput": {"type": "object", "required": ["code"], "properties": {
            "parent": {"type": ["string", "null"], "description": "上级位置编号；空为库房"},
            "code": {"type": "string", "pattern": "^[ \t\r\n]*[A-Za-z0-9]{1,10}[ \t\r\n]*$",
                     "description": "本级编号：1到10位字母或数字"},
            "title": {"type": ["string", "null"], "maxLength": 60, "pattern": TEXT,
                      "description": "名称（缺省按编号生成）"}}},
        "PlaceList": {"type": "object", "properties": {
            "total": {"type": "integer"}, "items": {"type": "array", "items": _ref("Place")}}},
        "PlaceDetail": {"allOf": [_ref("Place"), {"type": "object", "properties": {
            "path": {"type": "array", "items": STRING, "description": "从库房到本位置的编号"},
            "children": {"type": "array", "items": _ref("Place")},
            "holdings": {"type": "array", "description": "按登记应存放于此（含下级位置）的档案",
                         "items": {"type": "object", "properties": {
                             "archive_no": STRING, "kind": {"type": "string", "enum": ["household", "unit", "employer"]},
                             "title": STRING, "place": STRING}}}}}]},
        "VolumePlace": {"type": "object", "properties": {
            "archive_no": STRING, "place": NULL_STRING, "label": NULL_STRING,
            "path": {"type": "array", "items": _ref("Place")}, "version": {"type": "integer"}}},
        "Shelve": {"type": "object", "required": ["place"], "properties": {
            "place": {"type": "string", "minLength": 1, "pattern": NOT_BLANK, "description": "盒的编号"},
            "comment": {"type": ["string", "null"], "pattern": TEXT, "description": "说明（记入版本）"}}},
        "StockTakeInput": {"type": "object", "properties": {
            "scanned": {"type": ["array", "null"], "maxItems": MAX_SCANNED,
                        "items": {"type": "string", "maxLength": 100, "pattern": TEXT},
                        "description": "清点到的档号（键入或扫描），重复的只计一次；缺省或 null 为什么也没找到"},
            "comment": {"type": ["string", "null"], "pattern": TEXT}}},
        "StockTake": {"type": "object", "properties": {
            "number": {"type": "integer"}, "place": STRING,
            "when": {"type": "string", "format": "date-time"}, "actor": STRING, "comment": STRING,
            "expected": {"type": "array", "items": STRING, "description": "按登记应在此处的档号"},
            "scanned": {"type": "array", "items": STRING},
            "found": {"type": "array", "items": STRING},
            "missing": {"type": "array", "items": STRING, "description": "应在此处而未清点到"},
            "misplaced": {"type": "array", "description": "清点到但登记在别处（或未上架）",
                          "items": {"type": "object", "properties": {
                              "archive_no": STRING, "place": NULL_STRING, "label": STRING}}},
            "unknown": {"type": "array", "items": STRING, "description": "不是本档案库的档号"},
            "href": {"type": "string", "format": "uri"}}},
        "BoundVolume": {"type": "object", "required": ["archive_no", "bound", "current"], "properties": {
            "archive_no": STRING, "bound": {"type": "boolean", "description": "是否保存有已装订的案卷"},
            "current": {"type": "boolean", "description": "保存的案卷是否仍与档案现状一致（此后未改动信息或文件）"},
            "version": {"type": "integer", "description": "记录这次装订的版本号"},
            "bound_by": STRING, "bound_at": {"type": "string", "format": "date-time"},
            "size": {"type": "integer"}, "sha256": STRING}},
        "StockTakeList": {"type": "object", "properties": {
            "place": STRING, "total": {"type": "integer"},
            "items": {"type": "array", "items": _ref("StockTake")}}},
    }


def extend(parts):
    """What custody adds to the schemas of documents, versions and diffs."""
    parts["Document"]["properties"]["arrangement"] = _ref("Arrangement")
    parts["VersionSummary"]["properties"]["action"]["enum"] += ["shelved", "bound"]
    parts["Diff"]["properties"]["place"] = {
        "type": ["object", "null"], "description": "两版之间纸质案卷的存放位置变化（未移动为 null）",
        "properties": {"old": STRING, "new": STRING}}


def kind_operations(tag):
    """{route name: {method: operation}} for one kind of dossier."""
    return {
        "api_volume": {"get": {
            "summary": "装订案卷（PDF）：案卷封面、卷内目录、加盖页号的现行文件、备考表；原件不变。已装订保存且此后未变动的，给出保存的那一份",
            "tags": tag, "responses": {"200": PDF_ANSWER, **_errors(401, 403, 404)}}},
        "api_bind": {
            "get": {"summary": "保存的已装订案卷：装订时的版本、立卷人、时间，是否仍与档案一致", "tags": tag,
                    "responses": {"200": _json(_ref("BoundVolume")), **_errors(401, 403, 404)}},
            "post": {"summary": "装订案卷并保存（记入档案的新版本 bound；移交包沿用未变动的一份）", "tags": tag,
                     "responses": {"201": _json(_ref("BoundVolume"), "已装订并保存"),
                                   **_errors(400, 401, 403, 404)}}},
        "api_labels": {"get": {
            "summary": "档案盒封面和盒脊（PDF），各带档号二维码", "tags": tag,
            "responses": {"200": PDF_ANSWER, **_errors(401, 403, 404)}}},
        "api_place": {
            "get": {"summary": "纸质案卷的存放位置", "tags": tag,
                    "responses": {"200": _json(_ref("VolumePlace")), **_errors(401, 403, 404)}},
            "put": {"summary": "上架或移库（记入档案的新版本）", "tags": tag,
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": _ref("Shelve")}}},
                    "responses": {"200": _json(_ref("VolumePlace")),
                                  **_errors(400, 401, 403, 404, 409, 422)}}},
    }


TAG = ["Shelving"]
OPERATIONS = {
    "api_places": {
        "get": {"summary": "存放位置登记（库房 → 架 → 层 → 盒）", "tags": TAG,
                "responses": {"200": _json(_ref("PlaceList")), **_errors(401, 403)}},
        "post": {"summary": "登记存放位置", "tags": TAG,
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": _ref("PlaceInput")}}},
                 "responses": {"201": _json(_ref("Place"), "已登记（Location 为其地址）"),
                               **_errors(400, 401, 403, 404, 409, 422)}}},
    "api_place_detail": {
        "get": {"summary": "存放位置：下级位置及应存档案", "tags": TAG,
                "responses": {"200": _json(_ref("PlaceDetail")), **_errors(401, 403, 404)}}},
    "api_place_stocktakes": {
        "get": {"summary": "该位置的盘点记录", "tags": TAG,
                "responses": {"200": _json(_ref("StockTakeList")), **_errors(401, 403, 404)}},
        "post": {"summary": "盘点：清点到的档号与登记比对，得出缺失、错放和不明的档号（记录保存）",
                 "tags": TAG,
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": _ref("StockTakeInput")}}},
                 "responses": {"201": _json(_ref("StockTake"), "已盘点（Location 为盘点记录地址）"),
                               **_errors(400, 401, 403, 404, 422)}}},
    "api_stocktake": {
        "get": {"summary": "盘点记录", "tags": TAG,
                "responses": {"200": _json(_ref("StockTake")), **_errors(401, 403, 404)}}},
}
