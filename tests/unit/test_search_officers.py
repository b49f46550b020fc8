"""Relevance: the queries officers type (issue 14), on a demo city.

A document type with a surname, a part of a title across the words segmentation made,
full-width digits, an archive number's leading parts and ranges, names in pinyin, and
the order of the hits: the exact phrase first, then the words found apart, then what
only the character bigrams found; for a person's name, the household first.
"""
from __future__ import annotations

import pytest
import ZODB
from pypinyin import lazy_pinyin

from archive.demo.city import build_city, default_procedure
from archive.root import bootstrap
from archive.schema.registry import SchemaRegistry, default_directory
from archive.search import bulk
from archive.search.index import SearchIndex, drain
from archive.search.query import Searcher, SearchRequest
from archive.workers.textlayer import drain as read_text_layers


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(root, searcher), the city built and indexed once for the module."""
    registry = SchemaRegistry(default_directory())
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    build_city(root, registry, default_procedure(registry), households=40, units=10, documents=520)
    read_text_layers(root)
    index = SearchIndex(tmp_path_factory.mktemp("index"))
    drain(root, registry, index)
    return root, Searcher(index, registry.vocabularies)


def run(world, text, **kw):
    return world[1].search(SearchRequest(text, per_page=100, **kw))


def keys(results):
    return [h.key for h in results.hits]


def every_key(world, text, **kw):
    """The keys of every hit, all pages, in order."""
    first = run(world, text, **kw)
    return [h.key for page in range(1, first.pages + 1) for h in run(world, text, page=page, **kw).hits]


def documents(world, doc_type):
    """(household, document) for every document of this type in force."""
    return [(d, doc) for d in world[0].households.values() for doc in d.active_documents()
            if doc.metadata["doc_type"] == doc_type]


def key_of(dossier, doc=None):
    return f"household/{dossier.archive_no}" + (f"/{doc.doc_id}" if doc else "")


def test_a_document_type_and_a_surname_find_the_households_proof(world):
    found = documents(world, "income_proof")
    assert found
    for dossier, doc in found[:8]:
        surname = dossier.metadata["applicant"]["name"][0]
        hits = keys(run(world, f"收入证明 {surname}", filters={"kind": "document"}))
        assert key_of(dossier, doc) in hits, (surname, doc.metadata["title"])


@pytest.mark.parametrize("part", ["入证", "员收入", "庭成员收"])
def test_a_part_of_a_title_across_words_finds_it(world, part):
    proofs = {key_of(d, doc) for d, doc in documents(world, "income_proof")
              if part in doc.metadata["title"]}
    assert proofs
    assert proofs <= set(every_key(world, part, filters={"kind": "document"}))


def test_a_substring_is_shown_marked_in_the_snippet(world):
    hit = run(world, "入证", filters={"doc_type": "income_proof"}).hits[0]
    assert "<mark>入证</mark>" in hit.snippet


def test_full_width_digits_find_what_half_width_digits_find(world):
    dossier, doc = next((d, doc) for d, doc in ((d, doc) for d in world[0].households.values()
                                                for doc in d.active_documents())
                        if "年度" in doc.metadata["title"] and doc.metadata["title"][:4].isdigit())
    year = doc.metadata["title"][:4]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in year) + "年度"
    half = every_key(world, f"{year}年度")
    assert key_of(dossier, doc) in half
    assert every_key(world, full_width) == half
    assert run(world, "ｃｚ-ｈｈ").total == run(world, "CZ-HH").total


def test_full_width_text_is_indexed_as_half_width():
    from archive.search.analysis import normalise
    assert normalise("２０２０年度ＣＺ　") == "2020年度CZ "
    assert normalise("家庭成员收入证明") == "家庭成员收入证明"


def test_an_archive_numbers_leading_parts_find_its_batch(world):
    dossier = next(iter(world[0].households.values()))
    batch = "-".join(dossier.archive_no.split("-")[:3])          # city, kind, year
    expected = {d.archive_no for d in world[0].households.values() if d.archive_no.startswith(batch + "-")}
    results = run(world, batch, filters={"kind": "household"})
    assert {h.archive_no for h in results.hits} == expected
    assert {h.archive_no for h in run(world, batch.lower(), filters={"kind": "household"}).hits} == expected


def test_a_range_of_archive_numbers(world):
    numbers = sorted(world[0].households.keys())
    low, high = numbers[2], numbers[6]
    results = run(world, f"档号:[{low} TO {high}]", filters={"kind": "household"})
    assert sorted(h.archive_no for h in results.hits) == [n for n in numbers if low <= n <= high]
    city = numbers[0].split("-")[0]
    wildcard = run(world, f"档号:{city}-HH-20*", filters={"kind": "household"})
    assert {h.archive_no for h in wildcard.hits} == {n for n in numbers if n.startswith(f"{city}-HH-20")}


def test_names_are_found_by_pinyin_and_initials_household_first(world):
    checked = 0
    for dossier in list(world[0].households.values())[:12]:
        name = dossier.metadata["applicant"]["name"]
        syllables = lazy_pinyin(name)
        same = [d for d in world[0].households.values()
                if lazy_pinyin(d.metadata["applicant"]["name"]) == syllables]
        full = run(world, "".join(syllables))
        assert full.hits[0].kind == "household"
        if len(same) == 1:
            assert full.hits[0].archive_no == dossier.archive_no
            checked += 1
        initials = run(world, "".join(s[0] for s in syllables), filters={"kind": "household"})
        assert dossier.archive_no in {h.archive_no for h in initials.hits}
    assert checked


def test_a_members_name_puts_the_household_before_its_documents(world):
    for dossier in list(world[0].households.values())[:15]:
        for person in dossier.people():
            name = person.get("name")
            if not name or sum(name in [p.get("name") for p in d.people()]
                               for d in world[0].households.values()) > 1:
                continue
            hits = run(world, name).hits
            assert hits[0].key == key_of(dossier), name
            docs = [h for h in hits if h.kind == "document"]
            assert all(h.archive_no == dossier.archive_no for h in docs[:3]), name


def test_words_rank_above_bigram_only_matches_and_the_exact_phrase_first(world):
    from archive.search.analysis import chinese_analyzer
    analyzer = chinese_analyzer()

    def words_of(text):
        return {w for w, _ in analyzer.word_positions(text)}

    query = "收入证明"
    order = []
    searcher = world[1].index.searcher()
    for key in every_key(world, query):
        fields = searcher.document(key=key)
        text = fields["title"] + "\n" + fields["body"]
        if query in text.replace("\n", ""):
            order.append(2)
        elif {"收入", "证明"} <= words_of(text):
            order.append(1)
        else:
            order.append(0)
    assert order == sorted(order, reverse=True)
    assert order[0] == 2


def test_a_phrase_ranks_above_the_same_words_apart(world):
    root, searcher = world
    # 申请 and 表 apart in some texts, together (申请表) in the application forms' titles
    results = run(world, "申请表", filters={"kind": "document"})
    forms = [h for h in results.hits if h.facets["doc_type"] == "application_form"]
    # 租赁补贴申请表 (a subsidy application) holds the phrase too
    assert forms and results.hits[0].facets["doc_type"] in ("application_form", "subsidy_application")


def test_the_bulk_writer_gives_the_same_index_whether_or_not_it_spills(world, tmp_path):
    """A reindex past its memory limit writes sorted runs and merges them: the same index."""
    root = world[0]
    from archive.search.fields import entries
    registry = SchemaRegistry(default_directory())
    made = [e for d in list(root.households.values())[:15] for e in entries(d, registry)]
    answers = []
    for limit in (1000, 1):                     # megabytes: no run, then a run every few entries
        index = SearchIndex(tmp_path / f"index-{limit}")
        writer = bulk.writer(index.ix, procs=1, limitmb=limit)
        for entry in made:
            writer.add_document(**entry)
        spilled = len(writer.pool.runs)
        writer.commit()
        searcher = Searcher(index, registry.vocabularies)
        answers.append([(r.total, [(h.key, round(h.score, 4)) for h in r.hits])
                        for r in (searcher.search(SearchRequest(q, per_page=50))
                                  for q in ("收入证明", "入证", '"公共租赁住房"', "申请 NOT 证明"))])
        if limit == 1:
            assert spilled > 2
    assert answers[0] == answers[1] and answers[0][0][0] > 0


def test_the_bulk_writers_bare_bigram_postings_answer_as_whooshs_writer(world, tmp_path):
    """The bulk writer keeps the bigram field's postings as bare document numbers; an entry
    whose bigrams are boosted still gets whole ones (the two mixed in one term's list, with
    and without runs on disk): the answers are those of whoosh's own writer."""
    root = world[0]
    from archive.search.fields import entries
    registry = SchemaRegistry(default_directory())
    made = [e for d in list(root.households.values())[:15] for e in entries(d, registry)]
    boosted = dict(made[1], key=made[1]["key"] + "-boosted", _grams_boost=2.0)
    made = made[:5] + [boosted] + made[5:]
    answers = []
    for name in ("whoosh", "bulk", "bulk-spilling"):
        index = SearchIndex(tmp_path / f"index-{name}")
        if name == "whoosh":
            writer = index.writer()
        else:
            writer = bulk.writer(index.ix, procs=1, limitmb=1000 if name == "bulk" else 1)
        for entry in made:
            writer.add_document(**entry)
        writer.commit()
        searcher = Searcher(index, registry.vocabularies)
        answers.append([(r.total, sorted((h.key, round(h.score, 4)) for h in r.hits))
                        for r in (searcher.search(SearchRequest(q, per_page=100))
                                  for q in ("入证", "员收入", "收入证明 张", "申请"))])
    assert answers[0] == answers[1] == answers[2] and answers[0][0][0] > 0
