"""whoosh's W3 codec with posting blocks that numpy reads whole, and a faster field-length
lookup while a segment is written.

A W3 posting block is a pickled (ids, weights, values) tuple, zlib-compressed. whoosh
pickles the ids and weights as tuples of Python numbers and the values as a tuple of
byte strings, so reading a block creates some 400 objects (80 µs of the 130 µs a block
costs). Here the same three parts are byte strings: the document numbers as ``<u4``, the
weights as ``<f4`` (whoosh keeps them as float32 too) and the values as their lengths
(``<u4``) plus one joined string; ``fast`` turns them into arrays without a Python loop,
and the matcher below gives whoosh's own code (phrases it matches itself, merging) the
same ids, weights and values as before. Blocks in whoosh's own layout still read.

Writing a segment's postings also asks, for every posting, the length of its field in
its document (for the block statistics); whoosh reads it each time from the length
column through a file object, about 5 µs. ``PerDocReader`` loads a field's lengths once.
"""
from __future__ import annotations

import sys
from array import array

from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, W3Codec, W3LeafMatcher, W3PerDocReader,
                                  W3PostingsWriter, _lenfield)
from whoosh.matching import ListMatcher
from whoosh.util.numeric import byte_to_length

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


class Codec(W3Codec):
    def per_document_reader(self, storage, segment):
        return PerDocReader(storage, segment)

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


class PostingsWriter(W3PostingsWriter):
    """Blocks of byte strings: ids ``<u4``, weights ``<f4``, values as lengths + one string."""

    def _mini_ids(self):
        return _to_bytes(self._ids)

    def _mini_weights(self):
        return _to_bytes(self._weights)

    def _mini_values(self):
        fixedsize = self._format.fixed_value_size()
        if fixedsize is None or fixedsize < 0:
            values = self._values
            return _to_bytes(array("I", map(len, values))), b"".join(values)
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
            sizes, joined = values
            out, at = [], 0
            for size in _from_bytes("I", sizes):
                out.append(joined[at:at + size])
                at += size
            self._values = tuple(out)
        else:
            super()._read_values()


class PerDocReader(W3PerDocReader):
    def doc_field_length(self, docnum, fieldname, default=0):
        lengths = self.__dict__.setdefault("_length_lists", {})
        found = lengths.get(fieldname)
        if found is None:
            column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is None:
                return default
            try:
                raw = column._dbfile.get(column._basepos, self._doccount)
            except AttributeError:
                return super().doc_field_length(docnum, fieldname, default)
            found = lengths[fieldname] = [_LENGTHS[b] for b in raw]
        if docnum > self._doccount:
            raise IndexError("Asked for docnum %r of %d" % (docnum, self._doccount))
        return found[docnum]
