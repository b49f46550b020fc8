"""The search index: Chinese words, what an entry holds, and that only committed work
reaches the index, even across aborts and crashes."""
from __future__ import annotations

import datetime as dt

import pytest
import transaction
import ZODB
import ZODB.FileStorage

from archive.records import filing
from archive.root import bootstrap
from archive.search.analysis import chinese_analyzer
from archive.search.fields import entries, mask_text
from archive.search.index import SearchIndex, check, drain, rebuild
from archive.search.query import QueryError, Searcher, SearchRequest
from conftest import doc_fields, household_input, make_pdf, memory_archive, unit_input

WHEN = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


class Store:
    """A FileStorage that can be closed and opened again, as after a crash."""

    def __init__(self, path, registry):
        self.path, self.registry = path, registry
        self.open()

    def open(self):
        self.db = ZODB.DB(ZODB.FileStorage.FileStorage(str(self.path / "Data.fs"),
                                                       blob_dir=str(self.path / "blobs")))
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.tm.begin()
        self.root = bootstrap(self.conn.root(), self.registry)
        self.tm.commit()

    def crash(self):
        """The process dies: whatever was not committed is gone."""
        self.tm.abort()
        self.conn.close()
        self.db.close()
        self.open()


@pytest.fixture
def store(tmp_path, registry):
    s = Store(tmp_path, registry)
    yield s
    s.tm.abort()
    s.conn.close()
    s.db.close()


@pytest.fixture
def index(tmp_path):
    return SearchIndex(tmp_path / "index")


def search(index, registry, text, **kw):
    return Searcher(index, registry.vocabularies).search(SearchRequest(text, **kw))


def keys(results):
    return [h.key for h in results.hits]


def household(store, name="王秀英", seq=21, **extra):
    dossier = filing.create_dossier(store.root, store.registry, "household",
                                    household_input(name=name, seq=seq, **extra), "archivist",
                                    when=WHEN, state="applied")
    return dossier


# -- words ---------------------------------------------------------------------------------
def test_compounds_are_indexed_with_their_parts_and_queried_by_the_parts():
    analyzer = chinese_analyzer()
    indexed = [t.text for t in analyzer("城镇居民人均可支配收入")]
    assert {"城镇", "居民", "城镇居民", "可", "支配"} <= set(indexed)
    queried = [t.text for t in analyzer("城镇居民", mode="query")]
    assert queried == ["城镇", "居民"]


def test_punctuation_is_not_a_word():
    assert [t.text for t in chinese_analyzer()("申请，（承诺书）。")] == ["申请", "承诺", "承诺书"]


# -- entries -------------------------------------------------------------------------------
def test_entries_hold_exact_numbers_and_mask_what_is_shown(store, registry):
    dossier = household(store)
    filing.file_document(dossier, registry, doc_fields(doc_no="常住保〔2026〕8号"),
                         make_pdf("收入证明 王秀英 身份证 320402198005060216"), "a.pdf", "archivist", when=WHEN)
    dossier.documents["D0001"].current_file.text = "收入证明 王秀英 身份证 320402198005060216 电话 13812345678"
    own, doc = entries(dossier, registry)
    applicant_id = dossier.metadata["applicant"]["id_number"]
    assert applicant_id in own["idno"].split() and own["phone"] == "13812345678"
    assert "王秀英" in own["names"] and applicant_id in own["body"]
    assert applicant_id not in own["_stored_body"] and "13812345678" not in own["_stored_body"]
    assert doc["kind"] == "document" and doc["doc_type"] == "application_form"
    assert (doc["jurisdiction"], doc["state"], doc["parent"]) == ("changzhou", "applied", own["key"])
    assert "常住保〔2026〕8号" in doc["number"] and "3204**********0216" in doc["_stored_body"]


def test_mask_text_masks_id_and_mobile_numbers_only():
    assert mask_text("号码 53030219900101123X，电话13912345678，档号 2026-000001") == \
        "号码 5303**********123X，电话139****5678，档号 2026-000001"


def test_withdrawn_documents_leave_the_index(store, registry, index):
    dossier = household(store)
    filing.file_document(dossier, registry, doc_fields(title="户籍证明"), make_pdf(), "a.pdf",
                         "archivist", when=WHEN)
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    assert search(index, registry, "户籍证明").total == 1
    dossier.withdraw_document("D0001", "错误归档", "archivist", WHEN)
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    assert search(index, registry, "户籍证明").total == 0


