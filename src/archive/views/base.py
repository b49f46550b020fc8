"""What every view needs to know about the request: who, which language, which schema."""
from __future__ import annotations

import urllib.parse

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.response import FileIter, Response

from ..records import filing
from ..records.filing import ValidationFailed
from .input import FORM_OVERHEAD, UploadTooLarge, text_problems
from ..exchange.codec import plain   # stored values as JSON: one definition for the API and packages

KIND_OF = {"households": "household", "units": "unit"}
CONTAINER_OF = {v: k for k, v in KIND_OF.items()}
# An employer's dossier (单位集体申请档案) has its own pages (views/collective.py), not the
# generic /{kind}/{no} ones its steps and documents would otherwise open to editing; its
# custody and disposition forms and its versions are the household's views on routes of
# its own.
# The pages and forms every dossier has, route name suffix → path below the dossier:
# ``dossier_<name>`` under /{kind}/{no}/ and ``employer_<name>`` under /employers/{no}/,
# both the same views (views/__init__.py registers them): custody (views/custody.py),
# disposition (views/disposition.py), and a version, the comparison of two and the
# restoring of one (views/dossiers.py).
DOSSIER_FORMS = {"volume": "volume.pdf", "labels": "labels.pdf", "bind": "bind", "shelve": "place",
                 "holds": "holds", "hold_release": "holds/{hold}/release", "appraisals": "appraisals",
                 "appraisal_decision": "appraisals/{appraisal}/decision",
                 "version": "versions/{n:\\d+}", "diff": "diff", "restore": "restore"}
# A file as it was in a version (the version page's links): the household's ``document_file``
# view on /employers/{no}/documents/{doc}/files/{n} (the employer's current file keeps
# ``employer_file``, see file_url).
EMPLOYER_ROUTES = {"dossier": "employer", "api_dossier": "api_employer",
                   "document_file": "employer_document_file",
                   **{f"dossier_{name}": f"employer_{name}" for name in DOSSIER_FORMS}}


def actor(request) -> str:
    return request.authenticated_userid or "anonymous"


def kind_of(request) -> str:
    try:
        return KIND_OF[request.matchdict["kind"]]
    except KeyError:
        raise HTTPNotFound() from None


def schemas(request):
    return request.registry.archive_schemas


def can(request, permission, context=None) -> bool:
    return bool(request.has_permission(permission, context if context is not None else request.context))


def can_everywhere(request, permission) -> bool:
    """Whether a role the user holds everywhere has ``permission`` (menus for every page:
    not what a local role opens on the page at hand)."""
    user = request.identity
    matrix = request.registry.archive_roles
    return user is not None and any(matrix.allows(r, permission) for r in user.roles)


def can_somewhere(request, permission) -> bool:
    """Whether the user has ``permission`` in at least one place (a local role's menus,
    which lead to the views that narrow to the user's places: archive.access.local)."""
    from ..access.local import scope
    if can_everywhere(request, permission):
        return True
    found = scope(request, permission)
    return found is not None and bool(found.places)


def household_or_404(request):
    """The traversed dossier when it is a household's (case history, credit record)."""
    dossier = request.context
    if getattr(dossier, "kind", None) != "household":
        raise HTTPNotFound(request.t("页面或档案不存在"))
    return dossier


def document_or_404(request, dossier):
    from ..records.dossier import DocumentNotFound
    try:
        return dossier.document(request.matchdict["doc"])
    except DocumentNotFound:
        raise HTTPNotFound(request.t("文件不存在")) from None


