"""The plan of a demo dossier: what it starts as and everything that will happen to it.

The demo city is drawn whole before anything is filed, because a household's lease needs
a unit that was free at the time, a unit's history needs its tenants, and the document
budget is shared by every dossier. These records carry that plan from the drawing to the
filing; they are plain objects compared by identity, never stored.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from .places import City

DAY = _dt.timedelta(days=1)


@dataclass(eq=False)
class Doc:
    """A document a dossier will hold: its type, its date and what it concerns."""
    doc_type: str
    date: _dt.date
    variant: object = None  # department index, proof group, year or (year, quarter)
    tenancy: "Tenancy | None" = None


@dataclass(eq=False)
class Tenancy:
    """A lease joining one household and one unit; ``end`` is the exit date."""
    household: "Plan"
    unit: "Plan"
    allocated: _dt.date
    start: _dt.date | None
    end: _dt.date | None = None


@dataclass(eq=False)
class Plan:
    """One dossier to be made: its first metadata and its history.

    ``core`` documents show the dossier's stage and are always filed; ``extras`` are the
    other records its history produced, filed as far as the document budget allows.
    """
    kind: str
    city: City
    created: _dt.date
    cstruct: dict
    stage: str = ""
    dates: dict = field(default_factory=dict)
    core: list = field(default_factory=list)
    extras: list = field(default_factory=list)
    docs: list = field(default_factory=list)
    edits: list = field(default_factory=list)     # (date, changes, comment)
    refiles: list = field(default_factory=list)   # (date, Doc)
    tenancies: list = field(default_factory=list)
    employer: str = ""
    free_from: _dt.date | None = None             # units: first day it can be allocated
    archive_no: str = ""


def years_before(day: _dt.date, years: int) -> _dt.date:
    """The same day ``years`` earlier (later when negative); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def between(rng, first: _dt.date, last: _dt.date) -> _dt.date:
    """A day from first to last inclusive (first when the range is empty)."""
    return first + rng.randint(0, max(0, (last - first).days)) * DAY
