"""Demo households (演示家庭): families, their steps through the procedure, their records.

A household is drawn as a whole life in the archive: who applies and with whom (spouse
and minor children co-apply, seed 002; the applicant is an adult), when each step
happened (counted back from the base date so every stage is reached in the past), which
documents each step left, and what changed later (an address on moving in, an income with
a new proof, a phone number).
"""
from __future__ import annotations

import datetime as _dt

from .. import idnumber
from .places import CITIES, DEPARTMENTS, FIRM_WORDS, GIVEN, HOMETOWNS, MOBILE_PREFIXES, PROOFS, SURNAMES
from .plan import DAY, Doc, Plan, between, years_before

STAGES = ("application", "reviewed", "publicised", "registered", "allocated", "leased",
          "annual_review", "exited")
STAGE_WEIGHTS = (10, 9, 8, 17, 6, 20, 18, 12)
STAGE_TITLES = dict(zip(STAGES, ("申请受理", "审核", "公示", "登记轮候", "已配租", "在租", "年审", "已退出")))
TENANT_STAGES = ("allocated", "leased", "annual_review")
WAITING = STAGES[:4] + ("publicity_start",)  # the steps of a household on the waiting list
# (category, weight, per-capita monthly income range in yuan)
CATEGORIES = (("tekun", 5, (300, 800)), ("dibao", 15, (450, 1000)), ("dishouru", 25, (900, 2000)),
              ("zhongdeng", 22, (1800, 3400)), ("xinjiuye", 18, (2500, 5000)),
              ("wailai", 15, (2000, 3800)))
APPLICATION_DOCS = ("application_form", "id_card", "hukou", "marriage_proof", "income_proof",
                    "housing_proof", "pledge", "check_authorization")
# What marks each later stage in the file, besides the pledge every household has.
MARKERS = {"reviewed": ("review_opinion",), "publicised": ("publicity_record",),
           "registered": ("registration_notice",), "allocated": ("allocation_notice",),
           "leased": ("lease_contract",), "annual_review": ("lease_contract", "annual_declaration"),
           "exited": ("exit_notice", "vacate_inspection")}


