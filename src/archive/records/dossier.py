"""Dossiers: 一户一档 (HouseholdDossier) and 一套一档 (UnitDossier).

A dossier holds its current metadata, its documents and an append-only series of
versions. Every change goes through ``_record`` so that no change can leave history
behind; nothing offers to edit or drop a version.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as _dt

from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .document import Document
from .fixity import index_of
from .version import DocEntry, Version


MAX_COMMENT = 2000  # characters of a change's reason kept in the history


class DossierError(Exception):
    """A change the dossier refuses; the message is for the clerk."""


def _check_comment(comment):
    """A reason is kept forever in every copy of the history: text, and of a sane length."""
    if comment is not None and not isinstance(comment, str):
        raise DossierError("说明应为文本")
    if comment and len(comment) > MAX_COMMENT:
        raise DossierError(f"说明不能超过{MAX_COMMENT}个字符")


class NothingChanged(DossierError):
    """A save that would record a version identical to the current one."""


class VersionNotFound(DossierError, KeyError):
    """A version number the dossier never had."""

    def __str__(self):
        return self.args[0] if self.args else "版本不存在"


class DocumentNotFound(DossierError, KeyError):
    """A document id the dossier never had."""

    def __str__(self):
        return self.args[0] if self.args else "文件不存在"


class SharedPart(Persistent):
    """A piece of a version that later versions share while it stays the same: a document
    as it stood (DocEntry) or the metadata snapshot. Written once, never changed."""

    def __init__(self, value):
        self.value = value


class StoredVersion(Persistent):
    """A version in its own database record, so a commit writes only the new version
    instead of rewriting every earlier one that shares its BTree bucket.

    The record holds the version's own facts and refers to its metadata snapshot and to
    each document's entry as ``SharedPart`` records, reusing the previous version's parts
    that did not change: filing a document writes one new entry, not a copy of every
    document's entry and of the metadata (bench/growth.py: 2.2 KB a filing before, for
    dossiers of ten documents). ``version`` reads as the whole immutable Version either
    way; versions stored whole before generation 10 read as they were stored.
    """

    def __init__(self, version: Version, previous=None):
        self._store(version, previous)

    def _store(self, version, previous=None):
        metadata, entries = previous._parts() if previous is not None else (None, {})
        self._head = dataclasses.replace(version, metadata=None, manifest=())
        self._metadata = metadata if metadata is not None and metadata.value == version.metadata \
            else SharedPart(version.metadata)
        self._manifest = tuple(entries[e.doc_id] if e.doc_id in entries and entries[e.doc_id].value == e
                               else SharedPart(e) for e in version.manifest)
        self._v_version = None

    def _parts(self):
        """(metadata part, {doc_id: entry part}) for the next version to reuse; none for a
        version stored whole."""
        if getattr(self, "_head", None) is None:
            return None, {}
        return self._metadata, {part.value.doc_id: part for part in self._manifest}

    @property
    def when(self):
        """The version's time, without assembling the whole version."""
        head = self._head if getattr(self, "_head", None) is not None else self.__dict__["version"]
        return head.when

    @property
    def version(self) -> Version:
        cached = getattr(self, "_v_version", None)
        if cached is not None:
            return cached
        if getattr(self, "_head", None) is None:       # stored whole (and now active)
            return self.__dict__["version"]
        self._v_version = dataclasses.replace(self._head, metadata=self._metadata.value,
                                              manifest=tuple(part.value for part in self._manifest))
        return self._v_version

    @version.setter
    def version(self, version):
        self._p_activate()
        self.__dict__.pop("version", None)
        self._store(version)
        self._p_changed = True


