"""Statistics (统计年报): what the archive holds at the end of a year, what came in during it,
how it was used (利用) and how it was audited — counted, never stored.

Holdings are read from the dossiers as they stand: a dossier counts if it was created by the
end of the year, a document if it is current (not withdrawn) and its first file was filed by
then; its pages are those of its current file. A document withdrawn after the year's end is
therefore not counted in that year's holdings (withdrawals carry no date of their own here).
Loans count by the month they were requested; audits by the month they were requested, with
the findings of the finished runs by rule and by severity. Years are the office's calendar
years (``zone``), since a clerk's "2026" ends at midnight in Beijing, not in UTC.

Nothing here knows about the web: the views render the :class:`Report`; ``as_csv`` and
``as_pdf`` write it for download, with titles from the vocabularies (``titles``).
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from ..records.container import KINDS as DOSSIER_KINDS
from . import arrangement

MIN_YEAR, MAX_YEAR = 1900, 9999
KINDS = {"household": "住户档案（一户一档）", "unit": "房源档案（一套一档）",
         "employer": "单位集体申请档案"}   # a row each: every kind of records.container.KINDS
MONTHS = tuple(range(1, 13))


class StatisticsError(ValueError):
    """A year the report cannot be made for; the message is for the clerk."""


@dataclass
class Tally:
    """Dossiers, documents and pages counted under one heading (a city, a kind …)."""
    dossiers: int = 0
    documents: int = 0
    pages: int = 0


@dataclass
class Report:
    """统计年报 of one year. Every mapping is code → count (or → :class:`Tally`)."""
    year: int
    holdings: Tally = field(default_factory=Tally)
    by_city: dict = field(default_factory=dict)
    by_kind: dict = field(default_factory=dict)
    by_retention: dict = field(default_factory=dict)   # documents only: a period is a document's
    by_carrier: dict = field(default_factory=dict)
    added: Tally = field(default_factory=Tally)
    loans: int = 0
    loans_by_purpose: dict = field(default_factory=dict)
    loans_by_form: dict = field(default_factory=dict)
    loans_by_month: dict = field(default_factory=dict)
    audits: int = 0
    audits_done: int = 0
    findings: int = 0
    findings_by_rule: dict = field(default_factory=dict)
    findings_by_severity: dict = field(default_factory=dict)
    forms: dict = field(default_factory=dict)      # city → Forms: 保障方式 at the year's end


@dataclass
class Forms:
    """Households secured in kind (a lease running on 31 December) and by rent subsidy (a
    grant covering that day), and the subsidy paid out during the year (曲靖 第（六）条 asks
    for the share of money to grow: the report shows it)."""
    in_kind: int = 0
    subsidy: int = 0
    payments: int = 0
    paid: float = 0.0

    @property
    def share(self) -> str:
        total = self.in_kind + self.subsidy
        return f"{100 * self.subsidy / total:.1f}%" if total else "—"


def parse_year(value) -> int:
    """The year asked for, or a clear refusal (a form field or query parameter)."""
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or not (MIN_YEAR <= int(text) <= MAX_YEAR):
        raise StatisticsError(f"年度应为 {MIN_YEAR} 至 {MAX_YEAR} 之间的四位数字，收到：{text[:20] or '（空）'}")
    return int(text)


def _local_year(when, zone):
    return when.astimezone(zone).year if when is not None else None


def _tally(mapping, key, dossiers=0, documents=0, pages=0):
    t = mapping.setdefault(key, Tally())
    t.dossiers += dossiers
    t.documents += documents
    t.pages += pages


def yearly_report(root, year, rules=None, zone="Asia/Shanghai", scope=None) -> Report:
    """Count the archive for ``year``: holdings at its end, additions, loans, audits.

    ``scope`` (archive.access.local.Scope; None: everything) narrows every count to a
    local role's places: its dossiers, the loans naming only those, the findings on those.
    Audit runs themselves are the archive's, and counted as such."""
    year = parse_year(year)
    rules = rules if rules is not None else arrangement.default_rules()
    tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone
    report = Report(year)
    for kind in DOSSIER_KINDS:
        container = root.container(kind)
        dossiers = container.values() if scope is None else (container[k] for k in scope.ids(container))
        for dossier in dossiers:
            _count_dossier(report, dossier, kind, year, rules, tz)
    _count_loans(report, root.loans, year, tz, _loan_filter(root, scope))
    _count_audits(report, root.audits, year, tz, _finding_filter(root, scope))
    return report


