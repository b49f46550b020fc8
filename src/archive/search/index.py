"""The whoosh index under ``var/``: written only from committed data, rebuilt from ZODB.

The indexer takes dossier keys from the IndexQueue, writes their entries to whoosh and
only then removes the keys in a ZODB commit. If the process dies between the two, the
keys are still queued and the (idempotent) rewrite is done again at the next start; if
the ZODB commit conflicts, the same. So the index may lag, but never holds anything
that was not committed, and ``reindex`` can always rebuild it from ZODB alone.

Nothing a dossier holds stops the indexer: a batch that fails is written again one
dossier at a time, a dossier that still fails is retried a few times and then given up
on (recorded in ``FAILED.json`` beside the index), and a merge of segments that fails is
replaced by a commit without merging. ``check`` reports both, and dossiers that wait
too long in the queue, so ``archive index-check`` and the audit see what lags and why.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field

from whoosh import index as whoosh_index
from whoosh.writing import CLEAR, LockError
from ZODB.POSException import ConflictError

from ..records.container import KINDS
from ..workers.background import Worker
from . import bulk
from .analysis import clean
from .codec import Codec
from .fast import Cache
from .fields import dossier_key, entries, schema

log = logging.getLogger(__name__)


# The bulk writer's postings buffer per process (``bulk.TermPool``, counted in the bytes
# Python takes for them), past which it writes what it holds, sorted, to a run on disk,
# every run to be merged term by term at the commit. This bounds a reindex of any size:
# two writer processes of about this much each (plus the index's term tables), and the
# main process, whose ZODB cache is emptied every ``REINDEX_BATCH`` dossiers. (whoosh's
# own pool counted about half of what it held: 1,536 took 2.7 GB a process.)
BULK_LIMIT_MB = 512
REINDEX_BATCH = 200

# The index format this code writes (schema, codec). An index made by earlier code has
# another mark (or none): it still answers, slowly, until ``archive reindex`` makes it
# anew; ``archive index-check`` and the audit's search_index rule say so.
FORMAT = "archive-search 4: CJK bigrams, pinyin, archive-number prefixes, NFKC, people on documents, form of security"
MARK = "ARCHIVE_FORMAT"

# A dossier the indexer cannot index (its entries or their writing raise) is tried again
# after RETRY_AFTER seconds, then after twice that, and so on, ATTEMPTS times in all for
# the same version; then the indexer gives up on that version and takes it off the queue,
# recorded in FAILURES beside the index for ``check`` (index-check, the audit) to report.
# A new version of the dossier is tried afresh; ``index-check --fix`` tries it again.
ATTEMPTS = 3
RETRY_AFTER = 30.0
FAILURES = "FAILED.json"
# Not the dossier's fault, and not counted against it: another process (a CLI reindex)
# holds the index's lock, or ZODB says to read again (the worker's round aborts, retries).
TRANSIENT = (LockError, ConflictError)

# A queued dossier whose current version is not yet indexed is the indexer's work in
# progress; once that version is older than this (seconds), ``check`` reports it as lagging.
LAG_GRACE = 600


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
        self.failures = Failures(self.path)

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
            self.failures.clear()

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
        fresh = self._local.searcher = self._open_searcher()
        return fresh

    def _open_searcher(self, attempts=5):
        """whoosh reads the newest generation's table of contents, then its segments; the
        indexer may commit a newer one and delete those files in between (FileNotFoundError
        for ``_MAIN_n.toc`` or a segment), so a vanished file means: open the newer one."""
        for attempt in range(attempts):
            try:
                return self.ix.searcher()
            except FileNotFoundError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))

    def writer(self):
        """The index's writer, waiting for another process (a CLI reindex) to finish.

        Segments are written as separate files, not whoosh's default compound file: a
        compound segment is copied into memory each time a searcher opens it, which made
        every search after a change pay for the whole index (3–8 ms at 3,000 documents,
        about 150 ms at 20,000); separate files open in under a millisecond.
        """
        return self._wait_for_lock(lambda: self.ix.writer(limitmb=256, compound=False, codec=Codec()))

    @staticmethod
    def _wait_for_lock(open_writer, tries=100):
        """Another process may hold the index's write lock: the worker indexing a batch
        while ``archive reindex`` starts beside the running servers, or a reindex while the
        worker wants to write. Wait for it (0.1 s a try), then give up with LockError."""
        for _ in range(tries):
            try:
                return open_writer()
            except LockError:
                time.sleep(0.1)
        raise LockError("搜索索引正被其他进程写入")

    def write(self, root, registry, keys):
        """Rewrite the entries of these dossier keys from ZODB (deleted dossiers drop out).

        Committing merges small segments into larger ones. Should the merge fail, the same
        entries are written again without merging (searches then read more segments) and
        the failure is recorded for ``check``; any other failure leaves the index as it was
        and raises.
        """
        with self._lock:
            try:
                self._write(root, registry, keys, merge=True)
            except _CommitFailed as failed:
                self._write(root, registry, keys, merge=False)       # raises if this fails too
                log.warning("search index: merging segments failed; written without merging",
                            exc_info=failed.__cause__)
                self._note(self.failures.merge_failed, failed.__cause__)
            else:
                self._note(self.failures.merge_done)

    def _note(self, method, *args):
        """Update the failures file; the entries are written whether or not that works."""
        try:
            method(*args)
        except Exception:
            log.exception("search index: could not update %s", self.failures.path)

    def _write(self, root, registry, keys, merge):
        writer = self.writer()
        try:
            for key in keys:
                writer.delete_by_term("parent", clean(key))
                dossier = lookup(root, key)
                if dossier is not None:
                    for entry in entries(dossier, registry):
                        writer.add_document(**known(writer.schema, entry))
        except BaseException:
            _abandon(writer)
            raise
        try:
            writer.commit(merge=merge)
        except Exception as exc:
            _abandon(writer)
            if merge:
                raise _CommitFailed() from exc
            raise
        except BaseException:
            _abandon(writer)
            raise

    @contextlib.contextmanager
    def bulk_writer(self, procs=2):
        """A writer for a whole new index: documents analysed in ``procs`` processes, each
        making its own segment; on success every earlier entry is dropped at the commit."""
        with self._lock:
            writer = self._wait_for_lock(lambda: bulk.writer(self.ix, procs=procs, limitmb=BULK_LIMIT_MB),
                                         tries=600)
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
            self.failures.clear()

    def indexed_versions(self) -> dict:
        """{dossier key: version number indexed} for every dossier entry."""
        return _dossier_versions(self.searcher())

    def doc_count(self) -> int:
        return self.searcher().doc_count()


class _CommitFailed(Exception):
    """A commit that merged segments failed (the cause is chained)."""


def known(schema, entry) -> dict:
    """The entry's fields the index has: an index made before a field was added (a new facet)
    goes on taking entries, without that field, until ``archive reindex`` makes it anew."""
    return {k: v for k, v in entry.items() if k.startswith("_") or k in schema}


def _abandon(writer):
    """Cancel a writer whatever state a failure left it in, so its lock is released."""
    try:
        writer.cancel()
    except Exception:
        log.warning("search index: cancelling a failed writer", exc_info=True)
        lock = getattr(writer, "writelock", None)
        with contextlib.suppress(Exception):
            if lock is not None:
                lock.release()
        writer.is_closed = True


class Failures:
    """What the indexer could not do, kept in a small JSON file beside the index.

    Per dossier key: the version that failed, how many times, the last error and when it
    may be tried again, and whether the indexer gave up on it; and the last failed merge
    of segments. It lives with the index because it describes the index (a ``reindex``
    empties it), is written outside any ZODB transaction (a failure is recorded even when
    the transaction that took the work aborts) and is read by ``check`` in another process
    (the CLI). Written whole to a temporary file and renamed, so it is never half there.
    """

    def __init__(self, directory):
        self.path = os.path.join(directory, FAILURES)
        self._lock = threading.RLock()
        self._seen = (None, {})

    def _load(self) -> dict:
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except OSError:
            return {}
        if self._seen[0] == stamp:
            return self._seen[1]
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            log.warning("search index: unreadable %s (%s); starting it afresh", self.path, exc)
            data = {}
        self._seen = (stamp, data)
        return data

    def _save(self, data):
        if not data.get("dossiers"):
            data.pop("dossiers", None)
        if not data:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            self._seen = (None, {})
            return
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix=".failed-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=True, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        self._seen = (os.stat(self.path).st_mtime_ns, data)

    def dossiers(self) -> dict:
        """{key: {"version", "attempts", "error", "at", "retry_at", "gave_up"}}."""
        with self._lock:
            return dict(self._load().get("dossiers", {}))

    def get(self, key):
        return self.dossiers().get(key)

    def record(self, key, version, exc, now=None, final=False) -> dict:
        """One more failed attempt at ``key`` (the count starts again for a new version);
        ``final``: given up on at once (a rebuild does not try again)."""
        now = time.time() if now is None else now
        with self._lock:
            data = dict(self._load())
            found = dict(data.get("dossiers", {}))
            before = found.get(key)
            attempts = before["attempts"] + 1 if before and before.get("version") == version else 1
            found[key] = {"version": version, "attempts": attempts, "error": _error_text(exc),
                          "at": _stamp(now), "gave_up": final or attempts >= ATTEMPTS,
                          "retry_at": now + RETRY_AFTER * 2 ** (attempts - 1)}
            data["dossiers"] = found
            self._save(data)
            return found[key]

    def forget(self, keys):
        """These keys were indexed (or are to be tried afresh)."""
        with self._lock:
            data = self._load()
            found = data.get("dossiers", {})
            if not any(key in found for key in keys):
                return
            data = dict(data, dossiers={k: v for k, v in found.items() if k not in set(keys)})
            self._save(data)

    def merge_failed(self, exc, now=None):
        with self._lock:
            data = dict(self._load())
            before = data.get("merge") or {}
            data["merge"] = {"error": _error_text(exc), "at": _stamp(now or time.time()),
                             "times": before.get("times", 0) + 1}
            self._save(data)

    def merge_done(self):
        with self._lock:
            data = self._load()
            if "merge" in data:
                self._save({k: v for k, v in data.items() if k != "merge"})

    def merge_error(self) -> dict | None:
        """The last failed merge (``error``, ``at``, ``times``), if no merge has worked since."""
        with self._lock:
            return self._load().get("merge")

    def clear(self):
        with self._lock:
            self._save({})


def _error_text(exc) -> str:
    return clean(f"{type(exc).__name__}: {exc}", 500)


def _stamp(seconds) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).isoformat(timespec="seconds")


def _dossier_versions(searcher) -> dict:
    out = {}
    for kind in KINDS:
        for docnum in searcher.document_numbers(kind=kind):
            stored = searcher.stored_fields(docnum)
            out[stored["key"]] = stored["version"]
    return out


def lookup(root, key):
    """The dossier a key names, or None when it no longer exists."""
    kind, _, number = key.partition("/")
    if kind not in KINDS:
        return None
    return root.container(kind).get(number)


def drain(root, registry, index, limit=None, batch=100, commit=None, progress=None, now=None) -> int:
    """Index queued dossiers; ``commit`` (if given) is called after every batch.

    Returns how many queued dossiers were handled: indexed, or given up on after
    ``ATTEMPTS`` failures (recorded in ``index.failures`` and taken off the queue). A
    dossier that fails stays queued until it is due again; it never holds up the others.
    """
    queue, done = root.index_queue, 0
    total = len(queue)
    passed = set()              # failed or not yet due again: left for a later pass
    while limit is None or done < limit:
        want = batch if limit is None else min(batch, limit - done)
        keys = [k for k in queue.take(want + len(passed)) if k not in passed][:want]
        if not keys:
            break
        clock = time.time() if now is None else now
        handled, waiting = _index_batch(root, registry, index, keys, clock)
        for key in handled:
            queue.done(key)
        passed.update(waiting)
        done += len(handled)
        if commit is not None:
            commit()
        if progress is not None:
            progress(done, total)
    return done


def _index_batch(root, registry, index, keys, now):
    """(keys handled, keys left queued): the batch written at once, or, if that fails, one
    dossier at a time, each failure recorded; a dossier given up on counts as handled."""
    handled, due = [], []
    failures = index.failures.dossiers()
    for key in keys:
        failed = failures.get(key)
        if failed is not None and failed.get("version") == _version(root, key):
            if failed.get("gave_up"):
                handled.append(key)        # given up on this version: reported, not retried
                continue
            if failed.get("retry_at", 0) > now:
                continue                   # not due yet
        due.append(key)
    waiting = [k for k in keys if k not in handled and k not in due]
    if not due:
        return handled, waiting
    try:
        index.write(root, registry, due)
    except TRANSIENT:
        raise                              # a reindex writing, a ZODB conflict: all stay queued
    except Exception as exc:
        if len(due) > 1:
            log.warning("search index: a batch of %d dossiers failed (%s); indexing them one by one",
                        len(due), _error_text(exc))
            singles = due
        else:
            singles = []
            _failed(root, index, due[0], exc, now, handled, waiting)
        for key in singles:
            try:
                index.write(root, registry, [key])
            except TRANSIENT:
                raise
            except Exception as exc_one:
                _failed(root, index, key, exc_one, now, handled, waiting)
            else:
                handled.append(key)
                _forget_quietly(index, [key])
        return handled, waiting
    handled.extend(due)
    _forget_quietly(index, due)
    return handled, waiting


def _failed(root, index, key, exc, now, handled, waiting):
    """Log and record one dossier's failure; after ``ATTEMPTS`` it is given up on."""
    version = _version(root, key)
    try:
        record = index.failures.record(key, version, exc, now)
    except Exception:
        log.exception("search index: could not record the failure of %s", key)
        record = {"attempts": 0, "gave_up": False}
    if record["gave_up"]:
        log.error("search index: gave up on %s (version %s) after %d attempts; "
                  "archive index-check reports it", key, version, record["attempts"], exc_info=exc)
        handled.append(key)
    else:
        log.warning("search index: could not index %s (version %s), attempt %d of %d; "
                    "tried again in %.0f s", key, version, record["attempts"], ATTEMPTS,
                    RETRY_AFTER * 2 ** (max(record["attempts"], 1) - 1), exc_info=exc)
        waiting.append(key)


