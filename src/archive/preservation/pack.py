"""``archive pack`` (压缩历史) and the nightly pack: ZODB history older than N days dropped.

FileStorage and history-preserving RelStorage keep every earlier state of every object
(each filing rewrites a few small objects, and their old copies stay). The archive needs
none of them: its history is versions, file revisions and log entries, all current
objects, so a pack keeps every one of them and drops only superseded object states and
unreachable objects. FileStorage keeps the file it packed from as ``Data.fs.old`` (and
the blob directory's removed files under ``blobs.old``) until the next pack.

With the FileStorage default only one process may open the store, so the web server can
pack by itself every night (``archive.pack_at``, the same daily schedule as the nightly
audit's, ``archive.audit.worker``), keeping ``archive.pack_days`` days of history.
"""
from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass

from ..audit.worker import due_today, parse_schedule
from ..workers.background import Worker

ACTOR = "system"


@dataclass(frozen=True)
class PackReport:
    """A pack's cut-off and the store's size before and after (None where not a file)."""
    before: _dt.datetime
    size_before: int | None
    size_after: int | None


def pack(db, days=0.0, now=None) -> PackReport:
    """Drop object history older than ``days`` days; returns the sizes for the record."""
    now = now if now is not None else time.time()
    size_before = _size(db)
    db.pack(t=now - float(days) * 86400)
    cutoff = _dt.datetime.fromtimestamp(now - float(days) * 86400, _dt.timezone.utc)
    return PackReport(cutoff, size_before, _size(db))


def record(root, report, actor=ACTOR):
    """The pack in the audit log and on the root (when it last ran, for the nightly pack)."""
    root.packed_at = _dt.datetime.now(_dt.timezone.utc)
    detail = f"history before {report.before.isoformat(timespec='seconds')}"
    if report.size_before is not None:
        detail += f"; Data.fs {report.size_before} -> {report.size_after} bytes"
    root.log.append(actor, "store.pack", "", detail)


def _size(db):
    """Data.fs's size for a FileStorage, else None."""
    storage = db.storage
    name = getattr(storage, "_file_name", None)
    return os.path.getsize(name) if name and os.path.exists(name) else None


def settings_days(settings) -> float:
    """``archive.pack_days``: days of object history a pack keeps (default 0)."""
    value = settings.get("archive.pack_days") or "0"
    try:
        days = float(value)
    except ValueError:
        raise ValueError(f"archive.pack_days: a number of days, not {value!r}") from None
    if days < 0:
        raise ValueError(f"archive.pack_days: a number of days, not {value!r}")
    return days


class PackWorker(Worker):
    """Packs the store once a day at ``archive.pack_at`` (Beijing time), in the web server."""

    label = "archive-pack"

    def __init__(self, db, at, days, interval=60.0):
        super().__init__(db, interval)
        self.at, self.days = at, days

    @classmethod
    def from_settings(cls, db, settings):
        """The worker the ini asks for, or None (``archive.pack_at`` empty: no nightly pack)."""
        at = parse_schedule(settings.get("archive.pack_at"), "archive.pack_at")
        return cls(db, at, settings_days(settings)) if at is not None else None

    def work(self, root, commit) -> int:
        if not due_today(self.at, getattr(root, "packed_at", None)):
            return 0
        record(root, pack(self.db, self.days))
        commit()
        return 0
