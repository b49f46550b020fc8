"""Hits, scores, facet counts and date order as numpy arrays over whoosh's own postings.

whoosh answers a query by visiting every matching document in Python, once to score it
and once per facet to count it: a word found in most documents cost about 370 ms at
20,000 documents, and that grows with the index. Here the same answer is computed a
segment at a time with arrays:

* a term's postings are read from its whole extent in one read, the codec's blocks of
  document numbers and weights located by their opcodes and decoded by numpy at once
  (``_Extent``), not a posting or a block header at a time through whoosh's matcher;
* a term stays its postings (``_Posted``: document numbers and scores) until a query
  combines it, and combining parts writes into arrays the part made for itself, so a word
  spread over eight fields costs its postings rather than eight segment-sized arrays; BM25's
  length part is kept per segment and field (``Segment.norms``);
* a query is evaluated as boolean masks over the segment's documents (AND, OR, NOT) with
  a score array beside them, BM25F exactly as whoosh computes it (same idf, average field
  length, quantized field lengths and boosts), so the same hits come out in the same order;
  parts that are not plain terms (phrases, wildcards, ranges) are matched and scored by
  whoosh's own matchers and then combined the same way;
* facet counts are ``np.bincount`` over an array of facet-value numbers per document
  (over the misses, subtracted from the live totals, when a query finds most documents),
  built once per segment and kept: a segment never changes once written (deletions are a
  separate set, applied through the live mask), so the arrays are only made again for new
  segments; likewise the date column for sorting by date and BM25's length part.

Only the page's hits are then read from the stored fields.

Ranking in tiers (``Matched.rank``): a query word widened to its CJK bigrams
(``Widened``: the words, or else the bigrams) is evaluated three ways, the bigrams as an
alternative (every hit), the words alone, and words and bigrams together (the word's
characters in a row: the exact phrase); hits are ordered by the best of these they
match, then by score. So an exact phrase comes first, then the words found apart, then
what only the bigrams found (a substring across words), whatever their BM25 scores.
"""
from __future__ import annotations

import pickle
import struct
import threading
import zlib

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.filedb.structfile import StructFile
from whoosh.matching import ListMatcher
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from .codec import length_bytes

_INT, _FRAME, _U4 = struct.Struct("!i"), struct.Struct("<Q"), struct.Struct("<I")
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


def postings(reader, fieldname, btext):
    """(document numbers, weights) of a term in one segment, deleted documents included."""
    found = _extent_postings(reader, fieldname, btext)
    if found is not None:
        return found
    try:
        matcher = reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    except (TermNotFound, KeyError, AttributeError):
        try:
            matcher = reader.postings(fieldname, btext)
        except TermNotFound:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
    if isinstance(matcher, W3LeafMatcher):
        return _blocks(matcher)
    if isinstance(matcher, ListMatcher):
        ids = np.asarray(list(matcher._ids), dtype=np.int64)
        weights = matcher._weights
        if weights is None:
            weights = np.full(len(ids), matcher._all_weights or 1.0)
        return ids, np.asarray(list(weights), dtype=np.float64)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64)


def _extent_postings(reader, fieldname, btext):
    """A term's postings read from its whole extent at once (``_Extent``), or None when its
    term table or blocks are not the codec's (then whoosh's matcher reads them)."""
    postfile, info = _term_info(reader, fieldname, btext)
    if postfile is None:
        return None
    if info is None:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    if info.is_inlined():
        ids, weights, _ = info.inlined_postings()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64)
    return _Extent(_extent_bytes(postfile, info)).arrays()


def _extent_values(reader, fieldname, btext, values):
    """``_extent_postings`` with the blocks' values appended to ``values``; None for an
    inlined term (whoosh's ListMatcher has them) or a layout read otherwise."""
    postfile, info = _term_info(reader, fieldname, btext)
    if info is None or info.is_inlined():
        return None
    found = _Extent(_extent_bytes(postfile, info)).arrays(values)
    if found is None:
        values.clear()
    return found


def _term_info(reader, fieldname, btext):
    """(postings file, term info) in a segment whose term table is whoosh's W3 one over a
    file: (None, None) for another table, (file, None) for a term not in the segment."""
    terms = getattr(reader, "_terms", None)
    postfile = getattr(terms, "_postfile", None)
    if not isinstance(postfile, StructFile):
        return None, None
    try:
        return postfile, terms.term_info(fieldname, btext)
    except (TermNotFound, KeyError):
        return postfile, None


