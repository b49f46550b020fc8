"""/api/docs: the OpenAPI document for people (Swagger UI), served by the app itself;
undeclared methods answered 405 with the methods the path takes (issue 15, part 5)."""
from __future__ import annotations

import re

import pytest
import webtest

from archive.views.apidocs import ASSETS, bundle_dir


@pytest.fixture
def client(app):
    return webtest.TestApp(app)


def test_docs_page_renders_from_local_assets_only(client):
    page = client.get("/api/docs")
    assert page.content_type == "text/html"
    assert "公租房档案管理系统 API" in page.text
    assert 'data-spec="/api/openapi.json"' in page.text
    # every script, style sheet and icon is this server's own
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/api/") for u in urls), urls
    assert "<script>" not in page.text  # no inline script: the CSP allows 'self' only
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "default-src 'none'" in policy
    for url in urls:
        asset = client.get(url)
        assert asset.status_int == 200 and asset.body, url
    start = client.get("/api/docs/start.js")
    assert "validatorUrl: null" in start.text  # Swagger UI's online validator stays off
    assert client.get("/api/docs/").status_int == 200


def test_assets_are_the_installed_bundle(client):
    for name, ctype in ASSETS.items():
        response = client.get(f"/api/docs/assets/{name}")
        assert response.content_type == ctype
        assert response.body == (bundle_dir() / name).read_bytes()
        assert response.cache_control.max_age > 0
    bundle = client.get("/api/docs/assets/swagger-ui-bundle.js").text
    assert "isOAS31" in bundle  # Swagger UI 5: it reads OpenAPI 3.1, as /api/openapi.json is
    for name in ("index.html", "..", "swagger-ui.js.map", "nothing.css"):
        assert client.get(f"/api/docs/assets/{name}", status="*").status_int == 404


def test_docs_need_no_login_and_the_document_they_read_does_neither(client):
    assert client.get("/api/docs").status_int == 200
    assert client.get("/api/openapi.json").json["openapi"].startswith("3.1")


@pytest.mark.parametrize("method,url,allowed", [
    ("TRACE", "/api/search", "GET, HEAD"),
    ("DELETE", "/api/worklist", "GET, HEAD"),
    ("PUT", "/api/openapi.json", "GET, HEAD"),
    ("PATCH", "/api/lotteries", "GET, HEAD, POST"),
    ("DELETE", "/api/audits", "GET, HEAD, POST"),
    ("OPTIONS", "/api/credit", "GET, HEAD"),
])
def test_undeclared_methods_are_405_with_allow_and_no_internals(client, users, method, url,
                                                                 allowed):
    response = client.request(url, method=method, status="*",
                              headers={"Authorization": f"Bearer {users['auditor']}"})
    assert response.status_int == 405, response
    assert response.headers["Allow"] == allowed
    assert response.json == {"error": "不支持此请求方法", "status": 405}
    assert "predicate" not in response.text


def test_every_api_route_answers_an_undeclared_method_with_405(app, client, users):
    """Every path of the document, asked with a method it does not list: 405 and Allow with
    exactly the methods it lists (HEAD beside GET)."""
    from conftest import household_input, unit_input
    doc = client.get("/api/openapi.json").json
    headers = {"Authorization": f"Bearer {users['archivist']}"}
    existing = {kind: client.post_json(f"/api/{kind}", body, headers=headers).json["archive_no"]
                for kind, body in (("households", household_input()), ("units", unit_input()))}
    from conftest import Store, employer_dossier
    with Store(app) as root:    # an employer's dossier is the context of /api/employers/{no}
        existing["employers"] = employer_dossier(root, app.registry.archive_schemas,
                                                 app.registry.archive_procedure).archive_no
    for path, item in doc["paths"].items():
        methods = {m.upper() for m in item if m != "parameters"}
        kind = next((k for k in existing if path.startswith(f"/api/{k}/")), "households")
        names = {"no": existing[kind], "n": "1", "run_id": "1", "doc": "D0001", "lottery_id": "X",
                 "code": "X", "number": "1",
                 "loan_id": "X", "list_no": "1", "hold": "H00001", "appraisal": "1",
                     "batch_id": "X"}
        url = re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], path)
        for method in ({"GET", "POST", "PUT", "DELETE", "PATCH"} - methods):
            response = client.request(url, method=method, headers=headers, status="*")
            assert response.status_int == 405, (method, path, response.status)
            assert set(response.headers["Allow"].split(", ")) == \
                methods | ({"HEAD"} if "GET" in methods else set()), (method, path)


