"""User administration (用户管理), split as 三员分立 wants it (access/users.py).

The system administrator (``manage_accounts``) adds accounts, disables them, resets
passwords and issues API tokens, but gives no roles; the security officer
(``manage_roles``) gives roles and nothing else. Both see the list of users. Every change
is in the audit log, which only the security auditor reads; a refused change is written
there too (after the request's abort, views/aftermath.py), so an attempt to become two of
the three leaves a trace.
"""
from __future__ import annotations

import re

from pyramid.httpexceptions import HTTPForbidden, HTTPFound, HTTPNotFound
from pyramid.security import remember
from pyramid.view import view_config

from ..records.filing import now
from ..access.local import known_place
from ..access.users import ROLES, UserError, role_title
from .aftermath import after_abort
from .base import actor


def _user_or_404(request):
    user = request.root.users.get(request.matchdict["login"])
    if user is None:
        raise HTTPNotFound(request.t("用户不存在"))
    return user


def _refused(request, exc, target):
    """Keep the refusal in the audit log, then let the error view answer 400 (and abort)."""
    who, when, why = actor(request), now(), str(exc)
    after_abort(request, lambda root: root.log.append(who, "user.refused", target, why, when))
    raise exc


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


@view_config(route_name="users", renderer="archive:templates/users.pt")
def users(request):
    """The users and their roles, for either administrator (each sees only his own forms)."""
    may = {p: bool(request.has_permission(p, request.root))
           for p in ("manage_accounts", "manage_roles")}
    if not any(may.values()):
        raise HTTPForbidden()
    return {"users": list(request.root.users.values()), "roles": ROLES,
            "role_title": lambda r: role_title(r, request.ui_locale), "token": None,
            "local_title": lambda e: _local_title(request, e),
            "jurisdictions": request.registry.archive_schemas.vocabularies["jurisdictions"],
            "error": "", "may": may}


@view_config(route_name="user_new", request_method="POST", permission="manage_accounts",
             renderer="archive:templates/users.pt")
def user_new(request):
    """A new account without roles: the security officer gives it its roles."""
    p = request.POST
    login = p.get("login", "").strip().lower()
    try:
        request.root.users.add(login, p.get("name", ""), (), p.get("password", ""),
                               request.registry.archive_hasher)
    except UserError as exc:
        request.response.status = 400
        result = users(request)
        result["error"] = str(exc)
        return result
    request.root.log.append(actor(request), "user.add", login, "", now())
    request.session.flash(request.t("已添加用户 {login}，角色由安全保密管理员分配", login=login))
    return HTTPFound(request.route_url("users"))


@view_config(route_name="user", request_method="POST", permission="manage_accounts")
def user_edit(request):
    """The account: enabled or not, a new password. Not the roles (``user_roles``)."""
    user = _user_or_404(request)
    p = request.POST
    active = p.get("active") == "1"
    changes = []
    if active != user.active or p.get("password"):
        try:
            request.root.users.check_credentials(request.identity, user)
            if not active and user.login == actor(request):
                raise UserError("不能停用自己的账号")
        except UserError as exc:
            _refused(request, exc, user.login)
    if active != user.active:
        user.active = active
        changes.append(f"active={active}")
        if not active:
            request.root.users.revoke_tokens(user.login)
            user.end_sessions()
    if p.get("password"):
        user.set_password(p["password"], request.registry.archive_hasher)
        request.root.log.append(actor(request), "user.password", user.login, "", now())
    if changes:
        request.root.log.append(actor(request), "user.edit", user.login, " ".join(changes), now())
    request.session.flash(request.t("已保存用户 {login}", login=user.login))
    return HTTPFound(request.route_url("users"))


@view_config(route_name="user_roles", request_method="POST", permission="manage_roles")
def user_roles(request):
    """Give the user exactly the roles ticked: never one's own, never two of the three."""
    user = _user_or_404(request)
    roles, before = request.POST.getall("roles"), user.roles
    try:
        request.root.users.set_roles(user.login, roles, by=actor(request))
    except UserError as exc:
        _refused(request, exc, user.login)
    if user.roles != before:
        request.root.log.append(actor(request), "user.roles", user.login,
                                f"{','.join(before) or '-'} -> {','.join(user.roles) or '-'}", now())
    request.session.flash(request.t("已保存用户 {login}", login=user.login))
    return HTTPFound(request.route_url("users"))


@view_config(route_name="user_local", request_method="POST", permission="manage_roles")
def user_local(request):
    """局部角色: a role in some jurisdictions, or on one dossier, only (archive.access.local).
    The change is in the audit log, the roles before and after."""
    user = _user_or_404(request)
    before = user.local_roles
    try:
        after = request.root.users.set_local_roles(
            user.login, _local_entries(request.POST.get("local_roles", "")), _places(request),
            by=actor(request))
    except UserError as exc:
        _refused(request, exc, user.login)
    if after != before:
        request.root.log.append(actor(request), "user.local_roles", user.login,
                                f"{' '.join(before) or '-'} → {' '.join(after) or '-'}", now())
    request.session.flash(request.t("已保存用户 {login}", login=user.login))
    return HTTPFound(request.route_url("users"))


@view_config(route_name="user_token", request_method="POST", permission="manage_accounts",
             renderer="archive:templates/users.pt")
def user_token(request):
    """Issue an API token; it is shown this once and only its digest is kept."""
    user = _user_or_404(request)
    try:
        request.root.users.check_credentials(request.identity, user)
    except UserError as exc:
        _refused(request, exc, user.login)
    label = request.POST.get("label", "")
    token = request.root.users.issue_token(user.login, label, now())
    request.root.log.append(actor(request), "token.issue", user.login, label, now())
    result = users(request)
    result["token"] = (user.login, token)
    return result


@view_config(route_name="password", renderer="archive:templates/password.pt")
def own_password(request):
    """Every user changes his own password, knowing the current one: how the security officer
    and the auditor replace the one the system administrator gave their new account."""
    user = request.identity
    if user is None:
        raise HTTPForbidden()
    message = ""
    if request.method == "POST":
        hasher = request.registry.archive_hasher
        if not user.check_password(request.POST.get("current", ""), hasher):
            request.response.status = 400
            message = request.t("当前密码不正确")
        else:
            try:
                user.set_password(request.POST.get("new", ""), hasher)   # ends other sessions
            except UserError as exc:
                request.response.status = 400
                message = str(exc)
            else:
                request.root.log.append(user.login, "user.password", user.login, "本人修改", now())
                request.session.flash(request.t("密码已修改"))
                headers = remember(request, user.login, epoch=user.session_epoch)
                return HTTPFound(request.route_url("password"), headers=headers)
    return {"message": message}
