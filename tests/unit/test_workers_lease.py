"""The worker lease: one process of a cluster does the after-commit work, and a process that
lost the lease cannot commit work another now owns (archive.workers.lease)."""
import threading

import pytest
import transaction
import ZODB
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from archive.root import bootstrap
from archive.workers.background import LeaseLost, Worker
from archive.workers.lease import STALE, Claim, status


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def db(tmp_path, registry):
    database = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    with database.transaction() as conn:
        bootstrap(conn.root(), registry)
    yield database
    database.close()


def _renew(db, claim):
    with db.transaction() as conn:
        return claim.renew(conn.root()["archive"])


def test_the_first_claim_takes_the_lease_and_a_second_waits(db):
    clock = Clock()
    first, second = Claim(host="a", pid=1, clock=clock), Claim(host="b", pid=2, clock=clock)
    assert _renew(db, first) is True
    assert _renew(db, second) is False
    clock.now += STALE / 2
    assert _renew(db, first) is True       # the heartbeat keeps it
    clock.now += STALE / 2 + 1
    assert _renew(db, second) is False     # the owner beat STALE/2 ago: still alive


def test_a_silent_owner_loses_the_lease_after_stale_seconds(db):
    clock = Clock()
    first, second = Claim(host="a", pid=1, clock=clock), Claim(host="b", pid=2, clock=clock)
    _renew(db, first)
    clock.now += STALE + 1
    assert _renew(db, second) is True
    assert _renew(db, first) is False
    with db.transaction() as conn:
        assert status(conn.root()["archive"], clock.now)["owner"] == second.me


def test_a_dead_owner_on_this_host_is_replaced_at_once(db):
    import os
    import subprocess
    import sys
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    clock = Clock()
    here = Claim(clock=clock)
    dead = Claim(host=here.host, pid=int(gone), clock=clock)
    _renew(db, dead)
    assert _renew(db, here) is True        # no waiting for STALE: that pid no longer exists
    assert here.pid == os.getpid()


def test_two_claims_taking_a_free_lease_at_once_conflict(db):
    first, second = Claim(host="a", pid=1), Claim(host="b", pid=2)
    tm1, tm2 = transaction.TransactionManager(), transaction.TransactionManager()
    c1, c2 = db.open(transaction_manager=tm1), db.open(transaction_manager=tm2)
    assert first.renew(c1.root()["archive"]) and second.renew(c2.root()["archive"])
    tm1.commit()
    with pytest.raises(ConflictError):
        tm2.commit()
    tm2.abort()
    c1.close()
    c2.close()


def test_work_committed_after_the_lease_changed_hands_is_refused(db):
    """A worker read the lease as its own, another process took it over meanwhile: the
    worker's commit fails (readCurrent), so the item it took stays for the new owner."""
    clock = Clock()
    old, new = Claim(host="a", pid=1, clock=clock), Claim(host="b", pid=2, clock=clock)
    _renew(db, old)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    root = conn.root()["archive"]
    old.check(root)                        # ours, as this transaction sees it
    root.text_queue._put(("k", "1"), "work done by the old owner")
    clock.now += STALE + 1
    assert _renew(db, new) is True         # taken over by another process
    old.check(root)                        # the snapshot still says ours ...
    with pytest.raises(ConflictError):
        tm.commit()                        # ... but the commit says no
    tm.abort()
    assert old.holds(root) is False
    with pytest.raises(LeaseLost):
        old.check(root)
    conn.close()


class Counter(Worker):
    label = "test-counter"

    def __init__(self, db):
        super().__init__(db, interval=0.01)
        self.rounds = 0

    def work(self, root, commit):
        self.rounds += 1
        root.text_queue._put(("n", str(self.rounds)), self.rounds)
        commit()
        return 0


def test_a_worker_without_the_lease_does_nothing(db):
    claim = Claim(host="elsewhere", pid=1)
    _renew(db, Claim(host="owner", pid=2))
    worker = Counter(db)
    worker.claim = claim
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    worker.round(tm, conn)
    assert worker.rounds == 0
    conn.close()


def test_a_worker_with_the_lease_works(db):
    claim = Claim(host="owner", pid=3)
    _renew(db, claim)
    worker = Counter(db)
    worker.claim = claim
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    worker.round(tm, conn)
    conn.close()
    assert worker.rounds == 1
    with db.transaction() as conn:
        assert len(conn.root()["archive"].text_queue) == 1


def test_the_service_takes_the_lease_beats_and_frees_it_on_stop(db, registry):
    from archive.workers.service import Service
    settings = {k: "false" for k in ("archive.text_worker", "archive.search_worker",
                                     "archive.ocr_worker", "archive.audit_worker",
                                     "archive.loan_sealer")}
    service = Service(db, settings, registry, None, None)
    assert list(service.workers) == ["log_sealer"]
    service.start()
    try:
        seen = threading.Event()
        for _ in range(200):
            with db.transaction() as conn:
                if status(conn.root()["archive"])["owner"] == service.claim.me:
                    seen.set()
                    break
            threading.Event().wait(0.05)
        assert seen.is_set()
    finally:
        service.stop(10)
    with db.transaction() as conn:
        assert status(conn.root()["archive"])["owner"] is None