def read_upload(request, field):
    """(bytes, filename) of an uploaded file, refused early when it is too large.

    The declared Content-Length is checked before the body is parsed (views/input.py does
    it again before any view, and waitress's max_request_body_size before the body is even
    received); the file itself is then read no further than one byte past the limit."""
    from ..records.pdf import InvalidDocument
    limit = request.registry.archive_upload_limit
    if request.content_length and request.content_length > limit + FORM_OVERHEAD:
        raise UploadTooLarge(limit)
    uploads = [v for v in request.POST.getall(field) if hasattr(v, "file")]
    if len(uploads) > 1:
        raise InvalidDocument("一次只能上传一个文件，请分别归档")
    if not uploads:
        raise InvalidDocument("请选择要上传的PDF文件")
    upload = uploads[0]
    # A retried attempt (pyramid_retry, after a conflict) is a new request over the same
    # parsed body: the upload is the same file object, already read to its end once.
    upload.file.seek(0)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(limit)
    return data, safe_filename(upload.filename)


_RESERVED = frozenset(["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                       *(f"LPT{i}" for i in range(10))])


def safe_filename(name, default="document.pdf"):
    """The file's own name, safe to show, to send in a header and to save on any disk:
    no folders, no control, format (bidi, zero-width) or unpaired surrogate characters,
    no leading or trailing dots and spaces (so never ``.`` or ``..``), no Windows device
    name, at most 200 characters keeping the extension; never empty."""
    import re
    import unicodedata
    if not isinstance(name, str):
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else ""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    base = re.sub(r'[<>:"|?*]', "_", base)
    base = re.sub(r"\s+", " ", base).strip(" .")
    if not base:
        return default
    if base.split(".")[0].strip().upper() in _RESERVED:
        base = "_" + base
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:199 - len(ext)].rstrip(" .") + dot + ext) if dot and len(ext) <= 16 \
            else base[:200].rstrip(" .")
    return base or default


def renderer_globals(event):
    """Names every template uses: the translator, the layout, the user, permissions."""
    from pyramid.renderers import get_renderer
    request = event.get("request")
    if request is None or event.get("renderer_name") == "json":
        return
    event["t"] = request.t
    event["layout"] = get_renderer("archive:templates/layout.pt").implementation()
    event["user"] = request.identity if request.authenticated_userid else None
    event.setdefault("can_global", lambda p: can_everywhere(request, p))
    event.setdefault("can_local", lambda p: can_somewhere(request, p))
    event["local"] = lambda when, fmt="%Y-%m-%d %H:%M": local_time(request, when, fmt)
    # a dossier's page or form of any kind (an employer's on its own routes): the panels' links
    event["dossier_url"] = lambda dossier, route="dossier", **kw: dossier_url(request, dossier, route, **kw)


def local_time(request, when, fmt="%Y-%m-%d %H:%M"):
    """Times are stored in UTC and shown in the office's time zone (archive.timezone)."""
    import zoneinfo
    if when is None:
        return ""
    zone = zoneinfo.ZoneInfo(request.registry.settings.get("archive.timezone") or "Asia/Shanghai")
    return when.astimezone(zone).strftime(fmt)


class _MemoryTmpStore(dict):
    """deform's file widget wants a store; uploads are read within the request."""

    def preview_url(self, uid):
        return None


def make_form(request, schema, button, formid, comment=None):
    """A deform form carrying the CSRF token and, if asked, a required change comment."""
    import colander
    import deform
    from pyramid.csrf import get_csrf_token

    from ..records.dossier import MAX_COMMENT
    from ..schema.validators import MaxLength
    schema.add(colander.SchemaNode(colander.String(), name="csrf_token", missing="",
                                   default=get_csrf_token(request),
                                   widget=deform.widget.HiddenWidget()))
    if comment is not None:
        schema.add(colander.SchemaNode(
            colander.String(), name="_comment", title=request.t("修改说明"),
            missing=colander.required if comment else "",
            missing_msg=request.t("请说明修改原因"), widget=deform.widget.TextInputWidget(),
            validator=MaxLength(MAX_COMMENT)))
    return deform.Form(schema, buttons=(deform.Button("submit", request.t(button)),),
                       formid=formid)


