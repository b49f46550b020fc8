"""Custody through the WSGI app: 归档章 in pages and API, the bound volume, box labels,
the register of places, shelving moves and stock-takes, and every refusal a clear 4xx."""
from __future__ import annotations

import hashlib
import io

import pytest
import webtest
from pypdf import PdfReader

import conftest
from conftest import doc_fields, employer_dossier, household_input, make_pdf, unit_input


class Api(conftest.Api):
    """The shared client with these tests' defaults: a POST makes something (201), an
    upload is named f.pdf."""

    def post_json(self, url, body, role="archivist", status=201):
        return super().post_json(url, body, role, status)

    def upload(self, url, content, fields, role="archivist", status=201):
        return super().upload(url, content, fields, role, status, filename="f.pdf")


@pytest.fixture
def api(app, users):
    return Api(app, users)


@pytest.fixture
def filed(api):
    """A household with three documents (1, 2 and 3 pages): its archive number."""
    no = api.post_json("/api/households", {**household_input(), "comment": "受理"}).json["archive_no"]
    for i, (doc_type, pages) in enumerate((("application_form", 1), ("income_proof", 2),
                                           ("id_card", 3)), 1):
        api.upload(f"/api/households/{no}/documents", make_pdf(f"文件{i}正文", pages=pages),
                   doc_fields(doc_type=doc_type, title=f"第{i}件题名", date=f"2026-0{i}-0{i}",
                              doc_no=f"常住保〔2026〕{i}号", carrier="paper" if i == 2 else ""))
    return no


def _places(api):
    api.post_json("/api/places", {"code": "A", "title": "一号库房"})
    api.post_json("/api/places", {"parent": "A", "code": "01", "title": "1架"})
    api.post_json("/api/places", {"parent": "A-01", "code": "02", "title": "2层"})
    for box in ("001", "002"):
        api.post_json("/api/places", {"parent": "A-01-02", "code": box, "title": f"{box}盒"})


# -- arrangement ---------------------------------------------------------------------------
def test_documents_carry_their_filing_stamp(api, filed):
    docs = api.get(f"/api/households/{filed}/documents").json["items"]
    stamps = [d["arrangement"] for d in docs]
    assert [s["item_no"] for s in stamps] == [1, 2, 3]
    assert [s["retention"] for s in stamps] == ["Y", "D10", "D30"]
    assert [s["pages"] for s in stamps] == [1, 2, 3]
    assert {s["fonds"] for s in stamps} == {"CZ"} and stamps[0]["year"] == 2026
    assert [s["carrier"] for s in stamps] == ["electronic", "paper", "electronic"]
    assert stamps[1]["digitization"] == "digitized" and stamps[0]["digitization"] == "born_digital"
    one = api.get(f"/api/households/{filed}/documents/D0002").json
    assert one["arrangement"]["retention_title"] == "10年"


def test_withdrawn_item_numbers_are_not_reused(api, filed):
    api.post_json(f"/api/households/{filed}/documents/D0003/withdraw", {"reason": "重复"}, status=200)
    api.upload(f"/api/households/{filed}/documents", make_pdf("再归档"), doc_fields())
    items = {d["doc_id"]: d["arrangement"]["item_no"]
             for d in api.get(f"/api/households/{filed}/documents").json["items"]}
    assert items == {"D0001": 1, "D0002": 2, "D0003": 3, "D0004": 4}


def test_dossier_page_shows_the_stamp_and_links(browser, filed):
    browser.login("reviewer")
    page = browser.get(f"/households/{filed}")
    stamps = page.html.select(".filing-stamp")
    assert len(stamps) == 3 and "全宗号 CZ" in stamps[0].text and "件号" in stamps[0].text
    assert page.html.select_one("#volume-retention").text == "永久"
    assert page.html.select_one("#volume-link") and page.html.select_one("#labels-link")
    assert page.html.select_one("#shelve-form") is None   # reviewers do not shelve


# -- the bound volume ----------------------------------------------------------------------
def _originals(store, no):
    with store() as root:
        return {d.doc_id: hashlib.sha256(d.current_file.read()).hexdigest()
                for d in root.households[no].documents.values()}


