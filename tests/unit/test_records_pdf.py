"""Checking an upload before filing: real PDFs pass with their facts, the rest is refused in Chinese."""
import hashlib
import io
import re

import pytest
from pypdf import PdfReader, PdfWriter

from archive.records.pdf import InvalidDocument, inspect, text_of
from conftest import make_pdf

CHINESE = re.compile(r"[\u4e00-\u9fff]")
PDF = make_pdf("公共租赁住房申请表 张三", pages=2)


def _rewritten(data, encrypt=None):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    if encrypt:
        writer.encrypt(**encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _refusal(data, **kw):
    with pytest.raises(InvalidDocument) as info:
        inspect(data, **kw)
    return str(info.value)


def test_real_pdf_reports_its_page_count():
    assert inspect(PDF).pages == 2


def test_real_pdf_text_layer_keeps_the_chinese_of_every_page():
    text = text_of(PDF)
    assert "公共租赁住房申请表 张三 第1页" in text and "第2页" in text


def test_real_pdf_reports_size_and_sha256():
    facts = inspect(PDF)
    assert (facts.size, facts.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())


def test_pdf_within_the_limit_is_accepted():
    assert inspect(PDF, limit=len(PDF)).pages == 2


def test_empty_file_is_refused():
    assert "文件为空" in _refusal(b"")


def test_non_pdf_is_refused():
    assert "不是PDF格式" in _refusal("申请表.docx 的内容".encode("utf-8"))


def test_image_renamed_to_pdf_is_refused():
    assert "不是PDF格式" in _refusal(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_pdf_is_refused(cut):
    assert "已损坏" in _refusal(PDF[: int(len(PDF) * cut)])


def test_malformed_pdf_is_refused():
    assert "已损坏" in _refusal(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage")


def test_password_protected_pdf_is_refused():
    assert "加密" in _refusal(_rewritten(PDF, {"user_password": "123456"}))


def test_pdf_encrypted_with_only_an_owner_password_is_refused():
    """No private encryption may stand in the way of later use (四性检测: 可用性)."""
    assert "加密" in _refusal(_rewritten(PDF, {"user_password": "", "owner_password": "owner"}))


def test_pdf_without_pages_is_refused():
    writer, out = PdfWriter(), io.BytesIO()
    writer.write(out)
    assert "没有页面" in _refusal(out.getvalue())


def test_file_over_the_limit_is_refused():
    assert "超过上限" in _refusal(PDF, limit=len(PDF) - 1)


@pytest.mark.parametrize("data, kw", [
    (b"", {}), (b"plain text", {}), (PDF[:500], {}), (PDF, {"limit": 10}),
])
def test_every_refusal_speaks_chinese(data, kw):
    assert CHINESE.search(_refusal(data, **kw))
