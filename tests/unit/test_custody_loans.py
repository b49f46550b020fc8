"""Controlled use (利用/借阅): the loan book's rules, its conflict-free requests, grants as
per-object principals, watermarked copies, the overdue audit rule and the case history.

The archive is a real FileStorage with blobs (dossiers and files filed through the filing
code); concurrency is tested with two connections committing over each other."""
from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
import transaction
from pypdf import PdfReader

from archive.access.security import ArchiveSecurityPolicy, RoleMatrix
from archive.custody import loans
from archive.custody.loans import GrantedObject, LoanError, LoanForbidden, LoanStateError
from archive.custody.watermark import watermark_text, watermarked
from archive.records import filing
from archive.root import ROOT_KEY, bootstrap
from archive.schema.registry import default_directory
from archive.store import open_database
from conftest import aborted, doc_fields, household_input, make_pdf

NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 6, 1)
END = dt.date(2026, 6, 30)


@pytest.fixture
def db(tmp_path, registry):
    database = open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    tm = transaction.TransactionManager()
    conn = database.open(transaction_manager=tm)
    root = bootstrap(conn.root(), registry)
    dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist", when=NOW)
    for title in ("申请表", "收入证明"):
        filing.file_document(dossier, registry, doc_fields(title=title), make_pdf(title, pages=2),
                             "a.pdf", "archivist", when=NOW)
    other = filing.create_dossier(root, registry, "household", household_input("李四", seq=31),
                                  "archivist", when=NOW)
    dossier.withdraw_document("D0002", "误归档", "archivist", NOW)
    tm.commit()
    database.nos = (dossier.archive_no, other.archive_no)
    conn.close()
    yield database
    database.close()


@pytest.fixture
def root(db):
    with aborted(db) as (mapping, _):
        yield mapping[ROOT_KEY]


def ask(root, no, doc_id="", borrower="court", form="read", end=END, day=DAY, when=NOW):
    items = loans.resolve_items(root, [("household", no, doc_id)])
    return root.loans.request(borrower, "法院", items, "judicial", form, end, False, "", when, day)


# -- requests and their numbers ---------------------------------------------------------------
def test_requests_are_numbered_by_the_sealer_in_the_order_they_were_made(root, db):
    no = db.nos[0]
    first = ask(root, no, when=NOW)
    second = ask(root, no, borrower="inspect1", when=NOW + dt.timedelta(seconds=1))
    assert first.number is None and root.loans.get(first.loan_id) is first
    assert [loan.loan_id for loan in root.loans.of_borrower("court")] == [first.loan_id]
    assert root.loans.seal() == 2
    assert (first.number, second.number) == ("JY-2026-00001", "JY-2026-00002")
    assert root.loans.get("JY-2026-00002") is second
    assert root.loans.seal() == 0
    third = ask(root, no, when=NOW + dt.timedelta(seconds=2))
    root.loans.seal()
    assert third.number == "JY-2026-00003"
    assert [loan.number for loan in root.loans.of_dossier("household", no)] == \
        ["JY-2026-00003", "JY-2026-00002", "JY-2026-00001"]


def test_two_borrowers_requesting_at_the_same_time_do_not_conflict(db):
    """Both transactions start from the same state and commit one after the other: the
    second would be a ConflictError with a BTree keyed by a running number."""
    no = db.nos[0]
    tms = [transaction.TransactionManager() for _ in range(3)]
    conns = [db.open(transaction_manager=tm) for tm in tms]
    roots = [c.root()[ROOT_KEY] for c in conns]
    for tm in tms:
        tm.begin()
    a = ask(roots[0], no, borrower="court").loan_id
    b = ask(roots[1], db.nos[1], borrower="inspect1").loan_id
    roots[2].loans.seal()           # the sealer, with nothing new yet, at the same moment
    for tm in tms:
        tm.commit()                 # no ConflictError
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    book = conn.root()[ROOT_KEY].loans
    assert {a, b} <= {loan.loan_id for loan in book.values()}
    assert book.seal() == 2
    tm.commit()
    assert sorted(loan.number for loan in book.values()) == ["JY-2026-00001", "JY-2026-00002"]
    for c in conns + [conn]:
        c.close()


