"""GET /healthz: no login, no session, JSON as the OpenAPI document says, 503 without a database."""
from __future__ import annotations

import time

import pytest
import webtest


@pytest.fixture
def client(app):
    return webtest.TestApp(app)


def test_health_answers_without_login_or_session(client):
    reply = client.get("/healthz")
    assert reply.status_int == 200
    assert "Set-Cookie" not in reply.headers          # a probe makes no session
    assert reply.headers["Cache-Control"] == "no-store"
    body = reply.json
    assert body["status"] == "ok"
    assert body["database"] == {"reachable": True, "store": "FileStorage"}
    assert body["queues"] == {"text": 0, "ocr": 0, "index": 0, "audit": 0, "log": 0}
    assert body["index"] == {"lag_seconds": 0}
    # the test app runs no workers: no lease, no heartbeat
    assert body["worker"] == {"owner": None, "heartbeat": None, "heartbeat_age": None, "alive": False}


def test_health_reports_queue_depth_lag_and_a_waiting_worker(client, store):
    with store() as root:
        root.index_queue.add("household/QJ-1")
        # queued 30 s ago: the same key again, with the time it would have had then
        root.index_queue._inbox.put("household/QJ-1", time.time_ns() - 30 * 10**9)
        root.log.append("cli", "test", "", "")
    body = client.get("/healthz").json
    assert body["queues"]["index"] == 1 and body["queues"]["log"] == 1
    assert body["index"]["lag_seconds"] >= 30
    assert body["status"] == "degraded"          # work waits and no worker is alive


def test_health_shows_the_lease_owner_heartbeat(client, store):
    from archive.workers.lease import Claim
    claim = Claim()
    with store() as root:
        assert claim.renew(root)
    worker = client.get("/healthz").json["worker"]
    assert worker["owner"] == claim.me and worker["alive"] is True
    assert worker["heartbeat_age"] < 60


def test_health_is_503_when_the_database_is_gone(client, app):
    app.registry._zodb_databases[""].close()
    reply = client.get("/healthz", status=503)
    assert reply.json["status"] == "unavailable"
    assert reply.json["database"]["reachable"] is False


def test_health_is_in_the_openapi_document(client):
    doc = client.get("/api/openapi.json").json
    op = doc["paths"]["/healthz"]["get"]
    assert op["security"] == []
    assert set(op["responses"]) >= {"200", "503"}
    assert "Health" in doc["components"]["schemas"]
