"""Benchmark of the archive core (issue: the archive core), printing figures.

    python bench/run.py [--households 10000] [--docs 10] [--versions 50] [--requests 300]

1. filing: builds N households with D documents each on a FileStorage with blobs, each
   document filed in its own committed transaction, through the same filing functions the
   UI and the API use (validation, PDF inspection, SHA-256, blob, version) -> documents/s;
2. the dossier page of a dossier with V versions, rendered through the WSGI app as an
   archivist sees it -> p50/p95 latency;
3. storage size (Data.fs + blobs), Data.fs's growth per filed document (filing and the
   text layers; unpacked: FileStorage appends every object state), measured once every
   background worker has drained (the text layers read, the search index queue empty, the
   log sealed), in KB (1,000 bytes) and KiB, with its breakdown by class (bench/growth.py)
   and, after a pack, the live data per document; and the process's peak memory (ru_maxrss).

The web server's search indexer and log sealer run as they do in the server (their
threads, their intervals), so the queues stay as short as they would be there; the text
layers are read after the filing, to measure their rate on their own.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import pathlib
import random
import resource
import statistics
import sys
import tempfile
import time

import transaction
from ZODB.POSException import ConflictError

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from archive import main
from archive.records import filing
from archive.schema import idnumber  # noqa: E402

DOC_TYPES = ["application_form", "id_card", "hukou", "marriage_proof", "income_proof",
             "housing_proof", "pledge", "check_authorization", "review_opinion", "check_report"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"


def pdf_pool(size=40, scan_kb=0):
    """Distinct small Chinese PDFs made once, so the benchmark measures filing, not reportlab.
    ``scan_kb`` > 0 adds to each page a greyscale JPEG of about that many KB (noise, which
    JPEG cannot shrink), as a scanned page carries: hashing and copying then weigh what
    they weigh in an office's archive, where a scanned page is 100-300 KB, not 2.6 KB."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pool = []
    for i in range(size):
        buf = io.BytesIO()
        c = canvas.Canvas(buf, invariant=1)
        if scan_kb:
            c.drawImage(_noise_jpeg(scan_kb, seed=i), 0, 0, 595, 842)
        c.setFont("STSong-Light", 12)
        for line in range(30):
            c.drawString(60, 780 - line * 22, f"公共租赁住房档案材料 第{i}号 第{line}行：申请人家庭收入及住房情况说明。")
        c.showPage()
        c.save()
        pool.append(buf.getvalue())
    return pool


def _noise_jpeg(kb, seed):
    """A reportlab image reader of a greyscale JPEG of about ``kb`` KB (random grey noise
    at quality 75 costs about 0.8 bytes a pixel)."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    side = max(16, int((kb * 1000 / 0.8) ** 0.5))
    rnd = random.Random(seed)
    image = Image.frombytes("L", (side, side), rnd.randbytes(side * side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75)
    out.seek(0)
    return ImageReader(out)


def household(rng, i):
    region = rng.choice(["320402", "350203", "530302", "530581", "371402"])
    jurisdiction = {"32": "changzhou", "35": "xiamen", "53": "qujing", "37": "dezhou"}[region[:2]]
    if region == "530581":
        jurisdiction = "tengchong"
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 50))
    return {"applicant": {"name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                          "id_number": idnumber.make(region, born, i % 1000)},
            "members": [], "category": rng.choice(["tekun", "dibao", "dishouru", "zhongdeng"]),
            "income_per_capita": round(rng.uniform(300, 3500), 2), "phone": f"139{i:08d}",
            "jurisdiction": jurisdiction, "district": "城区", "address": f"幸福路{i}号"}


def document_meta(j):
    """The description of a household's j-th document (the benchmarks' corpus)."""
    return {"doc_type": DOC_TYPES[j % len(DOC_TYPES)], "title": f"材料{j}", "date": "2026-01-05",
            "issuer": "街道办事处", "doc_no": f"街〔2026〕{j}号"}


def open_app(workdir):
    # The benchmark reads the text layers itself (their rate is one of its figures); OCR and
    # the audit are measured by bench/ocr.py and bench/audit.py, so their workers stay off.
    # The search indexer and the log sealer run as in the web server: what they leave
    # in Data.fs is part of what filing costs.
    settings = {"archive.text_worker": "false", "archive.audit_worker": "false",
                "archive.ocr_worker": "false", "zodbconn.uri": f"file://{workdir}/Data.fs?blobstorage_dir={workdir}/blobs"
                                f"&blobstorage_layout=bushy",
                "archive.session_secret": "bench", "archive.argon2.time_cost": "1",
                "archive.argon2.memory_cost": "1024"}
    return main({}, **settings)


def build(app, households, docs, seed=7):
    """N households x D documents; every filing its own committed transaction."""
    db = app.registry._zodb_databases[""]
    registry = app.registry.archive_schemas
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    root = conn.root()["archive"]
    rng, pool = random.Random(seed), pdf_pool()
    filed, started = 0, time.perf_counter()
    for i in range(households):
        data = household(rng, i)
        number = committed(tm, lambda: filing.create_dossier(
            root, registry, "household", data, "bench").archive_no)
        for j in range(docs):
            committed(tm, lambda: filing.file_document(
                root.households[number], registry, document_meta(j), pool[(i + j) % len(pool)],
                f"{j}.pdf", "bench"))
            filed += 1
        if (i + 1) % max(1, households // 20) == 0:
            rate = filed / (time.perf_counter() - started)
            print(f"  {i + 1}/{households} households, {filed} documents, {rate:.0f} docs/s",
                  file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    conn.close()
    return filed, elapsed


def committed(tm, work, attempts=5):
    """``work()`` in its own transaction, retried on a conflict with a worker (as a web
    request is by pyramid_retry); returns what it returned."""
    for attempt in range(attempts):
        try:
            with tm:
                return work()
        except ConflictError:
            if attempt == attempts - 1:
                raise


def drained(app, timeout=3600):
    """Wait until the search index queue is empty and the log sealed (the workers' threads
    do it); the number of seconds waited."""
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            tm.begin()
            root = conn.root()["archive"]
            if not len(root.index_queue) and not root.log.waiting():
                tm.abort()
                return time.perf_counter() - started
            tm.abort()
            time.sleep(0.5)
        raise RuntimeError("the background workers did not drain their queues")
    finally:
        conn.close()


def breakdown(app, since, until, filed):
    """bench/growth.py's table for the filing and text-layer transactions, as text."""
    import growth
    storage = app.registry._zodb_databases[""].storage
    out = io.StringIO()
    growth.report(*growth.attribute(storage._file_name, since, until), top=15, documents=filed, out=out)
    return out.getvalue()


