"""Field validators and cross-field rules, checked on their own and through the real schemas."""
import datetime as dt

import colander
import pytest

from archive.schema import idnumber
from archive.schema import validators
from conftest import schema_errors, household_input, unit_input

TODAY = dt.date(2026, 3, 2)


def _node(name="field"):
    return colander.SchemaNode(colander.String(), name=name)


def _id_with_x(region="320402", born=dt.date(1985, 3, 14)):
    """A valid number whose check character is X (about one in eleven)."""
    return next(n for n in (idnumber.make(region, born, s) for s in range(1, 1000))
                if n.endswith("X"))


# -- phone ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["13812345678", "199 0000 1111", "0519-88886666",
                                   "051988886666", "010-12345678", "0871-6543210-123"])
def test_mobile_and_landline_with_area_code_are_accepted(value):
    assert validators.phone(_node(), value) is None


@pytest.mark.parametrize("value", ["12812345678", "1381234567", "138123456789",
                                   "88886666", "519-88886666", "abc"])
def test_other_phone_numbers_are_refused(value):
    with pytest.raises(colander.Invalid, match="手机号码"):
        validators.phone(_node(), value)


def test_bad_phone_is_refused_by_the_household_schema(registry):
    errors = schema_errors(registry, "household", household_input(phone="88886666"))
    assert list(errors) == ["phone"]


# -- money and areas --------------------------------------------------------------------
def test_negative_money_is_refused(registry):
    errors = schema_errors(registry, "household", household_input(income_per_capita="-0.01"))
    assert errors == {"income_per_capita": "家庭人均月收入（元）：不能为负数"}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinite_money_are_refused(registry, value):
    errors = schema_errors(registry, "household", household_input(assets=value))
    assert errors == {"assets": "家庭资产（元）：不是有效的数字"}


def test_nan_area_is_refused(registry):
    errors = schema_errors(registry, "household", household_input(housing_area_per_capita="nan"))
    assert list(errors) == ["housing_area_per_capita"]


def test_zero_money_is_accepted(registry):
    assert schema_errors(registry, "household", household_input(assets="0")) == {}


def test_unit_area_below_its_minimum_is_refused(registry):
    errors = schema_errors(registry, "unit", unit_input(area="0.5"))
    assert errors == {"area": "建筑面积（㎡）：不能小于1"}


def test_unit_area_above_its_maximum_is_refused(registry):
    errors = schema_errors(registry, "unit", unit_input(area="300.5"))
    assert errors == {"area": "建筑面积（㎡）：不能大于300"}


def test_quantity_lets_an_empty_optional_value_through():
    assert validators.Quantity()(_node(), None) is None


# -- lengths and vocabularies ---------------------------------------------------------------
def test_too_long_text_is_refused(registry):
    errors = schema_errors(registry, "household", household_input(district="区" * 41))
    assert errors == {"district": "居住区：不能超过40个字符"}


def test_unknown_vocabulary_code_is_refused(registry):
    errors = schema_errors(registry, "household", household_input(category="rich"))
    assert errors == {"category": "保障类别：“rich”不是可选的值"}


def test_unknown_code_in_a_multichoice_is_refused(registry):
    errors = schema_errors(registry, "household", household_input(priority_groups=["dibao", "vip"]))
    assert errors == {"priority_groups": "优先保障情形：“vip”不是可选的值"}


def test_unknown_code_in_a_member_field_is_refused(registry):
    data = household_input()
    data["members"][0]["relation"] = "friend"
    errors = schema_errors(registry, "household", data)
    assert list(errors) == ["members.0.relation"]


# -- ID numbers and cross-field rules -------------------------------------------------------
def test_invalid_id_number_is_refused_with_its_reason(registry):
    data = household_input()
    number = data["applicant"]["id_number"]
    data["applicant"]["id_number"] = number[:-1] + ("1" if number[-1] != "1" else "2")
    errors = schema_errors(registry, "household", data)
    assert "校验码错误" in errors["applicant.id_number"]


def test_duplicate_id_number_names_the_member_field(registry):
    data = household_input(name="张三")
    data["members"][0]["id_number"] = data["applicant"]["id_number"]
    errors = schema_errors(registry, "household", data)
    assert list(errors) == ["members.0.id_number"]
    assert "与张三的身份证号码重复" in errors["members.0.id_number"]


def test_duplicate_between_two_members_names_the_later_one(registry):
    data = household_input()
    data["members"].append(dict(data["members"][0], name="李梅二"))
    errors = schema_errors(registry, "household", data)
    assert errors == {"members.1.id_number":
                      "共同申请人 2 · 身份证号码：与李梅的身份证号码重复，同一号码在一户中只能出现一次"}


def test_duplicate_is_found_whatever_the_case_of_x(registry):
    number = _id_with_x()
    data = household_input()
    data["applicant"]["id_number"] = number
    data["members"][0]["id_number"] = number.lower()
    assert list(schema_errors(registry, "household", data)) == ["members.0.id_number"]


def test_birth_date_that_contradicts_the_id_number_is_refused(registry):
    data = household_input()
    data["applicant"]["birth_date"] = "1980-05-07"   # the number says 1980-05-06
    errors = schema_errors(registry, "household", data)
    assert errors == {"applicant.birth_date": "申请人 · 出生日期：与身份证号码中的出生日期（1980-05-06）不一致"}


def test_member_birth_date_that_contradicts_the_id_number_is_refused(registry):
    data = household_input()
    data["members"][0]["birth_date"] = "1982-01-07"
    assert list(schema_errors(registry, "household", data)) == ["members.0.birth_date"]


def test_birth_date_matching_the_id_number_is_accepted(registry):
    data = household_input()
    data["applicant"]["birth_date"] = "1980-05-06"
    assert schema_errors(registry, "household", data) == {}


def test_applicant_under_18_is_refused(registry):
    # household_input's applicant was born on 1980-05-06.
    errors = schema_errors(registry, "household", household_input(), today=dt.date(1998, 5, 5))
    assert errors == {"applicant.id_number": "申请人 · 身份证号码：申请人须年满18周岁"}


def test_applicant_is_adult_on_the_18th_birthday(registry):
    assert schema_errors(registry, "household", household_input(), today=dt.date(1998, 5, 6)) == {}


def test_minor_co_applicant_is_accepted(registry):
    data = household_input()
    data["members"].append({"name": "张小明", "relation": "child",
                            "id_number": idnumber.make("320402", dt.date(2020, 9, 1), 31)})
    assert schema_errors(registry, "household", data) == {}


def test_id_number_born_after_the_bound_today_is_refused(registry):
    """The schema's bound clock, not the machine's, decides what 'future' is."""
    errors = schema_errors(registry, "household", household_input(), today=dt.date(1982, 1, 1))
    assert "不合理" in errors["members.0.id_number"]


def test_text_fields_refuse_numbers_and_objects_instead_of_stringifying_them(registry):
    """colander's String made 5 into "5" and {"a": 1} into "{'a': 1}"; the API says text."""
    from archive.records import filing
    from conftest import household_input
    for value in (5, {"a": 1}, ["x"], True):
        with pytest.raises(filing.ValidationFailed) as refused:
            filing.validate(registry, "household", household_input(address=value))
        assert "应为文本" in str(refused.value)
