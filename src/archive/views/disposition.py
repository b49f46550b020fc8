"""Disposition pages and API: disposition dates, the appraisal worklist (到期鉴定), holds,
appraisals and destruction lists. Thin views over archive.disposition; its refusals
(DispositionError and its kinds) are answered in views/errors.py with their own status.
A local role (archivist@qujing, reviewer@qujing) sees the due dossiers, holds and
destruction lists of its places only, every total counted over those, and is refused (403,
OutOfScope) a list naming another place's dossier (archive.access.local)."""
from __future__ import annotations

import threading

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.renderers import get_renderer
from pyramid.view import view_config

from ..access.local import OutOfScope, scope
from ..disposition import appraisal, blocking, destruction, holds
from ..disposition.book import book_of, dossier_by_key
from ..disposition.errors import Invalid
from ..disposition.listpdf import destruction_list_pdf
from ..records import filing
from ..records.container import find_dossier
from .base import actor, can, dossier_url, json_body, pdf_response, plain, _url


def schedule(request):
    return request.registry.archive_disposition


def _title(request, table, code):
    return schedule(request).title(table, code, request.ui_locale)


def today(request):
    return filing.now().date()


# -- one dossier ---------------------------------------------------------------------------
def disposition_json(request, dossier) -> dict:
    """What the dossier's page and its API JSON show of its disposition."""
    sched, book = schedule(request), book_of(request.root)
    period = sched.period(dossier)
    start = sched.start(dossier)
    kind_rule = sched.kinds[dossier.kind]
    stub = getattr(dossier, "destruction", None)
    return {
        "retention": period, "retention_title": sched.rules.title("retention_periods", period, request.ui_locale),
        "event": kind_rule.event, "event_title": _title(request, "events", kind_rule.event),
        "started": plain(start), "extension_years": book.extensions.get((dossier.kind, dossier.archive_no), 0),
        "disposition_date": plain(book.date_of(dossier)),
        "due": bool(book.date_of(dossier) and book.date_of(dossier) <= today(request)),
        "closed": book.closed.get((dossier.kind, dossier.archive_no)),
        "holds": [hold_json(request, dossier, h) for h in book.holds_of(dossier)],
        "automatic_holds": [{"source": s, "text": t} for s, t in
                            blocking.automatic(request.root, dossier, today(request), request.registry.archive_search)],
        "appraisals": [appraisal_json(request, a) for a in book.appraisals_of(dossier)],
        "destruction": stub_json(stub),
    }


def hold_json(request, dossier, hold) -> dict:
    return {"hold_id": hold.hold_id, "archive_no": dossier.archive_no if dossier else None,
            "reason": hold.reason, "reason_title": _title(request, "hold_reasons", hold.reason),
            "note": hold.note, "placed_by": hold.placed_by, "placed_at": plain(hold.placed_at),
            "open": hold.open, "released_by": hold.released_by or None,
            "released_at": plain(hold.released_at), "release_note": hold.release_note}


def appraisal_json(request, a) -> dict:
    return {"number": a.number, "action": a.action, "action_title": _title(request, "actions", a.action),
            "years": a.years, "reason": a.reason, "proposed_by": a.proposed_by,
            "proposed_at": plain(a.proposed_at), "status": a.status,
            "status_title": appraisal.STATUS[a.status][1 if request.ui_locale == "en" else 0],
            "decided_by": a.decided_by or None, "decided_at": plain(a.decided_at), "opinion": a.opinion}


def stub_json(stub):
    if stub is None:
        return None
    return {"list_number": stub.list_number, "when": plain(stub.when), "approved_by": stub.approved_by,
            "supervisor": stub.supervisor, "opinion": stub.opinion,
            "files": [{"doc_id": f.doc_id, "item_no": f.item_no, "title": f.title, "doc_type": f.doc_type,
                       "file_no": f.file_no, "filename": f.filename, "size": f.size, "pages": f.pages,
                       "sha256": f.sha256} for f in stub.files]}


def disposition_panel(request, dossier) -> dict:
    """The dossier page's panel: its date, holds, appraisals, a stub's record, the forms."""
    return {"info": disposition_json(request, dossier),
            "macros": get_renderer("archive:templates/disposition_panel.pt").implementation(),
            "reasons": [(c, _title(request, "hold_reasons", c)) for c in schedule(request).hold_reasons],
            "actions": [(c, _title(request, "actions", c)) for c in schedule(request).actions],
            "can_dispose": can(request, "dispose", dossier), "can_hold": can(request, "hold", dossier),
            "me": actor(request)}


def _search(request):
    return request.registry.archive_search


def _input(request):
    """Form fields or a JSON object: the pages and the API take the same names."""
    return request.POST if not request.path.startswith("/api/") else json_body(request)


