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


def test_restarting_the_chain_keeps_one_full_point_of_the_store_as_it_is(drill, tmp_path, registry, capsys):
    """``backup --restart`` (after a destruction is packed out of the store): a full point of
    the store now, the earlier points and the blob files only they named gone; it restores."""
    ini, backups, _, office = drill
    earlier = [stamp for stamp, _ in points(backups)]
    now = state(office, registry)
    status, out, err = run(capsys, "-c", ini, "backup", backups, "--restart")
    assert status == 0, err
    assert "全量备份" in out and "已删除此前的备份点 2 个" in out and earlier[0] in out
    left = points(backups)
    assert [kind for _, kind in left] == ["full"] and left[0][0] > earlier[-1]
    assert sorted(os.listdir(backups)) == sorted(["blobs"] + [f"{left[0][0]}.{ext}" for ext in ("fsz", "dat", "index")])
    # exactly the store's files now: 11 + 8 + 4 revisions, each once
    assert blob_files(os.path.join(backups, "blobs")) == blob_files(office / "var" / "blobs")
    elsewhere = tmp_path / "elsewhere"
    status, _, err = run(capsys, "-c", ini_for(elsewhere), "restore", backups)
    assert status == 0, err
    assert state(elsewhere, registry) == now


def test_a_restart_whose_backup_fails_removes_nothing(drill, capsys):
    ini, backups, _, office = drill
    earlier = points(backups)
    before = sorted(str(p) for p in pathlib.Path(backups).rglob("*") if p.is_file())
    kept = {p.relative_to(pathlib.Path(backups, "blobs")) for p in pathlib.Path(backups, "blobs").rglob("*.blob")}
    store_blobs = office / "var" / "blobs"
    victim = next(p for p in store_blobs.rglob("*.blob") if p.relative_to(store_blobs) not in kept)
    victim.chmod(0o644)
    victim.unlink()          # the store has lost a file filed since: the new point is not whole
    status, _, err = run(capsys, "-c", ini, "backup", backups, "--restart")
    assert status == 2 and "找不到" in err
    after = sorted(str(p) for p in pathlib.Path(backups).rglob("*") if p.is_file())
    assert [p for p in before if p not in after] == []      # every earlier point and file still there
    assert points(backups) == earlier                        # and not the new point, which is not whole


def test_purge_with_backups_starts_each_chain_over_and_logs_it(drill, tmp_path, registry, capsys):
    """``archive purge --backups DIR``: after the pack, the chain in DIR restarts, in the log."""
    ini, backups, _, office = drill
    earlier = [stamp for stamp, _ in points(backups)]
    status, out, err = run(capsys, "-c", ini, "purge", "--backups", backups)
    assert status == 0, err
    assert "已删除此前的备份点 2 个" in out and [kind for _, kind in points(backups)] == ["full"]
    with Opened(uri_of(office), registry) as session:
        logged = session.root.log.newest(action="store.backup_restart")
        assert len(logged) == 1 and logged[0].actor == "cli" and all(s in logged[0].detail for s in earlier)
    status, out, err = run(capsys, "-c", ini, "purge")           # no directory: a reminder
    assert status == 0 and "--backups" in out
