"""Benchmark of hand-over packages and SM3 fixity (issue 13, items 5-7), printing figures.

    python bench/exchange.py [--documents 10000] [--scan-kb 0] [--dir DIR]

1. corpus: documents/10 households of 10 documents each (bench/audit.py's build): one-page
   born-digital PDFs of 2.6 KB, or with ``--scan-kb K`` pages carrying a scanned image of
   about K KB (an office's scans weigh 100-300 KB a page);
2. reference: every blob file read, copied to a folder and hashed with SHA-256 and SM3
   (one read feeding both), three times into fresh folders, the median: files/s and MB/s;
3. ``archive bind`` of every dossier first (as an office binds before a hand-over; the
   volumes are kept with the dossiers, timed on their own), then ``archive export --bag`` of
   every dossier (the same code, without the CLI), carrying the kept volumes: files/s and
   MB/s of the stored files it carries, and the ratio to the reference (aim ≥ 0.7);
4. ``archive import`` of that bag into an empty archive, committed: the same figures;
5. the audit's fixity rule (SHA-256 and SM3 from one read, two worker processes) against
   raw SHA-256 + SM3 of the same blob files in two processes (aim ≥ 0.8).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import multiprocessing
import os
import pathlib
import shutil
import sys
import tempfile
import time

import transaction

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from audit import audit, build  # noqa: E402

from archive.custody.bound import bind_many  # noqa: E402
from archive.exchange.bag import export_bag  # noqa: E402
from archive.exchange.receive import receive_bag  # noqa: E402


def open_app(workdir):
    """bench/run.py's app without any background thread (``archive.workers = false``: no
    lease keeper, log or loan sealer): the CLI's conditions (one thread, so the audit and
    the export fork their worker processes), and no sealer commit racing the corpus's build."""
    from archive import main as app_main
    return app_main({}, **{"archive.text_worker": "false", "archive.search_worker": "false",
                           "archive.audit_worker": "false", "archive.ocr_worker": "false",
                           "archive.log_sealer": "false", "archive.workers": "false", "archive.session_secret": "bench",
                           "archive.argon2.time_cost": "1", "archive.argon2.memory_cost": "1024",
                           "zodbconn.uri": f"file://{workdir}/Data.fs?blobstorage_dir={workdir}/blobs"
                                           "&blobstorage_layout=bushy"})


def blob_files(blob_dir):
    return [os.path.join(folder, name) for folder, _, names in os.walk(blob_dir)
            for name in names if name.endswith(".blob")]


def _hash(path, copy_to=None):
    with open(path, "rb") as fh:
        data = fh.read()
    if copy_to is not None:
        with open(copy_to, "wb") as out:
            out.write(data)
    hashlib.sha256(data).hexdigest()
    hashlib.new("sm3", data).hexdigest()
    return len(data)


def raw_copy(files, target):
    """(files, bytes, seconds): each file read once, copied and hashed (SHA-256, SM3)."""
    target.mkdir()
    started = time.perf_counter()
    size = sum(_hash(path, target / f"{i}.pdf") for i, path in enumerate(files))
    return len(files), size, time.perf_counter() - started


def raw_two_cores(files):
    """(files, bytes, seconds): SHA-256 and SM3 of every file in two processes."""
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        size = sum(pool.map(_hash, files, chunksize=256))
    return len(files), size, time.perf_counter() - started


