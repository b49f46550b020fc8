"""The JSON API (/api/) for integrating systems: dossiers, documents, versions (an
employer's versions too: /api/employers/{no}/versions…, the same views).

Views are thin: they read JSON (or multipart for files), call archive.records.filing or the
dossier, and shape the answer. Every refusal is raised and turned into a JSON error by
views/errors.py ({"error", "status", "errors"?}); permissions are the same as the pages'.
The OpenAPI description of these routes is built in views/openapi.py.
"""
from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config

from ..records import filing
from ..records.dossier import VersionNotFound
from ..records.filing import ValidationFailed
from ..access.local import ids_in, scope
from ..access.personal import mask_metadata, mask_path
from ..records.version import action_title, compare, flatten
from .base import actor, document_or_404, file_response, _int_param, json_body, kind_of, _linked, log_export, per_page_param, plain, read_upload, reveal, schemas, text_value, UNMASK, _url


# -- shaping output --------------------------------------------------------------------
def summary_json(request, dossier, schema):
    """A dossier as a listing shows it: its listing columns, personal data masked."""
    columns = flatten(mask_metadata(schema, dossier.metadata))
    return {"archive_no": dossier.archive_no, "kind": dossier.kind, "title": dossier.title,
            "version": dossier.latest.number, "created": plain(dossier.created),
            "modified": plain(dossier.modified), "state": dossier.state,
            "columns": {p: plain(columns.get(p)) for p in schema.listing.get("columns", ())},
            "href": _url(request, "api_dossier", dossier)}


def dossier_json(request, dossier, unmasked=False):
    schema = schemas(request)[dossier.kind]
    metadata = dossier.metadata if unmasked else mask_metadata(schema, dossier.metadata)
    return {
        "archive_no": dossier.archive_no, "kind": dossier.kind, "title": dossier.title,
        "version": dossier.latest.number, "created": plain(dossier.created),
        "created_by": dossier.created_by, "modified": plain(dossier.modified),
        "unmasked": unmasked, "metadata": plain(metadata), "state": dossier.state,
        "documents": [document_json(request, dossier, d)
                      for d in sorted(dossier.documents.values(), key=lambda d: d.doc_id)],
        "linked": [{"archive_no": d.archive_no, "kind": d.kind, "title": d.title,
                    "href": _url(request, "api_dossier", d)} for d in _linked(request, dossier)],
        "disposition": _disposition(request, dossier),
        "links": {"self": _url(request, "api_dossier", dossier),
                  "documents": _url(request, "api_documents", dossier),
                  "versions": _url(request, "api_versions", dossier),
                  "diff": _url(request, "api_diff", dossier),
                  "restore": _url(request, "api_restore", dossier),
                  "transitions": _url(request, "api_transitions", dossier),
                  "html": _url(request, "dossier", dossier)},
    }


def _disposition(request, dossier):
    from .disposition import disposition_json   # 处置日期, holds, appraisals, a stub's record
    return disposition_json(request, dossier)


def file_json(request, dossier, doc, revision):
    return {"number": revision.number, "filename": revision.filename,
            "content_type": revision.content_type, "size": revision.size,
            "sha256": revision.sha256, "sm3": revision.sm3 or None, "pages": revision.pages,
            "filed_at": plain(revision.filed_at), "filed_by": revision.filed_by,
            "intake": [{"check": c.id, "title": c.title(request.ui_locale), "passed": c.passed,
                        "category": c.category, "detail": c.detail} for c in revision.intake],
            "text_status": getattr(revision, "text_status", "done"),
            "text_source": revision.text_source, "text_error": revision.text_error,
            "access_copy": _access_copy(request, dossier, doc, revision),
            "current": revision.number == doc.current_no,
            "href": _url(request, "api_document_content", dossier, doc=doc.doc_id,
                         _query={"file": revision.number})}


def _access_copy(request, dossier, doc, revision):
    copy = revision.access_copy
    if copy is None:
        return None
    return {"size": copy.size, "sha256": copy.sha256, "pages": copy.pages, "pdfa": copy.pdfa,
            "href": _url(request, "api_document_content", dossier, doc=doc.doc_id,
                         _query={"file": revision.number, "copy": "access"})}


