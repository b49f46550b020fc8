"""Search through the WSGI app: the page, GET /api/search, masking, refusals, and that a
refused request leaves nothing for the indexer."""
from __future__ import annotations

import pytest
import transaction

from archive.search.index import check, drain
from conftest import doc_fields, household_input, make_pdf


@pytest.fixture
def index_now(app, store):
    """Run the indexer as the web server's worker would after the commits so far."""
    def run():
        with store() as root:
            return drain(root, app.registry.archive_schemas, app.registry.archive_search)
    return run


@pytest.fixture
def city(api, index_now):
    """Two households, one with a filed income proof whose text names a street."""
    first = api.household(name="王秀英", seq=21)["archive_no"]
    second = api.household(name="李建华", seq=41, phone="13700001234")["archive_no"]
    api.upload(f"/api/households/{first}/documents",
               content=make_pdf("收入证明 王秀英 家庭人均月收入 龙锦路 身份证 320402198005060216", pages=2),
               fields=doc_fields(doc_type="income_proof", title="收入证明", issuer="天宁区民政局"))
    with_text(api)
    index_now()
    return first, second


def with_text(api):
    """Read the filed files' text layers, as the text worker does after the commit."""
    from archive.workers.textlayer import drain as text_drain
    db = api.client.app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        text_drain(conn.root()["archive"])
    conn.close()


def test_the_page_finds_highlights_and_links_to_the_page_of_the_file(browser, city):
    first, _ = city
    browser.login("inspector")
    page = browser.get("/search", params={"q": "龙锦路 收入"})
    hit = page.html.select_one(".search-hit")
    assert hit["data-key"] == f"household/{first}/D0001"
    assert "<mark" in str(hit.select_one(".snippet")) and "龙锦路" in hit.text
    assert hit.select_one(".hit-title")["href"].endswith(f"/households/{first}#doc-D0001")
    assert hit.select_one(".hit-file")["href"].endswith(f"/households/{first}/documents/D0001/files/1#page=1")
    facets = {f["data-facet"]: f.text for f in page.html.select(".facet")}
    assert "文件" in facets["kind"] and "收入证明" in facets["doc_type"]
    browser.get(hit.select_one(".hit-title")["href"].split("#")[0])   # the link opens


def test_facet_links_narrow_the_results(browser, city):
    browser.login("archivist")
    page = browser.get("/search", params={"q": "王秀英"})
    assert len(page.html.select(".search-hit")) == 2          # the household and its document
    link = [a for a in page.html.select('.facet[data-facet="kind"] a') if "住户档案" in a.text][0]
    narrowed = browser.get(link["href"])
    assert [h["data-key"].count("/") for h in narrowed.html.select(".search-hit")] == [1]


def test_snippets_and_api_never_show_a_whole_id_number(api, browser, city):
    first, _ = city
    number = household_input(name="王秀英", seq=21)["applicant"]["id_number"]
    body = api.get("/api/search", params={"q": number}, role="inspector").json
    assert body["hits"][0]["archive_no"] == first
    shown = str(body["hits"]) + str(body["facets"])
    assert number not in shown and number[:4] + "**********" + number[-4:] in shown
    browser.login("inspector")
    hits = browser.get("/search", params={"q": number}).html.select(".search-hit")
    assert hits and all(number not in str(h) for h in hits)     # only the search box echoes it


def test_api_returns_hits_facets_and_paging(api, city):
    first, second = city
    body = api.get("/api/search", params={"q": "13700001234"}, role="auditor").json
    assert [h["archive_no"] for h in body["hits"]] == [second]
    body = api.get("/api/search", params={"q": "王秀英 OR 李建华", "per_page": 1, "page": 2,
                                          "sort": "date"}).json
    assert (body["total"], body["pages"], len(body["hits"])) == (3, 3, 1)
    kinds = {f["value"]: f["count"] for f in body["facets"]["kind"]}
    assert kinds == {"household": 2, "document": 1}
    assert {f["title"] for f in body["facets"]["kind"]} == {"住户档案", "文件"}
    only = api.get("/api/search", params={"q": "王秀英", "kind": "document"}).json
    assert [h["key"] for h in only["hits"]] == [f"household/{first}/D0001"]
    assert only["hits"][0]["links"]["file"].endswith("#page=1")


@pytest.mark.parametrize("params, message", [
    ({"q": ""}, "请输入"), ({"q": "颜色:红"}, "未知的检索字段"), ({"q": "住房", "page": "x"}, "整数"),
    ({"q": "住房", "sort": "size"}, "排序方式"), ({"q": "住房", "per_page": "500"}, "每页条数"),
    ({"q": "住房", "colour": "red"}, None), ({"q": "。。"}, "没有可检索的词"),
])
def test_bad_queries_are_400_with_a_reason(api, browser, params, message):
    if message is None:              # unknown parameters are ignored like anywhere else
        api.get("/api/search", params=params)
        return
    body = api.get("/api/search", params=params, status=400).json
    assert message in body["error"] and body["status"] == 400
    if params["q"]:
        browser.login("archivist")
        page = browser.get("/search", params=params, status=400)
        assert message in page.html.select_one("#search-error").text


def test_search_needs_a_login(api, browser):
    api.get("/api/search", params={"q": "住房"}, role=None, status=401)
    assert "/login" in browser.get("/search", params={"q": "住房"}, status=302).location


def test_a_refused_request_queues_nothing_for_the_index(api, store):
    api.post_json("/api/households", {**household_input(), "phone": "12"}, status=422)
    with store() as root:
        assert len(root.index_queue) == 0 and len(root.households) == 0


def test_the_index_follows_edits_and_the_check_agrees(api, store, app, index_now, city):
    first, _ = city
    changed = {**household_input(name="王秀英", seq=21), "notes": "申请人已搬至青果巷"}
    response = api.put_json(f"/api/households/{first}", {**changed, "comment": "更正地址"}, status="*")
    assert response.status_int == 200, response.text
    assert api.get("/api/search", params={"q": "青果巷"}).json["total"] == 0   # not yet indexed
    with store() as root:
        assert check(root, app.registry.archive_search).ok        # queued, so not reported
    index_now()
    assert [h["archive_no"] for h in api.get("/api/search", params={"q": "青果巷"}).json["hits"]] == [first]
    with store() as root:
        report = check(root, app.registry.archive_search)
        assert report.ok and report.queued == 0 and report.checked == 2
