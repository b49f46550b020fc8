"""Integrity audits (完整性审计) through the WSGI app: starting, following, acknowledging,
comparing, the reports, the chart and the JSON API, under the roles."""
from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

import walk
from archive.audit.worker import run_pending


@pytest.fixture
def city(app, store, users):
    """A household whose application set is missing (the completeness rule finds it) and a
    second one that is complete, so the audit has something to say and something to pass."""
    with store() as root:
        procedure, registry = app.registry.archive_procedure, app.registry.archive_schemas
        bare = walk.new_household(procedure, root)
        full = walk.new_household(procedure, root, name="王五", seq=31)
        walk.file(registry, full, *walk.stage_docs(procedure, full, "accept"))
        return {"bare": bare.archive_no, "full": full.archive_no}


@pytest.fixture
def run_queued(app, store):
    """Run the oldest queued audit as the worker would (the worker is off in tests)."""
    def run():
        with store() as root:
            return run_pending(root, app.registry.archive_procedure, app.registry.archive_schemas,
                               app.registry.archive_search)
    return run


def start(browser, rules=()):
    page = browser.get("/audits")
    form = page.forms["audit-form"]
    for rule in rules:
        form.fields["rules"][[f._value for f in form.fields["rules"]].index(rule)].checked = True
    return form.submit()


def completeness(page):
    return [row for row in page.html.select("tr.finding") if row["data-fingerprint"].startswith("completeness|")]


def run_count(store):
    with store() as root:
        return len(root.audits)


def log_actions(store, action):
    with store() as root:
        return [e for e in root.log.newest(500) if e.action == action]


# -- permissions --------------------------------------------------------------------------------
def test_inspector_may_not_start_or_read_audits_and_sees_no_nav_link(browser, city, store):
    home = browser.login("inspector")
    assert home.html.select_one("#nav-audits") is None
    assert home.html.select_one("#nav-credit") is not None
    assert browser.get("/audits", status=403).status_int == 403
    csrf = home.html.select_one("input[name=csrf_token]")["value"]    # the logout form's
    browser.post("/audits", {"csrf_token": csrf}, status=403)
    assert run_count(store) == 0


def test_auditor_starts_an_audit_sees_progress_then_findings(browser, city, store, run_queued):
    home = browser.login("auditor")
    assert home.html.select_one("#nav-audits") is not None
    page = start(browser).follow()
    assert page.request.path == "/audits/1"
    assert page.html.select_one("#run-status")["data-status"] == "queued"
    assert page.html.select_one("#progress") is not None
    assert page.html.select_one('meta[http-equiv=refresh]')["content"] == "2"
    assert page.html.select_one("#report-pdf") is None
    assert run_queued() == 1
    page = browser.get("/audits/1")
    assert page.html.select_one("#run-status")["data-status"] == "done"
    assert page.html.select_one('meta[http-equiv=refresh]') is None
    assert page.html.select_one("#progress") is None
    assert page.html.select_one("#count-dossiers").text == "2"
    found = completeness(page)
    assert [r.select_one(".dossier-link").text for r in found] == [city["bare"]]
    assert found[0].select_one(".dossier-link")["href"].endswith(f"/households/{city['bare']}")
    assert found[0]["data-status"] == "new" and "新发现" in found[0].text
    group = page.html.select_one('section.rule-group[data-rule="completeness"]')
    assert "文件齐全" in group.text and "完整性" in group.text and "重要" in group.text
    assert "此前没有已完成的审计可供对比" in page.text
    listing = browser.get("/audits")
    row = listing.html.select_one("tr.run")
    assert row["data-status"] == "done" and "auditor" in row.text
    bars = listing.html.select("#audit-chart rect.bar")
    assert any(b["data-rule"] == "completeness" and b["data-count"] == "1" for b in bars)
    assert "文件齐全" in listing.html.select_one("#audit-chart").text  # the legend, in Chinese


def test_only_the_chosen_rules_run(browser, city, store, run_queued):
    browser.login("auditor")
    start(browser, ["completeness"])
    run_queued()
    with store() as root:
        run = root.audits.get(1)
        assert run.rules == ("completeness",)
        assert {f.rule for f in run.findings} == {"completeness"}


def test_start_without_csrf_is_refused_and_nothing_queued(browser, city, store):
    browser.login("auditor")
    response = browser.post("/audits", {}, status=400)
    assert "CSRF" in response.text
    assert run_count(store) == 0


def test_unknown_run_is_404_in_chinese(browser, city):
    browser.login("auditor")
    assert "没有这次审计" in browser.get("/audits/99", status=404).text
    assert "没有这次审计" in browser.get("/audits/abc", status=404).text
    assert browser.get("/api/audits/99", status=404).json["status"] == 404


