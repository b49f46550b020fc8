"""The dossiers whose index entries must be rewritten, kept in ZODB.

A dossier is put here in the same transaction that changes it (by its container, on
every new version and deadline), so an aborted change leaves no trace and a committed
one is indexed even if the server dies before the indexer gets to it.
"""
from __future__ import annotations

import time

from ..workers.inbox import Queue


class IndexQueue(Queue):
    """Dossier keys (``household/QJ-…``) waiting for the indexer; one entry per dossier.

    Requests add to it without conflicting with each other or with the indexer
    (archive.workers.inbox); a dossier queued again while waiting keeps one entry, and queued
    again while being indexed stays queued for another pass.
    """

    def add(self, key):
        """Queue a dossier (again: the new time marks it changed since it was taken)."""
        self._put(key, time.time_ns())

    def take(self, limit):
        """Up to ``limit`` keys; they stay queued until ``done``."""
        return [key for key, _ in self._first(limit)]


def index_later(root, dossier):
    """Queue ``dossier`` for the indexer (a root from before the index simply has no queue)."""
    from .fields import dossier_key
    queue = getattr(root, "index_queue", None)
    if queue is not None:
        queue.add(dossier_key(dossier.kind, dossier.archive_no))


def lag_seconds(root, now_ns=None, scan=1000) -> float:
    """How long the longest-waiting queued dossier has waited (0 when none waits): the
    index's lag behind ZODB. Reads the inbox and at most ``scan`` entries of the tree, so
    after a bulk load it is a lower bound, cheap enough for a health check."""
    import itertools
    queue = getattr(root, "index_queue", None)
    if queue is None or not len(queue):
        return 0.0
    times = [when for _, when in queue._inbox.items()]
    times += [when for _, when in itertools.islice(queue._items.items(), scan)]
    now_ns = time.time_ns() if now_ns is None else now_ns
    return max(0.0, (now_ns - min(times)) / 1e9) if times else 0.0
