"""Hand-over packages on the web (移交与接收): one dossier's bag as a zip download, and the
四性检测 reports of the packages received (page, CSV, PDF).

Thin: ``archive.exchange`` writes the bag and keeps the reports; these views choose the
dossier, log that it left the archive, and render. Imports run from the command line only
(a package is a folder on the server, and a FileStorage admits one writer).
"""
from __future__ import annotations

import tempfile
import urllib.parse

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from ..exchange.bag import export_bag, zipped
from ..exchange.commands import OFFICE
from ..exchange.lists import intake_csv, intake_pdf
from ..records import filing
from .base import actor, local_time, schemas


def _attachment(body, content_type, filename):
    response = Response(body=body, content_type=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "private, no-store"
    return response


@view_config(route_name="dossier_bag", permission="export")
def dossier_bag(request):
    """The dossier's hand-over package (BagIt, zipped); its leaving the archive is logged."""
    dossier = request.context
    when = filing.now()
    with tempfile.TemporaryDirectory(prefix="bag-") as tmp:
        bag = f"{tmp}/{dossier.archive_no}"
        export_bag(request.root, [dossier], bag, schemas(request),
                   office=request.registry.settings.get("archive.office") or OFFICE,
                   actor=actor(request), when=when,
                   procedure=getattr(request.registry, "archive_procedure", None))
        body = zipped(bag)
    request.root.log.append(actor(request), "exchange.export", dossier.archive_no,
                            f"下载移交包（BagIt，{len(body):,} 字节）", when)
    return _attachment(body, "application/zip", f"{dossier.archive_no}-bag.zip")


def _report_or_404(request):
    report = request.root.receipts.get(request.matchdict["number"])
    if report is None:
        raise HTTPNotFound(request.t("没有这次接收检测：{n}", n=request.matchdict["number"]))
    return report


@view_config(route_name="receipts", renderer="archive:templates/receipts.pt", permission="export")
def receipts(request):
    return {"reports": request.root.receipts.newest(100), "when": lambda w: local_time(request, w)}


@view_config(route_name="receipt", renderer="archive:templates/receipt.pt", permission="export")
def receipt(request):
    report = _report_or_404(request)
    return {"report": report, "when": local_time(request, report.when),
            "failed": report.failed, "counts": report.by_category()}


@view_config(route_name="receipt_csv", permission="export")
def receipt_csv(request):
    report = _report_or_404(request)
    request.root.log.append(actor(request), "export", f"receipt/{report.number}", "下载四性检测报告（CSV）", filing.now())
    return _attachment(intake_csv(report), "text/csv", f"四性检测报告-{report.number}.csv")


@view_config(route_name="receipt_pdf", permission="export")
def receipt_pdf(request):
    report = _report_or_404(request)
    request.root.log.append(actor(request), "export", f"receipt/{report.number}", "下载四性检测报告（PDF）", filing.now())
    return _attachment(intake_pdf(report), "application/pdf", f"四性检测报告-{report.number}.pdf")
