"""Custody pages and API: the bound volume, box labels, shelving and stock-takes.

Thin views over archive.custody: they read input, call the model and render. Refusals
(a place that does not exist, a place registered twice, a volume moved where it stands)
are raised by archive.custody.shelving and answered in views/errors.py. A local role
(archivist@qujing) sees the places holding its dossiers, only those dossiers in them, and
the stock-takes of those; it takes stock where every volume is its own, and leaves the
register of places to the global archivists (archive.access.local).
"""
from __future__ import annotations


from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.renderers import get_renderer
from pyramid.view import view_config

from ..access.local import OutOfScope, scope
from ..custody import arrangement, bound, shelving
from ..custody.labels import box_labels
from ..custody.volume import bind_volume
from ..records import filing
from ..records.container import find_dossier
from .base import actor, can, dossier_url, json_body, pdf_response, plain, schemas, text_value


def rules(request):
    return request.registry.archive_custody


def _doc_types(request):
    vocab = schemas(request).vocabularies["document_types"]
    return {t.code: t.title(request.ui_locale) for t in vocab.terms}


# -- the dossier page's custody panel -------------------------------------------------------
def custody_panel(request, dossier) -> dict:
    """归档章 per document, the volume's period and the shelf place, and the macro showing
    them with the bind and shelve forms (templates/custody_panel.pt): for the dossier page
    and an employer's (templates/employer.pt)."""
    r, locale = rules(request), request.ui_locale
    stacks = request.root.stacks
    stamps = {d.doc_id: arrangement.arrangement_json(dossier, d, r, locale)
              for d in dossier.documents.values()}
    period = arrangement.volume_retention(dossier, r)
    place = shelving.place_of(dossier)
    boxes = [p for p in stacks.places.values() if p.level == "box"] if can(request, "shelve", dossier) else []
    return {"stamps": stamps, "place": place, "place_label": stacks.label(place),
            "period": r.title("retention_periods", period, locale) if period else "",
            "boxes": boxes, "label": stacks.label, "bound": bound_json(dossier),
            "can_bind": can(request, "shelve", dossier) and dossier.destruction is None,
            "macros": get_renderer("archive:templates/custody_panel.pt").implementation()}


# -- bound volume and labels ----------------------------------------------------------------
def _pdf(request, dossier, data, name, what):
    """A generated PDF, and its leaving the archive in the audit log (as any export)."""
    request.root.log.append(actor(request), "export", dossier.archive_no,
                            f"下载{what}（{len(data)} 字节）", filing.now())
    return pdf_response(data, name, bool(request.params.get("download")))


@view_config(route_name="dossier_volume", request_method="GET", permission="view")
@view_config(route_name="employer_volume", request_method="GET", permission="view")
@view_config(route_name="api_volume", request_method="GET", permission="view")
@view_config(route_name="api_employer_volume", request_method="GET", permission="view")
def volume(request):
    """案卷: cover, 卷内目录, the documents with 页号, 备考表: the volume kept at binding while
    the dossier is unchanged since (the one of record, 立卷人 who bound it), else drawn now
    (立卷人: who asks for it)."""
    dossier = request.context
    kept = bound.current(dossier)
    if kept is not None:
        return _pdf(request, dossier, kept.read(), f"{dossier.archive_no}-案卷.pdf", "装订案卷")
    user = request.identity
    data = bind_volume(dossier, rules(request), doc_types=_doc_types(request),
                       binder=getattr(user, "name", "") or actor(request))
    return _pdf(request, dossier, data, f"{dossier.archive_no}-案卷.pdf", "装订案卷")


@view_config(route_name="dossier_labels", request_method="GET", permission="view")
@view_config(route_name="employer_labels", request_method="GET", permission="view")
@view_config(route_name="api_labels", request_method="GET", permission="view")
@view_config(route_name="api_employer_labels", request_method="GET", permission="view")
def labels(request):
    """档案盒封面 and 盒脊, each with a QR code of the 档号."""
    dossier = request.context
    data = box_labels(dossier, rules(request), place=shelving.place_of(dossier) or "")
    return _pdf(request, dossier, data, f"{dossier.archive_no}-盒签.pdf", "档案盒封面和盒脊")


