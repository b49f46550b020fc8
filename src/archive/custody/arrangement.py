"""Arrangement (整理, DA/T 22-2015): each document is one 件 of its dossier.

A document's 件号 is given at filing, in filing order, and never reused
(``records.dossier.Dossier.file_document``); its retention period (保管期限: Y 永久, D30,
D10) comes from the table ``schemas/retention.yaml``; its carrier (载体: 纸质, 电子,
纸电同步) from its own metadata; its digitization state from its files. The 归档章 — 全宗号,
年度, 保管期限, 件号, 页数 — is read from these, never typed.

What other concerns read (statistics, disposition, the bound volume, hand-over packages):

    item_no(document) -> int | None
    retention(document, rules=None) -> "Y" | "D30" | "D10"
    volume_retention(dossier, rules=None) -> the longest period of its current documents
    carrier(document) -> "electronic" | "paper" | "hybrid"
    digitization(document) -> "born_digital" | "digitized" | "ocr_pending" | "ocr_done" | "ocr_failed" | "not_digitized"
    filing_stamp(dossier, document, rules=None) -> {"fonds", "year", "retention", "item_no", "pages"}

``rules`` is the compiled :class:`Rules` (the web application's ``registry.archive_custody``);
left out, the installation's default ``schemas/`` are compiled once and used.
"""
from __future__ import annotations

import datetime as _dt
import functools
import pathlib
from dataclasses import dataclass

import yaml

from ..records.container import KINDS, every_dossier

CARRIER_DEFAULT = "electronic"   # a document filed without saying has only its electronic file
DIGITIZATION = {  # code: (zh, en)
    "born_digital": ("原生电子文件", "Born digital"),
    "digitized": ("已数字化", "Digitized"),
    "ocr_pending": ("已扫描，待识别", "Scanned, awaiting OCR"),
    "ocr_done": ("已扫描并识别", "Scanned and recognised"),
    "ocr_failed": ("已扫描，识别失败", "Scanned, OCR failed"),
    "not_digitized": ("未数字化", "Not digitized"),
}


class ArrangementError(Exception):
    """A retention table that cannot be used; stops start-up with the file and key."""


@dataclass(frozen=True)
class Rules:
    """The arrangement rules of an installation, compiled once at start-up.

    ``periods``: code → years (None = 永久); ``by_type``: document type → period;
    ``defaults``: dossier kind → period; ``fonds``: jurisdiction → (全宗号, 全宗名称);
    ``titles``: vocabulary name → {code: (zh, en)} for the periods and carriers.
    """
    periods: dict
    by_type: dict
    defaults: dict
    fonds: dict
    titles: dict

    def period(self, doc_type, kind) -> str:
        """The retention period of a document type in a dossier of ``kind``."""
        return self.by_type.get(doc_type) or self.defaults[kind]

    def longest(self, codes) -> str | None:
        """The longest of some periods (永久 before any number of years)."""
        codes = [c for c in codes if c]
        if not codes:
            return None
        return max(codes, key=lambda c: float("inf") if self.periods[c] is None else self.periods[c])

    def title(self, vocabulary, code, locale="zh") -> str:
        """A code as a clerk reads it: 永久, 30年, 纸质 …"""
        pair = self.titles.get(vocabulary, {}).get(code)
        if pair is None:
            return code or ""
        return pair[1] if locale == "en" else pair[0]

    def fonds_of(self, dossier) -> tuple[str, str]:
        """(全宗号, 全宗名称) of the dossier's jurisdiction."""
        code = (dossier.metadata or {}).get("jurisdiction", "")
        return self.fonds.get(code) or (dossier.archive_no.split("-", 1)[0], "")


def compile_rules(schemas, path=None) -> Rules:
    """Read ``retention.yaml`` beside the schemas and check it against the vocabularies."""
    path = pathlib.Path(path or pathlib.Path(schemas.directory) / "retention.yaml")
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ArrangementError(f"cannot read {path}: {exc}") from exc
    vocab = schemas.vocabularies
    known = set(vocab["retention_periods"].codes())
    periods = data.get("periods") or {}
    for code, years in periods.items():
        if code not in known:
            raise ArrangementError(f"{path}: periods.{code}: not a retention period of "
                                   f"vocabularies.yaml ({sorted(known)})")
        if years is not None and (not isinstance(years, int) or years <= 0):
            raise ArrangementError(f"{path}: periods.{code}: years must be a positive whole number or null")
    for where, mapping, names in (("defaults", data.get("defaults") or {}, KINDS),
                                  ("document_types", data.get("document_types") or {},
                                   vocab["document_types"].codes())):
        for name, code in mapping.items():
            if name not in names:
                raise ArrangementError(f"{path}: {where}.{name}: unknown "
                                       f"{'dossier kind' if where == 'defaults' else 'document type'}")
            if code not in periods:
                raise ArrangementError(f"{path}: {where}.{name}: unknown retention period {code!r} "
                                       f"(known: {sorted(periods)})")
    defaults = data.get("defaults") or {}
    for kind in KINDS:
        if kind not in defaults:
            raise ArrangementError(f"{path}: defaults.{kind}: every dossier kind needs a default period")
    fonds = {t.code: (t.extra.get("fonds", t.code.upper()),
                      t.extra.get("fonds_name") or f"{t.zh}住房保障档案")
             for t in vocab["jurisdictions"].terms}
    titles = {name: {t.code: (t.zh, t.en) for t in vocab[name].terms}
              for name in ("retention_periods", "carriers", "document_types")}
    return Rules(dict(periods), dict(data.get("document_types") or {}), dict(defaults), fonds, titles)


