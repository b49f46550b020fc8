"""Audits started from the web or the API run here, after the request that queued them
has committed: a thread of the server with its own connection, committing the run's
progress as it goes so the audit page can show it, and its findings at the end.

A run cut off by a restart is still ``running`` in ZODB; the worker takes it up again
from the start at the next start (an audit only reads the archive, so rerunning is safe).
"""
from __future__ import annotations

import time

from ..background import Worker
from .runner import run_audit

PROGRESS_EVERY = 1.0     # seconds between committed progress updates


def run_pending(root, procedure, schemas, search_index=None, commit=None, clock=time.monotonic) -> int:
    """Run the oldest queued audit; returns 1 when one ran, 0 when none was waiting."""
    book = getattr(root, "audits", None)
    pending = book.pending() if book is not None else []
    if not pending:
        return 0
    run = pending[0]
    last = [clock()]

    def progress(done, total):
        run.progress = (done, total)
        if commit is not None and clock() - last[0] >= PROGRESS_EVERY:
            commit()
            last[0] = clock()
    try:
        run_audit(root, run, procedure, schemas, search_index=search_index, progress=progress)
    except Exception as exc:   # recorded on the run, so the auditor sees why it stopped
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
    if commit is not None:
        commit()
    return 1


class AuditWorker(Worker):
    """Runs queued audits one after the other."""

    label = "archive-audit"

    def __init__(self, db, procedure, schemas, search_index=None, interval=2.0):
        super().__init__(db, interval)
        self.procedure, self.schemas, self.search_index = procedure, schemas, search_index

    def work(self, root, commit) -> int:
        return run_pending(root, self.procedure, self.schemas, self.search_index, commit)
