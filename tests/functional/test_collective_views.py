"""Collective applications by employers through the app (issue 16, item 9): a batch plan
published, applied for, reviewed, publicised, proposed, a method announced with its seed's
commitment and decided once — JSON API, pages, the OpenAPI document."""
import datetime as dt
import hashlib

import pytest

from archive.records import filing
from archive.workflow.collective import steps
from conftest import household_input, make_pdf, unit_input

SEED = "xm-collective-functional-1"
UTC = dt.timezone.utc


def code(first17):
    return first17 + steps.credit_check_char(first17)


EMPLOYERS = [{"credit_code": code("91350200MA2YYYY0" + c), "name": n, "type": t}
             for c, n, t in (("1", "厦门软件园管委会", "park"), ("2", "厦门市第一医院", "employer"))]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def city(store, app):
    """3 units and 5 member households with their contracts, made on 1 March 2026."""
    when = dt.datetime(2026, 3, 1, 2, tzinfo=UTC)
    registry = app.registry.archive_schemas
    with store() as root:
        units = [filing.create_dossier(root, registry, "unit", unit_input(
            jurisdiction="xiamen", district="集美区", address=f"厦门市集美区园博路{i}号", unit_no=f"20{i}"),
            "archivist", when=when).archive_no for i in range(3)]
        households = []
        for i in range(5):
            h = filing.create_dossier(root, registry, "household", household_input(
                name=f"员工{i}", seq=40 + 2 * i, jurisdiction="xiamen", hukou_district="集美区",
                district="集美区", address="厦门市集美区园博路1号"), "archivist", when=when)
            filing.file_document(h, registry, {"doc_type": "employment_contract", "title": "劳动合同",
                                               "date": "2026-01-05", "issuer": "单位"},
                                 make_pdf("劳动合同"), "c.pdf", "archivist", when=when)
            households.append(h.archive_no)
    return {"units": units, "households": households}


def test_a_batch_walked_through_the_api(app, users, city, store, monkeypatch):
    import webtest
    client = webtest.TestApp(app)
    clock = {"now": dt.datetime(2026, 3, 2, 2, tzinfo=UTC)}
    monkeypatch.setattr(filing, "now", lambda: clock["now"])
    reviewer, archivist = auth(users["reviewer"]), auth(users["archivist"])
    answer = client.post_json("/api/batches", {
        "jurisdiction": "xiamen", "title": "2026年第一批人才公租房", "units": city["units"],
        "employers": EMPLOYERS, "opens_on": "2026-03-02", "closes_on": "2026-03-13",
        "plan": {"rent_discount": "市场租金的70%"}}, headers=archivist, status=201)
    batch_id = answer.json["batch_id"]
    steps_url = f"/api/batches/{batch_id}/steps"
    bad = client.post_json(steps_url, {"step": "apply", "credit_code": "123", "members": city["households"][:1]},
                           headers=archivist, status=422)
    assert "统一社会信用代码" in bad.json["error"]
    nos = []
    for e, members in zip(EMPLOYERS, (city["households"][:3], city["households"][3:])):
        out = client.post_json(steps_url, {"step": "apply", "credit_code": e["credit_code"], "members": members},
                               headers=archivist).json
        nos.append(out["employer"]["archive_no"])
        for doc_type in ("collective_application", "staff_roster", "employer_license", "employer_pledge"):
            client.post(f"/api/employers/{out['employer']['archive_no']}/documents",
                        {"doc_type": doc_type, "title": doc_type},
                        upload_files=[("file", f"{doc_type}.pdf", make_pdf(doc_type))], headers=archivist, status=201)
    # the review is refused before the batch closes; closing before its day too
    assert client.post_json(steps_url, {"step": "review", "employer": nos[0], "approved": []},
                            headers=reviewer, status=409).json["status"] == 409
    assert "尚未截止" in client.post_json(steps_url, {"step": "close"}, headers=reviewer, status=409).json["error"]
    clock["now"] = dt.datetime(2026, 3, 16, 2, tzinfo=UTC)
    assert client.post_json(steps_url, {"step": "close"}, headers=reviewer).json["review_due"] == "2026-03-27"
    for no in nos:
        members = client.get(f"/api/employers/{no}", headers=reviewer).json["members"]
        client.post_json(steps_url, {"step": "review", "employer": no, "approved": members}, headers=reviewer)
    clock["now"] = dt.datetime(2026, 3, 23, 2, tzinfo=UTC)
    client.post_json(steps_url, {"step": "publicity"}, headers=reviewer)
    clock["now"] = dt.datetime(2026, 3, 30, 2, tzinfo=UTC)
    client.post_json(steps_url, {"step": "propose", "proposal": {nos[0]: 2, nos[1]: 1}}, headers=reviewer)
    commitment = hashlib.sha256(SEED.encode()).hexdigest()
    # announcing a method takes the lottery permission (an archivist has none)
    client.post_json(steps_url, {"step": "announce", "method": "order", "reason": "未达成一致",
                                 "draw_on": "2026-04-01", "commitment": commitment}, headers=archivist, status=403)
    client.post_json(steps_url, {"step": "announce", "method": "order", "reason": "医院要求3套",
                                 "draw_on": "2026-04-01", "commitment": commitment}, headers=reviewer)
    wrong = client.post_json(steps_url, {"step": "decide", "seed": "wrong-seed-123"}, headers=reviewer, status=409)
    assert "未到预告的日期" in wrong.json["error"]
    clock["now"] = dt.datetime(2026, 4, 1, 2, tzinfo=UTC)
    assert "承诺值不符" in client.post_json(steps_url, {"step": "decide", "seed": "wrong-seed-123"},
                                          headers=reviewer, status=422).json["error"]
    decided = client.post_json(steps_url, {"step": "decide", "seed": SEED}, headers=reviewer).json
    assert decided["state"] == "decided" and decided["decision"]["verified"] is True
    assert sum(decided["decision"]["result"].values()) == 3
    client.post_json(steps_url, {"step": "decide", "seed": SEED}, headers=reviewer, status=409)
    employer = client.get(f"/api/employers/{nos[0]}", headers=reviewer).json
    assert any(d["doc_type"] == "quota_decision" for d in employer["documents"])
    assert employer["quota"] == decided["decision"]["result"][nos[0]]
    history = client.get(f"/api/households/{city['households'][0]}/versions", headers=reviewer).json
    assert any(v.get("action") == "collective" for v in history["items"])
    # pages
    client.get("/login")
    browser = webtest.TestApp(app)
    form = browser.get("/login").forms[0]
    form["login"], form["password"] = "reviewer", "secret-pass-1"
    form.submit()
    page = browser.get(f"/batches/{batch_id}")
    assert "复算一致" in page.text and SEED in page.text
    assert batch_id in browser.get("/batches").text
    assert "房源租赁数量确定结果" in browser.get(f"/employers/{nos[0]}").text