def test_the_sealer_numbering_while_a_borrower_requests_does_not_conflict(db):
    """The sealer drains the inbox of new requests while another request is added to it:
    the merge keeps the new request waiting and the sealed one numbered."""
    no = db.nos[0]
    tm0 = transaction.TransactionManager()
    conn0 = db.open(transaction_manager=tm0)
    first = ask(conn0.root()[ROOT_KEY], no).loan_id
    tm0.commit()
    tms = [transaction.TransactionManager() for _ in range(2)]
    conns = [db.open(transaction_manager=tm) for tm in tms]
    for tm in tms:
        tm.begin()
    assert conns[0].root()[ROOT_KEY].loans.seal() == 1
    second = ask(conns[1].root()[ROOT_KEY], db.nos[1], borrower="inspect1").loan_id
    tms[0].commit()
    tms[1].commit()                 # no ConflictError
    tm0.begin()
    book = conn0.root()[ROOT_KEY].loans
    assert book[first].number == "JY-2026-00001" and book[second].number is None
    assert {loan.loan_id for loan in book.pending()} == {first, second}
    assert book.seal() == 1 and book[second].number == "JY-2026-00002"
    tm0.commit()
    for c in conns + [conn0]:
        c.close()


def test_sealing_and_deciding_and_using_concurrently_do_not_conflict(db):
    no = db.nos[0]
    tm0 = transaction.TransactionManager()
    conn0 = db.open(transaction_manager=tm0)
    book = conn0.root()[ROOT_KEY].loans
    one, two = ask(conn0.root()[ROOT_KEY], no).loan_id, ask(conn0.root()[ROOT_KEY], no).loan_id
    book.seal()
    tm0.commit()
    tms = [transaction.TransactionManager() for _ in range(4)]
    conns = [db.open(transaction_manager=tm) for tm in tms]
    books = [c.root()[ROOT_KEY].loans for c in conns]
    for tm in tms:
        tm.begin()
    books[0].approve(books[0][one], "archivist", NOW, DAY)      # two lenders, two loans
    books[1].approve(books[1][two], "admin", NOW, DAY)
    ask(conns[2].root()[ROOT_KEY], no, borrower="x1")          # a new request meanwhile
    books[3].seal()
    for tm in tms:
        tm.commit()
    # two downloads under the same grant at once
    tms = [transaction.TransactionManager() for _ in range(2)]
    conns2 = [db.open(transaction_manager=tm) for tm in tms]
    for i, tm in enumerate(tms):
        tm.begin()
        conns2[i].root()[ROOT_KEY].loans[one].record_use("court", "download", NOW, "household", no, "D0001")
    for tm in tms:
        tm.commit()
    tm0.begin()
    assert len([u for u in book[one].history() if u.action == "download"]) == 2
    assert book[one].state == book[two].state == "approved"
    for c in [conn0] + conns + conns2:
        c.close()


# -- refusals -----------------------------------------------------------------------------------
def test_requests_name_existing_current_things_and_a_day_to_come(root, db):
    no = db.nos[0]
    with pytest.raises(LoanError, match="不存在"):
        loans.resolve_items(root, [("household", "CZ-HH-1999-Y-99999", "")])
    with pytest.raises(LoanError, match="没有文件 D0099"):
        loans.resolve_items(root, [("household", no, "D0099")])
    with pytest.raises(LoanError, match="已撤出"):
        loans.resolve_items(root, [("household", no, "D0002")])
    with pytest.raises(LoanError, match="已过"):
        ask(root, no, end=DAY - dt.timedelta(days=1))
    with pytest.raises(LoanError, match="整份档案"):
        ask(root, no, "D0001", form="lend")
    with pytest.raises(LoanError, match="至少"):
        root.loans.request("court", "法院", [], "judicial", "read", END, False, "", NOW, DAY)
    assert len(root.loans) == 0


