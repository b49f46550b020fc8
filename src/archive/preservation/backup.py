"""``archive backup DIR`` (备份): a point to come back to, full the first time, then incremental.

FileStorage: ``repozo`` (ZODB's own backup script) copies Data.fs up to its last committed
transaction: the whole file into a new backup directory, and afterwards only what was
appended since (a packed Data.fs gets a full copy again). Blobs live outside Data.fs, one
file per revision named by its object and transaction, and are never changed once written:
so beside each copy we keep exactly the blob files that the copied records name, and an
incremental backup copies only the blob files of the transactions it added. A restore then
takes, for the point it restores, exactly the blob files its records name (restore.py).
Reading Data.fs needs no lock, so the backup runs beside the web server.

RelStorage on PostgreSQL: ``pg_dump`` in its custom format (blobs are rows of the database
there), a full dump every time; the client must not be older than the server.

``restart`` starts a directory's chain over (``archive purge --backups``, ``archive backup
--restart``): after a destruction has been packed out of the store, every backup point taken
before it still holds the destroyed files and their text, so the destruction is not complete
until those points are gone. A full backup of the store as it is now is taken first; only
when it is whole are the earlier points and the blob files only they named removed.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from ZODB.blob import FilesystemHelper, is_blob_record
from ZODB.FileStorage import FileIterator

from .stores import FileStore, PostgresStore, PreservationError, describe

BLOBS = "blobs"                 # the backup directory's blob files, in the bushy layout
POINT = re.compile(r"^(\d{4}(?:-\d\d){5})\.(fsz?|deltafsz?|pgdump)$")


@dataclass(frozen=True)
class BackupReport:
    """What one backup wrote: its point (a UTC time stamp), kind and sizes."""
    point: str
    kind: str          # "full", "incremental" or "pg_dump"
    bytes: int         # of Data.fs copied, or of the dump
    blobs: int = 0     # blob files copied now
    blobs_kept: int = 0   # blob files the copied records name that an earlier backup had


@dataclass(frozen=True)
class RestartReport:
    """A chain started over: its new full point, and what of the earlier points went."""
    backup: BackupReport
    points_removed: tuple     # the stamps of the earlier points, oldest first
    blobs_removed: int        # blob files no record of the new point names


def points(directory) -> list:
    """The backup points in ``directory``, oldest first: (stamp, kind)."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in sorted(os.listdir(directory)):
        match = POINT.match(name)
        if match:
            kind = {"fs": "full", "fsz": "full", "pgdump": "pg_dump"}.get(match.group(2), "incremental")
            found.append((match.group(1), kind))
    return found


def backup(uri, directory, progress=None, say=None, full=False, named=None) -> BackupReport:
    """Back the store ``uri`` up into ``directory`` (created when missing); ``full``: a full
    point even where an increment would do; ``named`` (a set) collects the backup's path of
    every blob file the point's records name (a dump has none: its blobs are rows)."""
    say = say or (lambda text: print(text, file=sys.stderr))
    target = describe(uri)
    os.makedirs(directory, exist_ok=True)
    _next_second(directory)
    if isinstance(target, PostgresStore):
        return _pg_dump(target, directory, say)
    return _repozo(target, directory, progress, say, full, named)


def _next_second(directory):
    """repozo names a point by the second: wait until this second names no point yet."""
    while any(stamp == time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime()) for stamp, _ in points(directory)):
        time.sleep(0.2)


def restart(uri, directory, progress=None, say=None) -> RestartReport:
    """Start the chain in ``directory`` over: a full backup (or dump) of the store as it is
    now and, once it is whole, every earlier point and every blob file that no record of
    the new point names removed. A failed backup removes nothing but its own point."""
    earlier = {stamp for stamp, _ in points(directory)}
    named = set()
    try:
        report = backup(uri, directory, progress, say, full=True, named=named)
    except PreservationError:       # the new point is not whole: it goes, the others stay
        _remove_points(directory, {stamp for stamp, _ in points(directory)} - earlier)
        raise
    stamps = tuple(sorted(stamp for stamp in earlier if stamp < report.point))
    _remove_points(directory, stamps)
    blobs = _remove_blobs(os.path.join(directory, BLOBS), named) if report.kind != "pg_dump" else 0
    return RestartReport(report, stamps, blobs)


def _remove_points(directory, stamps):
    """Every file of the points ``stamps``: copies, increments, dumps, their .dat and .index."""
    for name in sorted(os.listdir(directory)):
        stamp, _, ext = name.partition(".")
        if stamp in stamps and ext in ("fs", "fsz", "deltafs", "deltafsz", "dat", "index", "pgdump"):
            os.remove(os.path.join(directory, name))


def _remove_blobs(blob_dir, named) -> int:
    """Blob files under the backup's ``blobs/`` not in ``named`` (paths), and the folders
    they leave empty: how many files were removed."""
    if not os.path.isdir(blob_dir):
        return 0
    named = {os.path.realpath(path) for path in named}
    removed = 0
    for folder, _, names in os.walk(blob_dir, topdown=False):
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith((".blob", ".partial")) and os.path.realpath(path) not in named:
                os.remove(path)
                removed += 1
        # the bushy layout's folders (0x00 …), not the helper's own files or tmp/
        if folder != blob_dir and os.path.basename(folder).startswith("0x") and not os.listdir(folder):
            os.rmdir(folder)
    return removed


