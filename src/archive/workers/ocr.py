"""OCR (文字识别) and the access copy (利用副本) of scans, photos and OFDs, after the text layer step.

A scanned PDF's text layer is blank; a photo or a scanner's TIFF has none; an OFD without
text is a scan in another wrapper. archive.workers.textlayer queues each such file
revision here, where OCRmyPDF (Tesseract ``chi_sim`` underneath) reads the pages, both cores
at once, and writes a PDF/A-2b with the page images and an invisible text layer: the
access copy, kept as a blob beside the original (records.document.AccessCopy), which is
only ever read. The recognised text is recorded on the revision (``text_source = "ocr"``)
and the dossier queued for the search index. Images become a PDF first by img2pdf, which
wraps JPEG and PNG data without re-encoding it (lossless), and OFDs by records.ofd.render.
"""
from __future__ import annotations

import datetime as _dt
import io
import logging
import os
import re
import tempfile
from dataclasses import dataclass

from .background import Worker
from ..records import formats, ofd
from ..records.document import AccessCopy
from ..records.pdf import MAX_TEXT
from ..search.queue import index_later
from .textlayer import TextQueue

log = logging.getLogger(__name__)
logging.getLogger("ocrmypdf").setLevel(logging.ERROR)   # its page-by-page chatter; failures raise

PAGE_TIMEOUT = 300          # seconds for one page; a hung tesseract must not stall the queue
PAGE_SEPARATOR = "\n\f"     # as archive.records.pdf.text_of, so search can tell which page matched
PDFA = "2B"                 # PDF/A-2b (ISO 19005-2): what OCRmyPDF writes and archives accept

# Tesseract separates CJK characters by spaces; Chinese has none between words.
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
_SKIPPED = re.compile(r"^\[OCR skipped on page\(s\) [^\]]*\]$", re.M)


class OcrQueue(TextQueue):
    """File revisions waiting for OCR and their access copy, each with its dossier."""


class OcrFailed(Exception):
    """A file OCR could not read; the message is the short reason shown on the document."""


@dataclass(frozen=True)
class OcrOptions:
    """How pages are read: ``archive.ocr_lang``, ``archive.ocr_max_pages`` and
    ``archive.ocr_jobs`` (pages read at once; default every core) in the ini."""
    lang: str = "chi_sim"
    max_pages: int = 50
    jobs: int = 0           # 0: os.cpu_count()

    @classmethod
    def from_settings(cls, settings):
        """The options an ini file sets; what it leaves out keeps the defaults above."""
        return cls(lang=settings.get("archive.ocr_lang") or cls.lang,
                   max_pages=int(settings.get("archive.ocr_max_pages") or cls.max_pages),
                   jobs=int(settings.get("archive.ocr_jobs") or cls.jobs))

    @property
    def workers(self) -> int:
        return self.jobs or os.cpu_count() or 1


@dataclass(frozen=True)
class Recognised:
    """What OCRmyPDF made of one file: the access copy, its text and how many pages it read."""
    pdf: bytes
    text: str
    pages: int
    read: int


def join_cjk(text: str) -> str:
    """Tesseract's output without the spaces it puts between Chinese characters."""
    return _CJK_GAP.sub("", text)


