"""Shelving: the register of places, moves as versions, stock-takes kept with who and when."""
from __future__ import annotations

import datetime as dt

import pytest

from archive.custody import shelving
from archive.custody.shelving import PlaceConflict, PlaceNotFound, ShelvingError, Stacks
from archive.records.container import DossierContainer
from archive.records.dossier import EmployerDossier, HouseholdDossier, UnitDossier
from archive.records.version import compare

WHEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


class Root:
    """Just what stock-takes read: the dossier containers."""

    def __init__(self):
        self.households = DossierContainer("households", "household", ())
        self.units = DossierContainer("units", "unit", ())
        self.employers = DossierContainer("employers", "employer", ())

    def container(self, kind):
        return {"household": self.households, "unit": self.units, "employer": self.employers}[kind]


@pytest.fixture
def stacks():
    s = Stacks()
    s.add_place("", "A", "一号库房", "clerk", WHEN)
    s.add_place("A", "01", "", "clerk", WHEN)
    s.add_place("A-01", "02", "", "clerk", WHEN)
    for box in ("001", "002"):
        s.add_place("A-01-02", box, "", "clerk", WHEN)
    s.add_place("", "B", "二号库房", "clerk", WHEN)
    return s


@pytest.fixture
def root():
    r = Root()
    for n in (1, 2, 3):
        r.households.add(HouseholdDossier(f"CZ-HH-2026-Y-0000{n}", {"applicant": {"name": f"户{n}"}},
                                          "clerk", WHEN))
    r.units.add(UnitDossier("CZ-FY-2026-Y-00001", {"project": "丽华"}, "clerk", WHEN))
    return r


def test_register_levels_titles_and_paths(stacks):
    box = stacks.place("A-01-02-001")
    assert (box.level, box.title, box.parent) == ("box", "001盒", "A-01-02")
    assert [p.code for p in stacks.path("A-01-02-001")] == ["A", "A-01", "A-01-02", "A-01-02-001"]
    assert [p.code for p in stacks.children("")] == ["A", "B"]
    assert [p.code for p in stacks.children("A-01-02")] == ["A-01-02-001", "A-01-02-002"]
    assert stacks.label("A-01-02-001") == "A-01-02-001（一号库房 / 01架 / 02层 / 001盒）"
    assert stacks.label(None) == "未上架"


@pytest.mark.parametrize("parent, segment, title, error, field", [
    ("", "A", "", PlaceConflict, "code"),                       # a place given twice
    ("A-01-02", "001", "", PlaceConflict, "code"),
    ("Z", "1", "", PlaceNotFound, "place"),                     # a shelf that does not exist
    ("A-01-02-001", "1", "", ShelvingError, "parent"),          # nothing inside a box
    ("", "A-1", "", ShelvingError, "code"),
    ("", "", "", ShelvingError, "code"),
    ("", "C", "长" * 61, ShelvingError, "title"),
])
def test_register_refusals(stacks, parent, segment, title, error, field):
    before = list(stacks.places)
    with pytest.raises(error) as refused:
        stacks.add_place(parent, segment, title, "clerk", WHEN)
    assert refused.value.field == field and str(refused.value)
    assert list(stacks.places) == before


def test_moves_are_versions_shown_and_compared(stacks, root):
    dossier = root.households["CZ-HH-2026-Y-00001"]
    first = shelving.shelve(stacks, dossier, "A-01-02-001", "clerk", WHEN)
    second = shelving.shelve(stacks, dossier, " A-01-02-002 ", "clerk", WHEN, "腾挪")
    assert shelving.place_of(dossier) == "A-01-02-002"
    assert (first.action, first.comment, dict(first.details)["原存放位置"]) == ("shelved", "上架", "未上架")
    assert (second.comment, dict(second.details)) == ("腾挪", {"存放位置": "A-01-02-002",
                                                             "原存放位置": "A-01-02-001"})
    assert compare(first, second) == ([], [])            # metadata and documents unchanged
    assert shelving.place_change(dossier, first, second) == ("A-01-02-001", "A-01-02-002")
    assert shelving.place_change(dossier, dossier.version(1), first) == ("未上架", "A-01-02-001")
    assert shelving.place_change(dossier, second, second) is None
    assert shelving.place_at(dossier, 1) is None


@pytest.mark.parametrize("code, error", [
    ("A-01-02-002", PlaceConflict), ("A-09", PlaceNotFound), ("A-01", ShelvingError), ("", ShelvingError)])
