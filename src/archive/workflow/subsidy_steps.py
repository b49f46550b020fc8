"""The subsidy steps of the household procedure: what each checks (the ``subsidy`` guard) and
what each records (the effects apply_subsidy … end_subsidy), on the model of
archive.workflow.subsidy.

Every refusal names the rule and the seed article behind it, as the other guards do: a
second subsidy in one household, a lease and a subsidy at once (常州 lets waiting households
keep it: 第二十一条), a grant past the cap (德州 第十八条: 36 months), a person who already has
another housing subsidy (德州 第十九条), a payment after the grant ended or above what is due.
"""
from __future__ import annotations

import datetime as _dt

from . import leases
from .subsidy import (EVIDENCE, PERIODS, Payment, SubsidyError, add_months, current,
                      household_size, months_between, months_used, period_label, period_of,
                      scheme as scheme_of)

# Inputs by effect, as (name, type, (zh, en), required): archive.workflow.effects makes them Inputs.
TIER = ("tier", "string", ("补贴档次（留空按保障类别）", "Subsidy tier (empty: by category)"), False)
RENT_PAID = ("rent_paid", "money", ("实际承担月租金（元）", "Rent actually paid a month (yuan)"), True)
EDUCATION = ("education", "string", ("学历层次", "Education level"), False)
OTHER = ("other_subsidy", "string", ("已享受的其他住房补贴（无则留空）", "Other housing subsidy held (empty: none)"), False)
INPUTS = {
    "apply_subsidy": (RENT_PAID, TIER, EDUCATION, OTHER),
    "grant_subsidy": (("start", "date", ("补贴起始日（所在发放期起算）", "Subsidy from (its period)"), False),
                      ("end", "date", ("补贴截止日（留空：停发为止或累计上限）", "Subsidy until (empty: until stopped or the cap)"), False)),
    "refuse_subsidy": (),
    "pay_subsidy": (("period", "date", ("发放期（该期内任一日）", "Period paid (any day in it)"), True),
                    ("amount", "money", ("发放金额（元）", "Amount paid (yuan)"), True),
                    ("document", "string", ("发放凭证文件号", "Payment voucher document id"), True),
                    ("paid_on", "date", ("拨付日期（留空为今天）", "Paid on (empty: today)"), False)),
    "change_subsidy": (("rent_paid", "money", RENT_PAID[2], False), TIER, EDUCATION),
    "review_subsidy": (),
    "end_subsidy": (),
}


# -- the guard -------------------------------------------------------------------------------
def check(arg, ctx) -> list:
    """Messages (empty: the step may go) for the ``subsidy`` guard's ``arg``."""
    return list(CHECKS[arg](ctx))


def _apply(ctx):
    scheme, dossier = scheme_of(ctx.profile), ctx.dossier
    city = ctx.profile.title() if ctx.profile else "本辖区"
    if scheme is None:
        yield f"{city}未设租赁补贴（只以实物配租保障），不能申请"
        return
    category = dossier.metadata.get("category")
    vocab = ctx.schemas.vocabularies["categories"]
    if category in scheme.in_kind_only:
        yield f"保障类别“{vocab.title(category)}”按{city}规定采取实物保障，不发放租赁补贴（{scheme.articles}）"
        return
    tier, problem = _tier(ctx, scheme, category, vocab)
    if problem:
        yield problem
        return
    held = getattr(dossier, "subsidy", None)
    if held is not None and held.open:
        yield f"本户已有租赁补贴 {held.grant_id}（{held.state_title()}），同一户不能同时享受两份补贴"
    lease = leases.current_lease(dossier)
    if lease is not None and lease.open:
        yield f"本户已配租房源 {lease.unit_no}（{lease.state_title()}），不能同时领取租赁补贴"
    if tier.once_per_household:
        before = [g for g in getattr(dossier, "subsidies", ()) if g.tier == tier.code and g.state == "ended"]
        if before:
            yield (f"本户已享受过{tier.title}（{before[-1].grant_id}），同一家庭不重复享受（{tier.article}）")
    used = months_used(dossier, tier.code)
    if tier.cap_months is not None and used >= tier.cap_months:
        yield (f"本户{tier.title}已累计发放 {used} 个月，达到上限 {tier.cap_months} 个月（{tier.article}）；"
               f"仍符合其他保障对象条件的，可变更保障类别后继续申请")
    other = (ctx.inputs.get("other_subsidy") or "").strip()
    if other and tier.other_subsidy_excluded:
        yield f"申报已享受其他住房补贴（{other}），不列入{tier.title}范围（{tier.article}）"
    yield from _held_elsewhere(ctx)


