"""Who may do what: the role matrix, the security policy, login throttling.

The matrix is data (schemas/roles.yaml) compiled into the root ACL. Identity comes from
the session cookie for people and from a Bearer token for integrating systems; a token
request is not subject to CSRF checks because no browser sends it on its own. Local roles
(a role in one jurisdiction or on one dossier, archive.access.local) are weighed here too:
on a dossier of their place they act as the role; elsewhere only in the views that narrow
to the user's places. Dossiers themselves carry no ACL for it (resources free of security
code): the policy reads their jurisdiction and number.
"""
from __future__ import annotations


import yaml
from pyramid.authentication import SessionAuthenticationHelper
from pyramid.authorization import ACLHelper, Allow, Authenticated, DENY_ALL, Everyone
from pyramid.location import lineage

from .local import narrowed, parse, places_of
from .users import ROLES


class RoleMatrix:
    """Roles -> permissions, read from roles.yaml and checked against the known roles."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        self.permissions = data["permissions"]
        self.roles = data["roles"]
        # What a local role (reviewer@qujing) opens off a dossier: the views that narrow
        # what they show to the user's places (archive.access.local).
        self.local = tuple(data.get("local") or ())
        unknown = set(self.local) - set(self.permissions)
        if unknown:
            raise ValueError(f"roles.yaml: local lists unknown permissions {sorted(unknown)}")
        for role, perms in self.roles.items():
            if role not in ROLES:
                raise ValueError(f"roles.yaml: unknown role {role!r}")
            unknown = set(perms) - set(self.permissions)
            if unknown:
                raise ValueError(f"roles.yaml: role {role!r} has unknown permissions {sorted(unknown)}")

    def acl(self):
        return [(Allow, f"role:{r}", tuple(p)) for r, p in self.roles.items()] + [DENY_ALL]

    def local_acl(self):
        """The ACL a local role meets off a dossier: its role's permissions among ``local``."""
        return [(Allow, f"role:{r}", tuple(p for p in perms if p in self.local))
                for r, perms in self.roles.items()] + [DENY_ALL]

    def allows(self, role, permission):
        return permission in self.roles.get(role, ())


def bearer_token(request):
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


class ArchiveSecurityPolicy:
    """Session or token identity; ACLs on the object lineage, the role matrix at the top."""

    def __init__(self, matrix: RoleMatrix):
        self.session = SessionAuthenticationHelper()
        self.acl_helper = ACLHelper()
        self.root_acl = matrix.acl()
        self.local_acl = matrix.local_acl()

    def identity(self, request):
        """The logged-in User (or None); looked up once per request."""
        if "archive.identity" not in request.environ:
            request.environ["archive.identity"] = self._lookup(request)
        return request.environ["archive.identity"]

    def _lookup(self, request):
        from ..store import root_factory
        users = root_factory(request).users
        token = bearer_token(request)
        if token is not None:
            request.environ["archive.token_auth"] = True
            return users.by_token(token)
        login = self.session.authenticated_userid(request)
        user = users.get(login) if login else None
        if user is None or not user.active:
            return None
        if request.session.get("archive.epoch") != user.session_epoch:
            return None  # a session ended by logout, a new password or deactivation
        return user

    def authenticated_userid(self, request):
        user = self.identity(request)
        return user.login if user is not None else None

    def principals(self, request):
        user = self.identity(request)
        if user is None:
            return [Everyone]
        return ([Everyone, Authenticated, f"user:{user.login}"] + [f"role:{r}" for r in user.roles]
                + [f"role:{e}" for e in getattr(user, "local_roles", ())])

    def permits(self, request, context, permission):
        principals = self.principals(request) + self._grants(request, context)
        local = self._local(request, context)
        if local is not None:
            principals += local
        for location in lineage(context):
            acl = getattr(location, "__acl__", None)
            # A per-object ACL (e.g. a restricted dossier) decides when one of its
            # entries names this user and permission; otherwise the matrix does.
            if acl and any(p in principals and _names(perms, permission) for _, p, perms in acl):
                return self.acl_helper.permits(_Holder(acl), principals, permission)
        allowed = self.acl_helper.permits(_Holder(self.root_acl), principals, permission)
        if allowed or local is not None:
            return allowed
        # Off any dossier a local role opens the views that narrow to its places only.
        held = [f"role:{role}" for role, _ in self._local_roles(request)]
        if held and narrowed(request):
            return self.acl_helper.permits(_Holder(self.local_acl), held, permission)
        return allowed

    def _local_roles(self, request):
        user = self.identity(request)
        return [parse(e) for e in getattr(user, "local_roles", ())] if user is not None else []

    def _local(self, request, context):
        """On a dossier (or anything within one): the roles the user holds there locally, as
        the role's own principal (``role:reviewer``); None off any dossier."""
        places = places_of(context)
        if places is None:
            return None
        return [f"role:{role}" for role, place in self._local_roles(request) if place in places]

    def _grants(self, request, context):
        """Principals for the grants (借阅授权) the user holds on this very object while they
        last: an object that can be reached under a grant says which (archive.custody.loans)."""
        held = getattr(context, "grant_principals", None)
        user = self.identity(request) if held is not None else None
        return list(held(user.login)) if user is not None else []

    def remember(self, request, userid, epoch=0, **kw):
        request.session["archive.epoch"] = epoch
        return self.session.remember(request, userid, **kw)

    def forget(self, request, **kw):
        return self.session.forget(request, **kw)


def _names(perms, permission):
    return perms == permission or (not isinstance(perms, str) and permission in perms)


class _Holder:
    """Lets ACLHelper evaluate one ACL on its own."""

    __parent__ = None

    def __init__(self, acl):
        self.__acl__ = acl


def is_token_request(request) -> bool:
    return bearer_token(request) is not None


