"""The disposition book (处置登记): every dossier's disposition date, holds, appraisals and
destruction lists, beside the dossiers (a service, as Plone keeps its workflow history).

The dates are an index kept on change: the dossier containers call ``reindex`` on every
recorded change, and the book writes only when a dossier's date changes (its exit, a
document that lengthens its period, an approved extension), so officers filing into
different dossiers do not write the book at all and the worklist of dossiers due for
appraisal (到期鉴定) reads one BTree range, not every dossier.
"""
from __future__ import annotations

import datetime as _dt

from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

from ..records.container import every_dossier, find_dossier
from .errors import NotFound


def key_of(dossier) -> tuple:
    return (dossier.kind, dossier.archive_no)


class DispositionBook(Persistent):
    """Dates by dossier and dossiers by date; holds, appraisals and lists by dossier."""

    def __init__(self):
        self._date = OOBTree()          # (kind, no) -> disposition date
        self._by_date = OOBTree()       # date -> OOTreeSet of (kind, no)
        self.extensions = OOBTree()     # (kind, no) -> years added by approved appraisals
        self.holds = OOBTree()          # (kind, no) -> tuple of Hold, oldest first
        self.appraisals = OOBTree()     # (kind, no) -> tuple of Appraisal, oldest first
        self.closed = OOBTree()         # (kind, no) -> "destroyed" | "transfer": out of the worklist
        self.lists = IOBTree()          # number -> DestructionList
        self._hold_seq = 0

    # -- the index of dates -----------------------------------------------------------------
    def reindex(self, dossier, schedule=None):
        """Keep the dossier's disposition date; writes nothing when it has not changed."""
        from .schedule import default_schedule
        key = key_of(dossier)
        schedule = schedule or default_schedule()
        day = None
        if key not in self.closed and getattr(dossier, "destruction", None) is None:
            day = schedule.due(dossier, self.extensions.get(key, 0))
        old = self._date.get(key)
        if old == day:
            return
        if old is not None:
            bucket = self._by_date.get(old)
            if bucket is not None and key in bucket:
                bucket.remove(key)
                if not bucket:
                    del self._by_date[old]
            del self._date[key]
        if day is not None:
            bucket = self._by_date.get(day)
            if bucket is None:
                bucket = self._by_date[day] = OOTreeSet()
            bucket.add(key)
            self._date[key] = day

    def date_of(self, dossier) -> _dt.date | None:
        return self._date.get(key_of(dossier))

    def due(self, today: _dt.date):
        """(date, key) of every dossier due on or before ``today``, soonest first."""
        for day, keys in self._by_date.items(max=today):
            for key in keys:
                yield day, key

    def count_due(self, today: _dt.date) -> int:
        return sum(len(keys) for keys in self._by_date.values(max=today))

    # -- appraisals and holds by dossier ------------------------------------------------------
    def appraisals_of(self, dossier) -> tuple:
        return self.appraisals.get(key_of(dossier), ())

    def holds_of(self, dossier) -> tuple:
        return self.holds.get(key_of(dossier), ())

    def guard_withdrawal(self, root, dossier, when):
        """The hook ``Dossier.withdraw_document`` calls: no document leaves a held dossier."""
        from .blocking import check_not_held
        check_not_held(root, dossier, when.date(), "撤出文件")

    def next_hold_id(self) -> str:
        self._hold_seq += 1
        return f"H{self._hold_seq:05d}"


def book_of(root) -> DispositionBook:
    """The archive's book, made on first use for a root stored before disposition (evolve)."""
    book = getattr(root, "disposition", None)
    if book is None:
        book = root.disposition = DispositionBook()
    return book


def fill(root, schedule=None, progress=None) -> int:
    """Index every dossier's disposition date (evolve, and after the schedule changes)."""
    book = book_of(root)
    dossiers = list(every_dossier(root))
    for n, dossier in enumerate(dossiers, 1):
        book.reindex(dossier, schedule)
        if progress is not None:
            progress(n, len(dossiers))
    return len(book._date)


def dossier_by_key(root, key):
    kind, no = key
    return root.container(kind).get(no)


def find(root, archive_no):
    """A dossier by 档号 in any container, or NotFound (unknown 档号 in a list)."""
    dossier = find_dossier(root, archive_no)
    if dossier is not None:
        return dossier
    raise NotFound(f"档号 {archive_no} 不存在", "archive_nos")
