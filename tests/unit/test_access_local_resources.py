"""The resources a local role (archive.access.local.Scope) narrows, without a request: the
yearly statistics, shelving and stock-takes, destruction lists, loans and creating dossiers.
Each answers for a user of 曲靖 only what lies in 曲靖, and refuses (OutOfScope, nothing
written) what reaches further."""
from __future__ import annotations

import datetime as dt

import pytest
import ZODB

import walk
from archive.access.local import OutOfScope, Scope
from archive.custody import loans, shelving, statistics
from archive.disposition import destruction
from archive.disposition.schedule import compile_schedule
from archive.records import filing
from archive.root import bootstrap
from conftest import household_input

QJ = dict(jurisdiction="qujing", hukou_district="麒麟区", district="麒麟区", address="曲靖市麒麟区南宁西路1号")
QUJING = Scope(frozenset({"qujing"}))
WHEN = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def archive(registry, procedure):
    """A root with two households of 常州 and one of 曲靖."""
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    cz = [walk.new_household(procedure, root), walk.new_household(procedure, root, name="李四", seq=31)]
    qj = walk.new_household(procedure, root, name="赵六", seq=41, **QJ)
    return root, cz, qj


def test_scope_ids_of_one_city_are_the_index_set_itself(archive):
    root, cz, qj = archive
    index = root.households.indexes["jurisdiction"]
    assert QUJING.ids(root.households) is index.forward["qujing"]        # no per-request copy
    both = Scope(frozenset({"qujing", cz[0].archive_no})).ids(root.households)
    assert set(both) == {qj.archive_no, cz[0].archive_no}
    assert set(index.forward["qujing"]) == {qj.archive_no}                # the index left untouched


def test_admits_all(archive):
    root, cz, qj = archive
    assert QUJING.admits_all(root, [("household", qj.archive_no)])
    assert not QUJING.admits_all(root, [("household", qj.archive_no), ("household", cz[0].archive_no)])
    assert not QUJING.admits_all(root, [])                                 # nothing named: nothing to admit
    assert not QUJING.admits_all(root, [("household", "QJ-HH-2026-Y-09999")])


def test_statistics_count_only_the_scope(archive):
    root, cz, qj = archive
    for no in (qj.archive_no, cz[0].archive_no):
        root.loans.request("auditor", "审计员", [loans.Item("household", no)], "research", "read",
                           WHEN.date() + dt.timedelta(days=9), False, "", WHEN, WHEN.date())
    everyone = statistics.yearly_report(root, 2026)
    ours = statistics.yearly_report(root, 2026, scope=QUJING)
    assert everyone.holdings.dossiers == 3 and everyone.loans == 2
    assert ours.holdings.dossiers == 1 and set(ours.by_city) == {"qujing"} and ours.loans == 1


def test_shelving_places_holdings_and_stocktakes_in_scope(archive):
    root, cz, qj = archive
    stacks = root.stacks
    for parent, code in (("", "A"), ("A", "01"), ("A-01", "01"), ("A-01-01", "001"), ("A-01-01", "002"),
                         ("", "B"), ("B", "01"), ("B-01", "01"), ("B-01-01", "001")):
        stacks.add_place(parent, code, "", "archivist", WHEN)
    shelving.shelve(stacks, qj, "A-01-01-001", "archivist", WHEN)
    shelving.shelve(stacks, cz[0], "A-01-01-002", "archivist", WHEN)
    shelving.shelve(stacks, cz[1], "B-01-01-001", "archivist", WHEN)
    assert shelving.visible_places(stacks, root, None) is None
    assert shelving.visible_places(stacks, root, QUJING) == {"A", "A-01", "A-01-01", "A-01-01-001"}
    assert shelving.holdings(root, "A", QUJING) == [qj] and len(shelving.holdings(root, "A")) == 2
    take = shelving.take_stock(stacks, root, "A-01-01-001", [qj.archive_no, cz[1].archive_no], "qj", WHEN,
                               scope=QUJING)
    assert take.unknown == (cz[1].archive_no,) and take.misplaced == ()   # where 常州's stands: not told
    assert shelving.take_admitted(root, take, QUJING)
    for code, message in (("A-01-01", "辖区以外"), ("B", "未存放您辖区的档案")):
        with pytest.raises(OutOfScope, match=message):
            shelving.take_stock(stacks, root, code, [], "qj", WHEN, scope=QUJING)
    assert len(stacks.stocktakes) == 1
    wide = shelving.take_stock(stacks, root, "A", [], "archivist", WHEN)
    assert not shelving.take_admitted(root, wide, QUJING) and shelving.take_admitted(root, wide, None)


def test_destruction_lists_in_scope(archive, registry):
    root, cz, qj = archive
    sched = compile_schedule(registry)
    with pytest.raises(OutOfScope, match="不在您的辖区"):
        destruction.draw(root, sched, [cz[0].archive_no], "qj", WHEN, scope=QUJING)
    lst = destruction.DestructionList(1, [destruction.ListRow("household", cz[0].archive_no, "", 0, 0, "D10", "", "")],
                                      "archivist", WHEN)
    destruction.book_of(root).lists[1] = lst
    assert not destruction.in_scope(root, lst, QUJING) and destruction.in_scope(root, lst, None)
    with pytest.raises(OutOfScope, match="批准"):
        destruction.approve(root, 1, "qj", WHEN, scope=QUJING)
    with pytest.raises(OutOfScope, match="监销"):
        destruction.carry_out(root, sched, 1, "qj", WHEN, scope=QUJING)
    assert lst.status == "drafted"


def test_loans_within_scope(archive):
    root, cz, qj = archive
    ask = lambda *nos: root.loans.request("b", "法院", [loans.Item("household", n) for n in nos], "research",
                                          "read", WHEN.date() + dt.timedelta(days=9), False, "", WHEN, WHEN.date())
    ours, mixed = ask(qj.archive_no), ask(qj.archive_no, cz[0].archive_no)
    assert loans.within(root, [ours, mixed], QUJING) == [ours]
    assert loans.within(root, [ours, mixed], None) == [ours, mixed]
    assert not loans.in_scope(root, mixed, QUJING)


def test_creating_in_another_jurisdiction_is_refused_before_a_number_is_issued(archive, registry):
    root, cz, qj = archive
    issued = len(root.numbers.issued)
    with pytest.raises(OutOfScope, match="只能在您的辖区建档.*常州市"):
        filing.create_dossier(root, registry, "household", household_input(seq=61), "qj", scope=QUJING)
    assert len(root.numbers.issued) == issued
    made = filing.create_dossier(root, registry, "household", household_input(seq=61, **QJ), "qj", scope=QUJING)
    assert made.archive_no.startswith("QJ-") and len(root.numbers.issued) == issued + 1


def test_facet_counts_over_one_citys_own_set(archive):
    root, cz, qj = archive
    index = root.households.indexes["jurisdiction"]
    assert index.values(QUJING.ids(root.households)) == [("qujing", 1)]
    copy = Scope(frozenset({"qujing", cz[0].archive_no})).ids(root.households)
    assert index.values(copy) == [("changzhou", 1), ("qujing", 1)]
