"""Documents (文件) filed into a dossier, each file kept as a ZODB blob.

A document is the archival unit a clerk names (申请表, 收入证明 ...); its content may be
refiled, which adds a FileRevision and never replaces the earlier one, and it may be
withdrawn (撤出), which is a recorded state, never a deletion.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import zlib

from persistent import Persistent
from ZODB.blob import Blob

from .formats import EXTENSIONS
from .pdf import PdfFacts


class TextLayer(Persistent):
    """What was read from a file revision after filing, in a record of its own: reading the
    text then rewrites this small record, not the revision (whose earlier copy would stay
    in an unpacked Data.fs: bench/growth.py).

    The text is kept zlib-compressed: it is derived data (read again from the PDF at will)
    and was half of the live data per document; the demo city's text layers shrink to 58 %.
    """

    _z = None               # the text, UTF-8 and zlib; None until read
    text_status = "pending"  # pending → done | failed | ocr_pending → ocr_done | ocr_failed
    text_source = "layer"   # "layer": the PDF's own text; "ocr": recognised from page images
    text_error = ""         # why OCR failed, in Chinese
    ocr_pages = None        # pages OCR read: fewer than ``pages`` when cut at archive.ocr_max_pages
    access_copy = None      # the AccessCopy (利用副本) made from a scan, photo or OFD

    @property
    def text(self):
        return None if self._z is None else zlib.decompress(self._z).decode("utf-8", "surrogatepass")

    @text.setter
    def text(self, value):
        self._z = None if value is None else zlib.compress(value.encode("utf-8", "surrogatepass"), 6)


class Spooled:
    """Content already written to a file of its own by whoever read and checked it (an
    import's worker writes each file's bytes as it hashes them): the new blob takes the file
    over (a rename) instead of the bytes being read and written a second time. The file
    must be on the file system of the blobs' temporary files (``tempfile.gettempdir()``
    for a blob not yet in a database) for the rename to be one."""

    def __init__(self, path):
        self.path = str(path)

    def size(self) -> int:
        return os.path.getsize(self.path)

    def head(self, count=8) -> bytes:
        """The file's first ``count`` bytes (what a format is told by)."""
        with open(self.path, "rb") as fh:
            return fh.read(count)

    def sha256(self) -> str:
        with open(self.path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()


class BlobContent:
    """What AccessCopy and FileRevision share: bytes written once into a ZODB blob at
    ``self.blob`` and read back from it. A plain mixin with no state of its own, so the
    pickles of both classes (module.Class and their attributes) are the same as before."""

    def _keep(self, data):
        """Write the content (bytes, or a ``Spooled`` file taken over) into a new blob; it
        is never written again."""
        self.blob = Blob()
        if isinstance(data, Spooled):
            self.blob.consumeFile(data.path)
            return
        with self.blob.open("w") as fh:
            fh.write(data)

    def open(self):
        """A readable file object on the committed content."""
        return self.blob.open("r")

    def read(self) -> bytes:
        with self.open() as fh:
            return fh.read()


class AccessCopy(BlobContent, Persistent):
    """利用副本: a PDF made from a scan, photo or OFD for reading and search (archive.workers.ocr),
    kept as a blob beside the original, which is never changed.

    It is derived data, made again from the original whenever its revision is put back on
    the OCR queue (as the evolve step ``_access_copies`` does): it goes wherever its revision goes — off the tree with it when a
    destruction list is carried out — and the fixity audit, which checks what was filed,
    leaves it alone. ``pdfa`` names the PDF/A part it conforms to ("2B"), "" when it is a
    plain PDF (an OFD drawn with its own text, which needs no OCR)."""

    content_type = "application/pdf"

    def __init__(self, data: bytes, pages: int, pdfa: str, tool: str, when: _dt.datetime):
        import hashlib
        self.size, self.sha256, self.pages = len(data), hashlib.sha256(data).hexdigest(), pages
        self.pdfa, self.tool, self.made_at = pdfa, tool, when
        self._keep(data)


def _read_later(name):
    """A text attribute of the revision, kept in its TextLayer; revisions stored before
    the small-records evolve step keep it on themselves (or read TextLayer's class default)."""
    def get(self):
        layer = self._layer                          # activates a ghost revision
        if layer is not None:
            return getattr(layer, name)
        return self.__dict__.get(name, None if name == "text" else getattr(TextLayer, name))

    def set(self, value):         # a revision without a TextLayer (FileRevision.__setattr__)
        self.__dict__[name] = value
        self._p_changed = True
    return property(get, set, doc=f"The revision's {name} (archive.workers.textlayer, ocr).")


class FileRevision(BlobContent, Persistent):
    """One file as filed: its bytes in a blob and the fixity facts read at filing.

    Its content is written once. Only the text read from it afterwards is recorded, in its
    TextLayer: ``text``, ``text_status`` (pending → done | failed | ocr_pending → ocr_done |
    ocr_failed) and where the text came from.
    """

    _layer = None
    content_type = "application/pdf"   # stored only for another format
    sm3 = ""                # SM3 digest (GB/T 32905); files filed before it get it from evolve
    intake = ()             # the intake check's results (archive.records.intake.Check), at filing
    text = _read_later("text")
    text_status = _read_later("text_status")
    text_source = _read_later("text_source")
    text_error = _read_later("text_error")
    ocr_pages = _read_later("ocr_pages")
    access_copy = _read_later("access_copy")
    _LAYERED = frozenset(("text", "text_status", "text_source", "text_error", "ocr_pages",
                          "access_copy"))

    def __setattr__(self, name, value):
        # Persistent marks the revision changed on any attribute set, even one a property
        # passes on: the text layer's go straight to the TextLayer, leaving the revision as is.
        if name in FileRevision._LAYERED:
            layer = self._layer
            if layer is not None:
                setattr(layer, name, value)
                return
        super().__setattr__(name, value)

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"

    def __init__(self, number: int, data, facts: PdfFacts, filename: str,
                 actor: str, when: _dt.datetime, content_type=None):
        """``data``: the bytes, or a ``Spooled`` file holding exactly the bytes ``facts``
        describe (an import's, written by the worker that hashed them)."""
        self.number = number
        kind = content_type or getattr(facts, "content_type", FileRevision.content_type)
        if kind != FileRevision.content_type:
            self.content_type = kind
        self.filename = filename or f"file-{number}{EXTENSIONS.get(kind, '.pdf')}"
        self.size, self.sha256, self.pages = facts.size, facts.sha256, facts.pages
        self.sm3 = getattr(facts, "sm3", "")
        self._layer = TextLayer()  # filled in after the commit by archive.workers.textlayer
        self.filed_by, self.filed_at = actor, when
        self._keep(data)


class Document(Persistent):
    """文件: descriptive metadata, every file revision, and which one is current.

    ``files`` is a tuple held in the document's own record (documents filed before keep
    their PersistentList, a record of its own, and append to it): a filing then writes one
    record less (158 bytes of 7 KB, bench/growth.py), and a refiling, which changes the
    document's current file anyway, rewrites the document. Values most documents keep
    (not withdrawn) are class defaults, stored only once changed."""

    item_no = None   # 件号 within the dossier, given at filing (documents filed before: evolve)
    files = ()
    withdrawn = False
    withdraw_reason = ""

    def __init__(self, doc_id: str, metadata: dict):
        self.__name__ = doc_id
        self.__parent__ = None
        self.metadata = dict(metadata)
        self.current_no = 0

    @property
    def doc_id(self):
        return self.__name__

    @property
    def current_file(self) -> FileRevision | None:
        """The file revision the dossier currently shows."""
        for revision in self.files:
            if revision.number == self.current_no:
                return revision
        return None

    def file_revision(self, number: int) -> FileRevision | None:
        return next((r for r in self.files if r.number == number), None)

    def add_file(self, data, facts, filename, actor, when) -> FileRevision:
        """Keep a new file; the earlier ones stay, reachable from older versions."""
        revision = FileRevision(len(self.files) + 1, data, facts, filename, actor, when)
        if isinstance(self.files, tuple):
            self.files += (revision,)
        else:                       # a PersistentList, stored before files became a tuple
            self.files.append(revision)
        self.current_no = revision.number
        return revision

    @classmethod
    def imported(cls, doc_id, metadata, revisions, current_no, withdrawn=False, reason="",
                 item_no=None):
        """A document as another archive kept it (接收): its file revisions as they were filed
        (numbers, who, when), built here rather than refiled, which would stamp them now;
        its 件号 as the package gave it (None: numbered after the others on import)."""
        doc = cls(doc_id, metadata)
        doc.item_no = item_no
        doc.files = tuple(sorted(revisions, key=lambda r: r.number))
        doc.current_no, doc.withdrawn = current_no, withdrawn
        doc.withdraw_reason = reason if withdrawn else ""
        return doc

    def set_state(self, metadata, file_no, withdrawn, reason=""):
        """Point the document at an earlier state (restore); files are reused, not copied."""
        self.metadata = dict(metadata)
        self.current_no = file_no
        self.withdrawn = withdrawn
        self.withdraw_reason = reason if withdrawn else ""

