"""Every city's profile, walked: a household from application to exit, a unit through two
leases; each city's own durations, limits and rent factor are the ones applied."""
import datetime as dt

import pytest

from archive.workflow.workdays import after
from walk import DAY, T0, after_period, file, new_household, new_unit, prepared, stage_docs, step

CITIES = ("qujing", "tengchong", "xiamen", "changzhou", "dezhou")


def test_all_five_seed_cities_have_a_profile(procedure):
    assert {p.code for p in procedure.profiles} == set(CITIES)


@pytest.mark.parametrize("city", CITIES)
def test_household_from_application_to_exit(city, procedure, root, registry):
    profile = procedure.profiles[city]
    unit = new_unit(procedure, root, "vacant", jurisdiction=city, area=45.0)   # 德州: 2 persons, 45 m²
    household = new_household(procedure, root, jurisdiction=city, income_per_capita=900.0,
                              assets=5000, housing_area_per_capita=6.0)
    assert household.archive_no.startswith(profile.fonds + "-HH-")
    assert household.due == after(dt.date(2026, 3, 2), profile.duration("accept")).day
    when = T0
    prepared(procedure, root, registry, household, "accept", when)
    assert household.due == after(dt.date(2026, 3, 2), profile.duration("review")).day
    prepared(procedure, root, registry, household, "approve", when)
    prepared(procedure, root, registry, household, "publish", when)
    assert household.state == "publicity"
    when = after_period(procedure, household, "publicity", when)
    prepared(procedure, root, registry, household, "register", when)
    step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
    assert household.due == after(procedure.today(when), profile.duration("sign")).day
    start = procedure.today(when) + DAY
    years = min(3, profile.value("lease.max_years", 3))
    end = start.replace(year=start.year + years) - DAY
    prepared(procedure, root, registry, household, "sign", when + DAY,
             inputs={"start": start.isoformat(), "end": end.isoformat()})
    lease = household.lease
    assert (household.state, unit.state, lease.state) == ("leased", "leased", "current")
    assert lease.deposit == profile.value("lease.deposit")
    when += 340 * DAY
    assert household.due == after(procedure.today(when - 340 * DAY + DAY), profile.duration("annual_review")).day
    prepared(procedure, root, registry, household, "annual_review", when)
    prepared(procedure, root, registry, household, "change", when + DAY, comment="子女出生，新增家庭成员")
    prepared(procedure, root, registry, household, "renew", when + 2 * DAY,
             inputs={"end": end.replace(year=end.year + 1).isoformat()})
    assert lease.end == end.replace(year=end.year + 1) and len(lease.renewals) == 1
    prepared(procedure, root, registry, household, "exit", when + 3 * DAY, comment="家庭收入超过标准")
    factor = profile.value("transition_rent_factor", 1.0)
    assert lease.transition_rent == round(lease.rent * factor, 2)
    assert household.due == lease.transition_until == after(
        procedure.today(when + 3 * DAY), profile.duration("transition")).day
    prepared(procedure, root, registry, household, "complete_exit", when + 40 * DAY)
    assert (household.state, unit.state, lease.state) == ("exited", "vacating", "ended")
    steps = [v.transition for v in household.history() if v.action == "transition"][::-1]
    assert steps == ["accept", "approve", "publish", "register", "allocate", "sign",
                     "annual_review", "change", "renew", "exit", "complete_exit"]
    assert [v.transition for v in unit.history() if v.action == "transition"][::-1] == \
        ["allocate", "start_lease", "end_lease"]
    assert any(v.action == "lease" for v in unit.history())   # the renewal and transition noted


def test_tengchong_transition_rent_is_one_and_a_half_times(procedure):
    assert procedure.profiles["tengchong"].value("transition_rent_factor") == 1.5
    assert procedure.profiles["tengchong"].duration("transition") == {"months": 3}


def test_dezhou_publicity_counts_working_days(procedure):
    assert procedure.profiles["dezhou"].duration("publicity") == {"working_days": 3}


def test_unit_from_delivery_through_two_leases(procedure, root, registry):
    unit = new_unit(procedure, root, "building")
    prepared(procedure, root, registry, unit, "deliver", T0, roles=("archivist",))
    prepared(procedure, root, registry, unit, "list", T0 + DAY, stage="list_unit", roles=("archivist",))
    tenants = []
    when = T0 + 2 * DAY
    for n in range(2):
        household = new_household(procedure, root, when, name=("王五", "赵六")[n], seq=31 + 10 * n)
        from walk import to_registered
        when = to_registered(procedure, root, registry, household, when)
        step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
        prepared(procedure, root, registry, household, "sign", when,
                 inputs={"start": procedure.today(when).isoformat(),
                         "end": procedure.today(when).replace(year=procedure.today(when).year + 2).isoformat()})
        tenants.append(household)
        when += 200 * DAY
        if n == 0:
            prepared(procedure, root, registry, household, "exit", when, comment="自愿退出")
            prepared(procedure, root, registry, household, "complete_exit", when + DAY)
            step(procedure, root, unit, "send_to_repair", when + 2 * DAY, comment="墙面渗水", roles=("archivist",))
            prepared(procedure, root, registry, unit, "repaired", when + 20 * DAY, roles=("archivist",))
        else:
            prepared(procedure, root, registry, household, "force_exit", when, comment="转租他人")
            prepared(procedure, root, registry, unit, "accept_return", when + 5 * DAY, roles=("archivist",))
        when += 30 * DAY
    assert unit.state == "vacant" and unit.lease is None
    assert [lease.household_no for lease in unit.leases] == [t.archive_no for t in tenants]
    assert [lease.state for lease in unit.leases] == ["ended", "ended"]
    assert unit.leases[0].lease_id.endswith("/01") and unit.leases[1].lease_id.endswith("/02")
    flagged = dict(tenants[1].latest.details)
    assert flagged["标记"] == "强制退出"
    assert [v.transition for v in unit.history() if v.action == "transition"][::-1] == [
        "deliver", "list", "allocate", "start_lease", "end_lease", "send_to_repair", "repaired",
        "allocate", "start_lease", "end_lease", "accept_return"]