def test_decisions_follow_the_rules(root, db):
    loan = ask(root, db.nos[0])
    with pytest.raises(LoanForbidden, match="自己"):
        root.loans.approve(loan, "court", NOW, DAY)
    with pytest.raises(LoanError, match="理由"):
        root.loans.refuse(loan, "archivist", NOW, "  ")
    root.loans.approve(loan, "archivist", NOW, DAY, "同意")
    with pytest.raises(LoanStateError, match="已经审批"):
        root.loans.approve(loan, "admin", NOW, DAY)
    with pytest.raises(LoanStateError, match="已经审批"):
        root.loans.refuse(loan, "admin", NOW, "不行")
    with pytest.raises(LoanStateError, match="未借出"):
        root.loans.give_back(loan, "archivist", NOW)
    with pytest.raises(LoanStateError, match="不是纸质外借"):
        root.loans.lend(loan, "archivist", NOW)
    assert root.loans.pending() == []


def test_paper_loans_are_lent_returned_and_overdue_after_their_last_day(root, db):
    loan = ask(root, db.nos[0], form="lend")
    with pytest.raises(LoanStateError, match="尚未批准"):
        root.loans.lend(loan, "archivist", NOW)
    root.loans.approve(loan, "archivist", NOW, DAY)
    root.loans.lend(loan, "archivist", NOW)
    with pytest.raises(LoanStateError, match="已于"):
        root.loans.lend(loan, "archivist", NOW)
    assert root.loans.overdue(END) == [] and loan.status(END) == "lent"
    later = END + dt.timedelta(days=3)
    assert root.loans.overdue(later) == [loan] and loan.status(later) == "overdue"
    root.loans.give_back(loan, "admin", NOW + dt.timedelta(days=33))
    assert root.loans.overdue(later) == [] and loan.status(later) == "returned"
    assert [u.action for u in loan.history()] == ["request", "approve", "lend", "return"]
    with pytest.raises(LoanStateError, match="已于"):
        root.loans.give_back(loan, "admin", NOW)


# -- grants: the security policy ------------------------------------------------------------------
class _Request:
    """What the policy reads of a request: the identity (looked up once per request)."""

    def __init__(self, user):
        self.environ = {"archive.identity": user}


class _User:
    def __init__(self, login, roles):
        self.login, self.roles = login, tuple(roles)


def test_a_grant_opens_exactly_what_it_names_to_its_holder_until_its_last_day(root, db):
    no, other = db.nos
    policy = ArchiveSecurityPolicy(RoleMatrix(default_directory() / "roles.yaml"))
    loan = ask(root, no, "D0001")
    dossier = root.households[no]
    doc = dossier.document("D0001")
    court, stranger = _Request(_User("court", ["borrower"])), _Request(_User("court2", ["borrower"]))
    assert not policy.permits(court, GrantedObject(loan, dossier, doc, DAY), "use")   # not yet approved
    root.loans.approve(loan, "archivist", NOW, DAY)
    assert policy.permits(court, GrantedObject(loan, dossier, doc, DAY), "use")
    assert policy.permits(court, GrantedObject(loan, dossier, doc, END), "use")
    assert not policy.permits(court, GrantedObject(loan, dossier, doc, END + dt.timedelta(days=1)), "use")
    assert not policy.permits(stranger, GrantedObject(loan, dossier, doc, DAY), "use")
    assert not policy.permits(court, GrantedObject(loan, root.households[other], None, DAY), "use")
    assert not policy.permits(court, GrantedObject(loan, dossier, doc, DAY), "use_personal")
    assert not policy.permits(court, GrantedObject(loan, dossier, doc, DAY), "view")
    assert not policy.permits(court, dossier, "view")                # nothing by default
    archivist = _Request(_User("archivist", ["archivist"]))
    assert not policy.permits(archivist, GrantedObject(loan, dossier, doc, DAY), "use")
    assert policy.permits(archivist, dossier, "view")


