"""Demo households (演示家庭): families, their way through the procedure, their records.

A household is drawn as a whole life in the archive: who applies and with whom (spouse
and minor children co-apply, seed 002; the applicant is an adult), which way it takes
through the household procedure (workflows/household.yaml) and on which working days,
which documents each step needs and leaves (the city's profile says which a step needs),
and what changed later (an address on moving in, an income with a new proof, a newborn).

Dates are counted back from the demo's day so every state is reached in the past: a path
is laid out forward from a trial application day, then moved as a whole until the step
that fixes its age (the last one; for a tenant, the signing) lands where it should.
"""
from __future__ import annotations

import datetime as _dt
import random

from ..schema import idnumber
from ..workflow.workdays import after
from .places import CITIES, DEPARTMENTS, FIRM_WORDS, GIVEN, HOMETOWNS, MOBILE_PREFIXES, PROOFS, SURNAMES
from .plan import DAY, Doc, Plan, Step, Tenancy, between, workday, years_before

# The ways through the procedure, with their weights; each ends in the workflow state of
# its name, except forced (a forced exit: exited), refused and upheld (an objection upheld:
# rejected). Allocations for which no unit was free leave a household registered.
SCENARIOS = (("applied", 5), ("returned", 2), ("accepted", 6), ("approved", 3), ("publicity", 3),
             ("objection", 2), ("registered", 17), ("allocated", 4), ("leased", 40), ("exiting", 4),
             ("exited", 15), ("forced", 3), ("refused", 1), ("rejected", 3), ("upheld", 1),
             ("withdrawn", 4), ("lapsed", 3))
# (category, weight, per-capita monthly income range in yuan)
CATEGORIES = (("tekun", 5, (300, 800)), ("dibao", 15, (450, 1000)), ("dishouru", 25, (900, 2000)),
              ("zhongdeng", 22, (1800, 3400)), ("xinjiuye", 18, (2500, 5000)),
              ("wailai", 15, (2000, 3800)))
APPLICATION_DOCS = ("application_form", "id_card", "hukou", "marriage_proof", "income_proof",
                    "housing_proof", "pledge", "check_authorization")
# How long ago (days) the last step of each way was taken: a waiting household's deadline
# is mostly still running, a closed file may be years old.
GAPS = {"applied": (1, 9), "returned": (1, 12), "accepted": (1, 25), "approved": (1, 6),
        "publicity": (0, 3), "objection": (2, 14), "registered": (5, 400), "allocated": (1, 8),
        "exited": (20, 700), "forced": (20, 700), "refused": (20, 900), "rejected": (20, 900),
        "upheld": (20, 900), "withdrawn": (20, 800), "lapsed": (20, 700)}
# The first household of a way may be told to have taken its last step lately (``recent``):
# the first to leave hands its unit back in the last days (a path lands within 12 days of its
# mark), so one unit awaits its 腾退验收 (city.PENDING_RETURN), as a live office's would.
RECENT = {"exited": (2, 6)}


