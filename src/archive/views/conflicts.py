"""Write conflicts (并发冲突): retried, logged, and when retrying cannot help, a clear 409.

Two requests that change the same object at the same moment conflict in ZODB; pyramid_retry
runs the loser again from the start on a fresh transaction (``retry.attempts``). When even
the last attempt conflicts — many officers saving one dossier at once — the answer is a 409
that says someone else saved first, never a 500: nothing of the request was stored, and the
clerk can reload and try again.
"""
from __future__ import annotations

import logging

from pyramid.response import Response
from pyramid_retry import IBeforeRetry, is_last_attempt
from ZODB.POSException import ConflictError

log = logging.getLogger(__name__)

MESSAGE = "其他人刚刚保存了同一份档案或记录，您的这次操作未保存。请刷新后再试一次"


def conflict_tween_factory(handler, registry):
    """Outside pyramid_tm, so it sees the conflict its commit raised."""
    def conflict_tween(request):
        try:
            return handler(request)
        except ConflictError as exc:
            if not is_last_attempt(request):
                raise
            log.warning("conflict not resolved after %s attempts: %s %s (%s)",
                        request.environ.get("retry.attempts"), request.method, request.path_info,
                        _described(exc))
            return _refusal(request)
    return conflict_tween


def _refusal(request):
    """The 409, JSON under /api/ and a plain page otherwise; it reads nothing from ZODB,
    whose transaction is already over."""
    message = request.t(MESSAGE)
    if request.path_info.startswith("/api/"):
        response = Response(json_body={"error": message, "status": 409}, status=409)
        response.content_type = "application/json"
        return response
    back = request.referer or request.application_url + "/"
    body = (f"<!doctype html><html lang=\"zh\"><meta charset=\"utf-8\"><title>409</title>"
            f"<p>{message}</p><p><a href=\"{_escape(back)}\">{request.t('返回')}</a></p></html>")
    return Response(body, status=409, content_type="text/html", charset="utf-8")


def _escape(text):
    import html
    return html.escape(text, quote=True)


def _described(exc) -> str:
    """Which object conflicted, for the operator reading the log."""
    oid = getattr(exc, "oid", None)
    cls = getattr(exc, "class_name", None)
    return f"{cls or 'object'} {oid.hex() if isinstance(oid, bytes) else oid}"


def log_retry(event):
    """Each retried attempt in the server's log: which request, and what it conflicted on."""
    exc = event.exception
    log.info("retrying %s %s after %s: %s", event.request.method, event.request.path_info,
             type(exc).__name__, _described(exc) if isinstance(exc, ConflictError) else exc)


def includeme(config):
    config.add_tween("archive.views.conflicts.conflict_tween_factory",
                     over="pyramid_tm.tm_tween_factory")
    config.add_subscriber(log_retry, IBeforeRetry)
