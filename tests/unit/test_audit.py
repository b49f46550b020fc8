"""Integrity audits: every rule finds a fault planted for it and stays silent on clean data.

The archive is a small demo city committed to a FileStorage with blobs (so fixity reads
real blob files). Each test plants its fault in an open transaction, runs the audit in
it, and aborts, so the next test starts from the same clean city; a byte flipped in a
blob file on disk is put back afterwards.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import shutil

import pytest
import transaction
import ZODB
import zodburi

from archive.workflow import leases
from archive.audit import RULES, run_audit
from archive.audit.files import open_pdf_facts
from archive.audit.runs import AuditBook, AuditError
from archive.workflow.credit import Ban
from archive.demo.city import BASE_DATE, build_city
from archive.root import ROOT_KEY, bootstrap
from conftest import aborted, encrypted_pdf, flipped_byte, make_pdf

NOW = dt.datetime.combine(BASE_DATE, dt.time(4), tzinfo=dt.timezone.utc)   # noon in Beijing
PLANTED = {"completeness", "lease_link", "unit_double_let", "banned_applicant", "arrears"}


@pytest.fixture(scope="module")
def city(tmp_path_factory, registry, procedure):
    """(db, summary, blob dir) of a committed demo city."""
    where = tmp_path_factory.mktemp("city")
    factory, kw = zodburi.resolve_uri(f"file://{where}/Data.fs?blobstorage_dir={where}/blobs")
    db = ZODB.DB(factory(), **kw)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    root = bootstrap(conn.root(), registry)
    summary = build_city(root, registry, procedure, households=30, units=20, documents=420)
    tm.commit()
    conn.close()
    yield db, summary
    db.close()


@pytest.fixture
def archive(city):
    """The city's root in a transaction that is aborted after the test."""
    db, _ = city
    with aborted(db) as (mapping, _):
        yield mapping[ROOT_KEY]


def audit(root, registry, procedure, rules=None, now=NOW, **kw):
    run = AuditBook().new_run("auditor", now, "test", rules)
    run_audit(root, run, procedure, registry, now=now, **kw)
    return run


def by_rule(run):
    out = collections.defaultdict(list)
    for f in run.findings:
        out[f.rule].append(f)
    return out


def households(root, state):
    return [h for h in root.households.values() if h.state == state]


def tenant(root, accept=lambda h: True):
    """A leased household with a current lease that plays no part in the demo's faults."""
    for h in households(root, "leased"):
        if not accept(h):
            continue
        lease = leases.current_lease(h)
        if lease is not None and lease.state == "current" and lease.paid_through \
                and leases.months_in_arrears(lease, BASE_DATE) == 0:
            return h, lease
    raise AssertionError("no quiet tenant in the demo city")


# -- clean data ------------------------------------------------------------------------------
def test_the_demo_city_shows_exactly_its_planted_faults(archive, registry, procedure, city):
    _, summary = city
    run = audit(archive, registry, procedure)
    found = by_rule(run)
    assert set(found) == PLANTED
    faults = summary["faults"]
    assert [f.dossier for f in found["completeness"]] == [faults["missing_pledge"]]
    assert "承诺书" in found["completeness"][0].message
    assert [f.dossier for f in found["unit_double_let"]] == [faults["double_let_unit"]]
    assert {f.dossier for f in found["lease_link"]} <= set(faults["double_let_households"]) | {faults["double_let_unit"]}
    assert [f.dossier for f in found["banned_applicant"]] == [summary["banned_applicant"]["household"]]
    assert faults["arrears"] in [f.dossier for f in found["arrears"]]
    assert run.done and run.critical == len([f for f in run.findings if f.severity == "critical"]) > 0


def test_a_run_counts_what_it_checked(archive, registry, procedure):
    run = audit(archive, registry, procedure)
    c = run.counts
    assert (c["households"], c["units"], c["dossiers"]) == (30, 20, 50)
    assert c["documents"] == 420 and c["files"] >= 420 and c["bytes"] > 0
    assert c["versions"] >= 50 and c["log_entries"] == len(archive.log) - 1   # then the run's own entry
    assert archive.log.newest(1)[0].action == "audit.run"
    assert run.progress == (50 + c["files"], 50 + c["files"]) and run.finished >= run.started


def test_every_rule_has_what_the_report_needs():
    assert len(RULES) >= 14
    for rule in RULES.values():
        assert rule.title() and rule.title("en") and rule.description() and rule.description("en")
        assert rule.category in ("authenticity", "integrity", "usability", "security")


# -- each rule finds its fault ---------------------------------------------------------------
def _blob_path(revision):
    return revision.blob.committed()


