"""Case history (案件历程) and inspections (案件核查) through the WSGI app, under the roles."""
from __future__ import annotations

import datetime as dt
import pathlib

import pytest
import webtest
import yaml

import walk
from archive.records import filing
from archive.workflow.credit import Ban
from conftest import READERS, household_input
from walk import DAY, T0, prepared, step

MATRIX = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "schemas" / "roles.yaml")
                        .read_text(encoding="utf-8"))["roles"]
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def city(app, store, users):
    """Two households sharing a person, an address (typed differently) and a phone; the
    first changed after its approval and let a unit; a third household apart from both."""
    with store() as root:
        procedure, registry = app.registry.archive_procedure, app.registry.archive_schemas
        first = walk.new_household(procedure, root)
        spouse = first.metadata["members"][0]
        root.credit.record_ban(Ban(spouse["id_number"], "fraud", dt.date(2019, 3, 1), dt.date(2024, 3, 1),
                                   note="隐瞒名下房产", recorded_by="reviewer"))
        second = walk.new_household(procedure, root, name="王五", seq=31,
                                    address="常州市天宁区青龙街道 龙锦路８８号", phone="139 0000 1111")
        second.metadata = {**second.metadata, "members": [dict(spouse, relation="other")]}
        apart = walk.new_household(procedure, root, name="赵六", seq=41, address="常州市钟楼区南大街1号",
                                   phone="13900002222", members=[])
        unit = walk.new_unit(procedure, root)
        prepared(procedure, root, registry, first, "accept", T0 + HOUR)
        prepared(procedure, root, registry, first, "approve", T0 + DAY)
        data = registry["household"].colander().serialize({**first.metadata, "phone": "13900001111"})
        filing.edit_dossier(first, registry, data, "archivist", "更换联系电话", when=T0 + DAY + HOUR)
        prepared(procedure, root, registry, first, "publish", T0 + 2 * DAY)
        when = walk.after_period(procedure, first, "publicity", T0 + 2 * DAY)
        prepared(procedure, root, registry, first, "register", when)
        step(procedure, root, first, "allocate", when + HOUR, inputs={"unit": unit.archive_no})
        return {"first": first.archive_no, "second": second.archive_no, "apart": apart.archive_no,
                "unit": unit.archive_no, "spouse": spouse["id_number"], "phones": ("13812345678", "13900001111")}


def rows(page):
    return page.html.select("#timeline tr.event")


# -- the case history page ---------------------------------------------------------------------
def test_inspector_reads_the_whole_history_in_order_with_personal_data_masked(browser, city):
    browser.login("inspector")
    page = browser.get(f"/households/{city['first']}/history")
    events = rows(page)
    kinds = [r["data-kind"] for r in events]
    assert kinds[0] == "ban" and kinds[1] == "created" and kinds[-1] == "transition"
    steps = [r.select_one(".version-link").text for r in events if r["data-kind"] == "transition"]
    assert steps == ["受理", "审核通过", "公示", "公示期满登记", "配租"]
    edit = next(r for r in events if "更换联系电话" in r.text)
    assert "138****5678" in edit.text and "139****1111" in edit.text
    for raw in (city["spouse"],) + city["phones"]:
        assert raw not in page.text
    allocate = events[-1]
    assert allocate.select_one("[data-fact=lease_offer]") is not None
    assert allocate.select_one(".fact-link")["href"].endswith(f"/units/{city['unit']}")
    version = allocate.select_one(".version-link")["href"]
    assert browser.get(version).status_int == 200


def test_filters_and_newest_first(browser, city):
    browser.login("inspector")
    url = f"/households/{city['first']}/history"
    documents = rows(browser.get(url, {"kind": "documents"}))
    assert documents and {r["data-kind"] for r in documents} == {"filed"}
    both = rows(browser.get(url + "?kind=credit&kind=lease"))
    assert [r["data-kind"] for r in both] == ["ban", "transition"]
    oldest, newest = rows(browser.get(url)), rows(browser.get(url, {"order": "desc"}))
    assert [r["data-kind"] for r in newest] == [r["data-kind"] for r in reversed(oldest)]


def test_reveal_is_logged_and_only_for_roles_that_may_see_personal_data(browser, city, store):
    browser.login("inspector")
    page = browser.get(f"/households/{city['first']}/history", {"reveal": "1"})
    assert "13812345678" in page.text and city["spouse"] in page.text
    with store() as root:
        assert root.log.newest(1)[0].action == "personal.unmask"
    browser.login("auditor")
    page = browser.get(f"/households/{city['first']}/history", {"reveal": "1"})
    assert "13812345678" not in page.text and not page.html.select("#reveal-link")


def test_every_role_may_read_a_history_and_unknown_households_are_404(browser, city):
    for role in READERS:
        browser.login(role)
        assert browser.get(f"/households/{city['first']}/history").status_int == 200
    assert browser.get("/households/NO-SUCH/history", status=404).status_int == 404
    assert browser.get(f"/units/{city['unit']}/history", status=404).status_int == 404


