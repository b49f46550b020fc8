"""Dossier containers backed by BTrees, with field indexes for listings.

Built for 10^6 dossiers: items live in an OOBTree keyed by archive number, the count in a
``Length`` (no conflicts on concurrent adds), and each filter or sort field in a small
field index so a listing page never loads the dossiers it does not show.
"""
from __future__ import annotations

import itertools

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet, intersection
from persistent import Persistent

from ..access.auditlog import record_version
from ..search.queue import index_later
from .version import flatten


class IndexTree(OOBTree):
    """An OOBTree in small buckets (and small internal nodes): a new dossier is indexed by
    rewriting buckets of at most 8 entries, about 300 bytes, not the 30-entry buckets of a
    plain OOBTree, about 1 KB each, in every listing index (bench/growth.py). The
    containers' dossiers by archive number and the fixity index's records are kept in
    one too (evolve: ``_small_trees``)."""
    max_leaf_size = 8
    max_internal_size = 16


def small(tree) -> IndexTree:
    """``tree``'s items in an IndexTree (evolve, generation 10)."""
    if isinstance(tree, IndexTree):
        return tree
    out = IndexTree()
    out.update(tree)
    return out


class FieldIndex(Persistent):
    """value -> set of ids, and id -> value, for one metadata path."""

    def __init__(self, path):
        self.path = path
        self.forward = IndexTree()
        self.reverse = IndexTree()

    def index(self, doc_id, value):
        old = self.reverse.get(doc_id, _MISSING)
        if old == value:
            return
        if old is not _MISSING:
            self.unindex(doc_id)
        if value is None or value == "":
            return
        bucket = self.forward.get(value)
        if bucket is None:
            bucket = self.forward[value] = OOTreeSet()
        bucket.add(doc_id)
        self.reverse[doc_id] = value

    def unindex(self, doc_id):
        old = self.reverse.pop(doc_id, _MISSING)
        if old is _MISSING:
            return
        bucket = self.forward.get(old)
        if bucket is not None:
            bucket.remove(doc_id)
            if not bucket:
                del self.forward[old]

    def ids(self, value):
        return self.forward.get(value) or OOTreeSet()

    def values(self, within=None):
        """The distinct indexed values, with their counts (for filter menus); ``within``
        (a set of ids, e.g. a user's jurisdictions: archive.access.local) counts only those."""
        if within is None:
            return [(v, len(s)) for v, s in self.forward.items()]
        for value, ids in self.forward.items():
            if ids is within:   # one city's scope is this index's own set (Scope.ids): each id
                return [(value, len(ids))]   # has one value here, so no other value counts any
        counted = ((v, len(intersection(s, within))) for v, s in self.forward.items())
        return [(v, n) for v, n in counted if n]


_MISSING = object()
# Every kind of dossier and the root attribute holding its container: 一户一档, 一套一档 and
# the employers' collective applications (单位集体申请档案, 厦门). Whatever walks "every
# dossier" (search, audits, binding, hand-over packages, jurisdiction filters) reads this.
CONTAINERS = {"household": "households", "unit": "units", "employer": "employers"}
KINDS = tuple(CONTAINERS)
ALWAYS = ("modified", "state", "due")   # indexed for every kind: listings, worklists


