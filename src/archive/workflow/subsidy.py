"""Rent subsidies (租赁补贴 / 租金补贴): the second form of housing security (保障方式).

A household is secured by a unit let to it (实物配租: archive.workflow.leases) or by money
paid to it to rent on the market (货币补贴). 常州 第三条 names both forms and 第二十一条 pays the
subsidy to households waiting for a unit; 德州 第二条、第十七条 sets the form by category; 曲靖
第（六）条 asks for a larger share of money. The city's rules — tiers, amounts, caps, payment
period, who qualifies — are the ``subsidy`` section of its profile (workflows/jurisdictions/),
read by :class:`Scheme`; a city without the section grants none.

A :class:`Grant` (补贴核定) is one subsidy of one household: applied for, granted with a tier,
a monthly amount (never above the rent the household actually pays), a period and its
payments, then ended. Like a lease it hangs on the dossier (``dossier.subsidy`` the open
one, ``dossier.subsidies`` every one) and in a book on the root (``root.subsidies``), which
also knows who holds a subsidy by ID number. The steps that change a grant are the
household procedure's (workflows/household.yaml: apply_subsidy … end_subsidy), so each is a
version of the dossier with who, when and why, and every refusal is on the record.

Nothing here imports the effects or the guards: they call in (``check`` and ``EFFECTS``).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..records.book import KeyedBook, StatedEntry
from .profiles import ProfileError

OPEN = ("applied", "current")
STATES = {"applied": ("已申请待核定", "Applied"), "current": ("发放中", "Being paid"),
          "refused": ("不予发放", "Refused"), "ended": ("已停发", "Ended")}
PERIODS = {"quarter": 3, "month": 1}
EVIDENCE = "subsidy_payment"     # the document type that proves a payment (拨付凭证)


class SubsidyError(Exception):
    """A subsidy step the rules refuse, or a wrong ``subsidy`` section; message for a clerk."""


# -- periods ---------------------------------------------------------------------------------
def add_months(day: _dt.date, months: int) -> _dt.date:
    """The same day ``months`` later (the month's last day where it is shorter)."""
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    m += 1
    last = (_dt.date(y + (m == 12), m % 12 + 1, 1) - _dt.timedelta(days=1)).day
    return _dt.date(y, m, min(day.day, last))


def period_of(day: _dt.date, period: str) -> tuple:
    """(first day, last day) of the payment period holding ``day`` (常州 第三十九条: quarters
    beginning January, April, July, October)."""
    size = PERIODS[period]
    first = _dt.date(day.year, (day.month - 1) // size * size + 1, 1)
    return first, add_months(first, size) - _dt.timedelta(days=1)


def period_label(first: _dt.date, period: str) -> str:
    if period == "quarter":
        return f"{first.year}年第{(first.month - 1) // 3 + 1}季度"
    return f"{first.year}年{first.month}月"


def months_between(first: _dt.date, last: _dt.date) -> int:
    """Whole calendar months from ``first`` to ``last`` inclusive (grants run by month)."""
    if last < first:
        return 0
    return (last.year - first.year) * 12 + last.month - first.month + 1


# -- the city's rules --------------------------------------------------------------------------
@dataclass(frozen=True)
class Tier:
    """One tier of the city's standard (常州 第三十八条 最低收入/低收入/中等偏下; 德州 第十九条)."""
    code: str
    title: str
    categories: tuple
    path: str                    # of the tier in the profile (its monthly table)
    graded: dict | None          # {base, step, education: {code: (title, grade)}, household_size: {n: grade}}
    cap_months: int | None       # 德州 第十八条: 36
    once_per_household: bool     # 德州 第十九条: 同一家庭不重复享受
    other_subsidy_excluded: bool  # 德州 第十九条: 已享受其他住房补贴的不列入
    article: str


class Scheme:
    """A city's subsidy rules, checked when the profiles are compiled (loud on a mistake)."""

    def __init__(self, profile):
        raw = profile.value("subsidy")
        where = f"{profile.where}: subsidy"
        if not isinstance(raw, dict):
            raise SubsidyError(f"{where}: a mapping (or null: the city grants no subsidy)")
        self.profile = profile
        self.period = raw.get("period")
        if self.period not in PERIODS:
            raise SubsidyError(f"{where}.period: one of {', '.join(PERIODS)}")
        self.pay_within = raw.get("pay_within_months", PERIODS[self.period])
        if type(self.pay_within) is not int or not 1 <= self.pay_within <= PERIODS[self.period]:
            raise SubsidyError(f"{where}.pay_within_months: 1 to the months of a period")
        self.while_waiting = bool(raw.get("while_waiting"))
        self.stop = raw.get("stop", "next_period")
        if self.stop not in ("next_period", "immediately"):
            raise SubsidyError(f"{where}.stop: next_period or immediately")
        self.review = raw.get("review") or {"years": 1}
        if not (isinstance(self.review, dict) and len(self.review) == 1 and
                set(self.review) <= {"years", "months"}):
            raise SubsidyError(f"{where}.review: {{years|months: n}}")
        self.in_kind_only = tuple(raw.get("in_kind_only") or ())
        self.articles = str(raw.get("articles") or "")
        self.tiers = {}
        for code, spec in (raw.get("tiers") or {}).items():
            self.tiers[code] = self._tier(code, spec, f"{where}.tiers.{code}")
        if not self.tiers:
            raise SubsidyError(f"{where}.tiers: at least one tier")

    def _tier(self, code, spec, where):
        if not isinstance(spec, dict) or not spec.get("title") or not spec.get("categories"):
            raise SubsidyError(f"{where}: needs title and categories")
        graded = spec.get("graded")
        if graded is not None:
            graded = _graded(graded, spec.get("floor") or {}, where)
        elif spec.get("monthly") is None:
            raise SubsidyError(f"{where}: needs monthly (a figure or a table by household size) or graded")
        else:
            for size in range(1, 10):   # the table's shape, as Profile.limit reads it
                try:
                    self.profile.limit(f"subsidy.tiers.{code}.monthly", size)
                except ProfileError as exc:
                    raise SubsidyError(str(exc)) from None
        cap = spec.get("cap_months")
        if cap is not None and (type(cap) is not int or cap < 1):
            raise SubsidyError(f"{where}.cap_months: a whole number of months or null")
        return Tier(code, str(spec["title"]), tuple(spec["categories"]),
                    f"subsidy.tiers.{code}", graded, cap, bool(spec.get("once_per_household")),
                    bool(spec.get("other_subsidy_excluded")), str(spec.get("article") or ""))

    def title(self):
        return self.profile.title()

    def tier_for(self, category, code=None) -> Tier | None:
        """The tier asked for, or the first whose categories hold the household's category."""
        if code:
            return self.tiers.get(code)
        return next((t for t in self.tiers.values() if category in t.categories), None)

    def standard(self, tier: Tier, size: int, education=None) -> tuple:
        """(monthly amount, how it was worked out) for a household of ``size``."""
        if tier.graded is None:
            limit = self.profile.limit(tier.path + ".monthly", size)
            basis = f"{tier.title}" + (f"，{limit.basis}" if limit.basis else "")
            return float(limit.value), f"{basis}：{limit.value:,.0f} 元/月"
        g = tier.graded
        title, by_education = g["education"].get(education, (None, 0))
        sizes = g["household_size"]
        key = max([k for k in sizes if k <= size] or [min(sizes)]) if sizes else None
        by_size = sizes.get(key, 0) if key is not None else 0
        grade = by_education + by_size
        amount = g["base"] + g["step"] * grade
        parts = [f"基础标准 {g['base']:,} 元/月"]
        if by_education:
            parts.append(f"学历{title} 上调{by_education}级")
        if by_size:
            parts.append(f"{size}人家庭 上调{by_size}级")
        return float(amount), f"{tier.title}：" + "，".join(parts) + f"（每级 {g['step']} 元）→ {amount:,} 元/月"


def _graded(raw, floor, where):
    """德州 第十九条: 最低标准不低于300元/月, 每上调一级标准不低于50元/月 — the office's figures
    may be higher, never lower than the floor the seed sets."""
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), int) for k in ("base", "step")):
        raise SubsidyError(f"{where}.graded: needs base and step (yuan a month)")
    if raw["base"] < floor.get("base", 0):
        raise SubsidyError(f"{where}.graded.base: {raw['base']} is below the floor {floor['base']} (floor.base)")
    if raw["step"] < floor.get("step", 0):
        raise SubsidyError(f"{where}.graded.step: {raw['step']} is below the floor {floor['step']} (floor.step)")
    education = {}
    for item in raw.get("education") or ():
        if not isinstance(item, dict) or not item.get("code") or type(item.get("grade")) is not int:
            raise SubsidyError(f"{where}.graded.education: items {{code, title, grade}}")
        education[str(item["code"])] = (str(item.get("title") or item["code"]), item["grade"])
    sizes = raw.get("household_size") or {}
    if any(type(k) is not int or type(v) is not int for k, v in sizes.items()):
        raise SubsidyError(f"{where}.graded.household_size: {{persons: grades}}")
    return {"base": raw["base"], "step": raw["step"], "education": education, "household_size": dict(sizes)}


