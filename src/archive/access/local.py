"""Local roles (局部角色): a role held in some jurisdictions, or on one dossier, only.

One installation may keep several cities' archives. Besides the roles a user holds
everywhere (``User.roles``), a user may hold a role in a place: ``reviewer@qujing`` makes
the user a reviewer of 曲靖's dossiers and of nothing else; ``archivist@QJ-HH-2024-Y-00001``
an archivist of that one dossier. A place is a jurisdiction code (workflows/jurisdictions)
or an archive number; the two never look alike (lower-case codes, upper-case numbers with
dashes), so one set of places answers both questions.

How it is enforced (archive.access.security): on a dossier, a local role whose place is the
dossier's jurisdiction or number acts as the role itself, with all its permissions. Off a
dossier (a listing, the search page, the worklist), a local role opens only the views that
narrow what they show to the user's places: the permissions roles.yaml lists under
``local``. Those views ask ``scope(request, permission)`` which places the user may see,
and filter by it in the container's indexes and in the search index, so a total never
counts what the user may not open.
"""
from __future__ import annotations

from dataclasses import dataclass

from BTrees.OOBTree import OOTreeSet, union

SEPARATOR = "@"


# The routes whose views narrow what they show to the user's places (``scope``): the only
# ones a local role opens off a dossier. Any other listing across dossiers stays closed to a
# user without a global role.
NARROWED = frozenset({
    "home", "dossiers", "worklist", "search", "inspections",
    "audits", "audit", "audit_acks",
    "api_dossiers", "api_worklist", "api_search", "api_audits", "api_audit", "api_audit_acks",
    "lotteries", "lottery_new", "lottery", "lottery_verify", "lottery_draw", "lottery_redraw",
    "lottery_approve", "api_lotteries", "api_lottery", "api_lottery_draw", "api_lottery_redraw",
    "api_lottery_approve", "employers", "api_employers",
    "statistics", "statistics_csv", "statistics_pdf", "dossier_new",
    "places", "place", "place_stocktake", "stocktake",
    "api_places", "api_place_detail", "api_place_stocktakes", "api_stocktake",
    "disposition", "holds", "destruction_lists", "destruction_list", "destruction_list_pdf",
    "destruction_list_approval", "destruction_list_execution",
    "api_due", "api_holds", "api_destruction_lists", "api_destruction_list", "api_destruction_list_pdf",
    "api_destruction_list_approval", "api_destruction_list_execution",
    "credit", "api_credit",
    "loans", "loan", "loan_approve", "loan_refuse", "loan_lend", "loan_return",
    "api_loans", "api_loan", "api_loan_approve", "api_loan_refuse", "api_loan_lend", "api_loan_return",
})


def narrowed(request) -> bool:
    """Whether the request is for one of the NARROWED views."""
    route = getattr(request, "matched_route", None)
    return route is not None and route.name in NARROWED


def known_place(root, vocabularies):
    """A callable: whether a place is a jurisdiction code or an existing archive number."""
    from ..records.container import find_dossier
    codes = vocabularies["jurisdictions"]
    return lambda place: place in codes or find_dossier(root, place) is not None


class OutOfScope(Exception):
    """A step on something outside the user's places (archive.access.local): a 403 whose
    message says why, raised by the model and the views alike (views/errors.py)."""


class LocalRoleError(ValueError):
    """A local role that cannot be granted; the message is for the administrator."""


def parse(entry: str) -> tuple[str, str]:
    """``reviewer@qujing`` -> ("reviewer", "qujing"); LocalRoleError when it is not one."""
    role, sep, place = (entry or "").strip().partition(SEPARATOR)
    if not sep or not role.strip() or not place.strip():
        raise LocalRoleError(f"局部角色“{entry}”应写作 角色@辖区代码 或 角色@档号（如 reviewer@qujing）")
    return role.strip(), place.strip()


def split_roles(entries):
    """(global roles, local roles) of a mixed list such as the CLI's ``--role`` values."""
    entries = [e.strip() for e in entries if e and e.strip()]
    return ([e for e in entries if SEPARATOR not in e],
            [e for e in entries if SEPARATOR in e])