class DossierContainer(Persistent):
    """households/, units/ or employers/: dossiers by archive number, with listing indexes."""

    def __init__(self, name, kind, index_paths):
        self.__name__, self.__parent__ = name, None
        self.kind = kind
        self._items = IndexTree()
        self._count = Length()
        self.indexes = OOBTree({p: FieldIndex(p) for p in set(index_paths) | set(ALWAYS)})

    def __getitem__(self, key):
        return self._items[key]

    def get(self, key, default=None):
        return self._items.get(key, default)

    def __contains__(self, key):
        return key in self._items

    def __len__(self):
        return self._count()

    def values(self):
        return self._items.values()

    def keys(self):
        return self._items.keys()

    def add(self, dossier):
        """Place a new dossier (``place``: never a number twice, indexed, its fixity
        record and files filed before it joined) and log its first version."""
        self.place(dossier)
        self.logged(dossier, dossier.latest)
        return dossier

    def place(self, dossier):
        """Place a dossier kept elsewhere before (evolve): indexed and given its fixity
        record, as ``add`` does, but not logged again, its versions having been logged already."""
        key = dossier.archive_no
        if key in self._items:
            raise KeyError(f"档号 {key} 已存在")
        dossier.__parent__ = self
        self._items[key] = dossier
        self._count.change(1)
        self.reindex(dossier)
        fixity = getattr(self.__parent__, "fixity", None)
        if fixity is not None:
            fixity.record_dossier(dossier)
        return dossier

    def logged(self, dossier, version):
        """Every recorded version is an action in the audit log (archive.access.auditlog)."""
        log = getattr(self.__parent__, "log", None)
        if log is not None:
            record_version(log, dossier, version)

    def ensure_index(self, path):
        """Add an index for a newly listed field and fill it (used by evolve steps)."""
        if path not in self.indexes:
            self.indexes[path] = FieldIndex(path)
            for dossier in self._items.values():
                self.reindex(dossier)

    def reindex(self, dossier):
        """Refresh the listing indexes, and queue the dossier for the search index."""
        if self.__parent__ is not None:
            index_later(self.__parent__, dossier)
        flat = flatten(dossier.metadata)
        flat.update(modified=modified_hour(dossier.modified), state=dossier.state, due=dossier.due)
        for path, index in self.indexes.items():
            index.index(dossier.archive_no, _sortable(flat.get(path)))
        disposition = getattr(self.__parent__, "disposition", None)
        if disposition is not None:   # the disposition date (archive.disposition.book)
            disposition.reindex(dossier)

    def query(self, filters=None, sort="archive_no", reverse=False, offset=0, limit=20, within=None):
        """(total, dossiers on this page) for equality filters and one sort key; ``within``
        (a set of ids: the places a user may see, archive.access.local) narrows them all."""
        ids = within
        for path, value in (filters or {}).items():
            if value in (None, "") or path not in self.indexes:
                continue
            found = self.indexes[path].ids(value)
            ids = found if ids is None else intersection(ids, found)
        total = len(self) if ids is None else len(ids)
        if offset >= total:
            return total, []
        keys = self._ordered_keys(ids, sort, reverse)
        page = itertools.islice(keys, offset, offset + limit)
        return total, [self._items[k] for k in page]

    def _ordered_keys(self, ids, sort, reverse):
        if sort in self.indexes:
            index = self.indexes[sort]
            values = reversed(index.forward.keys()) if reverse else index.forward.keys()
            listed = (k for v in values for k in self._in_order(index, v, sort, reverse)
                      if ids is None or k in ids)
            unsorted = (k for k in (ids if ids is not None else self._items.keys())
                        if k not in index.reverse)
            return itertools.chain(listed, unsorted)
        keys = ids if ids is not None else self._items.keys()
        return _maybe_reversed(keys, reverse)


    def _in_order(self, index, value, sort, reverse):
        """The ids of one index value in order: by exact time within an hour of ``modified``."""
        if sort != "modified":
            return _maybe_reversed(index.forward[value], reverse)
        return sorted(index.forward[value], key=lambda k: self._items[k].modified, reverse=reverse)

    def newest(self, limit, within=None):
        """The ``limit`` dossiers changed last, newest first (the home page)."""
        keys = itertools.islice(self._ordered_keys(within, "modified", True), limit)
        return [self._items[k] for k in keys]


def containers(root, kinds=KINDS) -> list:
    """Every dossier container of the archive, in ``KINDS`` order (those a store being
    upgraded already has: evolve steps older than a kind's container walk it too)."""
    found = (getattr(root, CONTAINERS[kind], None) for kind in kinds)
    return [c for c in found if c is not None]


def every_dossier(root, kinds=KINDS):
    """Every dossier of the archive (of ``kinds``), container by container: the one walk the
    concerns that see the whole archive share, so a new kind of dossier is seen by all."""
    for container in containers(root, kinds):
        yield from container.values()


def find_dossier(root, archive_no, kinds=KINDS):
    """The dossier with this 档号 in any container, or None (numbers never repeat across
    kinds: each kind has its own pattern, schemas/archive_numbers.yaml)."""
    if not isinstance(archive_no, str):
        return None
    for container in containers(root, kinds):
        dossier = container.get(archive_no)
        if dossier is not None:
            return dossier
    return None


def listing_paths(registry, kind):
    """The metadata paths a kind's listing filters or sorts on (schemas/<kind>.yaml), indexed."""
    listing = registry[kind].listing
    return [p for p in list(listing.get("filters", ())) + list(listing.get("sort", ()))
            if p not in ("archive_no",) + ALWAYS]


def modified_hour(when):
    """What the ``modified`` index keeps: the hour, not the instant. Refiling into a dossier
    changed earlier in the same hour then leaves the index as it is, so two officers filing
    into two dossiers do not both rewrite the index's newest bucket (a ZODB conflict)."""
    if when is None:
        return None
    return when.replace(minute=0, second=0, microsecond=0)


def _maybe_reversed(keys, reverse):
    """Descending order without copying: BTree key sequences index from the end."""
    if not reverse:
        return iter(keys)
    keys = keys.keys() if hasattr(keys, "keys") else keys
    return reversed(keys)


def _sortable(value):
    """Index values must compare with each other: lists become tuples, None stays out."""
    if isinstance(value, list):
        return tuple(value)
    return value
