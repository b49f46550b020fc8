"""Controlled use (利用/借阅) on the web and in JSON: the borrower's requests and grants, the
lender's decisions, paper loans lent and returned, and watermarked copies under a grant.

Thin on purpose: ``archive.custody.loans`` decides (a refusal is a ``LoanError`` with its
status and message, nothing kept); who may see what is the security policy's business,
through the contexts the route factories below build (``LoanRegister``, ``LoanContext``,
``GrantedObject``). Every step and use goes to the audit log here.
"""
from __future__ import annotations

import datetime as _dt

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import exception_view_config, view_config

from ..access.local import OutOfScope, parse, scope
from ..custody import loans as model
from ..records.formats import readable_pdf
from ..custody.watermark import watermark_text, watermarked
from ..access.personal import mask_metadata
from ..records import filing
from ..records.version import flatten
from .base import (actor, can, json_body, local_time, pdf_response, per_page_param, plain, schemas,
                   text_value, _int_param)
from .errors import answer_405, respond
from .workflow import procedure

KINDS = {"household": "households", "unit": "units"}


def today(request) -> _dt.date:
    return procedure(request).today(filing.now())


def _roles_with(request, *permissions):
    """The roles with one of ``permissions``, and the user's local roles with one (as the
    principals ``archivist@qujing`` the policy gives them; archive.access.local)."""
    matrix = request.registry.archive_roles
    user = request.identity
    local = [e for e in (getattr(user, "local_roles", ()) or ())
             if any(matrix.allows(parse(e)[0], p) for p in permissions)]
    return [r for r, perms in matrix.roles.items() if any(p in perms for p in permissions)] + local


def _root(request):
    """The archive root (route factories run before ``request.root`` is set, and on these routes it is their context)."""
    from ..store import root_factory
    return root_factory(request)


# -- route factories: the contexts the security policy judges --------------------------------
def register_factory(request):
    return model.LoanRegister(_root(request), _roles_with(request, "lend", "borrow"))


def loan_factory(request):
    """The loan's context; an unknown id is answered 404 by the view (so that a method the
    path does not take is still a 405)."""
    loan = _root(request).loans.get(request.matchdict.get("loan_id"))
    return model.LoanContext(loan, _root(request), _roles_with(request, "lend"))


def _context_loan(request):
    """The route's loan; a local lender is refused (403) one naming another place's dossier."""
    loan = request.context.loan
    if loan is None:
        raise HTTPNotFound(request.t("借阅单不存在"))
    if loan.borrower != request.authenticated_userid and \
            not model.in_scope(_root(request), loan, scope(request, "lend")):
        raise OutOfScope(request.t("借阅单 {label} 涉及您辖区以外的档案，由全馆的档案管理员审批", label=loan.label))
    return loan


def _lent(request, loans):
    """Those of ``loans`` the user deals with as a lender (a local one: its places')."""
    return model.within(_root(request), loans, scope(request, "lend"))


def granted_factory(request):
    """The dossier or document of a grant's link; the policy decides whether it is granted."""
    root = _root(request)
    loan = root.loans.get(request.matchdict.get("loan_id"))
    kind = {v: k for k, v in KINDS.items()}.get(request.matchdict.get("kind"))
    dossier = root.container(kind).get(request.matchdict.get("no")) if kind else None
    doc = None
    if dossier is not None and "doc" in request.matchdict:
        doc = dossier.documents.get(request.matchdict["doc"])
    if loan is None or dossier is None or (doc is None and "doc" in request.matchdict):
        return _Missing(root)
    return model.GrantedObject(loan, dossier, doc, today(request))


class _Missing:
    """The context of a grant's link naming a loan, dossier or document that does not exist:
    the view answers 404 (a route factory that raised would leave the error page no root)."""

    __acl__ = [("Allow", "system.Authenticated", ("use",))]

    def __init__(self, root):
        self.__parent__, self.__name__ = root, ""


def _granted(request):
    if isinstance(request.context, _Missing):
        raise HTTPNotFound(request.t("借阅单、档案或文件不存在"))
    return request.context


