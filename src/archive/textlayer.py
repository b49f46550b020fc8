"""The text layer (文本层) of filed PDFs, read after the filing has committed.

Reading a PDF's text takes ten times longer than checking and storing the file, so the
clerk does not wait for it: filing puts the new file revision on a persistent queue, and a
worker (a thread in the web server, or ``drain`` from the command line) reads the text and
records it. The queue lives in ZODB, so work pending at a crash is finished at the next
start; and only committed filings are ever on it.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time

import transaction
from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from ZODB.POSException import ConflictError

from .pdf import text_of

log = logging.getLogger(__name__)


class TextQueue(Persistent):
    """File revisions waiting for their text layer, oldest first."""

    def __init__(self):
        self._items = OOBTree()
        self._count = Length()

    def __len__(self):
        return self._count()

    def add(self, revision):
        # time first keeps the order; the random part keeps concurrent adds from colliding
        self._items[(time.time_ns(), secrets.token_hex(4))] = revision
        self._count.change(1)

    def take(self, limit):
        """Up to ``limit`` (key, revision) pairs, oldest first; removed by ``done``."""
        out = []
        for key in self._items.keys():
            out.append((key, self._items[key]))
            if len(out) >= limit:
                break
        return out

    def done(self, key):
        del self._items[key]
        self._count.change(-1)


def extract(revision):
    """Read and record one revision's text; a file whose text cannot be read is marked failed."""
    try:
        revision.text = text_of(revision.read())
        revision.text_status = "done"
    except Exception as exc:  # any unreadable text layer: the file itself was checked at filing
        log.warning("text layer of %s failed: %s", revision.sha256[:12], exc)
        revision.text, revision.text_status = "", "failed"


def drain(root, limit=None, batch=50, commit=None, progress=None) -> int:
    """Extract pending text layers; ``commit`` (if given) is called after every batch."""
    done, total = 0, len(root.text_queue)
    while limit is None or done < limit:
        items = root.text_queue.take(batch if limit is None else min(batch, limit - done))
        if not items:
            break
        for key, revision in items:
            extract(revision)
            root.text_queue.done(key)
            done += 1
        if commit is not None:
            commit()
        if progress is not None:
            progress(done, total)
    return done


class TextWorker(threading.Thread):
    """A daemon thread that drains the queue every ``interval`` seconds, in its own transactions."""

    def __init__(self, db, interval=1.0, batch=20):
        super().__init__(name="archive-text-layer", daemon=True)
        self.db, self.interval, self.batch = db, interval, batch
        self._stop_event = threading.Event()

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
        """One pass over the queue; a conflict leaves the batch for the next pass."""
        try:
            tm.begin()
            root = conn.root()["archive"]
            while drain(root, limit=self.batch, batch=self.batch, commit=tm.commit):
                tm.begin()
                if self._stop_event.is_set():
                    break
            tm.abort()
        except ConflictError:
            tm.abort()
        except Exception:  # keep the server's worker alive; the item stays queued
            log.exception("text layer worker")
            tm.abort()