def test_page_size_above_the_maximum_is_refused_as_documented(client, users):
    doc = client.get("/api/openapi.json").json
    headers = {"Authorization": f"Bearer {users['auditor']}"}   # view and audit
    for path, name in (("/api/households", "per_page"), ("/api/units", "per_page"),
                       ("/api/lotteries", "per_page"), ("/api/audits", "per_page"),
                       ("/api/worklist", "limit")):
        param = next(p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)
        top = param["schema"]["anyOf"][0]["maximum"]  # or empty: as if not given
        assert client.get(path, {name: top}, headers=headers).status_int == 200
        refused = client.get(path, {name: top + 1}, headers=headers, status=422).json
        assert name in refused["errors"], path
        assert "422" in doc["paths"][path]["get"]["responses"]


def test_upload_schema_names_the_document_types_of_its_kind(app, client):
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    vocab = app.registry.archive_schemas.vocabularies["document_types"]
    for kind, title in (("household", "Household"), ("unit", "Unit")):
        upload = schemas[f"{title}DocumentUpload"]
        codes = [t.code for t in vocab.terms if t.extra.get("kind") in (kind, "both")]
        assert upload["properties"]["doc_type"]["enum"] == codes
        assert schemas[f"{title}DocumentInput"]["properties"]["doc_type"]["enum"] == codes
        assert upload["properties"]["file"]["format"] == "binary"
        for name in upload["required"]:
            field = upload["properties"][name]
            if name != "file" and field.get("type") == "string" and "enum" not in field \
                    and field.get("format") != "date":
                assert field.get("minLength") == 1, name


def test_required_text_may_not_be_blank_in_the_document_as_on_the_server(client, users):
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    applicant = schemas["HouseholdMetadataInput"]["properties"]["applicant"]["properties"]
    from archive.views.openapi_text import NOT_BLANK
    assert applicant["name"]["minLength"] == 1 and applicant["name"]["pattern"] == NOT_BLANK
    assert not re.search(NOT_BLANK, " \t ") and not re.search(NOT_BLANK, "张\x00三")
    phone = schemas["HouseholdMetadataInput"]["properties"]["phone"]["pattern"]
    assert re.search(phone, "0519-88886666") and re.search(phone, "138 1234 5678")
    assert not re.search(phone, "12345")
    # responses show personal data masked, so their schema has no such shape
    assert "pattern" not in schemas["HouseholdMetadata"]["properties"]["phone"]
    from conftest import household_input
    headers = {"Authorization": f"Bearer {users['archivist']}"}
    blank = household_input(applicant={"name": "  ", "id_number": household_input()["applicant"]["id_number"]})
    errors = client.post_json("/api/households", blank, headers=headers, status=422).json["errors"]
    assert "applicant.name" in errors


def test_unknown_filter_codes_are_refused_like_other_bad_parameters(client, users):
    headers = {"Authorization": f"Bearer {users['archivist']}"}
    errors = client.get("/api/households", {"jurisdiction": "atlantis"}, headers=headers,
                        status=422).json["errors"]
    assert errors == {"jurisdiction": "辖区：“atlantis”不是可选的值"}
    assert client.get("/api/units", {"layout": "two"}, headers=headers).status_int == 200
