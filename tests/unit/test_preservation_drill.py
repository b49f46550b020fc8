"""The restore drill (恢复演练) on a FileStorage with blobs, through the ``archive`` command:
back up, file and edit more, back up again (incrementally), file more still; restore each
point and find the archive exactly as it was then, its log's chain whole, the audit clean
of critical findings and the search index rebuilt and in step."""
from __future__ import annotations

import os
import pathlib

import pytest

from archive import cli
from archive.preservation.backup import points
from archive_state import Opened, build, ini_for, snapshot


def uri_of(directory):
    return f"file://{directory}/var/Data.fs?blobstorage_dir={directory}/var/blobs&blobstorage_layout=bushy"


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def state(directory, registry):
    with Opened(uri_of(directory), registry) as session:
        return snapshot(session.root)


def blob_files(directory):
    return sorted(p.name for p in pathlib.Path(directory).rglob("*.blob"))


@pytest.fixture
def drill(tmp_path, registry, capsys):
    """The office's archive with two backup points in one directory: (ini, backups, states)."""
    office = tmp_path / "office"
    ini, backups = ini_for(office), str(tmp_path / "backups")
    with Opened(uri_of(office), registry) as session:
        build(session, registry, tag="甲")
    first = state(office, registry)
    assert run(capsys, "-c", ini, "backup", backups)[0] == 0

    with Opened(uri_of(office), registry) as session:
        build(session, registry, households=2, tag="乙")
    second = state(office, registry)
    status, out, err = run(capsys, "-c", ini, "backup", backups)
    assert status == 0 and "增量备份" in out

    with Opened(uri_of(office), registry) as session:
        build(session, registry, households=1, tag="丙")
    return ini, backups, [first, second], office


def test_a_second_backup_is_incremental_and_copies_only_new_blob_files(drill):
    _, backups, _, _ = drill
    assert [kind for _, kind in points(backups)] == ["full", "incremental"]
    # every file revision of both points, each once: 3×3+1+1 then 2×3+1+1 more
    assert len(blob_files(os.path.join(backups, "blobs"))) == 11 + 8


def test_restoring_the_first_point_gives_the_archive_as_it_was(drill, tmp_path, registry, capsys):
    _, backups, (first, _), _ = drill
    elsewhere = tmp_path / "elsewhere"
    ini = ini_for(elsewhere)
    from archive import store
    store.open_database(uri_of(elsewhere)).close()     # an empty store: ZODB's root, no archive
    stamp = points(backups)[0][0]
    status, out, err = run(capsys, "-c", ini, "restore", backups, "--at", stamp)
    assert status == 0, err
    assert state(elsewhere, registry) == first
    assert len(blob_files(elsewhere / "var" / "blobs")) == 11     # its own files, none later
    assert run(capsys, "-c", ini, "verify-log")[0] == 0
    assert run(capsys, "-c", ini, "reindex")[0] == 0
    assert run(capsys, "-c", ini, "index-check")[0] == 0
    status, out, _ = run(capsys, "-c", ini, "audit")
    assert status == 0 and "严重｜" not in out


def test_a_store_with_data_is_not_overwritten_without_force(drill, registry, capsys):
    ini, backups, (_, second), office = drill
    before = state(office, registry)
    status, _, err = run(capsys, "-c", ini, "restore", backups)
    assert status == 2 and "不是空的" in err and "--force" in err
    assert state(office, registry) == before != second


def test_restoring_the_newest_point_over_the_archive_with_force(drill, registry, capsys):
    ini, backups, (_, second), office = drill
    status, out, err = run(capsys, "-c", ini, "restore", backups, "--force")
    assert status == 0, err
    assert state(office, registry) == second
    kept = [p.name for p in (office / "var").iterdir() if ".before-restore-" in p.name]
    assert sorted(n.split(".before")[0] for n in kept) == ["Data.fs", "blobs"]   # moved, not deleted
    assert run(capsys, "-c", ini, "verify-log")[0] == 0
    assert run(capsys, "-c", ini, "index-check", "--fix")[0] == 0
    assert run(capsys, "-c", ini, "index-check")[0] == 0
    status, out, _ = run(capsys, "-c", ini, "audit")
    assert status == 0 and "严重｜" not in out


def test_a_backup_missing_a_blob_file_restores_nothing(drill, tmp_path, registry, capsys):
    _, backups, _, _ = drill
    victim = next(pathlib.Path(backups, "blobs").rglob("*.blob"))
    victim.chmod(0o644)
    victim.unlink()
    elsewhere = tmp_path / "elsewhere"
    status, _, err = run(capsys, "-c", ini_for(elsewhere), "restore", backups)
    assert status == 2 and "备份不完整" in err
    assert not (elsewhere / "var" / "Data.fs").exists()


def test_restore_lists_the_points(drill, capsys):
    ini, backups, _, _ = drill
    status, out, _ = run(capsys, "-c", ini, "restore", backups, "--list")
    assert status == 0 and out.split()[1::2] == ["full", "incremental"]


def test_a_backup_runs_beside_the_open_store_and_a_restore_does_not(tmp_path, registry):
    """A real ``archive`` process while this one holds the FileStorage open (as the web
    server does): the backup reads Data.fs without its lock; the restore refuses."""
    import subprocess
    import sys
    office = tmp_path / "office"
    ini, backups = ini_for(office), str(tmp_path / "backups")
    command = [os.path.join(os.path.dirname(sys.executable), "archive"), "-c", ini]
    with Opened(uri_of(office), registry) as session:
        build(session, registry, households=1)
        session.commit()
        done = subprocess.run(command + ["backup", backups], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "全量备份" in done.stdout and len(blob_files(os.path.join(backups, "blobs"))) == 5
        done = subprocess.run(command + ["restore", backups, "--force"], capture_output=True, text=True)
        assert done.returncode == 2 and "正被其他进程" in done.stderr
