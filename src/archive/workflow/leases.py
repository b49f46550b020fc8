"""Leases (租赁关系): the link between a household's dossier and a unit's (一户一档 ↔ 一套一档).

A lease is offered when a unit is allocated, becomes current when the household signs,
and ends (or is cancelled) when the household declines, exits or is made to exit. The
same Lease object hangs on both dossiers, and each step is recorded in both histories.

At most one current household per unit and one current unit per household: both rules
are checked on the dossiers themselves, and every step writes both dossier objects, so
two concurrent allocations of one unit conflict in ZODB; the retried request then sees
the unit taken and is refused with a message, never a double let.
"""
from __future__ import annotations

import datetime as _dt

from persistent import Persistent

from ..records.book import KeyedBook, StatedEntry

OPEN = ("offered", "current")
STATES = {"offered": ("已配租待签约", "Offered"), "current": ("在租", "Current"),
          "ended": ("已终止", "Ended"), "cancelled": ("已取消", "Cancelled")}


class LeaseError(Exception):
    """A lease step the rules refuse; the message is for the clerk."""


class Lease(StatedEntry, Persistent):
    """One household in one unit for one period."""

    paid_through = None     # the last day the recorded rent covers (None: nothing paid yet)
    payments = ()           # (paid through, amount, when, actor), oldest first

    STATES, OPEN_STATES = STATES, OPEN

    def __init__(self, lease_id, household_no, unit_no, when, actor):
        self.lease_id = lease_id
        self.household_no, self.unit_no = household_no, unit_no
        self.allocated, self.allocated_by = when, actor
        self.state = "offered"
        self.start = self.end = None
        self.rent = self.deposit = None
        self.renewals = ()          # (old end, new end, when, actor)
        self.transition_until = None
        self.transition_rent = None
        self.ended_on = None
        self.end_reason = ""

    def summary(self):
        """Key facts for a version's details, as (label, value) pairs a clerk reads."""
        out = [("租赁编号", self.lease_id), ("住户档号", self.household_no), ("房源档号", self.unit_no)]
        if self.start:
            out += [("租期", f"{self.start.isoformat()} 至 {self.end.isoformat()}"),
                    ("月租金（元）", f"{self.rent:,.2f}")]
            if self.deposit is not None:
                out.append(("履约保证金（元）", f"{self.deposit:,.2f}"))
        return tuple(out)


class LeaseBook(KeyedBook):
    """Every lease by id, for listings and audits; the dossiers hold the live links."""

    def new(self, household, unit, when, actor) -> Lease:
        """A new lease numbered after its unit: 档号/序号, never reused."""
        seq = len(getattr(unit, "leases", ())) + 1
        lease = Lease(f"{unit.archive_no}/{seq:02d}", household.archive_no, unit.archive_no,
                      when, actor)
        self._items[lease.lease_id] = lease
        return lease


def record_payment(lease, paid_through, amount, when, actor):
    """Rent paid (租金缴纳): the record now covers the lease up to ``paid_through``."""
    if lease.start is None:
        raise LeaseError("租赁尚未起租，不能登记租金")
    covered = lease.paid_through or (lease.start - _dt.timedelta(days=1))
    if paid_through <= covered:
        raise LeaseError(f"缴至日期必须晚于已缴至日期 {covered.isoformat()}")
    if amount is not None and amount < 0:
        raise LeaseError("缴纳金额不能为负数")
    lease.payments = tuple(lease.payments) + ((paid_through, amount, when, actor),)
    lease.paid_through = paid_through


def months_in_arrears(lease, today: _dt.date) -> int:
    """Whole months of rent not covered by the record on ``today`` (0 when paid ahead).

    Rent is owed month by month from the lease's start; a lease paid through 31 March owes
    from 1 April, so on 1 October it is six months behind (DOMAIN.md: arrears ≥ 6 months)."""
    if lease.start is None:
        return 0
    owed_from = (lease.paid_through + _dt.timedelta(days=1)) if lease.paid_through else lease.start
    if owed_from > today:
        return 0
    months = (today.year - owed_from.year) * 12 + (today.month - owed_from.month)
    if today.day < owed_from.day:
        months -= 1
    return max(months, 0)


def current_lease(dossier):
    return getattr(dossier, "lease", None)


def attach(dossier, lease):
    """Make the lease the dossier's current one and add it to its lease history."""
    dossier.lease = lease
    dossier.leases = tuple(getattr(dossier, "leases", ())) + (lease,)


def detach(dossier):
    dossier.lease = None


def check_free(household, unit):
    """The one-to-one rule, with messages naming who holds what."""
    held = current_lease(unit)
    if held is not None and held.open:
        raise LeaseError(f"房源 {unit.archive_no} 已配租给 {held.household_no}，不能再配租")
    mine = current_lease(household)
    if mine is not None and mine.open:
        raise LeaseError(f"该户已配租房源 {mine.unit_no}，不能同时配租两套")


def check_term(start, end, min_years=None, max_years=None):
    """Problems with a lease term, as messages (empty when the term is allowed)."""
    if end <= start:
        return ["租期结束日期必须晚于开始日期"]
    years = _years(start, end)
    out = []
    if max_years is not None and years > max_years + 1e-9:
        out.append(f"租期 {years:g} 年超过本辖区上限 {max_years} 年")
    if min_years is not None and years < min_years - 1e-9:
        out.append(f"租期 {years:g} 年短于本辖区下限 {min_years} 年")
    return out


def _years(start: _dt.date, end: _dt.date) -> float:
    """Whole months between the dates, in years (a lease from 1 Jan to 1 Jan is 1 year)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return round(months / 12, 2) if months >= 0 else 0.0
