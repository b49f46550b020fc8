"""The writer of ``archive reindex``: whoosh's segment writer with postings gathered per term.

whoosh's writer keeps every posting as a Python tuple (some 170 bytes) in one list, sorts
the list (millions of tuple comparisons) and then writes the postings one call at a time,
each asking its document's field length. At 1,500 characters a document, with the CJK
bigram field, that is some 2,000 postings a document and 9 ms of the 13 ms it cost.

Here (``TermPool``) a posting is a (document, weight, value) tuple in its term's list,
documents arrive in order so each term's postings are already sorted, only the terms
are sorted at the end, and each term's postings are written a block of 512 at a time
(``FieldWriter.add_terms``). Memory is
bounded as with whoosh's pool: past ``limitmb`` (counted in the same bytes they take)
the terms are written, sorted, to a run on disk (a chunk of terms at a time), and the
runs are merged term by term at the end (for one term, the earlier run holds the earlier
documents). A merge holds one chunk of each run it reads, so however many runs a big
reindex spills, no merge reads more than ``FANIN`` of them: each ``FANIN`` runs of one
level are merged, as they are spilled, into one run of the next level (``_compact``).

``BulkWriter`` is whoosh's multiprocess writer whose processes use this writer, each
making its own segment (``multisegment``); ``writer`` opens either.
"""
from __future__ import annotations

import heapq
import marshal
import os
import struct

from whoosh.fields import FieldType
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.writing import SegmentWriter

from .analysis import _ONE_POSITION as _ONE, Bigrams, WordPositions
from .codec import Codec, FieldWriter


