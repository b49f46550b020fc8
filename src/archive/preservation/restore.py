"""``archive restore DIR`` (恢复): put a backup point back as the store, exactly as it was.

FileStorage: ``repozo -R`` rebuilds Data.fs as of the point (its full copy and the
increments up to it) into a file beside the store; then every record of that Data.fs is
read, and exactly the blob files its records name are copied from the backup, so blobs
of later transactions (in the backup directory too) stay out. Only when all are there do
the new Data.fs and blob directory take the store's place. RelStorage: ``pg_restore``.

A restore never overwrites an archive by surprise: a store holding any transaction is
refused unless ``force`` is given, and even then the old files are moved aside, not
deleted. A FileStorage in use (its lock held, e.g. by the web server) is always refused.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from ZODB.blob import FilesystemHelper

from .backup import BLOBS, blob_records, check_client_version, points
from .stores import FileStore, PostgresStore, PreservationError, describe


@dataclass(frozen=True)
class RestoreReport:
    """The point restored, the blob files put back, and where a replaced store went."""
    point: str
    blobs: int = 0
    moved_aside: tuple = ()


def choose(directory, at=None, kinds=("full", "incremental")):
    """The backup point to restore: the newest, or the newest at or before ``at``."""
    found = [stamp for stamp, kind in points(directory) if kind in kinds]
    if not found:
        raise PreservationError(f"目录 {directory} 中没有可恢复的备份")
    if at is None:
        return found[-1]
    earlier = [stamp for stamp in found if stamp <= at]
    if not earlier:
        raise PreservationError(f"{at} 之前没有备份；最早的备份是 {found[0]}")
    return earlier[-1]


def restore(uri, directory, at=None, force=False, progress=None, say=None) -> RestoreReport:
    """Restore the point ``at`` (default: the newest) from ``directory`` into the store ``uri``."""
    say = say or (lambda text: print(text, file=sys.stderr))
    target = describe(uri)
    if isinstance(target, PostgresStore):
        return _pg_restore(target, directory, at, force, say)
    return _repozo(target, directory, at, force, progress, say)


def _repozo(store: FileStore, directory, at, force, progress, say) -> RestoreReport:
    from ZODB.scripts import repozo
    from zc.lockfile import LockError, LockFile
    point = choose(directory, at)
    os.makedirs(os.path.dirname(store.path) or ".", exist_ok=True)
    try:
        lock = LockFile(store.path + ".lock")
    except LockError:
        raise PreservationError("数据库正被其他进程（如网站服务）使用：请先停止它再恢复") from None
    try:
        if _file_store_holds_data(store) and not force:
            raise PreservationError(
                f"目标数据库 {store.path} 不是空的：恢复会覆盖现有档案。确认要覆盖请加 --force"
                "（原有文件会改名保留，不会删除）")
        staging = store.path + ".restoring"
        staged_blobs = (store.blob_dir.rstrip("/") + ".restoring") if store.blob_dir else None
        _remove(staging, staged_blobs)
        say(f"repozo：恢复到备份点 {point} ……")
        try:
            repozo.main(["-R", "-r", directory, "-D", point, "-o", staging])
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise PreservationError(f"repozo 恢复失败：{exc.code}") from None
        try:
            blobs = _stage_blobs(staging, directory, staged_blobs, store.layout, progress)
        except BaseException:
            _remove(staging, staged_blobs)
            raise
        moved = _move_aside(store) if force else _clear_empty(store)
        os.replace(staging, store.path)
        if staged_blobs:
            os.replace(staged_blobs, store.blob_dir)
        say(f"已恢复到 {point}：文件（blob）{blobs} 个"
            + (f"；原有数据已改名保留为 {'、'.join(moved)}" if moved else ""))
        return RestoreReport(point, blobs, moved)
    finally:
        lock.close()


def _file_store_holds_data(store: FileStore) -> bool:
    """An archive in Data.fs (even one with no dossier yet: the web server makes it at its
    first start), or any blob file. A Data.fs holding only ZODB's empty root is empty."""
    import ZODB
    from ZODB.FileStorage import FileStorage
    if store.blob_dir and os.path.isdir(store.blob_dir):
        if any(name.endswith(".blob") for _, _, names in os.walk(store.blob_dir) for name in names):
            return True
    if not os.path.exists(store.path) or os.path.getsize(store.path) <= 4:
        return False
    db = ZODB.DB(FileStorage(store.path, read_only=True))
    try:
        conn = db.open()
        held = len(conn.root()) > 0
        conn.close()
    finally:
        db.close()
    return held


