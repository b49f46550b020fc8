"""Fixtures for tests against a real server process (see harness.py)."""
from __future__ import annotations

import pytest

from server.harness import Server


def pytest_collection_modifyitems(items):
    """Everything under tests/server is marked ``server`` (``-m "not server"`` skips it)."""
    for item in items:
        if "/tests/server/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A started server on a store of its own, shared by one test module (starting one takes
    a few seconds); stopped cleanly at the end."""
    srv = Server(tmp_path_factory.mktemp("server"))
    srv.start()
    yield srv
    srv.stop()
