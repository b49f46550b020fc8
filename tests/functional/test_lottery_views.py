"""The lottery (摇号) through the WSGI app: the form, the API, roles, refusals, verification."""
from __future__ import annotations

import datetime as dt

import pytest
import webtest

from archive.records import filing
from conftest import ROLES, household_input

CAN_HOLD = {"reviewer"}       # schemas/roles.yaml: lottery
PEOPLE = [("张三明", ["dibao"]), ("李四", []), ("王老五", ["elderly70"]), ("赵六", ["talent"]),
          ("欧阳小华", ["disabled"])]


@pytest.fixture
def registered(app, store):
    """Five Changzhou households waiting in 'registered', plus two that may not take part.

    They are placed in their state directly; once the procedure (archive.workflow) can walk a
    household to 'registered' in a test, this fixture should go through it instead.
    """
    registry = app.registry.archive_schemas

    def make(root, name, groups, seq, state="registered", **extra):
        data = household_input(name=name, seq=seq, priority_groups=groups, **extra)
        return filing.create_dossier(root, registry, "household", data, "archivist",
                                     state=state).archive_no
    with store() as root:
        nos = [make(root, name, groups, 10 + 2 * i) for i, (name, groups) in enumerate(PEOPLE)]
        others = {"approved": make(root, "吴十", [], 40, state="approved"),
                  "xiamen": make(root, "陈九", [], 42, jurisdiction="xiamen")}
    return nos, others


def _state(store, nos):
    """What a refused lottery must leave untouched: the book, every version, every document."""
    with store() as root:
        return (len(root.lotteries), {no: (root.households[no].latest.number,
                                           len(root.households[no].documents)) for no in nos})


def _api(app, users, role="reviewer"):
    client = webtest.TestApp(app)
    client.authorization = ("Bearer", users[role])
    return client


# -- the form ---------------------------------------------------------------------------------
def test_reviewer_holds_a_lottery_through_the_form(browser, store, registered):
    nos, others = registered
    versions = _state(store, nos)[1]
    browser.login("reviewer")
    page = browser.get("/lotteries")
    assert page.html.select_one("#no-lotteries") is not None
    page = page.click(href="/lotteries/new")
    assert "5" in page.html.select_one("option[value=changzhou]").text
    page = browser.get("/lotteries/new", {"jurisdiction": "changzhou"})
    boxes = page.html.select("#lottery-households input[name=households]")
    assert sorted(b["value"] for b in boxes) == sorted(nos)    # not the approved, not Xiamen
    assert all(b.has_attr("checked") for b in boxes)
    form = page.forms["lottery-form"]
    form["comment"] = "2026年第一批"
    result = form.submit().follow()
    lottery_id = result.html.select_one("#lottery-id").text
    assert lottery_id == "YH-CZ-2026-001" and "已完成摇号" in result.text
    seed = result.html.select_one("#seed").text
    assert len(seed) == 32 and int(seed, 16) >= 0              # generated
    order = [row.select("td")[1].text for row in result.html.select("#lottery-order tr")[1:]]
    assert sorted(order) == sorted(nos)
    # Changzhou's profile: 70+ and severely disabled choose first
    first_two = {row.select("td")[2].text for row in result.html.select("#lottery-order tr")[1:3]}
    assert first_two == {"王*五", "欧**华"}
    with store() as root:
        held = root.lotteries.get(lottery_id)
        assert held.tiers[0] == ("elderly70", "disabled") and held.comment == "2026年第一批"
        for no in nos:
            dossier = root.households[no]
            assert dossier.latest.number == versions[no][0] + 1
            assert [d.metadata["doc_type"] for d in dossier.documents.values()] == ["lottery_record"]
        for no in others.values():
            assert len(root.households[no].documents) == 0
    checked = result.click(href=f"/lotteries/{lottery_id}/verify")
    assert "一致" in checked.html.select_one("#verify-result").text
    assert "text-success" in checked.html.select_one("#verify-result")["class"]
    listing = browser.get("/lotteries")
    assert lottery_id in listing.html.select_one("#lotteries").text
    pdf = browser.get(result.html.select_one("#lottery-order a[href*='/files/1']")["href"])
    assert pdf.content_type == "application/pdf"


