"""Case history (案件历程) and inspections (案件核查) on the web, and the history in JSON.

Thin on purpose: archive.records.history builds the timeline and archive.search.inspections answers the
queries; these views pick the filter or the tab, mask or (asked for, permitted, logged)
unmask, and render.
"""
from __future__ import annotations

import dataclasses

from pyramid.view import view_config

from ..records import filing
from ..records import history
from ..search import inspections
from ..records.filing import ValidationFailed
from ..access.personal import mask_value
from ..records.version import action_title
from .errors import answer_405 as _method_not_allowed
from ..access.local import scope
from .base import actor, can, household_or_404, plain, reveal, schemas, UNMASK

from .workflow import procedure

GROUP_LIMIT = 200           # groups shown per inspection; the total is always given


def _groups(request):
    """The event groups asked for (``?kind=documents&kind=lease``); unknown ones refused."""
    asked = [g for g in request.params.getall("kind") if g]
    unknown = [g for g in asked if g not in history.GROUPS]
    if unknown:
        raise ValidationFailed({"kind": f"事件类别：没有“{unknown[0]}”，可选 {'、'.join(history.GROUPS)}"})
    return asked


def _timeline(request, dossier, unmasked):
    return history.timeline(dossier, request.root, schemas(request), request.ui_locale,
                            procedure=procedure(request), unmasked=unmasked)


# -- the timeline page -------------------------------------------------------------------------
@view_config(route_name="household_history", renderer="archive:templates/history.pt", permission="view")
def history_page(request):
    dossier = household_or_404(request)
    try:
        groups = _groups(request)
    except ValidationFailed:
        groups = []
    unmasked = reveal(request, dossier)
    events = _timeline(request, dossier, unmasked)
    shown = history.filtered(events, groups)
    newest_first = request.params.get("order") == "desc"
    locale = request.ui_locale
    return {"dossier": dossier, "events": list(reversed(shown)) if newest_first else shown,
            "total": len(events), "selected": groups, "newest_first": newest_first,
            "unmasked": unmasked, "can": lambda p: can(request, p, dossier),
            "group_titles": [(g, t[1] if locale == "en" else t[0],
                              len(history.filtered(events, [g]))) for g, t in history.GROUPS.items()],
            "link": lambda fact: _fact_url(request, fact)}


def _fact_url(request, fact):
    """The other dossier a lease or a ban points to, if it is in the archive."""
    if not fact.link:
        return None
    kind, no = fact.link
    container = request.root.container(kind)
    return request.route_url("dossier", kind=kind + "s", no=no) if no in container else None


# -- the timeline in JSON ----------------------------------------------------------------------
@view_config(route_name="api_household_history", request_method="GET", renderer="json",
             permission="view")
def history_json(request):
    """The household's timeline, oldest first; ``?kind=`` filters, ``?unmask=1`` unmasks (logged)."""
    dossier = household_or_404(request)
    groups = _groups(request)
    unmasked = reveal(request, dossier, UNMASK)
    events = history.filtered(_timeline(request, dossier, unmasked), groups)
    no = dossier.archive_no
    return {"archive_no": no, "title": dossier.title, "unmasked": unmasked,
            "kinds": groups, "total": len(events),
            "events": [_event_json(request, dossier, e) for e in events],
            "links": {"self": request.route_url("api_household_history", no=no),
                      "dossier": request.route_url("api_dossier", kind="households", no=no),
                      "html": request.route_url("household_history", no=no)}}


def _event_json(request, dossier, event):
    out = plain(dataclasses.asdict(event))
    out["details"] = [list(d) for d in event.details]
    out["href"] = (request.route_url("api_version", kind="households", no=dossier.archive_no,
                                     n=event.version) if event.version else None)
    for fact, data in zip(event.facts, out["facts"]):
        data["link"] = ({"kind": fact.link[0], "archive_no": fact.link[1],
                         "href": request.route_url("api_dossier", kind=fact.link[0] + "s",
                                                   no=fact.link[1])} if fact.link else None)
        data["details"] = [list(d) for d in fact.details]
    return out


@view_config(route_name="api_household_history", require_csrf=False)
def method_not_allowed(request):
    """405 with Allow, as views/api.py answers for the other API paths."""
    return _method_not_allowed(request)


# -- inspections -------------------------------------------------------------------------------
TABS = {"members": ("共用家庭成员", inspections.shared_members, "id_number"),
        "addresses": ("共用住址", inspections.shared_addresses, "string"),
        "phones": ("共用联系电话", inspections.shared_phones, "phone"),
        "changed": ("审核通过后变更", None, None)}


@view_config(route_name="inspections", renderer="archive:templates/inspections.pt", permission="inspect")
def inspections_page(request):
    """One query at a time (each reads every household once): ``?tab=``, default members."""
    tab = request.params.get("tab")
    tab = tab if tab in TABS else "members"
    unmasked = _reveal_all(request)
    households = request.root.households.values()
    places = scope(request, "inspect")     # a local role: its places' households only
    if places is not None:
        container = request.root.households
        households = [container[k] for k in places.ids(container)]
    proc = procedure(request)
    workflow = proc.workflows["household"]
    if tab == "changed":
        results = inspections.changed_after_approval(households, schemas(request), request.ui_locale,
                                                     unmasked, workflow)
    else:
        final = {s.name for s in workflow.states.values() if s.final}
        results = TABS[tab][1](households, final)
    mask = TABS[tab][2]
    return {"tab": tab, "tabs": [(name, spec[0]) for name, spec in TABS.items()],
            "results": results[:GROUP_LIMIT], "total": len(results), "limit": GROUP_LIMIT,
            "unmasked": unmasked, "can_reveal": can(request, "view_personal", request.root),
            "shown": (lambda value: value) if unmasked or mask is None else
                     (lambda value: mask_value(mask, value)),
            "state_title": lambda code: (workflow.state(code).title(request.ui_locale)
                                         if workflow.state(code) else code),
            "relation_title": lambda code: _relation_title(request, code),
            "jurisdiction_title": lambda code: schemas(request)["household"].display(
                "jurisdiction", code, request.ui_locale),
            "action_title": lambda a: action_title(a, request.ui_locale)}


def _reveal_all(request) -> bool:
    """Unmasked values across households: asked for, permitted, and logged once per view."""
    if request.params.get("reveal") != "1" or not can(request, "view_personal", request.root):
        return False
    request.root.log.append(actor(request), "personal.unmask", "inspections", request.path_qs,
                            filing.now())
    return True


def _relation_title(request, code):
    if code == "applicant":
        return request.t("申请人")
    vocab = schemas(request).vocabularies.get("relations")
    return vocab.title(code, request.ui_locale) if vocab else code
