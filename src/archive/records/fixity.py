"""The fixity index (固化信息登记): every stored file's SHA-256, SM3, size and page count as
recorded at filing, with its blob's oid, for the whole archive in one BTree.

The audit's fixity and usability rules walk this index instead of every dossier,
document and file revision: each dossier's files are one small record of plain values
(a blob's oid, not a reference to the blob), so reading the whole index costs one record
per dossier, and the oid says where the blob's file lies under the blob directory
(bench/audit.py measures it against hashing the blob files raw). An entry is written
once, when the file is filed, and never changed or removed (a withdrawn document's files
stay). The dossier's record is its own persistent object (``DossierFiles``), so filing
rewrites that record alone, not a bucket shared with dozens of other dossiers (which
cost about 25 KB per filing in bench/growth.py); the SHA-256 is kept as 32 bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from BTrees.Length import Length
from persistent import Persistent

from .container import IndexTree

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
    sm3: str = ""      # GB/T 32905; "" for an entry recorded before SM3 was (evolve adds it)


class DossierFiles(Persistent):
    """One dossier's files as (document id, file number, sha256 as 32 bytes, size, pages,
    blob oid, sm3 as 32 bytes) tuples, in filing order (entries recorded before SM3 have
    six values until evolve completes them).

    The record keeps at most ``CHUNK`` files itself; older ones are sealed, ``CHUNK`` at a
    time, into a DossierFiles of their own that ``older`` refers to (a chain, oldest last),
    written once. So a filing rewrites a record of a few files, not one that grows with the
    dossier (695 bytes on average in a dossier of ten documents: bench/growth.py). A record
    stored before the chain simply has no ``older``."""

    CHUNK = 4
    older = None

    def __init__(self, files=(), older=None):
        self.files = tuple(files)
        if older is not None:
            self.older = older

    def add(self, entry):
        """Append one file's tuple, sealing the record's files first when it holds CHUNK."""
        if len(self.files) >= self.CHUNK:
            self.older, self.files = DossierFiles(self.files, self.older), ()
        self.files += (entry,)

    def chain(self) -> list:
        """This record and the sealed ones behind it, oldest first."""
        out, node = [], self
        while node is not None:
            out.append(node)
            node = node.older
        return out[::-1]

    def all(self) -> tuple:
        """Every file tuple, in filing order."""
        return tuple(f for node in self.chain() for f in node.files)


def _hex(value):
    return value.hex() if isinstance(value, bytes) else value


def _plain(files):
    """A dossier's file tuples, from either stored shape (a DossierFiles, or before the
    small-records step a bare tuple with hexadecimal digests), with the digests in hex."""
    files = files.all() if isinstance(files, DossierFiles) else files
    return [(f[0], f[1], _hex(f[2]), *f[3:6], *(_hex(x) for x in f[6:7])) for f in files]


class FixityIndex(Persistent):
    """(kind, archive number) -> the dossier's ``DossierFiles``: one small record per
    dossier, which only filings into that dossier rewrite."""

    def __init__(self):
        self._entries = IndexTree()   # small buckets: a new dossier rewrites one of 8 entries
        self._count = Length()

    def __len__(self):
        return self._count()

    def record(self, dossier, doc_id, revision):
        """Keep a new file's facts; its blob gets its oid now, so the entry can hold it."""
        key = (dossier.kind, dossier.archive_no)
        held = self._entries.get(key)
        if not isinstance(held, DossierFiles):    # new, or stored before the small-records step
            held = DossierFiles(_compact(held or ()))
            self._entries[key] = held
        if any(f[0] == doc_id and f[1] == revision.number for f in held.all()):
            return
        blob = revision.blob
        if blob._p_oid is None and self._p_jar is not None:
            self._p_jar.add(blob)
        held.add((doc_id, revision.number, bytes.fromhex(revision.sha256), revision.size,
                  revision.pages, blob._p_oid or blob, _bytes(revision.sm3)))
        self._count.change(1)

    def add_sm3(self, dossier, digests):
        """Complete a dossier's entries recorded before SM3 with ``{(doc_id, file_no): sm3}``
        (evolve): the one change an entry ever gets, filling a value it never had."""
        key = (dossier.kind, dossier.archive_no)
        held = self._entries.get(key)
        if held is None:
            return
        if not isinstance(held, DossierFiles):
            held = self._entries[key] = DossierFiles(_compact(held))
        for node in held.chain():
            completed = tuple(f[:6] + (_bytes(digests.get((f[0], f[1]))) or (f[6] if len(f) > 6 else b""),)
                              for f in node.files)
            if completed != node.files:
                node.files = completed

    def compact(self):
        """Every dossier's files in its own DossierFiles record (evolve: the small-records step)."""
        for key, held in list(self._entries.items()):
            if not isinstance(held, DossierFiles):
                self._entries[key] = DossierFiles(_compact(held))

    def record_dossier(self, dossier):
        """Every file the dossier holds (a dossier filed before it joined the archive, evolve);
        a new dossier gets its empty record now, with its place in the index, so its first
        filing rewrites only that small record."""
        key = (dossier.kind, dossier.archive_no)
        if key not in self._entries:
            self._entries[key] = DossierFiles()
        for doc in dossier.documents.values():
            for revision in doc.files:
                self.record(dossier, doc.doc_id, revision)

    def forget(self, kind, archive_no) -> int:
        """Drop a dossier's entries when its files are lawfully destroyed (archive.disposition:
        the stub keeps their SHA-256); the only removal the index knows."""
        files = _plain(self._entries.pop((kind, archive_no), ()))
        if files:
            self._count.change(-len(files))
        return len(files)

    def of(self, kind, archive_no) -> list:
        """One dossier's entries, in filing order."""
        return [FixityEntry(kind, archive_no, *f) for f in _plain(self._entries.get((kind, archive_no), ()))]

    def entries(self):
        """Every entry, dossier by dossier."""
        for (kind, archive_no), files in self._entries.items():
            for f in _plain(files):
                yield FixityEntry(kind, archive_no, *f)


def _bytes(digest):
    """A hexadecimal digest as bytes (half its size); "" or None stays empty."""
    return bytes.fromhex(digest) if isinstance(digest, str) else (digest or b"")


def _compact(files):
    """File tuples with the digests as 32 bytes."""
    return tuple((f[0], f[1], _bytes(f[2]), *f[3:6], *(_bytes(x) for x in f[6:7])) for f in files)


def index_of(dossier):
    """The archive's fixity index for a dossier in a container (None when it is not in one)."""
    container = getattr(dossier, "__parent__", None)
    return getattr(getattr(container, "__parent__", None), "fixity", None)
