"""The credit record (诚信档案): findings against a person, and the bans they set off.

A credit event is kept per person (by ID number) with the date, what was found, the
dossier it concerns, the evidence filed there and the officer who recorded it. Where the
dossier's city sets a ban for that kind of conduct (its profile's ``bans.<category>``
years), the event sets off a ban: the person may not apply from the event's date until
the ban ends. Events and bans are never deleted or edited; a ban that ends simply stops
being active on its end date. The workflow's ``no_ban`` guard and the audit ask one
question of this module: is this person barred on this day, why, and until when.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..schema import idnumber
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

# Which of a profile's ban durations an event sets off: the seeds name three (fraud,
# declining, and the offences that end a tenancy: 腾冲 第二十四条(二)-(五)).
BAN_CATEGORY = {"fraud": "fraud", "decline": "decline"}
MAX_DESCRIPTION = 2000


class CreditError(ValueError):
    """A credit event the record refuses; the message is for the clerk."""


def reason_title(code, locale="zh"):
    zh, en = REASONS.get(code, (code, code))
    return en if locale == "en" else zh


def ban_category(kind) -> str:
    """The profile key (bans.<category>) whose years an event of this kind sets off."""
    return BAN_CATEGORY.get(kind, "exit_offence")


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
    event_id: str = ""

    def active(self, day: _dt.date) -> bool:
        return self.since <= day < self.until

    @property
    def last_day(self) -> _dt.date:
        return self.until - _dt.timedelta(days=1)


@dataclass(frozen=True)
class CreditEvent:
    """One finding against a person (失信行为), as recorded; never changed afterwards."""
    event_id: str
    id_number: str
    name: str
    kind: str
    day: _dt.date
    description: str
    dossier: str
    evidence: str              # a document id in that dossier ("" when none was filed)
    recorded_by: str
    recorded_at: _dt.datetime
    ban_until: _dt.date | None = None   # the ban it set off (None: the city sets none)

    def title(self, locale="zh"):
        return reason_title(self.kind, locale)


class CreditRecord(Persistent):
    """Events and bans by ID number (the interface the workflow's no_ban guard uses)."""

    _events = None      # class defaults for records stored before events existed (evolve 7)
    _by_person = None
    _seq = 0

    def __init__(self):
        self._bans = OOBTree()
        self._events = OOBTree()
        self._by_person = OOBTree()

    # -- bans ----------------------------------------------------------------------------
    def record_ban(self, ban: Ban) -> Ban:
        if ban.reason not in REASONS:
            raise CreditError(f"unknown ban reason {ban.reason!r}")
        if ban.until <= ban.since:
            raise CreditError("a ban must end after it starts")
        self._bans[ban.id_number] = self._bans.get(ban.id_number, ()) + (ban,)
        return ban

    def bans(self, id_number) -> tuple:
        return self._bans.get(id_number, ())

    def active_bans(self, id_number, day: _dt.date) -> list:
        return [b for b in self.bans(id_number) if b.active(day)]

    def banned_people(self, day: _dt.date):
        """(ID number, active bans) of everyone barred on ``day``."""
        for id_number, bans in self._bans.items():
            active = [b for b in bans if b.active(day)]
            if active:
                yield id_number, active

    # -- events --------------------------------------------------------------------------
    def record_event(self, id_number, name, kind, day, description, actor, when,
                     dossier="", evidence="", ban_years=None, note="") -> CreditEvent:
        """Keep a finding and, when ``ban_years`` is set, the ban it sets off from ``day``."""
        if kind not in REASONS:
            raise CreditError(f"失信行为类别：没有“{kind}”")
        if not isinstance(description, str) or not description.strip():
            raise CreditError("请写明失信行为的具体情况")
        if len(description) > MAX_DESCRIPTION:
            raise CreditError(f"情况说明不能超过{MAX_DESCRIPTION}个字符")
        if not isinstance(day, _dt.date) or day > when.date() + _dt.timedelta(days=1):
            raise CreditError("认定日期不能晚于今天")
        self._seq += 1
        event_id = f"C{self._seq:06d}"
        until = add_months(day, 12 * int(ban_years)) if ban_years else None
        event = CreditEvent(event_id, id_number, name, kind, day, description.strip(), dossier,
                            evidence, actor, when, until)
        self._events[event_id] = event
        self._by_person[id_number] = self._by_person.get(id_number, ()) + (event_id,)
        if until is not None:
            self.record_ban(Ban(id_number, kind, day, until, note or description.strip()[:200],
                                actor, dossier, event_id))
        return event

    def events(self, id_number=None) -> list:
        """A person's events (or every event), oldest first."""
        if id_number is None:
            return list(self._events.values())
        return [self._events[e] for e in self._by_person.get(id_number, ())]

    def event(self, event_id) -> CreditEvent | None:
        return self._events.get(event_id)

    def people(self) -> list:
        """Every ID number with an event or a ban."""
        return sorted(set(self._by_person.keys()) | set(self._bans.keys()))

    def _ensure(self):
        """Events beside the bans, for a record kept before events existed (evolve 7)."""
        if self._events is None:
            self._events, self._by_person = OOBTree(), OOBTree()


def ban_for(id_number, reason, years, since, **extra) -> Ban:
    """A ban of ``years`` from ``since`` (a profile's bans.<reason>)."""
    return Ban(id_number, reason, since, add_months(since, 12 * int(years)), **extra)


def record(root, profile, dossier, id_number, kind, day, description, actor, when,
           evidence="") -> CreditEvent:
    """Record an event against a person named in ``dossier``, with the ban the dossier's
    city sets for that conduct; refused (nothing written) when any part is wrong."""
    try:
        id_number = idnumber.validate(id_number if isinstance(id_number, str) else "")
    except idnumber.InvalidIdNumber as exc:
        raise CreditError(f"身份证号码：{exc}") from None
    names = {p.get("id_number"): p.get("name", "") for p in dossier.people() if p.get("id_number")}
    if id_number not in names:
        raise CreditError(f"档案 {dossier.archive_no} 中没有身份证号码为该号码的申请人或共同申请人")
    if evidence:
        doc = dossier.documents.get(evidence)
        if doc is None or doc.withdrawn:
            raise CreditError(f"证据文件 {evidence} 不在档案 {dossier.archive_no} 中")
    years = profile.value(f"bans.{ban_category(kind)}") if profile is not None else None
    return root.credit.record_event(id_number, names[id_number], kind, day, description, actor,
                                    when, dossier=dossier.archive_no, evidence=evidence,
                                    ban_years=years)
