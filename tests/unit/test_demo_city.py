"""The demo city: built through the real procedure, deterministic, with its planted faults."""
from __future__ import annotations

import collections
import datetime as dt

import pytest

from archive.schema import idnumber
from archive.demo.city import (BASE_DATE, DEFAULT_SIZE, DEMO_PASSWORD_PREFIX, build_city,
                               create_demo_users)
from archive.demo.family import APPLICATION_DOCS
from archive.workflow.leases import OPEN
from archive.workflow.workdays import covered
from archive.audit import run_audit
from archive.audit.runs import AuditBook
from archive.access.users import ROLES, make_hasher
from conftest import memory_archive

SMALL = dict(households=30, units=20, documents=420)
# A later demo day, past the published holiday calendar (chinesecalendar ends with 2026):
# its 2027 steps fall on Monday–Friday, the estimate workdays.py makes past the calendar.
LATER = dt.date(2027, 6, 15)
OPEN_STATES = {"allocated": "offered", "leased": "current", "exiting": "current"}  # household → lease
UNIT_LEASE = {"allocated": "offered", "leased": "current"}                        # unit → lease


def _build(registry, procedure, **kw):
    """A city in one uncommitted transaction of an in-memory database."""
    root = memory_archive(registry)
    return root, build_city(root, registry, procedure, **kw)


@pytest.fixture(scope="module")
def city(registry, procedure):
    return _build(registry, procedure, **SMALL)


def _doc_types(dossier):
    return collections.Counter(d.metadata["doc_type"] for d in dossier.active_documents())


def _documents(root):
    return sum(len(d.documents) for c in (root.households, root.units) for d in c.values())


def _dossiers(root):
    return [d for c in (root.households, root.units) for d in c.values()]


# -- sizes and determinism -----------------------------------------------------------------
def test_sizes_are_exact(city):
    root, summary = city
    assert (len(root.households), len(root.units), _documents(root)) == (30, 20, 420)
    assert (summary["households"], summary["units"], summary["documents"]) == (30, 20, 420)
    assert sum(summary["by_stage"].values()) == 30 and sum(summary["units_by_state"].values()) == 20
    assert set(summary["stages"]) == set(root.households.keys())
    assert summary["leases"] == len(root.leases) > 0


def test_same_seed_same_archive(registry, procedure, city):
    def fingerprint(root):
        return ([(d.archive_no, d.state, d.metadata,
                  [(v.when, v.actor, v.action, v.transition, v.state, v.comment, v.details)
                   for v in d.history()],
                  [(x.metadata, x.current_file.sha256) for x in d.documents.values()])
                 for d in _dossiers(root)],
                [(x.lease_id, x.household_no, x.state, x.start, x.end) for x in root.leases.values()])
    again, summary = _build(registry, procedure, **SMALL)
    assert fingerprint(again) == fingerprint(city[0])
    assert summary == city[1]
    other, _ = _build(registry, procedure, seed=7, **SMALL)
    assert fingerprint(other) != fingerprint(city[0])


# -- the demo's day ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def later(registry, procedure):
    """The same city built on another day (``archive demo`` builds it on the day it runs)."""
    return _build(registry, procedure, today=LATER, **SMALL)


def _noon(day):
    return dt.datetime.combine(day, dt.time(4), tzinfo=dt.timezone.utc)   # noon in Beijing


