"""The store (存储): the ZODB database named by ``zodbconn.uri``, for the web server and the CLI.

Any zodburi URI works, with one exception made on purpose: a ``file://`` URI with a
``blobstorage_dir`` opens a FileStorage that keeps its blobs itself (``blob_dir``), not
zodburi's ``BlobStorage`` wrapper around a FileStorage. The wrapper's ``tpc_abort`` lets
the FileStorage release its commit lock and only then removes the blob files its
``dirty_oids`` list names — a list it shares with whichever transaction took the lock in
between. So when one request's commit failed with a conflict while another was filing, the
second request's freshly stored blob file was deleted, and it answered 201 for a document
whose content was gone (POSKeyError on download). FileStorage's own blob support cleans up
inside the commit lock and only for its own transaction. Both keep the same directory
layout (the ``.layout`` file in the blob directory), so existing archives open unchanged.
"""
from __future__ import annotations

import os
from urllib.parse import parse_qsl

import ZODB
import zodburi
from ZODB.FileStorage import FileStorage

_FILE_OPTIONS = {"create": int, "read_only": int, "quota": int}


def resolve(uri):
    """(storage factory, DB keyword arguments) for a store URI; see the module docstring.

    ``postgresql://`` is taken as RelStorage's ``postgres://`` (the name it registers with
    zodburi), so the URI may be written as PostgreSQL itself spells it."""
    if uri.startswith("file://") and "blobstorage_dir=" in uri:
        return _file_with_blobs(uri)
    if uri.startswith("postgresql://"):
        uri = "postgres://" + uri[len("postgresql://"):]
    return zodburi.resolve_uri(uri)


def is_shared(uri) -> bool:
    """Whether several processes may open this store at once (ZEO, RelStorage), unlike a
    FileStorage, which one process locks."""
    return not uri.startswith(("file://", "memory://"))


def _file_with_blobs(uri):
    path, _, query = uri[len("file://"):].partition("?")
    options = dict(parse_qsl(query))
    blob_dir = options.pop("blobstorage_dir")
    layout = options.pop("blobstorage_layout", "automatic")
    storage_kw = {k: _FILE_OPTIONS[k](options.pop(k)) for k in list(options) if k in _FILE_OPTIONS}
    # What remains is for the DB (zodburi's names: connection_pool_size, cache_size …)
    _, dbkw = zodburi.resolve_uri("memory://?" + "&".join(f"{k}={v}" for k, v in options.items()))

    def factory():
        storage = FileStorage(os.path.normpath(path), blob_dir=blob_dir, **storage_kw)
        if layout != "automatic" and storage.fshelper.layout_name != layout:
            storage.close()
            raise ValueError(f"blob directory {blob_dir} has layout "
                             f"{storage.fshelper.layout_name}, not {layout}")
        return storage
    return factory, dbkw


def open_database(uri, database_name="unnamed", databases=None) -> ZODB.DB:
    """The database for ``uri``, as the web server and every command open it."""
    factory, dbkw = resolve(uri)
    dbkw["database_name"] = database_name
    return ZODB.DB(factory(), databases=databases, **dbkw)


def db_from_uri(uri, dbname, dbmap):
    """pyramid_zodbconn's hook: the database for one of the ini's URIs."""
    return open_database(uri, dbname, dbmap)


def root_factory(request):
    """The ArchiveRoot, from this request's ZODB connection (pyramid_zodbconn's)."""
    from pyramid_zodbconn import get_connection

    from .root import ROOT_KEY
    return get_connection(request).root()[ROOT_KEY]


def includeme(config):
    """pyramid_zodbconn (one connection per request), with the store opened by ``resolve``."""
    import pyramid_zodbconn
    pyramid_zodbconn.includeme(config, db_from_uri=db_from_uri)


def forkable(db) -> bool:
    """Whether a forked worker process may read ``db`` through the copy it inherits: a
    FileStorage (its index is in memory, its records in one file the worker opens again;
    see ``reopen_in_child``). A ZEO or RelStorage client holds a socket or a database
    connection a child must not share: those are read in the process that opened them."""
    return isinstance(getattr(db, "storage", None), FileStorage)


def reopen_in_child(db):
    """In a forked worker: its own read handles on the FileStorage's file. The inherited
    ones share their file offset with the parent's (a seek in one process moves the other's
    read), so the child reads through handles of its own; it never writes."""
    from ZODB.FileStorage.FileStorage import FilePool
    storage = db.storage
    storage._files = FilePool(storage._file_name)