def _extent_bytes(postfile, info) -> bytes:
    """The bytes of a term's postings (whoosh's term info unpacks the length as a 1-tuple:
    its matcher never reads it)."""
    offset, length = info.extent()
    if isinstance(length, tuple):
        length = length[0]
    return postfile.get(offset, length)


class _Extent:
    """A term's posting blocks as one byte string, read without whoosh's matcher.

    whoosh's matcher reads each block's header with ``pickle.load`` from the file, one small
    read per opcode, then the block: some 15 µs a block, and a word found in every document
    of 10^6 has 2,000 blocks in each field. Here the term's whole extent is one read; each
    block's header is found by unpickling it and pickling it again (the same bytes, so its
    length: whoosh writes it with ``pickle.dumps(…, 2)``, the data follows), and the ids and
    weights of the codec's blocks (a protocol-4 pickle of two byte strings, ``PostingsWriter``)
    are located in the data by its opcodes and joined, so numpy decodes the whole term at
    once. A block in any other layout (whoosh's own, compressed) is unpickled as whoosh
    would; ``arrays`` returns None if the extent does not hold whoosh's block chain.
    """

    def __init__(self, buf):
        self.buf = buf

    def arrays(self, values=None):
        """(ids, weights) as int64 and float64 arrays; with ``values`` (a list), the blocks'
        (value lengths, joined values) appended to it as ``_blocks`` does (each block is then
        unpickled whole: only phrases ask for values)."""
        try:
            return self._arrays(values)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError,
                KeyError, struct.error, zlib.error):
            return None

    def _arrays(self, values):
        buf = self.buf
        if buf[:4] != WHOOSH3_HEADER_MAGIC:
            return None
        view, pos, end = memoryview(buf), 4, len(buf)
        ids, weights, parts = [], [], []          # parts: arrays of blocks not in the codec's layout
        while pos < end:
            length = _INT.unpack_from(buf, pos)[0]
            start, stop = pos + 4, pos + 4 + abs(length)
            info = pickle.loads(view[start:stop])
            header = pickle.dumps(info, 2)
            data = start + len(header)
            if view[start:data] != header:
                return None
            located = _locate(buf, data, stop) if values is None and not info[3] else None
            if located is not None:
                (id_at, size), (weight_at, _) = located
                if parts:
                    ids.append(np.concatenate([p[0] for p in parts]).astype("<u4").tobytes())
                    weights.append(np.concatenate([p[1] for p in parts]).astype("<f4").tobytes())
                    parts = []
                ids.append(view[id_at:id_at + size])
                weights.append(view[weight_at:weight_at + size])
            else:
                parts.append(_unpickled_block(view[data:stop], info[3], values))
            pos = stop
            if length < 0:
                break
        if parts:
            ids.append(np.concatenate([p[0] for p in parts]).astype("<u4").tobytes())
            weights.append(np.concatenate([p[1] for p in parts]).astype("<f4").tobytes())
        if not ids:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        return (np.frombuffer(b"".join(ids), dtype="<u4").astype(np.int64),
                np.frombuffer(b"".join(weights), dtype="<f4").astype(np.float64))


def _locate(buf, at, stop):
    """((ids offset, length), (weights offset, length)) of a codec block's data pickle:
    PROTO 4, FRAME, two byte strings of the same length (SHORT_BINBYTES or BINBYTES), each
    memoized; None for anything else (that block is then unpickled)."""
    if buf[at:at + 3] != b"\x80\x04\x95" or at + 11 + _FRAME.unpack_from(buf, at + 3)[0] != stop:
        return None
    found, pos = [], at + 11
    for _ in range(2):
        op = buf[pos]
        if op == 0x43:                              # SHORT_BINBYTES: a one-byte length
            size, pos = buf[pos + 1], pos + 2
        elif op == 0x42:                            # BINBYTES: a four-byte length
            size, pos = _U4.unpack_from(buf, pos + 1)[0], pos + 5
        else:
            return None
        found.append((pos, size))
        pos += size
        if buf[pos] != 0x94:                        # MEMOIZE
            return None
        pos += 1
    if found[0][1] != found[1][1] or found[0][1] % 4:
        return None
    return found


