"""The lists that go with a hand-over (Chinese PDFs, and CSV for the intake report):
移交清册 (the transfer list, in the bag), 卷内目录 (the stand-in bound volume) and the
四性检测 report of a batch import. Set in reportlab's STSong-Light, which pypdf reads back.
"""
from __future__ import annotations

import csv
import io
import zoneinfo
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, TableStyle

from ..records.intake import CATEGORIES
from ..records.pdf import chinese_font, grid_table, report_pdf

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")


def _styles():
    base = dict(fontName=chinese_font(), wordWrap="CJK")
    return (ParagraphStyle("t", fontSize=18, leading=26, alignment=1, **base),
            ParagraphStyle("l", fontSize=10.5, leading=16, **base),
            ParagraphStyle("c", fontSize=8.5, leading=11.5, **base))


def _local(when):
    return when.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") if when else ""


def transfer_list_pdf(rows, summary, office, actor, when, fonds) -> bytes:
    """移交清册: each dossier (``rows``: 档号, 题名, 件数, 文件版本数, 页数) and the package's totals,
    with room for the handing-over and receiving officers to sign."""
    title, lead, cell = _styles()
    p = lambda text, style=cell: Paragraph(escape(str(text)), style)   # noqa: E731
    story = [p("电子档案移交清册", title), Spacer(1, 5 * mm),
             p(f"移交单位：{office}　全宗：{' '.join(fonds)}　移交时间：{_local(when)}　经办人：{actor}", lead),
             p(f"共 {summary.dossiers} 份档案，{summary.documents} 件文件，{summary.files} 个文件版本；"
               f"移交包载荷 {summary.payload_files} 个文件，{summary.payload_bytes:,} 字节"
               f"（BagIt，SHA-256 与 SM3 清单）。", lead), Spacer(1, 3 * mm)]
    table = [[p("序号"), p("档号"), p("题名"), p("件数"), p("文件版本数"), p("页数")]]
    # a row per dossier: plain cells in the table's font (a Paragraph per cell made the list
    # of a thousand dossiers take seconds); only a title too long for its column wraps
    for n, (archive_no, name, documents, files, pages) in enumerate(rows, 1):
        table.append([str(n), archive_no, p(name) if len(str(name)) > 18 else str(name),
                      str(documents), str(files), str(pages)])
    grid = grid_table(table, [12 * mm, 45 * mm, 60 * mm, 15 * mm, 22 * mm, 16 * mm])
    grid.setStyle(TableStyle([("FONTNAME", (0, 1), (-1, -1), chinese_font()), ("FONTSIZE", (0, 1), (-1, -1), 8.5),
                              ("LEADING", (0, 1), (-1, -1), 11.5)]))
    story += [grid, Spacer(1, 10 * mm),
              p("移交人（签字）：＿＿＿＿＿＿　　接收人（签字）：＿＿＿＿＿＿　　日期：＿＿＿＿＿＿", lead)]
    return report_pdf(story, "电子档案移交清册")


CSV_HEAD = ["档号", "件号", "文件", "文件版本", "检测项", "四性类别", "结果", "说明"]


def intake_rows(report):
    """(档号, 件号, doc id, file no, check title, 四性, 通过/未通过, detail) of every check."""
    for r in report.results:
        for check in r.checks:
            yield [r.archive_no, f"{r.item_no:04d}" if r.item_no else "", r.doc_id,
                   str(r.file_no or ""), check.title(), check.category_title(),
                   "通过" if check.passed else "未通过", check.detail]


def intake_csv(report) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheets read the Chinese), formula-safe cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEAD)
    for row in intake_rows(report):
        writer.writerow(["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def intake_pdf(report, office="公共租赁住房档案室") -> bytes:
    """四性检测报告 of one batch import: the verdict, counts per 四性 category, every failed
    check first, then the whole table."""
    title, lead, cell = _styles()
    p = lambda text, style=cell: Paragraph(escape(str(text)), style)   # noqa: E731
    verdict = "检测合格，已全部接收" if report.accepted else "检测不合格，未接收任何档案"
    story = [p(f"{office}电子档案接收四性检测报告", title), Spacer(1, 5 * mm),
             p(f"检测编号：第 {report.number} 次　移交包：{report.bag}　检测时间：{_local(report.when)}"
               f"　检测人：{report.actor}", lead),
             p(f"结论：{verdict}。档案 {report.dossiers} 份，文件版本 {report.files} 个。", lead)]
    if report.refusal:
        story.append(p(f"拒收原因：{report.refusal}", lead))
    counts = report.by_category()
    table = [[p("四性类别"), p("检测项次"), p("通过"), p("未通过")]]
    for category, (zh, _) in CATEGORIES.items():
        total, ok = counts.get(category, (0, 0))
        table.append([p(zh), p(total), p(ok), p(total - ok)])
    story += [Spacer(1, 3 * mm), grid_table(table, [40 * mm, 30 * mm, 30 * mm, 30 * mm]), Spacer(1, 4 * mm)]
    rows = sorted(intake_rows(report), key=lambda r: r[6] == "通过")
    detail = [[p(h) for h in CSV_HEAD]] + [[p(v) for v in row] for row in rows]
    if len(detail) == 1:
        detail.append([p("—")] * len(CSV_HEAD))
    story.append(grid_table(detail, [40 * mm, 12 * mm, 14 * mm, 14 * mm, 55 * mm, 16 * mm, 14 * mm, 80 * mm]))
    return report_pdf(story, f"四性检测报告 第{report.number}次", pagesize=landscape(A4))
