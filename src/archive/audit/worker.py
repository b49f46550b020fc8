"""Audits started from the web or the API run here, after the request that queued them
has committed: a thread of the server with its own connection, committing the run's
progress as it goes so the audit page can show it, and its findings at the end.

A run cut off by a restart is still ``running`` in ZODB; the worker takes it up again
from the start at the next start (an audit only reads the archive, so rerunning is safe).
"""
from __future__ import annotations

import datetime as _dt
import logging
import time
import zoneinfo

from ..workers.background import Worker
from .runner import run_audit

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1.0     # seconds between committed progress updates
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")


def parse_schedule(value, setting="archive.audit_at"):
    """A nightly job's time from its setting (``archive.audit_at``: "02:30"), or None."""
    if not value or not str(value).strip():
        return None
    try:
        return _dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{setting}: a time of day such as 02:30, not {value!r}") from None


def due_today(at, last, now=None) -> bool:
    """Whether a job scheduled daily at ``at`` (Beijing time) should run now: its time has
    come today and it last ran (``last``, a datetime or None) before today. The nightly
    audit and the nightly pack (archive.preservation.pack) share it."""
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(ZONE)
    if at is None or now.time() < at:
        return False
    return last is None or last.astimezone(ZONE).date() < now.date()


def queue_scheduled(root, at, now=None):
    """Queue today's scheduled audit once its time has come (the nightly run the auditor
    finds in the morning); returns the run, or None when it is not due or already queued.
    A FileStorage admits one process, so this, not cron, is how the default set-up gets
    its nightly audit; with ZEO or RelStorage ``archive audit`` from cron works as well."""
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(ZONE)
    book = root.audits
    last = max((run.requested for run in book.newest(20) if run.trigger == "schedule"), default=None)
    if not due_today(at, last, now):
        return None
    return book.new_run("schedule", now.astimezone(_dt.timezone.utc), "schedule")


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
    log.info("audit %s: %s", run.run_id, run.status)
    if commit is not None:
        commit()
    return 1


class AuditWorker(Worker):
    """Runs queued audits one after the other."""

    label = "archive-audit"

    def __init__(self, db, procedure, schemas, search_index=None, interval=2.0, at=None):
        super().__init__(db, interval)
        self.procedure, self.schemas, self.search_index = procedure, schemas, search_index
        self.at = at
        self.scheduled_on = None     # the day this worker last found the nightly run queued

    def work(self, root, commit) -> int:
        today = _dt.datetime.now(ZONE).date()
        if self.at is not None and self.scheduled_on != today:
            if queue_scheduled(root, self.at) is not None:
                commit()
            if _dt.datetime.now(ZONE).time() >= self.at:
                self.scheduled_on = today
        return run_pending(root, self.procedure, self.schemas, self.search_index, commit)
