"""OFD (GB/T 33190-2016, 版式文档), the format of Chinese government electronic documents:
checked as a package at filing, its page count and text read, and its pages drawn as a PDF
for the access copy (利用副本).

An OFD is a zip: ``OFD.xml`` names each document's root (``DocBody/DocRoot``), whose
``Document.xml`` lists the pages (``Pages/Page/@BaseLoc``), each a ``Content.xml`` of layers
of text, image and path objects placed in millimetres from the top left. The archive reads
what it needs itself, with the standard library: the OFD libraries on PyPI (easyofd) draw
through PyMuPDF, an AGPL dependency the archive would not otherwise carry, and an
access copy needs the text where it stands and the scanned images, not the full
graphics model. Paths (vector drawings), seals' signatures and annotations are not drawn;
the original OFD, kept untouched, is the record.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .pdf import MAX_PAGES, InvalidDocument

MAX_ENTRIES = 20_000            # files in one package
MAX_PART = 32 * 2**20           # one XML part or image, inflated
MAX_INFLATED = 2**30            # the whole package, inflated (a zip bomb declares more)
A4 = (210.0, 297.0)             # mm: the page size when neither page nor document gives one
BROKEN = "OFD文件已损坏，无法打开，请重新导出"


@dataclass(frozen=True)
class Text:
    """One run of text: its baseline's start in mm from the page's top left, its size in mm."""
    x: float
    y: float
    size: float
    text: str


@dataclass(frozen=True)
class Picture:
    """One image: its box in mm from the page's top left and its file in the package."""
    x: float
    y: float
    width: float
    height: float
    path: str


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    texts: tuple
    pictures: tuple

    @property
    def text(self) -> str:
        return "\n".join(t.text for t in self.texts)


@dataclass(frozen=True)
class Package:
    """What the archive reads of an OFD: its pages in order."""
    pages: tuple

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def text(self) -> str:
        """Page by page, separated as archive.records.pdf.text_of separates a PDF's."""
        return "\n\f".join(p.text for p in self.pages)


def is_package(data: bytes) -> bool:
    """A zip holding ``OFD.xml`` at its top: an OFD, well formed or not."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(n.lstrip("/") == "OFD.xml" for n in zf.namelist()[:MAX_ENTRIES])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def read(data: bytes, max_pages: int = MAX_PAGES) -> Package:
    """The package's pages, or InvalidDocument saying what is wrong with it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _Reader(zf, max_pages).package()
    except InvalidDocument:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            KeyError, IndexError, RuntimeError, NotImplementedError):
        raise InvalidDocument(BROKEN) from None