def test_volume_pdf_binds_cover_contents_documents_and_closing_sheet(api, filed, store):
    before = _originals(store, filed)
    for url in (f"/households/{filed}/volume.pdf", f"/api/households/{filed}/volume.pdf"):
        response = api.get(url, role="auditor")
        assert response.content_type == "application/pdf"
        reader = PdfReader(io.BytesIO(response.body))
        texts = [page.extract_text() for page in reader.pages]
        assert len(texts) == 2 + 6 + 1
        assert all(t.strip() for t in texts)              # Chinese text on every page
        assert "案 卷 封 面" in texts[0] and filed in texts[0] and "永久" in texts[0]
        assert "3 件" in texts[0] and "6 页" in texts[0] and "常州市住房保障档案" in texts[0]
        assert "卷 内 目 录" in texts[1] and "第2件题名" in texts[1] and "4-6" in texts[1]
        assert "常住保〔2026〕1" in texts[1] and "20260101" in texts[1]
        for number, text in enumerate(texts[2:8], 1):    # 页号 stamped on the bound copy
            assert str(number) in text.split()
        assert "文件2正文 第2页" in texts[4]
        assert "备 考 表" in texts[8] and "立卷人" in texts[8] and "检查人" in texts[8]
    assert _originals(store, filed) == before
    with store() as root:
        exports = [e for e in root.log.newest(20) if e.action == "export" and e.target == filed]
    assert len(exports) == 2 and "装订案卷" in exports[0].detail


def test_volume_of_a_unit(api):
    no = api.post_json("/api/units", {**unit_input(), "comment": "接收"}).json["archive_no"]
    reader = PdfReader(io.BytesIO(api.get(f"/api/units/{no}/volume.pdf").body))
    assert "房源档案" in reader.pages[0].extract_text()
    assert "本卷暂无文件" in reader.pages[1].extract_text()


def test_volume_of_an_unknown_dossier_is_404(api, browser):
    assert api.get("/api/households/CZ-HH-2026-Y-99999/volume.pdf", status=404).json["status"] == 404
    browser.login("archivist")
    browser.get("/households/CZ-HH-2026-Y-99999/volume.pdf", status=404)
    api.get("/api/households/CZ-HH-2026-Y-99999/labels.pdf", status=404)


def test_volume_needs_a_login(app, filed):
    webtest.TestApp(app).get(f"/api/households/{filed}/volume.pdf", status=401)


# -- labels and the scanner ------------------------------------------------------------------
def test_labels_pdf_has_cover_and_spine_with_the_number(api, filed):
    reader = PdfReader(io.BytesIO(api.get(f"/api/households/{filed}/labels.pdf").body))
    assert len(reader.pages) == 2
    cover, spine = (p.extract_text() for p in reader.pages)
    assert "档 案 盒" in cover and filed in cover and "常州市住房保障档案" in cover
    assert "盒" in spine and filed in spine


def test_scanned_archive_number_opens_the_dossier(browser, filed):
    browser.login("inspector")
    response = browser.get("/search", {"q": f"  {filed} "}, status=302)
    assert response.location.endswith(f"/households/{filed}")


# -- shelving --------------------------------------------------------------------------------
def test_register_of_places_and_refusals(api):
    _places(api)
    listing = api.get("/api/places", role="auditor").json
    assert [p["code"] for p in listing["items"]] == ["A", "A-01", "A-01-02", "A-01-02-001", "A-01-02-002"]
    box = api.get("/api/places/A-01-02-001").json
    assert box["level"] == "box" and box["path"] == ["A", "A-01", "A-01-02", "A-01-02-001"]
    again = api.post_json("/api/places", {"parent": "A-01-02", "code": "001"}, status=409).json
    assert "已经登记过" in again["error"]
    assert api.post_json("/api/places", {"parent": "Z-9", "code": "1"}, status=404).json["status"] == 404
    assert "code" in api.post_json("/api/places", {"code": "A/1"}, status=422).json["errors"]
    assert "parent" in api.post_json("/api/places", {"parent": "A-01-02-001", "code": "x"},
                                     status=422).json["errors"]
    api.post_json("/api/places", {"code": "B"}, role="reviewer", status=403)
    api.get("/api/places/NOPE", status=404)


