"""The worker service (后台工作进程): every after-commit worker of the archive, in one process.

With the default FileStorage the web server starts them itself (one process does both, as
it always has). With ZEO or RelStorage, web servers are configured with
``archive.workers = off`` and ``archive worker -c INI`` runs them for the whole cluster.
Either way the threads work only while their process holds the cluster's lease
(archive.workers.lease), so a second worker, or a web server left with its workers on,
waits as a stand-by instead of doing the same items again.
"""
from __future__ import annotations

import logging

from pyramid.settings import asbool

from .background import Worker
from .lease import ALONE, HEARTBEAT, Claim

log = logging.getLogger(__name__)


def enabled(settings) -> bool:
    """``archive.workers``: on (the default, one process serves and works) or off (a web
    server of a cluster whose work ``archive worker`` does)."""
    return asbool(settings.get("archive.workers", True))


class LeaseKeeper(Worker):
    """Takes the cluster's lease when it is free and beats the heartbeat while it holds it."""

    label = "archive-lease"

    def __init__(self, db, claim: Claim):
        super().__init__(db, claim.every)
        self.keeps = claim          # not ``claim``: the keeper itself must run without one

    def work(self, root, commit) -> int:
        if self.keeps.renew(root):
            commit()
        return 0

    def release(self):
        """Free the lease now (a clean stop), so the next worker starts at once."""
        import transaction
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            with tm:
                self.keeps.release(conn.root()["archive"])
        except Exception:
            log.warning("could not release the worker lease; it frees itself in a few seconds",
                        exc_info=True)
        finally:
            conn.close()


class Service:
    """The lease keeper and the workers the settings switch on, started and stopped together."""

    def __init__(self, db, settings, schemas, procedure, search_index):
        from ..store import is_shared
        # on the embedded FileStorage no other process can take over: beat seldom
        self.claim = Claim(every=HEARTBEAT if is_shared(settings.get("zodbconn.uri", "")) else ALONE)
        self.keeper = LeaseKeeper(db, self.claim)
        self.workers = _workers(db, settings, schemas, procedure, search_index)
        for worker in self.workers.values():
            worker.claim = self.claim

    def start(self):
        """Start the threads; with every worker switched off, none (no lease to hold)."""
        if not self.workers:
            return self
        self.keeper.start()
        for worker in self.workers.values():
            worker.start()
        return self

    def stop(self, timeout=30):
        """Stop every thread, wait for the work in hand, then free the lease."""
        if not self.keeper.is_alive():
            return
        for thread in (self.keeper, *self.workers.values()):
            thread.stop()
        for thread in (self.keeper, *self.workers.values()):
            thread.join(timeout)
        self.keeper.release()


def _workers(db, settings, schemas, procedure, search_index) -> dict:
    """{name: worker thread} for the workers switched on (each has its own setting)."""
    out = {}
    if asbool(settings.get("archive.log_sealer", True)):
        from ..access.auditlog import LogSealer
        out["log_sealer"] = LogSealer(db)
    if asbool(settings.get("archive.loan_sealer", True)):
        from ..custody.loans import LoanSealer   # 借阅单号 for new loan requests
        out["loan_sealer"] = LoanSealer(db)
    if asbool(settings.get("archive.text_worker", True)):
        from .textlayer import TextWorker
        out["text"] = TextWorker(db)
    if asbool(settings.get("archive.search_worker", True)):
        from ..search.index import IndexWorker
        out["index"] = IndexWorker(db, schemas, search_index)
    if asbool(settings.get("archive.ocr_worker", True)):
        from .ocr import OcrOptions, OcrWorker
        out["ocr"] = OcrWorker(db, OcrOptions.from_settings(settings))
    if asbool(settings.get("archive.audit_worker", True)):
        from ..audit.worker import AuditWorker, parse_schedule
        out["audit"] = AuditWorker(db, procedure, schemas, search_index, at=parse_schedule(settings.get("archive.audit_at")))
    from ..preservation.pack import PackWorker
    pack = PackWorker.from_settings(db, settings)   # archive.pack_at: the nightly pack, off by default
    if pack is not None:
        out["pack"] = pack
    return out
