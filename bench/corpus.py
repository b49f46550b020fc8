"""A deterministic corpus for the search benchmark (检索基准语料): households and their documents.

The words come from the five seed policy texts (``tests/data/seeds/*.txt``, copies of the
shared seeds; ``ARCHIVE_SEEDS`` names another folder) segmented with rjieba: a document's
text is made of short runs of consecutive seed words taken at random places of the seed
word stream, so every word keeps its real frequency and neighbouring words
read like the policies (公共租赁住房 / 保障 / 对象 …). Into that go the facts of the household:
names, 18-digit ID numbers, 11-digit mobile numbers, addresses, incomes and dates.

Entries are made by the application's own ``archive.search.fields.entries()`` from stand-in
dossiers, so they have exactly the fields, masking and shape the indexer writes. Household
``i`` depends only on (seed, i), so any prefix of the corpus is the same corpus and the query
mix can name the people of household ``i`` without generating the rest.
"""
from __future__ import annotations

import datetime as dt
import glob
import os
import random
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

import rjieba  # noqa: E402

from archive.schema import idnumber  # noqa: E402
from archive.demo.places import CITIES, DOC_STYLE, GIVEN, MOBILE_PREFIXES, SURNAMES  # noqa: E402
from archive.schema.registry import SchemaRegistry, default_directory  # noqa: E402
from archive.search.analysis import _is_word  # noqa: E402
from archive.search.fields import entries  # noqa: E402

SEEDS = os.environ.get("ARCHIVE_SEEDS", os.path.join(os.path.dirname(HERE), "tests", "data", "seeds"))
DOCS_PER_HOUSEHOLD = 10
TODAY = dt.date(2026, 11, 23)
STATES = (("leased", 30), ("registered", 16), ("accepted", 10), ("exited", 9), ("applied", 6),
          ("publicity", 5), ("approved", 5), ("allocated", 4), ("exiting", 4), ("returned", 3),
          ("rejected", 3), ("withdrawn", 2), ("lapsed", 2), ("objection", 1))
CATEGORIES = (("dibao", 22), ("dishouru", 30), ("zhongdeng", 20), ("tekun", 6), ("xinjiuye", 12),
              ("wailai", 10))
RELATIONS = ("spouse", "child", "child", "parent", "other")
# Household document types in the order a dossier collects them (kind household or both).
DOC_TYPES = ("application_form", "id_card", "hukou", "marriage_proof", "income_proof",
             "housing_proof", "pledge", "check_authorization", "special_status", "review_opinion",
             "check_report", "publicity_record", "objection", "registration_notice",
             "lottery_record", "allocation_notice", "lease_contract", "deposit_receipt",
             "handover", "annual_declaration", "recheck_opinion", "rent_record",
             "change_request", "exit_notice", "vacate_inspection", "settlement")


@dataclass
class Stand:
    """A stand-in for a dossier or document: just what ``fields.entries()`` reads."""
    kind: str = "household"
    archive_no: str = ""
    metadata: dict = field(default_factory=dict)
    created: object = None
    state: str = ""
    latest: object = None
    title: str = ""
    docs: list = field(default_factory=list)
    doc_id: str = ""
    current_file: object = None

    def active_documents(self):
        return self.docs


class Words:
    """The seed texts as one stream of words (punctuation dropped), with its word counts."""

    def __init__(self, directory=SEEDS):
        paths = sorted(glob.glob(os.path.join(directory, "*.txt")))
        if not paths:
            raise SystemExit(f"no seed texts in {directory}")
        stream = []
        for path in paths:
            with open(path, encoding="utf-8") as fh:
                stream += [w for w in rjieba.cut(fh.read()) if _is_word(w) and not w.isspace()]
        self.stream = stream
        self.counts = {}
        for w in stream:
            self.counts[w] = self.counts.get(w, 0) + 1

    def by_frequency(self):
        """(word, count), commonest first; ties in first-seen order, so the order is fixed."""
        first = {}
        for n, w in enumerate(self.stream):
            first.setdefault(w, n)
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], first[kv[0]]))


