"""Destruction lists: drawn from approved appraisals, approved by another, carried out under
a third; all or nothing; the dossier becomes a stub that keeps what was destroyed."""
import io

import pytest
from pypdf import PdfReader

from archive.disposition import appraisal, destruction, holds
from archive.disposition.errors import Held, NotFound, SamePerson, WrongState
from archive.disposition.listpdf import destruction_list_pdf
from archive.records.dossier import DossierError
from disposition_helpers import NOW, SCHEDULE, archive, household


def approved(root, **kw):
    dossier = household(root, **kw)
    appraisal.propose(root, SCHEDULE, dossier, "destroy", 0, "期满", "archivist", NOW)
    appraisal.decide(root, SCHEDULE, dossier, 1, True, "同意销毁", "reviewer", NOW)
    return dossier


def test_the_whole_way_to_a_stub():
    root = archive()
    dossier = approved(root)
    sha = dossier.documents["D0001"].current_file.sha256
    lst = destruction.draw(root, SCHEDULE, [dossier.archive_no], "archivist", NOW)
    assert lst.rows[0].pages == 2 and lst.rows[0].retention == "D10"
    with pytest.raises(WrongState):
        destruction.carry_out(root, SCHEDULE, lst.number, "admin", NOW)
    with pytest.raises(SamePerson):
        destruction.approve(root, lst.number, "archivist", NOW)
    destruction.approve(root, lst.number, "reviewer", NOW)
    for who in ("reviewer", "archivist"):
        with pytest.raises(SamePerson):
            destruction.carry_out(root, SCHEDULE, lst.number, who, NOW)
    destruction.carry_out(root, SCHEDULE, lst.number, "admin", NOW)
    stub = dossier.destruction
    assert (stub.approved_by, stub.supervisor, stub.files[0].sha256) == ("reviewer", "admin", sha)
    assert dossier.latest.action == "destroyed" and not len(dossier.documents["D0001"].files)
    assert root.fixity.of("household", dossier.archive_no) == []
    assert root.disposition.date_of(dossier) is None
    with pytest.raises(DossierError):
        dossier.restore(1, "archivist", NOW)
    with pytest.raises(WrongState):
        destruction.carry_out(root, SCHEDULE, lst.number, "admin", NOW)


def test_all_or_nothing_when_one_is_held():
    root = archive()
    a, b = approved(root), approved(root, seq=31)
    lst = destruction.draw(root, SCHEDULE, [a.archive_no, b.archive_no], "archivist", NOW)
    destruction.approve(root, lst.number, "reviewer", NOW)
    holds.place(root, SCHEDULE, b, "litigation", "诉讼", "auditor", NOW)
    with pytest.raises(Held):
        destruction.carry_out(root, SCHEDULE, lst.number, "admin", NOW)
    assert a.destruction is None and len(a.documents["D0001"].files) == 1 and lst.status == "approved"


def test_not_before_the_disposition_date():
    root = archive()
    dossier = approved(root, exited=False)
    lst = destruction.draw(root, SCHEDULE, [dossier.archive_no], "archivist", NOW)
    destruction.approve(root, lst.number, "reviewer", NOW)
    with pytest.raises(WrongState, match="处置日期"):
        destruction.carry_out(root, SCHEDULE, lst.number, "admin", NOW)


def test_drawing_refusals():
    root = archive()
    plain = household(root)
    with pytest.raises(NotFound):
        destruction.draw(root, SCHEDULE, ["NO-SUCH"], "archivist", NOW)
    with pytest.raises(WrongState):
        destruction.draw(root, SCHEDULE, [plain.archive_no], "archivist", NOW)
    dossier = approved(root, seq=41)
    destruction.draw(root, SCHEDULE, [dossier.archive_no], "archivist", NOW)
    with pytest.raises(WrongState, match="另一份"):
        destruction.draw(root, SCHEDULE, [dossier.archive_no], "archivist", NOW)
    with pytest.raises(NotFound):
        destruction.get_list(root, 99)


def test_the_list_pdf_says_it_in_chinese():
    root = archive()
    dossier = approved(root)
    lst = destruction.draw(root, SCHEDULE, [dossier.archive_no], "archivist", NOW)
    pdf = destruction_list_pdf(lst, lambda c: SCHEDULE.rules.title("retention_periods", c))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for word in ("销毁清册", "档号", "题名", "件数", "页数", "保管期限", "鉴定意见", "批准人", "监销人",
                 dossier.archive_no, "10年"):
        assert word in text
