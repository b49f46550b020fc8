"""Dossier pages for people: listing, creating, editing, the dossier page, history.

A version, the comparison of two and the restoring of one are also an employer's
(单位集体申请档案): the same views on /employers/{no}/… (base.DOSSIER_FORMS), their links
made by base.dossier_url."""
from __future__ import annotations

import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPNotFound
from pyramid.renderers import get_renderer
from pyramid.view import view_config

from ..records import filing
from ..records.dossier import NothingChanged, VersionNotFound
from ..access.local import ids_in, scope
from ..access.personal import has_personal, mask_metadata, mask_path
from ..records.version import action_title, compare, flatten
from .base import actor, can, CONTAINER_OF, dossier_url, kind_of, _linked, make_form, reveal, _schema_locale, schemas, split_form_values
from .workflow import procedure, procedure_panel, states_of

PAGE_SIZE = 20


@view_config(route_name="dossiers", renderer="archive:templates/listing.pt", permission="view")
def listing(request):
    kind = kind_of(request)
    schema = schemas(request)[kind]
    container = request.root.container(kind)
    filters = {p: request.params.get(p, "") for p in schema.listing.get("filters", ())}
    filters["state"] = request.params.get("state", "")
    sort = request.params.get("sort", "archive_no")
    if sort not in schema.listing.get("sort", ()):
        sort = "archive_no"
    reverse = request.params.get("order") == "desc"
    try:
        page = max(1, int(request.params.get("page", 1)))
    except ValueError:
        page = 1
    within = ids_in(scope(request), container)   # a local role: its places only
    total, items = container.query({k: v for k, v in filters.items() if v}, sort, reverse,
                                    (page - 1) * PAGE_SIZE, PAGE_SIZE, within)
    return {"kind": kind, "schema": schema, "filters": filters, "sort": sort,
            "reverse": reverse, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
            "total": total, "items": items,
            "rows": [mask_metadata(schema, d.metadata) for d in items],
            "options": {p: container.indexes[p].values(within) for p in filters},
            "state_titles": dict(states_of(request, kind))}


def _form(request, kind, editing=False):
    schema = schemas(request)[kind].colander(_schema_locale(request))
    workflow = procedure(request).workflows[kind]
    if not editing and len(workflow.entry) > 1:
        schema.add(_entry_state_node(request, workflow))
    if not editing:
        _offer_own_jurisdictions(schema, scope(request, "create"))
    return make_form(request, schema, "保存" if editing else "建档", "dossier-form",
                     comment=editing)


def _offer_own_jurisdictions(schema, allowed):
    """A local archivist (archivist@qujing) is offered only the cities he may open dossiers
    in: the others would be refused on saving (access.local), so the list does not offer
    them. A global role (``allowed`` None) keeps every city."""
    import copy
    node = schema.get("jurisdiction")
    if allowed is None or node is None or not hasattr(node.widget, "values"):
        return
    node.widget = copy.copy(node.widget)      # the compiled schema's widget stays whole
    node.widget.values = [(v, t) for v, t in node.widget.values if not v or v in allowed.places]


def _entry_state_node(request, workflow):
    """Units taken over from existing stock may start vacant, delivered or under repair."""
    import colander
    import deform
    choices = [(s, workflow.states[s].title(request.ui_locale)) for s in workflow.entry]
    return colander.SchemaNode(colander.String(), name="state", title=request.t("初始状态"),
                               missing=workflow.initial, default=workflow.initial,
                               validator=colander.OneOf([c[0] for c in choices]),
                               widget=deform.widget.SelectWidget(values=choices))


@view_config(route_name="dossier_new", renderer="archive:templates/form.pt", permission="create")
def create(request):
    kind = kind_of(request)
    form = _form(request, kind)
    if request.method == "POST":
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            request.response.status = 422
            return {"form": failure.render(), "title": _new_title(request, kind), "kind": kind}
        appstruct, comment = split_form_values(appstruct)
        state = appstruct.pop("state", None)
        cstruct = schemas(request)[kind].colander().serialize(appstruct)
        dossier = procedure(request).open_dossier(
            request.root, kind, cstruct, actor(request), comment,
            patterns=request.registry.archive_patterns, state=state, scope=scope(request, "create"))
        request.session.flash(request.t("已建档：{no}", no=dossier.archive_no))
        return HTTPFound(request.route_url("dossier", kind=CONTAINER_OF[kind], no=dossier.archive_no))
    return {"form": form.render(), "title": _new_title(request, kind), "kind": kind}


def _new_title(request, kind):
    return request.t("新建住房保障对象档案" if kind == "household" else "新建房源档案")


@view_config(route_name="dossier_edit", renderer="archive:templates/form.pt", permission="edit")
def edit(request):
    dossier = request.context
    form = _form(request, dossier.kind, editing=True)
    title = request.t("修改档案信息") + f" · {dossier.archive_no}"
    if request.method == "POST":
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            request.response.status = 422
            return {"form": failure.render(), "title": title, "kind": dossier.kind}
        appstruct, comment = split_form_values(appstruct)
        cstruct = schemas(request)[dossier.kind].colander().serialize(appstruct)
        try:
            version = filing.edit_dossier(dossier, schemas(request), cstruct, actor(request), comment)
            request.session.flash(request.t("已保存为第 {n} 版", n=version.number))
        except NothingChanged:
            request.session.flash(request.t("没有修改任何内容"))
        return HTTPFound(dossier_url(request, dossier))
    # The form shows personal data as stored, so opening it is an unmasked view.
    request.root.log.append(actor(request), "personal.unmask", dossier.archive_no,
                            request.path, filing.now())
    return {"form": form.render(_editable(dossier.metadata)), "title": title, "kind": dossier.kind}


