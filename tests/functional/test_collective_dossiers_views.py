"""An employer's dossier (单位集体申请档案, 厦门) through the app, as a dossier among the others:
found by the search box and the API, listed (page and API), its audit findings linked to
it, and seen only by users whose places include 厦门 (issue 16, item 9)."""
from __future__ import annotations

import pytest

from archive.audit.worker import run_pending
from archive.search.index import drain
from archive.workers import textlayer
from conftest import PASSWORD, employer_dossier, household_input


def api(browser, users, url, role="reviewer", status=200, **params):
    return browser.get(url, params=params or None, status=status,
                       headers={"Authorization": f"Bearer {users[role]}"})


@pytest.fixture
def employer(app, store, users):
    """A 厦门 employer's application with its documents (text read, indexed), a 常州 household;
    ``qujing`` reviews 曲靖 only, ``xiamen`` reviews and audits 厦门 only."""
    registry, procedure = app.registry.archive_schemas, app.registry.archive_procedure
    with store() as root:
        no = employer_dossier(root, registry, procedure).archive_no
        from archive.records import filing
        filing.create_dossier(root, registry, "household", household_input(seq=93), "archivist")
        for login, roles in (("qujing", ("reviewer@qujing",)), ("xiamen", ("reviewer@xiamen", "auditor@xiamen"))):
            root.users.add(login, login, (), PASSWORD, app.registry.archive_hasher, local_roles=roles)
            users[login] = root.users.issue_token(login)
    with store() as root:
        textlayer.drain(root)
    with store() as root:
        drain(root, registry, app.registry.archive_search)
        return root.employers[no].archive_no, root.employers[no].metadata["credit_code"]


def test_the_search_box_finds_an_employer_and_opens_its_page(browser, users, employer):
    no, code = employer
    for q in ("鹭江智能科技", code, "单位集体申请材料"):
        body = api(browser, users, "/api/search", q=q).json
        hits = [h for h in body["hits"] if h["archive_no"] == no]
        assert hits, q
        assert all(h["links"]["dossier"].split("#")[0].endswith(f"/employers/{no}") for h in hits)
    docs = [h for h in api(browser, users, "/api/search", q="单位集体申请材料").json["hits"] if h["doc_id"]]
    assert docs and docs[0]["links"]["file"].split("#")[0].endswith(f"/employers/{no}/documents/{docs[0]['doc_id']}")
    kinds = {f["value"] for f in api(browser, users, "/api/search", q="鹭江智能科技").json["facets"]["kind"]}
    assert "employer" in kinds
    browser.login("reviewer")
    page = browser.get("/search", params={"q": "鹭江智能科技"})
    assert no in page.text and "单位集体申请档案" in page.text
    assert browser.get("/search", params={"q": no}).location.endswith(f"/employers/{no}")   # a scanned 档号
    browser.get(docs[0]["links"]["file"].split("#")[0])                                  # the file opens


def test_employers_are_listed_in_the_api_and_a_page(browser, users, employer):
    no, _ = employer
    body = api(browser, users, "/api/employers").json
    assert body["total"] == 1 and body["items"][0]["archive_no"] == no
    assert body["items"][0]["jurisdiction"] == "xiamen" and body["items"][0]["batch"].startswith("PC-XM-")
    assert api(browser, users, "/api/employers", jurisdiction="changzhou").json["total"] == 0
    assert api(browser, users, "/api/employers", sort="name", order="desc").json["total"] == 1
    assert "sort" in api(browser, users, "/api/employers", sort="credit_code", status=422).json["errors"]
    assert "applicant_type" in api(browser, users, "/api/employers", applicant_type="AAA", status=422).json["errors"]
    browser.login("reviewer")
    page = browser.get("/employers")
    assert page.html.select_one("#total").text == "1" and no in page.text


def test_a_user_of_another_city_does_not_see_an_employer(browser, users, employer):
    no, _ = employer
    api(browser, users, f"/api/employers/{no}", role="qujing", status=403)
    assert api(browser, users, "/api/employers", role="qujing").json["total"] == 0
    body = api(browser, users, "/api/search", role="qujing", q="鹭江智能科技").json
    assert body["total"] == 0 and not body["hits"]
    browser.login("qujing")
    browser.get(f"/employers/{no}", status=403)
    assert no not in browser.get("/employers").text
    assert no not in browser.get("/search", params={"q": "鹭江智能科技"}).text


def test_a_user_of_xiamen_sees_and_finds_the_employer(browser, users, employer):
    no, _ = employer
    assert api(browser, users, f"/api/employers/{no}", role="xiamen").json["archive_no"] == no
    assert api(browser, users, "/api/employers", role="xiamen").json["total"] == 1
    hits = api(browser, users, "/api/search", role="xiamen", q="鹭江智能科技").json["hits"]
    assert {h["archive_no"] for h in hits} == {no}
    browser.login("xiamen")
    assert no in browser.get(f"/employers/{no}").text


def test_an_audit_finding_on_an_employer_file_links_to_it_and_stays_in_xiamen(browser, users, employer, store, app):
    no, _ = employer
    with store() as root:
        doc = root.employers[no].document("D0001")
        root.fixity.add_sm3(root.employers[no], {("D0001", doc.current_no): "11" * 32})
    browser.post_json("/api/audits", {"rules": ["fixity"]}, headers={"Authorization": f"Bearer {users['auditor']}"},
                      status=202)
    with store() as root:
        run_pending(root, app.registry.archive_procedure, app.registry.archive_schemas, app.registry.archive_search)
    body = api(browser, users, "/api/audits/1", role="auditor").json
    found = [i for i in body["items"] if i["archive_no"] == no]
    assert found and found[0]["rule"] == "fixity" and found[0]["dossier"].endswith(f"/api/employers/{no}")
    assert [i["archive_no"] for i in api(browser, users, "/api/audits/1", role="xiamen").json["items"]] == [no]
    browser.login("auditor")
    assert f"/employers/{no}" in browser.get("/audits/1").text
