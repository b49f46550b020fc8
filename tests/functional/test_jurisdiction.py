"""Access by jurisdiction (局部角色): a reviewer of 曲靖 only sees, counts and moves 曲靖's
dossiers, in every view that lists across dossiers and in the API; the users page and
the audit log keep the grants."""
from __future__ import annotations

import pytest

import walk
from archive.audit.worker import run_pending
from archive.search.index import drain
from conftest import PASSWORD

QJ = dict(jurisdiction="qujing", hukou_district="麒麟区", district="麒麟区",
          address="曲靖市麒麟区南宁西路1号")


@pytest.fixture
def city(app, store, users):
    """Two households in 常州 and two in 曲靖 (the 曲靖 pair and one 常州 one share a phone),
    a unit in each; the user ``qujing`` is a reviewer of 曲靖 only, with an API token."""
    with store() as root:
        procedure, registry = app.registry.archive_procedure, app.registry.archive_schemas
        cz = [walk.new_household(procedure, root, name="王秀英", seq=21, phone="13900001111"),
              walk.new_household(procedure, root, name="王建华", seq=31)]
        qj = [walk.new_household(procedure, root, name="王建国", seq=41, phone="13900001111", **QJ),
              walk.new_household(procedure, root, name="王丽", seq=51, phone="13900001111", **QJ)]
        walk.file(registry, qj[1], *walk.stage_docs(procedure, qj[1], "accept"))
        walk.new_unit(procedure, root)
        walk.new_unit(procedure, root, jurisdiction="qujing", district="麒麟区",
                      address="曲靖市麒麟区南宁西路9号")
        root.users.add("qujing", "曲靖审核员", (), PASSWORD, app.registry.archive_hasher,
                       local_roles=("reviewer@qujing",))
        users["qujing"] = root.users.issue_token("qujing")
        drain(root, registry, app.registry.archive_search)
        return {"cz": [d.archive_no for d in cz], "qj": [d.archive_no for d in qj]}


def api(browser, users, url, role="qujing", status=200, **params):
    return browser.get(url, params=params or None, headers={"Authorization": f"Bearer {users[role]}"},
                       status=status)


def numbers(text, city):
    """The archive numbers of the city fixture found in a page or JSON text."""
    return {n for n in city["cz"] + city["qj"] if n in text}


def test_listing_shows_and_counts_only_the_jurisdiction(browser, city):
    browser.login("qujing")
    page = browser.get("/households")
    assert numbers(page.text, city) == set(city["qj"])
    options = [o["value"] for o in page.html.select("select[name=jurisdiction] option") if o["value"]]
    assert options == ["qujing"]
    units = browser.get("/units")
    assert "QJ-FY" in units.text and "CZ-FY" not in units.text
    browser.login("reviewer")     # a reviewer everywhere still sees every city
    assert numbers(browser.get("/households").text, city) == set(city["cz"] + city["qj"])


def test_api_listing_total_counts_only_the_jurisdiction(browser, city, users):
    body = api(browser, users, "/api/households").json
    assert body["total"] == 2 and {i["archive_no"] for i in body["items"]} == set(city["qj"])
    body = api(browser, users, "/api/households?jurisdiction=changzhou").json
    assert body["total"] == 0 and body["items"] == []
    assert api(browser, users, "/api/households", role="reviewer").json["total"] == 4


def test_dossier_of_another_city_is_forbidden_page_and_api(browser, city, users):
    browser.login("qujing")
    assert browser.get(f"/households/{city['qj'][0]}").status_int == 200
    browser.get(f"/households/{city['cz'][0]}", status=403)
    api(browser, users, f"/api/households/{city['qj'][0]}")
    api(browser, users, f"/api/households/{city['cz'][0]}", status=403)
    api(browser, users, f"/api/households/{city['cz'][0]}/transitions", status=403)


def test_home_counts_and_recent_only_the_jurisdiction(browser, city):
    home = browser.login("qujing")
    assert numbers(home.text, city) == set(city["qj"])
    assert "常州" not in home.text and "曲靖" in home.text
    nav = {a.get("id") for a in home.html.select("nav a")}
    assert {"nav-worklist", "nav-inspections", "nav-lotteries", "nav-disposition", "nav-credit"} <= nav
    assert not {"nav-shelving", "nav-statistics", "nav-loans"} & nav       # a reviewer neither shelves nor lends


