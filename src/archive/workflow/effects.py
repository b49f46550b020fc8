"""What a transition sets off beyond its own dossier: the lease steps.

Each effect names the inputs it needs (a unit to allocate, a lease term to sign), checks
them, and moves the unit's dossier along its own procedure with a driven transition, so
the household's and the unit's histories record the same event on the same commit.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from . import leases, subsidy_steps
from .subsidy import SubsidyError
from .workdays import after


@dataclass(frozen=True)
class Input:
    """One value a transition asks for (form field / JSON key)."""
    name: str
    type: str            # string, date, money
    titles: tuple        # (zh, en)
    required: bool = True

    def title(self, locale="zh"):
        return self.titles[1] if locale == "en" else self.titles[0]


UNIT = Input("unit", "string", ("配租房源档号", "Unit archive number"))
START = Input("start", "date", ("租期开始", "Lease start"))
END = Input("end", "date", ("租期结束", "Lease end"))
RENT = Input("rent", "money", ("月租金（元）", "Monthly rent (yuan)"), required=False)
DEPOSIT = Input("deposit", "money", ("履约保证金（元）", "Deposit (yuan)"), required=False)
NEW_END = Input("end", "date", ("续租至", "Renew until"))
PAID_THROUGH = Input("paid_through", "date", ("租金缴至", "Rent paid through"))
AMOUNT = Input("amount", "money", ("缴纳金额（元）", "Amount paid (yuan)"), required=False)


class EffectError(Exception):
    """An effect's inputs or the other dossier's state refuse the step (message for a clerk)."""


class Effects:
    """The effects a workflow may name, bound to the procedure that runs them."""

    INPUTS = {"allocate": (UNIT,), "start_lease": (START, END, RENT, DEPOSIT),
              "renew_lease": (NEW_END, RENT), "cancel_allocation": (), "begin_transition": (),
              "end_lease": (), "record_rent": (PAID_THROUGH, AMOUNT),
              **{name: tuple(Input(*spec) for spec in specs)          # 租赁补贴 (workflow/subsidy_steps.py)
                 for name, specs in subsidy_steps.INPUTS.items()}}

    def __init__(self, procedure):
        self.procedure = procedure

    def run(self, name, ctx) -> tuple:
        """Carry out effect ``name``; returns details (label, value) for the history."""
        if name in subsidy_steps.EFFECTS:
            try:
                return subsidy_steps.EFFECTS[name](ctx)
            except SubsidyError as exc:
                raise EffectError(str(exc)) from None
        return getattr(self, "_" + name)(ctx)

    # -- the effects ---------------------------------------------------------------
    def _allocate(self, ctx):
        household, unit_no = ctx.dossier, ctx.inputs["unit"]
        unit = ctx.root.units.get(unit_no)
        if unit is None:
            raise EffectError(f"没有档号为“{unit_no}”的房源档案")
        if unit.metadata.get("jurisdiction") != household.metadata.get("jurisdiction"):
            raise EffectError(f"房源 {unit_no} 不属于该户所在辖区，不能配租")
        leases.check_free(household, unit)
        if unit.state != "vacant":
            title = self.procedure.state_title(unit)
            raise EffectError(f"房源 {unit_no} 当前状态为“{title}”，只有空置待配的房源可以配租")
        lease = ctx.root.leases.new(household, unit, ctx.when, ctx.actor)
        leases.attach(household, lease)
        leases.attach(unit, lease)
        details = (("配租房源", unit_no), ("租赁编号", lease.lease_id))
        self._drive(ctx, unit, "allocate", (("配租住户", household.archive_no),
                                            ("租赁编号", lease.lease_id)))
        return details

    def _start_lease(self, ctx):
        lease = self._open_lease(ctx, "offered")
        unit = ctx.root.units[lease.unit_no]
        lease.start, lease.end = ctx.inputs["start"], ctx.inputs["end"]
        rent = ctx.inputs.get("rent")
        lease.rent = float(rent if rent is not None else unit.metadata.get("rent") or 0)
        deposit = ctx.inputs.get("deposit")
        if deposit is None:
            deposit = ctx.profile.value("lease.deposit")
        lease.deposit = None if deposit is None else float(deposit)
        lease.state = "current"
        self._drive(ctx, unit, "start_lease", lease.summary())
        return lease.summary()

    def _renew_lease(self, ctx):
        lease = self._open_lease(ctx, "current")
        new_end = ctx.inputs["end"]
        if new_end <= lease.end:
            raise EffectError(f"续租到期日必须晚于现租期结束日 {lease.end.isoformat()}")
        lease.renewals = tuple(lease.renewals) + ((lease.end, new_end, ctx.when, ctx.actor),)
        old_end, lease.end = lease.end, new_end
        if ctx.inputs.get("rent") is not None:
            lease.rent = float(ctx.inputs["rent"])
        unit = ctx.root.units[lease.unit_no]
        details = (("租赁编号", lease.lease_id),
                   ("续租", f"{old_end.isoformat()} → {new_end.isoformat()}"),
                   ("月租金（元）", f"{lease.rent:,.2f}"))
        unit.note_lease(ctx.actor, ctx.when, f"续租至 {new_end.isoformat()}", details)
        return details

    def _cancel_allocation(self, ctx):
        lease = self._open_lease(ctx, "offered")
        lease.state, lease.ended_on = "cancelled", ctx.today
        lease.end_reason = ctx.transition.title()
        unit = ctx.root.units[lease.unit_no]
        leases.detach(ctx.dossier)
        leases.detach(unit)
        details = (("租赁编号", lease.lease_id), ("房源档号", lease.unit_no))
        self._drive(ctx, unit, "release", (("原配租住户", ctx.dossier.archive_no),) + details[:1])
        return details

    def _begin_transition(self, ctx):
        lease = self._open_lease(ctx, "current")
        spec = ctx.profile.duration("transition")
        lease.transition_until = after(ctx.today, spec).day
        factor = float(ctx.profile.value("transition_rent_factor", 1.0))
        lease.transition_rent = round((lease.rent or 0) * factor, 2)
        details = (("租赁编号", lease.lease_id),
                   ("过渡期至", lease.transition_until.isoformat()),
                   ("过渡期月租金（元）", f"{lease.transition_rent:,.2f}（{factor:g} 倍）"))
        unit = ctx.root.units[lease.unit_no]
        unit.note_lease(ctx.actor, ctx.when, "住户进入退出过渡期", details)
        return details

    def _record_rent(self, ctx):
        lease = self._open_lease(ctx, "current")
        amount = ctx.inputs.get("amount")
        leases.record_payment(lease, ctx.inputs["paid_through"],
                              None if amount is None else float(amount), ctx.when, ctx.actor)
        details = (("租赁编号", lease.lease_id), ("租金缴至", lease.paid_through.isoformat()))
        if amount is not None:
            details += (("缴纳金额（元）", f"{float(amount):,.2f}"),)
        return details

    def _end_lease(self, ctx):
        lease = self._open_lease(ctx, "current")
        lease.state, lease.ended_on = "ended", ctx.today
        lease.end_reason = ctx.transition.title()
        unit = ctx.root.units[lease.unit_no]
        leases.detach(ctx.dossier)
        leases.detach(unit)
        details = (("租赁编号", lease.lease_id), ("房源档号", lease.unit_no),
                   ("终止日期", ctx.today.isoformat()), ("终止原因", lease.end_reason))
        self._drive(ctx, unit, "end_lease", (("住户档号", ctx.dossier.archive_no),) + details[:1]
                    + details[2:])
        return details

    # -- helpers -------------------------------------------------------------------
    def _open_lease(self, ctx, state):
        lease = leases.current_lease(ctx.dossier)
        if lease is None or lease.state != state:
            raise EffectError("该户没有" + ("待签约的配租" if state == "offered" else "在租的租赁关系"))
        return lease

    def _drive(self, ctx, unit, name, details):
        """Move the unit along its own procedure with the named driven transition."""
        self.procedure.drive(unit, name, ctx.actor, ctx.when,
                             f"{ctx.transition.title()}（{ctx.dossier.archive_no}）", details)


def parse_inputs(specs, raw, today):
    """Typed inputs and a list of problems (messages naming the field)."""
    values, problems = {}, []
    raw = raw or {}
    for spec in specs:
        value = raw.get(spec.name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            if spec.required and spec.type != "date":
                problems.append(f"{spec.title()}：必填")
            elif spec.required:
                values[spec.name] = None
            continue
        try:
            values[spec.name] = _convert(spec.type, value)
        except (TypeError, ValueError):
            problems.append(f"{spec.title()}：格式不正确")
    for spec in specs:   # dates left empty: start today, nothing else guessed
        if spec.type == "date" and values.get(spec.name, 0) is None:
            if spec.name == "start":
                values["start"] = today
            else:
                problems.append(f"{spec.title()}：必填")
    return values, problems


def _convert(typ, value):
    if typ == "date":
        if isinstance(value, _dt.date):
            return value
        if not isinstance(value, str):
            raise TypeError
        return _dt.date.fromisoformat(value)
    if typ == "money":
        if isinstance(value, bool):
            raise TypeError
        amount = float(value)
        if not (0 <= amount <= 1e7) or amount != amount:
            raise ValueError
        return round(amount, 2)
    if not isinstance(value, str) or len(value) > 60:
        raise ValueError
    return value
