"""Archive numbers (档号): built from a configurable pattern, unique, never reused.

The default rule is 全宗号-门类-年度-保管期限-件号 (DOMAIN.md, Archival conventions). The
running number (件号) is counted per fonds, kind and year; every number ever issued is
kept so that even a changed pattern can never hand out an old one again.
"""
from __future__ import annotations

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent


class NumberingError(Exception):
    """A pattern that cannot produce a number (unknown placeholder)."""


class ArchiveNumbers(Persistent):
    """The counters and the register of every archive number issued."""

    def __init__(self):
        self.counters = OOBTree()
        self.issued = OOTreeSet()

    def issue(self, pattern: str, kind: str, fonds: str, year: int) -> str:
        key = (kind, fonds, year)
        if _format(pattern, fonds, kind, year, 1) == _format(pattern, fonds, kind, year, 2):
            raise NumberingError(f"档号规则“{pattern}”缺少件号 {{seq}}，无法生成不重复的档号")
        seq = self.counters.get(key, 0)
        while True:
            seq += 1
            number = _format(pattern, fonds, kind, year, seq)
            if number not in self.issued:
                break
        self.counters[key] = seq
        self.issued.add(number)
        return number


def _format(pattern, fonds, kind, year, seq):
    try:
        return pattern.format(fonds=fonds, kind=kind, year=year, seq=seq)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise NumberingError(f"档号规则“{pattern}”无法使用：{exc}") from None