_installed = []          # the rules the running app or command compiled from its schemas


def install(rules):
    """Make ``rules`` the ones ``default_rules`` gives in this process: the app and every
    command compile them at start-up from the schemas they run on (``archive.schemas_dir``),
    so the model's own defaults (a bound volume, a disposition date) follow that directory
    and not the code's shipped ``schemas/``. ``None`` goes back to the shipped ones."""
    _installed[:] = [rules] if rules is not None else []


def installed():
    """The rules ``install`` made current (None: the shipped ones)."""
    return _installed[0] if _installed else None


def default_rules() -> Rules:
    """The rules of the running installation (``install``), else of the code's ``schemas/``."""
    return _installed[0] if _installed else _shipped_rules()


@functools.lru_cache(maxsize=1)
def _shipped_rules() -> Rules:
    from ..schema.registry import SchemaRegistry, default_directory
    return compile_rules(SchemaRegistry(default_directory()))


def _rules(rules):
    return rules if rules is not None else default_rules()


# -- the public functions ----------------------------------------------------------------
def item_no(document) -> int | None:
    """件号 within its dossier: given at filing, in filing order, never reused."""
    return document.item_no


def retention(document, rules=None) -> str:
    """保管期限 of a document, from the table by its type (or its dossier kind's default)."""
    kind = getattr(document.__parent__, "kind", None) or "household"
    return _rules(rules).period(document.metadata.get("doc_type"), kind)


def volume_retention(dossier, rules=None) -> str | None:
    """The bound volume's period: the longest of its current documents' (None when empty)."""
    rules = _rules(rules)
    return rules.longest(retention(d, rules) for d in dossier.active_documents())


def carrier(document) -> str:
    """载体: electronic, paper (the filed PDF is its scan) or hybrid (纸电同步)."""
    return document.metadata.get("carrier") or CARRIER_DEFAULT


def digitization(document) -> str:
    """How far the document is digitized: an electronic original needs nothing; a paper
    one is digitized by its scan, whose text is then read from its layer or by OCR."""
    revision = document.current_file
    if revision is None:
        return "not_digitized"
    if carrier(document) == "electronic":
        return "born_digital"
    status = getattr(revision, "text_status", "done")
    return status if status in ("ocr_pending", "ocr_done", "ocr_failed") else "digitized"


def document_year(document) -> int | None:
    """年度: the year the document was made (its date), else the year it was filed."""
    day = document.metadata.get("date")
    if isinstance(day, (_dt.date, _dt.datetime)):
        return day.year
    if isinstance(day, str) and len(day) >= 4 and day[:4].isdigit():
        return int(day[:4])
    revision = document.current_file
    return revision.filed_at.year if revision is not None else None


def filing_stamp(dossier, document, rules=None) -> dict:
    """归档章: 全宗号 (fonds), 年度 (year), 保管期限 (retention), 件号 (item_no), 页数 (pages)."""
    rules = _rules(rules)
    revision = document.current_file
    return {"fonds": rules.fonds_of(dossier)[0], "year": document_year(document),
            "retention": retention(document, rules), "item_no": item_no(document),
            "pages": revision.pages if revision is not None else 0}


def arrangement_json(dossier, document, rules=None, locale="zh") -> dict:
    """What the API shows of a document's arrangement: the 归档章 and carrier, with titles."""
    rules = _rules(rules)
    stamp = filing_stamp(dossier, document, rules)
    state = digitization(document)
    return {**stamp, "retention_title": rules.title("retention_periods", stamp["retention"], locale),
            "carrier": carrier(document),
            "carrier_title": rules.title("carriers", carrier(document), locale),
            "digitization": state,
            "digitization_title": DIGITIZATION[state][1 if locale == "en" else 0]}


def number_items(root, progress=None) -> int:
    """Give 件号 to documents filed before item numbers existed, in filing order (evolve).

    A dossier's documents already numbered keep theirs; the rest follow in the order they
    were filed (first file's time, then document id); returns how many were numbered."""
    dossiers = list(every_dossier(root))
    numbered = 0
    for done, dossier in enumerate(dossiers, 1):
        docs = sorted(dossier.documents.values(), key=_filing_order)
        seq = max([d.item_no for d in docs if d.item_no] + [dossier._item_seq])
        for doc in docs:
            if doc.item_no is None:
                seq += 1
                doc.item_no = seq
                numbered += 1
        if seq != dossier._item_seq:
            dossier._item_seq = seq
        if progress is not None:
            progress(done, len(dossiers))
    return numbered


def _filing_order(doc):
    first = doc.files[0].filed_at if len(doc.files) else None
    return (first is None, first or _dt.datetime.min.replace(tzinfo=_dt.timezone.utc), doc.doc_id)
