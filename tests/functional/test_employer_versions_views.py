"""An employer's dossier page (单位集体申请档案, 厦门) with what the household page has: the 归档章
under each document, and its versions — each on a page of its own, two compared, an earlier
one restored (a new version, with who, when and why; history kept) — on /employers/{no}/…
routes bound to the household's views, and the same in the JSON API
(/api/employers/{no}/versions…), documented in the OpenAPI document as answered."""
from __future__ import annotations

import datetime as dt
import re

import jsonschema
import pytest

import conftest
from conftest import PASSWORD, employer_dossier


@pytest.fixture
def api(app, users):
    return conftest.Api(app, users)


@pytest.fixture
def employer(app, store, users):
    """A 厦门 employer's dossier with its four documents, then its contact changed (a version
    ``edited``); ``xiamen`` is an archivist of 厦门 only, ``qujing`` one of 曲靖 only.
    Returns (档号, the version with two documents, the last version before the edit)."""
    with store() as root:
        employer = employer_dossier(root, app.registry.archive_schemas, app.registry.archive_procedure)
        no = employer.archive_no
        two = next(v.number for v in reversed(employer.history()) if len(v.manifest) == 2)
        before = employer.latest.number
        employer.update({**employer.metadata, "contact": "王经理 0592-5550123"}, "archivist",
                        dt.datetime.now(dt.timezone.utc), "联系人变更")
        for login, roles in (("xiamen", ("archivist@xiamen",)), ("qujing", ("archivist@qujing",))):
            root.users.add(login, login, (), PASSWORD, app.registry.archive_hasher, local_roles=roles)
            users[login] = root.users.issue_token(login)
    return no, two, before


def _csrf(page):
    return page.html.select_one("input[name=csrf_token]")["value"]


def _history(store, no):
    """The employer's versions as recorded: (number, action, actor, comment, metadata, manifest)."""
    with store() as root:
        return [(v.number, v.action, v.actor, v.comment, v.metadata, v.manifest)
                for v in root.employers[no].history()]


# -- 归档章 ---------------------------------------------------------------------------------------
def test_each_document_shows_its_filing_stamp(app, browser, store, employer):
    from archive.custody.arrangement import arrangement_json
    no, _, _ = employer
    with store() as root:
        dossier = root.employers[no]
        expected = {d.doc_id: arrangement_json(dossier, d, app.registry.archive_custody)
                    for d in dossier.documents.values()}
    assert len(expected) == 4
    browser.login("auditor")          # whoever may view the dossier sees its stamps
    page = browser.get(f"/employers/{no}")
    for doc_id, st in expected.items():
        stamp = page.html.select_one(f"#doc-{doc_id} .filing-stamp")
        assert stamp is not None, doc_id
        text = " ".join(stamp.text.split())
        assert f"全宗号 {st['fonds']}" in text and f"年度 {st['year']}" in text, text
        assert "保管期限" in text and "件号" in text
        assert stamp.select_one(".stamp-retention").text == st["retention_title"]
        assert stamp.select_one(".stamp-item").text == str(st["item_no"])
    assert sorted(int(s.text) for s in page.html.select("#documents .stamp-item")) == [1, 2, 3, 4]
    assert {st["fonds"] for st in expected.values()} == {"XM"}


# -- a version's page, two compared ---------------------------------------------------------------
def test_each_version_is_linked_to_its_page_which_shows_that_version(browser, store, employer):
    no, two, before = employer
    history = _history(store, no)
    browser.login("reviewer")
    page = browser.get(f"/employers/{no}")
    links = {a.text: a["href"] for a in page.html.select("#history .version-row a")}
    assert links == {f"第 {n} 版": f"http://localhost/employers/{no}/versions/{n}" for n, *_ in history}
    # the version with two documents: its own documents, its own files, links to the employer's routes
    version = browser.get(links[f"第 {two} 版"])
    assert f"第 {two} 版" in version.html.select_one("h1").text
    assert version.html.select_one("h1 a")["href"] == f"http://localhost/employers/{no}"
    rows = version.html.select("table.small tr")
    assert [r.select("td")[0].text for r in rows] == ["D0001", "D0002"]
    files = [r.select_one("a")["href"] for r in rows]
    assert files == [f"http://localhost/employers/{no}/documents/D000{i}/files/1" for i in (1, 2)]
    pdf = browser.get(files[0])
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    hrefs = [a["href"] for a in version.html.select("a[href]") if no in a["href"]]
    assert hrefs and all(h.startswith(f"http://localhost/employers/{no}") for h in hrefs), hrefs
    assert "restore-form" not in version.forms       # the reviewer may not restore
    # that version's metadata: the contact before it was changed
    metadata = " ".join(version.html.select_one("#metadata").text.split())
    assert "鹭江智能科技" in metadata and "王经理" not in metadata
    latest = browser.get(f"/employers/{no}/versions/{history[0][0]}")
    assert "王经理 0592-5550123" in latest.html.select_one("#metadata").text
    assert len(latest.html.select("table.small tr")) == 4
    assert history[0][0] == before + 1


