"""The bound dossier (案卷): one PDF of a dossier's current documents, as a volume is bound.

Cover (案卷封面), in-volume table of contents (卷内目录), every current document with its
page numbers (页号) stamped in the upper right corner, and the closing sheet (备考表).
The page numbers are drawn on this bound copy only: each filed file is read from its
blob and its pages copied, so the originals keep their bytes and SHA-256. Text is set in
reportlab's CID font STSong-Light, which pypdf reads back, so every page's Chinese text
can be extracted (and the volume checked without the system).

    bind_volume(dossier, rules=None, *, doc_types=None, binder="", checker="", when=None) -> bytes
    render(sheets(dossier, ...)) -> bytes     # the same in two steps (gather here, draw anywhere)
"""
from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, Spacer, Table, TableStyle

from ..records.formats import readable_pdf
from ..records.pdf import chinese_font, report_pdf
from . import arrangement


@dataclass(frozen=True)
class Item:
    """One 件 of the volume as the 卷内目录 lists it."""
    seq: int          # 序号
    document: object
    first_page: int   # 页号 of its first page in the volume
    pages: int


def volume_title(dossier) -> str:
    """案卷题名: whose dossier, and which kind."""
    if dossier.kind == "household":
        return f"{dossier.title}户 住房保障对象档案"
    if dossier.kind == "employer":
        return f"{dossier.title} 单位集体申请档案（{dossier.metadata.get('batch', '')}）"
    return f"{dossier.title} 房源档案"


def contents(dossier) -> list:
    """The current documents in 件号 order, with the page numbers they take in the volume."""
    docs = sorted((d for d in dossier.active_documents() if d.current_file is not None),
                  key=lambda d: (d.item_no or 0, d.doc_id))
    out, page = [], 1
    for seq, doc in enumerate(docs, 1):
        pages = doc.current_file.pages or 0
        out.append(Item(seq, doc, page, pages))
        page += pages
    return out


def date_range(items) -> tuple:
    """起止日期: the earliest and latest document date (YYYYMMDD, DA/T 22), or ("", "")."""
    days = sorted(_yyyymmdd(i.document.metadata.get("date")) for i in items
                  if i.document.metadata.get("date"))
    return (days[0], days[-1]) if days else ("", "")


def _yyyymmdd(value) -> str:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.strftime("%Y%m%d")
    return str(value or "").replace("-", "")[:8]


@dataclass(frozen=True)
class Sheets:
    """Everything the volume's pages show, as plain values (picklable): gathered from the
    dossier in the process that holds it, drawn wherever there is a free core
    (``render``; the hand-over package binds its volumes in worker processes)."""
    archive_no: str
    title: str
    cover: tuple        # (label, value) pairs of the 案卷封面
    rows: tuple         # the 卷内目录's rows (seven strings each)
    files: tuple        # the current documents' bytes, in volume order
    closing: tuple      # the 备考表's lines
    binder: str
    checker: str
    day: str


def sheets(dossier, rules=None, *, doc_types=None, binder="", checker="", when=None, note="") -> Sheets:
    """The volume of ``dossier`` as ``render`` draws it (see ``bind_volume``)."""
    rules = rules if rules is not None else arrangement.default_rules()
    when = when or _dt.date.today()
    items = contents(dossier)
    # an OFD, a photo: its PDF access copy (利用副本) is what is bound
    files = [readable_pdf(item.document.current_file) for item in items]
    return Sheets(dossier.archive_no, volume_title(dossier), _cover(dossier, items, rules),
                  _rows(items, rules, doc_types or {}), tuple(files),
                  _closing_lines(dossier, items, note), binder or "", checker or "",
                  when.strftime("%Y年%m月%d日") if hasattr(when, "strftime") else str(when))


def bind_volume(dossier, rules=None, *, doc_types=None, binder="", checker="", when=None,
                note="") -> bytes:
    """The bound volume of ``dossier`` as PDF bytes; the filed files are only read.

    ``doc_types`` maps document type codes to titles (备注 shows nothing without it);
    ``binder`` is 立卷人 (who binds), ``checker`` 检查人 (left blank to sign by hand);
    ``when`` is 立卷时间 (a date; today when not given)."""
    return render(sheets(dossier, rules, doc_types=doc_types, binder=binder, checker=checker,
                         when=when, note=note))


