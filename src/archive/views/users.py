"""User administration (用户管理): accounts, roles, passwords, API tokens."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config

from ..records.filing import now
from ..access.users import ROLES, UserError, role_title
from .base import actor


def _user_or_404(request):
    user = request.root.users.get(request.matchdict["login"])
    if user is None:
        raise HTTPNotFound(request.t("用户不存在"))
    return user


@view_config(route_name="users", renderer="archive:templates/users.pt", permission="manage_users")
def users(request):
    return {"users": list(request.root.users.values()), "roles": ROLES,
            "role_title": lambda r: role_title(r, request.ui_locale), "token": None,
            "error": ""}


@view_config(route_name="user_new", request_method="POST", permission="manage_users",
             renderer="archive:templates/users.pt")
def user_new(request):
    p = request.POST
    try:
        request.root.users.add(p.get("login", ""), p.get("name", ""), p.getall("roles"),
                               p.get("password", ""), request.registry.archive_hasher)
    except UserError as exc:
        request.response.status = 400
        result = users(request)
        result["error"] = str(exc)
        return result
    request.root.log.append(actor(request), "user.add", p.get("login", "").strip().lower(),
                            ",".join(p.getall("roles")), now())
    request.session.flash(request.t("已添加用户"))
    return HTTPFound(request.route_url("users"))


@view_config(route_name="user", request_method="POST", permission="manage_users")
def user_edit(request):
    user = _user_or_404(request)
    p = request.POST
    request.root.users.set_roles(user.login, p.getall("roles"))
    user.active = p.get("active") == "1"
    if p.get("password"):
        user.set_password(p["password"], request.registry.archive_hasher)
    if not user.active:
        request.root.users.revoke_tokens(user.login)
        user.end_sessions()
    request.root.log.append(actor(request), "user.edit", user.login,
                            f"roles={','.join(user.roles)} active={user.active}", now())
    request.session.flash(request.t("已保存用户 {login}", login=user.login))
    return HTTPFound(request.route_url("users"))


@view_config(route_name="user_token", request_method="POST", permission="manage_users",
             renderer="archive:templates/users.pt")
def user_token(request):
    """Issue an API token; it is shown this once and only its digest is kept."""
    user = _user_or_404(request)
    token = request.root.users.issue_token(user.login, request.POST.get("label", ""), now())
    request.root.log.append(actor(request), "token.issue", user.login, "", now())
    result = users(request)
    result["token"] = (user.login, token)
    return result
