"""Hostile files and names, refused at filing (archive.pdf.inspect) before anything is stored,
queued for the text layer or rendered for OCR: decompression bombs, image bombs, page counts
over the limit; and stored filenames that are always safe (archive.views.base.safe_filename)."""
from __future__ import annotations

import base64
import functools
import io
import re
import resource
import zlib

import pytest

from archive.records import pdf
from archive.records.pdf import InvalidDocument, inspect
from archive.views.base import safe_filename
from archive.views.input import shown, text_problem, text_problems
from conftest import encrypted_pdf, make_pdf, make_scanned_pdf, raw_pdf

CJK = re.compile(r"[\u4e00-\u9fff]")


# -- building hostile PDFs by hand -----------------------------------------------------------


def stream(entries: bytes, data: bytes) -> bytes:
    return b"<< " + entries + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def pages_pdf(content: bytes, pages=1, resources=b"<< >>", extra=()) -> bytes:
    """``pages`` pages sharing one content stream (object pages + 3), then ``extra`` objects."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources " + resources
                + b" /Contents %d 0 R >>" % (3 + pages)] * pages
    return raw_pdf(objects + [content, *extra])


@functools.lru_cache(maxsize=None)
def zeros_deflated(size: int) -> bytes:
    """``size`` bytes of spaces, deflated (about 1,000 : 1), made a MB at a time."""
    packer, block, parts = zlib.compressobj(9), b" " * 2**20, []
    for _ in range(size // 2**20):
        parts.append(packer.compress(block))
    return b"".join(parts) + packer.flush()


def image_pdf(entries: bytes, data: bytes) -> bytes:
    image = stream(b"/Type /XObject /Subtype /Image " + entries, data)
    return pages_pdf(stream(b"", b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
                     resources=b"<< /XObject << /Im1 5 0 R >> >>", extra=[image])


def jpeg_header(width, height) -> bytes:
    """The start of a baseline JPEG declaring ``width`` × ``height`` (what libjpeg allocates)."""
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
            + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01" + b"\0" * 64 + b"\xff\xd9")


def refusal(data, **kw) -> str:
    with pytest.raises(InvalidDocument) as info:
        inspect(data, **kw)
    message = str(info.value)
    assert CJK.search(message), message
    return message


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- decompression bombs --------------------------------------------------------------------
BOMBS = {
    # half a GB of content stream in a 500 kB file
    "content stream, 512 MB": lambda: pages_pdf(stream(b"/Filter /FlateDecode", zeros_deflated(2**29))),
    # just over the limit for one stream
    "content stream, 200 MB": lambda: pages_pdf(
        stream(b"/Filter /FlateDecode", zeros_deflated(pdf.MAX_STREAM_BYTES + 2**20))),
    # a chain pypdf and pdfium both follow
    "ASCII85 around Flate": lambda: pages_pdf(stream(
        b"/Filter [/ASCII85Decode /FlateDecode]",
        base64.a85encode(zeros_deflated(pdf.MAX_STREAM_BYTES + 2**20), adobe=True))),
    "hex around Flate": lambda: pages_pdf(stream(
        b"/Filter [/AHx /Fl]", zeros_deflated(pdf.MAX_STREAM_BYTES + 2**20).hex().encode() + b">")),
    # a small image whose data inflates to 300 MB
    "image data beyond its size": lambda: image_pdf(
        b"/Width 100 /Height 100 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
        zeros_deflated(300 * 2**20)),
    # a font program (pdfium inflates it to draw the text)
    "font file": lambda: pages_pdf(stream(b"", b"BT ET"), extra=[
        stream(b"/Length1 10 /Filter /FlateDecode", zeros_deflated(pdf.MAX_STREAM_BYTES + 2**20))]),
    # many streams each under the limit, together far over it
    "many streams": lambda: pages_pdf(stream(b"", b"BT ET"), extra=[
        stream(b"/Filter /FlateDecode", zeros_deflated(pdf.MAX_STREAM_BYTES - 2**20))] * 10),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_decompression_bomb_is_refused_quickly_in_bounded_memory(name):
    data = BOMBS[name]()
    assert len(data) < 3 * 2**20
    before = peak_rss_mb()
    assert "压缩炸弹" in refusal(data)
    assert peak_rss_mb() - before < 200, "inflating must not keep what it inflates"


# -- image bombs -----------------------------------------------------------------------------
def test_image_with_huge_declared_dimensions_is_refused():
    data = image_pdf(b"/Width 100000 /Height 100000 /ColorSpace /DeviceGray /BitsPerComponent 8"
                     b" /Filter /FlateDecode", zlib.compress(b"\0" * 1000))
    assert "100000×100000" in refusal(data)


def test_image_dimensions_given_by_reference_are_followed():
    image = stream(b"/Type /XObject /Subtype /Image /Width 6 0 R /Height 6 0 R /ColorSpace"
                   b" /DeviceGray /BitsPerComponent 8", b"\0" * 100)
    data = pages_pdf(stream(b"", b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
                     resources=b"<< /XObject << /Im1 5 0 R >> >>", extra=[image, b"50000"])
    assert "50000×50000" in refusal(data)


def test_jpeg_whose_own_header_is_huge_is_refused_whatever_the_dictionary_says():
    data = image_pdf(b"/Width 100 /Height 100 /ColorSpace /DeviceRGB /BitsPerComponent 8"
                     b" /Filter /DCTDecode", jpeg_header(60000, 60000))
    assert "60000×60000" in refusal(data)


def test_inline_image_with_huge_dimensions_is_refused():
    content = zlib.compress(b"q BI /W 90000 /H 90000 /CS /G /BPC 8 ID \0\0\0 EI Q")
    assert "90000×90000" in refusal(pages_pdf(stream(b"/Filter /FlateDecode", content)))


def test_large_but_real_scans_are_accepted():
    """A 600 dpi A4 colour page and a blank 600 dpi A3 grey page (Flate, as reportlab and
    many scanners write them) are within the limits."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    for mode, size in (("RGB", (4960, 7016)), ("L", (7016, 9921))):
        image = Image.new(mode, size, "white" if mode == "RGB" else 255)
        out = io.BytesIO()
        page = canvas.Canvas(out)
        page.drawImage(ImageReader(image), 0, 0, 595, 842)
        page.showPage()
        page.save()
        assert inspect(out.getvalue()).pages == 1
    assert inspect(make_scanned_pdf(pages=2)).pages == 2


