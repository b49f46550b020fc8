"""The inbox and queue (archive.inbox): concurrent transactions add and remove without
conflicting, checked with two real connections to one FileStorage."""
import threading

import pytest
import transaction
import ZODB
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from archive.access.auditlog import AuditLog
from archive.workers.inbox import Inbox, Queue


class Items(Queue):
    """A queue of plain values, as the text and index queues are."""

    def add(self, key, value):
        self._put(key, value)

    def take(self, limit):
        return self._first(limit)


@pytest.fixture
def two(tmp_path):
    """Two connections (two officers, or an officer and a worker) on one database."""
    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    tms = [transaction.TransactionManager() for _ in range(2)]
    conns = [db.open(transaction_manager=tm) for tm in tms]
    with tms[0]:
        conns[0].root()["q"] = Items()
        conns[0].root()["log"] = AuditLog()
        conns[0].root()["box"] = Inbox()
    yield db, tms, conns
    for tm, c in zip(tms, conns):
        tm.abort()
        c.close()
    db.close()


def _concurrently(two, first, second):
    """Both changes made from the same snapshot; the second commits after the first."""
    db, tms, conns = two
    for tm in tms:
        tm.begin()
    first(conns[0].root())
    second(conns[1].root())
    tms[0].commit()
    tms[1].commit()     # a ConflictError here fails the test
    tms[0].begin()
    return conns[0].root()


def test_two_additions_merge(two):
    root = _concurrently(two, lambda r: r["box"].put((1, "a"), "A"), lambda r: r["box"].put((2, "b"), "B"))
    assert root["box"].items() == [((1, "a"), "A"), ((2, "b"), "B")]


def test_a_worker_taking_everything_while_a_request_adds(two):
    with two[1][0]:
        two[2][0].root()["q"].add((1, "old"), "old")
    root = _concurrently(two, lambda r: r["q"].done((1, "old")), lambda r: r["q"].add((2, "new"), "new"))
    assert root["q"].take(10) == [((2, "new"), "new")] and len(root["q"]) == 1


def test_a_key_queued_again_while_being_done_stays_queued(two):
    """The indexer finishes a dossier while a request changes it again: it stays queued."""
    with two[1][0]:
        two[2][0].root()["q"].add("household/X", 1)
    root = _concurrently(two, lambda r: r["q"].add("household/X", 2), lambda r: r["q"].done("household/X"))
    assert root["q"].take(10) == [("household/X", 2)]


def test_two_log_appends_merge_and_seal_in_order(two):
    root = _concurrently(two, lambda r: r["log"].append("a", "login", "1"),
                         lambda r: r["log"].append("b", "login", "2"))
    assert len(root["log"]) == 2
    root["log"].seal()
    assert sorted(root["log"].entries[n].actor for n in (1, 2)) == ["a", "b"] and root["log"].check().ok


def test_the_sealer_and_a_request_do_not_conflict(two):
    with two[1][0]:
        two[2][0].root()["log"].append("a", "login", "1")
    root = _concurrently(two, lambda r: r["log"].seal(), lambda r: r["log"].append("b", "login", "2"))
    assert len(root["log"].entries) == 1 and root["log"].waiting() == 1
    root["log"].seal()
    assert root["log"].check().ok and len(root["log"]) == 2


def test_the_same_key_changed_on_both_sides_keeps_ours(two):
    with two[1][0]:
        two[2][0].root()["box"].put("k", 0)
    root = _concurrently(two, lambda r: r["box"].put("k", 1), lambda r: r["box"].put("k", 2))
    assert root["box"].get("k") == 2


def test_a_bulk_adder_spills_into_the_tree():
    q = Items()
    for i in range(3 * Queue.SPILL):       # past SPILL (seen from a crowded shard) all spill
        q.add((i, "x"), i)
        assert len(q._inbox) <= len(q._inbox._shards) * q._inbox.limit(Queue.SPILL)
        assert q._count() == 0 or i >= Queue.SPILL
    assert q._count() > 0 and len(q) == 3 * Queue.SPILL
    assert [k for k, _ in q.take(3)] == [(0, "x"), (1, "x"), (2, "x")]


def test_many_threads_appending_at_once_never_conflict(tmp_path):
    """Eight writers, each in its own connection and transactions, 25 appends each."""
    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    with db.transaction() as conn:
        conn.root()["log"] = AuditLog()
    conflicts = []

    def writer(n):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        for i in range(25):
            tm.begin()
            conn.root()["log"].append(f"officer{n}", "dossier.filed", f"{n}-{i}")
            try:
                tm.commit()
            except ConflictError:
                tm.abort()
                conflicts.append((n, i))
        conn.close()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with db.transaction() as conn:
        log = conn.root()["log"]
        assert conflicts == [] and len(log) == 200
        log.seal()
        assert log.check().ok and len(log.entries) == 200
    db.close()