def _unpickled_block(data, compression, values, byteids=False):
    """(ids, weights) of one block unpickled, in either layout (whoosh's own: delta-coded
    ids, unless ``byteids``), decompressed first if ``compression``; its values appended
    to ``values`` (a list) if given."""
    raw = zlib.decompress(data) if compression else data
    block_ids, block_weights, block_values = pickle.loads(raw)
    codec = isinstance(block_ids, bytes) and not byteids
    if codec:
        block = np.frombuffer(block_ids, dtype="<u4").astype(np.int64)
    else:
        block = np.asarray(block_ids, dtype=np.int64)
        block = block if byteids else np.cumsum(block)
    weights = _block_weights(block_weights, len(block))
    if values is not None:
        if codec and isinstance(block_values, tuple) and len(block_values) == 3:
            sizes, joined, level = block_values
            values.append((np.frombuffer(sizes, dtype="<u4"), zlib.decompress(joined) if level else joined))
        elif block_values is not None:
            values.append((np.fromiter(map(len, block_values), dtype=np.int64, count=len(block_values)),
                           b"".join(block_values)))
    return block, weights


def _block_weights(block_weights, count):
    if block_weights is None:
        return np.ones(count)
    if isinstance(block_weights, float):
        return np.full(count, block_weights)
    if isinstance(block_weights, bytes):
        return np.frombuffer(block_weights, dtype="<f4").astype(np.float64)
    return np.asarray(block_weights, dtype=np.float64)


def _blocks(matcher, values=None):
    """A W3 posting list's blocks read whole, decoded with numpy instead of per posting.

    Blocks written by ``codec.PostingsWriter`` hold byte strings (ids ``<u4``, weights
    ``<f4``, value lengths ``<u4`` and the joined values, compressed on their own, read only
    when asked for); whoosh's own hold tuples of
    delta-coded ids, of weights and of values. With ``values`` (a list), the postings'
    (value lengths array, joined values) are appended to it block by block.
    """
    ids, weights = [], []
    postfile, byteids = matcher._postfile, matcher._byteids
    while not matcher._atend and matcher._blocklength:
        data = postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
        block, block_weights = _unpickled_block(data, matcher._compression, values, byteids)
        ids.append(block)
        weights.append(block_weights)
        matcher._next_block()
    if not ids:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    return np.concatenate(ids), np.concatenate(weights)


def positions(reader, fieldname, btext):
    """(document numbers, weights, position counts, positions) of a term in one segment
    whose field is written with ``WordPositions``; None if its postings are not in blocks."""
    values = []
    found = _extent_values(reader, fieldname, btext, values)
    matcher = reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format) \
        if found is None else None
    if found is not None:
        ids, weights = found
    elif isinstance(matcher, W3LeafMatcher):
        ids, weights = _blocks(matcher, values)
    elif isinstance(matcher, ListMatcher):
        ids, weights = postings(reader, fieldname, btext)
        found = list(matcher._values or ())
        if len(found) != len(ids):
            return None
        values = [(np.fromiter(map(len, found), dtype=np.int64, count=len(found)), b"".join(found))]
    else:
        return None
    if not values:
        return ids, weights, np.zeros(len(ids), dtype=np.int64), _EMPTY_IDS
    flat = np.frombuffer(b"".join(joined for _, joined in values), dtype="<u4")
    sizes = np.concatenate([lengths for lengths, _ in values]).astype(np.int64) // 4
    heads = np.cumsum(sizes) - sizes
    counts = flat[heads].astype(np.int64)
    keep = np.ones(len(flat), dtype=bool)
    keep[heads] = False
    return ids, weights, counts, flat[keep].astype(np.int64)


_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float64)


