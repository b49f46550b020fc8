"""The bound dossier (案卷): one PDF of a dossier's current documents, as a volume is bound.

Cover (案卷封面), in-volume table of contents (卷内目录), every current document with its
page numbers (页号) stamped in the upper right corner, and the closing sheet (备考表).
The page numbers are drawn on this bound copy only: each filed file is read from its
blob and its pages copied, so the originals keep their bytes and SHA-256. Text is set in
reportlab's CID font STSong-Light, which pypdf reads back, so every page's Chinese text
can be extracted (and the volume checked without the system).

    bind_volume(dossier, rules=None, *, doc_types=None, binder="", checker="", when=None) -> bytes
"""
from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as _canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..records.formats import readable_pdf
from ..records.pdf import chinese_font
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


def bind_volume(dossier, rules=None, *, doc_types=None, binder="", checker="", when=None,
                note="") -> bytes:
    """The bound volume of ``dossier`` as PDF bytes; the filed files are only read.

    ``doc_types`` maps document type codes to titles (备注 shows nothing without it);
    ``binder`` is 立卷人 (who binds), ``checker`` 检查人 (left blank to sign by hand);
    ``when`` is 立卷时间 (a date; today when not given)."""
    from pypdf import PdfReader, PdfWriter
    rules = rules if rules is not None else arrangement.default_rules()
    when = when or _dt.date.today()
    items = contents(dossier)
    writer = PdfWriter()
    front = PdfReader(io.BytesIO(_front_matter(dossier, items, rules, doc_types or {})))
    for page in front.pages:
        writer.add_page(page)
    bound = []
    for item in items:
        reader = PdfReader(io.BytesIO(readable_pdf(item.document.current_file)))   # an OFD, a photo: its copy
        for page in reader.pages:
            added = writer.add_page(page)
            added.transfer_rotation_to_content()
            bound.append(added)
    # one overlay page per bound page, drawn in one go (one font, cloned into the volume once)
    numbers = PdfReader(io.BytesIO(_page_numbers([page.mediabox for page in bound])))
    for page, stamp in zip(bound, numbers.pages):
        page.merge_page(stamp)
    back = PdfReader(io.BytesIO(_closing_sheet(dossier, items, binder, checker, when, note)))
    for page in back.pages:
        writer.add_page(page)
    writer.add_metadata({"/Title": f"{dossier.archive_no} {volume_title(dossier)}",
                         "/Producer": "公租房档案管理系统"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- the pages drawn for the volume --------------------------------------------------------
def _styles():
    base = dict(fontName=chinese_font(), wordWrap="CJK")
    return {"title": ParagraphStyle("t", fontSize=22, leading=32, alignment=1, **base),
            "head": ParagraphStyle("h", fontSize=16, leading=24, alignment=1, **base),
            "lead": ParagraphStyle("l", fontSize=13, leading=22, **base),
            "cell": ParagraphStyle("c", fontSize=9, leading=12, **base)}


def _p(text, style):
    return Paragraph(escape(str(text)), style)


def _front_matter(dossier, items, rules, doc_types) -> bytes:
    """案卷封面 and 卷内目录, as their own pages (no page numbers: DA/T 22 numbers the documents)."""
    s = _styles()
    fonds_no, fonds_name = rules.fonds_of(dossier)
    start, end = date_range(items)
    period = rules.longest(arrangement.retention(i.document, rules) for i in items)
    pages = sum(i.pages for i in items)
    cover = [("全宗名称", fonds_name), ("全宗号", fonds_no), ("档号", dossier.archive_no),
             ("案卷题名", volume_title(dossier)),
             ("起止日期", f"{start} — {end}" if start else "—"),
             ("保管期限", rules.title("retention_periods", period) if period else "—"),
             ("件数", f"{len(items)} 件"), ("页数", f"{pages} 页")]
    story = [Spacer(1, 30 * mm), _p("案 卷 封 面", s["title"]), Spacer(1, 20 * mm),
             _grid([[_p(k, s["lead"]), _p(v, s["lead"])] for k, v in cover],
                   [40 * mm, 120 * mm], header=False), PageBreak(),
             _p("卷 内 目 录", s["head"]), Spacer(1, 4 * mm),
             _p(f"档号：{dossier.archive_no}", s["cell"]), Spacer(1, 2 * mm)]
    rows = [[_p(h, s["cell"]) for h in ("序号", "文号", "责任者", "题名", "日期", "页号", "备注")]]
    for i, item in enumerate(items):
        m = item.document.metadata
        last = item.first_page + max(item.pages, 1) - 1
        page_no = f"{item.first_page}" if last == item.first_page else f"{item.first_page}-{last}"
        remark = "；".join(x for x in (doc_types.get(m.get("doc_type"), ""),
                                      rules.title("retention_periods", arrangement.retention(item.document, rules)),
                                      rules.title("carriers", arrangement.carrier(item.document)))
                          if x)
        rows.append([_p(item.seq, s["cell"]), _p(m.get("doc_no") or "", s["cell"]),
                     _p(m.get("issuer") or "", s["cell"]), _p(m.get("title") or "", s["cell"]),
                     _p(_yyyymmdd(m.get("date")), s["cell"]), _p(page_no, s["cell"]),
                     _p(remark, s["cell"])])
    if not items:
        rows.append([_p("—", s["cell"]), "", "", _p("本卷暂无文件", s["cell"]), "", "", ""])
    story.append(_grid(rows, [12 * mm, 28 * mm, 28 * mm, 58 * mm, 20 * mm, 14 * mm, 26 * mm]))
    return _build(story, f"{dossier.archive_no} 封面与卷内目录")


def _closing_sheet(dossier, items, binder, checker, when, note) -> bytes:
    """备考表: what the volume holds and what was left out, who bound and checked it, when."""
    s = _styles()
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
    day = when.strftime("%Y年%m月%d日") if hasattr(when, "strftime") else str(when)
    story = [Spacer(1, 10 * mm), _p("备 考 表", s["title"]), Spacer(1, 10 * mm),
             _p(f"档号：{dossier.archive_no}", s["lead"]), Spacer(1, 4 * mm),
             _p("本卷情况说明：", s["lead"])]
    story += [_p(line, s["lead"]) for line in lines]
    story += [Spacer(1, 20 * mm),
              _grid([[_p("立卷人", s["lead"]), _p(binder or "", s["lead"])],
                     [_p("检查人", s["lead"]), _p(checker or "", s["lead"])],
                     [_p("立卷时间", s["lead"]), _p(day, s["lead"])]],
                    [40 * mm, 120 * mm], header=False)]
    return _build(story, f"{dossier.archive_no} 备考表")


def _grid(rows, widths, header=True):
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    table.setStyle(TableStyle(style))
    return table


def _build(story, title) -> bytes:
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm, title=title,
                      invariant=1).build(story)
    return out.getvalue()


def _page_numbers(boxes) -> bytes:
    """Transparent pages, one per media box, each with its 页号 (1, 2, …) in the upper right corner."""
    out = io.BytesIO()
    c = _canvas.Canvas(out, invariant=1)
    for number, box in enumerate(boxes, 1):
        left, bottom = float(box.left), float(box.bottom)
        width, height = float(box.width), float(box.height)
        c.setPageSize((left + width, bottom + height))
        c.setFont(chinese_font(), 12)
        c.drawRightString(left + width - 12 * mm, bottom + height - 12 * mm, str(number))
        c.showPage()
    if not boxes:
        c.showPage()
    c.save()
    return out.getvalue()
