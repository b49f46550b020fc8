"""Integrity audits (完整性审计, 四性检测) on the web and in JSON.

Thin on purpose: ``archive.audit.runs`` queues runs, compares them and keeps the
acknowledgements; the audit worker runs them after the queuing request has committed;
``archive.audit.report`` writes the CSV and the PDF. These views read the form or the
JSON, call the book, log what the auditor did (acknowledgement, export) and render.
"""
from __future__ import annotations

import dataclasses
import hashlib
from xml.sax.saxutils import escape

from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPNotFound
from pyramid.view import exception_view_config, view_config

from ..access.local import scope
from ..records import filing
from ..records.container import KINDS
from ..audit import report
from ..audit.rules import CATEGORIES, RULES, SEVERITIES, title_of
from ..audit.runs import AuditError, AuditRun
from .base import actor, dossier_url, _int_param, json_body, local_time, per_page_param, plain, report_download
from .errors import answer_405
from .errors import respond

CHART_RUNS = 10
REFRESH_SECONDS = 2
# one colour per rule in the chart (report order); more rules than colours wrap around
PALETTE = ("#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d", "#31a354")
SEVERITY_CLASS = {"critical": "danger", "major": "warning", "minor": "secondary"}
FINDING_STATUS = {"new": "新发现", "open": "仍未解决", "resolved": "已解决"}


def book(request):
    return request.root.audits


def run_or_404(request):
    run = book(request).get(request.matchdict["run_id"])
    if run is None:
        raise HTTPNotFound(request.t("没有这次审计：{id}", id=request.matchdict["run_id"]))
    return seen(request, run)


def _keep(request):
    """For a user with local roles only: whether a finding concerns a dossier of its places
    (findings on no dossier, or on one no longer kept, are not theirs); None for everyone."""
    places = scope(request, "audit")
    if places is None:
        return None
    root = request.root

    def keep(finding):
        if finding.kind not in KINDS or not finding.dossier:
            return False
        dossier = root.container(finding.kind).get(finding.dossier)
        return dossier is not None and places.admits(dossier)
    return keep


def seen(request, run):
    """The run as the user may see it: with a local role, only its places' findings, and
    every count taken over those (archive.access.local)."""
    keep = _keep(request)
    return run if keep is None else Narrowed(run, keep)


class Narrowed:
    """An audit run restricted to some findings; counts and groups are over those only."""

    def __init__(self, run, keep):
        self._run, self.keep = run, keep
        self.findings = [f for f in run.findings if keep(f)]
        self.counts = {}   # what the run read (dossiers, files, bytes): the whole archive's

    def __getattr__(self, name):
        return getattr(self._run, name)

    by_rule, by_severity, grouped, critical = (AuditRun.by_rule, AuditRun.by_severity,
                                               AuditRun.grouped, AuditRun.critical)


def compare(request, run):
    """The run against the one before it (a narrowed run: only the findings it may see)."""
    comparison = book(request).compare(run)
    keep = getattr(run, "keep", None)
    if keep is None:
        return comparison
    return dataclasses.replace(comparison, resolved=tuple(f for f in comparison.resolved if keep(f)))


def queue(request, rules, trigger):
    """A queued run for the audit worker (it starts within seconds of this commit)."""
    if rules is not None and (not isinstance(rules, list) or
                              any(not isinstance(r, str) for r in rules)):
        raise AuditError("审计规则：应为规则编号的列表")
    return book(request).new_run(actor(request), filing.now(), trigger, list(rules or ()) or None)


def anchor(fingerprint) -> str:
    """A stable HTML id for a finding (the same fault keeps it from run to run)."""
    return "f-" + hashlib.sha1(fingerprint.encode("utf-8")).hexdigest()[:12]


def dossier_href(request, finding, api=False):
    """The page (or API resource) of the dossier a finding concerns, if it is still there."""
    if finding.kind not in KINDS or not finding.dossier:
        return None
    dossier = request.root.container(finding.kind).get(finding.dossier)
    if dossier is None:
        return None
    return dossier_url(request, dossier, "api_dossier" if api else "dossier")