def test_two_versions_are_compared(browser, employer):
    no, two, before = employer
    browser.login("reviewer")
    form = browser.get(f"/employers/{no}").forms["history-form"]
    assert form.action == f"http://localhost/employers/{no}/diff"
    assert browser.get(f"/employers/{no}").html.select_one("#compare-button") is not None
    form["a"], form["b"] = str(two), str(before + 1)
    diff = form.submit()
    assert diff.status_int == 200 and diff.request.path == f"/employers/{no}/diff"
    assert f"第 {two} 版与第 {before + 1} 版比较" in diff.text
    assert diff.html.select_one("h1 a")["href"] == f"http://localhost/employers/{no}"
    fields = [[td.text for td in tr.select("td")] for tr in diff.html.select("#field-changes tr")[1:]]
    assert fields == [["联系人", "", "王经理 0592-5550123"]]
    changes = {tr.select("td")[0].text: tr.select("td")[2].text.strip()
               for tr in diff.html.select("#document-changes tr")}
    assert changes == {"D0003": "新增", "D0004": "新增"}


# -- restoring ------------------------------------------------------------------------------------
def test_an_archivist_restores_an_earlier_version_as_a_new_one(browser, store, employer):
    no, two, before = employer
    earlier = _history(store, no)
    latest = earlier[0][0]
    browser.login("archivist")
    version = browser.get(f"/employers/{no}/versions/{two}")
    form = version.forms["restore-form"]
    assert form.action == f"http://localhost/employers/{no}/restore"
    form["comment"] = "误归档，恢复到只有申请表和名册时"
    restored = form.submit()
    assert restored.status_int == 302 and restored.location == f"http://localhost/employers/{no}"
    page = restored.follow()
    assert f"已恢复为第 {two} 版的内容，保存为第 {latest + 1} 版" in page.text
    # a new version: who, when, why; the earlier ones as they were
    history = _history(store, no)
    assert history[1:] == earlier
    number, action, actor, comment, metadata, manifest = history[0]
    assert (number, action, actor, comment) == (latest + 1, "restored", "archivist", "误归档，恢复到只有申请表和名册时")
    with store() as root:
        employer = root.employers[no]
        assert employer.latest.restored_from == two
        assert (dt.datetime.now(dt.timezone.utc) - employer.latest.when) < dt.timedelta(minutes=5)
        # the earlier state is back: its metadata, the documents filed after it withdrawn (kept)
        assert employer.metadata == employer.version(two).metadata
        assert employer.metadata.get("contact") != "王经理 0592-5550123"
        assert [d.doc_id for d in employer.active_documents()] == ["D0001", "D0002"]
        assert {d.doc_id: d.withdraw_reason for d in employer.documents.values() if d.withdrawn} == \
            {"D0003": f"恢复到版本 {two}", "D0004": f"恢复到版本 {two}"}
        assert all(d.current_file is not None for d in employer.documents.values())
    row = page.html.select_one(f"#history .version-row[data-version='{latest + 1}']")
    assert "恢复版本" in row.text and f"← 第 {two} 版" in row.text and "误归档" in row.text
    assert "已撤出" in page.html.select_one("#doc-D0003").text
    # the page after it shows the state it restored; the version restored from is unchanged
    assert "王经理" not in browser.get(f"/employers/{no}/versions/{latest + 1}").html.select_one("#metadata").text
    assert "王经理" in browser.get(f"/employers/{no}/versions/{latest}").html.select_one("#metadata").text


def test_a_local_archivist_restores_his_citys_employer_not_another(browser, store, employer):
    no, two, _ = employer
    browser.login("xiamen")
    form = browser.get(f"/employers/{no}/versions/{two}").forms["restore-form"]
    form["comment"] = "恢复"
    assert form.submit().status_int == 302
    assert _history(store, no)[0][1:3] == ("restored", "xiamen")
    browser.login("qujing")
    browser.get(f"/employers/{no}/versions/{two}", status=403)
    browser.get(f"/employers/{no}/diff", params={"a": "1", "b": str(two)}, status=403)
    browser.post(f"/employers/{no}/restore", {"version": "1", "comment": "越权",
                                              "csrf_token": _csrf(browser.get("/employers"))}, status=403)
    assert _history(store, no)[0][2] == "xiamen"