def scheme(profile) -> Scheme | None:
    """The city's subsidy rules, or None where it grants none."""
    if profile is None or profile.value("subsidy") is None:
        return None
    cached = getattr(profile, "_subsidy_scheme", None)
    if cached is None:
        cached = profile._subsidy_scheme = Scheme(profile)
    return cached


# -- grants and payments -----------------------------------------------------------------------
@dataclass(frozen=True)
class Payment:
    """One period paid (发放记录), with the document that proves it (拨付凭证)."""
    first: _dt.date
    last: _dt.date
    months: int
    amount: float
    document: str
    paid_on: _dt.date
    when: _dt.datetime
    actor: str


class Grant(StatedEntry, Persistent):
    """One household's subsidy: tier, monthly amount, period, rent actually paid, payments."""

    start = end = None          # the first and the last day it covers (end None: until stopped)
    monthly = standard = None
    basis = ""
    granted = None
    pay_within = 1              # months from a period's start within which it is paid
    ended_on = None
    end_reason = ""

    STATES, OPEN_STATES = STATES, OPEN

    def __init__(self, grant_id, household_no, jurisdiction, tier, when, actor, rent_paid,
                 size, education, persons, period, cap_months):
        self.grant_id, self.household_no, self.jurisdiction = grant_id, household_no, jurisdiction
        self.tier, self.tier_title = tier.code, tier.title
        self.applied, self.applied_by = when, actor
        self.rent_paid, self.household_size, self.education = rent_paid, size, education
        self.persons = tuple(persons)
        self.period, self.cap_months = period, cap_months
        self.state = "applied"
        self.payments = ()      # Payment, oldest first
        self.reviews = ()       # (day, passed, when, actor)
        self.changes = ()       # (when, actor, what)

    def months_paid(self) -> int:
        return sum(p.months for p in self.payments)

    def months_planned(self) -> int | None:
        return months_between(self.start, self.end) if self.start and self.end else None

    def paid(self, first) -> Payment | None:
        return next((p for p in self.payments if p.first == first), None)

    def summary(self):
        out = [("补贴编号", self.grant_id), ("补贴档次", self.tier_title),
               ("实际承担月租金（元）", f"{self.rent_paid:,.2f}")]
        if self.monthly is not None:
            out.append(("月补贴额（元）", f"{self.monthly:,.2f}"))
        if self.start:
            out.append(("补贴期", f"{self.start.isoformat()} 至 {self.end.isoformat() if self.end else '停发为止'}"))
        return tuple(out)


