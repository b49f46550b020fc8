"""Destruction (销毁): a destruction list (销毁清册) drawn up from approved appraisals,
approved by a second officer and carried out under a third, the supervisor (监销人).

Carrying it out destroys every revision of every file of each dossier on the list: the
file revisions (their blobs, their extracted and OCR text, their access copies) leave the object tree, the
dossier's entries leave the fixity index, and the dossier becomes a stub that keeps its
档号, title, metadata and version history (the catalogue outlives the record), what was
destroyed — each file's name, size, pages and SHA-256 — when, on which list and by whose
approval. What is left on disk of the old records (ZODB's earlier records and the blob
files they name, the search index's deleted entries) goes when ``archive.disposition.purge``
packs the store and compacts the index after the commit.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from persistent import Persistent
from persistent.list import PersistentList

from ..access.local import OutOfScope

from .appraisal import approved_destruction
from .book import book_of, find, key_of
from .errors import Invalid, NotFound, SamePerson, WrongState
from .blocking import check_not_held

STATUS = {"drafted": ("待批准", "Awaiting approval"), "approved": ("已批准，待销毁", "Approved"),
          "done": ("已销毁", "Carried out")}
MAX_ITEMS = 500
BUSY = ("pending", "ocr_pending")    # text still to be read: the worker holds the file


@dataclass(frozen=True)
class ListRow:
    """One dossier on the list, as the 销毁清册 prints it."""
    kind: str
    archive_no: str
    title: str
    documents: int       # 件数
    pages: int           # 页数
    retention: str       # 保管期限 (code)
    opinion: str         # 鉴定意见
    appraised_by: str    # who approved the appraisal


@dataclass(frozen=True)
class DestroyedFile:
    doc_id: str
    item_no: int | None
    title: str
    doc_type: str
    file_no: int
    filename: str
    size: int
    pages: int | None
    sha256: str


@dataclass(frozen=True)
class Destruction:
    """What a stub keeps of what was destroyed."""
    list_number: int
    when: _dt.datetime
    approved_by: str
    supervisor: str
    opinion: str
    files: tuple


class DestructionList(Persistent):
    """销毁清册: rows fixed when drawn up; approved once; carried out once."""

    def __init__(self, number, rows, drawn_by, drawn_at, comment=""):
        self.number = number
        self.rows = tuple(rows)
        self.drawn_by, self.drawn_at, self.comment = drawn_by, drawn_at, comment
        self.status = "drafted"
        self.approved_by, self.approved_at = "", None
        self.supervisor, self.carried_out_at = "", None

    def status_title(self, locale="zh"):
        zh, en = STATUS[self.status]
        return en if locale == "en" else zh


def in_scope(root, lst, scope) -> bool:
    """Whether a local role (archive.access.local.Scope; None: everyone) sees the list: every
    dossier on it is in its places (a destroyed one stays, a stub, so the answer holds)."""
    return scope is None or scope.admits_all(root, ((r.kind, r.archive_no) for r in lst.rows))


def _check_scope(root, lst, scope, step):
    if not in_scope(root, lst, scope):
        raise OutOfScope(f"销毁清册 {lst.number} 列有您辖区以外的档案，不能{step}")


def draw(root, schedule, archive_nos, actor, when, comment="", search=None, scope=None) -> DestructionList:
    """拟制销毁清册 from dossiers whose destruction an appraisal approved; a local role
    (``scope``) lists only dossiers of its places."""
    if not isinstance(archive_nos, (list, tuple)) or not archive_nos \
            or not all(isinstance(n, str) for n in archive_nos):
        raise Invalid("档号：请列出要销毁的档案", "archive_nos")
    numbers = list(dict.fromkeys(n.strip() for n in archive_nos if n.strip()))
    if not numbers or len(numbers) > MAX_ITEMS:
        raise Invalid(f"档号：应列出1到{MAX_ITEMS}份档案", "archive_nos")
    book = book_of(root)
    listed = {(r.kind, r.archive_no) for lst in book.lists.values() if lst.status != "done"
              for r in lst.rows}
    rows = []
    for number in numbers:
        dossier = find(root, number)
        if scope is not None and not scope.admits(dossier):
            raise OutOfScope(f"档案 {number} 不在您的辖区，不能列入销毁清册")
        appraisal = approved_destruction(root, dossier)
        if getattr(dossier, "destruction", None) is not None:
            raise WrongState(f"档案 {number} 已销毁", "archive_nos")
        if appraisal is None:
            raise WrongState(f"档案 {number} 没有经批准的销毁鉴定意见", "archive_nos")
        if key_of(dossier) in listed:
            raise WrongState(f"档案 {number} 已列入另一份未执行的销毁清册", "archive_nos")
        check_not_held(root, dossier, when.date(), "列入销毁清册", search)
        docs = list(dossier.documents.values())
        rows.append(ListRow(dossier.kind, number, dossier.title, len(docs),
                            sum((d.current_file.pages or 0) for d in docs if d.current_file),
                            schedule.period(dossier),
                            f"{appraisal.reason}（审批意见：{appraisal.opinion}）", appraisal.decided_by))
    number = (book.lists.maxKey() + 1) if len(book.lists) else 1
    book.lists[number] = lst = DestructionList(number, rows, actor, when, comment)
    root.log.append(actor, "disposition.list", f"destruction/{number}",
                    f"拟制销毁清册：{len(rows)} 份档案", when)
    return lst


def get_list(root, number) -> DestructionList:
    lst = book_of(root).lists.get(number) if isinstance(number, int) else None
    if lst is None:
        raise NotFound(f"销毁清册 {number} 不存在")
    return lst


def approve(root, number, actor, when, scope=None) -> DestructionList:
    """批准: by someone other than who drew the list up (a local role: a list of its places)."""
    lst = get_list(root, number)
    _check_scope(root, lst, scope, "批准")
    if lst.status != "drafted":
        raise WrongState(f"销毁清册 {number} 已由 {lst.approved_by} 批准", "number")
    if actor == lst.drawn_by:
        raise SamePerson("销毁清册须由拟制人以外的另一人批准")
    lst.status, lst.approved_by, lst.approved_at = "approved", actor, when
    root.log.append(actor, "disposition.approve", f"destruction/{number}", "批准销毁清册", when)
    return lst


def carry_out(root, schedule, number, supervisor, when, search=None, scope=None) -> DestructionList:
    """监销: destroy every dossier on an approved list, all or none.

    Refused — before anything changes — when the list is not approved, the supervisor
    drew it up or approved it, or any dossier is held, not yet due, or has a file whose
    text is still being read, or the supervisor's local role does not reach every dossier."""
    lst = get_list(root, number)
    _check_scope(root, lst, scope, "监销")
    if lst.status == "done":
        raise WrongState(f"销毁清册 {number} 已于 {lst.carried_out_at:%Y-%m-%d} 执行", "number")
    if lst.status != "approved":
        raise WrongState(f"销毁清册 {number} 尚未批准，不能销毁", "number")
    if supervisor in (lst.approved_by, lst.drawn_by):
        raise SamePerson("监销人须是拟制人、批准人以外的第三人", "supervisor")
    book, today = book_of(root), when.date()
    dossiers = []
    for row in lst.rows:
        dossier = find(root, row.archive_no)
        check_not_held(root, dossier, today, "销毁", search)
        due = schedule.due(dossier, book.extensions.get(key_of(dossier), 0))
        if due is None or due > today:
            raise WrongState(f"档案 {row.archive_no} 未到处置日期"
                          f"（{due:%Y-%m-%d}）" if due else f"档案 {row.archive_no} 没有处置日期（永久保管或期限未开始）",
                          "number")
        busy = [f"{d.doc_id}#{r.number}" for d in dossier.documents.values() for r in d.files
                if getattr(r, "text_status", "done") in BUSY]
        if busy:
            raise WrongState(f"档案 {row.archive_no} 的文件 {'、'.join(busy)} 正在识别文字，请稍后再销毁", "number")
        dossiers.append((dossier, row))
    for dossier, row in dossiers:
        destroy(root, dossier, lst, supervisor, when)
    lst.status, lst.supervisor, lst.carried_out_at = "done", supervisor, when
    root.log.append(supervisor, "disposition.destroy", f"destruction/{number}",
                    f"执行销毁清册：{len(dossiers)} 份档案（批准人 {lst.approved_by}，监销人 {supervisor}）", when)
    return lst