# -- the kept bound volume (archive.custody.bound) ------------------------------------------
def bound_json(dossier) -> dict:
    """The dossier's kept volume: bound at which version, by whom, when, and still current."""
    kept = dossier.bound_volume
    if kept is None:
        return {"archive_no": dossier.archive_no, "bound": False, "current": False}
    return {"archive_no": dossier.archive_no, "bound": True, "current": bound.current(dossier) is not None,
            "version": kept.version, "bound_by": kept.binder, "bound_at": kept.bound_at.isoformat(),
            "size": kept.size, "sha256": kept.sha256}


def _bind(request):
    """Draw the volume now and keep it with the dossier (a version ``bound``); its
    leaving nothing: no export is logged, the version records who bound it."""
    dossier = request.context
    user = request.identity
    who = actor(request)
    kept = bound.bind(dossier, rules(request), doc_types=_doc_types(request), actor=who,
                      when=filing.now(), binder=getattr(user, "name", "") or who)
    return dossier, kept


@view_config(route_name="dossier_bind", request_method="POST", permission="shelve")
@view_config(route_name="employer_bind", request_method="POST", permission="shelve")
def bind_form(request):
    dossier, kept = _bind(request)
    request.session.flash(request.t("已装订案卷，保存为第 {n} 版", n=kept.version))
    return HTTPFound(dossier_url(request, dossier, _anchor="custody"))


@view_config(route_name="api_bind", request_method="GET", renderer="json", permission="view")
@view_config(route_name="api_employer_bind", request_method="GET", renderer="json", permission="view")
def get_bound(request):
    return bound_json(request.context)


@view_config(route_name="api_bind", request_method="POST", renderer="json", permission="shelve")
@view_config(route_name="api_employer_bind", request_method="POST", renderer="json", permission="shelve")
def post_bind(request):
    """Bind the volume now and keep it (a new version); 201 with what was kept."""
    dossier, _ = _bind(request)
    request.response.status = 201
    return bound_json(dossier)


# -- a volume's place -----------------------------------------------------------------------
@view_config(route_name="dossier_shelve", request_method="POST", permission="shelve")
@view_config(route_name="employer_shelve", request_method="POST", permission="shelve")
def shelve_form(request):
    dossier = request.context
    version = shelving.shelve(request.root.stacks, dossier, request.POST.get("place", ""),
                              actor(request), filing.now(), request.POST.get("comment", "").strip())
    request.session.flash(request.t("已放入 {place}，保存为第 {n} 版",
                                    place=shelving.place_of(dossier), n=version.number))
    return HTTPFound(dossier_url(request, dossier, _anchor="custody"))


def place_json(request, dossier) -> dict:
    code = shelving.place_of(dossier)
    stacks = request.root.stacks
    return {"archive_no": dossier.archive_no, "place": code,
            "label": stacks.label(code) if code else None,
            "path": [_place_summary(request, p) for p in stacks.path(code)] if code and code in stacks.places else [],
            "version": dossier.latest.number}


@view_config(route_name="api_place", request_method="GET", renderer="json", permission="view")
@view_config(route_name="api_employer_place", request_method="GET", renderer="json", permission="view")
def get_place(request):
    return place_json(request, request.context)


@view_config(route_name="api_place", request_method="PUT", renderer="json", permission="shelve")
@view_config(route_name="api_employer_place", request_method="PUT", renderer="json", permission="shelve")
def put_place(request):
    """{"place": box code, "comment": "..."}: shelve or move the paper volume (a new version)."""
    dossier = request.context
    body = json_body(request)
    place = body.get("place")
    if not isinstance(place, str):
        raise shelving.ShelvingError("存放位置：应为盒的编号（文本）")
    comment = text_value(body, "comment", "说明")
    shelving.shelve(request.root.stacks, dossier, place, actor(request), filing.now(), comment)
    return place_json(request, dossier)


