"""The credit record (诚信档案) through the WSGI app: recording an event from a household's
page, the ban it sets off stopping the application, the list, and the JSON API."""
from __future__ import annotations

import datetime as dt

import pytest

import walk
from archive.records import filing
from archive.schema import idnumber
from archive.workflow.credit import Ban
from archive.workflow.workdays import add_months

# The day of the finding: shortly before today, so the 2-year ban is active whenever this runs.
DAY = (filing.now().date() - dt.timedelta(days=10))
LAST = (add_months(DAY, 24) - dt.timedelta(days=1)).isoformat()
DAY = DAY.isoformat()


@pytest.fixture
def city(app, store, users):
    """A Changzhou application (常州: declining an allocation bars for 2 years) with its
    application set filed, so only a ban can stop its acceptance; and a Qujing one (no bans)."""
    with store() as root:
        procedure, registry = app.registry.archive_procedure, app.registry.archive_schemas
        household = walk.new_household(procedure, root)
        walk.file(registry, household, *walk.stage_docs(procedure, household, "accept"))
        spouse = household.metadata["members"][0]
        other = walk.new_household(procedure, root, name="赵六", seq=41, jurisdiction="qujing",
                                   hukou_district="麒麟区", district="麒麟区", address="曲靖市麒麟区南宁西路1号")
        return {"no": household.archive_no, "applicant": household.metadata["applicant"],
                "spouse": spouse, "other": other.archive_no}


def events(store):
    with store() as root:
        return root.credit.events()


def record_form(browser, no):
    return browser.get(f"/households/{no}/credit/new").forms["credit-form"]


def test_recorded_event_bans_the_person_and_the_acceptance_is_refused(browser, city, store):
    browser.login("reviewer")
    page = browser.get(f"/households/{city['no']}")
    assert page.html.select_one("#ban-warning") is None
    form = browser.get(page.html.select_one("#credit-new-link")["href"]).forms["credit-form"]
    assert "李梅" in form.html.select_one("#person").text
    assert city["spouse"]["id_number"] not in form.text          # masked in the choice
    form["person"] = "1"
    form["kind"] = "decline"
    form["day"] = DAY
    form["description"] = "无正当理由放弃第二批次配租"
    form["evidence"] = "D0001"
    shown = form.submit().follow()
    assert f"限制申请至 {LAST}" in shown.text
    box = shown.html.select_one("#credit")
    assert "alert-danger" in box["class"] and shown.html.select_one("#ban-warning") is not None
    person = box.select_one('.credit-person[data-banned="1"]')
    assert person.select_one(".person-name").text == "李梅"
    assert person.select_one(".person-id").text == idnumber.mask(city["spouse"]["id_number"])
    assert person.select_one(".ban-end").text == LAST
    assert "无正当理由放弃配租" in person.text and person.select_one(".ban-dossier").text == city["no"]
    assert "无正当理由放弃第二批次配租" in person.select_one(".credit-event").text

    [event] = events(store)
    assert (event.name, event.kind, event.evidence, event.recorded_by) == ("李梅", "decline", "D0001", "reviewer")
    with store() as root:
        entry = next(e for e in root.log.newest(50) if e.action == "credit.record")
        assert entry.target == city["no"] and entry.actor == "reviewer"
        assert city["spouse"]["id_number"] not in entry.detail

    step = browser.get(f"/households/{city['no']}/transitions/accept")
    step.forms["transition-form"]["comment"] = "受理"
    refused = step.forms["transition-form"].submit(status=422)
    assert f"李梅因“无正当理由放弃配租”被限制申请，至 {LAST} 止" in refused.text
    with store() as root:
        assert root.households[city["no"]].state == "applied"


def test_a_city_without_a_ban_records_the_event_only(browser, city, store):
    browser.login("archivist")
    form = record_form(browser, city["other"])
    form["person"], form["kind"], form["description"] = "0", "fraud", "隐瞒名下房产"
    shown = form.submit().follow()
    assert "所在辖区未规定限制申请年限" in shown.text
    assert shown.html.select_one("#ban-warning") is None
    [event] = events(store)
    assert event.ban_until is None


@pytest.mark.parametrize("change, message", [
    ({"person": ""}, "请选择档案中的申请人或共同申请人"),
    ({"person": "7"}, "请选择档案中的申请人或共同申请人"),
    ({"day": "2026-02-30"}, "不是有效的日期"),
    ({"day": ""}, "请填写认定日期"),
    ({"day": "2999-01-01"}, "认定日期不能晚于今天"),
    ({"description": "  "}, "请写明失信行为的具体情况"),
    ({"kind": "nope"}, "失信行为类别：没有“nope”"),
    ({"evidence": "D0999"}, "证据文件 D0999 不在档案"),
])
def test_bad_input_rerenders_the_form_with_400_and_stores_nothing(browser, city, store, change, message):
    browser.login("reviewer")
    form = record_form(browser, city["no"])
    values = {"csrf_token": form["csrf_token"].value, "person": "0", "kind": "fraud",
              "day": DAY, "description": "提供虚假收入证明", "evidence": "", **change}
    refused = browser.post(f"/households/{city['no']}/credit/new", values, status=400)
    assert message in refused.html.select_one("#credit-error").text
    assert refused.forms["credit-form"]["description"].value == values["description"]
    assert events(store) == []
    with store() as root:
        assert not [e for e in root.log.newest(50) if e.action == "credit.record"]