class Dossier(Persistent):
    """What both kinds of dossier share: metadata, documents, versions."""

    kind = None
    # The procedure (archive.workflow): the state, since when, and its deadline. Class
    # defaults let dossiers stored before the procedure existed read as "not yet placed".
    state = None
    state_since = None
    due = None
    due_estimated = False
    # The current lease and every lease this dossier was ever part of (archive.workflow.leases).
    lease = None
    leases = ()
    # 件号 (DA/T 22): numbers are given in filing order and never reused
    # (archive.custody.arrangement reads them); this keeps the highest an import or the
    # evolve step gave, filing reads the last document's instead of counting here.
    _item_seq = 0
    # 销毁 (archive.disposition.destruction): what was destroyed, when, on whose approval;
    # None while the dossier still holds its files.
    destruction = None
    # 案卷 as last bound (archive.custody.bound.BoundVolume), kept with the version it shows.
    bound_volume = None

    def __init__(self, archive_no: str, metadata: dict, actor: str, when: _dt.datetime,
                 comment: str = "", state: str | None = None):
        self.__name__ = archive_no
        self.__parent__ = None
        self.archive_no = archive_no
        self.metadata = copy.deepcopy(metadata)
        self.documents = OOBTree()
        self.versions = IOBTree()
        self.created, self.created_by = when, actor
        self.state, self.state_since = state, (when if state else None)
        self._record("created", actor, when, comment)

    @classmethod
    def imported(cls, archive_no, metadata, documents, versions, *, created, created_by,
                 modified, state=None, state_since=None, due=None, due_estimated=False):
        """A dossier as another archive kept it (接收, archive.exchange): its versions exactly as
        they were recorded (numbers, who, when, why, snapshots, manifests) and its documents
        with every file revision. Nothing is recorded now: ``update`` and ``_record`` would
        stamp a new version with today's time; the import itself is logged by its caller."""
        if not versions:
            raise DossierError(f"档案 {archive_no} 没有任何版本记录，无法接收")
        dossier = cls.__new__(cls)
        Persistent.__init__(dossier)
        dossier.__name__ = dossier.archive_no = archive_no
        dossier.__parent__ = None
        dossier.metadata = copy.deepcopy(metadata)
        dossier.documents, dossier.versions = OOBTree(), IOBTree()
        for doc in documents:
            doc.__parent__ = dossier
            dossier.documents[doc.doc_id] = doc
        previous = None     # each version shares its predecessor's unchanged parts, as filed ones do
        for version in sorted(versions, key=lambda v: v.number):
            previous = dossier.versions[version.number] = StoredVersion(version, previous)
        dossier.created, dossier.created_by = created, created_by   # modified: the newest version's
        dossier._doc_seq = max((int(d.doc_id[1:]) for d in documents if d.doc_id[1:].isdigit()), default=0)
        # 件号: kept as the package numbered them; documents without one follow in filing order
        dossier._item_seq = max((d.item_no for d in documents if d.item_no), default=0)
        for doc in sorted(documents, key=lambda d: (len(d.doc_id), d.doc_id)):
            if not doc.item_no:
                dossier._item_seq += 1
                doc.item_no = dossier._item_seq
        dossier.state, dossier.state_since = state, state_since
        dossier.due, dossier.due_estimated = due, due_estimated
        return dossier

    # -- reading ---------------------------------------------------------------------
    @property
    def modified(self):
        """When the dossier last changed: its newest version's time. Derived rather than
        stored, so filing a document does not rewrite the dossier's own record (its
        metadata with it) on every change; dossiers stored with the attribute read the same."""
        return self.versions[self.versions.maxKey()].when

    @property
    def latest(self) -> Version:
        return self.versions[self.versions.maxKey()].version

    def version(self, number: int) -> Version:
        try:
            return self.versions[int(number)].version
        except (KeyError, ValueError, TypeError, OverflowError):
            raise VersionNotFound(f"版本 {number} 不存在") from None

    def history(self):
        """Versions, newest first."""
        return [box.version for box in reversed(list(self.versions.values()))]

    def document(self, doc_id) -> Document:
        try:
            return self.documents[doc_id]
        except (KeyError, TypeError):
            raise DocumentNotFound(f"文件 {doc_id} 不存在") from None

    def active_documents(self):
        return [d for d in self.documents.values() if not d.withdrawn]

    # -- changing --------------------------------------------------------------------
    def update(self, metadata: dict, actor, when, comment="") -> Version:
        """Replace the metadata; refused when nothing would change."""
        _check_comment(comment)
        if metadata == self.metadata:
            raise NothingChanged("没有修改任何内容")
        self.metadata = copy.deepcopy(metadata)
        return self._record("edited", actor, when, comment)

    def file_document(self, metadata, data, facts, filename, actor, when, comment="") -> Document:
        """File a new document with its first file."""
        _check_comment(comment)
        self._check_not_destroyed()
        doc = Document(self._next_doc_id(), metadata)
        doc.__parent__ = self
        doc.item_no = self._next_item_no()
        self._register(doc, doc.add_file(data, facts, filename, actor, when))
        self.documents[doc.doc_id] = doc
        self._record("filed", actor, when, comment or metadata.get("title", ""))
        return doc

    def refile_document(self, doc_id, data, facts, filename, actor, when, comment="",
                        metadata=None) -> Version:
        """File a new file for an existing document; its earlier files stay."""
        _check_comment(comment)
        self._check_not_destroyed()
        doc = self.document(doc_id)
        if doc.withdrawn:
            raise DossierError("该文件已撤出，请先恢复后再替换")
        current = doc.current_file
        if (current is not None and current.sha256 == facts.sha256
                and (not metadata or dict(metadata) == doc.metadata)):
            raise NothingChanged("上传的文件与现有文件完全相同")
        self._register(doc, doc.add_file(data, facts, filename, actor, when))
        if metadata:
            doc.metadata = dict(metadata)
        return self._record("refiled", actor, when, comment)

    def update_document(self, doc_id, metadata, actor, when, comment="") -> Version:
        _check_comment(comment)
        doc = self.document(doc_id)
        if dict(metadata) == doc.metadata:
            raise NothingChanged("没有修改任何内容")
        doc.metadata = dict(metadata)
        return self._record("document_edited", actor, when, comment)

    def withdraw_document(self, doc_id, reason, actor, when) -> Version:
        """撤出: the document leaves the current dossier, recorded with a reason."""
        doc = self.document(doc_id)
        if doc.withdrawn:
            raise NothingChanged("该文件已撤出")
        if not isinstance(reason, str) or not reason.strip():
            raise DossierError("撤出文件必须说明原因")
        root = getattr(self.__parent__, "__parent__", None)
        if getattr(root, "disposition", None) is not None:
            root.disposition.guard_withdrawal(root, self, when)   # a held dossier keeps its documents
        _check_comment(reason)
        doc.set_state(doc.metadata, doc.current_no, True, reason.strip())
        return self._record("withdrawn", actor, when, reason.strip())

    def restore(self, number, actor, when, comment="") -> Version:
        """A new version equal in content to version ``number``; history is kept whole.

        Documents filed after that version are withdrawn again, never deleted.
        """
        _check_comment(comment)
        self._check_not_destroyed()
        old = self.version(number)
        latest = self.latest
        if old.number == latest.number:
            raise NothingChanged("该版本就是当前版本")
        reason = f"恢复到版本 {old.number}"
        target = {}
        for doc in self.documents.values():
            entry = old.document(doc.doc_id)
            if entry is None:
                current = doc.current_file
                entry = DocEntry(doc.doc_id, doc.current_no, current.sha256 if current else "",
                                 dict(doc.metadata), True, reason)
            target[doc.doc_id] = entry
        if old.metadata == latest.metadata and tuple(target.values()) == latest.manifest:
            raise NothingChanged(f"第 {old.number} 版的内容与当前版本相同，无需恢复")
        self.metadata = copy.deepcopy(old.metadata)
        for doc in self.documents.values():
            entry = target[doc.doc_id]
            doc.set_state(entry.metadata, entry.file_no, entry.withdrawn, entry.reason)
        return self._record("restored", actor, when, comment, restored_from=old.number)

    def move(self, transition, state, actor, when, comment="", details=(),
             keep_clock=False) -> Version:
        """A procedure step: the new state, recorded as a version with why and the details."""
        _check_comment(comment)
        self.state = state
        if not keep_clock:
            self.state_since = when
        return self._record("transition", actor, when, comment, transition=transition,
                            details=tuple(details))

    def note_lease(self, actor, when, comment, details=()) -> Version:
        """A lease change that moves no state (a renewal, a transition period)."""
        return self._record("lease", actor, when, comment, details=tuple(details))

    def note(self, action, actor, when, comment, details=()) -> Version:
        """A recorded fact that changes neither metadata nor documents, e.g. a volume
        shelved or moved (archive.custody.shelving): a version, so the history shows it."""
        _check_comment(comment)
        return self._record(action, actor, when, comment, details=tuple(details))

    def adopt_state(self, state, actor, when, comment, metadata=None) -> Version:
        """Place a dossier stored before the procedure existed into a state (evolve)."""
        self.state, self.state_since = state, when
        if metadata is not None:
            self.metadata = copy.deepcopy(metadata)
        return self._record("adopted", actor, when, comment)

    def _next_doc_id(self) -> str:
        """D0001, D0002 …: one past the highest id (documents are never removed). Read from
        the documents rather than a counter on the dossier, so filing leaves the dossier's
        own record as it was."""
        if not len(self.documents):
            return "D0001"
        number = int(self.documents.maxKey()[1:]) + 1
        if f"D{number:04d}" not in self.documents:
            return f"D{number:04d}"
        # past D9999 the ids sort as text below it ("D10000" < "D9999"), so the highest key
        # is not the highest id: gallop past the ids taken, then halve to the first free one
        taken, step = number, 1
        while f"D{taken + step:04d}" in self.documents:
            taken, step = taken + step, step * 2
        free = taken + step
        while free - taken > 1:
            middle = (taken + free) // 2
            taken, free = (middle, free) if f"D{middle:04d}" in self.documents else (taken, middle)
        return f"D{free:04d}"

    def _next_item_no(self) -> int:
        """件号 of the next document: one past the last filed document's (and past any number
        an import or the evolve step kept in ``_item_seq``), read rather than counted on the
        dossier, so filing leaves the dossier's own record as it was."""
        last = self.documents[self.documents.maxKey()].item_no if len(self.documents) else 0
        return max(last or 0, self._item_seq) + 1

    def _check_not_destroyed(self):
        """A stub (its files lawfully destroyed) takes no files and restores no version."""
        if self.destruction is not None:
            raise DossierError(f"档案 {self.archive_no} 的文件已按销毁清册销毁，不能再归档、替换或恢复版本")

    def _register(self, doc, revision):
        """The new file's fixity facts into the archive's index (archive.records.fixity)."""
        index = index_of(self)
        if index is not None:
            index.record(self, doc.doc_id, revision)

    def set_due(self, day, estimated=False):
        """The current state's deadline, kept on the dossier so worklists sort by index."""
        self.due, self.due_estimated = day, estimated
        if self.__parent__ is not None and hasattr(self.__parent__, "reindex"):
            self.__parent__.reindex(self)

    def _record(self, action, actor, when, comment, restored_from=None, transition="",
                details=()) -> Version:
        number = (self.versions.maxKey() + 1) if len(self.versions) else 1
        manifest = tuple(
            DocEntry(d.doc_id, d.current_no, d.current_file.sha256 if d.current_file else "",
                     dict(d.metadata), d.withdrawn, d.withdraw_reason)
            for d in self.documents.values())
        version = Version(number, when, actor, comment or "", action,
                          copy.deepcopy(self.metadata), manifest, restored_from,
                          transition, self.state or "", details)
        self.versions[number] = StoredVersion(
            version, self.versions[self.versions.maxKey()] if len(self.versions) else None)
        if self.__parent__ is not None and hasattr(self.__parent__, "reindex"):
            self.__parent__.reindex(self)
            self.__parent__.logged(self, version)
        return version


