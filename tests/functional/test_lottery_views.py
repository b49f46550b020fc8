"""The lottery (摇号) through the WSGI app: the form, the API, roles, refusals, verification."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import webtest

from archive.records import filing
from conftest import PASSWORD, READERS, household_input

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


ANNOUNCED = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.timezone.utc)   # 10:00 on 1 March in China
NOW = dt.datetime(2026, 3, 16, 2, 0, tzinfo=dt.timezone.utc)         # 10:00 on 16 March
SEED = "notary-2026-0316"
COMMITMENT = hashlib.sha256(SEED.encode()).hexdigest()


class Clock:
    """filing.now, set by the test: announce on 1 March, draw on 16 March."""
    def __init__(self):
        self.now = ANNOUNCED

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(filing, "now", clock)
    return clock


@pytest.fixture
def second(app, store, users):
    """A second reviewer (the lottery permission), for the redraw's consent."""
    with store() as root:
        root.users.add("reviewer2", "第二审核员", ["reviewer"], PASSWORD, app.registry.archive_hasher)
        return root.users.issue_token("reviewer2")


def _announce(api, nos, jurisdiction="changzhou", status=201, **body):
    body = {"jurisdiction": jurisdiction, "households": nos, "draw_on": "2026-03-16",
            "commitment": COMMITMENT, **body}
    return api.post_json("/api/lotteries", body, status=status).json


def _drawn(api, clock, nos, **body):
    clock.now = ANNOUNCED
    held = _announce(api, nos, **body)
    clock.now = NOW
    return api.post_json(held["links"]["draw"], {"seed": SEED}).json


def _api(app, users, role="reviewer"):
    client = webtest.TestApp(app)
    client.authorization = ("Bearer", users[role])
    return client


# -- the form: announce, then draw from the batch's page ------------------------------------------
def test_reviewer_announces_and_draws_through_the_pages(browser, store, registered, clock):
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
    form = page.forms["lottery-form"]
    form["comment"], form["draw_on"] = "2026年第一批", "2026-03-16"
    result = form.submit(status=201)                          # no commitment: a seed made once
    lottery_id = result.html.select_one("#lottery-id").text
    assert lottery_id == "YH-CZ-2026-001" and "已发布摇号预告" in result.text
    seed = result.html.select_one("#seed-once").text
    commitment = result.html.select_one("#commitment").text
    assert hashlib.sha256(seed.encode()).hexdigest() == commitment
    assert "待摇号" in result.html.select_one("#lottery-state").text
    page = browser.get(f"/lotteries/{lottery_id}")
    assert page.html.select_one("#seed-once") is None and seed not in page.text   # shown once
    form = page.forms["draw-form"]
    form["seed"] = seed
    refused = form.submit(status=409)                         # 1 March: the draw is on the 16th
    assert "未到预告的摇号日期 2026-03-16" in refused.html.select_one("#lottery-error").text
    clock.now = NOW
    form = browser.get(f"/lotteries/{lottery_id}").forms["draw-form"]
    form["seed"] = "not-the-seed-at-all"
    refused = form.submit(status=422)
    assert "种子承诺值不符" in refused.html.select_one("#lottery-error").text
    form = refused.forms["draw-form"]
    form["seed"] = seed
    result = form.submit().follow()
    assert "已完成摇号" in result.text and result.html.select_one("#seed").text == seed
    order = [row.select("td")[1].text for row in result.html.select("#lottery-order tr")[1:]]
    assert sorted(order) == sorted(nos)
    # Changzhou's profile: 70+ and severely disabled choose first
    first_two = {row.select("td")[2].text for row in result.html.select("#lottery-order tr")[1:3]}
    assert first_two == {"王*五", "欧**华"}
    outcomes = [row.select("td")[2].text for row in result.html.select("#lottery-attempts tr")]
    assert outcomes == ["已预告", "被拒绝", "被拒绝", "已摇号"]
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
    assert browser.get(f"/lotteries/{lottery_id}").html.select_one("#draw-form") is None
    history = browser.get(f"/households/{nos[0]}/history", {"kind": "attempts"})
    assert "被拒绝：摇号 YH-CZ-2026-001" in history.text and "已摇号：摇号 YH-CZ-2026-001" in history.text
    listing = browser.get("/lotteries")
    assert lottery_id in listing.html.select_one("#lotteries").text
    pdf = browser.get(result.html.select_one("#lottery-order a[href*='/files/1']")["href"])
    assert pdf.content_type == "application/pdf"


