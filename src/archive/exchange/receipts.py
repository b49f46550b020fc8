"""The register of hand-over packages received (接收登记), each with its 四性检测 report.

A report is kept whether the package was accepted or refused: a refused package leaves
its report (why, which record, which check) and nothing else. Reports are immutable
records in a persistent book, written by the import command only.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from BTrees.IOBTree import IOBTree
from persistent import Persistent


@dataclass(frozen=True)
class RecordResult:
    """The intake checks of one record of a package: a dossier's own (``doc_id`` empty) or
    one file revision's."""
    archive_no: str
    checks: tuple
    doc_id: str = ""
    item_no: int | None = None
    file_no: int | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass(frozen=True)
class IntakeReport:
    """四性检测 of one batch import: the package, the verdict, and every record's checks."""
    number: int
    when: _dt.datetime
    actor: str
    bag: str
    accepted: bool
    refusal: str           # why the package was refused ("" when accepted)
    problems: tuple        # the package's own faults (checksums, manifests), one line each
    dossiers: int
    files: int
    results: tuple         # RecordResult, in the package's order

    @property
    def failed(self) -> list:
        return [r for r in self.results if not r.passed]

    def by_category(self) -> dict:
        """四性 category -> (checks made, checks passed)."""
        counts = {}
        for result in self.results:
            for check in result.checks:
                total, ok = counts.get(check.category, (0, 0))
                counts[check.category] = (total + 1, ok + check.passed)
        return counts


class ReceiptBook(Persistent):
    """Every import's report, by number."""

    def __init__(self):
        self.reports = IOBTree()

    def __len__(self):
        return len(self.reports)

    def add(self, **fields) -> IntakeReport:
        number = (self.reports.maxKey() + 1) if len(self.reports) else 1
        report = IntakeReport(number=number, **fields)
        self.reports[number] = report
        return report

    def get(self, number):
        try:
            return self.reports.get(int(number))
        except (TypeError, ValueError, OverflowError):
            return None

    def newest(self, limit=50):
        return [self.reports[k] for k in reversed(list(self.reports.keys()))][:limit]
