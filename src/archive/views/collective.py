"""Collective applications by employers (单位集体申请, 厦门 seed 002): the batch plans, their
steps and quota decisions, and the employers' dossiers — pages and JSON API.

Thin: each view reads its input and calls ``archive.workflow.collective.steps``; a refusal
(CollectiveError) is its 4xx with the model's message, and nothing is stored.
"""
from __future__ import annotations

import json

from pyramid.httpexceptions import HTTPForbidden, HTTPFound, HTTPNotFound
from pyramid.view import exception_view_config, view_config

from ..access.local import ids_in, scope
from ..records import filing
from ..records.filing import ValidationFailed
from ..workflow.collective import quota, steps
from ..workflow.collective.batch import STATES, CollectiveError, book
from ..workflow.collective.rules import APPLICANTS
from .base import _int_param, actor, can, json_body, per_page_param, plain, read_upload, schemas
from .errors import answer_405, respond
from .custody import custody_panel
from .disposition import disposition_json, disposition_panel
from .dossiers import versions_panel

STEPS = {  # step → (title, permission)
    "apply": ("单位集体申请", "transition"), "close": ("受理截止", "transition"),
    "review": ("审核", "transition"), "publicity": ("审核结果公示", "transition"),
    "propose": ("提出初步分配方案", "transition"), "agree": ("协商确定", "transition"),
    "announce": ("预告确定方式", "lottery"), "decide": ("确定房源租赁数量", "lottery"),
    "report": ("报送配租结果", "transition"),
}


def _procedure(request):
    return request.registry.archive_procedure


def _batch_or_404(request):
    batch = book(request.root).get(request.matchdict["batch_id"])
    if batch is None:
        raise HTTPNotFound(request.t("批次不存在"))
    return batch


def _employer_or_404(request):
    employer = book(request.root).employer(request.matchdict["no"])
    if employer is None:
        raise HTTPNotFound(request.t("单位集体申请档案不存在"))
    return employer


def run_step(request, batch, step, body):
    """Take one step of the batch with the body's fields; returns what the step returns."""
    if not isinstance(step, str) or step not in STEPS:
        raise CollectiveError(f"未知的步骤：{step}（可办理：{'、'.join(STEPS)}）", "step")
    if not can(request, STEPS[step][1], request.root):
        raise HTTPForbidden(request.t("无权办理此步骤"))
    root, procedure, who, now = request.root, _procedure(request), actor(request), filing.now()
    get = body.get
    if step == "apply":
        return steps.apply(root, schemas(request), procedure, batch, get("credit_code"), get("members"),
                           who, now, get("contact") or "", get("comment") or "")
    if step == "close":
        return steps.close(root, procedure, batch, who, now)
    if step == "review":
        refused = get("refused") or {}
        return steps.review(root, procedure, batch, get("employer"), _list(get("approved")), refused,
                            who, now, get("late_reason") or "")
    if step == "publicity":
        return steps.publish_results(root, procedure, batch, who, now, get("starts_on"))
    if step == "propose":
        return steps.propose(root, procedure, batch, get("proposal"), who, now, get("late_reason") or "")
    if step == "agree":
        return steps.agree(root, procedure, batch, who, now, get("comment") or "")
    if step == "announce":
        return steps.announce(root, procedure, batch, get("method"), get("reason"), get("draw_on"),
                              who, now, get("commitment") or None)
    if step == "decide":
        return steps.decide(root, procedure, batch, get("seed"), who, now)
    return steps.report(root, procedure, batch, get("employer"), get("allocation"), who, now)


def _list(value):
    if value is None:
        return []
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise CollectiveError("审核通过的住户应为档号列表", "approved")
    return value


# -- JSON --------------------------------------------------------------------------------------
def batch_summary(request, batch):
    return {"batch_id": batch.batch_id, "jurisdiction": batch.jurisdiction, "title": batch.title,
            "state": batch.state, "state_title": batch.state_title(request.ui_locale),
            "units": len(batch.units), "applications": len(batch.applications),
            "href": request.route_url("api_batch", batch_id=batch.batch_id)}


