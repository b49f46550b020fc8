"""Hardening: what a clerk, an auditor and an integrating system rely on when input is bad,
forged or hostile — a clear Chinese 4xx, nothing half-written, never a 500 — and the
guarantees on personal data, sessions, roles and history."""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse

import pytest
import webtest
from pyramid.authorization import Deny

from archive.schema import idnumber
from conftest import doc_fields, encrypted_pdf, PASSWORD, READERS, household_input, make_pdf

CJK = re.compile(r"[\u4e00-\u9fff]")
XSS = "<script>alert(1)</script>"


# -- helpers ---------------------------------------------------------------------------
def bearer(users, role):
    return {"Authorization": f"Bearer {users[role]}"}


def new_household(client, users, role="archivist", **extra):
    body = {**household_input(**extra), "comment": "受理"}
    return client.post_json("/api/households", body, headers=bearer(users, role), status=201).json


def file_doc(client, users, no, content=None, filename="申请表.pdf", **fields):
    return client.post(f"/api/households/{no}/documents", doc_fields(**fields),
                       headers=bearer(users, "archivist"),
                       upload_files=[("file", filename, content or make_pdf(), "application/pdf")],
                       status=201).json


def csrf(client, page="/households"):
    return client.get(page).html.select_one("input[name=csrf_token]")["value"]


def versions(store, no):
    with store() as root:
        return len(root.households[no].versions)


def count(store):
    with store() as root:
        return len(root.households)


def is_clean_refusal(response, status=None):
    """A 4xx whose body tells a clerk, in Chinese, what went wrong."""
    assert 400 <= response.status_int < 500, response.status
    if status is not None:
        assert response.status_int == status, response.status
    text = response.json["error"] if response.content_type == "application/json" else response.text
    assert CJK.search(text), text[:300]


@pytest.fixture
def client(app, users):
    return webtest.TestApp(app)


@pytest.fixture
def household(client, users):
    return new_household(client, users)["archive_no"]


# -- invalid ID numbers ----------------------------------------------------------------
GOOD = idnumber.make("320402", dt.date(1980, 5, 6), 11)
BAD_IDS = [GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1"),   # wrong check character
           GOOD[:17],                                        # 17 characters
           "32040219800506AB1X",                             # letters
           idnumber.make("990402", dt.date(1980, 5, 6), 11),  # no such province
           idnumber.make("320402", dt.date(2090, 1, 1), 11),  # born in the future
           "3204021980130601" + "11",                         # month 13
           ""]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_invalid_id_number_api_is_422_in_chinese_and_nothing_stored(client, users, store, bad):
    before = count(store)
    data = household_input()
    data["applicant"]["id_number"] = bad
    response = client.post_json("/api/households", data, headers=bearer(users, "archivist"),
                                status="*")
    is_clean_refusal(response, 422)
    assert "applicant.id_number" in response.json["errors"]
    assert count(store) == before


def test_fullwidth_digits_in_id_number_are_not_stored_as_a_second_spelling(client, users, store):
    """A Chinese IME types ３２０４…; the system must refuse it or store the ASCII form, never
    keep a second spelling of the same person that bypasses duplicate checks."""
    wide = GOOD[:2] + GOOD[2:17].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + GOOD[17]
    data = household_input()
    data["applicant"]["id_number"] = wide
    response = client.post_json("/api/households", data, headers=bearer(users, "archivist"),
                                status="*")
    assert response.status_int in (201, 422)
    if response.status_int == 201:
        with store() as root:
            stored = root.households[response.json["archive_no"]].metadata["applicant"]["id_number"]
        assert stored.isascii(), stored


def test_invalid_id_number_in_html_form_is_422_and_nothing_stored(browser, store):
    browser.login("archivist")
    form = browser.get("/households/new").forms["dossier-form"]
    data = household_input()
    for name, value in (("name", "张三"), ("id_number", BAD_IDS[0]), ("category", "dibao"),
                        ("income_per_capita", "1200"), ("phone", "13812345678"),
                        ("jurisdiction", "changzhou"), ("district", "天宁区"),
                        ("address", data["address"])):
        form[name] = value
    response = form.submit(status="*")
    assert response.status_int == 422
    assert "校验码错误" in response.text
    assert count(store) == 0


# -- PDFs --------------------------------------------------------------------------------
BAD_PDFS = {
    "empty": b"",
    "not a pdf": b"GIF89a" + b"\0" * 100,
    "truncated": make_pdf()[:200],
    "garbage after header": b"%PDF-1.7\n" + b"\x00\xff garbage " * 200,
    "encrypted": None,
}


@pytest.mark.parametrize("kind", sorted(BAD_PDFS))
def test_bad_pdf_is_refused_via_api_with_chinese_message_and_nothing_filed(
        client, users, store, household, kind):
    content = encrypted_pdf() if kind == "encrypted" else BAD_PDFS[kind]
    before = versions(store, household)
    response = client.post(f"/api/households/{household}/documents", doc_fields(),
                           headers=bearer(users, "archivist"),
                           upload_files=[("file", "x.pdf", content, "application/pdf")],
                           status="*")
    is_clean_refusal(response, 400)
    assert versions(store, household) == before
    with store() as root:
        assert len(root.households[household].documents) == 0


