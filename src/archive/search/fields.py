"""What the search index holds: its fields, and the entries made from a dossier.

One entry per dossier (its current metadata) and one per document in it (title, type,
issuer, number, date and the file's full text). Every entry carries the dossier's
facets (jurisdiction, district, state, category, form of security) so a document can be narrowed like its
dossier, and the dossier's version number, so ``check`` can tell a stale entry.

A document also carries the names of its household's people (and their pinyin), boosted
down so the household itself ranks first for a name: an officer looks for 张's income
proof as ``收入证明 张``, and the surname is in no word of the document's text. Text is in
NFKC (full-width digits and letters as ASCII), and its Chinese is also indexed as
character bigrams (``grams``), which find what word segmentation cuts apart.
"""
from __future__ import annotations

import datetime as _dt
import re

from whoosh.fields import DATETIME, ID, NGRAM, NUMERIC, STORED, TEXT, Schema

from ..schema import idnumber
from ..workflow.subsidy import form_of
from ..records.version import flatten
from .analysis import (BigramTokenizer, Bigrams, WordPositions, chinese_analyzer, clean,
                       exact_analyzer, name_pinyin, normalise)

FACETS = ("kind", "jurisdiction", "district", "state", "doc_type", "category", "form", "year")

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

# At most this many characters of a field are indexed and stored (``clean``): whatever a
# dossier holds, an entry stays small enough to index in seconds. A document's text is
# allowed about 1,300 dense pages (2 M characters, some 6 s to index); names, numbers and
# titles far more than any real one. Facet and key fields are codes, archive numbers.
LIMITS = {"body": 2_000_000, "_stored_body": 2_000_000, "title": 2_000, "names": 2_000,
          "people": 2_000, "idno": 4_000, "phone": 4_000, "number": 4_000, "grams": 2_002_001, "pinyin": 4_000}
# A document's copy of its household's pinyin weighs this much against the household
# entry's own (its names are in ``people``, which weighs a quarter of ``names``): a name
# finds the household first, then its documents; 姓名: still names dossiers only.
PEOPLE_BOOST = 0.25
CODE_LIMIT = 500
VALUE_LIMIT = 100_000     # one metadata value (notes): the others still fit in the body


def schema() -> Schema:
    """The index's fields; changing them needs ``archive reindex``."""
    words, exact = chinese_analyzer(), exact_analyzer()
    return Schema(
        key=ID(stored=True, unique=True),
        parent=ID(stored=True),                  # the dossier's key, for its documents too
        kind=ID(stored=True, sortable=True),     # household | unit | document
        dossier_kind=ID(stored=True),
        archive_no=ID(stored=True),
        doc_id=STORED,
        title=_words(words, field_boost=3.0),
        body=_words(words),           # positions for phrases; snippets need no offsets
        names=NGRAM(minsize=1, maxsize=4, field_boost=2.0),   # 张, 伟 and 张伟 find 张伟
        people=NGRAM(minsize=1, maxsize=4, field_boost=0.5),  # a document's household's names
        pinyin=TEXT(analyzer=exact, field_boost=2.0),     # wuyun, wy and wu find 吴云
        grams=_bigrams(),             # 入证 and 员收入 find 家庭成员收入证明
        idno=TEXT(analyzer=exact, field_boost=5.0),       # whole values only
        phone=TEXT(analyzer=exact, field_boost=5.0),
        number=TEXT(analyzer=exact, field_boost=5.0),     # archive numbers, 文号
        jurisdiction=ID(stored=True, sortable=True),
        district=ID(stored=True, sortable=True),
        state=ID(stored=True, sortable=True),
        doc_type=ID(stored=True, sortable=True),
        category=ID(stored=True, sortable=True),
        form=ID(stored=True, sortable=True),     # 保障方式: in_kind | subsidy (workflow.subsidy)
        year=ID(stored=True, sortable=True),
        date=DATETIME(stored=True, sortable=True),
        version=NUMERIC(stored=True),
    )


def _words(analyzer, field_boost=1.0):
    """A stored TEXT field of Chinese words with positions (phrases), written through
    ``WordPositions``: the same postings as whoosh's, made without a Token per word.
    No character offsets: snippets come from a substring search of the stored text."""
    field = TEXT(analyzer=analyzer, stored=True, field_boost=field_boost)
    field.format = WordPositions(field_boost=field_boost)
    return field


def _bigrams():
    """The CJK character bigrams of title and text, queried beside the words (``query``)."""
    field = TEXT(analyzer=BigramTokenizer(), phrase=False)
    field.format = Bigrams()
    return field


def archive_prefixes(archive_no: str) -> list:
    """The archive number and its leading parts of two or more (CZ-HH, CZ-HH-2019,
    CZ-HH-2019-Y): a city's, a year's batch, as officers type them."""
    parts = archive_no.split("-")
    return ["-".join(parts[:n]) for n in range(2, len(parts))] + [archive_no]