@pytest.mark.parametrize("role", ["reviewer", "inspector", "auditor"])
def test_restoring_is_forbidden_without_the_restore_permission(browser, store, employer, role):
    no, two, _ = employer
    before = _history(store, no)
    browser.login(role)
    version = browser.get(f"/employers/{no}/versions/{two}")    # may view, not restore
    assert "restore-form" not in version.forms
    r = browser.post(f"/employers/{no}/restore", {"version": str(two), "comment": "越权恢复",
                                                  "csrf_token": _csrf(browser.get("/employers"))}, status=403)
    assert "无权" in r.text
    assert _history(store, no) == before


def test_restoring_without_a_csrf_token_or_a_reason_changes_nothing(browser, store, employer):
    no, two, _ = employer
    before = _history(store, no)
    browser.login("archivist")
    r = browser.post(f"/employers/{no}/restore", {"version": str(two), "comment": "伪造"}, status=400)
    assert "CSRF" in r.text
    r = browser.post(f"/employers/{no}/restore", {"version": str(two), "comment": "伪造",
                                                  "csrf_token": "not-the-token"}, status=400)
    assert "CSRF" in r.text
    csrf = _csrf(browser.get("/employers"))
    r = browser.post(f"/employers/{no}/restore", {"version": str(two), "comment": "  ", "csrf_token": csrf})
    assert r.location == f"http://localhost/employers/{no}" and "恢复版本必须说明原因" in r.follow().text
    current = before[0][0]
    r = browser.post(f"/employers/{no}/restore", {"version": str(current), "comment": "x", "csrf_token": csrf},
                     status=409)
    assert "该版本就是当前版本" in r.text
    assert _history(store, no) == before


def test_unknown_versions_are_404_in_chinese_not_500(browser, store, employer):
    no, _, _ = employer
    before = _history(store, no)
    browser.login("archivist")
    for n in ("99", "0", "999999999999999999999"):
        r = browser.get(f"/employers/{no}/versions/{n}", status=404)
        assert f"版本 {n} 不存在" in r.text, n
    assert "无法完成操作（404）" in browser.get(f"/employers/{no}/versions/abc", status=404).text
    r = browser.get(f"/employers/{no}/documents/D0001/files/99", status=404)
    assert "文件版本不存在" in r.text
    assert "文件不存在" in browser.get(f"/employers/{no}/documents/D9999/files/1", status=404).text
    r = browser.get(f"/employers/{no}/diff", params={"a": "1", "b": "99"}, status=400)
    assert "版本 99 不存在" in r.text
    csrf = _csrf(browser.get("/employers"))
    r = browser.post(f"/employers/{no}/restore", {"version": "99", "comment": "x", "csrf_token": csrf}, status=400)
    assert "版本 99 不存在" in r.text
    for url in ("/employers/XM-DW-2026-Y-99999/versions/1", "/employers/XM-DW-2026-Y-99999/diff"):
        assert "无法完成操作（404）" in browser.get(url, status=404).text
    assert _history(store, no) == before


