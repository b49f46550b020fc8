"""Custody pages and API: the bound volume, box labels, shelving and stock-takes.

Thin views over archive.custody: they read input, call the model and render. Refusals
(a place that does not exist, a place registered twice, a volume moved where it stands)
are raised by archive.custody.shelving and answered in views/errors.py.
"""
from __future__ import annotations


from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config

from ..custody import arrangement, shelving
from ..custody.labels import box_labels
from ..custody.volume import bind_volume
from ..records import filing
from .base import actor, can, dossier_url, json_body, pdf_response, plain, schemas, text_value


def rules(request):
    return request.registry.archive_custody


def _doc_types(request):
    vocab = schemas(request).vocabularies["document_types"]
    return {t.code: t.title(request.ui_locale) for t in vocab.terms}


# -- the dossier page's custody panel -------------------------------------------------------
def custody_panel(request, dossier) -> dict:
    """归档章 per document, the volume's period and the shelf place, for templates/dossier.pt."""
    r, locale = rules(request), request.ui_locale
    stacks = request.root.stacks
    stamps = {d.doc_id: arrangement.arrangement_json(dossier, d, r, locale)
              for d in dossier.documents.values()}
    period = arrangement.volume_retention(dossier, r)
    place = shelving.place_of(dossier)
    boxes = [p for p in stacks.places.values() if p.level == "box"] if can(request, "shelve", dossier) else []
    return {"stamps": stamps, "place": place, "place_label": stacks.label(place),
            "period": r.title("retention_periods", period, locale) if period else "",
            "boxes": boxes, "label": stacks.label}


# -- bound volume and labels ----------------------------------------------------------------
def _pdf(request, dossier, data, name, what):
    """A generated PDF, and its leaving the archive in the audit log (as any export)."""
    request.root.log.append(actor(request), "export", dossier.archive_no,
                            f"下载{what}（{len(data)} 字节）", filing.now())
    return pdf_response(data, name, bool(request.params.get("download")))


@view_config(route_name="dossier_volume", request_method="GET", permission="view")
@view_config(route_name="api_volume", request_method="GET", permission="view")
def volume(request):
    """案卷: cover, 卷内目录, the documents with 页号, 备考表 (立卷人: who asks for it)."""
    dossier = request.context
    user = request.identity
    data = bind_volume(dossier, rules(request), doc_types=_doc_types(request),
                       binder=getattr(user, "name", "") or actor(request))
    return _pdf(request, dossier, data, f"{dossier.archive_no}-案卷.pdf", "装订案卷")


@view_config(route_name="dossier_labels", request_method="GET", permission="view")
@view_config(route_name="api_labels", request_method="GET", permission="view")
def labels(request):
    """档案盒封面 and 盒脊, each with a QR code of the 档号."""
    dossier = request.context
    data = box_labels(dossier, rules(request), place=shelving.place_of(dossier) or "")
    return _pdf(request, dossier, data, f"{dossier.archive_no}-盒签.pdf", "档案盒封面和盒脊")


# -- a volume's place -----------------------------------------------------------------------
@view_config(route_name="dossier_shelve", request_method="POST", permission="shelve")
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
def get_place(request):
    return place_json(request, request.context)


@view_config(route_name="api_place", request_method="PUT", renderer="json", permission="shelve")
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
    try:
        return request.root.stacks.place(request.matchdict["code"])
    except shelving.PlaceNotFound as exc:
        raise HTTPNotFound(str(exc)) from None


def _add_place(request, data):
    parent, code, title = (data.get(k, "") for k in ("parent", "code", "title"))
    for name, value in (("parent", parent), ("code", code), ("title", title)):
        if value is not None and not isinstance(value, str):
            raise shelving.ShelvingError(f"{name}：应为文本", name)
    return request.root.stacks.add_place(parent or "", code or "", title or "",
                                         actor(request), filing.now())


@view_config(route_name="places", request_method="GET", renderer="archive:templates/places.pt",
             permission="view")
def places_page(request):
    stacks = request.root.stacks
    return {"stacks": stacks, "rooms": stacks.children(""), "parent": None,
            "can_shelve": can(request, "shelve", request.root)}


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
    takes = [t for t in reversed(list(stacks.stocktakes.values())) if t.place == place.code][:20]
    return {"place": place, "stacks": stacks, "path": stacks.path(place.code),
            "children": stacks.children(place.code),
            "holdings": shelving.holdings(request.root, place.code), "takes": takes,
            "can_shelve": can(request, "shelve", request.root), "place_of": shelving.place_of,
            "url_of": lambda d: dossier_url(request, d)}


@view_config(route_name="place_stocktake", request_method="POST", permission="shelve")
def stocktake_form(request):
    place = _place_or_404(request)
    take = shelving.take_stock(request.root.stacks, request.root, place.code,
                               request.POST.get("scanned", ""), actor(request), filing.now(),
                               request.POST.get("comment", "").strip()[:2000])
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
    return take


def _dossier_href(request, number):
    for container in (request.root.households, request.root.units):
        if number in container:
            return dossier_url(request, container[number])
    return None


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
    items = [_place_summary(request, p) for p in request.root.stacks.places.values()]
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
            "children": [_place_summary(request, p) for p in stacks.children(place.code)],
            "holdings": [{"archive_no": d.archive_no, "kind": d.kind, "title": d.title,
                          "place": shelving.place_of(d)}
                         for d in shelving.holdings(request.root, place.code)]}


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
                               scanned, actor(request), filing.now(), comment)
    request.response.status = 201
    request.response.location = request.route_url("api_stocktake", number=take.number)
    return stocktake_json(request, take)


@view_config(route_name="api_place_stocktakes", request_method="GET", renderer="json",
             permission="view")
def api_stocktakes(request):
    place = _place_or_404(request)
    takes = [t for t in request.root.stacks.stocktakes.values() if t.place == place.code]
    return {"place": place.code, "total": len(takes),
            "items": [stocktake_json(request, t) for t in takes]}


@view_config(route_name="api_stocktake", request_method="GET", renderer="json", permission="view")
def api_stocktake(request):
    return stocktake_json(request, _stocktake_or_404(request))