class Segment:
    """What is kept of one segment: its size, facet-value numbers, dates and BM25 norms."""

    def __init__(self, reader):
        self.size = reader.doc_count_all()
        self._facets = {}
        self._totals = {}
        self._norms = {}
        self._dates = {}
        self._live = (None, None)
        self._lock = threading.Lock()

    def live(self, reader):
        """A mask of the documents not deleted (deletions change; the segment does not)."""
        deleted = reader.deleted_docs_set if reader.has_deletions() else ()
        key, mask = self._live
        if key != len(deleted):
            mask = np.ones(self.size, dtype=bool)
            if deleted:
                mask[np.fromiter(deleted, dtype=np.int64, count=len(deleted))] = False
            self._live = (len(deleted), mask)
        return mask

    def facet(self, reader, name):
        """(value number per document, [value, …]); number 0 is "no value"."""
        out = self._facets.get(name)
        if out is None:
            with self._lock:
                field = reader.schema[name]
                values, ords = [""], np.zeros(self.size, dtype=np.int32)
                for btext in reader.lexicon(name):
                    ids, _ = postings(reader, name, btext)
                    values.append(field.from_bytes(btext))
                    ords[ids] = len(values) - 1
                out = self._facets[name] = (ords, values)
        return out

    def facet_totals(self, reader, name):
        """Each facet value's number of live documents, kept while the deletions stay the same."""
        live = self.live(reader)
        deleted = self._live[0]
        out = self._totals.get(name)
        if out is None or out[0] != deleted:
            ords, values = self.facet(reader, name)
            out = self._totals[name] = (deleted, np.bincount(ords[live], minlength=len(values)))
        return out[1]

    def norms(self, reader, fieldname, avgfl, B, K1):
        """BM25's length part per document, ``K1 * ((1 - B) + B * length / avgfl)``: computed
        once for the index's average length (which changes only with the index), so a term
        is scored with a gather and three operations on its postings. The field lengths
        (whoosh's quantized ones) are read for it and not kept."""
        key = (avgfl, B, K1)
        found = self._norms.get(fieldname)
        if found is None or found[0] != key:
            lengths = _field_lengths(reader, fieldname, self.size)
            found = self._norms[fieldname] = (key, K1 * ((1 - B) + B * lengths / avgfl))
        return found[1]

    def dates(self, reader, fieldname):
        """The sortable column's raw values (whoosh's order for sorting) per document."""
        out = self._dates.get(fieldname)
        if out is None:
            column = reader.column_reader(fieldname, translate=False)
            out = self._dates[fieldname] = np.fromiter(
                (v or 0 for v in column), dtype=np.int64, count=self.size)
        return out


def _field_lengths(reader, fieldname, size):
    try:
        perdoc = reader._perdoc
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return np.ones(size)
        return _LENGTH_OF_BYTE[np.frombuffer(length_bytes(column, size), dtype=np.uint8)]
    except (AttributeError, ImportError, TypeError, ValueError):
        return np.array([reader.doc_field_length(d, fieldname) or 0 for d in range(size)],
                        dtype=np.float64)


class Cache:
    """Segments by id, for one index; segments no longer in the index are dropped."""

    def __init__(self):
        self._segments = {}
        self._lock = threading.Lock()

    def leaves(self, searcher):
        """[(segment reader, document offset, Segment)] of a searcher."""
        out, seen = [], set()
        for reader, offset in searcher.reader().leaf_readers():
            segment = reader.segment() if hasattr(reader, "segment") else None
            segid = segment.segment_id() if segment is not None else ("reader", id(reader))
            seen.add(segid)
            seg = self._segments.get(segid)
            if seg is None or seg.size != reader.doc_count_all():
                with self._lock:
                    seg = self._segments[segid] = Segment(reader)
            out.append((reader, offset, seg))
        if len(self._segments) > len(seen) + 32:
            with self._lock:
                for segid in list(self._segments):
                    if segid not in seen:
                        del self._segments[segid]
        return out


class Widened(wq.CompoundQuery):
    """A query word and its CJK bigrams (``[words, grams]``): whoosh matches and scores it as
    an Or; ``Evaluator`` can take either part or both together, for ``Matched.rank``."""

    JOINT = " OR "
    intersect_merge = False

    def __init__(self, subqueries, boost=1.0, text=""):
        super().__init__(subqueries, boost=boost)
        self.text = text                  # the word as typed (for snippets)

    def normalize(self):
        norm = super().normalize()
        if isinstance(norm, Widened):
            norm.text = self.text
        return norm

    def _matcher(self, subs, searcher, context):
        return wq.Or(subs, boost=self.boost)._matcher(subs, searcher, context)

    def requires(self):
        return set()

    def parts(self):
        """(the words' query, the bigrams' query or None)."""
        grams = [s for s in self.subqueries if _only_field(s, "grams")]
        words = [s for s in self.subqueries if not _only_field(s, "grams")]
        words_q = words[0] if len(words) == 1 else wq.Or(words) if words else wq.NullQuery
        return words_q, (grams[0] if grams else None)


def _only_field(q, name):
    fields = {f for f, _ in q.iter_all_terms()}
    return fields == {name}