def document_json(request, dossier, doc):
    from ..custody.arrangement import arrangement_json   # 归档章 and carrier (DA/T 22)
    return {"doc_id": doc.doc_id, "metadata": plain(doc.metadata),
            "arrangement": arrangement_json(dossier, doc, request.registry.archive_custody,
                                            request.ui_locale),
            "withdrawn": doc.withdrawn, "withdraw_reason": doc.withdraw_reason,
            "current_file": doc.current_no or None,
            "files": [file_json(request, dossier, doc, r) for r in doc.files],
            "links": {"self": _url(request, "api_document", dossier, doc=doc.doc_id),
                      "content": _url(request, "api_document_content", dossier, doc=doc.doc_id),
                      "files": _url(request, "api_document_files", dossier, doc=doc.doc_id),
                      "withdraw": _url(request, "api_document_withdraw", dossier,
                                       doc=doc.doc_id)}}


def version_summary(version, locale="zh"):
    return {"number": version.number, "when": plain(version.when), "actor": version.actor,
            "comment": version.comment, "action": version.action,
            "action_title": action_title(version.action, locale),
            "restored_from": version.restored_from}


def entry_json(entry):
    """A document as it stood in one version (a manifest entry)."""
    if entry is None:
        return None
    return {"doc_id": entry.doc_id, "file_no": entry.file_no, "sha256": entry.sha256,
            "metadata": plain(entry.metadata), "withdrawn": entry.withdrawn,
            "reason": entry.reason}


def _created(request, body, location):
    request.response.status = 201
    request.response.location = location
    return body


# -- dossiers --------------------------------------------------------------------------
@view_config(route_name="api_dossiers", request_method="GET", renderer="json", permission="view")
def list_dossiers(request):
    """A page of dossiers, filtered by the schema's listing filters and sorted."""
    kind = kind_of(request)
    schema = schemas(request)[kind]
    page = _int_param(request, "page", "页码", 1)
    per_page = per_page_param(request)
    sort = request.params.get("sort") or "archive_no"
    order = request.params.get("order") or "asc"
    errors = {}
    if sort not in schema.listing.get("sort", ()):
        errors["sort"] = f"排序字段：“{sort}”不可用于排序"
    if order not in ("asc", "desc"):
        errors["order"] = "排序方向：应为 asc 或 desc"
    filters = {p: request.params[p] for p in tuple(schema.listing.get("filters", ())) + ("state",)
               if request.params.get(p)}
    for path, value in filters.items():  # a code the vocabulary lacks finds nothing: say so
        spec = schema.spec(path)
        if spec is not None and spec.vocabulary and value not in schema.vocabularies[spec.vocabulary]:
            errors[path] = f"{schema.field_title(path)}：“{value}”不是可选的值"
    if errors:
        raise ValidationFailed(errors)
    container = request.root.container(kind)
    total, items = container.query(filters, sort, order == "desc", (page - 1) * per_page, per_page,
                                   ids_in(scope(request), container))   # a local role: its places
    return {"total": total, "page": page, "per_page": per_page, "sort": sort, "order": order,
            "filters": filters, "items": [summary_json(request, d, schema) for d in items]}


@view_config(route_name="api_dossiers", request_method="POST", renderer="json",
             permission="create")
def create_dossier(request):
    """建档: the body is the metadata (JSON names) plus an optional comment."""
    kind = kind_of(request)
    body = json_body(request)
    comment = text_value(body, "comment", "修改说明")
    state = body.get("state")
    if state is not None and not isinstance(state, str):
        raise ValidationFailed({"state": "状态：应为文本"})
    metadata = {k: v for k, v in body.items() if k not in ("comment", "state")}
    dossier = request.registry.archive_procedure.open_dossier(
        request.root, kind, metadata, actor(request), comment,
        patterns=request.registry.archive_patterns, state=state, scope=scope(request, "create"))
    return _created(request, dossier_json(request, dossier, reveal(request, dossier, UNMASK)),
                    _url(request, "api_dossier", dossier))


@view_config(route_name="api_dossier", request_method="GET", renderer="json", permission="view")
def get_dossier(request):
    dossier = request.context
    return dossier_json(request, dossier, reveal(request, dossier, UNMASK))