class Families:
    """Draws households from the city's random generator; ID numbers never repeat."""

    def __init__(self, rng, today, procedure):
        self.rng, self.today, self.procedure = rng, today, procedure
        self.used_ids = set()
        self.refiles = 0

    def profile(self, h):
        return self.procedure.profiles[h.city.code]

    def limit(self, h, path="eligibility.income_per_capita_max", size=1):
        """The city's figure for a limit, for a household of ``size`` (Profile.limit)."""
        limit = self.profile(h).limit(path, size)
        return None if limit is None else limit.value

    # -- drawing -------------------------------------------------------------------------
    def draw(self, scenario=None, cities=CITIES, recent=False) -> Plan:
        """A household taking the way ``scenario`` (drawn when None), people, path and all;
        ``recent``: its last step lately (RECENT), where the way says what lately means."""
        rng = self.rng
        city = rng.choices(cities, [c.weight for c in cities])[0]
        category, _, (low, high) = rng.choices(CATEGORIES, [c[1] for c in CATEGORIES])[0]
        scenario = scenario or rng.choices(*zip(*SCENARIOS))[0]
        anchor = self.today - 30 * DAY   # provisional: ages are fixed once the path is placed
        district, region, roads = rng.choice(city.districts)
        elderly = category in ("tekun", "dibao", "dishouru") and rng.random() < 0.3
        age = rng.randint(70, 86) if elderly else rng.randint(
            *{"xinjiuye": (22, 32), "wailai": (24, 48)}.get(category, (26, 66)))
        sex = rng.choice("MMMMMFFFF")
        h = Plan("household", city, anchor, {"category": category})
        h.scenario, h.seed = scenario, rng.random()
        gaps = RECENT.get(scenario) if recent else None
        h.gap = rng.randint(*(gaps or GAPS[scenario])) if scenario in GAPS else 0
        h.tenancy_days = {"leased": rng.randint(20, 6 * 365), "exiting": rng.randint(400, 4 * 365),
                          "exited": rng.randint(365, 4 * 365), "forced": rng.randint(200, 3 * 365)
                          }.get(scenario, 0)
        h.exit_gap = rng.randint(10, 60)
        h.flags = {"returned": scenario not in ("applied", "returned", "refused") and rng.random() < 0.1,
                   "objection": scenario in ("registered", "allocated", "leased", "exited")
                   and rng.random() < 0.06,
                   "excused": scenario in ("allocated", "leased", "exited", "exiting")
                   and rng.random() < 0.07,
                   "withdraw_at": rng.choice(("accepted", "approved", "registered")),
                   "forced_from": rng.choice(("leased", "exiting"))}
        married = age >= 24 and rng.random() < (0.35 if category == "xinjiuye" else 0.7)
        h.flags["change"] = married and age < 40 and rng.random() < 0.15   # a child is born
        required = [c for c in self.profile(h).required_documents("accept")
                    if c not in ("application_form", "pledge")]
        h.missing = rng.choice(required or ["hukou"])   # what a returned file lacked
        self.place(h)
        app = h.created
        born = years_before(app, age) - rng.randint(0, 364) * DAY
        home, hukou = rng.choice(HOMETOWNS) if category == "wailai" else (region, district)
        name, number = self.person(sex, born, home)
        members = []
        if married:
            s_born = min(born + rng.randint(-1400, 1400) * DAY, years_before(app, 20))
            s_name, s_number = self.person("F" if sex == "M" else "M", s_born, home)
            members.append({"name": s_name, "id_number": s_number, "relation": "spouse"})
            surname = (name if sex == "M" else s_name)[0]
            for _ in range(0 if elderly else rng.choice((0, 1, 1, 1, 2))):
                c_born = years_before(max(born, s_born), -rng.randint(22, 38)) + rng.randint(0, 364) * DAY
                # drawn either way, so that the draws never hang on the calendar (demo day)
                c_name, c_number = self.person(rng.choice("MF"), c_born, region, surname)
                if years_before(app, 18) < c_born < app - 30 * DAY:  # minors co-apply
                    members.append({"name": c_name, "id_number": c_number, "relation": "child"})
            h.surname, h.young = surname, age < 40
        if not elderly and 30 <= age <= 50 and rng.random() < 0.08:
            p_name, p_number = self.person(rng.choice("MF"), years_before(born, rng.randint(22, 34)), home)
            members.append({"name": p_name, "id_number": p_number, "relation": "parent"})
        groups = {category} & {"dibao", "tekun"}
        groups |= {"elderly70"} if age >= 70 else set()  # 70+ choose first
        groups |= {"disabled"} if rng.random() < 0.06 else set()
        if rng.random() < 0.04:
            groups.add(rng.choice(("youfu", "jianyiyongwei", "jisheng", "laomo")))
        if category == "xinjiuye" and rng.random() < 0.25:
            groups.add("talent")
        poor = category in ("tekun", "dibao")
        h.cstruct = {
            "applicant": {"name": name, "id_number": number},
            "members": members, "category": category, "priority_groups": sorted(groups),
            "income_per_capita": round(rng.uniform(low, high), 2),
            "assets": round(rng.uniform(0, 20000 if poor else 95000), -2),
            "housing_area_per_capita": 0.0 if rng.random() < 0.6 else round(rng.uniform(4, 17), 1),
            "phone": self.phone(), "jurisdiction": city.code, "hukou_district": hukou,
            "district": district, "address": self.address(city, district, roads), "notes": ""}
        for path, field in (("eligibility.income_per_capita_max", "income_per_capita"),
                            ("eligibility.assets_max", "assets"),
                            ("eligibility.housing_area_per_capita_max", "housing_area_per_capita")):
            cap = self.limit(h, path, 1 + len(members))   # drawn within the city's limits
            if cap is not None and h.cstruct[field] > 0.97 * cap:
                h.cstruct[field] = round(0.97 * cap * rng.uniform(0.8, 1.0), 2)
        h.employer = (f"{city.name}民政局" if poor or elderly else
                      f"{city.name[:2]}{rng.choice(FIRM_WORDS[0])}{rng.choice(FIRM_WORDS[1])}有限公司")
        return h

    # -- the path ------------------------------------------------------------------------
    def place(self, h):
        """Lay the path out so that its anchor step lands ``gap`` days before the base date
        (a tenant's signing ``tenancy_days`` before it, an exit ``exit_gap`` before it)."""
        target = self.today - h.gap * DAY
        if h.scenario == "leased":
            target = self.today - h.tenancy_days * DAY
        elif h.scenario == "exiting":
            target = self.today - h.exit_gap * DAY
        app, best = target, None
        for tries in range(60):   # working days and holidays stretch a path: move and retry
            steps, tenancies = self._path(h, workday(app))
            anchor = self._anchor(h, steps, workday(app))
            fits = anchor <= target and all(s.day < self.today for s in steps)
            if fits and (anchor > target - 12 * DAY or tries > 20):
                best = steps, tenancies
                break
            app += ((target - 3 * DAY) - anchor).days * DAY - tries // 10 * DAY
        if best is None:
            raise ValueError(f"cannot place a demo household's path ({h.scenario})")
        h.created, (h.steps, h.tenancies) = workday(app), best

    def _anchor(self, h, steps, app):
        if h.scenario in ("leased", "exiting"):
            name = "sign" if h.scenario == "leased" else "exit"
            return next(s.day for s in steps if s.name == name)
        return steps[-1].day if steps else app

    def _path(self, h, app):
        """The steps of the household's way, from application day ``app`` (a fixed draw per
        household, so moving the path keeps its shape)."""
        rng, profile, sc, flags = random.Random(h.seed), self.profile(h), h.scenario, h.flags
        steps, tenancies, now = [], [], [app]

        def go(name, days=0, on=None, **kw):
            day = workday(on if on is not None else now[0] + days * DAY)
            now[0] = day
            steps.append(Step(name, day, **kw))
            return steps[-1]

        if sc == "applied":
            return steps, tenancies
        if sc == "returned" or flags["returned"]:
            go("return", rng.randint(1, 4))
            if sc == "returned":
                return steps, tenancies
            go("resubmit", rng.randint(3, 9), actor="archivist")
        if sc == "refused":
            go("refuse", rng.randint(1, 4))
            return steps, tenancies
        go("accept", rng.randint(1, 4))
        if sc == "accepted" or (sc == "withdrawn" and flags["withdraw_at"] == "accepted"):
            if sc == "withdrawn":
                go("withdraw", rng.randint(3, 15))
            return steps, tenancies
        if sc == "rejected":
            go("reject", rng.randint(7, 20))
            return steps, tenancies
        go("approve", rng.randint(7, 20))
        if sc == "approved" or (sc == "withdrawn" and flags["withdraw_at"] == "approved"):
            if sc == "withdrawn":
                go("withdraw", rng.randint(2, 5))
            return steps, tenancies
        publish = go("publish", rng.randint(1, 4))
        if sc == "publicity":
            return steps, tenancies
        if sc in ("objection", "upheld") or flags["objection"]:
            go("object", rng.randint(1, 3))
            if sc == "objection":
                return steps, tenancies
            go("uphold_objection" if sc == "upheld" else "dismiss_objection", rng.randint(5, 12))
            if sc == "upheld":
                return steps, tenancies
        else:   # the publicity period must have run out (the register step's elapsed guard)
            go("register", on=after(publish.day, profile.duration("publicity")).day + rng.randint(1, 4) * DAY)
        if sc == "registered" or sc == "withdrawn":
            if sc == "withdrawn":
                go("withdraw", rng.randint(30, 300))
            return steps, tenancies
        wait = rng.randint(60, 540)
        if flags["excused"]:   # offered a unit once, declined it with good cause, waited again
            first = Tenancy(h, None, outcome="excused")
            first.allocated = go("allocate", rng.randint(60, 400), tenancy=first).day
            go("decline_with_cause", rng.randint(3, 9), tenancy=first)
            tenancies.append(first)
            wait = rng.randint(30, 200)
        t = Tenancy(h, None)
        tenancies.append(t)
        t.allocated = go("allocate", wait, tenancy=t).day
        if sc == "allocated":
            t.outcome = "offered"
            return steps, tenancies
        if sc == "lapsed":
            t.outcome = "declined"
            go("decline", rng.randint(3, 9), tenancy=t)
            return steps, tenancies
        t.signed = go("sign", rng.randint(3, 9), tenancy=t).day
        t.start = t.signed + rng.randint(0, 3) * DAY
        years = self.lease_years(h)
        t.end = years_before(t.start, -years) - DAY
        stop = self.today if sc == "leased" else workday(t.signed + h.tenancy_days * DAY)
        clock, end = t.signed, t.end
        change = (t.signed + rng.randint(150, 900) * DAY) if flags["change"] else None
        while True:
            review = workday(clock + rng.randint(330, 360) * DAY)
            renew = workday(end - rng.randint(20, 50) * DAY)
            nxt = min(review, renew)
            if change is not None and change < nxt:
                if workday(change) < stop:
                    go("change", on=change, tenancy=t)
                change = None
                continue
            if nxt >= stop:
                break
            if renew <= review:
                end = years_before(end, -years)
                t.renewals.append((renew, end))
                go("renew", on=renew, tenancy=t, inputs={"end": end})
            else:
                go("annual_review", on=review, tenancy=t)
            clock = nxt
        if sc == "leased":
            return steps, tenancies
        if sc == "forced" and flags["forced_from"] == "leased":
            t.ended = go("force_exit", on=stop, tenancy=t).day
            h.force_reason = "sublet"
            return steps, tenancies
        go("exit", on=stop, tenancy=t)
        if sc == "exiting":
            return steps, tenancies
        if sc == "forced":
            period_end = after(now[0], profile.duration("transition")).day
            t.ended = go("force_exit", on=period_end + rng.randint(5, 30) * DAY, tenancy=t).day
            h.force_reason = "refuse_vacate"
        else:
            t.ended = go("complete_exit", rng.randint(20, 80), tenancy=t).day
        return steps, tenancies

    def lease_years(self, h):
        """3 years, 2 for 腾冲's 廉租 households, always within the city's limits."""
        profile = self.profile(h)
        years = 2 if h.city.code == "tengchong" and h.cstruct.get("category") in ("dibao", "tekun") else 3
        low, high = profile.value("lease.min_years"), profile.value("lease.max_years")
        return max(low or 1, min(high or years, years))

    def truncate(self, h, tenancy):
        """No unit was free for this allocation: the household is still waiting (轮候)."""
        i = next(i for i, s in enumerate(h.steps) if s.tenancy is tenancy)
        h.steps = h.steps[:i]
        h.tenancies = h.tenancies[:h.tenancies.index(tenancy)]

    # -- the records ---------------------------------------------------------------------
    def documents(self, h, workflow):
        """Every record the household's steps left, split into what the steps need (core:
        the profile's required documents, first of each type, filed before the step that
        needs it) and the rest (extras, filed as far as the budget goes)."""
        rng, profile, app = self.rng, self.profile(h), h.created
        docs = [Doc(k, app if k in ("application_form", "pledge", "check_authorization")
                    else app - rng.randint(1, 20) * DAY) for k in APPLICATION_DOCS]
        docs += [Doc("special_status", app - rng.randint(5, 60) * DAY, g)
                 for g in h.cstruct["priority_groups"] if g in PROOFS]
        if h.role == "missing_pledge":
            docs = [d for d in docs if d.doc_type != "pledge"]
        if any(s.name == "return" for s in h.steps):   # the file lacked one document at first
            late = next(d for d in docs if d.doc_type == h.missing)
            resubmit = next((s.day for s in h.steps if s.name == "resubmit"), None)
            docs.remove(late)
            if resubmit:
                docs.append(Doc(h.missing, resubmit - rng.randint(0, 2) * DAY))
        core, marked = [], set()
        for i, s in enumerate(h.steps):
            prev = h.steps[i - 1].day if i else app
            docs += self._step_docs(h, s, prev)
        docs.sort(key=lambda d: d.date)
        for s in h.steps:
            dated = _dated(workflow, s.name)    # the annual review: this year's papers, each time
            for code in _needs(workflow, profile, s.name):
                if code in marked and not dated:
                    continue
                found = [d for d in docs if d.doc_type == code and d.date <= s.day]
                if dated:
                    found.reverse()             # the newest: the one this step produced
                doc = next((d for d in found if d.tenancy is s.tenancy), found[0] if found else None)
                if doc is None:
                    doc = Doc(code, s.day, tenancy=s.tenancy)
                    docs.append(doc)
                doc.after = False if doc.date == s.day else doc.after
                core.append(doc)
                s.needs.append(doc)
                marked.add(code)
        waiting = not h.steps or h.steps[-1].name in ("return", "resubmit")
        if waiting:   # awaiting acceptance: the whole application set is there (bar the fault)
            core += [d for d in docs if d.date <= app and d not in core and d.doc_type not in marked]
        core += [d for d in docs if d.doc_type == "pledge" and d not in core][:1]   # 承诺书制度
        h.core = sorted(set(core), key=docs.index)
        first = [d for d in docs if d.doc_type in ("application_form", "income_proof")][:2]
        h.extras = [x for x in first + [x for x in docs if x not in first]
                    if x not in h.core and x.date < self.today]

    def _step_docs(self, h, s, prev):
        """The records a step produces (dated on or before it unless marked ``after``)."""
        rng, t, d = self.rng, s.tenancy, s.day
        if s.name in ("approve", "reject"):   # 民政, 公安, 不动产登记, 住建 each give an opinion
            return ([Doc("review_opinion", between(rng, prev + DAY, d), i) for i in range(len(DEPARTMENTS))]
                    + [Doc("check_report", between(rng, prev + DAY, d))])
        if s.name == "publish":
            return [Doc("publicity_record", d, after=True)]
        if s.name in ("register", "dismiss_objection"):
            docs = [Doc("registration_notice", d + rng.randint(0, 2) * DAY, after=True)]
            if s.name == "dismiss_objection":
                docs.append(Doc("objection", d, variant=False))
            return docs
        if s.name == "uphold_objection":
            return [Doc("objection", d, variant=True)]
        if s.name == "allocate":
            return [Doc("lottery_record", d - rng.randint(2, 15) * DAY, tenancy=t),
                    Doc("allocation_notice", d, tenancy=t, after=True)]
        if s.name == "sign":
            return [Doc("lease_contract", d, tenancy=t), Doc("deposit_receipt", d, tenancy=t),
                    Doc("handover", t.start + rng.randint(1, 7) * DAY, tenancy=t, after=True)]
        if s.name == "annual_review":   # dated within the review's year: not before the last step
            last = max([x.day for x in h.steps if x is not s and x.day <= d], default=prev)
            return [Doc("annual_declaration", max(d - rng.randint(10, 30) * DAY, last), d.year - 1, t),
                    Doc("recheck_opinion", max(d - rng.randint(0, 3) * DAY, last), d.year - 1, t)]
        if s.name == "renew":
            return [Doc("recheck_opinion", d - rng.randint(3, 10) * DAY, d.year, t),
                    Doc("lease_contract", d, tenancy=t)]
        if s.name == "change":
            return [Doc("change_request", d - rng.randint(0, 5) * DAY, tenancy=t)]
        if s.name in ("exit", "force_exit"):
            return [Doc("exit_notice", d - rng.randint(0, 5) * DAY, tenancy=t)]
        if s.name == "complete_exit":
            return [Doc("vacate_inspection", d, tenancy=t), Doc("settlement", d, tenancy=t)]
        return []

    def rent_records(self, h):
        """The last four full quarters' rent payments of each lease (extras)."""
        for t in h.tenancies:
            if t.start:
                h.extras += [x for x in _rent_records(t, self.today) if x.date < self.today]

    def history(self, h, protect=False, until=None):
        """Later changes, so that version histories have something to show.

        Some households report a new income and file a new income proof over the old one
        (the proof then has two file revisions); the first household that can is always
        one of them. Others change their phone number. New incomes stay within the city's
        limit (``protect`` households get none: their income is the point of their story);
        a closed file (``until`` its last step) changes no more.
        """
        rng, last = self.rng, (until or self.today) - DAY   # a closed file changes no more
        proof = next((x for x in h.core + h.extras if x.doc_type == "income_proof"), None)
        if proof is not None and not protect:
            start = max(h.created, proof.date) + 15 * DAY
            if start < last and (not self.refiles or rng.random() < 0.12):
                day = between(rng, start, last)
                income = round(h.cstruct["income_per_capita"] * rng.uniform(0.8, 1.25), 2)
                cap = self.limit(h)
                if cap is not None:
                    income = min(income, round(0.97 * cap, 2))
                self.new_income(h, day, income, "家庭收入变化，更新人均月收入")
        if rng.random() < 0.12 and h.created + 5 * DAY < last:
            h.edits.append((between(rng, h.created + 5 * DAY, last), {"phone": self.phone()}, "联系电话变更"))

    def new_income(self, h, day, income, comment):
        """An income change with a new income proof filed over the old one."""
        proof = next(x for x in h.core + h.extras if x.doc_type == "income_proof")
        if proof in h.extras:  # the refiled proof must be filed in the first place
            h.extras.remove(proof)
            h.core.append(proof)
        h.edits.append((day, {"income_per_capita": income}, comment))
        h.refiles.append((day, proof))
        self.refiles += 1

    def newborn(self, h, day):
        """A child born shortly before ``day``, for a 变更 (change) step."""
        rng = self.rng
        born = day - rng.randint(20, 60) * DAY
        region = idnumber.normalize(h.cstruct["applicant"]["id_number"])[:6]
        name, number = self.person(rng.choice("MF"), born, region, getattr(h, "surname", None))
        return {"name": name, "id_number": number, "relation": "child"}

    # -- people and places ---------------------------------------------------------------
    def person(self, sex, born, region, surname=None):
        """A name and a valid ID number no one else in the city has."""
        rng = self.rng
        surname = surname or SURNAMES[int(rng.triangular(0, len(SURNAMES), 0))]
        given = "".join(rng.choice(GIVEN[sex]) for _ in range(rng.choice((1, 2, 2))))
        number = None
        while number is None or number in self.used_ids:  # GB 11643: odd for men, even for women
            number = idnumber.make(region, born, rng.randrange(1, 500) * 2 - (sex == "M"))
        self.used_ids.add(number)
        return surname + given, number

    def phone(self):
        """A mainland mobile number (1[3-9] and nine digits)."""
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"

    def address(self, city, district, roads):
        """A flat on one of the district's roads."""
        rng = self.rng
        return (f"{city.name}{district}{rng.choice(roads)}{rng.randint(1, 320)}号"
                f"{rng.randint(1, 24)}幢{rng.randint(1, 18)}{rng.randint(1, 4):02d}室")


def _dated(workflow, name):
    """Whether step ``name`` wants its documents dated in the review's year (dated guards)."""
    transition = workflow.transition(name)
    return transition is not None and any(g.kind == "documents" and g.options.get("dated")
                                          for g in transition.guards)


def _needs(workflow, profile, name):
    """The documents step ``name`` needs in this city (its documents guards' stages)."""
    transition = workflow.transition(name)
    if transition is None:
        return ()
    return [code for g in transition.guards if g.kind == "documents"
            for code in profile.required_documents(g.arg)]


def _rent_records(t, today):
    """The last four full quarters' rent payments of a tenancy."""
    end = min(t.ended or today, today)
    quarters = sorted({(d.year, (d.month - 1) // 3 + 1) for d in
                       (t.start + k * DAY for k in range(0, (end - t.start).days, 30))})[-5:-1]
    # recorded on the 28th of the quarter's last month
    return [Doc("rent_record", max(_dt.date(y, q * 3, 28), t.start), (y, q), t) for y, q in quarters]
