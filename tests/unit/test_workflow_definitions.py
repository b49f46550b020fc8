"""The workflow and profile files are checked at start-up: a mistake stops it with a
message naming the file and the key, instead of a wrong refusal months later."""
import shutil

import pytest
import yaml

from archive.schema.registry import default_directory
from archive.access.security import RoleMatrix
from archive.workflow import WorkflowError, build

WORKFLOWS = default_directory().parent / "workflows"


@pytest.fixture(scope="module")
def roles():
    return RoleMatrix(default_directory() / "roles.yaml")


@pytest.fixture
def directory(tmp_path):
    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    return target


def _edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _transition(data, name):
    return next(t for t in data["transitions"] if t["name"] == name)


def test_the_shipped_files_compile(registry, roles):
    procedure = build(registry, roles, WORKFLOWS)
    assert len(procedure.workflows["household"].states) == 15   # with 租赁补贴审核中 (subsidy_review)


def test_an_unreachable_state_stops_start_up(registry, roles, directory):
    def orphan(data):
        data["states"].append({"name": "limbo", "title": {"zh": "悬置"}, "final": True})
    _edit(directory / "household.yaml", orphan)
    with pytest.raises(WorkflowError, match="household.yaml: unreachable state.*limbo"):
        build(registry, roles, directory)


def test_a_dead_end_that_is_not_final_stops_start_up(registry, roles, directory):
    def strand(data):
        data["transitions"] = [t for t in data["transitions"] if t["name"] != "resubmit"]
        for t in data["transitions"]:
            t["from"] = [s for s in t["from"] if s != "returned"]
    _edit(directory / "household.yaml", strand)
    with pytest.raises(WorkflowError, match="'returned' has no way out"):
        build(registry, roles, directory)


def test_an_unknown_permission_stops_start_up(registry, roles, directory):
    _edit(directory / "household.yaml", lambda d: _transition(d, "accept").update(permission="approve_all"))
    with pytest.raises(WorkflowError, match="transition 'accept': unknown permission 'approve_all'"):
        build(registry, roles, directory)


def test_an_unknown_role_stops_start_up(registry, roles, directory):
    _edit(directory / "unit.yaml", lambda d: _transition(d, "deliver").update(roles=["janitor"]))
    with pytest.raises(WorkflowError, match="unit.yaml: transition 'deliver': unknown role 'janitor'"):
        build(registry, roles, directory)


def test_an_unknown_document_type_in_a_profile_stops_start_up(registry, roles, directory):
    _edit(directory / "jurisdictions" / "xiamen.yaml",
          lambda d: d["required_documents"]["accept"].append("birth_certificate"))
    with pytest.raises(WorkflowError, match="xiamen.yaml: required_documents.accept: unknown document type 'birth_certificate'"):
        build(registry, roles, directory)


def test_a_unit_document_required_of_a_household_stops_start_up(registry, roles, directory):
    _edit(directory / "jurisdictions" / "dezhou.yaml",
          lambda d: d["required_documents"]["accept"].append("floor_plan"))
    with pytest.raises(WorkflowError, match="'floor_plan' is not a household document"):
        build(registry, roles, directory)


def test_a_missing_duration_or_stage_stops_start_up(registry, roles, directory):
    _edit(directory / "jurisdictions" / "qujing.yaml", lambda d: d["durations"].pop("publicity"))
    with pytest.raises(WorkflowError, match="qujing.yaml: durations.publicity is missing"):
        build(registry, roles, directory)


def test_an_unknown_guard_or_effect_stops_start_up(registry, roles, directory):
    _edit(directory / "household.yaml", lambda d: _transition(d, "accept")["guards"].append({"astrology": True}))
    with pytest.raises(WorkflowError, match="unknown guard"):
        build(registry, roles, directory)
    shutil.copy(WORKFLOWS / "household.yaml", directory / "household.yaml")
    _edit(directory / "household.yaml", lambda d: _transition(d, "accept").update(effect="teleport"))
    with pytest.raises(WorkflowError, match="unknown effect 'teleport'"):
        build(registry, roles, directory)


def test_a_misspelt_key_stops_start_up(registry, roles, directory):
    _edit(directory / "household.yaml", lambda d: _transition(d, "approve").update(comennt="required"))
    with pytest.raises(WorkflowError, match="unknown key\\(s\\) comennt"):
        build(registry, roles, directory)


def test_a_bad_duration_stops_start_up(registry, roles, directory):
    _edit(directory / "jurisdictions" / "tengchong.yaml",
          lambda d: d["durations"].update(publicity={"fortnights": 1}))
    with pytest.raises(WorkflowError, match="tengchong.yaml: durations.publicity"):
        build(registry, roles, directory)


def test_an_unknown_priority_group_in_lottery_tiers_stops_start_up(registry, roles, directory):
    _edit(directory / "jurisdictions" / "changzhou.yaml",
          lambda d: d["lottery"].update(priority_tiers=[["elderly80"]]))
    with pytest.raises(WorkflowError, match="unknown priority group 'elderly80'"):
        build(registry, roles, directory)


@pytest.mark.parametrize("days", ["15", -1, 0, 2.5])
def test_a_bad_lottery_notice_period_stops_start_up(registry, roles, directory, days):
    _edit(directory / "jurisdictions" / "tengchong.yaml", lambda d: d["lottery"].update(notice_days=days))
    with pytest.raises(WorkflowError, match="tengchong.yaml: lottery.notice_days"):
        build(registry, roles, directory)


def test_no_title_is_cut_at_a_comma():
    """An unquoted ``en: Approved, awaiting publicity`` in a flow mapping silently becomes
    ``en: Approved`` plus a key ``awaiting publicity``; every data file is checked for it."""
    import pathlib

    import yaml
    top = pathlib.Path(__file__).resolve().parents[2]
    stray = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if value is None and "zh" in node and key not in ("zh", "en"):
                    stray.append(f"{where}: {key}")
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)
    for path in list((top / "workflows").rglob("*.yaml")) + list((top / "schemas").rglob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    assert stray == []
