"""The procedure engine: steps, guards with their messages, leases joining two dossiers."""
import datetime as dt

import pytest

from archive.workflow.credit import Ban
from archive.workflow import NotPermitted, TransitionRefused, UnknownTransition
import walk
from walk import DAY, REVIEWER, T0, stage_docs, step

def new_household(root, registry, procedure, when=T0, **extra):
    return walk.new_household(procedure, root, when, **extra)


def new_unit(root, registry, procedure, state="vacant", **extra):
    return walk.new_unit(procedure, root, state, **extra)


def file(dossier, registry, *types, when=T0):
    walk.file(registry, dossier, *types, when=when)


def to_registered(procedure, root, registry, household, when=T0):
    return walk.to_registered(procedure, root, registry, household, when)


# -- the definitions -------------------------------------------------------------------------
def test_every_profile_drives_both_procedures(procedure):
    assert {p.code for p in procedure.profiles} >= {"changzhou"}
    assert procedure.workflows["household"].initial == "applied"
    assert procedure.workflows["unit"].initial == "building"


def test_a_new_household_starts_awaiting_acceptance_with_a_working_day_deadline(root, registry, procedure):
    household = new_household(root, registry, procedure)
    assert household.state == "applied" and household.latest.state == "applied"
    # Changzhou: 7 working days from Monday 2 March 2026 → Wednesday 11 March
    assert procedure.due(household).day == dt.date(2026, 3, 11)


def test_deadline_skips_the_national_day_holiday(root, registry, procedure):
    household = new_household(root, registry, procedure)
    household.state_since = dt.datetime(2026, 9, 29, 2, tzinfo=dt.timezone.utc)
    # 30 Sep works, 1–7 Oct are the holiday, Saturday 10 Oct is a 调休 working day:
    # 30/9, 8/10, 9/10, 10/10, 12/10, 13/10, 14/10 (a Monday–Friday count would say 8 Oct)
    assert procedure.due(household).day == dt.date(2026, 10, 14)


# -- steps and guards ------------------------------------------------------------------------
def test_accept_is_refused_naming_the_missing_documents(root, registry, procedure):
    household = new_household(root, registry, procedure)
    with pytest.raises(TransitionRefused) as info:
        step(procedure, root, household, "accept", T0)
    assert "缺少文件" in info.value.problems[0] and "申请表" in info.value.problems[0]
    assert household.state == "applied" and len(household.versions) == 1


def test_accept_records_a_version_with_who_when_why(root, registry, procedure):
    household = new_household(root, registry, procedure)
    file(household, registry, *stage_docs(procedure, household, "accept"))
    version = step(procedure, root, household, "accept", T0 + DAY, comment="材料齐全")
    assert household.state == "accepted"
    assert (version.action, version.transition, version.actor, version.comment) == \
        ("transition", "accept", "reviewer", "材料齐全")
    assert version.state == "accepted" and household.state_since == T0 + DAY


def test_a_step_from_the_wrong_state_is_refused(root, registry, procedure):
    household = new_household(root, registry, procedure)
    with pytest.raises(TransitionRefused, match="待受理.*签约入住"):
        step(procedure, root, household, "sign", T0)


def test_a_unit_from_existing_stock_may_start_vacant_but_not_leased(root, registry, procedure):
    assert new_unit(root, registry, procedure, state="vacant").state == "vacant"
    with pytest.raises(Exception, match="空置待配"):
        new_unit(root, registry, procedure, state="leased")


def test_an_unknown_or_driven_step_is_refused(root, registry, procedure):
    household = new_household(root, registry, procedure)
    with pytest.raises(UnknownTransition):
        step(procedure, root, household, "teleport", T0)
    unit = new_unit(root, registry, procedure)
    with pytest.raises(UnknownTransition):
        step(procedure, root, unit, "allocate", T0)


def test_a_role_not_named_by_the_step_is_refused(root, registry, procedure):
    household = new_household(root, registry, procedure)
    with pytest.raises(NotPermitted, match="审核员"):
        step(procedure, root, household, "accept", T0, roles=("inspector",))


def test_a_required_comment_is_required(root, registry, procedure):
    household = new_household(root, registry, procedure)
    with pytest.raises(TransitionRefused, match="必须填写说明"):
        step(procedure, root, household, "refuse", T0, comment="  ")


