"""Controlled use (利用/借阅): loan requests, their approval, grants that end, paper loans
lent and returned, and the record of every use.

A borrower (利用者: another department, a court, an inspection office) sees nothing of the
archive by default. A loan request names dossiers or single documents, a purpose and a form
(查阅, 复制: electronic; 外借: the paper volume) and the last day of use; a lender approves
or refuses it. An approved electronic grant lets its holder open exactly what it names until
its last day; the security policy adds the grant's principal on those objects only
(``GrantedObject.grant_principals``), so a link that worked stops working the day after.

Concurrency: every borrower files requests into one book, so the book must not be a hot
object (README, *Officers at the same time*). A new request goes into an ``Inbox`` keyed by
a random id (concurrent additions merge; a BTree keyed by a running number would have both
requests take the same number and conflict); its 借阅单号 (JY-2026-00001) is given by the
sealer after the commit, in the order the requests were made, as the audit log numbers its
entries: one writer, so numbers never repeat and have no gaps. Decisions write only the loan
itself; the lists of waiting requests and of paper volumes out are inboxes too; each use is
appended to the loan's own inbox of uses. Nothing here knows about the web.
"""
from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

from ..workers.background import Worker
from ..workers.inbox import Inbox

ELECTRONIC = ("read", "copy")       # forms served as watermarked copies of the files
PAPER = "lend"                      # 外借: the paper volume leaves the store
MAX_ITEMS = 50
MAX_DAYS = 366                      # a grant longer than a year is a standing permission, not a loan
STATES = {"requested": ("待审批", "Awaiting approval"), "approved": ("已批准", "Approved"),
          "refused": ("未批准", "Refused"), "expired": ("已到期", "Ended"),
          "lent": ("已借出", "Lent"), "overdue": ("逾期未还", "Overdue"),
          "returned": ("已归还", "Returned")}
USES = {"request": ("申请利用", "Use requested"), "approve": ("批准利用", "Use approved"),
        "refuse": ("不予利用", "Use refused"), "view": ("查阅", "Viewed"),
        "download": ("下载复制件", "Copy downloaded"), "lend": ("借出", "Lent"),
        "return": ("归还", "Returned")}


def title(table, code, locale="zh"):
    zh, en = table.get(code, (code, code))
    return en if locale == "en" else zh


class LoanError(Exception):
    """A request or step the book refuses (bad input); the message is for the clerk."""
    status = 400


class LoanNotFound(LoanError):
    status = 404


class LoanForbidden(LoanError):
    """A step this person may not take on this loan (approving one's own request)."""
    status = 403


class LoanStateError(LoanError):
    """A step the loan's state does not allow now (approving twice, returning what is in)."""
    status = 409


@dataclass(frozen=True)
class Item:
    """One thing a loan names: a whole dossier (``doc_id`` empty) or one of its documents."""
    kind: str
    archive_no: str
    doc_id: str = ""
    title: str = ""

    @property
    def key(self):
        return f"{self.kind}/{self.archive_no}"


@dataclass(frozen=True)
class Use:
    """One use of the archive under a loan: who, when, what, on which dossier (利用记录)."""
    when: _dt.datetime
    actor: str
    action: str                     # a key of USES
    loan_id: str
    kind: str = ""
    archive_no: str = ""
    doc_id: str = ""
    detail: str = ""


