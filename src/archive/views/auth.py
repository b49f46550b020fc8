"""Logging in and out, and choosing the interface language."""
from __future__ import annotations

from pyramid.csrf import new_csrf_token
from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import view_config

from ..records.filing import now


def _safe_target(request, target, user=None):
    """Only redirect within this site (no open redirect through came_from)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(c < " " or c in "\x7f\\" for c in target)):
        return request.application_url + target
    return request.route_url(_landing(request, user))


# Where a user lands after logging in without asking for a page: the home page shows
# dossiers, which the administrators (三员分立) and borrowers may not see.
LANDINGS = (("view", "home"), ("manage_accounts", "users"), ("manage_roles", "users"),
            ("view_log", "log"), ("borrow", "loans"))


def _landing(request, user):
    if user is None:
        return "home"
    matrix = request.registry.archive_roles
    held = {p for r in user.roles for p in matrix.roles.get(r, ())}
    return next((route for perm, route in LANDINGS if perm in held), "home")


@view_config(route_name="login", renderer="archive:templates/login.pt")
def login(request):
    came_from = request.params.get("came_from", "")
    message, login_name = "", ""
    if request.method == "POST":
        login_name = request.POST.get("login", "").strip().lower()
        throttle = request.registry.archive_throttle
        if throttle.blocked(login_name):
            request.response.status = 429
            message = request.t("登录失败次数过多，请15分钟后再试")
        else:
            user = request.root.users.authenticate(login_name, request.POST.get("password", ""),
                                                   request.registry.archive_hasher)
            if user is not None:
                throttle.succeeded(login_name)
                request.session.invalidate()
                headers = remember(request, user.login, epoch=user.session_epoch)
                new_csrf_token(request)
                request.root.log.append(user.login, "login", user.login, "", now())
                return HTTPFound(_safe_target(request, came_from, user), headers=headers)
            throttle.failed(login_name)
            request.response.status = 401
            message = request.t("登录名或密码不正确")
    return {"message": message, "came_from": came_from, "login_name": login_name}


@view_config(route_name="logout", request_method="POST")
def logout(request):
    user = request.identity
    if user is not None and not request.environ.get("archive.token_auth"):
        user.end_sessions()
    headers = forget(request)
    request.session.invalidate()
    return HTTPSeeOther(request.route_url("login"), headers=headers)


@view_config(route_name="locale")
def choose_locale(request):
    code = "en" if request.matchdict["code"] == "en" else "zh_Hans"
    response = HTTPFound(_safe_target(request, request.referrer and request.referrer.replace(
        request.application_url, "", 1) or "/"))
    response.set_cookie("_LOCALE_", code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response