def test_another_day_gives_the_same_city_moved_in_time(city, later):
    """Same people, same ways, same states, same faults; only the dates move (within the
    days a path is moved so that its steps land on working days)."""
    assert not covered(LATER) and covered(BASE_DATE)

    def people(root, day):
        return {(h.metadata["applicant"]["name"], h.metadata["jurisdiction"], h.metadata["category"]):
                (h.state, (day - h.created.date()).days) for h in root.households.values()}

    def units(root, day):
        return {(u.metadata["project"], u.metadata["building"], u.metadata["unit_no"]):
                (u.state, (day - u.created.date()).days) for u in root.units.values()}

    for get in (people, units):
        before, after = get(city[0], BASE_DATE), get(later[0], LATER)
        assert len(before) == 30 if get is people else 20
        assert before.keys() == after.keys()
        assert {k: state for k, (state, _) in before.items()} == {k: state for k, (state, _) in after.items()}
        assert all(abs(before[k][1] - after[k][1]) <= 14 for k in before), "ages differ by over two weeks"
    (_, a), (_, b) = city, later
    for key in ("by_stage", "units_by_state", "by_jurisdiction", "households", "units", "documents"):
        assert a[key] == b[key], key

    def who(root, summary):
        faults, h = summary["faults"], root.households
        return ([h[faults["missing_pledge"]].metadata["applicant"]["name"],
                 h[summary["banned_applicant"]["household"]].metadata["applicant"]["name"]]
                + [h[no].metadata["applicant"]["name"] for no in faults["double_let_households"]]
                + [root.units[faults["double_let_unit"]].metadata["address"]])
    assert who(*city) == who(*later)
    assert [o["step"] for o in a["overrides"]] == [o["step"] for o in b["overrides"]]


def test_everything_happened_before_its_own_day(later):
    root, _ = later
    for dossier in _dossiers(root):
        assert all(v.when.date() < LATER for v in dossier.history())
        assert all(d.metadata["date"] < LATER for d in dossier.documents.values())
        if dossier.kind == "household":
            for person in dossier.people():
                assert idnumber.validate(person["id_number"], today=LATER) == person["id_number"]
    assert max(v.when.date() for d in _dossiers(root) for v in d.history()) >= LATER - dt.timedelta(days=7)


def test_on_its_day_the_worklist_is_current(later, procedure):
    """A newcomer's worklist: deadlines mostly ahead, a few just passed, none long past."""
    root, _ = later
    roles = ("admin", "archivist", "reviewer", "inspector")
    items, total = procedure.worklist(root, roles, when=_noon(LATER), limit=1000)
    overdue = [i for i in items if i.overdue]
    assert total >= 10
    assert 0 < len(overdue) <= total // 3
    assert all(-20 <= i.days_left < 0 for i in overdue)
    assert sum(1 for i in items if i.days_left is not None and i.days_left >= 0) >= 2 * len(overdue)


@pytest.mark.parametrize("which", ["base", "later"])
def test_on_its_day_the_audit_finds_only_the_planted_faults(which, city, later, registry, procedure):
    root, summary = city if which == "base" else later
    day = BASE_DATE if which == "base" else LATER
    run = AuditBook().new_run("auditor", _noon(day), "test", None)
    run_audit(root, run, procedure, registry, now=_noon(day))
    found = collections.defaultdict(set)
    for f in run.findings:
        found[f.rule].add(f.dossier)
    faults = summary["faults"]
    planted = {"completeness": {faults["missing_pledge"]},
               "unit_double_let": {faults["double_let_unit"]},
               "lease_link": {faults["double_let_households"][0]},   # its lease is no longer the unit's
               "banned_applicant": {summary["banned_applicant"]["household"]},
               "arrears": {faults["arrears"]}}
    assert dict(found) == planted


# -- people and dates ------------------------------------------------------------------------
def test_people_are_valid_and_plausible(city):
    root, _ = city
    seen = set()
    for h in root.households.values():
        applicant = h.metadata["applicant"]
        for person in h.people():
            assert idnumber.validate(person["id_number"], today=BASE_DATE) == person["id_number"]
            assert person["id_number"] not in seen
            seen.add(person["id_number"])
        opened = h.created.date()
        assert (opened - applicant["birth_date"]).days >= 18 * 365
        for member in h.metadata["members"]:
            if member["relation"] == "child":   # minors co-apply; a newborn joins later (变更)
                assert member["birth_date"] > applicant["birth_date"]
                assert (opened - member["birth_date"]).days < 18 * 366
        assert h.metadata["phone"][0] == "1" and h.metadata["phone"][1] in "3456789"
        if h.metadata["category"] != "wailai":  # migrants carry their home county's code
            prefix = {"qujing": "5303", "tengchong": "5305", "xiamen": "3502",
                      "changzhou": "3204", "dezhou": "3714"}[h.metadata["jurisdiction"]]
            assert applicant["id_number"].startswith(prefix)