@pytest.mark.parametrize("kind", ["encrypted", "truncated"])
def test_bad_pdf_is_refused_in_html_form(browser, client, users, store, household, kind):
    content = encrypted_pdf() if kind == "encrypted" else BAD_PDFS[kind]
    browser.login("archivist")
    form = browser.get(f"/households/{household}/documents/new").forms["document-form"]
    form["doc_type"], form["title"], form["date"], form["issuer"] = (
        "application_form", "申请表", "2026-03-02", "张三")
    form["upload"] = webtest.Upload("x.pdf", content, "application/pdf")
    response = form.submit(status="*")
    is_clean_refusal(response, 400)
    assert ("加密" if kind == "encrypted" else "损坏") in response.text
    assert versions(store, household) == 1


@pytest.mark.parametrize("size_mb", [2.5, 4])
def test_oversized_upload_is_413_api_and_html(browser, client, users, store, household, size_mb):
    big = make_pdf() + b"%" + b"0" * int(size_mb * 1024 * 1024)
    response = client.post(f"/api/households/{household}/documents", doc_fields(),
                           headers=bearer(users, "archivist"),
                           upload_files=[("file", "big.pdf", big, "application/pdf")], status="*")
    is_clean_refusal(response, 413)
    browser.login("archivist")
    form = browser.get(f"/households/{household}/documents/new").forms["document-form"]
    form["doc_type"], form["title"], form["date"], form["issuer"] = (
        "application_form", "申请表", "2026-03-02", "张三")
    form["upload"] = webtest.Upload("big.pdf", big, "application/pdf")
    response = form.submit(status="*")
    is_clean_refusal(response, 413)
    assert versions(store, household) == 1


# -- CSRF --------------------------------------------------------------------------------
def test_forged_form_posts_are_refused_and_change_nothing(browser, client, users, store, household):
    doc = file_doc(client, users, household)["doc_id"]
    posts = [
        ("sysadmin", "/users/new", {"login": "mallory", "password": "password-123"}),
        ("sysadmin", "/users/inspector", {"active": ""}),
        ("sysadmin", "/users/inspector/token", {}),
        ("secadmin", "/users/inspector/roles", {"roles": "sysadmin"}),
        ("archivist", "/households/new", {"name": "伪造"}),
        ("archivist", f"/households/{household}/restore", {"version": "1", "comment": "伪造"}),
        ("archivist", f"/households/{household}/documents/{doc}/withdraw", {"reason": "伪造"}),
    ]
    for login, url, data in posts:
        browser.login(login)
        for token in (None, "forged-token"):
            body = dict(data, **({"csrf_token": token} if token else {}))
            response = browser.post(url, body, status="*")
            is_clean_refusal(response, 400)
            assert "CSRF" in response.text
    # the API from a browser session (cookie, no bearer token) is a form post too
    response = browser.put_json(f"/api/households/{household}",
                                {**household_input(), "district": "钟楼区", "comment": "伪造"},
                                status="*")
    assert response.status_int == 400
    assert versions(store, household) == 2
    with store() as root:
        assert "mallory" not in root.users
        assert root.users["inspector"].roles == ("inspector",) and root.users["inspector"].active
        assert len(root.users["inspector"].tokens) == 1   # the fixture's
        assert not root.households[household].documents[doc].withdrawn
    # still logged in: a forged logout does not log the user out either
    assert browser.post("/logout", status="*").status_int == 400
    assert browser.get("/households").status_int == 200


# -- unknown versions and documents ------------------------------------------------------
def test_unknown_versions_and_documents_are_404(browser, client, users, household):
    doc = file_doc(client, users, household)["doc_id"]
    browser.login("archivist")
    base = f"/households/{household}"
    for url in (f"{base}/versions/99", f"{base}/versions/0",
                f"{base}/versions/999999999999999999999",
                f"{base}/documents/D9999/files/1", f"{base}/documents/{doc}/files/99",
                f"{base}/documents/{doc}/files/999999999999999999999",
                f"{base}/documents/../files/1", "/households/NO-SUCH", "/households/NO-SUCH/diff"):
        response = browser.get(url, status="*")
        is_clean_refusal(response, 404)
    # an address no route takes says so in words, not by repeating the path
    for url in (f"{base}/versions/abc", "/households/NO-SUCH/versions/x1", "/no/such/page"):
        response = browser.get(url, status=404)
        assert "页面或档案不存在" in response.text and url not in response.html.select_one("main").text
    assert "版本 99 不存在" in browser.get(f"{base}/versions/99", status=404).text   # a view's own reason
    api = f"/api{base}"
    h = bearer(users, "archivist")
    for url in (f"{api}/versions/99", f"{api}/versions/abc", f"{api}/versions/-1",
                f"{api}/versions/999999999999999999999", f"{api}/documents/D9999",
                f"{api}/documents/D9999/content", f"{api}/documents/{doc}/content?file=abc",
                f"{api}/documents/{doc}/content?file=999999999999999999999",
                f"{api}/documents/{doc}/content?file=-1"):
        response = client.get(url, headers=h, status="*")
        is_clean_refusal(response, 404)
    response = client.post(f"{api}/documents/D9999/files", {"comment": "x"}, headers=h,
                           upload_files=[("file", "x.pdf", make_pdf(), "application/pdf")],
                           status="*")
    is_clean_refusal(response, 404)
    response = client.post_json(f"{api}/documents/D9999/withdraw", {"reason": "x"}, headers=h,
                                status="*")
    is_clean_refusal(response, 404)


# -- weird query parameters -----------------------------------------------------------
@pytest.mark.parametrize("query", ["page=-1", "page=abc", "page=0", "page=1.5", "page=",
                                   "page=99999999999999999999999", "sort=evil", "sort=__class__",
                                   "order=evil", "jurisdiction=evil", "district=%ff",
                                   "page=%ff", "per_page=99999999999999999999999"])