# -- the register of places -----------------------------------------------------------------
def _place_summary(request, place) -> dict:
    return {"code": place.code, "level": place.level,
            "level_title": place.level_title(request.ui_locale), "title": place.title,
            "parent": place.parent or None, "created_by": place.created_by,
            "created_at": plain(place.created_at),
            "href": request.route_url("api_place_detail", code=place.code)}


def _place_or_404(request):
    """The place asked for; 403 for a local role when none of its volumes is the user's."""
    try:
        place = request.root.stacks.place(request.matchdict["code"])
    except shelving.PlaceNotFound as exc:
        raise HTTPNotFound(str(exc)) from None
    visible = _visible(request)
    if visible is not None and place.code not in visible:
        raise OutOfScope(request.t("{code} 未存放您辖区的档案", code=place.code))
    return place


def _add_place(request, data):
    if scope(request, "shelve") is not None:
        raise OutOfScope(request.t("库房、架、层、盒的登记由全馆的档案管理员办理"))
    parent, code, title = (data.get(k, "") for k in ("parent", "code", "title"))
    for name, value in (("parent", parent), ("code", code), ("title", title)):
        if value is not None and not isinstance(value, str):
            raise shelving.ShelvingError(f"{name}：应为文本", name)
    return request.root.stacks.add_place(parent or "", code or "", title or "",
                                         actor(request), filing.now())


def _visible(request):
    """The place codes the user sees: None (all) for a global role, else those holding a
    dossier of its places and the places around them (archive.custody.shelving)."""
    return shelving.visible_places(request.root.stacks, request.root, scope(request))


def _shown(places, visible):
    return [p for p in places if visible is None or p.code in visible]


def _can_register(request):
    """The register of places is the building's, not a city's: global archivists keep it."""
    return can(request, "shelve", request.root) and scope(request, "shelve") is None


@view_config(route_name="places", request_method="GET", renderer="archive:templates/places.pt",
             permission="view")
def places_page(request):
    stacks = request.root.stacks
    return {"stacks": stacks, "rooms": _shown(stacks.children(""), _visible(request)), "parent": None,
            "can_register": _can_register(request)}


@view_config(route_name="places", request_method="POST", permission="shelve")
def places_add(request):
    place = _add_place(request, request.POST)
    request.session.flash(request.t("已登记存放位置 {code}", code=place.code))
    return HTTPFound(request.route_url("place", code=place.parent) if place.parent
                     else request.route_url("places"))


@view_config(route_name="place", request_method="GET", renderer="archive:templates/place.pt",
             permission="view")
def place_page(request):
    """A place: its path, what is inside, what it should hold, its stock-takes, a stock-take form."""
    place = _place_or_404(request)
    stacks = request.root.stacks
    takes = [t for t in reversed(list(stacks.stocktakes.values()))
             if t.place == place.code and _take_seen(request, t)][:20]
    return {"place": place, "stacks": stacks, "path": stacks.path(place.code),
            "children": _shown(stacks.children(place.code), _visible(request)),
            "holdings": shelving.holdings(request.root, place.code, scope(request)), "takes": takes,
            "can_shelve": can(request, "shelve", request.root), "can_register": _can_register(request),
            "place_of": shelving.place_of,
            "url_of": lambda d: dossier_url(request, d)}


@view_config(route_name="place_stocktake", request_method="POST", permission="shelve")
def stocktake_form(request):
    place = _place_or_404(request)
    take = shelving.take_stock(request.root.stacks, request.root, place.code,
                               request.POST.get("scanned", ""), actor(request), filing.now(),
                               request.POST.get("comment", "").strip()[:2000], scope(request, "shelve"))
    return HTTPFound(request.route_url("stocktake", number=take.number))


@view_config(route_name="stocktake", request_method="GET", renderer="archive:templates/stocktake.pt",
             permission="view")
