"""The quota decision as a PDF (房源租赁数量确定结果), filed into every applying employer's dossier.

One copy for the whole batch: the method, the seed's commitment and the seed, every
employer's approved requests and quota, and how to re-run it — so the copy in one
employer's dossier is enough to check every employer's number. No personal data appears.
"""
from __future__ import annotations

import io
import json
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ...records.pdf import chinese_font
from . import quota

FONT = chinese_font()
TITLE = ParagraphStyle("title", fontName=FONT, wordWrap="CJK", fontSize=16, leading=24, alignment=1)
BODY = ParagraphStyle("body", fontName=FONT, wordWrap="CJK", fontSize=9.5, leading=14)
VERIFY = {
    "draw": "复核：每个审核后申请的房源为一个号码（单位档号#序号），按 HMAC-SHA256（密钥为种子）"
            "十六进制值从小到大排序，前 N 个号码中选（N 为本批次房源数），单位租赁数量为其中选号码数。",
    "proportional": "复核：份额 = 审核后申请数 ÷ 审核后申请总数 × 房源数；先取整数部分，余下房源按小数部分"
                    "从大到小（最大余数法）每单位一套；小数部分相同的，按 HMAC-SHA256（密钥为种子，消息为单位档号）"
                    "从小到大排序。单位所得不超过其审核后申请数。",
    "order": "复核：按 HMAC-SHA256（密钥为种子，消息为单位档号）从小到大排出选房顺序号，"
             "各单位依次选取其审核后申请数，房源不足时取余下的数量。",
}


def decision_pdf(batch, books, day) -> bytes:
    d = batch.decision
    p = lambda text, style=BODY: Paragraph(escape(str(text)), style)  # noqa: E731
    story = [p(f"房源租赁数量确定结果（{batch.batch_id}）", TITLE), Spacer(1, 6 * mm),
             p(f"批次：{batch.title}；房源 {len(batch.units)} 套；日期 {day.isoformat()}"),
             p(f"确定方式：{quota.method_title(d.method)}")]
    if d.method != quota.AGREED:
        story += [p(f"协商未达成一致：{d.reason}"), p(f"种子承诺值（SHA-256）：{d.commitment}"),
                  p(f"摇号种子：{d.seed}"), p(VERIFY[d.method])]
    story.append(p(f"结果摘要（SHA-256）：{d.digest}"))
    detail = json.loads(d.detail) if d.detail else {}
    rows = [["单位档号", "单位名称", "审核后申请数", "租赁数量", "说明"]]
    approved = dict(d.requests)
    for no, n in d.result:
        extra = detail.get(no, {})
        note = (f"顺序号 {extra['order']}" if "order" in extra else
                f"份额 {extra['share']}，取整 {extra['floor']}+{extra['extra']}" if "share" in extra else
                f"中选号码 {sum(1 for t in extra.get('tickets', ()) if t[2])} 个" if "tickets" in extra else "")
        rows.append([no, books.employer(no).title, str(approved.get(no, "")), str(n), note])
    table = Table([[p(c) for c in row] for row in rows], colWidths=[38 * mm, 50 * mm, 24 * mm, 20 * mm, 40 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, (0.5, 0.5, 0.5)),
                               ("BACKGROUND", (0, 0), (-1, 0), (0.9, 0.9, 0.9))]))
    story += [Spacer(1, 4 * mm), table]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=f"房源租赁数量确定结果 {batch.batch_id}",
                      leftMargin=18 * mm, rightMargin=18 * mm).build(story)
    return out.getvalue()