def _int(value, name, title):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:   # JSON's 3.0 is 3
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
        return int(value.strip())
    raise Invalid(f"{title}：应为整数", name)


def _flag(value):
    """A decision's approve: JSON true/false, or the form's words; anything else (a number, a
    list, an object) is left for appraisal.decide to refuse with a 422, never looked up."""
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    return {"1": True, "true": True, "approve": True, "0": False, "false": False, "refuse": False}.get(value, value)


def _back(request, dossier, message):
    request.session.flash(message)
    return HTTPFound(dossier_url(request, dossier, _anchor="disposition"))


def _place_hold(request):
    data = _input(request)
    return holds.place(request.root, schedule(request), request.context, data.get("reason"),
                       data.get("note"), actor(request), filing.now())


def _release(request):
    data = _input(request)
    return holds.release(request.root, schedule(request), request.context, request.matchdict["hold"],
                         data.get("note"), actor(request), filing.now())


def _propose(request):
    data = _input(request)
    action = data.get("action")
    years = data.get("years")
    if action == "extend":
        years = _int(years, "years", "延长年限")
    return appraisal.propose(request.root, schedule(request), request.context, action, years,
                             data.get("reason"), actor(request), filing.now(), _search(request))


def _decide(request):
    data = _input(request)
    number = _int(request.matchdict["appraisal"], "appraisal", "鉴定意见编号")
    return appraisal.decide(request.root, schedule(request), request.context, number,
                            _flag(data.get("approve")), data.get("opinion"), actor(request),
                            filing.now(), _search(request))


@view_config(route_name="dossier_holds", request_method="POST", permission="hold")
@view_config(route_name="employer_holds", request_method="POST", permission="hold")
def hold_form(request):
    hold = _place_hold(request)
    return _back(request, request.context, request.t("已冻结（{id}）", id=hold.hold_id))


@view_config(route_name="dossier_hold_release", request_method="POST", permission="hold")
@view_config(route_name="employer_hold_release", request_method="POST", permission="hold")
def release_form(request):
    hold = _release(request)
    return _back(request, request.context, request.t("已解除冻结（{id}）", id=hold.hold_id))


@view_config(route_name="dossier_appraisals", request_method="POST", permission="dispose")
@view_config(route_name="employer_appraisals", request_method="POST", permission="dispose")
def propose_form(request):
    a = _propose(request)
    return _back(request, request.context, request.t("已提出第 {n} 号鉴定意见", n=a.number))


@view_config(route_name="dossier_appraisal_decision", request_method="POST", permission="dispose")
@view_config(route_name="employer_appraisal_decision", request_method="POST", permission="dispose")
def decide_form(request):
    a = _decide(request)
    return _back(request, request.context, request.t("第 {n} 号鉴定意见已审批", n=a.number))


@view_config(route_name="api_dossier_holds", request_method="GET", renderer="json", permission="view")
@view_config(route_name="api_employer_holds", request_method="GET", renderer="json", permission="view")
def api_holds_of(request):
    dossier = request.context
    items = [hold_json(request, dossier, h) for h in book_of(request.root).holds_of(dossier)]
    return {"archive_no": dossier.archive_no, "total": len(items), "items": items}


@view_config(route_name="api_dossier_holds", request_method="POST", renderer="json", permission="hold")
@view_config(route_name="api_employer_holds", request_method="POST", renderer="json", permission="hold")
def api_hold(request):
    hold = _place_hold(request)
    request.response.status = 201
    return hold_json(request, request.context, hold)


@view_config(route_name="api_dossier_hold_release", request_method="POST", renderer="json", permission="hold")
@view_config(route_name="api_employer_hold_release", request_method="POST", renderer="json", permission="hold")
def api_release(request):
    return hold_json(request, request.context, _release(request))


@view_config(route_name="api_dossier_appraisals", request_method="GET", renderer="json", permission="view")
@view_config(route_name="api_employer_appraisals", request_method="GET", renderer="json", permission="view")
def api_appraisals(request):
    dossier = request.context
    items = [appraisal_json(request, a) for a in book_of(request.root).appraisals_of(dossier)]
    return {"archive_no": dossier.archive_no, "total": len(items), "items": items}


@view_config(route_name="api_dossier_appraisals", request_method="POST", renderer="json", permission="dispose")
@view_config(route_name="api_employer_appraisals", request_method="POST", renderer="json", permission="dispose")
def api_propose(request):
    a = _propose(request)
    request.response.status = 201
    return appraisal_json(request, a)


@view_config(route_name="api_dossier_appraisal_decision", request_method="POST", renderer="json",
             permission="dispose")
@view_config(route_name="api_employer_appraisal_decision", request_method="POST", renderer="json",
             permission="dispose")
