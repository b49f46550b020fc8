"""Hand-over packages on the web: an archivist downloads a dossier's bag (a valid BagIt
bag, logged); roles without ``export`` cannot; the document row shows SM3 and the intake
check; the 四性检测 report of an import is a page, a CSV and a PDF."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile

from archive.records import filing
from conftest import doc_fields, household_input, make_pdf


def _dossier(store, app):
    with store() as root:
        registry = app.registry.archive_schemas
        dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist")
        fields = doc_fields()
        fields.pop("comment")
        filing.file_document(dossier, registry, fields, make_pdf("申请表 张三"), "申请表.pdf", "archivist")
        filing.refile_document(dossier, "D0001", make_pdf("申请表 张三 补正"), "申请表2.pdf", "archivist",
                               registry=registry)
        return dossier.archive_no


def test_archivist_downloads_a_valid_bag(browser, store, app, tmp_path):
    number = _dossier(store, app)
    browser.login("archivist")
    page = browser.get(f"/households/{number}")
    assert "下载移交包" in page.text
    response = browser.get(f"/households/{number}/bag.zip")
    assert response.content_type == "application/zip"
    zipfile.ZipFile(io.BytesIO(response.body)).extractall(tmp_path)
    bag = tmp_path / number
    done = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bag)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (bag / "data" / number / "files").iterdir())
    assert names == [f"{number}-0001.v1.pdf", f"{number}-0001.v2.current.pdf"]
    with store() as root:
        assert any(e.action == "exchange.export" and e.target == number for e in root.log.newest(20))


def test_roles_without_export_cannot_download(browser, store, app):
    number = _dossier(store, app)
    for role in ("reviewer", "inspector", "auditor"):
        browser.login(role)
        assert "下载移交包" not in browser.get(f"/households/{number}").text
        browser.get(f"/households/{number}/bag.zip", status=403)


def test_document_row_shows_sm3_and_the_intake_check(browser, store, app):
    number = _dossier(store, app)
    browser.login("archivist")
    page = browser.get(f"/households/{number}")
    with store() as root:
        revision = root.households[number].documents["D0001"].current_file
        sm3 = revision.sm3
    assert f"SM3 {sm3}" in page.text
    assert "【可用性】格式为可接收的PDF" in page.text and "【真实性】档号符合编号规则" in page.text
    api = browser.get(f"/api/households/{number}/documents/D0001").json
    current = next(f for f in api["files"] if f["current"])
    assert current["sm3"] == sm3 and {c["check"] for c in current["intake"]} >= {"format", "archive_no"}
    assert all(c["passed"] for c in current["intake"])


def test_receipt_report_page_csv_and_pdf(browser, store, app, tmp_path):
    from archive.exchange.bag import export_bag
    from archive.exchange.receive import ImportRefused, receive_bag
    number = _dossier(store, app)
    with store() as root:
        export_bag(root, [root.households[number]], tmp_path / "bag", app.registry.archive_schemas,
                   office="档案室", actor="archivist")
    with store() as root:   # the same 档号 is already here: refused, the report kept
        try:
            receive_bag(root, tmp_path / "bag", app.registry.archive_schemas, actor="archivist")
        except ImportRefused as refused:
            report_no = refused.report.number
    browser.login("archivist")
    listing = browser.get("/receipts")
    assert "拒收" in listing.text
    page = browser.get(f"/receipts/{report_no}")
    assert "检测不合格，未接收任何档案" in page.text and f"档号 {number} 在本档案库中已存在" in page.text
    csv = browser.get(f"/receipts/{report_no}/report.csv")
    assert csv.body.startswith("\ufeff档号".encode()) and "未通过".encode() in csv.body
    pdf = browser.get(f"/receipts/{report_no}/report.pdf")
    assert pdf.body.startswith(b"%PDF")
    browser.login("reviewer")
    browser.get(f"/receipts/{report_no}", status=403)
    browser.get("/receipts/999", status=403)