def test_filters_by_severity_and_rule(browser, city, run_queued):
    browser.login("auditor")
    start(browser)
    run_queued()
    major = browser.get("/audits/1?severity=major")
    assert completeness(major)
    assert {r["data-severity"] for r in major.html.select("tr.finding")} == {"major"}
    assert not completeness(browser.get("/audits/1?severity=critical"))
    only = browser.get("/audits/1?rule=completeness")
    assert {s["data-rule"] for s in only.html.select("section.rule-group")} == {"completeness"}
    assert browser.get("/audits/1?severity=bogus", status=400)


# -- acknowledgements and comparison ---------------------------------------------------------------
def test_acknowledgement_is_kept_logged_and_shown_in_the_next_run(browser, city, store, run_queued, app):
    browser.login("auditor")
    start(browser)
    run_queued()
    page = browser.get("/audits/1")
    row = completeness(page)[0]
    form = page.forms[[i for i, f in page.forms.items()
                       if f.fields.get("fingerprint") and f["fingerprint"].value == row["data-fingerprint"]][0]]
    form["comment"] = "已通知申请人补交承诺书"
    shown = form.submit().follow()
    assert "已确认该审计发现" in shown.text
    acked = completeness(shown)[0]
    assert "已通知申请人补交承诺书" in acked.select_one(".ack").text
    assert [e.detail for e in log_actions(store, "audit.ack")][0].startswith(row["data-fingerprint"])

    start(browser)
    run_queued()
    second = browser.get("/audits/2")
    again = completeness(second)[0]
    assert again["data-status"] == "open" and "仍未解决" in again.text
    assert "已通知申请人补交承诺书" in again.select_one(".ack-comment").text
    assert "第 1 次" in again.select_one(".ack").text
    assert "与第 1 次相比" in second.text


def test_empty_acknowledgement_is_400_with_the_message_and_nothing_kept(browser, city, store, run_queued):
    browser.login("auditor")
    start(browser)
    run_queued()
    page = browser.get("/audits/1")
    fingerprint = completeness(page)[0]["data-fingerprint"]
    form = next(f for f in page.forms.values() if f.fields.get("fingerprint") and f["fingerprint"].value == fingerprint)
    form["comment"] = "   "
    refused = form.submit(status=400)
    assert "确认审计发现必须填写说明" in refused.html.select_one("#ack-error").text
    unknown = browser.post("/audits/1/acks", {"csrf_token": form["csrf_token"].value,
                                              "fingerprint": "nope|x|y", "comment": "好"}, status=400)
    assert "该次审计中没有这条发现" in unknown.text
    browser.post("/audits/1/acks", {"fingerprint": fingerprint, "comment": "好"}, status=400)  # no CSRF
    with store() as root:
        assert root.audits.acks(fingerprint) == ()
    assert log_actions(store, "audit.ack") == []


def test_a_fixed_fault_is_listed_as_resolved(browser, city, store, run_queued, app):
    browser.login("auditor")
    start(browser, ["completeness"])
    run_queued()
    with store() as root:
        procedure, registry = app.registry.archive_procedure, app.registry.archive_schemas
        bare = root.households[city["bare"]]
        walk.file(registry, bare, *walk.stage_docs(procedure, bare, "accept"))
    start(browser, ["completeness"])
    run_queued()
    page = browser.get("/audits/2")
    assert not completeness(page)
    assert "本次审计未发现问题" in page.text
    resolved = page.html.select("#resolved tr.resolved-finding")
    assert [r["data-fingerprint"].split("|")[1] for r in resolved] == [city["bare"]]
    assert "文件齐全" in resolved[0].text


def test_a_failed_run_shows_its_error(browser, city, store):
    browser.login("auditor")
    with store() as root:
        run = root.audits.new_run("auditor", walk.T0, "web")
        run.status, run.error = "failed", "RuntimeError: 存储不可读"
    page = browser.get("/audits/1")
    assert "存储不可读" in page.html.select_one("#run-failed").text


# -- reports ----------------------------------------------------------------------------------------
def test_reports_download_as_attachments_and_are_logged(browser, city, store, run_queued):
    browser.login("auditor")
    start(browser)
    browser.get("/audits/1/report.csv", status=404)    # not finished yet
    run_queued()
    page = browser.get("/audits/1")
    csv_response = page.click(href="report.csv")
    assert csv_response.content_type == "text/csv"
    assert csv_response.headers["Content-Disposition"].startswith("attachment;")
    assert csv_response.body.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(csv_response.body.decode("utf-8-sig"))))
    assert rows[0][:5] == ["审计编号", "规则", "规则名称", "四性类别", "严重程度"]
    assert any(r[1] == "completeness" and r[5] == city["bare"] for r in rows[1:])

    pdf = browser.get("/audits/1/report.pdf")
    assert pdf.content_type == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body)).pages)
    assert "完整性审计报告" in text and city["bare"] in text

    exports = log_actions(store, "export")
    assert [(e.actor, e.target) for e in exports] == [("auditor", "audit/1")] * 2
    browser.login("inspector")
    browser.get("/audits/1/report.csv", status=403)