class TermPool:
    """Postings per (field, term); spilled to sorted runs past ``limitmb`` (counted as
    the bytes Python takes for them, unlike whoosh's pool, which counts about half)."""

    def __init__(self, tempstore, limitmb=128):
        self.tempstore = tempstore
        self.limit = limitmb * 1024 * 1024
        self.size = 0
        self.fields = {}            # fieldname: {btext: (ids, weights, values)}
        self.fieldnames = set()     # what whoosh's writers read of a pool
        self.bare, self.whole = set(), set()   # fields given bare postings, tuples
        self.runs = []              # run file names, oldest first
        self.levels = []            # each run's level: 0 spilled, n + 1 merged from FANIN of n
        self.made = 0               # run files made (each a new name)

    def add(self, item):
        """One posting, as whoosh's pool takes it (merging, fields added one by one)."""
        fieldname, btext, docnum, weight, vbytes = item
        self.add_field(fieldname, docnum, [(btext, 1, weight, vbytes)], 1.0)

    def add_field(self, fieldname, docnum, items, boost):
        """A document's postings in one field: ``items`` as ``field.index`` makes them,
        (term, frequency, weight, value), the term as bytes or, for a field whose terms
        are their UTF-8, as text (encoded once, when written); returns the field's length
        (the frequencies)."""
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
            self.fieldnames.add(fieldname)
        self.whole.add(fieldname)
        get, size, length = terms.get, 0, 0
        for btext, freq, weight, vbytes in items:
            found = get(btext)
            if found is None:
                found = terms[btext] = []
                size += 200 + len(btext)       # the key, its list, the dict's slot
            found.append((docnum, weight * boost, vbytes))
            length += freq
            # the tuple (64), its int (28) and float (24), the list's slot (8); the value
            size += 157 + len(vbytes) if vbytes else 124
        self.size += size
        if self.size > self.limit:
            self.save()
        return length

    def add_positions(self, fieldname, docnum, poses, weight, encode):
        """A document's words in a field of ``WordPositions``: ``poses`` as the analyzer's
        ``positions_by_word`` makes them ({word: [position, …]}), each posting (docnum,
        count × ``weight``, ``encode(positions)``), what ``add_field`` keeps of the same
        words through ``word_values``, without its generator and tuples; returns the
        field's length (the count of words)."""
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
            self.fieldnames.add(fieldname)
        self.whole.add(fieldname)
        known, get = len(terms), terms.get
        for word, poslist in poses.items():
            count = len(poslist)
            # ``encode`` is ``WordPositions.encode``, whose one-position case is inlined
            posting = (docnum, count * weight, _ONE(1, poslist[0]) if count == 1 else encode(poslist))
            found = get(word)
            if found is None:
                terms[word] = [posting]
            else:
                found.append(posting)
        length = sum(map(len, poses.values()))
        # a posting's tuple, int, float and slot (124 bytes) and value (33 + 4 a number);
        # a new term also its key (some three characters), list and slot
        self.size += 161 * len(poses) + 4 * length + 203 * (len(terms) - known)
        if self.size > self.limit:
            self.save()
        return length

    def add_bare(self, fieldname, docnum, terms):
        """A document's terms in a field whose postings carry nothing but the document
        (weight 1, no value: the bigrams, ``Bigrams``): each kept as its document number
        alone, 36 bytes where a (document, weight, value) tuple takes 124, and no tuple
        made. The bigram field is two thirds of a document's postings."""
        found = self.fields.get(fieldname)
        if found is None:
            found = self.fields[fieldname] = {}
            self.fieldnames.add(fieldname)
        self.bare.add(fieldname)
        known = len(found)
        for term in terms:
            postings = found.get(term)
            if postings is None:
                found[term] = [docnum]
            else:
                postings.append(docnum)
        # 36 bytes a posting; a new term also its key (a bigram: two characters), list, slot
        self.size += 36 * len(terms) + 202 * (len(found) - known)
        if self.size > self.limit:
            self.save()

    def _sorted(self):
        """(fieldname, btext, ids, weights, values) of what is in memory, sorted."""
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for term in sorted(terms):
                # A term kept as text (``FastSegmentWriter``): UTF-8 sorts as the text does.
                yield fieldname, term.encode("utf-8") if isinstance(term, str) else term, terms[term]

    def save(self):
        """What is in memory written, sorted by field and term, to a run on disk (in chunks,
        ``_write_run``); then the runs compacted (``_compact``)."""
        if not self.fields:
            return
        self._add_run(self._write_run(self._sorted()), 0)
        self.fields, self.size = {}, 0
        self._compact()

    def _write_run(self, items) -> str:
        """A new run file of ``items`` (fieldname, btext, postings), sorted: chunks of terms,
        each one ``marshal`` string, bounded in terms and postings; returns its name."""
        name = f"terms{self.made}_{os.getpid()}.run"
        self.made += 1
        with self.tempstore.create_file(name).raw_file() as fh:
            chunk, postings = [], 0
            for item in items:
                chunk.append(item)
                postings += len(item[2])
                if len(chunk) >= CHUNK_TERMS or postings >= CHUNK_POSTINGS:
                    _write_chunk(fh, chunk)
                    chunk, postings = [], 0
            if chunk:
                _write_chunk(fh, chunk)
        return name

    def _add_run(self, name, level):
        self.runs.append(name)
        self.levels.append(level)

    def _compact(self):
        """The last ``FANIN`` runs merged into one of the next level while they share a
        level, as a counter carries: the runs stay in document order (a merged run takes
        the place of the contiguous runs it holds), there are at most ``FANIN - 1`` of each
        level, and each posting is merged again once a level, a level per ``FANIN`` times
        more runs. Without it the final merge held a chunk of every run: 160 runs of 4 MB
        a writer at 10^6 documents."""
        while len(self.runs) >= FANIN and len(set(self.levels[-FANIN:])) == 1:
            group, level = self.runs[-FANIN:], self.levels[-1]
            merged = self._write_run(self._merged([self._read_run(n, name) for n, name in enumerate(group)]))
            del self.runs[-FANIN:], self.levels[-FANIN:]
            self._add_run(merged, level + 1)

    def _read_run(self, order, name):
        with self.tempstore.open_file(name).raw_file() as fh:
            while True:
                head = fh.read(_CHUNK_HEAD.size)
                if not head:
                    break
                (size,) = _CHUNK_HEAD.unpack(head)
                for fieldname, btext, postings in marshal.loads(fh.read(size)):
                    yield fieldname, btext, order, postings
        self.tempstore.delete_file(name)

    @staticmethod
    def _merged(streams):
        """(fieldname, btext, postings) of sorted streams of (fieldname, btext, order,
        postings), one per term, its postings joined in the streams' order."""
        current = None
        for fieldname, btext, _, postings in heapq.merge(*streams):
            if current is not None and current[0] == fieldname and current[1] == btext:
                current[2].extend(postings)
                continue
            if current is not None:
                yield current
            current = (fieldname, btext, list(postings))
        if current is not None:
            yield current

    def iter_terms(self):
        """(fieldname, btext, postings) for every term, sorted, the postings in document
        order (runs merged): a list of document numbers (bare) or of (docnum, weight,
        value), never the two in one list."""
        mixed = self.bare & self.whole
        for fieldname, btext, postings in self._iter_terms():
            if fieldname in mixed:
                postings = [_posting(p) for p in postings]
            yield fieldname, btext, postings

    def _iter_terms(self):
        if not self.runs:
            yield from self._sorted()
            return
        memory = ((f, t, len(self.runs), p) for f, t, p in self._sorted())
        streams = [self._read_run(n, name) for n, name in enumerate(self.runs)] + [memory]
        yield from self._merged(streams)
        self.runs, self.levels = [], []

    def cleanup(self):
        for name in self.runs:
            try:
                self.tempstore.delete_file(name)
            except OSError:
                pass
        self.runs, self.levels = [], []