class SubsidyBook(KeyedBook):
    """Every grant by id, and the open grants of each person by ID number (一人不得重复享受)."""

    def __init__(self):
        super().__init__()
        self._persons = OOBTree()

    def new(self, dossier, tier, when, actor, rent_paid, size, education, scheme) -> Grant:
        seq = len(getattr(dossier, "subsidies", ())) + 1
        persons = [p.get("id_number") for p in dossier.people() if p.get("id_number")]
        grant = Grant(f"{dossier.archive_no}/B{seq:02d}", dossier.archive_no,
                      dossier.metadata.get("jurisdiction"), tier, when, actor, rent_paid, size,
                      education, persons, scheme.period, tier.cap_months)
        self._items[grant.grant_id] = grant
        for number in persons:
            self._persons[number] = tuple(self._persons.get(number, ())) + (grant.grant_id,)
        return grant

    def of_person(self, number):
        return [self._items[g] for g in self._persons.get(number, ()) if g in self._items]


def current(dossier) -> Grant | None:
    grant = getattr(dossier, "subsidy", None)
    return grant if grant is not None and grant.open else None


def months_used(dossier, tier_code, leave_out=None) -> int:
    """Months of this tier paid to the household over all its grants (德州 第十八条 累计)."""
    return sum(g.months_paid() for g in getattr(dossier, "subsidies", ())
               if g.tier == tier_code and g is not leave_out)


def due_date(grant, first) -> _dt.date:
    """The last day the period starting ``first`` may be paid: within the city's window (常州
    第三十九条: the quarter's first month), or a month after granting for a grant's first period."""
    window = add_months(first, grant.pay_within) - _dt.timedelta(days=1)
    if grant.granted is not None and grant.granted > first:
        window = max(window, add_months(grant.granted, 1))
    return window


def periods_due(grant, today) -> list:
    """The periods of a current grant whose payment window closed by ``today``."""
    if grant.start is None:
        return []
    out, first = [], grant.start
    last_day = min(grant.end or today, today)
    while first <= last_day:
        if due_date(grant, first) < today:
            out.append(first)
        first = add_months(first, PERIODS[grant.period])
    return out


def payments_due(book, today) -> list:
    """(grant, first day of the period, last day to pay it) for every period begun by ``today``
    and not yet paid, of grants being paid or ended after it began: the worklist's 待发放."""
    out = []
    for grant in book.values():
        if grant.state not in ("current", "ended") or grant.start is None:
            continue
        first, last = grant.start, min(grant.end or today, today)
        while first <= last:
            if grant.paid(first) is None:
                out.append((grant, first, due_date(grant, first)))
            first = add_months(first, PERIODS[grant.period])
    return out


FORMS = {"in_kind": ("实物配租", "Unit let"), "subsidy": ("租赁补贴", "Rent subsidy")}


def form_of(dossier) -> str:
    """保障方式 as it stands: ``subsidy`` (a subsidy applied for or paid), ``in_kind`` (a unit
    allocated or let), or "" (neither yet, or a unit dossier). A 常州 household waiting with a
    subsidy and then allocated a unit counts in kind: the allocation is the form it moves to."""
    lease = getattr(dossier, "lease", None)
    if lease is not None and lease.open:
        return "in_kind"
    return "subsidy" if current(dossier) is not None else ""


def household_size(dossier) -> int:
    return 1 + len(dossier.metadata.get("members") or ())