def destroy(root, dossier, lst, supervisor, when) -> Destruction:
    """The dossier becomes a stub: its files gone, what they were kept."""
    appraisal = approved_destruction(root, dossier)
    files = []
    for doc in dossier.documents.values():
        for revision in doc.files:
            files.append(DestroyedFile(doc.doc_id, doc.item_no, doc.metadata.get("title", ""),
                                       doc.metadata.get("doc_type", ""), revision.number,
                                       revision.filename, revision.size, revision.pages,
                                       revision.sha256))
            revision.text = None          # the old record goes at the pack; the live one now
            revision.access_copy = None   # the 利用副本 is the record too, in another form
        doc.files = PersistentList()      # the revisions and their blobs leave the tree
        doc.current_no = 0
    dossier.bound_volume = None           # the kept 案卷 holds the destroyed files' pages
    fixity = getattr(root, "fixity", None)
    if fixity is not None:
        fixity.forget(dossier.kind, dossier.archive_no)
    dossier.destruction = record = Destruction(
        lst.number, when, lst.approved_by, supervisor,
        appraisal.opinion if appraisal else "", tuple(files))
    book = book_of(root)
    book.closed[key_of(dossier)] = "destroyed"
    dossier.note("destroyed", supervisor, when,
                 f"按销毁清册第 {lst.number} 号销毁 {len(files)} 个文件（批准人 {lst.approved_by}，监销人 {supervisor}）",
                 details=(("销毁清册", str(lst.number)), ("批准人", lst.approved_by), ("监销人", supervisor)))
    return record