def test_withdrawn_documents_leave_a_grant_on_their_dossier(root, db):
    no = db.nos[0]
    policy = ArchiveSecurityPolicy(RoleMatrix(default_directory() / "roles.yaml"))
    items = loans.resolve_items(root, [("household", no, "")])
    loan = root.loans.request("court", "法院", items, "judicial", "copy", END, True, "", NOW, DAY)
    root.loans.approve(loan, "archivist", NOW, DAY)
    dossier = root.households[no]
    court = _Request(_User("court", ["borrower"]))
    assert policy.permits(court, GrantedObject(loan, dossier, None, DAY), "use_personal")
    assert policy.permits(court, GrantedObject(loan, dossier, dossier.document("D0001"), DAY), "use")
    assert not policy.permits(court, GrantedObject(loan, dossier, dossier.document("D0002"), DAY), "use")


# -- watermarked copies ---------------------------------------------------------------------------
def test_every_page_of_a_copy_names_the_borrower_the_loan_and_the_time(root, db):
    revision = root.households[db.nos[0]].document("D0001").current_file
    original = revision.read()
    before = hashlib.sha256(original).hexdigest()
    text = watermark_text("法院（court）", "JY-2026-00001", "2026-06-01 10:00")
    copy = watermarked(original, text)
    pages = PdfReader(io.BytesIO(copy)).pages
    assert len(pages) == 2
    for page in pages:
        body = page.extract_text()
        assert "JY-2026-00001" in body and "法院（court）" in body and "2026-06-01 10:00" in body
        assert "申请表" in body
    assert hashlib.sha256(copy).hexdigest() != before
    assert hashlib.sha256(revision.read()).hexdigest() == before == revision.sha256


# -- the audit and the case history ---------------------------------------------------------------
def test_an_overdue_paper_loan_is_a_finding_of_the_audit(root, db, procedure, registry):
    from archive.audit import RULES
    from archive.audit.runner import AuditContext
    rule = RULES["loan_overdue"]
    assert rule.category == "security" and rule.description("en") and rule.description("zh")
    loan = ask(root, db.nos[0], form="lend")
    root.loans.approve(loan, "archivist", NOW, DAY)
    root.loans.lend(loan, "archivist", NOW)
    root.loans.seal()
    on_time = AuditContext(root, procedure, registry, dt.datetime(2026, 6, 30, 4, tzinfo=dt.timezone.utc))
    assert list(rule.check(rule, on_time)) == []
    late = AuditContext(root, procedure, registry, dt.datetime(2026, 7, 5, 4, tzinfo=dt.timezone.utc))
    (finding,) = rule.check(rule, late)
    assert finding.dossier == db.nos[0] and "JY-2026-00001" in finding.message and "逾期 5 天" in finding.message
    root.loans.give_back(loan, "archivist", NOW)
    assert list(rule.check(rule, late)) == []


def test_every_use_is_in_the_case_history(root, db, registry, procedure):
    from archive.records.history import filtered, timeline
    no = db.nos[0]
    loan = ask(root, no, "D0001")
    root.loans.approve(loan, "archivist", NOW + dt.timedelta(minutes=1), DAY)
    loan.record_use("court", "download", NOW + dt.timedelta(minutes=2), "household", no, "D0001")
    loan.record_use("court", "view", NOW + dt.timedelta(minutes=3), "household", db.nos[1], "D0001")
    root.loans.seal()
    events = filtered(timeline(root.households[no], root, registry, procedure=procedure), ["use"])
    assert [e.title for e in events] == ["申请利用", "批准利用", "按借阅单下载复制件"]
    assert dict(events[-1].details) == {"借阅单": "JY-2026-00001", "文件": "D0001"}
    assert filtered(timeline(root.households[db.nos[1]], root, registry, procedure=procedure), ["use"]) == []
