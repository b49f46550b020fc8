"""The retention rules and disposition schedule an installation runs on come from its own
schemas directory (``archive.schemas_dir``), in the web server and in every command: the
disposition dates the model keeps as dossiers change, and the volumes it draws, follow them,
not the schemas shipped with the code."""
from __future__ import annotations

import datetime
import shutil

import pytest
import webtest
import yaml

from archive import close, main
from archive.custody import arrangement
from archive.disposition import schedule
from archive.schema.registry import default_directory
from conftest import household_input


@pytest.fixture
def own_schemas(tmp_path):
    """A copy of the shipped schemas whose household period runs from filing, ten years."""
    directory = tmp_path / "schemas"
    shutil.copytree(default_directory(), directory)
    shutil.copytree(default_directory().parent / "workflows", tmp_path / "workflows")
    disposition = yaml.safe_load((directory / "disposition.yaml").read_text(encoding="utf-8"))
    disposition["kinds"]["household"] = {"event": "filing", "states": []}
    (directory / "disposition.yaml").write_text(yaml.safe_dump(disposition, allow_unicode=True), encoding="utf-8")
    retention = (directory / "retention.yaml").read_text(encoding="utf-8")
    (directory / "retention.yaml").write_text(
        retention.replace("defaults: {household: D30", "defaults: {household: D10"), encoding="utf-8")
    return directory


def _login_archivist(app):
    import transaction
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        root = conn.root()["archive"]
        root.users.add("archivist", "档案员", ["archivist"], "secret-pass-1", app.registry.archive_hasher)
        token = root.users.issue_token("archivist")
    conn.close()
    return {"Authorization": f"Bearer {token}"}


def _disposition_date(app, number):
    import transaction
    tm = transaction.TransactionManager()
    conn = app.registry._zodb_databases[""].open(transaction_manager=tm)
    try:
        root = conn.root()["archive"]
        return root.disposition.date_of(root.households[number])
    finally:
        tm.abort()
        conn.close()


def test_a_new_dossier_gets_the_disposition_date_of_the_installations_own_schedule(settings, own_schemas):
    app = main({}, **dict(settings, **{"archive.schemas_dir": str(own_schemas)}))
    try:
        assert schedule.default_schedule() is app.registry.archive_disposition
        assert arrangement.default_rules() is app.registry.archive_custody
        client = webtest.TestApp(app)
        created = client.post_json("/api/households", household_input(), headers=_login_archivist(app)).json
        due = _disposition_date(app, created["archive_no"])
        today = datetime.date.today()
        # the shipped schedule starts a household's period at its exit: no date yet
        assert due is not None and due.year - today.year == 10
    finally:
        close(app)
    assert schedule.installed() is None and arrangement.installed() is None   # closed: shipped again


def test_the_shipped_schedule_gives_no_date_before_the_exit(settings):
    app = main({}, **settings)
    try:
        client = webtest.TestApp(app)
        created = client.post_json("/api/households", household_input(), headers=_login_archivist(app)).json
        assert _disposition_date(app, created["archive_no"]) is None
    finally:
        close(app)


def test_a_command_runs_on_the_schemas_its_ini_names(settings, own_schemas, tmp_path):
    from archive.cli import Session
    session = Session(dict(settings, **{"archive.schemas_dir": str(own_schemas)}))
    try:
        assert schedule.default_schedule().kinds["household"].event == "filing"
        assert arrangement.default_rules().defaults["household"] == "D10"
    finally:
        session.db.close()


def test_a_command_on_a_broken_retention_table_stops_with_a_clear_message(settings, own_schemas):
    from archive.cli import CommandError, Session
    (own_schemas / "retention.yaml").write_text("periods: {Y: null}\ndefaults: {household: Q}\n", encoding="utf-8")
    with pytest.raises(CommandError, match="保管期限表配置有误"):
        Session(dict(settings, **{"archive.schemas_dir": str(own_schemas)}))
