"""Filing throughput with more than one server (issue 11, part 11), printing figures.

    python bench/cluster.py [--clients 8] [--per-client 25] [--pdf-kb 40] [--keep]

In one run, each on a store of its own made for it and dropped after:

1. **FileStorage, one server**: ``pserve`` as ``make run`` starts it (every worker on, in
   the server's process), on a FileStorage under a temporary ``var/``;
2. **RelStorage, one web server**: ``pserve`` with ``archive.workers = off`` on a throw-away
   PostgreSQL database (127.0.0.1:5432) and ``archive worker`` beside it, as relstorage.ini;
3. **RelStorage, two web servers**: the same with a second ``pserve``, the clients split
   between the two;
4. **raw RelStorage blob commits**: ``--clients`` threads of one process, each committing
   one new blob holding the same PDF per transaction, straight to RelStorage: the ceiling
   the store sets for filing, which also writes the record, its version, the log entry
   and the queues.

The clients (threads, one HTTP request per filing, each into a dossier of its own, so they
never conflict) are released together and each files ``--per-client`` PDFs through
``POST /api/households/{no}/documents``; documents/s is what was acknowledged (201) over
the wall time from the release to the last answer. Every filing must be acknowledged
(exit status 1 otherwise). The servers are the test suite's (tests/server/harness.py).
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile
import threading
import time

TOP = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests"))
sys.path.insert(0, str(TOP / "src"))

from server.harness import (Cluster, Postgres, Server, create_household, file_pdf,  # noqa: E402
                            make_pdf, run_clients)


def padded_pdf(text, kb) -> bytes:
    """A valid one-page PDF of about ``kb`` KiB: ``make_pdf`` with a comment after the
    header (a filed PDF is tens of KiB; the store's cost grows with the bytes)."""
    pdf = make_pdf(text)
    pad = b"%" + b"x" * 76 + b"\n"
    body = pdf[len(b"%PDF-1.4\n"):]
    filler = pad * max(0, (kb * 1024 - len(pdf)) // len(pad))
    # the xref offsets move with the filler: rebuild through make_pdf's layout instead
    return _with_offsets(b"%PDF-1.4\n" + filler, body)


def _with_offsets(head, body) -> bytes:
    """``body`` (objects, xref, trailer as make_pdf wrote them after its 9-byte header)
    after ``head``, with the xref table's offsets and startxref moved by the filler."""
    import re
    shift = len(head) - len(b"%PDF-1.4\n")
    xref_at = body.index(b"xref\n")
    table = re.sub(rb"(?m)^(\d{10}) 00000 n ",
                   lambda m: b"%010d 00000 n " % (int(m.group(1)) + shift), body[xref_at:])
    table = re.sub(rb"startxref\n(\d+)", lambda m: b"startxref\n%d" % (int(m.group(1)) + shift), table)
    return head + body[:xref_at] + table


def filing_rate(servers, clients, per_client, kb) -> tuple[float, int]:
    """(documents/s acknowledged, filings refused) with ``clients`` clients over ``servers``."""
    numbers = [create_household(servers[k % len(servers)], 9000 + k) for k in range(clients)]
    pdfs = [[padded_pdf(f"bench {k} {n}", kb) for n in range(per_client)] for k in range(clients)]
    started = []

    def client(k):
        server = servers[k % len(servers)]
        if not started:
            started.append(time.perf_counter())
        ok = 0
        for n in range(per_client):
            reply = file_pdf(server, numbers[k], f"bench {k} {n}", data=pdfs[k][n], timeout=300)
            ok += reply.status == 201
        return ok
    results = run_clients(clients, client)
    seconds = time.perf_counter() - started[0]
    for result in results:
        if isinstance(result, BaseException):
            raise result
    acked = sum(results)
    return acked / seconds, clients * per_client - acked


def raw_blob_rate(uri, threads, per_thread, data) -> float:
    """Blob commits per second straight to the store: each transaction one new blob."""
    import transaction
    from ZODB.blob import Blob

    from archive import store
    db = store.open_database(uri)
    barrier = threading.Barrier(threads + 1)

    def body():
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        barrier.wait()
        for _ in range(per_thread):
            tm.begin()
            blob = Blob(data)
            conn.add(blob)
            tm.commit()
        conn.close()
    pool = [threading.Thread(target=body) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    db.close()
    return threads * per_thread / seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=25, help="PDFs each client files")
    parser.add_argument("--pdf-kb", type=int, default=40, help="size of each PDF in KiB")
    parser.add_argument("--keep", action="store_true", help="keep the servers' directories and logs")
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix="archive-bench-cluster-"))
    rows, refused = [], 0
    try:
        print(f"{args.clients} clients × {args.per_client} PDFs of {args.pdf_kb} KiB each", flush=True)
        server = Server(work / "filestorage").start()
        try:
            rate, bad = filing_rate([server], args.clients, args.per_client, args.pdf_kb)
        finally:
            server.stop()
        rows.append(("FileStorage, one server (workers in it)", rate))
        refused += bad
        print(f"  {rows[-1][0]}: {rate:.1f} documents/s", flush=True)
        for count in (1, 2):
            cluster = Cluster(work / f"relstorage{count}", Postgres)
            try:
                servers = [cluster.server(f"web{i}") for i in range(1, count + 1)]
                cluster.worker()
                rate, bad = filing_rate(servers, args.clients, args.per_client, args.pdf_kb)
                rows.append((f"RelStorage, {count} web server{'s' if count > 1 else ''} + worker", rate))
                refused += bad
                print(f"  {rows[-1][0]}: {rate:.1f} documents/s", flush=True)
                if count == 1:
                    for process in cluster.processes:
                        process.stop()         # the raw rate alone on the machine
                    raw = raw_blob_rate(cluster.store.uri(work / "rawcache"), args.clients,
                                        args.per_client, padded_pdf("raw", args.pdf_kb))
                    rows.append(("raw RelStorage blob commits (no application)", raw))
                    print(f"  {rows[-1][0]}: {raw:.1f} commits/s", flush=True)
            finally:
                cluster.close()
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    raw = dict(rows).get("raw RelStorage blob commits (no application)")
    print("\n| configuration | per second | of the raw blob-commit rate |\n|---|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:.1f} | {rate / raw:.0%} |")
    if refused:
        print(f"{refused} filings were not acknowledged", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
