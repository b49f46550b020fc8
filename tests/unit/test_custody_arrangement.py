"""Arrangement (整理, DA/T 22): 件号 at filing, the retention table, carrier, 归档章, evolve."""
from __future__ import annotations

import datetime as dt
import pathlib
import shutil

import pytest
import transaction
import yaml

from archive import evolve, store
from archive.custody import arrangement
from archive.custody.arrangement import ArrangementError, compile_rules
from archive.records import filing
from archive.records.dossier import HouseholdDossier
from archive.records.pdf import inspect
from archive.root import bootstrap
from conftest import make_pdf

WHEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)
HOUSEHOLD = {"jurisdiction": "changzhou", "applicant": {"name": "张三"}}


@pytest.fixture(scope="module")
def rules(registry):
    return compile_rules(registry)


def _file(dossier, doc_type, title="文件", date="2026-03-02", carrier="", pages=1, when=WHEN):
    data = make_pdf(title, pages=pages)
    metadata = {"doc_type": doc_type, "title": title, "date": dt.date.fromisoformat(date),
                "issuer": "张三", "doc_no": "", "carrier": carrier}
    return dossier.file_document(metadata, data, inspect(data), "f.pdf", "clerk", when)


@pytest.fixture
def dossier():
    return HouseholdDossier("CZ-HH-2026-Y-00001", HOUSEHOLD, "clerk", WHEN)


def test_item_numbers_follow_filing_and_are_never_reused(dossier):
    first, second = _file(dossier, "application_form"), _file(dossier, "income_proof")
    dossier.withdraw_document(second.doc_id, "重复", "clerk", WHEN)
    third = _file(dossier, "pledge")
    assert [arrangement.item_no(d) for d in (first, second, third)] == [1, 2, 3]


def test_retention_comes_from_the_table_and_the_volume_takes_the_longest(dossier, rules):
    docs = [_file(dossier, t) for t in ("income_proof", "id_card")]
    assert [arrangement.retention(d, rules) for d in docs] == ["D10", "D30"]
    assert arrangement.volume_retention(dossier, rules) == "D30"
    pledge = _file(dossier, "pledge")
    assert arrangement.volume_retention(dossier, rules) == "Y"
    dossier.withdraw_document(pledge.doc_id, "误归档", "clerk", WHEN)
    assert arrangement.volume_retention(dossier, rules) == "D30"   # current documents only


def test_a_type_the_table_leaves_out_takes_its_kinds_default(registry, tmp_path, dossier):
    path = tmp_path / "retention.yaml"
    data = yaml.safe_load((pathlib.Path(registry.directory) / "retention.yaml").read_text("utf-8"))
    del data["document_types"]["income_proof"]
    data["defaults"]["household"] = "Y"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    rules = compile_rules(registry, path)
    assert arrangement.retention(_file(dossier, "income_proof"), rules) == "Y"


@pytest.mark.parametrize("change, message", [
    (lambda d: d["document_types"].update(no_such_type="Y"), "unknown document type"),
    (lambda d: d["document_types"].update(pledge="D50"), "unknown retention period"),
    (lambda d: d["periods"].update(D50=50), "not a retention period"),
    (lambda d: d["defaults"].pop("unit"), "needs a default"),
    (lambda d: d["defaults"].update(estate="Y"), "unknown dossier kind"),
])
def test_a_wrong_table_stops_start_up(registry, tmp_path, change, message):
    data = yaml.safe_load((pathlib.Path(registry.directory) / "retention.yaml").read_text("utf-8"))
    change(data)
    path = tmp_path / "retention.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(ArrangementError, match=message):
        compile_rules(registry, path)


def test_the_application_refuses_to_start_on_a_wrong_table(settings, tmp_path):
    from archive import main
    from archive.schema.registry import default_directory
    directory = tmp_path / "schemas"
    shutil.copytree(default_directory(), directory)
    shutil.copytree(default_directory().parent / "workflows", tmp_path / "workflows")
    (directory / "retention.yaml").write_text(
        (directory / "retention.yaml").read_text("utf-8").replace("pledge: Y", "pledge: X"), "utf-8")
    with pytest.raises(ArrangementError, match="pledge"):
        main({}, **dict(settings, **{"archive.schemas_dir": str(directory)}))


def test_carrier_and_digitization(dossier):
    electronic, paper, hybrid = (_file(dossier, "pledge", carrier=c) for c in ("", "paper", "hybrid"))
    assert [arrangement.carrier(d) for d in (electronic, paper, hybrid)] == ["electronic", "paper", "hybrid"]
    assert arrangement.digitization(electronic) == "born_digital"
    assert arrangement.digitization(paper) == "digitized"
    paper.current_file.text_status = "ocr_pending"
    assert arrangement.digitization(paper) == "ocr_pending"


def test_filing_stamp(dossier, rules):
    doc = _file(dossier, "income_proof", date="2025-12-30", pages=3)
    assert arrangement.filing_stamp(dossier, doc, rules) == {
        "fonds": "CZ", "year": 2025, "retention": "D10", "item_no": 1, "pages": 3}
    shown = arrangement.arrangement_json(dossier, doc, rules, "en")
    assert shown["retention_title"] == "10 years" and shown["carrier_title"] == "Electronic only"


def test_default_rules_are_the_installations(rules):
    assert arrangement.default_rules() == rules


def test_evolve_numbers_documents_filed_before_in_filing_order(tmp_path, registry):
    """An archive written before 件号 existed (tests/data/legacy-15adfbd, generation 8)."""
    fixture = pathlib.Path(__file__).resolve().parents[1] / "data" / "legacy-15adfbd"
    shutil.copy(fixture / "Data.fs", tmp_path / "Data.fs")
    shutil.copytree(fixture / "blobs", tmp_path / "blobs")
    for path in (tmp_path / "blobs").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    db = store.open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        old = conn.root()["archive"]
        assert old.generation < len(evolve.STEPS)
        calls = []
        evolve.upgrade(old, registry, progress=lambda done, total: calls.append((done, total)))
        dossiers = [d for k in ("household", "unit") for d in old.container(k).values()]
        assert calls[-1] == (len(dossiers), len(dossiers))
        for dossier in dossiers:
            docs = sorted(dossier.documents.values(), key=lambda d: d.doc_id)
            assert [d.item_no for d in docs] == list(range(1, len(docs) + 1))
            if docs:
                assert _file(dossier, "pledge").item_no == len(docs) + 1
        assert old.stacks is not None and old.generation == len(evolve.STEPS)
    finally:
        tm.abort()
        conn.close()
        db.close()


def test_filing_through_the_model_numbers_items(registry, tmp_path):
    """The filing every path uses (forms, API, CLI, demo) gives the 件号."""
    db = store.open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        root = bootstrap(conn.root(), registry)
        from conftest import household_input
        dossier = filing.create_dossier(root, registry, "household", household_input(), "clerk")
        fields = {"doc_type": "pledge", "title": "承诺书", "date": "2026-03-02", "issuer": "张三"}
        docs = [filing.file_document(dossier, registry, {**fields, "carrier": carrier}, make_pdf(),
                                     "f.pdf", "clerk") for carrier in ("", "paper")]
        assert [d.item_no for d in docs] == [1, 2]
        # an empty carrier is not stored (records filed before the field read the same)
        assert "carrier" not in docs[0].metadata and docs[1].metadata["carrier"] == "paper"
        assert [arrangement.carrier(d) for d in docs] == ["electronic", "paper"]
    finally:
        tm.abort()
        conn.close()
        db.close()
