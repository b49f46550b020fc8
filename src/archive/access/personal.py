"""Personal information (个人信息) in dossier metadata: which fields, and how to mask them.

Fields marked ``personal: true`` in a schema are shown masked to everyone by default;
a user whose role may see them unmasked asks for it explicitly and the request is
logged (个人信息保护法: access on a need-to-know basis, and a trace of it).
"""
from __future__ import annotations

import copy

from ..schema import idnumber


def mask_value(kind: str, value):
    """The masked form of one value of a field type."""
    if not value or not isinstance(value, str):
        return value
    if kind == "id_number":
        return idnumber.mask(value)
    if kind == "phone":
        return value[:3] + "*" * max(len(value) - 7, 1) + value[-4:] if len(value) > 7 else "****"
    return value[:6] + "***" if len(value) > 6 else value[:1] + "***"


def mask_metadata(schema, metadata: dict) -> dict:
    """A copy of the metadata with every personal field masked."""
    out = copy.deepcopy(metadata)
    _mask(schema.fields, out)
    return out


def _mask(specs, data):
    for spec in specs:
        if spec.name not in data:
            continue
        if spec.type == "mapping" and isinstance(data[spec.name], dict):
            _mask(spec.fields, data[spec.name])
        elif spec.type == "sequence":
            for item in data[spec.name] or ():
                if isinstance(item, dict):
                    _mask(spec.item.fields, item)
        elif spec.personal:
            data[spec.name] = mask_value(spec.type, data[spec.name])


def mask_path(schema, path, value):
    """One value at a dotted path (``members.0.id_number``), masked when its field is personal.

    Used where versions are compared: values are compared as stored and masked only for
    display, so a change to a personal field is always listed.
    """
    spec = schema.spec(path)
    if spec is not None and spec.personal:
        return mask_value(spec.type, value)
    return value


def has_personal(schema) -> bool:
    return any(spec.personal for spec in schema.by_path.values())
