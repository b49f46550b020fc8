"""How Chinese text becomes search terms.

Chinese has no spaces, so words come from a segmenter. ``rjieba`` (jieba's dictionary and
algorithm in Rust) gives the same words as ``jieba`` about 25 times faster (measured on the
seed policy texts: 9.3 M against 0.4 M characters/s in search mode), which is what lets
indexing keep up with filing. Search mode also emits the short words inside long ones
(城镇居民 → 城镇, 居民, 城镇居民), so a query for a part of a compound still finds it.
"""
from __future__ import annotations

import re
import struct
import unicodedata

import rjieba
from pypinyin import Style, lazy_pinyin
from whoosh.analysis import LowercaseFilter, SpaceSeparatedTokenizer, Token, Tokenizer
from whoosh.formats import Existence, Positions


_WORD = re.compile(r"[^\W_]")     # a letter, digit or ideograph
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")   # not \t \n \f (pages) \r

# Text longer than this is segmented a piece at a time (cut at a line break or a space
# where there is one), so a document's text of any length holds at most one piece's words
# in memory: 1.1 M characters at once took 230 MB; the words and positions are the same.
PIECE = 65_536


def clean(text: str, limit: int | None = None) -> str:
    """Text safe to index and to show: lone surrogates (which cannot be encoded, so neither
    rjieba nor whoosh's term encoding take them) as U+FFFD, control characters other than
    tab, line and page breaks as spaces, and at most ``limit`` characters. Each character
    stays one character, so offsets into the text are kept."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub(" ", text)


def normalise(text: str) -> str:
    """Text in Unicode NFKC, as index and queries both take it: full-width digits and
    letters as Chinese input methods type them (２０２０年度, ＣＺ) are the ASCII ones, the
    ideographic space a space. Text already in that form (nearly all) is returned as is."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def _is_word(text: str) -> bool:
    """Punctuation and whitespace are not terms; letters, digits and ideographs are.
    (``isalnum`` first: the same answer for a word all letters, digits or ideographs,
    nearly every one, without a regular-expression search.)"""
    return text.isalnum() or _WORD.search(text) is not None


class ChineseTokenizer(Tokenizer):
    """Words from rjieba's search mode, lower-cased, positioned so that phrases match across
    both sides.

    The index gets every word, long and short (城镇居民, 城镇, 居民); positions count only
    the finest words, and a longer word sits at the position of its first part. A query
    (``mode="query"``) gets only the finest words, all required, so 人均收入 finds
    人均月收入 and a "phrase" matches the same words in a row whatever the compounds.
    Words are lower-cased here rather than by a filter after it: one generator fewer per
    word, which is a tenth of the indexing time.
    """

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            yield from _whole(token, value.lower(), positions, chars, start_pos, start_char)
            return
        for word, start, end, pos in self._words(value, mode == "query"):
            token.text, token.boost, token.stopped = word, 1.0, False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token

    def word_positions(self, value):
        """(word, position) as indexed: what ``WordPositions`` reads without Token objects.

        A text longer than ``PIECE`` is segmented a piece at a time, each piece's positions
        following on from the words before it."""
        offset = 0
        for piece in _pieces(value, PIECE):
            words, finest = _segment(piece, False)
            for word, _, _, pos in words:
                yield word, offset + pos
            offset += finest

    def positions_by_word(self, value) -> dict:
        """{word: [position, …]} as indexed, in order of first appearance: what a posting
        of ``WordPositions`` holds, made in one pass per piece with no tuple per word
        (indexing spends most of its time here: a document has some 900 words)."""
        poses, offset = {}, 0
        for piece in _pieces(value, PIECE):
            offset = _index_positions(piece, poses, offset)
        return poses

    @staticmethod
    def _words(value, finest_only):
        """(lower-cased word, start, end, position) for each word of ``value``."""
        return _segment(value, finest_only)[0]


def _segment(value, finest_only):
    """(lower-cased word, start, end, position) for each word, and how many finest words."""
    words = [w for w in rjieba.tokenize(_encodable(value), "search") if _is_word(w[0])]
    fine = _finest(words)
    place = {}
    for n, (_, start, _) in enumerate(w for w, f in zip(words, fine) if f):
        place.setdefault(start, n)
    out = []
    for (word, start, end), is_fine in zip(words, fine):
        if finest_only and not is_fine:
            continue
        pos = place[start] if start in place else _position(place, start)
        out.append((word.lower(), start, end, pos))
    return out, sum(fine)


def _index_positions(value, poses, offset):
    """``_segment(value, False)``'s words and positions (plus ``offset``) added to
    ``poses`` ({word: [position, …]}); returns ``offset`` plus its count of finest words.
    One pass decides each word's fineness as ``_finest`` does (only a word of three or
    more characters can hold one listed before it) and numbers the finest words."""
    search = _WORD.search
    words = [w for w in rjieba.tokenize(_encodable(value), "search") if w[0].isalnum() or search(w[0])]
    place, n = {}, 0
    for i, (_, start, end) in enumerate(words):
        if end - start >= 3:
            j, inside = i - 1, False
            while j >= 0 and words[j][1] >= start:
                if words[j][2] <= end:
                    inside = True
                    break
                j -= 1
            if inside:
                continue                     # holds a word listed before it: not finest
        if start not in place:
            place[start] = n
        n += 1
    get = poses.get
    for word, start, _ in words:
        pos = place.get(start)
        if pos is None:
            pos = _position(place, start)
        word = word.lower()
        found = get(word)
        if found is None:
            poses[word] = [offset + pos]
        else:
            found.append(offset + pos)
    return offset + n


