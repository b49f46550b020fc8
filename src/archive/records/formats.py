"""The formats the archive accepts at filing (DA/T 70-2018's 格式检测), told by their bytes.

PDF is what the offices make and what the archive keeps best. Scans and photos come as
JPEG, PNG or TIFF (a copier's multi-page TIFF too), and government documents as OFD
(GB/T 33190); each is kept as filed, untouched, and gains an access copy (利用副本) in PDF
after the commit (archive.workers.ocr). A file's type is read from its first bytes, never
from its name or the browser's word: a JPEG named .pdf is a JPEG.
"""
from __future__ import annotations

import io
import zipfile

from . import ofd
from .pdf import MAX_IMAGE_PIXELS, MAX_PAGES, InvalidDocument, PdfFacts, digests, inspect as inspect_pdf

PDF, OFD = "application/pdf", "application/ofd"
JPEG, PNG, TIFF = "image/jpeg", "image/png", "image/tiff"
IMAGES = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF"}   # content type: Pillow's format name
ACCEPTED = (PDF, OFD, JPEG, PNG, TIFF)              # the order the API describes them in
EXTENSIONS = {PDF: ".pdf", OFD: ".ofd", JPEG: ".jpg", PNG: ".png", TIFF: ".tif"}
UNKNOWN = "文件不是PDF、OFD或JPEG、PNG、TIFF图像格式，目前只接收这几种格式的文件"
BROKEN_IMAGE = "图像文件已损坏，无法打开，请重新扫描或拍摄"


def sniff(data: bytes) -> str | None:
    """The content type the bytes begin as (None: none the archive accepts)."""
    if b"%PDF-" in data[:1024]:
        return PDF
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if data[:4] == b"PK\x03\x04" and (b"OFD.xml" in data[:4096] or ofd.is_package(data)):
        return OFD   # a zip whose first entries name OFD.xml: an OFD, perhaps a broken one
    return None


def inspect(data: bytes, limit: int | None = None, max_pages: int | None = None,
            known: tuple[str, str] | None = None) -> PdfFacts:
    """The facts of a file of any accepted format, or InvalidDocument saying why not;
    ``known``: its (SHA-256, SM3) from the caller's read of the same bytes."""
    max_pages = MAX_PAGES if max_pages is None else max_pages
    if not data:
        raise InvalidDocument("文件为空，请重新选择文件")
    if limit is not None and len(data) > limit:
        raise InvalidDocument(f"文件大小超过上限（{limit / (1024 * 1024):g} MB）")
    kind = sniff(data)
    if kind is None:
        raise InvalidDocument(UNKNOWN)
    if kind == PDF:
        return inspect_pdf(data, limit, max_pages, known)
    pages = ofd.read(data, max_pages).page_count if kind == OFD else image_pages(data, kind, max_pages)
    sha256, sm3 = known or digests(data)
    return PdfFacts(len(data), sha256, pages, sm3, kind)


def image_pages(data: bytes, kind: str, max_pages: int = MAX_PAGES) -> int:
    """Frames of an image, each decoded once (a truncated or corrupt one is refused) and
    bounded like a PDF's images: no frame over MAX_IMAGE_PIXELS, at most ``max_pages``."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data), formats=[IMAGES[kind]]) as image:
            frames = getattr(image, "n_frames", 1)
            if frames > max_pages:
                raise InvalidDocument(f"图像文件超过 {max_pages} 页的上限，请拆分为几个文件分别归档")
            for n in range(frames):
                image.seek(n)
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise InvalidDocument(
                        f"图像尺寸过大（{width}×{height} 像素，上限为 {MAX_IMAGE_PIXELS // 1_000_000} "
                        "百万像素），请以 300 dpi 左右重新扫描")
                image.load()
    except InvalidDocument:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
            Image.DecompressionBombError, zipfile.BadZipFile, KeyError, IndexError):
        raise InvalidDocument(BROKEN_IMAGE) from None
    return frames


def page_facts(data: bytes) -> tuple[int | None, str]:
    """(pages, problem) of a stored file of any accepted format, as the usability audit
    opens it: a PDF by PDFium (archive.audit.files), the others as filing read them."""
    kind = sniff(data)
    if kind in (PDF, None):
        return None, ""          # the caller opens it as a PDF
    try:
        return (ofd.read(data).page_count if kind == OFD else image_pages(data, kind)), ""
    except InvalidDocument as exc:
        return None, str(exc)


def pdf_of(data: bytes, content_type: str) -> bytes:
    """A file as a PDF: a PDF itself, an image wrapped by img2pdf (each frame of a TIFF a
    page; JPEG and PNG data taken as they are, not re-encoded), an OFD's pages drawn by
    records.ofd. What OCR starts from, and what a bound volume or a loan shows of a file
    whose access copy is not made yet."""
    if content_type == OFD:
        return ofd.render(data)
    if content_type not in IMAGES:
        return data
    import img2pdf
    try:
        return img2pdf.convert(data, rotation=img2pdf.Rotation.ifvalid)
    except (img2pdf.AlphaChannelError, img2pdf.ImageOpenError, ValueError, OSError):
        return _flattened(data)


def _flattened(data):
    """An image img2pdf will not wrap as it is (transparency, 16-bit, odd modes): each frame
    converted to 8-bit RGB or grey, then wrapped."""
    import img2pdf
    from PIL import Image, ImageSequence
    pages = []
    with Image.open(io.BytesIO(data)) as image:
        for frame in ImageSequence.Iterator(image):
            grey = frame.mode in ("1", "L", "LA", "I;16", "I")
            out = io.BytesIO()
            frame.convert("L" if grey else "RGB").save(out, "PNG", dpi=frame.info.get("dpi", (300, 300)))
            pages.append(out.getvalue())
    return img2pdf.convert(pages)


def readable_pdf(revision) -> bytes:
    """What a reader is shown of a file revision as a PDF: the PDF itself, else its access
    copy (利用副本), else one made now from the original."""
    kind = getattr(revision, "content_type", PDF)
    if kind == PDF:
        return revision.read()
    copy = getattr(revision, "access_copy", None)
    return copy.read() if copy is not None else pdf_of(revision.read(), kind)