def _repozo(store: FileStore, directory, progress, say, full=False, named=None) -> BackupReport:
    """repozo's backup into ``directory`` (``full``: a full one even where an increment
    would do) and the blob files its records name; ``named`` collects their paths."""
    from ZODB.scripts import repozo
    if not os.path.exists(store.path):
        raise PreservationError(f"数据库文件 {store.path} 不存在")
    say(f"repozo：备份 {store.path} 到 {directory} ……")
    try:
        repozo.main(["-B", "-z", *(["-F"] if full else []), "-r", directory, "-f", store.path])
    except SystemExit as exc:      # repozo reports its errors by exiting
        if exc.code not in (None, 0):
            raise PreservationError(f"repozo 备份失败：{exc.code}") from None
    dat = sorted(f for f in os.listdir(directory) if f.endswith(".dat"))[-1]
    with open(os.path.join(directory, dat)) as fh:
        copied, start, end, _ = fh.readlines()[-1].split()
    point, ext = POINT.match(os.path.basename(copied)).groups()
    kind = "full" if ext.startswith("fs") else "incremental"
    say(f"{'全量' if kind == 'full' else '增量'}备份 {point}：Data.fs {int(start)}–{int(end)} 字节")
    copied_now, kept = copy_blobs(store, directory, int(start), int(end), progress, named)
    say(f"文件（blob）：新复制 {copied_now} 个，此前备份已有 {kept} 个")
    return BackupReport(point, kind, int(end) - int(start), copied_now, kept)


def blob_records(path, start=4, end=None, progress=None):
    """(oid, tid) of every blob record in Data.fs between two transaction positions."""
    iterator = FileIterator(path, pos=max(int(start), 4))
    end = end if end is not None else os.path.getsize(path)
    total_mb = max(1, (end - start) // 2**20)
    try:
        while iterator._pos < end:
            try:
                txn = next(iterator)
            except StopIteration:
                break
            for record in txn:
                if record.data and is_blob_record(record.data):
                    yield record.oid, record.tid
            if progress is not None:
                progress(min(total_mb, (iterator._pos - start) // 2**20), total_mb)
    finally:
        iterator.close()
    if progress is not None:
        progress(total_mb, total_mb)


def copy_blobs(store: FileStore, directory, start, end, progress=None, named=None):
    """Copy the blob files the records between ``start`` and ``end`` name into the backup,
    each once: (copied now, already there). A named file that is missing stops the backup.
    ``named`` (a set), when given, gets the backup's path of every file the records name."""
    if not store.blob_dir:
        return 0, 0
    source = FilesystemHelper(store.blob_dir)
    kept_dir = FilesystemHelper(os.path.join(directory, BLOBS), "bushy")
    kept_dir.create()
    copied = present = 0
    missing = []
    for oid, tid in blob_records(store.path, start, end, progress):
        destination = kept_dir.getBlobFilename(oid, tid)
        if named is not None:
            named.add(destination)
        if os.path.exists(destination):
            present += 1
            continue
        origin = source.getBlobFilename(oid, tid)
        if not os.path.exists(origin):
            missing.append(origin)
            continue
        _copy_atomically(origin, destination)
        copied += 1
    if missing:
        raise PreservationError(f"有 {len(missing)} 个文件（blob）在数据库中有记录但磁盘上找不到，"
                                f"例如 {missing[0]}：请先运行 archive audit 查明")
    return copied, present


def _copy_atomically(origin, destination):
    """A blob file appears in the backup whole or not at all (a cut-off backup is rerun)."""
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    partial = destination + ".partial"
    shutil.copyfile(origin, partial)
    os.replace(partial, destination)


def _pg_dump(store: PostgresStore, directory, say) -> BackupReport:
    if store.shared_blob_dir:
        raise PreservationError("RelStorage 配置为 shared_blob_dir：文件不在数据库中，"
                                "pg_dump 备份不到，请改用 shared_blob_dir=false")
    check_client_version(store, "pg_dump")
    point = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
    dump = os.path.join(directory, f"{point}.pgdump")
    say(f"pg_dump：备份数据库 {store.dbname} 到 {dump} ……")
    done = subprocess.run(["pg_dump", "-Fc", "--no-owner", "-v", "-f", dump + ".partial",
                           *store.arguments(), store.dbname],
                          env=store.environment(), stderr=subprocess.PIPE, text=True)
    for line in done.stderr.splitlines():   # its progress, one line per table
        if "dumping contents of table" in line:
            say("  " + line.split(":", 1)[-1].strip())
    if done.returncode:
        raise PreservationError(f"pg_dump 失败：{done.stderr.strip().splitlines()[-1:]}")
    os.replace(dump + ".partial", dump)
    return BackupReport(point, "pg_dump", os.path.getsize(dump))


def check_client_version(store: PostgresStore, program):
    """pg_dump and pg_restore refuse a server newer than themselves: say so plainly first."""
    import psycopg2
    if shutil.which(program) is None:
        raise PreservationError(f"找不到 {program}：请安装 Debian 的 postgresql-client")
    client = subprocess.run([program, "--version"], capture_output=True, text=True).stdout
    client_major = int(re.search(r"\)\s*(\d+)", client).group(1))   # "pg_dump (PostgreSQL) 15.20 …"
    try:
        conn = psycopg2.connect(store.dsn())
    except psycopg2.Error as exc:
        raise PreservationError(f"连不上数据库 {store.dbname}：{str(exc).strip()}") from None
    with conn, conn.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_major = int(cursor.fetchone()[0]) // 10000
    conn.close()
    if client_major < server_major:
        raise PreservationError(f"{program} 是 PostgreSQL {client_major} 的，数据库服务器是 "
                                f"{server_major}：请安装 postgresql-client-{server_major}")
