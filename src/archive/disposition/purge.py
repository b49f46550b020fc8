"""After a destruction commits: make what was destroyed unrecoverable on disk.

A FileStorage keeps every earlier record of every object (and the blob files they name)
until it is packed, so the destroyed files' bytes and text are still in ``Data.fs`` and
under ``blobs/`` after the commit. ``pack_store`` packs to the present (days=0): records no
longer current and objects no longer reachable — the destroyed revisions, their blobs and
their text — are dropped, and FileStorage removes their blob files. Packing to the present
gives up ZODB's own undo for every transaction before it, archive-wide; the archive never
uses undo (its history is its versions, which are current objects and stay), and FileStorage
packs while commits go on, so the moment is acceptable. What the pack would otherwise leave
behind is not kept: ``Data.fs.old`` (the whole store before the pack) and ``blobs.old``
(a copy of every blob file), both written by FileStorage's ``pack_keep_old``.
Backups taken before the destruction still hold the files and their text: the destruction is
complete only when those points are gone too. ``restart_backups`` starts each backup
directory the office names (``archive.backup_dir``; ``archive purge --backups DIR``) over
after the pack: a full backup of the packed store, then the earlier points removed
(``preservation.backup.restart``), recorded in the audit log.

``compact_index`` rewrites the search index as one segment, so the deleted entries of the
destroyed documents (whoosh keeps them in their segment until a merge) are gone from its files.
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import time


def _storage_of(db):
    storage = db.storage
    return getattr(storage, "_FileStorage__storage", None) or storage


def pack_store(db, now=None) -> list:
    """Pack to ``now`` keeping no copy of the old store; returns the leftovers removed.

    FileStorage's ``pack_keep_old`` (its default) would keep the whole store before the pack
    as ``Data.fs.old`` and copy every blob file into ``blobs.old``: the destroyed bytes twice
    more, and at 10^5 files an hour of copying. It is switched off for this pack only."""
    storage = _storage_of(db)
    keep = getattr(storage, "pack_keep_old", None)
    if keep is not None:
        storage.pack_keep_old = False
    try:
        db.pack(t=now or time.time())
    finally:
        if keep is not None:
            storage.pack_keep_old = keep
    removed = []
    name = getattr(storage, "_file_name", None)
    if name and os.path.exists(name + ".old"):
        os.remove(name + ".old")
        removed.append(name + ".old")
    blob_dir = getattr(storage, "blob_dir", None)
    if blob_dir and os.path.isdir(blob_dir + ".old"):   # left by an earlier pack that kept it
        shutil.rmtree(blob_dir + ".old")
        removed.append(blob_dir + ".old")
    return removed


def compact_index(search_index):
    """Merge the search index into one segment, dropping deleted entries from its files."""
    if search_index is None:
        return
    with search_index._lock:
        writer = search_index.writer()
        writer.commit(optimize=True)


def backup_dirs(settings) -> list:
    """``archive.backup_dir``: the office's backup directories (one a line or separated by
    spaces), started over after a destruction; [] when not set."""
    return (settings.get("archive.backup_dir") or "").split()


def restart_backups(db, uri, directories, actor="system") -> list:
    """Each backup directory's chain started over now that the store is packed, each in
    the audit log (``store.backup_restart``): the reports (``RestartReport``)."""
    import transaction

    from ..preservation.backup import restart
    done = [(directory, restart(uri, directory, say=lambda text: None)) for directory in directories]
    if not done:
        return []
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            root = conn.root()["archive"]
            for directory, found in done:
                root.log.append(actor, "store.backup_restart", "",
                                f"{directory}: full point {found.backup.point}; removed "
                                f"{len(found.points_removed)} earlier points ({', '.join(found.points_removed)}), "
                                f"{found.blobs_removed} blob files")
            # what a destruction list's page compares with the day it was carried out
            root.backups_restarted_at = _dt.datetime.now(_dt.timezone.utc)
    finally:
        conn.close()
    return [found for _, found in done]


def after_destruction(db, schemas, search_index, keys, now=None, uri=None, backups=()) -> list:
    """Everything that follows a committed destruction, in order: the destroyed dossiers'
    search entries rewritten from their stubs, the index compacted, the store packed and
    the backup directories ``backups`` (of the store at ``uri``) started over."""
    import transaction

    from ..search.fields import dossier_key
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        root = conn.root()["archive"]
        if search_index is not None:
            search_index.write(root, schemas, [dossier_key(kind, no) for kind, no in keys])
        tm.abort()
    finally:
        conn.close()
    compact_index(search_index)
    removed = pack_store(db, now)
    if backups:
        restart_backups(db, uri, backups)
    return removed
