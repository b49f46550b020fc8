"""Destruction for real: a unique string written into a PDF (drawn on the page, so it is the
file's text layer too, and kept uncompressed so it can be found in the raw bytes) is filed,
read into the text layer and the search index, and found under the test's var/; after the
destruction list is carried out and the store packed it is found nowhere there."""
from __future__ import annotations

import datetime as dt
import gzip
import io
import pathlib
import uuid
import zlib

import transaction

from conftest import doc_fields, household_input


def unique_pdf(marker: str) -> bytes:
    """One page with ``marker`` drawn in Helvetica, streams not compressed."""
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pageCompression=0, invariant=1)
    c.setFont("Helvetica", 12)
    c.drawString(72, 750, f"Destroy me {marker}")
    c.showPage()
    c.save()
    return buf.getvalue()


def found_under(base: pathlib.Path, needle: bytes) -> list:
    """Every file under ``base`` whose bytes hold ``needle``, as they are or inside a zlib
    stream (the text layer is kept compressed in ZODB: records.document.TextLayer)."""
    return [str(p) for p in base.rglob("*") if p.is_file() and holds(p.read_bytes(), needle)]


def holds(data: bytes, needle: bytes) -> bool:
    """``needle`` in ``data``, or in any zlib stream that starts in it; a gzip file (a
    backup's copy of Data.fs, ``.fsz``) is read decompressed."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if needle in data:
        return True
    start = data.find(b"\x78")
    while start != -1:
        if data[start + 1:start + 2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
            try:
                if needle in zlib.decompressobj().decompress(data[start:], 1 << 24):
                    return True
            except zlib.error:
                pass
        start = data.find(b"\x78", start + 1)
    return False


def test_destroyed_file_is_nowhere_on_disk(app, users, store, tmp_path):
    import webtest

    from archive.disposition import appraisal, destruction, purge
    from archive.disposition.book import book_of
    from archive.search.index import drain as index_drain
    from archive.workers import textlayer
    marker = "zqx" + uuid.uuid4().hex   # lower case: the index keeps its words lower-cased
    client = webtest.TestApp(app)
    auth = {"Authorization": f"Bearer {users['archivist']}"}
    no = client.post_json("/api/households", household_input(), headers=auth).json["archive_no"]
    client.post(f"/api/households/{no}/documents",
                doc_fields(doc_type="income_proof", title="收入证明"), headers=auth,
                upload_files=[("file", "proof.pdf", unique_pdf(marker), "application/pdf")], status=201)
    # a second revision of the same document: every revision must go
    client.post(f"/api/households/{no}/documents/D0001/files", {"comment": "重新上传"}, headers=auth,
                upload_files=[("file", "proof2.pdf", unique_pdf(marker + " v2"), "application/pdf")],
                status=201)
    registry, index = app.registry, app.registry.archive_search
    with store() as root:
        textlayer.drain(root)
    with store() as root:
        index_drain(root, registry.archive_schemas, index)
        dossier = root.households[no]
        texts = [r.text for r in dossier.documents["D0001"].files]
        assert all(marker in (t or "") for t in texts)
        # the household left long ago: its period (收入证明, 10 years) is over
        dossier.state, dossier.state_since = "exited", dt.datetime(2010, 1, 4, tzinfo=dt.timezone.utc)
        dossier.move("complete_exit", "exited", "reviewer", dt.datetime(2010, 1, 4, tzinfo=dt.timezone.utc),
                     "退出", keep_clock=True)
    needle = marker.encode()
    from archive.preservation.backup import backup, points
    uri, backups = registry.settings["zodbconn.uri"], tmp_path / "backups"
    backup(uri, str(backups), say=lambda text: None)          # the office's backup, before
    before = found_under(tmp_path, needle)
    assert any("backups" in p and p.endswith(".blob") for p in before), before
    assert any("backups" in p and p.endswith(".fsz") for p in before), before
    assert any(p.endswith(".blob") for p in before), before          # the files themselves
    assert any("Data.fs" in p for p in before), before                # the text layer in ZODB (zlib)
    assert any("index" in p for p in before), before                  # the search index
    sched = registry.archive_disposition
    now = dt.datetime.now(dt.timezone.utc)
    with store() as root:
        dossier = root.households[no]
        assert book_of(root).date_of(dossier) == dt.date(2020, 1, 4)
        appraisal.propose(root, sched, dossier, "destroy", 0, "保管期满，无保存价值", "archivist", now)
        appraisal.decide(root, sched, dossier, 1, True, "同意销毁", "reviewer", now)
        lst = destruction.draw(root, sched, [no], "archivist", now)
        destruction.approve(root, lst.number, "reviewer", now)
        destruction.carry_out(root, sched, lst.number, "archivist2", now)
        sums = [f.sha256 for f in dossier.destruction.files]
        assert len(sums) == 2 and all(len(s) == 64 for s in sums)
    db = registry._zodb_databases[""]
    removed = purge.after_destruction(db, registry.archive_schemas, index, [("household", no)])
    # the store is clean; the backup taken before still holds the file and its text
    left = found_under(tmp_path, needle)
    assert left and all(str(backups) in p for p in left), (left, removed)
    earlier = points(str(backups))
    # the purge again, as the web server runs it with ``archive.backup_dir`` set
    purge.after_destruction(db, registry.archive_schemas, index, [("household", no)],
                            uri=uri, backups=purge.backup_dirs({"archive.backup_dir": str(backups)}))
    assert found_under(tmp_path, needle) == []
    now_points = points(str(backups))
    assert [kind for _, kind in now_points] == ["full"] and now_points[0][0] > earlier[-1][0]
    with _Abort(store) as root:   # the stub: what was destroyed, when, on whose approval
        stub = root.households[no]
        assert stub.destruction.approved_by == "reviewer" and stub.destruction.supervisor == "archivist2"
        assert stub.archive_no == no and stub.title
        assert [f.sha256 for f in stub.destruction.files] == sums
        assert not any(len(d.files) for d in stub.documents.values())
        assert len(root.fixity.of("household", no)) == 0
        restarted = root.log.newest(action="store.backup_restart")
        assert len(restarted) == 1 and earlier[0][0] in restarted[0].detail
        # the integrity audit knows stubs: nothing missing, nothing incomplete, nothing left
        findings = _audit(root, registry)
        assert [f for f in findings if f.dossier == no] == []
        # a stub that still held a file would be a critical finding
        stub.documents["D0001"].files.append(object.__new__(type("Left", (), {"number": 9})))
        found = [f for f in _audit(root, registry) if f.dossier == no]
        assert [f.rule for f in found] == ["stub"] and found[0].severity == "critical"
    transaction.abort()


def _audit(root, registry):
    from archive.audit.runner import run_audit
    from archive.audit.runs import AuditBook
    run = AuditBook().new_run("auditor", dt.datetime.now(dt.timezone.utc), "test",
                              ["fixity", "usability", "manifest", "completeness", "stub"])
    return run_audit(root, run, registry.archive_procedure, registry.archive_schemas)


class _Abort:
    """A store session that never commits (the test plants a fault in it)."""

    def __init__(self, store):
        self.session = store()

    def __enter__(self):
        return self.session.__enter__()

    def __exit__(self, *exc):
        self.session.tm.abort()
        self.session.conn.close()