def batch_json(request, batch):
    employers = book(request.root)
    d = batch.decision
    return {**batch_summary(request, batch),
            "plan": dict(batch.plan), "unit_numbers": list(batch.units),
            "opens_on": plain(batch.opens_on), "closes_on": plain(batch.closes_on),
            "named_employers": [{"credit_code": c, "name": n, "type": t} for c, n, t in batch.employers],
            "review_due": plain(batch.review_due), "publicity_from": plain(batch.publicity_from),
            "publicity_to": plain(batch.publicity_to), "proposal_due": plain(batch.proposal_due),
            "employers": [employer_summary(request, employers.employer(no), batch) for no in batch.applications],
            "proposal": dict(batch.proposal) if batch.proposal else None,
            "decision": None if d is None else {
                "method": d.method, "method_title": quota.method_title(d.method, request.ui_locale),
                "reason": d.reason, "commitment": d.commitment or None, "draw_on": plain(d.draw_on),
                "seed": d.seed, "result": dict(d.result) if d.result else None,
                "detail": json.loads(d.detail) if d.detail else None, "digest": d.digest or None,
                "decided_at": plain(d.when), "decided_by": d.actor, "verified": d.verify()},
            "allocations": [{"employer": e, "household": h, "unit": u} for e, h, u in batch.allocations],
            "events": [{"when": plain(e.when), "actor": e.actor, "action": e.action, "title": e.title,
                        "comment": e.comment, "details": [list(p) for p in e.details], "flagged": e.flagged}
                       for e in batch.events]}


def employer_summary(request, employer, batch=None):
    review = batch.reviews.get(employer.archive_no) if batch is not None else None
    return {"archive_no": employer.archive_no, "name": employer.title,
            "credit_code": employer.metadata.get("credit_code"),
            "applicant_type": employer.metadata.get("applicant_type"),
            "requested": employer.metadata.get("requested"),
            "approved": None if review is None else len(review.approved),
            "quota": employer.metadata.get("quota"),
            "href": request.route_url("api_employer", no=employer.archive_no)}


def employer_json(request, employer):
    batch = book(request.root).get(employer.metadata.get("batch"))
    review = batch.reviews.get(employer.archive_no) if batch is not None else None
    return {**employer_summary(request, employer, batch), "batch": employer.metadata.get("batch"),
            "metadata": employer.metadata,
            "members": list(employer.metadata.get("members") or ()),
            "refused": [{"household": no, "reason": why} for no, why in (review.refused if review else ())],
            "documents": [{"doc_id": d.doc_id, "doc_type": d.metadata.get("doc_type"),
                           "title": d.metadata.get("title"), "item_no": d.item_no,
                           "sha256": d.current_file.sha256 if d.current_file else None,
                           "withdrawn": d.withdrawn} for d in employer.documents.values()],
            "versions": [{"number": v.number, "when": plain(v.when), "actor": v.actor, "action": v.action,
                          "comment": v.comment, "details": [list(p) for p in v.details]}
                         for v in employer.history()],
            "disposition": disposition_json(request, employer)}   # 保管期限、处置日期、冻结、鉴定


@view_config(route_name="api_batches", request_method="GET", renderer="json", permission="view")
def api_batches(request):
    items = book(request.root).newest()
    return {"total": len(items), "items": [batch_summary(request, b) for b in items]}


@view_config(route_name="api_batches", request_method="POST", renderer="json", permission="transition")
def api_publish(request):
    """JSON {jurisdiction, title, units, employers: [{credit_code, name, type}], opens_on,
    closes_on, plan?} → 201, the published batch plan."""
    body = json_body(request)
    batch = steps.publish(request.root, schemas(request), _procedure(request), body.get("jurisdiction"),
                          body.get("title"), body.get("units"), body.get("employers"),
                          body.get("opens_on"), body.get("closes_on"), actor(request), filing.now(),
                          body.get("plan"))
    request.response.status = 201
    request.response.location = request.route_url("api_batch", batch_id=batch.batch_id)
    return batch_json(request, batch)


@view_config(route_name="api_batch", request_method="GET", renderer="json", permission="view")
def api_batch(request):
    return batch_json(request, _batch_or_404(request))


@view_config(route_name="api_batch_steps", request_method="POST", renderer="json", permission="transition")
def api_step(request):
    """JSON {step, …the step's fields} → 200, the batch after the step (``seed_once`` when an
    announcement made the seed; ``employer`` for an application)."""
    batch = _batch_or_404(request)
    body = json_body(request)
    result = run_step(request, batch, body.get("step"), body)
    out = batch_json(request, batch)
    if body.get("step") == "announce" and result:
        out["seed_once"] = result
    if body.get("step") == "apply":
        out["employer"] = employer_summary(request, result, batch)
    return out


