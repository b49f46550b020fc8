"""Relevance: Chinese queries with the results a clerk expects, over the demo city and
the five cities' policy texts (the seed texts, filed as documents of one unit dossier)."""
from __future__ import annotations

import collections
import datetime as dt
import pathlib

import pytest

from archive.records import filing
from archive.demo.city import build_city, default_procedure
from archive.schema.registry import SchemaRegistry, default_directory
from archive.search.index import SearchIndex, drain
from archive.search.query import Searcher, SearchRequest
from archive.workers.textlayer import drain as read_text_layers
from conftest import doc_fields, make_pdf, memory_archive, unit_input

# The five cities' policy texts (shared/seeds), copied here so the tests always have them.
SEEDS = sorted((pathlib.Path(__file__).resolve().parents[1] / "data" / "seeds").glob("*.txt"))
WHEN = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(root, searcher, {seed file stem: index key}) — built once for the module."""
    assert len(SEEDS) == 5
    registry = SchemaRegistry(default_directory())
    root = memory_archive(registry)
    build_city(root, registry, default_procedure(registry), households=30, units=20, documents=420)
    read_text_layers(root)
    library = filing.create_dossier(root, registry, "unit", unit_input(project="政策文件汇编"),
                                    "archivist", when=WHEN, state="vacant")
    seeds = {}
    for path in SEEDS:
        doc = filing.file_document(library, registry, doc_fields(doc_type="rent_standard",
                                                                 title=path.stem),
                                   make_pdf("政策文件"), f"{path.stem}.pdf", "archivist", when=WHEN)
        doc.current_file.text = path.read_text(encoding="utf-8")   # the policy text as its text layer
        seeds[path.name[:3]] = f"unit/{library.archive_no}/{doc.doc_id}"
    index = SearchIndex(tmp_path_factory.mktemp("index"))
    drain(root, registry, index)
    return root, Searcher(index, registry.vocabularies), seeds


def run(world, text, **kw):
    return world[1].search(SearchRequest(text, per_page=100, **kw))


def top(world, text, n=1, **kw):
    return [h.key for h in run(world, text, **kw).hits[:n]]


@pytest.mark.parametrize("query, seed", [
    ("曲政办发〔2018〕66号", "000"),
    ("曲靖 经济技术开发区", "000"),
    ("腾冲市公共租赁住房分配运营管理实施办法", "001"),
    ("保山 隆阳区", "001"),
    ("厦门 运营企业", "002"),
    ("常州 征求意见", "003"),
    ('"公开征求意见"', "003"),
    ("德州去哪里申请公租房", "004"),
])
def test_each_policy_text_is_found_by_what_it_is_about(world, query, seed):
    assert top(world, query) == [world[2][seed]]


def test_a_phrase_every_policy_text_uses_finds_all_of_them(world):
    first = run(world, '"公共租赁住房"', filters={"kind": "document"})
    keys = {h.key for page in range(1, first.pages + 1)
            for h in run(world, '"公共租赁住房"', filters={"kind": "document"}, page=page).hits}
    assert set(world[2].values()) <= keys and len(keys) == first.total


def households(world):
    return list(world[0].households.values())


def test_an_applicants_name_puts_the_household_first(world):
    for dossier in households(world)[:10]:
        name = dossier.metadata["applicant"]["name"]
        results = run(world, name)
        assert results.hits[0].archive_no == dossier.archive_no or \
            sum(1 for d in households(world) if d.metadata["applicant"]["name"] == name) > 1


def test_part_of_a_name_finds_everyone_with_it(world):
    dossier = households(world)[0]
    surname = dossier.metadata["applicant"]["name"][0]
    expected = {d.archive_no for d in households(world)
                if any(surname in (p.get("name") or "") for p in d.people())}
    found = {h.archive_no for h in run(world, f"姓名:{surname}", filters={"kind": "household"}).hits}
    assert found == expected


def test_id_phone_and_archive_numbers_find_exactly_their_household(world):
    for dossier in households(world)[:10]:
        member = (dossier.metadata.get("members") or [dossier.metadata["applicant"]])[-1]
        for query in (member["id_number"], dossier.metadata["phone"], dossier.archive_no):
            hits = run(world, query, filters={"kind": dossier.kind}).hits
            assert [h.archive_no for h in hits] == [dossier.archive_no], query


def test_document_type_and_jurisdiction_fields_match_the_archive(world):
    root = world[0]
    pledges = sum(1 for d in households(world) for doc in d.active_documents()
                  if doc.metadata["doc_type"] == "pledge")
    results = run(world, "类型:承诺书")
    assert results.total == pledges > 0
    assert {h.facets["doc_type"] for h in results.hits} == {"pledge"}
    qujing = sum(1 for d in households(world) if d.metadata["jurisdiction"] == "qujing")
    assert run(world, "辖区:曲靖", filters={"kind": "household"}).total == qujing > 0
    assert root is not None


def test_state_facet_counts_match_the_procedure(world):
    states = collections.Counter(d.state for d in households(world))
    results = run(world, "kind:household")
    assert dict(results.facets["state"]) == dict(states)


def test_a_unit_is_found_by_its_project_and_address(world):
    unit = next(iter(world[0].units.values()))
    project = unit.metadata["project"]
    hits = run(world, f'"{project}" {unit.metadata["unit_no"]}', filters={"kind": "unit"}).hits
    assert unit.archive_no in [h.archive_no for h in hits[:3]]


def test_words_inside_filed_documents_lead_to_their_dossier(world):
    dossier = next(d for d in households(world) if d.active_documents())
    name = dossier.metadata["applicant"]["name"]
    docs = run(world, name, filters={"kind": "document"}).hits
    assert dossier.archive_no in {h.archive_no for h in docs}
