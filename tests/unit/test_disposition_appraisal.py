"""Appraisal: one proposes, another decides; both recorded; extensions move the date."""
import datetime as dt

import pytest

from archive.disposition import appraisal
from archive.disposition.errors import Invalid, NotFound, SamePerson, WrongState
from disposition_helpers import NOW, SCHEDULE, archive, household


def test_four_eyes():
    root = archive()
    dossier = household(root)
    a = appraisal.propose(root, SCHEDULE, dossier, "extend", 5, "仍需利用", "archivist", NOW)
    with pytest.raises(SamePerson):
        appraisal.decide(root, SCHEDULE, dossier, a.number, True, "同意", "archivist", NOW)
    decided = appraisal.decide(root, SCHEDULE, dossier, a.number, True, "同意", "reviewer", NOW)
    assert decided.status == "approved" and dossier.latest.action == "appraisal_decided"
    assert root.disposition.date_of(dossier) == dt.date(2025, 1, 4)
    with pytest.raises(WrongState):
        appraisal.decide(root, SCHEDULE, dossier, a.number, False, "再议", "admin", NOW)


def test_one_proposal_at_a_time_and_refusal():
    root = archive()
    dossier = household(root)
    appraisal.propose(root, SCHEDULE, dossier, "destroy", 0, "期满", "archivist", NOW)
    with pytest.raises(WrongState):
        appraisal.propose(root, SCHEDULE, dossier, "transfer", 0, "移交", "archivist", NOW)
    appraisal.decide(root, SCHEDULE, dossier, 1, False, "尚有价值", "reviewer", NOW)
    assert appraisal.approved_destruction(root, dossier) is None


def test_transfer_takes_the_dossier_off_the_worklist():
    root = archive()
    dossier = household(root)
    appraisal.propose(root, SCHEDULE, dossier, "transfer", 0, "进馆", "archivist", NOW)
    appraisal.decide(root, SCHEDULE, dossier, 1, True, "同意移交", "reviewer", NOW)
    assert root.disposition.count_due(NOW.date()) == 0


@pytest.mark.parametrize("action,years,reason", [("burn", 0, "x"), ("extend", 0, "x"), ("extend", True, "x"),
                                                 ("extend", 51, "x"), ("destroy", 0, "  ")])
def test_bad_proposals(action, years, reason):
    root = archive()
    dossier = household(root)
    with pytest.raises(Invalid):
        appraisal.propose(root, SCHEDULE, dossier, action, years, reason, "archivist", NOW)
    assert not root.disposition.appraisals_of(dossier)


def test_unknown_proposal():
    root = archive()
    with pytest.raises(NotFound):
        appraisal.decide(root, SCHEDULE, household(root), 7, True, "x", "reviewer", NOW)
