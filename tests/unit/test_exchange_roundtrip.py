"""Hand-over packages: a demo city exported as a BagIt bag and imported into an empty
archive is the same archive (every dossier, version, document and file by SHA-256); the
bag validates with bagit's own command line, without the system; a changed byte or a
deleted manifest line is refused with a report and nothing imported; an existing 档号 too."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from archive.demo.city import build_city
from archive.exchange.bag import TRANSFER_LIST, export_bag, select
from archive.exchange.lists import intake_csv, intake_pdf
from archive.exchange.receive import ImportRefused, receive_bag
from conftest import file_archive


@pytest.fixture(scope="module")
def source(tmp_path_factory, registry, procedure):
    """A small committed demo city and the bag exported from all of it."""
    where = tmp_path_factory.mktemp("source")
    db, tm, root = file_archive(where, registry)
    build_city(root, registry, procedure, households=30, units=20, documents=420)
    tm.commit()
    bag = where / "bag"
    dossiers = select(root, city=None, year=None, archive_nos=list(root.households.keys()) + list(root.units.keys()))
    summary = export_bag(root, dossiers, bag, registry, office="常州市住房保障中心档案室", actor="tester",
                         procedure=procedure)
    yield root, bag, summary
    tm.abort()
    db.close()


@pytest.fixture
def empty(tmp_path, registry):
    (tmp_path / "target").mkdir()
    db, tm, root = file_archive(tmp_path / "target", registry)
    yield root, tm
    tm.abort()
    db.close()


def _snapshot(root):
    """Every dossier as comparable values: metadata, state, versions, documents, files by SHA-256."""
    out = {}
    for kind in ("household", "unit"):
        for dossier in root.container(kind).values():
            out[dossier.archive_no] = (
                kind, dossier.metadata, dossier.state, dossier.state_since, dossier.due, dossier.created,
                dossier.created_by, [box.version for box in dossier.versions.values()],
                [(d.doc_id, d.metadata, d.withdrawn, d.withdraw_reason, d.current_no,
                  [(r.number, r.filename, r.filed_by, r.filed_at, r.size, r.pages, r.sha256, r.sm3,
                    hashlib.sha256(r.read()).hexdigest()) for r in d.files])
                 for d in dossier.documents.values()])
    return out


def test_bag_validates_without_the_system(source):
    _, bag, summary = source
    done = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bag)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert f"Payload-Oxum: {summary.payload_bytes}.{summary.payload_files}" in info
    assert "全宗: CZ" in info and "移交单位: 常州市住房保障中心档案室" in info
    sm3 = (bag / "manifest-sm3.txt").read_text(encoding="utf-8").splitlines()
    assert len(sm3) == summary.payload_files
    assert "manifest-sm3.txt" in (bag / "tagmanifest-sha256.txt").read_text(encoding="utf-8")
    digest, name = sm3[0].split("  ", 1)
    assert hashlib.new("sm3", (bag / name).read_bytes()).hexdigest() == digest


def test_bag_layout_names_files_by_archive_number_and_item(source):
    root, bag, summary = source
    dossier = next(d for d in root.households.values() if any(len(doc.files) > 1 for doc in d.documents.values()))
    folder = bag / "data" / dossier.archive_no
    record = json.loads((folder / "dossier.json").read_text(encoding="utf-8"))
    assert record["archive_no"] == dossier.archive_no
    doc = next(d for d in record["documents"] if len(d["files"]) > 1)
    current = [f for f in doc["files"] if f["current"]]
    assert len(current) == 1 and current[0]["path"].endswith(".current.pdf")
    assert current[0]["path"] == f"files/{dossier.archive_no}-{doc['item_no']:04d}.v{current[0]['number']}.current.pdf"
    assert all((folder / f["path"]).is_file() for f in doc["files"])
    versions = json.loads((folder / "versions.json").read_text(encoding="utf-8"))
    assert [v["number"] for v in versions] == list(dossier.versions.keys())
    assert json.loads((folder / "history.json").read_text(encoding="utf-8"))
    assert (folder / "volume.pdf").read_bytes().startswith(b"%PDF")
    from pypdf import PdfReader
    text = "".join(p.extract_text() for p in PdfReader(bag / TRANSFER_LIST).pages)
    assert "移交清册" in text and dossier.archive_no in text


def test_round_trip_into_an_empty_archive(source, empty, registry):
    root, bag, summary = source
    target, tm = empty
    report = receive_bag(target, bag, registry, actor="tester")
    assert report.accepted and report.dossiers == summary.dossiers and report.files == summary.files
    assert _snapshot(target) == _snapshot(root)
    assert len(target.fixity) == len(root.fixity)
    entry = next(iter(target.fixity.entries()))
    assert entry.sm3 and len(entry.sm3) == 64
    assert all(r.intake and all(c.passed for c in r.intake)
               for d in target.households.values() for doc in d.documents.values() for r in doc.files)
    tm.commit()
    # the same 档号 again: refused with a report, nothing imported twice
    with pytest.raises(ImportRefused, match="已存在") as refused:
        receive_bag(target, bag, registry, actor="tester")
    assert not refused.value.report.accepted
    assert "四性检测" in "".join(__import__("pypdf").PdfReader(
        __import__("io").BytesIO(intake_pdf(refused.value.report))).pages[0].extract_text())
    assert intake_csv(refused.value.report).startswith("\ufeff档号".encode())


def _tampered(bag, tmp_path, change):
    copy = tmp_path / "tampered"
    shutil.copytree(bag, copy)
    change(copy)
    return copy


def _flip_a_byte(copy):
    target = sorted((copy / "data").rglob("*.current.pdf"))[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))


def _drop_a_manifest_line(copy):
    manifest = copy / "manifest-sha256.txt"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    manifest.write_text("".join(lines[1:]), encoding="utf-8")


@pytest.mark.parametrize("change, says", [(_flip_a_byte, "校验值不符"), (_drop_a_manifest_line, "manifest")])
def test_a_tampered_bag_is_refused_and_nothing_imported(source, empty, registry, tmp_path, change, says):
    _, bag, _ = source
    target, _ = empty
    copy = _tampered(bag, tmp_path, change)
    with pytest.raises(ImportRefused) as refused:
        receive_bag(target, copy, registry, actor="tester")
    report = refused.value.report
    assert not report.accepted and report.problems and says in "".join(report.problems)
    assert len(target.households) == len(target.units) == 0 and len(target.fixity) == 0
    assert target.receipts.get(report.number) is report
    assert subprocess.run([sys.executable, "-m", "bagit", "--validate", str(copy)],
                          capture_output=True).returncode != 0


def test_an_office_bag_without_versions_or_digests_is_brought_in(tmp_path, empty, registry):
    """An office's existing electronic records: dossier.json with the metadata and the files,
    no version history and no recorded digests; bagged by bagit itself."""
    import bagit

    from conftest import household_input, make_pdf
    target, _ = empty
    folder = tmp_path / "office" / "CZ-HH-2019-Y-00007"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "a.pdf").write_bytes(make_pdf("申请表 旧档"))
    record = {"kind": "household", "archive_no": "CZ-HH-2019-Y-00007", "created": "2019-04-01T02:00:00+00:00",
              "created_by": "旧系统", "metadata": household_input(),
              "documents": [{"doc_id": "D0001", "metadata": {"doc_type": "application_form", "title": "申请表",
                                                             "date": "2019-03-30", "issuer": "张三", "doc_no": ""},
                             "current_file": 1, "files": [{"number": 1, "path": "files/a.pdf", "filename": "a.pdf"}]}]}
    (folder / "dossier.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    bagit.make_bag(str(tmp_path / "office"), checksums=["sha256"])
    data = tmp_path / "office" / "data"
    lines = [f"{hashlib.new('sm3', p.read_bytes()).hexdigest()}  data/{p.relative_to(data).as_posix()}\n"
             for p in sorted(data.rglob("*")) if p.is_file()]
    (tmp_path / "office" / "manifest-sm3.txt").write_text("".join(lines), encoding="utf-8")
    report = receive_bag(target, tmp_path / "office", registry, actor="tester")
    assert report.accepted
    dossier = target.households["CZ-HH-2019-Y-00007"]
    [version] = dossier.history()
    assert version.actor == "旧系统" and version.when.year == 2019 and version.manifest[0].doc_id == "D0001"
    assert dossier.documents["D0001"].current_file.sm3 == hashlib.new("sm3", make_pdf("申请表 旧档")).hexdigest()
    assert "CZ-HH-2019-Y-00007" in target.numbers.issued


def test_a_malformed_dossier_record_is_refused_with_a_report(source, empty, registry, tmp_path):
    """A dossier.json whose document lacks its id (re-bagged so the checksums hold)."""
    import bagit
    _, bag, _ = source
    target, _ = empty
    copy = tmp_path / "malformed"
    shutil.copytree(bag / "data", copy)
    first = sorted(copy.glob("*/dossier.json"))[0]
    record = json.loads(first.read_text(encoding="utf-8"))
    del record["documents"][0]["doc_id"]
    first.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    bagit.make_bag(str(copy), checksums=["sha256"])
    data = copy / "data"
    (copy / "manifest-sm3.txt").write_text("".join(
        f"{hashlib.new('sm3', p.read_bytes()).hexdigest()}  data/{p.relative_to(data).as_posix()}\n"
        for p in sorted(data.rglob("*")) if p.is_file()), encoding="utf-8")
    with pytest.raises(ImportRefused, match="格式不正确"):
        receive_bag(target, copy, registry, actor="tester")
    assert len(target.households) == 0


def test_package_metadata_comes_back_typed_by_the_schema(registry):
    """Dates (at any depth, members' included) become dates again; numbers, truths, null and
    texts that cannot be dates stay as they are, without being looked up."""
    import datetime as dt
    from archive.exchange import codec
    back = codec.metadata(registry["household"], {
        "applicant": {"name": "吴云", "birth_date": "1980-05-06", "id_number": "320402198005060216"},
        "members": [{"name": "张俊", "birth_date": "1979-01-02"}, {"name": "2020年迁入", "birth_date": None}],
        "income_per_capita": 1200.5, "household_size": 3, "verified": True, "note": "2020年度"})
    assert back["applicant"] == {"name": "吴云", "birth_date": dt.date(1980, 5, 6), "id_number": "320402198005060216"}
    assert back["members"] == [{"name": "张俊", "birth_date": dt.date(1979, 1, 2)}, {"name": "2020年迁入", "birth_date": None}]
    assert (back["income_per_capita"], back["household_size"], back["verified"], back["note"]) == (1200.5, 3, True, "2020年度")


@pytest.fixture(scope="module")
def bound_city(tmp_path_factory, registry, procedure):
    """A demo city of which two households are bound (their volumes kept) and two not."""
    import datetime
    from archive.custody.bound import bind_many
    where = tmp_path_factory.mktemp("bound")
    db, tm, root = file_archive(where, registry)
    build_city(root, registry, procedure, households=30, units=20, documents=420)
    dossiers = list(root.households.values())[:4]
    when = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.timezone.utc)
    bind_many(dossiers[:2], actor="装订员", binder="装订员", when=when)
    tm.commit()
    yield root, dossiers, when
    tm.abort()
    db.close()


def _import(bag, where, registry):
    where.mkdir()
    db, tm, root = file_archive(where, registry)
    report = receive_bag(root, bag, registry, actor="tester")
    tm.commit()
    return db, root, report


def test_a_kept_bound_volume_comes_back_kept_and_a_drawn_one_does_not(bound_city, tmp_path, registry, procedure):
    """A dossier bound in the sending archive arrives bound (the same PDF, version, binder and
    time), so its next hand-over carries it as stored; a volume drawn only for the package
    is not a binding and is not kept."""
    from archive.custody.bound import current
    root, dossiers, when = bound_city
    bag = tmp_path / "bag"
    summary = export_bag(root, dossiers, bag, registry, office="档案室", actor="tester", procedure=procedure)
    assert (summary.volumes_stored, summary.volumes_drawn) == (2, 2)
    db, target, _ = _import(bag, tmp_path / "target", registry)
    for dossier in dossiers:
        arrived = target.households[dossier.archive_no]
        if dossier in dossiers[:2]:
            kept = arrived.bound_volume
            assert kept is not None and current(arrived) is kept
            assert (kept.sha256, kept.version, kept.binder, kept.bound_at) == (
                dossier.bound_volume.sha256, dossier.bound_volume.version, "装订员", when)
            assert hashlib.sha256(kept.read()).hexdigest() == kept.sha256
        else:
            assert arrived.bound_volume is None
    again = export_bag(target, [target.households[d.archive_no] for d in dossiers], tmp_path / "again",
                       registry, office="档案室", actor="tester", procedure=procedure)
    assert (again.volumes_stored, again.volumes_drawn) == (2, 2)
    db.close()


def test_a_volume_the_package_names_wrongly_is_left_out(bound_city, tmp_path, registry, procedure):
    """A stored volume whose version did not come with the dossier (or cannot be a version
    number) is not kept; the dossier is imported all the same."""
    root, dossiers, _ = bound_city
    bag = tmp_path / "bag"
    export_bag(root, dossiers[:2], bag, registry, office="档案室", actor="tester", procedure=procedure)
    for dossier, change in zip(dossiers, ({"version": 999}, {"version": 2**70})):
        record_path = bag / "data" / dossier.archive_no / "dossier.json"
        record = json.loads(record_path.read_text(encoding="utf-8"))
        record["volume"].update(change)
        _rewrite(bag, f"data/{dossier.archive_no}/dossier.json", json.dumps(record, ensure_ascii=False).encode())
    db, target, report = _import(bag, tmp_path / "target", registry)
    assert report.accepted
    assert all(target.households[d.archive_no].bound_volume is None for d in dossiers[:2])
    db.close()


def _rewrite(bag, name, data):
    """A payload file of the bag changed as its sender would have written it: both payload
    manifests, the Payload-Oxum and both tag manifests agree with it, so the bag is valid."""
    (bag / name).write_bytes(data)
    for alg in ("sha256", "sm3"):
        manifest = bag / f"manifest-{alg}.txt"
        lines = [f"{hashlib.new(alg, data).hexdigest()}  {name}" if line.endswith(f"  {name}") else line
                 for line in manifest.read_text(encoding="utf-8").splitlines()]
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    payload = [p for p in (bag / "data").rglob("*") if p.is_file()]
    info = bag / "bag-info.txt"
    info.write_text("\n".join(f"Payload-Oxum: {sum(p.stat().st_size for p in payload)}.{len(payload)}"
                              if line.startswith("Payload-Oxum:") else line
                              for line in info.read_text(encoding="utf-8").splitlines()) + "\n", encoding="utf-8")
    for alg in ("sha256", "sm3"):
        tags = bag / f"tagmanifest-{alg}.txt"
        lines = []
        for line in tags.read_text(encoding="utf-8").splitlines():
            tag = line.split("  ", 1)[1]
            lines.append(f"{hashlib.new(alg, (bag / tag).read_bytes()).hexdigest()}  {tag}")
        tags.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _flip_the_last_file(copy):
    """A byte changed in the package's last file revision: the dossiers before it are read
    and built while the workers still hash it, and the fault is found only then."""
    target = sorted((copy / "data").rglob("*.pdf"), key=lambda p: (p.parent.parent.name, p.name))[-1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))


def test_a_bag_found_bad_after_its_dossiers_were_built_imports_nothing_and_leaves_no_files(
        source, empty, registry, tmp_path, monkeypatch):
    """Dossiers are built while the payload is still checked; a fault found at the end still
    refuses the whole package: nothing in the archive, and every file the import spooled or
    gave a blob removed (the blobs' temporary files are under ``tempfile.gettempdir()``)."""
    import tempfile

    from archive.exchange import receive
    _, bag, _ = source
    target, tm = empty
    copy = _tampered(bag, tmp_path, _flip_the_last_file)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    discarded = []
    real = receive._Built.discard
    monkeypatch.setattr(receive._Built, "discard", lambda self: discarded.append(self) or real(self))
    with pytest.raises(ImportRefused, match="校验值不符") as refused:
        receive_bag(target, copy, registry, actor="tester")
    assert len(discarded) > 1                     # dossiers had been built before the verdict
    assert len(target.households) == len(target.units) == 0 and len(target.fixity) == 0
    assert not target.numbers.issued and not list(temp.iterdir())
    tm.commit()                                   # the receipt alone is kept
    assert target.receipts.get(refused.value.report.number) is refused.value.report
    assert len(target.households) == 0


@pytest.mark.parametrize("spool_from", [0, 2**40])
def test_imported_blobs_take_over_the_bytes_the_workers_checked(source, empty, registry, tmp_path, monkeypatch,
                                                                spool_from):
    """Each file revision's blob gets the bytes its worker hashed and checked (not a second
    read of the package): a large file as the spooled file the worker wrote, which the blob
    takes over, a small one as the bytes passed back. The committed blob has the package's
    bytes and the digests recorded for them, and no spooled file is left behind."""
    import tempfile

    from archive.exchange import receive
    from archive.records import document
    root, bag, summary = source
    target, tm = empty
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(receive, "SPOOL_FROM", spool_from)
    taken, from_workers = [], []
    real_keep, real_content = document.BlobContent._keep, receive._content
    monkeypatch.setattr(document.BlobContent, "_keep",
                        lambda self, data: taken.append(isinstance(data, document.Spooled)) or real_keep(self, data))
    monkeypatch.setattr(receive, "_content", lambda bag_dossier, name, f, spooled: from_workers.append(
        name in (spooled or {})) or real_content(bag_dossier, name, f, spooled))
    report = receive_bag(target, bag, registry, actor="tester")
    assert report.accepted and len(from_workers) == len(taken) == summary.files and all(from_workers)
    assert taken.count(True) == (summary.files if spool_from == 0 else 0)
    tm.commit()
    assert not list(temp.iterdir())
    for dossier in target.households.values():
        for doc in dossier.documents.values():
            for revision in doc.files:
                data = revision.read()
                assert (hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()) == (
                    revision.sha256, revision.sm3)
                sent = root.households[dossier.archive_no].documents[doc.doc_id].file_revision(revision.number)
                assert data == sent.read()


def test_imported_versions_share_their_unchanged_parts(source, empty, registry):
    """An imported dossier's versions are stored as a filed one's are: each version's
    unchanged document entries and metadata are the previous version's records, not copies
    (the import wrote 15,400 of them for 2,000 files before)."""
    _, bag, _ = source
    target, _ = empty
    receive_bag(target, bag, registry, actor="tester")
    for dossier in target.households.values():
        boxes = list(dossier.versions.values())
        parts = {id(p) for box in boxes for p in (box._metadata, *box._manifest)}
        entries = {(e.doc_id, e.file_no, e.sha256, e.withdrawn) for box in boxes for e in box.version.manifest}
        assert len(parts) <= len(entries) + len(boxes)
        for before, after in zip(boxes, boxes[1:]):
            if before.version.metadata == after.version.metadata:
                assert after._metadata is before._metadata


def test_a_manifest_naming_a_path_outside_the_bag_is_refused_without_reading_it(
        source, empty, registry, tmp_path, monkeypatch):
    """bagit refuses a path outside the bag in the manifests it reads before any worker
    starts; it does not read manifest-sm3.txt, whose paths are checked here: such a path is
    reported and never opened (``/dev/zero`` would keep a worker reading forever)."""
    from archive.exchange import receive
    _, bag, _ = source
    target, _ = empty
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 not for the archive")
    read = []
    real = receive.PayloadReader.groups
    monkeypatch.setattr(receive.PayloadReader, "groups", lambda self, groups: read.extend(
        name for _, names in groups for name in names) or real(self, groups))
    for manifest, says in (("manifest-sha256.txt", "不是有效的BagIt移交包"), ("manifest-sm3.txt", "路径在移交包之外")):
        copy = tmp_path / manifest
        shutil.copytree(bag, copy)
        with (copy / manifest).open("a", encoding="utf-8") as fh:
            fh.write(f"{'0' * 64}  data/../../secret.pdf\n")
        with pytest.raises(ImportRefused, match=says):
            receive_bag(target, copy, registry, actor="tester")
        assert not any("secret" in name for name in read) and len(target.households) == 0
    assert read                                  # the SM3 case read the rest of the bag


def test_a_dossier_listing_a_file_outside_the_bag_is_refused_without_reading_it(
        source, empty, registry, tmp_path, monkeypatch):
    """A dossier.json whose file path leads out of its folder (``..``) names no payload file
    the manifests list: the file is never opened (it could be a device that never ends),
    and the package is refused as if the file were missing."""
    import json
    import pathlib
    _, bag, _ = source
    target, _ = empty
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 not for the archive")
    copy = tmp_path / "bag"
    shutil.copytree(bag, copy)
    folder = sorted(p for p in (copy / "data").iterdir() if (p / "dossier.json").is_file())[0]
    record = json.loads((folder / "dossier.json").read_text(encoding="utf-8"))
    record["documents"][0]["files"][0]["path"] = "../../../secret.pdf"
    (folder / "dossier.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    read = []
    real = pathlib.Path.read_bytes
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: read.append(self.name) or real(self))
    with pytest.raises(ImportRefused):
        receive_bag(target, copy, registry, actor="tester")
    assert "secret.pdf" not in read and len(target.households) == 0


def test_a_kept_volume_takes_over_the_bytes_its_worker_hashed(bound_city, tmp_path, registry, procedure,
                                                             monkeypatch):
    """A bound volume the package carries as stored is kept from the bytes the worker read
    and hashed for the bag check (spooled, the blob taking the file over), not read from
    the package again: the same PDF, size and SHA-256 as the sending archive's."""
    from archive.custody import bound
    from archive.exchange import receive
    root, dossiers, _ = bound_city
    bag = tmp_path / "bag"
    export_bag(root, dossiers, bag, registry, office="档案室", actor="tester", procedure=procedure)
    monkeypatch.setattr(receive, "SPOOL_FROM", 0)
    given = []
    real = bound.BoundVolume.__init__
    monkeypatch.setattr(bound.BoundVolume, "__init__",
                        lambda self, data, *rest: given.append(type(data).__name__) or real(self, data, *rest))
    db, target, _ = _import(bag, tmp_path / "target", registry)
    assert given == ["Spooled", "Spooled"]
    for dossier in dossiers[:2]:
        kept, sent = target.households[dossier.archive_no].bound_volume, dossier.bound_volume
        assert (kept.read(), kept.size, kept.sha256) == (sent.read(), sent.size, sent.sha256)
    db.close()
