"""Metadata schemas and vocabularies, compiled from the data files in ``schemas/``.

The YAML files are what a housing office edits; this module reads them once at start-up,
checks them (an unknown vocabulary or rule stops start-up with a clear message) and builds
colander schemas that both the deform forms and the JSON API use, so the two can never
disagree about what a valid dossier is.
"""
from __future__ import annotations

import datetime as _dt
import pathlib
from dataclasses import dataclass, field

import colander
import deform.widget
import yaml

from . import validators

LOCALES = ("zh", "en")
SCALARS = {"string", "text", "id_number", "date", "choice", "multichoice",
           "money", "area", "integer", "phone"}


class SchemaError(Exception):
    """A schema data file is wrong; raised at start-up, never at request time."""


@dataclass(frozen=True)
class Term:
    """One entry of a controlled vocabulary (受控词表)."""
    code: str
    zh: str
    en: str
    extra: dict = field(default_factory=dict)

    def title(self, locale="zh"):
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Vocabulary:
    """An ordered list of terms, looked up by code."""
    name: str
    terms: tuple

    def __post_init__(self):
        object.__setattr__(self, "_by_code", {t.code: t for t in self.terms})

    def __contains__(self, code):
        return code in self._by_code

    def __getitem__(self, code) -> Term:
        return self._by_code[code]

    def codes(self):
        return [t.code for t in self.terms]

    def title(self, code, locale="zh"):
        """The term's title, or the raw code when a stored value left the vocabulary."""
        term = self._by_code.get(code)
        return term.title(locale) if term else str(code)

    def choices(self, locale="zh"):
        return [(t.code, t.title(locale)) for t in self.terms]


@dataclass(frozen=True)
class FieldSpec:
    """One metadata field as declared in a schema file."""
    name: str
    type: str
    title: dict
    required: bool = False
    vocabulary: str | None = None
    personal: bool = False
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    default: object = None
    description: dict | None = None
    omit_empty: bool = False   # left empty, the field is not stored at all (added later: old records match)
    fields: tuple = ()
    item: "FieldSpec | None" = None

    def label(self, locale="zh"):
        return self.title.get(locale) or self.title.get("zh") or self.name


