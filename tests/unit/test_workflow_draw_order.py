"""Allocation follows the draw (issue 16, item 2): units are offered in the order of the
household's newest drawn lottery (选房顺序号), tier by tier; out of turn is refused naming
the household ahead, unless a recorded exception (declined with cause, absent) moved the
turn on."""
import datetime as dt
import hashlib

import pytest

import walk
from archive.access.security import RoleMatrix
from archive.root import ArchiveRoot
from archive.schema.registry import default_directory
from archive.workflow import TransitionRefused, WorkflowError, build
from archive.workflow.lottery import holding
from conftest import edited_workflows
from walk import DAY, T0, step

SEED = "order-seed-2026"
TIERS = [["elderly70", "disabled"], ["dibao", "tekun", "youfu", "jianyiyongwei", "jisheng"]]


@pytest.fixture
def drawn(procedure, registry):
    """Four Changzhou households registered, drawn in one lottery; and five vacant units."""
    root = ArchiveRoot(registry)
    groups = [[], ["elderly70"], ["dibao"], []]
    nos = []
    for i, g in enumerate(groups):
        household = walk.new_household(procedure, root, name=f"申请人{i}", seq=11 + 10 * i,
                                       priority_groups=g)
        when = walk.to_registered(procedure, root, registry, household)
        nos.append(household.archive_no)
    announced = when + DAY
    lottery, _ = holding.announce(root, registry, "changzhou", nos, "reviewer", TIERS,
                                  (announced + 5 * DAY).date(), hashlib.sha256(SEED.encode()).hexdigest(),
                                  when=announced)
    at = announced + 5 * DAY
    holding.draw_lottery(root, registry, lottery, SEED, "reviewer", when=at)
    units = [walk.new_unit(procedure, root, unit_no=f"60{i}").archive_no for i in range(5)]
    order = [no for _, no, _ in lottery.order]
    return root, lottery, order, units, at + DAY


def _allocate(procedure, root, no, unit, when):
    return step(procedure, root, root.households[no], "allocate", when, inputs={"unit": unit})


def test_the_order_is_tier_by_tier(drawn):
    root, lottery, order, _, _ = drawn
    assert root.households[order[0]].metadata["priority_groups"] == ["elderly70"]
    assert root.households[order[1]].metadata["priority_groups"] == ["dibao"]


def test_units_are_offered_in_the_draw_s_order(procedure, drawn):
    root, lottery, order, units, when = drawn
    for no, unit in zip(order, units):
        _allocate(procedure, root, no, unit, when)
        assert root.households[no].state == "allocated"


def test_out_of_turn_is_refused_naming_who_is_ahead(procedure, drawn):
    root, lottery, order, units, when = drawn
    with pytest.raises(TransitionRefused) as exc:
        _allocate(procedure, root, order[2], units[0], when)
    first = order[0]
    assert exc.value.problems == [
        f"选房顺序未到：本户为摇号 {lottery.lottery_id} 第 3 号，排在前面的第 1 号 "
        f"{lottery.name_of(first)}（{first}）尚未选房；如其有正当理由放弃或未到场，"
        f"请先在其档案中办理“有正当理由放弃”或“未到场选房，顺延”"]
    assert "*" in lottery.name_of(first)              # the published, masked name
    assert not exc.value.overridable and root.households[order[2]].state == "registered"


def test_an_absent_household_recorded_moves_the_turn_on(procedure, drawn):
    root, lottery, order, units, when = drawn
    step(procedure, root, root.households[order[0]], "skip_turn", when, comment="通知后未到场选房")
    assert root.households[order[0]].state == "registered"
    _allocate(procedure, root, order[1], units[0], when)
    with pytest.raises(TransitionRefused) as exc:     # the third is still ahead of the fourth
        _allocate(procedure, root, order[3], units[1], when)
    assert f"排在前面的第 3 号 {lottery.name_of(order[2])}（{order[2]}）" in exc.value.problems[0]


def test_declining_with_cause_moves_the_turn_on(procedure, registry, drawn):
    root, lottery, order, units, when = drawn
    _allocate(procedure, root, order[0], units[0], when)
    step(procedure, root, root.households[order[0]], "decline_with_cause", when + DAY,
         comment="所配房源无电梯，申请人行动不便")
    assert root.households[order[0]].state == "registered"
    _allocate(procedure, root, order[1], units[1], when + DAY)
    assert root.households[order[1]].state == "allocated"


def test_a_household_in_no_lottery_is_allocated_directly(procedure, registry, drawn):
    root, lottery, order, units, when = drawn
    other = walk.new_household(procedure, root, name="直接配租", seq=91)
    walk.to_registered(procedure, root, registry, other)
    _allocate(procedure, root, other.archive_no, units[4], when)
    assert other.state == "allocated"


def test_a_redraw_s_order_is_the_one_that_counts(procedure, registry, drawn):
    root, lottery, order, units, when = drawn
    new_seed = "another-order-2026"
    holding.request_redraw(root, lottery, "reviewer", "公证员未到场", (when + DAY).date(),
                           hashlib.sha256(new_seed.encode()).hexdigest(), when=when)
    new = holding.approve_redraw(root, registry, lottery, "reviewer2", when=when)
    holding.draw_lottery(root, registry, new, new_seed, "reviewer", when=when + DAY)
    assert holding.latest_drawn(root, order[0]) is new
    first = new.order[0][1]
    _allocate(procedure, root, first, units[0], when + DAY)


def test_passes_must_name_steps_of_the_workflow(tmp_path, registry):
    directory = edited_workflows(tmp_path, "household.yaml", "passes: [decline_with_cause, skip_turn]",
                                 "passes: [decline_with_cause, vanish]")
    with pytest.raises(WorkflowError, match="draw_order passes unknown step"):
        build(registry, RoleMatrix(default_directory() / "roles.yaml"), directory)
