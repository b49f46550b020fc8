"""Hostile input, refused before any view runs: a clear 4xx in Chinese, nothing changed.

A tween at the very top of the application (above pyramid_tm, whose transaction note reads
the path) looks at what WebOb and the views would otherwise trip over:

- a path or query string that is not UTF-8, carries control characters or is too long;
- a body declared larger than the application takes, from its Content-Length, before it is
  parsed (an upload over ``archive.max_upload_mb`` plus FORM_OVERHEAD for the form's other
  fields, any other body over MAX_BODY). Waitress buffers a body before the application
  sees it, so the ``max_request_body_size`` of development.ini's [server:main] is what
  refuses a larger one before it is received;
- a charset other than UTF-8;
- ``multipart/form-data`` without a valid boundary, cut short (no closing delimiter), with
  a part typed ``multipart/…``, a part without a field name or with headers too long, too
  many parts, or more than one file; text fields that are not UTF-8 or hold NUL or other
  control characters (WebOb would read the first as U+FFFD without a word).

Such a request is neutralised (its path quoted, its query string and body emptied, so the
error page itself can be drawn) and marked; once the router has found the context, and
before any view, permission or CSRF check runs, a ContextFound subscriber raises
InputRefused, which views/errors.py turns into a JSON error under /api/ and a page
elsewhere. A well-formed multipart body is parsed here once, tolerating a
``charset`` parameter on a file part (``charset=binary``, as ``file -bi`` prints it), and
left where WebOb's ``request.POST`` finds it.

JSON bodies are parsed by the views (views/api.py ``json_body``), which check their text
with ``text_problems``: a lone surrogate (``"\\ud800"``) cannot be stored, shown or
hashed into the audit log, and a NUL is never a clerk's input.
"""
from __future__ import annotations

import io
import mmap
import re
import urllib.parse

from pyramid.events import ContextFound
from pyramid.tweens import INGRESS

FORM_OVERHEAD = 1024 * 1024  # bytes a form may add to its file: the description, boundaries
REFUSAL = "archive.refusal"
MAX_BODY = 4 * 1024 * 1024   # a JSON or urlencoded body; files come as multipart
MAX_PATH = 2048              # characters of a path; any segment at most MAX_SEGMENT
MAX_SEGMENT = 255
MAX_QUERY = 16 * 1024        # characters of a query string, escapes included
MAX_FIELDS = 5000            # fields of one form
MAX_LARGE_PARTS = 64         # parts over 1000 bytes (each one a temporary file while parsed)
MAX_PART_HEADERS = 8 * 1024  # bytes of one part's headers
UTF8 = ("utf-8", "utf8")

# C0 controls but tab, line feed and carriage return; DEL; unpaired surrogates
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_BOUNDARY = re.compile(r"^[ -~]{0,199}[!-~]$")  # what the parser takes (cgi.valid_boundary)

UNDECODABLE = "请求中含有无法识别的字符（应为UTF-8编码）"
PATH_CONTROL = "请求地址中含有不允许的控制字符"
PATH_TOO_LONG = "请求地址过长"
QUERY_TOO_LONG = "请求参数过长（查询字符串不能超过 16 KB）"
QUERY_CONTROL = "请求参数中含有不允许的控制字符（如空字符）"
BAD_LENGTH = "请求头 Content-Length 不正确"
CHARSET = "请求正文应使用UTF-8编码（Content-Type 中的 charset 应为 utf-8）"
BODY_TOO_LARGE = "请求正文过大（上限 {mb:g} MB）"
NO_BOUNDARY = "上传的表单格式不正确：Content-Type 缺少有效的分隔符（boundary）"
TRUNCATED = "上传的表单不完整（缺少结束分隔符），请重新上传"
NESTED = "上传的表单中含有嵌套的多部分内容（multipart/…），请将文件作为单独的字段上传"
PART_HEADERS = "上传的表单格式不正确：某一部分的头部缺失或过长"
NO_NAME = "上传的表单格式不正确：某一部分缺少字段名（Content-Disposition: form-data; name=…）"
TOO_MANY_FIELDS = "提交的表单字段过多"
TWO_FILES = "一次只能上传一个文件，请分别归档"
UNREADABLE = "上传的表单无法读取，请重新提交"
SURROGATE = "含有无效的Unicode字符（不成对的代理项），请删除后重试"
CONTROL = "含有不允许的控制字符（如空字符），请删除后重试"