def test_form_keeps_a_given_seed_and_an_unchecked_household_out(browser, store, registered):
    nos, _ = registered
    browser.login("reviewer")
    form = browser.get("/lotteries/new", {"jurisdiction": "changzhou"}).forms["lottery-form"]
    for field in form.fields["households"]:
        if field._value == nos[0]:   # noqa: SLF001 - WebTest's checkbox value
            field.checked = False
    form["seed"] = "  notary-2026-0302  "
    result = form.submit().follow()
    assert result.html.select_one("#seed").text == "notary-2026-0302"
    with store() as root:
        assert len(root.households[nos[0]].documents) == 0
        assert len(root.households[nos[1]].documents) == 1


@pytest.mark.parametrize("seed, households, message", [
    ("short", None, "摇号种子应为8至128个可见ASCII字符"),
    ("", [], "请至少选择一户参加摇号"),
])
def test_form_refusal_is_422_with_the_message_and_changes_nothing(browser, store, registered,
                                                                  seed, households, message):
    nos, _ = registered
    before = _state(store, nos)
    browser.login("reviewer")
    form = browser.get("/lotteries/new", {"jurisdiction": "changzhou"}).forms["lottery-form"]
    form["seed"] = seed
    if households == []:
        for field in form.fields["households"]:
            field.checked = False
    page = form.submit(status=422)
    assert message in page.html.select_one("#lottery-error").text
    assert page.html.select_one("#lottery-form") is not None
    assert _state(store, nos) == before


def test_form_refuses_a_household_that_is_not_registered(browser, store, registered):
    nos, others = registered
    before = _state(store, nos + list(others.values()))
    browser.login("reviewer")
    form = browser.get("/lotteries/new", {"jurisdiction": "changzhou"}).forms["lottery-form"]
    token = form["csrf_token"].value
    page = browser.post("/lotteries/new", [("csrf_token", token), ("jurisdiction", "changzhou")] +
                        [("households", no) for no in nos + [others["approved"]]], status=422)
    assert f"未处于“已登记轮候”状态的住户不能参加摇号：{others['approved']}" in page.text
    assert _state(store, nos + list(others.values())) == before


def test_post_without_csrf_token_is_refused(browser, store, registered):
    nos, _ = registered
    before = _state(store, nos)
    browser.login("reviewer")
    browser.post("/lotteries/new", [("jurisdiction", "changzhou")] + [("households", n) for n in nos],
                 status=400)
    assert _state(store, nos) == before


# -- roles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_only_the_lottery_permission_holds_one_and_every_role_may_look(app, browser, users, store,
                                                                        registered, role):
    nos, _ = registered
    held = _api(app, users).post_json("/api/lotteries", {"jurisdiction": "changzhou",
                                                         "households": nos[:2]}, status=201).json
    before = _state(store, nos)
    browser.login(role)
    token = browser.get("/lotteries").html.select_one("input[name=csrf_token]")["value"]
    allowed = role in CAN_HOLD
    assert browser.get("/lotteries/new", status="*").status_int == (200 if allowed else 403)
    if not allowed:
        browser.post("/lotteries/new", [("csrf_token", token), ("jurisdiction", "changzhou")] +
                     [("households", n) for n in nos], status=403)
        response = _api(app, users, role).post_json(
            "/api/lotteries", {"jurisdiction": "changzhou", "households": nos}, status=403)
        assert response.json == {"error": "您的角色无权执行此操作", "status": 403}
        assert _state(store, nos) == before
        assert browser.get("/lotteries").html.select_one("#new-lottery") is None
    for url in ("/lotteries", f"/lotteries/{held['lottery_id']}",
                f"/lotteries/{held['lottery_id']}/verify"):
        assert browser.get(url).status_int == 200
    assert _api(app, users, role).get(f"/api/lotteries/{held['lottery_id']}").json["verified"]