# -- following commits ---------------------------------------------------------------------
def test_an_aborted_change_leaves_no_trace_in_the_queue_or_the_index(store, registry, index):
    household(store, name="赵无极")
    store.tm.abort()
    assert len(store.root.index_queue) == 0
    drain(store.root, registry, index, commit=store.tm.commit)
    assert search(index, registry, "赵无极").total == 0 and index.doc_count() == 0


def test_a_committed_change_is_queued_and_indexed(store, registry, index):
    dossier = household(store, name="钱多多")
    store.tm.commit()
    assert "household/" + dossier.archive_no in store.root.index_queue
    assert drain(store.root, registry, index, commit=store.tm.commit) == 1
    assert len(store.root.index_queue) == 0
    assert keys(search(index, registry, "钱多多")) == ["household/" + dossier.archive_no]


def test_a_crash_before_indexing_keeps_the_work_for_the_next_start(store, registry, index):
    number = household(store, name="孙悟净").archive_no
    store.tm.commit()
    store.crash()
    assert "household/" + number in store.root.index_queue
    drain(store.root, registry, index, commit=store.tm.commit)
    assert search(index, registry, "孙悟净").total == 1


def test_a_crash_between_index_write_and_queue_commit_is_repaired_by_redoing_it(store, registry, index):
    dossier = household(store, name="周一帆")
    store.tm.commit()
    drain(store.root, registry, index)          # whoosh written, queue removal never committed
    store.crash()
    assert len(store.root.index_queue) == 1
    drain(store.root, registry, index, commit=store.tm.commit)
    hits = search(index, registry, "周一帆")
    assert keys(hits) == ["household/" + dossier.archive_no]     # once, not twice
    assert check(store.root, index).ok


def test_check_reports_missing_stale_and_orphaned_entries_and_rebuild_repairs(store, registry, index):
    first, second = household(store, name="吴桐"), household(store, name="郑和", seq=41)
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    first.update(dict(first.metadata, notes="补充说明"), "archivist", WHEN)
    third = household(store, name="冯远", seq=61)
    store.root.households._items.pop(second.archive_no)      # gone from ZODB behind the index's back
    store.root.index_queue.clear()                            # and the queue lost (the fault to find)
    store.tm.commit()
    report = check(store.root, index)
    assert report.missing == ["household/" + third.archive_no]
    assert report.stale == [("household/" + first.archive_no, 1, 2)]
    assert report.orphaned == ["household/" + second.archive_no] and not report.ok
    rebuild(store.root, registry, index, commit=store.tm.commit)
    assert check(store.root, index).ok
    assert search(index, registry, "郑和").total == 0 and search(index, registry, "冯远").total == 1


def test_units_and_their_documents_are_found(store, registry, index):
    unit = filing.create_dossier(store.root, registry, "unit", unit_input(), "archivist",
                                 when=WHEN, state="vacant")
    filing.file_document(unit, registry, doc_fields(doc_type="completion_acceptance", title="竣工验收报告"),
                         make_pdf(), "r.pdf", "archivist", when=WHEN)
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    found = search(index, registry, "丽华新村")
    assert "unit/" + unit.archive_no in keys(found)
    assert dict(found.facets["kind"]) == {"unit": 1}
    assert keys(search(index, registry, "竣工验收")) == [f"unit/{unit.archive_no}/D0001"]


# -- queries -------------------------------------------------------------------------------
@pytest.fixture
def filled(store, registry, index):
    a = household(store, name="王秀英", seq=21, phone="13900001111")
    b = household(store, name="王建国", seq=31, jurisdiction="qujing", district="麒麟区",
                  address="曲靖市麒麟区南宁西路5号")
    filing.file_document(a, registry, doc_fields(doc_type="income_proof", title="收入证明",
                                                 date="2025-12-01"), make_pdf(), "x.pdf", "archivist", when=WHEN)
    a.documents["D0001"].current_file.text = "第一页 家庭成员\n\f第二页 家庭人均月收入低于城镇居民人均可支配收入"
    filing.file_document(b, registry, doc_fields(title="公共租赁住房申请表"), make_pdf(), "y.pdf",
                         "archivist", when=WHEN)
    b.documents["D0001"].current_file.text = "申请人承诺所填内容真实"
    store.tm.commit()
    drain(store.root, registry, index, commit=store.tm.commit)
    return a, b