def test_views_across_dossiers_not_narrowed_stay_closed(browser, city, users):
    browser.login("qujing")
    for url in ("/statistics", "/users",
                "/log", "/households/new"):
        browser.get(url, status=403)
    api(browser, users, "/api/statistics", status=404)


def test_worklist_and_its_total_only_the_jurisdiction(browser, city, users):
    browser.login("qujing")
    page = browser.get("/worklist")
    assert numbers(page.text, city) == set(city["qj"])
    body = api(browser, users, "/api/worklist").json
    assert body["total"] == 2 and {i["archive_no"] for i in body["items"]} == set(city["qj"])
    assert api(browser, users, "/api/worklist", role="reviewer").json["total"] == 4


def test_moves_its_dossiers_and_not_the_others(browser, city, users, store):
    ready = city["qj"][1]
    body = api(browser, users, f"/api/households/{ready}/transitions").json
    assert "accept" in [t["name"] for t in body["transitions"]]
    browser.post_json(f"/api/households/{ready}/transitions", {"transition": "accept", "comment": "受理"},
                      headers={"Authorization": f"Bearer {users['qujing']}"})
    with store() as root:
        assert root.households[ready].state == "accepted"
        assert root.households[ready].latest.actor == "qujing"
    browser.post_json(f"/api/households/{city['cz'][0]}/transitions",
                      {"transition": "accept", "comment": "受理"},
                      headers={"Authorization": f"Bearer {users['qujing']}"}, status=403)
    browser.login("qujing")
    page = browser.get(f"/households/{city['qj'][0]}")
    assert page.html.select_one("a[href$='/transitions/accept']") is not None


def test_search_hits_total_and_facets_only_the_jurisdiction(browser, city, users):
    body = api(browser, users, "/api/search", q="王", per_page="100").json
    assert {h["archive_no"] for h in body["hits"]} == set(city["qj"])
    assert body["total"] == len(body["hits"]) >= 2       # the households and 王丽's documents
    assert [(f["value"], f["count"]) for f in body["facets"]["jurisdiction"]] == [("qujing", body["total"])]
    assert sum(f["count"] for f in body["facets"]["kind"]) == body["total"]
    everyone = api(browser, users, "/api/search", role="reviewer", q="王", per_page="100").json
    assert everyone["total"] == body["total"] + 2
    browser.login("qujing")
    page = browser.get("/search", params={"q": "王"})
    assert numbers(page.text, city) == set(city["qj"])
    # an archive number typed (a box label's QR code) opens only a dossier it may see
    assert browser.get("/search", params={"q": city["cz"][0]}).status_int == 200   # no redirect to it
    assert browser.get("/search", params={"q": city["qj"][0]}).status_int == 302


def test_inspections_only_among_the_jurisdiction(browser, city, users, store):
    with store() as root:
        root.users.set_local_roles("qujing", ("reviewer@qujing", "inspector@qujing"))
    browser.login("qujing")
    page = browser.get("/inspections", params={"tab": "phones"})
    assert numbers(page.text, city) == set(city["qj"])
    browser.login("inspector")
    page = browser.get("/inspections", params={"tab": "phones"})
    assert numbers(page.text, city) == {city["cz"][0]} | set(city["qj"])