def test_listing_weird_query_params_never_500(browser, client, users, household, query):
    browser.login("archivist")
    response = browser.get(f"/households?{query}", status="*")
    assert response.status_int == 200 or 400 <= response.status_int < 500, response.status
    response = client.get(f"/api/households?{query}", headers=bearer(users, "archivist"),
                          status="*")
    if response.status_int != 200:
        is_clean_refusal(response)


@pytest.mark.parametrize("query", ["page=-1", "page=abc", "sort=evil", "order=evil",
                                   "per_page=0"])
def test_api_listing_refuses_bad_params_with_422(client, users, household, query):
    response = client.get(f"/api/households?{query}", headers=bearer(users, "archivist"),
                          status="*")
    is_clean_refusal(response, 422)


@pytest.mark.parametrize("query", ["a=xyz&b=1", "a=1&b=xyz", "a=1", "", "a=1&b=99",
                                   "a=-1&b=1", "a=999999999999999999999&b=1", "a=%ff&b=1"])
def test_diff_with_bad_versions_is_400(browser, client, users, household, query):
    browser.login("archivist")
    response = browser.get(f"/households/{household}/diff?{query}", status="*")
    is_clean_refusal(response, 400)
    api_query = query.replace("a=", "from=").replace("b=", "to=")
    if api_query and "from=1&to=" not in api_query and api_query != "from=1":
        response = client.get(f"/api/households/{household}/diff?{api_query}",
                              headers=bearer(users, "archivist"), status="*")
        is_clean_refusal(response, 400)


# -- wrong methods ------------------------------------------------------------------------
def test_wrong_methods_are_4xx(browser, client, users, household):
    browser.login("sysadmin")
    for url in ("/logout", "/users/new", "/users/inspector", "/users/inspector/token",
                "/users/inspector/roles", f"/households/{household}/restore"):
        assert 400 <= browser.get(url, status="*").status_int < 500, url
    h = bearer(users, "archivist")
    for method in ("DELETE", "PATCH"):
        response = client.request(f"/api/households/{household}", method=method, headers=h,
                                  status="*")
        assert response.status_int == 405
        assert "GET" in response.headers["Allow"]
        is_clean_refusal(response, 405)


# -- non-UTF-8 and huge fields ------------------------------------------------------------
def test_non_utf8_form_post_is_4xx_not_500(browser):
    token = browser.get("/login").html.select_one("input[name=csrf_token]")["value"]
    body = b"login=\xff\xfe\xfa&password=\xff&csrf_token=" + token.encode()
    response = browser.post("/login", body, content_type="application/x-www-form-urlencoded",
                            status="*")
    assert 400 <= response.status_int < 500, response.status


def test_non_utf8_json_is_400(client, users):
    response = client.post("/api/households", "{\"notes\": \"\xe9\"}".encode("latin-1"),
                           content_type="application/json", headers=bearer(users, "archivist"),
                           status="*")
    is_clean_refusal(response, 400)


def test_huge_name_is_422_api_and_html(browser, client, users, store):
    response = client.post_json("/api/households", household_input(name="张" * 100_000),
                                headers=bearer(users, "archivist"), status="*")
    is_clean_refusal(response, 422)
    assert "40" in response.json["errors"]["applicant.name"]
    browser.login("archivist")
    form = browser.get("/households/new").forms["dossier-form"]
    form["name"] = "张" * 100_000
    assert form.submit(status="*").status_int == 422
    assert count(store) == 0


def test_huge_change_comment_is_refused(client, users, store, household):
    """A comment (修改说明) is kept forever in every version listing; a megabyte of it is
    not an explanation but bad input."""
    body = {**household_input(), "district": "钟楼区", "comment": "因" * 1_000_000}
    response = client.put_json(f"/api/households/{household}", body,
                               headers=bearer(users, "archivist"), status="*")
    is_clean_refusal(response)
    assert versions(store, household) == 1


# -- JSON with wrong types ------------------------------------------------------------------
@pytest.mark.parametrize("body", [[], "张三", 42, None, True, [{"applicant": {}}]])
def test_json_body_not_an_object_is_400(client, users, store, body):
    response = client.post_json("/api/households", body, headers=bearer(users, "archivist"),
                                status="*")
    is_clean_refusal(response, 400)
    assert count(store) == 0


def _with(path, value):
    data = household_input()
    target = data
    *parents, last = path.split(".")
    for p in parents:
        target = target[int(p)] if isinstance(target, list) else target[p]
    target[last] = value
    return data


WRONG_TYPES = [
    ("applicant", "张三"), ("applicant", [1, 2]), ("applicant", None), ("applicant", 5),
    ("members", {"name": "李梅"}), ("members", "李梅"), ("members", [1, 2]), ("members", [None]),
    ("members", [[{"name": "x"}]]),
    ("applicant.name", {"a": {"b": [1]}}), ("applicant.name", ["张三"]),
    ("applicant.id_number", 3.2040219800506e17), ("applicant.id_number", ["x"]),
    ("income_per_capita", "abc"), ("income_per_capita", True), ("income_per_capita", [1]),
    ("income_per_capita", {"a": 1}), ("income_per_capita", "NaN"), ("income_per_capita", "inf"),
    ("income_per_capita", 1e400), ("income_per_capita", -5),
    ("priority_groups", "dibao"), ("priority_groups", {"dibao": 1}), ("priority_groups", [["x"]]),
    ("category", ["dibao"]), ("category", 7), ("phone", {"n": 1}),
    ("jurisdiction", None),
]