# -- the JSON API ---------------------------------------------------------------------------------
def _schema_check(doc, name, body):
    """``body`` satisfies the OpenAPI document's component ``name`` (JSON Schema 2020-12)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


def test_the_api_lists_shows_compares_and_restores_an_employers_versions(api, store, employer):
    no, two, before = employer
    doc = api.get("/api/openapi.json", role=None).json
    base = f"/api/employers/{no}"
    listed = api.get(f"{base}/versions", role="auditor").json
    assert listed["archive_no"] == no and listed["total"] == before + 1
    assert [v["number"] for v in listed["items"]] == list(range(before + 1, 0, -1))
    assert listed["items"][0]["action"] == "edited" and listed["items"][0]["comment"] == "联系人变更"
    _schema_check(doc, "VersionList", listed)
    version = api.get(f"{base}/versions/{two}", role="auditor").json
    assert version["number"] == two and [e["doc_id"] for e in version["manifest"]] == ["D0001", "D0002"]
    assert version["archive_no"] == no and version["metadata"]["name"] == "厦门鹭江智能科技有限公司"
    assert version["metadata"].get("contact") != "王经理 0592-5550123"
    _schema_check(doc, "EmployerVersion", version)
    diff = api.get(f"{base}/diff", role="auditor", params={"from": two, "to": before + 1}).json
    assert (diff["from"], diff["to"]) == (two, before + 1)
    assert [(f["path"], f["old"], f["new"]) for f in diff["fields"]] == [("contact", "", "王经理 0592-5550123")]
    assert {(d["doc_id"], d["change"]) for d in diff["documents"]} == {("D0003", "added"), ("D0004", "added")}
    _schema_check(doc, "Diff", diff)
    assert api.get(f"{base}/diff", role="auditor").json["from"] == before     # the last change by default
    # restore: the employer's dossier after it, a new version; refusals change nothing
    api.post_json(f"{base}/restore", {"version": two, "comment": "x"}, role="reviewer", status=403)
    api.client.post_json(f"{base}/restore", {"version": two, "comment": "x"}, status=401)
    assert api.post_json(f"{base}/restore", {"version": two}, status=422).json["errors"] == \
        {"comment": "修改说明：恢复版本必须说明原因"}
    assert api.post_json(f"{base}/restore", {"version": before + 1, "comment": "x"}, status=409).json["status"] == 409
    assert api.post_json(f"{base}/restore", {"version": 99, "comment": "x"}, status=400).json["error"] == "版本 99 不存在"
    assert len(_history(store, no)) == before + 1
    restored = api.post_json(f"{base}/restore", {"version": two, "comment": "接口恢复"}).json
    _schema_check(doc, "EmployerDossier", restored)
    assert restored["archive_no"] == no
    assert restored["versions"][0]["number"] == before + 2 and restored["versions"][0]["action"] == "restored"
    assert restored["versions"][0]["actor"] == "archivist" and restored["versions"][0]["comment"] == "接口恢复"
    assert {d["doc_id"]: d["withdrawn"] for d in restored["documents"]} == \
        {"D0001": False, "D0002": False, "D0003": True, "D0004": True}
    items = api.get(f"{base}/versions").json["items"]
    assert items[0]["restored_from"] == two and len(items) == before + 2
    _schema_check(doc, "VersionList", api.get(f"{base}/versions").json)


def test_the_api_refuses_unknown_versions_employers_and_methods(api, employer):
    no, _, _ = employer
    base = f"/api/employers/{no}"
    for n in ("99", "abc", "0"):
        r = api.get(f"{base}/versions/{n}", status=404).json
        assert r["status"] == 404 and "不存在" in r["error"]
    assert api.get(f"{base}/diff", params={"from": 1, "to": 99}, status=400).json["error"] == "版本 99 不存在"
    for path in ("versions", "versions/1", "diff"):
        api.get(f"/api/employers/XM-DW-2026-Y-99999/{path}", status=404)
    api.get(f"{base}/versions", role="qujing", status=403)
    r = api.client.delete(f"{base}/versions", headers=api.headers("archivist"), status=405)
    assert r.headers["Allow"] == "GET, HEAD"
    r = api.client.get(f"{base}/restore", headers=api.headers("archivist"), status=405)
    assert r.headers["Allow"] == "POST"


def test_the_openapi_document_describes_the_employers_version_operations(api):
    doc = api.get("/api/openapi.json", role=None).json
    paths = doc["paths"]
    expected = {"/api/employers/{no}/versions": {"get": "view"}, "/api/employers/{no}/versions/{n}": {"get": "view"},
                "/api/employers/{no}/diff": {"get": "view"}, "/api/employers/{no}/restore": {"post": "restore"}}
    for path, methods in expected.items():
        assert {m: op["x-permission"] for m, op in paths[path].items() if m != "parameters"} == methods, path
    restore = paths["/api/employers/{no}/restore"]["post"]
    assert restore["responses"]["200"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/EmployerDossier"}
    assert restore["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Restore"}
    assert set(restore["responses"]) >= {"400", "401", "403", "404", "409", "422"}
    one = paths["/api/employers/{no}/versions/{n}"]["get"]["responses"]["200"]
    assert one["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EmployerVersion"}
    assert "collective" in doc["components"]["schemas"]["VersionSummary"]["properties"]["action"]["enum"]
    # the household's operations are unchanged, the employer's the same but for the schemas named
    household = paths["/api/households/{no}/restore"]["post"]
    assert re.sub("Household", "Employer", str({k: v for k, v in household.items() if k not in ("tags", "operationId")})) \
        == str({k: v for k, v in restore.items() if k not in ("tags", "operationId")})
