"""More than one server (issue 11): two ``pserve`` processes with their workers off and one
``archive worker``, on RelStorage in a throw-away PostgreSQL database and on a ZEO server
started by the test, each process with its own blob cache and one shared search index.

The journey: filed through the first server, found by search through the second; an audit
queued on the second runs once; a scan filed without a text layer is read by OCR once; the
``archive`` command line works beside the running servers; the first server SIGKILLed, the
second serves on; the worker SIGKILLed while work is queued and restarted, and the queues
resume where they stopped. Every wait is a bounded poll (it only ends a wait that would
never end); no test asserts how long anything took.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import quote, urlencode

import pytest

from conftest import make_scanned_pdf
from server.harness import (Cluster, Postgres, Zeo, create_household, file_pdf, log_count,
                            sha256, wait_for)

pytestmark = pytest.mark.server

WAIT = 90          # seconds a poll waits for after-commit work before giving up (setup bound)
TEXT_DONE = {"done", "failed", "ocr_done", "ocr_failed"}


@pytest.fixture(scope="module", params=[Postgres, Zeo], ids=["relstorage", "zeo"])
def cluster(request, tmp_path_factory):
    made = Cluster(tmp_path_factory.mktemp(request.param.__name__.lower()), request.param)
    yield made
    made.close()


@pytest.fixture(scope="module")
def web(cluster):
    """The two web servers, workers off."""
    return cluster.server("web1"), cluster.server("web2")


@pytest.fixture(scope="module")
def worker(cluster, web):
    return cluster.worker()


def _found(server, word):
    reply = server.request("GET", f"/api/search?q={quote(word)}", token="reviewer")
    assert reply.status == 200, f"search: {reply}"
    return reply.json()["total"]


def _health(server):
    reply = server.request("GET", "/healthz", token=None)
    assert reply.status == 200, f"/healthz: {reply}"
    return reply.json()


def _text_status(server, no, doc="D0001"):
    reply = server.request("GET", f"/api/households/{no}/documents/{doc}")
    assert reply.status == 200, f"document: {reply}"
    return reply.json()["files"][-1]["text_status"]


def test_web_servers_run_no_workers_and_the_worker_holds_the_lease(cluster, web, worker):
    health = wait_for(lambda: (h := _health(web[1]))["worker"]["alive"] and h,
                      WAIT, what="the worker's first heartbeat")
    assert health["database"]["reachable"] is True
    assert health["database"]["store"] in ("RelStorage", "ClientStorage")
    assert health["worker"]["owner"].split(":")[1] == str(worker.proc.pid)
    assert set(health["queues"]) == {"text", "ocr", "index", "audit", "log"}


def test_filed_through_one_server_found_through_the_other(cluster, web, worker):
    first, second = web
    word = "zq" + secrets.token_hex(5)
    no = create_household(first, 1)
    reply = file_pdf(first, no, f"cluster {word} filing")
    assert reply.status == 201, f"filing: {reply}"
    assert wait_for(lambda: _found(second, word), WAIT, what=f"{word} in search on the second server") == 1
    assert _found(first, word) == 1
    # and the document itself, bytes and all, from the other server
    got = second.request("GET", f"/api/households/{no}/documents/D0001/content")
    assert got.status == 200 and sha256(got.body) == reply.json()["files"][-1]["sha256"]


def test_an_audit_queued_on_the_second_server_runs_once(cluster, web, worker):
    second = web[1]
    queued = second.request("POST", "/api/audits", json={"rules": ["log_chain"]}, token="auditor")
    assert queued.status == 202, f"audit: {queued}"
    run_id = queued.json()["run_id"]
    done = wait_for(lambda: (r := second.request("GET", f"/api/audits/{run_id}", token="auditor").json())
                    ["status"] in ("done", "failed") and r, WAIT, what=f"audit {run_id}")
    assert done["status"] == "done", done
    # once: one finished run in the log, and only the worker's log says it ran it
    runs = cluster.read(f"result = sum(1 for e in root.log.entries.values() "
                        f"if e.action == 'audit.run' and e.target == 'audit/{run_id}')")
    assert runs == 1
    assert log_count(worker.log_text(), rf"audit {run_id}: done") == 1
    assert all(log_count(s.log_text(), r"audit \d+:") == 0 for s in web)


def test_a_scan_is_read_by_ocr_once(cluster, web, worker):
    """Two scans filed on the two servers at once: the worker reads each once (side by side,
    in its fork server's processes, when they share a round) and search finds their text."""
    first, second = web
    scans = [(first, create_household(first, 2), make_scanned_pdf()),
             (second, create_household(second, 3), make_scanned_pdf(pages=2))]
    for server, no, data in scans:
        reply = file_pdf(server, no, "scan", title="扫描件", data=data)
        assert reply.status == 201, f"filing the scan: {reply}"
    for _, no, data in scans:
        status = wait_for(lambda: (s := _text_status(second, no)) in TEXT_DONE and s, WAIT * 2,
                          what="OCR of the scan")
        assert status == "ocr_done"
        short = sha256(data)[:12]
        assert log_count(cluster.logs(), rf"OCR read {short}") == 1
        assert log_count(worker.log_text(), rf"OCR read {short}") == 1
    assert wait_for(lambda: _found(second, "王秀英"), WAIT, what="the recognised text in search")


def test_the_command_line_runs_beside_the_servers(cluster, web, worker):
    made = cluster.cli("user", "add", "clerk2", "--role", "archivist", input="Clerk-pass-123!\n")
    assert made.returncode == 0, made.stderr
    token = cluster.cli("token", "clerk2")
    assert token.returncode == 0 and len(token.stdout.split()) == 1, token.stderr
    listed = cluster.cli("user", "list")
    assert "clerk2" in listed.stdout
    # the new token works on both servers at once, no restart
    for server in web:
        headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
        assert server.request("GET", "/api/households", token=None, headers=headers).status == 200
    for command in (("audit", "--rule", "log_chain"), ("verify-log",), ("evolve",), ("index-check",)):
        done = cluster.cli(*command)
        assert done.returncode == 0, f"archive {' '.join(command)}: {done.stdout}{done.stderr}"
    reindexed = cluster.cli("reindex")
    assert reindexed.returncode == 0, reindexed.stderr
    assert _found(web[1], "王秀英")


def test_login_throttling_and_sessions_hold_across_servers(cluster, web, worker):
    """Five wrong passwords spread over both servers lock the login on both; the session
    cookie (signed with the secret kept in the database) is good on either server."""
    first, second = web
    page = first.request("GET", "/login", token=None, headers={"Accept": "text/html"})
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def attempt(server, password):
        body = urlencode({"login": "inspector", "password": password, "csrf_token": csrf}).encode()
        return server.request("POST", "/login", token=None, body=body, headers={"Cookie": cookie},
                              content_type="application/x-www-form-urlencoded").status
    assert [attempt(s, "wrong") for s in (first, second, first, second, first)] == [401] * 5
    assert attempt(second, "wrong") == 429
    assert attempt(second, "Server-pass-123!") == 429      # locked even with the right one
    assert cluster.read("result = len(root.login_failures)") >= 5


def test_the_store_merges_concurrent_additions_to_an_inbox(cluster, web, worker):
    """Two transactions adding to one queue's inbox at once both commit: RelStorage merges in
    the client, the ZEO server by importing archive (runzeo from the project's venv)."""
    merged = cluster.read(
        "import transaction\n"
        "from archive.workers.inbox import Inbox\n"
        "tms = [transaction.TransactionManager() for _ in range(2)]\n"
        "conns = [db.open(transaction_manager=tm) for tm in tms]\n"
        "conns[0].root()['cluster-test'] = Inbox()\n"
        "tms[0].commit()\n"
        "tms[0].begin()\n"
        "tms[1].begin()\n"
        "boxes = [c.root()['cluster-test'] for c in conns]\n"
        "boxes[0].put(('a',), 1)\n"
        "boxes[1].put(('b',), 2)\n"
        "tms[0].commit()\n"
        "tms[1].commit()\n"
        "tms[0].begin()\n"
        "result = [k[0] for k, _ in conns[0].root()['cluster-test'].items()]\n")
    assert merged == ["a", "b"]


def test_first_server_killed_the_second_serves_on(cluster, web, worker):
    first, second = web
    first.kill()
    word = "zk" + secrets.token_hex(5)
    no = create_household(second, 3)
    assert file_pdf(second, no, f"after kill {word}").status == 201
    assert wait_for(lambda: _found(second, word), WAIT, what="search after the first server died") == 1
    assert _health(second)["database"]["reachable"] is True


def test_worker_killed_and_restarted_the_queues_resume(cluster, web, worker):
    second = web[1]
    worker.kill()
    word = "zw" + secrets.token_hex(5)
    no = create_household(second, 4)
    for n in range(3):
        assert file_pdf(second, no, f"while the worker is down {word} {n}").status == 201
    health = _health(second)
    assert health["queues"]["text"] >= 3
    assert _found(second, word) == 0          # nobody indexes while the worker is down
    assert health["status"] == "degraded" or health["worker"]["alive"]
    worker.start()                            # the killed owner's pid is gone: taken over at once
    wait_for(lambda: _found(second, word) == 3, WAIT, what="the three documents in search after the restart")
    queues = wait_for(lambda: (q := _health(second)["queues"]) and not any(q.values()) and q,
                      WAIT, what="empty queues")
    assert queues == {"text": 0, "ocr": 0, "index": 0, "audit": 0, "log": 0}
    statuses = [_text_status(second, no, f"D000{n}") for n in (1, 2, 3)]
    assert statuses == ["done"] * 3
    assert not re.search(r"Traceback", worker.log_text()), worker.log_text()[-3000:]


def test_health_is_503_when_the_store_is_gone(cluster, web, worker):
    """The database dropped (RelStorage) or the ZEO server stopped: the server says so."""
    second = web[1]
    cluster.store.drop()
    reply = wait_for(lambda: (r := second.request("GET", "/healthz", token=None)).status == 503 and r,
                     WAIT, what="/healthz to notice the store is gone")
    assert reply.json()["database"]["reachable"] is False
    assert reply.json()["status"] == "unavailable"