def places_of(context):
    """The places a context lies in: its dossier's jurisdiction and archive number, or
    None off any dossier (the root, a container, a listing's context)."""
    location = context
    while location is not None:
        number = getattr(location, "archive_no", None)
        metadata = getattr(location, "metadata", None)
        if isinstance(number, str) and hasattr(metadata, "get"):
            return {p for p in (metadata.get("jurisdiction"), number) if p}
        location = getattr(location, "__parent__", None)
    return None


def roles_on(user, context) -> tuple:
    """The roles ``user`` holds on ``context``: everywhere, and locally where it lies."""
    if user is None:
        return ()
    roles = list(getattr(user, "roles", ()) or ())
    places = places_of(context) if context is not None else None
    for entry in getattr(user, "local_roles", ()) or ():
        role, place = parse(entry)
        if places is not None and place in places and role not in roles:
            roles.append(role)
    return tuple(roles)


@dataclass(frozen=True)
class Scope:
    """The places a user may see: their jurisdictions and single dossiers."""

    places: frozenset

    def admits(self, dossier) -> bool:
        return bool({dossier.metadata.get("jurisdiction"), dossier.archive_no} & self.places)

    def admits_all(self, root, items) -> bool:
        """Whether every (kind, archive number) of ``items`` is a dossier in scope (a loan's
        items, a destruction list's entries); False when there are none, or one is gone."""
        seen = False
        for kind, number in items:
            dossier = root.container(kind).get(number) if kind in ("household", "unit") else None
            if dossier is None or not self.admits(dossier):
                return False
            seen = True
        return seen

    def ids(self, container):
        """The archive numbers of ``container`` in scope, as a BTree set (from the
        jurisdiction index and the container's keys; no dossier is loaded). Read-only: for
        a single jurisdiction it is the index's own set."""
        index = container.indexes.get("jurisdiction")
        sets = [index.forward.get(p) for p in sorted(self.places)] if index is not None else []
        sets = [s for s in sets if s]
        singles = [p for p in sorted(self.places) if p in container]
        if len(sets) == 1 and not singles:
            # One city: the index's own set, read-only, not a per-request copy of one entry
            # per dossier (bench/jurisdiction.py). Callers only read it.
            return sets[0]
        out = OOTreeSet(singles)
        for found in sets:
            out = union(out, found)
        return out

    def search_filter(self):
        """A whoosh query matching the index entries (dossiers and documents) in scope."""
        from whoosh.query import NullQuery, Or, Term
        terms = [Term(field, place) for place in sorted(self.places)
                 for field in ("jurisdiction", "archive_no")]
        return Or(terms) if terms else NullQuery

    def jurisdictions(self, codes):
        """Those of ``codes`` in scope (filter menus, per-city counts)."""
        return [c for c in codes if c in self.places]


def scope(request, permission="view"):
    """The places where the signed-in user has ``permission``: None when it holds
    everywhere (a global role), else a Scope (empty for no one)."""
    user = request.identity
    if user is None:
        return Scope(frozenset())
    return scope_of(user, request.registry.archive_roles, permission)


def scope_of(user, matrix, permission="view"):
    """``scope`` for a user and role matrix (the CLI, tests)."""
    if any(matrix.allows(r, permission) for r in user.roles):
        return None
    places = set()
    for entry in getattr(user, "local_roles", ()) or ():
        role, place = parse(entry)
        if matrix.allows(role, permission):
            places.add(place)
    return Scope(frozenset(places))


def worklist_scope(user):
    """The user's roles (global and local) and, for the worklist, a ``within(container,
    roles)`` saying which ids those roles reach there: None (all) when one is global."""
    everywhere = set(getattr(user, "roles", ()) or ())
    local = {}
    for entry in getattr(user, "local_roles", ()) or ():
        role, place = parse(entry)
        local.setdefault(role, set()).add(place)
    cache = {}

    def within(container, roles):
        if everywhere & roles:
            return None
        places = frozenset(p for r in roles for p in local.get(r, ()))
        key = (container.kind, places)
        if key not in cache:
            cache[key] = Scope(places).ids(container)
        return cache[key]

    return tuple(everywhere | set(local)), within


def ids_in(scope_, container):
    """``scope_.ids(container)``, or None (no restriction) for an unscoped user."""
    return None if scope_ is None else scope_.ids(container)
