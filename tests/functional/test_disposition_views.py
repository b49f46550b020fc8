"""Disposition through the WSGI app: the disposition date in pages and API, the appraisal
worklist, holds, four-eyes appraisals, destruction lists (page, API, PDF) carried out into
a stub, and every refusal a clear 4xx that writes nothing."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import webtest
from pypdf import PdfReader

from conftest import PASSWORD, doc_fields, employer_dossier, household_input, make_pdf

LONG_AGO = dt.datetime(2010, 1, 4, tzinfo=dt.timezone.utc)


class Api:
    def __init__(self, app, tokens):
        self.client, self.tokens = webtest.TestApp(app), tokens

    def h(self, role):
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, url, role="archivist", status=200):
        return self.client.get(url, headers=self.h(role), status=status)

    def post(self, url, body=None, role="archivist", status=200):
        return self.client.post_json(url, body or {}, headers=self.h(role), status=status)


@pytest.fixture
def api(app, users, store):
    with store() as root:   # a second archivist and reviewer: three distinct people with dispose
        for login, role in (("archivist2", "archivist"), ("reviewer2", "reviewer")):
            root.users.add(login, login, [role], PASSWORD, app.registry.archive_hasher)
            users[login] = root.users.issue_token(login)
    return Api(app, users)


def household(api, store, exited=True, doc_type="income_proof", seq=11):
    """A household with one 10-year document; ``exited`` long ago, so it is due now."""
    no = api.post("/api/households", household_input(seq=seq), status=201).json["archive_no"]
    api.client.post(f"/api/households/{no}/documents", doc_fields(doc_type=doc_type, title="收入证明"),
                    headers=api.h("archivist"), status=201,
                    upload_files=[("file", "a.pdf", make_pdf("收入证明 正文", pages=2), "application/pdf")])
    from archive.workers import textlayer
    with store() as root:
        textlayer.drain(root)   # the worker is off in these tests; a file being read is not destroyed
        if exited:
            root.households[no].move("complete_exit", "exited", "reviewer", LONG_AGO, "退出")
    return no


def approved(api, no):
    api.post(f"/api/households/{no}/appraisals", {"action": "destroy", "reason": "期满无保存价值"}, status=201)
    api.post(f"/api/households/{no}/appraisals/1/decision", {"approve": True, "opinion": "同意"}, role="reviewer")


def test_disposition_date_in_api_page_and_worklist(api, store):
    no = household(api, store)
    pending = household(api, store, exited=False, seq=21)
    body = api.get(f"/api/households/{no}").json["disposition"]
    assert body["retention"] == "D10" and body["event"] == "exit"
    assert body["started"] == "2010-01-04" and body["disposition_date"] == "2020-01-04" and body["due"]
    assert api.get(f"/api/households/{pending}").json["disposition"]["disposition_date"] is None
    due = api.get("/api/disposition/due").json
    assert [i["archive_no"] for i in due["items"]] == [no] and due["total"] == 1
    page = api.get(f"/households/{no}")
    assert "2020-01-04" in page.text and 'id="disposition-due"' in page.text
    assert no in api.get("/disposition").text
    home = api.get("/")
    assert 'id="home-due"' in home.text and no in home.text
    assert 'id="home-due"' not in api.get("/", role="inspector").text   # may not appraise


def test_permanent_document_has_no_date(api, store):
    no = household(api, store, doc_type="application_form")
    assert api.get(f"/api/households/{no}").json["disposition"]["disposition_date"] is None


def test_appraisal_four_eyes_and_extension(api, store):
    no = household(api, store)
    api.post(f"/api/households/{no}/appraisals", {"action": "extend", "years": 5, "reason": "仍有利用价值"}, status=201)
    r = api.post(f"/api/households/{no}/appraisals/1/decision", {"approve": True, "opinion": "同意"}, status=403)
    assert "提出人" in r.json["error"]
    api.post(f"/api/households/{no}/appraisals/1/decision", {"approve": True, "opinion": "同意延长"}, role="reviewer")
    body = api.get(f"/api/households/{no}").json["disposition"]
    assert body["disposition_date"] == "2025-01-04" and body["extension_years"] == 5
    assert [a["status"] for a in api.get(f"/api/households/{no}/appraisals").json["items"]] == ["approved"]
    history = api.get(f"/api/households/{no}/versions").json
    actions = [v["action"] for v in history["items"]] if "items" in history else [v["action"] for v in history["versions"]]
    assert "appraisal" in actions and "appraisal_decided" in actions
    with store() as root:
        logged = [e.action for e in root.log.newest(50)]
    assert "dossier.appraisal" in logged and "dossier.appraisal_decided" in logged


@pytest.mark.parametrize("body,field", [({"action": "burn", "reason": "x"}, "action"),
                                        ({"action": "extend", "years": 0, "reason": "x"}, "years"),
                                        ({"action": "destroy", "reason": ""}, "note")])
def test_bad_proposals_refused(api, store, body, field):
    no = household(api, store)
    r = api.post(f"/api/households/{no}/appraisals", body, status=422)
    assert field in r.json["errors"]
    assert api.get(f"/api/households/{no}/appraisals").json["total"] == 0


@pytest.mark.parametrize("approve", [[True], {"x": 1}, 1, None, "maybe"])
def test_a_decision_that_is_neither_approve_nor_refuse_is_422(api, store, approve):
    """An ``approve`` of a list or an object was looked up in a dict (a 500: schemathesis)."""
    no = household(api, store)
    api.post(f"/api/households/{no}/appraisals", {"action": "destroy", "reason": "期满"}, status=201)
    r = api.post(f"/api/households/{no}/appraisals/1/decision", {"approve": approve, "opinion": "同意"},
                 role="reviewer", status=422)
    assert "approve" in r.json["errors"]
    assert api.get(f"/api/households/{no}/appraisals").json["items"][0]["status"] == "proposed"


def test_holds_block_appraisal_withdrawal_and_are_listed(api, store):
    no = household(api, store)
    hold = api.post(f"/api/households/{no}/holds", {"reason": "litigation", "note": "（2026）苏04民初1号"},
                    role="inspector", status=201).json
    assert hold["open"] and hold["reason_title"] == "诉讼"
    r = api.post(f"/api/households/{no}/appraisals", {"action": "destroy", "reason": "期满"}, status=409)
    assert "冻结" in r.json["error"]
    r = api.post(f"/api/households/{no}/documents/D0001/withdraw", {"reason": "错归"}, status=409)
    assert "冻结" in r.json["error"]
    listed = api.get("/api/holds").json
    assert listed["open"] == 1 and listed["items"][0]["archive_no"] == no
    assert no in api.get("/holds").text
    api.post(f"/api/households/{no}/holds", {"reason": "nonsense", "note": "x"}, status=422)
    api.post(f"/api/households/{no}/holds", {"reason": "audit", "note": "x"}, role="archivist", status=201)
    api.post(f"/api/households/{no}/holds", {"reason": "audit", "note": "x"}, role="auditor", status=403)
    api.post(f"/api/households/{no}/holds/{hold['hold_id']}/release", {"note": "已结案"}, role="inspector")
    api.post(f"/api/households/{no}/holds/{hold['hold_id']}/release", {"note": "again"}, status=409)
    api.post(f"/api/households/{no}/holds/H99999/release", {"note": "x"}, status=404)
    with store() as root:
        logged = [e.action for e in root.log.newest(50)]
    assert "dossier.held" in logged and "dossier.released" in logged


def test_credit_case_holds_by_itself(api, store, app):
    no = household(api, store)
    with store() as root:
        dossier = root.households[no]
        person = dossier.metadata["applicant"]
        now = dt.datetime.now(dt.timezone.utc)
        root.credit.record_event(person["id_number"], person["name"], "fraud", now.date(), "虚报收入",
                                 "reviewer", now, dossier=no, ban_years=3)
    body = api.get(f"/api/households/{no}").json["disposition"]
    assert body["automatic_holds"][0]["source"] == "credit"
    api.post(f"/api/households/{no}/appraisals", {"action": "destroy", "reason": "期满"}, status=409)


def test_destruction_through_the_api_into_a_stub(api, store, app, tmp_path):
    no = household(api, store)
    approved(api, no)
    lst = api.post("/api/destruction-lists", {"archive_nos": [no]}, status=201).json
    n = lst["number"]
    row = lst["rows"][0]
    assert (row["documents"], row["pages"], row["retention"]) == (1, 2, "D10")
    api.post(f"/api/destruction-lists/{n}/execution", role="archivist2", status=409)       # not approved
    api.post(f"/api/destruction-lists/{n}/approval", status=403)                      # drawer approves
    api.post(f"/api/destruction-lists/{n}/approval", role="reviewer")
    r = api.post(f"/api/destruction-lists/{n}/execution", role="reviewer", status=403)  # approver supervises
    assert "监销人" in r.json["error"]
    api.post(f"/api/destruction-lists/{n}/execution", role="archivist", status=403)     # drawer supervises
    pdf = api.get(f"/api/destruction-lists/{n}/list.pdf").body
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for word in ("销毁清册", "档号", "题名", "件数", "页数", "保管期限", "鉴定意见", "批准人", "监销人", no):
        assert word in text
    done = api.post(f"/api/destruction-lists/{n}/execution", role="archivist2").json
    assert done["status"] == "done" and done["supervisor"] == "archivist2"
    for thread in getattr(app.registry, "archive_purges", []):
        thread.join(60)
    stub = api.get(f"/api/households/{no}").json
    record = stub["disposition"]["destruction"]
    assert record["approved_by"] == "reviewer" and record["supervisor"] == "archivist2"
    assert len(record["files"][0]["sha256"]) == 64
    assert stub["documents"][0]["files"] == []
    page = api.get(f"/households/{no}")
    assert 'id="destroyed-files"' in page.text and record["files"][0]["sha256"] in page.text
    api.get(f"/api/households/{no}/documents/D0001/content", status=404)
    api.client.post(f"/api/households/{no}/documents", doc_fields(), headers=api.h("archivist"), status=400,
                    upload_files=[("file", "a.pdf", make_pdf(), "application/pdf")])
    api.post(f"/api/destruction-lists/{n}/execution", role="reviewer2", status=409)   # done already
    assert api.get("/api/disposition/due").json["total"] == 0
    # the list's page says whether the backups from before it have been started over
    page = api.get(f"/destruction-lists/{n}")
    assert 'id="backups-status"' in page.text and "仍含被销毁的文件" in page.text
    from archive.disposition.purge import restart_backups
    restart_backups(app.registry._zodb_databases[""], app.registry.settings["zodbconn.uri"],
                    [str(tmp_path / "backups")])
    page = api.get(f"/destruction-lists/{n}")
    assert "重新开始备份链" in page.text and "仍含被销毁的文件" not in page.text


def test_destruction_refusals(api, store):
    not_due = household(api, store, exited=False, seq=31)
    api.post("/api/destruction-lists", {"archive_nos": ["HH-NO-SUCH"]}, status=404)
    api.post("/api/destruction-lists", {"archive_nos": [not_due]}, status=409)   # no approved appraisal
    api.post("/api/destruction-lists", {"archive_nos": []}, status=422)
    # approved for destruction, but not yet due
    approved(api, not_due)
    n = api.post("/api/destruction-lists", {"archive_nos": [not_due]}, status=201).json["number"]
    api.post(f"/api/destruction-lists/{n}/approval", role="reviewer")
    r = api.post(f"/api/destruction-lists/{n}/execution", role="archivist2", status=409)
    assert "处置日期" in r.json["error"]
    # held after approval: destruction refused
    due = household(api, store, seq=41)
    approved(api, due)
    m = api.post("/api/destruction-lists", {"archive_nos": [due]}, status=201).json["number"]
    api.post(f"/api/destruction-lists/{m}/approval", role="reviewer")
    api.post(f"/api/households/{due}/holds", {"reason": "audit", "note": "审计"}, role="inspector", status=201)
    r = api.post(f"/api/destruction-lists/{m}/execution", role="archivist2", status=409)
    assert "冻结" in r.json["error"]
    with store() as root:
        assert root.households[due].destruction is None and len(root.fixity.of("household", due)) == 1
    api.get("/api/destruction-lists/999", status=404)
    api.get("/destruction-lists/abc", status=404)
    assert api.get("/api/destruction-lists").json["total"] == 2


def test_pages_and_forms(browser, api, store):
    no = household(api, store)
    browser.login("archivist")
    page = browser.get(f"/households/{no}")
    form = page.forms["appraisal-form"]
    form["action"], form["reason"] = "destroy", "期满"
    form.submit().follow()
    browser.login("reviewer")
    page = browser.get(f"/households/{no}")
    form = next(f for f in page.forms.values() if "decision" in (f.action or ""))
    form["opinion"] = "同意"
    form.submit("approve", value="1").follow()
    browser.login("archivist")
    form = browser.get("/disposition").forms["draw-form"]
    form["archive_nos"] = no
    page = form.submit().follow()
    assert "approve-form" not in page.forms   # the drawer may not approve
    browser.login("reviewer")
    page = browser.get(page.request.path).forms["approve-form"].submit().follow()
    browser.login("archivist2")
    page = browser.get(page.request.path).forms["execute-form"].submit().follow()
    assert "已销毁" in page.text
    assert browser.get(page.request.path + "/list.pdf").content_type == "application/pdf"
    browser.login("inspector")
    form = browser.get(f"/households/{no}").forms.get("hold-form")
    assert form is None   # a stub takes no hold
    assert browser.get("/holds").status_int == 200


def test_forged_forms_refused(browser, api, store):
    no = household(api, store)
    browser.login("archivist")
    for url, fields in ((f"/households/{no}/holds", {"reason": "audit", "note": "x"}),
                        (f"/households/{no}/appraisals", {"action": "destroy", "reason": "x"}),
                        ("/destruction-lists", {"archive_nos": no})):
        r = browser.post(url, fields, status=400)
        assert "CSRF" in r.text
    with store() as root:
        assert not root.disposition.holds_of(root.households[no])
        assert not root.disposition.appraisals_of(root.households[no])
        assert len(root.disposition.lists) == 0


def test_unknown_dossier(api):
    api.post("/api/households/CZ-HH-2099-Y-99999/holds", {"reason": "audit", "note": "x"}, status=404)
    api.post("/api/households/CZ-HH-2099-Y-99999/appraisals", {"action": "destroy", "reason": "x"}, status=404)


def test_an_employer_dossier_comes_due_is_held_and_destroyed(api, store, app):
    """单位集体申请档案: due 30 years after filing when it holds no permanent paper (its
    营业执照 is D30), held and appraised through /api/employers/…, destroyed into a stub."""
    with store() as root:
        employer = employer_dossier(root, app.registry.archive_schemas, app.registry.archive_procedure,
                                    documents=False)
        no = employer.archive_no
    api.client.post(f"/api/employers/{no}/documents", {"doc_type": "employer_license", "title": "营业执照"},
                    headers=api.h("archivist"), status=201,
                    upload_files=[("file", "l.pdf", make_pdf("营业执照 正文", pages=3), "application/pdf")])
    from archive.workers import textlayer
    with store() as root:
        textlayer.drain(root)
        root.employers[no].created = dt.datetime(1990, 3, 1, tzinfo=dt.timezone.utc)   # filed long ago
        root.employers.reindex(root.employers[no])
    due = api.get("/api/disposition/due").json
    assert [i["archive_no"] for i in due["items"]] == [no] and due["items"][0]["kind"] == "employer"
    body = api.get(f"/api/employers/{no}").json["disposition"]
    assert (body["retention"], body["event"], body["started"], body["disposition_date"], body["due"]) == \
        ("D30", "filing", "1990-03-01", "2020-03-01", True)
    hold = api.post(f"/api/employers/{no}/holds", {"reason": "audit", "note": "集体申请审计"},
                    role="inspector", status=201).json
    r = api.post(f"/api/employers/{no}/appraisals", {"action": "destroy", "reason": "期满"}, status=409)
    assert "冻结" in r.json["error"]
    assert api.get(f"/api/employers/{no}/holds").json["total"] == 1
    api.post(f"/api/employers/{no}/holds/{hold['hold_id']}/release", {"note": "审计结束"}, role="inspector")
    api.post(f"/api/employers/{no}/appraisals", {"action": "destroy", "reason": "期满无保存价值"}, status=201)
    api.post(f"/api/employers/{no}/appraisals/1/decision", {"approve": True, "opinion": "同意"}, role="reviewer")
    assert api.get(f"/api/employers/{no}/appraisals").json["items"][0]["status"] == "approved"
    lst = api.post("/api/destruction-lists", {"archive_nos": [no]}, status=201).json
    assert (lst["rows"][0]["kind"], lst["rows"][0]["pages"], lst["rows"][0]["retention"]) == ("employer", 3, "D30")
    api.post(f"/api/destruction-lists/{lst['number']}/approval", role="reviewer")
    api.post(f"/api/destruction-lists/{lst['number']}/execution", role="archivist2")
    for thread in getattr(app.registry, "archive_purges", []):
        thread.join(60)
    with store() as root:
        stub = root.employers[no].destruction
        assert stub is not None and stub.supervisor == "archivist2" and stub.files[0].pages == 3
    assert api.get("/api/disposition/due").json["total"] == 0
    api.client.delete(f"/api/employers/{no}/holds", headers=api.h("archivist"), status=405)
