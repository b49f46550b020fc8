"""The batch plan (批次租赁方案) and its book: the record of one batch of collective applications.

厦门 seed 002: “公共租赁住房实行按批次租赁制度，具体批次租赁方案由运营企业根据本办法制定，报市住房保障
行政管理部门审核同意后向社会公布”; the plan states 房源的坐落、数量、户型、面积、租赁对象、申请条件、申请时间、
申请程序、租金标准、选房规则、租金优惠, and for housing let to talents and employees “批次租赁方案应当
明确负责集体申请的单位”. So a plan names its units (房源, unit dossiers), the application
period and the units (单位) that may apply; each applying employer's dossier (EmployerDossier)
and its member households' dossiers are linked to it.

A batch moves open → closed → publicity → proposed → (announced →) decided (steps.py). Its
own history is an append-only series of events (who, when, what, why); every step is also a
version of each dossier it touches and an audit-log entry. The quota decision keeps the seed's
commitment, the seed, the inputs and the result with a digest, so it can be re-run (verify).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ...records.book import NumberedBook, StatedEntry
from ..lottery.draw import commitment_of
from . import quota

STATES = {"open": ("受理申请", "Open"), "closed": ("审核中", "Under review"),
          "publicity": ("审核结果公示", "Publicity"), "proposed": ("协商分配方案", "Proposal"),
          "announced": ("已预告确定方式", "Method announced"), "decided": ("已确定租赁数量", "Decided")}


class CollectiveError(ValueError):
    """A step refused before anything is written; ``field`` names the input at fault and
    ``status`` the HTTP answer (422 bad input, 409 a step the batch's state forbids, 404)."""

    def __init__(self, message, field=None, status=422):
        super().__init__(message)
        self.field, self.status = field, status


@dataclass(frozen=True)
class BatchEvent:
    """One step of the batch, written once."""
    when: _dt.datetime
    actor: str
    action: str
    title: str
    comment: str = ""
    details: tuple = ()       # (label, value) pairs
    flagged: bool = False     # taken late, with a recorded reason


@dataclass(frozen=True)
class Review:
    """The review of one employer's application: approved and refused members (with why)."""
    when: _dt.datetime
    actor: str
    approved: tuple           # household archive numbers
    refused: tuple            # (archive no, reason)
    late_reason: str = ""


@dataclass(frozen=True)
class QuotaDecision:
    """How many units each employer rents, and how that was decided: agreed, or a method
    drawn once with the seed committed beforehand (announced → decided)."""
    method: str                       # quota.METHODS or quota.AGREED
    reason: str = ""                  # why the negotiation failed (协商未达成一致)
    commitment: str = ""
    draw_on: _dt.date | None = None
    announced_at: _dt.datetime | None = None
    announced_by: str = ""
    seed: str | None = None
    requests: tuple = ()              # (employer no, approved count), sorted
    units: int = 0
    result: tuple = ()                # (employer no, quota)
    detail: str = ""                  # the method's full answer as canonical JSON
    when: _dt.datetime | None = None
    actor: str = ""
    digest: str = ""

    def canonical(self) -> bytes:
        facts = {"method": self.method, "seed": self.seed, "commitment": self.commitment,
                 "draw_on": self.draw_on.isoformat() if self.draw_on else None,
                 "requests": [list(r) for r in self.requests], "units": self.units,
                 "result": [list(r) for r in self.result],
                 "when": self.when.isoformat() if self.when else None}
        return json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    def verify(self) -> bool | None:
        """Re-run the method from the seed: True when it gives the stored result, the seed
        matches its commitment and the digest holds; None for an agreed or undecided one."""
        if self.method == quota.AGREED or self.seed is None:
            return None
        if commitment_of(self.seed) != self.commitment:
            return False
        again = quota.compute(self.method, self.seed, dict(self.requests), self.units)
        return (tuple(sorted((no, r["quota"]) for no, r in again.items())) == self.result
                and hashlib.sha256(self.canonical()).hexdigest() == self.digest)


class BatchPlan(StatedEntry, Persistent):
    """批次租赁方案: one batch of units let to employers' staff by collective application."""

    proposal = None           # {employer no: count}: the operator's 初步分配方案
    decision = None           # QuotaDecision (announced or decided)
    review_due = None
    publicity_from = publicity_to = proposal_due = None
    allocations = ()          # (employer no, household no, unit no): 配租结果 reported

    STATES, OPEN_STATES = STATES, ("open",)

    def __init__(self, batch_id, jurisdiction, title, units, employers, opens_on, closes_on,
                 plan: dict, actor, when):
        self.batch_id = batch_id
        self.jurisdiction = jurisdiction
        self.title = title
        self.units = tuple(units)            # unit archive numbers (房源)
        self.employers = tuple(employers)    # (credit code, name, applicant type) named by the plan
        self.opens_on, self.closes_on = opens_on, closes_on
        self.plan = dict(plan)               # the rest of the plan's content (see PLAN_FIELDS)
        self.created, self.created_by = when, actor
        self.state = "open"
        self.applications = ()               # employer archive numbers, in filing order
        self.reviews = OOBTree()             # employer no → Review
        self.events = ()

    def record(self, event: BatchEvent):
        self.events = self.events + (event,)

    def named(self, credit_code):
        return next((e for e in self.employers if e[0] == credit_code), None)

    def approved(self) -> dict:
        """{employer no: approved count} for every reviewed application."""
        return {no: len(r.approved) for no, r in self.reviews.items()}

    def quota_of(self, employer_no) -> int | None:
        if self.decision is None or not self.decision.result:
            return None
        return dict(self.decision.result).get(employer_no)


class BatchBook(NumberedBook):
    """Every batch plan (``PC-{全宗号}-{year}-{seq:03d}``), and the way to the employers'
    dossiers: ``employers`` is the root's employers/ container (the dossiers live there, a
    dossier container like households/ and units/, so search, audits, binding, packages and
    jurisdiction filters see them; evolve moved those kept here before)."""

    PREFIX = "PC"

    def __init__(self, employers=None):
        super().__init__()
        # the root's DossierContainer of kind "employer" (an OOBTree only in a store evolved
        # to generation 19 and not yet to the step that moves the dossiers: evolve._employers)
        self.employers = employers if employers is not None else OOBTree()

    def add(self, batch):
        self._items[batch.batch_id] = batch
        return batch

    def employer(self, archive_no):
        try:
            return self.employers.get(archive_no)
        except TypeError:
            return None

    def newest(self):
        return sorted(self._items.values(), key=lambda b: (b.created, b.batch_id), reverse=True)

    def batch_of(self, household_no):
        """(batch, employer no) of the batch not yet decided whose application lists this
        household; (None, None) when there is none."""
        for batch in self._items.values():
            if batch.state == "decided":
                continue
            for no in batch.applications:
                if household_no in (self.employers[no].metadata.get("members") or ()):
                    return batch, no
        return None, None


def book(root) -> BatchBook:
    """The archive's batch book (evolve adds it to archives made before it existed)."""
    return root.batches