def test_form_keeps_an_unchecked_household_out_and_takes_a_commitment(browser, store, registered,
                                                                      clock):
    nos, _ = registered
    browser.login("reviewer")
    form = browser.get("/lotteries/new", {"jurisdiction": "changzhou"}).forms["lottery-form"]
    for field in form.fields["households"]:
        if field._value == nos[0]:   # noqa: SLF001 - WebTest's checkbox value
            field.checked = False
    form["commitment"], form["draw_on"] = f"  {COMMITMENT.upper()}  ", "2026-03-01"
    result = form.submit(status=201)
    assert result.html.select_one("#commitment").text == COMMITMENT
    assert result.html.select_one("#seed-once") is None
    form = result.forms["draw-form"]
    form["seed"] = SEED
    form.submit().follow()
    with store() as root:
        assert len(root.households[nos[0]].documents) == 0
        assert len(root.households[nos[1]].documents) == 1


@pytest.mark.parametrize("fields, households, message, status", [
    ({"commitment": "abc"}, None, "种子承诺值应为64位十六进制字符", 422),
    ({"draw_on": ""}, None, "摇号日期应为 YYYY-MM-DD 格式的日期", 422),
    ({}, [], "请至少选择一户参加摇号", 422),
])
def test_form_refusal_is_4xx_with_the_message_and_changes_nothing(browser, store, registered, clock,
                                                                  fields, households, message, status):
    nos, _ = registered
    before = _state(store, nos)
    browser.login("reviewer")
    form = browser.get("/lotteries/new", {"jurisdiction": "changzhou"}).forms["lottery-form"]
    form["draw_on"] = "2026-03-16"
    for name, value in fields.items():
        form[name] = value
    if households == []:
        for field in form.fields["households"]:
            field.checked = False
    page = form.submit(status=status)
    assert message in page.html.select_one("#lottery-error").text
    assert page.html.select_one("#lottery-form") is not None
    assert _state(store, nos) == before


def test_form_refuses_a_household_that_is_not_registered(browser, store, registered, clock):
    nos, others = registered
    before = _state(store, nos + list(others.values()))
    browser.login("reviewer")
    form = browser.get("/lotteries/new", {"jurisdiction": "changzhou"}).forms["lottery-form"]
    token = form["csrf_token"].value
    page = browser.post("/lotteries/new", [("csrf_token", token), ("jurisdiction", "changzhou"),
                                           ("draw_on", "2026-03-16")] +
                        [("households", no) for no in nos + [others["approved"]]], status=422)
    assert f"未处于“已登记轮候”状态的住户不能参加摇号：{others['approved']}" in page.text
    assert _state(store, nos + list(others.values())) == before


def test_post_without_csrf_token_is_refused(browser, app, users, store, registered, clock):
    nos, _ = registered
    before = _state(store, nos)
    browser.login("reviewer")
    browser.post("/lotteries/new", [("jurisdiction", "changzhou"), ("draw_on", "2026-03-16")] +
                 [("households", n) for n in nos], status=400)
    assert _state(store, nos) == before
    held = _announce(_api(app, users), nos)
    browser.post(f"/lotteries/{held['lottery_id']}/draw", [("seed", SEED)], status=400)
    browser.post(f"/lotteries/{held['lottery_id']}/redraw", [("reason", "x")], status=400)


# -- roles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", READERS)
def test_only_the_lottery_permission_holds_one_and_every_role_may_look(app, browser, users, store,
                                                                        registered, role, clock):
    nos, _ = registered
    held = _drawn(_api(app, users), clock, nos[:2])
    before = _state(store, nos)
    browser.login(role)
    token = browser.get("/lotteries").html.select_one("input[name=csrf_token]")["value"]
    allowed = role in CAN_HOLD
    assert browser.get("/lotteries/new", status="*").status_int == (200 if allowed else 403)
    if not allowed:
        browser.post("/lotteries/new", [("csrf_token", token), ("jurisdiction", "changzhou")] +
                     [("households", n) for n in nos], status=403)
        api = _api(app, users, role)
        response = api.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos,
                                                    "draw_on": "2026-03-20"}, status=403)
        assert response.json == {"error": "您的角色无权执行此操作", "status": 403}
        for url, body in ((held["links"]["draw"], {"seed": SEED}),
                          (held["links"]["redraw"], {"reason": "x", "draw_on": "2026-03-20"}),
                          (held["links"]["redraw"] + "/approve", {})):
            api.post_json(url, body, status=403)
        assert _state(store, nos) == before
        assert browser.get("/lotteries").html.select_one("#new-lottery") is None
        assert browser.get(f"/lotteries/{held['lottery_id']}").html.select_one("#redraw-form") is None
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
    assert client.post_json("/api/lotteries/YH-CZ-2026-001/draw", {}, status=401).json["status"] == 401


