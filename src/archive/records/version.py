"""Versions (版本) of a dossier and their comparison.

A Version is an immutable record — number, time, who, why, the metadata snapshot and the
manifest of documents — written once when a change is made (CMFEditions' idea: the
version store beside the content, never inside the live object's history-less state).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from .frozen import compact


@compact
@dataclass(frozen=True)
class DocEntry:
    """A document as it stood in one version."""
    doc_id: str
    file_no: int
    sha256: str
    metadata: dict
    withdrawn: bool = False
    reason: str = ""


@compact
@dataclass(frozen=True)
class Version:
    """One immutable state of a dossier, with who, when and why."""
    number: int
    when: _dt.datetime
    actor: str
    comment: str
    action: str
    metadata: dict
    manifest: tuple
    restored_from: int | None = None
    transition: str = ""          # the procedure step taken, for action "transition"
    state: str = ""               # the dossier's procedure state after this version
    details: tuple = ()           # (label, value) pairs: the lease, an override, a flag

    def document(self, doc_id) -> DocEntry | None:
        return next((d for d in self.manifest if d.doc_id == doc_id), None)


ACTIONS = {  # what a version records, as a clerk calls it
    "created": ("建档", "Created"),
    "edited": ("修改信息", "Edited"),
    "filed": ("归档文件", "Filed a document"),
    "refiled": ("替换文件", "Filed a new file"),
    "document_edited": ("修改文件信息", "Edited a document"),
    "withdrawn": ("撤出文件", "Withdrew a document"),
    "restored": ("恢复版本", "Restored a version"),
    "transition": ("办理", "Procedure step"),
    "lease": ("租赁变动", "Lease change"),
    "adopted": ("纳入流程管理", "Brought under the procedure"),
    "shelved": ("上架/移库", "Shelved or moved"),   # archive.custody.shelving
    "bound": ("装订案卷", "Volume bound"),            # archive.custody.bound
    # archive.disposition
    "held": ("冻结", "Held"),
    "released": ("解除冻结", "Hold released"),
    "appraisal": ("鉴定意见", "Appraisal proposed"),
    "appraisal_decided": ("鉴定审批", "Appraisal decided"),
    "destroyed": ("销毁", "Destroyed"),
    "collective": ("单位集体申请", "Collective application"),   # archive.workflow.collective
}


def action_title(action, locale="zh"):
    zh, en = ACTIONS.get(action, (action, action))
    return en if locale == "en" else zh


def flatten(value, prefix="") -> dict:
    """``{"applicant.name": ..., "members.0.id_number": ...}`` for field-by-field comparison."""
    out = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = value
    return out


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: object
    new: object


@dataclass(frozen=True)
class DocChange:
    doc_id: str
    change: str          # added / removed / withdrawn / reinstated / file / metadata
    old: DocEntry | None
    new: DocEntry | None
    fields: tuple = field(default=())


def compare(a: Version, b: Version) -> tuple[list, list]:
    """Field-by-field and document-by-document differences from version a to version b."""
    fa, fb = flatten(a.metadata), flatten(b.metadata)
    fields = [FieldChange(p, fa.get(p), fb.get(p))
              for p in _ordered_union(fa, fb) if _norm(fa.get(p)) != _norm(fb.get(p))]
    docs_a = {d.doc_id: d for d in a.manifest}
    docs_b = {d.doc_id: d for d in b.manifest}
    documents = []
    for doc_id in _ordered_union(docs_a, docs_b):
        old, new = docs_a.get(doc_id), docs_b.get(doc_id)
        if old is None:
            documents.append(DocChange(doc_id, "added", None, new))
        elif new is None:
            documents.append(DocChange(doc_id, "removed", old, None))
        else:
            documents.extend(_doc_changes(doc_id, old, new))
    return fields, documents


def _doc_changes(doc_id, old, new):
    if old.withdrawn != new.withdrawn:
        yield DocChange(doc_id, "withdrawn" if new.withdrawn else "reinstated", old, new)
    if old.file_no != new.file_no or old.sha256 != new.sha256:
        yield DocChange(doc_id, "file", old, new)
    changed = tuple(k for k in _ordered_union(old.metadata, new.metadata)
                    if _norm(old.metadata.get(k)) != _norm(new.metadata.get(k)))
    if changed:
        yield DocChange(doc_id, "metadata", old, new, changed)


def _ordered_union(a, b):
    return list(a) + [k for k in b if k not in a]


def _norm(value):
    """Treat empty values alike: '' , None and () all mean 'not filled in'."""
    if value in ("", None) or value == () or value == []:
        return None
    if isinstance(value, list):
        return tuple(value)
    return value