def upload_node(request):
    import colander
    import deform
    return colander.SchemaNode(deform.FileData(), name="upload",
                               title=request.t("文件（PDF、OFD、JPEG、PNG、TIFF）"),
                               missing_msg=request.t("请选择要上传的PDF文件"),
                               widget=deform.widget.FileUploadWidget(_MemoryTmpStore(),
                                                                     accept=UPLOAD_ACCEPT))


# What the browser's file chooser offers: the formats records.formats accepts.
UPLOAD_ACCEPT = "application/pdf,.pdf,.ofd,image/jpeg,image/png,image/tiff,.tif,.tiff"


def split_form_values(appstruct):
    """(metadata, comment) from a validated deform appstruct."""
    appstruct = dict(appstruct)
    appstruct.pop("csrf_token", None)
    appstruct.pop("upload", None)
    return appstruct, appstruct.pop("_comment", "")


def security_headers(event):
    """Pages may not be framed by other sites, nor sniffed into another type."""
    headers = event.response.headers
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")


# -- the JSON API's input and output (views/api*.py, credit, audits, lottery) --------
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
UNMASK = "unmask"  # ?unmask=1 asks for personal data in full (view_personal, logged)


# -- reading input ---------------------------------------------------------------------
def json_body(request) -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    media = request.content_type
    if media not in ("", "application/json") and not media.endswith("+json"):  # text/plain too
        raise HTTPBadRequest(request.t("请求正文应为JSON（Content-Type: application/json）"))
    try:
        body = request.json_body
    except (ValueError, RecursionError):
        raise HTTPBadRequest(request.t("请求正文不是有效的JSON")) from None
    if not isinstance(body, dict):
        raise HTTPBadRequest(request.t("请求正文应为JSON对象"))
    problems = text_problems(body)
    if problems:
        raise ValidationFailed(problems)
    return body


def text_value(data, name, title, required_msg=None) -> str:
    """A free-text field of the input (a comment, a reason); 422 when it is not text."""
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed({name: f"{title}：应为文本"})
    value = value.strip()
    if required_msg and not value:
        raise ValidationFailed({name: f"{title}：{required_msg}"})
    from ..records.dossier import MAX_COMMENT  # kept forever in the history: never a megabyte of it
    if len(value) > MAX_COMMENT:
        raise ValidationFailed({name: f"{title}：不能超过{MAX_COMMENT}个字符"})
    return value


def _int_param(request, name, title, default, low=1, high=None):
    """An integer query parameter in [low, high]; 422 naming the range otherwise (a page size
    above the documented maximum is refused, not quietly cut, so the caller knows)."""
    value = request.params.get(name)
    if value in (None, ""):
        return default
    # ASCII digits, and not 4,300 of them (int() refuses those with a ValueError: a 500);
    # the OpenAPI document says so: a page is at most 10 ** 18 - 1
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None
    if number is None or number < low or (high is not None and number > high):
        wanted = f"{low}到{high}之间的整数" if high is not None else f"不小于{low}的整数"
        raise ValidationFailed({name: f"{title}：应为{wanted}"})
    return number


def per_page_param(request, default=DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE, name="per_page",
                   title="每页条数"):
    """The page size of a listing: 1 to ``maximum`` (the OpenAPI document says the same)."""
    return _int_param(request, name, title, default, high=maximum)


def _url(request, route, dossier, **kw):
    return request.route_url(route, kind=CONTAINER_OF[dossier.kind], no=dossier.archive_no, **kw)


# -- dossiers and their files, for pages and the API -----------------------------------
def _schema_locale(request):
    return "en" if request.ui_locale == "en" else "zh"


def dossier_url(request, dossier, route="dossier", **kw):
    if dossier.kind == "employer":
        return request.route_url(EMPLOYER_ROUTES[route], no=dossier.archive_no, **kw)
    return request.route_url(route, kind=CONTAINER_OF[dossier.kind], no=dossier.archive_no, **kw)


