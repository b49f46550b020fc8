"""OCR as an officer sees it: the state on the dossier page and in the API, the worker's
transactions, and a crash that leaves the file queued."""
from __future__ import annotations

import re

import transaction
import webtest

from archive.workers import ocr
from archive.workers import textlayer
from archive.workers.ocr import OcrOptions, OcrWorker
from conftest import household_input, make_scanned_pdf


def _file_scan(browser):
    """A household created and a scanned application form filed through the forms."""
    browser.login("archivist")
    form = browser.get("/households/new").forms["dossier-form"]
    for name, value in {"name": "王秀英", "id_number": household_input()["applicant"]["id_number"], "category": "dibao",
                        "income_per_capita": "1200", "phone": "13812345678",
                        "jurisdiction": "changzhou", "district": "天宁区",
                        "address": "常州市天宁区青龙街道龙锦路88号"}.items():
        form[name] = value
    no = form.submit().follow().html.select_one("#archive-no").text
    upload = browser.get(f"/households/{no}/documents/new").forms["document-form"]
    upload["doc_type"], upload["title"] = "application_form", "公共租赁住房申请表（扫描件）"
    upload["date"], upload["issuer"] = "2026-03-02", "王秀英"
    upload["upload"] = webtest.Upload("扫描件.pdf", make_scanned_pdf(), "application/pdf")
    upload.submit().follow()
    return no


def _status(browser, no):
    return browser.get(f"/households/{no}").html.select_one("#document-table .text-status").text


def _round(app, options=OcrOptions()):
    """One pass of the server's OCR worker, in its own connection and transactions."""
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        OcrWorker(db, options).round(tm, conn)
    finally:
        conn.close()


def test_the_dossier_page_and_the_api_follow_the_scan_to_its_text(browser, store, users):
    no = _file_scan(browser)
    assert _status(browser, no) == "文本层待提取"
    with store() as root:
        textlayer.drain(root)
    assert _status(browser, no) == "待识别（OCR 排队中）"
    api = browser.get(f"/api/households/{no}/documents/D0001",
                      headers={"Authorization": f"Bearer {users['reviewer']}"}).json["files"][0]
    assert (api["text_status"], api["text_source"]) == ("ocr_pending", "layer")

    _round(browser.app)
    assert _status(browser, no) == "已识别（OCR）"
    api = browser.get(f"/api/households/{no}/documents/D0001",
                      headers={"Authorization": f"Bearer {users['reviewer']}"}).json["files"][0]
    assert (api["text_status"], api["text_source"], api["text_error"]) == ("ocr_done", "ocr", "")
    assert api["access_copy"]["pdfa"] == "2B" and api["access_copy"]["href"].endswith("file=1&copy=access")
    # the viewer and downloads offer the access copy beside the original, which stays as filed
    links = browser.get(f"/households/{no}").html.select("#document-table .access-copy a")
    view, download = (link["href"] for link in links)
    copy = browser.get(view)
    assert copy.content_type == "application/pdf" and copy.body.startswith(b"%PDF")
    assert copy.headers["X-Content-SHA256"] == api["access_copy"]["sha256"]
    assert "attachment" in browser.get(download).headers["Content-Disposition"]
    original = browser.get(view.replace("?copy=access", ""))
    assert original.headers["X-Content-SHA256"] == api["sha256"] != api["access_copy"]["sha256"]
    with store() as root:
        revision = root.households[no].document("D0001").current_file
        assert "王秀英" in re.sub(r"\s", "", revision.text) and len(root.ocr_queue) == 0
        assert f"household/{no}" in root.index_queue


def test_the_worker_commits_without_rewriting_the_blob(browser, store):
    no = _file_scan(browser)
    with store() as root:
        textlayer.drain(root)
        before = root.households[no].document("D0001").current_file.blob.committed()
    _round(browser.app)
    with store() as root:
        revision = root.households[no].document("D0001").current_file
        assert revision.text_status == "ocr_done"
        assert revision.blob.committed() == before  # same committed file: the blob was not written


def test_a_failure_is_shown_with_its_reason(browser, store, monkeypatch):
    no = _file_scan(browser)
    with store() as root:
        textlayer.drain(root)
    monkeypatch.setenv("PATH", "/nonexistent")
    _round(browser.app)
    monkeypatch.undo()
    assert _status(browser, no) == "识别失败：服务器未安装Tesseract文字识别程序"
    browser.get("/locale/en")
    assert _status(browser, no) == "OCR failed: 服务器未安装Tesseract文字识别程序"


def test_a_crash_in_the_worker_leaves_the_file_queued(browser, store, monkeypatch):
    no = _file_scan(browser)
    with store() as root:
        textlayer.drain(root)

    def crash(revision, options):
        revision.text, revision.text_status = "half", "ocr_done"
        raise MemoryError("the machine ran out of memory")
    monkeypatch.setattr(ocr, "ocr_revision", crash)
    _round(browser.app)
    with store() as root:
        revision = root.households[no].document("D0001").current_file
        assert (revision.text_status, len(root.ocr_queue)) == ("ocr_pending", 1)
        assert "half" not in revision.text
    monkeypatch.undo()
    _round(browser.app)
    assert _status(browser, no) == "已识别（OCR）"
