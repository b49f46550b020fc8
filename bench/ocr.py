"""Benchmark of OCR and the text layer step (issue 14: scans, photos and OFD), printing figures.

    python bench/ocr.py [--pages 8] [--docs 2000] [--repeat 3]

1. OCR pages/minute on the same scanned A4 pages (dense Chinese text rendered at 300 dpi,
   drawn by archive.demo.scans as the tests' scans are), in one run:
   - Tesseract alone (``tesseract page.png - -l chi_sim``, one process per page), on one core
     and on both (two processes at once, OMP_THREAD_LIMIT=1 as the worker sets it);
   - the archive's OCR (archive.workers.ocr.recognise: OCRmyPDF making the PDF/A access copy
     with its text layer and the sidecar text), jobs=1 and jobs=2;
   each the median of --repeat runs (the two alternating), and the ratio of each to
   Tesseract alone on as many cores (aim ≥ 0.9 on both).
2. The text layer worker's documents/s: N born-digital PDFs (bench/run.py's pool) filed on a
   FileStorage with blobs, then ``textlayer.drain`` with one process and with two.
"""
from __future__ import annotations

import argparse
import io
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import transaction

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

os.environ.setdefault("OMP_THREAD_LIMIT", "1")   # as OcrWorker sets it: a page per core

LINES = ["公共租赁住房申请表（扫描件） 第{n}页",
         "申请人 王秀英 身份证号 320402198005060216 联系电话 13812345678",
         "家庭住址 常州市天宁区青龙街道龙锦路88号 3幢502室",
         "家庭成员 共三人：王秀英（申请人）、张俊（配偶）、张小明（子女）",
         "家庭人均月收入 1200 元，低于本市公共租赁住房准入标准",
         "现住房情况 租赁私房，建筑面积 28 平方米，人均不足 10 平方米",
         "申请人承诺以上所填内容真实有效，如有虚假愿承担相应责任。",
         "街道（乡镇）审核意见：经入户调查，情况属实，同意上报。",
         "区住房保障部门审核意见：符合条件，同意纳入轮候。"]


def scanned_pages(count, dpi=300):
    """``count`` A4 pages of text as a copier scans them: grey images, and the PDF of them."""
    from archive.demo.scans import page_images, scanned_pdf
    pages = [[LINES[row % len(LINES)].format(n=n + 1) for row in range(27)]   # a dense page:
             for n in range(count)]                                           # the lines 3 times
    images = page_images(pages, dpi, font_size=13, leading=26, left=60, top=780)
    return images, scanned_pdf(images, dpi)


def cpu_seconds():
    """CPU seconds used so far by this process and the children it has waited for (Tesseract,
    OCRmyPDF's page processes and theirs)."""
    import resource
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def tesseract_alone(paths, workers):
    """Seconds for Tesseract to read every page, ``workers`` processes at a time."""
    def one(path):
        subprocess.run(["tesseract", path, "-", "-l", "chi_sim"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, paths))
    return time.perf_counter() - started


def archive_ocr(pdf, jobs):
    from archive.workers.ocr import OcrOptions, recognise
    started = time.perf_counter()
    done = recognise(pdf, OcrOptions(jobs=jobs, max_pages=10_000))
    return time.perf_counter() - started, done


def archive_ocr_side_by_side(pdfs, jobs):
    """Seconds for the worker's round: the files read at once, one process (core) each."""
    from archive.workers.ocr import OcrOptions, recognise_many
    started = time.perf_counter()
    done = recognise_many([(pdf, False) for pdf in pdfs], OcrOptions(jobs=jobs, max_pages=10_000))
    return time.perf_counter() - started, done


def split_pdf(pdf, parts):
    """The scanned pages as ``parts`` files of about equal length (a queue of scans)."""
    from pypdf import PdfReader, PdfWriter
    pages = PdfReader(io.BytesIO(pdf)).pages
    out = []
    for n in range(parts):
        writer = PdfWriter()
        for page in pages[n::parts]:
            writer.add_page(page)
        buf = io.BytesIO()
        writer.write(buf)
        out.append(buf.getvalue())
    return out


