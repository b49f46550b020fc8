"""The archive officer's journey through the HTML UI, and the refusals along the way."""
from __future__ import annotations

import webtest

from conftest import PASSWORD, household_input, make_pdf, unit_input


def _household_form(browser, **values):
    """The new-household form filled with a valid household, then with ``values``."""
    form = browser.get("/households/new").forms["dossier-form"]
    data = household_input()
    fields = {"name": data["applicant"]["name"], "id_number": data["applicant"]["id_number"],
              "category": "dibao", "income_per_capita": "1200.50", "phone": "13812345678",
              "jurisdiction": "changzhou", "district": "天宁区",
              "address": "常州市天宁区青龙街道龙锦路88号"}
    for name, value in {**fields, **values}.items():
        form[name] = value
    return form


def _create_household(browser, name="张三"):
    return _household_form(browser, name=name).submit().follow()


def test_login_required_redirects_to_login(browser):
    response = browser.get("/households")
    assert response.status_int == 302 and "/login" in response.location


def test_wrong_password_is_refused_and_throttled(browser):
    for _ in range(5):
        form = browser.get("/login").forms[0]
        form["login"], form["password"] = "sysadmin", "wrong-password"
        assert form.submit(status=401).status_int == 401
    form = browser.get("/login").forms[0]
    form["login"], form["password"] = "sysadmin", PASSWORD
    response = form.submit(status=429)
    assert "登录失败次数过多" in response.text


def test_archivist_creates_files_edits_compares_restores(browser):
    browser.login("archivist")
    page = _create_household(browser)
    assert "张三" in page.text and "第 1 版" in page.text
    no = page.html.select_one("#archive-no").text
    assert no.startswith("CZ-HH-")
    # the ID number is masked on the page
    assert "3204021980050601" not in page.text and "3204**********" in page.text

    upload = browser.get(f"/households/{no}/documents/new").forms["document-form"]
    upload["doc_type"] = "application_form"
    upload["title"] = "公共租赁住房申请表"
    upload["date"] = "2026-03-02"
    upload["issuer"] = "张三"
    upload["upload"] = webtest.Upload("申请表.pdf", make_pdf(), "application/pdf")
    page = upload.submit().follow()
    assert "公共租赁住房申请表" in page.text
    assert page.html.select_one("#current-version").text == "2"
    link = page.html.select_one("#document-table a")["href"]
    pdf = browser.get(link)
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")

    edit = browser.get(f"/households/{no}/edit").forms["dossier-form"]
    edit["phone"] = "13900001111"
    edit["_comment"] = "申请人更换手机号"
    page = edit.submit().follow()
    assert page.html.select_one("#current-version").text == "3"

    diff = browser.get(f"/households/{no}/diff?a=2&b=3")
    cells = [td.text for td in diff.html.select("#field-changes td")]
    assert "联系电话" in cells[0]

    version = browser.get(f"/households/{no}/versions/2")
    form = version.forms["restore-form"]
    form["comment"] = "误改，恢复"
    page = form.submit().follow()
    assert page.html.select_one("#current-version").text == "4"
    assert "恢复版本" in page.text


def test_invalid_id_number_is_refused_and_nothing_is_stored(browser, store):
    browser.login("archivist")
    form = _household_form(browser, name="王五", id_number="320402198005061230",
                           income_per_capita="-5", phone="12345")
    response = form.submit(status=422)
    assert "校验码错误" in response.text
    assert "不能为负数" in response.text
    with store() as root:
        assert len(root.households) == 0


def test_bad_pdfs_are_refused(browser, store):
    browser.login("archivist")
    no = _create_household(browser).html.select_one("#archive-no").text
    for content, message, status in [(b"", "文件为空", 400), (b"hello", "不是PDF", 400),
                                     (b"%PDF-1.4 broken" * 10, "损坏", 400),
                                     (b"%PDF-" + b"0" * (3 * 1024 * 1024), "超过上限", 413)]:
        form = browser.get(f"/households/{no}/documents/new").forms["document-form"]
        form["doc_type"], form["title"], form["date"], form["issuer"] = "income_proof", "收入证明", "2026-01-05", "某公司"
        form["upload"] = webtest.Upload("x.pdf", content, "application/pdf")
        response = form.submit(status=status)
        assert message in response.text
    with store() as root:
        assert len(root.households[no].documents) == 0
        assert root.households[no].latest.number == 1


def test_forged_post_without_csrf_is_refused(browser, store):
    browser.login("archivist")
    response = browser.post("/households/new", {"name": "x"}, status=400)
    assert "CSRF" in response.text


def test_roles_on_pages(browser, store):
    with store() as root:
        from archive.records import filing
        filing.create_dossier(root, root_registry(browser), "unit", unit_input(), "test")
    for role, new_status in [("archivist", 200), ("reviewer", 403), ("inspector", 403),
                             ("auditor", 403), ("sysadmin", 403), ("secadmin", 403)]:
        browser.login(role)
        admin = role in ("sysadmin", "secadmin")   # 三员分立: no dossiers, no log
        assert browser.get("/units", status="*").status_int == (403 if admin else 200)
        assert browser.get("/units/new", status=new_status).status_int == new_status
        assert browser.get("/users", status="*").status_int == (200 if admin else 403)
        assert browser.get("/log", status="*").status_int == (200 if role == "auditor" else 403)


def root_registry(browser):
    return browser.app.registry.archive_schemas


def test_unmasked_view_is_logged(browser, store):
    browser.login("archivist")
    no = _create_household(browser).html.select_one("#archive-no").text
    page = browser.get(f"/households/{no}?reveal=1")
    assert "3204021980050601" in page.text
    with store() as root:
        assert [e.target for e in root.log.newest(5, "personal.unmask")] == [no]
    browser.login("auditor")
    page = browser.get(f"/households/{no}?reveal=1")
    assert "3204021980050601" not in page.text


def test_english_interface(browser):
    browser.login("archivist")
    browser.get("/locale/en", headers={"Referer": "http://localhost/"})
    page = browser.get("/")
    assert "Home" in page.text and "Household dossiers" in page.text


def test_pages_refuse_framing_and_sniffing(browser):
    response = browser.get("/login")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
