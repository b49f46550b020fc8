"""The intake check (接收检测): filing records each check with its 四性 category; a refused
file's check names why; the 档号 rule as a pattern."""
from __future__ import annotations

from archive.records import intake
from archive.records.pdf import inspect
from conftest import encrypted_pdf, make_pdf


def test_a_good_file_passes_every_file_check():
    data = make_pdf()
    facts, checks = intake.check_file(data)
    assert facts is not None and [c.id for c in checks] == list(intake.FILE_CHECKS)
    assert all(c.passed for c in checks)
    assert {c.category for c in checks} == {"usability", "integrity", "security", "authenticity"}


def test_refusals_are_recorded_under_their_check():
    for data, failed in ((b"", "format"), (b"plain text", "format"), (encrypted_pdf(), "not_encrypted"),
                         (make_pdf()[:300], "opens"), (make_pdf(pages=3), "pages")):
        facts, checks = intake.check_file(data, max_pages=2)
        by_id = {c.id: c for c in checks}
        assert facts is None and not by_id[failed].passed and by_id[failed].detail, (failed, checks)
        assert not by_id["fixity"].passed


def test_archive_number_rule():
    pattern = "{fonds}-HH-{year}-Y-{seq:05d}"
    assert intake.archive_no_check("CZ-HH-2026-Y-00001", pattern).passed
    for bad in ("CZ-HH-2026-Y-1", "CZ-HH-26-Y-00001", "CZ-FY-2026-Y-00001", "CZ-HH-2026-Y-00001 ", ""):
        assert not intake.archive_no_check(bad, pattern).passed, bad


def test_filing_keeps_the_checks_with_the_revision(registry):
    import ZODB

    from archive.records import filing
    from archive.root import bootstrap
    from conftest import doc_fields, household_input
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist")
    fields = doc_fields()
    fields.pop("comment")
    doc = filing.file_document(dossier, registry, fields, make_pdf(), "a.pdf", "archivist")
    checks = doc.current_file.intake
    assert [c.id for c in checks] == list(intake.CHECKS) and intake.passed(checks)
    assert checks[0].category_title() == "可用性" and checks[0].title("en") == "An accepted format (PDF, OFD, JPEG, PNG, TIFF)"
    missing = intake.metadata_checks(registry["document"], {"title": "x"})
    assert not missing[0].passed and "文件类型" in missing[0].detail
    assert inspect(make_pdf()).sm3
