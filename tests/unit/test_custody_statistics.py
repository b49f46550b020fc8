"""统计年报: a small real archive (FileStorage with blobs, filed through the filing code) in
two cities, documents of several types and carriers, a loan and an audit run; every count
of the yearly report checked exactly, and the CSV and PDF read back."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import transaction
from pypdf import PdfReader

from archive.audit.rules import Finding
from archive.custody import loans, statistics
from archive.custody.arrangement import compile_rules
from archive.custody.statistics import StatisticsError
from archive.records import filing
from archive.root import bootstrap
from archive.store import open_database
from conftest import doc_fields, employer_dossier, household_input, make_pdf, unit_input

UTC = dt.timezone.utc
Y2025 = dt.datetime(2025, 11, 3, 2, 0, tzinfo=UTC)
MARCH = dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
JUNE = dt.datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
NEW_YEAR_EVE = dt.datetime(2026, 12, 31, 17, 0, tzinfo=UTC)   # 2027-01-01 01:00 in Beijing


@pytest.fixture
def root(tmp_path, registry):
    database = open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    tm = transaction.TransactionManager()
    conn = database.open(transaction_manager=tm)
    root = bootstrap(conn.root(), registry)

    def file(dossier, doc_type, pages, when, carrier=""):
        fields = doc_fields(doc_type=doc_type, title=doc_type, carrier=carrier) if carrier \
            else doc_fields(doc_type=doc_type, title=doc_type)
        return filing.file_document(dossier, registry, fields, make_pdf(doc_type, pages=pages),
                                    "a.pdf", "archivist", when=when)

    old = filing.create_dossier(root, registry, "household", household_input(), "archivist", when=Y2025)
    file(old, "application_form", 2, Y2025)                       # Y, electronic, held since 2025
    file(old, "income_proof", 3, MARCH, carrier="paper")          # D10, paper, added in 2026
    new = filing.create_dossier(root, registry, "household", household_input("李四", seq=31),
                                "archivist", when=MARCH)
    file(new, "id_card", 1, MARCH, carrier="hybrid")              # D30, hybrid, added in 2026
    gone = file(new, "pledge", 4, MARCH)
    new.withdraw_document(gone.doc_id, "误归档", "archivist", JUNE)  # withdrawn: never counted
    unit = filing.create_dossier(root, registry, "unit",
                                 unit_input(jurisdiction="xiamen", district="思明区",
                                            address="厦门市思明区湖滨南路1号"),
                                 "archivist", when=JUNE)
    file(unit, "lease_contract", 5, JUNE)                         # Y, electronic, xiamen
    late = filing.create_dossier(root, registry, "household", household_input("王五", seq=51),
                                 "archivist", when=NEW_YEAR_EVE)  # 2027 in the office's zone
    file(late, "application_form", 6, NEW_YEAR_EVE)

    item = loans.Item("household", old.archive_no)
    root.loans.request("court", "法院", [item], "judicial", "read", dt.date(2026, 6, 30), False, "",
                       JUNE, JUNE.date())
    root.loans.request("court", "法院", [item], "review", "lend", dt.date(2026, 3, 20), False, "",
                       MARCH, MARCH.date())
    root.loans.request("court", "法院", [item], "judicial", "copy", dt.date(2025, 11, 20), False, "",
                       Y2025, Y2025.date())                       # 2025: not in 2026's report
    run = root.audits.new_run("auditor", JUNE)
    run.status, run.findings = "done", (
        Finding("fixity", "critical", "摘要不符", old.archive_no, "household", "D0001"),
        Finding("fixity", "critical", "摘要不符", new.archive_no, "household", "D0001"),
        Finding("search_index", "minor", "索引缺失", unit.archive_no, "unit", "D0001"))
    root.audits.new_run("auditor", JUNE)                          # queued, not finished
    tm.commit()
    yield root
    tm.abort()
    conn.close()
    database.close()


@pytest.fixture(scope="module")
def rules(registry):
    return compile_rules(registry)


def counts(mapping):
    return {k: (v.dossiers, v.documents, v.pages) for k, v in mapping.items()}


def test_holdings_at_the_end_of_the_year_by_city_kind_retention_and_carrier(root, rules):
    report = statistics.yearly_report(root, 2026, rules)
    assert (report.holdings.dossiers, report.holdings.documents, report.holdings.pages) == (3, 4, 11)
    assert counts(report.by_city) == {"changzhou": (2, 3, 6), "xiamen": (1, 1, 5)}
    assert counts(report.by_kind) == {"household": (2, 3, 6), "unit": (1, 1, 5)}
    assert counts(report.by_retention) == {"Y": (0, 2, 7), "D10": (0, 1, 3), "D30": (0, 1, 1)}
    assert counts(report.by_carrier) == {"electronic": (0, 2, 7), "paper": (0, 1, 3), "hybrid": (0, 1, 1)}


def test_what_was_added_in_the_year(root, rules):
    report = statistics.yearly_report(root, 2026, rules)
    assert (report.added.dossiers, report.added.documents, report.added.pages) == (2, 3, 9)
    before = statistics.yearly_report(root, 2025, rules)
    assert (before.holdings.dossiers, before.holdings.documents, before.holdings.pages) == (1, 1, 2)
    assert (before.added.dossiers, before.added.documents, before.added.pages) == (1, 1, 2)
    after = statistics.yearly_report(root, 2027, rules)   # the dossier of new year's eve (UTC) is 2027's
    assert (after.added.dossiers, after.added.documents, after.added.pages) == (1, 1, 6)
    assert after.holdings.dossiers == 4


def test_loans_by_purpose_form_and_month(root, rules):
    report = statistics.yearly_report(root, 2026, rules)
    assert report.loans == 2
    assert report.loans_by_purpose == {"judicial": 1, "review": 1}
    assert report.loans_by_form == {"read": 1, "lend": 1}
    assert report.loans_by_month == {m: (1 if m in (3, 6) else 0) for m in range(1, 13)}
    assert statistics.yearly_report(root, 2025, rules).loans_by_purpose == {"judicial": 1}


def test_audits_and_their_findings_by_rule_and_severity(root, rules):
    report = statistics.yearly_report(root, 2026, rules)
    assert (report.audits, report.audits_done, report.findings) == (2, 1, 3)
    assert report.findings_by_rule == {"fixity": 2, "search_index": 1}
    assert report.findings_by_severity == {"critical": 2, "minor": 1}
    assert statistics.yearly_report(root, 2025, rules).audits == 0


@pytest.mark.parametrize("year", ["", "abc", "1899", "10000", "-2026", "2026.5", None])
def test_a_bad_year_is_refused_in_chinese(root, rules, year):
    with pytest.raises(StatisticsError, match="年度应为"):
        statistics.yearly_report(root, year, rules)


def test_csv_has_a_bom_and_formula_safe_cells_and_the_pdf_reads_back_in_chinese(root, rules, registry):
    report = statistics.yearly_report(root, 2026, rules)
    names = statistics.titles(registry)
    names["jurisdictions"]["changzhou"] = "=HYPERLINK(1)"    # a hostile title stays text
    data = statistics.as_csv(report, names)
    assert data.startswith("\ufeff".encode("utf-8"))
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK(1),2,3,6" in text
    assert "厦门市,1,1,5" in text and "合计,3,4,11" in text and "统计研究" not in text
    pdf = statistics.as_pdf(report, statistics.titles(registry), "2027-01-02 09:00")
    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "2026年统计年报" in extracted and "常州" in extracted and "司法" in extracted


def test_employer_dossiers_are_counted_as_their_own_kind(root, rules, registry, procedure):
    before = counts(statistics.yearly_report(root, 2026, rules).by_kind)
    employer = employer_dossier(root, registry, procedure, when=JUNE)   # and a unit, two households
    report = statistics.yearly_report(root, 2026, rules)
    pages = sum(d.current_file.pages for d in employer.active_documents())
    assert counts(report.by_kind)["employer"] == (1, 4, pages) and pages >= 4
    assert counts(report.by_kind)["household"] == (before["household"][0] + 2,) + before["household"][1:]
    assert counts(report.by_kind)["unit"] == (before["unit"][0] + 1,) + before["unit"][1:]
    assert (report.holdings.dossiers, report.added.dossiers) == (3 + 4, 2 + 4)
    text = statistics.as_csv(report, statistics.titles(registry)).decode("utf-8-sig")
    assert f"单位集体申请档案,1,4,{pages}" in text
