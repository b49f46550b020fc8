"""The procedure through the API and the pages: steps, refusals with reasons, worklists,
and one unit allocated to two households at the same moment."""
from __future__ import annotations

import threading

import pytest
import webtest

import walk
from conftest import doc_fields, make_pdf


class Client:
    def __init__(self, app, tokens):
        self.app, self.tokens = webtest.TestApp(app), tokens

    def _h(self, role):
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, url, role="reviewer", status=200):
        return self.app.get(url, headers=self._h(role), status=status).json

    def step(self, no, name, role="reviewer", status=200, kind="households", **body):
        return self.app.post_json(f"/api/{kind}/{no}/transitions", {"transition": name, **body},
                                  headers=self._h(role), status=status).json

    def upload(self, no, doc_type, kind="households"):
        self.app.post(f"/api/{kind}/{no}/documents", doc_fields(doc_type=doc_type),
                      headers=self._h("archivist"), status=201,
                      upload_files=[("file", f"{doc_type}.pdf", make_pdf(doc_type), "application/pdf")])


@pytest.fixture
def client(app, users):
    return Client(app, users)


@pytest.fixture
def arrange(app, store):
    """Run ``fn(procedure, root, registry)`` in its own committed transaction."""
    def run(fn):
        with store() as root:
            return fn(app.registry.archive_procedure, root, app.registry.archive_schemas)
    return run


def registered(procedure, root, registry, n=1, first=0):
    out = []
    for k in range(first, first + n):
        household = walk.new_household(procedure, root, name=f"申请人{k}", seq=11 + 10 * k)
        walk.to_registered(procedure, root, registry, household)
        out.append(household.archive_no)
    return out


def test_new_household_shows_its_state_and_the_reviewer_s_steps(client, app, users):
    no = client.app.post_json("/api/households", {**__import__("conftest").household_input(),
                                                  "comment": "受理"},
                              headers=client._h("archivist"), status=201).json["archive_no"]
    body = client.get(f"/api/households/{no}/transitions")
    assert body["state"]["code"] == "applied" and body["state"]["due"]
    names = {t["name"]: t for t in body["transitions"]}
    assert set(names) == {"accept", "refuse", "return", "withdraw"}
    assert names["accept"]["ready"] is False and "缺少文件" in names["accept"]["problems"][0]
    # an inspector sees the state but may take no step
    assert client.get(f"/api/households/{no}/transitions", role="inspector")["transitions"] == []


def test_refusals_are_4xx_with_every_reason_and_change_nothing(client, store):
    no = client.app.post_json("/api/households", __import__("conftest").household_input(),
                              headers=client._h("archivist"), status=201).json["archive_no"]
    refused = client.step(no, "accept", status=422)
    assert refused["problems"] and "申请表" in refused["problems"][0]
    assert client.step(no, "sign", status=409)["error"].startswith("档案当前处于“待受理”")
    assert client.step(no, "teleport", status=400)["error"] == "没有名为“teleport”的办理步骤"
    assert "必须填写说明" in client.step(no, "refuse", status=422)["error"]
    assert client.step(no, "accept", role="inspector", status=403)
    client.app.post_json(f"/api/households/{no}/transitions", {"transition": "accept", "override": "yes"},
                         headers=client._h("reviewer"), status=422)
    with store() as root:
        household = root.households[no]
        assert household.state == "applied" and household.latest.number == 1


def test_accept_with_the_documents_moves_on_and_is_in_the_history(client, store, app):
    no = client.app.post_json("/api/households", __import__("conftest").household_input(),
                              headers=client._h("archivist"), status=201).json["archive_no"]
    for code in app.registry.archive_profiles["changzhou"].required_documents("accept"):
        client.upload(no, code)
    body = client.step(no, "accept", comment="材料齐全，予以受理")
    assert body["state"]["code"] == "accepted"
    assert body["history"][0]["transition"] == "accept" and body["history"][0]["comment"] == "材料齐全，予以受理"
    versions = client.get(f"/api/households/{no}/versions")["items"]
    assert versions[0]["action"] == "transition" and versions[0]["actor"] == "reviewer"