def file_url(request, dossier, doc, **kw):
    """The link that opens a document's current file (an employer's on its own route)."""
    if dossier.kind == "employer":
        return request.route_url("employer_file", no=dossier.archive_no, doc_id=doc.doc_id, **kw)
    return request.route_url("document_file", kind=CONTAINER_OF[dossier.kind], no=dossier.archive_no,
                             doc=doc.doc_id, n=doc.current_file.number, **kw)


def reveal(request, dossier, param="reveal") -> bool:
    """Unmasked personal data only on explicit request, by a permitted role, logged.

    ``param`` is the query parameter that asks for it (the API calls it ``unmask``).
    """
    if request.params.get(param) != "1":
        return False
    if not can(request, "view_personal", dossier):
        return False
    request.root.log.append(actor(request), "personal.unmask", dossier.archive_no,
                            request.path, filing.now())
    return True


def _linked(request, dossier):
    """一户一档 ↔ 一套一档: the other dossier of each of its leases, newest first."""
    other = request.root.units if dossier.kind == "household" else request.root.households
    seen, out = set(), []
    for lease in reversed(tuple(dossier.leases)):
        key = lease.unit_no if dossier.kind == "household" else lease.household_no
        if key not in seen and key in other:
            seen.add(key)
            out.append(other[key])
    return out


def wants_access_copy(request) -> bool:
    """``?copy=access``: the access copy (利用副本) rather than the original as filed. Any
    other value is refused (400), not quietly answered with the original."""
    values = request.GET.getall("copy")
    if not values:
        return False
    if values != ["access"]:
        raise HTTPBadRequest(request.t("参数 copy 只能是 access（利用副本）"))
    return True


def log_export(request, dossier, doc, revision):
    """Every time a stored file leaves the archive (viewed or downloaded), in the audit log."""
    how = "下载" if request.params.get("download") else "查看"
    copy = revision.access_copy if wants_access_copy(request) else None
    what = (f"{revision.filename} 的利用副本（SHA-256 {copy.sha256[:12]}…）" if copy is not None
            else f"{revision.filename}（SHA-256 {revision.sha256[:12]}…）")
    request.root.log.append(actor(request), "export", f"{dossier.archive_no}/{doc.doc_id}#{revision.number}",
                            f"{how}文件 {what}", filing.now())


def access_copy_name(filename) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return f"{stem}（利用副本）.pdf"


def pdf_response(data, name, download=False):
    """A PDF the archive made (bound volume, labels, destruction list, watermarked copy): shown
    in the browser, or saved with ``download``; never cached."""
    response = Response(body=data, content_type="application/pdf")
    quoted = urllib.parse.quote(name, safe="")
    response.headers["Content-Disposition"] = f"{'attachment' if download else 'inline'}; filename*=UTF-8''{quoted}"
    response.cache_control = "private, no-store"
    return response


def report_download(body, content_type, name, ascii_name):
    """A report to save (统计年报, 审计报告): its Chinese name for browsers that read
    ``filename*``, an ASCII one for those that do not; never cached."""
    response = Response(body=body, content_type=content_type)
    if content_type.startswith("text/"):
        response.charset = "utf-8"
    quoted = urllib.parse.quote(name, safe="")
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
    response.cache_control = "private, no-store"
    return response


def file_response(request, revision):
    """The original as filed, or with ``?copy=access`` its access copy (404 until it is made)."""
    stored, filename = revision, revision.filename
    if wants_access_copy(request):
        stored = revision.access_copy
        if stored is None:
            raise HTTPNotFound(request.t("此文件尚无利用副本（扫描件、图像和OFD文件归档后由后台生成）"))
        filename = access_copy_name(revision.filename)
    disposition = "attachment" if request.params.get("download") else "inline"
    response = Response(content_type=stored.content_type)
    response.app_iter = FileIter(stored.open())
    response.content_length = stored.size
    quoted = urllib.parse.quote(filename, safe="")
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quoted}"
    response.headers["X-Content-SHA256"] = stored.sha256
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "private, no-store"
    return response
