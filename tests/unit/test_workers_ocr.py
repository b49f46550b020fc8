"""OCR of scanned PDFs: from a blank text layer to recognised, indexed text, the file untouched."""
import datetime as dt
import hashlib
import re

import pytest
import pytesseract
import transaction
import ZODB
import zodburi

from archive import cli
from archive.records import filing
from archive.workers import ocr
from archive.workers import textlayer
from archive.workers.ocr import OcrOptions
from archive.root import ROOT_KEY, ArchiveRoot, bootstrap
from archive.schema.registry import SchemaRegistry, default_directory
from archive.search.fields import dossier_key
from conftest import doc_fields, household_input, make_pdf, make_scanned_pdf

WHEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
# What Tesseract 5 (chi_sim) reads on every run from conftest.SCAN; it reads 家庭 as 家帮.
READ_RELIABLY = ("公共租赁住房申请表", "申请人", "王秀英", "人均月收入", "1200")


@pytest.fixture(scope="module")
def registry():
    return SchemaRegistry(default_directory())


@pytest.fixture(scope="module")
def scan():
    return make_scanned_pdf()


@pytest.fixture
def root(registry):
    return ArchiveRoot(registry)


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


def test_ocr_never_alters_the_filed_file(root, registry, scan):
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    ocr.drain(root, OcrOptions())
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
    assert OcrOptions.from_settings({}) == OcrOptions("chi_sim", 50)
    assert OcrOptions.from_settings({"archive.ocr_lang": "chi_sim+eng",
                                     "archive.ocr_max_pages": "5"}) == OcrOptions("chi_sim+eng", 5)


# -- failing -------------------------------------------------------------------------------------
def _assert_failed_untouched(root, revision, scan, reason):
    """Failed with ``reason``, and the revision otherwise as the text layer step left it."""
    assert (revision.text_status, revision.text_error) == ("ocr_failed", reason)
    assert (revision.text_source, revision.ocr_pages) == ("layer", None)
    assert revision.text == "\n\f".join([""] * revision.pages)  # the blank layer, no OCR text
    assert revision.read() == scan and len(root.ocr_queue) == 0


def test_missing_tesseract_fails_with_a_reason(root, registry, scan, monkeypatch):
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    assert ocr.drain(root, OcrOptions()) == 1
    _assert_failed_untouched(root, revision, scan, "服务器未安装Tesseract文字识别程序")


def test_missing_language_data_is_named(root, registry, scan):
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    ocr.drain(root, OcrOptions(lang="xyz_none"))
    _assert_failed_untouched(root, revision, scan, "缺少Tesseract识别语言“xyz_none”")


def test_a_failure_on_a_later_page_stores_none_of_the_earlier_ones(root, registry, monkeypatch):
    scan = make_scanned_pdf(pages=2)
    real, calls = pytesseract.image_to_string, []

    def second_page_fails(image, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise pytesseract.TesseractError(1, "Error in pixReadStream")
        return real(image, **kw)
    monkeypatch.setattr(pytesseract, "image_to_string", second_page_fails)
    _, revision = _file(root, registry, scan)
    _read_layers(root)
    ocr.drain(root, OcrOptions())
    assert len(calls) == 2
    _assert_failed_untouched(root, revision, scan, "Tesseract识别出错")


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
