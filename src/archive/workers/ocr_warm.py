"""Imported by the OCR fork server only (workers.ocr.processes): asks Tesseract and
Ghostscript for their versions and languages once, there, so that every process forked to
read a round of files inherits the answers instead of starting those programs again for
each file (workers.ocr.remember_tools says why)."""
from __future__ import annotations

from .ocr import quick_page_images, remember_tools


def _warm():
    """Fill the remembered answers; a program that is missing is simply not remembered, and
    the file's reading reports it as it always has."""
    from ocrmypdf._exec import ghostscript, tesseract
    remember_tools()
    quick_page_images()
    for ask in (tesseract.version, tesseract.get_languages, ghostscript.version):
        try:
            ask()
        except Exception:       # noqa: BLE001 - reported by OCRmyPDF when a file is read
            pass


_warm()
