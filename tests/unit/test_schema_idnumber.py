"""Resident identity numbers (GB 11643): what a clerk's typing is checked against."""
import datetime as dt

import pytest

from archive.schema import idnumber
from archive.schema.idnumber import InvalidIdNumber

TODAY = dt.date(2026, 3, 2)
# The example number printed in GB 11643-1999 itself; its check character is X.
STANDARD_EXAMPLE = "11010519491231002X"


def _with_check(first17):
    return first17 + idnumber.check_char(first17)


def test_check_character_of_the_standard_example_is_x():
    assert idnumber.check_char(STANDARD_EXAMPLE[:17]) == "X"


def test_number_ending_in_x_is_valid():
    assert idnumber.validate(STANDARD_EXAMPLE, today=TODAY) == STANDARD_EXAMPLE


def test_lower_case_x_and_blanks_are_normalized():
    assert idnumber.validate(" 110105 19491231002x ", today=TODAY) == STANDARD_EXAMPLE


def test_wrong_check_character_is_refused_with_the_expected_one():
    with pytest.raises(InvalidIdNumber, match="末位应为X"):
        idnumber.validate("110105194912310021", today=TODAY)


def test_single_mistyped_digit_is_caught():
    typo = STANDARD_EXAMPLE[:15] + "5" + STANDARD_EXAMPLE[16:]   # sequence 002 -> 052
    with pytest.raises(InvalidIdNumber, match="校验码"):
        idnumber.validate(typo, today=TODAY)


@pytest.mark.parametrize("value, length", [("11010519491231002", 17),
                                           ("11010519491231002X1", 19), ("", 0)])
def test_wrong_length_is_refused_with_the_actual_length(value, length):
    with pytest.raises(InvalidIdNumber, match=f"应为18位，实际为{length}位"):
        idnumber.validate(value, today=TODAY)


@pytest.mark.parametrize("value", ["X10105194912310021", "1101051949123100AX", "11010519491231002Y"])
def test_wrong_shape_is_refused(value):
    with pytest.raises(InvalidIdNumber, match="前17位应为数字"):
        idnumber.validate(value, today=TODAY)


def test_unknown_province_code_is_refused():
    number = idnumber.make("990101", dt.date(1980, 1, 1), 11)
    with pytest.raises(InvalidIdNumber, match="地区码“990101”不存在"):
        idnumber.validate(number, today=TODAY)


def test_impossible_birth_date_is_refused():
    number = _with_check("530302" + "19990230" + "123")
    with pytest.raises(InvalidIdNumber, match="出生日期“19990230”不是有效日期"):
        idnumber.validate(number, today=TODAY)


def test_birth_date_after_today_is_refused():
    number = idnumber.make("530302", TODAY + dt.timedelta(days=1), 123)
    with pytest.raises(InvalidIdNumber, match="不合理"):
        idnumber.validate(number, today=TODAY)


def test_birth_today_is_accepted():
    """A newborn co-applicant has a valid number from the day of birth."""
    number = idnumber.make("530302", TODAY, 124)
    assert idnumber.validate(number, today=TODAY) == number


def test_birth_before_1900_is_refused():
    number = idnumber.make("530302", dt.date(1899, 12, 31), 123)
    with pytest.raises(InvalidIdNumber, match="不合理"):
        idnumber.validate(number, today=TODAY)


def test_birth_date_is_read_from_the_number():
    assert idnumber.birth_date(STANDARD_EXAMPLE) == dt.date(1949, 12, 31)


def test_mask_keeps_first_four_and_last_four():
    assert idnumber.mask("530302198503141234") == "5303**********1234"


def test_mask_of_empty_is_empty():
    assert idnumber.mask("") == ""


def test_mask_of_a_short_value_hides_everything():
    assert idnumber.mask("12345678") == "********"


@pytest.mark.parametrize("region, born, seq", [
    ("320402", dt.date(1980, 5, 6), 11),
    ("530302", dt.date(2000, 2, 29), 998),
    ("350203", dt.date(1955, 12, 31), 7),
    ("371402", dt.date(2010, 1, 1), 1005),   # sequence wraps to three digits
])
def test_made_numbers_pass_validation_and_encode_the_birth_date(region, born, seq):
    number = idnumber.make(region, born, seq)
    assert idnumber.validate(number, today=TODAY) == number
    assert idnumber.birth_date(number) == born