def widens(q) -> bool:
    """Whether ``q`` has a word widened to its bigrams (then hits are ranked in tiers)."""
    if isinstance(q, Widened):
        return True
    return any(widens(child) for child in q.children())


class Matched:
    """A query's hits as one mask per segment, with each hit's score beside it."""

    def __init__(self, searcher, leaves, masks, scores):
        self.searcher, self.leaves, self.masks, self.scores = searcher, leaves, masks, scores
        self.tiers = None
        self._sides = {}

    def rank(self, *better):
        """Hits in ``better[0]`` (a Matched of the same searcher) first, then those in
        ``better[1]``, …, each tier by score (``top``, by relevance)."""
        self.tiers = []
        for n, _ in enumerate(self.masks):
            tier = np.zeros(len(self.masks[n]), dtype=np.int8)
            for level, other in enumerate(reversed(better), 1):
                np.copyto(tier, np.int8(level), where=other.masks[n])
            self.tiers.append(tier)

    def total(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks))

    def restrict(self, other):
        """Only the hits also in ``other`` (a filter: scores unchanged)."""
        self.masks = [a & b for a, b in zip(self.masks, other.masks)]
        self._sides = {}

    def _side(self, n):
        """(document numbers, whether they are the misses) of segment ``n``: its hits, or the
        live documents that are not hits when those are fewer (a broad query's), so that a
        facet is counted over whichever is smaller."""
        found = self._sides.get(n)
        if found is None:
            (reader, _, seg), mask = self.leaves[n], self.masks[n]
            live = seg.live(reader)
            hits = int(np.count_nonzero(mask))
            if hits > (int(np.count_nonzero(live)) + 1) // 2:
                found = (np.flatnonzero(live & ~mask), True)
            else:
                found = (np.flatnonzero(mask), False)
            self._sides[n] = found
        return found

    def facet_counts(self, name):
        """{value: hits} for one facet field, values with no hits left out."""
        counts = {}
        for n, (reader, _, seg) in enumerate(self.leaves):
            ords, values = seg.facet(reader, name)
            docs, misses = self._side(n)
            found = np.bincount(ords.take(docs), minlength=len(values))
            if misses:
                found = seg.facet_totals(reader, name) - found
            for i in np.flatnonzero(found):
                counts[values[i]] = counts.get(values[i], 0) + int(found[i])
        return counts

    def top(self, count, sort="relevance"):
        """[(document number in the searcher, score)] of the ``count`` first hits: by score
        (ties: lower document number first, as whoosh), or newest first by date.

        Each segment gives its own ``count`` first (by the same order), chosen on its
        arrays; the page is then ordered from those alone."""
        if count < 1:
            return []
        scale = self._tier_scale() if sort != "date" and self.tiers is not None else None
        docs, keys, scores = [], [], []
        for n, (reader, offset, seg) in enumerate(self.leaves):
            mask, score = self.masks[n], self.scores[n]
            if sort == "date":
                key = seg.dates(reader, "date")
            elif scale is not None:
                key = self.tiers[n] * scale + score
            else:
                key = score
            ids = _first(mask, key, count)
            docs.append(ids + offset)
            keys.append(key[ids])
            scores.append(score[ids])
        docs, primary, scores = np.concatenate(docs), np.concatenate(keys), np.concatenate(scores)
        order = np.lexsort((docs, -primary))[:count]
        return [(int(docs[i]), float(scores[i])) for i in order]

    def _tier_scale(self):
        """What a tier is worth in the ranking key: more than any hit's score."""
        top = 0.0
        for mask, score in zip(self.masks, self.scores):
            found = score[mask]
            if len(found):
                top = max(top, float(found.max()), -float(found.min()))
        return top + 1.0


def _first(mask, key, count):
    """The document numbers of the ``count`` first hits of ``mask`` by ``key`` descending,
    then document number ascending (all of them, if fewer)."""
    hits = int(np.count_nonzero(mask))
    if hits <= count:
        return np.flatnonzero(mask)
    low = -np.inf if key.dtype.kind == "f" else np.iinfo(key.dtype).min
    masked = np.where(mask, key, low)
    candidates = _candidates(masked, mask, count, low)
    keys = masked[candidates]
    bound = np.partition(keys, len(keys) - count)[len(keys) - count]
    above = candidates[keys > bound]
    tied = candidates[keys == bound][:count - len(above)]
    return np.concatenate([above, tied])