class DossierSchema:
    """The compiled metadata schema of one kind (household, unit, document)."""

    def __init__(self, kind, title, fields, rules, listing, vocabularies):
        self.kind, self.title, self.fields = kind, title, fields
        self.rules, self.listing, self.vocabularies = rules, listing, vocabularies
        self.by_path = dict(_walk(fields, ()))
        self._compiled = {loc: self._build(loc) for loc in LOCALES}

    # -- colander --------------------------------------------------------------
    def colander(self, locale="zh", today=None) -> colander.SchemaNode:
        """A fresh, bound schema (forms mutate their schema, so never share one)."""
        schema = self._compiled.get(locale, self._compiled["zh"]).clone()
        return schema.bind(today=today or _dt.date.today())

    def checker(self, locale="zh", today=None) -> colander.SchemaNode:
        """A bound schema shared for ``deserialize`` only (which never changes it): cloning
        and binding a schema costs more than checking one record, and an import checks
        thousands. Kept per locale and day (the schema's "not in the future" rules)."""
        key = (locale if locale in self._compiled else "zh", today or _dt.date.today())
        checkers = self.__dict__.setdefault("_checkers", {})
        schema = checkers.get(key)
        if schema is None:
            if len(checkers) > 64:
                checkers.clear()
            schema = checkers[key] = self.colander(*key)
        return schema

    def _build(self, locale):
        schema = colander.SchemaNode(colander.Mapping(unknown="ignore"), name=self.kind, title="")
        for spec in self.fields:
            schema.add(self._node(spec, locale))
        rules = [validators.RULES[name] for name in self.rules]
        if rules:
            schema.validator = colander.All(*rules)
        return schema

    def _node(self, spec: FieldSpec, locale):
        kw = {"name": spec.name, "title": spec.label(locale)}
        if spec.description:
            kw["description"] = spec.description.get(locale) or spec.description.get("zh")
        missing_msg = "必填项" if locale == "zh" else "Required"
        if spec.type == "mapping":
            node = colander.SchemaNode(colander.Mapping(unknown="ignore"),
                                       missing_msg=missing_msg, **kw)
            for child in spec.fields:
                node.add(self._node(child, locale))
            return node
        if spec.type == "sequence":
            item = self._node(spec.item, locale)
            return colander.SchemaNode(
                colander.Sequence(), item, missing=[], **kw,
                widget=deform.widget.SequenceWidget(orderable=False))
        typ, widget, checks = self._scalar(spec, locale)
        if spec.required:
            kw["missing"] = colander.required
            kw["missing_msg"] = missing_msg
        else:
            kw["missing"] = colander.drop if spec.omit_empty else self._empty(spec)
        if spec.default is not None:
            kw["default"] = spec.default
        if spec.max_length:
            checks.append(validators.MaxLength(spec.max_length))
        if checks:
            kw["validator"] = colander.All(*checks) if len(checks) > 1 else checks[0]
        return colander.SchemaNode(typ, widget=widget, preparer=_strip, **kw)

    def _scalar(self, spec, locale):
        """colander type, deform widget and validators for a scalar field type."""
        t = spec.type
        if t in ("string", "id_number", "phone"):
            checks = {"id_number": [validators.id_number], "phone": [validators.phone]}.get(t, [])
            return validators.Text(), deform.widget.TextInputWidget(), list(checks)
        if t == "text":
            return validators.Text(), deform.widget.TextAreaWidget(rows=3), []
        if t == "date":
            return colander.Date(), deform.widget.TextInputWidget(type="date"), []
        if t in ("money", "area"):
            low = 0.0 if spec.min is None else spec.min
            return (validators.Number(), deform.widget.TextInputWidget(),
                    [validators.Quantity(low, spec.max)])
        if t == "integer":
            return validators.WholeNumber(), deform.widget.TextInputWidget(), [
                validators.Quantity(spec.min or 0, spec.max)]
        vocab = self.vocabularies[spec.vocabulary]
        if t == "choice":
            values = [("", "— 请选择 —" if locale == "zh" else "— choose —")]
            return (validators.Text(),
                    deform.widget.SelectWidget(values=values + vocab.choices(locale)),
                    [validators.OneOf(vocab.codes())])
        return (validators.Choices(),
                deform.widget.CheckboxChoiceWidget(values=vocab.choices(locale), inline=True),
                [validators.OneOf(vocab.codes())])

    @staticmethod
    def _empty(spec):
        return {"multichoice": (), "string": "", "text": "", "phone": "",
                "id_number": "", "choice": ""}.get(spec.type)

    # -- helpers used by versions, listings and the API ------------------------------
    def field_title(self, path, locale="zh"):
        """A human title for a dotted path such as ``members.2.name`` (共同申请人 3 · 姓名)."""
        parts, titles, spec_path = path.split("."), [], []
        for part in parts:
            if part.isdigit():
                titles[-1] = f"{titles[-1]} {int(part) + 1}"
                continue
            spec_path.append(part)
            spec = self.by_path.get(".".join(spec_path))
            titles.append(spec.label(locale) if spec else part)
        return " · ".join(titles)

    def spec(self, path) -> FieldSpec | None:
        """The FieldSpec for a dotted path, list positions ignored."""
        return self.by_path.get(".".join(p for p in path.split(".") if not p.isdigit()))

    def display(self, path, value, locale="zh"):
        """A value as a clerk reads it: vocabulary titles instead of codes."""
        spec = self.spec(path)
        if value is None or value == "" or value == () or value == []:
            return ""
        if spec and spec.vocabulary:
            vocab = self.vocabularies[spec.vocabulary]
            if isinstance(value, (list, tuple, set, frozenset)):
                return "、".join(vocab.title(v, locale) for v in value)
            return vocab.title(value, locale)
        if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float, _dt.date)) for v in value):
            # a list of plain values (an employer's 名册 of 档号): as a clerk writes a list
            return "、".join(self.display(path, v, locale) for v in value if v not in (None, ""))
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, _dt.date):
            return value.isoformat()
        return str(value)


def _walk(fields, prefix):
    """(dotted path, spec) for every field, sequences flattened to their item's fields."""
    for spec in fields:
        path = prefix + (spec.name,)
        yield ".".join(path), spec
        if spec.type == "mapping":
            yield from _walk(spec.fields, path)
        elif spec.type == "sequence":
            yield from _walk(spec.item.fields, path)