def test_the_openapi_document_describes_the_batch_routes(app):
    import webtest
    doc = webtest.TestApp(app).get("/api/openapi.json").json
    for path in ("/api/batches", "/api/batches/{batch_id}", "/api/batches/{batch_id}/steps",
                 "/api/employers/{no}", "/api/employers/{no}/documents"):
        assert path in doc["paths"], path
    assert "Batch" in doc["components"]["schemas"]


def test_bad_input_is_a_4xx_and_changes_nothing(app, users, city):
    import webtest
    client = webtest.TestApp(app)
    headers = auth(users["reviewer"])
    assert client.post_json("/api/batches", {"jurisdiction": "changzhou", "title": "x", "units": city["units"],
                                             "employers": EMPLOYERS, "opens_on": "2026-03-02",
                                             "closes_on": "2026-03-13"}, headers=headers, status=422).json["status"] == 422
    for body in ({"jurisdiction": ["xiamen"]}, {"jurisdiction": "xiamen", "title": 5},
                 {"jurisdiction": "xiamen", "title": "t", "units": "XM", "employers": EMPLOYERS,
                  "opens_on": "2026-03-02", "closes_on": "2026-03-13"},
                 {"jurisdiction": "xiamen", "title": "t", "units": city["units"], "employers": [{"credit_code": 1}],
                  "opens_on": "2026-03-02", "closes_on": "2026-03-13"},
                 {"jurisdiction": "xiamen", "title": "t", "units": city["units"], "employers": EMPLOYERS,
                  "opens_on": "2026-02-30", "closes_on": "2026-03-13"}):
        client.post_json("/api/batches", body, headers=headers, status=422)
    assert client.get("/api/batches", headers=headers).json["total"] == 0
    batch = client.post_json("/api/batches", {
        "jurisdiction": "xiamen", "title": "t", "units": city["units"], "employers": EMPLOYERS,
        "opens_on": "2026-03-02", "closes_on": "2026-03-13"}, headers=headers, status=201).json["batch_id"]
    url = f"/api/batches/{batch}/steps"
    for body in ({"step": ["close"]}, {"step": "nothing"}, {"step": "review", "employer": ["x"]},
                 {"step": "report", "employer": {"a": 1}}, {"step": "propose", "proposal": [1]},
                 {"step": "apply", "credit_code": EMPLOYERS[0]["credit_code"], "members": [1]}):
        answer = client.post_json(url, body, headers=headers, expect_errors=True)
        assert answer.status_int in (404, 409, 422), (body, answer.status)
    client.get("/api/batches/nope", headers=headers, status=404)
    client.get("/api/employers/nope", headers=headers, status=404)
    assert client.get(f"/api/batches/{batch}", headers=headers).json["applications"] == 0


def test_the_batch_page_takes_the_close_step_through_its_form(app, users, city, browser, monkeypatch):
    clock = {"now": dt.datetime(2026, 3, 2, 2, tzinfo=UTC)}
    monkeypatch.setattr(filing, "now", lambda: clock["now"])
    headers = auth(users["reviewer"])
    batch = browser.post_json("/api/batches", {
        "jurisdiction": "xiamen", "title": "表单批次", "units": city["units"], "employers": EMPLOYERS,
        "opens_on": "2026-03-02", "closes_on": "2026-03-13"}, headers=headers, status=201).json["batch_id"]
    browser.post_json(f"/api/batches/{batch}/steps", {"step": "apply", "credit_code": EMPLOYERS[1]["credit_code"],
                                                      "members": city["households"][:2]}, headers=headers)
    browser.reset()
    browser.login("reviewer")
    page = browser.get(f"/batches/{batch}")
    form = next(f for f in page.forms.values() if "step" in f.fields and f.action.endswith("/step"))
    answer = form.submit("step", value="close", status=409)        # still within the period
    assert "尚未截止" in answer.text
    clock["now"] = dt.datetime(2026, 3, 16, 2, tzinfo=UTC)
    page = browser.get(f"/batches/{batch}")
    form = next(f for f in page.forms.values() if f.action.endswith("/step"))
    page = form.submit("step", value="close").follow()
    assert "2026-03-27" in page.text and "审核中" in page.text
    employer = browser.get(f"/batches/{batch}").html.select("#employers a")[0].text
    assert "审核" in browser.get(f"/employers/{employer}").text
