"""The search indexer against what broke it and what could (issue 15): segments whose last
entries lack a field, merged; a dossier whose entries cannot be made; a merge that fails;
an indexer that is stuck or stopped while dossiers change; and hostile text. Each time
the other dossiers are still indexed, the worker thread lives on, and ``check`` (so
``archive index-check`` and the audit's search_index rule) says what lags and why."""
from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
import transaction
import ZODB
import ZODB.FileStorage
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader

from archive import cli
from archive.records import filing
from archive.audit import run_audit
from archive.audit.runs import AuditBook
from archive.root import bootstrap
from archive.search import fast
from archive.search import index as search_index
from archive.search.analysis import PIECE, WordPositions, chinese_analyzer, clean
from archive.search.codec import Codec
from archive.search.fields import LIMITS, dossier_key, entries, schema
from archive.search.index import ATTEMPTS, RETRY_AFTER, IndexWorker, SearchIndex, check, drain
from archive.search.query import QueryError, Searcher, SearchRequest
from conftest import doc_fields, household_input, make_pdf, unit_input

WHEN = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


class Store:
    def __init__(self, path, registry):
        self.path, self.registry = path, registry
        self.db = ZODB.DB(ZODB.FileStorage.FileStorage(str(path / "Data.fs"), blob_dir=str(path / "blobs")))
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.tm.begin()
        self.root = bootstrap(self.conn.root(), registry)
        self.tm.commit()

    def close(self):
        self.tm.abort()
        self.conn.close()
        self.db.close()


@pytest.fixture
def store(tmp_path, registry):
    s = Store(tmp_path, registry)
    yield s
    s.close()


@pytest.fixture
def index(tmp_path):
    return SearchIndex(tmp_path / "index")


def household(store, n, when=WHEN, **extra):
    return filing.create_dossier(store.root, store.registry, "household",
                                 household_input(name=f"张{n}伟", seq=10 + 2 * n, **extra), "archivist",
                                 when=when, state="applied")


def unit(store, when=WHEN):
    return filing.create_dossier(store.root, store.registry, "unit", unit_input(), "archivist",
                                 when=when, state="vacant")


def key(dossier):
    return dossier_key(dossier.kind, dossier.archive_no)


def found(index, registry, text):
    return [h.key for h in Searcher(index, registry.vocabularies).search(SearchRequest(text, per_page=100)).hits]


# -- the IndexError of issue 15 -------------------------------------------------------------
def _entry(i, person=True):
    """An entry like a household's (names, ID and phone numbers) or, without, a unit's."""
    return dict(key=f"k{i}", parent=f"p{i}", kind="household" if person else "unit",
                dossier_kind="household" if person else "unit", archive_no=f"A-{i:03d}",
                title=f"档案{i}", body=f"公共租赁住房 申请 第{i}号", names=f"王{i}" if person else "",
                idno=f"53030219800101{i:04d}" if person else "", phone=f"139{i:08d}" if person else "",
                number=f"A-{i:03d}", jurisdiction="qujing", district="", state="applied",
                category="", year="2026", date=dt.datetime(2026, 1, 1 + i % 28), version=1)


def _grow(ix_writer, codec, rounds=9):
    """Segments of five households and a unit last (the order the queue hands them out),
    earlier entries deleted and written again, committed with whoosh's merging of small
    segments, then merged into one."""
    written = 0
    for r in range(rounds):
        writer = ix_writer(codec)
        for i in range(max(0, written - 4), written, 2):
            writer.delete_by_term("key", f"k{i}")                 # edits: delete, add again
            writer.add_document(**_entry(i, person=i % 6 != 5))
        for i in range(written, written + 6):
            writer.add_document(**_entry(i, person=i % 6 != 5))
        written += 6
        writer.commit()
    writer = ix_writer(codec)
    writer.delete_by_term("key", "k0")
    writer.commit(optimize=True)
    return written