def _held_elsewhere(ctx):
    """A member holds an open subsidy in another household's dossier (one person, one subsidy)."""
    book = getattr(ctx.root, "subsidies", None)
    if book is None:
        return
    for person in ctx.dossier.people():
        number = person.get("id_number")
        for grant in book.of_person(number) if number else ():
            if grant.open and grant.household_no != ctx.dossier.archive_no:
                yield (f"{person.get('name', '')}已在 {grant.household_no} 享受租赁补贴 {grant.grant_id}"
                       f"（{grant.state_title()}），不得重复享受住房补贴")


def _tier(ctx, scheme, category, vocab):
    code = (ctx.inputs.get("tier") or "").strip() or None
    if code and code not in scheme.tiers:
        options = "、".join(f"{t.code}（{t.title}）" for t in scheme.tiers.values())
        return None, f"没有补贴档次“{code}”，{scheme.title()}的档次为：{options}"
    tier = scheme.tier_for(category, code)
    if tier is None:
        return None, f"保障类别“{vocab.title(category)}”在{scheme.title()}没有对应的租赁补贴档次"
    if category not in tier.categories:
        allowed = "、".join(vocab.title(c) for c in tier.categories)
        return None, f"补贴档次“{tier.title}”只适用于{allowed}"
    if tier.graded and tier.graded["education"]:
        education = ctx.inputs.get("education")
        if education and education not in tier.graded["education"]:
            options = "、".join(f"{c}（{t}）" for c, (t, _) in tier.graded["education"].items())
            return None, f"学历层次“{education}”不在{tier.title}的分级之内：{options}"
    return tier, None


def _grant(ctx):
    grant = current(ctx.dossier)
    if grant is None or grant.state != "applied":
        yield "本户没有待核定的租赁补贴申请"
        return
    scheme = scheme_of(ctx.profile)
    tier = scheme.tiers.get(grant.tier) if scheme else None
    if tier is None:
        yield f"补贴档次“{grant.tier_title}”已不在{ctx.profile.title()}的规定之中"
        return
    lease = leases.current_lease(ctx.dossier)
    if lease is not None and lease.open and not scheme.while_waiting:
        yield f"本户已配租房源 {lease.unit_no}，不能同时领取租赁补贴"
    start, end = ctx.inputs.get("start"), ctx.inputs.get("end")
    first = period_of(start or ctx.today, scheme.period)[0]
    if end is not None and end < first:
        yield f"补贴截止日 {end.isoformat()} 早于补贴起始 {first.isoformat()}"
    elif end is not None and tier.cap_months is not None:
        used, planned = months_used(ctx.dossier, tier.code, grant), months_between(first, end)
        if used + planned > tier.cap_months:
            yield (f"补贴期 {planned} 个月，加上已累计发放 {used} 个月，超过{tier.title}累计上限 "
                   f"{tier.cap_months} 个月（{tier.article}）")


def _pay(ctx):
    grant = latest(ctx.dossier)
    if grant is None:
        yield "本户没有发放中的租赁补贴"
        return
    day = ctx.inputs.get("period")
    if day is None:
        return      # asked before the form is filled in: the period decides the rest
    first, last = period_of(day, grant.period)
    label = period_label(first, grant.period)
    if first < grant.start:
        yield f"{label}早于补贴起始 {grant.start.isoformat()}"
        return
    if grant.end is not None and first > grant.end:
        yield f"补贴已于 {grant.end.isoformat()} 截止（{grant.end_reason or '补贴期满'}），不能登记{label}的发放"
        return
    done = grant.paid(first)
    if done is not None:
        yield f"{label}已登记发放（凭证 {done.document}）"
    months = months_between(max(first, grant.start), min(last, grant.end or last))
    amount = ctx.inputs.get("amount")
    due = round(grant.monthly * months, 2)
    if amount is not None and amount > due + 1e-9:
        yield f"发放金额 {amount:,.2f} 元超过{label}应发 {due:,.2f} 元（月补贴 {grant.monthly:,.2f} × {months} 个月）"
    if grant.cap_months is not None:
        used = months_used(ctx.dossier, grant.tier)
        if used + months > grant.cap_months:
            yield f"累计发放将达 {used + months} 个月，超过{grant.tier_title}上限 {grant.cap_months} 个月"
    doc_id = ctx.inputs.get("document")
    if doc_id:
        doc = next((d for d in ctx.dossier.active_documents() if d.doc_id == doc_id), None)
        if doc is None or doc.metadata.get("doc_type") != EVIDENCE:
            title = ctx.schemas.vocabularies["document_types"].title(EVIDENCE)
            yield f"“{doc_id}”不是本档案中的{title}：请先归档发放凭证，再登记发放"


