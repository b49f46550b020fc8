"""Imported by the OCR fork server only (workers.ocr.processes): asks Tesseract and
Ghostscript for their versions and languages once, there, so that every process forked to
read a round of files inherits the answers instead of starting those programs again for
each file (workers.ocr.remember_tools says why); and reads one small blank page there, so
that what OCRmyPDF imports only when it first makes a PDF/A (pikepdf's PDF/A checks,
fontTools, jsonschema, lxml: some 130 modules, 0.1-0.2 s of CPU) is imported once, not
again in every process of every round."""
from __future__ import annotations

from .ocr import OcrOptions, recognise, remember_tools


def _warm():
    """Fill the remembered answers; a program that is missing is simply not remembered, and
    the file's reading reports it as it always has."""
    from ocrmypdf._exec import ghostscript, tesseract
    remember_tools()
    for ask in (tesseract.version, tesseract.get_languages, ghostscript.version,
                lambda: recognise(blank_page(), OcrOptions(jobs=1))):
        try:
            ask()
        except Exception:       # noqa: BLE001 - reported by OCRmyPDF when a file is read
            pass


def blank_page() -> bytes:
    """A one-inch white page scanned at 72 dpi: the least OCRmyPDF reads through every step."""
    import io
    from PIL import Image
    out = io.BytesIO()
    Image.new("L", (72, 72), 255).save(out, "PDF", resolution=72)
    return out.getvalue()


_warm()
