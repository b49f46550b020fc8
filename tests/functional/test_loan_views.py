"""Controlled use (利用/借阅) through the WSGI app: the borrower's and the lender's pages and
the /api/loans API, grants checked by the security policy, watermarked copies, and every
refusal a clear 4xx with a Chinese message that changes nothing."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
import webtest
from pypdf import PdfReader

from conftest import PASSWORD, doc_fields, household_input, make_pdf


@pytest.fixture
def world(app, users, store):
    """Two borrowers (a court, an inspection office), a lender who also borrows, and a
    household with two current documents and a withdrawn one; returns names and tokens."""
    api = webtest.TestApp(app)
    staff = {"Authorization": f"Bearer {users['archivist']}"}
    no = api.post_json("/api/households", household_input(), headers=staff).json["archive_no"]
    other = api.post_json("/api/households", household_input("李四", seq=31), headers=staff).json["archive_no"]
    for title in ("申请表", "收入证明", "误传文件"):
        api.post(f"/api/households/{no}/documents", params=doc_fields(title=title),
                 upload_files=[("file", "a.pdf", make_pdf(title, pages=2))], headers=staff, status=201)
    api.post_json(f"/api/households/{no}/documents/D0003/withdraw", {"reason": "误归档"}, headers=staff)
    tokens = dict(users)
    with store() as root:
        hasher = app.registry.archive_hasher
        root.users.add("court", "某区人民法院", ["borrower"], PASSWORD, hasher)
        root.users.add("inspect1", "稽查办", ["borrower"], PASSWORD, hasher)
        root.users.add("both", "兼任档案员", ["archivist", "borrower"], PASSWORD, hasher)
        for login in ("court", "inspect1", "both"):
            tokens[login] = root.users.issue_token(login)
    return {"no": no, "other": other, "tokens": tokens, "api": api}


def auth(world, login):
    return {"Authorization": f"Bearer {world['tokens'][login]}"}


def future(days=10):
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def request_loan(world, login="court", status=201, **body):
    data = {"items": [f"{world['no']}/D0001"], "purpose": "judicial", "form": "copy",
            "end": future(), "note": "（2026）苏0402民初123号"}
    data.update(body)
    return world["api"].post_json("/api/loans", data, headers=auth(world, login), status=status)


def seal(store):
    with store() as root:
        root.loans.seal()


def loan_count(store):
    with store() as root:
        return len(root.loans)


# -- a borrower sees nothing else ----------------------------------------------------------------
def test_a_borrower_sees_nothing_of_the_archive_but_their_own_loans(world, browser):
    api = world["api"]
    assert api.get("/api/households", headers=auth(world, "court"), status=403).json["error"]
    api.get(f"/api/households/{world['no']}/documents/D0001/content", headers=auth(world, "court"), status=403)
    page = browser.login("court")      # a borrower lands on his loans (views/auth.py LANDINGS)
    assert page.status_int == 200 and page.request.path.endswith("/loans")
    assert "我的借阅单" in page.text and "nav-search" not in page.text and "一户一档" not in page.text
    browser.get(f"/households/{world['no']}", status=403)
    browser.get(f"/households/{world['no']}/documents/D0001/files/1", status=403)


def test_borrowers_list_their_own_loans_and_lenders_every_loan(world, store):
    mine = request_loan(world, "court").json["id"]
    theirs = request_loan(world, "inspect1", purpose="inspection").json["id"]
    api = world["api"]
    assert [i["id"] for i in api.get("/api/loans", headers=auth(world, "court")).json["items"]] == [mine]
    assert {i["id"] for i in api.get("/api/loans", headers=auth(world, "archivist")).json["items"]} == {mine, theirs}
    body = api.get(f"/api/loans/{theirs}", headers=auth(world, "court"), status=403).json
    assert body == {"error": "您的角色无权执行此操作", "status": 403}
    api.get("/api/loans", headers=auth(world, "reviewer"), status=403)
    api.get("/api/loans/JY-2099-00001", headers=auth(world, "archivist"), status=404)
    api.get("/api/loans?status=nonsense", headers=auth(world, "archivist"), status=422)
    seal(store)
    shown = api.get(f"/api/loans/{mine}", headers=auth(world, "court")).json
    assert re.fullmatch(r"JY-\d{4}-0000[12]", shown["number"])
    assert api.get(f"/api/loans/{shown['number']}", headers=auth(world, "archivist")).json["id"] == mine


# -- requests: the form and its refusals -----------------------------------------------------------
def test_the_request_form_files_a_request_and_a_forged_one_changes_nothing(world, browser, store):
    browser.login("court")
    form = browser.get("/loans/new").forms["loan-form"]
    form["items"] = f"{world['no']}\n{world['other']}/D9999"
    form["end"] = future()
    refused = form.submit(status=400)
    assert "档案 " in refused.text and "没有文件 D9999" in refused.text
    form = refused.forms["loan-form"]
    form["items"] = world["no"]
    form["purpose"] = "discipline"
    page = form.submit().follow()
    assert "待审批" in page.text and "纪检监察" in page.text
    assert loan_count(store) == 1
    forged = browser.post("/loans/new", {"items": world["no"], "purpose": "judicial", "form": "read",
                                         "end": future()}, status=400)
    assert "CSRF" in forged.text
    assert loan_count(store) == 1


@pytest.mark.parametrize("body, message", [
    ({"items": ["CZ-HH-1999-Y-99999"]}, "档案 CZ-HH-1999-Y-99999 不存在"),
    ({"items": ["{no}/D0042"]}, "没有文件 D0042"),
    ({"items": ["{no}/D0003"]}, "已撤出，不能借阅"),
    ({"end": "2020-01-01"}, "已过"),
    ({"end": "明天"}, "有效的日期"),
    ({"purpose": "curiosity"}, "利用目的"),
    ({"form": "lend"}, "整份档案"),
    ({"purpose": "other", "note": ""}, "写明目的"),
    ({"items": []}, "至少"),
    ({"unmasked": "yes"}, "true 或 false"),
])
def test_requests_that_cannot_be_kept_are_refused_with_the_reason(world, store, body, message):
    body = {k: ([i.format(no=world["no"]) for i in v] if k == "items" else v) for k, v in body.items()}
    answer = request_loan(world, status=400, **body).json
    assert answer["status"] == 400 and message in answer["error"]
    assert loan_count(store) == 0


def test_only_a_borrower_requests_and_only_a_lender_decides(world, store):
    api = world["api"]
    request_loan(world, "reviewer", status=403)
    loan = request_loan(world).json["id"]
    api.post_json(f"/api/loans/{loan}/approve", {}, headers=auth(world, "court"), status=403)
    api.post_json(f"/api/loans/{loan}/approve", {}, headers=auth(world, "inspect1"), status=403)
    with store() as root:
        assert root.loans.get(loan).state == "requested"


# -- decisions -------------------------------------------------------------------------------------
def test_approving_ones_own_request_twice_or_refusing_without_reason_is_refused(world, store):
    api = world["api"]
    own = request_loan(world, "both").json["id"]
    body = api.post_json(f"/api/loans/{own}/approve", {}, headers=auth(world, "both"), status=403).json
    assert body["error"] == "不能审批自己提出的利用申请"
    loan = request_loan(world).json["id"]
    assert api.post_json(f"/api/loans/{loan}/refuse", {"reason": " "}, headers=auth(world, "archivist"),
                         status=400).json["error"] == "不予利用须说明理由"
    done = api.post_json(f"/api/loans/{loan}/approve", {"comment": "同意"}, headers=auth(world, "archivist")).json
    assert (done["state"], done["decided_by"], done["decision"]) == ("approved", "archivist", "同意")
    again = api.post_json(f"/api/loans/{loan}/approve", {}, headers=auth(world, "both"), status=409).json
    assert "已经审批" in again["error"]
    api.post_json(f"/api/loans/{loan}/refuse", {"reason": "不符"}, headers=auth(world, "both"), status=409)
    third = request_loan(world).json["id"]
    refused = api.post_json(f"/api/loans/{third}/refuse", {"reason": "与案件无关"},
                            headers=auth(world, "archivist")).json
    assert refused["status"] == "refused" and refused["decision"] == "与案件无关"
    with store() as root:
        assert root.loans.get(own).state == "requested"
        log = [(e.action, e.target) for e in root.log.newest(50) if e.action.startswith("loan.")]
    assert ("loan.approve", world["no"]) in log and ("loan.refuse", world["no"]) in log


def test_the_lender_decides_on_the_page_with_csrf(world, browser, store):
    loan = request_loan(world).json["id"]
    browser.login("archivist")
    assert loan in browser.get("/").text or "待审批 1 件" in browser.get("/").text
    page = browser.get(f"/loans/{loan}")
    browser.post(f"/loans/{loan}/approve", {"comment": "x"}, status=400)       # forged: no token
    with store() as root:
        assert root.loans.get(loan).state == "requested"
    page = page.forms["approve-form"].submit().follow()
    assert "已批准" in page.text


# -- use under a grant -----------------------------------------------------------------------------
def grant(world, **body):
    loan = request_loan(world, **body).json["id"]
    world["api"].post_json(f"/api/loans/{loan}/approve", {}, headers=auth(world, "archivist"))
    return loan


def test_a_grant_gives_watermarked_copies_of_exactly_its_documents_until_it_ends(world, browser, store):
    loan = grant(world)
    seal(store)
    with store() as root:
        revision = root.households[world["no"]].document("D0001").current_file
        original = hashlib.sha256(revision.read()).hexdigest()
        number = root.loans[loan].number
    browser.login("court")
    shown = world["api"].get(f"/api/loans/{loan}", headers=auth(world, "court")).json
    link = shown["items"][0]["href"]
    assert link.endswith(f"/loans/{loan}/files/households/{world['no']}/D0001")
    copy = browser.get(link + "?download=1")
    assert copy.content_type == "application/pdf" and "attachment" in copy.headers["Content-Disposition"]
    assert hashlib.sha256(copy.body).hexdigest() != original
    for page in PdfReader(io.BytesIO(copy.body)).pages:
        text = page.extract_text()
        assert number in text and "某区人民法院（court）" in text and "申请表" in text
    with store() as root:
        assert hashlib.sha256(revision.read()).hexdigest() == original == revision.sha256
        uses = [u.action for u in root.loans[loan].history()]
        log = [e for e in root.log.newest(20) if e.action == "loan.download"]
    assert uses == ["request", "approve", "download"]
    assert log and log[0].target.startswith(f"{world['no']}/D0001") and number in log[0].detail
    # another document of the dossier, another dossier, another borrower: 403
    browser.get(f"/loans/{loan}/files/households/{world['no']}/D0002", status=403)
    browser.get(f"/loans/{loan}/dossiers/households/{world['other']}", status=403)
    browser.login("inspect1")
    assert "无权" in browser.get(link, status=403).text
    # the grant ends: the same link that worked is refused
    browser.login("court")
    with store() as root:
        root.loans[loan].end = dt.date.today() - dt.timedelta(days=2)
    assert browser.get(link, status=403).status_int == 403
    assert world["api"].get(f"/api/loans/{loan}", headers=auth(world, "court")).json["status"] == "expired"


def test_requests_not_yet_approved_or_refused_open_nothing(world, browser, store):
    waiting = request_loan(world).json["id"]
    refused = request_loan(world).json["id"]
    world["api"].post_json(f"/api/loans/{refused}/refuse", {"reason": "无"}, headers=auth(world, "archivist"))
    browser.login("court")
    for loan in (waiting, refused):
        browser.get(f"/loans/{loan}/files/households/{world['no']}/D0001", status=403)
    browser.get(f"/loans/{waiting}/files/households/{world['no']}/D0099", status=404)


def test_personal_data_is_masked_unless_the_grant_says_otherwise_and_then_logged(world, browser, store):
    masked = grant(world, items=[world["no"]])
    unmasked = grant(world, items=[world["no"]], unmasked=True)
    with store() as root:
        id_number = root.households[world["no"]].metadata["applicant"]["id_number"]
    browser.login("court")
    page = browser.get(f"/loans/{masked}/dossiers/households/{world['no']}")
    from archive.schema.idnumber import mask
    assert id_number not in page.text and mask(id_number) in page.text and "个人信息已脱敏" in page.text
    assert "D0001" in page.text and "D0003" not in page.text
    with store() as root:
        assert not [e for e in root.log.newest(50) if e.action == "personal.unmask"]
    for _ in range(2):
        page = browser.get(f"/loans/{unmasked}/dossiers/households/{world['no']}")
        assert id_number in page.text
    with store() as root:
        logged = [e for e in root.log.newest(50) if e.action == "personal.unmask"]
        assert len(logged) == 2 and logged[0].actor == "court" and logged[0].target == world["no"]
        assert [u.action for u in root.loans[unmasked].history()] == ["request", "approve", "view", "view"]


# -- paper loans ---------------------------------------------------------------------------------
def test_paper_loans_are_lent_returned_and_overdue_ones_are_on_the_lenders_home(world, browser, store):
    api = world["api"]
    loan = grant(world, items=[world["no"]], form="lend")
    staff = auth(world, "archivist")
    assert api.post_json(f"/api/loans/{loan}/return", {}, headers=staff, status=409).json["error"].endswith("未借出，不能归还")
    lent = api.post_json(f"/api/loans/{loan}/lend", {}, headers=staff).json
    assert lent["status"] == "lent" and lent["lent_by"] == "archivist"
    browser.login("archivist")
    assert "loan-overdue" not in browser.get("/").text
    with store() as root:
        root.loans[loan].end = dt.date.today() - dt.timedelta(days=3)
    home = browser.get("/")
    assert "催还" in home.text and "loan-overdue" in home.text
    assert api.get("/api/loans?status=overdue", headers=staff).json["total"] == 1
    page = browser.get(f"/loans/{loan}")
    page.forms["return-form"].submit().follow()   # 归还, with the page's CSRF token
    with store() as root:
        assert root.loans[loan].returned_by == "archivist"
        assert root.loans.overdue(dt.date.today()) == []
    api.post_json(f"/api/loans/{loan}/return", {}, headers=staff, status=409)
    api.post_json(f"/api/loans/{loan}/lend", {}, headers=staff, status=409)


def test_every_use_is_in_the_dossiers_case_history(world, browser, store):
    loan = grant(world)
    seal(store)
    browser.login("court")
    browser.get(f"/loans/{loan}/files/households/{world['no']}/D0001")
    browser.login("archivist")
    page = browser.get(f"/households/{world['no']}/history")
    for title in ("申请利用", "批准利用", "按借阅单查阅"):
        assert title in page.text
    history = world["api"].get(f"/api/households/{world['no']}/history", headers=auth(world, "archivist")).json
    assert "JY-" in str(history)


def test_the_api_is_in_the_openapi_document(world):
    doc = world["api"].get("/api/openapi.json").json
    for path in ("/api/loans", "/api/loans/{loan_id}", "/api/loans/{loan_id}/approve",
                 "/api/loans/{loan_id}/refuse", "/api/loans/{loan_id}/lend", "/api/loans/{loan_id}/return"):
        assert path in doc["paths"], path
    assert doc["paths"]["/api/loans"]["post"]["x-permission"] == "borrow"
    assert doc["paths"]["/api/loans/{loan_id}/approve"]["post"]["x-permission"] == "lend"
    purposes = doc["components"]["schemas"]["LoanInput"]["properties"]["purpose"]["enum"]
    assert purposes == ["review", "inspection", "discipline", "judicial", "research", "other"]


def test_english_pages(world, browser):
    browser.login("court")
    browser.get("/locale/en")
    assert "Request use" in browser.get("/loans").text


def test_two_borrowers_filing_at_the_same_moment_both_commit_without_a_retry(world, app, store):
    """Requests for different dossiers by different borrowers, released together by a
    barrier: every one is kept, none conflicted (no retry), none answered 409."""
    import threading

    from pyramid_retry import IBeforeRetry
    retries, statuses, errors = [], [], []
    app.registry.registerHandler(lambda event: retries.append(event.request.path), (IBeforeRetry,))
    barrier, rounds = threading.Barrier(2), 6

    def borrower(login, no):
        own = webtest.TestApp(app)
        for _ in range(rounds):
            barrier.wait()
            try:
                statuses.append(own.post_json("/api/loans", {
                    "items": [no], "purpose": "inspection", "form": "read", "end": future()},
                    headers=auth(world, login), status="*").status_int)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=borrower, args=args)
               for args in (("court", world["no"]), ("inspect1", world["other"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and statuses == [201] * (2 * rounds)
    assert retries == []
    assert loan_count(store) == 2 * rounds
    seal(store)
    with store() as root:
        numbers = sorted(loan.number for loan in root.loans.values())
    assert numbers == sorted({n for n in numbers}) and len(numbers) == 2 * rounds