def test_words_phrases_and_operators(filled, registry, index):
    a, b = filled
    doc_a, doc_b = f"household/{a.archive_no}/D0001", f"household/{b.archive_no}/D0001"
    assert keys(search(index, registry, "人均收入")) == [doc_a]
    assert keys(search(index, registry, '"人均月收入"')) == [doc_a]
    assert keys(search(index, registry, '"人均收入"')) == []
    assert set(keys(search(index, registry, "承诺 OR 居民"))) == {doc_a, doc_b}
    assert doc_b not in keys(search(index, registry, "申请 NOT 承诺"))
    assert keys(search(index, registry, "类型:收入证明")) == [doc_a]
    assert keys(search(index, registry, "辖区:曲靖 kind:document")) == [doc_b]


def test_names_in_part_and_exact_numbers(filled, registry, index):
    a, b = filled
    assert set(keys(search(index, registry, "姓名:王"))) == {f"household/{a.archive_no}", f"household/{b.archive_no}"}
    assert keys(search(index, registry, "秀英"))[0] == f"household/{a.archive_no}"
    assert keys(search(index, registry, a.metadata["applicant"]["id_number"]))[0] == f"household/{a.archive_no}"
    assert keys(search(index, registry, "13900001111")) == [f"household/{a.archive_no}"]
    assert keys(search(index, registry, b.archive_no.lower()))[0] == f"household/{b.archive_no}"


def test_hits_carry_highlights_pages_and_facets(filled, registry, index):
    a, _ = filled
    results = search(index, registry, "城镇居民")
    hit = results.hits[0]
    assert "<mark" in hit.snippet and "城镇居民" in hit.snippet and hit.page == 2
    assert dict(results.facets["doc_type"]) == {"income_proof": 1}
    assert dict(results.facets["year"]) == {"2025": 1}
    narrowed = search(index, registry, "王", filters={"jurisdiction": "qujing"})
    assert all(h.facets["jurisdiction"] == "qujing" for h in narrowed.hits) and narrowed.total >= 1


def test_snippets_never_show_a_whole_id_number(filled, registry, index):
    a, _ = filled
    number = a.metadata["applicant"]["id_number"]
    for hit in search(index, registry, number).hits + search(index, registry, "王秀英").hits:
        assert number not in hit.snippet


def test_sorting_by_date_and_paging(filled, registry, index):
    results = search(index, registry, "王 OR 收入 OR 承诺", sort="date", per_page=1)
    assert results.pages == results.total >= 3 and len(results.hits) == 1
    dates = [search(index, registry, "王 OR 收入 OR 承诺", sort="date", per_page=1, page=p).hits[0].date
             for p in range(1, results.total + 1)]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("text, message", [
    ("", "请输入"), ("   ", "请输入"), ("，。！", "没有可检索的词"), ("颜色:红", "未知的检索字段“颜色”"),
    ("字" * 201, "过长"),
])
def test_bad_queries_are_refused_with_a_reason(index, registry, text, message):
    with pytest.raises(QueryError, match=message):
        search(index, registry, text)


@pytest.mark.parametrize("kw, message", [
    (dict(sort="size"), "排序方式"), (dict(page=0), "页码"), (dict(per_page=1000), "每页条数"),
    (dict(filters={"colour": "red"}), "不能按“colour”筛选"),
])
def test_bad_parameters_are_refused_with_a_reason(index, registry, kw, message):
    with pytest.raises(QueryError, match=message):
        search(index, registry, "住房", **kw)


def test_an_index_made_by_earlier_code_is_outdated_until_reindexed(tmp_path, registry):
    """An index without this code's format mark answers, but reindex makes it anew."""
    import os

    from archive.records import filing
    from archive.search.index import MARK, SearchIndex, rebuild
    from conftest import household_input
    index = SearchIndex(tmp_path / "index")
    assert not index.outdated
    os.remove(tmp_path / "index" / MARK)
    assert SearchIndex(tmp_path / "index").outdated
    root = memory_archive(registry)
    filing.create_dossier(root, registry, "household", household_input(), "archivist")
    old = SearchIndex(tmp_path / "index")
    assert rebuild(root, registry, old, procs=1) == 1
    assert not old.outdated and old.doc_count() == 1
    assert not SearchIndex(tmp_path / "index").outdated