def render(data: bytes, package: Package | None = None) -> bytes:
    """The pages drawn as a PDF: text in reportlab's STSong-Light where the OFD sets it, the
    images in their boxes. The access copy's first form, before OCR or PDF/A."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from .pdf import chinese_font
    package = package or read(data)
    font = chinese_font()
    out = io.BytesIO()
    c = canvas.Canvas(out, invariant=1)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for page in package.pages:
            c.setPageSize((page.width * mm, page.height * mm))
            for pic in page.pictures:
                try:
                    image = ImageReader(io.BytesIO(_part(zf, pic.path)))
                    c.drawImage(image, pic.x * mm, (page.height - pic.y - pic.height) * mm,
                                pic.width * mm, pic.height * mm)
                except Exception:   # an image reportlab cannot read (JBIG2 …): the original has it
                    continue
            for run in page.texts:
                c.setFont(font, max(run.size, 0.5) * mm)
                c.drawString(run.x * mm, (page.height - run.y) * mm, run.text)
            c.showPage()
    c.save()
    return out.getvalue()


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element, name):
    return [e for e in element if _local(e.tag) == name]


def _first(element, *names):
    """The first descendant along a path of local names (namespaces ignored), or None."""
    for name in names:
        if element is None:
            return None
        element = next(iter(_children(element, name)), None)
    return element


def _numbers(text, count):
    values = [float(v) for v in re.split(r"[\s,]+", (text or "").strip()) if v]
    if len(values) != count:
        raise ValueError(text)
    return values


def _part(zf, path) -> bytes:
    """One file of the package, inflated no further than MAX_PART."""
    try:
        info = zf.getinfo(path)
    except KeyError:
        raise InvalidDocument(f"OFD文件缺少“{path}”，文件不完整") from None
    if info.flag_bits & 0x1:
        raise InvalidDocument("OFD文件已加密或设有密码，请提供未加密的文件")
    with zf.open(info) as fh:
        content = fh.read(MAX_PART + 1)
    if len(content) > MAX_PART:
        raise InvalidDocument("OFD文件中含有解压后体积异常庞大的数据（疑似“压缩炸弹”），无法归档")
    return content


class _Reader:
    """One package read: the entry file, the document root, its resources and pages."""

    def __init__(self, zf, max_pages):
        self.zf, self.max_pages = zf, max_pages
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES or sum(i.file_size for i in infos) > MAX_INFLATED:
            raise InvalidDocument("OFD文件中含有解压后体积异常庞大的数据（疑似“压缩炸弹”），无法归档")
        self.names = {i.filename.lstrip("/"): i.filename for i in infos}

    def xml(self, path):
        name = self.names.get(path.lstrip("/"))
        if name is None:
            raise InvalidDocument(f"OFD文件缺少“{path}”，文件不完整")
        content = _part(self.zf, name)
        if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
            raise InvalidDocument("OFD文件中含有不允许的XML声明（DOCTYPE/ENTITY），无法归档")
        try:
            return ET.fromstring(content)
        except ET.ParseError:
            raise InvalidDocument(f"OFD文件中的“{path}”不是完整的XML，文件已损坏") from None

    @staticmethod
    def resolve(base_file, location):
        """A location as GB/T 33190 writes it: from the package's top if it starts with
        '/', else from the folder of the file that names it."""
        location = (location or "").strip().replace("\\", "/")
        joined = location if location.startswith("/") else posixpath.join(posixpath.dirname(base_file), location)
        path = posixpath.normpath("/" + joined).lstrip("/")
        return path

    def package(self) -> Package:
        entry = self.xml("OFD.xml")
        if _local(entry.tag) != "OFD":
            raise InvalidDocument("OFD文件的入口文件OFD.xml不是OFD文档（根元素不是ofd:OFD）")
        bodies = _children(entry, "DocBody")
        root = _first(bodies[0], "DocRoot") if bodies else None
        if root is None or not (root.text or "").strip():
            raise InvalidDocument("OFD文件缺少文档入口（DocBody/DocRoot），文件已损坏")
        if self.names.get("Doc_0/Encryptions.xml") or any(
                _children(b, "Encryptions") for b in bodies):
            raise InvalidDocument("OFD文件已加密或设有密码，请提供未加密的文件")
        doc_path = self.resolve("OFD.xml", root.text)
        document = self.xml(doc_path)
        default_box = self.box(_first(document, "CommonData", "PageArea", "PhysicalBox"), A4)
        media = self.media(doc_path, document)
        listed = _children(_first(document, "Pages") or ET.Element("x"), "Page")
        if not listed:
            raise InvalidDocument("OFD文件没有页面")
        if len(listed) > self.max_pages:
            raise InvalidDocument(f"OFD文件超过 {self.max_pages} 页的上限，请拆分为几个文件分别归档")
        pages = []
        for n, item in enumerate(listed, 1):
            location = item.get("BaseLoc")
            if not location:
                raise InvalidDocument(f"OFD文件第 {n} 页缺少页面位置（BaseLoc），页面不完整")
            path = self.resolve(doc_path, location)
            if path.lstrip("/") not in self.names:
                raise InvalidDocument(f"OFD文件第 {n} 页的页面文件“{path}”缺失，页面不完整")
            pages.append(self.page(path, default_box, media))
        return Package(tuple(pages))

    @staticmethod
    def box(element, default):
        if element is None:
            return default
        try:
            x, y, w, h = _numbers(element.text, 4)
        except ValueError:
            return default
        return (w, h) if w > 0 and h > 0 else default

    def media(self, doc_path, document):
        """Image files by resource ID, from the document's public and document resources."""
        found = {}
        common = _first(document, "CommonData")
        for kind in ("PublicRes", "DocumentRes"):
            for ref in _children(common, kind) if common is not None else ():
                res_path = self.resolve(doc_path, ref.text)
                if res_path not in self.names:
                    continue
                res = self.xml(res_path)
                folder = (res.get("BaseLoc") or "").strip()
                base = self.resolve(res_path, folder + "/x") if folder else res_path
                for holder in _children(res, "MultiMedias"):
                    for item in _children(holder, "MultiMedia"):
                        file = _first(item, "MediaFile")
                        if file is not None and item.get("ID"):
                            found[item.get("ID")] = self.resolve(base, file.text)
        return found

    def page(self, path, default_box, media) -> Page:
        content = self.xml(path)
        width, height = self.box(_first(content, "Area", "PhysicalBox"), default_box)
        texts, pictures = [], []
        for element in content.iter():
            name = _local(element.tag)
            if name == "TextObject":
                texts.extend(self.texts(element))
            elif name == "ImageObject":
                picture = self.picture(element, media)
                if picture is not None:
                    pictures.append(picture)
        return Page(width, height, tuple(texts), tuple(pictures))

    @staticmethod
    def texts(element):
        try:
            bx, by, _, _ = _numbers(element.get("Boundary"), 4)
            size = float(element.get("Size") or 3.5)
        except ValueError:
            return []
        out, x, y = [], 0.0, 0.0
        for code in _children(element, "TextCode"):
            x = float(code.get("X", x))
            y = float(code.get("Y", y))
            if code.text and code.text.strip():
                out.append(Text(bx + x, by + y, size, code.text))
        return out

    def picture(self, element, media):
        path = media.get(element.get("ResourceID", ""))
        if path is None or path not in self.names:
            return None
        try:
            x, y, w, h = _numbers(element.get("Boundary"), 4)
        except ValueError:
            return None
        return Picture(x, y, w, h, self.names[path]) if w > 0 and h > 0 else None