@view_config(route_name="api_dossier", request_method="PUT", renderer="json", permission="edit")
def edit_dossier(request):
    """The full metadata, replacing the current one, and a required comment (修改说明)."""
    dossier = request.context
    body = json_body(request)
    metadata = {k: v for k, v in body.items() if k != "comment"}
    try:
        comment = text_value(body, "comment", "修改说明", "请说明修改原因")
    except ValidationFailed as missing:
        try:  # report the metadata's problems too, as the form does
            filing.validate(schemas(request), dossier.kind, metadata)
        except ValidationFailed as invalid:
            raise ValidationFailed({**invalid.errors, **missing.errors}) from None
        raise
    filing.edit_dossier(dossier, schemas(request), metadata, actor(request), comment)
    return dossier_json(request, dossier, reveal(request, dossier, UNMASK))


# -- documents -------------------------------------------------------------------------
@view_config(route_name="api_documents", request_method="GET", renderer="json",
             permission="view")
def list_documents(request):
    dossier = request.context
    docs = sorted(dossier.documents.values(), key=lambda d: d.doc_id)
    return {"archive_no": dossier.archive_no, "total": len(docs),
            "items": [document_json(request, dossier, d) for d in docs]}


def _document_fields(request):
    return [spec.name for spec in schemas(request)["document"].fields]


@view_config(route_name="api_documents", request_method="POST", renderer="json",
             permission="file")
def file_document(request):
    """归档: multipart/form-data with the document's fields, ``comment`` and ``file``."""
    dossier = request.context
    data, filename = read_upload(request, "file")
    cstruct = {name: request.POST[name] for name in _document_fields(request)
               if name in request.POST}
    doc = filing.file_document(dossier, schemas(request), cstruct, data, filename,
                               actor(request), request.POST.get("comment", ""),
                               limit=request.registry.archive_upload_limit)
    return _created(request, document_json(request, dossier, doc),
                    _url(request, "api_document", dossier, doc=doc.doc_id))


@view_config(route_name="api_document", request_method="GET", renderer="json",
             permission="view")
def get_document(request):
    dossier = request.context
    return document_json(request, dossier, document_or_404(request, dossier))


@view_config(route_name="api_document", request_method="PUT", renderer="json",
             permission="file")
def edit_document(request):
    """The document's full description (doc_type, title, date, issuer, doc_no) and a comment."""
    dossier = request.context
    doc = document_or_404(request, dossier)
    body = json_body(request)
    comment = text_value(body, "comment", "修改说明")
    metadata = {k: v for k, v in body.items() if k != "comment"}
    filing.edit_document(dossier, schemas(request), doc.doc_id, metadata, actor(request),
                         comment)
    return document_json(request, dossier, doc)


@view_config(route_name="api_document_content", request_method="GET", permission="view")
def document_content(request):
    """The file as filed: the current one, or file revision ``?file=N``; with
    ``?copy=access`` its access copy (利用副本, a PDF), 404 until it is made."""
    dossier = request.context
    doc = document_or_404(request, dossier)
    number = request.params.get("file")
    if number in (None, ""):
        revision = doc.current_file
    else:
        # ASCII digits only: "²".isdigit() is true, int("²") fails; and never 4,300 of them
        revision = (doc.file_revision(int(number))
                    if number.isascii() and number.isdigit() and len(number) <= 9 else None)
    if revision is None:
        raise HTTPNotFound(request.t("文件版本不存在"))
    log_export(request, dossier, doc, revision)
    return file_response(request, revision)


@view_config(route_name="api_document_files", request_method="POST", renderer="json",
             permission="file")
def refile_document(request):
    """A new file for the document (multipart ``file`` and ``comment``); the old one stays."""
    dossier = request.context
    doc = document_or_404(request, dossier)
    data, filename = read_upload(request, "file")
    filing.refile_document(dossier, doc.doc_id, data, filename, actor(request),
                           request.POST.get("comment", ""),
                           limit=request.registry.archive_upload_limit, registry=schemas(request))
    return _created(request, document_json(request, dossier, doc),
                    _url(request, "api_document_content", dossier, doc=doc.doc_id,
                         _query={"file": doc.current_no}))


@view_config(route_name="api_document_withdraw", request_method="POST", renderer="json",
             permission="file")