# -- the API ----------------------------------------------------------------------------------
def test_api_announces_draws_once_and_reads_it_back(app, users, store, registered, clock):
    nos, _ = registered
    versions = _state(store, nos)[1]
    api = _api(app, users)
    response = api.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos,
                                                "draw_on": "2026-03-16", "commitment": COMMITMENT,
                                                "comment": "第一批"}, status=201)
    body = response.json
    assert response.location.endswith("/api/lotteries/YH-CZ-2026-001") and "seed_once" not in body
    assert body["state"] == "announced" and body["seed"] is None and body["verified"] is None
    assert body["commitment"] == COMMITMENT and body["draw_on"] == "2026-03-16"
    assert body["announced_on"] == "2026-03-01" and body["batch"] == sorted(nos)
    assert body["order"] == [] and body["digest"] is None and body["households"] == 5
    assert [a["outcome"] for a in body["attempts"]] == ["announced"]
    clock.now = NOW
    drawn = api.post_json(body["links"]["draw"], {"seed": SEED}).json
    assert drawn["state"] == "drawn" and drawn["seed"] == SEED and drawn["verified"] is True
    assert [row["rank"] for row in drawn["order"]] == [1, 2, 3, 4, 5]
    assert {row["name"] for row in drawn["order"]} == {"张*明", "李*", "王*五", "赵*", "欧**华"}
    for row in drawn["order"]:
        assert api.get(row["document"]).json["metadata"]["title"] == "摇号结果（YH-CZ-2026-001）"
    with store() as root:
        for no in nos:
            assert root.households[no].latest.number == versions[no][0] + 1
    assert api.get(body["links"]["self"]).json == drawn
    again = api.post_json(body["links"]["draw"], {"seed": SEED}, status=409).json
    assert "同一批次只摇一次" in again["error"]
    assert [a["outcome"] for a in api.get(body["links"]["self"]).json["attempts"]] == \
        ["announced", "drawn", "refused"]
    second = api.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos[:2],
                                              "draw_on": "2026-03-20"}, status=201).json
    assert second["lottery_id"] == "YH-CZ-2026-002"
    assert hashlib.sha256(second["seed_once"].encode()).hexdigest() == second["commitment"]
    assert "seed_once" not in api.get(second["links"]["self"]).json
    assert [i["lottery_id"] for i in api.get("/api/lotteries").json["items"]] == \
        ["YH-CZ-2026-002", "YH-CZ-2026-001"]


@pytest.mark.parametrize("body, field, message", [
    ({"households": []}, "households", "请至少选择一户参加摇号"),
    ({"commitment": "short"}, "commitment", "种子承诺值应为64位十六进制字符"),
    ({"commitment": 12345678}, "commitment", "种子承诺值应为64位十六进制字符"),
    ({"draw_on": None}, "draw_on", "摇号日期应为 YYYY-MM-DD 格式的日期"),
    ({"draw_on": "2026-02-28"}, "draw_on", "摇号日期不能早于今天（2026-03-01）"),
    ({"announced_on": "2026-03-02"}, "announced_on", "预告发布日期不能晚于今天"),
    ({"households": "CZ-HH-2026-Y-00001"}, "households", "应为档号列表"),
    ({"households": ["CZ-HH-2026-Y-09999"]}, "households", "住户档案不存在：CZ-HH-2026-Y-09999"),
    ({"jurisdiction": None}, "jurisdiction", "辖区：必填"),
    ({"jurisdiction": "atlantis"}, "jurisdiction", "辖区不存在：atlantis"),
    ({"comment": 5}, "comment", "说明：应为文本"),
])
def test_api_announcement_refusals_are_422_json_and_change_nothing(app, users, store, registered,
                                                                   clock, body, field, message):
    nos, _ = registered
    before = _state(store, nos)
    response = _api(app, users).post_json(
        "/api/lotteries", {"jurisdiction": "changzhou", "households": nos, "draw_on": "2026-03-16",
                           **body}, status=422)
    assert response.content_type == "application/json" and response.json["status"] == 422
    assert message in response.json["errors"][field]
    assert _state(store, nos) == before