class FastSegmentWriter(SegmentWriter):
    """whoosh's SegmentWriter with a ``TermPool`` and postings written a term at a time.
    For new segments only: it merges no other segment into its own."""

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", Codec())
        super().__init__(ix, **kwargs)
        self.pool = TermPool(self._tempstorage, kwargs.get("limitmb", 128))

    def add_document(self, **fields):
        """whoosh's ``add_document`` (stored values, lengths, columns) with a document's
        postings handed to the pool a field at a time. No term vectors or spelling fields:
        the index's schema has none."""
        self._check_state()
        perdoc, schema, docnum = self.perdocwriter, self.schema, self.docnum
        docboost = self._doc_boost(fields)
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                boost = self._field_boost(fields, name, docboost)
                if field.indexed and isinstance(field.format, Bigrams) and isinstance(value, str) \
                        and boost * field.format.field_boost == 1.0 and _as_text(field):
                    grams = field.format.terms(value)
                    self.pool.add_bare(name, docnum, grams)
                    length = len(grams) if field.scorable else 0
                elif field.indexed and isinstance(field.format, WordPositions) and isinstance(value, str) \
                        and boost == 1.0 and _as_text(field) and hasattr(field.analyzer, "positions_by_word"):
                    fmt = field.format
                    length = self.pool.add_positions(name, docnum, field.analyzer.positions_by_word(value),
                                                     fmt.field_boost, fmt.encode)
                    if not field.scorable:
                        length = 0
                elif field.indexed:
                    if _as_text(field) and isinstance(value, str):
                        items = field.format.word_values(value, field.analyzer, mode="index")
                    else:
                        items = field.index(value)
                    length = self.pool.add_field(name, docnum, items, boost)
                    if not field.scorable:
                        length = 0
                stored = fields.get(f"_stored_{name}", value)
                perdoc.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdoc.add_column_value(name, field.column_type, field.to_column_value(stored))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None
        writer = self.fieldwriter
        if isinstance(writer, FieldWriter):
            writer.add_terms(self.schema, lengths, self.pool.iter_terms())
        else:
            writer.add_postings(self.schema, lengths, (
                (f, t, *_posting(p)) for f, t, postings in self.pool.iter_terms() for p in postings))
        writer.close()
        if lengths:
            lengths.close()

    def _merge_segments(self, mergetype, optimize, merge):
        """Nothing merged in: the old segments are kept or, with ``CLEAR``, dropped."""
        from whoosh.writing import CLEAR
        if mergetype is CLEAR:
            return []
        return list(self.segments)


# A run is written and read a chunk of terms at a time, each chunk one ``marshal`` string
# after its length: ``marshal.load`` from a file makes a call on the file for every few
# bytes it decodes, and reading the runs back that way was two thirds of a 10^5-document
# commit (3.0 s against 0.5 s for 200,000 terms). A chunk is bounded in terms and in
# postings, so a merge holds at most one chunk of each run it reads: 4,096 postings are
# about half a megabyte as Python objects (32,768 were 4.3 MB, 440 MB over the 102 runs of
# 10,000 documents in 16 MB pools; 4,096 made that commit's peak 265 MiB instead of 685,
# and it was no slower). At most ``FANIN`` runs are read at once (``TermPool._compact``).
CHUNK_TERMS, CHUNK_POSTINGS = 1024, 4096
FANIN = 32
_CHUNK_HEAD = struct.Struct("<Q")


def _write_chunk(fh, chunk):
    data = marshal.dumps(chunk)
    fh.write(_CHUNK_HEAD.pack(len(data)))
    fh.write(data)


def _posting(p):
    """(docnum, weight, value) of a posting, kept as a tuple or bare (``add_bare``)."""
    return (p, 1.0, b"") if type(p) is int else p


def _as_text(field) -> bool:
    """Whether the field's terms are their text in UTF-8 (whoosh's own ``index`` and
    ``to_bytes``): its postings can be kept under the text, saving a generator and an
    encoding a posting."""
    kind = type(field)
    return kind.index is FieldType.index and kind.to_bytes is FieldType.to_bytes


class _Task(SubWriterTask):
    """whoosh's sub-writer process, writing with ``FastSegmentWriter``."""

    def run(self):
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = FastSegmentWriter(ix, _lk=False, **self.kwargs)
        while self.running:
            job = self.jobqueue.get()
            if job is None:
                break
            self._process_file(*job)
        if not self.running:
            writer.cancel()
            return
        fieldnames = writer.pool.fieldnames
        segment = writer._finalize_segment()
        self.resultqueue.put((None, fieldnames, segment), timeout=5)


class BulkWriter(MpWriter):
    """whoosh's multiprocess writer, each process making its own segment with
    ``FastSegmentWriter``."""

    def __init__(self, ix, procs, **kwargs):
        super().__init__(ix, procs=procs, multisegment=True, **kwargs)

    def _new_task(self):
        task = _Task(self.storage, self.indexname, self.jobqueue, self.resultqueue,
                     self.subargs, True)
        self.tasks.append(task)
        task.start()
        return task


def writer(ix, procs=2, limitmb=128):
    """A writer for a new index's entries: ``procs`` processes, or this one alone."""
    kwargs = dict(limitmb=limitmb, compound=False, codec=Codec())
    if procs > 1:
        return BulkWriter(ix, procs, **kwargs)
    return FastSegmentWriter(ix, **kwargs)
