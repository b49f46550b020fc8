"""An archivist scans a box label's archive number into the search box, lands on the dossier,
downloads its bound volume and finds its pages' text: cover, contents, the documents with
their page numbers, the closing sheet."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from archive.records import filing
from conftest import household_input, log_in as login, make_pdf

pytestmark = pytest.mark.e2e


def test_scan_open_and_download_the_bound_volume(page, app, store):
    registry = app.registry.archive_schemas
    with store() as root:
        dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist")
        for title, pages in (("申请表", 1), ("收入证明", 2)):
            filing.file_document(dossier, registry, {"doc_type": "application_form", "title": title,
                                                     "date": "2026-03-02", "issuer": "张三"},
                                 make_pdf(f"{title}正文", pages=pages), "f.pdf", "archivist")
        number = dossier.archive_no
    login(page, "archivist")
    page.fill("#nav-search", number)          # what a scanner types
    page.press("#nav-search", "Enter")
    page.wait_for_selector("#archive-no")
    assert page.inner_text("#archive-no") == number
    assert page.locator(".filing-stamp").count() == 2
    with page.expect_download() as info:
        page.click("#volume-link")
    download = info.value
    assert download.suggested_filename == f"{number}-案卷.pdf"
    with open(download.path(), "rb") as fh:
        texts = [p.extract_text() for p in PdfReader(io.BytesIO(fh.read())).pages]
    assert len(texts) == 2 + 3 + 1 and all(t.strip() for t in texts)
    assert "案 卷 封 面" in texts[0] and number in texts[0]
    assert "卷 内 目 录" in texts[1] and "收入证明" in texts[1]
    assert "申请表正文 第1页" in texts[2] and "1" in texts[2].split()
    assert "收入证明正文 第2页" in texts[4] and "3" in texts[4].split()
    assert "备 考 表" in texts[5]
