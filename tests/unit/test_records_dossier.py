"""Dossiers (一户一档 / 一套一档): every change leaves a version, history stays whole,
and earlier files stay readable — on a real FileStorage with blobs."""
import dataclasses
import datetime as dt
import hashlib

import pytest
import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from archive.records.dossier import (DocumentNotFound, DossierError, HouseholdDossier, NothingChanged,
                             UnitDossier, VersionNotFound)
from archive.records.pdf import inspect
from archive.records.version import compare
from conftest import aborted, make_pdf

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
PDF_A = make_pdf("收入证明 张三 2025年")
PDF_B = make_pdf("收入证明 张三 2025年 更正")
PDF_C = make_pdf("承诺书 张三")


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def _metadata(name="张三", income=1200.5):
    return {"applicant": {"name": name, "id_number": "11010519491231002X",
                          "birth_date": dt.date(1949, 12, 31)},
            "members": [], "category": "dibao", "income_per_capita": income,
            "jurisdiction": "changzhou", "district": "天宁区"}


def _doc(title="收入证明", doc_type="income_proof"):
    return {"doc_type": doc_type, "title": title, "date": dt.date(2026, 1, 5),
            "issuer": "天宁区民政局", "doc_no": ""}


@pytest.fixture
def db(tmp_path):
    database = ZODB.DB(FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs")))
    yield database
    database.close()


@pytest.fixture
def session(db):
    """(zodb root mapping, transaction manager) on one connection."""
    with aborted(db) as session:
        yield session


@pytest.fixture
def dossier(session):
    root, tm = session
    root["d"] = HouseholdDossier("CZ-HH-2026-Y-00001", _metadata(), "archivist", T0, "建档")
    tm.commit()
    return root["d"]


def _file(dossier, data=PDF_A, minutes=1, **meta):
    return dossier.file_document(_doc(**meta), data, inspect(data), "scan.pdf", "archivist", at(minutes))


# -- versions ---------------------------------------------------------------------------------
def test_new_dossier_has_version_1_recording_who_when_why(dossier):
    v = dossier.latest
    assert (v.number, v.actor, v.when, v.comment, v.action) == (1, "archivist", T0, "建档", "created")


def test_each_change_adds_the_next_version_number(dossier):
    dossier.update(_metadata(income=1300), "reviewer", at(1), "年审收入变化")
    dossier.update(_metadata(income=1400), "reviewer", at(2), "再次变化")
    assert [v.number for v in dossier.history()] == [3, 2, 1]


def test_update_records_who_when_why_and_the_new_metadata(dossier):
    v = dossier.update(_metadata(income=1300), "reviewer", at(5), "年审收入变化")
    assert (v.actor, v.when, v.comment, v.action) == ("reviewer", at(5), "年审收入变化", "edited")
    assert v.metadata["income_per_capita"] == 1300


def test_update_with_identical_metadata_raises_nothing_changed(dossier):
    with pytest.raises(NothingChanged):
        dossier.update(_metadata(), "reviewer", at(1))
    assert len(dossier.versions) == 1


def test_version_snapshot_is_independent_of_the_live_metadata(dossier):
    dossier.metadata["applicant"]["name"] = "改名"
    assert dossier.version(1).metadata["applicant"]["name"] == "张三"


def test_recorded_version_cannot_be_edited(dossier):
    with pytest.raises(dataclasses.FrozenInstanceError):
        dossier.latest.actor = "someone-else"


def test_versions_survive_a_commit_and_a_new_connection(db, session, dossier):
    root, tm = session
    dossier.update(_metadata(income=1300), "reviewer", at(1), "年审")
    tm.commit()
    other = db.open(transaction_manager=transaction.TransactionManager())
    try:
        stored = other.root()["d"]
        assert [(v.number, v.comment) for v in stored.history()] == [(2, "年审"), (1, "建档")]
    finally:
        other.close()


def test_unknown_version_raises_version_not_found(dossier):
    with pytest.raises(VersionNotFound):
        dossier.version(7)


def test_non_numeric_version_raises_version_not_found(dossier):
    with pytest.raises(VersionNotFound):
        dossier.version("latest")


# -- documents ------------------------------------------------------------------------------------
def test_filing_a_document_adds_a_version_with_it_in_the_manifest(dossier):
    doc = _file(dossier)
    v = dossier.latest
    assert (v.number, v.action) == (2, "filed")
    assert v.document(doc.doc_id).sha256 == hashlib.sha256(PDF_A).hexdigest()


def test_documents_get_running_ids(dossier):
    assert [_file(dossier).doc_id, _file(dossier, PDF_C).doc_id] == ["D0001", "D0002"]


def test_ids_run_on_past_d9999_though_they_sort_as_text_below_it(dossier):
    """D10000 sorts below D9999 as text (the highest key is no longer the highest id): the
    next id is still one past the highest, never one already taken."""
    from archive.records.document import Document
    first = _file(dossier)
    for number in (9998, 9999):
        dossier.documents[f"D{number:04d}"] = Document(f"D{number:04d}", first.metadata)
    assert _file(dossier, PDF_C).doc_id == "D10000"
    assert dossier.documents.maxKey() == "D9999"
    assert _file(dossier).doc_id == "D10001"
    for number in range(10002, 10040):
        dossier.documents[f"D{number}"] = Document(f"D{number}", first.metadata)
    assert _file(dossier, PDF_C).doc_id == "D10040"
    assert len(dossier.documents) == 44


def test_refiling_adds_a_version_pointing_at_the_new_file(dossier):
    doc = _file(dossier)
    v = dossier.refile_document(doc.doc_id, PDF_B, inspect(PDF_B), "fixed.pdf", "archivist", at(2), "更正")
    assert (v.number, v.action, v.document(doc.doc_id).file_no) == (3, "refiled", 2)


def test_refile_keeps_the_old_file_readable_after_commit(db, session, dossier):
    root, tm = session
    doc = _file(dossier)
    tm.commit()
    dossier.refile_document(doc.doc_id, PDF_B, inspect(PDF_B), "fixed.pdf", "archivist", at(2))
    tm.commit()
    other = db.open(transaction_manager=transaction.TransactionManager())
    try:
        stored = other.root()["d"].document(doc.doc_id)
        assert (stored.file_revision(1).read(), stored.current_file.read()) == (PDF_A, PDF_B)
    finally:
        other.close()


def test_old_version_names_the_file_revision_it_showed(dossier):
    doc = _file(dossier)
    dossier.refile_document(doc.doc_id, PDF_B, inspect(PDF_B), "fixed.pdf", "archivist", at(2))
    entry = dossier.version(2).document(doc.doc_id)
    assert doc.file_revision(entry.file_no).read() == PDF_A


def test_refiling_the_same_file_raises_nothing_changed(dossier):
    doc = _file(dossier)
    with pytest.raises(NothingChanged):
        dossier.refile_document(doc.doc_id, PDF_A, inspect(PDF_A), "again.pdf", "archivist", at(2))


def test_refiling_an_unknown_document_raises_document_not_found(dossier):
    with pytest.raises(DocumentNotFound):
        dossier.refile_document("D0042", PDF_B, inspect(PDF_B), "x.pdf", "archivist", at(2))


def test_withdrawing_adds_a_version_with_the_reason(dossier):
    doc = _file(dossier)
    v = dossier.withdraw_document(doc.doc_id, "误归档", "archivist", at(2))
    assert (v.number, v.action, v.comment) == (3, "withdrawn", "误归档")
    assert (v.document(doc.doc_id).withdrawn, v.document(doc.doc_id).reason) == (True, "误归档")


def test_withdrawn_document_is_kept_but_not_active(dossier):
    doc = _file(dossier)
    dossier.withdraw_document(doc.doc_id, "误归档", "archivist", at(2))
    assert dossier.active_documents() == [] and dossier.document(doc.doc_id).current_file.read() == PDF_A


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_withdrawing_needs_a_reason(dossier, reason):
    doc = _file(dossier)
    with pytest.raises(DossierError, match="原因"):
        dossier.withdraw_document(doc.doc_id, reason, "archivist", at(2))
    assert not dossier.document(doc.doc_id).withdrawn and len(dossier.versions) == 2


def test_withdrawing_twice_raises_nothing_changed(dossier):
    doc = _file(dossier)
    dossier.withdraw_document(doc.doc_id, "误归档", "archivist", at(2))
    with pytest.raises(NothingChanged):
        dossier.withdraw_document(doc.doc_id, "再次", "archivist", at(3))


def test_withdrawn_document_cannot_be_refiled(dossier):
    doc = _file(dossier)
    dossier.withdraw_document(doc.doc_id, "误归档", "archivist", at(2))
    with pytest.raises(DossierError):
        dossier.refile_document(doc.doc_id, PDF_B, inspect(PDF_B), "x.pdf", "archivist", at(3))


def test_editing_document_metadata_adds_a_version(dossier):
    doc = _file(dossier)
    v = dossier.update_document(doc.doc_id, _doc(title="收入证明（2025年度）"), "archivist", at(2))
    assert v.action == "document_edited" and v.document(doc.doc_id).metadata["title"] == "收入证明（2025年度）"


# -- comparing versions of a real dossier ------------------------------------------------------------
def test_compare_reports_field_and_document_changes_between_versions(dossier):
    doc = _file(dossier)                                                     # v2
    dossier.update(_metadata(income=1500), "reviewer", at(2))                 # v3
    dossier.refile_document(doc.doc_id, PDF_B, inspect(PDF_B), "b.pdf", "archivist", at(3))  # v4
    fields, docs = compare(dossier.version(2), dossier.version(4))
    assert [(f.path, f.old, f.new) for f in fields] == [("income_per_capita", 1200.5, 1500)]
    assert [d.change for d in docs] == ["file"]


# -- restore ---------------------------------------------------------------------------------------
def test_restore_creates_the_next_version_equal_in_content(dossier):
    doc = _file(dossier)                                                                     # v2
    dossier.refile_document(doc.doc_id, PDF_B, inspect(PDF_B), "b.pdf", "archivist", at(2))  # v3
    dossier.update_document(doc.doc_id, _doc(title="改过的题名"), "archivist", at(3))         # v4
    dossier.update(_metadata(name="张叁"), "archivist", at(4))                               # v5
    v = dossier.restore(2, "archivist", at(5), "恢复误改")
    assert (v.number, v.action, v.restored_from) == (6, "restored", 2)
    assert (v.metadata, v.manifest) == (dossier.version(2).metadata, dossier.version(2).manifest)


def test_restore_brings_back_the_old_file_as_current(dossier):
    doc = _file(dossier)
    dossier.refile_document(doc.doc_id, PDF_B, inspect(PDF_B), "b.pdf", "archivist", at(2))
    dossier.restore(2, "archivist", at(3))
    assert dossier.document(doc.doc_id).current_file.read() == PDF_A


def test_restore_withdraws_documents_filed_later(dossier):
    _file(dossier)                      # v2
    later = _file(dossier, PDF_C)       # v3
    v = dossier.restore(2, "archivist", at(5))
    assert v.document(later.doc_id).withdrawn
    assert [d.doc_id for d in dossier.active_documents()] == ["D0001"]


def test_restore_reinstates_a_document_withdrawn_since(dossier):
    doc = _file(dossier)                                               # v2
    dossier.withdraw_document(doc.doc_id, "误撤", "archivist", at(2))  # v3
    dossier.restore(2, "archivist", at(3))
    assert (doc.withdrawn, doc.withdraw_reason) == (False, "")


def test_restore_keeps_the_whole_history(dossier):
    dossier.update(_metadata(income=1300), "reviewer", at(1))
    dossier.restore(1, "archivist", at(2))
    assert [v.action for v in dossier.history()] == ["restored", "edited", "created"]


def test_restoring_the_current_version_raises_nothing_changed(dossier):
    dossier.update(_metadata(income=1300), "reviewer", at(1))
    with pytest.raises(NothingChanged):
        dossier.restore(2, "archivist", at(2))


def test_restoring_a_version_identical_to_the_current_one_raises_nothing_changed(dossier):
    """A second click on 'restore' must not record a version that changes nothing."""
    dossier.update(_metadata(income=1300), "reviewer", at(1))   # v2
    dossier.restore(1, "archivist", at(2))                      # v3 == v1
    with pytest.raises(NothingChanged):
        dossier.restore(1, "archivist", at(3))
    assert len(dossier.versions) == 3


def test_restoring_again_to_before_a_filing_raises_nothing_changed(dossier):
    """The same second click, when the restore had to withdraw a later document."""
    _file(dossier)                              # v2
    dossier.restore(1, "archivist", at(2))      # v3: D0001 withdrawn
    with pytest.raises(NothingChanged):
        dossier.restore(1, "archivist", at(3))
    assert len(dossier.versions) == 3


def test_restoring_an_unknown_version_raises_version_not_found(dossier):
    with pytest.raises(VersionNotFound):
        dossier.restore(9, "archivist", at(1))


# -- the two kinds -------------------------------------------------------------------------------------
def test_household_title_is_the_applicant_name(dossier):
    assert dossier.title == "张三"


def test_unit_title_names_project_building_and_unit():
    unit = UnitDossier("CZ-FY-2026-Y-00001", {"project": "丽华新村公租房", "building": "3", "unit_no": "502"},
                       "archivist", T0)
    assert unit.title == "丽华新村公租房 3栋 502"