def test_moves_are_versions_and_diffable(api, filed, browser):
    _places(api)
    first = api.put_json(f"/api/households/{filed}/place", {"place": "A-01-02-001"}).json
    assert first["place"] == "A-01-02-001" and first["path"][0]["title"] == "一号库房"
    api.put_json(f"/api/households/{filed}/place", {"place": "A-01-02-002", "comment": "调整"})
    versions = api.get(f"/api/households/{filed}/versions").json["items"]
    assert [v["action"] for v in versions[:2]] == ["shelved", "shelved"]
    diff = api.get(f"/api/households/{filed}/diff").json
    assert diff["place"] == {"old": "A-01-02-001", "new": "A-01-02-002"}
    # refusals
    assert api.put_json(f"/api/households/{filed}/place", {"place": "A-01-02-002"}, status=409).json["error"]
    assert api.put_json(f"/api/households/{filed}/place", {"place": "A-09"}, status=404).json["status"] == 404
    assert "请选择到盒" in api.put_json(f"/api/households/{filed}/place", {"place": "A-01"}, status=422).json["error"]
    api.put_json(f"/api/households/{filed}/place", {"place": 5}, status=422)
    api.put_json(f"/api/households/{filed}/place", {"place": "A-01-02-001"}, role="reviewer", status=403)
    api.put_json("/api/households/CZ-HH-2026-Y-99999/place", {"place": "A-01-02-001"}, status=404)
    # the page: the place is shown, and the history's diff names it
    browser.login("archivist")
    page = browser.get(f"/households/{filed}")
    assert "A-01-02-002" in page.html.select_one("#shelf-place").text
    n = page.html.select_one("#current-version").text
    diff_page = browser.get(f"/households/{filed}/diff", {"a": int(n) - 1, "b": n})
    assert "存放位置" in diff_page.text and "A-01-02-001" in diff_page.text
    history = browser.get(f"/households/{filed}/history")
    assert "上架/移库" in history.text and "原存放位置" in history.text and "调整" in history.text
    case = api.get(f"/api/households/{filed}/history", role="auditor").json["events"]
    assert [dict(e["details"])["存放位置"] for e in case if e["kind"] == "shelved"] == \
        ["A-01-02-001", "A-01-02-002"]


def test_shelve_and_stocktake_through_the_pages(browser, api, filed):
    _places(api)
    other = api.post_json("/api/households", {**household_input(name="李四", seq=21),
                                               "comment": "受理"}).json["archive_no"]
    browser.login("archivist")
    page = browser.get(f"/households/{filed}")
    form = page.forms["shelve-form"]
    form["place"] = "A-01-02-001"
    assert "已放入" in form.submit().follow().text
    api.put_json(f"/api/households/{other}/place", {"place": "A-01-02-002"})
    shelf = browser.get("/shelving/A-01")
    assert filed in shelf.html.select_one("#holdings").text
    take_form = shelf.forms["stocktake-form"]
    take_form["scanned"] = f"{other}\nCZ-HH-1999-Y-00001\n{other}"
    result = take_form.submit().follow()
    assert result.html.select_one("#missing-count").text == "1"     # filed not scanned
    assert result.html.select_one("#misplaced-count").text == "0"   # other is under A-01 too
    box = browser.get("/shelving/A-01-02-001").forms["stocktake-form"]
    box["scanned"] = f"{other}\nCZ-HH-1999-Y-00001"
    result = box.submit().follow()
    assert filed in result.html.select_one("#missing").text
    assert other in result.html.select_one("#misplaced").text and "A-01-02-002" in result.html.select_one("#misplaced").text
    assert "CZ-HH-1999-Y-00001" in result.html.select_one("#unknown").text
    kept = api.get("/api/places/A-01-02-001/stocktakes", role="auditor").json
    assert kept["total"] == 1 and kept["items"][0]["actor"] == "archivist"
    assert kept["items"][0]["misplaced"] == [{"archive_no": other, "place": "A-01-02-002",
                                              "label": "A-01-02-002（一号库房 / 1架 / 2层 / 002盒）"}]
    browser.get("/stocktakes/999", status=404)
    browser.get("/shelving/NOPE", status=404)


def test_stocktake_api_and_refusals(api, filed):
    _places(api)
    api.put_json(f"/api/households/{filed}/place", {"place": "A-01-02-001"})
    take = api.post_json("/api/places/A-01-02-001/stocktakes", {"scanned": [filed]}).json
    assert take["found"] == [filed] and take["missing"] == [] and take["unknown"] == []
    assert api.get(take["href"].replace("http://localhost", "")).json["number"] == take["number"]
    api.post_json("/api/places/NOPE/stocktakes", {"scanned": []}, status=404)
    assert "scanned" in api.post_json("/api/places/A/stocktakes", {"scanned": 7}, status=422).json["errors"]
    api.post_json("/api/places/A/stocktakes", {"scanned": []}, role="auditor", status=403)
    api.get("/api/stocktakes/abc", status=404)


def test_forged_forms_and_roles_are_refused(browser, api, filed):
    _places(api)
    browser.login("archivist")
    browser.post("/shelving", {"code": "C"}, status=400)                     # no CSRF token
    browser.post(f"/households/{filed}/place", {"place": "A-01-02-001"}, status=400)
    browser.post("/shelving/A/stocktakes", {"scanned": filed}, status=400)
    browser.login("auditor")
    shelving = browser.get("/shelving")
    assert shelving.html.select_one("#place-form") is None     # no form for those who may not
    csrf = browser.get(f"/households/{filed}").html.select_one("input[name=csrf_token]")["value"]
    browser.post("/shelving", {"code": "C", "csrf_token": csrf}, status=403)
    browser.post(f"/households/{filed}/place", {"place": "A-01-02-001", "csrf_token": csrf}, status=403)
    browser.post("/shelving/A/stocktakes", {"scanned": filed, "csrf_token": csrf}, status=403)
    browser.login("archivist")
    page = browser.get("/shelving")
    form = page.forms["place-form"]
    form["code"] = "A"
    assert "已经登记过" in form.submit(status=409).text


