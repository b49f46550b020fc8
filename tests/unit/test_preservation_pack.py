"""Packing (压缩历史): object history goes, the archive's own history stays whole."""
from __future__ import annotations

import datetime as dt
import os

from archive import cli
from archive.audit.worker import ZONE, due_today
from archive.preservation.pack import PackWorker, settings_days
from archive_state import Opened, build, ini_for, snapshot


def uri_of(directory):
    return f"file://{directory}/var/Data.fs?blobstorage_dir={directory}/var/blobs&blobstorage_layout=bushy"


def test_pack_keeps_every_version_file_and_log_entry_and_shrinks_data_fs(tmp_path, registry, capsys):
    office = tmp_path / "office"
    ini = ini_for(office)
    with Opened(uri_of(office), registry) as session:
        build(session, registry, households=4)
        before = snapshot(session.root)
    size = os.path.getsize(office / "var" / "Data.fs")
    assert cli.main(["-c", ini, "pack"]) == 0
    assert "已压缩" in capsys.readouterr().out
    assert os.path.getsize(office / "var" / "Data.fs") < size
    with Opened(uri_of(office), registry) as session:
        after = snapshot(session.root)
        packed = session.root.log.newest(1)[0]
    assert after["dossiers"] == before["dossiers"] and after["fixity"] == before["fixity"]
    assert after["log"][:len(before["log"])] == before["log"]          # and the pack's own entry
    assert (packed.action, packed.actor) == ("store.pack", "cli")
    assert cli.main(["-c", ini, "verify-log"]) == 0


def test_pack_keeps_recent_history_when_asked(tmp_path, registry, capsys):
    office = tmp_path / "office"
    ini = ini_for(office)
    with Opened(uri_of(office), registry) as session:
        build(session, registry, households=2)
    size = os.path.getsize(office / "var" / "Data.fs")
    assert cli.main(["-c", ini, "pack", "--days", "1"]) == 0     # all of it is younger than a day
    assert os.path.getsize(office / "var" / "Data.fs") >= size


def test_a_negative_number_of_days_is_refused(tmp_path, capsys):
    assert cli.main(["-c", ini_for(tmp_path), "pack", "--days", "-1"]) == 2
    assert "不能为负数" in capsys.readouterr().err


def at(hour, minute=0, day=6):
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


def test_a_daily_job_is_due_once_its_time_has_come_and_once_a_day():
    three_thirty = dt.time(3, 30)
    assert not due_today(three_thirty, None, at(3, 0))
    assert due_today(three_thirty, None, at(3, 30))
    assert not due_today(three_thirty, at(3, 31), at(23, 0))          # ran today already
    assert due_today(three_thirty, at(3, 31, day=5), at(4, 0))        # ran yesterday
    assert not due_today(None, None, at(4, 0))                        # no schedule


def test_the_nightly_pack_is_off_unless_scheduled(tmp_path, registry):
    with Opened(uri_of(tmp_path), registry) as session:
        assert PackWorker.from_settings(session.db, {}) is None
        worker = PackWorker.from_settings(session.db, {"archive.pack_at": "03:30", "archive.pack_days": "30"})
        assert (worker.at, worker.days) == (dt.time(3, 30), 30.0)


def test_the_nightly_pack_runs_once_a_day(tmp_path, registry):
    with Opened(uri_of(tmp_path), registry) as session:
        build(session, registry, households=2)
        before = snapshot(session.root)["dossiers"]
    path = tmp_path / "var" / "Data.fs"
    size = os.path.getsize(path)
    with Opened(uri_of(tmp_path), registry) as session:
        worker = PackWorker(session.db, dt.time(0, 0), 0)
        worker.work(session.root, session.tm.commit)
        assert session.root.packed_at is not None
        assert os.path.getsize(path) < size
        packed_size = os.path.getsize(path)
        worker.work(session.root, session.tm.commit)                  # not again today
        assert os.path.getsize(path) == packed_size
        assert snapshot(session.root)["dossiers"] == before
        assert [e.action for e in session.root.log.newest(5)].count("store.pack") == 1


def test_pack_days_setting():
    assert settings_days({}) == 0 and settings_days({"archive.pack_days": "7"}) == 7