def test_fixity_finds_a_flipped_byte_in_a_stored_file(archive, registry, procedure):
    h, _ = tenant(archive)
    doc = next(iter(h.documents.values()))
    with flipped_byte(doc.current_file):
        found = by_rule(audit(archive, registry, procedure, rules=["fixity"]))["fixity"]
        assert [(f.dossier, f.subject) for f in found] == [(h.archive_no, f"{doc.doc_id}#{doc.current_no}")]
        assert "内容已被改动" in found[0].message and found[0].severity == "critical"
    assert not audit(archive, registry, procedure, rules=["fixity"]).findings


def test_fixity_reports_a_missing_stored_file(archive, registry, procedure):
    h, _ = tenant(archive)
    doc = next(iter(h.documents.values()))
    path = _blob_path(doc.current_file)
    shutil.move(path, path + ".away")
    try:
        found = by_rule(audit(archive, registry, procedure, rules=["fixity", "usability"]))
        assert [f.dossier for f in found["fixity"]] == [h.archive_no] and "无法读取" in found["fixity"][0].message
        assert not found["usability"]
    finally:
        shutil.move(path + ".away", path)


def test_usability_finds_a_page_count_that_no_longer_matches(archive, registry, procedure):
    h, _ = tenant(archive)
    held = archive.fixity._entries[("household", h.archive_no)].chain()[0]   # the oldest files
    held.files = (held.files[0][:4] + (99,) + held.files[0][5:],) + held.files[1:]
    found = by_rule(audit(archive, registry, procedure, rules=["usability"]))["usability"]
    assert [f.dossier for f in found] == [h.archive_no] and "归档时记录为 99 页" in found[0].message


def test_fixity_checks_against_what_was_recorded_at_filing(archive, registry, procedure):
    """The fixity index keeps the value recorded at filing, apart from the revision."""
    h, _ = tenant(archive)
    entry = archive.fixity.of("household", h.archive_no)[0]
    held = archive.fixity._entries[("household", h.archive_no)].chain()[0]   # the oldest files
    held.files = (held.files[0][:2] + (bytes.fromhex("f" * 64),) + held.files[0][3:],) + held.files[1:]
    found = by_rule(audit(archive, registry, procedure, rules=["fixity"]))["fixity"]
    assert [(f.dossier, f.subject) for f in found] == [(h.archive_no, f"{entry.doc_id}#{entry.file_no}")]


def test_every_file_revision_is_in_the_fixity_index(archive):
    assert len(archive.fixity) == sum(len(d.files) for c in (archive.households, archive.units)
                                      for x in c.values() for d in x.documents.values())
    for dossier in list(archive.households.values()) + list(archive.units.values()):
        recorded = {(e.doc_id, e.file_no, e.sha256) for e in archive.fixity.of(dossier.kind, dossier.archive_no)}
        stored = {(d.doc_id, r.number, r.sha256) for d in dossier.documents.values() for r in d.files}
        assert recorded == stored


def test_usability_refuses_encrypted_and_broken_pdfs():
    pages, problem = open_pdf_facts(encrypted_pdf())
    assert "加密" in problem
    assert "不是可读的PDF文件" in open_pdf_facts(b"%PDF-1.4 truncated")[1]
    assert open_pdf_facts(make_pdf(pages=2)) == (2, "")


def test_manifest_finds_a_version_pointing_at_other_content(archive, registry, procedure):
    h, _ = tenant(archive)
    box = h.versions[h.versions.maxKey()]
    entry = box.version.manifest[0]
    forged = dataclasses.replace(entry, sha256="0" * 64)
    box.version = dataclasses.replace(box.version, manifest=(forged,) + box.version.manifest[1:])
    found = by_rule(audit(archive, registry, procedure, rules=["manifest"]))["manifest"]
    assert [(f.dossier, f.subject) for f in found] == [(h.archive_no, f"{entry.doc_id}#{entry.file_no}")]


def test_completeness_finds_a_withdrawn_required_document(archive, registry, procedure):
    h, _ = tenant(archive)
    contract = next(d for d in h.active_documents() if d.metadata["doc_type"] == "lease_contract")
    h.withdraw_document(contract.doc_id, "误撤", "archivist", NOW)
    found = by_rule(audit(archive, registry, procedure, rules=["completeness"]))["completeness"]
    assert h.archive_no in [f.dossier for f in found]
    assert "租赁合同" in next(f for f in found if f.dossier == h.archive_no).message