EMPLOYER_FILTERS = ("jurisdiction", "batch", "applicant_type")
EMPLOYER_SORTS = ("archive_no", "name", "modified")


def employer_page_of(request, per_page):
    """(total, employers on the page, filters, sort, order) of the employers/ container, as
    the request asks, narrowed to the user's places (a local role: archive.access.local)."""
    page = _int_param(request, "page", "页码", 1)
    sort = request.params.get("sort") or "archive_no"
    order = request.params.get("order") or "asc"
    errors = {}
    if sort not in EMPLOYER_SORTS:
        errors["sort"] = f"排序字段：应为 {'、'.join(EMPLOYER_SORTS)}"
    if order not in ("asc", "desc"):
        errors["order"] = "排序方向：应为 asc 或 desc"
    if request.params.get("applicant_type") and request.params["applicant_type"] not in APPLICANTS:
        errors["applicant_type"] = f"单位类型：应为 {'、'.join(APPLICANTS)}"
    if errors:
        raise ValidationFailed(errors)
    filters = {name: request.params[name] for name in EMPLOYER_FILTERS if request.params.get(name)}
    container = request.root.employers
    total, items = container.query(filters, sort, order == "desc", (page - 1) * per_page, per_page,
                                   ids_in(scope(request), container))
    return total, items, filters, sort, order, page


@view_config(route_name="api_employers", request_method="GET", renderer="json", permission="view")
def api_employers(request):
    """单位集体申请档案 listed like households and units: filters, sort, pages, and only the
    jurisdictions a user with local roles holds (totals too)."""
    per_page = per_page_param(request)
    total, items, filters, sort, order, page = employer_page_of(request, per_page)
    return {"total": total, "page": page, "per_page": per_page, "sort": sort, "order": order,
            "filters": filters, "items": [dict(employer_summary(request, e), batch=e.metadata.get("batch"),
                                               jurisdiction=e.metadata.get("jurisdiction"),
                                               modified=plain(e.modified)) for e in items]}


