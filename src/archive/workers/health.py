"""What ``GET /healthz`` reports (健康检查): for a load balancer, a monitor, an operator.

The database is reachable or not (503 when not: a server that cannot reach its store can
answer nothing useful); every queue's depth; how far the search index lags behind ZODB;
and the worker's last heartbeat. A stopped worker does not make a server unhealthy (it
still serves and files; the queues wait), so it is reported, not turned into a 503.
"""
from __future__ import annotations

import time

import transaction

from . import lease
from ..search.queue import lag_seconds


def check(db, now=None) -> tuple[int, dict]:
    """(HTTP status, report) from a connection of its own, never the request's."""
    now = time.time() if now is None else now
    tm = transaction.TransactionManager()
    try:
        conn = db.open(transaction_manager=tm)
    except Exception as exc:
        return 503, _unreachable(exc)
    try:
        tm.begin()                         # RelStorage polls the database here
        storage = db.storage
        if hasattr(storage, "is_connected") and not storage.is_connected():
            return 503, _unreachable("ZEO server not connected")
        root = conn.root()["archive"]
        report = {"status": "ok", "database": {"reachable": True, "store": type(storage).__name__},
                  "queues": queues(root), "index": {"lag_seconds": round(lag_seconds(root, int(now * 1e9)), 1)},
                  "worker": lease.status(root, now)}
        if not report["worker"]["alive"] and any(report["queues"].values()):
            report["status"] = "degraded"      # work waits and no worker does it
        return 200, report
    except Exception as exc:               # the store went away under us
        return 503, _unreachable(exc)
    finally:
        tm.abort()
        conn.close()


def queues(root) -> dict:
    """Items waiting in each queue of after-commit work."""
    audits = getattr(root, "audits", None)
    return {"text": len(root.text_queue), "ocr": len(root.ocr_queue),
            "index": len(root.index_queue),
            "audit": len(audits.pending()) if audits is not None else 0,
            "log": root.log.waiting()}


def _unreachable(reason) -> dict:
    return {"status": "unavailable", "database": {"reachable": False, "error": str(reason)[:300]},
            "queues": None, "index": None, "worker": None}
