"""OCR (文字识别) of scanned PDFs, whose text layer is blank, after the text layer step.

A scanned page is a picture: archive.workers.textlayer finds no text in it and queues the file
revision here. Tesseract (``chi_sim``) reads each page rendered at 300 dpi; that takes
seconds per page, so it runs in a worker of its own, one file per transaction, and text
layers and the search index keep flowing meanwhile. The recognised text is recorded on
the revision (``text_source = "ocr"``) and the dossier queued for the index; the filed
file itself is only ever read, never written.
"""
from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass

import pypdfium2 as pdfium
import pytesseract

from .background import Worker
from ..records.pdf import MAX_TEXT
from ..search.queue import index_later
from .textlayer import TextQueue

log = logging.getLogger(__name__)

PAGE_TIMEOUT = 300          # seconds for one page; a hung tesseract must not stall the queue
MAX_PIXELS = 40_000_000     # about A2 at 300 dpi: a poster-sized page is read at a lower dpi
PAGE_SEPARATOR = "\n\f"     # as archive.records.pdf.text_of, so search can tell which page matched

# Tesseract separates CJK characters by spaces; Chinese has none between words.
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")


class OcrQueue(TextQueue):
    """File revisions whose text layer is blank, waiting for OCR, each with its dossier."""


class OcrFailed(Exception):
    """A file OCR could not read; the message is the short reason shown on the document."""


@dataclass(frozen=True)
class OcrOptions:
    """How pages are read: ``archive.ocr_lang`` and ``archive.ocr_max_pages`` in the ini."""
    lang: str = "chi_sim"
    max_pages: int = 50
    dpi: int = 300

    @classmethod
    def from_settings(cls, settings):
        """The options an ini file sets; what it leaves out keeps the defaults above."""
        return cls(lang=settings.get("archive.ocr_lang") or cls.lang,
                   max_pages=int(settings.get("archive.ocr_max_pages") or cls.max_pages))


def join_cjk(text: str) -> str:
    """Tesseract's output without the spaces it puts between Chinese characters."""
    return _CJK_GAP.sub("", text)


def recognise(data: bytes, options: OcrOptions) -> tuple[str, int]:
    """The text of the first ``max_pages`` pages and how many were read; raises OcrFailed."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise OcrFailed("无法打开PDF文件以渲染页面") from exc
    try:
        count = min(len(pdf), options.max_pages)
        pages = [join_cjk(_page_text(pdf[i], options)).strip() for i in range(count)]
    finally:
        pdf.close()
    return PAGE_SEPARATOR.join(pages)[:MAX_TEXT], count


def _page_text(page, options):
    """One page rendered to a grey image and read by Tesseract."""
    try:
        width, height = page.get_size()
        scale = min(options.dpi / 72, math.sqrt(MAX_PIXELS / max(width * height, 1)))
        image = page.render(scale=scale, grayscale=True).to_pil()
        return pytesseract.image_to_string(image, lang=options.lang, timeout=PAGE_TIMEOUT)
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrFailed("服务器未安装Tesseract文字识别程序") from exc
    except pytesseract.TesseractError as exc:
        if "loading language" in str(exc.message):
            raise OcrFailed(f"缺少Tesseract识别语言“{options.lang}”") from exc
        raise OcrFailed("Tesseract识别出错") from exc
    except pdfium.PdfiumError as exc:
        raise OcrFailed("无法渲染PDF页面") from exc
    except RuntimeError as exc:
        if "timeout" in str(exc):  # how pytesseract reports a killed, overdue tesseract
            raise OcrFailed(f"单页识别超过 {PAGE_TIMEOUT} 秒") from exc
        raise
    finally:
        page.close()


def ocr_revision(revision, options: OcrOptions):
    """Recognise one file and record the outcome; the text is stored only when every page
    was read, so a failure leaves the revision as the text layer step left it."""
    try:
        text, count = recognise(revision.read(), options)
    except OcrFailed as exc:
        _failed(revision, str(exc))
        return
    except Exception as exc:  # anything else about this one file: mark it, keep the queue going
        log.warning("OCR of %s failed: %r", revision.sha256[:12], exc)
        _failed(revision, "识别出错")
        return
    revision.text, revision.text_source, revision.ocr_pages = text, "ocr", count
    revision.text_status, revision.text_error = "ocr_done", ""
    log.info("OCR read %s: %d pages", revision.sha256[:12], count)


def _failed(revision, reason):
    revision.text_status, revision.text_error = "ocr_failed", reason


def drain(root, options: OcrOptions, limit=None, commit=None, progress=None) -> int:
    """OCR queued files, one per ``commit`` (if given): a file takes seconds per page, and
    a conflict or a crash then costs one file's work, which stays queued."""
    queue, done = root.ocr_queue, 0
    total = len(queue)
    while limit is None or done < limit:
        items = queue.take(1)
        if not items:
            break
        key, revision, dossier = items[0]
        ocr_revision(revision, options)
        queue.done(key)
        if dossier is not None:
            index_later(root, dossier)
        done += 1
        if commit is not None:
            commit()
        if progress is not None:
            progress(done, total)
    return done


class OcrWorker(Worker):
    """Reads scanned files in the web server, one file per transaction.

    There is one such thread: pdfium, which renders the pages, is not thread-safe.
    """

    label = "archive-ocr"

    def __init__(self, db, options: OcrOptions, interval=2.0):
        super().__init__(db, interval)
        self.options = options
        # Tesseract starts a thread per core by default; in the web server one is enough,
        # so OCR of a long scan never takes the cores requests need.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def work(self, root, commit) -> int:
        return drain(root, self.options, limit=1, commit=commit)
