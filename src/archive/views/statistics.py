"""统计年报 on the web: the page with bar charts, the CSV and the Chinese PDF.

Thin on purpose: ``archive.custody.statistics`` counts and writes the files; these views
read the year, refuse a bad one (400), log each download in the audit log and render.
The charts are inline SVG drawn here (as ``views/audits.py`` draws its chart), no script.
"""
from __future__ import annotations

import datetime as _dt
from xml.sax.saxutils import escape

from pyramid.view import exception_view_config, view_config

from ..access.local import scope
from ..custody import statistics
from ..custody.statistics import StatisticsError
from ..records import filing
from .base import actor, local_time, report_download
from .errors import respond

BAR = "#1f77b4"


def _zone(request):
    return request.registry.settings.get("archive.timezone") or "Asia/Shanghai"


def _year(request) -> int:
    """The ``year`` asked for; this year (in the office's zone) when none is given."""
    value = request.GET.get("year")
    if value is None:
        return int(local_time(request, filing.now(), "%Y"))
    return statistics.parse_year(value)


def _report(request, year):
    """The year's report; a local role's (statistics@qujing) counts its places only."""
    return statistics.yearly_report(request.root, year, request.registry.archive_custody, _zone(request),
                                    scope(request, "statistics"))


def _names(request):
    return statistics.titles(request.registry.archive_schemas)


def bar_chart(chart_id, caption, bars) -> str:
    """Horizontal bars [(label, value)] as inline SVG; every text escaped. Empty: ''."""
    if not bars:
        return ""
    top = max([v for _, v in bars] + [1])
    label_w, plot_w, row_h, head = 150, 320, 22, 6
    width, height = label_w + plot_w + 60, head + row_h * len(bars) + 6
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-size="12" font-family="sans-serif">',
           f'<title>{escape(caption)}</title>']
    for i, (label, value) in enumerate(bars):
        y = head + i * row_h
        w = plot_w * value / top
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(str(label))}</text>'
                   f'<rect class="bar" data-label="{escape(str(label), {chr(34): "&quot;"})}" '
                   f'data-count="{value}" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                   f'fill="{BAR}"><title>{escape(str(label))}：{value}</title></rect>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" fill="#333">{value}</text>')
    out.append("</svg>")
    return "".join(out)


def _charts(request, report, names):
    def name(vocab, code):
        return names.get(vocab, {}).get(code) or code or request.t("（未填）")
    t = request.t
    return [
        (t("按辖区：文件（件）"), bar_chart("chart-city", t("按辖区"),
                                     [(name("jurisdictions", c), v.documents) for c, v in report.by_city.items()])),
        (t("按保管期限：文件（件）"), bar_chart("chart-retention", t("按保管期限"),
                                       [(name("retention_periods", c), v.documents) for c, v in report.by_retention.items()])),
        (t("按载体：文件（件）"), bar_chart("chart-carrier", t("按载体"),
                                     [(name("carriers", c), v.documents) for c, v in report.by_carrier.items()])),
        (t("利用：借阅单按月份"), bar_chart("chart-months", t("利用按月份"),
                                     [(f"{m}月", n) for m, n in report.loans_by_month.items()] if report.loans else [])),
        (t("利用：借阅单按目的"), bar_chart("chart-purposes", t("利用按目的"),
                                     [(name("loan_purposes", c), n) for c, n in report.loans_by_purpose.items()])),
        (t("审计发现按严重程度"), bar_chart("chart-severity", t("审计发现按严重程度"),
                                     [(name("severities", s), n) for s, n in report.findings_by_severity.items()])),
    ]


@view_config(route_name="statistics", request_method="GET", renderer="archive:templates/statistics.pt",
             permission="statistics")
def statistics_page(request):
    year = _year(request)
    report = _report(request, year)
    names = _names(request)
    return {"year": year, "report": report, "sections": statistics.sections(report, names),
            "charts": _charts(request, report, names),
            "csv_url": request.route_url("statistics_csv", _query={"year": year}),
            "pdf_url": request.route_url("statistics_pdf", _query={"year": year})}


def _download(request, body, content_type, extension):
    year = _year(request)
    report = _report(request, year)
    request.root.log.append(actor(request), "export", f"statistics/{year}",
                            f"统计年报 {extension.upper()}", filing.now())
    return report_download(body(report, _names(request)), content_type, f"统计年报-{year}.{extension}",
                           f"statistics-{year}.{extension}")


@view_config(route_name="statistics_csv", request_method="GET", permission="statistics")
def report_csv(request):
    return _download(request, statistics.as_csv, "text/csv", "csv")


@view_config(route_name="statistics_pdf", request_method="GET", permission="statistics")
def report_pdf(request):
    made = local_time(request, filing.now())
    return _download(request, lambda r, n: statistics.as_pdf(r, n, made), "application/pdf", "pdf")


@exception_view_config(StatisticsError)
def statistics_refused(exc, request):
    return respond(request, 400, str(exc))
