"""A dossier as JSON in a hand-over package (移交包), and back, exactly.

The JSON is what another system (or a person with a text editor) reads: dates as ISO
strings, every version with its number, time, who, why, metadata snapshot and document
manifest. Reading it back gives the same values the archive kept: a metadata date becomes
a ``datetime.date`` again where the schema says the field is a date (and nowhere else, so a
text that happens to look like a date stays text); times keep their UTC offset.
"""
from __future__ import annotations

import datetime as _dt
import functools

from ..records.intake import CHECKS, Check
from ..records.version import DocEntry, Version

FORMAT = "gzf-archive-dossier/1"    # the layout this module writes and reads (README)


def plain(value):
    """Stored values as JSON: dates and times as ISO strings, tuples as lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


def when(text):
    """A time from the package (None stays None)."""
    return _dt.datetime.fromisoformat(text) if text else None


def day(text):
    return _dt.date.fromisoformat(text) if text else None


def metadata(schema, value, path=""):
    """JSON metadata back to stored values, by the schema's field types."""
    if isinstance(value, dict):
        return {k: v if _settled(v) else metadata(schema, v, f"{path}{k}.") for k, v in value.items()}
    if isinstance(value, list):
        return [v if _settled(v) else metadata(schema, v, f"{path}{i}.") for i, v in enumerate(value)]
    # only a text that starts with a year can be a date (fromisoformat refuses the rest):
    # the schema is asked about those alone, not about every value of every version
    if isinstance(value, str) and value[:4].isdigit() and path:
        if _is_date(schema, path[:-1]):
            try:
                return _dt.date.fromisoformat(value)
            except ValueError:
                return value     # the intake check's metadata_valid reports it
    return value


@functools.lru_cache(maxsize=4096)
def _is_date(schema, path) -> bool:
    """Whether the schema's field at ``path`` is a date: asked once per schema and path, not
    for every date-like value of every version (an import asked it 12 times a file)."""
    spec = schema.spec(path)
    return spec is not None and spec.type == "date"


def _settled(value) -> bool:
    """A JSON value that stays as it is whatever the schema says (a number, a truth, null,
    a text that cannot be a date): no call and no path made for it, which was most of the
    import's reading of versions (every value of every version's metadata)."""
    kind = type(value)
    return kind is str and not value[:4].isdigit() or kind in _SCALARS


_SCALARS = (int, float, bool, type(None))


def checks_json(checks) -> list:
    return [{"check": c.id, "passed": c.passed, "category": c.category, "title": c.title(),
             "detail": c.detail} for c in checks]


def checks_from(records) -> tuple:
    return tuple(Check(r["check"], bool(r["passed"]), r.get("detail", ""))
                 for r in records or () if r.get("check") in CHECKS)


def version_json(version: Version) -> dict:
    return {"number": version.number, "when": plain(version.when), "actor": version.actor,
            "comment": version.comment, "action": version.action,
            "metadata": plain(version.metadata),
            "manifest": [{"doc_id": e.doc_id, "file_no": e.file_no, "sha256": e.sha256,
                          "metadata": plain(e.metadata), "withdrawn": e.withdrawn, "reason": e.reason}
                         for e in version.manifest],
            "restored_from": version.restored_from, "transition": version.transition,
            "state": version.state, "details": [list(pair) for pair in version.details]}


def version_from(record, schema, doc_schema) -> Version:
    """A version as it was recorded, from its JSON."""
    return Version(
        int(record["number"]), when(record["when"]), record["actor"], record.get("comment", ""),
        record["action"], metadata(schema, record.get("metadata") or {}),
        tuple(DocEntry(e["doc_id"], int(e["file_no"]), e["sha256"], metadata(doc_schema, e.get("metadata") or {}),
                       bool(e.get("withdrawn")), e.get("reason", ""))
              for e in record.get("manifest") or ()),
        record.get("restored_from"), record.get("transition", ""), record.get("state", ""),
        tuple(tuple(pair) for pair in record.get("details") or ()))


def dossier_json(dossier, documents) -> dict:
    """The dossier's description; ``documents`` are the document records (``document_json``)."""
    return {"format": FORMAT, "kind": dossier.kind, "archive_no": dossier.archive_no,
            "title": dossier.title, "metadata": plain(dossier.metadata),
            "state": dossier.state, "state_since": plain(dossier.state_since),
            "due": plain(dossier.due), "due_estimated": bool(dossier.due_estimated),
            "created": plain(dossier.created), "created_by": dossier.created_by,
            "modified": plain(dossier.modified), "documents": documents}


def document_json(doc, item_no, paths) -> dict:
    """One document with every file revision; ``paths`` maps revision number to its file in the bag."""
    return {"item_no": item_no, "doc_id": doc.doc_id, "metadata": plain(doc.metadata),
            "withdrawn": doc.withdrawn, "withdraw_reason": doc.withdraw_reason,
            "current_file": doc.current_no,
            "files": [{"number": r.number, "path": paths[r.number], "filename": r.filename,
                       "content_type": r.content_type, "size": r.size, "sha256": r.sha256,
                       "sm3": r.sm3, "pages": r.pages, "filed_by": r.filed_by,
                       "filed_at": plain(r.filed_at), "current": r.number == doc.current_no,
                       "intake": checks_json(r.intake)} for r in doc.files]}
