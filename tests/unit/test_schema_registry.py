"""The schema data files compiled into colander schemas: required fields, messages that
name the field, both languages, and loud failure on a broken schema directory."""
import datetime as dt
import re
import shutil

import pytest

from archive.schema.registry import SchemaError, SchemaRegistry, default_directory
from conftest import edit_text, household_input, schema_errors

TODAY = dt.date(2026, 3, 2)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def schema_dir(tmp_path):
    """A writable copy of the real schemas/ directory, to break one file at a time."""
    target = tmp_path / "schemas"
    shutil.copytree(default_directory(), target)
    # the jurisdictions vocabulary is read from the profiles beside schemas/
    shutil.copytree(default_directory().parent / "workflows", tmp_path / "workflows")
    return target


# -- loading ------------------------------------------------------------------------------
def test_real_schemas_load_with_all_kinds(registry):
    assert set(registry.kinds) == {"household", "unit", "employer", "document"}


def test_vocabulary_terms_keep_their_extra_attributes(registry):
    assert registry.vocabularies["jurisdictions"]["changzhou"].extra["fonds"] == "CZ"


def test_unknown_vocabulary_stops_loading(schema_dir):
    edit_text(schema_dir / "household.yaml", "vocabulary: relations", "vocabulary: relationz")
    with pytest.raises(SchemaError, match="relation.*unknown vocabulary 'relationz'"):
        SchemaRegistry(schema_dir)


def test_unknown_field_type_stops_loading(schema_dir):
    edit_text(schema_dir / "household.yaml", "type: phone", "type: telephone")
    with pytest.raises(SchemaError, match="household.phone: unknown field type 'telephone'"):
        SchemaRegistry(schema_dir)


def test_unknown_rule_stops_loading(schema_dir):
    edit_text(schema_dir / "household.yaml", "rules: [unique_id_numbers,", "rules: [no_such_rule, unique_id_numbers,")
    with pytest.raises(SchemaError, match="no_such_rule"):
        SchemaRegistry(schema_dir)


def test_field_without_title_stops_loading(schema_dir):
    edit_text(schema_dir / "unit.yaml", ", title: {zh: 备注, en: Notes}", "")
    with pytest.raises(SchemaError, match="unit.notes: a field needs a title"):
        SchemaRegistry(schema_dir)


