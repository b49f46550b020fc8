"""Hits, scores, facet counts and date order as numpy arrays over whoosh's own postings.

whoosh answers a query by visiting every matching document in Python, once to score it
and once per facet to count it: a word found in most documents cost about 370 ms at
20,000 documents, and that grows with the index. Here the same answer is computed a
segment at a time with arrays:

* a term's postings are read a block at a time (whoosh keeps 128 document numbers and
  their weights per block), not a posting at a time;
* a query is evaluated as boolean masks over the segment's documents (AND, OR, NOT) with
  a score array beside them, BM25F exactly as whoosh computes it (same idf, average field
  length, quantized field lengths and boosts), so the same hits come out in the same order;
  parts that are not plain terms (phrases, wildcards, ranges) are matched and scored by
  whoosh's own matchers and then combined the same way;
* facet counts are ``np.bincount`` over an array of facet-value numbers per document,
  built once per segment and kept: a segment never changes once written (deletions are a
  separate set, applied through the live mask), so the arrays are only made again for new
  segments; likewise the date column for sorting by date and the field lengths.

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
import threading
import zlib

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import ListMatcher
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from .codec import length_bytes

_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


def postings(reader, fieldname, btext):
    """(document numbers, weights) of a term in one segment, deleted documents included."""
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
        raw = postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
        if matcher._compression:
            raw = zlib.decompress(raw)
        block_ids, block_weights, block_values = pickle.loads(raw)
        if isinstance(block_ids, bytes) and not byteids:
            block = np.frombuffer(block_ids, dtype="<u4").astype(np.int64)
            ids.append(block)
            if values is not None and isinstance(block_values, tuple) and len(block_values) == 3:
                sizes, joined, level = block_values
                values.append((np.frombuffer(sizes, dtype="<u4"),
                               zlib.decompress(joined) if level else joined))
                block_values = None
        else:
            block = np.asarray(block_ids, dtype=np.int64)
            ids.append(block if byteids else np.cumsum(block))
        if block_weights is None:
            weights.append(np.ones(len(block)))
        elif isinstance(block_weights, float):
            weights.append(np.full(len(block), block_weights))
        elif isinstance(block_weights, bytes):
            weights.append(np.frombuffer(block_weights, dtype="<f4").astype(np.float64))
        else:
            weights.append(np.asarray(block_weights, dtype=np.float64))
        if values is not None and block_values is not None:
            values.append((np.fromiter(map(len, block_values), dtype=np.int64, count=len(block_values)),
                           b"".join(block_values)))
        matcher._next_block()
    if not ids:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    return np.concatenate(ids), np.concatenate(weights)


def positions(reader, fieldname, btext):
    """(document numbers, weights, position counts, positions) of a term in one segment
    whose field is written with ``WordPositions``; None if its postings are not in blocks."""
    matcher = reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format)
    values = []
    if isinstance(matcher, W3LeafMatcher):
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
    """What is kept of one segment: its size, facet-value numbers, dates and field lengths."""

    def __init__(self, reader):
        self.size = reader.doc_count_all()
        self._facets = {}
        self._lengths = {}
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

    def lengths(self, reader, fieldname):
        """The field's length per document, quantized as whoosh stores and scores it."""
        out = self._lengths.get(fieldname)
        if out is None:
            out = self._lengths[fieldname] = _field_lengths(reader, fieldname, self.size)
        return out

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

    def rank(self, *better):
        """Hits in ``better[0]`` (a Matched of the same searcher) first, then those in
        ``better[1]``, …, each tier by score (``top``, by relevance)."""
        self.tiers = []
        for n, _ in enumerate(self.masks):
            tier = np.zeros(len(self.masks[n]), dtype=np.int8)
            for level, other in enumerate(reversed(better), 1):
                tier[other.masks[n]] = level
            self.tiers.append(tier)

    def total(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks))

    def restrict(self, other):
        """Only the hits also in ``other`` (a filter: scores unchanged)."""
        self.masks = [a & b for a, b in zip(self.masks, other.masks)]

    def facet_counts(self, name):
        """{value: hits} for one facet field, values with no hits left out."""
        counts = {}
        for (reader, _, seg), mask in zip(self.leaves, self.masks):
            ords, values = seg.facet(reader, name)
            found = np.bincount(ords[mask], minlength=len(values))
            for i in np.flatnonzero(found):
                counts[values[i]] = counts.get(values[i], 0) + int(found[i])
        return counts

    def top(self, count, sort="relevance"):
        """[(document number in the searcher, score)] of the ``count`` first hits: by score
        (ties: lower document number first, as whoosh), or newest first by date."""
        docs, keys, scores = [], [], []
        for (reader, offset, seg), mask, score in zip(self.leaves, self.masks, self.scores):
            ids = np.flatnonzero(mask)
            docs.append(ids + offset)
            scores.append(score[ids])
            if sort == "date":
                keys.append(seg.dates(reader, "date")[ids])
        if not docs:
            return []
        docs, scores = np.concatenate(docs), np.concatenate(scores)
        if not len(docs):
            return []
        primary = np.concatenate(keys) if sort == "date" else scores
        if sort != "date" and self.tiers is not None:
            tiers = np.concatenate([t[np.flatnonzero(m)] for t, m in zip(self.tiers, self.masks)])
            primary = tiers * (float(np.abs(scores).max()) + 1.0) + scores
        if len(docs) > count:
            # A bound on the count-th best key; ties at the bound are all kept, then ordered.
            bound = np.partition(primary, len(docs) - count)[len(docs) - count]
            keep = primary >= bound
            docs, scores, primary = docs[keep], scores[keep], primary[keep]
        order = np.lexsort((docs, -primary))[:count]
        return [(int(docs[i]), float(scores[i])) for i in order]


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
            mask, score = self._eval(q, reader, seg, sub)
            mask = mask & seg.live(reader)
            masks.append(mask)
            scores.append(score if score is not None else np.zeros(seg.size))
        return Matched(self.searcher, self.leaves, masks, scores)

    def _eval(self, q, reader, seg, sub):
        """(mask, score or None) of ``q`` in one segment."""
        n = seg.size
        if isinstance(q, (wq.Term, wq.Phrase)):
            key = (id(seg), q)
            found = self.memo.get(key)
            if found is not None and (found[1] is not None or not self.scored):
                return found
            out = self._term(q, reader, seg) if isinstance(q, wq.Term) else self._phrase(q, reader, seg, sub)
            if self.scored or found is None:
                self.memo[key] = out
            return out
        if isinstance(q, Widened):
            return self._widened(q, reader, seg, sub)
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return np.zeros(n, dtype=bool), None
        if isinstance(q, wq.And) and q.subqueries:
            mask, score = None, None
            for sub_q in q.subqueries:
                m, s = self._eval(sub_q, reader, seg, sub)
                mask = m if mask is None else mask & m
                score = _add(score, s)
            if score is not None:
                score = score * mask            # a document matching only some parts scores 0
            return mask, _boost(score, q.boost)
        if isinstance(q, wq.Or) and q.subqueries and not q.scale and not q.minmatch:
            mask, score = None, None
            for sub_q in q.subqueries:
                m, s = self._eval(sub_q, reader, seg, sub)
                mask = m if mask is None else mask | m
                score = _add(score, s)
            return mask, _boost(score, q.boost)
        if isinstance(q, wq.AndNot):
            a, sa = self._eval(q.a, reader, seg, sub)
            b, _ = self._eval(q.b, reader, seg, sub)
            mask = a & ~b
            return mask, (sa * mask if sa is not None else None)
        if isinstance(q, wq.Not):
            m, _ = self._eval(q.query, reader, seg, sub)
            return ~m, (np.full(n, 1.0) if self.scored else None)
        return self._whoosh(q, seg, sub)

    def _widened(self, q, reader, seg, sub):
        words, grams = q.parts()
        if grams is None:
            return _boosted(self._eval(words, reader, seg, sub), q.boost)
        mw, sw = self._eval(words, reader, seg, sub)
        if self.widened == "words":
            return mw, _boost(sw, q.boost)
        mg, sg = self._eval(grams, reader, seg, sub)
        if self.widened == "both":
            mask = mw & mg
            return mask, _boost(_add(sw, sg) * mask if self.scored else None, q.boost)
        return mw | mg, _boost(_add(sw, sg), q.boost)

    def _term(self, q, reader, seg):
        n = seg.size
        field = self.searcher.schema[q.fieldname] if q.fieldname in self.searcher.schema else None
        mask = np.zeros(n, dtype=bool)
        if field is None:
            return mask, None
        try:
            btext = field.to_bytes(q.text)
        except ValueError:
            return mask, None
        if (q.fieldname, btext) not in reader:
            return mask, None
        ids, weights = postings(reader, q.fieldname, btext)
        mask[ids] = True
        if not self.scored:
            return mask, None
        if not self.bm25:
            return self._whoosh(q, seg, None)
        score = np.zeros(n)
        score[ids] = self._scores(q.fieldname, field, btext, ids, weights, reader, seg)
        return mask, _boost(score, q.boost)

    def _scores(self, fieldname, field, btext, ids, weights, reader, seg):
        """whoosh's BM25F score of each posting (or its weight, if the field is not scorable)."""
        if not field.scorable:
            return weights                                     # whoosh's WeightScorer
        top = self.searcher
        idf = top.idf(fieldname, btext)
        avgfl = top.avg_field_length(fieldname) or 1
        lengths = seg.lengths(reader, fieldname)[ids]
        B, K1 = self.weighting.B, self.weighting.K1
        return idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / avgfl)))

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


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _boosted(found, boost):
    return found[0], _boost(found[1], boost)


def _boost(score, boost):
    if score is None or boost == 1.0:
        return score
    return score * boost
