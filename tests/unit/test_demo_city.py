"""The demo city: deterministic, valid by the archive's own rules, with its planted faults."""
from __future__ import annotations

import collections
import time

import pytest
import ZODB

from archive import idnumber
from archive.demo.city import BASE_DATE, DEMO_PASSWORD_PREFIX, build_city, create_demo_users
from archive.demo.family import APPLICATION_DOCS, TENANT_STAGES
from archive.root import bootstrap
from archive.schemas import SchemaRegistry, default_directory
from archive.users import ROLES, make_hasher

SMALL = dict(households=30, units=20, documents=150)


@pytest.fixture(scope="module")
def registry():
    return SchemaRegistry(default_directory())


def _build(registry, **kw):
    """A city in one uncommitted transaction of an in-memory database."""
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    return root, build_city(root, registry, **kw)


@pytest.fixture(scope="module")
def city(registry):
    return _build(registry, **SMALL)


def _doc_types(dossier):
    return collections.Counter(d.metadata["doc_type"] for d in dossier.documents.values())


def _documents(root):
    return sum(len(d.documents) for c in (root.households, root.units) for d in c.values())


def test_sizes_are_exact(city):
    root, summary = city
    assert (len(root.households), len(root.units), _documents(root)) == (30, 20, 150)
    assert (summary["households"], summary["units"], summary["documents"]) == (30, 20, 150)
    assert sum(summary["by_stage"].values()) == 30
    assert set(summary["stages"]) == set(root.households.keys())


def test_same_seed_same_archive(registry, city):
    def fingerprint(root):
        return ([(h.archive_no, h.metadata["applicant"], h.metadata["members"], h.metadata["unit_ref"],
                  [(d.metadata, d.current_file.sha256) for d in h.documents.values()])
                 for h in root.households.values()],
                [(u.archive_no, u.metadata) for u in root.units.values()])
    again, summary = _build(registry, **SMALL)
    assert fingerprint(again) == fingerprint(city[0])
    assert summary == city[1]
    other, _ = _build(registry, seed=7, **SMALL)
    assert fingerprint(other) != fingerprint(city[0])


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
            if member["relation"] == "child":
                assert member["birth_date"] > applicant["birth_date"]
                assert (opened - member["birth_date"]).days < 18 * 366
        assert h.metadata["phone"][0] == "1" and h.metadata["phone"][1] in "3456789"
        if h.metadata["category"] != "wailai":  # migrants carry their home county's code
            prefix = {"qujing": "5303", "tengchong": "5305", "xiamen": "3502",
                      "changzhou": "3204", "dezhou": "3714"}[h.metadata["jurisdiction"]]
            assert applicant["id_number"].startswith(prefix)


def test_everything_happened_before_the_base_date(city):
    root, _ = city
    for container in (root.households, root.units):
        for dossier in container.values():
            assert all(v.when.date() < BASE_DATE for v in dossier.history())
            assert all(d.metadata["date"] < BASE_DATE for d in dossier.documents.values())


def test_stage_shows_in_documents(city):
    root, summary = city
    fault = summary["faults"]["missing_pledge"]
    for no, stage in summary["stages"].items():
        h, types = root.households[no], _doc_types(root.households[no])
        if no != fault:
            assert types["pledge"] == 1
        if stage == "application" and no != fault:
            assert set(APPLICATION_DOCS) <= set(types)
        if stage == "exited":
            assert types["exit_notice"] and types["vacate_inspection"] and not h.metadata["unit_ref"]
        if stage in ("leased", "annual_review"):
            assert types["lease_contract"] and h.metadata["unit_ref"]
        if stage == "registered":
            assert types["registration_notice"] and not h.metadata["unit_ref"]


def test_missing_pledge_fault(city):
    root, summary = city
    no = summary["faults"]["missing_pledge"]
    types = _doc_types(root.households[no])
    assert summary["stages"][no] == "application"
    assert "pledge" not in types
    assert set(APPLICATION_DOCS) - {"pledge"} <= set(types)


