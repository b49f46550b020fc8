"""Limits that depend on the household (issue 16, item 3): a profile says them as a table
by household size, and the guards apply the row for the household's size.

常州 第十四条(四): financial assets ≤ 3×, 4×, 5× last year's per-capita disposable income
for households of 1, 2, 3+ persons; 德州 第二十条: 保障面积 30/45/60 m² by household size."""
import datetime as dt

import pytest
import yaml

import walk
from archive.access.security import RoleMatrix
from archive.schema.registry import default_directory
from archive.workflow import TransitionRefused, WorkflowError, build
from archive.workflow.profiles import Profile, ProfileError
from conftest import idnumber
from walk import T0, step

INCOME = 63975          # changzhou.yaml reference.disposable_income_per_capita


def members(n):
    return [{"name": f"成员{i}", "relation": "child" if i else "spouse",
             "id_number": idnumber.make("320402", dt.date(1982 + 10 * bool(i), 7, 1), 200 + i)}
            for i in range(n)]


# -- the profile --------------------------------------------------------------------------------
@pytest.mark.parametrize("size, factor", [(1, 3), (2, 4), (3, 5), (4, 5), (7, 5)])
def test_changzhou_s_asset_limit_is_a_multiple_by_household_size(procedure, size, factor):
    limit = procedure.profiles["changzhou"].limit("eligibility.assets_max", size)
    assert limit.value == factor * INCOME and limit.strict is False
    assert f"的 {factor} 倍" in limit.basis and "上年度城镇居民人均可支配收入 63,975" in limit.basis
    assert limit.basis.startswith(f"{min(size, 3)}人{'及以上' if size >= 3 else ''}家庭")


@pytest.mark.parametrize("size, area", [(1, 30), (2, 45), (3, 60), (5, 60)])
def test_dezhou_s_area_standard_is_a_table_by_household_size(procedure, size, area):
    assert procedure.profiles["dezhou"].limit("allocation.area_standard", size).value == area


def test_plain_and_strict_limits_read_as_before(procedure):
    qujing = procedure.profiles["qujing"]
    assert qujing.limit("eligibility.income_per_capita_max", 3).value == 3500
    assets = qujing.limit("eligibility.assets_max", 3)
    assert (assets.value, assets.strict, assets.basis) == (100000, True, "")
    assert procedure.profiles["xiamen"].limit("eligibility.assets_max", 2) is None


@pytest.mark.parametrize("raw, message", [
    ({"by_household_size": {}}, "sizes 1, 2, ... each with a number"),
    ({"by_household_size": {"one": 30}}, "sizes 1, 2, ... each with a number"),
    ({"by_household_size": {1: "30"}}, "sizes 1, 2, ... each with a number"),
    ({"by_household_size": {1: 3}, "times": "reference.nowhere"}, "is not a number in this profile"),
    ({"by_household_size": {1: 3}, "per": 2}, "unknown key(s) per"),
    ("thirty", "a limit is a number"),
])
def test_a_wrong_table_is_refused_naming_the_file_and_key(raw, message):
    data = {"code": "x", "title": {"zh": "某市"}, "region": "1", "fonds": "X", "durations": {},
            "required_documents": {}, "allocation": {"area_standard": raw}}
    with pytest.raises(ProfileError) as exc:
        Profile(data, "x.yaml").limit("allocation.area_standard", 2)
    assert message in str(exc.value) and "x.yaml: allocation.area_standard" in str(exc.value)


def test_start_up_stops_on_a_wrong_table(tmp_path, registry):
    source = default_directory().parent / "workflows"
    (tmp_path / "jurisdictions").mkdir()
    for path in source.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for path in (source / "jurisdictions").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data["code"] == "dezhou":
            data["allocation"]["area_standard"]["by_household_size"] = {0: 30}
        (tmp_path / "jurisdictions" / path.name).write_text(yaml.safe_dump(data, allow_unicode=True),
                                                            encoding="utf-8")
    with pytest.raises(WorkflowError, match="dezhou.yaml: allocation.area_standard.by_household_size"):
        build(registry, RoleMatrix(default_directory() / "roles.yaml"), tmp_path)


# -- the guards ---------------------------------------------------------------------------------
def _at_approval(procedure, root, registry, **extra):
    household = walk.new_household(procedure, root, **extra)
    for name in ("accept",):
        walk.prepared(procedure, root, registry, household, name, T0)
    walk.file(registry, household, *walk.stage_docs(procedure, household, "approve"))
    return household


