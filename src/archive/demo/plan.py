"""The plan of a demo dossier: what it starts as and everything that will happen to it.

The demo city is drawn whole before anything is filed, because a household's lease needs
a unit that was free at the time, a unit's history needs its tenants, and the document
budget is shared by every dossier. These records carry that plan from the drawing to the
filing; they are plain objects compared by identity, never stored.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from ..workflow.workdays import is_working_day
from .places import City

DAY = _dt.timedelta(days=1)


@dataclass(eq=False)
class Doc:
    """A document a dossier will hold: its type, its date and what it concerns.

    ``after`` files it after the same day's procedure step (a step's own outcome, such as
    the 登记通知 of a registration); a document a step needs is always filed before it.
    """
    doc_type: str
    date: _dt.date
    variant: object = None  # department index, proof group, year or (year, quarter)
    tenancy: "Tenancy | None" = None
    after: bool = False


@dataclass(eq=False)
class Step:
    """One procedure step (archive.workflow) the dossier takes on ``day``.

    ``needs`` are the documents filed for it (the profile's required documents for the
    step's stage, at least); ``inputs`` may name a unit's plan, replaced by its 档号 when
    the step is taken; ``refused`` marks a step the demo expects the procedure to refuse.
    """
    name: str
    day: _dt.date
    comment: str = ""
    actor: str = "reviewer"
    inputs: dict = field(default_factory=dict)
    override: bool = False
    tenancy: "Tenancy | None" = None
    needs: list = field(default_factory=list)
    refused: bool = False


@dataclass(eq=False)
class Tenancy:
    """One allocation of a unit to a household, and the lease it became (if signed).

    ``outcome`` is signed, declined (放弃, lapses) or excused (declined with good cause,
    back to waiting); ``start``/``end`` are the lease term, ``renewals`` its extensions
    (day, new end), ``ended`` the day the unit was handed back (or the forced exit).
    """
    household: "Plan"
    allocated: _dt.date
    outcome: str = "signed"
    unit: "Plan | None" = None
    signed: _dt.date | None = None
    start: _dt.date | None = None
    end: _dt.date | None = None
    renewals: list = field(default_factory=list)
    ended: _dt.date | None = None
    rent: float | None = None
    deposit: float | None = None

    def end_on(self, day):
        """The lease's end date as it stood on ``day`` (renewals push it later)."""
        end = self.end
        for when, new_end in self.renewals:
            if when <= day:
                end = new_end
        return end


@dataclass(eq=False)
class Plan:
    """One dossier to be made: its first metadata and its history.

    ``core`` documents are the ones its procedure steps need (and what shows a paper file's
    stage) and are always filed; ``extras`` are the other records its history produced,
    filed as far as the document budget allows.
    """
    kind: str
    city: City
    created: _dt.date
    cstruct: dict
    state: str = ""                               # where the procedure leaves it
    entry: str | None = None                      # units: the state it is registered in
    steps: list = field(default_factory=list)
    core: list = field(default_factory=list)
    extras: list = field(default_factory=list)
    docs: list = field(default_factory=list)
    edits: list = field(default_factory=list)     # (date, changes, comment)
    refiles: list = field(default_factory=list)   # (date, Doc)
    tenancies: list = field(default_factory=list)
    employer: str = ""
    free_from: _dt.date | None = None             # units: first day it can be allocated
    archive_no: str = ""
    role: str = ""                                # the part it plays in the demo's faults
    index: int = 0                                # filing order among dossiers


def years_before(day: _dt.date, years: int) -> _dt.date:
    """The same day ``years`` earlier (later when negative); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def between(rng, first: _dt.date, last: _dt.date) -> _dt.date:
    """A day from first to last inclusive (first when the range is empty)."""
    return first + rng.randint(0, max(0, (last - first).days)) * DAY


def workday(day: _dt.date) -> _dt.date:
    """The first working day on or after ``day``: offices act on working days (调休 included)."""
    while not is_working_day(day):
        day += DAY
    return day