def test_anonymous_is_sent_to_login_and_the_api_wants_a_token(app, registered):
    client = webtest.TestApp(app)
    for url in ("/lotteries", "/lotteries/new", "/lotteries/YH-CZ-2026-001"):
        response = client.get(url, status=302)
        assert "/login" in response.location
    assert client.get("/api/lotteries", status=401).json["status"] == 401
    assert client.post_json("/api/lotteries", {}, status=401).json["status"] == 401


# -- the API ----------------------------------------------------------------------------------
def test_api_holds_a_lottery_and_reads_it_back(app, users, store, registered):
    nos, _ = registered
    versions = _state(store, nos)[1]
    api = _api(app, users)
    response = api.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos,
                                                "seed": "notary-2026-0302", "comment": "第一批"},
                             status=201)
    body = response.json
    assert response.location.endswith("/api/lotteries/YH-CZ-2026-001")
    assert body["lottery_id"] == "YH-CZ-2026-001" and body["seed"] == "notary-2026-0302"
    assert body["verified"] is True and body["households"] == 5 and len(body["digest"]) == 64
    assert [row["rank"] for row in body["order"]] == [1, 2, 3, 4, 5]
    assert [row["tier"] for row in body["order"]] == sorted(row["tier"] for row in body["order"])
    assert {row["name"] for row in body["order"]} == {"张*明", "李*", "王*五", "赵*", "欧**华"}
    assert body["tiers"][0] == ["elderly70", "disabled"]
    assert body["announced_on"] is None          # Changzhou sets no notice period
    for row in body["order"]:
        doc = api.get(row["document"]).json
        assert doc["metadata"]["doc_type"] == "lottery_record"
        assert doc["metadata"]["title"] == "摇号结果（YH-CZ-2026-001）"
    with store() as root:
        for no in nos:
            assert root.households[no].latest.number == versions[no][0] + 1
    assert api.get(body["links"]["self"]).json == body
    listing = api.get("/api/lotteries").json
    assert listing["total"] == 1 and listing["items"][0]["lottery_id"] == "YH-CZ-2026-001"
    second = api.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos[:2]},
                           status=201).json
    assert second["lottery_id"] == "YH-CZ-2026-002" and len(second["seed"]) == 32
    assert [i["lottery_id"] for i in api.get("/api/lotteries").json["items"]] == \
        ["YH-CZ-2026-002", "YH-CZ-2026-001"]
    assert api.get("/api/lotteries?per_page=1&page=2").json["items"][0]["lottery_id"] == \
        "YH-CZ-2026-001"


@pytest.mark.parametrize("body, field, message", [
    ({"households": []}, "households", "请至少选择一户参加摇号"),
    ({"seed": "short"}, "seed", "摇号种子应为8至128个可见ASCII字符"),
    ({"seed": 12345678}, "seed", "摇号种子应为8至128个可见ASCII字符"),
    ({"households": "CZ-HH-2026-Y-00001"}, "households", "应为档号列表"),
    ({"households": ["CZ-HH-2026-Y-09999"]}, "households", "住户档案不存在：CZ-HH-2026-Y-09999"),
    ({"jurisdiction": None}, "jurisdiction", "辖区：必填"),
    ({"jurisdiction": "atlantis"}, "jurisdiction", "辖区不存在：atlantis"),
    ({"comment": 5}, "comment", "说明：应为文本"),
])
def test_api_refusals_are_422_json_and_change_nothing(app, users, store, registered, body, field,
                                                      message):
    nos, _ = registered
    before = _state(store, nos)
    response = _api(app, users).post_json(
        "/api/lotteries", {"jurisdiction": "changzhou", "households": nos, **body}, status=422)
    assert response.content_type == "application/json" and response.json["status"] == 422
    assert message in response.json["errors"][field]
    assert _state(store, nos) == before


def test_api_refuses_other_jurisdictions_and_unregistered_households(app, users, store, registered):
    nos, others = registered
    api = _api(app, users)
    for other in others.values():
        response = api.post_json("/api/lotteries", {"jurisdiction": "changzhou",
                                                    "households": nos + [other]}, status=422)
        assert other in response.json["error"]
    assert _state(store, nos)[0] == 0