def test_allocation_and_signing_through_the_api_link_both_dossiers(client, arrange):
    (no,) = arrange(lambda p, root, reg: registered(p, root, reg))
    unit = arrange(lambda p, root, reg: walk.new_unit(p, root, "vacant").archive_no)
    body = client.step(no, "allocate", inputs={"unit": unit})
    assert body["state"]["code"] == "allocated" and body["lease"]["unit"] == unit
    for code in ("lease_contract",):
        client.upload(no, code)
    body = client.step(no, "sign", inputs={"start": "2026-04-01", "end": "2029-03-31", "rent": 600})
    assert body["lease"]["state"] == "current" and body["lease"]["rent"] == 600
    unit_body = client.get(f"/api/units/{unit}/transitions")
    assert unit_body["state"]["code"] == "leased" and unit_body["lease"]["household"] == no
    dossier = client.get(f"/api/households/{no}")
    assert dossier["state"] == "leased" and dossier["linked"][0]["archive_no"] == unit
    # a second household cannot have the same unit
    (other,) = arrange(lambda p, root, reg: registered(p, root, reg, first=5))
    refused = client.step(other, "allocate", inputs={"unit": unit}, status=422)
    assert refused["problems"] == [f"房源 {unit} 已配租给 {no}，不能再配租"]


def test_one_unit_allocated_by_two_reviewers_at_once_goes_to_exactly_one(app, client, arrange, store):
    rounds = 3
    for r in range(rounds):
        first, second = arrange(lambda p, root, reg: registered(p, root, reg, n=2, first=2 * r))
        unit = arrange(lambda p, root, reg: walk.new_unit(p, root, "vacant").archive_no)
        barrier = threading.Barrier(2)
        statuses = {}

        def allocate(no):
            own = webtest.TestApp(app)
            barrier.wait()
            statuses[no] = own.post_json(f"/api/households/{no}/transitions",
                                         {"transition": "allocate", "inputs": {"unit": unit}},
                                         headers=client._h("reviewer"), status="*")

        threads = [threading.Thread(target=allocate, args=(no,)) for no in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_int for r in statuses.values())
        assert codes == [200, 422], codes
        loser = next(no for no, r in statuses.items() if r.status_int == 422)
        winner = next(no for no, r in statuses.items() if r.status_int == 200)
        assert "已配租给" in statuses[loser].json["problems"][0]
        with store() as root:
            assert root.units[unit].lease.household_no == winner
            assert root.households[loser].state == "registered" and root.households[loser].lease is None
            assert root.households[winner].state == "allocated"
            assert [v.transition for v in root.units[unit].history()][0] == "allocate"
            assert len([v for v in root.units[unit].history() if v.transition == "allocate"]) == 1


def test_worklist_lists_what_waits_for_the_role_soonest_first(client, arrange):
    arrange(lambda p, root, reg: walk.new_household(p, root))                       # due in March: overdue
    arrange(lambda p, root, reg: walk.new_household(p, root, when=walk.T0 + 30 * walk.DAY, name="赵六", seq=41))
    body = client.get("/api/worklist")
    assert body["total"] == 2 and [i["overdue"] for i in body["items"]] == [True, True]
    assert body["items"][0]["due"] < body["items"][1]["due"]
    assert client.get("/api/worklist", role="auditor")["total"] == 0
    client.app.get("/api/worklist?limit=x", headers=client._h("reviewer"), status=422)


# -- pages ------------------------------------------------------------------------------------
def test_transition_form_shows_why_it_cannot_go_yet_and_then_goes(browser, app, arrange):
    no = arrange(lambda p, root, reg: walk.new_household(p, root).archive_no)
    browser.login("reviewer")
    page = browser.get(f"/households/{no}")
    assert "待受理" in page.html.select_one("#state").text
    link = page.html.select_one('a.step-link[data-step="accept"]')["href"]
    form_page = browser.get(link)
    assert "缺少文件" in form_page.html.select_one("#problems").text
    refused = form_page.forms["transition-form"].submit(status=422)
    assert "缺少文件" in refused.html.select_one("#refusal").text
    arrange(lambda p, root, reg: walk.file(reg, root.households[no],
                                           *p.profile(root.households[no]).required_documents("accept")))
    form = browser.get(link).forms["transition-form"]
    form["comment"] = "材料齐全"
    done = form.submit().follow()
    assert "审核中" in done.html.select_one("#state").text
    assert "材料齐全" in done.html.select_one("#procedure-history").text


