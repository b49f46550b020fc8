"""An auditor starts an integrity audit in headless Chromium, watches the progress page turn
into the findings (the server's own audit worker runs it), and acknowledges a finding."""
from __future__ import annotations

import pytest

import walk
from conftest import log_in as login

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings):
    """The web server's audit worker runs the queued audit, as in production."""
    return {**settings, "archive.audit_worker": "true"}


def test_auditor_starts_an_audit_and_acknowledges_a_finding(page, app, store):
    with store() as root:
        bare = walk.new_household(app.registry.archive_procedure, root)   # no application set filed
        number = bare.archive_no
    login(page, "auditor")
    page.click("#nav-audits")
    page.wait_for_selector("#audit-form")
    page.click("#start-audit")
    page.wait_for_selector("#run-status")
    assert page.url.endswith("/audits/1")
    # queued or running, refreshing itself, until the worker has finished
    page.wait_for_selector('#run-status[data-status="done"]', timeout=30000)
    assert page.locator("#progress").count() == 0
    row = page.locator('tr.finding[data-fingerprint^="completeness|"]')
    assert row.count() == 1
    assert row.locator(".dossier-link").inner_text() == number
    assert "新发现" in row.inner_text()

    row.locator("summary").click()
    row.locator("textarea[name=comment]").fill("已通知申请人补交申请材料")
    row.locator(".ack-form button").click()
    page.wait_for_selector(".flash")
    row = page.locator('tr.finding[data-fingerprint^="completeness|"]')
    assert "已通知申请人补交申请材料" in row.locator(".ack").inner_text()
    assert "auditor" in row.locator(".ack").inner_text()

    row.locator(".dossier-link").click()
    page.wait_for_selector("#archive-no")
    assert page.inner_text("#archive-no") == number