def render(sheet: Sheets) -> bytes:
    """The volume's PDF: front matter, the documents' pages each with its 页号, 备考表.

    The 页号 is a content stream of its own added after the page's (which is wrapped in
    q/Q, so nothing it leaves set moves the number) with a standard font: no page's
    content is parsed or rewritten, which is what makes binding cheap (pypdf's
    ``merge_page`` re-encodes both pages). A rotated page has its rotation moved into its
    content first, so the number stands upright at the upper right as one reads it."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(_front_matter(sheet))).pages:
        writer.add_page(page)
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    save = writer._add_object(_stream(b"q\n"))
    number = 0
    for data in sheet.files:
        for page in PdfReader(io.BytesIO(data)).pages:
            added = writer.add_page(page)
            if added.rotation % 360:
                added.transfer_rotation_to_content()
            number += 1
            box = added.mediabox
            x = float(box.left) + float(box.width) - 12 * mm
            y = float(box.bottom) + float(box.height) - 12 * mm
            text = str(number).encode("ascii")
            stamp = _stream(b"Q q BT /%s 12 Tf %.2f %.2f Td (%s) Tj ET Q\n" % (
                _FONT[1:].encode(), x - 6.672 * len(text), y, text))
            contents = added.get("/Contents")
            parts = ArrayObject([save])
            if isinstance(contents, ArrayObject) or isinstance(getattr(contents, "get_object", lambda: None)(), ArrayObject):
                parts.extend(contents.get_object())
            elif contents is not None:
                parts.append(contents if hasattr(contents, "idnum") else writer._add_object(contents))
            parts.append(writer._add_object(stamp))
            added[NameObject("/Contents")] = parts
            resources = added.get("/Resources")
            resources = resources.get_object() if resources is not None else None
            if resources is None:
                resources = DictionaryObject()
                added[NameObject("/Resources")] = resources
            fonts = resources.get("/Font")
            fonts = fonts.get_object() if fonts is not None else None
            if fonts is None:
                fonts = DictionaryObject()
                resources[NameObject("/Font")] = fonts
            fonts[NameObject(_FONT)] = font
    for page in PdfReader(io.BytesIO(_closing_sheet(sheet))).pages:
        writer.add_page(page)
    writer.add_metadata({"/Title": f"{sheet.archive_no} {sheet.title}",
                         "/Producer": "公租房档案管理系统"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_FONT = "/ArchivePageNo"     # the 页号's font in a bound page's resources (Helvetica: digits)


def _stream(data: bytes):
    from pypdf.generic import DecodedStreamObject
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


# -- the pages drawn for the volume --------------------------------------------------------
def _styles():
    base = dict(fontName=chinese_font(), wordWrap="CJK")
    return {"title": ParagraphStyle("t", fontSize=22, leading=32, alignment=1, **base),
            "head": ParagraphStyle("h", fontSize=16, leading=24, alignment=1, **base),
            "lead": ParagraphStyle("l", fontSize=13, leading=22, **base),
            "cell": ParagraphStyle("c", fontSize=9, leading=12, **base)}


def _p(text, style):
    return Paragraph(escape(str(text)), style)


def _cover(dossier, items, rules) -> tuple:
    """The 案卷封面's (label, value) pairs."""
    fonds_no, fonds_name = rules.fonds_of(dossier)
    start, end = date_range(items)
    period = rules.longest(arrangement.retention(i.document, rules) for i in items)
    pages = sum(i.pages for i in items)
    return (("全宗名称", fonds_name), ("全宗号", fonds_no), ("档号", dossier.archive_no),
            ("案卷题名", volume_title(dossier)),
            ("起止日期", f"{start} — {end}" if start else "—"),
            ("保管期限", rules.title("retention_periods", period) if period else "—"),
            ("件数", f"{len(items)} 件"), ("页数", f"{pages} 页"))