class HouseholdDossier(Dossier):
    """住房保障对象档案 — 一户一档: one household from application to exit."""

    kind = "household"

    @property
    def title(self):
        return (self.metadata.get("applicant") or {}).get("name", "") or self.archive_no

    def people(self):
        """The applicant and every co-applicant, as dicts."""
        yield self.metadata.get("applicant") or {}
        yield from self.metadata.get("members") or ()


class UnitDossier(Dossier):
    """房源档案 — 一套一档: one housing unit, every lease, vacancy and repair."""

    kind = "unit"

    @property
    def title(self):
        m = self.metadata
        return f"{m.get('project', '')} {m.get('building', '')}栋 {m.get('unit_no', '')}"


class EmployerDossier(Dossier):
    """单位集体申请档案: an employer's (or its sector authority's, or park committee's)
    collective application for its staff in one batch (厦门 seed 002): its own documents
    (申请表, 名册, 登记证明, 承诺书, the quota decision) and versions. Each member household
    keeps its own household dossier (一户一档), linked by archive number both ways.

    Kept in the root's employers/ container like the other kinds (records.container.KINDS),
    so search, listings, audits, binding, hand-over packages and jurisdiction filters treat
    it as they treat a household's or a unit's; its batch reads it from there."""

    kind = "employer"

    @property
    def title(self):
        return self.metadata.get("name", "") or self.archive_no


KINDS = {"household": HouseholdDossier, "unit": UnitDossier, "employer": EmployerDossier}