def test_segments_ending_with_an_entry_that_lacks_a_field_merge(tmp_path):
    """Merging asks every document's length in every field. A segment whose last entry
    has no names (a unit after households) has a length column one byte short; the
    codec's length lists read ``doccount`` bytes from it and the merge failed with
    ``IndexError: list index out of range`` (codec.py doc_field_length), for good."""
    ours = SearchIndex(tmp_path / "ours")
    theirs = whoosh_index.create_in(str(_mkdir(tmp_path / "theirs")), schema())
    _grow(lambda codec: ours.ix.writer(codec=codec, compound=False), Codec())
    _grow(lambda codec: theirs.writer(codec=codec), W3Codec())
    a, b = ours.searcher(), theirs.searcher()
    assert a.doc_count() == b.doc_count() == 53
    assert sorted(s["key"] for s in a.all_stored_fields()) == sorted(s["key"] for s in b.all_stored_fields())
    for text in ("姓名:王", "住房", "辖区:曲靖", "53030219800101*", "申请 NOT 王3"):
        query = Searcher(ours).parse(text)
        assert fast.Evaluator(ours.arrays, a).run(query).total() == len(b.search(query, limit=None)), text


def test_the_bulk_writers_bigram_terms_are_the_bytes_whooshs_path_writes(tmp_path, monkeypatch):
    """``FieldWriter._add_bare_term`` writes a bigram term's block and term info at once;
    the files must be byte for byte those of whoosh's start_term/add_many/finish_term,
    for terms in a few entries and in more than a block's (512) worth."""
    from archive.search import codec

    def whooshs(self, btext, postings, lengths):
        self.start_term(btext)
        self._postwriter.add_many(postings, lengths)
        self.finish_term()

    made = {}
    for name in ("ours", "whooshs"):
        if name == "whooshs":
            monkeypatch.setattr(codec.FieldWriter, "_add_bare_term", whooshs)
        made[name] = _bulk_index_files(tmp_path / name, limitmb=128)
    assert made["ours"] and made["ours"] == made["whooshs"]
    reader = SearchIndex(tmp_path / "ours").searcher().reader()
    assert reader.doc_frequency("grams", "城镇") == 700 and reader.doc_frequency("grams", "家庭") == 466


def _bulk_index_files(path, limitmb):
    """700 entries (bigrams in and past a block's worth) through the bulk writer in one
    process; the index's term, posting and column files, (suffix, bytes) sorted."""
    from archive.search import bulk
    index = SearchIndex(path)
    writer = bulk.writer(index.ix, procs=1, limitmb=limitmb)
    for i in range(700):
        entry = _entry(i, person=i % 6 != 5)
        entry["grams"] = f"{entry['body']}城镇居民第{i % 7}类{'家庭' * (i % 3)}"
        writer.add_document(**entry)
    writer.commit()
    return sorted((p.suffix, p.read_bytes()) for p in path.iterdir() if p.suffix in (".trm", ".pst", ".col"))


def test_a_bulk_writer_that_spills_runs_in_chunks_writes_the_same_index(tmp_path, monkeypatch):
    """Past its memory limit the pool writes sorted runs, a chunk of terms at a time, and
    merges them at the commit: the index files are byte for byte those of a pool that
    never spilled, with chunks cut by terms and by postings, and several runs merged."""
    from archive.search import bulk

    made, runs, levels = {}, {}, {}
    saved = bulk.TermPool.save

    def counting(self):
        saved(self)
        runs[name] = max(runs.get(name, 0), len(self.runs))
        levels[name] = max([levels.get(name, 0)] + self.levels)

    merges = {}
    merged = bulk.TermPool._merged

    def reading(streams):
        merges.setdefault(name, []).append(len(streams))
        return merged(streams)

    monkeypatch.setattr(bulk.TermPool, "save", counting)
    monkeypatch.setattr(bulk.TermPool, "_merged", staticmethod(reading))
    for name, limit, terms, postings, fanin in (("memory", 512, 2048, 32_768, 32), ("runs", 1, 7, 50, 1000),
                                                ("compacted", 1, 7, 50, 2)):
        monkeypatch.setattr(bulk, "CHUNK_TERMS", terms)
        monkeypatch.setattr(bulk, "CHUNK_POSTINGS", postings)
        monkeypatch.setattr(bulk, "FANIN", fanin)
        made[name] = _bulk_index_files(tmp_path / name, limitmb=limit)
    assert runs.get("memory", 0) == 0 and runs["runs"] >= 3 and levels["runs"] == 0
    assert made["memory"] and made["memory"] == made["runs"]
    # runs merged two at a time as they are spilled, over several levels, never more than
    # one run of each level left: the same files again
    assert levels["compacted"] >= 2 and runs["compacted"] <= levels["compacted"] + 1
    # no merge reads more than FANIN runs (the last one: one run a level, and the memory)
    *compactions, last = merges["compacted"]
    assert compactions and set(compactions) == {2} and last <= levels["compacted"] + 2
    assert merges["runs"] == [runs["runs"] + 1]
    assert made["compacted"] == made["memory"]


