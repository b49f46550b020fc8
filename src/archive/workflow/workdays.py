"""Chinese working days (工作日) for deadlines stated in working days.

China moves public holidays and makes some weekends working days (调休), so a plain
Monday–Friday count is wrong around every holiday. The State Council's calendar comes from
the ``chinesecalendar`` package. Its data ends with the last year the State Council has
published; past that, days are counted Monday–Friday and the result says it is an estimate
so the page can show it as such.
"""
from __future__ import annotations

import calendar
import datetime as _dt
from dataclasses import dataclass

import chinese_calendar

_FIRST, _LAST = (min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year)
_MAX_SPAN = 3660   # no deadline in the rules runs past ten years; refuse nonsense early


def covered(day: _dt.date) -> bool:
    """Whether the published holiday calendar covers this day's year."""
    return _FIRST <= day.year <= _LAST


def is_working_day(day: _dt.date) -> bool:
    if covered(day):
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


@dataclass(frozen=True)
class Due:
    """A computed deadline; ``estimated`` when part of it fell outside the published calendar."""
    day: _dt.date
    estimated: bool = False


def add_working_days(start: _dt.date, n: int) -> Due:
    """The n-th working day after ``start`` (start itself not counted, as rules count)."""
    if n < 0:
        raise ValueError("working days must not be negative")
    day, left, estimated = start, n, not covered(start)
    while left:
        day += _dt.timedelta(days=1)
        estimated = estimated or not covered(day)
        if is_working_day(day):
            left -= 1
    return Due(day, estimated)


def working_days_between(start: _dt.date, end: _dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    if (end - start).days > _MAX_SPAN:
        raise ValueError("span too long")
    return sum(1 for i in range(1, (end - start).days + 1)
               if is_working_day(start + _dt.timedelta(days=i)))


def add_months(day: _dt.date, months: int) -> _dt.date:
    """Calendar months; the 31st becomes the month's last day where the month is shorter."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def after(start: _dt.date, spec: dict) -> Due:
    """The end of a duration from a profile: ``{working_days|days|months|years: n}``."""
    (unit, n), = spec.items()
    n = int(n)
    if unit == "working_days":
        return add_working_days(start, n)
    if unit == "days":
        return Due(start + _dt.timedelta(days=n))
    if unit == "months":
        return Due(add_months(start, n))
    if unit == "years":
        return Due(add_months(start, 12 * n))
    raise ValueError(f"unknown duration unit {unit!r}")


UNITS = {"working_days": ("个工作日", "working days"), "days": ("日", "days"),
         "months": ("个月", "months"), "years": ("年", "years")}


def describe(spec: dict, locale="zh") -> str:
    """“7个工作日”, “3 months”: a duration as the rules write it."""
    (unit, n), = spec.items()
    zh, en = UNITS[unit]
    return f"{n} {en}" if locale == "en" else f"{n}{zh}"