def test_api_refuses_other_jurisdictions_unregistered_and_already_waiting(app, users, store,
                                                                          registered, clock):
    nos, others = registered
    api = _api(app, users)
    for other in others.values():
        response = _announce(api, nos + [other], status=422)
        assert other in response["error"]
    assert _state(store, nos)[0] == 0
    first = _announce(api, nos[:2])
    refused = _announce(api, nos[1:3], status=409)
    assert f"{nos[1]}（{first['lottery_id']}）" in refused["error"]


@pytest.mark.parametrize("seed, status, message", [
    ("wrong-seed-2026", 422, "种子承诺值不符"), ("short", 422, "摇号种子应为8至128个可见ASCII字符"),
    (None, 422, "摇号种子应为"), (12345678, 422, "seed：应为文本")])
def test_api_refused_draws_are_4xx_and_on_every_household_s_record(app, users, store, registered,
                                                                   clock, seed, status, message):
    nos, _ = registered
    api = _api(app, users)
    held = _announce(api, nos[:3])
    clock.now = NOW
    before = _state(store, nos)
    body = {} if seed is None else {"seed": seed}
    response = api.post_json(held["links"]["draw"], body, status=status).json
    assert message in (response.get("error", "") + str(response.get("errors", {})))
    assert _state(store, nos) == before
    with store() as root:
        assert root.lotteries.get(held["lottery_id"]).state == "announced"
    recorded = [a["outcome"] for a in api.get(held["links"]["self"]).json["attempts"]]
    expected = ["announced", "refused"] if isinstance(seed, str) else ["announced"]
    assert recorded == expected     # a body the API cannot read is no attempt at the draw
    for no in nos[:3]:
        events = api.get(f"/api/households/{no}/history?kind=attempts").json["events"]
        assert len(events) == len(expected)


def test_api_redraw_needs_a_reason_and_a_second_officer(app, users, store, registered, clock, second):
    nos, _ = registered
    api, other = _api(app, users), webtest.TestApp(app)
    other.authorization = ("Bearer", second)
    held = _drawn(api, clock, nos)
    redraw = held["links"]["redraw"]
    assert "理由" in api.post_json(redraw, {"reason": " ", "draw_on": "2026-03-20"}, status=422).json["error"]
    asked = api.post_json(redraw, {"reason": "公证员未到场", "draw_on": "2026-03-20"}).json
    assert asked["redraw"]["requested_by"] == "reviewer" and asked["redraw"]["approved_by"] is None
    new_seed = asked["seed_once"]
    assert api.post_json(redraw + "/approve", {}, status=403).json["error"].startswith("重新摇号须由申请人")
    assert api.post_json(redraw, {"reason": "再来", "draw_on": "2026-03-20"}, status=409)
    response = other.post_json(redraw + "/approve", {}, status=201)
    new = response.json
    assert new["redraw_of"] == held["lottery_id"] and new["state"] == "announced"
    assert new["redraw"]["approved_by"] == "reviewer2" and new["redraw"]["reason"] == "公证员未到场"
    old = api.get(held["links"]["self"]).json
    assert old["state"] == "superseded" and old["superseded_by"] == new["lottery_id"]
    assert old["verified"] is True and old["order"] == held["order"]      # kept as it was
    assert api.post_json(held["links"]["draw"], {"seed": SEED}, status=409)
    clock.now = NOW + dt.timedelta(days=4)
    drawn = api.post_json(new["links"]["draw"], {"seed": new_seed}).json
    assert drawn["verified"] is True and drawn["state"] == "drawn"
    assert other.post_json(redraw + "/approve", {}, status=409)


def test_api_unknown_lottery_and_wrong_method(app, users):
    api = _api(app, users)
    assert api.get("/api/lotteries/YH-XX-2026-999", status=404).json["error"] == "摇号批次不存在"
    assert api.post_json("/api/lotteries/YH-XX-2026-999/draw", {"seed": SEED}, status=404)
    response = api.delete("/api/lotteries/YH-XX-2026-999", status=405)
    assert response.headers["Allow"] == "GET, HEAD" and response.json["status"] == 405
    assert api.put_json("/api/lotteries", {}, status=405).headers["Allow"] == "GET, HEAD, POST"
    assert api.get("/api/lotteries/YH-XX-2026-999/draw", status=405).headers["Allow"] == "POST"
    assert api.post_json("/api/lotteries", [1], status=400).json["status"] == 400


def test_unknown_lottery_page_is_404(browser, users):
    browser.login("inspector")
    assert "摇号批次不存在" in browser.get("/lotteries/YH-XX-2026-999", status=404).text