def test_the_codecs_length_lists_equal_whooshs_for_short_columns(tmp_path):
    ours = SearchIndex(tmp_path / "index")
    for start in (0, 6, 12):
        writer = ours.writer()
        for i in range(start, start + 6):
            writer.add_document(**_entry(i, person=i % 6 < 4))     # the last two lack names
        writer.commit(merge=False)
    for reader, _ in ours.searcher().reader().leaf_readers():
        theirs = W3PerDocReader(reader._storage, reader.segment())
        mine = Codec().per_document_reader(reader._storage, reader.segment())
        n = reader.doc_count_all()
        for field in ("names", "idno", "phone", "body", "title"):
            assert [mine.doc_field_length(d, field) for d in range(n)] == \
                   [theirs.doc_field_length(d, field) for d in range(n)], field
            assert list(fast._field_lengths(reader, field, n)) == \
                   [theirs.doc_field_length(d, field) or 0 for d in range(n)], field


def test_the_server_s_indexer_follows_a_unit_and_households_made_one_by_one(store, registry, index, caplog):
    """Issue 15 as seen: a unit, then households created and edited one commit at a time
    while the index worker runs (small batches, so that segments are merged often)."""
    unit(store)
    people = [household(store, n) for n in range(2)]
    store.tm.commit()                        # the first batch ends with the unit
    worker = IndexWorker(store.db, registry, index, interval=0.02, batch=3)
    worker.start()
    try:
        for n in range(2, 40):
            store.tm.begin()
            if n % 3 == 0:
                edited = people[n % len(people)]
                edited.update(dict(edited.metadata, notes=f"补充说明{n}"), "archivist", WHEN)
            else:
                people.append(household(store, n))
            store.tm.commit()
            time.sleep(0.01)
        _wait(lambda: _queue_empty(store))
    finally:
        worker.stop()
        worker.join(10)
    store.tm.begin()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    report = check(store.root, index)
    assert report.ok and report.checked == len(people) + 1 and report.queued == 0
    last = people[-1].metadata["applicant"]["name"]
    assert found(index, registry, f"姓名:{last}") == [key(people[-1])]


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _queue_empty(store):
    store.tm.begin()
    return len(store.root.index_queue) == 0