def test_dossier_page_links_its_history(browser, city):
    browser.login("archivist")
    page = browser.get(f"/households/{city['first']}")
    assert page.html.select_one("#history-link")["href"].endswith(f"/households/{city['first']}/history")
    assert not browser.get(f"/units/{city['unit']}").html.select("#history-link")


def test_history_in_english(browser, city):
    browser.login("inspector")
    browser.get("/locale/en")
    page = browser.get(f"/households/{city['first']}/history")
    assert "Case history" in page.text and "Approve" in page.text
    assert "Barred from applying: False material" in page.text


# -- the history in JSON -------------------------------------------------------------------------
def api(app, users, role="inspector"):
    client = webtest.TestApp(app)
    client.authorization = ("Bearer", users[role])
    return client


def test_api_history_same_events_as_json(app, users, city, store):
    client = api(app, users)
    body = client.get(f"/api/households/{city['first']}/history").json
    assert body["archive_no"] == city["first"] and body["unmasked"] is False
    events = body["events"]
    assert [e["kind"] for e in events[:2]] == ["ban", "created"]
    assert events[0]["date_only"] is True and events[0]["when"] == "2019-03-01"
    assert events[0]["facts"][0]["ref"] == city["spouse"][:4] + "**********" + city["spouse"][-4:]
    allocate = events[-1]
    assert allocate["transition"] == "allocate" and allocate["groups"] == ["procedure", "lease"]
    assert allocate["facts"][0]["kind"] == "lease_offer"
    assert allocate["facts"][0]["link"]["href"].endswith(f"/api/units/{city['unit']}")
    assert client.get(allocate["href"]).json["number"] == allocate["version"]
    assert city["spouse"] not in client.get(f"/api/households/{city['first']}/history").text
    lease = client.get(f"/api/households/{city['first']}/history?kind=lease").json
    assert [e["transition"] for e in lease["events"]] == ["allocate"] and lease["kinds"] == ["lease"]
    unmasked = client.get(f"/api/households/{city['first']}/history?unmask=1").text
    assert city["spouse"] in unmasked
    with store() as root:
        assert root.log.newest(1)[0].action == "personal.unmask"


def test_api_history_refusals(app, users, city):
    client = api(app, users)
    assert client.get("/api/households/NO-SUCH/history", status=404).json["status"] == 404
    bad = client.get(f"/api/households/{city['first']}/history?kind=nope", status=422).json
    assert "kind" in bad["errors"]
    assert client.post_json(f"/api/households/{city['first']}/history", {}, status=405).headers["Allow"] == "GET, HEAD"
    assert webtest.TestApp(app).get(f"/api/households/{city['first']}/history", status=401)


# -- inspections ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", READERS)
def test_inspections_only_for_roles_with_inspect(browser, city, role):
    browser.login(role)
    allowed = "inspect" in MATRIX[role]
    response = browser.get("/inspections", status="*")
    assert response.status_int == (200 if allowed else 403)
    assert bool(browser.get("/").html.select("#nav-inspections")) == allowed


def test_each_inspection_finds_the_planted_sharing_and_nothing_else(browser, city):
    browser.login("inspector")
    pair = [city["first"], city["second"]]
    for tab in ("members", "addresses", "phones"):
        page = browser.get("/inspections", {"tab": tab})
        groups = page.html.select(".inspection-group")
        assert len(groups) == 1, tab
        assert [h["data-archive-no"] for h in groups[0].select(".holder")] == pair, tab
        assert city["apart"] not in page.text
        links = [a["href"] for a in groups[0].select("a")]
        assert any(link.endswith(f"/households/{city['first']}") for link in links)
        assert any(link.endswith(f"/households/{city['second']}/history") for link in links)
    members = browser.get("/inspections", {"tab": "members"})
    assert city["spouse"] not in members.text
    assert members.html.select_one(".group-key").text == city["spouse"][:4] + "**********" + city["spouse"][-4:]
    phones = browser.get("/inspections", {"tab": "phones"}).text
    assert "13900001111" not in phones and "139 0000 1111" not in phones
    changed = browser.get("/inspections", {"tab": "changed"})
    groups = changed.html.select(".inspection-group")
    assert [g["data-archive-no"] for g in groups] == [city["first"]]
    change = groups[0].select(".change")     # the correction, then the publicity record filed
    assert len(change) == 2 and "archivist" in change[0].text and "更换联系电话" in change[0].text
    assert "139****1111" in change[0].text and "公示记录" in change[1].text


def test_inspections_reveal_is_logged(browser, city, store):
    browser.login("inspector")
    page = browser.get("/inspections", {"tab": "members", "reveal": "1"})
    assert page.html.select_one(".group-key").text == city["spouse"]
    with store() as root:
        entry = root.log.newest(1)[0]
        assert (entry.action, entry.actor) == ("personal.unmask", "inspector")


def test_inspections_are_silent_on_clean_data(browser, users):
    browser.login("inspector")
    for tab in ("members", "addresses", "phones", "changed"):
        page = browser.get("/inspections", {"tab": tab})
        assert not page.html.select(".inspection-group") and page.html.select("#inspection-empty")
