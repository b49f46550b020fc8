"""What one filing writes (bench/growth.py's question, asked of a real FileStorage): the
new document's own records, and of the records already stored only small ones — never
the dossier itself, another dossier's records, a shared bucket of the fixity index, or
the file revision when its text is read."""
from __future__ import annotations

import dataclasses

from ZODB.FileStorage import FileIterator
from ZODB.FileStorage.format import DATA_HDR_LEN
from ZODB.utils import get_pickle_metadata

from archive.records import filing
from archive.records.dossier import SharedPart, StoredVersion
from archive.records.version import DocEntry, Version
from archive.workers.textlayer import drain
from archive.workers.inbox import ShardedInbox
from archive_state import Opened
from conftest import doc_fields, household_input, make_pdf


def last_transaction(path):
    """(class, size, rewritten?) of every record of Data.fs's last transaction."""
    seen, last = set(), []
    for txn in FileIterator(path):
        last = [(get_pickle_metadata(r.data)[1], DATA_HDR_LEN + len(r.data), r.oid in seen)
                for r in txn]
        seen.update(r.oid for r in txn)
    return last


def test_a_filing_rewrites_only_small_records_and_not_the_dossier(tmp_path, registry):
    uri = f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs"
    with Opened(uri, registry) as session:
        dossiers = [filing.create_dossier(session.root, registry, "household",
                                          household_input(name=f"王{i}", seq=10 + 2 * i), "archivist")
                    for i in range(3)]
        session.commit()
        for round_ in range(4):
            for dossier in dossiers:
                filing.file_document(dossier, registry, doc_fields(title=f"材料{round_}"),
                                     make_pdf(f"材料 {round_}"), "a.pdf", "archivist")
                session.commit()
        drain(session.root, commit=session.commit)
        filing.file_document(dossiers[1], registry, doc_fields(title="再一份"), make_pdf("再一份"),
                             "b.pdf", "archivist")
        session.tm.commit()                       # as a request does: sealing comes after
        records = last_transaction(f"{tmp_path}/Data.fs")
        rewritten = [(cls, size) for cls, size, again in records if again]
        assert "HouseholdDossier" not in {cls for cls, _ in rewritten}
        assert sorted(cls for cls, _ in rewritten) == sorted(
            ["OOBTree", "IOBTree", "DossierFiles", "Length", "Inbox", "Inbox", "Inbox"])
        assert max(size for _, size in rewritten) < 1000
        new = {cls for cls, _, again in records if not again}
        assert {"Document", "FileRevision", "TextLayer", "Blob", "StoredVersion", "SharedPart"} <= new

        drain(session.root, commit=session.commit)         # the text layer read after the commit
        classes = {cls for cls, _, _ in last_transaction(f"{tmp_path}/Data.fs")}
        assert "TextLayer" in classes and "FileRevision" not in classes


def test_versions_share_the_parts_that_did_not_change(tmp_path, registry):
    uri = f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs"
    with Opened(uri, registry) as session:
        dossier = filing.create_dossier(session.root, registry, "household", household_input(), "archivist")
        for n in range(2):
            filing.file_document(dossier, registry, doc_fields(title=f"材料{n}"), make_pdf(), "a.pdf", "x")
        second, third = dossier.versions[2], dossier.versions[3]
        assert third._metadata is second._metadata and third._manifest[0] is second._manifest[0]
        assert len(third._manifest) == 2 and third._manifest[1] is not second._manifest[0]
        filing.edit_dossier(dossier, registry, dict(household_input(), phone="13900000000"), "x", "电话")
        assert dossier.versions[4]._metadata is not third._metadata
        assert dossier.version(3).manifest == third.version.manifest       # read whole, as stored
        assert [v.number for v in dossier.history()] == [4, 3, 2, 1]
        assert dossier.modified == dossier.latest.when


def test_a_version_stored_whole_reads_as_it_was_stored():
    entry = DocEntry("D0001", 1, "ab" * 32, {"title": "申请表"})
    version = Version(1, None, "archivist", "", "filed", {"a": 1}, (entry,))
    old = StoredVersion.__new__(StoredVersion)
    old.__setstate__({"version": version})                 # as pickled before generation 10
    assert old.version is version and old._parts() == (None, {})
    replaced = dataclasses.replace(version, actor="someone-else")
    old.version = replaced                                   # the audit tests' tampering
    assert old.version == replaced and isinstance(old._metadata, SharedPart)


def test_a_sharded_inbox_keeps_key_order_across_its_shards():
    inbox = ShardedInbox()
    keys = [(n, f"{n:08x}") for n in range(100, 0, -1)]
    for key in keys:
        inbox.put(key, str(key))
    assert len({id(inbox._shard(k)) for k in keys}) > 10              # spread, not in one record
    assert [k for k, _ in inbox.items()] == sorted(keys) and len(inbox) == 100
    assert inbox.pop(keys[0]) and not inbox.pop(keys[0]) and keys[0] not in inbox
    assert inbox.get(keys[1]) == str(keys[1])
    assert [k for k, _ in inbox.drain()] == sorted(keys[1:]) and len(inbox) == 0


def test_immutable_records_pickle_by_position_and_old_pickles_still_load():
    import pickle
    from archive.records.intake import Check
    when = __import__("datetime").datetime(2026, 1, 5, tzinfo=__import__("datetime").timezone.utc)
    entry = DocEntry("D0001", 1, "ab" * 32, {"title": "申请表"}, True, "重复")
    version = Version(3, when, "archivist", "说明", "filed", {"a": 1}, (entry,), details=(("x", "y"),))
    for record in (entry, version, Check("format", True), Check("pages", False, "页数超过上限")):
        data = pickle.dumps(record, 3)
        assert pickle.loads(data) == record and b"file_no" not in data and b"detail" not in data
    assert pickle.loads(pickle.dumps(DocEntry("D1", 1, "", {}), 3)).withdrawn is False
    default = pickle.dumps(version, 3)
    reduce_ = Version.__reduce__
    del Version.__reduce__                                  # as pickled before: by field name
    try:
        by_name = pickle.dumps(version, 3)
    finally:
        Version.__reduce__ = reduce_
    assert b"restored_from" in by_name and pickle.loads(by_name) == version
    assert len(default) < len(by_name) - 80


def test_a_dossier_fixity_record_stays_small_as_the_dossier_grows(tmp_path, registry):
    uri = f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs"
    with Opened(uri, registry) as session:
        dossier = filing.create_dossier(session.root, registry, "household", household_input(), "archivist")
        session.commit()
        for n in range(11):
            filing.file_document(dossier, registry, doc_fields(title=f"材料{n}"), make_pdf(f"材料 {n}"),
                                 "a.pdf", "archivist")
            session.commit()
            sizes = [size for cls, size, again in last_transaction(f"{tmp_path}/Data.fs")
                     if cls == "DossierFiles"]
            assert max(sizes) < 600                          # 4 files at most in one record
        entries = session.root.fixity.of("household", dossier.archive_no)
        assert [e.doc_id for e in entries] == [f"D{n:04d}" for n in range(1, 12)]
        assert entries[-1].sha256 == dossier.document("D0011").current_file.sha256
        held = session.root.fixity._entries[("household", dossier.archive_no)]
        assert [len(node.files) for node in held.chain()] == [4, 4, 3]
        assert "PersistentList" not in {cls for cls, _, _ in last_transaction(f"{tmp_path}/Data.fs")}
