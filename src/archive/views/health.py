"""``GET /healthz``: the server's health for a load balancer or a monitor (健康检查).

No login and no session (a load balancer has neither, and must not make one per probe);
the route has a factory of its own, so traversal does not open the request's ZODB
connection before the view has a chance to report that the database is unreachable.
"""
from __future__ import annotations

from pyramid.view import view_config

from ..workers import health


class HealthContext:
    """The context of /healthz: nothing from the database, and nobody (a probe has no identity:
    the security policy, asked by pyramid_tm who committed, looks at no session or token)."""

    __acl__ = []

    def __init__(self, request):
        self.request = request
        request.environ["archive.identity"] = None     # archive.access.security.identity


@view_config(route_name="healthz", request_method="GET", renderer="json")   # public, as the
# OpenAPI document is: the application sets no default permission
def healthz(request):
    """200 with the report when the database answers, 503 when it does not."""
    status, report = health.check(request.registry._zodb_databases[""])
    request.response.status = status
    request.response.headers["Cache-Control"] = "no-store"
    return report


def tm_wanted(request) -> bool:
    """pyramid_tm's ``tm.activate_hook``: every request but the probe runs in a transaction
    (the probe opens a connection of its own and must not load the user, which needs the
    database it may be reporting as unreachable)."""
    return request.path_info != "/healthz"
