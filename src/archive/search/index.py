"""The whoosh index under ``var/``: written only from committed data, rebuilt from ZODB.

The indexer takes dossier keys from the IndexQueue, writes their entries to whoosh and
only then removes the keys in a ZODB commit. If the process dies between the two, the
keys are still queued and the (idempotent) rewrite is done again at the next start; if
the ZODB commit conflicts, the same. So the index may lag, but never holds anything
that was not committed, and ``reindex`` can always rebuild it from ZODB alone.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from whoosh import index as whoosh_index
from whoosh.writing import CLEAR, LockError

from ..background import Worker
from .codec import Codec
from .fast import Cache
from .fields import dossier_key, entries, schema

log = logging.getLogger(__name__)


# The bulk writer's postings buffer per process, in whoosh's own estimate of its size,
# past which it sorts what it holds into a run on disk, every run to be read back and
# merged at the commit. Spilling costs 1.5 to 4.5 ms of CPU a document (measured on
# 4,000 documents), as much as a third of the indexing time; at whoosh's default (128)
# a 100,000-document reindex spills eight runs per process, at 1,536 one run of about
# 1 GB (each process then holds about 2.7 GB at most).
BULK_LIMIT_MB = 1536

# The index format this code writes (schema, codec). An index made by earlier code has
# another mark (or none): it still answers, slowly, until ``archive reindex`` makes it
# anew; ``archive index-check`` and the audit's search_index rule say so.
FORMAT = "archive-search 2: array codec, body without character offsets"
MARK = "ARCHIVE_FORMAT"


class SearchIndex:
    """One whoosh index directory; a single writer at a time, any number of readers."""

    def __init__(self, path):
        self.path = str(path)
        os.makedirs(self.path, exist_ok=True)
        if whoosh_index.exists_in(self.path):
            self.ix = whoosh_index.open_dir(self.path)
        else:
            self._create()
        self._lock = threading.Lock()
        self._local = threading.local()
        self.arrays = Cache()          # per segment: facet values, dates, field lengths

    def _create(self):
        self.ix = whoosh_index.create_in(self.path, schema())
        self._mark(FORMAT)

    def _mark(self, value):
        with open(os.path.join(self.path, MARK), "w", encoding="utf-8") as fh:
            fh.write(value)

    @property
    def outdated(self) -> bool:
        """Made by earlier code (another schema or codec): reindex to make it anew."""
        try:
            with open(os.path.join(self.path, MARK), encoding="utf-8") as fh:
                return fh.read().strip() != FORMAT
        except OSError:
            return True

    def recreate(self):
        """An empty index in the current format in place of an outdated one (reindex)."""
        with self._lock:
            current = getattr(self._local, "searcher", None)
            if current is not None:
                current.close()
                self._local.searcher = None
            self._create()
            self.arrays = Cache()

    def searcher(self):
        """A searcher on the latest committed index, kept open per thread (do not close it).

        Opening a searcher reads every segment's lengths and columns again, a fixed cost
        that grows with the index (150 ms at 20,000 documents); refreshing one that is
        current costs nothing, and a changed index gets a new one.
        """
        current = getattr(self._local, "searcher", None)
        generation = self.ix.latest_generation()
        if current is not None and getattr(current, "is_closed", False):
            current = None              # closed by a caller that used it as a context manager
        if current is not None and current.reader().generation() == generation:
            return current
        # A new searcher, not whoosh's refresh(): its reuse of segment readers keeps a
        # segment's old reader after documents in it were deleted (whoosh-reloaded 2.7.5).
        if current is not None:
            current.close()
        fresh = self._local.searcher = self.ix.searcher()
        return fresh

    def writer(self):
        """The index's writer, waiting for another process (a CLI reindex) to finish.

        Segments are written as separate files, not whoosh's default compound file: a
        compound segment is copied into memory each time a searcher opens it, which made
        every search after a change pay for the whole index (3–8 ms at 3,000 documents,
        about 150 ms at 20,000); separate files open in under a millisecond.
        """
        for _ in range(100):
            try:
                return self.ix.writer(limitmb=256, compound=False, codec=Codec())
            except LockError:
                time.sleep(0.1)
        raise LockError("搜索索引正被其他进程写入")

    def write(self, root, registry, keys):
        """Rewrite the entries of these dossier keys from ZODB (deleted dossiers drop out)."""
        with self._lock:
            writer = self.writer()
            try:
                for key in keys:
                    writer.delete_by_term("parent", key)
                    dossier = lookup(root, key)
                    if dossier is not None:
                        for entry in entries(dossier, registry):
                            writer.add_document(**entry)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()

    @contextlib.contextmanager
    def bulk_writer(self, procs=2):
        """A writer for a whole new index: documents analysed in ``procs`` processes, each
        making its own segment; on success every earlier entry is dropped at the commit."""
        with self._lock:
            writer = self.ix.writer(limitmb=BULK_LIMIT_MB, procs=procs, multisegment=procs > 1,
                                    compound=False, codec=Codec())
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=CLEAR)

    def clear(self):
        """Every entry removed (``reindex`` fills the index again from ZODB)."""
        with self._lock:
            self.writer().commit(mergetype=CLEAR)

    def indexed_versions(self) -> dict:
        """{dossier key: version number indexed} for every dossier entry."""
        return _dossier_versions(self.searcher())

    def doc_count(self) -> int:
        return self.searcher().doc_count()


def _dossier_versions(searcher) -> dict:
    out = {}
    for kind in ("household", "unit"):
        for docnum in searcher.document_numbers(kind=kind):
            stored = searcher.stored_fields(docnum)
            out[stored["key"]] = stored["version"]
    return out


def lookup(root, key):
    """The dossier a key names, or None when it no longer exists."""
    kind, _, number = key.partition("/")
    if kind not in ("household", "unit"):
        return None
    return root.container(kind).get(number)


def drain(root, registry, index, limit=None, batch=100, commit=None, progress=None) -> int:
    """Index queued dossiers; ``commit`` (if given) is called after every batch."""
    queue, done = root.index_queue, 0
    total = len(queue)
    while limit is None or done < limit:
        keys = queue.take(batch if limit is None else min(batch, limit - done))
        if not keys:
            break
        index.write(root, registry, keys)
        for key in keys:
            queue.done(key)
        done += len(keys)
        if commit is not None:
            commit()
        if progress is not None:
            progress(done, total)
    return done


def rebuild(root, registry, index, commit=None, progress=None, procs=2) -> int:
    """``archive reindex``: the index made anew from every dossier in ZODB.

    One writer analyses in ``procs`` processes and replaces the old entries only when it
    commits, so searches keep answering from the old index until the new one is whole.
    """
    keys = [dossier_key(kind, no) for kind in ("household", "unit")
            for no in root.container(kind).keys()]
    if index.outdated:
        index.recreate()
    with index.bulk_writer(procs) as writer:
        for n, key in enumerate(keys, 1):
            for entry in entries(lookup(root, key), registry):
                writer.add_document(**entry)
            if progress is not None and (n % 50 == 0 or n == len(keys)):
                progress(n, len(keys))
    for key in keys:
        root.index_queue.done(key)
    if commit is not None:
        commit()
    return len(keys)


@dataclass
class CheckReport:
    """Dossiers whose index entry is missing, older than ZODB's latest version, or orphaned."""
    checked: int = 0
    missing: list = field(default_factory=list)
    stale: list = field(default_factory=list)       # (key, indexed version, current version)
    orphaned: list = field(default_factory=list)
    queued: int = 0

    @property
    def ok(self):
        return not (self.missing or self.stale or self.orphaned)