def includeme(config):
    """The routes of this module (views/__init__.py includes it)."""
    config.add_view_predicate("only_borrows", OnlyBorrows)
    r = config.add_route
    loan = dict(factory=loan_factory)
    granted = dict(factory=granted_factory)
    r("loans", "/loans", factory=register_factory)
    r("loan_new", "/loans/new")
    r("loan", "/loans/{loan_id}", **loan)
    for step in ("approve", "refuse", "lend", "return"):
        r(f"loan_{step}", f"/loans/{{loan_id}}/{step}", **loan)
        r(f"api_loan_{step}", f"/api/loans/{{loan_id}}/{step}", **loan)
    r("loan_dossier", "/loans/{loan_id}/dossiers/{kind:households|units}/{no}", **granted)
    r("loan_file", "/loans/{loan_id}/files/{kind:households|units}/{no}/{doc}", **granted)
    r("api_loans", "/api/loans", factory=register_factory)
    r("api_loan", "/api/loans/{loan_id}", **loan)


# -- reading input ---------------------------------------------------------------------------
def find_dossier(root, archive_no):
    """(kind, dossier) for an archive number, whichever kind it is, or (None, None)."""
    for kind in ("household", "unit"):
        dossier = root.container(kind).get(archive_no) if isinstance(archive_no, str) else None
        if dossier is not None:
            return kind, dossier
    return None, None


def _vocab(request, name):
    return schemas(request).vocabularies[name]


def _choice(request, value, vocabulary, title):
    if not isinstance(value, str) or value not in _vocab(request, vocabulary).codes():
        raise model.LoanError(f"{title}：请从{'、'.join(t.title('zh') for t in _vocab(request, vocabulary).terms)}中选择")
    return value


def _end_day(value) -> _dt.date:
    if isinstance(value, str) and value.strip():
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise model.LoanError("利用截止日期：请填写有效的日期（YYYY-MM-DD）")


def _wanted_items(request, entries):
    """(kind, archive_no, doc_id) for each entry: {"archive_no", "doc_id"?} or "档号[/文件编号]"."""
    if not isinstance(entries, list):
        raise model.LoanError("借阅项目：应为档号（及文件编号）的列表")
    out = []
    for entry in entries:
        if isinstance(entry, str):
            no, _, doc_id = entry.strip().partition("/")
        elif isinstance(entry, dict):
            no, doc_id = entry.get("archive_no"), entry.get("doc_id") or ""
        else:
            raise model.LoanError("借阅项目：每项应为档号或 {archive_no, doc_id}")
        if not isinstance(no, str) or not isinstance(doc_id, str):
            raise model.LoanError("借阅项目：档号和文件编号应为文本")
        kind, _ = find_dossier(_root(request), no.strip())
        out.append((kind or "household", no.strip(), doc_id.strip()))
    return out


def file_request(request, data):
    """The request made, logged once per dossier it names; refused with the model's message."""
    unmasked = data.get("unmasked", False)
    if not isinstance(unmasked, bool):
        raise model.LoanError("需要未脱敏的个人信息：应为 true 或 false")
    purpose = _choice(request, data.get("purpose"), "loan_purposes", "利用目的")
    form = _choice(request, data.get("form"), "loan_forms", "利用方式")
    note = text_value(data, "note", "利用说明")
    if purpose == "other" and not note:
        raise model.LoanError("利用目的为“其他”时请在利用说明中写明目的")
    items = model.resolve_items(_root(request), _wanted_items(request, data.get("items")))
    user, when = request.identity, filing.now()
    loan = _root(request).loans.request(user.login, user.name, items, purpose, form,
                                      _end_day(data.get("end")), unmasked, note, when, today(request))
    _log(request, loan, "request", when,
         f"{_vocab(request, 'loan_purposes').title(purpose)}，{_vocab(request, 'loan_forms').title(form)}，"
         f"至 {loan.end.isoformat()}" + ("，需未脱敏个人信息" if unmasked else ""))
    return loan


def _log(request, loan, step, when, detail=""):
    """One audit-log entry per dossier the loan names, so the log answers 'who used this dossier'."""
    for kind, no in loan.dossiers():
        _root(request).log.append(actor(request), f"loan.{step}", no,
                                f"借阅单 {loan.label} {detail}".strip(), when)