def test_unit_refs_are_unique_except_the_planted_fault(city):
    root, summary = city
    refs = collections.defaultdict(list)
    for h in root.households.values():
        no = h.archive_no
        if h.metadata["unit_ref"]:
            refs[h.metadata["unit_ref"]].append(no)
            assert summary["stages"][no] in TENANT_STAGES
            unit = root.units[h.metadata["unit_ref"]]
            assert unit.metadata["jurisdiction"] == h.metadata["jurisdiction"]
            assert unit.metadata["state"] in ("allocated", "leased")
    shared = {ref: nos for ref, nos in refs.items() if len(nos) > 1}
    faults = summary["faults"]
    assert shared == {faults["double_let_unit"]: sorted(faults["double_let_households"])}
    tenants = sum(1 for s in summary["stages"].values() if s in TENANT_STAGES)
    assert len(refs) == tenants - 1
    let = {u.archive_no for u in root.units.values() if u.metadata["state"] in ("allocated", "leased")}
    assert let == set(refs)


def test_histories_have_more_than_one_version(city):
    root, summary = city
    assert summary["refiled"] >= 1
    refiled = [d for h in root.households.values() for d in h.documents.values() if len(d.files) > 1]
    assert len(refiled) == summary["refiled"]
    assert {d.metadata["doc_type"] for d in refiled} == {"income_proof"}
    comments = {v.comment for h in root.households.values() for v in h.history()}
    assert {"家庭收入变化，更新人均月收入", "签约入住，现住址变更为配租房源"} <= comments
    assert all(len(u.versions) >= 2 for u in root.units.values())


def test_documents_look_like_an_office_made_them(city):
    root, _ = city
    docs = [d for c in (root.households, root.units) for x in c.values() for d in x.documents.values()]
    numbered = [d.metadata["doc_no"] for d in docs if d.metadata["doc_no"]]
    assert numbered and all("〔" in n or "（" in n for n in numbered)
    assert all(d.current_file.read().startswith(b"%PDF") for d in docs[:20])


def test_progress_and_commit_callbacks(registry):
    calls, commits = [], []
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    build_city(root, registry, households=70, units=40, documents=400, seed=3,
               progress=lambda done, total: calls.append((done, total)),
               commit=lambda: commits.append(len(calls)))
    assert calls[-1] == (110, 110) and len(calls) == 110
    assert commits == [50, 100]


def test_too_few_documents_are_refused_before_filing(registry):
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    with pytest.raises(ValueError, match="at least"):
        build_city(root, registry, households=30, units=20, documents=40)
    assert len(root.households) == 0 and len(root.units) == 0


def test_demo_users_one_per_role(registry):
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    hasher = make_hasher(time_cost=1, memory_cost=1024)
    made = create_demo_users(root, hasher)
    assert [login for login, _, _ in made] == list(ROLES)
    for login, password, role in made:
        assert password == DEMO_PASSWORD_PREFIX + login and role == login
        assert root.users.authenticate(login, password, hasher).roles == (role,)
    assert create_demo_users(root, hasher) == []


def test_default_size_city(registry):
    """The demo as `archive demo` makes it (measured at ~12 s; must stay well under a minute)."""
    started = time.monotonic()
    root, summary = _build(registry)
    assert time.monotonic() - started < 60
    assert (len(root.households), len(root.units), _documents(root)) == (200, 150, 1000)
    assert set(summary["by_jurisdiction"]) == {"qujing", "tengchong", "xiamen", "changzhou", "dezhou"}
    assert set(summary["by_stage"]) == {"application", "reviewed", "publicised", "registered",
                                        "allocated", "leased", "annual_review", "exited"}
    elderly = [h for h in root.households.values() if "elderly70" in h.metadata["priority_groups"]]
    assert len(elderly) >= 5
