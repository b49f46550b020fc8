"""The lottery result as a PDF (摇号结果公告), one copy per participating household.

Each copy is the whole public result — batch, time, the notice's date when one was
recorded, seed, algorithm, digest and the full order — with the receiving household's rank
stated on top and its row highlighted, so the copy in one dossier (一户一档) is enough to
check that household's place. Applicants' names are masked (张*明) and no ID number
appears. Text is set in reportlab's CID font STSong-Light, which pypdf reads back
(full-text search, 四性检测), as the demo's documents do.

Every copy lists every household, so drawing each copy in full would cost N² rows for a
batch of N (about 50 s for 500 households with reportlab's pure-Python number formatting).
The order table is therefore drawn once per lottery, on pages of a fixed number of rows;
each household's copy is its own head pages, the shared table pages, and one page — the
one holding its row — drawn again with the row highlighted, put together with pypdf.
"""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ...records.pdf import chinese_font

FONT = chinese_font()

_BASE = dict(fontName=FONT, wordWrap="CJK")
TITLE = ParagraphStyle("title", fontSize=18, leading=26, alignment=1, **_BASE)
LEAD = ParagraphStyle("lead", fontSize=12, leading=19, **_BASE)
BODY = ParagraphStyle("body", fontSize=9.5, leading=14, **_BASE)
HIGHLIGHT = (1, 0.93, 0.6)
GREY = 0.9

# The order table: fixed geometry, so any one page can be drawn again on its own.
PAGE_W, PAGE_H = A4
LEFT, TOP, ROW, ROWS = 50.0, PAGE_H - 90.0, 18.0, 38
COLUMNS = (("序号", 36), ("档号", 128), ("申请人", 76), ("优先组", 150), ("校验值（HMAC前16位）", 105))
HEAD = [title for title, _ in COLUMNS]


def tier_title(lottery, tier, groups, titles) -> str:
    """“第1优先组（重度残疾）” for a priority tier, naming the household's groups in it."""
    if tier > len(lottery.tiers):
        return "一般"
    mine = [titles.title(g) for g in lottery.tier_groups(tier) if g in groups]
    return f"第{tier}优先组" + (f"（{'、'.join(mine)}）" if mine else "")


def tiers_text(lottery, titles) -> str:
    if not lottery.tiers:
        return "未设优先组，全部住户同为一档"
    parts = [f"第{n}优先组：{'、'.join(titles.title(g) for g in tier)}"
             for n, tier in enumerate(lottery.tiers, 1)]
    return "；".join(parts + ["其余住户为一般组"])


