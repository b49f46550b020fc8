"""Scanned pages (扫描件): Chinese text as a copier or scanner hands it over — grey page images,
or a PDF holding only those images and no text layer — the input OCR (archive.workers.ocr)
exists for. The tests' scans and photos and bench/ocr.py's dense A4 pages are drawn here, so
what is benchmarked is what is tested.

Text is set in reportlab's STSong-Light and rendered by pdfium; pages are deterministic
(reportlab's invariant mode), so the same lines give the same images.
"""
from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4

from ..records.pdf import chinese_font


def page_images(pages, dpi=300, *, font_size=14, leading=28, left=72, top=720, pagesize=A4):
    """One grey PIL image per page at ``dpi``; each page a sequence of lines, the first set
    with its baseline ``top`` points above the page's foot, the next ``leading`` lower.

    14 pt is a form's size: Tesseract reads it reliably at 300 dpi, where much larger print
    makes it lose whole lines."""
    import pypdfium2 as pdfium
    from reportlab.pdfgen import canvas
    font = chinese_font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=pagesize, invariant=1)
    for lines in pages:
        c.setFont(font, font_size)
        for row, line in enumerate(lines):
            c.drawString(left, top - leading * row, line)
        c.showPage()
    c.save()
    source = pdfium.PdfDocument(buf.getvalue())
    try:
        return [source[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(source))]
    finally:
        source.close()


def scanned_pdf(images, dpi=300) -> bytes:
    """A PDF of the page images alone, as a copier makes it: no text layer at all."""
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()
