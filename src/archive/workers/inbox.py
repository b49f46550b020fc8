"""Things requests hand over for later work, added without write conflicts (收件箱).

Every filing puts something on a queue (its text layer to read, its dossier to index, its
log entry to seal). Kept in a BTree, two requests filing into *different* dossiers at the
same moment would still conflict there: BTrees cannot merge a bucket split, nor a worker
taking the first key of a bucket while a request adds another. An ``Inbox`` is a small
persistent mapping that merges instead: ZODB hands ``_p_resolveConflict`` the state both
transactions started from, the one committed meanwhile and ours, and the merge keeps what
each side added and drops what each side removed. So requests never conflict over it.

A ``Queue`` puts new items in its inbox and keeps the rest in a BTree: when a single
process adds in bulk (the demo, an import) the inbox spills into the tree, so the inbox
object stays small and rewriting it stays cheap.

An inbox is rewritten whole by every addition, so its cost grows with what waits in it
(bench/growth.py found 5–7 KB per filing for the log's and the text queue's). A
``ShardedInbox`` spreads the items over ``SHARDS`` (64) small inboxes by a stable hash of the
key, so an addition rewrites one shard holding a few items.
"""
from __future__ import annotations

import heapq
import itertools
import zlib

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent


class Inbox(Persistent):
    """key -> value, merged on conflict; keys are unique tuples, values written once."""

    def __init__(self):
        self._items = {}

    def __len__(self):
        return len(self._items)

    def __contains__(self, key):
        return key in self._items

    def get(self, key, default=None):
        return self._items.get(key, default)

    def put(self, key, value) -> int:
        """Keep ``value`` under ``key``; returns how many items this inbox now holds."""
        self._items[key] = value
        self._p_changed = True
        return len(self._items)

    def limit(self, total) -> int:
        """What ``put`` returns once ``total`` items wait (see ShardedInbox.limit)."""
        return total

    def pop(self, key):
        """Remove ``key``; True when it was here."""
        if key not in self._items:
            return False
        del self._items[key]
        self._p_changed = True
        return True

    def items(self):
        """Items in key order."""
        return sorted(self._items.items(), key=lambda kv: kv[0])

    def drain(self):
        """Every item, in key order, removed from the inbox."""
        out = self.items()
        if out:
            self._items = {}
        return out

    def _p_resolveConflict(self, old, committed, new):
        """Our additions and changes, and our removals of what the other side left as it
        was, on top of what the other side committed."""
        before = (old or {}).get("_items", {})
        theirs = committed.get("_items", {})
        ours = new.get("_items", {})
        merged = dict(theirs)
        for key, value in ours.items():
            if key not in before or not _same(before[key], value):
                merged[key] = value
        for key in before.keys() - ours.keys():
            if key in theirs and _same(theirs[key], before[key]):
                del merged[key]
        state = dict(committed)
        state["_items"] = merged
        return state


def _same(a, b) -> bool:
    """Equal values (persistent references compare by oid); unsure counts as different,
    which keeps an item: work done twice is harmless, work lost is not."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


class ShardedInbox(Persistent):
    """An Inbox spread over ``SHARDS`` Inboxes (same methods); this object itself is
    written once, at creation, and never again."""

    SHARDS = 64

    def __init__(self, items=()):
        self._shards = tuple(Inbox() for _ in range(self.SHARDS))
        for key, value in items:
            self.put(key, value)

    def _shard(self, key) -> Inbox:
        """The same shard for a key in every process (Python's own str hash is salted)."""
        return self._shards[zlib.crc32(repr(key).encode("utf-8")) % len(self._shards)]

    def __len__(self):
        return sum(len(shard) for shard in self._shards)

    def __contains__(self, key):
        return key in self._shard(key)

    def get(self, key, default=None):
        return self._shard(key).get(key, default)

    def put(self, key, value) -> int:
        """Keep ``value`` under ``key``; returns how many items its shard now holds."""
        return self._shard(key).put(key, value)

    def limit(self, total) -> int:
        """The shard size past which an adder counts every shard to compare with ``total``
        (``crowded``): counting on each addition would load 64 records."""
        return max(1, 2 * total // len(self._shards))

    def pop(self, key):
        """Remove ``key``; True when it was here."""
        return self._shard(key).pop(key)

    def items(self):
        """Items in key order, from every shard."""
        return list(heapq.merge(*(shard.items() for shard in self._shards), key=lambda kv: kv[0]))

    def drain(self):
        """Every item, in key order, removed (only shards that held any are rewritten)."""
        return list(heapq.merge(*(shard.drain() for shard in self._shards), key=lambda kv: kv[0]))


def crowded(inbox, held, total) -> bool:
    """Whether more than ``total`` items wait, after an addition left ``held`` where it
    went: counted across the shards only when that one is past twice its share, so the
    threshold is exact (no adder spills or seals below it, which would conflict with the
    worker) while a usual addition loads one shard."""
    return held > inbox.limit(total) and len(inbox) > total


def sharded(inbox) -> ShardedInbox:
    """A ShardedInbox holding what ``inbox`` (an Inbox, a ShardedInbox or None) holds (evolve)."""
    if isinstance(inbox, ShardedInbox):
        return inbox
    return ShardedInbox(inbox.items() if inbox is not None else ())


class Queue(Persistent):
    """Work waiting for a worker, oldest key first: new items in the inbox, the rest in a tree."""

    SPILL = 200   # inbox items beyond which an adder moves them into the tree

    def __init__(self):
        self._items = OOBTree()
        self._count = Length()
        self._inbox = ShardedInbox()

    def __len__(self):
        # the tree's count (kept by the worker and bulk adders) plus the inbox's items: a key
        # re-queued while also in the tree counts twice until it is done
        return self._count() + len(self._inbox)

    def __contains__(self, key):
        return key in self._inbox or key in self._items

    def _put(self, key, value):
        """Queue ``value`` under ``key``; past ``SPILL`` waiting items, move them to the tree."""
        if crowded(self._inbox, self._inbox.put(key, value), self.SPILL):
            for k, v in self._inbox.drain():
                if k not in self._items:
                    self._count.change(1)
                self._items[k] = v

    def _first(self, limit):
        """Up to ``limit`` (key, value) pairs, oldest first, from the tree and the inbox."""
        inbox = self._inbox.items()
        merged = sorted(itertools.chain(itertools.islice(self._items.items(), limit), inbox),
                        key=lambda kv: kv[0])
        seen, out = set(), []
        for key, value in merged:
            if key not in seen:
                seen.add(key)
                out.append((key, value))
            if len(out) >= limit:
                break
        return out

    def done(self, key):
        """The work for ``key`` is finished: remove it wherever it is."""
        self._inbox.pop(key)
        if key in self._items:
            del self._items[key]
            self._count.change(-1)

    def clear(self):
        self._items.clear()
        self._inbox.drain()
        self._count.set(0)
