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
