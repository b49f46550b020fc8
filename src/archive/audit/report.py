"""An audit run's report (审计报告) as CSV and as a PDF in Chinese.

Both carry the run's counts, the findings per rule and severity with each finding's
dossier and message, and each finding's status against the run before (新发现 / 仍未解决),
plus the findings the previous run had that this one no longer has (已解决). Messages
carry masked ID numbers only, so a report may leave the archive office. The PDF is set in
reportlab's CID font STSong-Light, which pypdf reads back.
"""
from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from ..records.pdf import chinese_font, grid_table, report_pdf
from .rules import CATEGORIES, RULES, SEVERITIES, title_of

STATUS = {"new": "新发现", "open": "仍未解决", "resolved": "已解决"}
CSV_HEAD = ["审计编号", "规则", "规则名称", "四性类别", "严重程度", "档号", "对象", "情况", "对比上次", "确认"]


def _ack_text(book, finding):
    acks = book.acks(finding.fingerprint)
    return "；".join(f"{a.actor} {a.when:%Y-%m-%d}：{a.comment}" for a in acks)


def rows(book, run):
    """Every finding of the run, then those of the previous run now resolved, as table rows."""
    comparison = book.compare(run)
    for finding, status in [(f, comparison.status(f)) for f in run.findings] + \
            [(f, "resolved") for f in comparison.resolved]:
        rule = RULES.get(finding.rule)
        yield [str(run.run_id), finding.rule, rule.title() if rule else finding.rule,
               title_of(CATEGORIES, rule.category) if rule else "",
               title_of(SEVERITIES, finding.severity), finding.dossier, finding.subject,
               finding.message, STATUS[status], _ack_text(book, finding)]


def as_csv(book, run) -> bytes:
    """UTF-8 with a byte-order mark, so a spreadsheet opens the Chinese text as Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEAD)
    for row in rows(book, run):
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value):
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def as_pdf(book, run, local_when, office="公共租赁住房档案室") -> bytes:
    base = dict(fontName=chinese_font(), wordWrap="CJK")
    title = ParagraphStyle("t", fontSize=18, leading=26, alignment=1, **base)
    lead = ParagraphStyle("l", fontSize=11, leading=17, **base)
    head = ParagraphStyle("h", fontSize=13, leading=20, spaceBefore=8, **base)
    cell = ParagraphStyle("c", fontSize=8.5, leading=11.5, **base)

    def p(text, style=cell):
        return Paragraph(escape(str(text)), style)

    comparison = book.compare(run)
    counts = run.counts
    story = [p(f"{office}完整性审计报告（四性检测）", title), Spacer(1, 6 * mm),
             p(f"审计编号：第 {run.run_id} 次　发起人：{run.actor}　"
               f"开始：{local_when(run.started)}　完成：{local_when(run.finished)}", lead),
             p(f"检查档案 {counts.get('dossiers', 0)} 份（住户 {counts.get('households', 0)}，"
               f"房源 {counts.get('units', 0)}，单位 {counts.get('employers', 0)}），文件 {counts.get('documents', 0)} 件、"
               f"存储文件 {counts.get('files', 0)} 个（{counts.get('bytes', 0) / 1048576:.1f} MB），"
               f"历史版本 {counts.get('versions', 0)} 个，审计日志 {counts.get('log_entries', 0)} 条。", lead)]
    severity = run.by_severity()
    story.append(p(f"发现问题 {len(run.findings)} 条：" + "，".join(
        f"{title_of(SEVERITIES, s)} {n}" for s, n in severity.items()) + "。"
        + (f"与第 {comparison.previous} 次审计相比：新发现 {len(comparison.new)} 条，"
           f"仍未解决 {len(comparison.still_open)} 条，已解决 {len(comparison.resolved)} 条。"
           if comparison.previous else "此前没有已完成的审计可供对比。"), lead))
    story += [p("一、各规则检查结果", head)]
    table = [[p("规则"), p("四性类别"), p("严重程度"), p("发现")]]
    for rule_id, n in run.by_rule().items():
        rule = RULES.get(rule_id)
        table.append([p(f"{rule.title() if rule else rule_id}（{rule_id}）"),
                      p(title_of(CATEGORIES, rule.category) if rule else ""),
                      p(title_of(SEVERITIES, rule.severity) if rule else ""), p(n)])
    story.append(grid_table(table, [70 * mm, 30 * mm, 25 * mm, 20 * mm]))
    story += [p("二、发现明细", head)]
    detail = [[p("档号"), p("情况"), p("严重程度"), p("对比上次"), p("确认")]]
    for row in rows(book, run):
        detail.append([p(row[5] or "—"), p(f"【{row[2]}】{row[7]}"), p(row[4]), p(row[8]), p(row[9] or "")])
    if len(detail) == 1:
        detail.append([p("—"), p("未发现问题"), p(""), p(""), p("")])
    story.append(grid_table(detail, [38 * mm, 80 * mm, 16 * mm, 18 * mm, 28 * mm]))
    return report_pdf(story, f"完整性审计报告 第{run.run_id}次", author=office)