def _load() -> str:
    """The load average over 1, 5 and 15 minutes: the figures mean little without it."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def rate(files, size, seconds):
    return f"{files / seconds:,.0f} files/s  {size / 2**20 / seconds:,.1f} MiB/s  ({seconds:.1f} s)"


def profiled(args, path, function, *a, **kw):
    """``function(*a, **kw)``, under cProfile into ``path`` with ``--profile``."""
    if not args.profile:
        return function(*a, **kw)
    import cProfile
    profile = cProfile.Profile()
    try:
        return profile.runcall(function, *a, **kw)
    finally:
        profile.dump_stats(str(path))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--scan-kb", type=int, default=0,
                        help="give every page a scanned image of about this many KB (default: none)")
    parser.add_argument("--dir", help="work directory (default: a temporary one, removed afterwards)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile export, import and fixity (main process) into DIR/*.prof")
    args = parser.parse_args(argv)
    load_at_start = _load()
    workdir = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="archive-exchange-bench-"))
    (workdir / "source").mkdir(parents=True, exist_ok=True)
    app = open_app(workdir / "source")
    print(f"benchmark in {workdir}", file=sys.stderr)
    build(app, max(1, args.documents // 10), 10, scan_kb=args.scan_kb)
    files = blob_files(workdir / "source" / "blobs")
    raw_copy(files, workdir / "warm")                    # warm the page cache for every pass
    # the median of three copies: creating thousands of small files costs what the file
    # system's write-back lets it (0.6 to 4.7 s for the same 10,000 files, seen here)
    runs = sorted((raw_copy(files, workdir / f"raw{n}") for n in range(3)), key=lambda r: r[2])
    raw = runs[1]
    print(f"raw copies: {', '.join(f'{r[2]:.2f} s' for r in runs)} (the median is the reference)",
          file=sys.stderr)

    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    root = db.open(transaction_manager=tm).root()["archive"]
    dossiers = list(root.households.values())
    started = time.perf_counter()
    with tm:
        bind_many(dossiers, app.registry.archive_custody, actor="bench", binder="bench",
                  when=datetime.datetime.now(datetime.timezone.utc))
    bind_s = time.perf_counter() - started
    db.cacheMinimize()
    root = db.open(transaction_manager=tm).root()["archive"]
    dossiers = list(root.households.values())
    started = time.perf_counter()
    summary = profiled(args, workdir / "export.prof", export_bag, root, dossiers, workdir / "bag",
                       app.registry.archive_schemas, office="bench",
                       actor="bench", procedure=app.registry.archive_procedure)
    export_s = time.perf_counter() - started
    pdf_bytes = sum(p.stat().st_size for p in (workdir / "bag" / "data").glob("*/files/*.pdf"))
    tm.abort()

    (workdir / "target").mkdir()
    target = open_app(workdir / "target")
    tdb = target.registry._zodb_databases[""]
    ttm = transaction.TransactionManager()
    troot = tdb.open(transaction_manager=ttm).root()["archive"]
    started = time.perf_counter()
    report = profiled(args, workdir / "import.prof", receive_bag, troot, workdir / "bag",
                      target.registry.archive_schemas, actor="bench", queue_text=False)
    profiled(args, workdir / "commit.prof", ttm.commit)
    import_s = time.perf_counter() - started

    raw2 = raw_two_cores(files)
    fixity, fixity_s = profiled(args, workdir / "fixity.prof", audit, app, ["fixity"])
    c = fixity.counts
    raw_rate = raw[0] / raw[2]
    print(f"load average                   {load_at_start} at the start, {_load()} at the end "
          f"(the machine's other work slows the import's three processes more than the one-process reference)")
    print(f"documents                      {summary.documents} in {summary.dossiers} dossiers "
          f"({summary.files} stored files, {raw[1] / 2**20:.0f} MiB)")
    print(f"raw copy + SHA-256 + SM3       {rate(*raw)}")
    print(f"bind and keep every volume     {bind_s:.1f} s for {summary.dossiers} volumes (before the hand-over)")
    print(f"export (BagIt, both manifests) {rate(summary.files, pdf_bytes, export_s)}  "
          f"ratio {summary.files / export_s / raw_rate:.2f} (aim ≥ 0.7), "
          f"{summary.volumes_stored} kept volumes, {summary.volumes_drawn} drawn")
    print(f"import (checked, committed)    {rate(report.files, pdf_bytes, import_s)}  "
          f"ratio {report.files / import_s / raw_rate:.2f} (aim ≥ 0.7)")
    print(f"raw SHA-256 + SM3, 2 processes {rate(*raw2)}")
    print(f"audit fixity (SHA-256 + SM3)   {rate(c['files'], c['bytes'], fixity_s)}  "
          f"ratio {(c['files'] / fixity_s) / (raw2[0] / raw2[2]):.2f} (aim ≥ 0.8), {len(fixity.findings)} findings")
    if not args.dir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