def _candidates(masked, mask, count, low):
    """Document numbers (ascending) that hold the ``count`` first of ``masked``: those at or
    above the ``count``-th largest of an evenly spread sample, which at least ``count``
    documents reach (the sample's own), and some ``64 × count`` do on average, instead of
    a partition of every hit; every hit when the sample holds too few."""
    step = len(masked) // (64 * count)
    if step >= 2:
        sample = masked[::step]
        threshold = np.partition(sample, len(sample) - count)[len(sample) - count]
        if threshold != low:
            return np.flatnonzero(masked >= threshold)
    return np.flatnonzero(mask)


class Evaluator:
    """Evaluates a whoosh query over a searcher's segments as masks and scores."""

    def __init__(self, cache, searcher, scored=True, widened="either", memo=None):
        """``widened``: what a ``Widened`` word matches: ``either`` part (an Or, the bigrams'
        score added), its ``words`` alone, or ``both`` parts. ``memo``: a dict shared by the
        evaluators of one search, so that a term or phrase is read once for all of them."""
        self.cache, self.searcher, self.scored = cache, searcher, scored
        self.widened = widened
        self.memo = {} if memo is None else memo
        self.leaves = cache.leaves(searcher)
        weighting = searcher.weighting
        self.bm25 = isinstance(weighting, BM25F) and not weighting._field_B
        self.weighting = weighting

    def run(self, q) -> Matched:
        masks, scores = [], []
        subs = self.searcher.subsearchers if self.searcher.subsearchers else [(self.searcher, 0)]
        for (reader, offset, seg), (sub, _) in zip(self.leaves, subs):
            found = self._eval(q, reader, seg, sub)
            masks.append(_mask(found) & seg.live(reader))
            score = found.scores if isinstance(found, _Posted) else found[1]
            if isinstance(found, _Posted) and score is not None:
                score = _add_into(None, found, seg.size)
            scores.append(score if score is not None else np.zeros(seg.size))
        return Matched(self.searcher, self.leaves, masks, scores)

    def _eval(self, q, reader, seg, sub):
        """``q``'s hits in one segment: a ``_Posted`` (a term's postings) or (mask, score or
        None) over the segment's documents. Masks and scores a query part returns may be kept
        in the memo and shared: they are never changed in place, only what a part makes."""
        n = seg.size
        if isinstance(q, (wq.Term, wq.Phrase)):
            key = (id(seg), q)
            found = self.memo.get(key)
            if found is not None and (_scored(found) or not self.scored):
                return found
            out = self._term(q, reader, seg) if isinstance(q, wq.Term) else self._phrase(q, reader, seg, sub)
            if self.scored or found is None:
                self.memo[key] = out
            return out
        if isinstance(q, Widened):
            return self._widened(q, reader, seg, sub)
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return _Posted(_EMPTY_IDS, None, n)
        if isinstance(q, wq.And) and q.subqueries:
            mask, score = None, None
            for sub_q in q.subqueries:
                part = self._eval(sub_q, reader, seg, sub)
                if isinstance(part, _Posted) and not len(part.ids):
                    return part                 # a part found nowhere: the rest need not be read
                if mask is None:
                    mask = _own_mask(part)
                else:
                    mask &= _mask(part)
                score = _add_into(score, part, n)
            if score is not None:
                score *= mask                   # a document matching only some parts scores 0
            return _Fresh((mask, _boost_own(score, q.boost)))
        if isinstance(q, wq.Or) and q.subqueries and not q.scale and not q.minmatch:
            mask, score = np.zeros(n, dtype=bool), None
            for sub_q in q.subqueries:
                part = self._eval(sub_q, reader, seg, sub)
                if isinstance(part, _Posted):
                    mask[part.ids] = True
                else:
                    mask |= part[0]
                score = _add_into(score, part, n)
            return _Fresh((mask, _boost_own(score, q.boost)))
        if isinstance(q, wq.AndNot):
            a = self._eval(q.a, reader, seg, sub)
            mask = _own_mask(a)
            mask &= ~_mask(self._matched(q.b, reader, seg, sub))
            score = _add_into(None, a, n)
            if score is not None:
                score *= mask
            return _Fresh((mask, score))
        if isinstance(q, wq.Not):
            return _Fresh((~_mask(self._matched(q.query, reader, seg, sub)),
                           np.full(n, 1.0) if self.scored else None))
        return self._whoosh(q, seg, sub)

    def _matched(self, q, reader, seg, sub):
        """``q``'s hits without scores: what a NOT takes of its part (its scores are never
        used, and a word in most documents costs half as much unscored)."""
        scored, self.scored = self.scored, False
        try:
            return self._eval(q, reader, seg, sub)
        finally:
            self.scored = scored

    def _widened(self, q, reader, seg, sub):
        words, grams = q.parts()
        if grams is None:
            return _boosted(self._eval(words, reader, seg, sub), q.boost)
        found_words = self._eval(words, reader, seg, sub)
        if self.widened == "words":
            return _boosted(found_words, q.boost)
        found_grams = self._eval(grams, reader, seg, sub)
        mask = _own_mask(found_words)
        if self.widened == "both":
            mask &= _mask(found_grams)
        else:
            mask |= _mask(found_grams)
        score = _add_into(_add_into(None, found_words, seg.size), found_grams, seg.size)
        if self.widened == "both":
            if self.scored and score is not None:
                score *= mask
            else:
                score = None
        return _Fresh((mask, _boost_own(score, q.boost)))

    def _term(self, q, reader, seg):
        n = seg.size
        field = self.searcher.schema[q.fieldname] if q.fieldname in self.searcher.schema else None
        none = _Posted(_EMPTY_IDS, None, n)
        if field is None:
            return none
        try:
            btext = field.to_bytes(q.text)
        except ValueError:
            return none
        ids, weights = postings(reader, q.fieldname, btext)     # none if not in the segment
        if not len(ids):
            return none
        if not self.scored:
            return _Posted(ids, None, n)
        if not self.bm25:
            return self._whoosh(q, seg, None)
        score = self._scores(q.fieldname, field, btext, ids, weights, reader, seg)
        return _Posted(ids, _boost_own(score, q.boost) if score is not weights else _boost(score, q.boost), n)

    def _scores(self, fieldname, field, btext, ids, weights, reader, seg):
        """whoosh's BM25F score of each posting (or its weight, if the field is not scorable)."""
        if not field.scorable:
            return weights                                     # whoosh's WeightScorer
        top = self.searcher
        idf = top.idf(fieldname, btext)
        avgfl = top.avg_field_length(fieldname) or 1
        B, K1 = self.weighting.B, self.weighting.K1
        # idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))), whoosh's bm25(),
        # the same operations in the same order, in place on the postings' arrays
        denominator = seg.norms(reader, fieldname, avgfl, B, K1).take(ids)
        denominator += weights
        score = weights * (K1 + 1)
        score /= denominator
        score *= idf
        return score

    def _phrase(self, q, reader, seg, sub):
        """Words in a row (whoosh's slop 1): for each word, (document, position − its place
        in the phrase) pairs as one integer; the phrase is where all words share one.
        Scored as whoosh does: the sum of the words' term scores."""
        from .analysis import WordPositions
        field = self.searcher.schema[q.fieldname] if q.fieldname in self.searcher.schema else None
        if (field is None or not isinstance(field.format, WordPositions) or q.slop != 1
                or len(q.words) < 2 or not self.bm25 and self.scored):
            return self._whoosh(q, seg, sub)
        n = seg.size
        mask = np.zeros(n, dtype=bool)
        try:
            words = [field.to_bytes(w) for w in q.words]
        except ValueError:
            return mask, None
        if any((q.fieldname, w) not in reader for w in words):
            return mask, None
        read = {}
        for w in set(words):
            read[w] = positions(reader, q.fieldname, w)
            if read[w] is None:
                return self._whoosh(q, seg, sub)
        candidates = np.ones(n, dtype=bool)
        for w in read:
            present = np.zeros(n, dtype=bool)
            present[read[w][0]] = True
            candidates &= present
        keys = None
        order = sorted(range(len(words)), key=lambda j: len(read[words[j]][3]))
        for j in order:
            ids, _, counts, places = read[words[j]]
            docs = np.repeat(ids, counts)
            useful = candidates[docs] & (places >= j)
            if keys is not None:
                useful &= candidates[docs]
            word_keys = (docs[useful] << 32) | (places[useful] - j)
            if keys is None:
                keys = word_keys                       # sorted: documents, then positions
            else:
                at = np.searchsorted(word_keys, keys)
                at[at == len(word_keys)] = 0
                keys = keys[word_keys[at] == keys] if len(word_keys) else keys[:0]
            if not len(keys):
                return mask, None
            candidates = np.zeros(n, dtype=bool)
            candidates[keys >> 32] = True
        mask = candidates
        if not self.scored:
            return mask, None
        score = np.zeros(n)
        for w in words:
            ids, weights, _, _ = read[w]
            score[ids] += self._scores(q.fieldname, field, w, ids, weights, reader, seg)
        return mask, _boost(score * mask, q.boost)

    def _whoosh(self, q, seg, sub):
        """Anything else (phrases, wildcards, ranges …) matched and scored by whoosh itself."""
        n = seg.size
        sub = sub if sub is not None else self._sub_for(seg)
        out = np.zeros(n, dtype=bool)
        score = np.zeros(n) if self.scored else None
        context = sub.context(weighting=self.weighting) if self.scored else sub.boolean_context()
        try:
            matcher = q.matcher(sub, context)
        except TermNotFound:
            return out, score
        ids, values = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            if self.scored:
                values.append(matcher.score())
            matcher.next()
        if ids:
            ids = np.asarray(ids, dtype=np.int64)
            out[ids] = True
            if self.scored:
                score[ids] = values
        return out, score

    def _sub_for(self, seg):
        subs = self.searcher.subsearchers if self.searcher.subsearchers else [(self.searcher, 0)]
        for (_, _, s), (sub, _) in zip(self.leaves, subs):
            if s is seg:
                return sub
        raise LookupError("segment not in this searcher")


