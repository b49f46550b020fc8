"""Credit bans (诚信档案的限制申请), as the workflow's ban guard sees them.

The full credit record — events, evidence, reports — builds on this; what the procedure
needs is one question: is this person barred from applying on this day, why, and until
when. Bans are kept per person (by ID number), never deleted: a ban that ends simply
stops being active on its end date.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .workdays import add_months

REASONS = {   # why a person may be barred (DOMAIN.md, the credit record)
    "fraud": ("提供虚假材料", "False material"),
    "sublet": ("转租、出借", "Sublet or lent"),
    "misuse": ("改变用途", "Change of use"),
    "arrears": ("累计欠租6个月以上", "Rent arrears of 6 months or more"),
    "illegal": ("利用住房从事违法活动", "Illegal activity"),
    "refuse_vacate": ("拒不腾退", "Refused to vacate"),
    "decline": ("无正当理由放弃配租", "Declined an allocation without cause"),
    "exit_offence": ("违规被收回住房", "Housing taken back for an offence"),
}


def reason_title(code, locale="zh"):
    zh, en = REASONS.get(code, (code, code))
    return en if locale == "en" else zh


@dataclass(frozen=True)
class Ban:
    """A person may not apply from ``since`` until the day before ``until``."""
    id_number: str
    reason: str
    since: _dt.date
    until: _dt.date
    note: str = ""
    recorded_by: str = ""
    dossier: str = ""

    def active(self, day: _dt.date) -> bool:
        return self.since <= day < self.until


class CreditRecord(Persistent):
    """Bans by ID number (the interface the workflow's no_ban guard depends on)."""

    def __init__(self):
        self._bans = OOBTree()

    def record_ban(self, ban: Ban) -> Ban:
        if ban.reason not in REASONS:
            raise ValueError(f"unknown ban reason {ban.reason!r}")
        if ban.until <= ban.since:
            raise ValueError("a ban must end after it starts")
        self._bans[ban.id_number] = self._bans.get(ban.id_number, ()) + (ban,)
        return ban

    def bans(self, id_number) -> tuple:
        return self._bans.get(id_number, ())

    def active_bans(self, id_number, day: _dt.date) -> list:
        return [b for b in self.bans(id_number) if b.active(day)]


def ban_for(id_number, reason, years, since, **extra) -> Ban:
    """A ban of ``years`` from ``since`` (a profile's bans.<reason>)."""
    return Ban(id_number, reason, since, add_months(since, 12 * int(years)), **extra)