def test_audit_findings_and_counts_only_the_jurisdiction(browser, city, users, store, app):
    with store() as root:
        root.users.set_local_roles("qujing", ("reviewer@qujing", "auditor@qujing"))
    browser.login("auditor")
    browser.get("/audits").forms["audit-form"].submit()
    with store() as root:
        run_pending(root, app.registry.archive_procedure, app.registry.archive_schemas,
                    app.registry.archive_search)
    everyone = api(browser, users, "/api/audits/1", role="auditor").json
    assert numbers(str(everyone["items"]), city) & set(city["cz"])
    body = api(browser, users, "/api/audits/1").json
    shown = {i["archive_no"] for i in body["items"]}
    assert shown and shown <= set(city["qj"])
    assert body["findings"] == len(body["items"]) and sum(body["by_severity"].values()) == len(body["items"])
    assert body["counts"] == {}
    browser.login("qujing")
    page = browser.get("/audits/1")
    assert numbers(page.text, city) <= set(city["qj"])
    cz_finding = next(i for i in everyone["items"] if i["archive_no"] in city["cz"])
    token = page.html.select_one("input[name=csrf_token]")["value"]
    refused = browser.post("/audits/1/acks", {"csrf_token": token, "fingerprint": cz_finding["fingerprint"],
                                              "comment": "看不见的发现"}, status=400)
    assert "没有这条发现" in refused.text
    assert numbers(browser.get("/audits").text, city) <= set(city["qj"])


def test_a_role_on_one_dossier(browser, city, store):
    one = city["cz"][1]
    with store() as root:
        root.users.set_local_roles("qujing", ("reviewer@qujing", f"inspector@{one}"))
    browser.login("qujing")
    assert numbers(browser.get("/households").text, city) == set(city["qj"]) | {one}
    browser.get(f"/households/{one}")
    browser.get(f"/households/{city['cz'][0]}", status=403)


def test_users_page_grants_local_roles_with_csrf_and_logs_them(browser, city, store):
    browser.login("secadmin")      # the security officer gives roles, local ones included (三员分立)
    row = browser.get("/users").html.select_one("#local-reviewer form")
    token = row.select_one("input[name=csrf_token]")["value"]
    forged = browser.post("/users/reviewer/local-roles", {"local_roles": "archivist@qujing"}, status="*")
    assert forged.status_int in (400, 403)
    with store() as root:
        assert root.users["reviewer"].local_roles == ()
    done = browser.post("/users/reviewer/local-roles",
                        {"csrf_token": token, "local_roles": "archivist@qujing, inspector@dezhou"})
    assert done.status_int == 302
    with store() as root:
        assert root.users["reviewer"].local_roles == ("archivist@qujing", "inspector@dezhou")
        entry = [e for e in root.log.newest(50) if e.action == "user.local_roles"][0]
        assert entry.target == "reviewer" and "archivist@qujing" in entry.detail and entry.actor == "secadmin"
    assert "档案管理员@曲靖市" in browser.get("/users").text
    bad = browser.post("/users/reviewer/local-roles", {"csrf_token": token, "local_roles": "reviewer@atlantis"},
                       status=400)
    assert "既不是辖区代码，也不是现有档号" in bad.text
    with store() as root:
        assert root.users["reviewer"].local_roles == ("archivist@qujing", "inspector@dezhou")
    own = browser.post("/users/secadmin/local-roles", {"csrf_token": token, "local_roles": "reviewer@dezhou"},
                       status=400)
    assert "不能修改自己的角色" in own.text
    sysadmin = browser.post("/users/reviewer/local-roles", {"csrf_token": token, "local_roles": "sysadmin@dezhou"},
                            status=400)
    assert "只能作为全局角色" in sysadmin.text
    with store() as root:
        assert root.users["reviewer"].local_roles == ("archivist@qujing", "inspector@dezhou")
        assert root.users["secadmin"].local_roles == ()
    browser.login("sysadmin")      # the system administrator keeps accounts, gives no roles
    token = browser.get("/users").html.select_one("input[name=csrf_token]")["value"]
    browser.post("/users/reviewer/local-roles", {"csrf_token": token, "local_roles": ""}, status=403)
    browser.login("reviewer")
    token = browser.get("/households").html.select_one("input[name=csrf_token]")["value"]
    browser.post("/users/reviewer/local-roles", {"csrf_token": token, "local_roles": ""}, status=403)


