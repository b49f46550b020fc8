"""Box labels (档案盒封面, 盒脊) with a QR code of the archive number.

The QR code holds the 档号 and nothing else: a scanner types it into the search box
(which opens the dossier when the query is exactly an archive number) or into the
stock-take form. reportlab draws the code itself (``reportlab.graphics.barcode.qr``).

    box_labels(dossier, rules=None, *, place="") -> bytes   # cover page, then spine page
"""
from __future__ import annotations

import io

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as _canvas

from ..records.pdf import chinese_font
from . import arrangement
from .volume import contents, date_range, volume_title

SPINE_WIDTH = 40 * mm   # 盒脊: a 40 mm box's back (DA/T 22 boxes are 20, 30, 40 or 50 mm deep)


def qr_drawing(value: str, size: float) -> Drawing:
    """A QR code of ``value``, ``size`` points square (error correction M: a worn label still reads)."""
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def label_facts(dossier, rules=None) -> dict:
    """What both labels print: 全宗名称, 全宗号, 档号, 案卷题名, 年度, 起止日期, 保管期限, 件数."""
    rules = rules if rules is not None else arrangement.default_rules()
    items = contents(dossier)
    fonds_no, fonds_name = rules.fonds_of(dossier)
    start, end = date_range(items)
    period = rules.longest(arrangement.retention(i.document, rules) for i in items)
    return {"fonds_name": fonds_name, "fonds": fonds_no, "archive_no": dossier.archive_no,
            "title": volume_title(dossier), "year": dossier.created.year,
            "dates": f"{start} — {end}" if start else "—",
            "retention": rules.title("retention_periods", period) if period else "—",
            "items": len(items)}


def box_labels(dossier, rules=None, *, place="") -> bytes:
    """Two A4 pages: the box cover (档案盒封面) and the spine strip (盒脊) to cut out."""
    facts = label_facts(dossier, rules)
    out = io.BytesIO()
    c = _canvas.Canvas(out, pagesize=A4, invariant=1)
    c.setTitle(f"{dossier.archive_no} 档案盒封面和盒脊")
    _cover(c, facts, place)
    c.showPage()
    _spine(c, facts, place)
    c.showPage()
    c.save()
    return out.getvalue()


def _cover(c, facts, place):
    width, height = A4
    font = chinese_font()
    c.setFont(font, 26)
    c.drawCentredString(width / 2, height - 45 * mm, "档 案 盒")
    c.setFont(font, 16)
    c.drawCentredString(width / 2, height - 60 * mm, facts["fonds_name"])
    rows = [("全宗号", facts["fonds"]), ("档号", facts["archive_no"]), ("案卷题名", facts["title"]),
            ("年度", str(facts["year"])), ("起止日期", facts["dates"]),
            ("保管期限", facts["retention"]), ("件数", f"{facts['items']} 件"),
            ("存放位置", place or "—")]
    y = height - 85 * mm
    for key, value in rows:
        c.setFont(font, 14)
        c.drawString(35 * mm, y, f"{key}：")
        c.drawString(65 * mm, y, _fit(value, 32))
        c.line(63 * mm, y - 2 * mm, width - 35 * mm, y - 2 * mm)
        y -= 13 * mm
    renderPDF.draw(qr_drawing(facts["archive_no"], 45 * mm), c, (width - 45 * mm) / 2, 30 * mm)
    c.setFont(font, 10)
    c.drawCentredString(width / 2, 25 * mm, facts["archive_no"])


def _spine(c, facts, place):
    """The spine strip: vertical Chinese lines read top to bottom, the QR code at the foot."""
    width, height = A4
    left, bottom, top = (width - SPINE_WIDTH) / 2, 20 * mm, height - 20 * mm
    font = chinese_font()
    c.rect(left, bottom, SPINE_WIDTH, top - bottom)
    c.setFont(font, 14)
    c.drawCentredString(width / 2, top - 12 * mm, "盒  脊")
    lines = [f"全宗号 {facts['fonds']}", f"年度 {facts['year']}", f"保管期限 {facts['retention']}",
             facts["archive_no"]] + ([f"位置 {place}"] if place else [])
    y = top - 28 * mm
    for line in lines:
        c.setFont(font, 11 if len(line) <= 18 else 8)
        c.drawCentredString(width / 2, y, line)
        y -= 10 * mm
    c.setFont(font, 16)
    for ch in _fit(facts["title"], 14):   # the title down the spine, a character a line
        if ch.strip():
            c.drawCentredString(width / 2, y, ch)
        y -= 7 * mm
        if y < bottom + 50 * mm:
            break
    renderPDF.draw(qr_drawing(facts["archive_no"], 32 * mm), c, (width - 32 * mm) / 2, bottom + 6 * mm)


def _fit(text, limit):
    text = str(text or "")
    return text if len(text) <= limit else text[:limit - 1] + "…"

