"""Watermarked copies (水印复制件): what a borrower takes away under a grant.

Every page of the copy carries who took it, under which 借阅单号 and when: a line across the
foot of the page (extractable text, so a copy found elsewhere names its source) and the
same words large and pale across the middle. The overlay is drawn with reportlab in
STSong-Light and merged onto each page with pypdf; the stored file is only read.
"""
from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

from ..records.pdf import chinese_font


def watermark_text(borrower, label, when_text) -> str:
    return f"利用者：{borrower}  借阅单号：{label}  时间：{when_text}  仅限本次利用，不得转借"


def watermarked(data: bytes, text: str) -> bytes:
    """A copy of the PDF ``data`` with ``text`` on every page."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))   # pages belong to the copy
    overlays = {}
    for page in writer.pages:
        box = page.mediabox
        size = (float(box.left), float(box.bottom), float(box.width), float(box.height))
        if size not in overlays:
            overlays[size] = _overlay(size, text)
        page.merge_page(overlays[size])
    writer.add_metadata({"/Subject": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _overlay(size, text):
    from reportlab.pdfgen import canvas
    left, bottom, width, height = size
    font = chinese_font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(left + width, bottom + height), invariant=1)
    c.setFillColorRGB(0.55, 0.1, 0.1)
    c.setFont(font, 8)
    c.drawString(left + 18, bottom + 12, text)
    c.saveState()
    c.setFillAlpha(0.18)
    c.setFillColorRGB(0.6, 0.6, 0.6)
    c.translate(left + width / 2, bottom + height / 2)
    c.rotate(35)
    size_pt = max(8.0, min(22.0, width * 1.1 / max(len(text), 1)))
    c.setFont(font, size_pt)
    c.drawCentredString(0, 0, text)
    c.restoreState()
    c.showPage()
    c.save()
    return PdfReader(io.BytesIO(buf.getvalue())).pages[0]
