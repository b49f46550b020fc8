"""Domain errors to HTTP, in one place: JSON for /api/, a page (or a redirect) for people.

Every refusal is a 4xx with a message a clerk understands; nothing here writes.
"""
from __future__ import annotations

from pyramid.exceptions import BadCSRFToken, PredicateMismatch
from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPMethodNotAllowed
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from ..records.dossier import DossierError, NothingChanged
from ..records.filing import ValidationFailed
from ..records.numbering import NumberingError
from ..records.pdf import InvalidDocument
from ..access.users import UserError
from ..access.local import OutOfScope
from ..custody.shelving import PlaceConflict, PlaceNotFound, ShelvingError
from ..disposition.errors import DispositionError
from ..workflow import NotPermitted, TransitionRefused, UnknownTransition, WrongState
from .input import UploadTooLarge
from .aftermath import record_refusal


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def respond(request, status, message, errors=None):
    """A JSON body for the API, an error page for a person."""
    request.response.status = status
    if is_api(request):
        body = {"error": message, "status": status}
        if errors:
            body["errors"] = errors
        return _json(request, body, status)
    from pyramid.renderers import render_to_response
    return render_to_response("archive:templates/error.pt",
                              {"status": status, "message": message, "errors": errors or {}},
                              request=request, response=request.response)


def _json(request, body, status):
    from pyramid.renderers import render_to_response
    response = render_to_response("json", body, request=request)
    response.status = status
    return response


@exception_view_config(ValidationFailed)
def validation_failed(exc, request):
    return respond(request, 422, request.t("输入有误，请按提示修改"), exc.errors)


@exception_view_config(InvalidDocument)
def invalid_document(exc, request):
    return respond(request, 400, str(exc), {"file": str(exc)})


@exception_view_config(UploadTooLarge)
def upload_too_large(exc, request):
    return respond(request, 413, str(exc), {"file": str(exc)})


@exception_view_config(NothingChanged)
def nothing_changed(exc, request):
    return respond(request, 409, str(exc))


@exception_view_config(TransitionRefused)
def step_refused(exc, request):
    """A procedure step refused: 403 (role), 409 (state moved on), 422 (guards), with
    every reason listed so the clerk knows what to do next."""
    status = 403 if isinstance(exc, NotPermitted) else 409 if isinstance(exc, WrongState) else 422
    record_refusal(request, exc)
    if is_api(request):
        return _json(request, {"error": str(exc), "status": status, "problems": exc.problems,
                               "overridable": exc.overridable}, status)
    return respond(request, status, str(exc), {str(i + 1): p for i, p in enumerate(exc.problems)})


@exception_view_config(UnknownTransition)
def unknown_step(exc, request):
    return respond(request, 400, str(exc))


@exception_view_config(DossierError)
@exception_view_config(UserError)
@exception_view_config(NumberingError)
def refused(exc, request):
    return respond(request, 400, str(exc))


@exception_view_config(ShelvingError)
def shelving_refused(exc, request):
    """库房管理: an unknown place 404, a place registered twice or a volume already there 409,
    anything else wrong with the input 422 naming the field."""
    status = 404 if isinstance(exc, PlaceNotFound) else 409 if isinstance(exc, PlaceConflict) else 422
    return respond(request, status, str(exc), {exc.field: str(exc)})


@exception_view_config(DispositionError)
def disposition_refused(exc, request):
    """鉴定与处置: a held dossier 409, the same person twice 403, an unknown dossier or list
    404, wrong input 422 naming the field; each with the reason in Chinese."""
    return respond(request, exc.status, str(exc), {exc.field: str(exc)} if exc.field else None)


@exception_view_config(BadCSRFToken)
def bad_csrf(exc, request):
    return respond(request, 400, request.t("表单已失效或来源不明（CSRF校验失败），请刷新页面后重试"))


@exception_view_config(HTTPBadRequest)
def bad_request(exc, request):
    """A request the server cannot read (malformed JSON, a bad query parameter)."""
    return respond(request, 400, exc.detail if isinstance(exc.detail, str) and exc.detail
                   else request.t("请求格式不正确"))


@exception_view_config(UnicodeDecodeError)
def undecodable(exc, request):
    """Query strings or forms that are not UTF-8 (WebOb raises when they are read)."""
    return respond(request, 400, request.t("请求中含有无法识别的字符（应为UTF-8编码）"))


@exception_view_config(HTTPMethodNotAllowed)
def method_not_allowed(exc, request):
    return respond(request, 405, request.t("不支持此请求方法"))


@notfound_view_config()
def not_found(exc, request):
    """A view's own reason (版本 3 不存在 …), or for an address no route takes (Pyramid's
    detail is then the bare path, which tells a clerk nothing) 页面或档案不存在."""
    own = isinstance(exc.detail, str) and exc.detail and exc.detail != request.path_info
    return respond(request, 404, exc.detail if own else request.t("页面或档案不存在"))


@forbidden_view_config()
def forbidden(exc, request):
    if request.authenticated_userid is None:
        if is_api(request):
            return respond(request, 401, request.t("需要登录或提供有效的API令牌"))
        return HTTPFound(request.route_url("login", _query={"came_from": request.path_qs}))
    # A view's own refusal (HTTPForbidden("只能…")) says why; the permission check's does not.
    said = exc.detail if getattr(exc, "result", None) is None and isinstance(exc.detail, str) else ""
    return respond(request, 403, said or request.t("您的角色无权执行此操作"))


@exception_view_config(OutOfScope)
def out_of_scope(exc, request):
    """Something outside the user's jurisdictions (archive.access.local)."""
    return respond(request, 403, str(exc))


# -- hostile input (views/input.py) ----------------------------------------------------------
from .input import InputRefused  # noqa: E402


@exception_view_config(InputRefused)
def input_refused(exc, request):
    """A request refused for its form before any view ran: an undecodable path or query
    string, malformed multipart, a body over its limit (views/input.py)."""
    errors = {k: request.t(v) for k, v in exc.errors.items()} if exc.errors else None
    return respond(request, exc.status, request.t(exc.message), errors)


@exception_view_config(UnicodeEncodeError)
def unencodable(exc, request):
    """Text that cannot be written out (an unpaired surrogate that got past the checks of
    views/input.py): refused, never a 500; logged, since it means a check is missing."""
    import logging
    logging.getLogger(__name__).warning("unencodable text reached %s", request.path_qs,
                                        exc_info=exc)
    return respond(request, 400, request.t("请求中含有无法保存的字符（如不成对的代理项），请删除后重试"))


def answer_405(request):
    """405 with an Allow header for a known API path asked with a method it does not take."""
    from .openapi import route_methods
    allowed = route_methods(request.registry, request.matched_route.name)
    if "GET" in allowed:
        allowed.add("HEAD")
    response = respond(request, 405, request.t("不支持此请求方法"))
    response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


@exception_view_config(PredicateMismatch)
def predicate_mismatch(exc, request):
    """A known path asked with a method none of its views takes: 405 and the methods it does
    take, for every route (API or page) without a view of its own per route. Pyramid's own
    message (``predicate mismatch for view …``) names internals and is never shown."""
    route = getattr(request, "matched_route", None)
    if route is not None:
        from .openapi import route_methods
        allowed = route_methods(request.registry, route.name)
        if allowed and request.method not in allowed | ({"HEAD"} if "GET" in allowed else set()):
            return answer_405(request)
    return respond(request, 404, request.t("接口不存在") if request.path.startswith("/api/")
                   else request.t("页面或档案不存在"))