def _editable(metadata):
    """Stored metadata as form defaults (colander wants sets for multichoice fields)."""
    out = dict(metadata)
    if "priority_groups" in out:
        out["priority_groups"] = set(out["priority_groups"] or ())
    return out


@view_config(route_name="dossier", renderer="archive:templates/dossier.pt", permission="view")
def dossier_page(request):
    from .credit import credit_panel
    from .custody import custody_panel
    from .disposition import disposition_panel
    dossier = request.context
    schema = schemas(request)[dossier.kind]
    unmasked = reveal(request, dossier)
    metadata = dossier.metadata if unmasked else mask_metadata(schema, dossier.metadata)
    return {"dossier": dossier, "schema": schema, "metadata": metadata, "unmasked": unmasked,
            "personal": has_personal(schema),
            "fields": _display_rows(schema, metadata, request),
            "documents": sorted(dossier.documents.values(), key=lambda d: d.doc_id),
            "versions": versions_panel(request, dossier), "linked": _linked(request, dossier),
            "proc": procedure_panel(request, dossier),
            "state_titles": dict(states_of(request, dossier.kind)),
            "doc_schema": schemas(request)["document"],
            "action_title": lambda a: action_title(a, request.ui_locale),
            "credit": credit_panel(request, dossier, unmasked),
            "custody": custody_panel(request, dossier),
            "disposition": disposition_panel(request, dossier),
            "can": lambda p: can(request, p, dossier)}


def versions_panel(request, dossier, limit=100) -> dict:
    """历史版本: the newest ``limit`` versions, each linked to its page, two to compare,
    and the macro showing them (templates/versions_panel.pt): for the dossier page and an
    employer's (templates/employer.pt)."""
    return {"shown": list(dossier.history())[:limit],
            "action_title": lambda a: action_title(a, request.ui_locale),
            "macros": get_renderer("archive:templates/versions_panel.pt").implementation()}


def _display_rows(schema, metadata, request):
    locale = request.ui_locale
    return [(schema.field_title(p, locale), schema.display(p, v, locale))
            for p, v in flatten(metadata).items()]


@view_config(route_name="dossier_version", renderer="archive:templates/version.pt",
             permission="view")
@view_config(route_name="employer_version", renderer="archive:templates/version.pt",
             permission="view")
def version_page(request):
    dossier = request.context
    schema = schemas(request)[dossier.kind]
    try:
        version = dossier.version(request.matchdict["n"])
    except VersionNotFound as exc:
        raise HTTPNotFound(str(exc)) from None
    unmasked = reveal(request, dossier)
    metadata = version.metadata if unmasked else mask_metadata(schema, version.metadata)
    return {"dossier": dossier, "version": version, "fields": _display_rows(schema, metadata, request),
            "doc_schema": schemas(request)["document"], "unmasked": unmasked,
            "action_title": lambda a: action_title(a, request.ui_locale),
            "can": lambda p: can(request, p, dossier)}


@view_config(route_name="dossier_diff", renderer="archive:templates/diff.pt", permission="view")
@view_config(route_name="employer_diff", renderer="archive:templates/diff.pt", permission="view")
def diff_page(request):
    dossier = request.context
    schema = schemas(request)[dossier.kind]
    try:
        a = dossier.version(request.params.get("a", ""))
        b = dossier.version(request.params.get("b", ""))
    except VersionNotFound as exc:
        raise HTTPBadRequest(str(exc)) from None
    unmasked = reveal(request, dossier)
    fields, documents = compare(a, b)   # as stored; masked only for display below
    show = (lambda p, v: v) if unmasked else (lambda p, v: mask_path(schema, p, v))
    locale = request.ui_locale
    rows = [(schema.field_title(c.path, locale), schema.display(c.path, show(c.path, c.old), locale),
             schema.display(c.path, show(c.path, c.new), locale)) for c in fields]
    from ..custody.shelving import place_change   # a volume moved between the two versions
    moved = place_change(dossier, a, b)
    if moved:
        rows.append((request.t("存放位置"), *moved))
    return {"dossier": dossier, "a": a, "b": b, "rows": rows, "documents": documents,
            "doc_schema": schemas(request)["document"], "unmasked": unmasked,
            "can": lambda p: can(request, p, dossier)}


@view_config(route_name="dossier_restore", request_method="POST", permission="restore")
@view_config(route_name="employer_restore", request_method="POST", permission="restore")
def restore(request):
    dossier = request.context
    comment = request.POST.get("comment", "").strip()
    if not comment:
        request.session.flash(request.t("恢复版本必须说明原因"))
        return HTTPFound(dossier_url(request, dossier))
    version = dossier.restore(request.POST.get("version", ""), actor(request), filing.now(), comment)
    request.session.flash(request.t("已恢复为第 {old} 版的内容，保存为第 {n} 版",
                                    old=version.restored_from, n=version.number))
    return HTTPFound(dossier_url(request, dossier))
