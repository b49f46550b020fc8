"""Checking an uploaded PDF before it is filed (收集时的四性检测, in its first form).

Only content that opens, is not encrypted and has pages is accepted; the facts we keep
(size, SHA-256, page count, text layer) are read here, once, at filing.
"""
from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PyPdfError

log = logging.getLogger(__name__)
logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed uploads are refused, not logged twice

MAX_TEXT = 1_000_000  # characters of text layer kept per file; the rest is not searchable


class InvalidDocument(ValueError):
    """Content that must not be filed; the message tells the clerk why, in Chinese."""


@dataclass(frozen=True)
class PdfFacts:
    """What the archive records about one file's content at filing.

    The text layer is not among them: reading it costs ten times more than everything
    else, so it is extracted after the commit (archive.textlayer), off the clerk's path.
    """
    size: int
    sha256: str
    pages: int


def inspect(data: bytes, limit: int | None = None) -> PdfFacts:
    """Return the facts of a PDF or raise InvalidDocument; nothing is stored here."""
    if not data:
        raise InvalidDocument("文件为空，请重新选择文件")
    if limit is not None and len(data) > limit:
        raise InvalidDocument(f"文件大小超过上限（{limit / (1024 * 1024):g} MB）")
    if b"%PDF-" not in data[:1024]:
        raise InvalidDocument("文件不是PDF格式，目前只接收PDF文件")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InvalidDocument("PDF文件已加密或设有密码，请提供未加密的文件")
        pages = len(reader.pages)
    except InvalidDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError, OSError, AssertionError) as exc:
        log.info("refused malformed PDF: %s", exc)
        raise InvalidDocument("PDF文件已损坏，无法打开，请重新扫描或导出") from None
    if pages == 0:
        raise InvalidDocument("PDF文件没有页面")
    return PdfFacts(len(data), hashlib.sha256(data).hexdigest(), pages)


def text_of(data: bytes) -> str:
    """The text layer, page by page; a page whose text cannot be read counts as empty."""
    reader = PdfReader(io.BytesIO(data), strict=False)
    parts, total = [], 0
    for page in reader.pages:
        try:
            chunk = page.extract_text() or ""
        except Exception:  # pypdf raises many kinds on odd fonts; the file itself still opens
            chunk = ""
        parts.append(chunk)
        total += len(chunk)
        if total > MAX_TEXT:
            break
    return "\n\f".join(parts)[:MAX_TEXT]


CHINESE_FONT = "STSong-Light"


def chinese_font() -> str:
    """reportlab's built-in CID font for Chinese, registered once: the PDFs the archive
    makes (lottery results, audit reports, the demo's records) are read back by pypdf for
    full-text search and 四性检测, and this font's text extracts correctly."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    if CHINESE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))
    return CHINESE_FONT
