"""Benchmark of full-text search (issue part 7: 全文检索), whoosh against SQLite FTS5.

    python bench/search.py [--docs 100000] [--dir DIR] [--keep] [--reuse]
                           [--writer bulk|single|batched|procs2|best] [--trial 10000]
                           [--repeat 5] [--trigram] [--no-check] [--no-plain]
                           [--no-fts-grams] [--fts-one-pass] [--no-fts-queries]

1. corpus: ``--docs`` documents of about 1,500 Chinese characters (bench/corpus.py, seeded),
   ten per household, plus one household entry per ten documents, all made by the
   application's own ``fields.entries()`` (in two processes; not through filing, which is not
   what is measured), spooled to a file in the work directory and
   streamed from it, so no pass holds the corpus in memory (at 10^6 documents it is 14 GB);
2. indexing into the application's whoosh schema: documents/s including the final commit,
   CPU seconds, index size, and the peak memory of the indexing (the sum of the resident
   sizes of this process and every process it started, sampled every 0.2 s, and each
   process's own peak); by default with ``SearchIndex.bulk_writer`` (``archive reindex``),
   or with ``--writer best`` each writer option is first tried on ``--trial`` documents and the
   fastest builds the full index (a small trial favours commits in batches, whose merges
   grow with the index: 96/s at 10,000 documents, 68/s at 100,000);
3. queries: a fixed mix of about 60 queries (words, phrases, AND / OR / NOT, names, ID, phone
   and archive numbers, field:value, facet filters, sort by date), one warm-up pass, then
   ``--repeat`` timed passes through ``Searcher.search`` (what the search page runs: seven
   facet counts and snippets) and through a plain ``searcher.search(q, limit=20)``;
4. the same corpus and queries in SQLite FTS5 (rjieba words, ``unicode61``; ``--trigram``
   adds a ``trigram`` table on the raw text) with bm25 order, snippet(), a count and two
   facet GROUP BYs; built twice: with the words alone (the reference before the bigram
   field), and with a column of the same CJK bigrams the whoosh index holds (``grams``),
   the same indexing work as whoosh's;
5. one pass of whoosh's own ``search_page`` with seven ``groupedby`` facets (the search page
   before ``archive.search.fast``): its times are the before, and its totals, facet counts and
   hits are checked to equal the ones the search page now gives (``--no-check`` skips it).

Times are wall-clock on whatever else the machine is doing; the load average is printed
with the figures, and CPU seconds are given beside indexing wall times. ``--keep`` leaves
the indexes in ``--dir``; ``--reuse`` then times queries on them without indexing again (or
making the corpus, or timing FTS5's queries again). At 10^6 documents: ``--no-fts-grams``
skips the second FTS5 build, ``--fts-one-pass`` times FTS5's queries in one pass, and
``--reuse --no-fts-queries --no-plain`` re-times the search page alone.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import pickle
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import corpus as corpus_  # noqa: E402
from whoosh import index as whoosh_index  # noqa: E402

from archive.search.analysis import chinese_analyzer, cjk_bigrams  # noqa: E402
from archive.search.index import SearchIndex  # noqa: E402
from archive.search.query import Searcher, SearchRequest  # noqa: E402

WRITERS = {  # name: what it is; build_whoosh() opens each through SearchIndex as src/ does
    "single": "SearchIndex.writer() (one process), one commit at the end",
    "batched": "SearchIndex.writer(), a commit every 2,000 documents (as the indexer's batches)",
    "bulk": "SearchIndex.bulk_writer(procs=2): two processes, a segment each (archive reindex)",
    "procs2": "ix.writer(procs=2, limitmb=256, compound=False): two processes merged into one segment",
}
AIM_DOCS_PER_S, AIM_P95_MS = 150, 100


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def cpu_seconds():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def size_mb(path):
    if os.path.isfile(path):
        return os.path.getsize(path) / 2 ** 20
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2 ** 20


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def summary(ms):
    if not ms:
        return None
    return {"p50": statistics.median(ms), "p95": percentile(ms, 95), "max": max(ms)}


# -- the corpus, spooled ---------------------------------------------------------------------
class Spool:
    """The corpus's entries pickled one after another in a file: each pass streams them."""

    def __init__(self, path):
        self.path, self.entries, self.docs = path, 0, 0

    def write(self, corpus, documents, progress=None, procs=2):
        """Households made in ``procs`` processes (each its own ``Corpus`` of the same seed:
        household ``i`` depends only on the seed and ``i``), written in order. The corpus
        goes straight to the entries the indexer would make, not through filing: what is
        measured is indexing and search, and filing 10^5 documents takes hours."""
        households = -(-documents // corpus_.DOCS_PER_HOUSEHOLD)
        with open(self.path, "wb") as fh, \
                multiprocessing.get_context("fork").Pool(procs, _corpus_worker, (corpus.seed,)) as pool:
            made = pool.imap(_household_entries, range(households), chunksize=20)
            for i, batch in enumerate(made):
                keep = documents - i * corpus_.DOCS_PER_HOUSEHOLD
                for is_document, entry in batch[:1 + keep]:
                    fh.write(entry)
                    self.entries += 1
                    self.docs += is_document
                if progress is not None and (i + 1) % 2000 == 0:
                    progress(i + 1, households)
        return self

    def __len__(self):
        return self.entries

    def __iter__(self):
        with open(self.path, "rb") as fh:
            while True:
                try:
                    yield pickle.load(fh)
                except EOFError:
                    return

    def head(self, entries):
        """The first ``entries`` entries (a writer trial's sample)."""
        out = []
        for entry in self:
            if len(out) == entries:
                break
            out.append(entry)
        return out


_WORKER = {}


def _corpus_worker(seed):
    _WORKER["corpus"] = corpus_.Corpus(seed=seed)


def _household_entries(i):
    """Household ``i``'s entries, each already pickled (the parent only writes them)."""
    return [(e["kind"] == "document", pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL))
            for e in _WORKER["corpus"].dossier_entries(i)]


