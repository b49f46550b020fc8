"""Benchmark of the per-request jurisdiction filter (局部角色, archive.access.local).

    python bench/jurisdiction.py [--dossiers 100000] [--cities 4] [--repeat 20]

A user holding only ``reviewer@qujing`` sees a listing, its facet counts and its total
narrowed to 曲靖: every request asks ``Scope.ids(container)`` for the archive numbers in
scope. This builds one container of ``--dossiers`` households spread evenly over
``--cities`` jurisdictions (plain persistent stand-ins carrying what the container indexes,
so 10^5 of them take seconds, not the hour real dossiers with versions would), commits it to
a FileStorage in a temporary directory, opens a fresh connection, and times, per request
(median of ``--repeat``, warm cache, as a running server has it):

- ``raw scan``: iterating the jurisdiction index's own set of 曲靖 numbers once (the least
  any filter that looks at each id can cost): the reference;
- ``unfiltered page``: ``container.query(limit=20)``, the listing of a global role;
- ``copy (before)``: the filter as first written, one fresh OOTreeSet filled by ``union``
  with one entry per dossier in scope, every request;
- ``Scope.ids (now)``: the filter as the application runs it;
- ``filtered page``, ``facet counts``: the narrowed listing and its jurisdiction menu, each
  including the filter, as the listing view runs them;
- the same for a user of two cities and one of a city plus a single dossier (``role@档号``),
  where the sets must be merged.

The machine may be loaded by other work: compare the ratios against the raw scan measured
in the same run, not the absolute times.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import transaction  # noqa: E402
import ZODB  # noqa: E402
from BTrees.OOBTree import OOTreeSet, union  # noqa: E402
from persistent import Persistent  # noqa: E402
from ZODB.FileStorage import FileStorage  # noqa: E402

from archive.access.local import Scope  # noqa: E402
from archive.records.container import DossierContainer  # noqa: E402

CITIES = ("changzhou", "qujing", "dezhou", "tengchong", "kunming", "dali")


class Stand(Persistent):
    """What the container reads of a dossier to index it: number, metadata, state, times."""

    latest = None
    due = None

    def __init__(self, number, city, when):
        self.archive_no = number
        self.metadata = {"jurisdiction": city, "applicant": {"name": f"户主{number[-5:]}"}}
        self.state, self.modified, self.created = "submitted", when, when


def build(path, n, cities):
    """A FileStorage holding one container of ``n`` stand-in dossiers, ``cities`` cities."""
    db = ZODB.DB(FileStorage(path))
    conn = db.open()
    container = DossierContainer("households", "household", ["jurisdiction"])
    conn.root()["households"] = container
    start = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    for i in range(n):
        city = cities[i % len(cities)]
        container.add(Stand(f"{city[:2].upper()}-HH-2026-Y-{i:07d}", city, start + _dt.timedelta(minutes=i)))
        if i % 10000 == 9999:
            transaction.commit()
    transaction.commit()
    conn.close()
    return db


def copied_ids(scope, container):
    """The filter as first written (archive.access.local before): a new set every request."""
    out = OOTreeSet()
    index = container.indexes.get("jurisdiction")
    for place in sorted(scope.places):
        found = index.forward.get(place)
        if found:
            out = union(out, found)
        if place in container:
            out.add(place)
    return out


def timed(fn, repeat):
    """Median wall seconds of ``fn()`` over ``repeat`` runs, after one warm-up run."""
    fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def measure(container, scope, repeat):
    """(label, seconds) for one scope."""
    index = container.indexes["jurisdiction"]
    first = sorted(p for p in scope.places if p in index.forward)[0]
    rows = [
        ("raw scan of one city's index set", lambda: sum(1 for _ in index.forward[first])),
        ("unfiltered page (global role)", lambda: container.query(limit=20)),
        ("copy (before): new set per request", lambda: len(copied_ids(scope, container))),
        ("Scope.ids (now)", lambda: len(scope.ids(container))),
        ("filtered page incl. filter, before", lambda: container.query(limit=20, within=copied_ids(scope, container))),
        ("filtered page incl. filter, now", lambda: container.query(limit=20, within=scope.ids(container))),
        ("facet counts incl. filter, before", lambda: index.values(within=copied_ids(scope, container))),
        ("facet counts incl. filter, now", lambda: index.values(within=scope.ids(container))),
    ]
    return [(label, timed(fn, repeat)) for label, fn in rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--cities", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    cities = CITIES[:max(2, min(args.cities, len(CITIES)))]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        db = build(os.path.join(tmp, "Data.fs"), args.dossiers, cities)
        print(f"built {args.dossiers} dossiers in {len(cities)} cities in {time.perf_counter() - t:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f} (other work on the machine makes times noisy)")
        conn = db.open()
        container = conn.root()["households"]
        for ids in container.indexes["jurisdiction"].forward.values():   # warm the cache: a
            sum(1 for _ in ids)                                          # server's is warm
        container.query(limit=20)
        one_dossier = next(iter(container.indexes["jurisdiction"].forward[cities[0]]))
        scopes = {"one city (reviewer@qujing)": Scope(frozenset({"qujing"})),
                  "two cities": Scope(frozenset({"qujing", cities[0]})),
                  "a city and one dossier": Scope(frozenset({"qujing", one_dossier}))}
        for name, scope in scopes.items():
            rows = measure(container, scope, args.repeat)
            reference = rows[0][1]
            print(f"\n{name}: {len(scope.ids(container))} dossiers in scope of {len(container)}")
            for label, seconds in rows:
                print(f"  {label:<40} {seconds * 1000:9.3f} ms  {seconds / reference:7.2f} x raw scan")
        conn.close()
        db.close()


if __name__ == "__main__":
    main()