def take_step(request, step, data):
    """approve / refuse / lend / return, by the model's rules; logged."""
    loan, book, when = _context_loan(request), _root(request).loans, filing.now()
    who = actor(request)
    if step == "approve":
        comment = text_value(data, "comment", "审批意见")
        book.approve(loan, who, when, today(request), comment)
        _log(request, loan, step, when, comment)
    elif step == "refuse":
        reason = text_value(data, "reason", "不予利用的理由")
        book.refuse(loan, who, when, reason)
        _log(request, loan, step, when, reason)
    elif step == "lend":
        book.lend(loan, who, when)
        _log(request, loan, step, when, f"应还日期 {loan.end.isoformat()}")
    else:
        book.give_back(loan, who, when)
        _log(request, loan, step, when)
    return loan


# -- shaping ---------------------------------------------------------------------------------
def loan_json(request, loan, full=False):
    day, locale = today(request), request.ui_locale
    status = loan.status(day)
    out = {"id": loan.loan_id, "number": loan.number, "borrower": loan.borrower,
           "borrower_name": loan.borrower_name, "purpose": loan.purpose,
           "purpose_title": _vocab(request, "loan_purposes").title(loan.purpose, locale),
           "form": loan.form, "form_title": _vocab(request, "loan_forms").title(loan.form, locale),
           "end": plain(loan.end), "unmasked": loan.unmasked, "note": loan.note,
           "requested": plain(loan.requested), "state": loan.state, "status": status,
           "status_title": model.title(model.STATES, status, locale),
           "decided_by": loan.decided_by, "decided_at": plain(loan.decided_at),
           "decision": loan.decision or None, "lent_by": loan.lent_by, "lent_at": plain(loan.lent_at),
           "returned_by": loan.returned_by, "returned_at": plain(loan.returned_at),
           "href": request.route_url("api_loan", loan_id=loan.loan_id),
           "html": request.route_url("loan", loan_id=loan.loan_id),
           "items": [_item_json(request, loan, item, day) for item in loan.items]}
    if full:
        out["uses"] = [{"when": plain(u.when), "actor": u.actor, "action": u.action,
                        "title": model.title(model.USES, u.action, locale),
                        "archive_no": u.archive_no or None, "doc_id": u.doc_id or None,
                        "detail": u.detail} for u in loan.history()]
    return out


def _item_json(request, loan, item, day):
    links = loan.active(day) and loan.borrower == request.authenticated_userid
    href = None
    if links:
        href = (request.route_url("loan_file", loan_id=loan.loan_id, kind=KINDS[item.kind],
                                  no=item.archive_no, doc=item.doc_id) if item.doc_id else
                request.route_url("loan_dossier", loan_id=loan.loan_id, kind=KINDS[item.kind],
                                  no=item.archive_no))
    return {"kind": item.kind, "archive_no": item.archive_no, "doc_id": item.doc_id or None,
            "title": item.title, "href": href}


def lender_worklist(request):
    """For the home page of a lender: requests waiting and paper loans overdue (催还)."""
    if not can(request, "lend", _root(request)):
        return None
    book = _root(request).loans
    return {"pending": _lent(request, book.pending()), "overdue": _lent(request, book.overdue(today(request)))}


# -- pages -----------------------------------------------------------------------------------
class OnlyBorrows:
    """View predicate: the user may request loans and see nothing else of the archive."""

    def __init__(self, value, config):
        self.value = bool(value)

    def text(self):
        return f"only_borrows = {self.value}"

    phash = text

    def __call__(self, context, request):
        only = bool(request.has_permission("borrow", _root(request))) and \
            not request.has_permission("view", _root(request))
        return only == self.value


@view_config(route_name="home", only_borrows=True, permission="borrow")
def borrower_home(request):
    """A borrower sees nothing of the archive: their home is their loans."""
    return HTTPFound(request.route_url("loans"))


@view_config(route_name="loans", renderer="archive:templates/loans.pt", permission="see_loans")
def loans_page(request):
    book, day = _root(request).loans, today(request)
    lender = can(request, "lend")
    mine = book.of_borrower(request.authenticated_userid)
    sections = []
    if can(request, "borrow") or mine:
        sections.append(("my-loans", request.t("我的借阅单"), mine))
    if lender:
        sections += [("pending-loans", request.t("待审批的利用申请"), _lent(request, book.pending())),
                     ("overdue-loans", request.t("逾期未还（催还）"), _lent(request, book.overdue(day))),
                     ("all-loans", request.t("全部借阅单"), _lent(request, book.values())[:100])]
    return {"sections": sections, "day": day, "can_borrow": can(request, "borrow"), **_titles(request)}


