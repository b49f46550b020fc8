"""The procedure in the JSON API: a dossier's state and steps, taking a step, worklists."""
from __future__ import annotations

from pyramid.view import view_config

from ..records import filing
from ..records.filing import ValidationFailed
from ..workflow import subsidy
from .base import actor, json_body, per_page_param, plain, text_value, _url
from ..access.local import worklist_scope
from .workflow import procedure, user_roles

WORKLIST_LIMIT = 50  # GET /api/worklist?limit=: default and maximum (the OpenAPI says so)
WORKLIST_MAX = 500


def state_json(request, dossier):
    """Where the dossier stands in its procedure, and its deadline."""
    proc = procedure(request)
    state = proc.state(dossier)
    today = proc.today()
    return {"code": state.name, "title": state.title(request.ui_locale),
            "since": plain(dossier.state_since), "due": plain(dossier.due),
            "due_estimated": bool(dossier.due_estimated),
            "overdue": dossier.due is not None and dossier.due < today, "final": state.final}


def lease_json(lease):
    if lease is None:
        return None
    return {"lease_id": lease.lease_id, "state": lease.state, "household": lease.household_no,
            "unit": lease.unit_no, "start": plain(lease.start), "end": plain(lease.end),
            "rent": lease.rent, "deposit": lease.deposit,
            "transition_until": plain(lease.transition_until),
            "transition_rent": lease.transition_rent, "ended_on": plain(lease.ended_on),
            "end_reason": lease.end_reason}


def subsidy_json(grant, dossier):
    """A rent subsidy (租赁补贴): tier, amount, period, rent actually paid, payments, months."""
    if grant is None:
        return None
    return {"grant_id": grant.grant_id, "state": grant.state, "tier": grant.tier,
            "tier_title": grant.tier_title, "rent_paid": grant.rent_paid,
            "standard": grant.standard, "monthly": grant.monthly, "basis": grant.basis,
            "period": grant.period, "start": plain(grant.start), "end": plain(grant.end),
            "months_paid": grant.months_paid(), "cap_months": grant.cap_months,
            "months_used": subsidy.months_used(dossier, grant.tier),
            "ended_on": plain(grant.ended_on), "end_reason": grant.end_reason,
            "payments": [{"period": subsidy.period_label(p.first, grant.period),
                          "first": plain(p.first), "last": plain(p.last), "months": p.months,
                          "amount": p.amount, "document": p.document, "paid_on": plain(p.paid_on)}
                         for p in grant.payments]}


def _step_json(request, dossier, transition):
    proc = procedure(request)
    problems = proc.check(request.root, dossier, transition)
    locale = request.ui_locale
    return {"name": transition.name, "title": transition.title(locale), "to": transition.target,
            "comment_required": transition.comment_required,
            "inputs": [{"name": i.name, "type": i.type, "title": i.title(locale),
                        "required": i.required} for i in proc.inputs_of(transition)],
            "ready": not problems, "problems": [p.message for p in problems],
            "overridable": bool(problems) and all(p.overridable for p in problems)}


def transitions_json(request, dossier):
    proc = procedure(request)
    steps = proc.options(dossier, user_roles(request, dossier))
    history = [v for v in dossier.history() if v.action in ("transition", "lease", "adopted")]
    return {"archive_no": dossier.archive_no, "state": state_json(request, dossier),
            "transitions": [_step_json(request, dossier, t) for t in steps],
            "lease": lease_json(dossier.lease),
            "leases": [lease_json(lease) for lease in dossier.leases],
            "subsidy": subsidy_json(subsidy.current(dossier), dossier),
            "subsidies": [subsidy_json(g, dossier) for g in getattr(dossier, "subsidies", ())],
            "history": [{"version": v.number, "when": plain(v.when), "actor": v.actor,
                         "transition": v.transition, "action": v.action, "state": v.state,
                         "comment": v.comment, "details": [list(d) for d in v.details]}
                        for v in history],
            "links": {"self": _url(request, "api_transitions", dossier),
                      "dossier": _url(request, "api_dossier", dossier)}}


@view_config(route_name="api_transitions", request_method="GET", renderer="json",
             permission="view")
def list_transitions(request):
    return transitions_json(request, request.context)


@view_config(route_name="api_transitions", request_method="POST", renderer="json",
             permission="transition")
def take_transition(request):
    """Body: {"transition", "comment"?, "override"?, "inputs"?}; refused steps are 4xx
    with every reason in ``problems`` and nothing changed."""
    dossier = request.context
    body = json_body(request)
    name = body.get("transition")
    if not isinstance(name, str) or not name:
        raise ValidationFailed({"transition": "办理步骤：必填"})
    comment = text_value(body, "comment", "说明")
    override = body.get("override", False)
    inputs = body.get("inputs") or {}
    if not isinstance(override, bool):
        raise ValidationFailed({"override": "破格办理：应为 true 或 false"})
    if not isinstance(inputs, dict):
        raise ValidationFailed({"inputs": "办理信息：应为JSON对象"})
    version = procedure(request).perform(request.root, dossier, name, actor(request),
                                         user_roles(request, dossier), comment, override, inputs,
                                         filing.now())
    out = transitions_json(request, dossier)
    out["version"] = version.number
    return out


@view_config(route_name="api_worklist", request_method="GET", renderer="json", permission="view")
def worklist(request):
    """The signed-in user's worklist (待我处理), soonest deadline first."""
    limit = per_page_param(request, WORKLIST_LIMIT, WORKLIST_MAX, "limit", "条数")
    proc = procedure(request)
    roles, within = worklist_scope(request.identity)   # local roles: their places only
    items, total = proc.worklist(request.root, roles, filing.now(), limit, within)
    locale = request.ui_locale
    return {"total": total, "items": [
        {"archive_no": i.dossier.archive_no, "kind": i.dossier.kind, "title": i.dossier.title,
         "state": i.state.name, "state_title": i.state.title(locale), "due": plain(i.due),
         "overdue": i.overdue, "days_left": i.days_left,
         "href": _url(request, "api_transitions", i.dossier)} for i in items]}
