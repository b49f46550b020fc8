"""Box labels: a cover and a spine, each with a QR code holding exactly the 档号."""
from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader
from reportlab.graphics.barcode.qr import QrCodeWidget

from archive.custody.arrangement import compile_rules
from archive.custody.labels import box_labels, label_facts, qr_drawing
from archive.records.dossier import HouseholdDossier
from archive.records.pdf import inspect
from conftest import make_pdf

WHEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


def _dossier():
    d = HouseholdDossier("DZ-HH-2026-Y-00003", {"jurisdiction": "dezhou",
                                                 "applicant": {"name": "刘强"}}, "clerk", WHEN)
    data = make_pdf("收入证明")
    d.file_document({"doc_type": "income_proof", "title": "收入证明", "date": dt.date(2026, 2, 1),
                     "issuer": "德州市某公司", "doc_no": "", "carrier": "paper"},
                    data, inspect(data), "f.pdf", "clerk", WHEN)
    return d


def test_qr_code_holds_the_archive_number_alone():
    drawing = qr_drawing("DZ-HH-2026-Y-00003", 100)
    widget = drawing.contents[0]
    assert isinstance(widget, QrCodeWidget) and widget.value == "DZ-HH-2026-Y-00003"
    assert (drawing.width, drawing.height) == (100, 100)


def test_label_facts(registry):
    facts = label_facts(_dossier(), compile_rules(registry))
    assert facts == {"fonds_name": "德州市住房保障档案", "fonds": "DZ",
                     "archive_no": "DZ-HH-2026-Y-00003", "title": "刘强户 住房保障对象档案",
                     "year": 2026, "dates": "20260201 — 20260201", "retention": "10年", "items": 1}


def test_cover_and_spine_pages(registry):
    data = box_labels(_dossier(), compile_rules(registry), place="A-01-02-003")
    reader = PdfReader(io.BytesIO(data))
    cover, spine = (p.extract_text() for p in reader.pages)
    for expected in ("档 案 盒", "德州市住房保障档案", "DZ-HH-2026-Y-00003", "10年", "1 件", "A-01-02-003"):
        assert expected in cover, expected
    for expected in ("盒  脊", "全宗号 DZ", "年度 2026", "DZ-HH-2026-Y-00003", "位置 A-01-02-003", "刘"):
        assert expected in spine, expected
    # each page draws a QR code: many small filled squares in its content stream
    for page in reader.pages:
        assert page.get_contents().get_data().count(b" re") > 100