def test_verify_shows_a_tampered_record(app, browser, users, store, registered, clock):
    nos, _ = registered
    held = _drawn(_api(app, users), clock, nos)
    with store() as root:
        record = root.lotteries.get(held["lottery_id"])
        (r1, n1, t1), (r2, n2, t2), *rest = record.order
        record.order = ((r1, n2, t1), (r2, n1, t2), *rest)
    browser.login("auditor")
    result = browser.get(f"/lotteries/{held['lottery_id']}/verify").html.select_one("#verify-result")
    assert "不一致" in result.text and "text-danger" in result["class"]
    assert _api(app, users, "auditor").get(held["links"]["self"]).json["verified"] is False


def test_a_lottery_stored_before_commitments_still_opens(app, browser, users, store, registered):
    from archive.workflow.lottery import draw as model
    nos, _ = registered
    with store() as root:
        parts = [(no, ()) for no in nos]
        old = model.Lottery("YH-CZ-2025-001", "changzhou", SEED, [], parts, model.draw(SEED, parts, []),
                            NOW, "reviewer")
        state = old.__getstate__()
        for name in ("commitment", "draw_on", "state"):
            state.pop(name)                     # what an older pickle holds
        stored = model.Lottery.__new__(model.Lottery)
        stored.__setstate__(state)
        root.lotteries.add(stored)
    body = _api(app, users).get("/api/lotteries/YH-CZ-2025-001").json
    assert body["state"] == "drawn" and body["commitment"] is None and body["verified"] is True
    browser.login("auditor")
    page = browser.get("/lotteries/YH-CZ-2025-001/verify")
    assert page.html.select_one("#commitment") is None and "一致" in page.html.select_one("#verify-result").text


# -- the advance notice (预告期): Tengchong 15 days, the others none -----------------------------
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


RULE = "腾冲市要求摇号前至少提前 15 日向社会预告"


@pytest.mark.parametrize("body, message", [
    ({"draw_on": "2026-03-15"}, f"{RULE}：预告发布于 2026-03-01，最早可于 2026-03-16 摇号"),
    ({"announced_on": "2026-02-01", "draw_on": "2026-03-10"}, "最早可于 2026-03-16 摇号"),
    ({"announced_on": "16/03/2026"}, "预告发布日期应为 YYYY-MM-DD 格式的日期"),
    ({"announced_on": 20260301}, "预告发布日期应为 YYYY-MM-DD 格式的日期"),
])
def test_api_refuses_a_tengchong_draw_date_inside_its_notice_period(app, users, store, tengchong,
                                                                   body, message):
    before = _state(store, tengchong)
    response = _announce(_api(app, users), tengchong, "tengchong", status=422, **body)
    assert response["status"] == 422 and message in response["errors"]["announced_on"]
    assert _state(store, tengchong) == before


def test_api_draws_a_tengchong_lottery_15_days_after_the_notice(app, browser, users, store,
                                                               tengchong, clock):
    api = _api(app, users)
    body = _announce(api, tengchong, "tengchong")
    assert body["lottery_id"] == "YH-TC-2026-001" and body["announced_on"] == "2026-03-01"
    clock.now = NOW
    drawn = api.post_json(body["links"]["draw"], {"seed": SEED}).json
    assert drawn["verified"] is True and api.get(body["links"]["self"]).json == drawn
    with store() as root:
        held = root.lotteries.get(body["lottery_id"])
        assert held.announced_on == dt.date(2026, 3, 1) and held.digest == drawn["digest"]
        assert all(len(root.households[no].documents) == 1 for no in tengchong)
    browser.login("auditor")
    page = browser.get(f"/lotteries/{body['lottery_id']}/verify")
    assert page.html.select_one("#announced-on").text == "2026-03-01"
    assert page.html.select_one("#commitment").text == COMMITMENT


