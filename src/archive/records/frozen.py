"""Immutable records (frozen dataclasses) pickled by position, not by field name.

A frozen dataclass pickles by default as its class and a dict of every field, names
included: a version's field names alone were about 90 bytes of each 530-byte version
record, and the nine intake checks a file revision carries were a third of its record
(bench/growth.py). ``compact`` pickles one as its class and its field values in order,
leaving out trailing values equal to their defaults; unpickling calls the class with
those values. Records pickled the default way before still load as they were (pickle's
own path for them is unchanged), so no stored data needs converting.
"""
from __future__ import annotations

import dataclasses

_MISSING = dataclasses.MISSING


def compact(cls):
    """Class decorator: ``cls`` (a frozen dataclass) pickles by position (see above)."""
    fields = tuple(f for f in dataclasses.fields(cls) if f.init)
    defaults = tuple(f.default if f.default is not _MISSING else
                     (f.default_factory() if f.default_factory is not _MISSING else _MISSING)
                     for f in fields)

    def __reduce__(self):
        values = [getattr(self, f.name) for f in fields]
        while values and defaults[len(values) - 1] is not _MISSING \
                and _same(values[-1], defaults[len(values) - 1]):
            values.pop()
        return cls, tuple(values)

    cls.__reduce__ = __reduce__
    return cls


def _same(value, default) -> bool:
    """Equal to the default and of its type (False is not 0, () is not [])."""
    return type(value) is type(default) and value == default
