"""An employer's dossier (单位集体申请档案, 厦门) is a dossier of the archive like a household's or
a unit's (issue 16, item 9): kept in the employers/ container, searched, listed, audited (a
changed file is a finding), bound, handed over and received in a BagIt package, hidden from
users of another city; an archive made before moves its employers there (evolve).

The archive is committed to a FileStorage with blobs (fixity reads real blob files); each
test works in a transaction that is aborted afterwards.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
import transaction
from BTrees.OOBTree import OOBTree
from pypdf import PdfReader

from archive import evolve
from archive.access.local import Scope, known_place, places_of
from archive.audit import run_audit
from archive.audit.runs import AuditBook
from archive.custody.arrangement import compile_rules
from archive.custody.commands import dossiers_of
from archive.custody.volume import bind_volume
from archive.exchange.bag import export_bag, select
from archive.exchange.receive import receive_bag
from archive.records import filing
from archive.records.container import KINDS, every_dossier, find_dossier
from archive.root import ROOT_KEY, ArchiveRoot
from archive.search.index import SearchIndex, check, drain, rebuild
from archive.search.query import Searcher, SearchRequest
from archive.workers import textlayer
from conftest import employer_dossier, file_archive, flipped_byte, household_input

UTC = dt.timezone.utc
WHEN = dt.datetime(2026, 3, 2, 2, tzinfo=UTC)
NAME = "厦门鹭江智能科技有限公司"


@pytest.fixture(scope="module")
def stored(tmp_path_factory, registry, procedure):
    """(db, employer no): a committed archive with one employer's application in a 厦门
    batch (two member households, four documents, their text read) and a 常州 household."""
    db, tm, root = file_archive(tmp_path_factory.mktemp("employers"), registry)
    employer = employer_dossier(root, registry, procedure, when=WHEN)
    filing.create_dossier(root, registry, "household", household_input(seq=91), "archivist", when=WHEN)
    tm.commit()
    textlayer.drain(root)
    tm.commit()
    yield db, employer.archive_no
    db.close()


@pytest.fixture
def archive(stored):
    """(root, employer) in a transaction aborted after the test."""
    db, no = stored
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    tm.begin()
    root = conn.root()[ROOT_KEY]
    yield root, root.employers[no]
    tm.abort()
    conn.close()


def audit(root, registry, procedure, rules=None):
    run = AuditBook().new_run("auditor", WHEN, "test", rules)
    run_audit(root, run, procedure, registry, now=WHEN)
    return run


# -- one dossier among the others ------------------------------------------------------------
def test_an_employer_dossier_lives_in_its_container_with_the_others(archive):
    root, employer = archive
    assert "employer" in KINDS and employer.__parent__ is root.employers
    assert root.batches.employer(employer.archive_no) is employer
    assert employer in list(every_dossier(root)) and find_dossier(root, employer.archive_no) is employer
    assert employer.archive_no.startswith("XM-DW-2026-Y-")
    # listed: the container's indexes filter and count it like a household
    total, items = root.employers.query({"jurisdiction": "xiamen"})
    assert (total, items) == (1, [employer])
    assert root.employers.query({"jurisdiction": "changzhou"})[0] == 0
    # every version in the audit log, every file in the fixity index
    logged = [e for e in root.log.newest(200) if e.target == employer.archive_no]
    assert len(logged) >= len(employer.versions) - 1
    files = root.fixity.of("employer", employer.archive_no)
    assert len(files) == 4 and all(f.sm3 and len(f.sm3) == 64 for f in files)
    # its history still reads as before: created, applied, four documents filed
    assert [v.action for v in employer.history()][-1] == "created"
    assert employer.latest.manifest and len(employer.history()) == len(employer.versions) >= 6


# -- search -----------------------------------------------------------------------------------
def test_search_finds_an_employer_by_name_code_number_and_document_text(archive, registry, tmp_path):
    root, employer = archive
    index = SearchIndex(tmp_path / "index")
    drain(root, registry, index)
    searcher = Searcher(index, registry.vocabularies)

    def found(text, **kw):
        hits = searcher.search(SearchRequest(text, **kw)).hits
        return {(h.dossier_kind, h.archive_no, h.doc_id) for h in hits}
    dossier_hit = ("employer", employer.archive_no, None)
    assert dossier_hit in found("鹭江智能科技")
    assert dossier_hit in found(employer.metadata["credit_code"])
    assert dossier_hit in found(employer.archive_no)
    by_text = found("单位集体申请材料")
    assert {doc for kind, no, doc in by_text if kind == "employer" and no == employer.archive_no} \
        == set(employer.documents.keys())
    results = searcher.search(SearchRequest("鹭江智能科技"))
    assert ("employer", 1) in [(v, n) for v, n in results.facets["kind"]]
    # a user of another city does not find it, one of 厦门 does
    assert not found("鹭江智能科技", within=Scope(frozenset({"qujing"})).search_filter())
    assert dossier_hit in found("鹭江智能科技", within=Scope(frozenset({"xiamen"})).search_filter())
    # the consistency check and the rebuild (archive reindex) walk employers too
    report = check(root, index)
    assert not (report.missing or report.stale or report.orphaned) and report.checked == len(
        list(every_dossier(root)))
    rebuilt = SearchIndex(tmp_path / "rebuilt")
    rebuild(root, registry, rebuilt, procs=1)
    assert dossier_hit in {(h.dossier_kind, h.archive_no, h.doc_id) for h in Searcher(
        rebuilt, registry.vocabularies).search(SearchRequest("鹭江智能科技")).hits}


# -- audits -----------------------------------------------------------------------------------
def test_a_clean_employer_dossier_has_no_finding_and_is_counted(archive, registry, procedure):
    root, employer = archive
    run = audit(root, registry, procedure)
    assert not [f for f in run.findings if f.kind == "employer"]
    assert run.counts["employers"] == 1 and run.counts["dossiers"] == len(list(every_dossier(root)))


def test_the_audit_finds_a_changed_byte_in_an_employer_file(archive, registry, procedure):
    root, employer = archive
    doc = employer.document("D0002")
    with flipped_byte(doc.current_file):
        found = audit(root, registry, procedure, rules=["fixity"]).findings
        assert [(f.kind, f.dossier, f.subject) for f in found] == [("employer", employer.archive_no, "D0002#1")]
        assert "SHA-256与归档时不符" in found[0].message and found[0].severity == "critical"
    assert not audit(root, registry, procedure, rules=["fixity"]).findings


def test_the_audit_finds_an_employer_file_whose_recorded_sm3_was_changed(archive, registry, procedure):
    root, employer = archive
    root.fixity.add_sm3(employer, {("D0003", 1): "00" * 32})
    found = audit(root, registry, procedure, rules=["fixity"]).findings
    assert [(f.kind, f.dossier, f.subject) for f in found] == [("employer", employer.archive_no, "D0003#1")]
    assert "SM3与归档时不符" in found[0].message


def test_the_audit_finds_a_version_pointing_at_a_file_the_employer_dossier_lacks(archive, registry, procedure):
    root, employer = archive
    root.fixity.forget("employer", employer.archive_no)
    found = audit(root, registry, procedure, rules=["manifest"]).findings
    assert found and {(f.kind, f.dossier) for f in found} == {("employer", employer.archive_no)}


def test_an_employer_missing_its_documents_after_the_close_is_a_finding(archive, registry, procedure):
    root, employer = archive
    employer.withdraw_document("D0004", "误归档", "archivist", WHEN)
    assert not audit(root, registry, procedure, rules=["collective_documents"]).findings   # still open
    root.batches.get(employer.metadata["batch"]).state = "closed"
    found = audit(root, registry, procedure, rules=["collective_documents"]).findings
    assert [(f.kind, f.dossier) for f in found] == [("employer", employer.archive_no)]
    assert "单位承诺书" in found[0].message


# -- binding ----------------------------------------------------------------------------------
def test_an_employer_dossier_is_bound_with_its_city_and_year(archive, registry):
    root, employer = archive
    assert employer in dossiers_of(root, "xiamen", 2026)
    assert employer not in dossiers_of(root, "changzhou", 2026)
    doc_types = {t.code: t.zh for t in registry.vocabularies["document_types"].terms}
    data = bind_volume(employer, compile_rules(registry), doc_types=doc_types, when=dt.date(2026, 3, 3))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert employer.archive_no in text and "单位集体申请档案" in text and NAME in text
    assert "单位承诺书" in text        # the 卷内目录 lists its documents


# -- hand-over packages -----------------------------------------------------------------------
def _snapshot(dossier):
    return (dossier.metadata, dossier.created, dossier.created_by,
            [box.version for box in dossier.versions.values()],
            [(d.doc_id, d.metadata, d.withdrawn, d.current_no,
              [(r.number, r.sha256, r.sm3, hashlib.sha256(r.read()).hexdigest()) for r in d.files])
             for d in dossier.documents.values()])


def test_an_employer_dossier_goes_out_and_comes_back_in_a_bag(archive, registry, procedure, tmp_path):
    root, employer = archive
    assert employer in select(root, city="xiamen")
    chosen = select(root, archive_nos=[employer.archive_no])
    summary = export_bag(root, chosen, tmp_path / "bag", registry, office="厦门市住房保障中心档案室",
                         actor="tester", procedure=procedure)
    assert summary.dossiers == 1 and summary.files == 4
    (tmp_path / "target").mkdir()
    db, tm, target = file_archive(tmp_path / "target", registry)
    try:
        report = receive_bag(target, tmp_path / "bag", registry, actor="tester")
        assert report.accepted
        received = target.employers[employer.archive_no]
        assert received.kind == "employer" and received.__parent__ is target.employers
        for got, want in zip(_snapshot(received), _snapshot(employer)):
            if isinstance(want, list):
                for a, b in zip(got, want):
                    assert a == b
            assert got == want
        assert len(target.fixity.of("employer", employer.archive_no)) == 4
        assert f"employer/{employer.archive_no}" in target.index_queue
        assert not audit(target, registry, procedure, rules=["fixity", "manifest"]).findings
    finally:
        tm.abort()
        db.close()


# -- jurisdiction ------------------------------------------------------------------------------
def test_an_employer_dossier_belongs_to_xiamen(archive, registry):
    root, employer = archive
    assert places_of(employer) == {"xiamen", employer.archive_no}
    assert list(Scope(frozenset({"xiamen"})).ids(root.employers)) == [employer.archive_no]
    assert not list(Scope(frozenset({"qujing"})).ids(root.employers))
    assert Scope(frozenset({"xiamen"})).admits(employer) and not Scope(frozenset({"qujing"})).admits(employer)
    assert known_place(root, registry.vocabularies)(employer.archive_no)


# -- an archive made before employers had their container ---------------------------------------
def test_evolve_moves_employers_kept_with_the_batches_into_their_container(registry, procedure):
    root = ArchiveRoot(registry)
    employer = employer_dossier(root, registry, procedure, when=WHEN)
    no, versions, logged = employer.archive_no, len(employer.versions), len(root.log)
    # the shape stored before: the dossiers in the batch book, outside any container
    root.batches.employers = OOBTree({no: employer})
    employer.__parent__ = None
    del root.employers
    root.fixity.forget("employer", no)
    root.index_queue = type(root.index_queue)()
    root.text_queue = type(root.text_queue)()
    step = evolve.STEPS.index(evolve._employers)   # later steps are others' concern
    root.generation = step
    said = []
    assert evolve.upgrade(root, registry, steps=evolve.STEPS[:step + 1], report=said.append) == 1
    assert root.employers[no] is employer and employer.__parent__ is root.employers
    assert root.batches.employer(no) is employer and root.batches.employers is root.employers
    assert len(employer.versions) == versions and len(root.log) == logged     # nothing re-recorded
    assert len(root.fixity.of("employer", no)) == 4
    assert f"employer/{no}" in root.index_queue and "1 卷" in said[0]
    assert len(root.text_queue) == 4      # the text of its four documents, read after the upgrade
    assert root.employers.query({"jurisdiction": "xiamen"})[0] == 1
