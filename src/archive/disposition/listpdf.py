"""销毁清册 as a PDF: one row per dossier — 档号, 题名, 件数, 页数, 保管期限, 鉴定意见, 批准人,
监销人 — with the list's number, who drew it up, approved it and supervised, and lines to sign."""
from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..records.pdf import chinese_font

HEADERS = ("序号", "档号", "题名", "件数", "页数", "保管期限", "鉴定意见", "批准人", "监销人")


def destruction_list_pdf(lst, period_title, fonds_name="") -> bytes:
    """The list as printed for signatures; ``period_title(code)`` names a 保管期限."""
    font = chinese_font()
    body = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    head = ParagraphStyle("head", fontName=font, fontSize=16, leading=22, alignment=1)
    note = ParagraphStyle("note", fontName=font, fontSize=10, leading=14)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=f"销毁清册 第{lst.number}号",
                            invariant=1)
    when = lst.carried_out_at.strftime("%Y-%m-%d") if lst.carried_out_at else "（待执行）"
    story = [Paragraph(f"{fonds_name}档案销毁清册", head), Spacer(1, 4 * mm),
             Paragraph(f"清册编号：第 {lst.number} 号　　状态：{lst.status_title()}　　"
                       f"拟制人：{lst.drawn_by}（{lst.drawn_at:%Y-%m-%d}）　　"
                       f"批准人：{lst.approved_by or '（待批准）'}　　监销人：{lst.supervisor or '（待执行）'}　　"
                       f"销毁日期：{when}", note), Spacer(1, 4 * mm)]
    rows = [[Paragraph(h, body) for h in HEADERS]]
    for n, row in enumerate(lst.rows, 1):
        rows.append([Paragraph(str(v), body) for v in (
            n, row.archive_no, row.title, row.documents, row.pages, period_title(row.retention),
            row.opinion, f"{lst.approved_by or ''}（鉴定：{row.appraised_by}）", lst.supervisor or "")])
    table = Table(rows, colWidths=[10 * mm, 38 * mm, 45 * mm, 12 * mm, 12 * mm, 18 * mm, 70 * mm,
                                   32 * mm, 25 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [table, Spacer(1, 10 * mm),
              Paragraph("批准人（签字）：＿＿＿＿＿＿　　监销人（签字）：＿＿＿＿＿＿　　"
                        f"共 {len(lst.rows)} 份档案、{sum(r.documents for r in lst.rows)} 件、"
                        f"{sum(r.pages for r in lst.rows)} 页", note)]
    doc.build(story)
    return out.getvalue()