def test_every_view_of_the_permission_matrix_for_a_reviewer_of_one_city(browser, city):
    """test_permissions' routes, as ``qujing``: a reviewer's on a 曲靖 dossier and in the
    narrowed views across dossiers, 403 on a 常州 dossier and everywhere else."""
    from test_permissions import MATRIX, ROUTES
    browser.login("qujing")
    token = browser.get("/households").html.select_one("input[name=csrf_token]")["value"]
    for no, here in ((city["qj"][1], True), (city["cz"][0], False)):
        for method, path, permission, data in ROUTES:
            url = path.format(no=no)
            on_dossier = "{no}" in path
            response = (browser.get(url, status="*") if method == "GET"
                        else browser.post(url, dict(data, csrf_token=token), status="*"))
            narrowed = path in ("/", "/households", "/units")
            allowed = permission in MATRIX["reviewer"] and (here if on_dossier else narrowed)
            if allowed:
                assert response.status_int not in (403,) and response.status_int < 500, (method, url)
            else:
                assert response.status_int == 403, (method, url, response.status)


# -- views opened to local roles: statistics, credit, shelving, loans, disposition, creation -----
def local_roles(store, *roles):
    with store() as root:
        root.users.set_local_roles("qujing", roles)


def totals(page):
    """The 合计 row of the statistics page: [dossiers, documents, pages]."""
    rows = [[td.text for td in tr.select("td")] for tr in page.html.select("table.statistics-table tr")]
    return next(r[1:] for r in rows if r and r[0] == "合计")


def test_statistics_count_only_the_jurisdiction(browser, city, store):
    import datetime as dt
    from archive.custody import loans
    now = dt.datetime.now(dt.timezone.utc)
    with store() as root:
        for no in (city["qj"][0], city["cz"][0], city["cz"][1]):
            root.loans.request("auditor", "审计员", [loans.Item("household", no)], "research", "read",
                               now.date() + dt.timedelta(days=9), False, "", now, now.date())
    browser.login("qujing")
    browser.get("/statistics", status=403)           # a reviewer has no statistics, here or anywhere
    local_roles(store, "reviewer@qujing", "auditor@qujing")
    page = browser.login("qujing")
    assert page.html.select_one("#nav-statistics") is not None
    page = browser.get("/statistics")
    assert totals(page)[0] == "3"                    # two households and a unit of 曲靖
    assert "曲靖市" in page.text and "常州市" not in page.text
    assert [b["data-count"] for b in page.html.select("#chart-months rect.bar") if b["data-count"] != "0"] == ["1"]
    csv_text = browser.get("/statistics/report.csv").body.decode("utf-8-sig")
    assert "常州市" not in csv_text and "合计,3," in csv_text
    assert browser.get("/statistics/report.pdf").content_type == "application/pdf"
    browser.login("auditor")
    page = browser.get("/statistics")
    assert totals(page)[0] == "6" and "常州市" in page.text


@pytest.fixture
def stacks(city, store):
    """Room A (box 001 holds 曲靖's households, box 002 a 常州 one) and room B (常州 only)."""
    import datetime as dt
    from archive.custody import shelving
    when = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    with store() as root:
        add = root.stacks.add_place
        add("", "A", "", "archivist", when), add("A", "01", "", "archivist", when)
        add("A-01", "01", "", "archivist", when)
        for box in ("001", "002"):
            add("A-01-01", box, "", "archivist", when)
        add("", "B", "", "archivist", when), add("B", "01", "", "archivist", when)
        add("B-01", "01", "", "archivist", when), add("B-01-01", "001", "", "archivist", when)
        for no, box in ((city["qj"][0], "A-01-01-001"), (city["qj"][1], "A-01-01-001"),
                        (city["cz"][0], "A-01-01-002"), (city["cz"][1], "B-01-01-001")):
            shelving.shelve(root.stacks, root.households[no], box, "archivist", when)