def test_lease_link_finds_a_unit_that_lost_its_tenant(archive, registry, procedure):
    h, lease = tenant(archive)
    unit = archive.units[lease.unit_no]
    unit.lease = None
    found = by_rule(audit(archive, registry, procedure, rules=["lease_link"]))["lease_link"]
    assert {h.archive_no, unit.archive_no} <= {f.dossier for f in found}


def test_a_lease_past_its_end_is_found(archive, registry, procedure):
    h, lease = tenant(archive)
    lease.end = BASE_DATE - dt.timedelta(days=10)
    found = by_rule(audit(archive, registry, procedure, rules=["lease_expired"]))["lease_expired"]
    assert [f.dossier for f in found] == [h.archive_no] and "已过 10 天" in found[0].message


def test_an_overdue_annual_declaration_is_found(archive, registry, procedure):
    h, _ = tenant(archive)
    h.state_since = NOW - dt.timedelta(days=500)
    found = by_rule(audit(archive, registry, procedure, rules=["annual_review"]))["annual_review"]
    assert h.archive_no in [f.dossier for f in found] and "已逾期" in found[0].message


def test_arrears_of_six_months_are_found_and_five_are_not(archive, registry, procedure):
    h, lease = tenant(archive)
    lease.paid_through = dt.date(2025, 6, 30)          # owes July–December: 6 months
    assert h.archive_no in [f.dossier for f in by_rule(audit(archive, registry, procedure, rules=["arrears"]))["arrears"]]
    lease.paid_through = dt.date(2025, 7, 31)          # owes August–December: 5 months
    assert h.archive_no not in [f.dossier for f in by_rule(audit(archive, registry, procedure, rules=["arrears"]))["arrears"]]


def test_an_overstayed_transition_period_is_found(archive, registry, procedure):
    h, lease = tenant(archive)
    h.state = "exiting"
    lease.transition_until = BASE_DATE - dt.timedelta(days=5)
    found = by_rule(audit(archive, registry, procedure, rules=["transition_overstay"]))["transition_overstay"]
    assert [f.dossier for f in found] == [h.archive_no] and "超期 5 天" in found[0].message


def test_a_breached_threshold_without_override_is_found_and_overrides_are_not(archive, registry, procedure):
    assert not audit(archive, registry, procedure, rules=["threshold"]).findings   # the demo's 破格 steps
    h, _ = tenant(archive, lambda h: procedure.profile(h).value("eligibility.income_per_capita_max"))
    box = next(b for b in h.versions.values() if b.version.transition == "approve")
    metadata = dict(box.version.metadata, income_per_capita=99999.0)
    box.version = dataclasses.replace(box.version, metadata=metadata)
    found = by_rule(audit(archive, registry, procedure, rules=["threshold"]))["threshold"]
    assert [(f.dossier, f.subject) for f in found] == [(h.archive_no, f"v{box.version.number}")]
    assert "未记录破格办理" in found[0].message


def test_a_banned_person_in_an_open_application_is_found(archive, registry, procedure):
    waiting = households(archive, "registered")[0]
    person = waiting.metadata["applicant"]["id_number"]
    archive.credit.record_ban(Ban(person, "sublet", dt.date(2024, 1, 1), dt.date(2029, 1, 1)))
    found = by_rule(audit(archive, registry, procedure, rules=["banned_applicant"]))["banned_applicant"]
    assert waiting.archive_no in [f.dossier for f in found]
    mine = next(f for f in found if f.dossier == waiting.archive_no)
    assert person not in mine.message and person[-4:] in mine.message    # masked
    assert "转租、出借" in mine.message and "2028-12-31" in mine.message


def test_one_person_in_two_active_households_is_found(archive, registry, procedure):
    first, second = households(archive, "registered")[0], tenant(archive)[0]
    shared = first.metadata["applicant"]
    second.metadata = dict(second.metadata, members=list(second.metadata.get("members") or []) + [shared])
    found = by_rule(audit(archive, registry, procedure, rules=["shared_person"]))["shared_person"]
    assert sorted(f.dossier for f in found) == sorted([first.archive_no, second.archive_no])


def test_an_edited_log_entry_breaks_the_chain(archive, registry, procedure):
    assert not audit(archive, registry, procedure, rules=["log_chain"]).findings
    entry = archive.log.entries[5]
    archive.log.entries[5] = dataclasses.replace(entry, actor="someone-else")
    found = by_rule(audit(archive, registry, procedure, rules=["log_chain"]))["log_chain"]
    assert len(found) == 1 and "第 5 条" in found[0].message and found[0].severity == "critical"