class _Posted:
    """A term's hits in one segment as its postings: document numbers (ascending) and their
    scores (None when not scored). Made dense only where a query combines it, so a term
    costs its postings, not the segment's size: at 10^6 documents a segment-sized array is
    8 MB, and a word spread over eight fields made some thirty of them."""

    __slots__ = ("ids", "scores", "size", "_mask")

    def __init__(self, ids, scores, size):
        self.ids, self.scores, self.size, self._mask = ids, scores, size, None

    def mask(self):
        """The postings as a mask over the segment, made once (the ranking's evaluators ask
        again for the same terms): shared, not to be changed."""
        if self._mask is None:
            mask = np.zeros(self.size, dtype=bool)
            mask[self.ids] = True
            self._mask = mask
        return self._mask


class _Fresh(tuple):
    """(mask, score) that a query part made for its parent alone (an And, Or, Not or widened
    word), which the parent may change in place; a term's or phrase's, which the memo
    shares, is a plain tuple."""

    __slots__ = ()


def _scored(found) -> bool:
    return (found.scores if isinstance(found, _Posted) else found[1]) is not None


def _mask(found):
    """The hits as a mask over the segment (shared: not to be changed)."""
    return found.mask() if isinstance(found, _Posted) else found[0]


def _own_mask(found):
    """The hits as a mask of the caller's own, free to be changed in place."""
    if isinstance(found, _Posted):
        return found.mask().copy()
    return found[0] if isinstance(found, _Fresh) else found[0].copy()