class ResultPdf:
    """The PDFs of one lottery: ``for_household(archive_no)`` gives that household's copy.

    ``algorithm`` (how the order is computed, in words) and ``key_of(archive_no)`` (each
    household's sort key) come from the draw, which this module does not import: the PDF
    prints what the draw did, so anyone can re-run it."""

    def __init__(self, lottery, jurisdiction_title, titles, local_when, issuer, algorithm, key_of,
                 how_to_verify=""):
        self.lottery, self.place, self.algorithm = lottery, jurisdiction_title, algorithm
        self.how_to_verify = how_to_verify
        self.titles, self.when, self.issuer = titles, local_when, issuer
        self.rows = [[str(rank), no, lottery.name_of(no) or "—",
                      tier_title(lottery, tier, lottery.groups_of(no), titles),
                      key_of(no)[:16]] for rank, no, tier in lottery.order]
        self.pages = max(1, -(-len(self.rows) // ROWS))
        self.table = PdfReader(io.BytesIO(self._table()))

    def for_household(self, archive_no) -> bytes:
        rank = self.lottery.rank_of(archive_no)
        page = (rank - 1) // ROWS
        writer = PdfWriter()
        writer.append(PdfReader(io.BytesIO(self._head(archive_no, rank, page + 1))))
        own = PdfReader(io.BytesIO(self._table(only=page, highlight=rank)))
        for n in range(self.pages):
            writer.add_page(own.pages[0] if n == page else self.table.pages[n])
        writer.add_metadata({"/Title": f"摇号结果（{self.lottery.lottery_id}）",
                             "/Author": self.issuer, "/Subject": "摇号结果公告"})
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    # -- the head: this household's rank, then the facts anyone needs to re-run the draw --
    def _head(self, archive_no, rank, page) -> bytes:
        lot = self.lottery
        p = lambda text, style=BODY: Paragraph(escape(text), style)  # noqa: E731
        facts = [("辖区", self.place),
                 ("摇号时间", f"{self.when:%Y-%m-%d %H:%M:%S}（UTC {lot.when.isoformat()}）"),
                 ("组织人", lot.actor), ("参加户数", f"{len(lot.order)} 户"),
                 ("摇号种子", lot.seed), ("优先组设置", tiers_text(lot, self.titles)),
                 ("排序算法", self.algorithm),
                 ("结果摘要", f"SHA-256：{lot.digest}（输入与结果的规范JSON的摘要，可在系统中复核）")]
        if lot.announced_on:
            facts.insert(2, ("预告发布日期", lot.announced_on.isoformat()))
        if lot.commitment:
            facts.insert(facts.index(("摇号种子", lot.seed)) + 1,
                         ("种子承诺值", f"SHA-256：{lot.commitment}（随预告公布；SHA-256(摇号种子) 应与之相同）"))
        if lot.draw_on:
            facts.insert(3, ("预告摇号日期", lot.draw_on.isoformat()))
        if lot.absent:
            facts.append(("未参加", "、".join(lot.absent) + "（预告后已不在轮候，未参加摇号）"))
        if lot.redraw_of and lot.approval:
            a = lot.approval
            facts.append(("重新摇号", f"重摇 {lot.redraw_of}；理由：{a.reason}；申请人 {a.requested_by}，"
                                     f"同意人 {a.approved_by}"))
        if lot.comment:
            facts.append(("说明", lot.comment))
        table = Table([[p(k), p(v)] for k, v in facts], colWidths=(26 * mm, None))
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                   ("BACKGROUND", (0, 0), (0, -1), colors.Color(GREY, GREY, GREY)),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        tier = next(t for r, no, t in lot.order if no == archive_no)
        mine = tier_title(lot, tier, lot.groups_of(archive_no), self.titles)
        statement = Table([[p(f"本户档号 {archive_no}（申请人 {lot.name_of(archive_no) or '—'}）"
                              f"选房顺序号：第 {rank} 号，共 {len(lot.order)} 户；优先组：{mine}。"
                              f"本户在摇号结果表第 {page} 页，以底色标出。", LEAD)]])
        statement.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1, colors.black),
                                       ("BACKGROUND", (0, 0), (-1, -1), colors.Color(*HIGHLIGHT))]))
        story = [p(f"{self.place}公共租赁住房摇号结果公告", TITLE), p(f"批次编号：{lot.lottery_id}", LEAD),
                 Spacer(1, 3 * mm), statement, Spacer(1, 5 * mm), table, Spacer(1, 5 * mm),
                 p(f"全部住户的选房顺序见后附摇号结果表（共 {self.pages} 页）。本公告由{self.issuer}于"
                   f"{self.when:%Y年%m月%d日}出具，归入本户住房保障对象档案。")]
        if self.how_to_verify:
            story += [Spacer(1, 3 * mm), p(self.how_to_verify)]
        buf = io.BytesIO()
        SimpleDocTemplate(buf, pagesize=A4, invariant=1, leftMargin=18 * mm, rightMargin=18 * mm,
                          topMargin=18 * mm, bottomMargin=18 * mm).build(story)
        return buf.getvalue()

    # -- the order table -------------------------------------------------------------------
    def _table(self, only=None, highlight=None) -> bytes:
        """Every page of the table, or page ``only`` (0-based) with row ``highlight`` marked."""
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A4, invariant=1)
        for n in range(self.pages) if only is None else (only,):
            self._table_page(c, n, highlight)
            c.showPage()
        c.save()
        return buf.getvalue()

    def _table_page(self, c, n, highlight):
        lot = self.lottery
        c.setFont(FONT, 12)
        c.drawString(LEFT, PAGE_H - 60, f"摇号结果表（按选房顺序）  {lot.lottery_id}  {self.place}")
        c.setFont(FONT, 9)
        c.drawRightString(LEFT + sum(w for _, w in COLUMNS), PAGE_H - 60,
                          f"第 {n + 1} 页，共 {self.pages} 页")
        rows = [HEAD] + self.rows[n * ROWS:(n + 1) * ROWS]
        width = sum(w for _, w in COLUMNS)
        for i, row in enumerate(rows):
            top = TOP - i * ROW
            mine = i and highlight is not None and row[0] == str(highlight)
            if i == 0 or mine:
                c.setFillColorRGB(*(HIGHLIGHT if mine else (GREY, GREY, GREY)))
                c.rect(LEFT, top - ROW, width, ROW, stroke=0, fill=1)
                c.setFillGray(0)
            x = LEFT
            for column, ((_, w), text) in enumerate(zip(COLUMNS, row)):
                if mine and column == 2:
                    text += "（本户）"
                size = _fit(text, w - 6, 9)
                c.setFont(FONT, size)
                c.drawString(x + 3, top - ROW + 5.5, _clip(text, w - 6, size))
                x += w
        bottom = TOP - len(rows) * ROW
        c.setLineWidth(0.4)
        for i in range(len(rows) + 1):
            c.line(LEFT, TOP - i * ROW, LEFT + width, TOP - i * ROW)
        x = LEFT
        for _, w in COLUMNS + (("", 0),):
            c.line(x, TOP, x, bottom)
            x += w


def _fit(text, width, size, least=6.5):
    while size > least and pdfmetrics.stringWidth(text, FONT, size) > width:
        size -= 0.5
    return size


def _clip(text, width, size):
    """A cell's text cut to its width (only a very long tier title ever is)."""
    if pdfmetrics.stringWidth(text, FONT, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", FONT, size) > width:
        text = text[:-1]
    return text + "…"


def render(lottery, receiving_no, jurisdiction_title, titles, local_when, issuer, algorithm,
           key_of, how_to_verify="") -> bytes:
    """One household's copy on its own (tests, re-printing); a batch uses ResultPdf once."""
    pdfs = ResultPdf(lottery, jurisdiction_title, titles, local_when, issuer, algorithm, key_of,
                     how_to_verify)
    return pdfs.for_household(receiving_no)
