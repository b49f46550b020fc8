"""The text layer (文本层) of filed PDFs, read after the filing has committed.

Reading a PDF's text takes ten times longer than checking and storing the file, so the
clerk does not wait for it: filing puts the new file revision on a persistent queue, and a
worker (a thread in the web server, or ``drain`` from the command line) reads the text and
records it. The queue lives in ZODB, so work pending at a crash is finished at the next
start; and only committed filings are ever on it. A file whose layer is blank (a scan) goes
on to OCR (archive.workers.ocr), as does every photo or scanner image; an OFD's text is read
from its package and its access copy drawn here (no OCR unless it holds no text). Any
other file has its dossier queued for the search index.
"""
from __future__ import annotations

import datetime as _dt
import logging
import secrets
import time

from .background import Worker
from .inbox import Queue
from ..records import formats, ofd
from ..records.document import AccessCopy
from ..records.pdf import MAX_TEXT, text_of
from ..search.queue import index_later

log = logging.getLogger(__name__)


class TextQueue(Queue):
    """File revisions waiting for their text layer, oldest first, each with its dossier.

    Filings add to it without conflicting with each other or with the worker (archive.workers.inbox).
    """

    def add(self, revision, dossier=None):
        # time first keeps the order; the random part keeps concurrent adds from colliding
        self._put((time.time_ns(), secrets.token_hex(4)), (revision, dossier))

    def take(self, limit):
        """Up to ``limit`` (key, revision, dossier) triples, oldest first; removed by ``done``.

        Entries queued before the queue knew dossiers are a bare revision: dossier None.
        """
        out = []
        for key, item in self._first(limit):
            revision, dossier = item if isinstance(item, tuple) else (item, None)
            out.append((key, revision, dossier))
        return out


def extract(revision, read=None):
    """Record one revision's text (``read``: its (text, error) read already, by a worker
    process); a file whose text cannot be read is marked failed."""
    text, error = read if read is not None else text_or_error(revision.read())
    if error is None:
        revision.text, revision.text_status = text, "done"
    else:   # any unreadable text layer: the file itself was checked at filing
        log.warning("text layer of %s failed: %s", revision.sha256[:12], error)
        revision.text, revision.text_status = "", "failed"


def text_or_error(data):
    """(text, None) or ("", why): what a worker process sends back for one PDF."""
    try:
        return text_of(data), None
    except Exception as exc:
        return "", repr(exc)


def is_blank(text) -> bool:
    """No letter, digit or ideograph at all: what a scanned page's text layer looks like."""
    return not any(ch.isalnum() for ch in text or "")


def read_ofd(revision, when=None):
    """An OFD's own text, page by page, and its pages drawn as the access copy (a plain
    PDF: its text is the OFD's, exact, so no OCR); a file that cannot be read is marked failed."""
    try:
        data = revision.read()
        package = ofd.read(data)
        copy = ofd.render(data, package)
    except Exception as exc:  # checked at filing; a renderer's surprise must not stop the queue
        log.warning("OFD %s could not be read: %r", revision.sha256[:12], exc)
        revision.text, revision.text_status = "", "failed"
        return
    revision.text, revision.text_source = package.text[:MAX_TEXT], "ofd"
    revision.access_copy = AccessCopy(copy, package.page_count, "", "archive.records.ofd",
                                      when or _dt.datetime.now(_dt.timezone.utc))
    revision.text_status = "done"


def read_layer(root, revision, dossier, read=None):
    """Record one revision's text layer, then hand a scan to OCR or the dossier to the index."""
    kind = getattr(revision, "content_type", formats.PDF)
    if kind in formats.IMAGES:      # a photo or scanner image: no text but what OCR reads
        revision.text_status = "ocr_pending"
        root.ocr_queue.add(revision, dossier)
        return
    if kind == formats.OFD:
        read_ofd(revision)
    else:
        extract(revision, read)
    if revision.text_status == "done" and revision.pages and is_blank(revision.text):
        revision.text_status = "ocr_pending"
        root.ocr_queue.add(revision, dossier)
    elif dossier is not None:
        index_later(root, dossier)


def drain(root, limit=None, batch=50, commit=None, progress=None, workers=1) -> int:
    """Extract pending text layers; ``commit`` (if given) is called after every batch.

    With ``workers`` > 1 the PDFs' text is read in that many processes (pypdf is pure
    Python: threads would wait for each other's GIL), the blobs read and the results
    recorded in this one, which alone touches ZODB."""
    done, total = 0, len(root.text_queue)
    pool = _pool(workers) if workers > 1 else None
    try:
        while limit is None or done < limit:
            items = root.text_queue.take(batch if limit is None else min(batch, limit - done))
            if not items:
                break
            reads = _read_all(pool, [r for _, r, _ in items]) if pool is not None else {}
            for key, revision, dossier in items:
                read_layer(root, revision, dossier, reads.get(id(revision)))
                root.text_queue.done(key)
                done += 1
            if commit is not None:
                commit()
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.terminate()
    return done


def _pool(workers):
    """Fork from the command line (one thread); a fork server where other threads run,
    whose locks a fork could copy held (as archive.audit.files does)."""
    import multiprocessing
    import threading
    return multiprocessing.get_context(
        "fork" if threading.active_count() == 1 else "forkserver").Pool(workers)


def _read_all(pool, revisions):
    """{id(revision): (text, error)} of the batch's PDFs, read in the pool's processes."""
    pdfs = [r for r in revisions if getattr(r, "content_type", formats.PDF) == formats.PDF]
    datas = []
    for revision in pdfs:
        try:
            datas.append(revision.read())
        except Exception as exc:   # a missing blob: recorded as a failed read, like any other
            datas.append(exc)
    results = pool.map(_read_one, datas, chunksize=max(1, len(datas) // (4 * pool._processes) or 1))
    return {id(r): result for r, result in zip(pdfs, results)}


def _read_one(data):
    if isinstance(data, Exception):
        return "", repr(data)
    return text_or_error(data)


class TextWorker(Worker):
    """Reads pending text layers in the web server, a batch per transaction."""

    label = "archive-text-layer"

    def __init__(self, db, interval=1.0, batch=20):
        super().__init__(db, interval)
        self.batch = batch   # one process: a web server's request threads need the other core

    def work(self, root, commit) -> int:
        return drain(root, limit=self.batch, batch=self.batch, commit=commit)