class Families:
    """Draws households from the city's random generator; ID numbers never repeat."""

    def __init__(self, rng, today):
        self.rng, self.today = rng, today
        self.used_ids = set()
        self.refiles = 0

    def draw(self, stage=None) -> Plan:
        """A household at ``stage`` (drawn when None) with its people and dates."""
        rng = self.rng
        city = rng.choices(CITIES, [c.weight for c in CITIES])[0]
        category, _, (low, high) = rng.choices(CATEGORIES, [c[1] for c in CATEGORIES])[0]
        stage = stage or rng.choices(STAGES, STAGE_WEIGHTS)[0]
        dates = self._timeline(stage, city)
        app = dates["application"]
        district, region, roads = rng.choice(city.districts)
        elderly = category in ("tekun", "dibao", "dishouru") and rng.random() < 0.3
        age = rng.randint(70, 86) if elderly else rng.randint(
            *{"xinjiuye": (22, 32), "wailai": (24, 48)}.get(category, (26, 66)))
        sex = rng.choice("MMMMMFFFF")
        born = years_before(app, age) - rng.randint(0, 364) * DAY
        home, hukou = rng.choice(HOMETOWNS) if category == "wailai" else (region, district)
        name, number = self.person(sex, born, home)
        members = []
        if age >= 24 and rng.random() < (0.35 if category == "xinjiuye" else 0.7):
            s_born = min(born + rng.randint(-1400, 1400) * DAY, years_before(app, 20))
            s_name, s_number = self.person("F" if sex == "M" else "M", s_born, home)
            members.append({"name": s_name, "id_number": s_number, "relation": "spouse"})
            surname = (name if sex == "M" else s_name)[0]
            for _ in range(0 if elderly else rng.choice((0, 1, 1, 1, 2))):
                c_born = years_before(max(born, s_born), -rng.randint(22, 38)) + rng.randint(0, 364) * DAY
                if years_before(app, 18) < c_born < app - 30 * DAY:  # minors co-apply
                    c_name, c_number = self.person(rng.choice("MF"), c_born, region, surname)
                    members.append({"name": c_name, "id_number": c_number, "relation": "child"})
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
        plan = Plan("household", city, app, {
            "applicant": {"name": name, "id_number": number},
            "members": members, "category": category, "priority_groups": sorted(groups),
            "income_per_capita": round(rng.uniform(low, high), 2),
            "assets": round(rng.uniform(0, 20000 if poor else 95000), -2),
            "housing_area_per_capita": 0.0 if rng.random() < 0.6 else round(rng.uniform(4, 17), 1),
            "phone": self.phone(), "jurisdiction": city.code, "hukou_district": hukou,
            "district": district, "address": self.address(city, district, roads),
            "unit_ref": "", "notes": ""}, stage=stage, dates=dates)
        plan.employer = (f"{city.name}民政局" if poor or elderly else
                         f"{city.name[:2]}{rng.choice(FIRM_WORDS[0])}{rng.choice(FIRM_WORDS[1])}有限公司")
        return plan

    def _timeline(self, stage, city):
        """The date of every step the household has passed, counted back from today."""
        rng, off, t = self.rng, {"application": 0}, 0
        for step, days in (("reviewed", rng.randint(7, 25)), ("publicity_start", rng.randint(3, 10)),
                           ("publicised", city.publicity_days), ("registered", rng.randint(3, 12)),
                           ("allocated", rng.randint(60, 540)), ("leased", rng.randint(3, 9))):
            t += days
            off[step] = t
        off["exited"] = t + rng.randint(400, 1500)
        gaps = {"application": (2, 20), "reviewed": (1, 8), "publicised": (1, 5), "registered": (5, 400),
                "allocated": (1, 9), "leased": (20, 330), "exited": (20, 600)}
        if stage == "annual_review":
            last, gap = off["leased"] + rng.randint(380, 1400), 0
        else:
            last, gap = off[stage], rng.randint(*gaps[stage])
        app = self.today - (last + gap) * DAY
        reached = STAGES[:STAGES.index(stage) + 1]
        reached += ("publicity_start",) if "publicised" in reached else ()
        dates = {k: app + v * DAY for k, v in off.items() if k in reached}
        if "leased" in dates:  # 年审: one declaration a year while the lease runs
            end = dates.get("exited", self.today) - 20 * DAY
            dates["annual"] = [d for k in range(1, 6) if (d := dates["leased"] + 365 * k * DAY) < end]
        return dates

    def wait_list(self, h):
        """No unit was free for this household: it stays registered, waiting (轮候)."""
        h.stage = "registered"
        h.dates = {k: v for k, v in h.dates.items() if k in WAITING}

    def documents(self, h, without_pledge=False):
        """Every record the household's steps left, split into what marks its stage and the rest."""
        rng, d = self.rng, h.dates
        app, t = d["application"], (h.tenancies[0] if h.tenancies else None)
        docs = [Doc(k, app if k in ("application_form", "pledge", "check_authorization")
                    else app - rng.randint(1, 20) * DAY) for k in APPLICATION_DOCS
                if not (without_pledge and k == "pledge")]
        docs += [Doc("special_status", app - rng.randint(5, 60) * DAY, g)
                 for g in h.cstruct["priority_groups"] if g in PROOFS]
        if "reviewed" in d:  # 民政, 公安, 不动产登记, 住建 each give an opinion
            docs += [Doc("review_opinion", between(rng, app + DAY, d["reviewed"]), i)
                     for i in range(len(DEPARTMENTS))]
            docs.append(Doc("check_report", between(rng, app + DAY, d["reviewed"])))
        for step, kind in (("publicised", "publicity_record"), ("registered", "registration_notice")):
            if step in d:
                docs.append(Doc(kind, d[step]))
        if t:
            docs += [Doc("allocation_notice", t.allocated, tenancy=t),
                     Doc("lottery_record", t.allocated - rng.randint(2, 15) * DAY, tenancy=t)]
        if t and t.start:
            docs += [Doc("lease_contract", t.start, tenancy=t), Doc("deposit_receipt", t.start, tenancy=t),
                     Doc("handover", t.start + rng.randint(1, 7) * DAY, tenancy=t)]
            docs += [x for y in d["annual"] for x in (
                Doc("annual_declaration", y, y.year - 1),
                Doc("recheck_opinion", y + rng.randint(5, 20) * DAY, y.year - 1))]
            docs += _rent_records(t, self.today)
        if t and t.end:
            docs += [Doc("exit_notice", t.end - rng.randint(30, 60) * DAY, tenancy=t),
                     Doc("vacate_inspection", t.end, tenancy=t),
                     Doc("settlement", t.end + rng.randint(3, 10) * DAY, tenancy=t)]
        if h.stage == "application":
            h.core = list(docs)
        else:
            h.core = [_first(docs, "pledge")] + [[x for x in docs if x.doc_type == m][-1]
                                                 for m in MARKERS[h.stage]]
        first = [_first(docs, "application_form"), _first(docs, "income_proof")]
        h.extras = [x for x in first + [x for x in docs if x not in first]
                    if x not in h.core and x.date < self.today]
        if t:
            self._tenancy_edits(h, t)

    def _tenancy_edits(self, h, t):
        unit = t.unit.cstruct
        h.edits.append((t.allocated, {"unit_ref": t.unit}, f"配租：{unit['address']}"))
        if t.start:
            h.edits.append((t.start, {"address": unit["address"], "district": unit["district"]},
                            "签约入住，现住址变更为配租房源"))
        if t.end:
            district, _, roads = self.rng.choice(h.city.districts)
            h.edits.append((t.end, {"unit_ref": "", "district": district,
                                    "address": self.address(h.city, district, roads)}, "退出保障，解除配租"))

    def history(self, h):
        """Later changes, so that version histories have something to show.

        Some households report a new income and file a new income proof over the old one
        (the proof then has two file revisions); the first household that can is always
        one of them. Others change their phone number.
        """
        rng, last = self.rng, self.today - DAY
        proof = _first(h.core + h.extras, "income_proof")
        start = max(h.created, proof.date) + 15 * DAY
        if start < last and (not self.refiles or rng.random() < 0.12):
            if proof in h.extras:  # the refiled proof must be filed in the first place
                h.extras.remove(proof)
                h.core.append(proof)
            day = between(rng, start, last)
            income = round(h.cstruct["income_per_capita"] * rng.uniform(0.8, 1.25), 2)
            h.edits.append((day, {"income_per_capita": income}, "家庭收入变化，更新人均月收入"))
            h.refiles.append((day, proof))
            self.refiles += 1
        if rng.random() < 0.12 and h.created + 5 * DAY < last:
            h.edits.append((between(rng, h.created + 5 * DAY, last), {"phone": self.phone()}, "联系电话变更"))

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


def _rent_records(t, today):
    """The last four full quarters' rent payments of a tenancy."""
    end = t.end or today
    quarters = sorted({(d.year, (d.month - 1) // 3 + 1) for d in
                       (t.start + k * DAY for k in range(0, (end - t.start).days, 30))})[-5:-1]
    # recorded on the 28th of the quarter's last month
    return [Doc("rent_record", max(_dt.date(y, q * 3, 28), t.start), (y, q), t) for y, q in quarters]


def _first(docs, doc_type):
    return next(x for x in docs if x.doc_type == doc_type)
