"""The OpenAPI description of a dossier's versions (views/api.py): the list, one version in
full, the comparison of two and the restoring of one. Households and units (views/openapi.py)
and employers (views/openapi_collective.py) answer them alike; only the schemas of a
version and of the dossier after a restore are each kind's own."""
from __future__ import annotations

from .openapi_text import PARAM_TEXT
from .openapi_text import errors as _errors, json_answer as _json, ref as _ref

# ?unmask=1: openapi.build gives every ``unmask`` query parameter its full description
UNMASK = {"name": "unmask", "in": "query", "required": False, "schema": {"type": "string", "pattern": PARAM_TEXT}}


def _version_param(name, description):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": 1}}


def kind_operations(tag, version, dossier) -> dict:
    """{route name: {method: operation}} for one kind of dossier: ``version`` names the
    schema of one version in full, ``dossier`` that of the dossier a restore answers with."""
    return {
        "api_versions": {
            "get": {"summary": "版本列表（新的在前）", "tags": tag,
                    "responses": {"200": _json(_ref("VersionList")), **_errors(401, 403, 404)}},
        },
        "api_version": {
            "get": {"summary": "某一版本的完整内容", "tags": tag, "parameters": [dict(UNMASK)],
                    "responses": {"200": _json(_ref(version)), **_errors(401, 403, 404)}},
        },
        "api_diff": {
            "get": {"summary": "版本比较", "tags": tag, "parameters": [
                _version_param("from", "起始版本号；缺省为 to 的前一版"),
                _version_param("to", "目标版本号；缺省为当前版本"), dict(UNMASK)],
                "responses": {"200": _json(_ref("Diff")), **_errors(400, 401, 403, 404)}},
        },
        "api_restore": {
            "post": {"summary": "恢复历史版本（生成新版本，历史完整保留）", "tags": tag,
                     "parameters": [dict(UNMASK)],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Restore")}}},
                     "responses": {"200": _json(_ref(dossier)), **_errors(400, 401, 403, 404, 409, 422)}},
        },
    }