# -- page counts -----------------------------------------------------------------------------
def test_pages_beyond_the_default_limit_are_refused_before_the_tree_is_built():
    data = pages_pdf(stream(b"", b"BT ET"), pages=pdf.MAX_PAGES + 1)
    assert f"{pdf.MAX_PAGES} 页" in refusal(data)
    assert inspect(pages_pdf(stream(b"", b"BT ET"), pages=pdf.MAX_PAGES)).pages == pdf.MAX_PAGES


def test_page_limit_is_the_callers():
    three = make_pdf(pages=3)
    assert "2 页" in refusal(three, max_pages=2)
    assert inspect(three, max_pages=3).pages == 3


def test_a_page_count_that_lies_does_not_help():
    """/Count says 1; the kids hold 600 pages: the kids are what a renderer reads."""
    data = pages_pdf(stream(b"", b"BT ET"), pages=600).replace(b"/Count 600", b"/Count 1")
    assert "页的上限" in refusal(data, max_pages=500)


def test_a_page_tree_that_loops_is_refused_not_walked_forever():
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    try:
        inspect(raw_pdf(objects))   # returns: a walk that loops never would
    except InvalidDocument as exc:
        assert CJK.search(str(exc))


def test_a_huge_empty_page_tree_is_refused():
    """A million intermediate nodes with no page: bounded by the page limit, not walked."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + b"3 0 R " * 1 + b"] /Count 0 >>"]
    kids = b" ".join(b"%d 0 R" % n for n in range(4, 4 + 5000))
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count 0 >>")
    objects += [b"<< /Type /Pages /Kids [] /Count 0 >>"] * 5000
    assert "页面" in refusal(raw_pdf(objects), max_pages=500)


# -- broken, truncated, encrypted, mislabelled --------------------------------------------
@pytest.mark.parametrize("name,data,words", [
    ("empty", b"", "文件为空"),
    ("truncated", make_pdf()[:300], "损坏"),
    ("only the header", b"%PDF-1.7\n", "损坏"),
    ("garbage after header", b"%PDF-1.4\n" + bytes(range(256)) * 400, "损坏"),
    ("zip named .pdf", b"PK\x03\x04" + b"\0" * 500, "不是PDF"),
    ("JPEG named .pdf", jpeg_header(100, 100), "不是PDF"),
    ("HTML with a PDF header", b"<html>%PDF-1.4 <script>alert(1)</script></html>", "损坏"),
    ("xref pointing nowhere", make_pdf().replace(b"startxref", b"startxref\n999999999 %"), None),
    ("deflate that is not", pages_pdf(stream(b"/Filter /FlateDecode", b"x\x9c" + b"\xff" * 5000)), None),
])
def test_broken_and_mislabelled_files_are_refused_or_read_never_crash(name, data, words):
    try:
        facts = inspect(data)
    except InvalidDocument as exc:
        assert CJK.search(str(exc))
        if words:
            assert words in str(exc), str(exc)
    else:
        assert words is None, f"{name} accepted"
        assert facts.pages >= 1


def test_encrypted_file_is_refused():
    assert "加密" in refusal(encrypted_pdf())


def test_over_the_size_limit_is_refused():
    data = make_pdf()
    assert "上限" in refusal(data, limit=len(data) - 1)


# -- filenames -------------------------------------------------------------------------------
@pytest.mark.parametrize("given,stored", [
    (".", "document.pdf"), ("..", "document.pdf"), ("...", "document.pdf"),
    (" .. ", "document.pdf"), ("../", "document.pdf"), ("a/..", "document.pdf"),
    ("../../../etc/passwd.pdf", "passwd.pdf"), ("..\\..\\windows\\win.ini", "win.ini"),
    ("C:\\fakepath\\申请表.pdf", "申请表.pdf"), (".bashrc", "bashrc"),
    ("\x00", "document.pdf"), ("a\x01b\x7f.pdf", "ab.pdf"), ("a\r\nX-Injected: 1.pdf", "aX-Injected_ 1.pdf"),
    ("申请\u202efdp.exe", "申请fdp.exe"), ("\u200b\u200b", "document.pdf"), ("x\ud800.pdf", "x.pdf"),
    ("con.pdf", "_con.pdf"), ("NUL", "_NUL"), ("lpt1.txt", "_lpt1.txt"),
    ('a<b>c:d"e|f?g*.pdf', "a_b_c_d_e_f_g_.pdf"), ("申请表.pdf. . ", "申请表.pdf"),
    ("", "document.pdf"), (None, "document.pdf"), ("普通 文件名（一）.pdf", "普通 文件名（一）.pdf"),
])
def test_stored_filenames_are_safe(given, stored):
    assert safe_filename(given) == stored


def test_long_filename_keeps_its_extension():
    name = safe_filename("长" * 500 + ".pdf")
    assert len(name) == 200 and name.endswith(".pdf")


def test_filenames_never_carry_what_a_disk_or_a_header_refuses():
    import random
    rng = random.Random(15)
    alphabet = "./\\:\x00\x01\r\n\t \u202e\u200b\ud800张a."
    for _ in range(2000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        safe = safe_filename(name)
        assert safe and safe not in (".", "..") and not safe.startswith((".", " "))
        assert not re.search(r"[\x00-\x1f\x7f/\\\u202e\u200b\ud800-\udfff]", safe), repr(safe)
        safe.encode("utf-8")


# -- text that cannot be stored ---------------------------------------------------------------
@pytest.mark.parametrize("text,why", [
    ("\ud800", "代理"), ("a\udfffb", "代理"), ("a\x00b", "控制字符"), ("\x1b[31m", "控制字符"),
    ("\x7f", "控制字符"), ("多行\n文本\t可以\r\n", None), ("张三", None), ("", None),
])
def test_text_problem(text, why):
    found = text_problem(text)
    assert (found is None) if why is None else (why in found)


def test_text_problems_names_every_path_and_escapes_what_it_echoes():
    body = {"applicant": {"name": "\ud800"}, "members": [{"name": "ok"}, {"name": "a\x00"}],
            "notes": "fine", "\udc00key": 1}
    problems = text_problems(body)
    assert set(problems) == {"applicant.name", "members.1.name", "\\udc00key"}
    for message in problems.values():
        message.encode("utf-8")  # what is echoed can be written out
    deep = current = {}
    for _ in range(5000):  # deeper than Python's recursion limit: walked without recursion
        current["a"] = {}
        current = current["a"]
    current["a"] = "\x00"
    assert len(text_problems(deep)) == 1


def test_shown_escapes_controls_and_surrogates():
    assert shown("a\x00b\ud800") == "a\\u0000b\\ud800"
    assert len(shown("x" * 1000)) == 60