def _rows(items, rules, doc_types) -> tuple:
    """The 卷内目录's rows: 序号, 文号, 责任者, 题名, 日期, 页号, 备注."""
    rows = []
    for item in items:
        m = item.document.metadata
        last = item.first_page + max(item.pages, 1) - 1
        page_no = f"{item.first_page}" if last == item.first_page else f"{item.first_page}-{last}"
        remark = "；".join(x for x in (doc_types.get(m.get("doc_type"), ""),
                                      rules.title("retention_periods", arrangement.retention(item.document, rules)),
                                      rules.title("carriers", arrangement.carrier(item.document)))
                          if x)
        rows.append((str(item.seq), m.get("doc_no") or "", m.get("issuer") or "", m.get("title") or "",
                     _yyyymmdd(m.get("date")), page_no, remark))
    return tuple(rows)


def _closing_lines(dossier, items, note) -> tuple:
    """The 备考表's account: what the volume holds and what was left out."""
    pages = sum(i.pages for i in items)
    withdrawn = [d for d in dossier.documents.values() if d.withdrawn]
    refiled = [i.document for i in items if len(i.document.files) > 1]
    lines = [f"本卷共有文件 {len(items)} 件，{pages} 页（页号为装订时加盖，原件未作改动）。"]
    if withdrawn:
        lines.append(f"已撤出文件 {len(withdrawn)} 件未装入本卷：" + "；".join(
            f"件号 {d.item_no or '—'} {d.metadata.get('title', '')}（{d.withdraw_reason}）" for d in withdrawn))
    if refiled:
        lines.append(f"其中 {len(refiled)} 件曾替换文件，装入的是现行文件：" + "；".join(
            f"件号 {d.item_no or '—'} {d.metadata.get('title', '')}" for d in refiled))
    if note:
        lines.append(note)
    return tuple(lines)


def _front_matter(sheet) -> bytes:
    """案卷封面 and 卷内目录, as their own pages (no page numbers: DA/T 22 numbers the documents)."""
    s = _styles()
    story = [Spacer(1, 30 * mm), _p("案 卷 封 面", s["title"]), Spacer(1, 20 * mm),
             _grid([[_p(k, s["lead"]), _p(v, s["lead"])] for k, v in sheet.cover],
                   [40 * mm, 120 * mm], header=False), PageBreak(),
             _p("卷 内 目 录", s["head"]), Spacer(1, 4 * mm),
             _p(f"档号：{sheet.archive_no}", s["cell"]), Spacer(1, 2 * mm)]
    rows = [[_p(h, s["cell"]) for h in ("序号", "文号", "责任者", "题名", "日期", "页号", "备注")]]
    rows += [[_p(cell, s["cell"]) for cell in row] for row in sheet.rows]
    if not sheet.rows:
        rows.append([_p("—", s["cell"]), "", "", _p("本卷暂无文件", s["cell"]), "", "", ""])
    story.append(_grid(rows, [12 * mm, 28 * mm, 28 * mm, 58 * mm, 20 * mm, 14 * mm, 26 * mm]))
    return report_pdf(story, f"{sheet.archive_no} 封面与卷内目录")


def _closing_sheet(sheet) -> bytes:
    """备考表: what the volume holds and what was left out, who bound and checked it, when."""
    s = _styles()
    story = [Spacer(1, 10 * mm), _p("备 考 表", s["title"]), Spacer(1, 10 * mm),
             _p(f"档号：{sheet.archive_no}", s["lead"]), Spacer(1, 4 * mm),
             _p("本卷情况说明：", s["lead"])]
    story += [_p(line, s["lead"]) for line in sheet.closing]
    story += [Spacer(1, 20 * mm),
              _grid([[_p("立卷人", s["lead"]), _p(sheet.binder, s["lead"])],
                     [_p("检查人", s["lead"]), _p(sheet.checker, s["lead"])],
                     [_p("立卷时间", s["lead"]), _p(sheet.day, s["lead"])]],
                    [40 * mm, 120 * mm], header=False)]
    return report_pdf(story, f"{sheet.archive_no} 备考表")


def _grid(rows, widths, header=True):
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    table.setStyle(TableStyle(style))
    return table