def _change(ctx):
    if current(ctx.dossier) is None:
        yield "本户没有租赁补贴，无需变更"
        return
    scheme = scheme_of(ctx.profile)
    code = (ctx.inputs.get("tier") or "").strip()
    if scheme is not None and code:
        _, problem = _tier(ctx, scheme, ctx.dossier.metadata.get("category"),
                           ctx.schemas.vocabularies["categories"])
        if problem:
            yield problem


def _current(ctx):
    grant = current(ctx.dossier)
    if grant is None or grant.state != "current":
        yield "本户没有发放中的租赁补贴"


def _no_current(ctx):
    """实物配租 while a subsidy runs: only where the city pays it to households waiting (常州)."""
    grant = current(ctx.dossier)
    scheme = scheme_of(ctx.profile)
    if grant is not None and not (scheme is not None and scheme.while_waiting):
        yield (f"本户正在享受租赁补贴 {grant.grant_id}（{grant.state_title()}），"
               f"{ctx.profile.title()}不能同时实物配租：请先办理“终止租赁补贴”（变更保障方式）")


CHECKS = {"apply": _apply, "grant": _grant, "pay": _pay, "change": _change,
          "current": _current, "no_current": _no_current}


def latest(dossier):
    """The grant payments are recorded on: the current one, or the last ended one (a period
    paid before the stop may be entered after it)."""
    grants = getattr(dossier, "subsidies", ())
    if not grants or grants[-1].state not in ("current", "ended"):
        return None
    return grants[-1]


# -- the effects -----------------------------------------------------------------------------
def _attach(dossier, grant):
    dossier.subsidy = grant
    dossier.subsidies = tuple(getattr(dossier, "subsidies", ())) + (grant,)


def apply_subsidy(ctx):
    scheme = scheme_of(ctx.profile)
    tier, _ = _tier(ctx, scheme, ctx.dossier.metadata.get("category"),
                    ctx.schemas.vocabularies["categories"])
    grant = ctx.root.subsidies.new(ctx.dossier, tier, ctx.when, ctx.actor, ctx.inputs["rent_paid"],
                                   household_size(ctx.dossier), ctx.inputs.get("education"), scheme)
    _attach(ctx.dossier, grant)
    other = (ctx.inputs.get("other_subsidy") or "").strip()
    return grant.summary() + (("其他住房补贴", other or "无"),)


def grant_subsidy(ctx):
    scheme, grant = scheme_of(ctx.profile), current(ctx.dossier)
    tier = scheme.tiers[grant.tier]
    grant.start = period_of(ctx.inputs.get("start") or ctx.today, scheme.period)[0]
    grant.end = ctx.inputs.get("end")
    if grant.end is None and tier.cap_months is not None:   # 德州 第十八条: the months left
        left = tier.cap_months - months_used(ctx.dossier, tier.code, grant)
        grant.end = add_months(grant.start, left) - _dt.timedelta(days=1)
    _price(grant, scheme, tier)
    grant.granted, grant.pay_within, grant.state = ctx.today, scheme.pay_within, "current"
    details = grant.summary() + (("核定依据", grant.basis),)
    if tier.cap_months is not None:
        details += (("累计上限", f"{tier.cap_months} 个月（已发放 {months_used(ctx.dossier, tier.code)} 个月）"),)
    return details


def _price(grant, scheme, tier):
    """The standard for the household, and the monthly amount: never above the rent it pays
    (德州 第十九条: 实际承担的费用低于补贴标准的, 按照实际承担的费用发放)."""
    grant.standard, grant.basis = scheme.standard(tier, grant.household_size, grant.education)
    grant.monthly = min(grant.standard, float(grant.rent_paid))
    if grant.monthly < grant.standard:
        grant.basis += f"；实际承担月租金 {grant.rent_paid:,.2f} 元低于标准，按实际承担的费用发放"


def refuse_subsidy(ctx):
    grant = current(ctx.dossier)
    if grant is None or grant.state != "applied":
        raise SubsidyError("本户没有待核定的租赁补贴申请")
    grant.state, grant.end_reason = "refused", ctx.transition.title()
    ctx.dossier.subsidy = None
    return (("补贴编号", grant.grant_id), ("结果", "不予发放"))


