"""Holds: placed and released with a reason, recorded; they block what they should."""
import datetime as dt

import pytest

from archive.disposition import appraisal, holds
from archive.disposition.blocking import automatic
from archive.disposition.errors import Held, Invalid, NotFound, WrongState
from archive.records.dossier import DossierError
from disposition_helpers import NOW, SCHEDULE, archive, household


def test_place_and_release_are_versions_and_listed():
    root = archive()
    dossier = household(root)
    hold = holds.place(root, SCHEDULE, dossier, "audit", "2026年度审计", "auditor", NOW)
    assert dossier.latest.action == "held" and hold.open
    assert holds.every_hold(root)[0][1] == hold
    with pytest.raises(Held):
        appraisal.propose(root, SCHEDULE, dossier, "destroy", 0, "期满", "archivist", NOW)
    with pytest.raises(DossierError, match="冻结"):
        dossier.withdraw_document("D0001", "错归", "archivist", NOW)
    released = holds.release(root, SCHEDULE, dossier, hold.hold_id, "审计结束", "auditor", NOW)
    assert not released.open and dossier.latest.action == "released"
    with pytest.raises(WrongState):
        holds.release(root, SCHEDULE, dossier, hold.hold_id, "again", "auditor", NOW)
    appraisal.propose(root, SCHEDULE, dossier, "destroy", 0, "期满", "archivist", NOW)


@pytest.mark.parametrize("reason,note", [("nonsense", "x"), (["audit"], "x"), ("audit", ""), ("audit", 5)])
def test_bad_holds_refused_writing_nothing(reason, note):
    root = archive()
    dossier = household(root)
    before = dossier.latest.number
    with pytest.raises(Invalid):
        holds.place(root, SCHEDULE, dossier, reason, note, "auditor", NOW)
    assert dossier.latest.number == before and not root.disposition.holds_of(dossier)


def test_unknown_hold():
    root = archive()
    with pytest.raises(NotFound):
        holds.release(root, SCHEDULE, household(root), "H404", "x", "auditor", NOW)


def test_an_active_ban_holds_the_household_by_itself():
    root = archive()
    dossier = household(root)
    person = dossier.metadata["applicant"]
    assert automatic(root, dossier, NOW.date()) == []
    root.credit.record_event(person["id_number"], person["name"], "fraud", NOW.date(), "虚报收入",
                             "reviewer", NOW, dossier=dossier.archive_no, ban_years=2)
    assert [s for s, _ in automatic(root, dossier, NOW.date())] == ["credit"]
    assert automatic(root, dossier, NOW.date() + dt.timedelta(days=800)) == []   # the ban has run out
