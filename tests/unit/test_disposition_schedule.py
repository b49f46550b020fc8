"""The disposition schedule: periods from the custody table, start events per kind, dates."""
import datetime as dt

import pytest

from archive.disposition.schedule import ScheduleError, add_years, compile_schedule
from disposition_helpers import EXIT, REGISTRY, SCHEDULE, archive, household


def test_exit_starts_the_period_and_the_type_sets_it():
    root = archive()
    dossier = household(root)
    assert SCHEDULE.start(dossier) == EXIT.date()
    assert SCHEDULE.period(dossier) == "D10"
    assert SCHEDULE.due(dossier) == dt.date(2020, 1, 4)
    assert SCHEDULE.due(dossier, extension_years=5) == dt.date(2025, 1, 4)


def test_no_date_before_exit_nor_for_permanent_records():
    root = archive()
    assert SCHEDULE.due(household(root, exited=False)) is None
    assert SCHEDULE.due(household(root, doc_type="application_form", seq=21)) is None


def test_units_never_start_without_a_stock_exit_state():
    from archive.records import filing
    from conftest import unit_input
    unit = filing.create_dossier(archive(), REGISTRY, "unit", unit_input(), "archivist", when=EXIT)
    assert SCHEDULE.start(unit) is None


def test_leap_day():
    assert add_years(dt.date(2024, 2, 29), 10) == dt.date(2034, 2, 28)


@pytest.mark.parametrize("text,key", [
    ("kinds: {household: {event: birth}, unit: {event: filing}}", "kinds.household.event"),
    ("kinds: {household: {event: exit, states: [nowhere]}, unit: {event: filing}}\n"
     "hold_reasons: {other: {zh: 其他}}\nactions: {extend: {zh: a}, destroy: {zh: b}, transfer: {zh: c}}",
     "kinds.household.states"),
    ("kinds: {household: {event: filing}, unit: {event: filing}, employer: {event: filing}}\n"
     "hold_reasons: {other: {zh: 其他}}\n"
     "actions: {destroy: {zh: b}}", "actions"),
])
def test_a_wrong_schedule_stops_start_up_naming_the_key(tmp_path, procedure, text, key):
    path = tmp_path / "disposition.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScheduleError, match=key.replace(".", r"\.")):
        compile_schedule(REGISTRY, procedure.workflows, path=path)


def test_the_shipped_schedule_matches_the_procedure(procedure):
    schedule = compile_schedule(REGISTRY, procedure.workflows)
    assert schedule.kinds["household"].states <= set(procedure.workflows["household"].states)
    assert schedule.title("hold_reasons", "litigation") == "诉讼"


def test_a_schedule_without_the_employers_rule_stops_start_up(tmp_path, procedure):
    path = tmp_path / "disposition.yaml"
    path.write_text("kinds: {household: {event: filing}, unit: {event: filing}}", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"kinds\.employer\.event"):
        compile_schedule(REGISTRY, procedure.workflows, path=path)
