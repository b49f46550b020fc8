"""Versions (版本): immutable records, and the comparison an inspector reads."""
import dataclasses
import datetime as dt

import pytest

from archive.records.version import DocEntry, Version, action_title, compare, flatten

WHEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
DOC_META = {"doc_type": "income_proof", "title": "收入证明", "date": dt.date(2026, 1, 5),
            "issuer": "天宁区民政局", "doc_no": ""}


def _version(number=1, metadata=None, manifest=(), action="edited"):
    return Version(number, WHEN, "archivist", "why", action, metadata or {}, tuple(manifest))


def _entry(doc_id="D0001", file_no=1, sha="a" * 64, withdrawn=False, reason="", **meta):
    return DocEntry(doc_id, file_no, sha, dict(DOC_META, **meta), withdrawn, reason)


def _people(name="张三", members=("李梅",)):
    return {"applicant": {"name": name, "id_number": "11010519491231002X"},
            "members": [{"name": m, "relation": "spouse"} for m in members],
            "priority_groups": ["dibao"], "notes": ""}


# -- immutability -------------------------------------------------------------------------
def test_version_attributes_cannot_be_assigned():
    version = _version()
    with pytest.raises(dataclasses.FrozenInstanceError):
        version.comment = "rewritten"


def test_document_entry_cannot_be_assigned():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _entry().withdrawn = True


def test_version_finds_a_document_entry_by_id():
    entry = _entry("D0002")
    assert _version(manifest=[_entry(), entry]).document("D0002") is entry


def test_version_has_no_entry_for_an_unknown_document():
    assert _version(manifest=[_entry()]).document("D0099") is None


# -- flatten ----------------------------------------------------------------------------------
def test_flatten_gives_dotted_paths_with_list_positions():
    flat = flatten(_people(members=("李梅", "张小明")))
    assert flat["applicant.name"] == "张三" and flat["members.1.name"] == "张小明"


def test_flatten_keeps_lists_of_codes_whole():
    assert flatten(_people())["priority_groups"] == ["dibao"]


# -- compare: fields ----------------------------------------------------------------------------
def test_identical_versions_have_no_differences():
    assert compare(_version(1, _people()), _version(2, _people())) == ([], [])


def test_changed_nested_field_is_reported_with_old_and_new():
    fields, _ = compare(_version(1, _people("张三")), _version(2, _people("张叁")))
    assert [(f.path, f.old, f.new) for f in fields] == [("applicant.name", "张三", "张叁")]


def test_added_member_is_reported_field_by_field():
    fields, _ = compare(_version(1, _people(members=("李梅",))),
                        _version(2, _people(members=("李梅", "张小明"))))
    assert {f.path for f in fields} == {"members.1.name", "members.1.relation"}
    assert all(f.old is None for f in fields)


def test_removed_field_is_reported_as_new_none():
    old = _people()
    new = dict(old)
    del new["priority_groups"]
    fields, _ = compare(_version(1, old), _version(2, new))
    assert [(f.path, f.old, f.new) for f in fields] == [("priority_groups", ["dibao"], None)]


def test_empty_values_compare_equal():
    """'' , None and an empty list all mean 'not filled in' — no spurious change."""
    fields, _ = compare(_version(1, {"notes": "", "assets": None, "priority_groups": []}),
                        _version(2, {"notes": None, "assets": "", "priority_groups": ()}))
    assert fields == []


# -- compare: documents ------------------------------------------------------------------------
def test_new_document_is_reported_as_added():
    _, docs = compare(_version(1), _version(2, manifest=[_entry()]))
    assert [(d.doc_id, d.change) for d in docs] == [("D0001", "added")]


def test_withdrawn_document_is_reported_as_withdrawn():
    _, docs = compare(_version(1, manifest=[_entry()]),
                      _version(2, manifest=[_entry(withdrawn=True, reason="错档")]))
    assert [d.change for d in docs] == ["withdrawn"]


def test_document_brought_back_is_reported_as_reinstated():
    _, docs = compare(_version(1, manifest=[_entry(withdrawn=True, reason="错档")]),
                      _version(2, manifest=[_entry()]))
    assert [d.change for d in docs] == ["reinstated"]


def test_new_file_is_reported_as_a_file_change():
    _, docs = compare(_version(1, manifest=[_entry(file_no=1, sha="a" * 64)]),
                      _version(2, manifest=[_entry(file_no=2, sha="b" * 64)]))
    assert [(d.change, d.old.file_no, d.new.file_no) for d in docs] == [("file", 1, 2)]


def test_document_metadata_change_names_the_changed_keys():
    _, docs = compare(_version(1, manifest=[_entry()]),
                      _version(2, manifest=[_entry(title="收入证明（更正）", doc_no="天民〔2026〕3号")]))
    assert [(d.change, d.fields) for d in docs] == [("metadata", ("title", "doc_no"))]


def test_unchanged_documents_are_not_reported():
    _, docs = compare(_version(1, manifest=[_entry("D0001"), _entry("D0002")]),
                      _version(2, manifest=[_entry("D0001"), _entry("D0002", title="新题名")]))
    assert [d.doc_id for d in docs] == ["D0002"]


# -- titles -----------------------------------------------------------------------------------------
def test_action_titles_in_both_languages():
    assert (action_title("restored"), action_title("restored", "en")) == ("恢复版本", "Restored a version")
