"""统计年报 through the WSGI app: the page with its charts, the CSV and the PDF downloads
(logged), a bad year refused in Chinese, and the roles without the permission refused."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from archive.audit.rules import Finding
from archive.custody import loans
from archive.records import filing
from conftest import doc_fields, employer_dossier, household_input, make_pdf

WHEN = dt.datetime(2025, 5, 6, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def archive(app, store, users):
    """Two households of 2025 in 常州 (3 documents, 7 pages), a loan and a finished audit."""
    registry = app.registry.archive_schemas
    with store() as root:
        first = filing.create_dossier(root, registry, "household", household_input(), "archivist", when=WHEN)
        second = filing.create_dossier(root, registry, "household", household_input("李四", seq=31),
                                       "archivist", when=WHEN)
        for dossier, doc_type, pages in ((first, "application_form", 2), (first, "income_proof", 4),
                                         (second, "id_card", 1)):
            filing.file_document(dossier, registry, doc_fields(doc_type=doc_type), make_pdf(pages=pages),
                                 "a.pdf", "archivist", when=WHEN)
        root.loans.request("auditor", "审计员", [loans.Item("household", first.archive_no)], "research",
                           "read", dt.date(2025, 5, 30), False, "", WHEN, WHEN.date())
        run = root.audits.new_run("auditor", WHEN)
        run.status = "done"
        run.findings = (Finding("fixity", "critical", "摘要不符", first.archive_no, "household", "D0001"),)


def exports(store):
    with store() as root:
        return [e for e in root.log.newest(500) if e.action == "export"]


@pytest.mark.parametrize("role", ["archivist", "auditor"])
def test_the_page_shows_the_counts_and_charts(browser, archive, role):
    browser.login(role)
    page = browser.get("/statistics?year=2025")
    assert "统计年报" in page.text and page.html.select_one("#year").text == "2025"
    assert page.html.select_one("#nav-statistics") is not None
    rows = [[td.text for td in tr.select("td")] for tr in page.html.select("table.statistics-table tr")]
    assert ["合计", "2", "3", "7"] in rows and ["常州市", "2", "3", "7"] in rows
    assert ["统计研究", "1"] in rows and ["5月", "1"] in rows
    bars = {b["data-label"]: b["data-count"] for b in page.html.select("#chart-months rect.bar")}
    assert bars["5月"] == "1" and bars["6月"] == "0"
    assert page.html.select_one("#chart-severity rect.bar")["data-count"] == "1"


def test_csv_and_pdf_downloads_are_chinese_and_logged(browser, archive, store):
    browser.login("auditor")
    csv_body = browser.get("/statistics/report.csv?year=2025")
    assert csv_body.content_type == "text/csv"
    assert csv_body.body.startswith("\ufeff".encode("utf-8"))
    text = csv_body.body.decode("utf-8-sig")
    assert "合计,2,3,7" in text and "统计研究,1" in text
    pdf = browser.get("/statistics/report.pdf?year=2025")
    assert pdf.content_type == "application/pdf"
    extracted = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body)).pages)
    assert "统计年报" in extracted and "2025" in extracted and "常州市" in extracted
    logged = exports(store)
    assert sorted(e.detail for e in logged if e.target == "statistics/2025") == ["统计年报 CSV", "统计年报 PDF"]


@pytest.mark.parametrize("path", ["/statistics", "/statistics/report.csv", "/statistics/report.pdf"])
@pytest.mark.parametrize("year", ["abc", "1899", "10000", ""])
def test_a_bad_year_is_a_400_in_chinese_and_nothing_is_logged(browser, archive, store, path, year):
    browser.login("archivist")
    answer = browser.get(f"{path}?year={year}", status=400)
    assert "年度应为" in answer.text
    assert exports(store) == []


@pytest.mark.parametrize("role", ["reviewer", "inspector"])
def test_roles_without_the_permission_are_refused(browser, archive, store, role):
    browser.login(role)
    assert browser.get("/").html.select_one("#nav-statistics") is None
    for path in ("/statistics?year=2025", "/statistics/report.csv?year=2025", "/statistics/report.pdf"):
        browser.get(path, status=403)
    assert exports(store) == []


def test_employer_dossiers_have_their_own_row_and_home_count(app, browser, store):
    """单位集体申请档案 count as their own kind, in the 统计年报 and on the home page."""
    with store() as root:
        employer = employer_dossier(root, app.registry.archive_schemas, app.registry.archive_procedure,
                                    when=WHEN)   # with a unit and two households of 厦门
        pages = sum(d.current_file.pages for d in employer.active_documents())
        households = len(root.households)
    browser.login("archivist")
    page = browser.get("/statistics?year=2025")
    rows = [[td.text for td in tr.select("td")] for tr in page.html.select("table.statistics-table tr")]
    assert ["单位集体申请档案", "1", "4", str(pages)] in rows
    assert ["住户档案（一户一档）", "2", "0", "0"] in rows
    home = browser.get("/")
    assert home.html.select_one("#count-employers").text == "1"
    assert home.html.select_one("#count-households").text == str(households)
