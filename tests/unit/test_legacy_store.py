"""An archive written by earlier code keeps opening: tests/data/legacy-15adfbd is a small demo
city (12 households, 8 units, 130 documents, generation 8) made by commit 15adfbd with its own
BlobStorage-wrapped FileStorage; ``expected.json`` is what that code read from it. The
current code opens a copy, evolves it, and must read every dossier, version and file the
same, pass the integrity rules, and file into it."""
import hashlib
import json
import pathlib
import shutil

import pytest
import transaction

from archive import evolve, store
from archive.records import filing
from archive.audit import run_audit
from archive.audit.runs import AuditBook
from archive.root import bootstrap
from conftest import make_pdf

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "data" / "legacy-15adfbd"


def manifest(root) -> dict:
    """What the archive holds, in the shape of expected.json."""
    out = {"generation": root.generation, "log": len(root.log), "dossiers": {}}
    for kind in ("household", "unit"):
        for d in root.container(kind).values():
            out["dossiers"][d.archive_no] = {
                "state": d.state, "versions": [[v.number, v.action, v.actor] for v in d.history()],
                "files": {f"{doc.doc_id}#{r.number}": hashlib.sha256(r.read()).hexdigest()
                          for doc in d.documents.values() for r in doc.files}}
    return out


@pytest.fixture
def legacy(tmp_path, registry):
    """The fixture's copy opened by today's store, evolved at bootstrap as the server does."""
    shutil.copy(FIXTURE / "Data.fs", tmp_path / "Data.fs")
    shutil.copytree(FIXTURE / "blobs", tmp_path / "blobs")
    for path in (tmp_path / "blobs").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    db = store.open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    tm.begin()
    root = bootstrap(conn.root(), registry)
    tm.commit()
    yield root, tm
    tm.abort()
    conn.close()
    db.close()


def test_every_dossier_version_and_file_reads_as_before(legacy):
    root, _ = legacy
    expected = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    got = manifest(root)
    assert expected["generation"] == 8 and got["generation"] == evolve.CURRENT
    assert got["dossiers"] == expected["dossiers"]
    # 三员分立: the upgrade maps the demo's old all-powerful admin, and says so in the log
    mapped = [e for e in root.log.newest(50, "user.roles") if e.actor == "evolve"]
    assert [(e.target, e.detail) for e in mapped] == [("admin", "admin -> sysadmin,archivist")]
    assert root.users["admin"].roles == ("sysadmin", "archivist")
    assert got["log"] == expected["log"] + len(mapped)


def test_the_evolved_archive_passes_the_integrity_rules(legacy, registry, procedure):
    root, _ = legacy
    run = AuditBook().new_run("auditor", filing.now(), "test",
                              ["fixity", "usability", "manifest", "log_chain"])
    run_audit(root, run, procedure, registry)
    expected = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    files = sum(len(d["files"]) for d in expected["dossiers"].values())   # refiled ones too
    assert run.findings == () and run.counts["files"] == files


def test_the_evolved_archive_takes_new_filings(legacy, registry):
    root, tm = legacy
    dossier = next(iter(root.households.values()))
    before = len(dossier.documents)
    filing.file_document(dossier, registry, {"doc_type": "income_proof", "title": "收入证明（补充）", "date": "2026-03-02", "issuer": "街道办"},
                         make_pdf(), "a.pdf", "archivist", "升级后补充")
    tm.commit()
    root.log.seal()
    tm.commit()
    assert len(dossier.documents) == before + 1 and root.log.check().ok
    assert len(root.text_queue) >= 1 and root.households.newest(1)[0] is dossier