def test_shelving_shows_only_the_places_holding_the_jurisdiction(browser, city, stacks, store, users):
    local_roles(store, "archivist@qujing")
    home = browser.login("qujing")
    assert home.html.select_one("#nav-shelving") is not None
    rooms = [a.text for a in browser.get("/shelving").html.select("#rooms a")]
    assert rooms == ["A"]
    layer = browser.get("/shelving/A-01-01")
    assert [a.text for a in layer.html.select("#children a")] == ["A-01-01-001"]
    assert numbers(layer.text, city) == set(city["qj"]) and "应存档案（2）" in layer.text
    assert layer.html.select_one("#place-form") is None        # the register is the building's
    refused = browser.get("/shelving/B", status=403)
    assert "未存放您辖区的档案" in refused.text
    browser.get("/shelving/A-01-01-002", status=403)
    body = api(browser, users, "/api/places").json
    assert {i["code"] for i in body["items"]} == {"A", "A-01", "A-01-01", "A-01-01-001"} and body["total"] == 4
    assert {h["archive_no"] for h in api(browser, users, "/api/places/A-01-01").json["holdings"]} == set(city["qj"])
    api(browser, users, "/api/places/B-01", status=403)
    browser.login("archivist")
    assert [a.text for a in browser.get("/shelving").html.select("#rooms a")] == ["A", "B"]


def test_stocktakes_only_where_every_volume_is_the_jurisdictions(browser, city, stacks, store, users):
    local_roles(store, "archivist@qujing")
    browser.login("qujing")
    token = browser.get("/shelving/A-01-01-001").html.select_one("input[name=csrf_token]")["value"]
    done = browser.post("/shelving/A-01-01-001/stocktakes",
                        {"csrf_token": token, "scanned": f"{city['qj'][0]}\n{city['cz'][1]}"})
    take = browser.get(done.location)
    assert city["qj"][1] in take.text and city["cz"][1] in take.text   # missing; the stray is "unknown"
    assert "B-01-01-001" not in take.text                              # where 常州's volume stands: not told
    refused = browser.post("/shelving/A-01-01/stocktakes", {"csrf_token": token, "scanned": ""}, status=403)
    assert "辖区以外" in refused.text
    refused = browser.post("/shelving", {"csrf_token": token, "parent": "A-01-01", "code": "009"}, status=403)
    assert "全馆" in refused.text
    headers = {"Authorization": f"Bearer {users['qujing']}"}
    browser.post_json("/api/places", {"parent": "A", "code": "09"}, headers=headers, status=403)
    browser.post_json("/api/places/A-01-01/stocktakes", {"scanned": []}, headers=headers, status=403)
    with store() as root:
        assert "A-09" not in root.stacks.places and len(root.stacks.stocktakes) == 1
    browser.login("archivist")
    token = browser.get("/shelving/A-01-01").html.select_one("input[name=csrf_token]")["value"]
    other = browser.post("/shelving/A-01-01/stocktakes", {"csrf_token": token, "scanned": ""}).location
    browser.login("qujing")
    browser.get(other, status=403)
    assert api(browser, users, "/api/places/A-01-01/stocktakes").json["total"] == 0
    assert api(browser, users, "/api/places/A-01-01-001/stocktakes").json["total"] == 1


@pytest.fixture
def due(city, store, app, browser, users):
    """曲靖's first household and 常州's first exited long ago, each with an income proof
    (10 years): due for appraisal, destruction approved by the global reviewer; 常州's on a
    destruction list drawn up by the global archivist."""
    import datetime as dt
    from archive.workers import textlayer
    long_ago = dt.datetime(2010, 1, 4, tzinfo=dt.timezone.utc)
    pair = (city["qj"][0], city["cz"][0])
    with store() as root:
        for no in pair:
            walk.file(app.registry.archive_schemas, root.households[no], "income_proof")
            root.households[no].move("complete_exit", "exited", "reviewer", long_ago, "退出")
        textlayer.drain(root)
    for no in pair:
        browser.post_json(f"/api/households/{no}/appraisals", {"action": "destroy", "reason": "期满无保存价值"},
                          headers={"Authorization": f"Bearer {users['archivist']}"}, status=201)
        browser.post_json(f"/api/households/{no}/appraisals/1/decision", {"approve": True, "opinion": "同意"},
                          headers={"Authorization": f"Bearer {users['reviewer']}"})
    browser.post_json("/api/destruction-lists", {"archive_nos": [city["cz"][0]]},
                      headers={"Authorization": f"Bearer {users['archivist']}"}, status=201)
    return pair


