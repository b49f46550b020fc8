"""Filing (归档): the operations clerks, the API, the CLI and the demo all go through.

Each takes raw input (form or JSON values), validates it against the compiled schema,
and calls the model; on any error it raises before touching the database, so bad input
changes nothing.
"""
from __future__ import annotations

import datetime as _dt

import colander

from ..access.local import OutOfScope
from ..schema import idnumber
from .dossier import KINDS, MAX_COMMENT, Dossier
from . import intake
from .formats import inspect
from .pdf import MAX_PAGES
from ..schema.registry import SchemaRegistry, error_messages


class ValidationFailed(ValueError):
    """Input that does not satisfy the schema; ``errors`` maps field paths to messages."""

    def __init__(self, errors: dict):
        super().__init__("；".join(errors.values()))
        self.errors = errors


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def validate(registry: SchemaRegistry, kind: str, cstruct: dict, locale="zh", today=None) -> dict:
    """Deserialize and check input; returns the metadata as stored."""
    schema = registry[kind]
    if not isinstance(cstruct, dict):
        raise ValidationFailed({"_": "提交的数据格式不正确"})
    try:
        appstruct = schema.checker(locale, today=today).deserialize(_as_cstruct(cstruct))
    except colander.Invalid as exc:
        raise ValidationFailed(error_messages(exc, schema, locale)) from None
    return normalize(appstruct)


