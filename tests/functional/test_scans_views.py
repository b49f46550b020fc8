"""Photos, scanners' images and OFDs filed through the API: the original kept as filed (its
SHA-256 unchanged), a PDF access copy (利用副本) made after the commit, its text found by
search; a broken OFD refused like a broken PDF, nothing stored."""
from __future__ import annotations

import hashlib
import io
import re
import urllib.parse

import pytest
import transaction

from archive.workers import ocr, textlayer
from conftest import doc_fields, make_ofd, make_scan_image
from test_search_views import index_now  # noqa: F401  (a fixture)

TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff"}


def _workers(app):
    """The text layer step, then OCR, each as the web server's workers run them after commits."""
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            textlayer.drain(conn.root()["archive"])
        ocr.drain(conn.root()["archive"], ocr.OcrOptions(), commit=tm.commit)
        tm.commit()
    finally:
        conn.close()


def _file(api, no, content, filename, title, status=201):
    return api.upload(f"/api/households/{no}/documents", content=content, filename=filename,
                      fields=doc_fields(doc_type="income_proof", title=title), status=status)


def _pdfa(data):
    from pypdf import PdfReader
    xmp = PdfReader(io.BytesIO(data)).xmp_metadata
    text = xmp.rdf_root.toxml() if xmp is not None else ""
    return re.findall(r"<pdfaid:(?:part|conformance)>(\w)<", text)


def test_photos_scans_and_ofd_are_filed_kept_and_found(api, index_now):  # noqa: F811
    no = api.household(name="王秀英", seq=33)["archive_no"]
    lines = ("公共租赁住房申请表", "申请人 王秀英", "家庭人均月收入 1200 元")
    originals = {"申请表.jpg": make_scan_image("JPEG", lines),
                 "申请表.png": make_scan_image("PNG", ("收入证明", "工作单位 龙锦路街道")),
                 "申请表.tif": make_scan_image("TIFF", ("住房情况说明", "现住址 青龙街道"), pages=2),
                 "通知.ofd": make_ofd(pages=(("常州市住房保障中心", "关于公租房资格复核的通知"),
                                           ("请于三十日内补充材料",)))}
    docs = {}
    for name, content in originals.items():
        docs[name] = _file(api, no, content, name, name.split(".")[0]).json
    kinds = [d["files"][0]["content_type"] for d in docs.values()]
    assert kinds == ["image/jpeg", "image/png", "image/tiff", "application/ofd"]
    assert [d["files"][0]["pages"] for d in docs.values()] == [1, 1, 2, 2]
    assert all(d["files"][0]["access_copy"] is None for d in docs.values())

    _workers(api.client.app)
    index_now()
    for name, doc in docs.items():
        base = f"/api/households/{no}/documents/{doc['doc_id']}"
        file = api.get(base).json["files"][0]
        original = api.get(f"{base}/content")
        assert original.body == originals[name]                                   # untouched
        assert hashlib.sha256(original.body).hexdigest() == file["sha256"] == original.headers["X-Content-SHA256"]
        assert original.content_type == file["content_type"]
        copy = api.get(file["access_copy"]["href"])
        assert copy.content_type == "application/pdf" and copy.body.startswith(b"%PDF")
        assert hashlib.sha256(copy.body).hexdigest() == file["access_copy"]["sha256"]
        assert "利用副本" in urllib.parse.unquote(copy.headers["Content-Disposition"])
        if name.endswith(".ofd"):   # its own text, exact: no OCR, a plain PDF
            assert (file["text_status"], file["text_source"], file["access_copy"]["pdfa"]) == ("done", "ofd", "")
        else:
            assert (file["text_status"], file["text_source"], file["access_copy"]["pdfa"]) == ("ocr_done", "ocr", "2B")
            assert _pdfa(copy.body) == ["2", "B"]
        assert file["access_copy"]["pages"] == file["pages"]
    for query, title in (("王秀英 人均月收入", "申请表"), ("龙锦路", "申请表"), ("青龙街道", "申请表"),
                         ("资格复核", "通知"), ("补充材料", "通知")):
        hits = api.get("/api/search", params={"q": query}, role="inspector").json["hits"]
        assert any(h.get("title") == title for h in hits), (query, hits)


@pytest.mark.parametrize("content, words", [
    (make_ofd(drop="Doc_0/Pages/Page_0/Content.xml"), "OFD文件第 1 页的页面文件"),
    (make_ofd(replace={"OFD.xml": b"<ofd:OFD"}), "OFD文件中的“OFD.xml”不是完整的XML"),
    (make_ofd()[:300], "OFD文件已损坏"),
    (make_scan_image("JPEG", dpi=72)[:400], "图像文件已损坏"),
])
def test_a_broken_ofd_or_image_is_refused_and_nothing_stored(api, store, content, words):
    no = api.household(name="王秀英", seq=34)["archive_no"]
    response = _file(api, no, content, "通知.ofd", "通知", status=400)
    assert words in response.json["errors"]["file"]
    with store() as root:
        assert len(root.households[no].documents) == 0 and len(root.text_queue) == 0


def test_the_access_copy_is_404_until_it_is_made(api):
    no = api.household(name="王秀英", seq=35)["archive_no"]
    doc = _file(api, no, make_scan_image("PNG", dpi=72), "a.png", "扫描件").json
    response = api.get(f"/api/households/{no}/documents/{doc['doc_id']}/content",
                       params={"copy": "access"}, status=404)
    assert "尚无利用副本" in response.text


def test_destruction_takes_the_access_copy_with_the_original(api, store):
    import datetime as dt
    import types
    from archive.disposition import destruction
    no = api.household(name="王秀英", seq=36)["archive_no"]
    _file(api, no, make_ofd(), "通知.ofd", "通知")
    _workers(api.client.app)
    with store() as root:
        dossier = root.households[no]
        revision = dossier.document("D0001").current_file
        assert revision.access_copy is not None
        listed = types.SimpleNamespace(number=1, approved_by="reviewer")
        record = destruction.destroy(root, dossier, listed, "auditor",
                                     dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc))
        assert revision.access_copy is None and revision.text is None
        assert [f.filename for f in record.files] == ["通知.ofd"]