def test_disposition_lists_only_the_jurisdiction_and_refuses_others(browser, city, due, store, users):
    qj, cz = due
    local_roles(store, "archivist@qujing")
    home = browser.login("qujing")
    assert home.html.select_one("#nav-disposition") is not None
    page = browser.get("/disposition")
    assert numbers(page.text, city) == {qj} and "/destruction-lists/1" not in page.text
    body = api(browser, users, "/api/disposition/due").json
    assert body["total"] == 1 and [i["archive_no"] for i in body["items"]] == [qj]
    assert api(browser, users, "/api/disposition/due", role="archivist").json["total"] == 2
    assert api(browser, users, "/api/destruction-lists").json == {"total": 0, "items": []}
    refused = api(browser, users, "/api/destruction-lists/1", status=403).json
    assert "辖区以外" in refused["error"]
    browser.get("/destruction-lists/1", status=403)
    headers = {"Authorization": f"Bearer {users['qujing']}"}
    refused = browser.post_json("/api/destruction-lists", {"archive_nos": [qj, cz]}, headers=headers,
                                status=403).json
    assert cz in refused["error"] and "不在您的辖区" in refused["error"]
    browser.post_json("/api/destruction-lists/1/approval", {}, headers=headers, status=403)
    browser.post_json("/api/destruction-lists/1/execution", {}, headers=headers, status=403)
    with store() as root:
        from archive.disposition.book import book_of
        assert len(book_of(root).lists) == 1 and book_of(root).lists[1].status == "drafted"
    drawn = browser.post_json("/api/destruction-lists", {"archive_nos": [qj]}, headers=headers, status=201).json
    assert drawn["number"] == 2 and [r["archive_no"] for r in drawn["rows"]] == [qj]
    assert api(browser, users, "/api/destruction-lists").json["total"] == 1
    assert [i["number"] for i in api(browser, users, "/api/destruction-lists", role="archivist").json["items"]] == [1, 2]


def test_holds_only_of_the_jurisdiction(browser, city, due, store, users):
    qj, cz = due
    for no in (qj, cz):
        browser.post_json(f"/api/households/{no}/holds", {"reason": "inspection", "note": "稽查"},
                          headers={"Authorization": f"Bearer {users['archivist']}"}, status=201)
    local_roles(store, "reviewer@qujing")
    body = api(browser, users, "/api/holds").json
    assert body["total"] == 1 and body["open"] == 1 and numbers(str(body["items"]), city) == {qj}
    browser.login("qujing")
    assert numbers(browser.get("/holds").text, city) == {qj}
    browser.post_json(f"/api/households/{cz}/holds", {"reason": "inspection", "note": "稽查"},
                      headers={"Authorization": f"Bearer {users['qujing']}"}, status=403)


def test_a_local_archivist_creates_dossiers_in_his_jurisdiction_only(browser, city, store, users):
    from conftest import household_input, unit_input
    headers = {"Authorization": f"Bearer {users['qujing']}"}
    browser.post_json("/api/households", household_input(seq=61, **QJ), headers=headers, status=403)  # a reviewer
    local_roles(store, "archivist@qujing")
    with store() as root:
        issued = len(root.numbers.issued)
    body = browser.post_json("/api/households", household_input(seq=61, **QJ), headers=headers, status=201).json
    assert body["archive_no"].startswith("QJ-HH-") and body["metadata"]["jurisdiction"] == "qujing"
    unit = dict(unit_input(), jurisdiction="qujing", district="麒麟区", address="曲靖市麒麟区南宁西路19号")
    assert browser.post_json("/api/units", unit, headers=headers, status=201).json["archive_no"].startswith("QJ-")
    refused = browser.post_json("/api/households", household_input(seq=71), headers=headers, status=403).json
    assert "只能在您的辖区建档" in refused["error"] and "常州市" in refused["error"]
    browser.post_json("/api/units", unit_input(), headers=headers, status=403)
    with store() as root:
        assert len(root.numbers.issued) == issued + 2          # no number spent on a refusal
        assert not [d for d in root.households.values() if d.archive_no.startswith("CZ") and
                    d.latest.actor == "qujing"]
    browser.login("qujing")
    for kind in ("households", "units"):       # offered his city only; a global archivist every city
        offered = browser.get(f"/{kind}/new").html.select("select[name=jurisdiction] option")
        assert [o["value"] for o in offered if o["value"]] == ["qujing"]
    browser.login("archivist")
    offered = browser.get("/households/new").html.select("select[name=jurisdiction] option")
    assert len([o for o in offered if o["value"]]) == 5