def acknowledge(request, run, fingerprint, comment):
    if not isinstance(fingerprint, str) or not fingerprint:
        raise AuditError("请指明要确认的审计发现")
    if not isinstance(comment, str):
        raise AuditError("说明：应为文本")
    ack = book(request).acknowledge(run, fingerprint, actor(request), filing.now(), comment)
    request.root.log.append(actor(request), "audit.ack", f"audit/{run.run_id}",
                            f"{fingerprint}：{ack.comment[:200]}", ack.when)
    return ack


# -- the chart ---------------------------------------------------------------------------------
def chart_svg(request, history) -> str:
    """Stacked bars of findings per rule over the last finished runs, with a legend.

    Drawn here as inline SVG (no script); every text is escaped."""
    locale = request.ui_locale
    if not history:
        return ""
    rules = []
    for _, _, counts in history:
        for rule_id, n in counts.items():
            if n and rule_id not in rules:
                rules.append(rule_id)
    order = list(RULES)
    rules.sort(key=lambda r: order.index(r) if r in order else len(order))
    colour = {r: PALETTE[(order.index(r) if r in order else i) % len(PALETTE)]
              for i, r in enumerate(rules)}
    totals = [sum(counts.get(r, 0) for r in rules) for _, _, counts in history]
    top = max(totals + [1])
    step = _nice_step(top)
    top = -(-top // step) * step
    left, plot_h, bar_w, gap, head = 44, 180, 34, 18, 14
    width = left + len(history) * (bar_w + gap) + gap
    legend_y = head + plot_h + 40
    rows = -(-max(len(rules), 1) // 3)
    height = legend_y + rows * 20 + 6
    width = max(width, 600)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="audit-chart" role="img" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-size="11" font-family="sans-serif">',
           f'<title>{escape(request.t("各规则发现数（最近 {n} 次审计）", n=len(history)))}</title>']
    for value in range(0, top + 1, step):
        y = head + plot_h - plot_h * value / top
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{value}</text>')
    for i, (run_id, finished, counts) in enumerate(history):
        x = left + gap + i * (bar_w + gap)
        y = head + plot_h
        for rule_id in rules:
            n = counts.get(rule_id, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            rule = RULES.get(rule_id)
            name = rule.title(locale) if rule else rule_id
            out.append(f'<rect class="bar" data-run="{run_id}" data-rule="{escape(rule_id)}" '
                       f'data-count="{n}" x="{x}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" '
                       f'fill="{colour[rule_id]}"><title>{escape(request.t("第 {n} 次", n=run_id))} · '
                       f'{escape(name)}：{n}</title></rect>')
        total = sum(counts.get(r, 0) for r in rules)
        out.append(f'<text x="{x + bar_w / 2}" y="{y - 3:.1f}" text-anchor="middle">{total}</text>')
        href = escape(request.route_url("audit", run_id=run_id), {'"': "&quot;"})
        out.append(f'<a href="{href}"><text x="{x + bar_w / 2}" y="{head + plot_h + 15}" '
                   f'text-anchor="middle" fill="#0d6efd">#{run_id}</text></a>'
                   f'<text x="{x + bar_w / 2}" y="{head + plot_h + 28}" text-anchor="middle" '
                   f'fill="#666" font-size="9">{escape(local_time(request, finished, "%m-%d"))}</text>')
    out.append(f'<line x1="{left}" y1="{head + plot_h}" x2="{width - 4}" y2="{head + plot_h}" stroke="#999"/>')
    if not rules:
        out.append(f'<text x="{left + 8}" y="{head + plot_h / 2}" fill="#2ca02c">'
                   f'{escape(request.t("最近的审计均未发现问题"))}</text>')
    column = (width - left) / 3
    for i, rule_id in enumerate(rules):
        x = left + (i % 3) * column
        y = legend_y + (i // 3) * 20
        rule = RULES.get(rule_id)
        name = rule.title(locale) if rule else rule_id
        out.append(f'<g class="legend" data-rule="{escape(rule_id)}"><rect x="{x}" y="{y - 10}" '
                   f'width="12" height="12" fill="{colour[rule_id]}"/>'
                   f'<text x="{x + 17}" y="{y}">{escape(name)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _nice_step(top):
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if top / step <= 5:
            return step
    return 10000


# -- pages -----------------------------------------------------------------------------------
def _rule_choices(request):
    locale = request.ui_locale
    return [(r.id, r.title(locale), title_of(SEVERITIES, r.severity, locale),
             title_of(CATEGORIES, r.category, locale), r.description(locale)) for r in RULES.values()]


def _history(request):
    """The chart's (run id, finished, {rule: count}): over the findings the user may see."""
    if _keep(request) is None:
        return book(request).history(CHART_RUNS)
    runs = [r for r in book(request).newest(CHART_RUNS * 3) if r.done][:CHART_RUNS]
    return [(r.run_id, r.finished, seen(request, r).by_rule()) for r in reversed(runs)]


def _list_page(request, error=None, chosen=()):
    runs = [seen(request, r) for r in book(request).newest(50)]
    return {"runs": runs, "total": len(book(request)), "error": error, "chosen": set(chosen),
            "rules": _rule_choices(request), "chart": chart_svg(request, _history(request)),
            "severities": [(s, title_of(SEVERITIES, s, request.ui_locale), SEVERITY_CLASS[s])
                           for s in SEVERITIES],
            "refresh": REFRESH_SECONDS * 2 if any(r.status in ("queued", "running") for r in runs[:5])
            else None}


@view_config(route_name="audits", request_method="GET", renderer="archive:templates/audits.pt",
             permission="audit")
def audits_page(request):
    return _list_page(request)


@view_config(route_name="audits", request_method="POST", renderer="archive:templates/audits.pt",
             permission="audit")
def start_audit(request):
    """发起审计: every rule, or those ticked; the run is queued and its page shown."""
    chosen = [r for r in request.POST.getall("rules") if r]
    try:
        run = queue(request, chosen, "web")
    except AuditError as exc:
        request.response.status = 400
        return _list_page(request, str(exc), chosen)
    request.session.flash(request.t("已发起第 {n} 次完整性审计，正在排队", n=run.run_id))
    return HTTPFound(request.route_url("audit", run_id=run.run_id))


def _filters(request):
    severity = request.params.get("severity") or ""
    rule = request.params.get("rule") or ""
    if severity and severity not in SEVERITIES:
        raise HTTPBadRequest(request.t("严重程度：没有“{v}”，可选 {all}", v=severity, all="、".join(SEVERITIES)))
    if rule and rule not in RULES:
        raise HTTPBadRequest(request.t("审计规则：没有“{v}”", v=rule))
    return severity, rule


def _run_page(request, run, error=None, failed_ack=None):
    severity, rule_filter = _filters(request)
    locale = request.ui_locale
    keep = (lambda f: (not severity or f.severity == severity) and (not rule_filter or f.rule == rule_filter))
    comparison = compare(request, run) if run.done else None
    order = list(SEVERITIES)
    groups = []
    for rule, rule_id, findings in run.grouped():
        shown = [f for f in findings if keep(f)]
        if shown:
            groups.append((rule, rule_id, shown))
    groups.sort(key=lambda g: order.index(g[0].severity if g[0] else g[2][0].severity))
    resolved = [f for f in (comparison.resolved if comparison else ()) if keep(f)]
    done, total = run.progress
    counts = run.counts or {}
    return {
        "run": run, "comparison": comparison, "groups": groups, "resolved": resolved,
        "error": error, "failed_ack": failed_ack or {},
        "severity": severity, "rule_filter": rule_filter,
        "severities": [(s, title_of(SEVERITIES, s, locale), SEVERITY_CLASS[s], n)
                       for s, n in run.by_severity().items()],
        "rule_counts": [(r, RULES[r].title(locale) if r in RULES else r, n)
                        for r, n in run.by_rule().items()],
        "percent": int(100 * done / total) if total else 0, "done": done, "total": total,
        "counts": counts, "mb": f"{counts.get('bytes', 0) / 1048576:.1f}",
        "seconds": run.seconds(),
        "refresh": REFRESH_SECONDS if run.status in ("queued", "running") else None,
        "severity_title": lambda s: title_of(SEVERITIES, s, locale),
        "severity_class": lambda s: SEVERITY_CLASS.get(s, "secondary"),
        "category_title": lambda c: title_of(CATEGORIES, c, locale),
        "rule_title": lambda r: RULES[r].title(locale) if r in RULES else r,
        "status_title": lambda s: request.t(FINDING_STATUS[s]),
        "status_of": (lambda f: comparison.status(f)) if comparison else (lambda f: "new"),
        "acks": lambda f: book(request).acks(f.fingerprint),
        "anchor": anchor, "href": lambda f: dossier_href(request, f),
        "filter_url": lambda **kw: request.route_url("audit", run_id=run.run_id, _query={
            k: v for k, v in {"severity": severity, "rule": rule_filter, **kw}.items() if v}),
    }


@view_config(route_name="audit", request_method="GET", renderer="archive:templates/audit.pt",
             permission="audit")
def audit_page(request):
    return _run_page(request, run_or_404(request))


@view_config(route_name="audit_acks", request_method="POST", renderer="archive:templates/audit.pt",
             permission="audit")
def acknowledge_form(request):
    """确认: a comment on one finding; an empty one is refused (400) and nothing is kept."""
    run = run_or_404(request)
    fingerprint = request.POST.get("fingerprint", "")
    comment = request.POST.get("comment", "")
    try:
        acknowledge(request, run, fingerprint, comment)
    except AuditError as exc:
        request.response.status = 400
        return _run_page(request, run, str(exc), {"fingerprint": fingerprint, "comment": comment})
    request.session.flash(request.t("已确认该审计发现"))
    return HTTPFound(request.route_url("audit", run_id=run.run_id, _anchor=anchor(fingerprint)))


def _download(request, run, body, content_type, extension):
    if not run.done:
        raise HTTPNotFound(request.t("第 {n} 次审计尚未完成，没有报告", n=run.run_id))
    name = f"完整性审计报告-第{run.run_id}次.{extension}"
    request.root.log.append(actor(request), "export", f"audit/{run.run_id}",
                            f"审计报告 {extension.upper()}", filing.now())
    return report_download(body(), content_type, name, f"audit-{run.run_id}.{extension}")


@view_config(route_name="audit_csv", request_method="GET", permission="audit")
def report_csv(request):
    run = run_or_404(request)
    return _download(request, run, lambda: report.as_csv(book(request), run), "text/csv", "csv")


@view_config(route_name="audit_pdf", request_method="GET", permission="audit")
def report_pdf(request):
    run = run_or_404(request)
    return _download(request, run, lambda: report.as_pdf(book(request), run,
                                                          lambda when: local_time(request, when)),
                     "application/pdf", "pdf")


# -- JSON --------------------------------------------------------------------------------------
def run_summary(request, run):
    done, total = run.progress
    return {"run_id": run.run_id, "status": run.status,
            "status_title": run.status_title(request.ui_locale), "trigger": run.trigger,
            "actor": run.actor, "requested": plain(run.requested), "started": plain(run.started),
            "finished": plain(run.finished), "progress": {"done": done, "total": total},
            "rules": list(run.rules), "findings": len(run.findings),
            "by_severity": run.by_severity(), "error": run.error or None,
            "href": request.route_url("api_audit", run_id=run.run_id),
            "html": request.route_url("audit", run_id=run.run_id)}


def finding_json(request, finding, status):
    rule = RULES.get(finding.rule)
    return {"fingerprint": finding.fingerprint, "rule": finding.rule,
            "rule_title": rule.title(request.ui_locale) if rule else finding.rule,
            "category": rule.category if rule else None, "severity": finding.severity,
            "message": finding.message, "kind": finding.kind or None,
            "archive_no": finding.dossier or None, "subject": finding.subject,
            "status": status, "dossier": dossier_href(request, finding, api=True),
            "acks": [ack_json(a) for a in book(request).acks(finding.fingerprint)]}


def ack_json(ack):
    return {"actor": ack.actor, "when": plain(ack.when), "comment": ack.comment, "run_id": ack.run_id}


def run_json(request, run):
    comparison = compare(request, run) if run.done else None
    return {**run_summary(request, run), "counts": run.counts or {},
            "seconds": run.seconds(), "by_rule": run.by_rule(),
            "previous": comparison.previous if comparison else None,
            "items": [finding_json(request, f, comparison.status(f) if comparison else "new")
                      for f in run.findings] if run.done else [],
            "resolved": [finding_json(request, f, "resolved") for f in comparison.resolved]
            if comparison else [],
            "links": {"self": request.route_url("api_audit", run_id=run.run_id),
                      "acks": request.route_url("api_audit_acks", run_id=run.run_id),
                      "html": request.route_url("audit", run_id=run.run_id),
                      "csv": request.route_url("audit_csv", run_id=run.run_id),
                      "pdf": request.route_url("audit_pdf", run_id=run.run_id)}}


@view_config(route_name="api_audits", request_method="GET", renderer="json", permission="audit")
def api_runs(request):
    """Audit runs, newest first, a page at a time."""
    page = _int_param(request, "page", "页码", 1)
    per_page = per_page_param(request)
    runs = book(request).newest(page * per_page)
    return {"total": len(book(request)), "page": page, "per_page": per_page,
            "rules": [{"id": r.id, "title": r.title(request.ui_locale), "severity": r.severity,
                       "category": r.category, "description": r.description(request.ui_locale)}
                      for r in RULES.values()],
            "items": [run_summary(request, seen(request, r)) for r in runs[(page - 1) * per_page:]]}


@view_config(route_name="api_audits", request_method="POST", renderer="json", permission="audit")
def api_start(request):
    """JSON {"rules": [...]} (optional; every rule when left out) → 202 with the queued run."""
    body = json_body(request) if request.body else {}
    run = queue(request, body.get("rules"), "api")
    request.response.status = 202
    request.response.location = request.route_url("api_audit", run_id=run.run_id)
    return run_json(request, seen(request, run))


@view_config(route_name="api_audit", request_method="GET", renderer="json", permission="audit")
def api_run(request):
    return run_json(request, run_or_404(request))


@view_config(route_name="api_audit_acks", request_method="POST", renderer="json", permission="audit")
def api_acknowledge(request):
    """JSON {"fingerprint", "comment"} → 201 with the acknowledgement."""
    run = run_or_404(request)
    body = json_body(request)
    ack = acknowledge(request, run, body.get("fingerprint"), body.get("comment"))
    request.response.status = 201
    request.response.location = request.route_url("api_audit", run_id=run.run_id)
    return {"fingerprint": ack.fingerprint, **ack_json(ack),
            "acks": [ack_json(a) for a in book(request).acks(ack.fingerprint)]}


@view_config(route_name="api_audits", require_csrf=False)
@view_config(route_name="api_audit", require_csrf=False)
@view_config(route_name="api_audit_acks", require_csrf=False)
def method_not_allowed(request):
    """405 with Allow, as views/api.py answers for the other API paths."""
    return answer_405(request)


@exception_view_config(AuditError)
def audit_refused(exc, request):
    return respond(request, 400, str(exc))
