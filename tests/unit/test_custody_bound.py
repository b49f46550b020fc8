"""The bound volume kept (archive.custody.bound): binding records a version and keeps the PDF
with it; the volume stays current through a shelving note and goes stale on any change to
what it shows (a document filed, withdrawn, metadata edited, a version restored), and a
hand-over package carries the kept volume only while it is current — never a stale one."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import threading

import pytest
import transaction
from pypdf import PdfReader

from archive.custody import bound
from archive.custody.arrangement import compile_rules
from archive.exchange.bag import export_bag
from archive.exchange.receive import receive_bag
from archive.records import filing
from archive.records.dossier import DossierError
from archive.records.pdf import inspect
from archive.root import bootstrap
from conftest import file_archive, household_input, make_pdf

WHEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)
LATER = WHEN + dt.timedelta(days=3)


def _file(dossier, text, title, doc_type="pledge"):
    data = make_pdf(text)
    metadata = {"doc_type": doc_type, "title": title, "date": dt.date(2026, 1, 5),
                "issuer": "常州市住房保障中心", "doc_no": "", "carrier": ""}
    return dossier.file_document(metadata, data, inspect(data), "f.pdf", "clerk", WHEN)


def _household(root, registry, n):
    return filing.create_dossier(root, registry, "household", household_input(seq=n + 1), "clerk", when=WHEN)


@pytest.fixture
def archive(tmp_path, registry):
    db, tm, root = file_archive(tmp_path, registry)
    dossiers = []
    for n in range(3):
        d = _household(root, registry, n)
        _file(d, f"申请表{n}", "申请表", "application_form")
        _file(d, f"承诺书{n}", "承诺书")
        dossiers.append(d)
    tm.commit()
    yield root, tm, dossiers
    tm.abort()
    db.close()


@pytest.fixture(scope="module")
def rules(registry):
    return compile_rules(registry)


def _text(data):
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_binding_keeps_the_volume_with_the_version_that_records_it(archive, rules):
    root, tm, (dossier, *_) = archive
    before = dossier.latest.number
    kept = bound.bind(dossier, rules, actor="li", when=LATER, binder="李档案")
    tm.commit()
    assert dossier.latest.action == "bound" and dossier.latest.actor == "li"
    assert kept.version == dossier.latest.number == before + 1
    assert bound.current(dossier) is kept
    data = kept.read()
    assert data.startswith(b"%PDF") and len(data) == kept.size
    text = _text(data)
    assert "案 卷 封 面" in text and "李档案" in text and dossier.archive_no in text


def test_a_shelving_note_leaves_the_volume_current(archive, rules):
    _, _, (dossier, *_) = archive
    kept = bound.bind(dossier, rules, actor="li", when=LATER)
    dossier.note("shelved", "li", LATER, "上架")
    assert bound.current(dossier) is kept


@pytest.mark.parametrize("change", ["file", "withdraw", "edit", "restore", "edit_document"])
def test_any_change_to_what_the_volume_shows_makes_it_stale(archive, rules, registry, change):
    _, _, (dossier, *_) = archive
    bound.bind(dossier, rules, actor="li", when=LATER)
    doc = next(iter(dossier.documents.values()))
    if change == "file":
        _file(dossier, "后补的证明", "后补的收入证明", "income_proof")
    elif change == "withdraw":
        dossier.withdraw_document(doc.doc_id, "重复归档", "clerk", LATER)
    elif change == "edit":
        dossier.update(dict(dossier.metadata, applicant=dict(dossier.metadata["applicant"], name="王改名")),
                       "clerk", LATER)
    elif change == "restore":
        dossier.restore(2, "clerk", LATER, "退回")
    else:
        dossier.update_document(doc.doc_id, dict(doc.metadata, title="改过的题名"), "clerk", LATER)
    assert bound.current(dossier) is None
    assert dossier.bound_volume is not None     # kept, but never handed out as the dossier's


def test_a_destroyed_dossier_is_not_bound(archive, rules):
    _, _, (dossier, *_) = archive
    dossier.destruction = object()
    with pytest.raises(DossierError):
        bound.bind(dossier, rules, actor="li", when=LATER)


def test_bind_many_draws_in_workers_and_skips_the_current_ones(archive, rules):
    root, tm, dossiers = archive
    seen = []
    assert bound.bind_many(dossiers, rules, actor="li", when=LATER, each=lambda d, v: seen.append(d)) == (3, 0)
    assert all(bound.current(d) is not None for d in dossiers) and len(seen) == 3
    first = [d.bound_volume for d in dossiers]
    _file(dossiers[1], "新文件", "新的收入证明", "income_proof")
    assert bound.bind_many(dossiers, rules, actor="li", when=LATER) == (1, 2)
    assert dossiers[0].bound_volume is first[0] and dossiers[1].bound_volume is not first[1]
    assert "新的收入证明" in _text(dossiers[1].bound_volume.read())
    tm.commit()


def _record(bag, dossier):
    return json.loads((bag / "data" / dossier.archive_no / "dossier.json").read_text(encoding="utf-8"))


def test_export_carries_the_kept_volume_and_draws_a_stale_one_afresh(archive, rules, registry, procedure, tmp_path):
    root, tm, (same, changed, never) = archive
    bound.bind_many([same, changed], rules, actor="li", when=LATER, binder="李档案")
    _file(changed, "补充材料", "补充的收入证明", "income_proof")
    tm.commit()
    summary = export_bag(root, [same, changed, never], tmp_path / "bag", registry, office="档案室",
                         actor="tester", procedure=procedure)
    bag = tmp_path / "bag"
    assert (summary.volumes_stored, summary.volumes_drawn, summary.unbound) == (1, 2, ())
    assert (bag / "data" / same.archive_no / "volume.pdf").read_bytes() == same.bound_volume.read()
    assert _record(bag, same)["volume"]["source"] == "stored"
    assert _record(bag, same)["volume"]["version"] == same.bound_volume.version
    fresh = (bag / "data" / changed.archive_no / "volume.pdf").read_bytes()
    assert fresh != changed.bound_volume.read()              # never the stale one
    assert "补充的收入证明" in _text(fresh) and "补充的收入证明" not in _text(changed.bound_volume.read())
    assert _record(bag, changed)["volume"]["source"] == "drawn"
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert "已装订保存的 1 卷，移交时装订的 2 卷" in info


def test_export_can_leave_unbound_volumes_out_and_list_them(archive, rules, registry, procedure, tmp_path):
    root, tm, (same, changed, never) = archive
    bound.bind_many([same, changed], rules, actor="li", when=LATER)
    changed.withdraw_document(next(iter(changed.documents)), "重复", "clerk", LATER)
    tm.commit()
    bag = tmp_path / "bag"
    summary = export_bag(root, [same, changed, never], bag, registry, office="档案室", actor="tester",
                         procedure=procedure, volumes="stored")
    assert (summary.volumes_stored, summary.volumes_drawn) == (1, 0)
    assert set(summary.unbound) == {changed.archive_no, never.archive_no}
    assert not (bag / "data" / changed.archive_no / "volume.pdf").exists()
    assert _record(bag, never)["volume"] == {"path": None, "source": "not_bound"}
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert "未装订 2 卷" in info and changed.archive_no in info and never.archive_no in info
    # the package is whole without them: it imports
    (tmp_path / "target").mkdir()
    db, ttm, target = file_archive(tmp_path / "target", registry)
    try:
        report = receive_bag(target, bag, registry, actor="tester", queue_text=False)
        assert report.accepted and report.dossiers == 3
    finally:
        ttm.abort()
        db.close()


def test_an_export_written_by_worker_processes_is_the_one_written_here(tmp_path, registry, procedure,
                                                                       rules, monkeypatch):
    """Worker processes (each reading the FileStorage through handles of its own) write the
    same payload, manifests and counts as the main process alone: a kept volume, one drawn.

    The workers are forked only from a process of one thread; apps other tests built leave
    their worker threads in this one, so then the test runs itself in a fresh pytest."""
    if threading.active_count() != 1 and not os.environ.get("ARCHIVE_TEST_ALONE"):
        alone = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"{__file__}::test_an_export_written_by_worker_processes_is_the_one_written_here"],
            env=dict(os.environ, ARCHIVE_TEST_ALONE="1"), capture_output=True, text=True, timeout=900)
        assert alone.returncode == 0, alone.stdout[-4000:] + alone.stderr[-2000:]
        return
    from archive import store
    from archive.exchange import bag
    db = store.open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    tm = transaction.TransactionManager()
    root = bootstrap(db.open(transaction_manager=tm).root(), registry)
    dossiers = []
    for n in range(5):
        d = _household(root, registry, n)
        _file(d, f"申请表{n}", "申请表", "application_form")
        _file(d, f"承诺书{n}", "承诺书")
        dossiers.append(d)
    bound.bind_many(dossiers[:3], rules, actor="li", when=LATER)
    _file(dossiers[0], "补充", "补充材料", "income_proof")
    tm.commit()
    try:
        monkeypatch.setattr(bag, "CHUNK", 2)
        parts = bag._Parts.start(root, dossiers, tmp_path / "x", registry, procedure, "draw")
        assert parts is not None       # FileStorage, committed, one thread: workers write
        parts.close()
        when = WHEN
        there = export_bag(root, dossiers, tmp_path / "parts", registry, office="室", actor="t",
                           procedure=procedure, when=when)
        monkeypatch.setattr(bag, "CHUNK", 100)
        here = export_bag(root, dossiers, tmp_path / "here", registry, office="室", actor="t",
                          procedure=procedure, when=when)
        assert (there.files, there.payload_files, there.payload_bytes, there.volumes_stored,
                there.volumes_drawn) == (here.files, here.payload_files, here.payload_bytes, 2, 3)
        for name in ("manifest-sha256.txt", "manifest-sm3.txt"):
            lines = lambda d: sorted((tmp_path / d / name).read_text(encoding="utf-8").splitlines())  # noqa: E731
            # the drawn volumes carry today's date as any volume drawn now: compare the rest
            keep = lambda d: [x for x in lines(d) if not x.endswith("volume.pdf") or  # noqa: E731
                              any(x.endswith(f"{k.archive_no}/volume.pdf") for k in dossiers[1:3])]
            assert keep("parts") == keep("here")
        assert (tmp_path / "parts" / "bag-info.txt").read_text(encoding="utf-8") == \
            (tmp_path / "here" / "bag-info.txt").read_text(encoding="utf-8")
    finally:
        tm.abort()
        db.close()