def test_document_downloads_are_logged_as_exports(browser, city, store, users):
    browser.login("inspector")
    page = browser.get(f"/households/{city['full']}")
    link = page.html.select_one("#document-table a[href*='/files/']")["href"]
    assert browser.get(link).content_type == "application/pdf"
    browser.get(f"/api/households/{city['full']}/documents/D0001/content",
                headers={"Authorization": f"Bearer {users['auditor']}"})
    exports = log_actions(store, "export")
    assert {(e.actor, e.target) for e in exports} == {("inspector", f"{city['full']}/D0001#1"),
                                                      ("auditor", f"{city['full']}/D0001#1")}


# -- the JSON API ----------------------------------------------------------------------------------
def test_api_start_follow_and_acknowledge(browser, city, store, run_queued, users):
    auth = {"Authorization": f"Bearer {users['auditor']}"}
    queued = browser.post_json("/api/audits", {"rules": ["completeness", "fixity"]}, headers=auth, status=202)
    assert queued.json["status"] == "queued" and queued.json["rules"] == ["completeness", "fixity"]
    assert queued.headers["Location"].endswith("/api/audits/1")
    bad = browser.post_json("/api/audits", {"rules": ["nope"]}, headers=auth, status=400)
    assert "没有名为“nope”的审计规则" in bad.json["error"]
    browser.post_json("/api/audits", {"rules": "fixity"}, headers=auth, status=400)
    assert run_count(store) == 1
    inspector = {"Authorization": f"Bearer {users['inspector']}"}
    browser.post_json("/api/audits", {}, headers=inspector, status=403)
    browser.get("/api/audits", headers=inspector, status=403)

    run_queued()
    listing = browser.get("/api/audits", headers=auth).json
    assert listing["total"] == 1 and listing["items"][0]["status"] == "done"
    assert {r["id"] for r in listing["rules"]} >= {"fixity", "completeness", "log_chain"}
    run = browser.get("/api/audits/1", headers=auth).json
    assert run["progress"]["done"] == run["progress"]["total"] == 2 + run["counts"]["files"]
    assert run["counts"]["dossiers"] == 2
    finding = next(f for f in run["items"] if f["rule"] == "completeness")
    assert finding["status"] == "new" and finding["archive_no"] == city["bare"]
    assert finding["dossier"].endswith(f"/api/households/{city['bare']}")

    url = "/api/audits/1/acks"
    browser.post_json(url, {"fingerprint": finding["fingerprint"], "comment": ""}, headers=auth, status=400)
    browser.post_json(url, {"fingerprint": "x", "comment": "好"}, headers=auth, status=400)
    browser.post_json("/api/audits/7/acks", {"fingerprint": "x", "comment": "好"}, headers=auth, status=404)
    acked = browser.post_json(url, {"fingerprint": finding["fingerprint"], "comment": "已核实"},
                              headers=auth, status=201)
    assert acked.json["comment"] == "已核实" and len(acked.json["acks"]) == 1
    run = browser.get("/api/audits/1", headers=auth).json
    assert next(f for f in run["items"] if f["rule"] == "completeness")["acks"][0]["actor"] == "auditor"
    assert browser.put_json("/api/audits/1", {}, headers=auth, status=405).headers["Allow"] == "GET, HEAD"


def test_api_is_described_in_openapi(browser):
    doc = browser.get("/api/openapi.json").json
    assert set(doc["paths"]["/api/audits"]) == {"get", "post"}
    assert set(doc["paths"]["/api/audits/{run_id}"]) == {"get", "parameters"}
    assert doc["paths"]["/api/audits/{run_id}/acks"]["post"]["x-permission"] == "audit"
    assert "AuditFinding" in doc["components"]["schemas"]


def test_pages_in_english(browser, city, run_queued):
    browser.login("auditor")
    start(browser)
    run_queued()
    browser.get("/locale/en")
    listing = browser.get("/audits")
    assert "Integrity audits" in listing.text and "Start an audit" in listing.text
    assert "Completeness" in listing.html.select_one("#audit-chart").text
    page = browser.get("/audits/1")
    assert "Download report (PDF)" in page.text and "New" in completeness(page)[0].text