def check(root, index, progress=None) -> CheckReport:
    """Compare every dossier's latest version with the version its index entry was made from.

    Dossiers still in the queue are counted, not reported: the indexer is about to do them.
    """
    report = CheckReport(queued=len(root.index_queue))
    indexed = index.indexed_versions()
    total = len(root.households) + len(root.units)
    for kind in ("household", "unit"):
        for dossier in root.container(kind).values():
            key = dossier_key(kind, dossier.archive_no)
            report.checked += 1
            version = indexed.pop(key, None)
            if key in root.index_queue:
                pass
            elif version is None:
                report.missing.append(key)
            elif version != dossier.latest.number:
                report.stale.append((key, version, dossier.latest.number))
            if progress is not None and report.checked % 200 == 0:
                progress(report.checked, total)
    report.orphaned = sorted(indexed)
    if progress is not None:
        progress(report.checked, total)
    return report


class IndexWorker(Worker):
    """Keeps the index in step with ZODB from inside the web server."""

    label = "archive-search-index"

    def __init__(self, db, registry, index, interval=0.5, batch=50):
        super().__init__(db, interval)
        self.registry, self.index, self.batch = registry, index, batch

    def work(self, root, commit) -> int:
        return drain(root, self.registry, self.index, limit=self.batch, batch=self.batch,
                     commit=commit)