class InputRefused(Exception):
    """A request refused for its form before any view ran (views/errors.py answers it)."""

    def __init__(self, status, message, errors=None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


class UploadTooLarge(Exception):
    """An upload over the configured limit (HTTP 413)."""

    def __init__(self, limit):
        super().__init__(f"文件大小超过上限（{limit / (1024 * 1024):g} MB）")


def includeme(config):
    # above pyramid_tm, whose transaction note reads the path that may not decode
    config.add_tween("archive.views.input.hostile_input_tween_factory", under=INGRESS,
                     over="pyramid_tm.tm_tween_factory")
    config.add_subscriber(raise_refusal, ContextFound)


def hostile_input_tween_factory(handler, registry):
    def hostile_input_tween(request):
        if REFUSAL not in request.environ:
            refusal = check(request, registry)
            if refusal is not None:
                neutralise(request.environ)
                request.environ[REFUSAL] = refusal
        return handler(request)
    return hostile_input_tween


def raise_refusal(event):
    refusal = event.request.environ.get(REFUSAL)
    if refusal is not None:
        raise InputRefused(*refusal)


def neutralise(environ):
    """Leave nothing in the request that the error page could trip over again."""
    raw = environ.get("PATH_INFO", "").encode("latin-1", "replace")
    environ["PATH_INFO"] = urllib.parse.quote(raw, safe="/")[:MAX_PATH]
    environ["QUERY_STRING"] = ""
    environ["CONTENT_LENGTH"] = "0"
    environ["CONTENT_TYPE"] = "application/octet-stream"  # not a form: request.POST stays empty
    environ.pop("webob._parsed_post_vars", None)
    environ.pop("webob._parsed_query_vars", None)
    environ["wsgi.input"] = io.BytesIO(b"")


def check(request, registry):
    """(status, message[, errors]) for a request to refuse, or None."""
    env = request.environ
    return (_path_problem(env.get("PATH_INFO", ""))
            or _query_problem(env.get("QUERY_STRING", ""))
            or _body_problem(request, registry))


# -- the path and the query string -----------------------------------------------------
def _path_problem(path):
    try:  # WSGI gives the path's bytes as latin-1 characters
        text = path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return 400, UNDECODABLE
    if _CONTROL.search(text):
        return 400, PATH_CONTROL
    if len(text) > MAX_PATH or any(len(s) > MAX_SEGMENT for s in text.split("/")):
        return 400, PATH_TOO_LONG
    return None


def _query_problem(query):
    if not query:
        return None
    if len(query) > MAX_QUERY:  # (a redirect to the login page would carry it in a header)
        return 400, QUERY_TOO_LONG
    try:  # latin-1 characters (PEP 3333): the bytes they and their escapes stand for are UTF-8
        raw = query.encode("latin-1")
        text = urllib.parse.unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeError:
        return 400, UNDECODABLE
    if _BAD_TEXT.search(text):  # tab and line breaks are text (a pasted search, a came_from)
        return 400, QUERY_CONTROL
    return None


# -- the body --------------------------------------------------------------------------
def _body_problem(request, registry):
    env = request.environ
    declared = env.get("CONTENT_LENGTH") or ""
    if declared.strip() and not declared.strip().isdigit():
        return 400, BAD_LENGTH
    length = int(declared) if declared.strip() else 0
    content_type = env.get("CONTENT_TYPE") or ""
    if not length and not content_type:
        return None
    media, params = _media_type(content_type)
    charset = params.get("charset")
    if charset is not None and charset.lower() not in UTF8:
        return 400, CHARSET
    if media == "multipart/form-data":
        limit = getattr(registry, "archive_upload_limit", 50 * 1024 * 1024)
        if length > limit + FORM_OVERHEAD:
            return 413, str(UploadTooLarge(limit)), {"file": str(UploadTooLarge(limit))}
        return _multipart_problem(request, params.get("boundary"))
    if length > MAX_BODY:
        return 413, BODY_TOO_LARGE.format(mb=MAX_BODY / (1024 * 1024))
    if media == "application/x-www-form-urlencoded" and length:
        return _urlencoded_problem(request)
    return None


def _media_type(value):
    """('type/subtype', {param: value}) of a Content-Type, parameter names lower-cased."""
    from webob.compat import parse_header
    media, params = parse_header(value)
    return media.strip().lower(), {k.lower(): v for k, v in params.items()}


def _urlencoded_problem(request):
    body = request.body  # at most MAX_BODY, checked above
    if body.count(b"&") >= MAX_FIELDS:
        return 400, TOO_MANY_FIELDS
    try:  # WebOb would read bytes that are not UTF-8 as U+FFFD, silently
        urllib.parse.unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8")
    except UnicodeError:
        return 400, UNDECODABLE
    try:
        fields = request.POST
    except UnicodeDecodeError:
        return 400, UNDECODABLE
    return _field_problem(fields)


def _field_problem(fields):
    for name, value in fields.items():
        if isinstance(value, str) and _BAD_TEXT.search(value):
            return 400, f"{shown(name)}：{CONTROL}", {shown(name): CONTROL}
    return None


def _multipart_problem(request, boundary):
    if not boundary or not _BOUNDARY.match(boundary):
        return 400, NO_BOUNDARY
    request.make_body_seekable()
    body_file = request.body_file_raw
    body_file.seek(0)
    data = _bytes_of(body_file)
    try:
        problem = _scan_parts(data, boundary.encode("latin-1"))
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
        body_file.seek(0)
    if problem is not None:
        return problem
    try:
        fields = _parse_form(request)
    except (ValueError, LookupError, UnicodeError, EOFError):
        return 400, UNREADABLE
    return _field_problem(fields)


def _bytes_of(body_file):
    """The body to scan: a small one's bytes (WebOb keeps one over 10 KB in a temporary
    file), a large one's file mapped into memory rather than read into it."""
    if hasattr(body_file, "getvalue"):
        return body_file.getvalue()
    try:
        return mmap.mmap(body_file.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError):  # no real file, or an empty one
        data = body_file.read()
        body_file.seek(0)
        return data


def _scan_parts(data, boundary):
    """The body's structure, checked before a parser walks it: delimiters on lines of their
    own, each part's headers short and naming its field, no nested multipart, a closing
    delimiter, a bounded number of parts and at most one file."""
    from webob.compat import parse_header
    delimiter = b"--" + boundary
    pos = _delimiter_line(data, delimiter, 0)
    if pos is None:
        return None if not bytes(data[:4096]).strip() else (400, TRUNCATED)
    parts = large = files = 0
    while True:
        after = pos + len(delimiter)
        if data[after:after + 2] == b"--":
            return None  # the closing delimiter: everything before it was a whole part
        start = data.find(b"\n", after) + 1
        if start == 0:
            return 400, TRUNCATED
        if data[start:start + 2] == b"\r\n" or data[start:start + 1] == b"\n":
            head, body_start = b"", start + (2 if data[start:start + 1] == b"\r" else 1)
        else:
            ends = [i for i in (data.find(b"\n\r\n", start, start + MAX_PART_HEADERS),
                                data.find(b"\n\n", start, start + MAX_PART_HEADERS)) if i >= 0]
            if not ends:
                return 400, PART_HEADERS
            end = min(ends)
            head = bytes(data[start:end])
            body_start = end + (3 if data[end:end + 3] == b"\n\r\n" else 2)
        headers = _part_headers(head)
        media = parse_header(headers.get("content-type", ""))[0].strip().lower()
        if media.startswith("multipart/"):
            return 400, NESTED
        disposition, params = parse_header(headers.get("content-disposition", ""))
        if not params.get("name"):
            return 400, NO_NAME
        is_file = bool(params.get("filename") or params.get("filename*"))
        if is_file:
            files += 1
            if files > 1:
                return 400, TWO_FILES
        parts += 1
        if parts > MAX_FIELDS:
            return 400, TOO_MANY_FIELDS
        pos = _delimiter_line(data, delimiter, body_start)
        if pos is None:
            return 400, TRUNCATED
        if not is_file:  # a text field: UTF-8 (the parser would put U+FFFD in silently)
            try:
                bytes(data[body_start:max(body_start, pos - 1)]).decode("utf-8")
            except UnicodeError:
                return 400, UNDECODABLE
        if pos - body_start > 1000:
            large += 1
            if large > MAX_LARGE_PARTS:
                return 400, TOO_MANY_FIELDS


def _delimiter_line(data, delimiter, start):
    """Where the next line holding only ``delimiter`` (or its closing form) begins."""
    at = start
    while True:
        if at == 0 and data[:len(delimiter)] == delimiter:
            found = 0
        else:
            found = data.find(b"\n" + delimiter, max(at - 1, 0))
            if found < 0:
                return None
            found += 1
        rest = data[found + len(delimiter):found + len(delimiter) + 80]
        if rest.split(b"\n", 1)[0].rstrip() in (b"", b"--"):
            return found
        at = found + len(delimiter)


def _part_headers(head):
    headers, name = {}, None
    for line in head.decode("utf-8", "replace").splitlines():
        if line[:1] in (" ", "\t") and name:  # a folded header continues
            headers[name] += " " + line.strip()
            continue
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers[name] = value.strip()
    return headers


def _parse_form(request):
    """Parse the (checked) multipart body as WebOb does, into the MultiDict it caches, but
    without decoding a file part's name in the charset its Content-Type may give."""
    from webob.compat import cgi_FieldStorage
    from webob.multidict import MultiDict
    env = request.environ
    fs_environ = env.copy()
    fs_environ.setdefault("CONTENT_LENGTH", "0")
    fs_environ["QUERY_STRING"] = ""
    fs = cgi_FieldStorage(fp=request.body_file, environ=fs_environ, keep_blank_values=True,
                          encoding="utf8")
    fields = MultiDict()
    for field in fs.list or ():
        if field.filename:
            fields.add(field.name, field)
            continue
        charset = (field.type_options.get("charset") or "utf-8").lower()
        if charset not in UTF8:
            raise UnicodeError(charset)
        value = field.value
        encoding = (field.headers.get("Content-Transfer-Encoding") or "").lower()
        if encoding in ("base64", "quoted-printable"):
            import binascii
            decode = binascii.a2b_base64 if encoding == "base64" else binascii.a2b_qp
            value = decode(value.encode("utf8")).decode("utf8")
        fields.add(field.name, value)
    env["webob._parsed_post_vars"] = (fields, request.body_file_raw)
    return fields


# -- text in JSON ----------------------------------------------------------------------
def shown(text, limit=60):
    """Input text safe to echo in a message: controls and surrogates escaped, shortened."""
    text = str(text)[:limit]
    return _BAD_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def text_problem(value: str):
    """Why a text cannot be accepted (a message), or None."""
    match = _BAD_TEXT.search(value)
    if match is None:
        return None
    return SURROGATE if "\ud800" <= match.group() <= "\udfff" else CONTROL


def text_problems(value, limit=20) -> dict:
    """{field path: message} for every text of a parsed JSON value (keys included) that
    holds a lone surrogate or a control character other than tab and line breaks."""
    problems, stack = {}, [("", value)]
    while stack and len(problems) < limit:
        path, item = stack.pop()
        if isinstance(item, str):
            why = text_problem(item)
            if why:
                problems[path or "_"] = f"{path or '正文'}：{why}"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{shown(key)}" if path else shown(key)
                if isinstance(key, str) and text_problem(key):
                    problems[child_path] = f"{child_path}：字段名{text_problem(key)}"
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), child)
                         for i, child in enumerate(item))
    return problems
