"""whoosh's W3 codec with posting blocks that numpy reads whole, and a faster field-length
lookup while a segment is written.

A W3 posting block is a pickled (ids, weights, values) tuple, zlib-compressed. whoosh
pickles the ids and weights as tuples of Python numbers and the values as a tuple of
byte strings, so reading a block creates some 400 objects, after decompressing all of
it. Here the same three parts are byte strings: the document numbers as ``<u4``, the
weights as ``<f4`` (whoosh keeps them as float32 too) and the values as their lengths
(``<u4``) plus one joined string, zlib-compressed on its own (only phrases need it);
``fast`` turns them into arrays without a Python loop,
and the matcher below gives whoosh's own code (phrases it matches itself, merging) the
same ids, weights and values as before. Blocks in whoosh's own layout still read.

Writing a segment's postings also asks, for every posting, the length of its field in
its document (for the block statistics); whoosh reads it each time from the length
column through a file object, about 5 µs. ``PerDocReader`` loads a field's lengths once.
"""
from __future__ import annotations

import pickle
import sys
import zlib
from array import array

from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec, W3FieldWriter,
                                  W3LeafMatcher, W3PerDocReader, W3PostingsWriter, W3TermInfo, _lenfield)
from whoosh.matching import ListMatcher
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

_LENGTHS = [None] + [byte_to_length(b) for b in range(1, 256)]
_SWAP = sys.byteorder != "little"


def _to_bytes(values: array) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_bytes(typecode: str, raw: bytes) -> array:
    out = array(typecode)
    out.frombytes(raw)
    if _SWAP:
        out.byteswap()
    return out


# Blocks of 4,096 postings (whoosh: 128), uncompressed but for the values (positions),
# which only phrases read: a word's document numbers and weights are then read without
# zlib, 50 ns a posting instead of 500 (measured on 3,000 documents; the index is about a
# third larger than with whoosh's zlib level 3 on whole blocks). A block costs some 3 µs
# to find and join however many postings it holds, and a word in every document of 10^6
# had 2,000 blocks of 512 in each field; with 4,096, the search page's CPU time at 3×10^5
# documents fell by a fifth (p50 17.6 → 13.1 ms, p95 52.7 → 43.7) and the index kept its
# size. ``Codec`` takes the size when it is made (``BLOCK`` then), and the blocks say how
# many postings they hold: an index written with another size reads as before.
BLOCK = 4096


def _ones(count) -> array:
    """``count`` weights of 1.0 (a bare posting's), a new array."""
    return _all_ones(count)[0][:count]


def _ones_bytes(count) -> bytes:
    """``_ones`` as the codec stores weights."""
    return _all_ones(count)[1][:4 * count]


def _all_ones(count):
    """(array, its bytes) of weights 1.0, made once for the largest block asked."""
    global _ONES, _ONES_BYTES
    if len(_ONES) < count:
        _ONES = array("f", [1.0] * count)
        _ONES_BYTES = _to_bytes(_ONES)
    return _ONES, _ONES_BYTES


_ONES = array("f")
_ONES_BYTES = b""
_TERM_INFO = W3TermInfo._struct
VALUES_LEVEL = 1


class Codec(W3Codec):
    def __init__(self, blocklimit=None, compression=0, inlinelimit=1):
        super().__init__(blocklimit=blocklimit or BLOCK, compression=compression, inlinelimit=inlinelimit)

    def per_document_reader(self, storage, segment):
        return PerDocReader(storage, segment)

    def field_writer(self, storage, segment):
        return FieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        cls = W3PostingsWriter if byteids else PostingsWriter
        return cls(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                   compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term,
                               terminfo=terminfo)
        offset, length = terminfo.extent()
        return LeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class _Bucket:
    """One of the term table's 256 hash buckets as two arrays, where whoosh keeps a list
    of (hash, position) tuples: some 12 bytes a term instead of 130, which at 10^6
    documents (millions of distinct names, numbers and bigrams) is the difference
    between a writer whose memory grows with the index and one that stays bounded."""

    def __init__(self):
        self.hashes, self.positions = array("I"), array("q")

    def append(self, pair):
        self.hashes.append(pair[0])
        self.positions.append(pair[1])

    def __len__(self):
        return len(self.hashes)

    def __iter__(self):
        return zip(self.hashes, self.positions)