@view_config(route_name="employers", renderer="archive:templates/employers.pt", permission="view")
def employers_page(request):
    try:
        total, items, filters, sort, order, page = employer_page_of(request, 50)
    except ValidationFailed:
        total, items, filters, sort, order, page = 0, [], {}, "archive_no", "asc", 1
    return {"total": total, "employers": items, "filters": filters, "page": page,
            "pages": max(1, -(-total // 50)), "applicants": APPLICANTS,
            "jurisdictions": schemas(request).vocabularies["jurisdictions"]}


@view_config(route_name="api_employer", request_method="GET", renderer="json", permission="view")
def api_employer(request):
    return employer_json(request, _employer_or_404(request))


@view_config(route_name="api_employer_documents", request_method="POST", renderer="json", permission="file")
def api_employer_document(request):
    """multipart {file, doc_type, title} → 201, the employer's dossier with the new document."""
    employer = _employer_or_404(request)
    _file(request, employer)
    request.response.status = 201
    return employer_json(request, employer)


def _file(request, employer):
    doc_type, title = request.POST.get("doc_type"), request.POST.get("title")
    if not isinstance(doc_type, str) or not doc_type:
        raise CollectiveError("请选择文件类型", "doc_type")
    data, filename = read_upload(request, "file")
    return steps.file_document(request.root, schemas(request), employer, doc_type, title, data,
                               filename, actor(request), filing.now())


@view_config(route_name="api_batches", require_csrf=False)
@view_config(route_name="api_batch", require_csrf=False)
@view_config(route_name="api_batch_steps", require_csrf=False)
@view_config(route_name="api_employers", require_csrf=False)
@view_config(route_name="api_employer", require_csrf=False)
@view_config(route_name="api_employer_documents", require_csrf=False)
@view_config(route_name="api_employer_place", require_csrf=False)
@view_config(route_name="api_employer_volume", require_csrf=False)
@view_config(route_name="api_employer_labels", require_csrf=False)
@view_config(route_name="api_employer_bind", require_csrf=False)
@view_config(route_name="api_employer_holds", require_csrf=False)
@view_config(route_name="api_employer_hold_release", require_csrf=False)
@view_config(route_name="api_employer_appraisals", require_csrf=False)
@view_config(route_name="api_employer_appraisal_decision", require_csrf=False)
@view_config(route_name="api_employer_versions", require_csrf=False)
@view_config(route_name="api_employer_version", require_csrf=False)
@view_config(route_name="api_employer_diff", require_csrf=False)
@view_config(route_name="api_employer_restore", require_csrf=False)
def method_not_allowed(request):
    return answer_405(request)


@exception_view_config(CollectiveError)
@exception_view_config(quota.QuotaError)
def refused(exc, request):
    field = getattr(exc, "field", None)
    return respond(request, getattr(exc, "status", 422), str(exc), {field: str(exc)} if field else None)


# -- pages -------------------------------------------------------------------------------------
@view_config(route_name="batches", renderer="archive:templates/batches.pt", permission="view")
def batches_page(request):
    return {"batches": book(request.root).newest(), "states": STATES,
            "jurisdictions": schemas(request).vocabularies["jurisdictions"]}


@view_config(route_name="batch", renderer="archive:templates/batch.pt", permission="view")
def batch_page(request):
    batch = _batch_or_404(request)
    return _batch_page(request, batch)


def _batch_page(request, batch, error=None, seed=None):
    employers = book(request.root)
    rules = _procedure(request).workflows.collective.get(batch.jurisdiction)
    return {"batch": batch, "employers": [employers.employer(no) for no in batch.applications],
            "error": error, "seed_once": seed, "methods": [(m, quota.method_title(m, request.ui_locale))
                                                           for m in (rules.methods if rules else ())],
            "method_title": quota.method_title, "applicants": APPLICANTS,
            "can_step": can(request, "transition", request.root),
            "can_draw": can(request, "lottery", request.root),
            "verified": batch.decision.verify() if batch.decision else None}


@view_config(route_name="batch_step", request_method="POST", permission="transition")
def batch_step(request):
    """The page's forms: close, publicity, agree, announce and decide (the other steps take
    lists and tables, given through the JSON API)."""
    batch = _batch_or_404(request)
    step = request.POST.get("step")
    if step not in ("close", "publicity", "agree", "announce", "decide"):
        raise HTTPNotFound(request.t("未知的步骤"))
    try:
        seed = run_step(request, batch, step, dict(request.POST.items()))
    except CollectiveError as exc:
        from pyramid.renderers import render_to_response
        request.response.status = exc.status
        return render_to_response("archive:templates/batch.pt", _batch_page(request, batch, str(exc)),
                                  request=request, response=request.response)
    if step == "announce" and seed:
        from pyramid.renderers import render_to_response
        return render_to_response("archive:templates/batch.pt", _batch_page(request, batch, None, seed),
                                  request=request)
    request.session.flash(request.t("已办理：{step}", step=request.t(STEPS[step][0])))
    return HTTPFound(request.route_url("batch", batch_id=batch.batch_id))


@view_config(route_name="employer", renderer="archive:templates/employer.pt", permission="view")
def employer_page(request):
    employer = _employer_or_404(request)
    types = schemas(request).vocabularies["document_types"]
    return {"employer": employer, "dossier": employer,   # the panels' macros show ``dossier``
            "custody": custody_panel(request, employer),      # with the 归档章 of each document
            "disposition": disposition_panel(request, employer),
            "versions": versions_panel(request, employer),   # each version's page, compare
            "batch": book(request.root).get(employer.metadata.get("batch")),
            "doc_types": [(t.code, t.title(request.ui_locale)) for t in types.terms
                          if t.extra.get("kind") == "employer"],
            "type_title": lambda code: types.title(code, request.ui_locale),
            "applicants": APPLICANTS, "can_file": can(request, "file", employer)}


@view_config(route_name="employer_documents", request_method="POST", permission="file")
def employer_document(request):
    employer = _employer_or_404(request)
    _file(request, employer)
    request.session.flash(request.t("已归档"))
    return HTTPFound(request.route_url("employer", no=employer.archive_no))


@view_config(route_name="employer_file", permission="view")
def employer_file(request):
    """A document's current file, viewed or downloaded: logged as every file that leaves
    the archive is (base.log_export), as a household's is."""
    from .base import file_response, log_export
    employer = _employer_or_404(request)
    try:
        doc = employer.document(request.matchdict["doc_id"])
    except KeyError:
        raise HTTPNotFound(request.t("文件不存在")) from None
    if doc.current_file is None:
        raise HTTPNotFound(request.t("文件版本不存在"))
    log_export(request, employer, doc, doc.current_file)
    return file_response(request, doc.current_file)