def stocktake_page(request):
    take = _stocktake_or_404(request)
    stacks = request.root.stacks
    return {"take": take, "stacks": stacks, "href": lambda no: _dossier_href(request, no)}


def _stocktake_or_404(request):
    number = request.matchdict.get("number", "")
    take = request.root.stacks.stocktakes.get(int(number)) \
        if number.isdigit() and len(number) <= 9 else None
    if take is None:
        raise HTTPNotFound(request.t("盘点记录不存在"))
    if not _take_seen(request, take):
        raise OutOfScope(request.t("这次盘点涉及您辖区以外的档案"))
    return take


def _take_seen(request, take):
    return shelving.take_admitted(request.root, take, scope(request))


def _dossier_href(request, number):
    dossier = find_dossier(request.root, number)
    return dossier_url(request, dossier) if dossier is not None else None


# -- the API of places and stock-takes ------------------------------------------------------
def stocktake_json(request, take) -> dict:
    stacks = request.root.stacks
    return {"number": take.number, "place": take.place, "when": plain(take.when), "actor": take.actor,
            "comment": take.comment, "expected": list(take.expected), "scanned": list(take.scanned),
            "found": list(take.found), "missing": list(take.missing),
            "misplaced": [{"archive_no": n, "place": p or None, "label": stacks.label(p)}
                          for n, p in take.misplaced],
            "unknown": list(take.unknown),
            "href": request.route_url("api_stocktake", number=take.number)}


@view_config(route_name="api_places", request_method="GET", renderer="json", permission="view")
def api_places(request):
    items = [_place_summary(request, p) for p in _shown(request.root.stacks.places.values(), _visible(request))]
    return {"total": len(items), "items": items}


@view_config(route_name="api_places", request_method="POST", renderer="json", permission="shelve")
def api_place_add(request):
    """{"parent": code or null, "code": "01", "title": "..."}: register a place (201)."""
    place = _add_place(request, json_body(request))
    request.response.status = 201
    request.response.location = request.route_url("api_place_detail", code=place.code)
    return _place_summary(request, place)


@view_config(route_name="api_place_detail", request_method="GET", renderer="json", permission="view")
def api_place(request):
    place = _place_or_404(request)
    stacks = request.root.stacks
    return {**_place_summary(request, place),
            "path": [p.code for p in stacks.path(place.code)],
            "children": [_place_summary(request, p) for p in _shown(stacks.children(place.code), _visible(request))],
            "holdings": [{"archive_no": d.archive_no, "kind": d.kind, "title": d.title,
                          "place": shelving.place_of(d)}
                         for d in shelving.holdings(request.root, place.code, scope(request))]}


@view_config(route_name="api_place_stocktakes", request_method="POST", renderer="json",
             permission="shelve")
def api_stocktake_add(request):
    """{"scanned": ["档号", ...], "comment": "..."}: 盘点 the place (201)."""
    place = _place_or_404(request)
    body = json_body(request)
    comment = text_value(body, "comment", "说明")
    scanned = body.get("scanned")
    if not isinstance(scanned, list):   # the form takes lines of text; the API a list
        if scanned is not None:
            raise shelving.ShelvingError("档号：应为档号的列表", "scanned")
        scanned = []
    take = shelving.take_stock(request.root.stacks, request.root, place.code,
                               scanned, actor(request), filing.now(), comment, scope(request, "shelve"))
    request.response.status = 201
    request.response.location = request.route_url("api_stocktake", number=take.number)
    return stocktake_json(request, take)


@view_config(route_name="api_place_stocktakes", request_method="GET", renderer="json",
             permission="view")
def api_stocktakes(request):
    place = _place_or_404(request)
    takes = [t for t in request.root.stacks.stocktakes.values()
             if t.place == place.code and _take_seen(request, t)]
    return {"place": place.code, "total": len(takes),
            "items": [stocktake_json(request, t) for t in takes]}


@view_config(route_name="api_stocktake", request_method="GET", renderer="json", permission="view")
def api_stocktake(request):
    return stocktake_json(request, _stocktake_or_404(request))