def test_loans_only_of_the_jurisdiction(browser, city, store, users):
    import datetime as dt
    from archive.custody import loans
    now = dt.datetime.now(dt.timezone.utc)
    with store() as root:
        def ask(*numbers):
            return root.loans.request("borrower", "法院", [loans.Item("household", n) for n in numbers],
                                      "research", "read", now.date() + dt.timedelta(days=9), False, "",
                                      now, now.date()).loan_id
        ours, theirs, mixed = ask(city["qj"][0]), ask(city["cz"][0]), ask(city["qj"][1], city["cz"][1])
    api(browser, users, "/api/loans", status=403)                  # a reviewer does not lend
    local_roles(store, "archivist@qujing")
    body = api(browser, users, "/api/loans").json
    assert body["total"] == 1 and [i["id"] for i in body["items"]] == [ours]
    assert api(browser, users, "/api/loans", role="archivist").json["total"] == 3
    refused = api(browser, users, f"/api/loans/{mixed}", status=403).json
    assert "辖区以外" in refused["error"]
    headers = {"Authorization": f"Bearer {users['qujing']}"}
    browser.post_json(f"/api/loans/{theirs}/approve", {"comment": "同意"}, headers=headers, status=403)
    done = browser.post_json(f"/api/loans/{ours}/approve", {"comment": "同意"}, headers=headers).json
    assert done["state"] == "approved" and done["decided_by"] == "qujing"
    with store() as root:
        assert root.loans.get(theirs).state == "requested" and root.loans.get(mixed).state == "requested"
    home = browser.login("qujing")
    assert home.html.select_one("#nav-loans") is not None
    page = browser.get("/loans")
    assert ours in page.text                       # unsealed here: shown by its request id
    assert theirs not in page.text and mixed not in page.text
    browser.get(f"/loans/{theirs}", status=403)


def test_credit_record_only_of_the_jurisdiction(browser, city, store, users):
    people = {}
    with store() as root:
        for no in (city["qj"][0], city["cz"][0]):
            person = next(iter(root.households[no].people()))
            people[no] = (person["id_number"], person["name"])
    for no, (id_number, _) in people.items():
        browser.post_json(f"/api/households/{no}/credit",
                          {"id_number": id_number, "kind": "fraud", "day": "2026-03-01", "description": "虚报收入"},
                          headers={"Authorization": f"Bearer {users['reviewer']}"}, status=201)
    body = api(browser, users, "/api/credit").json
    assert body["total"] == 1 and [e["archive_no"] for e in body["items"][0]["events"]] == [city["qj"][0]]
    assert api(browser, users, "/api/credit", role="reviewer").json["total"] == 2
    cz_id = people[city["cz"][0]][0]
    assert api(browser, users, "/api/credit", q=cz_id).json["total"] == 0     # typed in full: still not shown
    browser.login("qujing")
    page = browser.get("/credit")
    assert numbers(page.text, city) == {city["qj"][0]}
    headers = {"Authorization": f"Bearer {users['qujing']}"}
    browser.post_json(f"/api/households/{city['cz'][1]}/credit",
                      {"id_number": cz_id, "kind": "fraud", "day": "2026-03-01", "description": "虚报"},
                      headers=headers, status=403)


def test_the_openapi_document_says_which_routes_a_local_role_may_use(browser):
    doc = browser.get("/api/openapi.json").json
    for path, method in (("/api/loans", "get"), ("/api/places", "get"), ("/api/holds", "get"),
                         ("/api/destruction-lists", "post"), ("/api/households", "post"), ("/api/credit", "get")):
        op = doc["paths"][path][method]
        assert op["x-local-roles"] == "narrowed" and "局部角色" in op["description"] and "403" in op["responses"]
    assert "x-local-roles" not in doc["paths"]["/api/households/{no}"]["get"]   # a dossier: its own check
