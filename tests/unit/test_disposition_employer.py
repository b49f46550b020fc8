"""单位集体申请档案 come due like the other kinds (schemas/disposition.yaml: from filing, their
volume's period): listed as due, held, appraised and destroyed to a stub; one holding a
permanent paper (申请表, 名册) never comes due; evolve fills the dates of those stored before."""
import datetime as dt

import pytest

from archive import evolve
from archive.disposition import appraisal, destruction, holds
from archive.disposition.book import DispositionBook, find
from archive.disposition.errors import Held
from conftest import employer_dossier
from disposition_helpers import REGISTRY, SCHEDULE, archive

FILED = dt.datetime(2010, 5, 4, 2, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2041, 3, 2, 9, tzinfo=dt.timezone.utc)   # thirty years on and more


def employer(root, procedure, documents=False, **kw):
    return employer_dossier(root, REGISTRY, procedure, when=FILED, documents=documents, **kw)


def test_an_employer_without_permanent_papers_is_due_thirty_years_after_filing(procedure):
    root = archive()
    dossier = employer(root, procedure)
    assert SCHEDULE.kinds["employer"].event == "filing" and SCHEDULE.period(dossier) == "D30"
    assert root.disposition.date_of(dossier) == dt.date(2040, 5, 4)
    assert ("employer", dossier.archive_no) in [key for _, key in root.disposition.due(NOW.date())]
    assert find(root, dossier.archive_no) is dossier


def test_an_employer_with_its_application_form_is_kept_permanently(procedure):
    root = archive()
    dossier = employer(root, procedure, documents=True)
    assert SCHEDULE.period(dossier) == "Y" and root.disposition.date_of(dossier) is None


def test_an_employer_dossier_is_held_appraised_and_destroyed_to_a_stub(procedure):
    root = archive()
    dossier = employer(root, procedure)
    hold = holds.place(root, SCHEDULE, dossier, "audit", "集体申请审计", "auditor", NOW)
    assert dossier.latest.action == "held"
    with pytest.raises(Held):
        appraisal.propose(root, SCHEDULE, dossier, "destroy", 0, "期满", "archivist", NOW)
    holds.release(root, SCHEDULE, dossier, hold.hold_id, "审计结束", "auditor", NOW)
    appraisal.propose(root, SCHEDULE, dossier, "destroy", 0, "期满", "archivist", NOW)
    appraisal.decide(root, SCHEDULE, dossier, 1, True, "同意销毁", "reviewer", NOW)
    lst = destruction.draw(root, SCHEDULE, [dossier.archive_no], "archivist", NOW)
    assert lst.rows[0].kind == "employer" and lst.rows[0].retention == "D30"
    destruction.approve(root, lst.number, "reviewer", NOW)
    destruction.carry_out(root, SCHEDULE, lst.number, "admin", NOW)
    assert dossier.destruction is not None and dossier.latest.action == "destroyed"
    assert root.disposition.date_of(dossier) is None
    assert root.fixity.of("employer", dossier.archive_no) == []


def test_evolve_gives_stored_employer_dossiers_their_dates(procedure):
    root = archive()
    dossier = employer(root, procedure)
    root.disposition = DispositionBook()   # a book kept before the employers had a rule
    assert root.disposition.date_of(dossier) is None
    step = evolve.STEPS.index(evolve._employer_disposition)
    root.generation = step
    assert evolve.upgrade(root, REGISTRY, steps=evolve.STEPS[:step + 1]) == 1
    assert root.disposition.date_of(dossier) == dt.date(2040, 5, 4)
