"""Reading every stored file once for the file rules (fixity, usability), fast.

The facts to check against come from the archive's fixity index (archive.records.fixity: one
BTree, written at filing), not from loading every dossier, document and file revision;
the blob files are found under the storage's blob directory from each blob's oid, and
two worker processes read, hash and open them in batches while the main thread collects
(threads were measured first: the main thread's own Python work held the GIL they need).
Where the storage keeps no blob directory (an in-memory database, a blob of the current
transaction) the blob is opened through ZODB in the main thread.
"""
from __future__ import annotations

import collections
import hashlib
import os
from dataclasses import dataclass

BATCH = 256         # files per job for a worker process
AHEAD = 8           # jobs in flight ahead of the rules


@dataclass(frozen=True)
class StoredFile:
    """One stored file as the file rules see it: what was recorded, what is there now."""
    doc_id: str
    file_no: int
    sha256: str              # recorded at filing
    pages: int | None        # recorded at filing
    readable: bool           # False: the stored file is missing or cannot be read
    digest: str = ""         # SHA-256 of the stored bytes
    size: int = 0
    found_pages: int | None = None   # pages PDFium finds (when the PDF was opened)
    problem: str = ""        # why PDFium cannot open it ("" when it opens)
    sm3_digest: str = ""     # SM3 of the stored bytes, from the same read as ``digest``
    recorded_sm3: str = ""   # SM3 recorded at filing ("" before the evolve step gave it one)

    @property
    def subject(self):
        return f"{self.doc_id}#{self.file_no}"


def facts(data, open_pdf) -> tuple:
    """(readable, digest, size, pages, problem, sm3) of stored bytes (None: unreadable):
    the bytes are read once and feed both digests."""
    if data is None:
        return (False, "", 0, None, "", "")
    pages, problem = open_file_facts(data) if open_pdf else (None, "")
    return (True, hashlib.sha256(data).hexdigest(), len(data), pages, problem,
            hashlib.new("sm3", data).hexdigest())


def open_file_facts(data):
    """(pages, problem): a PDF opened by PDFium; an OFD or a scan's image as filing read it."""
    from ..records.formats import PDF, sniff, page_facts
    if sniff(data) in (PDF, None):
        return open_pdf_facts(data)
    return page_facts(data)


def open_pdf_facts(data):
    """(pages, problem): the PDF opened by PDFium, as a reader's viewer would open it."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            return None, "文件已加密，需要密码才能打开"
        return None, "不是可读的PDF文件（" + text.split("(")[-1].rstrip(").") + "）"
    try:
        if raw.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
            return len(pdf), "文件已加密（不符合长期保存要求）"
        return len(pdf), ""
    finally:
        pdf.close()


def _read_folder(folder):
    """The bytes of the newest committed blob file in an oid's folder (None if none)."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".blob")]
        if not names:
            return None
        with open(os.path.join(folder, max(names)), "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _check_blobs(base_dir, layout, oids, open_pdf):
    """A worker's job: the facts of a batch of stored files, by blob oid (None: the caller
    reads that one through ZODB)."""
    from ZODB.blob import LAYOUTS
    to_path = LAYOUTS[layout].oid_to_path
    return [facts(_read_folder(os.path.join(base_dir, to_path(oid))), open_pdf) if oid is not None else None
            for oid in oids]


def _read_blob(blob):
    try:
        with blob.open("r") as fh:
            return fh.read()
    except Exception:   # a missing or unreadable blob is exactly what fixity reports
        return None


class FileReader:
    """The stored files of the archive's fixity index, read in worker processes in batches
    while the main thread collects; ``open_pdf``: also open each PDF (the usability rule)."""

    def __init__(self, root, open_pdf=True, workers=2):
        self.jar = getattr(root, "_p_jar", None)
        storage = getattr(self.jar.db(), "storage", None) if self.jar is not None else None
        # Blob files read straight from disk only where they all are: a FileStorage's blob
        # directory. RelStorage's blob directory is a cache (layout "zeocache", which a worker
        # process does not know, and files it may not hold yet): read those through ZODB.
        from ZODB.FileStorage import FileStorage
        self.helper = getattr(storage, "fshelper", None) if isinstance(storage, FileStorage) else None
        self.open_pdf, self.workers = open_pdf, workers

    def stored_files(self, entries):
        """(entry, StoredFile) for each fixity entry, in the order given."""
        if self.helper is None:
            for entry in entries:
                yield entry, self._stored(entry, None)
            return
        pool = _start_method().Pool(self.workers)
        base, layout = self.helper.base_dir, self.helper.layout_name
        try:
            in_flight = collections.deque()
            for batch in _batches(entries, BATCH):
                oids = [e.blob if isinstance(e.blob, bytes) else None for e in batch]
                in_flight.append((batch, pool.apply_async(_check_blobs, (base, layout, oids, self.open_pdf))))
                if len(in_flight) > AHEAD:
                    yield from self._collect(*in_flight.popleft())
            while in_flight:
                yield from self._collect(*in_flight.popleft())
        finally:
            pool.terminate()
            pool.join()

    def _collect(self, batch, result):
        for entry, got in zip(batch, result.get()):
            yield entry, self._stored(entry, got)

    def _stored(self, entry, got):
        """The facts found; a file the worker could not read (or was not given) is read
        through ZODB, which also covers a blob filed in this very transaction."""
        if got is None or not got[0]:
            blob = entry.blob
            if isinstance(blob, bytes):
                try:
                    blob = self.jar.get(blob)
                except Exception:   # no such object any more: unreadable, fixity says so
                    blob = None
            got = facts(_read_blob(blob) if blob is not None else None, self.open_pdf)
        return StoredFile(entry.doc_id, entry.file_no, entry.sha256, entry.pages, *got,
                          recorded_sm3=entry.sm3)


def _start_method():
    """fork when this process runs one thread (the CLI: workers start at once); in the web
    server, whose other threads may hold locks at the moment of a fork, a fork server
    (about two seconds to start, for a background job)."""
    from ..workers.processes import context
    return context()


def _batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