def api_decide(request):
    return appraisal_json(request, _decide(request))


# -- the worklist and the holds --------------------------------------------------------------
def due_items(request, limit=None):
    """(items, total) of dossiers due for appraisal, soonest first; reads the index only."""
    root, day = request.root, today(request)
    book, places = book_of(root), scope(request)
    items, total = [], book.count_due(day) if places is None else 0
    for date, key in book.due(day):
        dossier = dossier_by_key(root, key)
        if dossier is None or (places is not None and not places.admits(dossier)):
            continue
        total += places is not None     # a local role's total: its places' due dossiers
        if limit is not None and len(items) >= limit:
            if places is None:
                break
            continue
        pending = appraisal.pending(root, dossier)
        items.append({"dossier": dossier, "date": date, "pending": pending,
                      "approved_destruction": appraisal.approved_destruction(root, dossier),
                      "held": bool(blocking.open_holds(root, dossier))})
    return items, total


def _due_json(request, item):
    d = item["dossier"]
    return {"archive_no": d.archive_no, "kind": d.kind, "title": d.title,
            "disposition_date": plain(item["date"]), "held": item["held"],
            "pending_appraisal": item["pending"].number if item["pending"] else None,
            "destruction_approved": bool(item["approved_destruction"]),
            "href": dossier_url(request, d, "api_dossier")}


@view_config(route_name="disposition", renderer="archive:templates/disposition.pt", permission="view")
def disposition_page(request):
    items, total = due_items(request, limit=500)
    book = book_of(request.root)
    lists = [lst for lst in reversed(list(book.lists.values())) if _seen(request, lst)]
    return {"items": items, "total": total, "lists": lists[:50],
            "can_dispose": can(request, "dispose", request.root),
            "url_of": lambda d: dossier_url(request, d)}


@view_config(route_name="api_due", request_method="GET", renderer="json", permission="view")
def api_due(request):
    items, total = due_items(request, limit=500)
    return {"date": plain(today(request)), "total": total, "items": [_due_json(request, i) for i in items]}


def _holds_rows(request):
    root, places = request.root, scope(request)
    rows = [(dossier_by_key(root, key), h) for key, h in holds.every_hold(root)]
    return [(d, h) for d, h in rows if places is None or (d is not None and places.admits(d))]


@view_config(route_name="holds", renderer="archive:templates/holds.pt", permission="view")
def holds_page(request):
    return {"rows": _holds_rows(request), "url_of": lambda d: dossier_url(request, d),
            "reason_title": lambda c: _title(request, "hold_reasons", c)}


@view_config(route_name="api_holds", request_method="GET", renderer="json", permission="view")
def api_all_holds(request):
    items = [hold_json(request, d, h) for d, h in _holds_rows(request)]
    return {"total": len(items), "open": sum(1 for i in items if i["open"]), "items": items}


# -- destruction lists -----------------------------------------------------------------------
def _list_or_404(request):
    value = request.matchdict.get("list_no", "")
    number = int(value) if value.isdigit() and len(value) <= 9 else None
    lst = book_of(request.root).lists.get(number) if number is not None else None
    if lst is None:
        raise HTTPNotFound(request.t("销毁清册不存在"))
    if not _seen(request, lst):
        raise OutOfScope(request.t("销毁清册 {n} 列有您辖区以外的档案", n=lst.number))
    return lst


def _seen(request, lst):
    return destruction.in_scope(request.root, lst, scope(request))


def list_json(request, lst) -> dict:
    sched = schedule(request)
    return {"number": lst.number, "status": lst.status, "status_title": lst.status_title(request.ui_locale),
            "drawn_by": lst.drawn_by, "drawn_at": plain(lst.drawn_at), "comment": lst.comment,
            "approved_by": lst.approved_by or None, "approved_at": plain(lst.approved_at),
            "supervisor": lst.supervisor or None, "carried_out_at": plain(lst.carried_out_at),
            "rows": [{"archive_no": r.archive_no, "kind": r.kind, "title": r.title, "documents": r.documents,
                      "pages": r.pages, "retention": r.retention,
                      "retention_title": sched.rules.title("retention_periods", r.retention, request.ui_locale),
                      "opinion": r.opinion, "appraised_by": r.appraised_by} for r in lst.rows],
            "href": request.route_url("api_destruction_list", list_no=lst.number),
            "pdf": request.route_url("api_destruction_list_pdf", list_no=lst.number)}


def _draw(request):
    data = _input(request)
    numbers = data.get("archive_nos")
    if isinstance(numbers, str):   # the form: one 档号 a line
        numbers = [n for n in numbers.split() if n]
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > 2000:
        raise Invalid("说明：应为不超过2000个字符的文本", "comment")
    return destruction.draw(request.root, schedule(request), numbers, actor(request), filing.now(),
                            comment.strip(), _search(request), scope(request, "dispose"))


