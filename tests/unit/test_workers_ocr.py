"""OCR of scanned PDFs by OCRmyPDF: from a blank text layer to recognised, indexed text and a
PDF/A access copy (利用副本), the file as filed untouched."""
import datetime as dt
import hashlib
import re

import pytest
import io

import ocrmypdf
from pypdf import PdfReader
import transaction
import ZODB
import zodburi

from archive import cli, evolve
from archive.records import filing
from archive.workers import ocr, ocr_images
from archive.workers import textlayer
from archive.workers.ocr import OcrOptions
from archive.root import ROOT_KEY, bootstrap
from archive.search.fields import dossier_key
from conftest import doc_fields, household_input, make_ofd, make_pdf, make_scanned_pdf

WHEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
# What Tesseract 5 (chi_sim) reads on every run from conftest.SCAN; it reads 家庭 as 家帮.
READ_RELIABLY = ("公共租赁住房申请表", "申请人", "王秀英", "人均月收入", "1200")


@pytest.fixture(scope="module")
def scan():
    return make_scanned_pdf()


def _file(root, registry, data):
    """A household with one filed document; returns (dossier, file revision)."""
    dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist", when=WHEN)
    doc = filing.file_document(dossier, registry, doc_fields(), data, "申请表.pdf", "archivist", when=WHEN)
    return dossier, doc.current_file


def _read_layers(root):
    """The text layer step done, with the index queue emptied so what OCR queues shows."""
    textlayer.drain(root)
    root.index_queue.clear()


def _plain(text):
    return re.sub(r"\s", "", text)


# -- from the text layer to the OCR queue --------------------------------------------------------
def test_a_scan_has_a_blank_text_layer_and_waits_for_ocr(root, registry, scan):
    dossier, revision = _file(root, registry, scan)
    textlayer.drain(root)
    assert (revision.text_status, len(root.ocr_queue), len(root.text_queue)) == ("ocr_pending", 1, 0)
    assert root.ocr_queue.take(1)[0][1:] == (revision, dossier)


def test_a_pdf_with_a_text_layer_never_goes_to_ocr(root, registry):
    dossier, revision = _file(root, registry, make_pdf("收入证明 张三"))
    root.index_queue.clear()
    textlayer.drain(root)
    assert (revision.text_status, revision.text_source, len(root.ocr_queue)) == ("done", "layer", 0)
    assert "收入证明" in revision.text
    assert dossier_key("household", dossier.archive_no) in root.index_queue  # the text reaches search


def test_text_layers_read_in_two_processes_are_recorded_alike(root, registry, scan):
    """``drain(workers=2)``: the PDFs' text read in worker processes, recorded here."""
    _, text = _file(root, registry, make_pdf("收入证明 张三"))
    _, blank = _file(root, registry, scan)
    _, ofd_file = _file(root, registry, make_ofd())
    assert textlayer.drain(root, workers=2) == 3
    assert (text.text_status, blank.text_status, ofd_file.text_status) == ("done", "ocr_pending", "done")
    assert "收入证明" in text.text and ofd_file.text_source == "ofd"
    assert [r for _, r, _ in root.ocr_queue.take(5)] == [blank]


@pytest.mark.parametrize("text, blank", [("", True), ("\n\f\n\f", True), (" —— 。\n", True),
                                         ("第1页", False), ("7", False), ("申", False)])
def test_blank_means_no_letter_digit_or_ideograph(text, blank):
    assert textlayer.is_blank(text) is blank


def test_old_queue_entries_without_a_dossier_are_still_read(root, registry, scan):
    """Databases from before this change hold bare revisions on the text queue."""
    _, revision = _file(root, registry, scan)
    (key, _, _), = root.text_queue.take(1)
    root.text_queue._items[key] = revision
    root.index_queue.clear()
    assert root.text_queue.take(1) == [(key, revision, None)]
    textlayer.drain(root)
    assert revision.text_status == "ocr_pending" and root.ocr_queue.take(1)[0][2] is None
    ocr.drain(root, OcrOptions())
    assert revision.text_status == "ocr_done" and len(root.index_queue) == 0  # no dossier known


# -- recognising -----------------------------------------------------------------------------------
def test_ocr_records_the_text_and_queues_the_dossier_for_search(root, registry, scan):
    dossier, revision = _file(root, registry, scan)
    _read_layers(root)
    assert ocr.drain(root, OcrOptions()) == 1
    assert (revision.text_status, revision.text_source, revision.text_error) == ("ocr_done", "ocr", "")
    assert revision.ocr_pages == 1 and len(root.ocr_queue) == 0
    for word in READ_RELIABLY:
        assert word in _plain(revision.text)
    assert dossier_key("household", dossier.archive_no) in root.index_queue


