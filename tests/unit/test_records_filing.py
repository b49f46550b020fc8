"""Filing (归档): validate, number and store; bad input changes nothing."""
import datetime as dt

import pytest

from archive.records import filing
from archive.schema import idnumber
from archive.records.dossier import DocumentNotFound, NothingChanged
from archive.records.filing import ValidationFailed
from archive.records.pdf import InvalidDocument
from conftest import household_input, make_pdf, unit_input

WHEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
PDF = make_pdf("收入证明 张三")


def _create(root, registry, kind="household", data=None, **kw):
    data = data if data is not None else (household_input() if kind == "household" else unit_input())
    return filing.create_dossier(root, registry, kind, data, "archivist", when=kw.pop("when", WHEN), **kw)


def _doc_input(doc_type="income_proof", title="2025年度收入证明"):
    return {"doc_type": doc_type, "title": title, "date": "2026-01-05", "issuer": "天宁区民政局"}


# -- creating ----------------------------------------------------------------------------------
def test_household_gets_the_first_archive_number_of_its_fonds_and_year(root, registry):
    assert _create(root, registry).archive_no == "CZ-HH-2026-Y-00001"


def test_next_household_gets_the_next_number(root, registry):
    _create(root, registry)
    assert _create(root, registry, data=household_input("王五", seq=21)).archive_no == "CZ-HH-2026-Y-00002"


def test_unit_is_numbered_by_the_unit_pattern(root, registry):
    assert _create(root, registry, "unit").archive_no == "CZ-FY-2026-Y-00001"


def test_other_jurisdiction_uses_its_own_fonds(root, registry):
    assert _create(root, registry, data=household_input(jurisdiction="xiamen")).archive_no == "XM-HH-2026-Y-00001"


def test_pattern_from_the_settings_overrides_the_schema(root, registry):
    dossier = _create(root, registry, patterns={"household": "{fonds}{year}HH{seq:04d}"})
    assert dossier.archive_no == "CZ2026HH0001"


def test_created_dossier_is_stored_in_its_container(root, registry):
    dossier = _create(root, registry)
    assert root.households["CZ-HH-2026-Y-00001"] is dossier and len(root.units) == 0


def test_creation_is_version_1_by_the_actor(root, registry):
    v = _create(root, registry).latest
    assert (v.number, v.actor, v.when, v.action) == (1, "archivist", WHEN, "created")


def test_birth_dates_are_filled_from_the_id_numbers(root, registry):
    metadata = _create(root, registry).metadata
    assert (metadata["applicant"]["birth_date"], metadata["members"][0]["birth_date"]) == \
        (dt.date(1980, 5, 6), dt.date(1982, 7, 1))


def test_id_number_is_stored_upper_case(root, registry):
    number = next(n for n in (idnumber.make("320402", dt.date(1980, 5, 6), s) for s in range(1, 1000))
                  if n.endswith("X"))
    data = household_input()
    data["applicant"]["id_number"] = number.lower()
    assert _create(root, registry, data=data).metadata["applicant"]["id_number"] == number


def test_multichoice_is_stored_as_a_sorted_list(root, registry):
    data = household_input(priority_groups=["tekun", "disabled", "dibao"])
    assert _create(root, registry, data=data).metadata["priority_groups"] == ["dibao", "disabled", "tekun"]


def test_json_numbers_are_stored_as_rounded_floats(root, registry):
    metadata = _create(root, registry, data=household_input(income_per_capita=1200.456, assets=30000)).metadata
    assert (metadata["income_per_capita"], metadata["assets"]) == (1200.46, 30000.0)


def test_json_null_counts_as_not_given(root, registry):
    assert _create(root, registry, data=household_input(assets=None)).metadata["assets"] is None


# -- refusing ----------------------------------------------------------------------------------
def test_invalid_input_raises_validation_failed_with_field_messages(root, registry):
    with pytest.raises(ValidationFailed) as info:
        _create(root, registry, data=household_input(phone="12345", category="rich"))
    assert set(info.value.errors) == {"phone", "category"}


def test_invalid_input_adds_nothing(root, registry):
    with pytest.raises(ValidationFailed):
        _create(root, registry, data=household_input(phone="12345"))
    assert len(root.households) == 0


