"""Keyed books (登记簿): persistent registers of records by id, kept on the root beside the
dossiers — leases, subsidy grants, lotteries, collective batch plans.

Each book keeps its entries in one OOBTree at ``_items``; the books that number their own
entries (``{PREFIX}-{全宗号}-{year}-{seq:03d}``) keep the last running number per fonds and
year at ``_counters``. These attribute names are what stored books hold: keep them, so
archives written before this class existed load unchanged (their pickles name only the
derived class and its attributes).
"""
from __future__ import annotations

from BTrees.OOBTree import OOBTree
from persistent import Persistent


class KeyedBook(Persistent):
    """Entries by id in one OOBTree; subclasses say how an entry is made and added."""

    def __init__(self):
        self._items = OOBTree()

    def __len__(self):
        return len(self._items)

    def get(self, key, default=None):
        try:
            return self._items.get(key, default)
        except TypeError:       # a key that does not compare with strings
            return default

    def values(self):
        return self._items.values()


class NumberedBook(KeyedBook):
    """A keyed book that issues its entries' ids, never reused: ``PREFIX`` then the fonds,
    the year and a running number within them."""

    PREFIX = ""

    def __init__(self):
        super().__init__()
        self._counters = OOBTree()

    def issue_id(self, fonds, year) -> str:
        seq = self._counters.get((fonds, year), 0) + 1
        self._counters[(fonds, year)] = seq
        return f"{self.PREFIX}-{fonds}-{year}-{seq:03d}"


class StatedEntry:
    """An entry of a book that moves through named states (a lease, a grant, a batch plan).

    The class says its states as ``STATES`` ({state: (中文, English)}) and which of them
    are still open as ``OPEN_STATES``; a mixin of class attributes only, so stored entries
    load unchanged."""
    STATES: dict = {}
    OPEN_STATES: tuple = ()

    @property
    def open(self) -> bool:
        """Whether the entry still runs (a lease in force, a grant being paid, a batch taking
        applications): what the checks that refuse a second one look at."""
        return self.state in self.OPEN_STATES

    def state_title(self, locale="zh"):
        """The state as a clerk reads it, in the page's language."""
        zh, en = self.STATES[self.state]
        return en if locale == "en" else zh
