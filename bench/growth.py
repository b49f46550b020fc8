"""Where a FileStorage's bytes go: every record of Data.fs attributed to its class, new or
rewritten, so one sees what each filing writes besides the new document.

    python bench/growth.py var/Data.fs [--top 25] [--since-tid HEX]

FileStorage appends a whole new copy of every object a transaction changes. An object
that is changed by every filing (a BTree bucket of a shared index, a queue) costs its full
size on every filing until the database is packed. This reads Data.fs with FileStorage's
own iterator (no index, no lock: it may run beside the server) and prints, per class, the
bytes of first writes ("new") and of rewrites of an object already stored ("rewritten"),
with record counts and the average record size, and the same per transaction.
"""
from __future__ import annotations

import argparse
import collections
import sys

from ZODB.FileStorage import FileIterator
from ZODB.FileStorage.format import DATA_HDR_LEN, TRANS_HDR_LEN
from ZODB.utils import get_pickle_metadata, p64


def attribute(path, since=None, until=None):
    """(per-class totals, transaction count, transaction overhead bytes) for Data.fs, for
    the transactions from ``since`` to ``until`` (tids, both included; None: no bound)."""
    seen = set()
    totals = collections.defaultdict(lambda: [0, 0, 0, 0])   # new bytes, new n, rewritten bytes, n
    transactions = overhead = 0
    for txn in FileIterator(path, start=since, stop=until):
        transactions += 1
        overhead += TRANS_HDR_LEN + len(txn.user) + len(txn.description) + len(txn.extension_bytes) + 8
        for record in txn:
            size = DATA_HDR_LEN + len(record.data or b"")
            module, name = get_pickle_metadata(record.data) if record.data else ("", "(deleted)")
            row = totals[f"{module}.{name}"]
            if record.oid in seen:
                row[2] += size
                row[3] += 1
            else:
                seen.add(record.oid)
                row[0] += size
                row[1] += 1
    return totals, transactions, overhead


def report(totals, transactions, overhead, top=25, documents=None, out=sys.stdout):
    """A table of the classes that cost most, rewrites first."""
    new = sum(r[0] for r in totals.values())
    rewritten = sum(r[2] for r in totals.values())
    whole = new + rewritten + overhead
    per = documents or transactions
    unit = "document" if documents else "transaction"
    print(f"{transactions} transactions, {whole / 2**20:.1f} MiB: new objects {new / 2**20:.1f} MiB, "
          f"rewritten objects {rewritten / 2**20:.1f} MiB ({100 * rewritten / max(whole, 1):.0f} %), "
          f"transaction headers {overhead / 2**20:.1f} MiB; {whole / per / 1024:.1f} KiB per {unit}",
          file=out)
    print(f"{'class':60} {'new KiB/' + unit[:3]:>12} {'rewr KiB/' + unit[:3]:>13} {'rewrites':>9} "
          f"{'avg rewrite B':>14}", file=out)
    rows = sorted(totals.items(), key=lambda kv: -(kv[1][0] + kv[1][2]))[:top]
    for name, (nb, nn, rb, rn) in rows:
        print(f"{name[-60:]:60} {nb / per / 1024:12.2f} {rb / per / 1024:13.2f} {rn:9d} "
              f"{(rb / rn if rn else 0):14.0f}", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="Data.fs")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--since-tid", help="only transactions from this tid (16 hex digits) on")
    parser.add_argument("--documents", type=int, help="divide by this many filed documents")
    args = parser.parse_args(argv)
    since = p64(int(args.since_tid, 16)) if args.since_tid else None
    report(*attribute(args.path, since), top=args.top, documents=args.documents)


if __name__ == "__main__":
    main()