def pdfa_part(data):
    """(part, conformance) a PDF declares in its XMP metadata, as PDF/A requires (ISO 19005)."""
    xmp = PdfReader(io.BytesIO(data)).xmp_metadata
    text = xmp.rdf_root.toxml() if xmp is not None else ""
    part = re.search(r"<pdfaid:part>(\d)</pdfaid:part>", text)
    conformance = re.search(r"<pdfaid:conformance>(\w)</pdfaid:conformance>", text)
    return (part.group(1) if part else None, conformance.group(1) if conformance else None)


def layer_text(data):
    """The text layer as PDFium (a browser's viewer) reads it."""
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_ocr_never_alters_the_filed_file_and_adds_a_pdfa_access_copy(root, registry, scan):
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    ocr.drain(root, OcrOptions())
    copy = revision.access_copy
    assert (copy.pdfa, copy.pages, copy.content_type) == ("2B", 1, "application/pdf")
    data = copy.read()
    assert pdfa_part(data) == ("2", "B") and hashlib.sha256(data).hexdigest() == copy.sha256
    assert "申请人" in _plain(layer_text(data))  # its text layer, as a viewer finds it
    assert "OCRmyPDF" in copy.tool
    assert revision.read() == scan
    assert hashlib.sha256(revision.read()).hexdigest() == revision.sha256 == hashlib.sha256(scan).hexdigest()
    assert (revision.size, revision.pages) == (len(scan), 1)


def test_pages_are_separated_like_a_text_layer_and_capped(root, registry):
    _, revision = _file(root, registry, make_scanned_pdf(pages=3))
    _read_layers(root)
    ocr.drain(root, OcrOptions(max_pages=2))
    assert (revision.text_status, revision.ocr_pages, revision.pages) == ("ocr_done", 2, 3)
    first, second = revision.text.split(ocr.PAGE_SEPARATOR)
    assert "王秀英" in _plain(first) and "王秀英" in _plain(second)


def test_spaces_between_chinese_characters_are_removed():
    assert ocr.join_cjk("公 共 租 赁  住房\n申 请 人：王 秀 英") == "公共租赁住房\n申请人：王秀英"
    assert ocr.join_cjk("Room 502 室 rent 620") == "Room 502 室 rent 620"


def test_options_come_from_the_ini_settings():
    assert OcrOptions.from_settings({}) == OcrOptions("chi_sim", 50, 0)
    assert OcrOptions.from_settings({"archive.ocr_lang": "chi_sim+eng", "archive.ocr_jobs": "1",
                                     "archive.ocr_max_pages": "5"}) == OcrOptions("chi_sim+eng", 5, 1)
    assert OcrOptions().workers >= 1 and OcrOptions(jobs=3).workers == 3


# -- failing -------------------------------------------------------------------------------------
def _assert_failed_untouched(root, revision, scan, reason):
    """Failed with ``reason``, and the revision otherwise as the text layer step left it."""
    assert (revision.text_status, revision.text_error) == ("ocr_failed", reason)
    assert (revision.text_source, revision.ocr_pages) == ("layer", None)
    assert revision.text == "\n\f".join([""] * revision.pages)  # the blank layer, no OCR text
    assert revision.read() == scan and len(root.ocr_queue) == 0 and revision.access_copy is None


def test_missing_tesseract_fails_with_a_reason(root, registry, scan, monkeypatch):
    """Even when its version was asked and remembered before it went (remember_tools)."""
    from archive.workers import ocr_warm
    ocr_warm._warm()
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert ocr.drain(root, OcrOptions()) == 1
    _assert_failed_untouched(root, revision, scan, "服务器未安装Tesseract文字识别程序")


def test_missing_language_data_is_named(root, registry, scan):
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    ocr.drain(root, OcrOptions(lang="xyz_none"))
    _assert_failed_untouched(root, revision, scan, "缺少Tesseract识别语言“xyz_none”")


def test_a_failure_part_way_stores_nothing(root, registry, monkeypatch):
    """OCRmyPDF failing after it wrote part of its output: neither text nor copy is kept."""
    scan = make_scanned_pdf(pages=2)

    def fails(src, out, **kw):
        with open(out, "wb") as fh:
            fh.write(b"%PDF-1.7 half")
        raise ocrmypdf.exceptions.SubprocessOutputError("tesseract died on page 2")
    monkeypatch.setattr(ocrmypdf, "ocr", fails)
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    ocr.drain(root, OcrOptions())
    _assert_failed_untouched(root, revision, scan, "OCRmyPDF识别出错（SubprocessOutputError）")