class Corpus:
    """Households 0, 1, 2 … each with ``DOCS_PER_HOUSEHOLD`` documents of about 1,500 characters."""

    def __init__(self, seed=2026, chars=1500, words=None):
        self.seed, self.chars = seed, chars
        self.words = words or Words()
        self.registry = SchemaRegistry(default_directory())
        jurisdictions = self.registry.vocabularies["jurisdictions"]
        self.fonds = {t.code: t.extra.get("fonds", t.code[:2].upper()) for t in jurisdictions.terms}
        self.doc_titles = {t.code: t.zh for t in self.registry.vocabularies["document_types"].terms}

    # -- one household ----------------------------------------------------------------
    def household(self, i) -> dict:
        """The facts of household ``i`` (names, ID and phone numbers, place, dates)."""
        rng = random.Random(f"{self.seed}/household/{i}")
        city = rng.choices(CITIES, weights=[c.weight for c in CITIES])[0]
        district, region, roads = rng.choice(city.districts)
        year = rng.randint(2018, 2026)
        created = dt.datetime(year, 1, 1) + dt.timedelta(days=rng.randrange(300),
                                                         seconds=rng.randrange(8 * 3600) + 8 * 3600)
        people = [self._person(rng, region, i * 8, adult=True)]
        for k in range(rng.choice((0, 1, 1, 2, 2, 3))):
            member = self._person(rng, region, i * 8 + k + 1, adult=k == 0)
            member["relation"] = RELATIONS[0] if k == 0 else rng.choice(RELATIONS[1:])
            people.append(member)
        category = _weighted(rng, CATEGORIES)
        return dict(
            index=i, city=city, district=district, roads=roads, created=created,
            archive_no=f"{self.fonds[city.code]}-HH-{year}-Y-{i + 1:05d}",
            people=people, category=category, state=_weighted(rng, STATES),
            phone=rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}",
            address=f"{city.name}{district}{rng.choice(roads)}{rng.randint(1, 320)}号"
                    f"{rng.randint(1, 30)}栋{rng.randint(1, 28)}{rng.randint(1, 4):02d}室",
            income=round(rng.uniform(300, 3500), 2), version=rng.randint(3, 40))

    def _person(self, rng, region, sequence, adult):
        sex = rng.choice("MF")
        surname = SURNAMES[int(rng.triangular(0, len(SURNAMES), 0))]
        given = "".join(rng.choice(GIVEN[sex]) for _ in range(rng.choice((1, 2, 2))))
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * (50 if adult else 70)))
        return {"name": surname + given, "id_number": idnumber.make(region, born, sequence)}

    def dossier_entries(self, i) -> list[dict]:
        """The index entries of household ``i``: the dossier and its documents, as the indexer
        makes them (``fields.entries``)."""
        h = self.household(i)
        rng = random.Random(f"{self.seed}/documents/{i}")
        applicant, members = h["people"][0], h["people"][1:]
        meta = {"applicant": dict(applicant), "category": h["category"],
                "income_per_capita": h["income"], "phone": h["phone"],
                "jurisdiction": h["city"].code, "district": h["district"],
                "address": h["address"],
                "members": [dict(m) for m in members]}
        dossier = Stand(kind="household", archive_no=h["archive_no"], metadata=meta,
                        created=h["created"], state=h["state"],
                        latest=SimpleNamespace(number=h["version"]), title=applicant["name"])
        start = rng.randrange(0, len(DOC_TYPES) - DOCS_PER_HOUSEHOLD + 1)
        day = h["created"].date()
        for n in range(DOCS_PER_HOUSEHOLD):
            doc_type = DOC_TYPES[min(start + n, len(DOC_TYPES) - 1)] if rng.random() < 0.8 \
                else rng.choice(DOC_TYPES)
            day = min(day + dt.timedelta(days=rng.randrange(0, 120)), TODAY)
            dossier.docs.append(self._document(rng, h, n, doc_type, day))
        return entries(dossier, self.registry)

    def _document(self, rng, h, n, doc_type, day):
        city = h["city"]
        title, issuer, prefix = DOC_STYLE[doc_type]
        title = title.format(proof="特殊身份证明", dept="民政局", year=day.year,
                             quarter=(day.month - 1) // 3 + 1)
        issuer = {"applicant": h["people"][0]["name"], "employer": "恒达物流有限公司",
                  "owner": f"{city.name}住房保障中心", "department": f"{city.name}民政局",
                  "proof": f"{city.name}民政局"}.get(issuer, f"{city.name}{issuer}")
        doc_no = ""
        if prefix and prefix not in ("notary", "property"):
            doc_no = f"{city.short}{prefix}〔{day.year}〕{rng.randint(1, 999)}号"
        text = self.text(rng, h, day)
        meta = {"doc_type": doc_type, "title": title, "date": day, "issuer": issuer, "doc_no": doc_no}
        return Stand(kind="document", doc_id=f"D{n + 1:03d}", metadata=meta,
                     current_file=SimpleNamespace(text=text))

    # -- text ---------------------------------------------------------------------------
    def text(self, rng, h, day) -> str:
        """About ``chars`` characters: seed-word sentences with the household's facts among them,
        pages separated by form feeds as the PDF text layer has them."""
        target = int(self.chars * rng.uniform(0.8, 1.2))
        stream, size = self.words.stream, len(self.words.stream)
        facts = self._facts(rng, h, day)
        out, length, page = [], 0, 0
        while length < target:
            if facts and rng.random() < 0.25:
                sentence = facts.pop()
            else:
                parts, words = [], rng.randint(10, 32)
                clause = rng.randint(4, 12)
                while words > 0:
                    run = min(words, rng.choice((1, 1, 2, 2, 3, 4, 6)))
                    at = rng.randrange(size - run)
                    parts.append("".join(stream[at:at + run]))
                    words -= run
                    clause -= run
                    if clause <= 0 and words > 0:
                        parts.append(rng.choice("，，，、；"))
                        clause = rng.randint(4, 12)
                sentence = "".join(parts) + rng.choice("。。。。；！")
            out.append(sentence)
            length += len(sentence)
            page += len(sentence)
            if page > 600:
                out.append("\f")
                page = 0
            elif rng.random() < 0.15:
                out.append("\n")
        return "".join(out + facts)

    def _facts(self, rng, h, day):
        """Sentences naming the household's people, numbers and place (some documents have
        no ID number or phone in their text, as real ones)."""
        person = rng.choice(h["people"])
        city = h["city"]
        facts = [f"申请人{h['people'][0]['name']}，现居住于{h['district']}{rng.choice(h['roads'])}。",
                 f"{day.year}年{day.month}月{day.day}日，{city.name}住房保障中心受理{person['name']}家庭的申请。",
                 f"经核查，{person['name']}家庭人均月收入{h['income']:.2f}元，符合{city.name}公共租赁住房保障条件。"]
        if rng.random() < 0.6:
            facts.append(f"{person['name']}，公民身份号码{person['id_number']}，"
                         f"住址{h['address']}。")
        if rng.random() < 0.4:
            facts.append(f"联系电话：{h['phone']}。")
        rng.shuffle(facts)
        return facts


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def generate(corpus, documents, progress=None):
    """Every entry for ``documents`` documents (one household entry per ten documents)."""
    out = []
    households = -(-documents // DOCS_PER_HOUSEHOLD)
    for i in range(households):
        batch = corpus.dossier_entries(i)
        keep = documents - i * DOCS_PER_HOUSEHOLD
        out += batch[:1 + keep]
        if progress is not None and (i + 1) % 500 == 0:
            progress(i + 1, households)
    return out
