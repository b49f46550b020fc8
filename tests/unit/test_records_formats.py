"""The formats filing accepts: PDF, OFD (GB/T 33190) and scanners' images, told by their bytes,
each checked before anything is stored; a broken one refused with its reason."""
import io
import zipfile

import pytest
from pypdf import PdfReader

from archive.records import formats, intake, ofd
from archive.records.pdf import InvalidDocument
from conftest import make_ofd, make_pdf, make_scan_image


def _refusal(data, **kw):
    with pytest.raises(InvalidDocument) as exc:
        formats.inspect(data, **kw)
    return str(exc.value)


@pytest.mark.parametrize("fmt, kind, pages", [("JPEG", formats.JPEG, 1), ("PNG", formats.PNG, 1),
                                              ("TIFF", formats.TIFF, 3)])
def test_images_are_accepted_with_their_frames_as_pages(fmt, kind, pages):
    data = make_scan_image(fmt, pages=pages, dpi=100)
    facts = formats.inspect(data)
    assert (facts.content_type, facts.pages, facts.size) == (kind, pages, len(data))
    assert len(facts.sha256) == 64 and len(facts.sm3) == 64


def test_a_pdf_is_still_a_pdf():
    assert formats.inspect(make_pdf()).content_type == formats.PDF


def test_the_type_comes_from_the_bytes_not_the_name():
    assert formats.sniff(make_scan_image("PNG", dpi=72)) == formats.PNG
    assert "不是PDF" in _refusal("申请表.docx 的内容".encode("utf-8"))
    assert "不是PDF" in _refusal(b"PK\x03\x04" + b"\0" * 500)   # a zip, but no OFD


def test_a_broken_image_is_refused():
    data = make_scan_image("JPEG", dpi=72)
    assert _refusal(data[:len(data) // 2]) == formats.BROKEN_IMAGE
    assert _refusal(b"\x89PNG\r\n\x1a\n" + b"\0" * 200) == formats.BROKEN_IMAGE


def test_a_tiff_over_the_page_limit_is_refused():
    assert "页的上限" in _refusal(make_scan_image("TIFF", pages=3, dpi=50), max_pages=2)


def test_a_huge_image_is_refused_before_it_is_decoded():
    from PIL import Image
    out = io.BytesIO()
    Image.new("1", (20_000, 5_000)).save(out, "PNG")
    assert "图像尺寸过大" in _refusal(out.getvalue())


# -- OFD ---------------------------------------------------------------------------------------
def test_an_ofd_is_read_as_a_package():
    data = make_ofd(pages=(("公共租赁住房申请表", "申请人 王秀英"), ("家庭成员收入证明",)))
    facts = formats.inspect(data)
    assert (facts.content_type, facts.pages) == (formats.OFD, 2)
    package = ofd.read(data)
    assert package.text == "公共租赁住房申请表\n申请人 王秀英\n\f家庭成员收入证明"
    assert package.pages[0].texts[0] == ofd.Text(20.0, 35.0, 5.0, "公共租赁住房申请表")


def test_an_ofd_is_drawn_as_a_pdf_with_its_text():
    data = make_ofd(pages=(("公共租赁住房申请表",), ("家庭成员收入证明",)))
    reader = PdfReader(io.BytesIO(ofd.render(data)))
    assert len(reader.pages) == 2
    assert round(float(reader.pages[0].mediabox.width)) == 595   # A4, 210 mm
    assert "家庭成员收入证明" in reader.pages[1].extract_text()


@pytest.mark.parametrize("damage, words", [
    ({"drop": "Doc_0/Pages/Page_0/Content.xml"}, "第 1 页的页面文件"),
    ({"drop": "Doc_0/Document.xml"}, "缺少“Doc_0/Document.xml”"),
    ({"replace": {"OFD.xml": b"<ofd:OFD"}}, "不是完整的XML"),
    ({"replace": {"OFD.xml": b"<OFD><DocBody/></OFD>"}}, "DocRoot"),
    ({"replace": {"OFD.xml": b"<Other/>"}}, "根元素不是ofd:OFD"),
    ({"replace": {"Doc_0/Document.xml": b"<Document><Pages/></Document>"}}, "没有页面"),
    ({"replace": {"OFD.xml": b'<!DOCTYPE x [<!ENTITY a "b">]><OFD/>'}}, "XML声明"),
])
def test_a_broken_ofd_is_refused_with_its_reason(damage, words):
    message = _refusal(make_ofd(**damage))
    assert words in message and message.startswith("OFD文件")


def test_a_truncated_ofd_is_a_broken_one():
    data = make_ofd()
    assert _refusal(data[:len(data) // 2]) == ofd.BROKEN


def test_an_ofd_over_the_page_limit_is_refused():
    assert "页的上限" in _refusal(make_ofd(pages=(("一",), ("二",), ("三",))), max_pages=2)


def test_an_ofd_whose_parts_inflate_too_far_is_refused():
    data = make_ofd(replace={"Doc_0/Res/big.bin": b"\0" * (ofd.MAX_PART + 10)})
    assert formats.inspect(data).pages == 1          # a part no page names is never read
    bomb = make_ofd(replace={"Doc_0/Pages/Page_0/Content.xml": b" " * (ofd.MAX_PART + 10)})
    assert "压缩炸弹" in _refusal(bomb)


def test_an_encrypted_ofd_is_refused():
    data = make_ofd(replace={"Doc_0/Encryptions.xml": b"<Encryptions/>"})
    assert "加密" in _refusal(data)


def test_intake_records_which_check_an_ofd_or_image_failed():
    for data, failed in ((make_ofd(drop="Doc_0/Document.xml"), "opens"),
                         (make_ofd(replace={"Doc_0/Document.xml": b"<Document><Pages/></Document>"}), "pages"),
                         (make_scan_image("PNG", dpi=50)[:100], "opens"),
                         (b"GIF89a" + b"\0" * 100, "format")):
        facts, checks = intake.check_file(data)
        assert facts is None and [c.id for c in checks if not c.passed][0] == failed
    facts, checks = intake.check_file(make_ofd())
    assert facts.content_type == formats.OFD and intake.passed(checks)


def test_images_become_a_pdf_page_per_frame():
    pdf = formats.pdf_of(make_scan_image("TIFF", pages=2, dpi=60), formats.TIFF)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGBA", (200, 100), (255, 255, 255, 0)).save(out, "PNG")   # img2pdf refuses alpha
    assert len(PdfReader(io.BytesIO(formats.pdf_of(out.getvalue(), formats.PNG))).pages) == 1


def test_stored_files_are_opened_by_their_format_for_the_audit():
    from archive.audit.files import open_file_facts
    assert open_file_facts(make_ofd()) == (1, "")
    assert open_file_facts(make_scan_image("TIFF", pages=2, dpi=50)) == (2, "")
    assert open_file_facts(make_pdf(pages=2)) == (2, "")
    pages, problem = open_file_facts(make_ofd()[:200])
    assert pages is None and problem == ofd.BROKEN


def test_the_ofd_zip_is_never_written_to():
    data = make_ofd()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist()[0] == "OFD.xml"
    formats.inspect(data)
    ofd.render(data)
    assert formats.inspect(data).sha256 == formats.inspect(bytes(data)).sha256
