"""The home page: counts and what changed last."""
from __future__ import annotations

from pyramid.renderers import get_renderer
from pyramid.view import view_config

from ..access.local import ids_in, scope
from ..records.container import KINDS


@view_config(route_name="home", renderer="archive:templates/home.pt", permission="view")
def home(request):
    root = request.root
    recent = {}
    places = scope(request)      # a local role sees and counts its places only
    within = {kind: ids_in(places, root.container(kind)) for kind in KINDS}
    for kind in ("household", "unit"):
        recent[kind] = root.container(kind).newest(8, within[kind])
    from .workflow import worklist
    items, total = worklist(request, limit=15)
    from .loans import lender_worklist
    from .disposition import due_items   # 到期鉴定, for those who may appraise
    due, due_total = due_items(request, limit=10) if request.has_permission("dispose", root) else ([], 0)
    return {
        "lending": lender_worklist(request),
        "due": due, "due_total": due_total,
        "work": items, "work_total": total,
        "worklist_macros": get_renderer("archive:templates/worklist.pt").implementation(),
        "counts": {kind: len(root.container(kind)) if within[kind] is None else len(within[kind])
                   for kind in KINDS} | {"users": len(root.users)},
        "facets": {k: root.households.indexes[k].values(within["household"])
                   for k in ("jurisdiction", "category")},
        "recent": recent,
    }


# Who acts as an administrator besides the users holding the roles: the command line and
# the upgrade steps (evolve), both run by whoever has the server.
MACHINE_ACTORS = ("cli", "evolve")


@view_config(route_name="log", renderer="archive:templates/log.pt", permission="view_log")
def audit_log(request):
    """The whole log for the security auditor; ``?admins=1`` keeps what the system
    administrators and security officers did (and the command line), 三员分立's point."""
    action = request.params.get("action") or None
    admins = bool(request.params.get("admins"))
    actors = None
    if admins:
        actors = set(MACHINE_ACTORS) | {u.login for u in request.root.users.values()
                                        if {"sysadmin", "secadmin"} & set(u.roles)}
    return {"entries": request.root.log.newest(200, action, actors=actors), "action": action,
            "admins": admins,
            "broken": request.root.log.verify() if request.params.get("verify") else None,
            "verified": bool(request.params.get("verify"))}