def test_unreadable_yaml_stops_loading(schema_dir):
    (schema_dir / "vocabularies.yaml").write_text("categories: [unclosed\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="vocabularies.yaml"):
        SchemaRegistry(schema_dir)


def test_missing_schema_file_stops_loading(schema_dir):
    (schema_dir / "document.yaml").unlink()
    with pytest.raises(SchemaError, match="document.yaml"):
        SchemaRegistry(schema_dir)


# -- required fields -----------------------------------------------------------------------
def test_valid_household_has_noschema_errors(registry):
    assert schema_errors(registry, "household", household_input()) == {}


@pytest.mark.parametrize("field, message", [
    ("category", "保障类别：必填项"),
    ("income_per_capita", "家庭人均月收入（元）：必填项"),
    ("phone", "联系电话：必填项"),
    ("jurisdiction", "辖区：必填项"),
    ("district", "居住区：必填项"),
    ("address", "现住址：必填项"),
])
def test_missing_required_field_is_reported(registry, field, message):
    data = household_input()
    del data[field]
    assert schema_errors(registry, "household", data) == {field: message}


def test_blank_required_field_counts_as_missing(registry):
    assert schema_errors(registry, "household", household_input(address="   ")) == {"address": "现住址：必填项"}


def test_missing_optional_fields_are_accepted(registry):
    data = household_input()
    for optional in ("priority_groups", "assets", "housing_area_per_capita", "hukou_district", "notes"):
        del data[optional]
    assert schema_errors(registry, "household", data) == {}


def test_missing_member_fields_name_the_member(registry):
    errors = schema_errors(registry, "household", household_input(members=[{"name": "李梅"}]))
    assert errors == {"members.0.id_number": "共同申请人 1 · 身份证号码：必填项",
                      "members.0.relation": "共同申请人 1 · 与申请人关系：必填项"}


def test_missing_applicant_is_reported_in_chinese(registry):
    data = household_input()
    del data["applicant"]
    message = schema_errors(registry, "household", data)["applicant"]
    assert message.startswith("申请人：")
    assert CHINESE.search(message.split("：", 1)[1]), message


def test_non_number_money_is_reported_in_chinese(registry):
    message = schema_errors(registry, "household", household_input(income_per_capita="abc"))["income_per_capita"]
    assert CHINESE.search(message.split("：", 1)[1]), message


def test_invalid_date_is_reported_in_chinese(registry):
    data = household_input()
    data["applicant"]["birth_date"] = "1980-13-45"
    message = schema_errors(registry, "household", data)["applicant.birth_date"]
    assert CHINESE.search(message.split("：", 1)[1]), message


def test_unit_state_is_not_metadata_but_the_procedure_s(registry):
    assert "state" not in [n.name for n in registry["unit"].colander().children]


def test_jurisdictions_come_from_the_profiles(schema_dir):
    profiles = schema_dir.parent / "workflows" / "jurisdictions"
    text = (profiles / "changzhou.yaml").read_text(encoding="utf-8")
    (profiles / "wuxi.yaml").write_text(text.replace("code: changzhou", "code: wuxi").replace(
        "{zh: 常州市, en: Changzhou}", "{zh: 无锡市, en: Wuxi}").replace("fonds: CZ", "fonds: WX"),
        encoding="utf-8")
    registry = SchemaRegistry(schema_dir)
    assert registry.vocabularies["jurisdictions"]["wuxi"].extra["fonds"] == "WX"
    assert registry.vocabularies["jurisdictions"].title("wuxi") == "无锡市"


# -- messages and titles --------------------------------------------------------------------
def test_error_message_names_the_nested_field_in_chinese(registry):
    data = household_input()
    data["applicant"]["id_number"] = "320402198005060112"
    assert schema_errors(registry, "household", data) == {
        "applicant.id_number": "申请人 · 身份证号码：校验码错误（末位应为3），请核对号码"}


def test_error_message_names_the_field_in_english_for_en(registry):
    data = household_input()
    data["applicant"]["id_number"] = "320402198005060112"
    message = schema_errors(registry, "household", data, locale="en")["applicant.id_number"]
    assert message.startswith("Applicant · ID number：")


def test_required_message_is_english_for_en(registry):
    data = household_input()
    del data["category"]
    assert schema_errors(registry, "household", data, locale="en") == {"category": "Category：Required"}


def test_schema_titles_are_english_for_en(registry):
    node = registry["household"].colander("en")
    assert (node["applicant"].title, node["applicant"]["id_number"].title) == ("Applicant", "ID number")


def test_schema_titles_are_chinese_by_default(registry):
    assert registry["household"].colander()["income_per_capita"].title == "家庭人均月收入（元）"


def test_choice_widget_offers_titles_in_the_locale(registry):
    widget = registry["unit"].colander("en")["layout"].widget
    assert ("two", "Two bedrooms") in widget.values


def test_field_title_numbers_list_items_from_one(registry):
    assert registry["household"].field_title("members.2.name") == "共同申请人 3 · 姓名"


def test_field_title_in_english(registry):
    assert registry["household"].field_title("members.0.relation", "en") == "Co-applicants 1 · Relation to applicant"


def test_each_call_gives_a_fresh_schema(registry):
    """Forms change their schema; a change must not leak into the next request."""
    first = registry["household"].colander()
    first["notes"].title = "changed"
    assert registry["household"].colander()["notes"].title == "备注"


# -- display ---------------------------------------------------------------------------------
def test_display_shows_vocabulary_titles(registry):
    assert registry["household"].display("priority_groups", ["dibao", "elderly70"]) == "低保家庭、70周岁以上老人"


def test_display_shows_a_member_relation_title(registry):
    assert registry["household"].display("members.1.relation", "spouse", "en") == "Spouse"


def test_display_keeps_a_code_that_left_the_vocabulary(registry):
    assert registry["household"].display("category", "retired_code") == "retired_code"


def test_display_joins_a_list_of_plain_values_as_a_clerk_writes_it(registry):
    """An employer's 名册 (档号 of its applicants) reads 甲、乙, not a Python list."""
    assert registry["employer"].display("members", ["XM-HH-2024-Y-00001", "XM-HH-2024-Y-00002"]) \
        == "XM-HH-2024-Y-00001、XM-HH-2024-Y-00002"
    assert registry["employer"].display("members", []) == ""


def test_display_formats_money(registry):
    assert registry["household"].display("assets", 30000.0) == "30,000.00"