def test_a_banned_member_stops_acceptance_with_the_reason_and_end(root, registry, procedure):
    household = new_household(root, registry, procedure)
    file(household, registry, *stage_docs(procedure, household, "accept"))
    member = household.metadata["members"][0]
    root.credit.record_ban(Ban(member["id_number"], "fraud", dt.date(2024, 1, 1), dt.date(2029, 1, 1)))
    with pytest.raises(TransitionRefused) as info:
        step(procedure, root, household, "accept", T0)
    assert info.value.problems == ["李梅因“提供虚假材料”被限制申请，至 2028-12-31 止"]


def test_an_expired_ban_no_longer_stops_anyone(root, registry, procedure):
    household = new_household(root, registry, procedure)
    file(household, registry, *stage_docs(procedure, household, "accept"))
    person = household.metadata["applicant"]["id_number"]
    root.credit.record_ban(Ban(person, "fraud", dt.date(2021, 1, 1), dt.date(2026, 3, 2)))
    step(procedure, root, household, "accept", T0)
    assert household.state == "accepted"


def test_income_over_the_limit_needs_an_override_with_a_comment_and_is_flagged(root, registry, procedure):
    household = new_household(root, registry, procedure, income_per_capita=9000)
    file(household, registry, *stage_docs(procedure, household, "accept"),
         *stage_docs(procedure, household, "approve"))
    step(procedure, root, household, "accept", T0)
    with pytest.raises(TransitionRefused) as info:
        step(procedure, root, household, "approve", T0)
    assert info.value.overridable and "家庭人均月收入" in info.value.problems[0] and "超过常州市" in info.value.problems[0]
    with pytest.raises(TransitionRefused, match="说明"):
        step(procedure, root, household, "approve", T0, comment="", override=True)
    version = step(procedure, root, household, "approve", T0, comment="因病致贫，经集体研究破格", override=True)
    assert household.state == "approved"
    assert dict(version.details)["破格办理"].startswith("家庭人均月收入")


def test_a_strict_limit_refuses_the_limit_itself(root, registry, procedure):
    household = new_household(root, registry, procedure, housing_area_per_capita=18.0)
    file(household, registry, *stage_docs(procedure, household, "accept"),
         *stage_docs(procedure, household, "approve"))
    step(procedure, root, household, "accept", T0)
    with pytest.raises(TransitionRefused) as info:
        step(procedure, root, household, "approve", T0)
    assert info.value.problems == ["现人均住房面积（㎡） 18.0 超过常州市的限额（应低于 18）"]


def test_register_is_refused_while_publicity_runs_and_says_how_long(root, registry, procedure):
    household = new_household(root, registry, procedure)
    for stage in ("accept", "approve", "publish", "register"):
        file(household, registry, *stage_docs(procedure, household, stage))
    for name in ("accept", "approve", "publish"):
        step(procedure, root, household, name, T0)
    with pytest.raises(TransitionRefused) as info:
        step(procedure, root, household, "register", T0 + 3 * DAY)
    assert info.value.problems == ["公示期未满：7日，自 2026-03-02 起算，至 2026-03-09 期满，还剩5天"]
    step(procedure, root, household, "register", T0 + 8 * DAY)
    assert household.state == "registered"


def test_objection_branch_and_its_review(root, registry, procedure):
    household = new_household(root, registry, procedure)
    for stage in ("accept", "approve", "publish"):
        file(household, registry, *stage_docs(procedure, household, stage))
    for name in ("accept", "approve", "publish"):
        step(procedure, root, household, name, T0)
    step(procedure, root, household, "object", T0 + DAY, comment="邻居反映其有房产")
    with pytest.raises(TransitionRefused, match="异议"):
        step(procedure, root, household, "dismiss_objection", T0 + 2 * DAY, comment="核查无房")
    file(household, registry, "objection")
    step(procedure, root, household, "dismiss_objection", T0 + 2 * DAY, comment="核查无房")
    assert household.state == "registered"