def recognise(pdf: bytes, options: OcrOptions, force=False, fresh=False) -> Recognised:
    """OCRmyPDF on one PDF: (access copy, text page by page, pages, pages read); OcrFailed.

    The text layer is Tesseract's own (``sandwich``: its PDF renderer, a glyphless font),
    grafted under each page image: OCRmyPDF's fpdf2 renderer sets the text in a CJK system
    font it subsets page by page, which took longer than Tesseract's reading of the page
    (bench/ocr.py). A viewer's find may then see spaces Tesseract put between Chinese words;
    the archive's own search reads the sidecar text, joined (``join_cjk``). The PDF/A is made
    by pikepdf (``internal``), Ghostscript only when pikepdf cannot confirm it; no image
    is re-encoded (``optimize=0``): the copy is for reading, the original is the record.
    The page images Tesseract reads are written as it reads them fastest (``ocr_images``)."""
    import ocrmypdf
    from ocrmypdf import exceptions as oe
    from pypdf import PdfReader
    if not fresh:       # ``fresh``: read again after forget_tools, asking every program
        remember_tools()
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    read = min(pages, options.max_pages)
    with tempfile.TemporaryDirectory(prefix="archive-ocr-") as tmp:
        src, out, txt = (os.path.join(tmp, n) for n in ("in.pdf", "out.pdf", "out.txt"))
        with open(src, "wb") as fh:
            fh.write(pdf)
        settings = dict(language=[options.lang], output_type="pdfa-2", jobs=options.workers,
                        sidecar=txt, progress_bar=False, rasterizer="pypdfium", optimize=0,
                        pdf_renderer="sandwich",
                        tesseract_timeout=PAGE_TIMEOUT, pages=f"1-{read}" if read < pages else None,
                        force_ocr=force or None, plugins=[__name__ + "_images"])
        try:
            try:
                ocrmypdf.ocr(src, out, pdfa_backend="internal", **settings)
            except oe.PdfaConversionFailedError:   # what pikepdf cannot confirm, Ghostscript converts
                ocrmypdf.ocr(src, out, pdfa_backend="ghostscript", **settings)
        except (oe.PriorOcrFoundError, oe.TaggedPDFError, oe.DigitalSignatureError):
            if force:
                raise OcrFailed("文件已有文字层，无法再识别") from None
            return recognise(pdf, options, force=True, fresh=fresh)   # stray text on a scan: read it all again
        except oe.MissingDependencyError as exc:
            if "language" in str(exc):
                raise OcrFailed(f"缺少Tesseract识别语言“{options.lang}”") from exc
            if "tesseract" in str(exc):
                raise OcrFailed("服务器未安装Tesseract文字识别程序") from exc
            raise OcrFailed("服务器未安装OCRmyPDF所需的程序（Ghostscript）") from exc
        except FileNotFoundError:
            if fresh or not forget_tools():     # a program gone since it was asked: ask
                raise                           # again, so a missing one is named below
            return recognise(pdf, options, force=force, fresh=True)
        except oe.EncryptedPdfError:
            raise OcrFailed("文件已加密，无法识别") from None
        except oe.ExitCodeException as exc:
            raise OcrFailed(f"OCRmyPDF识别出错（{type(exc).__name__}）") from exc
        with open(out, "rb") as fh:
            result = fh.read()
        with open(txt, encoding="utf-8", errors="replace") as fh:
            sidecar = _SKIPPED.sub("", fh.read())
    text = PAGE_SEPARATOR.join(join_cjk(p).strip() for p in sidecar.split("\f")[:read])
    return Recognised(result, text[:MAX_TEXT], pages, read)


def remember_tools():
    """Ask Tesseract and Ghostscript for their versions and languages once per process.

    OCRmyPDF asks again for every file it reads (``tesseract --version`` several times,
    ``--list-langs``, ``gs --version``): four or five programs started, some 0.2 s of CPU a
    file, a tenth of the reading of a three-page scan (bench/ocr.py). The fork server
    imports this module, so every process it forks inherits the answers. The programs do
    not change under a running worker; installing a language or a new Tesseract takes a
    restart, as it does for any server. A probe that fails is not remembered, so a missing
    program is still reported as OcrFailed."""
    import functools
    from ocrmypdf._exec import _probe, tesseract
    if getattr(_probe.get_version, "remembered", False):
        return
    asked = _probe.get_version
    langs = tesseract.get_languages

    @functools.wraps(asked)
    def get_version(program, *args, env=None, **kw):
        if env is not None:                 # an environment of its own: ask every time
            return asked(program, *args, env=env, **kw)
        return _cached_version(program, args, tuple(sorted(kw.items())))

    @functools.lru_cache(maxsize=None)
    def _cached_version(program, args, kw):
        return asked(program, *args, **dict(kw))

    get_version.remembered = True
    get_version.forget = _cached_version.cache_clear
    _probe.get_version = get_version
    tesseract.get_languages = functools.lru_cache(maxsize=None)(langs)


def forget_tools() -> bool:
    """Drop what ``remember_tools`` remembered (a program removed or replaced under a running
    worker); whether there was anything to forget."""
    from ocrmypdf._exec import _probe, tesseract
    if not getattr(_probe.get_version, "remembered", False):
        return False
    _probe.get_version.forget()
    _probe.get_version = _probe.get_version.__wrapped__
    tesseract.get_languages = tesseract.get_languages.__wrapped__
    return True


def tool_name() -> str:
    import ocrmypdf
    return f"OCRmyPDF {ocrmypdf.__version__}（Tesseract）"


def ocr_revision(revision, options: OcrOptions, when=None):
    """Read one file and record the outcome; the text and the access copy are stored only
    when OCRmyPDF finished, so a failure leaves the revision as the text layer step left it."""
    source = _source(revision)
    _record(revision, source if isinstance(source, OcrFailed) else _recognise_safely(*source, options), when)


def ocr_revisions(revisions, options: OcrOptions, when=None):
    """Read several files at once (``recognise_many``) and record each on its revision.
    The files are read here, where the ZODB connection is; only their bytes go to the
    processes, and only results come back."""
    for revision, outcome in zip(revisions, recognise_many([_source(r) for r in revisions], options)):
        _record(revision, outcome, when)