def _titles(request):
    locale = request.ui_locale
    return {"purpose_title": lambda c: _vocab(request, "loan_purposes").title(c, locale),
            "form_title": lambda c: _vocab(request, "loan_forms").title(c, locale),
            "status_title": lambda s: model.title(model.STATES, s, locale),
            "use_title": lambda a: model.title(model.USES, a, locale)}


def _form_page(request, error=None, values=None):
    locale = request.ui_locale
    return {"error": error, "values": values or {"form": "read", "purpose": "review"},
            "purposes": [(t.code, t.title(locale)) for t in _vocab(request, "loan_purposes").terms],
            "forms": [(t.code, t.title(locale)) for t in _vocab(request, "loan_forms").terms],
            "today": today(request).isoformat()}


@view_config(route_name="loan_new", renderer="archive:templates/loan_new.pt", permission="borrow")
def loan_new(request):
    """GET: the request form; POST: the request kept (then its page), or the form again (4xx)."""
    if request.method != "POST":
        return _form_page(request)
    values = {k: request.POST.get(k, "") for k in ("items", "purpose", "form", "end", "note")}
    values["unmasked"] = request.POST.get("unmasked") == "1"
    try:
        loan = file_request(request, {**values, "items": [line for line in values["items"].splitlines()
                                                          if line.strip()]})
    except model.LoanError as exc:
        request.response.status = exc.status
        return _form_page(request, str(exc), values)
    request.session.flash(request.t("已提交利用申请，等待审批"))
    return HTTPFound(request.route_url("loan", loan_id=loan.loan_id))


@view_config(route_name="loan", renderer="archive:templates/loan.pt", permission="see_loan")
def loan_page(request):
    loan, day = _context_loan(request), today(request)
    return {"loan": loan, "day": day, "status": loan.status(day),
            "items": [(item, _item_json(request, loan, item, day)["href"]) for item in loan.items],
            "uses": loan.history(), "lender": can(request, "lend") and loan.borrower != request.authenticated_userid,
            **_titles(request)}


@view_config(route_name="loan_approve", request_method="POST", permission="lend")
@view_config(route_name="loan_refuse", request_method="POST", permission="lend")
@view_config(route_name="loan_lend", request_method="POST", permission="lend")
@view_config(route_name="loan_return", request_method="POST", permission="lend")
def loan_step(request):
    step = request.matched_route.name.removeprefix("loan_")
    loan = take_step(request, step, dict(request.POST))
    request.session.flash(request.t("借阅单 {label}：{done}", label=loan.label,
                                    done=model.title(model.USES, step, request.ui_locale)))
    return HTTPFound(request.route_url("loan", loan_id=loan.loan_id))


@view_config(route_name="loan_dossier", renderer="archive:templates/loan_dossier.pt", permission="use")
def granted_dossier(request):
    """The dossier's description under a grant, masked unless the grant says otherwise (then logged)."""
    granted, when = _granted(request), filing.now()
    loan, dossier = granted.loan, granted.dossier
    schema = schemas(request)[dossier.kind]
    unmasked = can(request, "use_personal")
    if unmasked:
        _root(request).log.append(actor(request), "personal.unmask", dossier.archive_no,
                                f"借阅单 {loan.label} {request.path}", when)
    metadata = dossier.metadata if unmasked else mask_metadata(schema, dossier.metadata)
    locale = "en" if request.ui_locale == "en" else "zh"
    fields = [(schema.field_title(p, locale), schema.display(p, v, locale))
              for p, v in flatten(metadata).items() if v not in (None, "", [], ())]
    loan.record_use(actor(request), "view", when, dossier.kind, dossier.archive_no,
                    detail="未脱敏" if unmasked else "")
    _root(request).log.append(actor(request), "loan.view", dossier.archive_no,
                            f"借阅单 {loan.label} 查阅档案信息" + ("（未脱敏）" if unmasked else ""), when)
    doc_schema = schemas(request)["document"]
    documents = [(d, doc_schema.display("doc_type", d.metadata.get("doc_type"), locale),
                  request.route_url("loan_file", loan_id=loan.loan_id, kind=KINDS[dossier.kind],
                                    no=dossier.archive_no, doc=d.doc_id))
                 for d in dossier.active_documents() if loan.covers(dossier.kind, dossier.archive_no, d.doc_id)]
    return {"loan": loan, "dossier": dossier, "fields": fields, "unmasked": unmasked,
            "documents": documents}