def test_everything_happened_before_the_base_date_in_order(city):
    root, _ = city
    for dossier in _dossiers(root):
        history = list(reversed(dossier.history()))
        assert all(v.when.date() < BASE_DATE for v in history)
        assert [v.when for v in history] == sorted(v.when for v in history)
        assert all(d.metadata["date"] < BASE_DATE for d in dossier.documents.values())
    for lease in root.leases.values():
        assert lease.allocated.date() < BASE_DATE and (lease.start is None or lease.start < BASE_DATE)


# -- the procedure -----------------------------------------------------------------------------
def test_every_state_was_reached_by_the_procedure(city, procedure):
    """Each dossier's history replays its workflow: every step leaves the state it came
    from for the state the workflow says, and ends in the dossier's state."""
    root, summary = city
    double_let = summary["faults"]["double_let_households"][1]
    for dossier in _dossiers(root):
        flow = procedure.workflows[dossier.kind]
        versions = list(reversed(dossier.history()))
        state = versions[0].state
        assert state in flow.entry
        for v in versions[1:]:
            if v.action == "transition":
                step = flow.transition(v.transition)
                assert state in step.sources, (dossier.archive_no, state, v.transition)
                assert v.state == step.target
            elif v.action == "adopted":   # only the planted paper-register fault skips the steps
                assert dossier.archive_no == double_let and "纸质台账" in v.comment
            else:
                assert v.state == state
            state = v.state
        assert state == dossier.state
        if dossier.kind == "household":
            assert summary["stages"][dossier.archive_no] == dossier.state
    states = procedure.workflows["household"].states
    assert set(summary["by_stage"]) <= set(states)
    assert collections.Counter(summary["stages"].values()) == summary["by_stage"]


def test_documents_each_step_needs_were_filed_before_it(city, procedure):
    root, _ = city
    checked = 0
    for dossier in _dossiers(root):
        profile = procedure.profile(dossier)
        flow = procedure.workflows[dossier.kind]
        for v in dossier.history():
            if v.action != "transition" or not flow.transition(v.transition).manual:
                continue
            step = flow.transition(v.transition)
            present = {e.metadata["doc_type"] for e in v.manifest if not e.withdrawn}
            for guard in step.guards:
                if guard.kind == "documents":
                    missing = set(profile.required_documents(guard.arg)) - present
                    assert not missing, (dossier.archive_no, v.transition, missing)
                    checked += 1
    assert checked > 50


def test_steps_are_taken_by_the_roles_the_workflow_names(city, procedure):
    root, _ = city
    for dossier in _dossiers(root):
        flow = procedure.workflows[dossier.kind]
        for v in dossier.history():
            if v.action == "transition" and flow.transition(v.transition).manual:
                assert v.actor in flow.transition(v.transition).roles
                assert not flow.transition(v.transition).comment_required or v.comment


def test_leases_are_one_to_one_except_the_planted_fault(city):
    root, summary = city
    by_unit, by_household = collections.defaultdict(set), collections.defaultdict(set)
    for lease in root.leases.values():
        if lease.state in OPEN:
            by_unit[lease.unit_no].add(lease.household_no)
            by_household[lease.household_no].add(lease.unit_no)
    faults = summary["faults"]
    assert {u: hs for u, hs in by_unit.items() if len(hs) > 1} == {
        faults["double_let_unit"]: set(faults["double_let_households"])}
    assert all(len(units) == 1 for units in by_household.values())
    for h in root.households.values():
        expected = OPEN_STATES.get(h.state)
        assert (h.lease.state if h.lease else None) == expected, (h.archive_no, h.state)
        if h.lease:
            assert h.lease.household_no == h.archive_no
            unit = root.units[h.lease.unit_no]
            assert unit.metadata["jurisdiction"] == h.metadata["jurisdiction"]
            assert h.lease in unit.leases
            assert (h.metadata["address"] == unit.metadata["address"]) == (h.state != "allocated")


