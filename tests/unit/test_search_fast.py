"""The array answers (archive.search.fast) against whoosh's own: the same totals, facet
counts, scores and order, over several segments with deletions; and the index-side
shortcuts (WordPositions, the codec's length lists) against whoosh's own code."""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
from whoosh import sorting
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.formats import Positions
from whoosh.query import And, Term
from whoosh.util.numeric import byte_to_length

from archive.search import fast
from archive.search.analysis import WordPositions, chinese_analyzer
from archive.search.codec import Codec
from archive.search.fields import FACETS
from archive.search.index import SearchIndex
from archive.search.query import Searcher, SearchRequest

WORDS = ("住房 保障 公共 租赁 家庭 收入 申请 审核 城镇居民 人均 可支配 承诺 租金 补贴 "
         "退出 复核 登记 轮候 配租 合同 违约 公示 异议 政府 统建 曲靖 德州 厦门").split()
NAMES = ("王秀英", "王建国", "李娜", "张伟", "刘洋", "陈静")


def _entries(n, seed=3):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = "household" if i % 5 == 0 else "document"
        words = rng.choices(WORDS[:8], k=rng.randint(5, 30)) + rng.sample(WORDS, 3)
        name = rng.choice(NAMES)
        day = dt.datetime(2020 + rng.randint(0, 5), rng.randint(1, 12), rng.randint(1, 28))
        out.append(dict(
            key=f"k{i}", parent=f"household/H{i // 5}", kind=kind, dossier_kind="household",
            archive_no=f"GZF-{i // 5:04d}", title="".join(rng.sample(WORDS, 2)),
            body="，".join(words), names=name, idno=f"53030219800101{i:04d}",
            phone=f"139{i:08d}", number=f"GZF-{i // 5:04d}",
            jurisdiction=rng.choice(["qujing", "dezhou", "xiamen"]),
            district=rng.choice(["麒麟区", "德城区", ""]), state=rng.choice(["leased", "applied"]),
            doc_type=rng.choice(["income_proof", "application_form"]) if kind == "document" else "",
            category=rng.choice(["dibao", "dishouru"]), form=("in_kind", "subsidy", "")[i % 3],
            year=str(day.year), date=day, version=1))
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """Three segments (no merging), documents deleted from two of them."""
    index = SearchIndex(tmp_path_factory.mktemp("fast") / "index")
    entries = _entries(240)
    for part in range(3):
        writer = index.writer()
        for entry in entries[part * 80:(part + 1) * 80]:
            writer.add_document(**entry)
        writer.commit(merge=False)
    writer = index.writer()
    for i in (1, 2, 7, 90, 91, 95, 130):
        writer.delete_by_term("key", f"k{i}")
    writer.commit(merge=False)
    assert len(index.searcher().reader().leaf_readers()) == 3
    assert index.searcher().doc_count() == 233
    return index


QUERIES = ["住房", "住房 保障", "住房 OR 租金", "住房 NOT 租金", '"公共租赁"', "姓名:王", "王",
           "城镇居民", "辖区:曲靖 住房", "类型:收入证明", "139*", "合同 OR (违约 公示)",
           "1390000012*", "GZF-0003", "不存在的词", '"住房保障"', '"保障住房公共"', '"住房住房"',
           '"公共租赁" OR 合同', '住房 NOT "保障住房"', '题名:"政府统建"',
           "住房 不存在的词", "不存在的词 OR 租金", "(住房 不存在的词) OR 合同"]


