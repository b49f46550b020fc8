"""Background workers: after-commit work done in a thread of the web server.

Filing commits first and the slow follow-up (reading a text layer, OCR, indexing for
search) happens here, from persistent queues in ZODB: only committed work is ever queued,
and work pending at a crash is still queued at the next start.
"""
from __future__ import annotations

import logging
import threading

import transaction
from ZODB.POSException import ConflictError


log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """This process no longer owns the cluster's work (archive.workers.lease): the
    transaction must not commit."""


class Worker(threading.Thread):
    """A daemon thread that calls ``work`` in its own transactions every ``interval`` seconds.

    ``work(root, commit)`` does one batch, calls ``commit`` and returns how many items it
    handled; the thread keeps calling it while there is work. A conflict or an error leaves
    the batch queued for the next pass, so the server's worker never dies of bad data.

    ``claim`` (archive.workers.lease), set by the worker service, makes the thread work only
    while its process holds the cluster's lease, and every commit check that it still does.
    """

    label = "archive-worker"
    claim = None

    def __init__(self, db, interval=1.0):
        super().__init__(name=self.label, daemon=True)
        self.db, self.interval = db, interval
        self._stop_event = threading.Event()

    def work(self, root, commit) -> int:
        raise NotImplementedError

    def stop(self):
        self._stop_event.set()

    def run(self):
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            while not self._stop_event.is_set():
                self.round(tm, conn)
                self._stop_event.wait(self.interval)
        finally:
            conn.close()

    def round(self, tm, conn):
        """Work until the queue is empty, a conflict, an error, a stop or a lost lease."""
        try:
            tm.begin()
            root = conn.root()["archive"]
            commit = self._committer(tm, root)
            while self._ours(root) and self.work(root, commit):
                tm.begin()
                if self._stop_event.is_set():
                    break
            tm.abort()
        except (ConflictError, LeaseLost):
            tm.abort()
        except Exception:
            log.exception("%s", self.label)
            tm.abort()

    def _ours(self, root) -> bool:
        return self.claim is None or self.claim.holds(root)

    def _committer(self, tm, root):
        """``tm.commit``, after checking (and pinning) the lease when the thread has a claim."""
        if self.claim is None:
            return tm.commit

        def commit():
            self.claim.check(root)
            tm.commit()
        return commit
