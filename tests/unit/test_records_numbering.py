"""Archive numbers (档号): built from the pattern, counted per fonds/kind/year, never reused."""
import contextlib
import signal

import pytest

from archive.records.numbering import ArchiveNumbers, NumberingError

HOUSEHOLD = "{fonds}-HH-{year}-Y-{seq:05d}"


@contextlib.contextmanager
def _time_limit(seconds):
    """Turn an endless loop into a failure instead of a hung test run."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def numbers():
    return ArchiveNumbers()


def test_first_number_follows_the_pattern(numbers):
    assert numbers.issue(HOUSEHOLD, "household", "CZ", 2026) == "CZ-HH-2026-Y-00001"


def test_numbers_run_on_within_fonds_kind_and_year(numbers):
    issued = [numbers.issue(HOUSEHOLD, "household", "CZ", 2026) for _ in range(3)]
    assert issued == ["CZ-HH-2026-Y-00001", "CZ-HH-2026-Y-00002", "CZ-HH-2026-Y-00003"]


def test_each_fonds_has_its_own_counter(numbers):
    numbers.issue(HOUSEHOLD, "household", "CZ", 2026)
    assert numbers.issue(HOUSEHOLD, "household", "XM", 2026) == "XM-HH-2026-Y-00001"


def test_each_year_has_its_own_counter(numbers):
    numbers.issue(HOUSEHOLD, "household", "CZ", 2026)
    assert numbers.issue(HOUSEHOLD, "household", "CZ", 2027) == "CZ-HH-2027-Y-00001"


def test_each_kind_has_its_own_counter(numbers):
    numbers.issue(HOUSEHOLD, "household", "CZ", 2026)
    assert numbers.issue("{fonds}-FY-{year}-Y-{seq:05d}", "unit", "CZ", 2026) == "CZ-FY-2026-Y-00001"


def test_pattern_may_use_the_kind(numbers):
    assert numbers.issue("{fonds}/{kind}/{seq}", "unit", "DZ", 2026) == "DZ/unit/1"


def test_changed_pattern_continues_the_running_number(numbers):
    numbers.issue(HOUSEHOLD, "household", "CZ", 2026)
    numbers.issue(HOUSEHOLD, "household", "CZ", 2026)
    assert numbers.issue("{fonds}{year}HH{seq:04d}", "household", "CZ", 2026) == "CZ2026HH0003"


def test_pattern_without_year_never_reuses_last_years_numbers(numbers):
    pattern = "{fonds}-HH-{seq:05d}"
    last_year = [numbers.issue(pattern, "household", "CZ", 2025) for _ in range(2)]
    this_year = numbers.issue(pattern, "household", "CZ", 2026)
    assert this_year not in last_year and this_year == "CZ-HH-00003"


def test_pattern_shared_by_two_kinds_never_reuses_a_number(numbers):
    pattern = "{fonds}-{year}-{seq:05d}"
    household = numbers.issue(pattern, "household", "CZ", 2026)
    unit = numbers.issue(pattern, "unit", "CZ", 2026)
    assert household != unit


@pytest.mark.parametrize("pattern", ["{fonds}-{volume}-{seq}", "{0}-{seq}", "{fonds}-{seq:q}"])
def test_unusable_pattern_raises_numbering_error(numbers, pattern):
    with pytest.raises(NumberingError, match="档号规则"):
        numbers.issue(pattern, "household", "CZ", 2026)


def test_unusable_pattern_consumes_no_number(numbers):
    with pytest.raises(NumberingError):
        numbers.issue("{fonds}-{volume}-{seq}", "household", "CZ", 2026)
    assert numbers.issue(HOUSEHOLD, "household", "CZ", 2026) == "CZ-HH-2026-Y-00001"


def test_pattern_without_a_running_number_raises_numbering_error(numbers):
    """'{fonds}-{year}' can only ever make one number; it must be refused, not loop."""
    with _time_limit(1), pytest.raises(NumberingError):
        numbers.issue("{fonds}-HH-{year}", "household", "CZ", 2026)
        numbers.issue("{fonds}-HH-{year}", "household", "CZ", 2026)