def pay_subsidy(ctx):
    grant = latest(ctx.dossier)
    first, last = period_of(ctx.inputs["period"], grant.period)
    months = months_between(max(first, grant.start), min(last, grant.end or last))
    payment = Payment(first, last, months, ctx.inputs["amount"], ctx.inputs["document"],
                      ctx.inputs.get("paid_on") or ctx.today, ctx.when, ctx.actor)
    grant.payments = tuple(sorted(grant.payments + (payment,), key=lambda p: p.first))
    details = (("补贴编号", grant.grant_id), ("发放期", period_label(first, grant.period)),
               ("发放金额（元）", f"{payment.amount:,.2f}"), ("发放凭证", payment.document),
               ("拨付日期", payment.paid_on.isoformat()))
    if grant.cap_months is not None:
        details += (("累计发放", f"{months_used(ctx.dossier, grant.tier)} / {grant.cap_months} 个月"),)
    return details


def change_subsidy(ctx):
    scheme, grant = scheme_of(ctx.profile), current(ctx.dossier)
    before = grant.summary()
    if ctx.inputs.get("rent_paid") is not None:
        grant.rent_paid = ctx.inputs["rent_paid"]
    code = (ctx.inputs.get("tier") or "").strip()
    if code:
        tier = scheme.tiers[code]
        grant.tier, grant.tier_title, grant.cap_months = tier.code, tier.title, tier.cap_months
    if ctx.inputs.get("education"):
        grant.education = ctx.inputs["education"]
    grant.household_size = household_size(ctx.dossier)
    if grant.state == "current":
        _price(grant, scheme, scheme.tiers[grant.tier])
    changed = tuple((label, value) for label, value in grant.summary() if (label, value) not in before)
    grant.changes = grant.changes + ((ctx.when, ctx.actor, changed),)
    return (("补贴编号", grant.grant_id),) + (changed or (("变更", "无变化"),))


def review_subsidy(ctx):
    grant = current(ctx.dossier)
    grant.reviews = grant.reviews + ((ctx.today, True, ctx.when, ctx.actor),)
    return (("补贴编号", grant.grant_id), ("年度复审", "符合条件，继续发放"))


def end_subsidy(ctx):
    grant = current(ctx.dossier)
    failed = ctx.transition.name == "stop_subsidy"
    if failed:
        grant.reviews = grant.reviews + ((ctx.today, False, ctx.when, ctx.actor),)
    return _end(ctx, grant, ctx.transition.title())


def _end(ctx, grant, reason):
    """Stop a grant as the city's rule says: 常州 第四十条 自下个季度起停止发放 (the current
    period, paid in its first month, is the last)."""
    scheme = scheme_of(ctx.profile)
    if grant.state == "applied":
        grant.state, grant.end_reason = "refused", reason
        ctx.dossier.subsidy = None
        return (("补贴编号", grant.grant_id), ("补贴申请", f"随“{reason}”终止"))
    stop = scheme.stop if scheme else "immediately"
    last = period_of(ctx.today, grant.period)[1] if stop == "next_period" else ctx.today
    grant.end = min(grant.end, last) if grant.end else last
    if grant.end < grant.start:
        grant.end = grant.start - _dt.timedelta(days=1)
    grant.state, grant.ended_on, grant.end_reason = "ended", grant.end, reason
    ctx.dossier.subsidy = None
    nxt = grant.end + _dt.timedelta(days=1)
    return (("补贴编号", grant.grant_id), ("停发", f"自 {nxt.isoformat()} 起停止发放（{reason}）"))


def follow(ctx, transition, target) -> tuple:
    """What a step of the procedure does to an open grant: signing a lease (the household is
    now secured in kind) or a final state (withdrawn, lapsed, exited…) ends it."""
    grant = current(ctx.dossier)
    if grant is None or not (transition.effect == "start_lease" or (target is not None and target.final)):
        return ()
    return _end(ctx, grant, transition.title())


EFFECTS = {"apply_subsidy": apply_subsidy, "grant_subsidy": grant_subsidy,
           "refuse_subsidy": refuse_subsidy, "pay_subsidy": pay_subsidy,
           "change_subsidy": change_subsidy, "review_subsidy": review_subsidy,
           "end_subsidy": end_subsidy}

__all__ = ["INPUTS", "EFFECTS", "CHECKS", "check", "follow", "latest", "SubsidyError", "PERIODS"]
