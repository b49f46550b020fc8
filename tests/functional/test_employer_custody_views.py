"""An employer's dossier page (单位集体申请档案, 厦门) with the household page's custody and
disposition: its 保管 panel (binding, shelving, the volume and labels PDFs) and its 鉴定与处置
panel (holds, four-eyes appraisals), through the HTML forms on /employers/{no}/…, which are
the household's views; CSRF and permissions as on a household's page, a local role on its
own city only."""
from __future__ import annotations

import hashlib

import pytest

import conftest
from conftest import PASSWORD, employer_dossier

FORMS = ("bind", "place", "holds", "holds/H1/release", "appraisals", "appraisals/1/decision")


@pytest.fixture
def api(app, users):
    return conftest.Api(app, users)


@pytest.fixture
def employer(app, api, store, users):
    """A 厦门 employer's dossier and a register of places with two boxes; ``xiamen`` is an
    archivist of 厦门 only, ``qujing`` one of 曲靖 only."""
    with store() as root:
        no = employer_dossier(root, app.registry.archive_schemas, app.registry.archive_procedure).archive_no
        for login, roles in (("xiamen", ("archivist@xiamen",)), ("qujing", ("archivist@qujing",))):
            root.users.add(login, login, (), PASSWORD, app.registry.archive_hasher, local_roles=roles)
            users[login] = root.users.issue_token(login)
    for parent, code in (("", "A"), ("A", "01"), ("A-01", "02"), ("A-01-02", "001"), ("A-01-02", "002")):
        api.post_json("/api/places", {"parent": parent or None, "code": code, "title": code}, status=201)
    return no


def _csrf(page):
    return page.html.select_one("input[name=csrf_token]")["value"]


def _unchanged(store, no, version):
    with store() as root:
        employer = root.employers[no]
        assert employer.latest.number == version and employer.bound_volume is None
        assert not root.disposition.holds_of(employer) and not root.disposition.appraisals_of(employer)


def test_the_page_shows_custody_and_disposition_with_their_forms(browser, employer):
    no = employer
    browser.login("archivist")
    page = browser.get(f"/employers/{no}")
    for section in ("#custody", "#custody-table", "#volume-retention", "#shelf-place", "#bound-volume",
                    "#disposition", "#disposition-table", "#disposition-retention", "#disposition-date"):
        assert page.html.select_one(section) is not None, section
    assert "未装订" in page.html.select_one("#bound-volume").text
    assert page.html.select_one("#disposition-retention").text.strip()
    actions = {name: page.forms[name].action for name in ("bind-form", "shelve-form", "hold-form", "appraisal-form")}
    assert actions == {"bind-form": f"http://localhost/employers/{no}/bind",
                       "shelve-form": f"http://localhost/employers/{no}/place",
                       "hold-form": f"http://localhost/employers/{no}/holds",
                       "appraisal-form": f"http://localhost/employers/{no}/appraisals"}
    volume = browser.get(page.html.select_one("#volume-link")["href"])
    assert volume.content_type == "application/pdf" and volume.body.startswith(b"%PDF")
    assert "attachment" in volume.headers["Content-Disposition"]
    labels = browser.get(page.html.select_one("#labels-link")["href"])
    assert labels.content_type == "application/pdf"
    assert page.html.select_one("#labels-link")["href"] == f"http://localhost/employers/{no}/labels.pdf"
    browser.login("auditor")    # may view, not shelve, hold or appraise: the sections, no forms
    page = browser.get(f"/employers/{no}")
    assert page.html.select_one("#custody-table") is not None and page.html.select_one("#disposition") is not None
    assert not {"bind-form", "shelve-form", "hold-form", "appraisal-form"} & set(page.forms)