def test_transition_form_without_csrf_is_refused(browser, arrange, store):
    no = arrange(lambda p, root, reg: walk.new_household(p, root).archive_no)
    browser.login("reviewer")
    browser.post(f"/households/{no}/transitions/refuse", {"comment": "不符合条件"}, status=400)
    with store() as root:
        assert root.households[no].state == "applied"


def test_home_page_shows_the_worklist(browser, arrange):
    no = arrange(lambda p, root, reg: walk.new_household(p, root).archive_no)
    browser.login("reviewer")
    home = browser.get("/")
    rows = home.html.select("#worklist tr.work-item")
    assert no in rows[0].text and rows[0].select_one(".overdue")
    browser.login("auditor")
    assert not browser.get("/").html.select("#worklist tr.work-item")


def test_listing_filters_by_procedure_state(browser, arrange):
    arrange(lambda p, root, reg: registered(p, root, reg))
    arrange(lambda p, root, reg: walk.new_household(p, root, name="赵六", seq=41))
    browser.login("archivist")
    page = browser.get("/households?state=registered")
    assert page.html.select_one("#total").text == "1"
    assert "已登记轮候" in page.html.select_one("#listing td.state").text


# -- refusals on the record (issue 16, item 5) ------------------------------------------------
def test_a_refused_step_is_in_the_case_history_but_is_no_version(client, store):
    no = client.app.post_json("/api/households", __import__("conftest").household_input(),
                              headers=client._h("archivist"), status=201).json["archive_no"]
    refused = client.step(no, "accept", comment="先试一次", status=422)
    assert "申请表" in refused["problems"][0]
    client.step(no, "sign", status=409)
    client.step(no, "accept", role="archivist", status=403)
    with store() as root:
        household = root.households[no]
        assert household.latest.number == 1          # no version for a refusal
        assert household.state == "applied"
    events = client.get(f"/api/households/{no}/history?kind=attempts")["events"]
    assert [e["kind"] for e in events] == ["attempt"] * 3
    first = events[0]
    assert first["actor"] == "reviewer" and first["transition"] == "accept"
    assert first["title"] == "被拒绝：受理" and first["flagged"] is True
    assert ["说明", "先试一次"] in first["details"]
    assert any(d[0] == "拒绝原因" and "申请表" in d[1] for d in first["details"])
    assert events[1]["transition"] == "sign" and "待受理" in events[1]["details"][0][1]
    assert events[2]["actor"] == "archivist" and "只能由" in events[2]["details"][0][1]
    # the page shows it, and the audit log has it
    page = client.app.get(f"/households/{no}/history", headers=client._h("reviewer"))
    assert "被拒绝：受理" in page.text and "拒绝原因" in page.text
    with store() as root:
        assert root.log.newest(10, action="refused", target=no)


def test_a_refused_form_post_is_recorded_too(browser, client):
    no = client.app.post_json("/api/households", __import__("conftest").household_input(),
                              headers=client._h("archivist"), status=201).json["archive_no"]
    browser.login("reviewer")
    form = browser.get(f"/households/{no}/transitions/accept").forms["transition-form"]
    form.submit(status=422)
    events = client.get(f"/api/households/{no}/history?kind=attempts")["events"]
    assert len(events) == 1 and events[0]["transition"] == "accept"