def _add_into(total, found, size):
    """``total`` (a score array of the caller's own, or None) with ``found``'s scores added,
    in place: the same sums, in the same order, as adding the parts' arrays one by one."""
    if isinstance(found, _Posted):
        if found.scores is None:
            return total
        if total is None:
            total = np.zeros(size)
            total[found.ids] = found.scores       # 0 + s is s: a scatter, not a gather-add-scatter
        elif len(found.ids) * 8 > size:
            # a term in most documents: one pass of bincount (a term's document numbers are
            # distinct, so each sum is 0 + s) and one dense add, where fancy indexing gathers,
            # adds and scatters
            total += np.bincount(found.ids, weights=found.scores, minlength=size)
        else:
            total[found.ids] += found.scores
        return total
    score = found[1]
    if score is None:
        return total
    if total is None:
        return score if isinstance(found, _Fresh) else score.copy()
    total += score
    return total


def _boosted(found, boost):
    if isinstance(found, _Posted):
        return _Posted(found.ids, _boost(found.scores, boost), found.size)
    return found[0], _boost(found[1], boost)


def _boost_own(score, boost):
    """``_boost`` of a score array of the caller's own, in place."""
    if score is None or boost == 1.0:
        return score
    score *= boost
    return score


def _boost(score, boost):
    if score is None or boost == 1.0:
        return score
    return score * boost