def _loan_filter(root, scope):
    """Whether a loan counts: with a scope, only one whose every item lies in it."""
    if scope is None:
        return lambda loan: True
    return lambda loan: scope.admits_all(root, ((i.kind, i.archive_no) for i in loan.items))


def _finding_filter(root, scope):
    """Whether a finding counts: with a scope, only one on a dossier in it."""
    if scope is None:
        return lambda finding: True
    return lambda f: bool(f.dossier) and f.kind in DOSSIER_KINDS \
        and scope.admits_all(root, [(f.kind, f.dossier)])


def _count_dossier(report, dossier, kind, year, rules, tz):
    created = _local_year(dossier.created, tz)
    if created is None or created > year:
        return
    city = (dossier.metadata or {}).get("jurisdiction") or ""
    docs = []
    for doc in dossier.active_documents():
        revision = doc.current_file
        first = doc.files[0].filed_at if len(doc.files) else None
        filed = _local_year(first, tz)
        if revision is None or filed is None or filed > year:
            continue
        docs.append((doc, revision.pages or 0, filed))
    pages = sum(p for _, p, _ in docs)
    report.holdings.dossiers += 1
    report.holdings.documents += len(docs)
    report.holdings.pages += pages
    _tally(report.by_city, city, 1, len(docs), pages)
    _tally(report.by_kind, kind, 1, len(docs), pages)
    for doc, n, filed in docs:
        _tally(report.by_retention, arrangement.retention(doc, rules), 0, 1, n)
        _tally(report.by_carrier, arrangement.carrier(doc), 0, 1, n)
        if filed == year:
            report.added.documents += 1
            report.added.pages += n
    if created == year:
        report.added.dossiers += 1
    if kind == "household":
        _count_forms(report, dossier, city, year)


def _count_forms(report, dossier, city, year):
    end = _dt.date(year, 12, 31)
    forms = None
    for lease in getattr(dossier, "leases", ()):
        if lease.start is not None and lease.start <= end and lease.state in ("current", "ended") \
                and (lease.ended_on is None or lease.ended_on > end):
            forms = report.forms.setdefault(city, Forms())
            forms.in_kind += 1
            break
    for grant in getattr(dossier, "subsidies", ()):
        if grant.start is None:
            continue
        forms = report.forms.setdefault(city, Forms())
        if grant.start <= end and (grant.end is None or grant.end >= end) and grant.state in ("current", "ended") \
                and grant.granted is not None and grant.granted <= end:
            forms.subsidy += 1
        for payment in grant.payments:
            if payment.paid_on.year == year:
                forms.payments += 1
                forms.paid += payment.amount


def _count_loans(report, book, year, tz, counts):
    purposes, forms, months = Counter(), Counter(), Counter()
    for loan in book.values():
        when = loan.requested.astimezone(tz)
        if when.year != year or not counts(loan):
            continue
        purposes[loan.purpose] += 1
        forms[loan.form] += 1
        months[when.month] += 1
    report.loans = sum(months.values())
    report.loans_by_purpose, report.loans_by_form = dict(purposes), dict(forms)
    report.loans_by_month = {m: months.get(m, 0) for m in MONTHS}


def _count_audits(report, book, year, tz, counts):
    rules, severities = Counter(), Counter()
    for run in book.newest(len(book)):
        if _local_year(run.requested, tz) != year:
            continue
        report.audits += 1
        if not run.done:
            continue
        report.audits_done += 1
        for finding in filter(counts, run.findings):
            rules[finding.rule] += 1
            severities[finding.severity] += 1
    report.findings = sum(severities.values())
    report.findings_by_rule, report.findings_by_severity = dict(rules), dict(severities)


# -- titles and tables (what the page, the CSV and the PDF show) ------------------------------
def titles(schemas) -> dict:
    """vocabulary → {code: 中文名} for every code the report shows."""
    out = {name: {t.code: t.zh for t in schemas.vocabularies[name].terms}
           for name in ("jurisdictions", "retention_periods", "carriers", "loan_purposes", "loan_forms")}
    out["kinds"] = dict(KINDS)
    from ..audit.rules import RULES, SEVERITIES
    out["rules"] = {r.id: r.title() for r in RULES.values()}
    out["severities"] = {code: pair[0] for code, pair in SEVERITIES.items()}
    return out


