"""The JSON API: every route under every role, refusals as JSON, versions, masking, OpenAPI."""
from __future__ import annotations

import copy
import hashlib
import re

import pytest
import webtest

from conftest import Api, doc_fields, encrypted_pdf, ROLES, household_input, make_pdf, unit_input

ROLE_PERMISSIONS = {  # schemas/roles.yaml, read independently of the application
    "sysadmin": set(), "secadmin": set(),   # 三员分立: no business data
    "archivist": {"view", "view_personal", "create", "edit", "file", "restore"},
    "reviewer": {"view", "view_personal"},
    "inspector": {"view", "view_personal"},
    "auditor": {"view"},
}


def count(store, kind="households"):
    with store() as root:
        return len(getattr(root, kind))


# -- every route, every role ------------------------------------------------------------
def operations(no, doc):
    """(name, method, url, permission, request kwargs, expected success status)."""
    base = f"/api/households/{no}"
    changed = {**household_input(), "district": "钟楼区", "comment": "迁居"}
    return [
        ("list", "GET", "/api/households", "view", {}, 200),
        ("create", "POST_JSON", "/api/households", "create",
         {"params": {**household_input(name="赵六", seq=21), "comment": "受理"}}, 201),
        ("dossier", "GET", base, "view", {}, 200),
        ("edit", "PUT_JSON", base, "edit", {"params": changed}, 200),
        ("documents", "GET", f"{base}/documents", "view", {}, 200),
        ("file", "UPLOAD", f"{base}/documents", "file",
         {"params": doc_fields(doc_type="income_proof", title="收入证明")}, 201),
        ("document", "GET", f"{base}/documents/{doc}", "view", {}, 200),
        ("document_edit", "PUT_JSON", f"{base}/documents/{doc}", "file",
         {"params": {**doc_fields(title="申请表（更正）"), "comment": "题名更正"}}, 200),
        ("content", "GET", f"{base}/documents/{doc}/content", "view", {}, 200),
        ("refile", "UPLOAD", f"{base}/documents/{doc}/files", "file",
         {"params": {"comment": "重新扫描"}, "content": make_pdf("重新扫描的申请表")}, 201),
        ("versions", "GET", f"{base}/versions", "view", {}, 200),
        ("version", "GET", f"{base}/versions/1", "view", {}, 200),
        ("diff", "GET", f"{base}/diff?from=1&to=2", "view", {}, 200),
        ("restore", "POST_JSON", f"{base}/restore", "restore",
         {"params": {"version": 2, "comment": "恢复到归档时"}}, 200),
        ("withdraw", "POST_JSON", f"{base}/documents/{doc}/withdraw", "file",
         {"params": {"reason": "重复归档"}}, 200),
    ]


def call(api, method, url, headers, kw, status):
    client = api.client
    if method == "GET":
        return client.get(url, headers=headers, status=status)
    if method == "POST_JSON":
        return client.post_json(url, kw.get("params", {}), headers=headers, status=status)
    if method == "PUT_JSON":
        return client.put_json(url, kw.get("params", {}), headers=headers, status=status)
    files = [("file", "x.pdf", kw.get("content") or make_pdf("另一份文件"), "application/pdf")]
    return client.post(url, kw.get("params", {}), headers=headers, upload_files=files,
                       status=status)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_allowed_or_forbidden_per_role(api, store, role):
    no, doc = api.filed("archivist")
    allowed = ROLE_PERMISSIONS[role]
    for name, method, url, permission, kw, ok in operations(no, doc):
        expected = ok if permission in allowed else 403
        response = call(api, method, url, api.headers(role), kw, expected)
        if expected == 403:
            assert response.json == {"error": "您的角色无权执行此操作", "status": 403}, name
        elif name == "content":
            assert response.content_type == "application/pdf"
        else:
            assert response.content_type == "application/json", name
    with store() as root:
        versions = root.households[no].latest.number
    writes = {"edit", "file", "document_edit", "refile", "restore", "withdraw"}
    assert versions == 2 + (len(writes) if "edit" in allowed else 0)


