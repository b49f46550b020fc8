"""What the disposition unit tests share: an archive in memory with an exited household."""
from __future__ import annotations

import datetime as dt

from archive.disposition.schedule import compile_schedule
from archive.records import filing
from archive.root import ArchiveRoot
from archive.schema.registry import SchemaRegistry, default_directory
from conftest import doc_fields, household_input, make_pdf

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
EXIT = dt.datetime(2010, 1, 4, 9, 0, tzinfo=dt.timezone.utc)
REGISTRY = SchemaRegistry(default_directory())
SCHEDULE = compile_schedule(REGISTRY)


def archive():
    return ArchiveRoot(REGISTRY)


def household(root, doc_type="income_proof", exited=True, seq=11):
    dossier = filing.create_dossier(root, REGISTRY, "household", household_input(seq=seq), "archivist",
                                    when=EXIT - dt.timedelta(days=400))
    filing.file_document(dossier, REGISTRY, doc_fields(doc_type=doc_type), make_pdf("收入证明", pages=2),
                         "a.pdf", "archivist", when=EXIT - dt.timedelta(days=300))
    for doc in dossier.documents.values():
        for revision in doc.files:
            revision.text_status = "done"   # no worker here: the text is taken as read
    if exited:
        dossier.move("complete_exit", "exited", "reviewer", EXIT, "退出")
    return dossier