class Loan(Persistent):
    """借阅单: one request and what became of it. Written by its own decisions only."""

    number = None                   # 借阅单号, given by the sealer

    def __init__(self, loan_id, borrower, borrower_name, items, purpose, form, end, unmasked,
                 note, when, day):
        self.loan_id, self.borrower, self.borrower_name = loan_id, borrower, borrower_name
        self.items, self.purpose, self.form = tuple(items), purpose, form
        self.end, self.unmasked, self.note = end, bool(unmasked), note
        self.requested, self.day = when, day
        self.state = "requested"
        self.decided_by = self.decided_at = None
        self.decision = ""          # the approval's comment or the refusal's reason
        self.lent_by = self.lent_at = self.returned_by = self.returned_at = None
        self.uses = Inbox()         # (time_ns, token) -> Use: views and downloads, conflict-free

    @property
    def label(self) -> str:
        """What people call it: the 借阅单号, or the request id until it is numbered."""
        return self.number or self.loan_id

    @property
    def principal(self) -> str:
        """The principal the security policy adds for the holder of this grant."""
        return f"grant:{self.loan_id}"

    @property
    def electronic(self) -> bool:
        return self.form in ELECTRONIC

    def active(self, day) -> bool:
        """An approved electronic grant, on or before its last day."""
        return self.state == "approved" and self.electronic and day <= self.end

    def overdue(self, day) -> bool:
        """A paper volume lent and not back after the last day (催还)."""
        return self.lent_at is not None and self.returned_at is None and day > self.end

    def status(self, day) -> str:
        if self.state != "approved":
            return self.state
        if self.returned_at is not None:
            return "returned"
        if self.lent_at is not None:
            return "overdue" if self.overdue(day) else "lent"
        return "approved" if day <= self.end else "expired"

    def covers(self, kind, archive_no, doc_id=None) -> bool:
        """The loan names this document (or its whole dossier); with no ``doc_id``, any of the dossier."""
        return any(i.kind == kind and i.archive_no == archive_no
                   and (doc_id is None or not i.doc_id or i.doc_id == doc_id) for i in self.items)

    def dossiers(self):
        """(kind, archive_no) of every dossier the loan touches, once each, in order."""
        return list(dict.fromkeys((i.kind, i.archive_no) for i in self.items))

    def record_use(self, actor, action, when, kind="", archive_no="", doc_id="", detail=""):
        """A view or download under the grant, kept with the loan (the uses merge, so two
        downloads at once do not conflict)."""
        use = Use(when, actor, action, self.loan_id, kind, archive_no, doc_id, detail)
        self.uses.put((when.isoformat(), secrets.token_hex(4)), use)
        return use

    def history(self):
        """Every use of this loan as ``Use`` records, oldest first: the steps are read from
        the loan's own fields, the views and downloads from its inbox of uses."""
        out = [Use(self.requested, self.borrower, "request", self.loan_id, detail=self.note)]
        if self.decided_at is not None:
            out.append(Use(self.decided_at, self.decided_by,
                           "approve" if self.state == "approved" else "refuse", self.loan_id,
                           detail=self.decision))
        if self.lent_at is not None:
            out.append(Use(self.lent_at, self.lent_by, "lend", self.loan_id))
        if self.returned_at is not None:
            out.append(Use(self.returned_at, self.returned_by, "return", self.loan_id))
        out += [use for _, use in self.uses.items()]
        return sorted(out, key=lambda u: u.when)