def test_no_token_and_bad_token_are_401_on_every_route(api, store):
    no, doc = api.filed()
    before = count(store)
    for name, method, url, permission, kw, ok in operations(no, doc):
        for headers in ({}, {"Authorization": "Bearer not-a-token"},
                        {"Authorization": "Basic YWRtaW46eA=="}):
            response = call(api, method, url, headers, kw, 401)
            assert response.json["status"] == 401, name
            assert response.json["error"] == "需要登录或提供有效的API令牌"
    assert count(store) == before
    with store() as root:
        assert root.households[no].latest.number == 2


def test_revoked_token_is_refused(api, store):
    with store() as root:
        root.users.revoke_tokens("archivist")
    api.get("/api/households", status=401)


def test_openapi_needs_no_token(api):
    doc = api.get("/api/openapi.json", role=None).json
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


# -- creating and editing -----------------------------------------------------------------
def test_create_returns_201_location_and_masked_dossier(api):
    response = api.post_json("/api/households", {**household_input(), "comment": "受理"},
                             status=201)
    body = response.json
    assert response.location.endswith(f"/api/households/{body['archive_no']}")
    assert body["archive_no"].startswith("CZ-HH-") and body["kind"] == "household"
    assert body["version"] == 1 and body["documents"] == [] and body["unmasked"] is False
    applicant = body["metadata"]["applicant"]
    assert applicant["name"] == "张三"
    assert "*" in applicant["id_number"]
    assert applicant["birth_date"] == "1980-05-06"  # from the ID number, ISO
    assert body["metadata"]["income_per_capita"] == 1200.5
    assert body["links"]["self"] == response.location
    versions = api.get(body["links"]["versions"]).json["items"]
    assert versions[0]["comment"] == "受理" and versions[0]["action"] == "created"


def test_create_unit_in_an_entry_state_of_its_procedure(api, store):
    unit = api.post_json("/api/units", unit_input(state="vacant"), status=201).json
    assert unit["archive_no"].startswith("CZ-FY-") and unit["metadata"]["area"] == 58.6
    assert unit["state"] == "vacant" and "state" not in unit["metadata"]
    assert api.post_json("/api/units", unit_input(state=None), status=201).json["state"] == "building"
    before = count(store)
    response = api.post_json("/api/units", unit_input(state="leased"), status=422)
    assert "空置待配" in response.json["errors"]["state"] and count(store) == before
    assert api.household()["state"] == "applied"


def test_invalid_id_number_is_422_in_chinese_and_nothing_stored(api, store):
    before = count(store)
    data = household_input()
    data["applicant"]["id_number"] = data["applicant"]["id_number"][:-1] + (
        "0" if data["applicant"]["id_number"][-1] != "0" else "1")
    data["income_per_capita"] = -5
    response = api.post_json("/api/households", data, status=422)
    errors = response.json["errors"]
    assert errors["applicant.id_number"].startswith("申请人 · 身份证号码：")
    assert "校验码错误" in errors["applicant.id_number"]
    assert errors["income_per_capita"] == "家庭人均月收入（元）：不能为负数"
    assert response.json["status"] == 422
    assert count(store) == before


def test_member_errors_are_named_by_position(api):
    data = household_input()
    data["members"][0]["id_number"] = data["applicant"]["id_number"]
    data["members"][0]["relation"] = "cousin"
    errors = api.post_json("/api/households", data, status=422).json["errors"]
    assert errors["members.0.relation"].startswith("共同申请人 1 · 与申请人关系：")
    data = household_input()
    data["members"][0]["id_number"] = data["applicant"]["id_number"]
    errors = api.post_json("/api/households", data, status=422).json["errors"]
    assert "重复" in errors["members.0.id_number"]


@pytest.mark.parametrize("body, content_type", [
    (b'{"applicant": ', "application/json"),
    (b"[1, 2]", "application/json"),
    (b"\xff\xfe", "application/json"),
    (b"applicant=x", "application/x-www-form-urlencoded"),
    (b"", "application/json"),
])
def test_malformed_or_non_json_body_is_400(api, store, body, content_type):
    before = count(store)
    response = api.client.post("/api/households", body, headers={
        **api.headers("archivist"), "Content-Type": content_type}, status=400)
    assert response.content_type == "application/json"
    assert response.json["status"] == 400 and response.json["error"]
    assert count(store) == before