def test_shelving_and_binding_through_the_forms(browser, api, store, employer):
    no = employer
    browser.login("archivist")
    form = browser.get(f"/employers/{no}").forms["shelve-form"]
    form["place"], form["comment"] = "A-01-02-001", "上架"
    moved = form.submit()
    assert moved.status_int == 302 and moved.location == f"http://localhost/employers/{no}#custody"
    page = moved.follow()
    assert "已放入" in page.text and "A-01-02-001" in page.html.select_one("#shelf-place").text
    assert api.get(f"/api/employers/{no}/place", role="reviewer").json["place"] == "A-01-02-001"
    bound = page.forms["bind-form"].submit()
    assert bound.location == f"http://localhost/employers/{no}#custody"
    page = bound.follow()
    assert "已装订案卷" in page.text and "版装订" in page.html.select_one("#bound-volume").text
    with store() as root:
        employer = root.employers[no]
        assert employer.latest.action == "bound" and employer.bound_volume.version == employer.latest.number
        assert [v.action for v in employer.history()][:2] == ["bound", "shelved"]
    served = browser.get(f"/employers/{no}/volume.pdf").body    # the volume of record: the kept one
    with store() as root:
        assert hashlib.sha256(served).hexdigest() == root.employers[no].bound_volume.sha256
    # a local archivist of 厦门 moves it; one of 曲靖 neither sees the page nor moves it
    browser.login("xiamen")
    page = browser.get(f"/employers/{no}")
    assert "file-form" in page.forms          # his dossier: he files to it, so the form is there
    form = page.forms["shelve-form"]
    form["place"] = "A-01-02-002"
    assert "A-01-02-002" in form.submit().follow().html.select_one("#shelf-place").text
    browser.login("qujing")
    browser.get(f"/employers/{no}", status=403)
    csrf = _csrf(browser.get("/employers"))
    browser.post(f"/employers/{no}/place", {"place": "A-01-02-001", "csrf_token": csrf}, status=403)
    browser.post(f"/employers/{no}/bind", {"csrf_token": csrf}, status=403)
    assert api.get(f"/api/employers/{no}/place").json["place"] == "A-01-02-002"


def test_a_hold_is_placed_and_released_through_the_forms(browser, api, employer):
    no = employer
    browser.login("inspector")
    form = browser.get(f"/employers/{no}").forms["hold-form"]
    form["reason"], form["note"] = "audit", "集体申请审计"
    placed = form.submit()
    assert placed.location == f"http://localhost/employers/{no}#disposition"
    page = placed.follow()
    assert "已冻结" in page.text and "集体申请审计" in page.html.select_one("#holds-of-dossier").text
    holds = api.get(f"/api/employers/{no}/holds").json
    assert holds["total"] == 1 and holds["items"][0]["open"] and holds["items"][0]["placed_by"] == "inspector"
    hold_id = holds["items"][0]["hold_id"]
    assert "appraisal-form" not in page.forms     # the inspector may hold, not appraise
    browser.login("archivist")                     # a held dossier is not appraised
    form = browser.get(f"/employers/{no}").forms["appraisal-form"]
    form["action"], form["years"], form["reason"] = "extend", "10", "仍在利用"
    assert "冻结" in form.submit(status=409).text
    browser.login("inspector")
    page = browser.get(f"/employers/{no}")
    form = next(f for f in page.forms.values() if (f.action or "").endswith(f"/holds/{hold_id}/release"))
    assert form.action == f"http://localhost/employers/{no}/holds/{hold_id}/release"
    form["note"] = "审计结束"
    released = form.submit()
    assert released.location == f"http://localhost/employers/{no}#disposition"
    assert "已解除冻结" in released.follow().text
    item = api.get(f"/api/employers/{no}/holds").json["items"][0]
    assert not item["open"] and item["released_by"] == "inspector" and item["release_note"] == "审计结束"


def test_an_appraisal_is_proposed_by_one_and_decided_by_another(browser, api, employer):
    no = employer
    browser.login("archivist")
    form = browser.get(f"/employers/{no}").forms["appraisal-form"]
    form["action"], form["years"], form["reason"] = "extend", "10", "仍在利用"
    proposed = form.submit()
    assert proposed.location == f"http://localhost/employers/{no}#disposition"
    page = proposed.follow()
    assert "已提出第 1 号鉴定意见" in page.text
    assert not any("decision" in (f.action or "") for f in page.forms.values())   # not by its proposer
    csrf = _csrf(page)
    r = browser.post(f"/employers/{no}/appraisals/1/decision", {"approve": "1", "opinion": "自批",
                                                                 "csrf_token": csrf}, status=403)
    assert "另一人" in r.text
    assert api.get(f"/api/employers/{no}/appraisals").json["items"][0]["status"] == "proposed"
    browser.login("reviewer")
    page = browser.get(f"/employers/{no}")
    form = next(f for f in page.forms.values() if "decision" in (f.action or ""))
    assert form.action == f"http://localhost/employers/{no}/appraisals/1/decision"
    form["opinion"] = "同意延长"
    decided = form.submit("approve", value="1")
    assert decided.location == f"http://localhost/employers/{no}#disposition"
    assert "第 1 号鉴定意见已审批" in decided.follow().text
    item = api.get(f"/api/employers/{no}/appraisals").json["items"][0]
    assert (item["status"], item["proposed_by"], item["decided_by"], item["opinion"]) == \
        ("approved", "archivist", "reviewer", "同意延长")
    assert api.get(f"/api/employers/{no}").json["disposition"]["extension_years"] == 10