def recognise_many(sources, options: OcrOptions):
    """A ``Recognised`` or an ``OcrFailed`` for each (pdf, force) source (or OcrFailed
    already), each file in its own process on its share of the cores.

    OCRmyPDF runs one job per Python process (its global plugin state), and the parts of a
    file it does not share out over pages (start-up, grafting the text layer, making and
    checking the PDF/A) left a core idle when one file was read on both (bench/ocr.py).
    Files side by side keep every core on Tesseract."""
    from concurrent.futures import ProcessPoolExecutor
    each = OcrOptions(options.lang, options.max_pages, max(1, options.workers // len(sources)))
    with ProcessPoolExecutor(min(len(sources), options.workers), mp_context=processes()) as pool:
        pending = [source if isinstance(source, OcrFailed) else pool.submit(_recognise_safely, *source, each)
                   for source in sources]
        return [p if isinstance(p, OcrFailed) else p.result() for p in pending]


def processes():
    """The multiprocessing context the files are read in: a fork server that imported
    OCRmyPDF and this module once, so a round's processes start in milliseconds rather
    than the seconds a fresh interpreter takes to import them (most of a page's time on a
    loaded machine), and are forked from it, never from the web server's threads."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["ocrmypdf", __name__, __name__ + "_images", __name__ + "_warm"])
        _CONTEXT = context
    return _CONTEXT


def start_processes():
    """The fork server started now (the worker at start-up, a benchmark before it times),
    so the first round does not pay for its imports."""
    from multiprocessing import forkserver
    processes()
    forkserver.ensure_running()


_CONTEXT = None


def _source(revision):
    """(the PDF OCRmyPDF is given, whether its text must be read again): an image or an OFD
    becomes a PDF first, and an OFD's drawn pages carry text that is not the scan's; or,
    when that cannot be done, the OcrFailed to record."""
    try:
        kind = getattr(revision, "content_type", formats.PDF)
        return formats.pdf_of(revision.read(), kind), kind == formats.OFD
    except Exception as exc:  # a file that cannot even be given to OCRmyPDF: mark it, go on
        log.warning("OCR of %s failed: %r", revision.sha256[:12], exc)
        return OcrFailed("识别出错")


def _recognise_safely(pdf, force, options):
    """``recognise``'s result, or the reason it failed as an OcrFailed, never raised: so a
    worker process sends back only what pickles, and one bad file keeps the others going."""
    try:
        return recognise(pdf, options, force=force)
    except OcrFailed as exc:
        return exc
    except Exception as exc:  # anything else about this one file: mark it, keep the queue going
        log.warning("OCR failed: %r", exc)
        return OcrFailed("识别出错")


def _record(revision, outcome, when=None):
    """The outcome of one file on its revision: text and access copy, or the failure."""
    if isinstance(outcome, OcrFailed):
        _failed(revision, str(outcome))
        return
    when = when or _dt.datetime.now(_dt.timezone.utc)
    revision.access_copy = AccessCopy(outcome.pdf, outcome.pages, PDFA, tool_name(), when)
    revision.text, revision.text_source, revision.ocr_pages = outcome.text, "ocr", outcome.read
    revision.text_status, revision.text_error = "ocr_done", ""
    log.info("OCR read %s: %d pages", revision.sha256[:12], outcome.read)


def _failed(revision, reason):
    revision.text_status, revision.text_error = "ocr_failed", reason


def drain(root, options: OcrOptions, limit=None, commit=None, progress=None) -> int:
    """OCR queued files, as many at once as there are cores (``ocr_revisions``), one
    ``commit`` (if given) per round: a file takes seconds per page, and a conflict or a
    crash then costs one round's work, which stays queued. A file alone in the queue is
    read in this process, its pages on every core."""
    queue, done = root.ocr_queue, 0
    total = len(queue)
    while limit is None or done < limit:
        room = options.workers if limit is None else min(options.workers, limit - done)
        items = queue.take(room)
        if not items:
            break
        if len(items) == 1:
            ocr_revision(items[0][1], options)
        else:
            ocr_revisions([revision for _, revision, _ in items], options)
        for key, _, dossier in items:
            queue.done(key)
            if dossier is not None:
                index_later(root, dossier)
        done += len(items)
        if commit is not None:
            commit()
        if progress is not None:
            progress(done, total)
    return done


class OcrWorker(Worker):
    """Reads scans in the web server, a round of files per transaction: one file's pages
    on ``archive.ocr_jobs`` cores, or that many files side by side (one Tesseract thread
    each)."""

    label = "archive-ocr"

    def __init__(self, db, options: OcrOptions, interval=2.0):
        super().__init__(db, interval)
        self.options = options
        # Tesseract starts a thread per core by default; OCRmyPDF already runs a page per
        # core, and more threads than cores only make them wait for each other.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def work(self, root, commit) -> int:
        return drain(root, self.options, limit=self.options.workers, commit=commit)
