"""Keyed books (登记簿): the shape leases, subsidies, lotteries and batch plans share, and
that it keeps the attribute names stored archives hold."""
from archive.records.book import KeyedBook, NumberedBook
from archive.workflow.collective.batch import BatchBook
from archive.workflow.leases import LeaseBook
from archive.workflow.lottery.draw import LotteryBook
from archive.workflow.subsidy import SubsidyBook


def test_a_keyed_book_finds_by_id_and_answers_a_key_of_another_type_with_the_default():
    book = KeyedBook()
    book._items["CZ-HH-2026-Y-00001/01"] = "lease"
    assert len(book) == 1 and list(book.values()) == ["lease"]
    assert book.get("CZ-HH-2026-Y-00001/01") == "lease"
    assert book.get("CZ-HH-2026-Y-00002/01") is None
    assert book.get(42, "none") == "none"      # an int does not compare with the string ids


def test_a_numbered_book_never_reuses_an_id_and_counts_per_fonds_and_year():
    class Book(NumberedBook):
        PREFIX = "T"
    book = Book()
    assert [book.issue_id("CZ", 2026), book.issue_id("CZ", 2026), book.issue_id("CZ", 2027),
            book.issue_id("XM", 2026)] == ["T-CZ-2026-001", "T-CZ-2026-002", "T-CZ-2027-001",
                                           "T-XM-2026-001"]


def test_the_books_keep_the_attribute_names_stored_archives_hold():
    assert set(vars(LeaseBook())) == {"_items"}
    assert set(vars(SubsidyBook())) == {"_items", "_persons"}
    assert set(vars(LotteryBook())) == {"_items", "_counters"}
    assert set(vars(BatchBook())) == {"_items", "_counters", "employers"}
    assert LotteryBook().issue_id("CZ", 2026) == "YH-CZ-2026-001"
    assert BatchBook().issue_id("CZ", 2026) == "PC-CZ-2026-001"


def test_a_stated_entry_names_its_state_in_either_language_and_knows_whether_it_runs():
    from archive.workflow.leases import Lease
    from archive.workflow.subsidy import Grant
    from archive.workflow.collective.batch import BatchPlan
    for cls, running, done in ((Lease, "current", "ended"), (Grant, "current", "ended"),
                               (BatchPlan, "open", "decided")):
        entry = cls.__new__(cls)
        entry.state = running
        assert entry.open and entry.state_title() == cls.STATES[running][0]
        entry.state = done
        assert not entry.open and entry.state_title("en") == cls.STATES[done][1]