# -- memory -----------------------------------------------------------------------------------
def _rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid):
    """``pid`` and every process below it (from /proc/*/stat parent ids)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
                parents.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry))
            except (OSError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += parents.get(current, [])
    return out


class PeakMemory(threading.Thread):
    """The peak of the summed resident size of this process and all its children (and
    each one's own peak), sampled every ``interval`` seconds while running."""

    def __init__(self, interval=0.2):
        super().__init__(daemon=True)
        self.interval, self.peak, self.per_process = interval, 0, {}
        self.since_mark = None      # the peak of the sum since ``mark()`` (the commit's)
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            sizes = {pid: _rss_kib(pid) for pid in _descendants(os.getpid())}
            self.peak = max(self.peak, sum(sizes.values()))
            if self.since_mark is not None:
                self.since_mark = max(self.since_mark, sum(sizes.values()))
            for pid, size in sizes.items():
                self.per_process[pid] = max(self.per_process.get(pid, 0), size)
            self._stop_event.wait(self.interval)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self._stop_event.set()
        self.join()

    def mark(self):
        """Start the second peak (``since_mark``): the commit's, apart from the adding's."""
        self.since_mark = 0

    def figures(self):
        """(peak of the sum in MiB, [peak of each process in MiB, largest first])."""
        return self.peak / 1024, sorted((v / 1024 for v in self.per_process.values()), reverse=True)


# -- indexing -----------------------------------------------------------------------------
def build_whoosh(path, entries, writer, schema_=None, progress=True):
    """Index ``entries`` (a list or a ``Spool``) with the named writer option; returns
    figures (wall, CPU, size, peak memory of all processes)."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    if schema_ is not None:
        whoosh_index.create_in(path, schema_)
    index = SearchIndex(path)
    docs = 0
    base = _rss_kib(os.getpid()) / 1024
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    with PeakMemory() as memory:
        with _writer(index, writer) as add:
            for n, entry in enumerate(entries, 1):
                add(entry)
                docs += entry["kind"] == "document"
                if progress and n % 5000 == 0:
                    rate = n / (time.perf_counter() - t0)
                    peak, _ = memory.figures()
                    say(f"  whoosh/{writer}: {n:,} of {len(entries):,} entries added, {rate:.0f}/s, "
                        f"peak memory so far {peak:,.0f} MiB")
            t1 = time.perf_counter()
            memory.mark()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    peak, each = memory.figures()
    out = dict(writer=writer, entries=len(entries), docs=docs, wall=wall, commit=time.perf_counter() - t1,
               cpu=cpu, docs_per_s=docs / wall, mb=size_mb(path), peak_mb=peak, each_mb=each,
               base_mb=base, commit_peak_mb=(memory.since_mark or 0) / 1024,
               segments=len(whoosh_index.open_dir(path)._segments()))
    index.ix.close()
    return out


@contextlib.contextmanager
def _writer(index, name):
    """An ``add(entry)`` for the named writer option; commits on leaving."""
    if name == "bulk":
        with index.bulk_writer(procs=2) as w:
            yield lambda entry: w.add_document(**entry)
        return
    if name == "procs2":
        w = index.ix.writer(procs=2, limitmb=256, compound=False)
        yield lambda entry: w.add_document(**entry)
        w.commit()
        return
    state = {"w": index.writer(), "n": 0}
    per_commit = 2200 if name == "batched" else None        # 2,000 documents + 200 households

    def add(entry):
        state["w"].add_document(**entry)
        state["n"] += 1
        if per_commit and state["n"] % per_commit == 0:
            state["w"].commit()
            state["w"] = index.writer()
    yield add
    state["w"].commit()


def analyzer_rate(entries, limit=3000):
    """Documents/s of the index analyzer alone on document bodies (rjieba + ChineseTokenizer)."""
    analyzer = chinese_analyzer()
    bodies = []
    for e in entries:
        if e["kind"] == "document":
            bodies.append(e["body"])
            if len(bodies) == limit:
                break
    t0 = time.process_time()
    for body in bodies:
        for _ in analyzer(body, positions=True, chars=True):
            pass
    return len(bodies) / (time.process_time() - t0)


# -- the query mix ------------------------------------------------------------------------
class Query:
    """One query as a clerk types it (whoosh syntax) and as FTS5 MATCH plus SQL conditions."""

    def __init__(self, group, text, fts, where=None, filters=None, sort="relevance"):
        self.group, self.text, self.fts = group, text, fts
        self.where = dict(where or {})
        self.filters = dict(filters or {})
        self.sort = sort
        self.where.update(self.filters)

    def label(self):
        extra = "".join(f" [{k}={v}]" for k, v in self.filters.items())
        return f"{self.text}{extra}{' (date)' if self.sort == 'date' else ''}"


def query_words(text):
    """What FTS5 gets for a word: the same finest words the whoosh query analyzer makes."""
    return [t.text for t in chinese_analyzer()(text, mode="query")]


def fts_and(text):
    return " ".join(f'"{w}"' for w in query_words(text))


def fts_phrase(text):
    return '"' + " ".join(query_words(text)) + '"'


def fts_exact(value):
    """An ID, phone or archive number: unicode61 splits on '-', so a phrase of its parts."""
    return '"' + " ".join(value.lower().replace("-", " ").split()) + '"'


def query_mix(corpus, documents, seed=7):
    """About 60 queries made from the corpus, the same for a given corpus and size."""
    rng = random.Random(seed)
    freq = corpus.words.by_frequency()
    long_words = [w for w, n in freq if len(w) >= 2 and not w.isdigit()]
    common = long_words[:8]
    rare = sorted(w for w, n in freq if n == 1 and len(w) >= 2 and not any(c.isdigit() for c in w))
    rare = rng.sample(rare, 6)
    stream = corpus.words.stream
    households = [corpus.household(i) for i in
                  rng.sample(range(max(1, documents // corpus_.DOCS_PER_HOUSEHOLD)), 12)]
    qs = []
    for w in common[:6]:
        qs.append(Query("common word", w, fts_and(w)))
    for w in rare:
        qs.append(Query("rare word", w, fts_and(w)))
    pairs = [(common[0], common[3]), (common[1], common[6]), (common[2], rare[0]),
             (rare[1], rare[2]), (common[4], rare[3]), (long_words[20], long_words[40])]
    for a, b in pairs:
        qs.append(Query("two words (AND)", f"{a} {b}", f"{fts_and(a)} {fts_and(b)}"))
    for n in (2, 2, 3, 3, 2):
        while True:
            at = rng.randrange(len(stream) - n)
            words = stream[at:at + n]
            if all(len(w) >= 2 and not w.isdigit() for w in words):
                break
        phrase = "".join(words)
        qs.append(Query("phrase", f'"{phrase}"', fts_phrase(phrase)))
    for a, b in ((common[5], rare[4]), (rare[0], rare[5]), (long_words[30], long_words[60]),
                 (common[7], long_words[50])):
        qs.append(Query("OR", f"{a} OR {b}", f"{fts_and(a)} OR {fts_and(b)}"))
    for a, b in ((common[0], common[1]), (common[3], rare[2]), (rare[1], common[2]),
                 (long_words[25], long_words[35])):
        qs.append(Query("NOT", f"{a} NOT {b}", f"{fts_and(a)} NOT {fts_and(b)}"))
    people = [p for h in households for p in h["people"]]
    for p in people[:3]:
        qs.append(Query("name, one character", p["name"][0], f'"{p["name"][0]}"'))
    for p in people[3:6]:
        qs.append(Query("name, two characters", p["name"][:2], _fts_name(p["name"][:2])))
    for p in people[6:8]:
        qs.append(Query("name, whole", f"姓名:{p['name']}", f'names : "{p["name"]}"'))
    for h in households[:3]:
        qs.append(Query("ID number", h["people"][-1]["id_number"], fts_exact(h["people"][-1]["id_number"])))
    for h in households[3:6]:
        qs.append(Query("phone", h["phone"], fts_exact(h["phone"])))
    for h in households[6:9]:
        qs.append(Query("archive number", h["archive_no"], fts_exact(h["archive_no"])))
    qs.append(Query("field:value", "类型:申请表", None, where={"doc_type": "application_form"}))
    qs.append(Query("field:value", "辖区:曲靖", None, where={"jurisdiction": "qujing"}))
    qs.append(Query("field:value", f"辖区:曲靖 {common[1]}", fts_and(common[1]), where={"jurisdiction": "qujing"}))
    qs.append(Query("field:value", f"类型:收入证明 {rare[3]}", fts_and(rare[3]), where={"doc_type": "income_proof"}))
    qs.append(Query("field:value", "题名:审核意见", 'title : ' + fts_and("审核意见")))
    filters = ({"jurisdiction": "xiamen"}, {"doc_type": "lease_contract"}, {"kind": "household"},
               {"category": "dibao"}, {"state": "leased"})
    for f, w in zip(filters, (common[0], common[2], long_words[15], rare[5], common[4])):
        qs.append(Query("facet filter", w, fts_and(w), filters=f))
    for w in (common[0], rare[0], long_words[12], households[9]["people"][0]["name"][:2]):
        fts = _fts_name(w) if w == households[9]["people"][0]["name"][:2] else fts_and(w)
        qs.append(Query("sort by date", w, fts, sort="date"))
    qs.append(Query("sort by date", common[1], fts_and(common[1]), filters={"jurisdiction": "dezhou"}, sort="date"))
    return qs


def _fts_name(name):
    """A name part: in the n-gram names column, or as words of the text."""
    return f'(names : "{name}") OR ({fts_and(name)})'


# -- whoosh queries -------------------------------------------------------------------------
def time_whoosh(index, searcher, queries, repeat, plain=False):
    """{query: [ms, …]} after one warm-up pass; ``plain``: searcher.search(q, limit=20) only
    (whoosh's own top-N collector, no facets or snippets)."""
    from whoosh.query import And, Term
    parsed = {}
    for q in queries:
        parsed[q] = (searcher.parse(q.text),
                     And([Term(k, v) for k, v in sorted(q.filters.items())]) if q.filters else None)

    def run(q):
        if not plain:
            return searcher.search(SearchRequest(q.text, filters=q.filters, sort=q.sort)).total
        query, filter_ = parsed[q]
        kwargs = dict(sortedby="date", reverse=True) if q.sort == "date" else {}
        r = index.searcher().search(query, limit=20, filter=filter_, **kwargs)
        return r.scored_length()

    return time_queries(queries, run, repeat)


def fts_query_times(args, workdir, queries):
    """FTS5's query times and hit counts: measured (and saved by query label), or with
    ``--reuse`` the ones a kept run saved, so that re-timing whoosh's queries on kept indexes
    does not wait again for FTS5's broad queries."""
    path = os.path.join(workdir, "fts5-queries.json")
    if args.reuse and os.path.exists(path):
        with open(path) as fh:
            found = json.load(fh)
        if all(q.label() in found for q in queries):
            say("FTS5 query times: those the kept run measured")
            return ({q: found[q.label()]["ms"] for q in queries},
                    {q: found[q.label()]["total"] for q in queries})
    fsearch = FtsSearch(os.path.join(workdir, "fts5.db"))
    say("FTS5 queries" + (" (one pass, no warm-up)" if args.fts_one_pass else "") + " …")
    times, totals = time_queries(queries, fsearch.run, 1 if args.fts_one_pass else args.repeat,
                                 warm=not args.fts_one_pass)
    with open(path, "w") as fh:
        json.dump({q.label(): {"ms": times[q], "total": totals[q]} for q in queries}, fh)
    return times, totals


def time_queries(queries, run, repeat, warm=True):
    """{query: [ms, …]} and {query: hits}; ``warm``: after an untimed warm-up pass (which
    gives the hits), else the first timed pass gives them."""
    times = {q: [] for q in queries}
    if not warm:
        totals = {}
        for q in queries:
            t0 = time.perf_counter()
            totals[q] = run(q)
            times[q].append((time.perf_counter() - t0) * 1000)
        return times, totals
    totals = {q: run(q) for q in queries}           # the warm-up pass
    for _ in range(repeat):
        for q in queries:
            t0 = time.perf_counter()
            run(q)
            times[q].append((time.perf_counter() - t0) * 1000)
    return times, totals


# -- SQLite FTS5 ------------------------------------------------------------------------------
META = ("key", "kind", "dossier_kind", "archive_no", "doc_id", "title", "jurisdiction", "district",
        "state", "doc_type", "category", "year", "date", "version")
FTS_COLUMNS = ("title", "body", "names", "idno", "phone", "number")


def ngrams(names, low=1, high=4):
    """What whoosh's NGRAM(1, 4) field makes of names, for the FTS5 names column."""
    out = []
    for name in names.split():
        out += [name[i:i + n] for n in range(low, high + 1) for i in range(len(name) - n + 1)]
    return " ".join(out)


def build_fts(path, entries, trigram=False, grams=False):
    """The FTS5 reference: text pre-segmented into the finest rjieba words (as the whoosh query
    analyzer makes them), or raw text with ``trigram``; one row of metadata per entry.
    ``grams``: also a column of the CJK bigrams of title and text, as whoosh's ``grams``."""
    if os.path.exists(path):
        os.remove(path)
    words = chinese_analyzer()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    tokenize = "trigram" if trigram else "unicode61"
    columns = FTS_COLUMNS + (("grams",) if grams else ())
    db.execute(f"CREATE VIRTUAL TABLE fts USING fts5({', '.join(columns)}, tokenize='{tokenize}')")
    db.execute(f"CREATE TABLE meta (id INTEGER PRIMARY KEY, {', '.join(META)})")
    docs = 0
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    seg = 0.0
    rows, metas = [], []
    for n, e in enumerate(entries, 1):
        if trigram:
            title, body, names = e["title"], e["body"], e.get("names", "")
        else:
            s0 = time.perf_counter()
            title = " ".join(t.text for t in words(e["title"], mode="query"))
            body = " ".join(t.text for t in words(e["body"], mode="query"))
            seg += time.perf_counter() - s0
            names = ngrams(e.get("names", ""))
        docs += e["kind"] == "document"
        row = (n, title, body, names, e.get("idno", ""), e.get("phone", ""), e.get("number", ""))
        if grams:
            row += (" ".join(dict.fromkeys(cjk_bigrams(e["grams"]))),)
        rows.append(row)
        metas.append((n,) + tuple(str(e.get(k, "")) if k != "version" else e.get(k, 0) for k in META))
        if len(rows) >= 2000 or n == len(entries):
            db.executemany(f"INSERT INTO fts (rowid, {', '.join(columns)}) VALUES "
                           f"({', '.join('?' * (len(columns) + 1))})", rows)
            db.executemany(f"INSERT INTO meta VALUES ({', '.join('?' * (len(META) + 1))})", metas)
            db.commit()
            rows, metas = [], []
        if n % 10000 == 0:
            say(f"  fts5/{tokenize}: {n:,} of {len(entries):,} entries")
    db.execute("CREATE INDEX meta_date ON meta(date)")
    db.execute("INSERT INTO fts(fts) VALUES('optimize')")
    db.commit()
    wall = time.perf_counter() - t0
    out = dict(writer=tokenize + ("+grams" if grams else ""), entries=len(entries), docs=docs, wall=wall,
               cpu=cpu_seconds() - cpu0,
               docs_per_s=docs / wall, segmenting=seg, mb=size_mb(path))
    db.close()
    return out


class FtsSearch:
    """The search page's work in SQL: 20 hits by bm25 (or date) with a snippet, the total,
    and counts for two facets (jurisdiction, doc_type)."""

    BM25 = "bm25(fts, 3.0, 1.0, 2.0, 5.0, 5.0, 5.0)"

    def __init__(self, path, trigram=False):
        self.db = sqlite3.connect(path)
        self.trigram = trigram

    def match(self, q):
        """(MATCH expression or None, extra SQL, parameters), or None if not expressible."""
        expr = q.fts
        like = []
        if self.trigram and expr is not None:
            expr, like = trigram_match(q)
            if expr is None and not like:
                return None
        conds, params = [], []
        if expr:
            conds.append("fts MATCH ?")
            params.append(expr)
        for text in like:
            conds.append("(fts.body LIKE ? OR fts.title LIKE ?)")
            params += [f"%{text}%", f"%{text}%"]
        for name, value in sorted(q.where.items()):
            conds.append(f"m.{name} = ?")
            params.append(value)
        return conds, params

    def run(self, q):
        spec = self.match(q)
        if spec is None:
            return None
        conds, params = spec
        uses_fts = any(c.startswith("fts") or "fts." in c for c in conds)
        source = "fts JOIN meta m ON m.id = fts.rowid" if uses_fts else "meta m"
        where = " AND ".join(conds) or "1"
        if q.sort == "date":
            order = "m.date DESC"
        elif uses_fts and q.fts and not self.trigram or (self.trigram and "fts MATCH ?" in conds):
            order = self.BM25
        else:
            order = "m.id"
        snippet = "snippet(fts, 1, '<mark>', '</mark>', ' … ', 24)" if uses_fts else "m.title"
        db = self.db
        db.execute(f"SELECT m.key, m.title, {snippet} FROM {source} WHERE {where} ORDER BY {order} LIMIT 20",
                   params).fetchall()
        total = db.execute(f"SELECT count(*) FROM {source} WHERE {where}", params).fetchone()[0]
        for facet in ("jurisdiction", "doc_type"):
            db.execute(f"SELECT m.{facet}, count(*) FROM {source} WHERE {where} GROUP BY 1", params).fetchall()
        return total


def trigram_match(q):
    """The query for the trigram table: words of three characters or more go to MATCH, shorter
    ones can only be LIKE (a scan); OR / NOT with short words are not expressible here."""
    if q.fts is None:
        return None, []
    if " OR " in q.fts or " NOT " in q.fts or ":" in q.fts:
        parts = [p.strip('"() ') for p in q.fts.replace(" OR ", " ").replace(" NOT ", " ").split('"')]
        if any(0 < len(p) < 3 for p in parts if p and p not in ("names :", "title :")):
            return None, []
    raw = q.text.strip()
    if raw.startswith('"'):
        terms = [raw.strip('"')]
    elif ":" in raw or " OR " in raw or " NOT " in raw:
        return None, []
    else:
        terms = raw.split()
    long_ = [t for t in terms if len(t) >= 3]
    short = [t for t in terms if len(t) < 3]
    return (" ".join(f'"{t}"' for t in long_) or None), short


# -- whoosh's own answer, the reference ------------------------------------------------------
class WhooshSearcher(Searcher):
    """The search page as it was before ``archive.search.fast``: whoosh's ``search_page``
    scoring every hit, with seven ``groupedby`` facet counts. Run once over the query mix:
    its answers must equal the ones in src/ (``compare``), and its times are the before."""

    def search(self, request):
        from whoosh import sorting
        from whoosh.query import And, Term

        from archive.search.fields import FACETS
        from archive.search.query import Results, _shown_words, check_request
        check_request(request)
        query = self.parse(request.text)
        filters = [Term(name, str(value)) for name, value in sorted(request.filters.items())
                   if value not in (None, "")]
        searcher = self.index.searcher()
        kwargs = dict(filter=And(filters) if filters else None,
                      groupedby={name: sorting.FieldFacet(name) for name in FACETS},
                      maptype=sorting.Count)
        if request.sort == "date":
            kwargs.update(sortedby="date", reverse=True)
        found = searcher.search_page(query, request.page, pagelen=request.per_page, **kwargs)
        results = found.results
        words = list(_shown_words(query))
        hits = [self._hit(hit, words) for hit in found]
        counts = {name: sorted(results.groups(name).items(), key=lambda kv: (-kv[1], kv[0]))
                  for name in FACETS}
        total = len(results)
        return Results(request, total, hits, {k: [(v, n) for v, n in c if v] for k, c in counts.items()},
                       pages=max(1, -(-total // request.per_page)))


def reference_check(index, searcher, queries, vocabularies):
    """One pass of ``WhooshSearcher`` (timed) and the check that src/ answers the same."""
    reference = WhooshSearcher(index, vocabularies)
    times = {}
    for q in queries:
        t0 = time.perf_counter()
        reference.search(SearchRequest(q.text, filters=q.filters, sort=q.sort))
        times[q] = [(time.perf_counter() - t0) * 1000]
    bad = compare(reference, searcher, queries)
    return times, bad


def compare(reference, candidate, queries):
    """Totals, facet counts and (for date order) the hits' dates must equal the current code's."""
    bad = []
    for q in queries:
        request = SearchRequest(q.text, filters=q.filters, sort=q.sort)
        a, b = reference.search(request), candidate.search(request)
        same = a.total == b.total and a.facets == b.facets
        if q.sort == "date":
            same = same and [h.date for h in a.hits] == [h.date for h in b.hits]
        else:
            same = same and {h.key for h in a.hits} == {h.key for h in b.hits} or \
                   same and [round(h.score, 4) for h in a.hits] == [round(h.score, 4) for h in b.hits]
        if not same:
            bad.append(q.label())
    if bad:
        say(f"  !! differs from whoosh's own answer on {len(bad)} queries: {bad[:5]}")
    else:
        say(f"  same totals, facet counts and hits as whoosh's own on all {len(queries)} queries")
    return bad


# -- report -----------------------------------------------------------------------------------
def report(args, gen, analyzer_dps, trials, build, w_page, w_plain, totals, fts, fts_times, tri, tri_times,
           reference, load):
    pages = summary([t for v in w_page.values() for t in v])
    plains = summary([t for v in w_plain.values() for t in v])
    lines = ["", f"Search benchmark: {build['docs']:,} documents (+{build['entries'] - build['docs']:,} household "
                 f"entries), {len(w_page)} queries × {args.repeat} timed passes after one warm-up pass",
             f"load average at start / end: {load[0]} / {load[1]} (2 cores; other work on the machine slows wall times)",
             f"corpus generated in {gen:.0f} s (not counted); analyzer alone: {analyzer_dps:.0f} documents/s (CPU)",
             *([f"FTS5 queries: one pass without warm-up (--fts-one-pass)"] if args.fts_one_pass else [])]
    if trials:
        lines.append(f"writer trials on {trials[0]['docs']:,} documents: " + "; ".join(
            f"{t['writer']} {t['docs_per_s']:.0f}/s ({t['cpu'] / t['docs'] * 1000:.1f} ms CPU/doc)" for t in trials))
    lines.append(f"whoosh writer used: {build['writer']} ({describe(build['writer'])}), "
                 f"{build['segments']} segment(s)")
    rows = [("figure", "whoosh", "FTS5 rjieba words") + (("FTS5 trigram",) if tri else ()),
            ("indexing, documents/s (aim ≥ %d)" % AIM_DOCS_PER_S, f"{build['docs_per_s']:.1f}",
             f"{fts['docs_per_s']:.1f}") + ((f"{tri['docs_per_s']:.1f}",) if tri else ()),
            ("indexing wall time incl. commit", f"{build['wall']:.0f} s (commit {build['commit']:.0f} s)",
             f"{fts['wall']:.0f} s (segmenting {fts['segmenting']:.0f} s)") + ((f"{tri['wall']:.0f} s",) if tri else ()),
            ("indexing CPU, ms per document", f"{build['cpu'] / build['docs'] * 1000:.1f}",
             f"{fts['cpu'] / fts['docs'] * 1000:.1f}") + ((f"{tri['cpu'] / tri['docs'] * 1000:.1f}",) if tri else ()),
            ("index size", f"{build['mb']:,.0f} MiB", f"{fts['mb']:,.0f} MiB") + ((f"{tri['mb']:,.0f} MiB",) if tri else ())]
    grams = fts.get("grams")
    if grams:
        rows.append(("FTS5 with the bigram column too: documents/s, CPU ms/doc, size", "—",
                     f"{grams['docs_per_s']:.1f}, {grams['cpu'] / grams['docs'] * 1000:.1f}, "
                     f"{grams['mb']:,.0f} MiB") + (("—",) if tri else ()))
    if "peak_mb" in build:
        rows.append(("indexing peak memory, all processes (each)",
                     f"{build['peak_mb']:,.0f} MiB ({' + '.join(f'{m:,.0f}' for m in build['each_mb'][:4])})",
                     "—") + (("—",) if tri else ()))
    if build.get("commit_peak_mb"):
        rows.append(("… of which during the commit (merging the runs)", f"{build['commit_peak_mb']:,.0f} MiB",
                     "—") + (("—",) if tri else ()))
    fsum = summary([t for v in fts_times.values() for t in v])
    tri_sum = summary([t for v in tri_times.values() for t in v]) if tri_times else None
    rows.append((f"search page p50 / p95 / max (aim p95 ≤ {AIM_P95_MS} ms)", fmt(pages), fmt(fsum))
                + ((fmt(tri_sum) + f" ({len(tri_times)} q.)",) if tri else ()))
    rows.append(("plain search(q, limit=20)¹ p50 / p95 / max", fmt(plains), "—") + (("—",) if tri else ()))
    lines += table(rows)
    lines.append("¹ no facets or snippets; whoosh's top-N collector can miss top hits of two-word queries")
    ratio = f"whoosh / FTS5 indexing: {build['docs_per_s'] / fts['docs_per_s']:.2f} against FTS5 words"
    if grams:
        ratio += f", {build['docs_per_s'] / grams['docs_per_s']:.2f} against FTS5 words + bigrams (the same work)"
    lines.append(ratio + " (aim ≥ 0.5)")
    # Wall rates follow the machine's load, which moves between the builds; the CPU a
    # document costs moves less. whoosh's bulk writer spreads its CPU over both cores.
    lines.append(f"CPU per document, FTS5 / whoosh: {fts['cpu'] / build['cpu']:.2f} against FTS5 words"
                 + (f", {grams['cpu'] / build['cpu']:.2f} against FTS5 words + bigrams" if grams else "")
                 + " (whoosh's CPU is spread over its two writer processes)")
    lines += ["", "By group, median ms of the search page (whoosh | whoosh plain | FTS5), median hits:"]
    groups = {}
    for q in w_page:
        groups.setdefault(q.group, []).append(q)
    grows = [("group", "n", "whoosh page", "plain", "FTS5", "hits")]
    for g, qs in groups.items():
        grows.append((g, str(len(qs)), *(f"{med(t, qs):.1f}" if any(q in t for q in qs) else "—"
                                          for t in (w_page, w_plain, fts_times)),
                      f"{statistics.median(totals[q] for q in qs):,.0f}"))
    lines += table(grows)
    lines += ["", "Slowest queries on the search page (median of the timed passes):"]
    slow = sorted(w_page, key=lambda q: -statistics.median(w_page[q]))[:12]
    srows = [("query", "group", "hits", "page ms", "plain ms", "FTS5 ms")]
    for q in slow:
        srows.append((q.label(), q.group, f"{totals[q]:,}", f"{statistics.median(w_page[q]):.0f}",
                      _median(w_plain, q), _median(fts_times, q)))
    lines += table(srows)
    if reference is not None:
        ref_times, bad = reference
        lines += ["", "Before: whoosh's own search_page(groupedby=seven facets), one pass without warm-up:"]
        lines += table([("figure", "whoosh groupedby (before)", "src/ now (archive.search.fast)"),
                        ("search page p50 / p95 / max", fmt(summary([t for v in ref_times.values() for t in v])),
                         fmt(pages)),
                        ("answers (totals, facet counts, hits)",
                         "reference", "the same on all queries" if not bad else f"DIFFERENT on {len(bad)}: {bad[:3]}")])
    print("\n".join(lines))


def _median(times, q):
    return f"{statistics.median(times[q]):.0f}" if q in times else "—"


def med(times, qs):
    values = [statistics.median(times[q]) for q in qs if q in times]
    return statistics.median(values) if values else float("nan")


def fmt(s):
    if s is None:
        return "— (not run)"
    return f"{s['p50']:.1f} / {s['p95']:.1f} / {s['max']:.1f} ms"


def table(rows):
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        out.append("| " + " | ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return out


def _width(text):
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def describe(writer):
    return WRITERS[writer]


# -- main -------------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dir", help="work directory (default: a new one under /tmp, removed afterwards)")
    parser.add_argument("--writer", default="bulk", choices=["best"] + list(WRITERS),
                        help="bulk (archive reindex's writer, the fastest at 100,000 documents) or "
                             "best: the fastest in trials on --trial documents")
    parser.add_argument("--trial", type=int, default=10_000, help="documents per writer trial (--writer best)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the query mix")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--trigram", action="store_true", help="also an FTS5 trigram table")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the pass of whoosh's own search_page (the before, and the answers to check)")
    parser.add_argument("--no-fts-grams", action="store_true",
                        help="skip the FTS5 build with the bigram column (at 10^6 documents it takes "
                             "half an hour; the words-only FTS5 is the stricter reference)")
    parser.add_argument("--fts-one-pass", action="store_true",
                        help="time FTS5's queries in a single pass, with no warm-up (its broad queries "
                             "take seconds each at 10^6 documents); its hit counts come from that pass")
    parser.add_argument("--no-plain", action="store_true",
                        help="skip the pass of plain searcher.search(q, limit=20) (whoosh's own collector)")
    parser.add_argument("--no-fts-queries", action="store_true",
                        help="skip FTS5's query pass (a reference only: the p95 aim is absolute); "
                             "with --reuse, re-time the search page on kept indexes alone")
    parser.add_argument("--pool-mb", type=int,
                        help="the bulk writer's pool per process (default: index.BULK_LIMIT_MB, 512): a "
                             "small pool on a small corpus spills as many runs as 10^6 documents do")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--reuse", action="store_true",
                        help="use the indexes a --keep run left in --dir (figures of that run)")
    args = parser.parse_args(argv)
    if args.pool_mb:
        import archive.search.index as index_module
        index_module.BULK_LIMIT_MB = args.pool_mb
    made = args.dir is None
    workdir = args.dir or tempfile.mkdtemp(prefix="archive-search-bench-", dir="/tmp")
    os.makedirs(workdir, exist_ok=True)
    load = [" ".join(f"{x:.1f}" for x in os.getloadavg())]
    try:
        run(args, workdir, load)
    finally:
        if not args.keep:
            for name in ("whoosh", "trial", "fts5.db", "fts5grams.db", "trigram.db", "whoosh.json",
                         "fts5.json", "fts5grams.json", "trigram.json", "fts5-queries.json", "corpus.json",
                         "corpus.pickles"):
                target = os.path.join(workdir, name)
                if os.path.isdir(target):
                    shutil.rmtree(target, ignore_errors=True)
                elif os.path.exists(target):
                    os.remove(target)
            if made:
                shutil.rmtree(workdir, ignore_errors=True)


def save(workdir, name, figures):
    with open(os.path.join(workdir, f"{name}.json"), "w") as fh:
        json.dump(figures, fh)


def saved(workdir, name):
    with open(os.path.join(workdir, f"{name}.json")) as fh:
        return json.load(fh)


def run(args, workdir, load):
    say(f"work directory {workdir}; generating {args.docs:,} documents …")
    corpus = corpus_.Corpus(seed=args.seed)
    spool = os.path.join(workdir, "corpus.pickles")
    if args.reuse and os.path.exists(os.path.join(workdir, "corpus.json")):
        entries = Spool(spool)                      # the kept run's corpus (same seed and size)
        entries.entries, entries.docs, gen = saved(workdir, "corpus")
    else:
        t0 = time.perf_counter()
        entries = Spool(spool).write(
            corpus, args.docs, progress=lambda i, n: say(f"  {i:,} of {n:,} households"))
        gen = time.perf_counter() - t0
        save(workdir, "corpus", (entries.entries, entries.docs, gen))
    say(f"corpus: {len(entries):,} entries in {gen:.0f} s")
    analyzer_dps = analyzer_rate(entries)
    say(f"analyzer alone: {analyzer_dps:.0f} documents/s (CPU)")

    trials = []
    writer = args.writer
    if writer == "best" and not args.reuse:
        sample = entries.head(min(args.trial, args.docs) // corpus_.DOCS_PER_HOUSEHOLD
                              * (corpus_.DOCS_PER_HOUSEHOLD + 1))
        for name in WRITERS:
            t = build_whoosh(os.path.join(workdir, "trial"), sample, name, progress=False)
            say(f"trial {name}: {t['docs_per_s']:.0f} documents/s ({t['cpu']:.0f} s CPU)")
            trials.append(t)
        shutil.rmtree(os.path.join(workdir, "trial"), ignore_errors=True)
        writer = max(trials, key=lambda t: t["docs_per_s"])["writer"]
    path = os.path.join(workdir, "whoosh")
    if args.reuse:
        build, trials = saved(workdir, "whoosh")
        writer = build["writer"]
    else:
        say(f"indexing {args.docs:,} documents into whoosh with {writer} …")
        build = build_whoosh(path, entries, writer)
        save(workdir, "whoosh", (build, trials))
    say(f"whoosh: {build['docs_per_s']:.1f} documents/s, {build['wall']:.0f} s, {build['mb']:.0f} MiB, "
        f"peak memory {build.get('peak_mb', 0):,.0f} MiB (all processes; "
        f"{build.get('commit_peak_mb', 0):,.0f} MiB during the commit)")

    queries = query_mix(corpus, args.docs)
    index = SearchIndex(path)
    vocabularies = corpus.registry.vocabularies
    searcher = Searcher(index, vocabularies)
    say(f"{len(queries)} queries: warm-up pass, then {args.repeat} timed passes (search page) …")
    w_page, totals = time_whoosh(index, searcher, queries, args.repeat)
    if not args.no_plain:
        say("  … and plain searcher.search(q, limit=20)")
    w_plain = {} if args.no_plain else time_whoosh(index, searcher, queries, args.repeat, plain=True)[0]
    reference = None
    if not args.no_check:
        say("  … and one pass of whoosh's own search_page (groupedby), checked against src/")
        reference = reference_check(index, searcher, queries, vocabularies)
    index.ix.close()

    say("FTS5 with rjieba words …")
    if args.reuse and not os.path.exists(os.path.join(workdir, "fts5.json")) and args.no_fts_queries:
        say("  none kept: the search page's figures alone")
        fts = dict(writer="—", docs_per_s=float("nan"), wall=float("nan"), segmenting=float("nan"),
                   cpu=float("nan"), docs=build["docs"], mb=float("nan"))
    elif args.reuse:
        fts = saved(workdir, "fts5")
    else:
        fts = build_fts(os.path.join(workdir, "fts5.db"), entries)
        save(workdir, "fts5", fts)
    say(f"fts5: {fts['docs_per_s']:.1f} documents/s, {fts['mb']:.0f} MiB")
    fts_grams = None
    if args.reuse and os.path.exists(os.path.join(workdir, "fts5grams.json")):
        fts_grams = saved(workdir, "fts5grams")
    elif not args.reuse and not args.no_fts_grams:
        say("FTS5 with rjieba words and the CJK bigrams (indexing only) …")
        fts_grams = build_fts(os.path.join(workdir, "fts5grams.db"), entries, grams=True)
        save(workdir, "fts5grams", fts_grams)
    if fts_grams:
        say(f"fts5+grams: {fts_grams['docs_per_s']:.1f} documents/s, {fts_grams['mb']:.0f} MiB")
        fts["grams"] = fts_grams
    if args.no_fts_queries:
        fts_times, fts_totals = {}, {q: None for q in queries}
    else:
        fts_times, fts_totals = fts_query_times(args, workdir, queries)
    tri = tri_times = None
    if args.trigram:
        say("FTS5 trigram …")
        if args.reuse:
            tri = saved(workdir, "trigram")
        else:
            tri = build_fts(os.path.join(workdir, "trigram.db"), entries, trigram=True)
            save(workdir, "trigram", tri)
        tsearch = FtsSearch(os.path.join(workdir, "trigram.db"), trigram=True)
        usable = [q for q in queries if tsearch.match(q) is not None]
        tri_times, _ = time_queries(usable, tsearch.run, args.repeat)
    load.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    report(args, gen, analyzer_dps, trials, build, w_page, w_plain, totals, fts, fts_times, tri, tri_times,
           reference, load)
    mismatched = [(q.label(), totals[q], fts_totals[q]) for q in queries
                  if fts_totals[q] is not None and totals[q] != fts_totals[q]]
    if mismatched:
        print(f"\nHit counts differ between whoosh and FTS5 for {len(mismatched)} queries "
              "(different matching rules, see the report); e.g. " +
              "; ".join(f"{label}: {a:,} vs {b:,}" for label, a, b in mismatched[:5]))


if __name__ == "__main__":
    main()