def test_each_unit_state_matches_its_lease(city):
    root, _ = city
    let = 0
    for unit in root.units.values():
        expected = UNIT_LEASE.get(unit.state)
        assert (unit.lease.state if unit.lease and unit.lease.open else None) == expected, unit.archive_no
        if expected:
            let += 1
            assert unit.lease.unit_no == unit.archive_no
            household = root.households[unit.lease.household_no]
            assert household.lease is unit.lease
        for lease in unit.leases:   # every lease is in the book and names this unit
            assert root.leases.get(lease.lease_id) is lease and lease.unit_no == unit.archive_no
    assert let > 0


def test_lease_steps_move_both_dossiers_at_the_same_moment(city):
    root, _ = city
    driven = {"allocate": "allocate", "sign": "start_lease", "decline": "release",
              "decline_with_cause": "release", "complete_exit": "end_lease", "force_exit": "end_lease"}
    unit_steps = {(u.archive_no, v.when, v.transition) for u in root.units.values() for v in u.history()}
    count = 0
    for h in root.households.values():
        for v in h.history():
            if v.transition in driven:
                unit_no = dict(v.details).get("配租房源") or dict(v.details).get("房源档号")
                assert (unit_no, v.when, driven[v.transition]) in unit_steps, (h.archive_no, v.transition)
                count += 1
    assert count > 10


# -- what the demo shows on purpose ------------------------------------------------------------
def test_households_hold_their_pledge_and_applicants_their_application(city, procedure):
    root, summary = city
    fault = summary["faults"]["missing_pledge"]
    for no, state in summary["stages"].items():
        h = root.households[no]
        types = _doc_types(h)
        if no != fault:
            assert types["pledge"] == 1
        if state == "applied" and no != fault:
            assert set(procedure.profile(h).required_documents("accept")) <= set(types)


def test_missing_pledge_fault(city, procedure):
    root, summary = city
    h = root.households[summary["faults"]["missing_pledge"]]
    types = _doc_types(h)
    assert h.state == "applied" and "pledge" not in types
    assert set(APPLICATION_DOCS) - {"pledge"} <= set(types)
    accept = procedure.workflows["household"].transition("accept")
    assert "pledge" in procedure.profile(h).required_documents("accept")  # a guard would stop it
    problems = procedure.check(root, h, accept, when=dt.datetime(2025, 12, 31, 2, tzinfo=dt.timezone.utc))
    assert any("承诺书" in p.message for p in problems)


def test_double_let_fault_comes_from_the_paper_register(city):
    root, summary = city
    faults = summary["faults"]
    unit = root.units[faults["double_let_unit"]]
    first, second = (root.households[no] for no in faults["double_let_households"])
    assert first.state == second.state == "leased" and unit.state == "leased"
    assert first.lease.unit_no == second.lease.unit_no == unit.archive_no
    assert first.lease.state == second.lease.state == "current"
    assert first.latest.action != "adopted" and second.latest.action == "adopted"
    assert "按纸质台账补录" in second.latest.comment and "按纸质台账补录" in unit.latest.comment
    assert not any(v.transition == "allocate" for v in second.history())


def test_banned_applicant_is_stuck_awaiting_acceptance(city, procedure):
    root, summary = city
    ban = summary["banned_applicant"]
    h = root.households[ban["household"]]
    assert h.state == "applied" and ban["reason"] == "fraud"
    assert not [v for v in h.history() if v.action == "transition"]
    numbers = {p["name"]: p["id_number"] for p in h.people()}
    bans = root.credit.active_bans(numbers[ban["person"]], BASE_DATE)
    assert [(b.reason, b.until.isoformat()) for b in bans] == [("fraud", ban["until"])]
    assert (bans[0].until - bans[0].since).days in (1826, 1827)   # five years
    assert ban["refusal"].startswith(f"{ban['person']}因“提供虚假材料”被限制申请")
    assert ban["refusal"] in h.metadata["notes"]
    assert any(ban["refusal"] in v.comment and v.actor == "archivist" for v in h.history())
    assert set(procedure.profile(h).required_documents("accept")) <= set(_doc_types(h))
    accept = procedure.workflows["household"].transition("accept")
    problems = procedure.check(root, h, accept, when=dt.datetime(2025, 12, 31, 2, tzinfo=dt.timezone.utc))
    assert [p.message for p in problems] == [ban["refusal"]]