def _whoosh(index, query, filters=None, sort="relevance"):
    """whoosh's own answer: every hit scored, seven facets counted by groupedby."""
    searcher = index.searcher()
    kwargs = dict(filter=And([Term(k, v) for k, v in sorted(filters.items())]) if filters else None,
                  groupedby={name: sorting.FieldFacet(name) for name in FACETS},
                  maptype=sorting.Count, limit=None)
    if sort == "date":
        kwargs.update(sortedby="date", reverse=True)
    results = searcher.search(query, **kwargs)
    counts = {name: {v: n for v, n in results.groups(name).items()} for name in FACETS}
    return len(results), counts, [(hit.docnum, hit.score) for hit in results]


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("filters", [None, {"jurisdiction": "qujing"}, {"kind": "document", "year": "2021"}])
def test_totals_facets_and_order_equal_whooshs(index, text, filters):
    searcher = Searcher(index)
    query = searcher.parse(text)
    total, counts, ranked = _whoosh(index, query, filters)
    matched = fast.Evaluator(index.arrays, index.searcher()).run(query)
    if filters:
        matched.restrict(fast.Evaluator(index.arrays, index.searcher(), scored=False).run(
            And([Term(k, v) for k, v in sorted(filters.items())])))
    assert matched.total() == total
    for name in FACETS:
        assert matched.facet_counts(name) == {v: n for v, n in counts[name].items() if n}
    top = matched.top(len(ranked) + 5)
    assert [d for d, _ in top] == [d for d, _ in sorted(ranked, key=lambda h: (-round(h[1], 9), h[0]))]
    assert [s for _, s in top] == pytest.approx([s for _, s in ranked], rel=1e-9)


@pytest.mark.parametrize("text", ["住房", "王", "合同 OR 违约", '"公共租赁"', '"住房保障"'])
def test_date_order_equals_whooshs(index, text):
    query = Searcher(index).parse(text)
    _, _, ranked = _whoosh(index, query, sort="date")
    top = fast.Evaluator(index.arrays, index.searcher(), scored=False).run(query).top(1000, "date")
    stored = index.searcher().stored_fields
    assert [stored(d)["date"] for d, _ in top] == [stored(d)["date"] for d, _ in ranked]
    assert [d for d, _ in top] == sorted((d for d, _ in ranked),
                                         key=lambda d: (-stored(d)["date"].timestamp(), d))


def test_search_page_agrees_with_whoosh_and_pages(index):
    searcher = Searcher(index)
    total, counts, ranked = _whoosh(index, searcher.parse("住房 OR 租金"))
    keys = [index.searcher().stored_fields(d)["key"] for d, _ in ranked]
    seen = []
    for page in (1, 2, 3):
        found = searcher.search(SearchRequest("住房 OR 租金", page=page, per_page=7))
        assert found.total == total
        assert dict(found.facets["jurisdiction"]) == counts["jurisdiction"]
        seen += [hit.key for hit in found.hits]
    assert seen == keys[:21]


def test_postings_read_by_blocks_equal_whooshs_matcher(index):
    for reader, _ in index.searcher().reader().leaf_readers():
        for field, word in (("body", "住房"), ("body", "补贴"), ("names", "王"), ("title", "公示")):
            btext = word.encode()
            if (field, btext) not in reader:
                continue
            ids, weights = fast.postings(reader, field, btext)
            matcher = reader._terms.matcher(field, btext, reader.schema[field].format)
            assert list(ids) == list(matcher.all_ids())
            matcher = reader._terms.matcher(field, btext, reader.schema[field].format)
            expected = []
            while matcher.is_active():
                expected.append(matcher.weight())
                matcher.next()
            assert list(weights) == pytest.approx(expected)


def test_a_new_segment_and_deletions_reach_the_arrays(tmp_path):
    index = SearchIndex(tmp_path / "index")
    entries = _entries(30)
    writer = index.writer()
    for entry in entries[:20]:
        writer.add_document(**entry)
    writer.commit()
    searcher = Searcher(index)
    before = searcher.search(SearchRequest("住房 OR 保障 OR 公共"))
    writer = index.writer()
    writer.delete_by_term("key", before.hits[0].key)
    for entry in entries[20:]:
        writer.add_document(**entry)
    writer.commit(merge=False)
    after = searcher.search(SearchRequest("住房 OR 保障 OR 公共"))
    total, counts, _ = _whoosh(index, searcher.parse("住房 OR 保障 OR 公共"))
    assert after.total == total and before.hits[0].key not in [h.key for h in after.hits]
    assert dict(after.facets["state"]) == {v: n for v, n in counts["state"].items() if v}