class LoanBook(Persistent):
    """利用登记簿: every loan, by request id; numbered ones also by 借阅单号."""

    def __init__(self):
        self.__name__, self.__parent__ = "loans", None
        self._new = Inbox()         # id -> Loan, not yet numbered (requests add here)
        self._loans = OOBTree()     # id -> Loan, numbered (only the sealer adds)
        self._numbers = OOBTree()   # 借阅单号 -> id
        self._counters = OOBTree()  # year -> last running number
        self._by_borrower = OOBTree()   # login -> ids
        self._by_dossier = OOBTree()    # "kind/no" -> ids
        self._pending = Inbox()     # id -> True while awaiting a decision
        self._out = Inbox()         # id -> last day, paper volumes lent and not returned

    # -- reading ------------------------------------------------------------------------
    def get(self, loan_id):
        if not isinstance(loan_id, str):
            return None
        loan = self._loans.get(loan_id) or self._new.get(loan_id)
        if loan is None and loan_id in self._numbers:
            loan = self._loans.get(self._numbers[loan_id])
        return loan

    def __getitem__(self, loan_id):
        loan = self.get(loan_id)
        if loan is None:
            raise LoanNotFound(f"借阅单 {str(loan_id)[:40]} 不存在")
        return loan

    def __len__(self):
        return len(self._loans) + len(self._new)

    def _unsealed(self):
        return [loan for _, loan in self._new.items()]

    def values(self):
        """Every loan, newest request first."""
        return _newest_first(list(self._loans.values()) + self._unsealed())

    def of_borrower(self, login):
        ids = self._by_borrower.get(login, ())
        return _newest_first([self._loans[i] for i in ids] +
                             [loan for loan in self._unsealed() if loan.borrower == login])

    def of_dossier(self, kind, archive_no):
        ids = self._by_dossier.get(f"{kind}/{archive_no}", ())
        return _newest_first([self._loans[i] for i in ids] +
                             [loan for loan in self._unsealed() if loan.covers(kind, archive_no)])

    def pending(self):
        return _newest_first([self[i] for i, _ in self._pending.items() if self.get(i) is not None])

    def overdue(self, day):
        """Paper loans past their last day and not returned, most overdue first (催还)."""
        out = [self[i] for i, _ in self._out.items() if self.get(i) is not None]
        return sorted([loan for loan in out if loan.overdue(day)], key=lambda loan: loan.end)

    def uses_of(self, kind, archive_no):
        """Every use touching one dossier (利用记录), oldest first."""
        out = []
        for loan in self.of_dossier(kind, archive_no):
            for use in loan.history():
                if not use.archive_no or (use.kind, use.archive_no) == (kind, archive_no):
                    out.append(use)
        return sorted(out, key=lambda u: u.when)

    # -- changing -----------------------------------------------------------------------
    def request(self, borrower, borrower_name, items, purpose, form, end, unmasked, note,
                when, day) -> Loan:
        """A new request, kept at once (conflict-free) and numbered by the sealer."""
        _check_request(items, form, end, day)
        loan_id = f"{day:%Y%m%d}-{secrets.token_hex(4)}"
        loan = Loan(loan_id, borrower, borrower_name, items, purpose, form, end, unmasked,
                    note, when, day)
        loan.__parent__ = self
        self._new.put(loan_id, loan)
        self._pending.put(loan_id, True)
        return loan

    def approve(self, loan, actor, when, day, comment=""):
        self._decidable(loan, actor)
        if loan.end < day:
            raise LoanStateError(f"借阅单 {loan.label} 的利用期限（至 {loan.end.isoformat()}）已过，不能批准")
        loan.state, loan.decided_by, loan.decided_at, loan.decision = "approved", actor, when, comment
        self._pending.pop(loan.loan_id)

    def refuse(self, loan, actor, when, reason):
        if not isinstance(reason, str) or not reason.strip():
            raise LoanError("不予利用须说明理由")
        self._decidable(loan, actor)
        loan.state, loan.decided_by, loan.decided_at = "refused", actor, when
        loan.decision = reason.strip()
        self._pending.pop(loan.loan_id)

    @staticmethod
    def _decidable(loan, actor):
        if loan.state != "requested":
            raise LoanStateError(f"借阅单 {loan.label} 已经审批（{title(STATES, loan.state)}），不能再次审批")
        if loan.borrower == actor:
            raise LoanForbidden("不能审批自己提出的利用申请")

    def lend(self, loan, actor, when):
        """外借: the paper volume handed over (recorded, who and when)."""
        if loan.form != PAPER:
            raise LoanStateError(f"借阅单 {loan.label} 不是纸质外借，无需借出")
        if loan.state != "approved":
            raise LoanStateError(f"借阅单 {loan.label} 尚未批准，不能借出")
        if loan.lent_at is not None:
            raise LoanStateError(f"借阅单 {loan.label} 已于 {loan.lent_at:%Y-%m-%d} 借出")
        loan.lent_by, loan.lent_at = actor, when
        self._out.put(loan.loan_id, loan.end)

    def give_back(self, loan, actor, when):
        """归还: the paper volume back in the store."""
        if loan.lent_at is None:
            raise LoanStateError(f"借阅单 {loan.label} 未借出，不能归还")
        if loan.returned_at is not None:
            raise LoanStateError(f"借阅单 {loan.label} 已于 {loan.returned_at:%Y-%m-%d} 归还")
        loan.returned_by, loan.returned_at = actor, when
        self._out.pop(loan.loan_id)

    def seal(self) -> int:
        """Number the waiting requests in the order they were made (the sealer's job: the
        only writer of the numbered tree, the counters and the indexes)."""
        waiting = sorted((loan for _, loan in self._new.items()),
                         key=lambda loan: (loan.requested, loan.loan_id))
        if not waiting:
            return 0
        self._new.drain()
        for loan in waiting:
            year = loan.day.year
            seq = self._counters.get(year, 0) + 1
            self._counters[year] = seq
            loan.number = f"JY-{year}-{seq:05d}"
            self._loans[loan.loan_id] = loan
            self._numbers[loan.number] = loan.loan_id
            _index(self._by_borrower, loan.borrower, loan.loan_id)
            for kind, no in loan.dossiers():
                _index(self._by_dossier, f"{kind}/{no}", loan.loan_id)
        return len(waiting)


def _index(tree, key, loan_id):
    ids = tree.get(key)
    if ids is None:
        ids = tree[key] = OOTreeSet()
    ids.add(loan_id)


def _newest_first(loans):
    return sorted(loans, key=lambda loan: (loan.requested, loan.loan_id), reverse=True)


