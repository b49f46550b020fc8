"""The appraisal worklist (到期鉴定) at scale: the index of disposition dates with N dossiers.

Fills a DispositionBook in a FileStorage with N keys (a tenth of them due), commits, reopens,
and times what a request does: count the due dossiers and read the first 500 of them; and
what every change does: ``reindex`` of a dossier whose date did not change.

    nice -n 10 .venv/bin/python bench/disposition.py [N]
"""
from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time

import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from archive.disposition.book import DispositionBook


class _Fixed:
    """A schedule stand-in that answers one date per dossier (the real one reads documents)."""

    def __init__(self, dates):
        self.dates = dates

    def due(self, dossier, extension_years=0):
        return self.dates[dossier.archive_no]


class _Dossier:
    kind = "household"
    destruction = None

    def __init__(self, no):
        self.archive_no = no


def main(n=100_000):
    today = dt.date(2026, 3, 2)
    rnd = random.Random(2026)
    dates = {f"HH-{i:07d}": today + dt.timedelta(days=rnd.randint(-400, 3650)) for i in range(n)}
    with tempfile.TemporaryDirectory() as tmp:
        db = ZODB.DB(FileStorage(f"{tmp}/Data.fs"))
        conn = db.open()
        book = conn.root()["book"] = DispositionBook()
        schedule = _Fixed(dates)
        t = time.perf_counter()
        for no in dates:
            book.reindex(_Dossier(no), schedule)
        transaction.commit()
        fill = time.perf_counter() - t
        conn.close()
        db.cacheMinimize()
        conn = db.open()
        book = conn.root()["book"]
        t = time.perf_counter()
        total = book.count_due(today)
        first = [k for _, k in zip(range(500), book.due(today))]
        query = time.perf_counter() - t
        t = time.perf_counter()
        for no in list(dates)[:1000]:
            book.reindex(_Dossier(no), schedule)
        unchanged = (time.perf_counter() - t) / 1000
        assert not conn._registered_objects     # nothing written for unchanged dates
        print(f"N={n}: fill {fill:.1f} s; cold count of due ({total}) + first {len(first)}: "
              f"{query * 1000:.1f} ms; reindex with no change: {unchanged * 1e6:.0f} µs")
        conn.close()
        db.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
