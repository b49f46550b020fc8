"""The loan journey in headless Chromium: a court's clerk requests a document, an archivist
approves, the clerk downloads a watermarked copy (its text read back with pypdf, its SHA-256
unlike the original's, the original untouched), the grant ends and the same link is a 403."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import pathlib

import pytest
from pypdf import PdfReader

from conftest import PASSWORD, doc_fields, household_input, make_pdf

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings):
    """The web server's sealer numbers new requests, as in production."""
    return {**settings, "archive.loan_sealer": "true"}


def sign_in(page, login):
    """The login form, then the loans link every borrower and lender has in the menu."""
    page.context.clear_cookies()
    page.goto(page.base + "/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[name=submit]")
    page.wait_for_selector("#nav-loans")


def test_request_approve_download_a_watermarked_copy_and_the_grant_ends(page, app, store):
    from archive.records import filing
    registry = app.registry.archive_schemas
    with store() as root:
        root.users.add("court", "某区人民法院", ["borrower"], PASSWORD, app.registry.archive_hasher)
        dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist")
        doc = filing.file_document(dossier, registry, doc_fields(title="收入证明"),
                                   make_pdf("收入证明 月收入1200元", pages=2), "income.pdf", "archivist")
        no, original = dossier.archive_no, doc.current_file.sha256

    # the court's clerk asks for the document; the borrower's home is the loans page
    sign_in(page, "court")
    assert page.url.endswith("/loans")
    page.click("#loan-new")
    page.fill("#items", f"{no}/{doc.doc_id}")
    page.select_option("#purpose", "judicial")
    page.select_option("#form", "copy")
    page.fill("#end", (dt.date.today() + dt.timedelta(days=7)).isoformat())
    page.fill("#note", "（2026）苏0402民初123号 调取证据")
    page.click("#loan-submit")
    page.wait_for_selector("#loan-status")
    assert page.inner_text("#loan-status") == "待审批"
    loan_url = page.url
    assert page.locator(".grant-download").count() == 0

    # an archivist approves it from the list of waiting requests
    sign_in(page, "archivist")
    page.click("#nav-loans")
    page.click("#pending-loans a")
    page.fill("#approve-form input[name=comment]", "同意调取")
    page.click("#loan-approve")
    page.wait_for_selector(".flash")
    assert page.inner_text("#loan-status") == "已批准"
    number = page.inner_text("#loan-number")
    assert number.startswith("JY-"), number    # numbered by the server's sealer meanwhile

    # the clerk downloads a watermarked copy
    sign_in(page, "court")
    page.goto(loan_url)
    link = page.get_attribute(".grant-download", "href")
    with page.expect_download() as caught:
        page.click(".grant-download")
    copy = pathlib.Path(caught.value.path()).read_bytes()
    assert hashlib.sha256(copy).hexdigest() != original
    for text in (p.extract_text() for p in PdfReader(io.BytesIO(copy)).pages):
        assert number in text and "某区人民法院（court）" in text and "收入证明" in text
    with store() as root:
        revision = root.households[no].document(doc.doc_id).current_file
        assert hashlib.sha256(revision.read()).hexdigest() == original
    assert page.request.get(link).status == 200      # the browser's own session
    opened = page.get_attribute(".grant-open", "href")
    assert page.goto(opened).status == 200

    # the grant ends: the same link that worked is refused
    with store() as root:
        loan = root.loans.get(number)
        loan.end = dt.date.today() - dt.timedelta(days=1)
    assert page.request.get(link).status == 403
    response = page.goto(opened)
    assert response.status == 403
    assert "无权" in page.inner_text("#error-message")
    page.goto(loan_url)
    assert page.inner_text("#loan-status") == "已到期"
    assert page.locator(".grant-download").count() == 0
