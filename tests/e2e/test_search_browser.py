"""An inspector finds a freshly filed document from the search box, in headless Chromium,
with the real background workers reading the text layer and indexing after the commit."""
from __future__ import annotations

import time

import pytest

from conftest import doc_fields, household_input, make_pdf
from conftest import log_in as login

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings):
    """This journey runs the web server's own workers, as in production."""
    return {**settings, "archive.text_worker": "true", "archive.search_worker": "true"}


def test_inspector_finds_a_filed_pdf_by_its_words_and_opens_its_dossier(page, app, store):
    from archive.records import filing
    with store() as root:
        registry = app.registry.archive_schemas
        dossier = filing.create_dossier(root, registry, "household",
                                        household_input(name="欧阳明月", seq=51), "archivist")
        filing.file_document(dossier, registry, doc_fields(doc_type="income_proof", title="收入证明",
                                                           issuer="天宁区民政局"),
                             make_pdf("收入证明 欧阳明月 在青果巷社区从事保洁工作", pages=3),
                             "收入证明.pdf", "archivist")
        number = dossier.archive_no
    login(page, "inspector")
    deadline = time.monotonic() + 20
    while True:                 # the workers index within a second or two of the commit
        page.fill("#nav-search", "青果巷 保洁")
        page.press("#nav-search", "Enter")
        page.wait_for_selector("#search-total")
        if page.locator(".search-hit").count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    hit = page.locator(".search-hit").first
    assert hit.get_attribute("data-key") == f"household/{number}/D0001"
    assert page.locator(".search-hit mark").first.inner_text() in ("青果巷", "青果", "保洁")
    assert "收入证明" in hit.inner_text()

    page.locator('.facet[data-facet="doc_type"] a', has_text="收入证明").click()
    page.wait_for_selector(".search-hit")
    assert page.locator(".search-hit").count() == 1

    hit.locator(".hit-title").click()
    page.wait_for_selector("#archive-no")
    assert page.inner_text("#archive-no") == number
    assert page.url.endswith("#doc-D0001")
    assert page.locator("#doc-D0001").is_visible()
