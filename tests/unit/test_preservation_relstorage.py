"""The restore drill on RelStorage (PostgreSQL on 127.0.0.1:5432, user postgres): a
throwaway database is created and dropped by the test; backups are ``pg_dump`` files."""
from __future__ import annotations

import secrets

import psycopg2
import pytest

from archive import cli
from archive.preservation.backup import points
from archive_state import Opened, build, snapshot

SERVER = "host='127.0.0.1' port=5432 user='postgres' dbname='postgres'"


def uri_of(dbname, cache):
    return f"postgres://postgres@127.0.0.1:5432/{dbname}?blob_dir={cache}&shared_blob_dir=false"


def ini_of(directory, dbname):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "archive.ini"
    path.write_text("[app:main]\nuse = egg:archive\n"
                    f"zodbconn.uri = {uri_of(dbname, directory / 'blobcache')}\n"
                    "archive.index_dir = %(here)s/index\n"
                    "archive.argon2.time_cost = 1\narchive.argon2.memory_cost = 1024\n", encoding="utf-8")
    return str(path)


def _admin(sql):
    conn = psycopg2.connect(SERVER)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


@pytest.fixture
def databases():
    """Two empty databases (the office's and a spare), dropped afterwards."""
    names = [f"archive_drill_{secrets.token_hex(4)}_{n}" for n in ("office", "spare")]
    for name in names:
        _admin(f'CREATE DATABASE "{name}"')
    yield names
    for name in names:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def state(dbname, directory, registry):
    with Opened(uri_of(dbname, directory / "blobcache"), registry) as session:
        return snapshot(session.root)


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_restore_drill_on_relstorage(databases, tmp_path, registry, capsys):
    office_db, spare_db = databases
    office, spare = tmp_path / "office", tmp_path / "spare"
    ini, spare_ini, backups = ini_of(office, office_db), ini_of(spare, spare_db), str(tmp_path / "backups")
    with Opened(uri_of(office_db, office / "blobcache"), registry) as session:
        build(session, registry, households=2, tag="甲")
    first = state(office_db, office, registry)
    status, out, err = run(capsys, "-c", ini, "backup", backups)
    assert status == 0 and "pg_dump" in out, err
    with Opened(uri_of(office_db, office / "blobcache"), registry) as session:
        build(session, registry, households=1, tag="乙")
    changed = state(office_db, office, registry)
    assert changed != first

    status, _, err = run(capsys, "-c", ini, "restore", backups)
    assert status == 2 and "不是空的" in err and "--force" in err
    assert state(office_db, office, registry) == changed

    status, _, err = run(capsys, "-c", spare_ini, "restore", backups)    # an empty database
    assert status == 0, err
    assert state(spare_db, spare, registry) == first
    for command in (["verify-log"], ["reindex"], ["index-check"]):
        assert run(capsys, "-c", spare_ini, *command)[0] == 0
    status, out, _ = run(capsys, "-c", spare_ini, "audit")
    assert status == 0 and "严重｜" not in out

    status, _, err = run(capsys, "-c", ini, "restore", backups, "--force")
    assert status == 0, err
    assert state(office_db, office, registry) == first
    assert [kind for _, kind in points(backups)] == ["pg_dump"]