def test_invalid_input_consumes_no_archive_number(root, registry):
    with pytest.raises(ValidationFailed):
        _create(root, registry, data=household_input(phone="12345"))
    assert _create(root, registry).archive_no == "CZ-HH-2026-Y-00001"


def test_input_that_is_not_a_mapping_is_refused(root, registry):
    with pytest.raises(ValidationFailed) as info:
        _create(root, registry, data=["not", "a", "dossier"])
    assert list(info.value.errors) == ["_"]


# -- editing -------------------------------------------------------------------------------------
def test_edit_with_valid_input_adds_a_version(root, registry):
    dossier = _create(root, registry)
    filing.edit_dossier(dossier, registry, household_input(district="钟楼区"), "reviewer", "搬家", when=WHEN)
    assert (dossier.latest.number, dossier.metadata["district"]) == (2, "钟楼区")


def test_edit_with_the_same_input_raises_nothing_changed(root, registry):
    dossier = _create(root, registry)
    with pytest.raises(NothingChanged):
        filing.edit_dossier(dossier, registry, household_input(), "reviewer", when=WHEN)


# -- documents -------------------------------------------------------------------------------------
def test_household_document_is_filed_with_its_checked_facts(root, registry):
    dossier = _create(root, registry)
    doc = filing.file_document(dossier, registry, _doc_input(), PDF, "income.pdf", "archivist", when=WHEN)
    assert (doc.current_file.pages, doc.metadata["date"], dossier.latest.action) == (1, dt.date(2026, 1, 5), "filed")


def test_filed_file_waits_for_its_text_layer(root, registry):
    dossier = _create(root, registry)
    doc = filing.file_document(dossier, registry, _doc_input(), PDF, "income.pdf", "archivist", when=WHEN)
    assert len(root.text_queue) == 1 and doc.current_file.text_status == "pending"


def test_unit_only_document_type_is_refused_in_a_household(root, registry):
    dossier = _create(root, registry)
    with pytest.raises(ValidationFailed) as info:
        filing.file_document(dossier, registry, _doc_input("floor_plan", "户型图"), PDF, "plan.pdf", "archivist")
    assert "户型图" in info.value.errors["doc_type"]
    assert (len(dossier.documents), len(dossier.versions)) == (0, 1)


def test_household_only_document_type_is_refused_in_a_unit(root, registry):
    unit = _create(root, registry, "unit")
    with pytest.raises(ValidationFailed):
        filing.file_document(unit, registry, _doc_input("pledge", "承诺书"), PDF, "pledge.pdf", "archivist")


def test_shared_document_type_is_accepted_in_a_unit(root, registry):
    unit = _create(root, registry, "unit")
    doc = filing.file_document(unit, registry, _doc_input("lease_contract", "租赁合同"), PDF, "lease.pdf",
                               "archivist", when=WHEN)
    assert doc.metadata["doc_type"] == "lease_contract"


def test_document_without_required_metadata_is_refused(root, registry):
    dossier = _create(root, registry)
    with pytest.raises(ValidationFailed) as info:
        filing.file_document(dossier, registry, {"doc_type": "income_proof"}, PDF, "x.pdf", "archivist")
    assert set(info.value.errors) == {"title", "date", "issuer"}


def test_invalid_pdf_is_refused_and_nothing_is_filed(root, registry):
    dossier = _create(root, registry)
    with pytest.raises(InvalidDocument):
        filing.file_document(dossier, registry, _doc_input(), b"not a pdf", "x.pdf", "archivist")
    assert (len(dossier.documents), len(root.text_queue)) == (0, 0)


def test_refiling_an_unknown_document_is_refused_before_the_upload_is_read(root, registry):
    dossier = _create(root, registry)
    with pytest.raises(DocumentNotFound):
        filing.refile_document(dossier, "D0042", b"", "x.pdf", "archivist")


def test_refiled_file_waits_for_its_text_layer(root, registry):
    dossier = _create(root, registry)
    doc = filing.file_document(dossier, registry, _doc_input(), PDF, "a.pdf", "archivist", when=WHEN)
    filing.refile_document(dossier, doc.doc_id, make_pdf("收入证明 更正"), "b.pdf", "archivist", when=WHEN)
    assert len(root.text_queue) == 2
