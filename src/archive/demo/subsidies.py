"""The demo's rent subsidies (租赁补贴): some households waiting in a city that pays one take
the subsidy path — apply, granted, paid period by period with a voucher each time.

Planned with the rest of the city (their documents are core: every step's papers are
filed), drawn from a generator of their own so that adding them leaves every other draw of
the city as it was. Grants start within the year before the demo's today, and every period
whose payment window has closed is paid: the audit finds nothing in them.
"""
from __future__ import annotations

import datetime as _dt
import random

from ..workflow import subsidy
from .plan import DAY, Doc, Step, workday

PER_CITY = 3          # households per city that take the subsidy path (at most)
EDUCATION = ("college", "bachelor", "master")


def plan_subsidies(city):
    """Add the subsidy path to a few registered households of each city with a scheme."""
    taken = {}
    for h in city.households:
        scheme = subsidy.scheme(city.profile(h))
        if scheme is None or h.role or city.final_state(h) != "registered" or not h.steps:
            continue
        category = h.cstruct.get("category")
        tier = scheme.tier_for(category)
        if tier is None or category in scheme.in_kind_only or taken.get(h.city.code, 0) >= PER_CITY:
            continue
        rng = random.Random(f"subsidy-{h.index}-{h.cstruct['applicant']['id_number']}")
        if not taken.get(h.city.code) and h.steps[-1].day < city.today - 30 * DAY:
            applied = workday(city.today - 8 * DAY)      # the first: still under review today
            if applied < city.today:
                taken[h.city.code] = 1
                _path(city, h, scheme, tier, applied, rng, grant=False)
                continue
        first = max(h.steps[-1].day + 20 * DAY, city.today - 300 * DAY)
        applied = workday(first + rng.randint(0, 40) * DAY)
        if applied >= city.today - 45 * DAY:
            continue
        taken[h.city.code] = taken.get(h.city.code, 0) + 1
        _path(city, h, scheme, tier, applied, rng)


def _path(city, h, scheme, tier, applied, rng, grant=True):
    size = 1 + len(h.cstruct.get("members") or ())
    education = rng.choice(EDUCATION) if tier.graded and tier.graded["education"] else None
    standard, _ = scheme.standard(tier, size, education)
    rent = float(rng.choice((standard - 50, standard + 200, standard + 600)))   # now and then below
    inputs = {"rent_paid": rent}
    if education:
        inputs["education"] = education
    h.core += [Doc("subsidy_application", applied - rng.randint(0, 3) * DAY),
               Doc("market_lease", applied - rng.randint(5, 30) * DAY)]
    h.steps.append(Step("apply_subsidy", applied, "申请租赁补贴，附市场租房合同", actor="archivist",
                        inputs=inputs))
    if not grant:
        return
    granted = workday(applied + rng.randint(4, 9) * DAY)
    h.steps.append(Step("grant_subsidy", granted, f"经审核符合{tier.title}条件，核定发放"))
    monthly = min(standard, rent)
    months = subsidy.PERIODS[scheme.period]
    start = subsidy.period_of(granted, scheme.period)[0]
    while start < city.today:
        pay_day = workday(max(start, granted) + rng.randint(2, 8) * DAY)
        if pay_day >= city.today:
            break
        label = subsidy.period_label(start, scheme.period)
        voucher = Doc("subsidy_payment", pay_day, variant=label)
        h.core.append(voucher)
        h.steps.append(Step("pay_subsidy", pay_day, f"{label}租赁补贴已拨付", actor="archivist",
                            inputs={"period": start.isoformat(), "amount": round(monthly * months, 2),
                                    "document": voucher}))
        start = subsidy.add_months(start, months)