# -- issue 16: allocation in draw order, limits by household size, the review's year ----------
def test_allocation_out_of_draw_order_is_a_422_naming_who_is_ahead_and_recorded(client, arrange, app):
    import hashlib
    from archive.workflow.lottery import holding
    seed = "functional-order-1"

    def setup(procedure, root, registry):
        nos = registered(procedure, root, registry, n=3)
        lottery, _ = holding.announce(root, registry, "changzhou", nos, "reviewer", [], "2026-04-01",
                                      hashlib.sha256(seed.encode()).hexdigest(),
                                      when=walk.T0 + 10 * walk.DAY)
        holding.draw_lottery(root, registry, lottery, seed, "reviewer", when=walk.T0 + 31 * walk.DAY)
        units = [walk.new_unit(procedure, root, unit_no=f"70{i}").archive_no for i in range(2)]
        return [no for _, no, _ in lottery.order], units, lottery.name_of(lottery.order[0][1])
    order, units, first_name = arrange(setup)
    refused = client.step(order[1], "allocate", inputs={"unit": units[0]}, status=422)
    assert refused["problems"][0].startswith("选房顺序未到：") and f"{first_name}（{order[0]}）" in refused["problems"][0]
    assert refused["overridable"] is False
    events = client.get(f"/api/households/{order[1]}/history?kind=attempts")["events"]
    assert events[-1]["transition"] == "allocate" and events[-1]["title"] == "被拒绝：配租"
    names = [t["name"] for t in client.get(f"/api/households/{order[0]}/transitions")["transitions"]]
    assert "skip_turn" in names
    assert "必须填写说明" in client.step(order[0], "skip_turn", status=422)["error"]
    client.step(order[0], "skip_turn", comment="电话通知两次，未到场选房")
    assert client.step(order[1], "allocate", inputs={"unit": units[0]})["state"]["code"] == "allocated"


def test_changzhou_asset_limit_for_a_household_of_one_is_a_422_with_the_basis(client, arrange):
    def setup(procedure, root, registry):
        household = walk.new_household(procedure, root, members=[], assets=200000)
        walk.prepared(procedure, root, registry, household, "accept", walk.T0)
        walk.file(registry, household, *walk.stage_docs(procedure, household, "approve"))
        return household.archive_no
    no = arrange(setup)
    refused = client.step(no, "approve", comment="经审核", status=422)
    assert refused["problems"] == ["家庭资产（元） 200,000.0 超过常州市的限额（不得高于 191,925；"
                                   "1人家庭为上年度城镇居民人均可支配收入 63,975 的 3 倍）"]
    assert refused["overridable"] is True
    body = client.step(no, "approve", comment="经集体研究破格", override=True)
    assert body["state"]["code"] == "approved"


def test_dezhou_unit_over_the_area_standard_is_a_422(client, arrange):
    def setup(procedure, root, registry):
        household = walk.new_household(procedure, root, jurisdiction="dezhou", district="德城区",
                                       hukou_district="德城区")
        walk.to_registered(procedure, root, registry, household)
        unit = walk.new_unit(procedure, root, jurisdiction="dezhou", district="德城区", area=58.6)
        return household.archive_no, unit.archive_no
    no, unit = arrange(setup)
    refused = client.step(no, "allocate", inputs={"unit": unit}, status=422)
    assert refused["problems"] == [f"房源 {unit} 的建筑面积（㎡） 58.6 超过德州市的限额（不得高于 45；2人家庭）"]


def test_last_year_s_declaration_is_a_422_at_the_annual_review(client, arrange):
    def setup(procedure, root, registry):
        (no,) = registered(procedure, root, registry)
        household = root.households[no]
        unit = walk.new_unit(procedure, root)
        when = walk.T0 + 40 * walk.DAY
        walk.step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
        walk.prepared(procedure, root, registry, household, "sign", when,
                      inputs={"start": "2026-04-15", "end": "2029-04-14"})
        walk.file(registry, household, "annual_declaration", "recheck_opinion", when=when - 30 * walk.DAY)
        return no
    no = arrange(setup)
    refused = client.step(no, "annual_review", status=422)
    assert len(refused["problems"]) == 2 and "不属于本次年审的年度" in refused["problems"][0]
    assert refused["overridable"] is False
    import zoneinfo
    from archive.records import filing
    today = filing.now().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date().isoformat()
    for code in ("annual_declaration", "recheck_opinion"):
        client.app.post(f"/api/households/{no}/documents", doc_fields(doc_type=code, date=today),
                        headers=client._h("archivist"), status=201,
                        upload_files=[("file", f"{code}.pdf", make_pdf(code), "application/pdf")])
    assert client.step(no, "annual_review")["state"]["code"] == "leased"