def _wait(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


# -- a dossier that cannot be indexed --------------------------------------------------------
@pytest.fixture
def poisoned(monkeypatch):
    """The field mapping raises for the dossiers whose keys are put in the returned set."""
    bad = set()

    def mapping(dossier, registry):
        if dossier_key(dossier.kind, dossier.archive_no) in bad:
            raise ValueError("无法编制该档案的索引条目")
        return entries(dossier, registry)
    monkeypatch.setattr(search_index, "entries", mapping)
    return bad


def test_a_dossier_that_cannot_be_indexed_is_retried_then_given_up_and_reported(
        store, registry, index, poisoned, caplog, procedure):
    people = [household(store, n) for n in range(5)]
    store.tm.commit()
    bad = key(people[2])
    poisoned.add(bad)
    clock = time.time()
    for attempt in range(1, ATTEMPTS + 1):
        handled = drain(store.root, registry, index, commit=store.tm.commit, now=clock)
        assert handled == (4 if attempt == 1 else 0) + (attempt == ATTEMPTS)
        assert drain(store.root, registry, index, commit=store.tm.commit, now=clock) == 0   # not due
        record = index.failures.get(bad)
        assert record["attempts"] == attempt and "无法编制" in record["error"]
        assert (bad in store.root.index_queue) == (attempt < ATTEMPTS)
        clock += RETRY_AFTER * 2 ** (attempt - 1)
    assert sorted(found(index, registry, "张")) == sorted(key(p) for p in people if key(p) != bad)
    assert bad in caplog.text and "gave up" in caplog.text
    report = check(store.root, index)
    assert not report.ok and report.failed == [(bad, None, 1, ATTEMPTS, "ValueError: 无法编制该档案的索引条目")]
    assert not report.missing and not report.stale            # reported once, as failed
    run = AuditBook().new_run("auditor", WHEN, "test", ["search_index"])
    run_audit(store.root, run, procedure, registry, now=WHEN, search_index=index)
    assert [(f.dossier, f.subject) for f in run.findings] == [(people[2].archive_no, bad)]
    assert "放弃" in run.findings[0].message and "无法编制" in run.findings[0].message
    # a new version is tried afresh, and once it can be indexed the failure is forgotten
    poisoned.clear()
    people[2].update(dict(people[2].metadata, notes="更正"), "archivist", WHEN)
    store.tm.commit()
    assert drain(store.root, registry, index, commit=store.tm.commit, now=clock) == 1
    assert index.failures.get(bad) is None and check(store.root, index).ok


def test_the_worker_thread_indexes_the_others_and_lives_on(store, registry, index, poisoned, monkeypatch):
    monkeypatch.setattr(search_index, "RETRY_AFTER", 0.0)
    people = [household(store, n) for n in range(6)]
    store.tm.commit()
    poisoned.update({key(people[0]), key(people[4])})
    worker = IndexWorker(store.db, registry, index, interval=0.02, batch=4)
    worker.start()
    try:
        _wait(lambda: _queue_empty(store))
        store.tm.begin()
        late = household(store, 7)                       # still indexed after the failures
        store.tm.commit()
        _wait(lambda: _queue_empty(store))
        assert worker.is_alive()
    finally:
        worker.stop()
        worker.join(10)
    store.tm.begin()
    assert sorted(found(index, registry, "张")) == sorted(key(p) for p in people[1:4] + people[5:] + [late])
    report = check(store.root, index)
    assert sorted(k for k, *_ in report.failed) == sorted(poisoned)


def test_a_failing_merge_does_not_stop_indexing(store, registry, index, monkeypatch, procedure):
    from whoosh import writing
    broken = writing.SegmentWriter.add_reader

    def add_reader(self, reader):
        raise IndexError("list index out of range")
    for n in range(12):                                  # enough small segments to merge
        household(store, n)
        store.tm.commit()
        drain(store.root, registry, index, commit=store.tm.commit)
    monkeypatch.setattr(writing.SegmentWriter, "add_reader", add_reader)
    for n in range(12, 20):
        household(store, n)
        store.tm.commit()
        assert drain(store.root, registry, index, commit=store.tm.commit) == 1
    assert len(found(index, registry, "张")) == 20
    report = check(store.root, index)
    assert report.ok and "IndexError" in report.merge_error["error"] and report.merge_error["times"] >= 1
    run = AuditBook().new_run("auditor", WHEN, "test", ["search_index"])
    run_audit(store.root, run, procedure, registry, now=WHEN, search_index=index)
    assert [f.subject for f in run.findings] == ["merge"]
    monkeypatch.setattr(writing.SegmentWriter, "add_reader", broken)
    segments = len(index.searcher().reader().leaf_readers())
    household(store, 20)
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    assert check(store.root, index).merge_error is None
    assert len(index.searcher().reader().leaf_readers()) < segments


# -- a dossier whose indexed version lags ------------------------------------------------------
def test_a_queued_dossier_whose_version_waits_too_long_is_lagging(store, registry, index, procedure):
    """The indexer stopped (or stuck): dossiers pile up in the queue. While new they are
    the indexer's work in progress; once older than the grace, check reports them."""
    earlier = WHEN - dt.timedelta(hours=2)
    first, second = household(store, 1, when=earlier), household(store, 2, when=earlier)
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    first.update(dict(first.metadata, notes="改"), "archivist", earlier)     # queued, never indexed
    third = household(store, 3, when=earlier)
    fresh = household(store, 4, when=WHEN)
    store.tm.commit()
    report = check(store.root, index, now=WHEN)
    assert report.lagging == [(key(first), 1, 2), (key(third), None, 1)] and not report.ok
    assert report.queued == 3 and not report.stale and not report.missing
    assert check(store.root, index, now=earlier + dt.timedelta(minutes=5)).ok      # within the grace
    run = AuditBook().new_run("auditor", WHEN, "test", ["search_index"])
    run_audit(store.root, run, procedure, registry, now=WHEN, search_index=index)
    assert sorted(f.dossier for f in run.findings) == sorted([first.archive_no, third.archive_no])
    assert any("第 1 版" in f.message and "第 2 版" in f.message and "等待已久" in f.message
               for f in run.findings)
    drain(store.root, registry, index, commit=store.tm.commit)
    assert check(store.root, index, now=WHEN).ok and second and fresh


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / "test.ini"
    path.write_text("[app:main]\nuse = egg:archive\n"
                    "zodbconn.uri = file://%(here)s/Data.fs?blobstorage_dir=%(here)s/blobs\n"
                    "archive.argon2.time_cost = 1\narchive.argon2.memory_cost = 1024\n", encoding="utf-8")
    return path


def test_index_check_reports_lagging_and_failed_dossiers_and_fixes_them(tmp_path, ini, registry, capsys):
    store = Store(tmp_path, registry)
    index = SearchIndex(tmp_path / "index")              # where the CLI finds it: beside Data.fs
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    lagging, failing, fine = (household(store, n, when=old) for n in range(3))
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    lagging.update(dict(lagging.metadata, notes="改"), "archivist", old)       # left in the queue
    failing.update(dict(failing.metadata, notes="也改"), "archivist", old)
    store.tm.commit()
    index.failures.record(key(failing), 2, ValueError("坏数据"), final=True)
    store.close()
    assert cli.main(["-c", str(ini), "index-check"]) == 1
    out = capsys.readouterr().out
    assert f"滞后：{key(lagging)}（索引为第 1 版，当前为第 2 版" in out
    assert f"失败：{key(failing)}（第 2 版编入索引失败 1 次后已放弃，索引仍为第 1 版）：ValueError: 坏数据" in out
    assert key(fine) not in out and "索引与数据库不一致" in out
    assert cli.main(["-c", str(ini), "index-check", "--fix"]) == 0
    assert cli.main(["-c", str(ini), "index-check"]) == 0
    assert "索引与数据库一致" in capsys.readouterr().out


def test_index_check_fix_says_what_still_fails(tmp_path, ini, registry, capsys, poisoned):
    store = Store(tmp_path, registry)
    index = SearchIndex(tmp_path / "index")
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    bad = household(store, 1, when=old)
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    bad.update(dict(bad.metadata, notes="改"), "archivist", old)
    store.root.index_queue.done(key(bad))                # the queue lost: stale
    store.tm.commit()
    poisoned.add(key(bad))
    store.close()
    assert cli.main(["-c", str(ini), "index-check", "--fix"]) == 1
    out = capsys.readouterr().out
    assert f"过期：{key(bad)}" in out and "仍不一致" in out and f"滞后：{key(bad)}" in out


# -- hostile text ----------------------------------------------------------------------------
HOSTILE = {"lone surrogates": "申请\ud800人王秀英\udfff", "NUL": "申请\x00人\x00王秀英",
           "control characters": "申请\x1b[31m人\x07王秀英\x08\x7f\x85", "1 MB": "王秀英" + "住房" * 500_000}


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_hostile_text_in_metadata_and_documents_is_indexed(store, registry, index, what):
    text = HOSTILE[what]
    dossier = household(store, 1)
    filing.file_document(dossier, registry, doc_fields(title="收入证明"), make_pdf(), "a.pdf",
                         "archivist", when=WHEN)
    store.tm.commit()
    # stored as if it had got past the forms: the indexer takes whatever ZODB holds
    doc = dossier.documents["D0001"]
    doc.metadata = dict(doc.metadata, title=text, issuer=text, doc_no=text)
    doc.current_file.text = f"公共租赁住房\f{text}\f第三页 丽华新村"
    dossier.update(dict(dossier.metadata, notes=text, address=text,
                        applicant=dict(dossier.metadata["applicant"], name=text)), "archivist", WHEN)
    store.tm.commit()
    assert drain(store.root, registry, index, commit=store.tm.commit) == 1
    assert check(store.root, index).ok and not index.failures.dossiers()
    assert found(index, registry, "丽华新村") == [key(dossier) + "/D0001"]
    assert key(dossier) in found(index, registry, "王秀英")
    for stored in index.searcher().all_stored_fields():
        for value in stored.values():
            if isinstance(value, str):
                value.encode("utf-8")                             # showable: no lone surrogates
                assert "\x00" not in value and "\x1b" not in value
                assert len(value) <= max(LIMITS.values())
    hit = Searcher(index, registry.vocabularies).search(SearchRequest("丽华新村")).hits[0]
    assert hit.page == 3                                          # page breaks are kept


@pytest.mark.parametrize("text", ["\ud800", "王\ud800", "\x00", "王\x00秀英", "\x1b[31m"])
def test_hostile_queries_are_answered_or_refused_with_a_reason(index, registry, text):
    try:
        Searcher(index, registry.vocabularies).search(SearchRequest(text))
    except QueryError:
        pass


def test_clean_keeps_every_character_s_place():
    raw = "a\ud800b\x00c\x0cd\ne\tf\x1bg\x85h"
    assert clean(raw) == "a\ufffdb c\x0cd\ne\tf g h" and len(clean(raw)) == len(raw)
    assert clean("x" * 10, 4) == "xxxx" and clean(None) == "" and clean(12) == "12"


def test_a_long_text_is_segmented_in_pieces_with_the_same_positions():
    analyzer = chinese_analyzer()
    lines = ["公共租赁住房申请表，申请人王秀英，家庭人均月收入1200元。", "城镇居民人均可支配收入 ABC def"]
    text = "\n".join(lines[i % 2] for i in range(2 * PIECE // 20))
    assert len(text) > 2 * PIECE
    from archive.search.analysis import _segment
    whole = [(w, p) for w, _, _, p in _segment(text, False)[0]]
    assert list(analyzer.word_positions(text)) == whole
    grouped = {}
    for word, pos in whole:
        grouped.setdefault(word, []).append(pos)
    assert analyzer.positions_by_word(text) == grouped      # what the bulk writer takes
    values = {w: v for w, _, _, v in WordPositions().word_values(text, analyzer)}
    for word in ("城镇居民", "申请表", "abc"):
        assert WordPositions().decode_positions(values[word]) == [p for w, p in whole if w == word]


def test_an_unreadable_failures_file_is_started_afresh(index):
    with open(index.failures.path, "w", encoding="utf-8") as fh:
        fh.write("{not json")
    assert index.failures.dossiers() == {}
    index.failures.record("household/X", 1, RuntimeError("\ud800 坏"))
    assert index.failures.get("household/X")["error"] == "RuntimeError: \ufffd 坏"
    index.failures.forget(["household/X"])
    assert index.failures.dossiers() == {}


def test_the_worker_survives_an_error_outside_its_work(store, registry, index, monkeypatch):
    worker = IndexWorker(store.db, registry, index, interval=0.01)
    calls = []

    def boom(self, tm, conn):
        calls.append(1)
        raise RuntimeError("abort failed")
    from archive.workers.background import Worker
    monkeypatch.setattr(Worker, "round", boom)
    worker.start()
    try:
        _wait(lambda: len(calls) >= 3, seconds=10)
        assert worker.is_alive()
    finally:
        worker.stop()
        worker.join(10)


def test_a_searcher_opened_while_the_indexer_replaces_the_generation_opens_the_newer(tmp_path, monkeypatch):
    """The indexer committed and deleted the table of contents whoosh was about to read."""
    ours = SearchIndex(tmp_path / "index")
    real, calls = ours.ix.searcher, []

    def vanishing():
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError(str(tmp_path / "index" / "_MAIN_12.toc"))
        return real()
    monkeypatch.setattr(ours.ix, "searcher", vanishing)
    assert ours.searcher() is not None and len(calls) == 2