def _execute(request):
    lst = _list_or_404(request)
    done = destruction.carry_out(request.root, schedule(request), lst.number, actor(request),
                                 filing.now(), _search(request), scope(request, "dispose"))
    _purge_after_commit(request, [(r.kind, r.archive_no) for r in done.rows])
    return done


def _purge_after_commit(request, keys):
    """Once the destruction is committed: pack the store, compact the index and start the
    office's backups over (``archive.backup_dir``), in a thread: a pack takes long on a
    large store; ``archive purge`` does the same if it never ran."""
    from ..disposition.purge import after_destruction, backup_dirs
    registry = request.registry
    settings = registry.settings

    def hook(success):
        if not success:
            return
        db = registry._zodb_databases[""]
        thread = threading.Thread(target=after_destruction, name="archive-purge", daemon=True,
                                  args=(db, registry.archive_schemas, registry.archive_search, keys),
                                  kwargs=dict(uri=settings.get("zodbconn.uri"), backups=backup_dirs(settings)))
        registry.archive_purges = getattr(registry, "archive_purges", []) + [thread]
        thread.start()
    request.tm.get().addAfterCommitHook(hook)


@view_config(route_name="destruction_lists", request_method="POST", permission="dispose")
def draw_form(request):
    lst = _draw(request)
    return HTTPFound(request.route_url("destruction_list", list_no=lst.number))


@view_config(route_name="destruction_list", renderer="archive:templates/destruction_list.pt", permission="view")
def list_page(request):
    lst = _list_or_404(request)
    sched = schedule(request)
    restarted = getattr(request.root, "backups_restarted_at", None)
    return {"lst": lst, "me": actor(request), "can_dispose": can(request, "dispose", request.root),
            # the backups started over since it was carried out (``purge.restart_backups``)
            "backups_restarted": restarted if lst.carried_out_at and restarted and restarted >= lst.carried_out_at
            else None,
            "period": lambda c: sched.rules.title("retention_periods", c, request.ui_locale),
            "href": lambda no: _href(request, no)}


def _href(request, number):
    dossier = find_dossier(request.root, number)
    return dossier_url(request, dossier) if dossier is not None else None


@view_config(route_name="destruction_list_approval", request_method="POST", permission="dispose")
def approve_form(request):
    lst = destruction.approve(request.root, _list_or_404(request).number, actor(request), filing.now(),
                              scope(request, "dispose"))
    request.session.flash(request.t("销毁清册已批准"))
    return HTTPFound(request.route_url("destruction_list", list_no=lst.number))


@view_config(route_name="destruction_list_execution", request_method="POST", permission="dispose")
def execute_form(request):
    lst = _execute(request)
    request.session.flash(request.t("已按销毁清册销毁"))
    return HTTPFound(request.route_url("destruction_list", list_no=lst.number))


@view_config(route_name="destruction_list_pdf", request_method="GET", permission="view")
@view_config(route_name="api_destruction_list_pdf", request_method="GET", permission="view")
def list_pdf(request):
    lst = _list_or_404(request)
    sched = schedule(request)
    data = destruction_list_pdf(lst, lambda c: sched.rules.title("retention_periods", c))
    request.root.log.append(actor(request), "export", f"destruction/{lst.number}",
                            f"下载销毁清册（{len(data)} 字节）", filing.now())
    return pdf_response(data, f"销毁清册-{lst.number}.pdf")


@view_config(route_name="api_destruction_lists", request_method="GET", renderer="json", permission="view")
def api_lists(request):
    items = [list_json(request, lst) for lst in book_of(request.root).lists.values() if _seen(request, lst)]
    return {"total": len(items), "items": items}


@view_config(route_name="api_destruction_lists", request_method="POST", renderer="json", permission="dispose")
def api_draw(request):
    lst = _draw(request)
    request.response.status = 201
    request.response.location = request.route_url("api_destruction_list", list_no=lst.number)
    return list_json(request, lst)


@view_config(route_name="api_destruction_list", request_method="GET", renderer="json", permission="view")
def api_list(request):
    return list_json(request, _list_or_404(request))


@view_config(route_name="api_destruction_list_approval", request_method="POST", renderer="json",
             permission="dispose")
def api_approve(request):
    return list_json(request, destruction.approve(request.root, _list_or_404(request).number,
                                                  actor(request), filing.now(), scope(request, "dispose")))


@view_config(route_name="api_destruction_list_execution", request_method="POST", renderer="json",
             permission="dispose")
def api_execute(request):
    return list_json(request, _execute(request))
