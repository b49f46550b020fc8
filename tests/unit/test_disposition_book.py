"""The index of disposition dates: kept on change, written only when a date changes."""
import datetime as dt

from archive.disposition.book import fill
from disposition_helpers import EXIT, archive, household


def test_the_index_follows_the_dossier():
    root = archive()
    dossier = household(root, exited=False)
    book = root.disposition
    assert book.date_of(dossier) is None and list(book.due(dt.date(2030, 1, 1))) == []
    dossier.move("complete_exit", "exited", "reviewer", EXIT, "退出")
    assert book.date_of(dossier) == dt.date(2020, 1, 4)
    assert list(book.due(dt.date(2020, 1, 4))) == [(dt.date(2020, 1, 4), ("household", dossier.archive_no))]
    assert list(book.due(dt.date(2020, 1, 3))) == [] and book.count_due(dt.date(2026, 1, 1)) == 1


def test_an_unchanged_date_writes_nothing(tmp_path):
    """Filing and shelving in a dossier whose date stays leave the book unwritten: officers
    working on different dossiers must not conflict on it."""
    import transaction
    import ZODB
    from ZODB.FileStorage import FileStorage
    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs")))
    tm = transaction.TransactionManager()    # its own: the thread's default is other tests'
    conn = db.open(transaction_manager=tm)
    try:
        root = conn.root()["archive"] = archive()
        dossier = household(root)
        tm.commit()
        book = root.disposition
        dossier.note("shelved", "archivist", EXIT, "上架")    # a change that moves no date
        assert conn._registered_objects and not any(
            o is book or o is book._date or o is book._by_date for o in conn._registered_objects)
        dossier.move("reopen", "leased", "reviewer", EXIT, "复核")   # leaving the exit state moves it
        assert any(o is book._date for o in conn._registered_objects)
    finally:
        tm.abort()
        conn.close()
        db.close()


def test_a_permanent_document_takes_the_dossier_off_the_index():
    from archive.records import filing
    from conftest import doc_fields, make_pdf
    from disposition_helpers import REGISTRY
    root = archive()
    dossier = household(root)
    filing.file_document(dossier, REGISTRY, doc_fields(doc_type="exit_notice", title="退出通知"),
                         make_pdf("退出通知"), "b.pdf", "archivist", when=EXIT)
    assert root.disposition.date_of(dossier) is None


def test_fill_indexes_every_dossier():
    root = archive()
    household(root)
    household(root, seq=31)
    root.disposition._date.clear()
    root.disposition._by_date.clear()
    assert fill(root) == 2
