"""Chinese working days: holidays and 调休 weekends from the State Council's calendar."""
import datetime as dt

import pytest

from archive.workflow import workdays

D = dt.date


def test_spring_festival_week_is_not_counted():
    # 2026 Spring Festival: 15–23 Feb off; Saturday 14 Feb and 28 Feb are working days
    assert workdays.add_working_days(D(2026, 2, 12), 3).day == D(2026, 2, 24)


def test_a_weekend_made_a_working_day_counts():
    assert workdays.is_working_day(D(2026, 10, 10))          # Saturday, 调休
    assert not workdays.is_working_day(D(2026, 10, 5))       # Monday, National Day


def test_beyond_the_published_calendar_is_an_estimate():
    due = workdays.add_working_days(D(2026, 12, 28), 5)
    assert due.estimated and due.day == D(2027, 1, 4)
    assert not workdays.add_working_days(D(2026, 12, 1), 5).estimated


def test_working_days_between_counts_after_start_up_to_end():
    assert workdays.working_days_between(D(2026, 9, 30), D(2026, 10, 12)) == 4
    assert workdays.working_days_between(D(2026, 10, 12), D(2026, 9, 30)) == -4


def test_calendar_durations_and_month_ends():
    assert workdays.after(D(2026, 1, 31), {"months": 1}).day == D(2026, 2, 28)
    assert workdays.after(D(2024, 2, 29), {"years": 1}).day == D(2025, 2, 28)
    assert workdays.after(D(2026, 3, 2), {"days": 7}).day == D(2026, 3, 9)
    with pytest.raises(ValueError):
        workdays.after(D(2026, 3, 2), {"weeks": 1})


def test_describe_speaks_like_the_rules():
    assert workdays.describe({"working_days": 15}) == "15个工作日"
    assert workdays.describe({"months": 3}, "en") == "3 months"
