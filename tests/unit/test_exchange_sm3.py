"""SM3 beside SHA-256: the known-answer vector, recorded at filing (revision and fixity
index), checked by the fixity rule in the same read, and the evolve step that gives files
filed before it their SM3 (with progress), leaving an altered file without one."""
from __future__ import annotations

import datetime as dt
import hashlib


from archive import evolve
from archive.audit.files import StoredFile, facts
from archive.audit.rules import RULES
from archive.records import filing
from archive.records.pdf import digests, inspect
from conftest import doc_fields, household_input, make_pdf, memory_archive

WHEN = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)


def test_sm3_known_answer():
    """GB/T 32905-2016, example 1."""
    assert hashlib.new("sm3", b"abc").hexdigest() == \
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert digests(b"abc")[1] == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def _filed(registry):
    root = memory_archive(registry)
    dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist")
    fields = doc_fields()
    fields.pop("comment")
    data = make_pdf()
    doc = filing.file_document(dossier, registry, fields, data, "a.pdf", "archivist", when=WHEN)
    return root, dossier, doc, data


def test_sm3_recorded_at_filing_on_the_revision_and_in_the_fixity_index(registry):
    root, dossier, doc, data = _filed(registry)
    sm3 = hashlib.new("sm3", data).hexdigest()
    assert doc.current_file.sm3 == sm3 == inspect(data).sm3
    [entry] = root.fixity.of("household", dossier.archive_no)
    assert entry.sm3 == sm3


def test_fixity_rule_checks_sm3_from_the_same_read():
    data = make_pdf()
    found = facts(data, open_pdf=False)
    assert found[1] == hashlib.sha256(data).hexdigest() and found[5] == hashlib.new("sm3", data).hexdigest()
    rule = RULES["fixity"]
    good = StoredFile("D0001", 1, found[1], 1, *found, recorded_sm3=found[5])
    assert list(rule.check(rule, None, None, good)) == []
    bad = StoredFile("D0001", 1, found[1], 1, *found, recorded_sm3="0" * 64)
    [finding] = rule.check(rule, None, None, bad)
    assert "SM3与归档时不符" in finding.message
    unrecorded = StoredFile("D0001", 1, found[1], 1, *found, recorded_sm3="")
    assert list(rule.check(rule, None, None, unrecorded)) == []


def test_evolve_adds_sm3_to_files_filed_before_with_progress(registry):
    root, dossier, doc, data = _filed(registry)
    # as a database from before SM3: no SM3 on the revision, an index entry of six values
    # (in the shape stored then: a bare tuple with the SHA-256 in hex)
    from archive.records.fixity import _plain
    revision = doc.current_file
    expected = revision.sm3
    revision.sm3 = ""
    del revision.__dict__["sm3"]
    key = ("household", dossier.archive_no)
    root.fixity._entries[key] = tuple(tuple(f[:6]) for f in _plain(root.fixity._entries[key]))
    assert root.fixity.of(*key)[0].sm3 == "" and revision.sm3 == ""
    seen = []
    step = evolve.STEPS[evolve.STEPS.index(evolve._sm3)]
    step(root, registry, progress=lambda done, total: seen.append((done, total)))
    assert revision.sm3 == expected and root.fixity.of(*key)[0].sm3 == expected
    assert seen[-1] == (1, 1)


def test_evolve_leaves_an_altered_file_without_sm3(registry):
    root, dossier, doc, data = _filed(registry)
    revision = doc.current_file
    del revision.__dict__["sm3"]
    revision.sha256 = "0" * 64          # the record no longer matches the bytes
    evolve._sm3(root, registry)
    assert revision.sm3 == ""


def test_upgrade_runs_the_steps_from_their_generation(registry):
    root = memory_archive(registry)
    assert root.generation == len(evolve.STEPS)
    del root.receipts
    first = min(evolve.STEPS.index(evolve._sm3), evolve.STEPS.index(evolve._receipts))
    root.generation = first
    assert evolve.upgrade(root, registry, progress=lambda *a: None) == len(evolve.STEPS) - first
    assert len(root.receipts) == 0