def withdraw_document(request):
    """撤出: JSON {"reason": ...}; the document stays in the history."""
    dossier = request.context
    doc = document_or_404(request, dossier)
    reason = text_value(json_body(request), "reason", "撤出原因", "撤出文件必须说明原因")
    dossier.withdraw_document(doc.doc_id, reason, actor(request), filing.now())
    return document_json(request, dossier, doc)


# -- versions --------------------------------------------------------------------------
@view_config(route_name="api_versions", request_method="GET", renderer="json",
             permission="view")
@view_config(route_name="api_employer_versions", request_method="GET", renderer="json",
             permission="view")
def list_versions(request):
    dossier = request.context
    items = [version_summary(v, request.ui_locale) for v in dossier.history()]
    return {"archive_no": dossier.archive_no, "total": len(items), "items": items}


@view_config(route_name="api_version", request_method="GET", renderer="json", permission="view")
@view_config(route_name="api_employer_version", request_method="GET", renderer="json", permission="view")
def get_version(request):
    """One version in full: the metadata snapshot (masked unless asked) and the manifest."""
    dossier = request.context
    try:
        version = dossier.version(request.matchdict["n"])
    except VersionNotFound as exc:
        raise HTTPNotFound(str(exc)) from None
    schema = schemas(request)[dossier.kind]
    unmasked = reveal(request, dossier, UNMASK)
    metadata = version.metadata if unmasked else mask_metadata(schema, version.metadata)
    return {**version_summary(version, request.ui_locale), "archive_no": dossier.archive_no,
            "unmasked": unmasked, "metadata": plain(metadata), "state": dossier.state,
            "manifest": [entry_json(e) for e in version.manifest]}


@view_config(route_name="api_diff", request_method="GET", renderer="json", permission="view")
@view_config(route_name="api_employer_diff", request_method="GET", renderer="json", permission="view")
def diff(request):
    """Field-by-field and document-by-document changes from ?from=N to ?to=M.

    ``to`` defaults to the latest version and ``from`` to the one before ``to``.
    Values are compared as stored and masked only for display, so a change to a
    personal field is always listed even when its masked form looks the same.
    """
    dossier = request.context
    schema = schemas(request)[dossier.kind]
    b = dossier.version(request.params.get("to") or dossier.latest.number)
    a = dossier.version(request.params.get("from") or max(b.number - 1, 1))
    unmasked = reveal(request, dossier, UNMASK)
    fields, documents = compare(a, b)
    show = (lambda p, v: v) if unmasked else (lambda p, v: mask_path(schema, p, v))
    locale = request.ui_locale
    from ..custody.shelving import place_change   # a volume moved between the two versions
    moved = place_change(dossier, a, b)
    return {
        "archive_no": dossier.archive_no, "from": a.number, "to": b.number,
        "unmasked": unmasked,
        "place": {"old": moved[0], "new": moved[1]} if moved else None,
        "fields": [{"path": c.path, "title": schema.field_title(c.path, locale),
                    "old": plain(show(c.path, c.old)), "new": plain(show(c.path, c.new))}
                   for c in fields],
        "documents": [{"doc_id": c.doc_id, "change": c.change, "fields": list(c.fields),
                       "old": entry_json(c.old), "new": entry_json(c.new)}
                      for c in documents],
    }


@view_config(route_name="api_restore", request_method="POST", renderer="json",
             permission="restore")
@view_config(route_name="api_employer_restore", request_method="POST", renderer="json",
             permission="restore")
def restore(request):
    """JSON {"version": N, "comment": "..."}: a new version with version N's content; the
    dossier after it, as GET answers it (an employer's as /api/employers/{no} does)."""
    dossier = request.context
    body = json_body(request)
    number = body.get("version")
    errors = {}
    if isinstance(number, bool) or not (isinstance(number, int) or
                                        (isinstance(number, str) and number.isdigit())):
        errors["version"] = "版本：应为版本号（整数）"
    try:
        comment = text_value(body, "comment", "修改说明", "恢复版本必须说明原因")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    dossier.restore(number, actor(request), filing.now(), comment)
    if dossier.kind == "employer":
        from .collective import employer_json
        return employer_json(request, dossier)
    return dossier_json(request, dossier, reveal(request, dossier, UNMASK))


# -- the rest of /api/ -----------------------------------------------------------------
@view_config(route_name="api_any")
def unknown(request):
    raise HTTPNotFound(request.t("接口不存在"))