@pytest.mark.parametrize("n_members, assets, refused", [
    (0, 3 * INCOME, False), (0, 3 * INCOME + 1, True),        # 1 person: 3×
    (1, 4 * INCOME, False), (1, 4 * INCOME + 1, True),        # 2 persons: 4×
    (2, 5 * INCOME, False), (3, 5 * INCOME + 1, True),        # 3 and 4 persons: 5×
])
def test_changzhou_approval_applies_the_asset_limit_for_the_household_s_size(
        procedure, root, registry, n_members, assets, refused):
    household = _at_approval(procedure, root, registry, members=members(n_members), assets=assets)
    if not refused:
        step(procedure, root, household, "approve", T0)
        assert household.state == "approved"
        return
    with pytest.raises(TransitionRefused) as exc:
        step(procedure, root, household, "approve", T0)
    size = n_members + 1
    factor = {1: 3, 2: 4}.get(size, 5)
    (problem,) = exc.value.problems
    assert problem == (f"家庭资产（元） {float(assets):,} 超过常州市的限额（不得高于 {factor * INCOME:,}；"
                       f"{min(size, 3)}人{'及以上' if size >= 3 else ''}家庭为上年度城镇居民人均可支配收入 "
                       f"63,975 的 {factor} 倍）")
    assert exc.value.overridable       # 破格 with a reason, flagged in the history
    step(procedure, root, household, "approve", T0, comment="经集体研究破格", override=True)
    assert "破格办理" in dict(household.latest.details)


def _dezhou_registered(procedure, root, registry, n_members):
    household = walk.new_household(procedure, root, members=members(n_members), jurisdiction="dezhou",
                                   hukou_district="德城区", district="德城区")
    walk.to_registered(procedure, root, registry, household)
    return household


@pytest.mark.parametrize("n_members, area, refused", [
    (0, 30.0, False), (0, 30.5, True), (1, 45.0, False), (1, 58.6, True), (2, 60.0, False),
    (4, 60.1, True)])
def test_dezhou_allocation_keeps_to_the_area_standard_for_the_household_s_size(
        procedure, root, registry, n_members, area, refused):
    household = _dezhou_registered(procedure, root, registry, n_members)
    unit = walk.new_unit(procedure, root, jurisdiction="dezhou", district="德城区", area=area)
    when = T0 + 40 * walk.DAY
    if not refused:
        step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
        assert household.state == "allocated"
        return
    with pytest.raises(TransitionRefused) as exc:
        step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
    standard = {1: 30, 2: 45}.get(n_members + 1, 60)
    assert exc.value.problems == [f"房源 {unit.archive_no} 的建筑面积（㎡） {area:,} 超过德州市的限额"
                                  f"（不得高于 {standard:,}；{min(n_members + 1, 3)}人"
                                  f"{'及以上' if n_members >= 2 else ''}家庭）"]
    assert household.state == "registered" and unit.state == "vacant"
    step(procedure, root, household, "allocate", when, comment="房源紧张，经批准超标准配租",
         override=True, inputs={"unit": unit.archive_no})
    assert household.state == "allocated"


def test_other_cities_set_no_area_standard(procedure, root, registry):
    household = walk.new_household(procedure, root, members=[])
    walk.to_registered(procedure, root, registry, household)
    unit = walk.new_unit(procedure, root, area=80)
    step(procedure, root, household, "allocate", T0 + 40 * walk.DAY, inputs={"unit": unit.archive_no})
    assert household.state == "allocated"


@pytest.mark.parametrize("area, refused", [(60.0, False), (65.5, True)])
def test_dezhou_delivers_new_units_of_60_square_metres_at_most(procedure, root, registry, area, refused):
    unit = walk.new_unit(procedure, root, "building", jurisdiction="dezhou", district="德城区", area=area)
    walk.file(registry, unit, *walk.stage_docs(procedure, unit, "deliver"))
    roles = ("archivist",)
    if not refused:
        procedure.perform(root, unit, "deliver", "archivist", roles, "验收合格", when=T0)
        assert unit.state == "delivered"
        return
    with pytest.raises(TransitionRefused) as exc:
        procedure.perform(root, unit, "deliver", "archivist", roles, "验收合格", when=T0)
    assert exc.value.problems == ["建筑面积（㎡） 65.5 超过德州市的限额（不得高于 60）"]
    assert exc.value.overridable
