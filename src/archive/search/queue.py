"""The dossiers whose index entries must be rewritten, kept in ZODB.

A dossier is put here in the same transaction that changes it (by its container, on
every new version and deadline), so an aborted change leaves no trace and a committed
one is indexed even if the server dies before the indexer gets to it.
"""
from __future__ import annotations

import time

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent


class IndexQueue(Persistent):
    """Dossier keys (``household/QJ-…``) waiting for the indexer; one entry per dossier."""

    def __init__(self):
        self._items = OOBTree()
        self._count = Length()

    def __len__(self):
        return self._count()

    def __contains__(self, key):
        return key in self._items

    def add(self, key):
        """Queue a dossier; queueing it again before it is indexed changes nothing."""
        if key not in self._items:
            self._count.change(1)
        self._items[key] = time.time_ns()

    def take(self, limit):
        """Up to ``limit`` keys; they stay queued until ``done``."""
        out = []
        for key in self._items.keys():
            out.append(key)
            if len(out) >= limit:
                break
        return out

    def done(self, key):
        if key in self._items:
            del self._items[key]
            self._count.change(-1)

    def clear(self):
        self._items.clear()
        self._count.set(0)


def index_later(root, dossier):
    """Queue ``dossier`` for the indexer (a root from before the index simply has no queue)."""
    from .fields import dossier_key
    queue = getattr(root, "index_queue", None)
    if queue is not None:
        queue.add(dossier_key(dossier.kind, dossier.archive_no))
