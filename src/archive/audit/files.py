"""Reading every stored file once for the file rules (fixity, usability), fast.

The facts to check against come from each dossier's fixity register (one small record
per dossier, written at filing), not from loading every document and file revision; the
blob files themselves are found under the storage's blob directory from the blob's oid
and read and hashed by two threads (reading and SHA-256 release the GIL), while the
main thread walks the next dossiers. Where the storage keeps no blob directory (an
in-memory database, an uncommitted blob) the blob is opened through ZODB instead.
"""
from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import os
from dataclasses import dataclass

AHEAD = 8          # dossiers whose files may be read ahead of the rules


@dataclass(frozen=True)
class StoredFile:
    """One stored file as the file rules see it: what was recorded, what is there now."""
    doc_id: str
    file_no: int
    sha256: str            # recorded at filing
    pages: int | None      # recorded at filing
    data: bytes | None     # None: the stored file cannot be read
    digest: str            # SHA-256 of ``data`` ("" when None)

    @property
    def subject(self):
        return f"{self.doc_id}#{self.file_no}"


def _entries(dossier):
    """The dossier's fixity entries (built from its documents if it has no register)."""
    if dossier.fixity is None:
        from ..document import FixityRegister
        register = FixityRegister()
        for doc in dossier.documents.values():
            for revision in doc.files:
                register.add(doc.doc_id, revision)
        return register.entries
    return dossier.fixity.entries


def _read_path(folder):
    """(data, digest) of the newest committed blob file in an oid's folder."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".blob")]
        if not names:
            return None, ""
        with open(os.path.join(folder, max(names)), "rb") as fh:
            data = fh.read()
    except OSError:
        return None, ""
    return data, hashlib.sha256(data).hexdigest()


def _read_blob(blob):
    try:
        with blob.open("r") as fh:
            data = fh.read()
    except Exception:   # a missing or unreadable blob is exactly what fixity reports
        return None, ""
    return data, hashlib.sha256(data).hexdigest()


class FileReader:
    """Reads a dossier's stored files ahead, in threads; ``files(dossier)`` is then quick."""

    def __init__(self, root, threads=2):
        jar = getattr(root, "_p_jar", None)
        storage = getattr(getattr(jar, "db", lambda: None)(), "storage", None) if jar else None
        self.helper = getattr(storage, "fshelper", None)
        self.pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="archive-fixity")
        self.pending = collections.OrderedDict()

    def close(self):
        self.pool.shutdown(wait=True)

    def prefetch(self, dossier):
        """Start reading the dossier's files (key: the dossier's archive number and kind)."""
        jobs = []
        for entry in _entries(dossier):
            oid = getattr(entry.blob, "_p_oid", None)
            if self.helper is not None and oid is not None and not entry.blob._p_changed:
                folder = self.helper.getPathForOID(oid)
                jobs.append((entry, self.pool.submit(_read_path, folder)))
            else:
                jobs.append((entry, None))
        self.pending[(dossier.kind, dossier.archive_no)] = jobs

    def files(self, dossier):
        """Every stored file of a prefetched dossier, in filing order."""
        for entry, future in self.pending.pop((dossier.kind, dossier.archive_no)):
            data, digest = future.result() if future is not None else _read_blob(entry.blob)
            yield StoredFile(entry.doc_id, entry.file_no, entry.sha256, entry.pages, data, digest)