# -- leases ------------------------------------------------------------------------------------
def test_allocation_signing_and_exit_move_both_dossiers_together(root, registry, procedure):
    household = new_household(root, registry, procedure)
    unit = new_unit(root, registry, procedure)
    when = to_registered(procedure, root, registry, household)
    step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
    assert (household.state, unit.state) == ("allocated", "allocated")
    assert unit.latest.transition == "allocate" and household.archive_no in unit.latest.comment
    file(household, registry, *stage_docs(procedure, household, "sign"), when=when)
    step(procedure, root, household, "sign", when + DAY,
         inputs={"start": "2026-04-01", "end": "2029-03-31"})
    lease = household.lease
    assert lease is unit.lease and lease.state == "current" and lease.rent == 620
    assert (household.state, unit.state) == ("leased", "leased")
    assert dict(household.latest.details)["租期"] == "2026-04-01 至 2029-03-31"
    assert dict(unit.latest.details)["租期"] == "2026-04-01 至 2029-03-31"
    file(household, registry, *stage_docs(procedure, household, "exit"), when=when)
    step(procedure, root, household, "exit", when + 30 * DAY, comment="收入超标")
    assert household.state == "exiting" and lease.transition_until is not None
    file(household, registry, *stage_docs(procedure, household, "complete_exit"), when=when)
    step(procedure, root, household, "complete_exit", when + 60 * DAY)
    assert (household.state, unit.state) == ("exited", "vacating")
    assert lease.state == "ended" and household.lease is None and unit.lease is None
    assert unit.latest.transition == "end_lease"


def test_a_unit_cannot_be_allocated_twice(root, registry, procedure):
    unit = new_unit(root, registry, procedure)
    first = new_household(root, registry, procedure)
    second = new_household(root, registry, procedure, name="王五", seq=31)
    when = to_registered(procedure, root, registry, first)
    to_registered(procedure, root, registry, second)
    step(procedure, root, first, "allocate", when, inputs={"unit": unit.archive_no})
    with pytest.raises(TransitionRefused, match=f"已配租给 {first.archive_no}"):
        step(procedure, root, second, "allocate", when, inputs={"unit": unit.archive_no})
    assert second.state == "registered" and second.lease is None


def test_a_lease_longer_than_the_city_allows_is_refused(root, registry, procedure):
    household = new_household(root, registry, procedure)
    unit = new_unit(root, registry, procedure)
    when = to_registered(procedure, root, registry, household)
    step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
    file(household, registry, *stage_docs(procedure, household, "sign"), when=when)
    with pytest.raises(TransitionRefused) as info:
        step(procedure, root, household, "sign", when, inputs={"start": "2026-04-01", "end": "2032-04-01"})
    assert info.value.problems == ["租期 6 年超过本辖区上限 5 年"]
    assert household.state == "allocated" and household.lease.state == "offered"


def test_declining_without_cause_lapses_frees_the_unit_and_bans_for_the_city_term(root, registry, procedure):
    household = new_household(root, registry, procedure)
    unit = new_unit(root, registry, procedure)
    when = to_registered(procedure, root, registry, household)
    step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
    step(procedure, root, household, "decline", when + DAY, comment="不愿入住")
    assert (household.state, unit.state) == ("lapsed", "vacant")
    bans = root.credit.active_bans(household.metadata["applicant"]["id_number"], dt.date(2027, 3, 1))
    assert [b.reason for b in bans] == ["decline"]          # Changzhou: 2 years


def test_a_unit_that_is_not_vacant_cannot_be_allocated(root, registry, procedure):
    household = new_household(root, registry, procedure)
    unit = new_unit(root, registry, procedure, state="building")
    when = to_registered(procedure, root, registry, household)
    with pytest.raises(TransitionRefused, match="筹集/在建"):
        step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})


# -- worklists ---------------------------------------------------------------------------------
def test_worklist_shows_soonest_deadline_first_and_marks_overdue(root, registry, procedure):
    old = new_household(root, registry, procedure)
    new = new_household(root, registry, procedure, when=T0 + 10 * DAY, name="赵六", seq=41)
    items, total = procedure.worklist(root, REVIEWER, when=T0 + 14 * DAY)
    assert [i.dossier for i in items] == [old, new] and total == 2
    assert items[0].overdue and not items[1].overdue
    assert procedure.worklist(root, ("inspector",), when=T0)[0] == []
