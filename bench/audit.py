"""Benchmark of the integrity audit (issue: integrity audits), printing figures.

    python bench/audit.py [--households 10000] [--docs 10] [--dir DIR] [--reuse]

1. corpus: N households with D documents each (bench/run.py's households and PDF pool),
   each household committed with its documents through the model's own filing method
   (the PDF facts of the pool are read once), on a FileStorage with bushy blobs;
2. raw SHA-256 of every blob file under the blob directory (walk, read, hash): files/s,
   MB/s, measured before and after the audit's fixity pass and averaged;
3. the audit's fixity rule alone (``run_audit`` with rules=["fixity"]) over the same files
   through ZODB: files/s, MB/s, and the ratio to raw (aim ≥ 0.8);
4. the whole audit (every rule but the search index's, whose index bench/search.py
   measures) on a cold connection: seconds (aim ≤ 60 s for 10,000 households).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import pathlib
import random
import sys
import tempfile
import time

import transaction

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from run import document_meta, household, open_app, pdf_pool  # noqa: E402

from archive.records import filing  # noqa: E402
from archive.audit import RULES, run_audit  # noqa: E402
from archive.records.pdf import inspect  # noqa: E402


def build(app, households, docs, seed=7, scan_kb=0):
    """bench/run.py's households, each committed with its documents in one transaction
    through the model's own filing (the pool's PDF facts read once): the audit, not
    filing, is what this benchmark measures (``scan_kb``: bench/run.py's pdf_pool)."""
    db = app.registry._zodb_databases[""]
    registry = app.registry.archive_schemas
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    root = conn.root()["archive"]
    rng, pool = random.Random(seed), pdf_pool(scan_kb=scan_kb)
    facts = [inspect(data) for data in pool]
    when = dt.datetime(2026, 1, 5, 2, tzinfo=dt.timezone.utc)
    started = time.perf_counter()
    for i in range(households):
        with tm:
            dossier = filing.create_dossier(root, registry, "household", household(rng, i), "bench", when=when)
            for j in range(docs):
                k = (i + j) % len(pool)
                dossier.file_document(document_meta(j), pool[k], facts[k], f"{j}.pdf", "bench", when)
        if (i + 1) % max(1, households // 20) == 0:
            print(f"  {i + 1}/{households} households ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)
        if (i + 1) % 200 == 0:
            conn.cacheGC()
    conn.close()
    return time.perf_counter() - started


def raw_sha256(blob_dir):
    """(files, bytes, seconds): every blob file read and hashed, nothing else."""
    files = size = 0
    started = time.perf_counter()
    for folder, _, names in os.walk(blob_dir):
        for name in names:
            if name.endswith(".blob"):
                with open(os.path.join(folder, name), "rb") as fh:
                    data = fh.read()
                hashlib.sha256(data).hexdigest()
                files += 1
                size += len(data)
    return files, size, time.perf_counter() - started


def audit(app, rules):
    """(run, seconds) of one audit on a fresh connection (nothing of the archive cached)."""
    db = app.registry._zodb_databases[""]
    db.cacheMinimize()
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    root = conn.root()["archive"]
    run = root.audits.new_run("bench", dt.datetime.now(dt.timezone.utc), "bench", rules)
    started = time.perf_counter()
    run_audit(root, run, app.registry.archive_procedure, app.registry.archive_schemas)
    seconds = time.perf_counter() - started
    tm.abort()
    conn.close()
    return run, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--docs", type=int, default=10)
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="use the corpus already in --dir")
    args = parser.parse_args(argv)
    workdir = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="archive-audit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    reuse = args.reuse and (workdir / "Data.fs").exists()
    app = open_app(workdir)
    print(f"benchmark in {workdir}", file=sys.stderr)
    if not reuse:
        seconds = build(app, args.households, args.docs)
        print(f"corpus built in {seconds:.0f} s", file=sys.stderr)
    blobs = workdir / "blobs"
    raw_sha256(blobs)                                   # warm the page cache for both
    raw1 = raw_sha256(blobs)
    fixity, fixity_s = audit(app, ["fixity"])
    raw2 = raw_sha256(blobs)
    whole, whole_s = audit(app, [r for r in RULES if r != "search_index"])
    raw_files = (raw1[0] + raw2[0]) / 2
    raw_s = (raw1[2] + raw2[2]) / 2
    raw_mb = (raw1[1] + raw2[1]) / 2 / 2**20
    c = fixity.counts
    fix_mb = c["bytes"] / 2**20
    ratio = (c["files"] / fixity_s) / (raw_files / raw_s)
    w = whole.counts
    print(f"households                   {w['households']}  ({w['files']} stored files, {fix_mb:.0f} MiB)")
    print(f"raw SHA-256 of blob files    {raw_files / raw_s:,.0f} files/s  {raw_mb / raw_s:,.1f} MiB/s  "
          f"({raw1[2]:.2f} s, {raw2[2]:.2f} s)")
    print(f"audit fixity through ZODB    {c['files'] / fixity_s:,.0f} files/s  {fix_mb / fixity_s:,.1f} MiB/s  "
          f"({fixity_s:.2f} s, {len(fixity.findings)} findings)")
    print(f"fixity / raw                 {ratio:.2f}  (aim ≥ 0.8)")
    print(f"whole audit ({len(whole.rules)} rules)      {whole_s:.1f} s  (aim ≤ 60 s), "
          f"{w['dossiers']} dossiers, {w['versions']} versions, {len(whole.findings)} findings")
    print(f"Data.fs                      {(workdir / 'Data.fs').stat().st_size / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
