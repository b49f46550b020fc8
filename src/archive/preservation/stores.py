"""What a store URI names on disk or in PostgreSQL, for the backup and restore tools.

The backup tools work below ZODB (files, a database dump), so they need the FileStorage's
path and blob directory, or the PostgreSQL connection, that ``zodbconn.uri`` names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit


class PreservationError(ValueError):
    """A backup, restore or pack the administrator must correct; the message says how."""


@dataclass(frozen=True)
class FileStore:
    """A FileStorage: Data.fs and its blob directory (None when it keeps no blobs)."""
    path: str
    blob_dir: str | None
    layout: str = "bushy"


@dataclass(frozen=True)
class PostgresStore:
    """A RelStorage database on PostgreSQL, as ``pg_dump``/``pg_restore`` address it."""
    dbname: str
    host: str | None
    port: int | None
    user: str | None
    password: str | None
    shared_blob_dir: bool

    def arguments(self) -> list:
        """The connection options of the PostgreSQL client programs."""
        out = []
        for flag, value in (("-h", self.host), ("-p", self.port), ("-U", self.user)):
            if value:
                out += [flag, str(value)]
        return out

    def environment(self) -> dict:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def dsn(self, dbname=None) -> str:
        """A libpq connection string (psycopg2), for another database on the same server."""
        parts = {"dbname": dbname or self.dbname, "host": self.host, "port": self.port,
                 "user": self.user, "password": self.password}
        return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


def describe(uri: str):
    """The FileStore or PostgresStore a ``zodbconn.uri`` names; other stores are refused."""
    if uri.startswith("file://"):
        path, _, query = uri[len("file://"):].partition("?")
        options = dict(parse_qsl(query))
        layout = options.get("blobstorage_layout", "automatic")
        return FileStore(os.path.normpath(path), options.get("blobstorage_dir"),
                         "bushy" if layout == "automatic" else layout)
    if uri.startswith(("postgres://", "postgresql://")):
        parts = urlsplit("http://" + uri.split("://", 1)[1])
        options = dict(parse_qsl(parts.query))
        shared = options.get("shared_blob_dir", "false").lower() in ("1", "true", "yes", "on")
        return PostgresStore(unquote(parts.path.lstrip("/")), parts.hostname, parts.port,
                             unquote(parts.username) if parts.username else None,
                             unquote(parts.password) if parts.password else None, shared)
    raise PreservationError(
        "只能备份和恢复 FileStorage（file://）或 PostgreSQL 上的 RelStorage（postgres://）；"
        "ZEO 请在 ZEO 服务器上用其 FileStorage 的配置运行本命令")