# -- the bound volume kept (archive.custody.bound) -----------------------------------------
def test_bind_from_the_page_keeps_the_volume_as_a_version(browser, api, filed):
    assert api.get(f"/api/households/{filed}/volume").json == {"archive_no": filed, "bound": False,
                                                                "current": False}
    browser.login("archivist")
    page = browser.get(f"/households/{filed}")
    assert "未装订" in page.html.select_one("#bound-volume").text
    shown = page.forms["bind-form"].submit().follow()
    assert "已装订案卷" in shown.text and "第 5 版装订" in shown.html.select_one("#bound-volume").text
    kept = api.get(f"/api/households/{filed}/volume", role="reviewer").json
    assert kept["bound"] and kept["current"] and kept["version"] == 5 and kept["bound_by"]
    versions = api.get(f"/api/households/{filed}/versions").json
    assert versions["items"][0]["action"] == "bound" and versions["items"][0]["number"] == 5


def test_bind_api_and_a_change_afterwards_makes_it_stale(api, filed, browser):
    made = api.post_json(f"/api/households/{filed}/volume", {}).json
    assert made["current"] and len(made["sha256"]) == 64
    api.upload(f"/api/households/{filed}/documents", make_pdf("后补"), doc_fields(title="后补文件"))
    assert api.get(f"/api/households/{filed}/volume").json["current"] is False
    browser.login("archivist")
    assert "此后有变动" in browser.get(f"/households/{filed}").html.select_one("#bound-volume").text
    api.post_json(f"/api/households/{filed}/volume", {}, role="reviewer", status=403)
    api.post_json("/api/households/CZ-HH-1999-Y-00001/volume", {}, status=404)
    browser.login("reviewer")
    assert browser.get(f"/households/{filed}").html.select_one("#bind-form") is None
    csrf = browser.get(f"/households/{filed}").html.select_one("input[name=csrf_token]")["value"]
    browser.post(f"/households/{filed}/bind", {"csrf_token": csrf}, status=403)


def test_volume_pdf_is_the_kept_volume_while_current_and_drawn_anew_after_a_change(api, filed):
    """The volume of record is served as bound (its SHA-256 the one kept); once a document
    is filed after binding, volume.pdf is drawn from the dossier as it now is."""
    import hashlib
    made = api.post_json(f"/api/households/{filed}/volume", {}).json
    served = api.get(f"/api/households/{filed}/volume.pdf", role="reviewer").body
    assert hashlib.sha256(served).hexdigest() == made["sha256"]
    pages = len(PdfReader(io.BytesIO(served)).pages)
    api.upload(f"/api/households/{filed}/documents", make_pdf("后补"), doc_fields(title="后补文件"))
    fresh = api.get(f"/api/households/{filed}/volume.pdf").body
    assert hashlib.sha256(fresh).hexdigest() != made["sha256"]
    assert len(PdfReader(io.BytesIO(fresh)).pages) > pages and "后补文件" in "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(fresh)).pages)


def test_an_employer_volume_is_shelved_and_taken_stock_of_through_the_api(app, api, store):
    """单位集体申请档案's paper volume: PUT /api/employers/{no}/place (a version), found by a
    stock-take of its box, 404 for an unknown one, 405 for another method."""
    with store() as root:
        no = employer_dossier(root, app.registry.archive_schemas, app.registry.archive_procedure).archive_no
    _places(api)
    assert api.get(f"/api/employers/{no}/place").json["place"] is None
    placed = api.put_json(f"/api/employers/{no}/place", {"place": "A-01-02-002", "comment": "上架"}).json
    assert placed["place"] == "A-01-02-002" and placed["archive_no"] == no
    with store() as root:
        assert root.employers[no].latest.action == "shelved"
    assert "place" in api.put_json(f"/api/employers/{no}/place", {"place": "A-01"}, status=422).json["errors"]
    api.put_json(f"/api/employers/{no}/place", {"place": "A-01-02-002"}, role="auditor", status=403)
    take = api.post_json("/api/places/A-01-02-002/stocktakes", {"scanned": [no]}).json
    assert take["found"] == [no] and take["missing"] == []
    assert api.get(f"/api/employers/{no}/place").json["version"] == placed["version"]
    api.get("/api/employers/XM-DW-2026-Y-99999/place", status=404)
    api.client.delete(f"/api/employers/{no}/place", headers=api.headers("archivist"), status=405)