@view_config(route_name="loan_file", permission="use")
def granted_file(request):
    """A watermarked copy of the document's current file: the borrower, the number, the time
    on every page. The stored file is only read."""
    granted, when = _granted(request), filing.now()
    loan, dossier, doc = granted.loan, granted.dossier, granted.document
    revision = doc.current_file
    user = request.identity
    text = watermark_text(f"{user.name}（{user.login}）", loan.label, local_time(request, when))
    data = watermarked(readable_pdf(revision), text)   # an OFD or a photo: its access copy
    download = bool(request.params.get("download"))
    action = "download" if download else "view"
    loan.record_use(actor(request), action, when, dossier.kind, dossier.archive_no, doc.doc_id,
                    f"{revision.filename} #{revision.number}")
    _root(request).log.append(actor(request), f"loan.{action}", f"{dossier.archive_no}/{doc.doc_id}#{revision.number}",
                            f"借阅单 {loan.label} {'下载' if download else '查看'}水印复制件 {revision.filename}"
                            f"（原件 SHA-256 {revision.sha256[:12]}…）", when)
    name = revision.filename if revision.is_pdf else revision.filename.rsplit(".", 1)[0] + ".pdf"
    return pdf_response(data, f"{loan.label}-{name}", download)


# -- JSON ------------------------------------------------------------------------------------
@view_config(route_name="api_loans", request_method="GET", renderer="json", permission="see_loans")
def api_list(request):
    """Lenders: every loan (``?status=`` one status); borrowers: their own."""
    book, day = _root(request).loans, today(request)
    page = _int_param(request, "page", "页码", 1)
    per_page = per_page_param(request)
    status = request.params.get("status") or None
    if status is not None and status not in model.STATES:
        from ..records.filing import ValidationFailed
        raise ValidationFailed({"status": f"状态：应为{'、'.join(model.STATES)}之一"})
    loans = _lent(request, book.values()) if can(request, "lend") else book.of_borrower(request.authenticated_userid)
    if status:
        loans = [loan for loan in loans if loan.status(day) == status]
    start = (page - 1) * per_page
    return {"total": len(loans), "page": page, "per_page": per_page,
            "items": [loan_json(request, loan) for loan in loans[start:start + per_page]]}


@view_config(route_name="api_loans", request_method="POST", renderer="json", permission="borrow")
def api_request(request):
    loan = file_request(request, json_body(request))
    request.response.status = 201
    request.response.location = request.route_url("api_loan", loan_id=loan.loan_id)
    return loan_json(request, loan, full=True)


@view_config(route_name="api_loan", request_method="GET", renderer="json", permission="see_loan")
def api_show(request):
    return loan_json(request, _context_loan(request), full=True)


@view_config(route_name="api_loan_approve", request_method="POST", renderer="json", permission="lend")
@view_config(route_name="api_loan_refuse", request_method="POST", renderer="json", permission="lend")
@view_config(route_name="api_loan_lend", request_method="POST", renderer="json", permission="lend")
@view_config(route_name="api_loan_return", request_method="POST", renderer="json", permission="lend")
def api_step(request):
    step = request.matched_route.name.removeprefix("api_loan_")
    body = json_body(request) if request.body else {}
    return loan_json(request, take_step(request, step, body), full=True)


@view_config(route_name="api_loans", require_csrf=False)
@view_config(route_name="api_loan", require_csrf=False)
@view_config(route_name="api_loan_approve", require_csrf=False)
@view_config(route_name="api_loan_refuse", require_csrf=False)
@view_config(route_name="api_loan_lend", require_csrf=False)
@view_config(route_name="api_loan_return", require_csrf=False)
def method_not_allowed(request):
    """405 with Allow, as views/api.py answers for the other API paths."""
    return answer_405(request)


@exception_view_config(model.LoanError)
def loan_refused(exc, request):
    return respond(request, exc.status, str(exc))
