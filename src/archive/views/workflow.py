"""The procedure on the web: the transition form, worklists, and their JSON twins.

Thin on purpose: the Procedure decides what may happen and says why not; these views
only read the form or JSON, call it, and show its answer.
"""
from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config

from ..access.local import roles_on, worklist_scope
from ..records import filing
from ..workflow import NotPermitted, TransitionRefused, WrongState
from .base import actor, can
from .aftermath import record_refusal

INPUT_NAMES = ("unit", "start", "end", "rent", "deposit")


def procedure(request):
    return request.registry.archive_procedure


def user_roles(request, dossier=None):
    """The roles the user holds: everywhere, and on ``dossier`` its local ones
    (reviewer@qujing on a 曲靖 dossier: archive.access.local)."""
    if dossier is None:
        return tuple(getattr(request.identity, "roles", ()) or ())
    return roles_on(request.identity, dossier)


def _dossier_url(request, dossier, route="dossier", **kw):
    return request.route_url(route, kind=dossier.kind + "s", no=dossier.archive_no, **kw)


# -- what the dossier page shows ---------------------------------------------------------
def procedure_panel(request, dossier):
    """State, deadline, the steps this user may take, the current lease, the step history."""
    proc = procedure(request)
    state = proc.state(dossier)
    locale = request.ui_locale
    today = proc.today()
    steps = proc.options(dossier, user_roles(request, dossier)) if can(request, "transition", dossier) else []
    return {
        "state": state, "state_title": state.title(locale) if state else "",
        "since": dossier.state_since, "due": dossier.due, "estimated": dossier.due_estimated,
        "overdue": dossier.due is not None and dossier.due < today,
        "days_left": None if dossier.due is None else (dossier.due - today).days,
        "steps": [(t.name, t.title(locale)) for t in steps],
        "lease": dossier.lease, "leases": list(reversed(tuple(dossier.leases))),
        "profile": proc.profile(dossier),
        "subsidies": [_subsidy_row(dossier, g, locale) for g in reversed(tuple(getattr(dossier, "subsidies", ())))],
        "history": [v for v in dossier.history() if v.action in ("transition", "lease", "adopted")],
        "step_title": lambda v: _step_title(proc, dossier, v, locale),
    }


def _subsidy_row(dossier, grant, locale):
    """One rent subsidy as the dossier page shows it: months counted against the cap."""
    from ..workflow import subsidy
    used = subsidy.months_used(dossier, grant.tier)
    return {"grant": grant, "state": grant.state_title(locale), "used": used,
            "cap": grant.cap_months, "current": grant.open,
            "payments": [(subsidy.period_label(p.first, grant.period), p) for p in reversed(grant.payments)]}


def _step_title(proc, dossier, version, locale):
    if version.transition:
        t = proc.workflow(dossier).transition(version.transition)
        return t.title(locale) if t else version.transition
    from ..records.version import action_title
    return action_title(version.action, locale)


# -- the transition form -------------------------------------------------------------------
@view_config(route_name="dossier_transition", renderer="archive:templates/transition.pt",
             permission="transition")
def transition_page(request):
    dossier = request.context
    proc = procedure(request)
    transition = proc.workflow(dossier).transition(request.matchdict["name"])
    if transition is None or not transition.manual:
        raise HTTPNotFound(request.t("没有这个办理步骤"))
    names = dict.fromkeys(INPUT_NAMES + tuple(i.name for i in proc.inputs_of(transition)))
    values = {n: request.POST.get(n, "") for n in names}      # every step's own inputs (租赁补贴 too)
    comment, override = request.POST.get("comment", ""), request.POST.get("override") == "1"
    refused = None
    if request.method == "POST":
        try:
            proc.perform(request.root, dossier, transition.name, actor(request), user_roles(request, dossier),
                         comment, override, {k: v for k, v in values.items() if v != ""},
                         filing.now())
        except TransitionRefused as exc:
            request.response.status = (403 if isinstance(exc, NotPermitted) else
                                       409 if isinstance(exc, WrongState) else 422)
            record_refusal(request, exc)
            refused = exc
        else:
            request.session.flash(request.t("已办理：{step}，当前状态：{state}",
                                            step=transition.title(request.ui_locale),
                                            state=proc.state_title(dossier, request.ui_locale)))
            return HTTPFound(_dossier_url(request, dossier))
    problems = [p.message for p in proc.check(request.root, dossier, transition)] \
        if refused is None and not _wrong_state(proc, dossier, transition) else []
    return {"dossier": dossier, "transition": transition, "values": values, "comment": comment,
            "override": override, "refused": refused, "problems": problems,
            "inputs": proc.inputs_of(transition), "units": _vacant_units(request, dossier, transition),
            "vouchers": _vouchers(dossier, transition),
            "state_title": proc.state_title(dossier, request.ui_locale),
            "wrong_state": _wrong_state(proc, dossier, transition)}


def _wrong_state(proc, dossier, transition):
    return proc.state(dossier).name not in transition.sources


def _vouchers(dossier, transition):
    """The 租赁补贴发放凭证 filed in the dossier that no payment names yet (newest first)."""
    from ..workflow import subsidy
    if transition.effect != "pay_subsidy":
        return []
    used = {p.document for g in getattr(dossier, "subsidies", ()) for p in g.payments}
    docs = [d for d in dossier.active_documents()
            if d.metadata.get("doc_type") == subsidy.EVIDENCE and d.doc_id not in used]
    return list(reversed(docs))


def _vacant_units(request, dossier, transition, limit=200):
    """Units the household could be allocated: vacant, in its jurisdiction."""
    if transition.effect != "allocate":
        return []
    units = request.root.units
    ids = units.indexes["state"].ids("vacant")
    jurisdiction = dossier.metadata.get("jurisdiction")
    out = []
    for key in ids:
        unit = units[key]
        if unit.metadata.get("jurisdiction") == jurisdiction:
            out.append(unit)
            if len(out) >= limit:
                break
    return out


# -- worklists -------------------------------------------------------------------------------
def worklist(request, limit=50):
    """The signed-in user's worklist: (items, total)."""
    roles, within = worklist_scope(request.identity)
    return procedure(request).worklist(request.root, roles, filing.now(), limit, within)


@view_config(route_name="worklist", renderer="archive:templates/worklist.pt", permission="view")
def worklist_page(request):
    items, total = worklist(request, limit=500)
    return {"items": items, "total": total}


def state_title(request, dossier):
    return procedure(request).state_title(dossier, request.ui_locale)


def states_of(request, kind):
    """(code, title) of every state of a kind's procedure, for filters."""
    workflow = procedure(request).workflows[kind]
    return [(s.name, s.title(request.ui_locale)) for s in workflow.states.values()]