def test_move_refusals_change_nothing(stacks, root, code, error):
    dossier = root.households["CZ-HH-2026-Y-00001"]
    shelving.shelve(stacks, dossier, "A-01-02-002", "clerk", WHEN)
    versions = len(dossier.versions)
    with pytest.raises(error):
        shelving.shelve(stacks, dossier, code, "clerk", WHEN)
    assert len(dossier.versions) == versions and shelving.place_of(dossier) == "A-01-02-002"


def test_stocktake_finds_missing_misplaced_and_unknown(stacks, root):
    h1, h2, h3 = (root.households[f"CZ-HH-2026-Y-0000{n}"] for n in (1, 2, 3))
    unit = root.units["CZ-FY-2026-Y-00001"]
    shelving.shelve(stacks, h1, "A-01-02-001", "clerk", WHEN)
    shelving.shelve(stacks, unit, "A-01-02-001", "clerk", WHEN)
    shelving.shelve(stacks, h2, "A-01-02-002", "clerk", WHEN)
    assert [d.archive_no for d in shelving.holdings(root, "A-01")] == [
        "CZ-FY-2026-Y-00001", "CZ-HH-2026-Y-00001", "CZ-HH-2026-Y-00002"]
    take = shelving.take_stock(stacks, root, "A-01-02-001",
                               f"{h1.archive_no}\n{h2.archive_no}, {h3.archive_no}\nXX-1\n{h1.archive_no}",
                               "clerk", WHEN, "年度盘点")
    assert take.number == 1 and take.actor == "clerk" and take.when == WHEN
    assert take.found == (h1.archive_no,)
    assert take.missing == (unit.archive_no,)
    assert take.misplaced == ((h2.archive_no, "A-01-02-002"), (h3.archive_no, ""))
    assert take.unknown == ("XX-1",)
    again = shelving.take_stock(stacks, root, "A", [], "clerk", WHEN)
    assert again.number == 2 and set(again.missing) == {h1.archive_no, h2.archive_no, unit.archive_no}
    assert list(stacks.stocktakes) == [1, 2]


def test_an_employer_volume_is_shelved_held_and_taken_stock_of(stacks, root):
    employer = root.employers.add(EmployerDossier("XM-DW-2026-Y-00001", {"name": "鹭江科技"}, "clerk", WHEN))
    household = root.households["CZ-HH-2026-Y-00001"]
    version = shelving.shelve(stacks, employer, "A-01-02-001", "clerk", WHEN)
    assert version.action == "shelved" and shelving.place_of(employer) == "A-01-02-001"
    shelving.shelve(stacks, household, "A-01-02-002", "clerk", WHEN)
    assert [d.archive_no for d in shelving.holdings(root, "A-01-02-001")] == [employer.archive_no]
    take = shelving.take_stock(stacks, root, "A-01-02-002", [household.archive_no, employer.archive_no],
                               "clerk", WHEN)
    assert take.found == (household.archive_no,)
    assert take.misplaced == ((employer.archive_no, "A-01-02-001"),) and take.unknown == ()
    assert shelving.take_stock(stacks, root, "A-01-02-001", [], "clerk", WHEN).missing == (employer.archive_no,)


def test_stocktake_refusals(stacks, root):
    with pytest.raises(PlaceNotFound):
        shelving.take_stock(stacks, root, "Q", [], "clerk", WHEN)
    with pytest.raises(ShelvingError, match="过长"):
        shelving.take_stock(stacks, root, "A", ["X" * 101], "clerk", WHEN)
    with pytest.raises(ShelvingError):
        shelving.take_stock(stacks, root, "A", [1, 2], "clerk", WHEN)
    with pytest.raises(ShelvingError, match="最多"):
        shelving.take_stock(stacks, root, "A", ["X"] * (shelving.MAX_SCANNED + 1), "clerk", WHEN)
    assert len(stacks.stocktakes) == 0


def test_moves_of_two_dossiers_write_only_those_dossiers(stacks, root):
    """Per-dossier state: a move touches its dossier (and its version), never the register."""
    import transaction
    from ZODB import DB
    from ZODB.MappingStorage import MappingStorage
    db = DB(MappingStorage())
    conn = db.open()
    conn.root()["stacks"], conn.root()["root"] = stacks, root
    transaction.commit()
    h1 = root.households["CZ-HH-2026-Y-00001"]
    shelving.shelve(stacks, h1, "A-01-02-001", "clerk", WHEN)
    written = {type(o).__name__ for o in conn._registered_objects}
    assert "HouseholdDossier" in written and "Stacks" not in written
    transaction.abort()
    db.close()
