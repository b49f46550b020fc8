"""The bound volume (案卷): cover, 卷内目录, page numbers on the bound copy only, 备考表."""
from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from pypdf import PdfReader, PdfWriter

from archive.custody.arrangement import compile_rules
from archive.custody.volume import bind_volume, contents, date_range, volume_title
from archive.records.dossier import HouseholdDossier, UnitDossier
from archive.records.pdf import inspect
from conftest import make_pdf

WHEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def rules(registry):
    return compile_rules(registry)


def _file(dossier, data, title, date, doc_type="pledge", doc_no=""):
    metadata = {"doc_type": doc_type, "title": title, "date": dt.date.fromisoformat(date),
                "issuer": "常州市住房保障中心", "doc_no": doc_no, "carrier": ""}
    return dossier.file_document(metadata, data, inspect(data), "f.pdf", "clerk", WHEN)


def _rotated_pdf():
    """A landscape scan stored with /Rotate 90, as copiers write them."""
    writer = PdfWriter()
    page = PdfReader(io.BytesIO(make_pdf("横向页面"))).pages[0]
    writer.add_page(page)
    writer.pages[0].rotate(90)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def dossier():
    d = HouseholdDossier("CZ-HH-2026-Y-00007", {"jurisdiction": "changzhou",
                                                 "applicant": {"name": "王秀英"}}, "clerk", WHEN)
    _file(d, make_pdf("申请表正文", pages=2), "申请表", "2026-01-05", "application_form", "常住保〔2026〕7号")
    withdrawn = _file(d, make_pdf("作废"), "作废的证明", "2026-01-06", "income_proof")
    d.withdraw_document(withdrawn.doc_id, "重复归档", "clerk", WHEN)
    _file(d, _rotated_pdf(), "横向附件", "2026-02-10", "income_proof")
    refiled = _file(d, make_pdf("初稿"), "承诺书", "2026-03-01")
    data = make_pdf("承诺书正文", pages=3)
    d.refile_document(refiled.doc_id, data, inspect(data), "g.pdf", "clerk", WHEN)
    return d


def test_contents_are_current_documents_in_item_order_with_their_pages(dossier):
    items = contents(dossier)
    assert [i.document.metadata["title"] for i in items] == ["申请表", "横向附件", "承诺书"]
    assert [(i.seq, i.first_page, i.pages) for i in items] == [(1, 1, 2), (2, 3, 1), (3, 4, 3)]
    assert date_range(items) == ("20260105", "20260301")


def test_bound_volume_pages_and_text(dossier, rules):
    before = {d.doc_id: [hashlib.sha256(r.read()).hexdigest() for r in d.files]
              for d in dossier.documents.values()}
    data = bind_volume(dossier, rules, doc_types={"pledge": "承诺书"}, binder="李档案",
                       checker="赵检查", when=dt.date(2026, 4, 1))
    reader = PdfReader(io.BytesIO(data))
    texts = [p.extract_text() for p in reader.pages]
    assert len(texts) == 2 + 6 + 1 and all(t.strip() for t in texts)
    cover, toc, closing = texts[0], texts[1], texts[-1]
    for expected in ("常州市住房保障档案", "CZ-HH-2026-Y-00007", volume_title(dossier),
                     "20260105 — 20260301", "永久", "3 件", "6 页"):
        assert expected in cover, expected
    for expected in ("序号", "文号", "责任者", "题名", "日期", "页号", "备注", "4-6", "承诺书；永久"):
        assert expected in toc, expected
    assert "作废的证明" not in toc
    for number, text in enumerate(texts[2:8], 1):
        assert str(number) in text.split(), (number, text)
    assert "承诺书正文 第3页" in texts[7] and "初稿" not in "".join(texts)
    for expected in ("备 考 表", "本卷共有文件 3 件，6 页", "已撤出文件 1 件", "重复归档",
                     "曾替换文件", "立卷人", "李档案", "检查人", "赵检查", "2026年04月01日"):
        assert expected in closing, expected
    after = {d.doc_id: [hashlib.sha256(r.read()).hexdigest() for r in d.files]
             for d in dossier.documents.values()}
    assert after == before


def test_the_page_number_stands_upright_on_a_rotated_page(dossier, rules):
    reader = PdfReader(io.BytesIO(bind_volume(dossier, rules)))
    page = reader.pages[4]                      # the rotated attachment, 页号 3
    assert page.get("/Rotate", 0) == 0          # the rotation moved into the content
    assert "3" in page.extract_text().split()


def test_an_empty_unit_volume(rules):
    unit = UnitDossier("CZ-FY-2026-Y-00001", {"jurisdiction": "changzhou", "project": "丽华新村",
                                              "building": "3", "unit_no": "502"}, "clerk", WHEN)
    texts = [p.extract_text() for p in PdfReader(io.BytesIO(bind_volume(unit, rules))).pages]
    assert len(texts) == 3 and "房源档案" in texts[0] and "本卷暂无文件" in texts[1]
    assert "0 件" in texts[0]