def test_form_states_the_rule_and_refuses_a_draw_date_inside_the_period(browser, store, tengchong):
    browser.login("reviewer")
    before = _state(store, tengchong)
    page = browser.get("/lotteries/new", {"jurisdiction": "tengchong"})
    assert RULE in page.html.select_one("#notice-rule").text
    form = page.forms["lottery-form"]
    form["draw_on"] = "2026-03-10"
    page = form.submit(status=422)
    assert "最早可于 2026-03-16 摇号" in page.html.select_one("#lottery-error").text
    assert page.html.select_one("#draw_on")["value"] == "2026-03-10"   # kept for correcting
    assert _state(store, tengchong) == before
    form = page.forms["lottery-form"]
    form["draw_on"] = "2026-03-16"
    result = form.submit(status=201)
    assert result.html.select_one("#announced-on").text == "2026-03-01"


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
    assert {"201", "401", "403", "409", "422"} <= set(lotteries["post"]["responses"])
    given = lotteries["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert given["properties"]["announced_on"]["format"] == "date"
    assert given["required"] == ["jurisdiction", "households", "draw_on"]
    for path, status in (("/draw", "200"), ("/redraw", "200"), ("/redraw/approve", "201")):
        op = doc["paths"]["/api/lotteries/{lottery_id}" + path]["post"]
        assert op["x-permission"] == "lottery" and {status, "403", "404", "409"} <= set(op["responses"])
    shown = one["get"]["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]
    assert shown["properties"]["commitment"]["type"] == ["string", "null"]


def test_a_redraw_through_the_pages_needs_another_officer(app, browser, users, store, registered,
                                                          clock, second):
    nos, _ = registered
    held = _drawn(_api(app, users), clock, nos[:3])
    browser.login("reviewer")
    page = browser.get(f"/lotteries/{held['lottery_id']}")
    form = page.forms["redraw-form"]
    form["reason"], form["draw_on"] = "摇号时公证员未到场", "2026-03-20"
    page = form.submit(status=200)                        # a new seed made here, shown once
    new_seed = page.html.select_one("#seed-once").text
    assert "待另一名摇号人员同意" in page.html.select_one("#lottery-message").text
    page = browser.get(f"/lotteries/{held['lottery_id']}")
    assert "摇号时公证员未到场" in page.html.select_one("#redraw-pending").text
    refused = page.forms["approve-form"].submit(status=403)
    assert "另一名摇号人员同意" in refused.html.select_one("#lottery-error").text
    other = webtest.TestApp(app)
    form = other.get("/login").forms[0]
    form["login"], form["password"] = "reviewer2", PASSWORD
    form.submit()
    result = other.get(f"/lotteries/{held['lottery_id']}").forms["approve-form"].submit().follow()
    new_id = result.html.select_one("#lottery-id").text
    assert new_id != held["lottery_id"] and held["lottery_id"] in result.html.select_one("#redraw-of").text
    assert hashlib.sha256(new_seed.encode()).hexdigest() == result.html.select_one("#commitment").text
    old = browser.get(f"/lotteries/{held['lottery_id']}")
    assert new_id in old.html.select_one("#superseded-by").text and old.html.select_one("#draw-form") is None


def test_a_reviewer_of_one_city_holds_and_sees_only_its_lotteries(app, browser, users, store, registered, clock):
    """局部角色: a reviewer of 厦门 only sees no 常州 batch, counts none, may not announce one,
    and holds a 厦门 one (archive.access.local)."""
    nos, others = registered
    with store() as root:
        root.users.add("xm", "厦门审核员", (), PASSWORD, app.registry.archive_hasher,
                       local_roles=("reviewer@xiamen",))
        users["xm"] = root.users.issue_token("xm")
    changzhou = _announce(_api(app, users), nos)
    xm = _api(app, users, "xm")
    assert xm.get("/api/lotteries").json["total"] == 0
    xm.get(f"/api/lotteries/{changzhou['lottery_id']}", status=403)
    xm.post_json(changzhou["links"]["draw"], {"seed": SEED}, status=403)
    xm.post_json("/api/lotteries", {"jurisdiction": "changzhou", "households": nos, "draw_on": "2026-03-16",
                                    "commitment": COMMITMENT}, status=403)
    held = xm.post_json("/api/lotteries", {"jurisdiction": "xiamen", "households": [others["xiamen"]],
                                           "draw_on": "2026-03-16", "commitment": COMMITMENT}, status=201).json
    listed = xm.get("/api/lotteries").json
    assert listed["total"] == 1 and [i["lottery_id"] for i in listed["items"]] == [held["lottery_id"]]
    browser.login("xm")
    page = browser.get("/lotteries/new")
    assert [o["value"] for o in page.html.select("select[name=jurisdiction] option") if o["value"]] == ["xiamen"]
    listing = browser.get("/lotteries")
    assert held["lottery_id"] in listing.text and changzhou["lottery_id"] not in listing.text
    browser.get(f"/lotteries/{changzhou['lottery_id']}", status=403)
    assert browser.get("/api/lotteries", headers={"Authorization": f"Bearer {users['reviewer']}"}).json["total"] == 2
