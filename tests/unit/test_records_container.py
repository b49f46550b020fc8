"""Dossier containers: unique archive numbers, filtered, sorted and paged listings."""
import datetime as dt

import pytest

from archive.records.container import DossierContainer
from archive.records.dossier import HouseholdDossier

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
INDEXES = ["jurisdiction", "category", "district", "unit_ref", "applicant.name", "income_per_capita"]


def _household(seq, name="张三", jurisdiction="changzhou", category="dibao", district="天宁区",
               income=1000.0, minutes=0):
    metadata = {"applicant": {"name": name}, "jurisdiction": jurisdiction, "category": category,
                "district": district, "income_per_capita": income, "unit_ref": ""}
    return HouseholdDossier(f"CZ-HH-2026-Y-{seq:05d}", metadata, "archivist",
                            T0 + dt.timedelta(minutes=minutes))


@pytest.fixture
def container():
    return DossierContainer("households", "household", INDEXES)


def _numbers(dossiers):
    return [d.archive_no for d in dossiers]


def test_added_dossier_is_found_by_archive_number(container):
    dossier = container.add(_household(1))
    assert container["CZ-HH-2026-Y-00001"] is dossier and container.get("CZ-HH-2026-Y-00001") is dossier


def test_added_dossier_knows_its_container(container):
    assert container.add(_household(1)).__parent__ is container


def test_length_counts_added_dossiers(container):
    for seq in range(1, 4):
        container.add(_household(seq))
    assert len(container) == 3


def test_get_of_an_unknown_number_returns_the_default(container):
    assert container.get("CZ-HH-2026-Y-09999") is None


def test_duplicate_archive_number_is_refused(container):
    first = container.add(_household(1, "张三"))
    with pytest.raises(KeyError, match="已存在"):
        container.add(_household(1, "李四"))
    assert len(container) == 1 and container["CZ-HH-2026-Y-00001"] is first


def test_query_without_filters_lists_everything_in_archive_number_order(container):
    for seq in (3, 1, 2):
        container.add(_household(seq))
    total, page = container.query()
    assert total == 3 and _numbers(page) == [f"CZ-HH-2026-Y-0000{i}" for i in (1, 2, 3)]


def test_one_filter_selects_matching_dossiers(container):
    container.add(_household(1, category="dibao"))
    container.add(_household(2, category="tekun"))
    total, page = container.query({"category": "tekun"})
    assert (total, _numbers(page)) == (1, ["CZ-HH-2026-Y-00002"])


def test_filters_intersect(container):
    container.add(_household(1, category="dibao", district="天宁区"))
    container.add(_household(2, category="dibao", district="钟楼区"))
    container.add(_household(3, category="tekun", district="钟楼区"))
    total, page = container.query({"category": "dibao", "district": "钟楼区"})
    assert (total, _numbers(page)) == (1, ["CZ-HH-2026-Y-00002"])


def test_filter_with_no_match_gives_an_empty_page(container):
    container.add(_household(1))
    assert container.query({"district": "武进区"}) == (0, [])


def test_empty_filter_value_is_ignored(container):
    container.add(_household(1))
    container.add(_household(2))
    assert container.query({"district": ""})[0] == 2


def test_sort_by_an_index_ascending(container):
    container.add(_household(1, income=1500.0))
    container.add(_household(2, income=900.0))
    container.add(_household(3, income=1200.0))
    _, page = container.query(sort="income_per_capita")
    assert [d.metadata["income_per_capita"] for d in page] == [900.0, 1200.0, 1500.0]


def test_sort_by_an_index_descending(container):
    container.add(_household(1, income=1500.0))
    container.add(_household(2, income=900.0))
    container.add(_household(3, income=1200.0))
    _, page = container.query(sort="income_per_capita", reverse=True)
    assert [d.metadata["income_per_capita"] for d in page] == [1500.0, 1200.0, 900.0]


def test_sort_by_archive_number_descending(container):
    for seq in (1, 2, 3):
        container.add(_household(seq))
    _, page = container.query(reverse=True)
    assert _numbers(page) == [f"CZ-HH-2026-Y-0000{i}" for i in (3, 2, 1)]


def test_sort_by_modified_lists_recently_changed_first_when_reversed(container):
    container.add(_household(1, minutes=5))
    container.add(_household(2, minutes=1))
    container.add(_household(3, minutes=9))
    _, page = container.query(sort="modified", reverse=True)
    assert _numbers(page) == ["CZ-HH-2026-Y-00003", "CZ-HH-2026-Y-00001", "CZ-HH-2026-Y-00002"]


def test_sort_applies_within_a_filter(container):
    container.add(_household(1, category="dibao", income=1500.0))
    container.add(_household(2, category="tekun", income=100.0))
    container.add(_household(3, category="dibao", income=900.0))
    _, page = container.query({"category": "dibao"}, sort="income_per_capita")
    assert _numbers(page) == ["CZ-HH-2026-Y-00003", "CZ-HH-2026-Y-00001"]


def test_dossier_without_a_sort_value_is_listed_last(container):
    container.add(_household(1, income=None))
    container.add(_household(2, income=500.0))
    _, page = container.query(sort="income_per_capita")
    assert _numbers(page) == ["CZ-HH-2026-Y-00002", "CZ-HH-2026-Y-00001"]


def test_paging_returns_the_requested_slice_and_the_full_total(container):
    for seq in range(1, 8):
        container.add(_household(seq))
    total, page = container.query(offset=3, limit=2)
    assert (total, _numbers(page)) == (7, ["CZ-HH-2026-Y-00004", "CZ-HH-2026-Y-00005"])


def test_page_past_the_end_is_empty(container):
    container.add(_household(1))
    assert container.query(offset=20, limit=20) == (1, [])


def test_update_moves_the_dossier_between_filter_values(container):
    dossier = container.add(_household(1, district="天宁区"))
    metadata = dict(dossier.metadata, district="钟楼区")
    dossier.update(metadata, "archivist", T0 + dt.timedelta(minutes=1))
    assert container.query({"district": "天宁区"}) == (0, [])
    assert container.query({"district": "钟楼区"}) == (1, [dossier])


def test_filter_menu_counts_follow_updates(container):
    dossier = container.add(_household(1, district="天宁区"))
    container.add(_household(2, district="天宁区"))
    dossier.update(dict(dossier.metadata, district="钟楼区"), "archivist", T0 + dt.timedelta(minutes=1))
    assert sorted(container.indexes["district"].values()) == [("天宁区", 1), ("钟楼区", 1)]


def test_update_resorts_by_modified(container):
    first = container.add(_household(1, minutes=1))
    container.add(_household(2, minutes=2))
    first.update(dict(first.metadata, district="钟楼区"), "archivist", T0 + dt.timedelta(minutes=3))
    _, page = container.query(sort="modified", reverse=True)
    assert page[0] is first


def test_ensure_index_fills_a_new_index_from_existing_dossiers():
    container = DossierContainer("households", "household", ["category"])
    container.add(_household(1, district="钟楼区"))
    container.ensure_index("district")
    assert container.query({"district": "钟楼区"})[0] == 1
