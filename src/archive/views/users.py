"""User administration (用户管理): accounts, roles, passwords, API tokens."""
from __future__ import annotations

import re

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config

from ..records.filing import now
from ..access.local import known_place
from ..access.users import ROLES, UserError, role_title
from .base import actor


def _user_or_404(request):
    user = request.root.users.get(request.matchdict["login"])
    if user is None:
        raise HTTPNotFound(request.t("用户不存在"))
    return user


def _local_entries(text):
    """Local roles as typed: ``reviewer@qujing archivist@QJ-HH-2024-Y-00001`` (spaces,
    commas or 、 between them)."""
    return [e for e in re.split(r"[\s,，、;；]+", text or "") if e]


def _places(request):
    return known_place(request.root, request.registry.archive_schemas.vocabularies)


def _local_title(request, entry):
    """``reviewer@qujing`` as 审核员@曲靖市 (an archive number stays as it is)."""
    role, _, place = entry.partition("@")
    vocab = request.registry.archive_schemas.vocabularies["jurisdictions"]
    where = vocab.title(place, request.ui_locale) if place in vocab else place
    return f"{role_title(role, request.ui_locale)}@{where}"


@view_config(route_name="users", renderer="archive:templates/users.pt", permission="manage_users")
def users(request):
    return {"users": list(request.root.users.values()), "roles": ROLES,
            "role_title": lambda r: role_title(r, request.ui_locale), "token": None,
            "local_title": lambda e: _local_title(request, e),
            "jurisdictions": request.registry.archive_schemas.vocabularies["jurisdictions"],
            "error": ""}


@view_config(route_name="user_new", request_method="POST", permission="manage_users",
             renderer="archive:templates/users.pt")
def user_new(request):
    p = request.POST
    try:
        user = request.root.users.add(p.get("login", ""), p.get("name", ""), p.getall("roles"),
                                      p.get("password", ""), request.registry.archive_hasher,
                                      _local_entries(p.get("local_roles", "")), _places(request))
    except UserError as exc:
        request.response.status = 400
        result = users(request)
        result["error"] = str(exc)
        return result
    request.root.log.append(actor(request), "user.add", user.login,
                            ",".join(user.roles + user.local_roles), now())
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


@view_config(route_name="user_local", request_method="POST", permission="manage_users",
             renderer="archive:templates/users.pt")
def user_local(request):
    """局部角色: a role in some jurisdictions, or on one dossier, only (archive.access.local).
    The change is in the audit log, the roles before and after."""
    user = _user_or_404(request)
    before = user.local_roles
    try:
        after = request.root.users.set_local_roles(
            user.login, _local_entries(request.POST.get("local_roles", "")), _places(request))
    except UserError as exc:
        request.response.status = 400
        result = users(request)
        result["error"] = str(exc)
        return result
    if after != before:
        request.root.log.append(actor(request), "user.local_roles", user.login,
                                f"{' '.join(before) or '-'} → {' '.join(after) or '-'}", now())
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