def _stage_blobs(data_fs, directory, staged_dir, layout, progress) -> int:
    """Copy the blob files the restored records name from the backup; all must be there."""
    if staged_dir is None:
        return 0
    kept = FilesystemHelper(os.path.join(directory, BLOBS), "bushy")
    staged = FilesystemHelper(staged_dir, layout)
    staged.create()
    count, missing = 0, []
    for oid, tid in blob_records(data_fs, progress=progress):
        origin = kept.getBlobFilename(oid, tid)
        if not os.path.exists(origin):
            missing.append(origin)
            continue
        destination = staged.getBlobFilename(oid, tid)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(origin, destination)
        os.chmod(destination, 0o444)     # as ZODB leaves committed blob files
        count += 1
    if missing:
        raise PreservationError(f"备份不完整：缺少 {len(missing)} 个文件（blob），例如 {missing[0]}；"
                                "数据库未改动")
    return count


def _move_aside(store: FileStore) -> tuple:
    """The replaced store's files, renamed with the time (``--force`` keeps them)."""
    suffix = time.strftime(".before-restore-%Y%m%d-%H%M%S")
    moved = []
    for path in (store.path, store.blob_dir):
        if path and os.path.exists(path):
            os.replace(path, path.rstrip("/") + suffix)
            moved.append(path.rstrip("/") + suffix)
    for extra in (".index", ".tmp", ".old"):       # FileStorage's own files: rebuilt from Data.fs
        if os.path.exists(store.path + extra):
            os.remove(store.path + extra)
    return tuple(moved)


def _clear_empty(store: FileStore) -> tuple:
    """An empty store's files (a 4-byte Data.fs, a blob directory without blob files, as a
    first start leaves them) make way for the restored ones; nothing is moved aside."""
    _remove(store.blob_dir, *(store.path + extra for extra in (".index", ".tmp")))
    return ()


def _remove(*paths):
    for path in paths:
        if path and os.path.isdir(path):
            shutil.rmtree(path)
        elif path and os.path.exists(path):
            os.remove(path)


def _pg_restore(store: PostgresStore, directory, at, force, say) -> RestoreReport:
    import psycopg2
    point = choose(directory, at, kinds=("pg_dump",))
    check_client_version(store, "pg_restore")     # and the database answers
    conn = psycopg2.connect(store.dsn())
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        tables = cursor.fetchone()[0]
    conn.close()
    if tables and not force:
        raise PreservationError(f"目标数据库 {store.dbname} 不是空的（{tables} 张表）：恢复会覆盖现有档案。"
                                "确认要覆盖请加 --force（请先停止所有网站服务和后台进程）")
    say(f"pg_restore：恢复数据库 {store.dbname} 到备份点 {point} ……")
    command = ["pg_restore", "--no-owner", "--exit-on-error", "-v", "-d", store.dbname,
               *store.arguments(), os.path.join(directory, f"{point}.pgdump")]
    if tables:
        command[1:1] = ["--clean", "--if-exists"]
    done = subprocess.run(command, env=store.environment(), stderr=subprocess.PIPE, text=True)
    for line in done.stderr.splitlines():
        if "processing data for table" in line:
            say("  " + line.split(":", 1)[-1].strip())
    if done.returncode:
        raise PreservationError(f"pg_restore 失败：{done.stderr.strip().splitlines()[-1:]}")
    say(f"已恢复到 {point}")
    return RestoreReport(point)
