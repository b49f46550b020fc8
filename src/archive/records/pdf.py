"""Checking an uploaded PDF before it is filed (收集时的四性检测, in its first form).

Only content that opens, is not encrypted and has pages is accepted; the facts we keep
(size, SHA-256, page count, text layer) are read here, once, at filing.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import zlib
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.filters import WHITESPACES_AS_BYTES, ASCII85Decode, ASCIIHexDecode
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

log = logging.getLogger(__name__)
logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed uploads are refused, not logged twice

MAX_TEXT = 1_000_000  # characters of text layer kept per file; the rest is not searchable

# What a file may ask of the renderer (pdfium, for OCR) and of the text layer step, checked
# at filing so that nothing the archive accepts can take the server's memory or hours:
MAX_PAGES = 500                    # default of archive.max_pages: pages per file
MAX_IMAGE_PIXELS = 80_000_000      # one image: about A3 at 600 dpi, A1 at 300 dpi
MAX_STREAM_BYTES = 128 * 2**20     # one content stream, font or other non-image stream, inflated
MAX_INFLATED_BYTES = 2**30         # every stream of the file together, inflated
_CHUNK = 4 * 2**20                 # inflate this much at a time: memory stays bounded

BOMB = "PDF文件中含有解压后体积异常庞大的数据（疑似“压缩炸弹”），无法归档"


class InvalidDocument(ValueError):
    """Content that must not be filed; the message tells the clerk why, in Chinese."""


@dataclass(frozen=True)
class PdfFacts:
    """What the archive records about one file's content at filing.

    The text layer is not among them: reading it costs ten times more than everything
    else, so it is extracted after the commit (archive.workers.textlayer), off the clerk's path.
    """
    size: int
    sha256: str
    pages: int
    sm3: str = ""    # GB/T 32905 (国密 SM3), beside SHA-256: DA/T 97-2023 cites it for digests
    content_type: str = "application/pdf"   # as read from the bytes (archive.records.formats)


def digests(data: bytes) -> tuple[str, str]:
    """(SHA-256, SM3) of the same bytes: the two fixity values every stored file carries."""
    return hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()


def inspect(data: bytes, limit: int | None = None, max_pages: int | None = None,
            known: tuple[str, str] | None = None) -> PdfFacts:
    """Return the facts of a PDF or raise InvalidDocument; nothing is stored here.

    Besides opening, encryption and pages, the file's demands are bounded before it is
    accepted: at most ``max_pages`` pages (default MAX_PAGES), no image over
    MAX_IMAGE_PIXELS, no stream that inflates far beyond what it can hold (a
    decompression bomb); each is refused with its reason, reading at most a few MB at once.
    ``known``: the bytes' (SHA-256, SM3), when the caller has just computed them from the
    same read (an import checks every payload file against the bag's manifests first).
    """
    max_pages = MAX_PAGES if max_pages is None else max_pages
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
        _count_pages(reader, max_pages)
        _check_streams(data, reader)
        pages = len(reader.pages)
    except InvalidDocument:
        raise
    except LimitReachedError as exc:  # pypdf's own bound on one stream (75 MB inflated)
        log.info("refused PDF over a decoding limit: %s", exc)
        raise InvalidDocument(BOMB) from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError, OSError, AssertionError, zlib.error) as exc:
        log.info("refused malformed PDF: %s", exc)
        raise InvalidDocument("PDF文件已损坏，无法打开，请重新扫描或导出") from None
    if pages == 0:
        raise InvalidDocument("PDF文件没有页面")
    if pages > max_pages:
        raise InvalidDocument(_too_many_pages(max_pages))
    sha256, sm3 = known or digests(data)
    return PdfFacts(len(data), sha256, pages, sm3)


def _too_many_pages(max_pages):
    return f"PDF文件超过 {max_pages} 页的上限，请拆分为几个文件分别归档"


def _count_pages(reader, max_pages):
    """Walk the page tree without building it, refusing as soon as it holds more than
    ``max_pages`` pages (a /Count may lie; the kids are what a reader renders)."""
    root = reader.trailer["/Root"].get_object()
    stack, seen, pages, nodes = [root.get("/Pages")], set(), 0, 0
    while stack:
        ref = stack.pop()
        key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else None
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        node = ref.get_object() if ref is not None else None
        if not isinstance(node, DictionaryObject):
            continue
        nodes += 1
        if nodes > 4 * max_pages + 1000:
            raise InvalidDocument("PDF文件的页面结构异常（页面树过大），无法归档")
        kids = node.get("/Kids")
        kids = kids.get_object() if kids is not None else None
        if isinstance(kids, ArrayObject) and node.get("/Type") != "/Page":
            stack.extend(reversed(kids))
        else:
            pages += 1
            if pages > max_pages:
                raise InvalidDocument(_too_many_pages(max_pages))


# A stream's data begins after the keyword ``stream`` and its end of line; ``endstream``
# ends it. Every stream is an uncompressed object, so its dictionary is in the file's bytes.
# (The pattern starts with its literal, which re finds at C speed; ``endstream`` is told
# apart by the bytes before it: a look-behind first made re try every byte, 2 ms in 175 KB.)
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_INLINE_IMAGE = re.compile(rb"\bBI\s(.{0,1024}?)\sID\s", re.DOTALL)
class _A85:
    """pypdf's ASCII85Decode, group by group in one comprehension instead of base64's loop
    over every character (reportlab writes its images and fonts as ASCII85 around Flate,
    and decoding them was an eighth of an import's intake check). Anything but the plain
    form — a ``z`` inside a group, a short last group of one character, an overflow, a character
    outside the alphabet, a missing end marker — is left to pypdf, so the bytes are the same.
    ``z`` groups (JPEG's runs of zeros) are written out as ``!!!!!`` when they stand between
    groups, as they must."""

    _SPACE = WHITESPACES_AS_BYTES     # what pypdf strips and ignores, exactly
    _LETTERS = re.compile(rb"[^!-u]")
    _DIGITS = bytes(max(0, c - 33) for c in range(256))

    @classmethod
    def decode(cls, data):
        if isinstance(data, bytes):
            text = data.strip(cls._SPACE)
            if text.startswith(b"<~"):
                text = text[2:]
            if text.endswith(b"~>"):
                text = text[:-2].translate(None, cls._SPACE)
                if b"z" in text:
                    text = cls._zeros(text)
                tail = len(text or b"") % 5
                if text is not None and tail != 1 and not cls._LETTERS.search(text):
                    out = cls._groups(text, tail)
                    if out is not None:
                        return out
        return ASCII85Decode.decode(data)     # pypdf's own answer, or its own error

    @staticmethod
    def _zeros(text):
        """Each ``z`` (four zero bytes) written out as the group ``!!!!!``; None when one
        stands inside a group, which is an error pypdf reports."""
        pieces = text.split(b"z")
        if any(len(piece) % 5 for piece in pieces[:-1]):
            return None
        return b"!!!!!".join(pieces)

    _WEIGHTS = (52200625, 614125, 7225, 85, 1)

    @classmethod
    def _groups(cls, text, tail):
        """The groups' bytes, each group's five digits weighed at once (numpy: 0.3 ms for
        200 KB, where a comprehension over the groups took 5 ms); None on an overflow."""
        import numpy as np
        if tail:
            text += b"u" * (5 - tail)
        digits = np.frombuffer(text.translate(cls._DIGITS), dtype=np.uint8).reshape(-1, 5)
        words = digits.astype(np.uint64) @ np.array(cls._WEIGHTS, dtype=np.uint64)
        if words.size and int(words.max()) > 0xFFFFFFFF:
            return None                            # an overflow: pypdf says so
        out = words.astype(">u4").tobytes()
        return out[:len(out) - (5 - tail)] if tail else out


_TEXT = {b"ASCII85Decode": _A85, b"A85": _A85,
         b"ASCIIHexDecode": ASCIIHexDecode, b"AHx": ASCIIHexDecode}
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_COLOURS = ((b"/DeviceCMYK", 4), (b"/DeviceRGB", 3), (b"/CalRGB", 3), (b"/Lab", 3),
            (b"/DeviceGray", 1), (b"/CalGray", 1), (b"/Indexed", 1))


def _check_streams(data, reader):
    """Refuse image bombs (huge declared or JPEG dimensions, inline images too) and
    decompression bombs (a stream inflating beyond what it can hold), inflating each
    Flate stream a few MB at a time and keeping nothing."""
    total = 0
    for match in _STREAM.finditer(data):
        if data[max(0, match.start() - 3):match.start()] == b"end":
            continue
        start = match.end()
        head = data[max(0, start - 4096):match.start()]
        obj = None
        for obj in _OBJ.finditer(head):
            pass
        entries = head[obj.end():] if obj else head
        image = re.search(rb"/Subtype\s*/Image\b", entries) is not None
        cap = MAX_STREAM_BYTES
        if image:
            width = _number(entries, b"Width", reader)
            height = _number(entries, b"Height", reader)
            _check_pixels(width, height)
            if data[start:start + 2] == b"\xff\xd8":
                _check_pixels(*_jpeg_size(data, start))
            if width and height:
                cap = _image_bytes(entries, width, height, reader) * 2 + 2**20
        filters = re.findall(rb"/(FlateDecode|Fl|LZWDecode|LZW|RunLengthDecode|RL|"
                             rb"ASCIIHexDecode|AHx|ASCII85Decode|A85)\b", entries)
        if _is_zlib(data, start):
            total += _inflated_size(data, start, min(cap, MAX_INFLATED_BYTES - total),
                                    inline=not image)
        elif filters and obj is not None:
            stream = reader.get_object(IndirectObject(int(obj.group(1)), int(obj.group(2)), reader))
            if not hasattr(stream, "get_data"):
                continue
            if len(filters) == 2 and filters[1] in (b"FlateDecode", b"Fl") and filters[0] in _TEXT:
                # ASCII85 or hex around Flate (reportlab's images): the text decodes to less
                # than it is, then it inflates a few MB at a time like any other
                inner = _text_decoded(filters[0], stream)
                size = _inflated_size(inner, 0, min(cap, MAX_INFLATED_BYTES - total),
                                      inline=not image) if _is_zlib(inner, 0) else 0
            elif image and filters in ([b"ASCII85Decode"], [b"A85"]):
                # ASCII85 around an image codec pypdf passes through (reportlab's JPEGs): what
                # it decodes to is counted, not made, and a JPEG's own dimensions read from
                # its first bytes (decoding it all was half of an import's intake check)
                text = _a85_text(stream._data)
                _check_pixels(*_a85_jpeg_size(text))
                size = _a85_size(text)
                if size > cap:
                    raise InvalidDocument(BOMB)
            else:
                # ASCII85 or hex alone, or hex around an image codec; any other filter or
                # chain: pypdf decodes it within its own limits
                decoded = (_text_decoded(filters[0], stream) if len(filters) == 1 and filters[0] in _TEXT
                           else stream.get_data())
                if len(decoded) > cap:
                    raise InvalidDocument(BOMB)
                if not image:
                    _check_inline_images(decoded)
                size = len(decoded)
            total += size
        if total > MAX_INFLATED_BYTES:
            raise InvalidDocument(BOMB)


def _a85_text(data) -> bytes:
    """A stream's ASCII85 text without white space and its ``<~``, ``~>`` markers."""
    text = data.translate(None, _A85._SPACE) if isinstance(data, bytes) else b""
    if text.startswith(b"<~"):
        text = text[2:]
    return text[:-2] if text.endswith(b"~>") else text


def _a85_size(text) -> int:
    """How many bytes ASCII85 text decodes to, counted without decoding it: four for each
    ``z`` and each group of five, one less than its length for a short last group."""
    zeros = text.count(b"z")
    groups, tail = divmod(len(text) - zeros, 5)
    return 4 * (zeros + groups) + max(0, tail - 1)


def _a85_head(text, chars=65536) -> bytes:
    """The first bytes ASCII85 text decodes to (a JPEG's headers), b"" where its first
    ``chars`` are not plain groups."""
    head = _a85_plain(text, chars)
    return head and (_A85._groups(head, 0) or b"")


def _a85_plain(text, chars=65536) -> bytes:
    """The first ``chars`` of ASCII85 text as whole groups, ``z`` written out; b"" where
    they are not plain groups (a character outside the alphabet, a ``z`` inside a group).
    The alphabet is checked by deleting it (``translate``), five times faster than the
    regular expression over 64 KB."""
    head = text[:chars]
    if b"z" in head:
        head = _A85._zeros(head) or b""
    head = head[:len(head) - len(head) % 5]
    if not head or head.translate(None, _A85_ALPHABET):
        return b""
    return head


_A85_ALPHABET = bytes(range(ord("!"), ord("u") + 1))
_A85_MAX_GROUP = b"s8W-!"     # 2**32 - 1: a greater group overflows (``_A85._groups``: None)
_JPEG = b"\xff\xd8"


def _a85_jpeg_size(text, chars=65536, first=4095) -> tuple:
    """(width, height) of the JPEG ASCII85 text decodes to, from what its first ``chars``
    characters decode to — exactly ``_jpeg_size(_a85_head(text))`` for a JPEG, (None, None)
    for anything else (not a JPEG, or those characters not plain groups, or one overflowing).
    The first ``first`` characters are decoded first, as a frame header nearly always lies
    in a JPEG's first KB: decoding 64 KB to read it was a fifth of a scan's intake check.
    The whole head's groups are still checked (a bad one anywhere in it means no check, as
    before); the rest is decoded only when the header is not in the first part."""
    import numpy as np
    head = _a85_plain(text, chars)
    if not head or (np.frombuffer(head, dtype="S5") > np.bytes_(_A85_MAX_GROUP)).any():
        return None, None
    for cut in (first - first % 5, len(head)):
        data = _A85._groups(head[:cut], 0) or b""
        if data[:2] != _JPEG:
            return None, None
        size = _jpeg_size(data, 0)
        if size != (None, None) or cut >= len(head):
            return size
    return None, None


def _text_decoded(name, stream) -> bytes:
    """A stream's raw data through its text filter (ASCII85 or hex), as bytes."""
    decoded = _TEXT[name].decode(stream._data)
    return decoded.encode("latin-1") if isinstance(decoded, str) else decoded


def _number(entries, key, reader):
    """A positive integer entry of a dictionary's text, following an indirect reference."""
    match = re.search(rb"/" + key + rb"\s+(\d+)(\s+(\d+)\s+R\b)?", entries)
    if match is None:
        return None
    value = int(match.group(1)[:12])
    if match.group(2):
        try:
            value = reader.get_object(IndirectObject(value, int(match.group(3)[:6]), reader))
            value = int(value)
        except (PyPdfError, ValueError, TypeError, KeyError, AttributeError):
            return None
    return value if value > 0 else None


def _check_pixels(width, height):
    if width and height and width * height > MAX_IMAGE_PIXELS:
        raise InvalidDocument(
            f"PDF文件中的图像尺寸过大（{width}×{height} 像素，上限为 "
            f"{MAX_IMAGE_PIXELS // 1_000_000} 百万像素），请以 300 dpi 左右重新扫描或导出")


def _image_bytes(entries, width, height, reader):
    """What an image's samples fill when decoded: rows of components × bits, plus the
    predictor byte of each row."""
    bits = _number(entries, b"BitsPerComponent", reader) or 8
    colours = 1 if re.search(rb"/ImageMask\s+true", entries) else next(
        (n for name, n in _COLOURS if name in entries), 4)
    return ((width * colours * min(bits, 16) + 7) // 8 + 1) * height


def _jpeg_size(data, start):
    """(width, height) from a JPEG's frame header, which is what its decoder allocates."""
    i, end = start + 2, min(len(data), start + 2**20)
    while i + 9 <= end:
        if data[i] != 0xFF:
            return None, None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in _SOF:
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None, None


def _is_zlib(data, start):
    head = data[start:start + 2]
    return len(head) == 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0


def _inflated_size(data, start, cap, inline):
    """How many bytes the zlib stream at ``start`` inflates to; refused beyond ``cap``.
    A stream that is corrupt part-way counts what inflated before the damage."""
    inflater = zlib.decompressobj()
    size, pos, tail = 0, start, b""
    while pos < len(data) and not inflater.eof:
        pending = data[pos:pos + _CHUNK]
        pos += len(pending)
        while pending and not inflater.eof:
            try:
                out = inflater.decompress(pending, _CHUNK)
            except zlib.error:
                return size
            size += len(out)
            if size > cap:
                raise InvalidDocument(BOMB)
            if inline and out:
                _check_inline_images(tail + out)
                tail = out[-1100:]
            pending = inflater.unconsumed_tail
    return size


def _check_inline_images(content):
    """Inline images (BI … ID … EI) in a content stream, whose size the renderer allocates."""
    if b"BI" not in content:
        return
    for match in _INLINE_IMAGE.finditer(content):
        entries = match.group(1)
        width = re.search(rb"/W(?:idth)?\s+(\d+)", entries)
        height = re.search(rb"/H(?:eight)?\s+(\d+)", entries)
        if width and height:
            _check_pixels(int(width.group(1)[:12]), int(height.group(1)[:12]))


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


def report_pdf(story, title, author=None, pagesize=None) -> bytes:
    """A report the archive prints (audit, yearly statistics, hand-over lists, a volume's
    sheets): A4 unless told, 15 mm margins, and reportlab's invariant mode, so the same
    report gives the same bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=pagesize or A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm, title=title, author=author,
                      invariant=1).build(story)
    return out.getvalue()


def grid_table(data, widths):
    """A report's table: a grey grid, its first row shaded and repeated on every page."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table
