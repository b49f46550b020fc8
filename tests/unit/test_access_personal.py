"""Personal information (个人信息): the fields marked personal are masked, the rest shown."""
import pytest

from archive.access.personal import has_personal, mask_metadata, mask_path, mask_value
from conftest import household_input, unit_input


@pytest.fixture
def household():
    return household_input()   # applicant 320402198005060113, member 320402198207010122


def test_applicant_id_number_is_masked(registry, household):
    masked = mask_metadata(registry["household"], household)
    assert masked["applicant"]["id_number"] == "3204**********0113"


def test_member_id_number_is_masked(registry, household):
    masked = mask_metadata(registry["household"], household)
    assert masked["members"][0]["id_number"] == "3204**********0122"


def test_phone_is_masked_keeping_prefix_and_last_four(registry, household):
    assert mask_metadata(registry["household"], household)["phone"] == "138****5678"


def test_address_is_masked_after_the_district(registry, household):
    assert mask_metadata(registry["household"], household)["address"] == "常州市天宁区***"


def test_names_and_other_fields_are_left_as_they_are(registry, household):
    masked = mask_metadata(registry["household"], household)
    assert (masked["applicant"]["name"], masked["members"][0]["name"], masked["members"][0]["relation"],
            masked["income_per_capita"], masked["district"]) == ("张三", "李梅", "spouse", 1200.5, "天宁区")


def test_masking_leaves_the_original_untouched(registry, household):
    original = household_input()
    mask_metadata(registry["household"], household)
    assert household == original


def test_empty_personal_value_stays_empty(registry, household):
    household["phone"] = ""
    assert mask_metadata(registry["household"], household)["phone"] == ""


def test_short_address_keeps_only_its_first_character(registry, household):
    household["address"] = "龙锦路88号"
    assert mask_metadata(registry["household"], household)["address"] == "龙***"


def test_landline_is_masked():
    assert mask_value("phone", "0519-88886666") == "051******6666"


def test_unit_metadata_has_nothing_to_mask(registry):
    assert mask_metadata(registry["unit"], unit_input()) == unit_input()


def test_household_schema_has_personal_fields_and_unit_schema_none(registry):
    assert (has_personal(registry["household"]), has_personal(registry["unit"])) == (True, False)


def test_mask_path_masks_a_personal_field_inside_a_list(registry):
    assert mask_path(registry["household"], "members.1.id_number", "320402198207010122") == "3204**********0122"


def test_mask_path_leaves_other_fields(registry):
    assert mask_path(registry["household"], "members.1.name", "李梅") == "李梅"
