"""The archive officer's main journey in a real headless Chromium (Playwright).

Log in, create a household, file a PDF into it, and see version 2 in its history.
"""
from __future__ import annotations

import pytest
from conftest import PASSWORD, make_pdf

pytestmark = pytest.mark.e2e


def test_officer_creates_household_files_pdf_and_sees_version_2(page, tmp_path):
    page.goto(page.base + "/")
    assert "/login" in page.url
    page.fill("#login", "archivist")
    page.fill("#password", PASSWORD)
    page.click("button[name=submit]")
    page.wait_for_selector("#count-households")

    page.goto(page.base + "/households/new")
    form = page.locator("#dossier-form")
    form.locator("input[name=name]").first.fill("陈晓明")
    form.locator("input[name=id_number]").first.fill("320402198005060114")
    form.locator("select[name=category]").select_option("dibao")
    form.locator("input[name=income_per_capita]").fill("1500")
    form.locator("input[name=phone]").fill("13812345678")
    form.locator("select[name=jurisdiction]").select_option("changzhou")
    form.locator("input[name=district]").fill("天宁区")
    form.locator("input[name=address]").fill("常州市天宁区龙锦路88号")
    form.locator("button[type=submit]").click()
    # the ID number above has a wrong check character: the form says so and stores nothing
    assert "校验码错误" in page.locator("#dossier-form").inner_text()
    form.locator("input[name=id_number]").first.fill("320402198005060113")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#archive-no")
    archive_no = page.inner_text("#archive-no")
    assert archive_no.startswith("CZ-HH-")
    assert page.inner_text("#current-version") == "1"

    pdf = tmp_path / "申请表.pdf"
    pdf.write_bytes(make_pdf("公共租赁住房申请表 陈晓明"))
    page.click("#file-link")
    doc = page.locator("#document-form")
    doc.locator("select[name=doc_type]").select_option("application_form")
    doc.locator("input[name=title]").fill("公共租赁住房申请表")
    doc.locator("input[name=date]").fill("2026-03-02")
    doc.locator("input[name=issuer]").fill("陈晓明")
    doc.locator("input[type=file]").set_input_files(str(pdf))
    doc.locator("button[type=submit]").click()
    page.wait_for_selector("#document-table")
    assert page.inner_text("#current-version") == "2"
    history = page.locator("#history .version-row")
    assert history.count() == 2
    assert "归档文件" in history.first.inner_text()
    assert "公共租赁住房申请表" in page.inner_text("#document-table")
    page.screenshot(path=str(tmp_path / "dossier.png"), full_page=True)
    import os, shutil as _s
    if os.environ.get("ARCHIVE_SCREENSHOT"):
        _s.copy(tmp_path / "dossier.png", os.environ["ARCHIVE_SCREENSHOT"])


def test_reviewer_sees_why_then_accepts_from_the_worklist(page, app, store):
    """待我处理 → the dossier → 受理: refused with the missing documents, then done."""
    import walk
    with store() as root:
        procedure, registry = app.registry.archive_procedure, app.registry.archive_schemas
        household = walk.new_household(procedure, root)
        no = household.archive_no
        walk.file(registry, household, *[c for c in procedure.profile(household).required_documents("accept")
                                         if c != "application_form"])
    page.goto(page.base + "/login")
    page.fill("#login", "reviewer")
    page.fill("#password", PASSWORD)
    page.click("button[name=submit]")
    page.wait_for_selector("#home-worklist")
    row = page.locator("#worklist tr.work-item").first
    assert no in row.inner_text() and row.locator(".overdue").count() == 1
    row.locator("a").first.click()
    page.wait_for_selector("#state")
    assert page.inner_text("#state") == "待受理"
    page.click('a.step-link[data-step="accept"]')
    assert "缺少文件：申请表" in page.inner_text("#problems")
    page.fill("#comment", "材料齐全，予以受理")
    page.click("#transition-submit")
    assert "缺少文件：申请表" in page.inner_text("#refusal")
    with store() as root:
        walk.file(app.registry.archive_schemas, root.households[no], "application_form")
    page.click("#transition-submit")
    page.wait_for_selector("#procedure-history")
    assert page.inner_text("#state") == "审核中"
    assert "材料齐全，予以受理" in page.inner_text("#procedure-history")
    assert "受理" in page.inner_text("#procedure-history")