class FieldWriter(W3FieldWriter):
    """whoosh's field writer, also taking a term's postings at once (``bulk``), with a
    term table whose buckets are arrays (``_Bucket``); the files are whoosh's own."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self._tindex.buckets = [_Bucket() for _ in range(256)]

    def add_terms(self, schema, lengths, terms):
        """Write (fieldname, btext, [(docnum, weight, value), …]) terms, sorted by field and
        term, each term's postings in document order; ``lengths`` the segment's PerDocReader."""
        lastfield, field_lengths = None, None
        for fieldname, btext, postings in terms:
            if fieldname != lastfield:
                if lastfield is not None:
                    self.finish_field()
                fieldobj = schema[fieldname]
                self.start_field(fieldname, fieldobj)
                field_lengths = lengths._length_list(fieldname) if isinstance(lengths, PerDocReader) else None
                lastfield = fieldname
                bare = isinstance(self._postwriter, PostingsWriter) and \
                    fieldobj.format.fixed_value_size() == 0 and not self._postwriter._compression
            if bare and type(postings[0]) is int and len(postings) <= self._postwriter._blocklimit:
                self._add_bare_term(btext, postings, field_lengths)
                continue
            self.start_term(btext)
            self._postwriter.add_many(postings, field_lengths)
            self.finish_term()
        if lastfield is not None:
            self.finish_field()

    def _add_bare_term(self, btext, ids, lengths):
        """A term whose postings are bare document numbers (weight 1, no value: the
        bigrams) and fit one block: the bytes ``start_term``, ``add_many`` and
        ``finish_term`` write for it (the block, its term info), made at once.

        Most of an index's terms are bigrams with a few postings each, and whoosh's path
        costs some 20 µs a term in calls and objects (a term info, two block buffers, file
        positions asked four times); at 2,000 documents it was half the commit."""
        postfile = self._postfile
        start = postfile.tell()
        count = len(ids)
        minlength = maxlength = None
        if lengths is not None:
            found = _length_range(lengths, ids)
            if found:
                minlength, maxlength = found
        data = pickle.dumps((_to_bytes(array("I", ids)), _ones_bytes(count), None), 4)
        low, high = length_to_byte(minlength), length_to_byte(maxlength or 0)
        info = pickle.dumps((count, ids[-1], 1.0, 0, low, high), 2)
        postfile.write(WHOOSH3_HEADER_MAGIC + pack_int(-(len(info) + len(data))) + info + data)
        extent = len(WHOOSH3_HEADER_MAGIC) + 4 + len(info) + len(data)
        terminfo = _TERM_INFO.pack(False, float(count), count, low, high, 1.0, ids[0], ids[-1]) \
            + pack_long(start) + pack_int(extent)
        self._tindex.add(pack_ushort(self._fieldid) + btext, terminfo)


def _length_range(lengths, ids):
    """(shortest, longest) of the documents' non-zero field lengths, or None: a block's
    statistics (no Python loop: the commit asks it for every block of every term)."""
    found = list(filter(None, map(lengths.__getitem__, ids)))
    return (min(found), max(found)) if found else None


class PostingsWriter(W3PostingsWriter):
    """Blocks of byte strings: ids ``<u4``, weights ``<f4``, values as lengths + one string,
    pickled with protocol 4 (whoosh's protocol 2 has no opcode for bytes: it pickles them
    as a latin-1 text and a call to re-encode it, 40 µs a block to read back)."""

    def add_many(self, postings, lengths):
        """A term's (docnum, weight, value) postings a block at a time: what
        ``add_posting`` does one posting at a time, with each block's statistics taken
        from ``lengths`` (the field's length per document, or None)."""
        limit = self._blocklimit
        for at in range(0, len(postings), limit):
            if len(self._ids):
                self._write_block()
            part = postings[at:at + limit]
            if type(part[0]) is int:    # bare postings (``bulk.TermPool.add_bare``)
                block = self._ids = array("I", part)
                self._weights = _ones(len(block))
                self._values = []
                self._maxweight = 1.0
                if lengths is not None:
                    found = _length_range(lengths, block)
                    if found:
                        self._minlength, self._maxlength = found
                continue
            ids, weights, values = zip(*part)
            block = self._ids = array("I", ids)
            self._weights = array("f", weights)
            self._values = list(filter(None, values))
            self._maxweight = max(weights)
            if lengths is not None:
                found = _length_range(lengths, block)
                if found:
                    self._minlength, self._maxlength = found

    def _write_block(self, last=False):
        # whoosh's W3PostingsWriter._write_block, but for the pickle protocol
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        databytes = pickle.dumps((self._mini_ids(), self._mini_weights(), self._mini_values()), 4)
        comp = self._compression
        if comp:
            databytes = zlib.compress(databytes, comp)
        ids = self._ids
        infobytes = pickle.dumps((len(ids), ids[-1], self._maxweight, comp,
                                  length_to_byte(self._minlength), length_to_byte(self._maxlength)), 2)
        blocklength = len(infobytes) + len(databytes)
        if last:
            blocklength *= -1
        self._postfile.write_int(blocklength)
        self._postfile.write(infobytes)
        self._postfile.write(databytes)
        self._blockcount += 1
        self._new_block()

    def _mini_ids(self):
        return _to_bytes(self._ids)

    def _mini_weights(self):
        return _to_bytes(self._weights)

    def _mini_values(self):
        fixedsize = self._format.fixed_value_size()
        if fixedsize is None or fixedsize < 0:
            values = self._values
            joined = b"".join(values)
            level = VALUES_LEVEL if len(joined) > 64 else 0
            return (_to_bytes(array("I", map(len, values))),
                    zlib.compress(joined, level) if level else joined, level)
        return super()._mini_values()


class LeafMatcher(W3LeafMatcher):
    """Reads both block layouts: ``PostingsWriter``'s (ids as bytes) and whoosh's own."""

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        if isinstance(self._data[0], bytes) and not self._byteids:
            self._ids = _from_bytes("I", self._data[0])
        else:
            super()._read_ids()

    def _read_weights(self):
        if self._data is None:
            self._read_data()
        if isinstance(self._data[1], bytes):
            self._weights = _from_bytes("f", self._data[1])
        else:
            super()._read_weights()

    def _read_values(self):
        if self._data is None:
            self._read_data()
        values = self._data[2]
        fixedsize = self._fixedsize
        if isinstance(self._data[0], bytes) and (fixedsize is None or fixedsize < 0):
            sizes, joined, level = values
            if level:
                joined = zlib.decompress(joined)
            out, at = [], 0
            for size in _from_bytes("I", sizes):
                out.append(joined[at:at + size])
                at += size
            self._values = tuple(out)
        else:
            super()._read_values()


class PerDocReader(W3PerDocReader):
    """A field's lengths read once per segment, as a list of one entry per document.

    whoosh's length column holds a byte per document only up to the last document with a
    non-zero length in the field: a column writer skips trailing defaults, and its reader
    answers 0 for a document past the stored bytes. So a segment whose last documents have
    no such field (a unit after households: no names, ID or phone numbers) has a short
    column; the list is padded with that default, or merging the segment (which asks every
    document's length in every field) fails with an IndexError past the stored bytes.
    """

    def doc_field_length(self, docnum, fieldname, default=0):
        found = self._length_list(fieldname)
        if found is None:
            return default
        if 0 <= docnum < len(found):
            return found[docnum]
        if docnum > self._doccount or docnum < 0:
            raise IndexError("Asked for docnum %r of %d" % (docnum, self._doccount))
        return None                        # whoosh: the column's default, no length

    def _length_list(self, fieldname):
        lengths = self.__dict__.setdefault("_length_lists", {})
        found = lengths.get(fieldname)
        if found is None:
            column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is None:
                return None
            found = lengths[fieldname] = [_LENGTHS[b] for b in length_bytes(column, self._doccount)]
        return found


def length_bytes(column, doccount) -> bytes:
    """A length column's bytes, one per document, the missing tail as 0 (no length)."""
    try:
        stored = min(column._count, doccount)
        raw = column._dbfile.get(column._basepos, stored)
    except AttributeError:              # another column reader: whoosh's own lookups
        return bytes(column[d] for d in range(doccount))
    if len(raw) < doccount:
        raw = bytes(raw) + bytes(doccount - len(raw))
    return raw
