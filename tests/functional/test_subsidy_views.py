"""Rent subsidies through the JSON API and the pages: apply, grant, pay with a voucher, the
worklist, refusals on the record, the dossier page and the statistics report."""
from __future__ import annotations

import pytest

import walk
from conftest import doc_fields, make_pdf
from test_procedure import Client


@pytest.fixture
def client(app, users):
    return Client(app, users)


def registered(app, store):
    with store() as root:
        proc, registry = app.registry.archive_procedure, app.registry.archive_schemas
        household = walk.new_household(proc, root, name="孙丽", seq=61)
        walk.to_registered(proc, root, registry, household)
        return household.archive_no


def upload(client, no, doc_type):
    return client.app.post(f"/api/households/{no}/documents", doc_fields(doc_type=doc_type),
                           headers=client._h("archivist"), status=201,
                           upload_files=[("file", f"{doc_type}.pdf", make_pdf(doc_type), "application/pdf")]).json


def test_subsidy_through_the_api(client, app, store, browser):
    no = registered(app, store)
    steps = {t["name"]: t for t in client.get(f"/api/households/{no}/transitions")["transitions"]}
    assert "apply_subsidy" in steps and {i["name"] for i in steps["apply_subsidy"]["inputs"]} >= {"rent_paid", "tier"}
    refused = client.step(no, "apply_subsidy", role="archivist", status=422, inputs={"rent_paid": 800})
    assert "租赁补贴申请表" in refused["problems"][0]
    for code in ("subsidy_application", "market_lease"):
        upload(client, no, code)
    assert client.step(no, "apply_subsidy", role="archivist", status=422,
                       inputs={"rent_paid": "many"})["problems"] == ["实际承担月租金（元）：格式不正确"]
    body = client.step(no, "apply_subsidy", role="archivist", inputs={"rent_paid": 800})
    assert body["state"]["code"] == "subsidy_review" and body["state"]["due"]
    assert body["subsidy"]["state"] == "applied" and body["subsidy"]["tier"] == "lowest"
    worklist = client.get("/api/worklist")
    assert any(i["archive_no"] == no and i["state"] == "subsidy_review" for i in worklist["items"])
    body = client.step(no, "grant_subsidy")
    grant = body["subsidy"]
    assert grant["state"] == "current" and grant["monthly"] == 800 and grant["standard"] == 900
    assert grant["period"] == "quarter" and grant["start"].endswith("-01")
    doc = upload(client, no, "subsidy_payment")["doc_id"]
    body = client.step(no, "pay_subsidy", role="archivist",
                       inputs={"period": grant["start"], "amount": 2400, "document": doc})
    assert body["subsidy"]["months_paid"] == 3 and body["subsidy"]["payments"][0]["document"] == doc
    refused = client.step(no, "apply_subsidy", role="archivist", status=422, inputs={"rent_paid": 800})
    assert any("同一户不能同时享受两份补贴" in p for p in refused["problems"])
    history = client.app.get(f"/households/{no}/history", headers=client._h("inspector"))
    assert "申请租赁补贴" in history.text and "同一户不能同时享受两份补贴" in history.text
    events = client.app.get(f"/api/households/{no}/history", {"kind": "subsidy"},
                            headers=client._h("inspector")).json
    titles = [e["title"] for e in events["events"]]
    assert {"申请租赁补贴", "核定发放租赁补贴", "登记补贴发放"} <= set(titles)
    page = client.app.get(f"/households/{no}", headers=client._h("reviewer"))
    assert "subsidies" in page.text and "最低收入家庭租金补贴" in page.text
    fresh = upload(client, no, "subsidy_payment")["doc_id"]
    form = client.app.get(f"/households/{no}/transitions/pay_subsidy", headers=client._h("archivist"))
    assert "发放凭证文件号" in form.text
    options = [o["value"] for o in form.html.select("#input-document option")]
    assert options == ["", fresh]          # the voucher already used is not offered again
    browser.login("archivist")
    form = browser.get(f"/households/{no}/transitions/pay_subsidy").forms["transition-form"]
    form["period"], form["amount"], form["document"] = grant["start"], "2400", fresh
    answer = form.submit(status=422)                  # the HTML form's inputs reach the step
    assert "已登记发放" in answer.html.select_one("#refusal").text
    from archive.search.index import drain
    with store() as root:
        drain(root, app.registry.archive_schemas, app.registry.archive_search)
    found = client.app.get("/api/search", {"q": "孙丽", "form": "subsidy"}, headers=client._h("reviewer")).json
    assert [h["archive_no"] for h in found["hits"] if h["kind"] == "household"] == [no]
    assert {"value": "subsidy", "title": "租赁补贴"}.items() <= found["facets"]["form"][0].items()


def test_statistics_count_both_forms(client, app, store):
    no = registered(app, store)
    for code in ("subsidy_application", "market_lease"):
        upload(client, no, code)
    client.step(no, "apply_subsidy", role="archivist", inputs={"rent_paid": 800})
    client.step(no, "grant_subsidy")
    import datetime as dt
    year = dt.date.today().year
    body = client.app.get(f"/statistics/report.csv?year={year}", headers=client._h("auditor")).body.decode("utf-8-sig")
    assert "保障方式" in body and "租赁补贴" in body
