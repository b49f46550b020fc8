"""What every view needs to know about the request: who, which language, which schema."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound

KIND_OF = {"households": "household", "units": "unit"}
CONTAINER_OF = {v: k for k, v in KIND_OF.items()}


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


def household_or_404(request):
    """The traversed dossier when it is a household's (case history, credit record)."""
    dossier = request.context
    if getattr(dossier, "kind", None) != "household":
        raise HTTPNotFound(request.t("页面或档案不存在"))
    return dossier


def document_or_404(request, dossier):
    from ..dossier import DocumentNotFound
    try:
        return dossier.document(request.matchdict["doc"])
    except DocumentNotFound:
        raise HTTPNotFound(request.t("文件不存在")) from None


FORM_OVERHEAD = 1024 * 1024  # bytes a form may add to its file: the description, boundaries


def read_upload(request, field):
    """(bytes, filename) of an uploaded file, refused early when it is too large.

    The declared Content-Length is checked before the body is parsed (views/input.py does
    it again before any view, and waitress's max_request_body_size before the body is even
    received); the file itself is then read no further than one byte past the limit."""
    from ..pdf import InvalidDocument
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


class UploadTooLarge(Exception):
    """An upload over the configured limit (HTTP 413)."""

    def __init__(self, limit):
        super().__init__(f"文件大小超过上限（{limit / (1024 * 1024):g} MB）")


def renderer_globals(event):
    """Names every template uses: the translator, the layout, the user, permissions."""
    from pyramid.renderers import get_renderer
    request = event.get("request")
    if request is None or event.get("renderer_name") == "json":
        return
    event["t"] = request.t
    event["layout"] = get_renderer("archive:templates/layout.pt").implementation()
    event["user"] = request.identity if request.authenticated_userid else None
    event.setdefault("can_global", lambda p: can(request, p, request.root))
    event["local"] = lambda when, fmt="%Y-%m-%d %H:%M": local_time(request, when, fmt)


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

    from ..dossier import MAX_COMMENT
    from ..validators import MaxLength
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
    return colander.SchemaNode(deform.FileData(), name="upload", title=request.t("PDF文件"),
                               missing_msg=request.t("请选择要上传的PDF文件"),
                               widget=deform.widget.FileUploadWidget(_MemoryTmpStore(),
                                                                     accept="application/pdf"))


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