def text_layers(app):
    """The background job's throughput: text layers read and committed per second."""
    from archive.workers.textlayer import drain
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    tm.begin()
    root = conn.root()["archive"]
    started = time.perf_counter()
    done = drain(root, commit=tm.commit)
    elapsed = time.perf_counter() - started
    conn.close()
    return done, elapsed


def deep_dossier(app, versions):
    """A dossier with `versions` versions (edits and filings alternating)."""
    db = app.registry._zodb_databases[""]
    registry = app.registry.archive_schemas
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    root = conn.root()["archive"]
    rng, pool = random.Random(1), pdf_pool(10)
    with tm:
        root.users.add("bench", "bench", ["archivist"], "bench-password", app.registry.archive_hasher)
        data = household(rng, 999_999)
        dossier = filing.create_dossier(root, registry, "household", data, "bench")
        number = dossier.archive_no
    for v in range(2, versions + 1):
        with tm:
            if v % 2:
                data = dict(data, income_per_capita=1000 + v)
                filing.edit_dossier(dossier, registry, data, "bench", f"第{v}次修改")
            else:
                filing.file_document(dossier, registry, {
                    "doc_type": "income_proof", "title": f"收入证明{v}", "date": "2026-02-01",
                    "issuer": "某公司"}, pool[v % 10], "x.pdf", "bench")
    assert dossier.latest.number == versions
    conn.close()
    return number


def page_latency(app, number, requests):
    import webtest
    client = webtest.TestApp(app)
    form = client.get("/login").forms[0]
    form["login"], form["password"] = "bench", "bench-password"
    form.submit()
    url = f"/households/{number}"
    for _ in range(10):
        client.get(url)
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def packed_size(app):
    """Data.fs's size once every superseded object state is dropped: the live data."""
    db = app.registry._zodb_databases[""]
    db.pack(time.time() + 1)
    return db.storage.getSize()


def size_of(path):
    return sum(f.stat().st_size for f in pathlib.Path(path).rglob("*") if f.is_file())


def main_(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--docs", type=int, default=10)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    args = parser.parse_args(argv)
    workdir = args.dir or tempfile.mkdtemp(prefix="archive-bench-")
    os.makedirs(workdir, exist_ok=True)
    app = open_app(workdir)
    print(f"benchmark in {workdir}", file=sys.stderr)
    data_fs = pathlib.Path(workdir) / "Data.fs"
    db = app.registry._zodb_databases[""]
    start_size, start_tid = data_fs.stat().st_size, db.lastTransaction()
    filed, elapsed = build(app, args.households, args.docs)
    texts, text_elapsed = text_layers(app)
    waited = drained(app)
    growth, end_tid = data_fs.stat().st_size - start_size, db.lastTransaction()
    table = breakdown(app, start_tid, end_tid, filed)
    number = deep_dossier(app, args.versions)
    p50, p95 = page_latency(app, number, args.requests)
    unpacked = data_fs.stat().st_size
    live = packed_size(app)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"households                 {args.households}")
    print(f"documents filed            {filed} in {elapsed:.1f} s")
    print(f"documents filed per second {filed / elapsed:.1f}  (each a committed transaction)")
    print(f"text layers (background)   {texts} in {text_elapsed:.1f} s, {texts / text_elapsed:.1f}/s")
    print(f"dossier page, {args.versions} versions  p50 {p50:.1f} ms   p95 {p95:.1f} ms  ({args.requests} requests)")
    print(f"storage                    Data.fs {unpacked / 2**20:.1f} MiB, "
          f"blobs {size_of(pathlib.Path(workdir) / 'blobs') / 2**20:.1f} MiB")
    print(f"queues drained             {waited:.1f} s after the last text layer (search index, log)")
    print(f"Data.fs growth per document {growth / filed / 1000:.2f} KB = {growth / filed / 1024:.2f} KiB  "
          f"(filing, text layer, index queue and log, unpacked; {growth / 2**20:.1f} MiB for {filed} documents)")
    print(f"live data after a pack     {live / filed / 1000:.2f} KB = {live / filed / 1024:.2f} KiB per document  "
          f"(Data.fs {live / 2**20:.1f} MiB, with the {args.versions}-version dossier)")
    print(f"peak memory (RSS)          {peak_mb:.0f} MiB")
    print("where the growth went (bench/growth.py, per document):")
    print(table, end="")


if __name__ == "__main__":
    main_()