def _forget_quietly(index, keys):
    try:
        index.failures.forget(keys)
    except Exception:
        log.exception("search index: could not update %s", index.failures.path)


def _version(root, key):
    """The dossier's current version number (None if it is gone or cannot be read)."""
    try:
        dossier = lookup(root, key)
        return None if dossier is None else dossier.latest.number
    except Exception:
        return None


def rebuild(root, registry, index, commit=None, progress=None, procs=2) -> int:
    """``archive reindex``: the index made anew from every dossier in ZODB.

    One writer analyses in ``procs`` processes and replaces the old entries only when it
    commits, so searches keep answering from the old index until the new one is whole.
    Memory stays bounded whatever the archive's size: the writer processes spill sorted
    runs to disk past ``BULK_LIMIT_MB``, documents reach them through a bounded queue, and
    the dossiers read here leave the ZODB cache every ``REINDEX_BATCH`` dossiers (a
    rebuild reads every dossier, document and file revision once; kept, they would hold
    the whole archive's text in memory).
    """
    keys = [dossier_key(kind, no) for kind in KINDS for no in root.container(kind).keys()]
    jar = getattr(root, "_p_jar", None)
    if index.outdated:
        index.recreate()
    failed = {}
    with index.bulk_writer(procs) as writer:
        for n, key in enumerate(keys, 1):
            try:
                made = entries(lookup(root, key), registry)
            except Exception as exc:           # one dossier that cannot be indexed: the rest are
                log.error("search index: %s cannot be indexed; left out of the rebuilt index",
                          key, exc_info=exc)
                failed[key] = exc
                made = ()
            for entry in made:
                writer.add_document(**entry)
            if jar is not None and n % REINDEX_BATCH == 0:
                jar.cacheMinimize()        # nothing here is changed: every object can go
            if progress is not None and (n % 50 == 0 or n == len(keys)):
                progress(n, len(keys))
    index.failures.clear()
    for key, exc in failed.items():
        index.failures.record(key, _version(root, key), exc, final=True)
    for key in keys:
        root.index_queue.done(key)
    if commit is not None:
        commit()
    return len(keys)