def _pieces(text, size):
    """``text`` in pieces of at most about ``size`` characters, cut after a line break (or
    else a space) where one is near the end of a piece, so that no word is cut."""
    at, end = 0, len(text)
    while end - at > size:
        cut = text.rfind("\n", at + size // 2, at + size)
        if cut < 0:
            cut = text.rfind(" ", at + size // 2, at + size)
        cut = at + size if cut < 0 else cut + 1
        yield text[at:cut]
        at = cut
    yield text[at:]


def _whole(token, value, positions, chars, start_pos, start_char):
    token.original = token.text = value
    token.boost, token.stopped = 1.0, False
    if positions:
        token.pos = start_pos
    if chars:
        token.startchar, token.endchar = start_char, start_char + len(value)
    yield token


def _finest(words):
    """For each word, whether no other word lies inside it.

    Search mode lists the parts of a compound (2- and 3-character words) just before the
    compound, so only words of three or more characters can contain another, and only
    the few words just before them need looking at; one pass, no copies.
    """
    out = [True] * len(words)
    for i, (_, start, end) in enumerate(words):
        if end - start < 3:
            continue
        j = i - 1
        while j >= 0 and words[j][1] >= start:
            if words[j][2] <= end:
                out[i] = False
                break
            j -= 1
    return out


def _position(place, start):
    """The position of the finest word starting at ``start`` (or the next one after it)."""
    while start not in place and start >= 0:
        start -= 1
    return place.get(start, 0)


def chinese_analyzer():
    """Chinese (and mixed Latin/digit) text into lower-cased words."""
    return ChineseTokenizer()


_ONE_POSITION = struct.Struct("<II").pack


class WordPositions(Positions):
    """Postings with positions (phrases work as with whoosh's ``Positions``), in a form that
    is quick to write and to read in bulk.

    Written from the analyzer's ``word_positions`` when it has one: whoosh's own path makes
    a Token per word and goes through three generators, a third of the time spent indexing
    a document. A posting's value is the position count and the positions as little-endian
    32-bit integers (``<u4``), not a pickled list of deltas, so that ``fast`` decodes a whole
    posting list's positions with numpy (phrases); whoosh's own matchers read it through
    the ``decode_*`` methods below.
    """

    def word_values(self, value, analyzer, **kwargs):
        fast = getattr(analyzer, "positions_by_word", None)
        if fast is None or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost, encode = self.field_boost, self.encode
        for word, poslist in fast(value).items():
            yield word, len(poslist), len(poslist) * boost, encode(poslist)

    def encode(self, poslist):
        if len(poslist) == 1:          # most words of a document: a ready-made Struct
            return _ONE_POSITION(1, poslist[0])
        return struct.pack(f"<{len(poslist) + 1}I", len(poslist), *poslist)

    def decode_frequency(self, valuestring):
        return struct.unpack_from("<I", valuestring)[0]

    def decode_weight(self, valuestring):
        return self.decode_frequency(valuestring) * self.field_boost

    def decode_positions(self, valuestring):
        count = struct.unpack_from("<I", valuestring)[0]
        return list(struct.unpack_from(f"<{count}I", valuestring, 4))

    def decode_position_boosts(self, valuestring):
        return [(pos, 1) for pos in self.decode_positions(valuestring)]

    def combine(self, vs):
        s = set()
        for v in vs:
            s.update(self.decode_positions(v))
        return self.encode(sorted(s))


# Runs of ideographs (CJK Unified Ideographs, extension A, compatibility, extensions B–F).
_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")


def cjk_bigrams(text: str) -> list:
    """Every two consecutive ideographs of ``text`` (家庭成员 → 家庭, 庭成, 成员), in order:
    what the ``grams`` field holds, so that any part of a Chinese text two characters long
    or more is found, across the words segmentation cut it into (入证 in 收入证明)."""
    out = []
    for run in _CJK_RUN.findall(text):
        out += [run[i:i + 2] for i in range(len(run) - 1)]
    return out


def is_cjk(text: str) -> bool:
    """Whether ``text`` is ideographs only (what a query widens to the n-gram field)."""
    return _CJK_RUN.fullmatch(text) is not None


class BigramTokenizer(Tokenizer):
    """Text into its CJK character bigrams (``cjk_bigrams``), at index and query time."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, gram in enumerate(cjk_bigrams(value) if tokenize else [value]):
            token.text = token.original = gram
            token.boost, token.stopped = 1.0, False
            if positions:
                token.pos = start_pos + pos
            yield token


class Bigrams(Existence):
    """The n-gram field's postings: which bigrams a document has, no counts or positions.

    A bigram's place is not needed (a query's bigrams all present is the substring, near
    enough, and ranked below word matches), and its count barely helps the ranking; without
    them the field costs a set of strings a document to make and one posting a bigram."""

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        for gram in self.terms(value):
            yield gram, 1, boost, b""

    def terms(self, value: str) -> set:
        """The distinct bigrams of ``value`` (what the bulk writer keeps, ``add_bare``)."""
        out = set()
        for run in _CJK_RUN.findall(value):
            out.update([run[i:i + 2] for i in range(len(run) - 1)])
        return out


def name_pinyin(name: str) -> list:
    """How a Chinese name is typed in pinyin, as office software finds people: the whole
    name (吴云 → wuyun), its initials (wy) and the surname alone (wu); [] for a name
    without ideographs. Readings are pypinyin's (its phrase dictionary reads 曾凡 as ceng)."""
    if not _CJK_RUN.search(name):
        return []
    full = [p for p in lazy_pinyin(name, errors="ignore") if p.isascii() and p.isalpha()]
    if not full:
        return []
    return list(dict.fromkeys(["".join(full).lower(), "".join(p[0] for p in full).lower(),
                               full[0].lower()]))


def exact_analyzer():
    """Whole values separated by spaces (ID numbers, phone and archive numbers), any case."""
    return SpaceSeparatedTokenizer() | LowercaseFilter()