@pytest.mark.parametrize("path,value", WRONG_TYPES, ids=[f"{p}={v!r}"[:40] for p, v in WRONG_TYPES])
def test_json_wrong_types_are_422_and_nothing_stored(client, users, store, path, value):
    response = client.post_json("/api/households", _with(path, value),
                                headers=bearer(users, "archivist"), status="*")
    is_clean_refusal(response, 422)
    assert count(store) == 0


def test_numbers_where_strings_are_expected_are_422(client, users, store):
    """A JSON number is not a name or an address: the integrating system sent the wrong field."""
    for path in ("applicant.name", "address", "district"):
        response = client.post_json("/api/households", _with(path, 12345),
                                    headers=bearer(users, "archivist"), status="*")
        is_clean_refusal(response, 422)
        assert path in response.json["errors"], path
    assert count(store) == 0


def test_null_everywhere_is_422_with_every_required_field_named(client, users, store):
    body = {k: None for k in household_input()}
    response = client.post_json("/api/households", body, headers=bearer(users, "archivist"),
                                status="*")
    is_clean_refusal(response, 422)
    errors = response.json["errors"]
    for field in ("applicant", "category", "phone", "jurisdiction", "address"):
        assert any(k.startswith(field) for k in errors), field
    assert all(CJK.search(m) for m in errors.values())
    assert count(store) == 0


def test_deeply_nested_json_is_400_not_500(client, users, store):
    depth = 100_000
    body = ("{\"notes\": " + "[" * depth + "]" * depth + "}").encode()
    response = client.post("/api/households", body, content_type="application/json",
                           headers=bearer(users, "archivist"), status="*")
    is_clean_refusal(response)
    assert count(store) == 0


def test_moderately_nested_json_garbage_is_4xx_not_500(client, users, store):
    nested = "x"
    for _ in range(900):
        nested = {"a": nested}
    response = client.post_json("/api/households", {**household_input(), "notes": nested},
                                headers=bearer(users, "archivist"), status="*")
    is_clean_refusal(response)
    assert count(store) == 0


@pytest.mark.parametrize("body", [{"version": "abc", "comment": "x"}, {"version": 1.5, "comment": "x"},
                                  {"version": None, "comment": None}, {"version": [1], "comment": "x"},
                                  {"version": True, "comment": "x"}, {"version": 1, "comment": 5},
                                  {"version": 1, "comment": {"a": 1}}, {"version": 99, "comment": "x"},
                                  {"version": "99999999999999999999999", "comment": "x"}, {}])
def test_restore_with_wrong_types_is_4xx_and_no_version(client, users, store, household, body):
    client.put_json(f"/api/households/{household}",
                    {**household_input(), "district": "钟楼区", "comment": "迁居"},
                    headers=bearer(users, "archivist"))
    response = client.post_json(f"/api/households/{household}/restore", body,
                                headers=bearer(users, "archivist"), status="*")
    is_clean_refusal(response)
    assert versions(store, household) == 2


@pytest.mark.parametrize("body", [{"reason": 5}, {"reason": None}, {"reason": ["x"]}, {},
                                  {"reason": "   "}])
def test_withdraw_with_wrong_types_is_422(client, users, store, household, body):
    doc = file_doc(client, users, household)["doc_id"]
    response = client.post_json(f"/api/households/{household}/documents/{doc}/withdraw", body,
                                headers=bearer(users, "archivist"), status="*")
    is_clean_refusal(response, 422)
    with store() as root:
        assert not root.households[household].documents[doc].withdrawn


@pytest.mark.parametrize("body", [{"title": 5}, {"title": None}, {"date": "2026-13-45"},
                                  {"doc_type": "bogus"}, {"doc_type": ["application_form"]},
                                  {"comment": {"x": 1}}])
def test_document_edit_with_wrong_types_is_422(client, users, store, household, body):
    doc = file_doc(client, users, household)["doc_id"]
    response = client.put_json(f"/api/households/{household}/documents/{doc}",
                               {**doc_fields(), **body}, headers=bearer(users, "archivist"),
                               status="*")
    is_clean_refusal(response, 422)
    assert versions(store, household) == 2


# -- filenames: traversal and header injection --------------------------------------------
def test_uploaded_filename_with_path_is_reduced_to_its_name(client, users, household):
    for name in ("../../../etc/passwd.pdf", "..\\..\\windows\\system32\\x.pdf",
                 "C:\\fakepath\\申请表.pdf"):
        doc = file_doc(client, users, household, filename=name)
        stored = doc["files"][0]["filename"]
        assert "/" not in stored and "\\" not in stored and not stored.startswith(".."), stored
        response = client.get(doc["links"]["content"] + "?download=1",
                              headers=bearer(users, "archivist"))
        disposition = response.headers["Content-Disposition"]
        filename = urllib.parse.unquote(disposition.split("filename*=UTF-8''", 1)[1])
        assert "/" not in filename and "\\" not in filename, disposition


