"""The audit log (审计日志): an append-only record of who did what, chained by hash.

Each entry carries the SHA-256 of the previous entry, so an edited or removed entry
breaks the chain and is found by ``verify``. Nothing here offers to change an entry.
Today it records logins, user changes and every unmasked view of personal data.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass

from BTrees.LOBTree import LOBTree
from persistent import Persistent

GENESIS = "0" * 64


@dataclass(frozen=True)
class LogEntry:
    """One immutable log entry."""
    number: int
    when: _dt.datetime
    actor: str
    action: str
    target: str
    detail: str
    prev_hash: str
    hash: str


def entry_hash(number, when, actor, action, target, detail, prev_hash) -> str:
    payload = json.dumps([number, when.isoformat(), actor, action, target, detail, prev_hash],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditLog(Persistent):
    """Entries by number, each linked to the one before."""

    def __init__(self):
        self.__name__, self.__parent__ = "log", None
        self.entries = LOBTree()

    def __len__(self):
        return len(self.entries)

    def append(self, actor, action, target="", detail="", when=None) -> LogEntry:
        when = when or _dt.datetime.now(_dt.timezone.utc)
        number = self.entries.maxKey() + 1 if len(self.entries) else 1
        prev = self.entries[number - 1].hash if number > 1 else GENESIS
        digest = entry_hash(number, when, actor, action, target, detail, prev)
        entry = LogEntry(number, when, actor, action, target, detail, prev, digest)
        self.entries[number] = entry
        return entry

    def newest(self, limit=50, action=None):
        out = []
        for number in reversed(list(self.entries.keys())):
            entry = self.entries[number]
            if action is None or entry.action == action:
                out.append(entry)
                if len(out) >= limit:
                    break
        return out

    def verify(self) -> int | None:
        """The number of the first entry whose chain is broken, or None when all hold."""
        prev = GENESIS
        for number, e in self.entries.items():
            if e.prev_hash != prev or e.hash != entry_hash(
                    e.number, e.when, e.actor, e.action, e.target, e.detail, e.prev_hash):
                return number
            prev = e.hash
        return None