def mask_text(text: str) -> str:
    """ID numbers and mobile numbers in free text, masked as everywhere else."""
    text = _ID_NUMBER.sub(lambda m: idnumber.mask(m.group(0)), text)
    return _MOBILE.sub(lambda m: m.group(0)[:3] + "****" + m.group(0)[-4:], text)


def dossier_key(kind: str, archive_no: str) -> str:
    return f"{kind}/{archive_no}"


def entries(dossier, registry) -> list[dict]:
    """The index entries for a dossier as it is now: itself and its documents in force."""
    schema_ = registry[dossier.kind]
    meta = dossier.metadata
    key = dossier_key(dossier.kind, dossier.archive_no)
    created = _as_datetime(dossier.created)
    common = dict(parent=key, dossier_kind=dossier.kind, archive_no=dossier.archive_no,
                  jurisdiction=_text(meta.get("jurisdiction")), district=_text(meta.get("district")),
                  state=_text(dossier.state), category=_text(meta.get("category")),
                  form=form_of(dossier), version=dossier.latest.number)
    names, idnos, phones, values, lines = [], [], [], [], []
    for path, value in flatten(meta).items():
        spec = schema_.spec(path)
        if spec is None or _empty(value):
            continue
        if spec.type == "id_number":
            idnos.append(str(value))
        elif spec.type == "phone":
            phones.append(str(value))
        elif spec.name == "name":
            names.append(str(value))
        shown = _shown(schema_, path, value)[:VALUE_LIMIT]
        values.append(shown)
        lines.append(f"{schema_.field_title(path)}：{shown}")
    # Values are searched, "title：value" lines are shown: a field's title (家庭人均月收入)
    # is in every household and would make every household match it.
    names = [normalise(clean(name, LIMITS["names"])) for name in names]
    people = dict(names=" ".join(names),
                  pinyin=" ".join(dict.fromkeys(p for name in names for p in name_pinyin(name))))
    title = _text(dossier.title)
    out = [dict(common, **people, key=key, kind=dossier.kind, title=title, body="\n".join(values),
                _stored_body=mask_text("\n".join(lines)), idno=" ".join(idnos),
                phone=" ".join(phones), number=" ".join(archive_prefixes(dossier.archive_no)),
                date=created, year=str(created.year), grams=_grams(title, values))]
    docs = registry["document"]
    for doc in dossier.active_documents():
        m = doc.metadata
        revision = doc.current_file
        text = _text(revision.text) if revision is not None else ""
        day = _as_datetime(m.get("date")) or created
        head = "　".join(part[:LIMITS["title"]] for part in filter(None, [
            _shown(docs, "doc_type", m.get("doc_type")), _text(m.get("issuer")),
            _text(m.get("doc_no")), _shown(docs, "date", m.get("date"))]))
        body = f"{head}\n{text[:LIMITS['body']]}"
        title = _text(m.get("title")) or doc.doc_id
        out.append(dict(common, people=people["names"], pinyin=people["pinyin"],
                        key=f"{key}/{doc.doc_id}", kind="document", doc_id=doc.doc_id,
                        title=title, body=body, _stored_body=mask_text(body), _pinyin_boost=PEOPLE_BOOST,
                        number=" ".join(archive_prefixes(dossier.archive_no)
                                        + ([_text(m.get("doc_no"))] if m.get("doc_no") else [])),
                        doc_type=_text(m.get("doc_type")), date=day, year=str(day.year),
                        grams=_grams(title, [body])))
    return [_cleaned(entry) for entry in out]


def _grams(title, texts) -> str:
    """What the bigram field reads: the title and the text (bigrams never span the line
    break between them: it is not an ideograph)."""
    return "\n".join([title, *texts])


def _cleaned(entry: dict) -> dict:
    """Every text of an entry as ``clean`` makes it (no lone surrogates, no control
    characters, at most its field's ``LIMITS``), in NFKC as queries are."""
    out = {name: clean(value, LIMITS.get(name, CODE_LIMIT)) if isinstance(value, str) else value
           for name, value in entry.items()}
    for name in _NORMALISED:
        if name in out:
            out[name] = normalise(out[name])
    return out


# The searched texts (keys, codes and archive numbers as the dossier has them).
_NORMALISED = ("title", "body", "_stored_body", "names", "people", "pinyin", "idno", "phone", "number", "grams")


def _empty(value) -> bool:
    return value is None or (isinstance(value, (str, list, tuple)) and not value)


def _text(value) -> str:
    """A metadata value as text (a value of the wrong type is indexed as what it says)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _shown(schema_, path, value) -> str:
    """The value as the dossier page shows it, or as stored when it cannot be shown
    (a code no longer in its vocabulary, a value of another type)."""
    if _empty(value):
        return ""
    try:
        return _text(schema_.display(path, value))
    except Exception:
        return _text(value)


def _as_datetime(value):
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    return None