def test_filename_cannot_inject_headers(client, app, users, store, household):
    """However a filename got in (an old import, the CLI), it cannot break the header."""
    from archive.records import filing
    evil = 'x".pdf\r\nSet-Cookie: pwned=1\r\nX-Injected: 1; filename="evil.exe'
    with store() as root:
        dossier = root.households[household]
        doc = filing.file_document(dossier, app.registry.archive_schemas, doc_fields(),
                                   make_pdf(), evil, "archivist")
        doc_id = doc.doc_id
    for url in (f"/api/households/{household}/documents/{doc_id}/content?download=1",):
        response = client.get(url, headers=bearer(users, "archivist"))
        assert "X-Injected" not in response.headers and "pwned" not in response.headers.get(
            "Set-Cookie", "")
        disposition = response.headers["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition and '"' not in disposition
        assert disposition.count("filename*=") == 1 and "filename=" not in disposition


# -- open redirects -----------------------------------------------------------------------
@pytest.mark.parametrize("came_from", ["//evil.example/x", "https://evil.example/",
                                       "/\\evil.example", "\\\\evil.example", "http:evil.example",
                                       " //evil.example", "/%2F%2Fevil.example",
                                       "javascript:alert(1)", "/\r\nSet-Cookie: pwned=1",
                                       "/households\r\nX-Injected: 1"])
def test_login_came_from_never_leaves_the_site(browser, came_from):
    page = browser.get("/login", params={"came_from": came_from})
    form = page.forms[0]
    form["login"], form["password"] = "archivist", PASSWORD
    response = form.submit(status="*")
    assert response.status_int in (302, 303), response.status
    location = response.headers["Location"]
    # browsers read a backslash as a slash: judge the URL as they do
    parts = urllib.parse.urlsplit(location.replace("\\", "/"))
    assert parts.scheme == "http" and parts.netloc == "localhost", location
    assert "\r" not in location and "\n" not in location
    assert "X-Injected" not in response.headers
    assert "pwned" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("referer", ["http://evil.example/", "https://evil.example/http://localhost/",
                                     "http://localhost.evil.example/", "//evil.example",
                                     "http://localhost@evil.example/", "not a url"])
def test_locale_switch_never_redirects_off_site(browser, referer):
    response = browser.get("/locale/en", headers={"Referer": referer}, status="*")
    assert response.status_int == 302
    parts = urllib.parse.urlsplit(response.headers["Location"])
    assert parts.netloc == "localhost" and not parts.path.startswith("//")


# -- XSS --------------------------------------------------------------------------------------
def test_script_in_household_name_is_escaped_everywhere(browser, client, users, store):
    no = new_household(client, users, name=XSS)["archive_no"]
    client.put_json(f"/api/households/{no}",
                    {**household_input(name="王五"), "comment": XSS},
                    headers=bearer(users, "archivist"))
    file_doc(client, users, no, title=XSS, issuer=XSS, filename=XSS + ".pdf")
    for role in ("archivist", "auditor"):
        browser.login(role)
        client.put_json(f"/api/households/{no}", {**household_input(name=XSS), "comment": "改回"},
                        headers=bearer(users, "archivist"), status="*")
        for url in ("/", "/households", f"/households/{no}", f"/households/{no}/versions/1",
                    f"/households/{no}/versions/2", f"/households/{no}/diff?a=1&b=2",
                    f"/households/{no}/diff?a=2&b=3", f"/households/{no}?reveal=1",
                    f"/login?came_from={urllib.parse.quote(XSS)}",
                    f"/households/{no}/versions/99"):
            response = browser.get(url, status="*")
            assert XSS not in response.text, url
            assert "<script>alert" not in response.text, url
        assert "&lt;script&gt;" in browser.get(f"/households/{no}").text
        assert "&lt;script&gt;" in browser.get("/").text
        assert "&lt;script&gt;" in browser.get("/households").text


# -- sessions ---------------------------------------------------------------------------------
def test_session_changes_at_login(browser):
    browser.get("/login")
    before = browser.cookies.get("session")
    token_before = browser.get("/login").html.select_one("input[name=csrf_token]")["value"]
    assert before
    browser.login("archivist")
    after = browser.cookies.get("session")
    assert after and after != before
    assert csrf(browser) != token_before
    # the cookie an attacker planted before login is still anonymous
    other = webtest.TestApp(browser.app)
    other.set_cookie("session", before)
    assert other.get("/households", status="*").status_int == 302


def test_logout_really_logs_out(browser, app):
    browser.login("archivist")
    stolen = browser.cookies["session"]
    token = csrf(browser)
    response = browser.post("/logout", {"csrf_token": token})
    assert response.status_int == 303
    assert browser.get("/households", status="*").status_int == 302
    # a copy of the session cookie taken before logout no longer works either
    replay = webtest.TestApp(app)
    replay.set_cookie("session", stolen)
    assert replay.get("/households", status="*").status_int == 302


# -- personal data -----------------------------------------------------------------------------
def _personal(data):
    return [data["applicant"]["id_number"], data["members"][0]["id_number"], data["phone"],
            data["address"]]


@pytest.fixture
def changed_household(client, users):
    """A household whose personal data changed in version 2 (and a member was added)."""
    first = household_input()
    no = client.post_json("/api/households", first, headers=bearer(users, "archivist"),
                          status=201).json["archive_no"]
    second = household_input(seq=31, phone="13900001111", address="常州市钟楼区西林街道怀德南路1号")
    second["members"].append({"name": "张小明", "relation": "child",
                              "id_number": idnumber.make("320404", dt.date(2010, 2, 3), 35)})
    client.put_json(f"/api/households/{no}", {**second, "comment": "信息变更"},
                    headers=bearer(users, "archivist"))
    secrets = set(_personal(first) + _personal(second) + [second["members"][1]["id_number"]])
    return no, secrets


@pytest.mark.parametrize("role", READERS)
def test_personal_data_masked_by_default_in_every_page_for_every_role(
        browser, changed_household, role):
    no, secrets = changed_household
    browser.login(role)
    for url in ("/", "/households", f"/households/{no}", f"/households/{no}/versions/1",
                f"/households/{no}/versions/2", f"/households/{no}/diff?a=1&b=2",
                f"/households/{no}/diff?a=2&b=1",
                "/households?district=" + urllib.parse.quote("天宁区"),
                "/households?sort=applicant.name"):
        text = browser.get(url).text
        for secret in secrets:
            assert secret not in text, (url, secret)
        # nor a long enough part of it to identify the person
        for secret in secrets:
            if len(secret) == 18:
                assert secret[:14] not in text and secret[6:14] not in text, (url, secret)


@pytest.mark.parametrize("role", READERS)
def test_personal_data_masked_by_default_in_every_api_response_for_every_role(
        client, users, changed_household, role):
    no, secrets = changed_household
    h = bearer(users, role)
    base = f"/api/households/{no}"
    for url in ("/api/households", "/api/households?sort=applicant.name", base,
                f"{base}/versions", f"{base}/versions/1", f"{base}/versions/2",
                f"{base}/diff?from=1&to=2", f"{base}/diff", f"{base}/documents"):
        text = client.get(url, headers=h).text
        for secret in secrets:
            assert secret not in text, (url, secret)
    if role == "archivist":
        body = {**household_input(name="赵六", seq=41), "comment": "受理"}
        text = client.post_json("/api/households", body, headers=h, status=201).text
        assert body["applicant"]["id_number"] not in text and body["phone"] not in text


def _unmask_entries(store):
    with store() as root:
        return [(e.actor, e.target) for e in root.log.newest(1000, "personal.unmask")]


def test_unmasked_views_are_logged_and_only_for_permitted_roles(
        browser, client, users, store, changed_household):
    no, secrets = changed_household
    applicant_id = household_input(seq=31)["applicant"]["id_number"]
    browser.login("archivist")
    for url in (f"/households/{no}?reveal=1", f"/households/{no}/versions/2?reveal=1",
                f"/households/{no}/diff?a=1&b=2&reveal=1"):
        before = len(_unmask_entries(store))
        assert applicant_id in browser.get(url).text, url
        entries = _unmask_entries(store)
        assert len(entries) == before + 1 and entries[0] == ("archivist", no), url
    before = len(_unmask_entries(store))
    body = client.get(f"/api/households/{no}?unmask=1", headers=bearer(users, "reviewer")).json
    assert body["unmasked"] and body["metadata"]["applicant"]["id_number"] == applicant_id
    assert len(_unmask_entries(store)) == before + 1
    # the auditor may not see personal data at all: asking changes nothing and is not logged
    before = len(_unmask_entries(store))
    browser.login("auditor")
    assert applicant_id not in browser.get(f"/households/{no}?reveal=1").text
    body = client.get(f"/api/households/{no}?unmask=1", headers=bearer(users, "auditor")).json
    assert not body["unmasked"] and applicant_id not in str(body)
    assert len(_unmask_entries(store)) == before


# -- deactivated users and revoked tokens ------------------------------------------------------
def test_deactivated_user_is_refused_immediately(app, browser, client, users, store):
    inspector = webtest.TestApp(app)
    page = inspector.get("/login").forms[0]
    page["login"], page["password"] = "inspector", PASSWORD
    page.submit().follow()
    assert inspector.get("/households").status_int == 200
    assert client.get("/api/households", headers=bearer(users, "inspector")).status_int == 200

    browser.login("sysadmin")
    browser.post("/users/inspector", {"csrf_token": csrf(browser, "/users")})
    with store() as root:
        assert not root.users["inspector"].active

    assert inspector.get("/households", status="*").status_int == 302
    response = client.get("/api/households", headers=bearer(users, "inspector"), status="*")
    is_clean_refusal(response, 401)
    form = inspector.get("/login").forms[0]
    form["login"], form["password"] = "inspector", PASSWORD
    assert form.submit(status="*").status_int == 401


def test_revoked_token_is_refused_immediately(client, users, store):
    assert client.get("/api/households", headers=bearer(users, "reviewer")).status_int == 200
    with store() as root:
        root.users.revoke_tokens("reviewer")
    response = client.get("/api/households", headers=bearer(users, "reviewer"), status="*")
    is_clean_refusal(response, 401)
    # a revoked token never falls back to a session, and garbage tokens are refused alike
    for token in ("", "x" * 10_000, "\u4e2d\u6587", users["reviewer"] + "x"):
        response = client.get("/api/households", headers={"Authorization": f"Bearer {token}"},
                              status="*")
        assert response.status_int == 401


# -- role escalation ------------------------------------------------------------------------------
@pytest.mark.parametrize("role", READERS)
def test_user_without_manage_users_cannot_escalate(app, browser, client, users, store, role):
    browser.login(role)
    token = csrf(browser)
    attempts = [("/users/" + role + "/roles", {"roles": ["secadmin"]}),
                ("/users/new", {"login": "mallory", "name": "m", "password": "password-123"}),
                ("/users/sysadmin/token", {"label": "x"}),
                ("/users/sysadmin", {"active": ""}),
                ("/users/secadmin/roles", {"roles": [role]})]
    for url, data in attempts:
        response = browser.post(url, dict(data, csrf_token=token), status="*")
        is_clean_refusal(response, 403)
        response = client.post(url, data, headers=bearer(users, role), status="*")
        assert response.status_int in (401, 403, 404), (url, response.status)
        assert "新API令牌" not in response.text
    with store() as root:
        assert root.users[role].roles == (role,)
        assert root.users["sysadmin"].roles == ("sysadmin",) and root.users["sysadmin"].active
        assert root.users["secadmin"].roles == ("secadmin",)
        assert "mallory" not in root.users
    assert browser.get("/users", status="*").status_int == 403


def _refusals(store):
    with store() as root:
        return [(e.actor, e.target) for e in root.log.newest(50, "user.refused")]


def test_system_administrator_gives_no_roles(browser, client, users, store):
    """三员分立: the system administrator makes accounts but gives no roles, his own least."""
    browser.login("sysadmin")
    token = csrf(browser, "/users")
    for login in ("sysadmin", "inspector"):
        response = browser.post(f"/users/{login}/roles", {"csrf_token": token,
                                                          "roles": ["sysadmin", "archivist"]},
                                status="*")
        is_clean_refusal(response, 403)
    # a new account has no roles, whatever the form says
    browser.post("/users/new", {"csrf_token": token, "login": "clerk", "name": "李",
                                "password": "password-123", "roles": "archivist"})
    with store() as root:
        assert root.users["sysadmin"].roles == ("sysadmin",)
        assert root.users["inspector"].roles == ("inspector",)
        assert root.users["clerk"].roles == ()
        assert [e.actor for e in root.log.newest(5, "user.add")] == ["sysadmin"]
    page = browser.get("/users")
    assert not page.html.select("form.user-roles") and page.html.select("form.user-account")


def test_security_officer_gives_roles_but_never_his_own_nor_two_duties(browser, store):
    browser.login("secadmin")
    token = csrf(browser, "/users")
    page = browser.get("/users")
    assert page.html.select("form.user-roles") and not page.html.select("form.user-account")
    assert "user-new" not in page.forms
    browser.post("/users/inspector/roles", {"csrf_token": token, "roles": ["inspector", "reviewer"]})
    for login, roles, message in (("secadmin", ["secadmin", "archivist"], "不能修改自己的角色"),
                                  ("sysadmin", ["sysadmin", "auditor"], "三员分立"),
                                  ("auditor", ["auditor", "secadmin"], "三员分立")):
        response = browser.post(f"/users/{login}/roles", {"csrf_token": token, "roles": roles},
                                status="*")
        is_clean_refusal(response, 400)
        assert message in response.text
    for login in ("sysadmin", "secadmin"):   # no accounts, no passwords, no tokens
        for url, data in (("/users/new", {"login": "x" + login, "password": "password-123"}),
                          (f"/users/{login}", {"active": "1", "password": "password-456"}),
                          (f"/users/{login}/token", {})):
            is_clean_refusal(browser.post(url, dict(data, csrf_token=token), status="*"), 403)
    with store() as root:
        assert root.users["inspector"].roles == ("inspector", "reviewer")
        assert root.users["secadmin"].roles == ("secadmin",)
        assert root.users["sysadmin"].roles == ("sysadmin",)
        assert root.users["auditor"].roles == ("auditor",)
        assert "xsysadmin" not in root.users
        entry = root.log.newest(1, "user.roles")[0]
        assert (entry.actor, entry.target, entry.detail) == (
            "secadmin", "inspector", "inspector -> inspector,reviewer")
    # each refusal is on the record, for the auditor
    assert _refusals(store) == [("secadmin", "auditor"), ("secadmin", "sysadmin"),
                                ("secadmin", "secadmin")]


def test_system_administrator_keeps_off_the_other_officers_credentials(app, browser, store):
    browser.login("sysadmin")
    token = csrf(browser, "/users")
    for login in ("secadmin", "auditor"):
        for url, data in ((f"/users/{login}", {"active": "1", "password": "taken-over-1"}),
                          (f"/users/{login}", {}),            # disable
                          (f"/users/{login}/token", {"label": "x"})):
            response = browser.post(url, dict(data, csrf_token=token), status="*")
            is_clean_refusal(response, 400)
            assert "命令行" in response.text and "新API令牌" not in response.text
    # anyone else's account is his to keep: a new password ends the user's sessions
    browser.post("/users/inspector", {"csrf_token": token, "active": "1", "password": "new-pass-123"})
    assert "新API令牌" in browser.post("/users/reviewer/token", {"csrf_token": token}).text
    with store() as root:
        for login in ("secadmin", "auditor"):   # each with the fixture's token only
            assert root.users[login].active and len(root.users[login].tokens) == 1
        assert root.users.authenticate("secadmin", PASSWORD, app.registry.archive_hasher) is not None
        assert root.users.authenticate("inspector", "new-pass-123", app.registry.archive_hasher) is not None
        assert [e.target for e in root.log.newest(5, "user.password")] == ["inspector"]
    assert len(_refusals(store)) == 6


def test_the_auditor_reads_what_the_administrators_did(browser, store):
    browser.login("sysadmin")
    browser.post("/users/new", {"csrf_token": csrf(browser, "/users"), "login": "clerk",
                                "password": "password-123"})
    assert browser.get("/log", status="*").status_int == 403      # not the administrators'
    browser.login("secadmin")
    browser.post("/users/clerk/roles", {"csrf_token": csrf(browser, "/users"), "roles": "archivist"})
    assert browser.get("/log", status="*").status_int == 403
    browser.login("archivist")
    browser.get("/households")
    browser.login("auditor")
    page = browser.get("/log?admins=1")
    rows = [[td.text for td in tr.select("td")][2:5] for tr in page.html.select("#log tr")[1:]]
    assert ["secadmin", "user.roles", "clerk"] in rows and ["sysadmin", "user.add", "clerk"] in rows
    assert ["sysadmin", "login", "sysadmin"] in rows
    assert all(actor in ("sysadmin", "secadmin") for actor, _, _ in rows)   # the archivist's login is not
    assert ["archivist", "login", "archivist"] in [
        [td.text for td in tr.select("td")][2:5] for tr in browser.get("/log").html.select("#log tr")[1:]]


def test_admin_cannot_assign_unknown_role_by_forged_post(browser, store):
    browser.login("secadmin")
    response = browser.post("/users/inspector/roles", {"csrf_token": csrf(browser, "/users"),
                                                       "roles": ["superuser"]},
                            status="*")
    is_clean_refusal(response, 400)
    with store() as root:
        assert root.users["inspector"].roles == ("inspector",)


# -- history is append-only -------------------------------------------------------------------------
def _snapshot(store, no):
    with store() as root:
        d = root.households[no]
        return [(v.number, v.actor, v.comment, v.action, repr(v.metadata), v.manifest)
                for v in d.history()]


def test_no_interface_changes_a_past_version(browser, client, users, store, household):
    doc = file_doc(client, users, household)["doc_id"]
    client.put_json(f"/api/households/{household}",
                    {**household_input(), "district": "钟楼区", "comment": "迁居"},
                    headers=bearer(users, "archivist"))
    past = _snapshot(store, household)
    h = bearer(users, "archivist")
    base = f"/api/households/{household}"
    for method in ("PUT", "POST", "PATCH", "DELETE"):
        for url in (f"{base}/versions/1", f"{base}/versions", f"{base}/diff"):
            response = client.request(url, method=method, headers=h, status="*",
                                      body=b'{"comment": "x", "district": "x"}',
                                      content_type="application/json")
            assert response.status_int == 405, (method, url)
    browser.login("archivist")
    token = csrf(browser)
    for url in (f"/households/{household}/versions/1", f"/households/{household}/diff"):
        browser.post(url, {"csrf_token": token, "comment": "x", "district": "x",
                           "version": "1"}, status="*")
    # a restore adds a version; the earlier ones stay as they were
    client.post_json(f"{base}/restore", {"version": 2, "comment": "恢复"}, headers=h)
    client.post_json(f"{base}/documents/{doc}/withdraw", {"reason": "重复"}, headers=h)
    now = _snapshot(store, household)
    assert now[-len(past):] == past
    assert len(now) == len(past) + 2


def test_withdrawn_document_cannot_be_refiled(browser, client, users, store, household):
    doc = file_doc(client, users, household)["doc_id"]
    h = bearer(users, "archivist")
    client.post_json(f"/api/households/{household}/documents/{doc}/withdraw",
                     {"reason": "重复归档"}, headers=h)
    before = versions(store, household)
    response = client.post(f"/api/households/{household}/documents/{doc}/files",
                           {"comment": "再来"}, headers=h,
                           upload_files=[("file", "n.pdf", make_pdf("新的"), "application/pdf")],
                           status="*")
    is_clean_refusal(response, 400)
    assert "撤出" in response.json["error"]
    browser.login("archivist")
    response = browser.post(f"/households/{household}/documents/{doc}/refile",
                            {"csrf_token": csrf(browser), "comment": "再来"},
                            upload_files=[("upload", "n.pdf", make_pdf("新的"), "application/pdf")],
                            status="*")
    is_clean_refusal(response, 400)
    response = client.post_json(f"/api/households/{household}/documents/{doc}/withdraw",
                                {"reason": "再撤"}, headers=h, status="*")
    is_clean_refusal(response, 409)
    assert versions(store, household) == before
    with store() as root:
        d = root.households[household].documents[doc]
        assert len(d.files) == 1 and d.withdrawn


# -- per-object ACL -----------------------------------------------------------------------------------
def test_dossier_acl_denying_view_is_honoured(browser, client, users, store, household):
    doc = file_doc(client, users, household)["doc_id"]
    with store() as root:
        root.households[household].__acl__ = [(Deny, "role:inspector", "view")]
    browser.login("inspector")
    for url in (f"/households/{household}", f"/households/{household}/versions/1",
                f"/households/{household}/diff?a=1&b=2",
                f"/households/{household}/documents/{doc}/files/1"):
        is_clean_refusal(browser.get(url, status="*"), 403)
    for url in (f"/api/households/{household}", f"/api/households/{household}/documents/{doc}/content"):
        is_clean_refusal(client.get(url, headers=bearer(users, "inspector"), status="*"), 403)
    browser.login("archivist")
    assert browser.get(f"/households/{household}").status_int == 200
    assert client.get(f"/api/households/{household}",
                      headers=bearer(users, "archivist")).status_int == 200
    # reviewer, not named by the dossier's ACL, still gets the role matrix's answer
    assert client.get(f"/api/households/{household}",
                      headers=bearer(users, "reviewer")).status_int == 200


def test_everyone_changes_his_own_password_knowing_the_current_one(app, browser, store):
    """How the security officer replaces the password the system administrator gave his account."""
    browser.login("secadmin")
    form = browser.get("/password").forms["password-form"]
    form["current"], form["new"] = "wrong-pass-1", "mine-only-123"
    assert "当前密码不正确" in form.submit(status=400).text
    form = browser.get("/password").forms["password-form"]
    form["current"], form["new"] = PASSWORD, "short"
    assert "密码至少需要" in form.submit(status=400).text
    form = browser.get("/password").forms["password-form"]
    form["current"], form["new"] = PASSWORD, "mine-only-123"
    assert "密码已修改" in form.submit().follow().text
    assert browser.get("/users").status_int == 200          # still logged in
    with store() as root:
        assert root.users.authenticate("secadmin", "mine-only-123", app.registry.archive_hasher)
        entry = root.log.newest(1, "user.password")[0]
        assert (entry.actor, entry.target) == ("secadmin", "secadmin")
    browser.reset()
    assert browser.get("/password", status=302).location.endswith("/login?came_from=%2Fpassword")