def test_the_search_index_out_of_step_is_found(archive, registry, procedure, tmp_path):
    from archive.search.index import SearchIndex
    index = SearchIndex(tmp_path / "index")
    archive.index_queue.clear()          # nothing waits to be indexed, and nothing is
    found = by_rule(audit(archive, registry, procedure, rules=["search_index"], search_index=index))
    assert len(found["search_index"]) == 50 and "检索索引中没有该档案" in found["search_index"][0].message


# -- runs: comparison, acknowledgements -----------------------------------------------------
def test_a_second_run_tells_new_still_open_and_resolved(archive, registry, procedure):
    book = AuditBook()
    first = book.new_run("auditor", NOW, "test")
    run_audit(archive, first, procedure, registry, now=NOW)
    h, lease = tenant(archive)
    lease.end = BASE_DATE - dt.timedelta(days=3)                       # new
    fault = next(f for f in first.findings if f.rule == "arrears")
    archive.households[fault.dossier].lease.paid_through = BASE_DATE   # resolved
    second = book.new_run("auditor", NOW, "test")
    run_audit(archive, second, procedure, registry, now=NOW)
    comparison = book.compare(second)
    assert comparison.previous == first.run_id
    assert [f.dossier for f in comparison.new] == [h.archive_no]
    assert [f.fingerprint for f in comparison.resolved] == [fault.fingerprint]
    assert len(comparison.still_open) == len(first.findings) - 1


def test_acknowledgements_need_a_comment_and_carry_over(archive, registry, procedure):
    book = AuditBook()
    run = book.new_run("auditor", NOW, "test")
    run_audit(archive, run, procedure, registry, now=NOW)
    finding = run.findings[0]
    with pytest.raises(AuditError, match="必须填写说明"):
        book.acknowledge(run, finding.fingerprint, "auditor", NOW, "  ")
    with pytest.raises(AuditError, match="没有这条发现"):
        book.acknowledge(run, "nope|x|y", "auditor", NOW, "已知")
    book.acknowledge(run, finding.fingerprint, "auditor", NOW, "已通知档案员补正")
    again = book.new_run("auditor", NOW, "test")
    run_audit(archive, again, procedure, registry, now=NOW)
    same = next(f for f in again.findings if f.fingerprint == finding.fingerprint)
    assert [a.comment for a in book.acks(same.fingerprint)] == ["已通知档案员补正"]


def test_unknown_rules_are_refused():
    with pytest.raises(AuditError, match="没有名为“nope”的审计规则"):
        AuditBook().new_run("auditor", NOW, "test", ["nope"])


def test_reports_carry_the_findings_in_chinese(archive, registry, procedure):
    import io

    from pypdf import PdfReader

    from archive.audit.report import as_csv, as_pdf
    book = AuditBook()
    run = book.new_run("auditor", NOW, "test")
    run_audit(archive, run, procedure, registry, now=NOW)
    text = as_csv(book, run).decode("utf-8")
    assert text.startswith("\ufeff审计编号,规则") and "一套多租" in text and "新发现" in text
    pdf = PdfReader(io.BytesIO(as_pdf(book, run, lambda when: when.strftime("%Y-%m-%d"))))
    extracted = "".join(page.extract_text() for page in pdf.pages)
    assert "完整性审计报告" in extracted and "一套多租" in extracted


def test_the_nightly_audit_is_queued_once_a_day_after_its_time(archive):
    from archive.audit.worker import parse_schedule, queue_scheduled
    at = parse_schedule("02:30")
    before = dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.timezone.utc)       # 02:00 in Beijing
    assert queue_scheduled(archive, at, before) is None
    run = queue_scheduled(archive, at, before + dt.timedelta(hours=1))    # 03:00
    assert run.trigger == "schedule" and run.status == "queued"
    assert queue_scheduled(archive, at, before + dt.timedelta(hours=5)) is None   # once a day
    assert queue_scheduled(archive, at, before + dt.timedelta(days=1, hours=1)).run_id == run.run_id + 1
    assert queue_scheduled(archive, None, before) is None and parse_schedule("") is None
    with pytest.raises(ValueError, match="archive.audit_at"):
        parse_schedule("half past two")


def test_an_outdated_search_index_is_one_finding(archive, registry, procedure, tmp_path):
    import os

    from archive.search.index import MARK, SearchIndex
    index = SearchIndex(tmp_path / "index")
    os.remove(tmp_path / "index" / MARK)
    found = by_rule(audit(archive, registry, procedure, rules=["search_index"], search_index=index))
    assert [f.subject for f in found["search_index"]] == ["format"]
    assert "archive reindex" in found["search_index"][0].message
