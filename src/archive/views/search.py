"""The search box (全文检索) as a page and as ``GET /api/search``.

Both run the same Searcher; this module only reads parameters, drops hits the user may
not see (and hits whose dossier has gone since it was indexed), and adds the links that
open each hit on the right place of its dossier.
"""
from __future__ import annotations

from pyramid.httpexceptions import HTTPFound
from pyramid.view import exception_view_config, view_config

from ..access.local import scope
from ..records.container import find_dossier
from ..search.fields import FACETS
from ..workflow.subsidy import FORMS
from ..search.index import lookup
from ..search.query import QueryError, Searcher, SearchRequest
from .base import can, dossier_url, file_url, plain
from .errors import respond

KIND_TITLES = {"household": ("住户档案", "Households"), "unit": ("房源档案", "Units"),
               "employer": ("单位集体申请档案", "Employers"), "document": ("文件", "Documents")}


def searcher(request) -> Searcher:
    registry = request.registry
    found = getattr(registry, "archive_searcher", None)
    if found is None:
        found = registry.archive_searcher = Searcher(registry.archive_search,
                                                     registry.archive_schemas.vocabularies)
    return found


def search_request(params, within=None) -> SearchRequest:
    """The request's parameters as a SearchRequest; malformed numbers are the user's error.
    ``within``: the user's scope (archive.access.local), None for everywhere."""
    try:
        page = int(params.get("page") or 1)
        per_page = int(params.get("per_page") or 20)
    except ValueError:
        raise QueryError("页码和每页条数必须是整数") from None
    filters = {name: params.get(name) for name in FACETS if params.get(name)}
    return SearchRequest(text=params.get("q", ""), filters=filters,
                         sort=params.get("sort") or "relevance", page=page, per_page=per_page,
                         within=within.search_filter() if within is not None else None)


def visible_hits(request, results):
    """(hit, dossier, document) for the hits this user may open, in ranking order."""
    out = []
    for hit in results.hits:
        dossier = lookup(request.root, f"{hit.dossier_kind}/{hit.archive_no}")
        if dossier is None or not can(request, "view", dossier):
            continue
        doc = dossier.documents.get(hit.doc_id) if hit.doc_id else None
        out.append((hit, dossier, doc))
    return out


def hit_links(request, hit, dossier, doc):
    """The dossier page (at the document's row), and the file opened at the matched page."""
    links = {"dossier": dossier_url(request, dossier, _anchor=f"doc-{doc.doc_id}" if doc else None)}
    if doc is not None and doc.current_file is not None:
        links["file"] = file_url(request, dossier, doc, _anchor=f"page={hit.page}" if hit.page else None)
    return links


def facet_title(request, name, value):
    """A facet value as a clerk reads it (vocabulary and state titles, not codes)."""
    locale = request.ui_locale
    if name == "kind":
        pair = KIND_TITLES.get(value)
        return pair[1 if locale == "en" else 0] if pair else value
    vocabularies = request.registry.archive_schemas.vocabularies
    vocab = {"jurisdiction": "jurisdictions", "doc_type": "document_types",
             "category": "categories"}.get(name)
    if vocab and value in vocabularies[vocab]:
        return vocabularies[vocab].title(value, locale)
    if name == "form" and value in FORMS:
        return FORMS[value][1 if locale == "en" else 0]
    if name == "state":
        for workflow in request.registry.archive_procedure.workflows.kinds.values():
            if value in workflow.states:
                return workflow.states[value].title(locale)
    return value


def archive_no_hit(request, q):
    """The dossier whose 档号 the query is exactly (the user may view), else None."""
    dossier = find_dossier(request.root, q.strip())
    return dossier if dossier is not None and can(request, "view", dossier) else None


@view_config(route_name="search", renderer="archive:templates/search.pt", permission="view")
def search_page(request):
    base = {"q": request.params.get("q", ""), "results": None, "hits": [], "error": None,
            "params": dict(request.params), "facet_title": lambda n, v: facet_title(request, n, v),
            "links": lambda h, d, doc: hit_links(request, h, d, doc), "facet_names": FACETS}
    if not base["q"].strip():
        return base
    scanned = archive_no_hit(request, base["q"])
    if scanned is not None:   # a box label's QR code, typed by a scanner: open the dossier
        return HTTPFound(dossier_url(request, scanned))
    try:
        results = searcher(request).search(search_request(request.params, scope(request)))
    except QueryError as exc:
        request.response.status = 400
        return dict(base, error=str(exc))
    return dict(base, results=results, hits=visible_hits(request, results))


@view_config(route_name="api_search", request_method="GET", renderer="json", permission="view")
def search_api(request):
    """Hits with masked, highlighted snippets, facet counts and links; 400 on a bad query."""
    results = searcher(request).search(search_request(request.params, scope(request)))
    hits = []
    for hit, dossier, doc in visible_hits(request, results):
        hits.append({"key": hit.key, "kind": hit.kind, "archive_no": hit.archive_no,
                     "doc_id": hit.doc_id, "title": hit.title, "snippet": hit.snippet,
                     "page": hit.page, "date": plain(hit.date), "score": round(hit.score, 3),
                     "facets": hit.facets, "links": hit_links(request, hit, dossier, doc)})
    return {"q": results.request.text, "total": results.total, "page": results.request.page,
            "per_page": results.request.per_page, "pages": results.pages,
            "sort": results.request.sort, "runtime_ms": results.runtime_ms, "hits": hits,
            "facets": {name: [{"value": v, "title": facet_title(request, name, v), "count": n}
                              for v, n in counts] for name, counts in results.facets.items()}}


@exception_view_config(QueryError)
def bad_query(exc, request):
    return respond(request, 400, str(exc), {"q": str(exc)})
