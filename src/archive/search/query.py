"""What users type into the search box, answered from the index.

The syntax is whoosh's, which clerks know from web search engines: words (all must
match), "phrases", AND / OR / NOT, parentheses and ``field:value``, with Chinese field
names (类型:申请表, 辖区:曲靖) and vocabulary titles accepted where the index stores
codes. A query that cannot be answered is refused with a message a clerk understands.

What is typed is taken in NFKC (２０２０年度 is 2020年度). A Chinese word of two characters
or more is also looked for as its character bigrams (入证 inside 收入证明, where the
segmenter cut 收入 | 证明), ranked below word matches (``fast.Matched.rank``); names are
also found by pinyin (wuyun, wy), archive numbers by their leading parts (CZ-HH-2019)
and by ranges (档号:[CZ-HH-2019 TO CZ-HH-2020]).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from html import escape

from whoosh import qparser
from whoosh.qparser import syntax
from whoosh.query import And, AndNot, Not, NullQuery, Phrase, Prefix, Term, TermRange, Wildcard

from . import fast
from .analysis import clean, is_cjk, normalise
from .fields import FACETS

MAX_QUERY = 200
MAX_PER_PAGE = 100
SEARCHED = ("title", "body", "names", "people", "idno", "phone", "number", "pinyin")
# A bigram match's score against a word match's (it ranks below them anyway: ``fast``).
GRAM_BOOST = 0.2
ALIASES = {  # field: what clerks call it
    "title": ["题名", "标题"], "body": ["全文", "内容"], "names": ["姓名", "name"],
    "idno": ["身份证", "身份证号", "身份证号码"], "phone": ["电话", "手机"], "pinyin": ["拼音"],
    "number": ["档号", "文号"], "kind": ["种类"], "jurisdiction": ["辖区", "城市"],
    "district": ["区", "所在区", "居住区"], "state": ["状态", "环节"],
    "doc_type": ["类型", "文件类型"], "category": ["类别", "保障类别"], "form": ["保障方式"],
    "year": ["年度", "年份"],
}
VOCABULARY_OF = {"jurisdiction": "jurisdictions", "doc_type": "document_types",
                 "category": "categories"}
SORTS = ("relevance", "date")
EXACT = ("idno", "phone", "number", "pinyin")    # whole values, lower-cased


class QueryError(ValueError):
    """A query or search parameter that cannot be answered; the message says why."""


@dataclass
class SearchRequest:
    text: str
    filters: dict = field(default_factory=dict)    # facet name: value (a code)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    # the entries the user may see (a whoosh query: archive.access.local.Scope.search_filter),
    # None for all: hits, the total and the facet counts are all taken within it
    within: object = None


@dataclass
class Hit:
    key: str
    kind: str
    dossier_kind: str
    archive_no: str
    doc_id: str | None
    title: str
    snippet: str           # HTML: escaped text with <mark> around the matched words
    page: int | None       # the PDF page of the first match in a document's text
    date: object
    facets: dict
    score: float


@dataclass
class Results:
    request: SearchRequest
    total: int
    hits: list
    facets: dict           # facet name: [(value, count)], largest first
    pages: int
    runtime_ms: float = 0.0


class Searcher:
    """Parses and runs queries against one SearchIndex, with the vocabularies for titles."""

    def __init__(self, index, vocabularies=None):
        self.index = index
        self.vocabularies = vocabularies or {}
        self.parser = self._parser()

    def _parser(self):
        parser = qparser.MultifieldParser(list(SEARCHED), self.index.ix.schema,
                                          fieldboosts={"title": 2.0, "names": 2.0})
        parser.add_plugin(qparser.FieldAliasPlugin(ALIASES))
        parser.remove_plugin_class(qparser.WildcardPlugin)
        parser.add_plugin(qparser.WildcardPlugin())
        parser.add_plugin(_Widen())
        return parser

    def parse(self, text: str):
        """The whoosh query for what the user typed; QueryError when there is nothing to find."""
        text = _normalise(text)
        if not text:
            raise QueryError("请输入要检索的词")
        if len(text) > MAX_QUERY:
            raise QueryError(f"检索词过长（最多 {MAX_QUERY} 个字符）")
        if not any(ch.isalnum() for ch in text):
            raise QueryError("检索式中没有可检索的词（只有标点或符号）")
        self._check_fields(text)
        try:
            query = self.parser.parse(text)
        except Exception as exc:  # whoosh is lenient; anything it still rejects is the input's fault
            raise QueryError(f"无法理解检索式：{exc}") from None
        query = query.accept(self._codes)
        if query is NullQuery or not (list(query.iter_all_terms()) or _ranges(query)):
            raise QueryError("检索式中没有可检索的词")
        return query

    def _check_fields(self, text):
        known = set(self.index.ix.schema.names()) | {a for names in ALIASES.values() for a in names}
        for name in re.findall(r"(?:^|[\s(（])([\w\u4e00-\u9fff]+)[:：]", text):
            if name not in known:
                usable = "、".join(names[0] for names in ALIASES.values())
                raise QueryError(f"未知的检索字段“{name}”，可用：{usable}")

    def _codes(self, node):
        """field:title becomes field:code for vocabulary fields (类型:申请表 → application_form);
        a phrase on a field without positions (name n-grams) becomes a plain term."""
        if isinstance(node, Phrase) and not self.index.ix.schema[node.fieldname].format.supports("positions"):
            return Term(node.fieldname, "".join(node.words), boost=node.boost)
        if isinstance(node, TermRange) and node.fieldname == "number":
            # whole archive numbers (the number field also holds their leading parts, which
            # would bring whole batches into a range between two numbers)
            return TermRange("archive_no", (node.start or "").upper() or None,
                             (node.end or "").upper() or None, node.startexcl, node.endexcl,
                             boost=node.boost)
        if isinstance(node, TermRange) and node.fieldname in EXACT:
            return TermRange(node.fieldname, (node.start or "").lower() or None,
                             (node.end or "").lower() or None, node.startexcl, node.endexcl,
                             boost=node.boost)
        if isinstance(node, (Prefix, Wildcard)) and node.fieldname in EXACT:
            return type(node)(node.fieldname, node.text.lower(), boost=node.boost)
        if isinstance(node, Term) and node.fieldname in VOCABULARY_OF:
            vocab = self.vocabularies.get(VOCABULARY_OF[node.fieldname])
            if vocab is not None and node.text not in vocab:
                code = _code_for(vocab, node.text)
                if code is not None:
                    return Term(node.fieldname, code, boost=node.boost)
        return node

    def search(self, request: SearchRequest) -> Results:
        """One page of hits, with counts per facet value over all hits.

        The hits, their scores, the total and the facet counts are computed as arrays
        (``fast``): the same answer as whoosh's ``search_page(groupedby=…)``, without a
        Python call per hit and facet; only the page's hits are read from the index.
        """
        check_request(request)
        query = self.parse(request.text)
        started = time.perf_counter()
        searcher = self.index.searcher()
        memo = {}
        evaluator = fast.Evaluator(self.index.arrays, searcher, scored=request.sort == "relevance", memo=memo)
        matched = evaluator.run(query)
        if request.sort == "relevance" and fast.widens(query):
            matched.rank(*(fast.Evaluator(self.index.arrays, searcher, scored=False, widened=how,
                                          memo=memo).run(query) for how in ("both", "words")))
        filters = [Term(name, str(value)) for name, value in sorted(request.filters.items())
                   if value not in (None, "")]
        if filters:
            matched.restrict(fast.Evaluator(self.index.arrays, searcher, scored=False).run(And(filters)))
        if request.within is not None:
            matched.restrict(fast.Evaluator(self.index.arrays, searcher, scored=False).run(request.within))
        total = matched.total()
        counts = {name: sorted(matched.facet_counts(name).items(), key=lambda kv: (-kv[1], kv[0]))
                  for name in FACETS}
        first = (request.page - 1) * request.per_page
        page = matched.top(first + request.per_page, request.sort)[first:] if total else []
        words = list(_shown_words(query))
        hits = [self._hit(_Stored(searcher.stored_fields(docnum), score), words)
                for docnum, score in page]
        return Results(request, total, hits, {k: [(v, n) for v, n in c if v] for k, c in counts.items()},
                       pages=max(1, -(-total // request.per_page)),
                       runtime_ms=round((time.perf_counter() - started) * 1000, 1))

    def _hit(self, hit, words) -> Hit:
        stored = hit.fields()
        snippet = snippet_of(stored.get("body", ""), words)
        return Hit(key=stored["key"], kind=stored["kind"], dossier_kind=stored["dossier_kind"],
                   archive_no=stored["archive_no"], doc_id=stored.get("doc_id"),
                   title=stored.get("title", ""), snippet=snippet,
                   page=_page_of(stored, words), date=stored.get("date"),
                   facets={name: stored.get(name, "") for name in FACETS}, score=hit.score or 0.0)


class _WidenNode(syntax.GroupNode):
    qclass = fast.Widened


class _Widen(qparser.Plugin):
    """A Chinese word typed without a field (two characters or more) becomes its words in
    every searched field, or else its bigrams in ``grams``: run after field names are
    applied (100) and before the word is spread over the searched fields (110)."""

    def filters(self, parser):
        return [(self.widen, 105)]

    def widen(self, parser, group):
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                group[i] = self.widen(parser, node)
            elif (isinstance(node, syntax.WordNode) and node.fieldname is None
                  and len(node.text) >= 2 and is_cjk(node.text)):
                grams = syntax.WordNode(node.text)
                grams.set_fieldname("grams")
                grams.set_boost(GRAM_BOOST)
                grams.startchar, grams.endchar = node.startchar, node.endchar
                group[i] = _WidenNode([node, grams], text=node.text)
        return group


class _Stored:
    """What ``Searcher._hit`` reads of a hit: its stored fields and its score."""

    def __init__(self, stored, score):
        self.stored, self.score = stored, score

    def fields(self):
        return self.stored


def _ranges(query) -> bool:
    """Whether ``query`` has a range or a wildcard (terms found in the index, not typed)."""
    found = (TermRange, Prefix, Wildcard)
    return isinstance(query, found) or any(isinstance(leaf, found) for leaf in query.leaves())


def _code_for(vocab, text):
    """The code whose title is ``text`` or, failing that, the only one it begins (曲靖 → 曲靖市)."""
    titles = {code: (vocab.title(code, "zh"), vocab.title(code, "en").lower()) for code in vocab.codes()}
    exact = [code for code, names in titles.items() if text in names]
    if exact:
        return exact[0]
    begun = [code for code, names in titles.items() if any(n.startswith(text) for n in names)]
    return begun[0] if len(begun) == 1 else None


def check_request(request: SearchRequest):
    """Paging, sorting and facet filters a clerk (or a script) can get wrong."""
    if request.sort not in SORTS:
        raise QueryError(f"排序方式只能是 {'、'.join(SORTS)}")
    if not isinstance(request.page, int) or request.page < 1 or request.page > 10_000:
        raise QueryError("页码必须是 1 到 10000 之间的整数")
    if not isinstance(request.per_page, int) or not 1 <= request.per_page <= MAX_PER_PAGE:
        raise QueryError(f"每页条数必须是 1 到 {MAX_PER_PAGE} 之间的整数")
    unknown = set(request.filters) - set(FACETS)
    if unknown:
        raise QueryError(f"不能按“{'、'.join(sorted(unknown))}”筛选，可用：{'、'.join(FACETS)}")


def _normalise(text) -> str:
    """Full-width quotes, colons and spaces as their ASCII forms, as ``clean`` makes text;
    outer spaces dropped."""
    if not isinstance(text, str):
        return ""
    table = str.maketrans({"“": '"', "”": '"', "：": ":", "\u3000": " ", "（": "(", "）": ")"})
    return normalise(clean(text).translate(table)).strip()   # no lone surrogates, NUL or controls


def _page_of(stored, words):
    """The PDF page holding the first matched word (pages are separated by form feeds)."""
    if stored.get("kind") != "document" or not words:
        return None
    body = stored.get("body", "").lower()
    found = [i for i in (body.find(w.lower()) for w in words) if i >= 0]
    if not found:
        return None
    return body[:min(found)].count("\f") + 1


def snippet_of(text: str, words, width=50, windows=2) -> str:
    """HTML: up to two passages around the first places the words occur, words in <mark>.

    Plain substring search on the stored (masked) text: the words are already the index's
    own, and this costs microseconds where re-analysing the text costs milliseconds a hit.
    """
    lowered = text.lower()
    words = sorted({w.lower() for w in words if w}, key=len, reverse=True)
    found = [i for w in words for i in [lowered.find(w)] if i >= 0]
    starts = found[:1] + sorted(set(found[1:]) - set(found[:1]))   # the longest word's place first
    if not starts:
        return escape(" ".join(text[:2 * width].split()))
    spans = []
    for start in starts:
        if spans and start - width <= spans[-1][1]:
            continue
        spans.append((max(0, start - width), min(len(text), start + 2 * width)))
        if len(spans) == windows:
            break
    parts = []
    for begin, end in spans:
        passage = _marked(text[begin:end], lowered[begin:end], words)
        parts.append(("…" if begin else "") + passage + ("…" if end < len(text) else ""))
    return " ".join(parts)


def _marked(text, lowered, words):
    """Escape a passage and put <mark> around every occurrence of the words (longest first)."""
    out, i = [], 0
    if words:
        for found in re.finditer("|".join(map(re.escape, words)), lowered):
            start, end = found.span()
            out.append(escape(text[i:start]))
            out.append(f"<mark>{escape(text[start:end])}</mark>")
            i = end
    out.append(escape(text[i:]))
    return " ".join("".join(out).replace("</mark><mark>", "").split())


def _shown_words(query):
    """The words to mark in a snippet: searched in the text, not negated; a phrase whole."""
    if isinstance(query, (Not,)):
        return
    if isinstance(query, AndNot):
        yield from _shown_words(query.a)
        return
    if isinstance(query, fast.Widened):
        words, grams = query.parts()
        if grams is not None and query.text:     # the word typed, found as a substring
            yield query.text
        yield from _shown_words(words)
        return
    if isinstance(query, Phrase):
        if query.fieldname == "body":
            yield "".join(query.words)
        return
    if isinstance(query, Term):
        if query.fieldname == "body":
            yield query.text.decode() if isinstance(query.text, bytes) else query.text
        return
    for child in query.children():
        yield from _shown_words(child)
