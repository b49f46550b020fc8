"""Every HTML view under every role: allowed where schemas/roles.yaml says so, 403 elsewhere."""
from __future__ import annotations

import pathlib

import pytest
import webtest
import yaml

from archive.records import filing
from conftest import ROLES, household_input, make_pdf

MATRIX = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "schemas" / "roles.yaml")
                        .read_text(encoding="utf-8"))["roles"]

H = "/households/{no}"
# (method, path, permission, form data or None)
ROUTES = [
    ("GET", "/", "view", None),
    ("GET", "/households", "view", None),
    ("GET", "/units", "view", None),
    ("GET", "/households/new", "create", None),
    ("POST", "/households/new", "create", {}),
    ("GET", H, "view", None),
    ("GET", H + "/edit", "edit", None),
    ("POST", H + "/edit", "edit", {}),
    ("GET", H + "/versions/1", "view", None),
    ("GET", H + "/diff?a=1&b=2", "view", None),
    ("POST", H + "/restore", "restore", {"version": "1", "comment": "测试恢复"}),
    ("GET", H + "/documents/new", "file", None),
    ("POST", H + "/documents/new", "file", {}),
    ("GET", H + "/documents/D0001/files/1", "view", None),
    ("POST", H + "/documents/D0001/refile", "file", {"comment": "x"}),
    ("POST", H + "/documents/D0001/withdraw", "file", {"reason": "测试撤出"}),
    ("GET", "/users", "manage_accounts|manage_roles", None),   # either administrator
    ("POST", "/users/new", "manage_accounts", {"login": "newuser", "password": "password-123"}),
    ("POST", "/users/auditor", "manage_accounts", {"active": "1"}),
    ("POST", "/users/auditor/token", "manage_accounts", {}),
    ("POST", "/users/auditor/roles", "manage_roles", {"roles": "auditor"}),
    ("GET", "/log", "view_log", None),
]


@pytest.fixture
def household_no(app, store, users):
    with store() as root:
        registry = app.registry.archive_schemas
        dossier = filing.create_dossier(root, registry, "household", household_input(), "test")
        filing.file_document(dossier, registry, {"doc_type": "pledge", "title": "承诺书",
                                                 "date": "2026-01-02", "issuer": "张三"},
                             make_pdf("承诺书"), "pledge.pdf", "test")
        return dossier.archive_no


def _csrf(client):
    return client.get("/households", status="*").html.select_one("input[name=csrf_token]")["value"]


@pytest.mark.parametrize("role", ROLES)
def test_every_view_under_every_role(browser, household_no, role):
    browser.login(role)
    token = _csrf(browser)
    for method, path, permission, data in ROUTES:
        url = path.format(no=household_no)
        if method == "GET":
            response = browser.get(url, status="*")
        else:
            response = browser.post(url, dict(data, csrf_token=token), status="*")
        allowed = any(p in MATRIX[role] for p in permission.split("|"))
        if allowed:
            assert response.status_int != 403, (role, method, url)
            assert response.status_int < 500, (role, method, url, response.status)
        else:
            assert response.status_int == 403, (role, method, url, response.status)


def test_anonymous_is_sent_to_login_everywhere(app, household_no):
    client = webtest.TestApp(app)
    for method, path, _, data in ROUTES:
        url = path.format(no=household_no)
        if method == "GET":
            response = client.get(url, status="*")
            assert response.status_int == 302 and "/login" in response.location, url
        else:  # no session, no CSRF token: refused before anything else
            assert client.post(url, data or {}, status="*").status_int in (302, 400), url


def test_unknown_dossier_is_404(browser, users):
    browser.login("archivist")
    assert browser.get("/households/NO-SUCH", status=404).status_int == 404
    assert browser.get("/widgets", status=404).status_int == 404