def test_permissions_and_csrf(browser, city, store):
    browser.login("inspector")
    page = browser.get(f"/households/{city['no']}")
    assert page.html.select_one("#credit-new-link") is None
    browser.get(f"/households/{city['no']}/credit/new", status=403)
    browser.login("auditor")
    browser.get(f"/households/{city['no']}/credit/new", status=403)
    browser.login("reviewer")
    browser.post(f"/households/{city['no']}/credit/new", {"person": "0", "kind": "fraud", "day": DAY,
                                                         "description": "x"}, status=400)
    browser.get("/households/NOPE/credit/new", status=404)
    assert events(store) == []


def test_credit_list_masks_searches_and_filters(browser, city, store):
    spouse, applicant = city["spouse"]["id_number"], city["applicant"]["id_number"]
    with store() as root:
        root.credit.record_ban(Ban(applicant, "fraud", dt.date(2015, 1, 1), dt.date(2020, 1, 1),
                                   recorded_by="reviewer", dossier=city["no"]))
    browser.login("reviewer")
    form = record_form(browser, city["no"])
    form["person"], form["kind"], form["day"], form["description"] = "1", "decline", DAY, "放弃配租"
    form.submit()

    browser.login("inspector")
    page = browser.get("/credit")
    rows = page.html.select("tr.person")
    assert [r.select_one(".person-name").text for r in rows] == ["李梅", "张三"]   # barred first
    assert rows[0]["data-banned"] == "1" and rows[1]["data-banned"] == "0"
    assert rows[0].select_one(".person-id").text == idnumber.mask(spouse)
    assert spouse not in page.text and applicant not in page.text
    assert "放弃配租" in rows[0].text and "reviewer" in rows[0].text
    assert rows[0].select_one(f'a[href$="/households/{city["no"]}"]') is not None
    assert "已期满" in rows[1].text

    assert [r.select_one(".person-name").text for r in browser.get("/credit?active=1").html.select("tr.person")] == ["李梅"]
    assert [r.select_one(".person-name").text for r in browser.get("/credit", {"q": "张"}).html.select("tr.person")] == ["张三"]
    by_id = browser.get("/credit", {"q": spouse}).html.select("tr.person")
    assert [r.select_one(".person-name").text for r in by_id] == ["李梅"]
    assert browser.get("/credit", {"q": "无此人"}).html.select_one("#no-people") is not None

    revealed = browser.get("/credit?reveal=1")
    assert spouse in revealed.text
    with store() as root:
        assert [e.target for e in root.log.newest(20) if e.action == "personal.unmask"] == ["credit"]
    browser.login("auditor")                       # no view_personal: stays masked, not logged
    assert spouse not in browser.get("/credit?reveal=1").text


def test_api_records_lists_and_refuses(browser, city, store, users):
    reviewer = {"Authorization": f"Bearer {users['reviewer']}"}
    url = f"/api/households/{city['no']}/credit"
    body = {"id_number": city["spouse"]["id_number"], "kind": "decline", "day": DAY,
            "description": "放弃配租", "evidence": "D0001"}
    for bad, message in [({"id_number": "320402198207010000"}, "身份证号码"),
                         ({"id_number": idnumber.make("320402", dt.date(1990, 1, 1), 77)}, "没有身份证号码为该号码"),
                         ({"day": "yesterday"}, "不是有效的日期"), ({"kind": 5}, "应为文本")]:
        refused = browser.post_json(url, {**body, **bad}, headers=reviewer, status=400)
        assert message in refused.json["error"]
    assert events(store) == []
    browser.post_json(url, body, headers={"Authorization": f"Bearer {users['inspector']}"}, status=403)
    created = browser.post_json(url, body, headers=reviewer, status=201).json
    assert created["name"] == "李梅" and created["ban_last_day"] == LAST
    assert created["id_number"] == idnumber.mask(body["id_number"])
    assert created["bans"][0]["active"] is True
    listing = browser.get("/api/credit", {"q": "李梅"}, headers={"Authorization": f"Bearer {users['inspector']}"}).json
    assert listing["total"] == 1
    person = listing["items"][0]
    assert person["banned"] is True and person["id_number"] == idnumber.mask(body["id_number"])
    assert person["events"][0]["kind"] == "decline" and person["events"][0]["recorded_by"] == "reviewer"
    unmasked = browser.get("/api/credit?unmask=1", headers={"Authorization": f"Bearer {users['inspector']}"}).json
    assert unmasked["unmasked"] and unmasked["items"][0]["id_number"] == body["id_number"]
    browser.post_json(f"/api/units/X/credit", body, headers=reviewer, status=404)


def test_api_is_described_in_openapi(browser):
    doc = browser.get("/api/openapi.json").json
    assert set(doc["paths"]["/api/credit"]) == {"get"}
    assert doc["paths"]["/api/households/{no}/credit"]["post"]["x-permission"] == "credit"
    assert "CreditInput" in doc["components"]["schemas"]