def _check_request(items, form, end, day):
    if not items:
        raise LoanError("请至少选择一份档案或一个文件")
    if len(items) > MAX_ITEMS:
        raise LoanError(f"一张借阅单最多{MAX_ITEMS}项")
    if form == PAPER and any(i.doc_id for i in items):
        raise LoanError("外借以案卷为单位，请选择整份档案")
    if not isinstance(end, _dt.date):
        raise LoanError("请填写利用截止日期")
    if end < day:
        raise LoanError(f"利用截止日期 {end.isoformat()} 已过，应不早于今天（{day.isoformat()}）")
    if (end - day).days > MAX_DAYS:
        raise LoanError(f"利用期限不能超过{MAX_DAYS}天")


def resolve_items(archive, wanted):
    """``Item`` for each (kind, archive_no, doc_id) the request names, checked against the
    archive: unknown dossiers and documents and withdrawn documents are refused by name."""
    out = []
    for kind, no, doc_id in wanted:
        container = archive.container(kind) if kind in ("household", "unit") else None
        dossier = container.get(no) if container is not None and isinstance(no, str) else None
        if dossier is None:
            raise LoanError(f"档案 {str(no)[:40]} 不存在")
        if doc_id:
            doc = dossier.documents.get(doc_id) if isinstance(doc_id, str) else None
            if doc is None:
                raise LoanError(f"档案 {no} 中没有文件 {str(doc_id)[:20]}")
            if doc.withdrawn:
                raise LoanError(f"文件 {no}/{doc_id} 已撤出，不能借阅")
            label = doc.metadata.get("title", "")
        else:
            label = dossier.title
        item = Item(kind, no, doc_id or "", label)
        if item not in out:
            out.append(item)
    return out


class GrantedObject:
    """A dossier or one of its documents as a grant shows it: the context of the grant's
    routes. Its ACL says what the grant allows; the security policy adds the grant's
    principal (``grant_principals``) only for the loan's borrower, while the grant is
    active, and only when the loan names this object, so nothing else is reachable."""

    def __init__(self, loan, dossier, document=None, day=None):
        self.loan, self.dossier, self.document, self.day = loan, dossier, document, day
        self.__parent__ = dossier
        self.__name__ = document.doc_id if document is not None else ""
        permissions = ("use", "use_personal") if loan.unmasked else ("use",)
        self.__acl__ = [("Allow", loan.principal, permissions)]

    def grant_principals(self, login):
        loan, doc = self.loan, self.document
        if loan.borrower != login or self.day is None or not loan.active(self.day):
            return []
        if doc is not None and (doc.withdrawn or not loan.covers(self.dossier.kind,
                                                                self.dossier.archive_no, doc.doc_id)):
            return []
        if doc is None and not loan.covers(self.dossier.kind, self.dossier.archive_no):
            return []
        return [loan.principal]


def in_scope(root, loan, scope) -> bool:
    """Whether a local lender (archive.access.local.Scope; None: a global one) deals with the
    loan: every dossier it names lies in its places. A loan reaching further is the global
    lenders' to decide, for a grant opens every dossier it names."""
    return scope is None or scope.admits_all(root, loan.dossiers())


def within(root, loans, scope) -> list:
    """Those of ``loans`` a local lender deals with (all of them for a global one)."""
    return list(loans) if scope is None else [loan for loan in loans if in_scope(root, loan, scope)]


class LoanContext:
    """A loan as a page or the API shows it: its borrower and the lenders may see it."""

    def __init__(self, loan, root, lender_roles):
        self.loan = loan
        self.__parent__ = root
        self.__name__ = loan.loan_id if loan is not None else ""
        # no such loan: whoever asks learns only that (404), like for any unknown id. A
        # local lender (``role:archivist@qujing``) is let in here; the view refuses it a
        # loan outside its places with a message (views/loans.py).
        who = [f"user:{loan.borrower}"] if loan is not None else ["system.Authenticated"]
        self.__acl__ = [("Allow", p, ("see_loan",)) for p in who] + [
            ("Allow", f"role:{r}", ("see_loan",)) for r in lender_roles]


class LoanSealer(Worker):
    """Numbers new requests in the web server, a moment after the commits that made them."""

    label = "archive-loan-sealer"

    def __init__(self, db, interval=0.5):
        super().__init__(db, interval)

    def work(self, root, commit) -> int:
        book = getattr(root, "loans", None)
        if book is not None and book.seal():
            commit()
        return 0


class LoanRegister:
    """The loan book as the list pages and the API show it: to borrowers (their own loans)
    and lenders (every loan); nobody else."""

    def __init__(self, root, roles):
        self.__parent__, self.__name__ = root, "loans"
        self.__acl__ = [("Allow", f"role:{r}", ("see_loans",)) for r in roles]