def test_edit_new_version_no_change_409_comment_required(api):
    created = api.household()
    url = created["links"]["self"]
    data = household_input()
    response = api.put_json(url, {**data, "comment": "无变化"}, status=409)
    assert response.json["error"] == "没有修改任何内容"
    response = api.put_json(url, {**data, "phone": "13900001111"}, status=422)
    assert response.json["errors"] == {"comment": "修改说明：请说明修改原因"}
    response = api.put_json(url, {**data, "phone": "1", "comment": ""}, status=422)
    assert set(response.json["errors"]) == {"comment", "phone"}
    edited = api.put_json(url, {**data, "phone": "13900001111", "comment": "换号"}).json
    assert edited["version"] == 2
    assert edited["metadata"]["phone"] != "13900001111" and "*" in edited["metadata"]["phone"]
    assert api.get(url, params={"unmask": "1"}).json["metadata"]["phone"] == "13900001111"


# -- documents ----------------------------------------------------------------------------
def test_file_document_and_read_it_back(api, store):
    no = api.household()["archive_no"]
    pdf = make_pdf(pages=2)
    response = api.upload(f"/api/households/{no}/documents", pdf, doc_fields())
    doc = response.json
    assert response.location.endswith(f"/api/households/{no}/documents/{doc['doc_id']}")
    assert doc["metadata"] == {"doc_type": "application_form", "title": "公共租赁住房申请表",
                               "date": "2026-03-02", "issuer": "张三", "doc_no": ""}
    assert doc["withdrawn"] is False and doc["current_file"] == 1
    (file,) = doc["files"]
    assert file["number"] == 1 and file["filename"] == "申请表.pdf"
    assert file["size"] == len(pdf) and file["pages"] == 2
    assert file["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert file["filed_by"] == "archivist" and file["filed_at"]
    assert file["text_status"] == "pending"  # the text worker is off in tests
    assert api.get(doc["links"]["self"]).json == doc
    listed = api.get(f"/api/households/{no}/documents").json
    assert listed["total"] == 1 and listed["items"][0]["doc_id"] == doc["doc_id"]
    content = api.get(doc["links"]["content"])
    assert content.body == pdf and content.headers["X-Content-SHA256"] == file["sha256"]
    assert api.get(f"/api/households/{no}").json["version"] == 2


def test_refile_keeps_the_old_file(api):
    no, doc = api.filed()
    base = f"/api/households/{no}/documents/{doc}"
    first = api.get(f"{base}/content").body
    second_pdf = make_pdf("第二次扫描")
    response = api.upload(f"{base}/files", second_pdf, {"comment": "重新扫描"})
    assert response.json["current_file"] == 2 and len(response.json["files"]) == 2
    assert response.location.endswith(f"{base}/content?file=2")
    assert api.get(f"{base}/content").body == second_pdf
    assert api.get(f"{base}/content?file=1").body == first
    api.get(f"{base}/content?file=3", status=404)
    api.get(f"{base}/content?file=x", status=404)
    # the same file again changes nothing
    assert api.upload(f"{base}/files", second_pdf, status=409).json["status"] == 409


def test_edit_document_metadata(api):
    no, doc = api.filed()
    url = f"/api/households/{no}/documents/{doc}"
    edited = api.put_json(url, {**doc_fields(title="申请表（更正）"), "comment": "更正"}).json
    assert edited["metadata"]["title"] == "申请表（更正）"
    api.put_json(url, doc_fields(title="申请表（更正）"), status=409)
    errors = api.put_json(url, doc_fields(doc_type="floor_plan"), status=422).json["errors"]
    assert errors["doc_type"].startswith("文件类型：")
    errors = api.put_json(url, doc_fields(date="2026-13-01"), status=422).json["errors"]
    assert "date" in errors


def test_withdraw_needs_a_reason_and_happens_once(api):
    no, doc = api.filed()
    url = f"/api/households/{no}/documents/{doc}/withdraw"
    errors = api.post_json(url, {"reason": "  "}, status=422).json["errors"]
    assert errors == {"reason": "撤出原因：撤出文件必须说明原因"}
    withdrawn = api.post_json(url, {"reason": "重复归档"}).json
    assert withdrawn["withdrawn"] is True and withdrawn["withdraw_reason"] == "重复归档"
    api.post_json(url, {"reason": "再次"}, status=409)
    refile = api.upload(f"/api/households/{no}/documents/{doc}/files", make_pdf("新"),
                        status=400)
    assert "撤出" in refile.json["error"]


@pytest.mark.parametrize("content, message", [
    (None, "加密"),
    (b"", "文件为空"),
    (b"hello, not a pdf", "不是PDF"),
    (b"%PDF-1.4 broken" * 10, "损坏"),
])
def test_bad_files_are_400_and_nothing_is_added(api, store, content, message):
    no, doc = api.filed()
    content = encrypted_pdf() if content is None else content
    for url, fields in [(f"/api/households/{no}/documents", doc_fields()),
                        (f"/api/households/{no}/documents/{doc}/files", {"comment": "x"})]:
        response = api.upload(url, content, fields, status=400)
        assert message in response.json["error"], response.json
        assert message in response.json["errors"]["file"]
    with store() as root:
        dossier = root.households[no]
        assert list(dossier.documents) == [doc] and len(dossier.documents[doc].files) == 1
        assert dossier.latest.number == 2


def test_missing_file_or_bad_description(api, store):
    no = api.household()["archive_no"]
    url = f"/api/households/{no}/documents"
    response = api.client.post(url, doc_fields(), headers=api.headers("archivist"), status=400)
    assert response.json["errors"]["file"] == "请选择要上传的PDF文件"
    response = api.upload(url, make_pdf(), doc_fields(title=""), status=422)
    assert response.json["errors"] == {"title": "题名：必填项"}
    response = api.upload(url, make_pdf(), doc_fields(doc_type="floor_plan"), status=422)
    assert "不属于此类档案" in response.json["errors"]["doc_type"]
    with store() as root:
        assert len(root.households[no].documents) == 0


@pytest.fixture
def small_api(settings):
    """An application whose upload limit is 0.01 MB, on its own database."""
    import transaction
    from archive import close, main
    settings = dict(settings, **{"archive.max_upload_mb": "0.01",
                                 "zodbconn.uri": settings["zodbconn.uri"].replace(
                                     "Data.fs", "Small.fs").replace("/blobs", "/small-blobs")})
    app = main({}, **settings)
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        root = conn.root()["archive"]
        root.users.add("archivist", "档案员", ["archivist"], "secret-pass-1",
                       app.registry.archive_hasher)
        token = root.users.issue_token("archivist")
    conn.close()
    yield Api(app, {"archivist": token})
    close(app)


def test_oversized_upload_is_413(small_api):
    no = small_api.household()["archive_no"]
    big = make_pdf() + b"%" + b"0" * 20_000
    response = small_api.upload(f"/api/households/{no}/documents", big, doc_fields(),
                                status=413)
    assert "超过上限" in response.json["error"] and response.json["status"] == 413
    assert small_api.get(f"/api/households/{no}").json["documents"] == []


# -- versions, diff, restore --------------------------------------------------------------
def test_restore_makes_version_n_plus_1_with_old_metadata(api):
    created = api.household()
    url = created["links"]["self"]
    api.put_json(url, {**household_input(), "district": "钟楼区", "comment": "迁居"})
    restored = api.post_json(f"{url}/restore", {"version": 1, "comment": "误改，恢复"}).json
    assert restored["version"] == 3 and restored["metadata"]["district"] == "天宁区"
    items = api.get(f"{url}/versions").json["items"]
    assert [v["number"] for v in items] == [3, 2, 1]
    assert items[0]["action"] == "restored" and items[0]["restored_from"] == 1
    assert items[0]["actor"] == "archivist" and items[0]["comment"] == "误改，恢复"
    snapshot = api.get(f"{url}/versions/2").json
    assert snapshot["metadata"]["district"] == "钟楼区" and snapshot["manifest"] == []
    assert "*" in snapshot["metadata"]["applicant"]["id_number"]
    # refusals
    assert api.post_json(f"{url}/restore", {"version": 3, "comment": "x"},
                         status=409).json["status"] == 409
    errors = api.post_json(f"{url}/restore", {"version": 1}, status=422).json["errors"]
    assert errors == {"comment": "修改说明：恢复版本必须说明原因"}
    errors = api.post_json(f"{url}/restore", {"version": True, "comment": "x"},
                           status=422).json["errors"]
    assert "version" in errors
    assert api.get(f"{url}/versions").json["total"] == 3


def test_unknown_versions_are_json_errors(api):
    url = api.household()["links"]["self"]
    for n in ("99", "abc", "0"):
        response = api.get(f"{url}/versions/{n}", status=404)
        assert response.json["status"] == 404 and "不存在" in response.json["error"]
    response = api.get(f"{url}/diff?from=1&to=99", status=400)
    assert response.json["error"] == "版本 99 不存在"
    assert api.post_json(f"{url}/restore", {"version": 99, "comment": "x"},
                         status=400).json["error"] == "版本 99 不存在"


def test_diff_shows_changed_fields_and_documents(api):
    no, doc = api.filed()
    url = f"/api/households/{no}"
    data = household_input()
    data["members"][0]["id_number"] = household_input(seq=41)["members"][0]["id_number"]
    api.put_json(url, {**data, "district": "钟楼区", "comment": "迁居"})
    diff = api.get(f"{url}/diff?from=2&to=3").json
    by_path = {f["path"]: f for f in diff["fields"]}
    assert by_path["district"] == {"path": "district", "title": "居住区",
                                   "old": "天宁区", "new": "钟楼区"}
    member = by_path["members.0.id_number"]
    assert member["title"] == "共同申请人 1 · 身份证号码"
    assert "*" in member["old"] and "*" in member["new"]
    assert diff["documents"] == [] and (diff["from"], diff["to"]) == (2, 3)
    full = api.get(f"{url}/diff?from=2&to=3&unmask=1").json
    assert "*" not in {f["path"]: f for f in full["fields"]}["members.0.id_number"]["new"]
    # the default compares the latest version with the one before
    assert api.get(f"{url}/diff").json == diff
    documents = api.get(f"{url}/diff?from=1&to=2").json["documents"]
    assert documents[0]["doc_id"] == doc and documents[0]["change"] == "added"
    assert documents[0]["old"] is None and documents[0]["new"]["file_no"] == 1


# -- personal data --------------------------------------------------------------------------
def test_masking_and_logged_unmask(api, store):
    created = api.household()
    url, no = created["links"]["self"], created["archive_no"]
    full_id = household_input()["applicant"]["id_number"]
    shown = api.get(url, role="auditor", params={"unmask": "1"}).json
    assert shown["unmasked"] is False
    assert shown["metadata"]["applicant"]["id_number"] == full_id[:4] + "*" * 10 + full_id[-4:]
    assert "*" in shown["metadata"]["phone"] and "*" in shown["metadata"]["address"]
    listing = api.get("/api/households", role="auditor").json
    assert full_id not in str(listing)
    with store() as root:
        assert root.log.newest(10, "personal.unmask") == []
    plain = api.get(url, role="archivist").json
    assert plain["metadata"]["applicant"]["id_number"] != full_id
    shown = api.get(url, role="archivist", params={"unmask": "1"}).json
    assert shown["unmasked"] is True
    assert shown["metadata"]["applicant"]["id_number"] == full_id
    member_id = household_input()["members"][0]["id_number"]
    assert shown["metadata"]["members"][0]["id_number"] == member_id
    version = api.get(f"{url}/versions/1", role="reviewer", params={"unmask": "1"}).json
    assert version["metadata"]["applicant"]["id_number"] == full_id
    with store() as root:
        entries = root.log.newest(10, "personal.unmask")
        assert [(e.actor, e.target) for e in entries] == [("reviewer", no), ("archivist", no)]
        assert entries[-1].detail == f"/api/households/{no}"


# -- listing ---------------------------------------------------------------------------------
def test_listing_pages_sorts_and_filters(api):
    names = ["甲", "乙", "丙", "丁", "戊"]
    for i, name in enumerate(names):
        api.household(name=name, seq=100 + 2 * i,
                      category="dibao" if i % 2 else "tekun", income_per_capita=1000 + i)
    page = api.get("/api/households?per_page=2&page=2").json
    assert page["total"] == 5 and page["page"] == 2 and page["per_page"] == 2
    assert [i["title"] for i in page["items"]] == ["丙", "丁"]
    item = page["items"][0]
    assert item["columns"]["applicant.name"] == "丙" and item["columns"]["category"] == "tekun"
    assert item["href"].endswith(f"/api/households/{item['archive_no']}") and item["version"] == 1
    ordered = api.get("/api/households?sort=income_per_capita&order=desc").json["items"]
    assert [i["title"] for i in ordered] == list(reversed(names))
    dibao = api.get("/api/households?category=dibao").json
    assert dibao["total"] == 2 and {i["title"] for i in dibao["items"]} == {"乙", "丁"}
    assert dibao["filters"] == {"category": "dibao"}
    assert api.get("/api/households?per_page=100").json["per_page"] == 100
    # above the documented maximum is refused, never quietly cut (the caller would miss items)
    errors = api.get("/api/households?per_page=500", status=422).json["errors"]
    assert errors == {"per_page": "每页条数：应为1到100之间的整数"}
    errors = api.get("/api/households?page=0", status=422).json["errors"]
    assert errors == {"page": "页码：应为不小于1的整数"}
    errors = api.get("/api/households?sort=phone&order=up", status=422).json["errors"]
    assert set(errors) == {"sort", "order"}
    assert api.get("/api/units").json == {"total": 0, "page": 1, "per_page": 20,
                                          "sort": "archive_no", "order": "asc",
                                          "filters": {}, "items": []}


# -- unknown paths and methods ---------------------------------------------------------------
def test_unknown_paths_and_methods(api):
    for url in ("/api/nothing", "/api/households/XX-1", "/api/households/XX-1/versions",
                "/api/tenants", "/api/households/a/b/c/d/e/f"):
        response = api.get(url, status=404)
        assert response.content_type == "application/json" and response.json["status"] == 404
    no, doc = api.filed()
    api.get(f"/api/households/{no}/documents/D9999", status=404)
    response = api.client.delete(f"/api/households/{no}", headers=api.headers("archivist"),
                                 status=405)
    assert response.json["status"] == 405
    assert response.headers["Allow"] == "GET, HEAD, PUT"
    response = api.client.put_json(f"/api/households/{no}/versions", {},
                                   headers=api.headers("archivist"), status=405)
    assert response.headers["Allow"] == "GET, HEAD"


# -- the OpenAPI document cannot drift from the routes ---------------------------------------
def _introspected_api_routes(registry):
    """{route name: (pattern, {methods})} from Pyramid's introspector, for routes under /api/
    and /healthz (described in the document too, for monitors)."""
    introspector = registry.introspector
    routes = {}
    for item in introspector.get_category("routes"):
        intr = item["introspectable"]
        if intr["pattern"].startswith("/api/") or intr["name"] == "healthz":
            routes[intr["name"]] = (intr["pattern"], set())
    for item in introspector.get_category("views"):
        intr = item["introspectable"]
        if intr["route_name"] not in routes:
            continue
        methods = intr["request_methods"]
        if methods is None:  # only the 405 fallback and the catch-all may take any method
            assert intr["callable"].__name__ in ("method_not_allowed", "unknown"), intr.title
            continue
        routes[intr["route_name"]][1].update({methods} if isinstance(methods, str) else methods)
    return routes


def _expand(pattern):
    match = re.search(r"\{kind:([^}]+)\}", pattern)
    kinds = match.group(1).split("|") if match else [None]
    out = []
    for kind in kinds:
        path = pattern.replace(match.group(0), kind) if kind else pattern
        out.append(re.sub(r"\{(\w+):[^}]*(\{[^}]*\})?[^}]*\}", r"{\1}", path))
    return out


def test_openapi_describes_every_api_route_and_method(app, api):
    doc = api.get("/api/openapi.json", role=None).json
    routes = _introspected_api_routes(app.registry)
    assert "api_any" in routes and routes.pop("api_any")[0] == "/api/*rest"
    expected = {}
    for name, (pattern, methods) in routes.items():
        assert methods, f"route {name} has no view"
        for path in _expand(pattern):
            expected[path] = {m.lower() for m in methods - {"HEAD"}}
    described = {path: set(item) - {"parameters"} for path, item in doc["paths"].items()}
    assert described == expected
    assert {"/api/households/{no}/transitions", "/api/units/{no}/transitions",
            "/api/worklist"} <= set(expected)


def test_openapi_operations_carry_the_views_permissions(app, api):
    doc = api.get("/api/openapi.json", role=None).json
    permissions = {}
    for item in app.registry.introspector.get_category("views"):
        intr = item["introspectable"]
        if intr["route_name"] and intr["request_methods"]:
            perm = next((r["value"] for r in item["related"]
                         if r.category_name == "permissions"), None)
            methods = intr["request_methods"]
            for m in ([methods] if isinstance(methods, str) else methods):
                permissions[(intr["route_name"], m.lower())] = perm
    route_of = {path: name for name, (pattern, _) in _introspected_api_routes(app.registry).items()
                for path in _expand(pattern)}
    operation_ids = set()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op["operationId"] not in operation_ids
            operation_ids.add(op["operationId"])
            assert op.get("x-permission") == permissions[(route_of[path], method)], (path, method)
            if op.get("x-permission"):
                codes = set(op["responses"])
                assert {"401", "403"} <= codes, (path, method)
            assert op["responses"], (path, method)
    assert doc["paths"]["/api/openapi.json"]["get"]["security"] == []


def test_openapi_schemas_are_generated_from_the_metadata_schemas(app, api):
    doc = api.get("/api/openapi.json", role=None).json
    schemas = doc["components"]["schemas"]
    archive = app.registry.archive_schemas
    vocab = archive.vocabularies
    household = schemas["HouseholdMetadata"]
    assert set(household["properties"]) == {s.name for s in archive["household"].fields}
    assert household["properties"]["category"]["enum"] == vocab["categories"].codes()
    assert household["properties"]["priority_groups"]["items"]["enum"] == \
        vocab["priority_groups"].codes()
    member = household["properties"]["members"]["items"]
    assert member["properties"]["relation"]["enum"] == vocab["relations"].codes()
    assert set(member["required"]) == {"name", "id_number", "relation"}
    assert household["properties"]["applicant"]["properties"]["id_number"]["x-personal"] is True
    assert set(household["required"]) >= {"applicant", "category", "phone", "jurisdiction"}
    unit = schemas["UnitMetadata"]
    area = unit["properties"]["area"]
    assert (area["minimum"], area["maximum"]) == (1, 300)
    assert "state" not in unit["properties"]
    assert unit["properties"]["layout"]["enum"] == vocab["layouts"].codes()
    assert schemas["DocumentMetadata"]["properties"]["doc_type"]["enum"] == \
        vocab["document_types"].codes()
    # every example input the tests use satisfies the documented required fields and enums
    _check(household_input(), household, schemas)
    _check({k: v for k, v in unit_input().items() if k != "state"}, unit, schemas)
    entry = schemas["UnitInput"]["allOf"][1]["properties"]["state"]["enum"]
    assert unit_input()["state"] in entry and "leased" not in entry
    # the listing's filters come from the schema's listing section
    listing = doc["paths"]["/api/households"]["get"]["parameters"]
    names = [p["name"] for p in listing]
    assert names[:4] == ["page", "per_page", "sort", "order"]
    assert set(names[4:]) == set(archive["household"].listing["filters"])
    assert next(p for p in listing if p["name"] == "jurisdiction")["schema"]["enum"] == \
        vocab["jurisdictions"].codes()


def _check(value, schema, schemas):
    """A small JSON Schema check (type, enum, required, items, properties) for our own docs."""
    if "$ref" in schema:
        return _check(value, schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if value is None:
        assert "null" in types, schema
        return
    py = {"object": dict, "array": list, "string": str, "number": (int, float),
          "integer": int, "boolean": bool}
    if types:
        assert any(isinstance(value, py[t]) for t in types if t != "null"), (value, schema)
    if "enum" in schema:
        assert value in schema["enum"], (value, schema["enum"])
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            assert name in value, name
        for name, item in value.items():
            assert name in schema.get("properties", {}), name
            _check(item, schema["properties"][name], schemas)
    if isinstance(value, list) and "items" in schema:
        for item in value:
            _check(item, schema["items"], schemas)


def test_openapi_refs_resolve_and_responses_match(api):
    doc = api.get("/api/openapi.json", role=None).json
    refs = set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', _dumps(doc)))
    for section, name in refs:
        assert name in doc["components"][section], (section, name)
    # a real answer satisfies its documented schema
    created = api.household()
    schemas = doc["components"]["schemas"]
    body = copy.deepcopy(api.get(created["links"]["self"], params={"unmask": "1"}).json)
    _check(body["metadata"], schemas["HouseholdMetadata"], schemas)
    error = api.post_json("/api/households", {}, status=422).json
    assert set(error) <= set(schemas["Error"]["properties"])


def _dumps(doc):
    import json
    return json.dumps(doc, ensure_ascii=False)


def test_unmasked_metadata_round_trips_and_masked_metadata_is_refused(api, store):
    url = api.household()["links"]["self"]
    full = api.get(url, params={"unmask": "1"}).json["metadata"]
    assert api.put_json(url, {**full, "comment": "原样提交"}, status=409).json["status"] == 409
    masked = api.get(url).json["metadata"]
    errors = api.put_json(url, {**masked, "comment": "用脱敏数据覆盖"}, status=422).json["errors"]
    assert {"applicant.id_number", "phone"} <= set(errors)
    with store() as root:
        assert next(iter(root.households.values())).latest.number == 1


def test_openapi_follows_the_yaml_without_code(settings, tmp_path):
    """A field and a vocabulary term added to schemas/*.yaml appear in the OpenAPI document."""
    import shutil

    import yaml
    from archive import close, main
    from archive.schema.registry import default_directory
    directory = tmp_path / "schemas"
    shutil.copytree(default_directory(), directory)
    shutil.copytree(default_directory().parent / "workflows", tmp_path / "workflows")
    household = yaml.safe_load((directory / "household.yaml").read_text(encoding="utf-8"))
    household["fields"].append({"name": "employer", "type": "string", "max_length": 80,
                                "title": {"zh": "工作单位", "en": "Employer"}})
    (directory / "household.yaml").write_text(yaml.safe_dump(household, allow_unicode=True),
                                              encoding="utf-8")
    vocabularies = yaml.safe_load((directory / "vocabularies.yaml").read_text(encoding="utf-8"))
    vocabularies["categories"].append({"code": "rencai", "zh": "人才", "en": "Talent"})
    (directory / "vocabularies.yaml").write_text(yaml.safe_dump(vocabularies, allow_unicode=True),
                                                 encoding="utf-8")
    app = main({}, **dict(settings, **{"archive.schemas_dir": str(directory)}))
    try:
        doc = webtest.TestApp(app).get("/api/openapi.json").json
    finally:
        close(app)
    household = doc["components"]["schemas"]["HouseholdMetadata"]["properties"]
    assert household["employer"]["title"] == "工作单位"
    assert household["employer"]["maxLength"] == 80
    assert household["category"]["enum"][-1] == "rencai"
    assert household["category"]["x-enum-titles"]["rencai"] == "人才"