def test_api_unknown_lottery_and_wrong_method(app, users):
    api = _api(app, users)
    assert api.get("/api/lotteries/YH-XX-2026-999", status=404).json["error"] == "摇号批次不存在"
    response = api.delete("/api/lotteries/YH-XX-2026-999", status=405)
    assert response.headers["Allow"] == "GET, HEAD" and response.json["status"] == 405
    assert api.put_json("/api/lotteries", {}, status=405).headers["Allow"] == "GET, HEAD, POST"
    assert api.post_json("/api/lotteries", [1], status=400).json["status"] == 400


def test_unknown_lottery_page_is_404(browser, users):
    browser.login("inspector")
    assert "摇号批次不存在" in browser.get("/lotteries/YH-XX-2026-999", status=404).text


def test_verify_shows_a_tampered_record(app, browser, users, store, registered):
    nos, _ = registered
    held = _api(app, users).post_json("/api/lotteries", {"jurisdiction": "changzhou",
                                                         "households": nos}, status=201).json
    with store() as root:
        record = root.lotteries.get(held["lottery_id"])
        (r1, n1, t1), (r2, n2, t2), *rest = record.order
        record.order = ((r1, n2, t1), (r2, n1, t2), *rest)
    browser.login("auditor")
    result = browser.get(f"/lotteries/{held['lottery_id']}/verify").html.select_one("#verify-result")
    assert "不一致" in result.text and "text-danger" in result["class"]
    assert _api(app, users, "auditor").get(held["links"]["self"]).json["verified"] is False


# -- the advance notice (预告期): Tengchong 15 days, the others none -----------------------------
NOW = dt.datetime(2026, 3, 16, 2, 0, tzinfo=dt.timezone.utc)    # 10:00 on 16 March in China


@pytest.fixture
def clock(monkeypatch):
    """The lottery is drawn on 2026-03-16 (local): 15 days after a notice of 2026-03-01."""
    monkeypatch.setattr(filing, "now", lambda: NOW)
    return NOW


@pytest.fixture
def tengchong(app, store, clock):
    registry = app.registry.archive_schemas
    with store() as root:
        return [filing.create_dossier(root, registry, "household",
                                      household_input(name=name, seq=60 + 2 * i,
                                                      priority_groups=groups,
                                                      jurisdiction="tengchong"),
                                      "archivist", state="registered").archive_no
                for i, (name, groups) in enumerate(PEOPLE[:3])]


def _log_size(store):
    with store() as root:
        return len(root.log)


RULE = "腾冲市要求摇号前至少提前 15 日向社会预告"


@pytest.mark.parametrize("announced_on, message", [
    (None, f"{RULE}：请填写预告发布日期"),
    ("2026-03-02", f"{RULE}：预告发布于 2026-03-02，最早可于 2026-03-17 摇号"),
    ("2026-03-17", "预告发布日期不能晚于摇号日期：预告发布于 2026-03-17，摇号日期为 2026-03-16"),
    ("16/03/2026", "预告发布日期应为 YYYY-MM-DD 格式的日期"),
    (20260301, "预告发布日期应为 YYYY-MM-DD 格式的日期"),
])
def test_api_refuses_a_tengchong_lottery_before_its_notice_period(app, users, store, tengchong,
                                                                 announced_on, message):
    before, log = _state(store, tengchong), _log_size(store)
    body = {"jurisdiction": "tengchong", "households": tengchong}
    if announced_on is not None:
        body["announced_on"] = announced_on
    response = _api(app, users).post_json("/api/lotteries", body, status=422)
    assert response.json["status"] == 422 and message in response.json["errors"]["announced_on"]
    assert _state(store, tengchong) == before and _log_size(store) == log


