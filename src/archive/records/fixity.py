"""The fixity index (固化信息登记): every stored file's SHA-256, size and page count as
recorded at filing, with its blob's oid, for the whole archive in one BTree.

The audit's fixity and usability rules walk this index instead of every dossier,
document and file revision: a bucket holds the files of dozens of dossiers as plain
values (a blob's oid, not a reference to the blob), so reading the whole index costs a
few hundred records, and the oid says where the blob's file lies under the blob
directory (bench/audit.py measures it against hashing the blob files raw). An entry is written once, when the
file is filed, and never changed or removed (a withdrawn document's files stay).
"""
from __future__ import annotations

from dataclasses import dataclass

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

@dataclass(frozen=True)
class FixityEntry:
    """What was recorded of one stored file at filing; ``blob`` is its oid (bytes), or the
    blob itself when it had none yet (a dossier outside a database)."""
    kind: str
    archive_no: str
    doc_id: str
    file_no: int
    sha256: str
    size: int
    pages: int | None
    blob: object


class FixityIndex(Persistent):
    """(kind, archive number) -> the dossier's files as (document id, file number, sha256,
    size, pages, blob oid) tuples in filing order: one small value per dossier, so the
    whole index is read in a few hundred records."""

    def __init__(self):
        self._entries = OOBTree()
        self._count = Length()

    def __len__(self):
        return self._count()

    def record(self, dossier, doc_id, revision):
        """Keep a new file's facts; its blob gets its oid now, so the entry can hold it."""
        key = (dossier.kind, dossier.archive_no)
        files = self._entries.get(key, ())
        if any(f[0] == doc_id and f[1] == revision.number for f in files):
            return
        blob = revision.blob
        if blob._p_oid is None and self._p_jar is not None:
            self._p_jar.add(blob)
        self._entries[key] = files + ((doc_id, revision.number, revision.sha256, revision.size,
                                       revision.pages, blob._p_oid or blob),)
        self._count.change(1)

    def record_dossier(self, dossier):
        """Every file the dossier holds (a dossier filed before it joined the archive, evolve)."""
        for doc in dossier.documents.values():
            for revision in doc.files:
                self.record(dossier, doc.doc_id, revision)

    def forget(self, kind, archive_no) -> int:
        """Drop a dossier's entries when its files are lawfully destroyed (archive.disposition:
        the stub keeps their SHA-256); the only removal the index knows."""
        files = self._entries.pop((kind, archive_no), ())
        if files:
            self._count.change(-len(files))
        return len(files)

    def of(self, kind, archive_no) -> list:
        """One dossier's entries, in filing order."""
        return [FixityEntry(kind, archive_no, *f) for f in self._entries.get((kind, archive_no), ())]

    def entries(self):
        """Every entry, dossier by dossier."""
        for (kind, archive_no), files in self._entries.items():
            for f in files:
                yield FixityEntry(kind, archive_no, *f)


def index_of(dossier):
    """The archive's fixity index for a dossier in a container (None when it is not in one)."""
    container = getattr(dossier, "__parent__", None)
    return getattr(getattr(container, "__parent__", None), "fixity", None)