def _as_cstruct(value, depth=0):
    """JSON nulls become colander's null; other values keep their JSON type, so a number
    where text is expected (or text where a list is) is refused by the schema's types."""
    if depth > 32:
        raise ValidationFailed({"_": "数据嵌套过深"})
    if isinstance(value, dict):
        return {k: _as_cstruct(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_cstruct(v, depth + 1) for v in value]
    if value is None:
        return colander.null
    return value


def normalize(appstruct: dict) -> dict:
    """Stored form: sets as sorted lists, ID numbers upper-case, birth dates from the ID."""
    out = {}
    for key, value in appstruct.items():
        if isinstance(value, (set, frozenset, tuple)):
            value = sorted(value)
        elif isinstance(value, dict):
            value = normalize(value)
        elif isinstance(value, list):
            value = [normalize(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, float):
            value = round(value, 2)
        out[key] = value
    if out.get("id_number"):
        out["id_number"] = idnumber.normalize(out["id_number"])
        if not out.get("birth_date") and "birth_date" in out:
            out["birth_date"] = idnumber.birth_date(out["id_number"])
    return out


def fonds_of(registry, metadata) -> str:
    """全宗号 of the dossier's jurisdiction."""
    term = registry.vocabularies["jurisdictions"][metadata["jurisdiction"]]
    return term.extra.get("fonds", term.code.upper())


def create_dossier(root, registry, kind, cstruct, actor, comment="", when=None,
                   patterns=None, locale="zh", state=None, scope=None) -> Dossier:
    """Validate, number (档号) and store a new dossier; its version 1 records the creation.

    ``state`` is where the procedure starts (``Workflows.initial_state`` decides it). A
    local role's ``scope`` (archive.access.local.Scope; None: anywhere) admits only its own
    jurisdictions, checked before a number is issued, so the 全宗 is always its city's."""
    when = when or now()
    metadata = validate(registry, kind, cstruct, locale, today=when.date())
    if scope is not None and metadata.get("jurisdiction") not in scope.places:
        raise OutOfScope(f"只能在您的辖区建档，不能在“{_city(registry, metadata.get('jurisdiction'))}”建档")
    if comment and len(comment) > MAX_COMMENT:  # as every later version's (dossier._check_comment)
        raise ValidationFailed({"comment": f"修改说明：不能超过{MAX_COMMENT}个字符"})
    pattern = (patterns or {}).get(kind) or registry.numbering[kind]
    number = root.numbers.issue(pattern, kind, fonds_of(registry, metadata), when.year)
    dossier = KINDS[kind](number, metadata, actor, when, comment or "建档", state=state)
    return root.container(kind).add(dossier)


def _city(registry, code):
    """A jurisdiction's Chinese name, for a message (the code when unknown)."""
    try:
        return registry.vocabularies["jurisdictions"][code].zh
    except (KeyError, TypeError):
        return code or "（未填）"


def edit_dossier(dossier, registry, cstruct, actor, comment="", when=None, locale="zh"):
    when = when or now()
    metadata = validate(registry, dossier.kind, cstruct, locale, today=when.date())
    return dossier.update(metadata, actor, when, comment)


def check_document_type(registry, dossier, metadata):
    """A household document type cannot be filed into a unit dossier, and vice versa."""
    term = registry.vocabularies["document_types"][metadata["doc_type"]]
    if term.extra.get("kind") not in (dossier.kind, "both"):
        raise ValidationFailed({"doc_type": f"文件类型：“{term.zh}”不属于此类档案"})


def max_pages(settings=None) -> int:
    """Pages a filed PDF may have: ``archive.max_pages`` of the running application's
    settings (pdf.MAX_PAGES when there is none, as in the CLI's own imports)."""
    if settings is None:
        from pyramid.threadlocal import get_current_registry
        settings = getattr(get_current_registry(), "settings", None) or {}
    try:
        return max(1, int(settings.get("archive.max_pages") or MAX_PAGES))
    except (TypeError, ValueError):
        return MAX_PAGES


def file_document(dossier, registry, cstruct, data, filename, actor, comment="",
                  when=None, limit=None, locale="zh", pages=None):
    """Validate the description and the file (PDF, OFD or a scan's image: records.formats),
    then file it as a new document.

    ``pages`` bounds the file's page count (default: ``max_pages()``); a file over it is
    refused here, before anything is stored or queued for the text layer and OCR."""
    metadata = validate(registry, "document", cstruct, locale)
    check_document_type(registry, dossier, metadata)
    facts = inspect(data, limit, pages or max_pages())
    doc = dossier.file_document(metadata, data, facts, filename, actor, when or now(), comment)
    record_intake(registry, dossier, doc, facts)
    queue_text(dossier, doc)
    return doc


def refile_document(dossier, doc_id, data, filename, actor, comment="", when=None, limit=None,
                    pages=None, registry=None):
    """A new file for an existing document (a new file revision, the old one kept)."""
    dossier.document(doc_id)  # unknown document: refuse before reading the upload
    facts = inspect(data, limit, pages or max_pages())
    version = dossier.refile_document(doc_id, data, facts, filename, actor, when or now(), comment)
    record_intake(registry, dossier, dossier.document(doc_id), facts)
    queue_text(dossier, dossier.document(doc_id))
    return version


def record_intake(registry, dossier, doc, facts):
    """Keep the intake check (接收检测) with the new file revision: what filing checked, as a
    record (archive.records.intake); the registry gives the schema and the 档号 rule."""
    if registry is None:
        doc.current_file.intake = intake.file_checks(facts)
        return
    checks = intake.at_filing(facts, registry["document"], doc.metadata, dossier.archive_no,
                              registry.numbering[dossier.kind])
    numbers = getattr(getattr(dossier.__parent__, "__parent__", None), "numbers", None)
    if not checks[-1].passed and numbers is not None and dossier.archive_no in numbers.issued:
        # issued by this archive under the rule of the day (an ini pattern, an older rule)
        checks = checks[:-1] + (intake.Check("archive_no", True, "本档案库按当时的档号规则编号"),)
    doc.current_file.intake = checks


def queue_text(dossier, doc):
    """The new file's text layer is read after the commit (archive.workers.textlayer); the dossier
    goes with it so the text, once read, reaches the search index."""
    root = dossier.__parent__.__parent__
    root.text_queue.add(doc.current_file, dossier)


def edit_document(dossier, registry, doc_id, cstruct, actor, comment="", when=None, locale="zh"):
    dossier.document(doc_id)
    metadata = validate(registry, "document", cstruct, locale)
    check_document_type(registry, dossier, metadata)
    return dossier.update_document(doc_id, metadata, actor, when or now(), comment)