def _strip(value):
    """Blank input counts as missing, so a required field cannot be filled with spaces."""
    if isinstance(value, str):
        return value.strip() or colander.null
    return value


def _colander_translator(locale):
    """colander's own messages ("is not a number", "Invalid date") in the user's language."""
    import gettext

    import translationstring
    if locale == "en":
        return None
    catalog = gettext.translation("colander", pathlib.Path(colander.__file__).parent / "locale",
                                  languages=["zh_Hans"], fallback=True)
    return translationstring.Translator(catalog)


def error_messages(exc: colander.Invalid, schema: DossierSchema, locale="zh") -> dict:
    """``{dotted path: "字段：问题"}`` — each message names its field, for the API and logs."""
    out = {}
    for path, message in exc.asdict(translate=_colander_translator(locale), separator="; ").items():
        name = path.split(".", 1)[1] if "." in path else path
        if name == schema.kind:
            out["_"] = message
        else:
            out[name] = f"{schema.field_title(name, locale)}：{message}"
    return out


# -- loading ------------------------------------------------------------------------
class SchemaRegistry:
    """Every vocabulary and schema of the installation, loaded once from a directory."""

    def __init__(self, directory):
        self.directory = pathlib.Path(directory)
        raw = _load_yaml(self.directory / "vocabularies.yaml")
        self.vocabularies = {name: _vocabulary(name, self._terms(terms))
                             for name, terms in raw.items()}
        self.numbering = _load_yaml(self.directory / "archive_numbers.yaml")
        self.kinds = {}
        for kind in ("household", "unit", "employer", "document"):
            data = _load_yaml(self.directory / f"{kind}.yaml")
            self.kinds[kind] = self._compile(data)

    def _terms(self, terms):
        """A vocabulary's terms, or those of the jurisdiction profiles it points to, so a
        new city's profile file is all it takes to add the city to every menu."""
        if isinstance(terms, dict) and "profiles" in terms:
            from ..workflow.profiles import ProfileError, Profiles
            try:
                return Profiles(self.directory / terms["profiles"]).terms()
            except ProfileError as exc:
                raise SchemaError(str(exc)) from None
        return terms

    def __getitem__(self, kind) -> DossierSchema:
        return self.kinds[kind]

    def _compile(self, data):
        where = data.get("kind", "?")
        fields = tuple(self._spec(f, where) for f in data["fields"])
        unknown = [r for r in data.get("rules") or () if r not in validators.RULES]
        if unknown:
            raise SchemaError(f"{where}: unknown rule(s) {unknown}; known: {sorted(validators.RULES)}")
        return DossierSchema(data["kind"], data["title"], fields, tuple(data.get("rules") or ()),
                             data.get("listing") or {}, self.vocabularies)

    def _spec(self, f, where):
        name, typ = f.get("name"), f.get("type")
        here = f"{where}.{name}"
        if typ not in SCALARS | {"mapping", "sequence"}:
            raise SchemaError(f"{here}: unknown field type {typ!r}")
        if typ in ("choice", "multichoice") and f.get("vocabulary") not in self.vocabularies:
            raise SchemaError(f"{here}: unknown vocabulary {f.get('vocabulary')!r}")
        if "title" not in f:
            raise SchemaError(f"{here}: a field needs a title")
        children = tuple(self._spec(c, here) for c in f.get("fields") or ())
        if typ == "sequence" and not isinstance(f.get("item"), dict):
            raise SchemaError(f"{here}: a sequence needs an item")
        item = self._spec(f["item"], here) if typ == "sequence" else None
        known = {k: f[k] for k in ("required", "vocabulary", "personal", "max_length",
                                   "min", "max", "default", "description", "omit_empty") if k in f}
        return FieldSpec(name=name, type=typ, title=f["title"], fields=children, item=item, **known)


def _vocabulary(name, terms):
    out = []
    for t in terms:
        extra = {k: v for k, v in t.items() if k not in ("code", "zh", "en")}
        out.append(Term(str(t["code"]), t["zh"], t.get("en", t["zh"]), extra))
    return Vocabulary(name, tuple(out))


def _load_yaml(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise SchemaError(f"cannot read {path}: {exc}") from exc


def default_directory() -> pathlib.Path:
    """``schemas/`` at the top of the checkout (the package lives in src/archive)."""
    return pathlib.Path(__file__).resolve().parents[3] / "schemas"
