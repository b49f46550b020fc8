"""Resident identity numbers (居民身份证号码, GB 11643-1999).

An 18-character number: 6-digit region code, 8-digit birth date, 3-digit sequence
(odd for men, even for women) and a check character computed mod 11. The check
catches almost every typing error, so we validate on entry instead of storing a
number a clerk mistyped (DOMAIN.md, "Identity numbers").
"""
from __future__ import annotations

import datetime as _dt
import re

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
# Full-width digits (from Chinese input methods) are the same number, not a second spelling.
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＸｘX", "0123456789XXX")

# First two digits of valid province-level region codes (GB/T 2260).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
    "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
    "61", "62", "63", "64", "65", "71", "81", "82", "83", "91",
})


class InvalidIdNumber(ValueError):
    """An identity number that cannot be right; the message says why, in Chinese."""


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_MAP[total % 11]


def normalize(value: str) -> str:
    """Strip blanks and upper-case a trailing x, as clerks type it either way."""
    return (value or "").strip().replace(" ", "").replace("\u3000", "").translate(_FULLWIDTH).upper()


def birth_date(number: str) -> _dt.date:
    """The birth date encoded in a (normalized, well-shaped) number."""
    return _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def validate(value: str, today: _dt.date | None = None) -> str:
    """Return the normalized number or raise InvalidIdNumber with a clerk-readable reason.

    Checks shape, province code, a real birth date not in the future nor before 1900,
    and the check character.
    """
    number = normalize(value)
    if len(number) != 18:
        raise InvalidIdNumber(f"应为18位，实际为{len(number)}位")
    if not _SHAPE.match(number):
        raise InvalidIdNumber("前17位应为数字，最后一位为数字或X")
    if number[:2] not in PROVINCES:
        raise InvalidIdNumber(f"地区码“{number[:6]}”不存在")
    try:
        born = birth_date(number)
    except ValueError:
        raise InvalidIdNumber(f"出生日期“{number[6:14]}”不是有效日期") from None
    today = today or _dt.date.today()
    if born > today or born.year < 1900:
        raise InvalidIdNumber(f"出生日期“{number[6:14]}”不合理")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(f"校验码错误（末位应为{expected}），请核对号码")
    return number


def mask(number: str) -> str:
    """Mask all but the region's first four and the last four characters (5303**********1234)."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def make(region: str, born: _dt.date, sequence: int) -> str:
    """Build a valid number; the demo city and the tests need realistic people."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_char(first17)