def test_api_holds_a_tengchong_lottery_15_days_after_the_notice(app, browser, users, store,
                                                                tengchong):
    api = _api(app, users)
    body = api.post_json("/api/lotteries", {"jurisdiction": "tengchong", "households": tengchong,
                                            "announced_on": "2026-03-01"}, status=201).json
    assert body["lottery_id"] == "YH-TC-2026-001" and body["announced_on"] == "2026-03-01"
    assert body["verified"] is True and api.get(body["links"]["self"]).json == body
    with store() as root:
        held = root.lotteries.get(body["lottery_id"])
        assert held.announced_on == dt.date(2026, 3, 1) and held.digest == body["digest"]
        assert all(len(root.households[no].documents) == 1 for no in tengchong)
    browser.login("auditor")
    page = browser.get(f"/lotteries/{body['lottery_id']}/verify")
    assert page.html.select_one("#announced-on").text == "2026-03-01"
    assert "不一致" not in page.html.select_one("#verify-result").text


def test_api_records_a_notice_where_no_period_is_set(app, users, registered, clock):
    nos, _ = registered
    api = _api(app, users)
    body = api.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos[:2],
                                            "announced_on": "2026-03-16"}, status=201).json
    assert body["announced_on"] == "2026-03-16" and body["verified"] is True
    plain = api.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos[2:],
                                             "announced_on": None}, status=201).json
    assert plain["announced_on"] is None and plain["verified"] is True


def test_form_states_the_rule_and_refuses_a_lottery_before_the_period_has_run(browser, store,
                                                                             tengchong):
    browser.login("reviewer")               # a login is logged too: count after it
    before, log = _state(store, tengchong), _log_size(store)
    page = browser.get("/lotteries/new", {"jurisdiction": "tengchong"})
    field = page.html.select_one("#announced_on")
    assert field["type"] == "date" and field.has_attr("required")
    assert RULE in page.html.select_one("#notice-rule").text
    form = page.forms["lottery-form"]
    page = form.submit(status=422)
    assert f"{RULE}：请填写预告发布日期" in page.html.select_one("#lottery-error").text
    form = page.forms["lottery-form"]
    form["announced_on"] = "2026-03-02"
    page = form.submit(status=422)
    assert "最早可于 2026-03-17 摇号" in page.html.select_one("#lottery-error").text
    assert page.html.select_one("#announced_on")["value"] == "2026-03-02"   # kept for correcting
    assert _state(store, tengchong) == before and _log_size(store) == log
    form = page.forms["lottery-form"]
    form["announced_on"] = "2026-03-01"
    result = form.submit().follow()
    assert result.html.select_one("#announced-on").text == "2026-03-01"
    assert result.click(href="/verify").html.select_one("#verify-result").text.strip().startswith("一致")


def test_form_takes_an_optional_notice_where_no_period_is_set(browser, registered, clock):
    browser.login("reviewer")
    page = browser.get("/lotteries/new", {"jurisdiction": "changzhou"})
    assert not page.html.select_one("#announced_on").has_attr("required")
    assert "未规定摇号预告期" in page.html.select_one("#notice-rule").text
    result = page.forms["lottery-form"].submit().follow()
    assert result.html.select_one("#announced-on") is None
    assert result.click(href="/verify").html.select_one("#verify-result").text.strip().startswith("一致")


def test_the_form_states_the_rule_in_english(browser, tengchong):
    browser.login("reviewer")
    page = browser.get("/lotteries/new", {"jurisdiction": "tengchong", "_LOCALE_": "en"})
    assert "Tengchong requires the lottery to be announced to the public at least 15 days ahead" \
        in page.html.select_one("#notice-rule").text


# -- the OpenAPI document ---------------------------------------------------------------------
def test_openapi_describes_the_lottery_paths(app, users):
    doc = webtest.TestApp(app).get("/api/openapi.json").json
    lotteries, one = doc["paths"]["/api/lotteries"], doc["paths"]["/api/lotteries/{lottery_id}"]
    assert set(lotteries) == {"get", "post"} and set(one) == {"get", "parameters"}
    assert lotteries["post"]["x-permission"] == "lottery" and one["get"]["x-permission"] == "view"
    assert {"201", "401", "403", "422"} <= set(lotteries["post"]["responses"])
    assert one["parameters"][0]["name"] == "lottery_id"
    given = lotteries["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert given["properties"]["announced_on"]["format"] == "date"
    assert "announced_on" not in given["required"]
    shown = one["get"]["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]
    assert shown["properties"]["announced_on"]["type"] == ["string", "null"]