def test_overrides_are_few_flagged_and_explained(city):
    root, summary = city
    flagged = [{"household": h.archive_no, "step": v.transition, "comment": v.comment}
               for h in root.households.values() for v in reversed(h.history())
               if "破格办理" in dict(v.details)]
    assert 1 <= len(summary["overrides"]) <= 2
    assert sorted(flagged, key=str) == sorted(summary["overrides"], key=str)
    assert all("超过本市" in o["comment"] and "集体研究" in o["comment"] for o in flagged)


def test_histories_have_more_than_one_version(city):
    root, summary = city
    assert summary["refiled"] >= 1
    refiled = [d for h in root.households.values() for d in h.documents.values() if len(d.files) > 1]
    assert len(refiled) == summary["refiled"]
    assert {d.metadata["doc_type"] for d in refiled} == {"income_proof"}
    comments = {v.comment for h in root.households.values() for v in h.history()}
    assert "签约入住，现住址变更为配租房源" in comments
    assert all(len(u.versions) >= 2 for u in root.units.values())


def test_documents_look_like_an_office_made_them(city):
    root, _ = city
    docs = [d for x in _dossiers(root) for d in x.documents.values()]
    numbered = [d.metadata["doc_no"] for d in docs if d.metadata["doc_no"]]
    assert numbered and all("〔" in n or "（" in n for n in numbered)
    assert all(d.current_file.read().startswith(b"%PDF") for d in docs[:20])


# -- the build itself ------------------------------------------------------------------------
def test_progress_and_commit_callbacks(registry, procedure):
    calls, commits = [], []
    root = memory_archive(registry)
    build_city(root, registry, procedure, households=70, units=40, documents=1000, seed=3,
               progress=lambda done, total: calls.append((done, total)),
               commit=lambda: commits.append(len(calls)))
    assert calls == [(n, 110) for n in range(1, 111)]
    assert commits == [50, 100]


def test_too_few_documents_are_refused_before_filing(registry, procedure):
    root = memory_archive(registry)
    with pytest.raises(ValueError, match="documents=40: .* at least"):
        build_city(root, registry, procedure, households=30, units=20, documents=40)
    assert len(root.households) == 0 and len(root.units) == 0 and len(root.leases) == 0


def test_demo_users_one_per_role(registry):
    root = memory_archive(registry)
    hasher = make_hasher(time_cost=1, memory_cost=1024)
    made = create_demo_users(root, hasher)
    assert [role for _, _, role in made] == list(ROLES)
    logins = {role: login for login, _, role in made}
    assert logins["sysadmin"] == "admin" and logins["secadmin"] == "security"   # 三员分立
    for login, password, role in made:
        assert password == DEMO_PASSWORD_PREFIX + login
        assert login == role or role in ("sysadmin", "secadmin")
        assert root.users.authenticate(login, password, hasher).roles == (role,)
    assert create_demo_users(root, hasher) == []


def test_default_size_city(registry, procedure):
    """The demo as `archive demo` makes it (its time is a figure for bench/, not a test)."""
    root, summary = _build(registry, procedure)
    assert (len(root.households), len(root.units), _documents(root)) == \
        (DEFAULT_SIZE["households"], DEFAULT_SIZE["units"], DEFAULT_SIZE["documents"])
    assert set(summary["by_jurisdiction"]) == {"qujing", "tengchong", "xiamen", "changzhou", "dezhou"}
    # every state of the household procedure shows, and the units' main ones
    assert set(summary["by_stage"]) == set(procedure.workflows["household"].states)
    assert {"building", "delivered", "vacant", "allocated", "leased", "vacating", "repair"} == \
        set(summary["units_by_state"])
    flow = collections.Counter(v.transition for h in root.households.values() for v in h.history())
    for name in ("return", "resubmit", "refuse", "reject", "withdraw", "object", "dismiss_objection",
                 "uphold_objection", "decline", "decline_with_cause", "renew", "change", "annual_review",
                 "exit", "complete_exit", "force_exit"):
        assert flow[name], name
    elderly = [h for h in root.households.values() if "elderly70" in h.metadata["priority_groups"]]
    assert len(elderly) >= 5
