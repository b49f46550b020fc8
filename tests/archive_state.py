"""An archive to preserve, and everything it holds as plain data, for the backup, restore
and pack tests: two archives are the same when their ``snapshot`` values are equal."""
from __future__ import annotations

import dataclasses
import hashlib
import os

import transaction

from archive import store
from archive.records import filing
from archive.root import bootstrap
from conftest import doc_fields, household_input, make_pdf, unit_input


def ini_for(directory, extra="") -> str:
    """An ini file for a FileStorage with blobs under ``directory``; returns its path."""
    (directory / "var").mkdir(parents=True, exist_ok=True)
    path = directory / "archive.ini"
    path.write_text(
        "[app:main]\nuse = egg:archive\n"
        "zodbconn.uri = file://%(here)s/var/Data.fs?blobstorage_dir=%(here)s/var/blobs"
        "&blobstorage_layout=bushy\n"
        "archive.index_dir = %(here)s/var/index\n"
        "archive.argon2.time_cost = 1\narchive.argon2.memory_cost = 1024\n" + extra,
        encoding="utf-8")
    return str(path)


class Opened:
    """The archive at ``uri`` (``.root``), sealed and committed by ``commit`` and on a clean exit."""

    def __init__(self, uri, registry):
        self.uri, self.registry = uri, registry

    def __enter__(self):
        if self.uri.startswith("file://"):
            os.makedirs(os.path.dirname(self.uri[len("file://"):].split("?")[0]), exist_ok=True)
        self.db = store.open_database(self.uri)
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.tm.begin()
        self.root = bootstrap(self.conn.root(), self.registry)
        return self

    def commit(self):
        self.root.log.seal()
        self.tm.commit()

    def __exit__(self, exc_type, *rest):
        if exc_type is None:
            self.commit()
        self.tm.abort()
        self.conn.close()
        self.db.close()


def build(session, registry, households=3, tag="甲"):
    """Dossiers with documents, a refiled file, an edit and a withdrawal: each its own commit."""
    root = session.root
    made = []
    for i in range(households):
        dossier = filing.create_dossier(root, registry, "household",
                                        household_input(name=f"王{tag}{i}", seq=10 + 2 * i), "archivist")
        session.commit()
        for j in range(3):
            filing.file_document(dossier, registry, doc_fields(title=f"{tag}材料{i}-{j}"),
                                 make_pdf(f"{tag} 申请材料 {i} {j}"), f"{j}.pdf", "archivist")
            session.commit()
        made.append(dossier)
    first = made[0]
    doc_id = next(iter(first.documents))
    filing.refile_document(first, doc_id, make_pdf(f"{tag} 补正后的申请表"), "new.pdf", "archivist", "补正")
    session.commit()
    filing.edit_dossier(first, registry, dict(household_input(name=f"王{tag}0", seq=10), phone="13900000000"),
                        "archivist", "电话变更")
    session.commit()
    first.withdraw_document(list(first.documents)[-1], "重复提交", "archivist", filing.now())
    session.commit()
    unit = filing.create_dossier(root, registry, "unit", unit_input(unit_no=f"{tag}-502"), "archivist")
    session.commit()
    filing.file_document(unit, registry, doc_fields(doc_type="handover", title=f"{tag}交接单"),
                         make_pdf(f"{tag} 验收报告"), "check.pdf", "archivist")
    session.commit()
    return made


def snapshot(root) -> dict:
    """Every dossier (state, metadata, each version whole), every file revision's bytes by
    SHA-256, and every log entry (sealed, with its hash) of the archive."""
    dossiers = {}
    for kind in ("household", "unit"):
        for d in root.container(kind).values():
            dossiers[d.archive_no] = {
                "state": d.state, "metadata": d.metadata,
                "versions": [dataclasses.astuple(v) for v in d.history()],
                "files": {f"{doc.doc_id}#{r.number}": hashlib.sha256(r.read()).hexdigest()
                          for doc in d.documents.values() for r in doc.files}}
    return {"dossiers": dossiers, "log": [dataclasses.astuple(e) for e in root.log.entries.values()],
            "head": tuple(root.log.head), "fixity": sorted(map(repr, root.fixity.entries()))}