def test_forms_without_a_csrf_token_are_refused_and_change_nothing(browser, store, employer):
    no = employer
    with store() as root:
        version = root.employers[no].latest.number
    browser.login("archivist")
    fields = {"place": "A-01-02-001", "reason": "audit", "note": "x", "action": "extend", "years": "1",
              "approve": "1", "opinion": "x"}
    for path in FORMS:
        r = browser.post(f"/employers/{no}/{path}", fields, status=400)
        assert "CSRF" in r.text, path
    _unchanged(store, no, version)


def test_a_user_without_the_permission_is_forbidden(browser, store, employer):
    """The auditor may view the employer's dossier, not shelve, bind, hold or appraise it;
    the inspector may hold, not shelve nor appraise (403, nothing written)."""
    no = employer
    with store() as root:
        version = root.employers[no].latest.number
    browser.login("auditor")
    csrf = _csrf(browser.get("/employers"))
    fields = {"place": "A-01-02-001", "reason": "audit", "note": "x", "action": "extend", "years": "1",
              "approve": "1", "opinion": "x", "csrf_token": csrf}
    for path in FORMS:
        browser.post(f"/employers/{no}/{path}", fields, status=403)
    browser.login("inspector")
    fields["csrf_token"] = _csrf(browser.get("/employers"))
    for path in ("bind", "place", "appraisals", "appraisals/1/decision"):
        browser.post(f"/employers/{no}/{path}", fields, status=403)
    _unchanged(store, no, version)


def test_an_unknown_employer_is_404(browser, employer):
    browser.login("archivist")
    csrf = _csrf(browser.get("/employers"))
    for path in ("bind", "place", "holds", "appraisals"):
        browser.post(f"/employers/XM-DW-2026-Y-99999/{path}", {"csrf_token": csrf, "place": "A-01-02-001",
                                                                "reason": "audit", "note": "x"}, status=404)
    browser.get("/employers/XM-DW-2026-Y-99999/volume.pdf", status=404)


def test_the_api_binds_an_employers_volume_and_serves_it_and_its_labels(api, store, employer):
    """/api/employers/{no}/volume, volume.pdf and labels.pdf: the household's operations on an
    employer's dossier, documented as such in the OpenAPI document."""
    no = employer
    assert api.get(f"/api/employers/{no}/volume").json == {"archive_no": no, "bound": False, "current": False}
    kept = api.client.post(f"/api/employers/{no}/volume", headers=api.headers("archivist"), status=201).json
    assert kept["bound"] and kept["current"] and kept["archive_no"] == no
    served = api.get(f"/api/employers/{no}/volume.pdf")
    assert served.content_type == "application/pdf" and hashlib.sha256(served.body).hexdigest() == kept["sha256"]
    assert api.get(f"/api/employers/{no}/labels.pdf").content_type == "application/pdf"
    api.get("/api/employers/XM-DW-1999-Y-99999/volume", status=404)
    api.client.delete(f"/api/employers/{no}/volume", headers=api.headers("archivist"), status=405)
    paths = api.get("/api/openapi.json").json["paths"]
    assert {"/api/employers/{no}/volume", "/api/employers/{no}/volume.pdf",
            "/api/employers/{no}/labels.pdf"} <= set(paths)
    assert set(paths["/api/employers/{no}/volume"]) >= {"get", "post"}
    with store() as root:
        assert root.employers[no].latest.action == "bound"


def test_an_employers_file_viewed_or_downloaded_is_logged(browser, store, employer):
    """Every file that leaves the archive is in the audit log, an employer's as a household's."""
    no = employer
    browser.login("archivist")
    page = browser.get(f"/employers/{no}")
    link = page.html.select_one("#documents a[href*='/documents/']")["href"]
    assert browser.get(link).content_type == "application/pdf"
    assert browser.get(link, params={"download": "1"}).content_type == "application/pdf"
    with store() as root:
        employer_dossier = root.employers[no]
        doc_id = link.rstrip("/").rsplit("/", 1)[1]
        revision = employer_dossier.document(doc_id).current_file
        exports = [e for e in root.log.newest(50) if e.action == "export"
                   and e.target == f"{no}/{doc_id}#{revision.number}"]
    assert [e.actor for e in exports] == ["archivist", "archivist"]
    assert {e.detail[:4] for e in exports} == {"查看文件", "下载文件"}