def ocr_figures(pages, repeat=3):
    images, pdf = scanned_pages(pages)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for n, image in enumerate(images):
            path = os.path.join(tmp, f"page-{n}.png")
            image.save(path, dpi=(300, 300))
            paths.append(path)
        tesseract_alone(paths[:1], 1)        # warm the disk cache and the model files
        import ocrmypdf  # noqa: F401  (its import, once per process, is not a page's cost)
        from archive.workers.ocr import start_processes
        start_processes()     # the worker's fork server, started as the worker starts it
        rows, cpu = [], {"tesseract": 0.0, "archive": 0.0}
        for cores in (1, 2):
            alone, ours = [], []
            for _ in range(repeat):         # alternating, so drift in the load hits both
                before = cpu_seconds()
                alone.append(tesseract_alone(paths, cores))
                middle = cpu_seconds()
                seconds, done = archive_ocr(pdf, cores)
                ours.append(seconds)
                if cores == 1:
                    cpu["tesseract"] += middle - before
                    cpu["archive"] += cpu_seconds() - middle
                assert done.read == pages and "身份证号" in done.text.replace(" ", "")
            alone, ours = statistics.median(alone), statistics.median(ours)
            rows.append((f"{cores}, one file", pages * 60 / alone, pages * 60 / ours, alone / ours))
        halves, side = split_pdf(pdf, 2), []
        for _ in range(repeat):
            seconds, done = archive_ocr_side_by_side(halves, 2)
            side.append(seconds)
            assert sum(d.read for d in done) == pages and all("身份证号" in d.text.replace(" ", "") for d in done)
        ours = statistics.median(side)
        rows.append(("2, two files side by side (the worker's round)", pages * 60 / alone,
                     pages * 60 / ours, alone / ours))
    print(f"\nOCR of {pages} dense A4 pages at 300 dpi (chi_sim), pages per minute "
          f"(median of {repeat} runs, Tesseract's and the archive's alternating):")
    print("| cores | tesseract alone | archive OCR (OCRmyPDF → PDF/A + text) | ratio |")
    print("|---|---|---|---|")
    for cores, alone, ours, ratio in rows:
        print(f"| {cores} | {alone:.1f} | {ours:.1f} | {ratio:.2f} |")
    print(f"\nCPU seconds a page on one core (this process and its children; the load cannot stretch"
          f" it as it does wall time): tesseract alone {cpu['tesseract'] / pages / repeat:.2f}, archive OCR"
          f" {cpu['archive'] / pages / repeat:.2f}, ratio {cpu['tesseract'] / cpu['archive']:.2f}")
    return rows


def text_layer_figures(docs):
    from run import document_meta, household, open_app, pdf_pool
    from archive import close
    from archive.records import filing
    from archive.workers import textlayer
    import random
    rows = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            app = open_app(tmp)
            db = app.registry._zodb_databases[""]
            registry = app.registry.archive_schemas
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            root = conn.root()["archive"]
            rng, pool = random.Random(7), pdf_pool()
            with tm:
                for i in range(docs // 10):
                    dossier = filing.create_dossier(root, registry, "household", household(rng, i), "bench")
                    for j in range(10):
                        filing.file_document(dossier, registry, document_meta(j), pool[(i + j) % len(pool)],
                                             f"{j}.pdf", "bench")
            tm.begin()
            started = time.perf_counter()
            done = textlayer.drain(root, commit=tm.commit, workers=workers)
            elapsed = time.perf_counter() - started
            conn.close()
            close(app)
            rows.append((workers, done, done / elapsed))
    print(f"\nText layer worker ({docs} born-digital PDFs, a commit per 50):")
    print("| processes | documents | documents/s |")
    print("|---|---|---|")
    for workers, done, rate in rows:
        print(f"| {workers} | {done} | {rate:.0f} |")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each OCR figure (the median is printed)")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores; "
          + subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.splitlines()[0])
    ocr_figures(args.pages, args.repeat)
    text_layer_figures(args.docs)


if __name__ == "__main__":
    main()