def test_word_positions_hold_what_whooshs_positions_hold():
    analyzer = chinese_analyzer()
    text = "城镇居民人均可支配收入低于ABC标准的家庭，可以申请公共租赁住房；城镇居民……"
    ours, theirs = WordPositions(field_boost=3.0), Positions(field_boost=3.0)
    mine = sorted((w, f, wt, ours.decode_positions(v), ours.decode_frequency(v), ours.decode_weight(v))
                  for w, f, wt, v in ours.word_values(text, analyzer, mode="index"))
    whooshs = sorted((w, f, wt, theirs.decode_positions(v), theirs.decode_frequency(v), theirs.decode_weight(v))
                     for w, f, wt, v in theirs.word_values(text, analyzer, mode="index"))
    assert mine == whooshs and any(row[0] == "abc" for row in mine)
    assert ("城镇居民", 2, 6.0, [0, 16], 2, 6.0) in mine
    assert ours.decode_positions(ours.combine([ours.encode([1, 5]), ours.encode([3, 5])])) == [1, 3, 5]


def test_the_codecs_length_lists_equal_whooshs_column(index):
    for reader, _ in index.searcher().reader().leaf_readers():
        ours = Codec().per_document_reader(reader._storage, reader.segment())
        theirs = W3PerDocReader(reader._storage, reader.segment())      # whoosh's own reading
        for field in ("body", "title", "names"):
            for docnum in range(reader.doc_count_all()):
                assert ours.doc_field_length(docnum, field) == theirs.doc_field_length(docnum, field)
    assert byte_to_length(0) == 0


def test_blocks_of_both_layouts_read_the_same(tmp_path):
    """The codec's blocks and whoosh's own hold the same postings, read by whoosh's
    matchers or by ``fast``; an index written by whoosh's codec still answers the same."""
    from whoosh.codec.whoosh3 import W3Codec
    entries = _entries(400, seed=5)
    ours, theirs = SearchIndex(tmp_path / "ours"), SearchIndex(tmp_path / "theirs")
    for index, codec in ((ours, Codec(blocklimit=16)), (theirs, W3Codec())):
        writer = index.ix.writer(codec=codec)
        for entry in entries:
            writer.add_document(**entry)
        writer.commit()
    a, b = ours.searcher().reader(), theirs.searcher().reader()
    for field in ("body", "title", "names", "idno", "jurisdiction"):
        for btext in list(b.lexicon(field))[:40]:
            ma, mb = a.postings(field, btext), b.postings(field, btext)
            assert list(ma.items_as("positions") if field in ("body", "title") else ma.all_items()) == \
                list(mb.items_as("positions") if field in ("body", "title") else mb.all_items())
            ia, wa = fast.postings(a, field, btext)
            ib, wb = fast.postings(b, field, btext)
            assert list(ia) == list(ib) and list(wa) == pytest.approx(list(wb))
    for text in ("住房", '"住房保障"', "合同 OR 违约", "姓名:王"):
        x = Searcher(ours).search(SearchRequest(text))
        y = Searcher(theirs).search(SearchRequest(text))
        assert (x.total, x.facets, [h.key for h in x.hits]) == (y.total, y.facets, [h.key for h in y.hits])


def _layouts(tmp_path):
    """The same entries in the codec's blocks (16 postings each, so terms span blocks) and in
    whoosh's own (zlib-compressed tuples)."""
    from whoosh.codec.whoosh3 import W3Codec
    entries = _entries(300, seed=11)
    out = []
    for name, codec in (("ours", Codec(blocklimit=16)), ("theirs", W3Codec())):
        index = SearchIndex(tmp_path / name)
        writer = index.ix.writer(codec=codec)
        for entry in entries:
            writer.add_document(**entry)
        writer.commit()
        out.append(index)
    return out