def test_two_queued_scans_are_read_side_by_side_in_one_round(root, registry, scan):
    """With two cores and two files waiting, each goes to its own process (one core each)
    and both are recorded before one commit: the round is the unit of work."""
    first = _file(root, registry, scan)[1]
    second = _file(root, registry, make_scanned_pdf(pages=2))[1]
    _read_layers(root)
    commits = []
    assert ocr.drain(root, OcrOptions(jobs=2), commit=lambda: commits.append(len(root.ocr_queue))) == 2
    assert commits == [0]
    assert (first.text_status, second.text_status) == ("ocr_done", "ocr_done")
    assert (first.ocr_pages, second.ocr_pages) == (1, 2)
    for revision in (first, second):
        assert "王秀英" in _plain(revision.text)
        assert PdfReader(io.BytesIO(revision.access_copy.read())).pages


def test_failures_come_back_from_the_processes_with_their_reason(root, registry, scan):
    """An OcrFailed raised in a worker process is recorded on its own file, the same as when
    the file is read in this process."""
    revisions = [_file(root, registry, scan)[1] for _ in range(2)]
    _read_layers(root)
    assert ocr.drain(root, OcrOptions(lang="xyz_none", jobs=2)) == 2
    for revision in revisions:
        _assert_failed_untouched(root, revision, scan, "缺少Tesseract识别语言“xyz_none”")


# -- scans filed before OCRmyPDF ---------------------------------------------------------------------
def test_the_evolve_step_queues_old_scans_for_their_access_copy(root, registry, scan):
    """Scans the hand-made OCR read (or failed to) have no access copy: the step finds and
    queues them, with progress, and leaves every other file alone."""
    _, old = _file(root, registry, scan)
    _, failed = _file(root, registry, scan)
    _, text = _file(root, registry, make_pdf("收入证明 张三"))
    _read_layers(root)
    for key, _, _ in root.ocr_queue.take(10):
        root.ocr_queue.done(key)
    old.text, old.text_source, old.text_status = "公共租赁住房申请表", "ocr", "ocr_done"
    failed.text_status, failed.text_error = "ocr_failed", "识别出错"
    seen = []
    evolve._access_copies(root, registry, progress=lambda n, total: seen.append((n, total)))
    assert [r for _, r, _ in root.ocr_queue.take(10)] == [old, failed]
    assert (old.text_status, failed.text_status, text.text_status) == ("ocr_pending", "ocr_pending", "done")
    assert old.text == "公共租赁住房申请表"     # searchable meanwhile
    assert seen[-1] == (3, 3)
    evolve._access_copies(root, registry)           # run again: nothing queued twice
    assert len(root.ocr_queue) == 2


# -- the command line -------------------------------------------------------------------------------
def test_cli_ocr_drains_the_queue(tmp_path, registry, scan, capsys):
    ini = tmp_path / "test.ini"
    ini.write_text("[app:main]\nuse = egg:archive\n"
                   "zodbconn.uri = file://%(here)s/Data.fs?blobstorage_dir=%(here)s/blobs\n",
                   encoding="utf-8")
    with _stored(tmp_path) as conn:
        root = bootstrap(conn.root(), registry)
        dossier, _ = _file(root, registry, scan)
        _file(root, registry, scan)
        textlayer.drain(root)
        number = dossier.archive_no
    assert cli.main(["-c", str(ini), "ocr"]) == 0
    out, err = capsys.readouterr()
    assert "识别了 2 份文件。" in out and "待识别的扫描件：2 份" in err and "2/2" in err
    with _stored(tmp_path) as conn:
        root = conn.root()[ROOT_KEY]
        revision = root.households[number].document("D0001").current_file
        assert revision.text_status == "ocr_done" and "王秀英" in _plain(revision.text)
        assert len(root.ocr_queue) == 0
    assert cli.main(["-c", str(ini), "ocr"]) == 0
    assert "识别了 0 份文件。" in capsys.readouterr().out


class _stored:
    """The test's FileStorage, committed on a clean exit."""

    def __init__(self, directory):
        factory, kw = zodburi.resolve_uri(f"file://{directory}/Data.fs?blobstorage_dir={directory}/blobs")
        self.db = ZODB.DB(factory(), **kw)

    def __enter__(self):
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        return self.conn

    def __exit__(self, exc_type, *rest):
        (self.tm.commit if exc_type is None else self.tm.abort)()
        self.conn.close()
        self.db.close()


def test_tesseract_is_asked_its_version_and_languages_once_not_per_file(monkeypatch):
    """OCRmyPDF asks for every file; the worker's processes inherit the first answers."""
    import subprocess
    from archive.workers import ocr_warm
    ocr_warm._warm()
    started, real = [], subprocess.Popen.__init__

    def spy(self, args, *a, **kw):
        started.append(list(args)[:2])
        return real(self, args, *a, **kw)
    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    done = ocr.recognise(make_scanned_pdf(), OcrOptions(jobs=1))
    assert done.read == 1 and [a[0] for a in started] == ["tesseract"]
    assert "--version" not in started[0] and "--list-langs" not in started[0]