def sections(report, names) -> list:
    """[(heading, [column heads], [rows])]: one table per part, in the order of the report."""
    def name(vocab, code):
        return names.get(vocab, {}).get(code) or code or "（未填）"

    def tallies(vocab, mapping, docs_only=False):
        rows = []
        for code, t in sorted(mapping.items(), key=lambda kv: -kv[1].documents):
            rows.append([name(vocab, code)] + ([] if docs_only else [t.dossiers]) + [t.documents, t.pages])
        return rows

    head3, head2 = ["档案（份）", "文件（件）", "页数"], ["文件（件）", "页数"]
    h, a = report.holdings, report.added
    return [
        (f"一、{report.year}年末馆藏总量", ["项目"] + head3, [["合计", h.dossiers, h.documents, h.pages]]),
        ("二、按辖区（城市）", ["辖区"] + head3, tallies("jurisdictions", report.by_city)),
        ("三、按档案类别", ["类别"] + head3, tallies("kinds", report.by_kind)),
        ("四、按保管期限", ["保管期限"] + head2, tallies("retention_periods", report.by_retention, True)),
        ("五、按载体", ["载体"] + head2, tallies("carriers", report.by_carrier, True)),
        (f"六、{report.year}年新增", ["项目"] + head3, [["新增", a.dossiers, a.documents, a.pages]]),
        ("七、利用（借阅）按目的", ["利用目的", "借阅单（份）"],
         [[name("loan_purposes", c), n] for c, n in sorted(report.loans_by_purpose.items(), key=lambda kv: -kv[1])]),
        ("八、利用（借阅）按方式", ["利用方式", "借阅单（份）"],
         [[name("loan_forms", c), n] for c, n in sorted(report.loans_by_form.items(), key=lambda kv: -kv[1])]),
        ("九、利用（借阅）按月份", ["月份", "借阅单（份）"],
         [[f"{m}月", report.loans_by_month.get(m, 0)] for m in MONTHS]),
        ("十、完整性审计", ["项目", "数量"],
         [["发起审计（次）", report.audits], ["已完成（次）", report.audits_done], ["发现问题（条）", report.findings]]
         + [[f"严重程度：{name('severities', s)}", n] for s, n in report.findings_by_severity.items()]),
        ("十一、审计发现按规则", ["规则", "发现（条）"],
         [[f"{name('rules', r)}（{r}）", n] for r, n in sorted(report.findings_by_rule.items(), key=lambda kv: -kv[1])]),
        ("十二、保障方式（年末实物配租与租赁补贴）",
         ["辖区", "实物配租（户）", "租赁补贴（户）", "货币化保障比例", "补贴发放（笔）", "补贴发放金额（元）"],
         [[name("jurisdictions", c), f.in_kind, f.subsidy, f.share, f.payments, f"{f.paid:,.2f}"]
          for c, f in sorted(report.forms.items())]),
    ]


def as_csv(report, names) -> bytes:
    """UTF-8 with a byte-order mark (a spreadsheet opens it as Chinese); one block per part."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"统计年报 {report.year}年"])
    for heading, head, rows in sections(report, names):
        writer.writerow([])
        writer.writerow([_cell(heading)])
        writer.writerow([_cell(h) for h in head])
        for row in rows:
            writer.writerow([_cell(str(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value):
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def as_pdf(report, names, made_at="", office="公共租赁住房档案室") -> bytes:
    """The report as a PDF set in STSong-Light, so pypdf (and a reader) get the Chinese back."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    from ..records.pdf import chinese_font, grid_table, report_pdf
    base = dict(fontName=chinese_font(), wordWrap="CJK")
    title = ParagraphStyle("t", fontSize=18, leading=26, alignment=1, **base)
    lead = ParagraphStyle("l", fontSize=10, leading=15, alignment=1, **base)
    head = ParagraphStyle("h", fontSize=12, leading=18, spaceBefore=8, spaceAfter=3, **base)
    cell = ParagraphStyle("c", fontSize=9, leading=12, **base)

    def p(text, style=cell):
        return Paragraph(escape(str(text)), style)

    story = [p(f"{office}{report.year}年统计年报", title), Spacer(1, 3 * mm),
             p(f"统计截至 {report.year}年12月31日" + (f"　制表时间：{made_at}" if made_at else ""), lead)]
    for heading, columns, rows in sections(report, names):
        story.append(p(heading, head))
        data = [[p(c) for c in columns]] + [[p(v) for v in row] for row in rows or [["无"] + [""] * (len(columns) - 1)]]
        first = 70 * mm
        rest = (180 * mm - first) / max(len(columns) - 1, 1)
        story.append(grid_table(data, [first] + [rest] * (len(columns) - 1)))
    return report_pdf(story, f"统计年报 {report.year}", author=office)