@dataclass
class CheckReport:
    """Dossiers whose index entry is missing, older than ZODB's latest version, or orphaned;
    queued too long; or given up on by the indexer."""
    checked: int = 0
    missing: list = field(default_factory=list)
    stale: list = field(default_factory=list)       # (key, indexed version, current version)
    orphaned: list = field(default_factory=list)
    queued: int = 0
    # (key, indexed version or None, current version): queued, but the current version is
    # older than the grace and still not indexed (the indexer is stopped, or stuck)
    lagging: list = field(default_factory=list)
    # (key, indexed version or None, current version, attempts, last error): given up on
    failed: list = field(default_factory=list)
    merge_error: dict | None = None                 # the last failed merge of segments

    @property
    def ok(self):
        return not (self.missing or self.stale or self.orphaned or self.lagging or self.failed)

    def keys_to_fix(self) -> list:
        """Every key reported: what ``index-check --fix`` indexes again."""
        return (self.missing + [k for k, *_ in self.stale] + self.orphaned
                + [k for k, *_ in self.lagging] + [k for k, *_ in self.failed])


def check(root, index, progress=None, now=None, grace=LAG_GRACE) -> CheckReport:
    """Compare every dossier's latest version with the version its index entry was made from.

    Dossiers still in the queue are counted, not reported, while their current version
    is younger than ``grace`` seconds: the indexer is about to do them. Older than that,
    they are reported as lagging: the indexer is not keeping up, or not running. A
    dossier the indexer gave up on is reported with the error, not as merely stale.
    """
    report = CheckReport(queued=len(root.index_queue))
    now = now or _dt.datetime.now(_dt.timezone.utc)
    indexed = index.indexed_versions()
    failures = index.failures.dossiers()
    report.merge_error = index.failures.merge_error()
    total = sum(len(root.container(kind)) for kind in KINDS)
    for kind in KINDS:
        for dossier in root.container(kind).values():
            key = dossier_key(kind, dossier.archive_no)
            report.checked += 1
            version = indexed.pop(clean(key), None)
            current = dossier.latest.number
            failed = failures.get(key)
            if version == current:
                pass
            elif failed is not None and failed.get("gave_up") and failed.get("version") == current:
                report.failed.append((key, version, current, failed.get("attempts"), failed.get("error", "")))
            elif key in root.index_queue:
                if _age(dossier.latest.when, now) > grace:
                    report.lagging.append((key, version, current))
            elif version is None:
                report.missing.append(key)
            else:
                report.stale.append((key, version, current))
            if progress is not None and report.checked % 200 == 0:
                progress(report.checked, total)
    report.orphaned = sorted(indexed)
    if progress is not None:
        progress(report.checked, total)
    return report


def _age(when, now) -> float:
    """Seconds from ``when`` to ``now`` (naive times taken as UTC)."""
    if not isinstance(when, _dt.datetime):
        return float("inf")
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=_dt.timezone.utc)
    return (now - when).total_seconds()


class IndexWorker(Worker):
    """Keeps the index in step with ZODB from inside the web server."""

    label = "archive-search-index"

    def __init__(self, db, registry, index, interval=0.5, batch=50):
        super().__init__(db, interval)
        self.registry, self.index, self.batch = registry, index, batch

    def work(self, root, commit) -> int:
        try:
            return drain(root, self.registry, self.index, limit=self.batch, batch=self.batch,
                         commit=commit)
        except LockError:      # a reindex from the command line is writing: the queue waits
            log.info("search index: another process is writing the index; the queue waits")
            return 0

    def round(self, tm, conn):
        """As every worker's, and whatever escapes it is logged: the thread never ends
        but by ``stop``."""
        try:
            super().round(tm, conn)
        except Exception:
            log.exception("%s", self.label)
            with contextlib.suppress(Exception):
                tm.abort()