def test_page_images_for_tesseract_are_saved_quickly_with_the_same_pixels(tmp_path):
    from PIL import Image
    from ocrmypdf.builtin_plugins import pypdfium
    from conftest import scan_images
    ocr_images.quick_page_images()
    image = scan_images()[0]
    image.info["dpi"] = (300, 300)
    pypdfium._save_image(image, tmp_path / "page.png", "PNG")
    saved = Image.open(tmp_path / "page.png")
    assert saved.tobytes() == image.tobytes() and round(saved.info["dpi"][0]) == 300
    assert pypdfium._save_image.quick


def test_a_page_only_tesseract_reads_is_an_uncompressed_tiff_of_the_same_pixels(tmp_path):
    """When OCRmyPDF keeps the page as it was, the rendering goes to Tesseract alone: written
    raw (no PNG to encode or decode), with every pixel and the resolution kept."""
    from PIL import Image
    from ocrmypdf import OcrOptions as Options
    source = tmp_path / "scan.pdf"
    source.write_bytes(make_scanned_pdf())
    options = Options(input_file=source, output_file=tmp_path / "out.pdf", rasterizer="pypdfium")
    assert options.lossless_reconstruction
    from ocrmypdf.builtin_plugins import pypdfium
    from ocrmypdf.helpers import Resolution
    args = dict(input_file=source, raster_device="pnggray", raster_dpi=Resolution(300, 300), pageno=1,
                page_dpi=Resolution(300, 300), rotation=0, filter_vector=False,
                stop_on_soft_error=True, options=options, use_cropbox=False)
    page, shown = tmp_path / "rasterize.png", tmp_path / "shown.png"
    assert ocr_images.rasterize_pdf_page(output_file=page, **args) == page
    assert pypdfium.rasterize_pdf_page(output_file=shown, **args) == shown    # OCRmyPDF's own
    saved, rendered = Image.open(page), Image.open(shown)
    assert saved.format == "TIFF" and saved.info.get("compression") == "raw" and rendered.format == "PNG"
    assert round(saved.info["dpi"][0]) == 300
    assert saved.size == rendered.size and saved.tobytes() == rendered.tobytes()


def test_a_page_that_becomes_the_copy_is_left_to_ocrmypdf(tmp_path):
    """Forced OCR puts the rendering into the access copy: OCRmyPDF's own PNG, not a raw TIFF."""
    from ocrmypdf import OcrOptions as Options
    options = Options(input_file=tmp_path / "in.pdf", output_file=tmp_path / "out.pdf", force_ocr=True)
    assert not options.lossless_reconstruction
    assert ocr_images.rasterize_pdf_page(
        input_file=tmp_path / "in.pdf", output_file=tmp_path / "p.png", raster_device="pnggray",
        raster_dpi=None, pageno=1, page_dpi=None, rotation=0, filter_vector=False,
        stop_on_soft_error=True, options=options, use_cropbox=False) is None


def test_grey_pages_are_rendered_into_a_grey_bitmap_with_pdfiums_own_grey_pixels():
    """A grey page is drawn straight into a grey bitmap, not under PDFium's grayscale flag
    (four times slower): every pixel the same, a scan's and coloured vector art's alike."""
    import io
    import pypdfium2 as pdfium
    from ocrmypdf.builtin_plugins import pypdfium
    from ocrmypdf.helpers import Resolution
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas
    ocr_images.quick_page_images()
    assert pypdfium._render_page_to_bitmap.__module__ == ocr_images.__name__
    buf = io.BytesIO()
    drawn = canvas.Canvas(buf, pagesize=(300, 300))
    drawn.setFillColor(Color(0.9, 0.1, 0.1))
    drawn.circle(150, 150, 60, fill=1)               # a red seal, as vectors
    drawn.setFillColor(Color(0.1, 0.5, 0.9))
    drawn.rect(20, 20, 100, 40, fill=1)
    drawn.save()
    for pdf in (make_scanned_pdf(), buf.getvalue()):
        page = pdfium.PdfDocument(pdf)[0]
        flagged = page.render(scale=200 / 72, grayscale=True, may_draw_forms=True, draw_annots=True)
        bitmap, _, _ = pypdfium._render_page_to_bitmap(page, "pnggray", Resolution(200, 200), 0, False)
        assert bitmap.mode == "L" and (bitmap.width, bitmap.height) == (flagged.width, flagged.height)
        assert bytes(bitmap.buffer) == bytes(flagged.buffer)
        colour, _, _ = pypdfium._render_page_to_bitmap(page, "png16m", Resolution(200, 200), 0, False)
        assert colour.mode == "BGR"                  # a colour page is drawn as before
