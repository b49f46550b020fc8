"""Documents for people: filing a PDF, downloading or viewing it, refiling, withdrawing."""
from __future__ import annotations

import deform
from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config

from ..records import filing
from .base import actor, document_or_404, dossier_url, file_response, log_export, make_form, read_upload, _schema_locale, schemas, split_form_values, upload_node


def _doc_form(request, dossier):
    schema = schemas(request)["document"].colander(_schema_locale(request))
    types = schemas(request).vocabularies["document_types"]
    schema["doc_type"].widget = deform.widget.SelectWidget(values=[("", "—")] + [
        (t.code, t.title(request.ui_locale)) for t in types.terms
        if t.extra.get("kind") in (dossier.kind, "both")])
    schema.add(upload_node(request))
    return make_form(request, schema, "归档", "document-form", comment=False)


@view_config(route_name="document_new", renderer="archive:templates/document_new.pt",
             permission="file")
def document_new(request):
    dossier = request.context
    form = _doc_form(request, dossier)
    if request.method == "POST":
        data, filename = read_upload(request, "upload")
        try:
            appstruct = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            request.response.status = 422
            return {"dossier": dossier, "form": failure.render()}
        metadata, comment = split_form_values(appstruct)
        cstruct = schemas(request)["document"].colander().serialize(metadata)
        doc = filing.file_document(dossier, schemas(request), cstruct, data, filename,
                                   actor(request), comment,
                                   limit=request.registry.archive_upload_limit)
        request.session.flash(request.t("已归档：{title}（第 {n} 版）",
                                        title=doc.metadata["title"], n=dossier.latest.number))
        return HTTPFound(dossier_url(request, dossier, _anchor="documents"))
    return {"dossier": dossier, "form": form.render()}


@view_config(route_name="document_file", permission="view")
@view_config(route_name="employer_document_file", permission="view")
def document_file(request):
    """The file of a document revision: inline for the browser's PDF viewer, or as a download
    (an employer's too: the links of its version pages, base.EMPLOYER_ROUTES)."""
    dossier = request.context
    doc = document_or_404(request, dossier)
    revision = doc.file_revision(int(request.matchdict["n"]))
    if revision is None:
        raise HTTPNotFound(request.t("文件版本不存在"))
    log_export(request, dossier, doc, revision)
    return file_response(request, revision)


@view_config(route_name="document_refile", request_method="POST", permission="file")
def document_refile(request):
    dossier = request.context
    doc = document_or_404(request, dossier)
    data, filename = read_upload(request, "upload")
    filing.refile_document(dossier, doc.doc_id, data, filename, actor(request),
                           request.POST.get("comment", ""),
                           limit=request.registry.archive_upload_limit, registry=schemas(request))
    request.session.flash(request.t("已替换文件，保存为第 {n} 版", n=dossier.latest.number))
    return HTTPFound(dossier_url(request, dossier, _anchor="documents"))


@view_config(route_name="document_withdraw", request_method="POST", permission="file")
def document_withdraw(request):
    dossier = request.context
    doc = document_or_404(request, dossier)
    dossier.withdraw_document(doc.doc_id, request.POST.get("reason", ""), actor(request),
                              filing.now())
    request.session.flash(request.t("文件已撤出，保存为第 {n} 版", n=dossier.latest.number))
    return HTTPFound(dossier_url(request, dossier, _anchor="documents"))