def test_a_terms_extent_reads_what_whooshs_matcher_reads(tmp_path):
    """Every term of several fields, in both block layouts: the document numbers, weights
    and positions read from the term's whole extent are those whoosh's matcher gives."""
    for index in _layouts(tmp_path):
        reader = index.searcher().reader()
        spanning = 0
        for field in ("body", "title", "names", "grams", "jurisdiction"):
            for btext in reader.lexicon(field):
                matcher = reader.postings(field, btext)
                expected = list(matcher.all_items())
                ids, weights = fast.postings(reader, field, btext)
                assert list(ids) == [i for i, _ in expected]
                matcher = reader.postings(field, btext)
                wanted = []
                while matcher.is_active():
                    wanted.append(matcher.weight())
                    matcher.next()
                assert list(weights) == pytest.approx(wanted)
                spanning += len(ids) > 16
                if field in ("body", "title"):
                    found = fast.positions(reader, field, btext)
                    positions = list(reader.postings(field, btext).items_as("positions"))
                    assert list(found[0]) == [i for i, _ in positions]
                    assert list(found[2]) == [len(p) for _, p in positions]
                    assert list(found[3]) == [x for _, p in positions for x in p]
        assert spanning > 20                    # terms of many blocks were read


def test_a_damaged_extent_is_refused_not_misread():
    """An extent that is not whoosh's block chain reads as None (whoosh's matcher then
    reads the term), never as other postings."""
    assert fast._Extent(b"XXXX" + bytes(20)).arrays() is None
    import pickle
    info = pickle.dumps((1, 5, 1.0, 0, 1, 1), 2)
    data = pickle.dumps((b"\x05\x00\x00\x00", b"\x00\x00\x80\x3f", None), 4)
    block = info + data
    good = b"W3Bl" + (-len(block)).to_bytes(4, "big", signed=True) + block
    ids, weights = fast._Extent(good).arrays()
    assert list(ids) == [5] and list(weights) == [1.0]
    shifted = b"W3Bl" + (-len(block)).to_bytes(4, "big", signed=True) + info[:-1] + b"X" + data
    assert fast._Extent(shifted).arrays() is None


@pytest.mark.parametrize("text", ["住房", "住房 OR 租金", "NOT 租金", "合同 OR 违约", "姓名:王"])
@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_the_first_hits_are_the_head_of_the_whole_order(index, text, sort):
    """``top(count)`` for a page is the first ``count`` of every hit in order, ties (NOT
    scores every hit 1.0) broken by document number across segments."""
    searcher = Searcher(index)
    query = searcher.parse(text)
    matched = fast.Evaluator(index.arrays, index.searcher(), scored=sort == "relevance").run(query)
    if sort == "relevance" and fast.widens(query):
        matched.rank(*(fast.Evaluator(index.arrays, index.searcher(), scored=False, widened=how).run(query)
                       for how in ("both", "words")))
    whole = matched.top(matched.total() + 1, sort)
    assert len(whole) == matched.total() > 25
    for count in (1, 7, 20, 25):
        assert matched.top(count, sort) == whole[:count]


def test_facets_counted_over_the_misses_equal_those_over_the_hits(index):
    """A query found in most documents is counted as all live documents less the misses."""
    searcher = Searcher(index)
    matched = fast.Evaluator(index.arrays, index.searcher()).run(searcher.parse("住房"))
    live = sum(int(seg.live(reader).sum()) for reader, _, seg in matched.leaves)
    assert matched.total() > live // 2
    assert any(matched._side(n)[1] for n in range(len(matched.leaves)))
    for name in FACETS:
        by_hits = {}
        for (reader, _, seg), mask in zip(matched.leaves, matched.masks):
            ords, values = seg.facet(reader, name)
            for value, count in zip(values, np.bincount(ords[mask], minlength=len(values))):
                if count:
                    by_hits[value] = by_hits.get(value, 0) + int(count)
        assert matched.facet_counts(name) == by_hits
