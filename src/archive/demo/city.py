"""The demo city (演示城市): households and units of the five seed jurisdictions.

A demonstration, the functional tests and the audits all need an archive that looks like
a real office's — Chinese names, valid ID numbers, children younger than their parents,
households at every step of the procedure (受理 → 审核 → 公示 → 登记 → 配租 → 入住 → 年审 →
退出), units let, vacated and let again — without anyone's real data. Everything goes
through ``archive.filing``, so the demo passes the same validation as a clerk's input, and
everything is drawn from one ``random.Random(seed)`` against a fixed base date, so a seed
always gives the same archive, archive numbers included.

A household's stage shows in the documents it holds, as in a paper file: an exited
household has 退出通知 and 腾退验收单, a tenant its 租赁合同, a registered one its 登记通知.
The ``documents`` budget is exact: each dossier first gets what marks its stage (every
household its 承诺书, an applicant the whole application set), then the rest is dealt out
round-robin from the records its history would have produced.

Deliberate faults, for the audits to find (returned under ``summary["faults"]``):

* ``missing_pledge`` — a household at the application stage holding every application
  document except the 承诺书 (truthfulness pledge, 承诺书制度, seed 000).
* ``double_let_unit`` — a unit whose archive number is the ``unit_ref`` of two current
  households (a unit has at most one current tenant, DOMAIN.md): the second household's
  clerk typed the wrong 档号. ``double_let_households`` names both households.
"""
from __future__ import annotations

import collections
import copy
import datetime as _dt
import random

from .. import filing
from ..dossier import NothingChanged
from ..users import ROLES, role_title
from .family import TENANT_STAGES, Families
from .places import CITIES, DEPARTMENTS, DOC_STYLE, PROOFS
from .plan import DAY, Doc, Plan, Tenancy, between, years_before

DEMO_PASSWORD_PREFIX = "demo-"  # demo passwords are this plus the login: public, so demo data only
BASE_DATE = _dt.date(2026, 1, 1)
ACTOR = "archivist"
DOC_ORDER = {doc_type: i for i, doc_type in enumerate(DOC_STYLE)}
CST = _dt.timezone(_dt.timedelta(hours=8))
# (layout, weight, area range in m²): 厦门 single room ~30, one-bedroom ~45, two ~60, three ~70
LAYOUTS = (("studio", 20, (26, 33)), ("one", 35, (40, 50)), ("two", 35, (55, 65)),
           ("three", 10, (66, 75)))


def create_demo_users(root, hasher):
    """One demo user per role, login = role, password DEMO_PASSWORD_PREFIX + login.

    Existing logins are left alone (their passwords are not reset); returns
    ``[(login, password, role)]`` for the users made.
    """
    made = []
    for role in ROLES:
        if role not in root.users:
            password = DEMO_PASSWORD_PREFIX + role
            root.users.add(role, f"演示{role_title(role)}", [role], password, hasher)
            made.append((role, password, role))
    return made


def build_city(root, registry, *, households=200, units=150, documents=1000, seed=2026,
               today=BASE_DATE, progress=None, commit=None, render=None, patterns=None) -> dict:
    """Plan the whole city, then file it dossier by dossier in the caller's transaction.

    ``commit`` (e.g. ``transaction.commit``) is called after every 50 dossiers so a big
    build does not hold everything in one transaction; ``render`` defaults to the demo's
    PDF renderer; ``patterns`` are the office's 档号 patterns, as for any filing.
    Returns the summary (counts, each household's stage, the faults).
    """
    if render is None:
        from .pdfs import render_document as render
    city = _City(random.Random(seed), registry, today, patterns)
    plans = city.plan(households, units, documents)
    for done, plan in enumerate(plans, 1):
        city.carry_out(root, plan, render)
        if progress:
            progress(done, len(plans))
        if commit and done % 50 == 0:
            commit()
    return city.summary()


class _City:
    """Draws the city from one random generator; every draw happens in a fixed order."""

    def __init__(self, rng, registry, today, patterns=None):
        self.rng, self.registry, self.today, self.patterns = rng, registry, today, patterns
        self.families = Families(rng, today)
        self.unit_keys, self.doc_numbers = set(), {}
        self.households, self.units, self.faults = [], [], {}
        self.counts = collections.Counter()

    # -- planning ----------------------------------------------------------------------
    def plan(self, households, units, documents):
        """Units and households in the order they are filed, each with its whole history."""
        self.units = sorted((self._unit() for _ in range(units)), key=lambda p: p.created)
        self.households = [self.families.draw("application" if i == 0 else None)
                           for i in range(households)]
        self.faults["missing_pledge"] = self.households[0]
        self._let_units()
        self._plant_double_let()
        for h in self.households:
            self.families.documents(h, without_pledge=h is self.faults["missing_pledge"])
            self.families.history(h)
        for u in self.units:
            self._unit_history(u)
        self._deal(self.units + self.households, documents)
        self.households.sort(key=lambda p: p.created)  # 档号 follow the order of application
        return self.units + self.households

    def _unit(self):
        """A unit of one of the city's estates, delivered 2016–2021 or still being built."""
        rng = self.rng
        city = rng.choices(CITIES, [c.weight for c in CITIES])[0]
        project, district, road, ownership, owner = rng.choice(city.projects)
        layout, _, (low, high) = rng.choices(LAYOUTS, [w for _, w, _ in LAYOUTS])[0]
        key = None
        while key is None or key in self.unit_keys:  # building 1–12, floors 1–18, 4 flats a floor
            key = (project, str(rng.randint(1, 12)), f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}")
        self.unit_keys.add(key)
        area = round(rng.uniform(low, high), 2)
        building = rng.random() < 0.06
        created = (self.today - rng.randint(30, 300) * DAY if building
                   else _dt.date(2016, 1, 1) + rng.randint(0, 6 * 365) * DAY)
        number = 8 + sum(map(ord, project)) % 190  # one street number per estate
        plan = Plan("unit", city, created, {
            "project": project, "building": key[1], "unit_no": key[2],
            "address": f"{city.name}{district}{road}{number}号{project}{key[1]}栋{key[2]}室",
            "jurisdiction": city.code, "district": district, "layout": layout, "area": area,
            "ownership": ownership, "owner": owner,
            "rent": float(round(area * city.rent_per_m2 * rng.uniform(0.92, 1.08))),
            "state": "building" if building else "delivered", "notes": ""})
        plan.free_from = None if building else created + 60 * DAY
        return plan

    def _let_units(self):
        """Give tenants units of their city that were free when they were allocated.

        Exited households come first, oldest allocation first, so their units can be let
        again; a tenant for whom no unit was free stays on the waiting list (登记/轮候).
        """
        exited = [h for h in self.households if h.stage == "exited"]
        current = [h for h in self.households if h.stage in TENANT_STAGES]
        def allocated(h):
            return h.dates["allocated"]
        for h in sorted(exited, key=allocated) + sorted(current, key=allocated):
            alloc = allocated(h)
            free = [u for u in self.units if u.city is h.city and u.free_from
                    and u.free_from <= alloc - 10 * DAY]
            if not free:
                self.families.wait_list(h)
                continue
            unit = self.rng.choice(free)
            t = Tenancy(h, unit, alloc, h.dates.get("leased"), h.dates.get("exited"))
            h.tenancies.append(t)
            unit.tenancies.append(t)
            unit.free_from = t.end + self.rng.randint(30, 90) * DAY if t.end else None

    def _plant_double_let(self):
        """The second fault: a current tenant's unit_ref names another tenant's unit."""
        for city in CITIES:
            tenants = [h for h in self.households if h.city is city and h.stage in TENANT_STAGES]
            if len(tenants) >= 2:
                first, second = tenants[0], tenants[-1]
                wrong = second.tenancies[0]
                wrong.unit.tenancies.remove(wrong)
                wrong.unit = first.tenancies[0].unit
                self.faults.update(double_let_unit=wrong.unit,
                                   double_let_households=[first, second])
                return
        raise ValueError("the demo needs two current tenants in one city for its planted fault")

    def _unit_history(self, u):
        """The unit's records and state changes: delivery, each lease, each hand-back."""
        rng, c = self.rng, u.created
        base = [Doc("property_registration", c - rng.randint(0, 15) * DAY),
                Doc("floor_plan", c - rng.randint(100, 400) * DAY),
                Doc("completion_acceptance", c - rng.randint(20, 90) * DAY),
                Doc("rent_standard", c + rng.randint(5, 30) * DAY)]
        if u.cstruct["state"] == "building":
            u.core, u.extras = [base[1]], []
            return
        u.edits.append((c + rng.randint(15, 55) * DAY, {"state": "vacant"}, "验收交付，纳入房源池"))
        leases, others = [], []
        tenancies = sorted(u.tenancies, key=lambda t: t.allocated)
        for i, t in enumerate(tenancies):
            name = t.household.cstruct["applicant"]["name"]
            u.edits.append((t.allocated, {"state": "allocated"}, f"配租给{name}"))
            others.append(Doc("allocation_notice", t.allocated, tenancy=t))
            if t.start:
                u.edits.append((t.start, {"state": "leased"}, f"与{name}签订租赁合同，入住"))
                leases.append(Doc("lease_contract", t.start, tenancy=t))
                others.append(Doc("handover", t.start + rng.randint(1, 7) * DAY, tenancy=t))
            if t.end:
                u.edits.append((t.end, {"state": "vacating"}, f"{name}退出，腾退验收"))
                others.append(Doc("vacate_inspection", t.end, tenancy=t))
                after = t.end + rng.randint(20, 40) * DAY
                following = tenancies[i + 1].allocated if i + 1 < len(tenancies) else self.today
                if after < following:
                    repair = rng.random() < 0.25
                    u.edits.append((after, {"state": "repair" if repair else "vacant"},
                                    "腾退后维修" if repair else "验收完毕，空置待配"))
                    if repair:
                        others.append(Doc("repair_record", after))
        if not tenancies and rng.random() < 0.12:
            day = between(rng, c + 90 * DAY, self.today - DAY)
            u.edits.append((day, {"state": "repair"}, "房屋维修"))
            others.append(Doc("repair_record", day))
        u.core = [base[0]]
        u.extras = [x for x in leases[::-1] + base[1:] + others if x.date < self.today]

    def _deal(self, plans, total):
        """Exactly ``total`` documents: every core first, then extras round-robin."""
        for p in plans:
            p.docs = list(p.core)
        need = total - sum(len(p.docs) for p in plans)
        if need < 0:
            raise ValueError(f"documents={total}: the dossiers' stages need at least {total - need}")
        order = list(plans)
        self.rng.shuffle(order)
        depth = 0
        while need > 0:
            takers = [p for p in order if depth < len(p.extras)][:need]
            if not takers:
                raise ValueError(f"documents={total}: more than the demo's histories produce")
            for p in takers:
                p.docs.append(p.extras[depth])
            need -= len(takers)
            depth += 1

    def _doc_no(self, city, prefix, year):
        """文号 in the form each kind of issuer uses, rising within a city, prefix and year."""
        key = (city.code, prefix, year)
        n = self.doc_numbers.get(key) or self.rng.randint(1, 40)
        self.doc_numbers[key] = n = n + self.rng.randint(1, 3)
        if prefix == "notary":
            return f"（{year}）{city.short}证民字第{n}号"
        if prefix == "property":
            return f"{city.province}（{year}）{city.name}不动产权第{n + 1000:07d}号"
        return f"{city.short}{prefix}〔{year}〕{n}号"

    # -- filing ------------------------------------------------------------------------
    def carry_out(self, root, plan, render):
        """Create the dossier and replay its history in date order through archive.filing."""
        # (day, then create/file/edit/refile, then for files their date and usual order, ...)
        events = [(plan.created, 0, plan.created, 0, "create", None)]
        events += [(max(d.date, plan.created), 1, d.date, DOC_ORDER[d.doc_type], "file", d)
                   for d in plan.docs]
        events += [(day, 2, day, 0, "edit", (changes, comment)) for day, changes, comment in plan.edits]
        events += [(day, 3, day, 0, "refile", d) for day, d in plan.refiles]
        events.sort(key=lambda e: e[:4])
        current, filed, dossier = copy.deepcopy(plan.cstruct), {}, None
        for n, (day, _, _, _, action, arg) in enumerate(events):
            when = (_dt.datetime.combine(day, _dt.time(9), CST) + _dt.timedelta(minutes=6 * n)
                    ).astimezone(_dt.timezone.utc)
            if action == "create":
                dossier = filing.create_dossier(root, self.registry, plan.kind, current, ACTOR,
                                                "受理申请，建档" if plan.kind == "household" else "房源建档",
                                                when=when, patterns=self.patterns)
                plan.archive_no = dossier.archive_no
            elif action == "edit":
                changes, comment = arg
                current.update({k: getattr(v, "archive_no", v) for k, v in changes.items()})
                try:
                    filing.edit_dossier(dossier, self.registry, current, ACTOR, comment, when=when)
                    self.counts["edits"] += 1
                except NothingChanged:
                    pass
            else:
                doc = arg if action == "file" else Doc(arg.doc_type, day, arg.variant, arg.tenancy)
                meta, ctx = self._describe(plan, doc, current)
                data = render(doc.doc_type, ctx)
                name = f"{doc.doc_type}_{doc.date:%Y%m%d}.pdf"
                if action == "file":
                    filed[id(arg)] = filing.file_document(dossier, self.registry, meta, data, name, ACTOR,
                                                          when=when).doc_id
                    self.counts["documents"] += 1
                else:
                    filing.refile_document(dossier, filed[id(arg)], data, name, ACTOR, "补交新的收入证明", when=when)
                    self.counts["refiles"] += 1

    def _describe(self, plan, doc, current):
        """The document's metadata and the context its PDF is rendered from."""
        title, issuer, prefix = DOC_STYLE[doc.doc_type]
        city, fmt = plan.city, {}
        t = doc.tenancy or (plan.tenancies[0] if plan.kind == "household" and plan.tenancies
                            and doc.date >= plan.tenancies[0].allocated else None)
        household = current if plan.kind == "household" else (t.household.cstruct if t else None)
        unit = current if plan.kind == "unit" else (t.unit.cstruct if t else None)
        if doc.doc_type == "review_opinion":
            fmt["dept"], fmt["dept_short"] = DEPARTMENTS[doc.variant]
            issuer = fmt["dept"]
        elif doc.doc_type == "special_status":
            fmt["proof"], issuer = PROOFS[doc.variant]
        elif doc.doc_type == "rent_record":
            fmt["year"], fmt["quarter"] = doc.variant
        elif doc.variant is not None:
            fmt["year"] = doc.variant
        parties = {"applicant": household and household["applicant"]["name"],
                   "employer": plan.employer, "owner": unit and unit["owner"]}
        issuer = parties.get(issuer) or city.name + issuer
        who = (f"{unit['project']}{unit['building']}栋{unit['unit_no']}室" if plan.kind == "unit"
               else current["applicant"]["name"])
        meta = {"doc_type": doc.doc_type, "title": f"{title.format(**fmt)}（{who}）",
                "date": doc.date.isoformat(), "issuer": issuer,
                "doc_no": self._doc_no(city, prefix.format(**fmt), doc.date.year) if prefix else ""}
        ctx = dict(meta, date=doc.date, jurisdiction=city.name,
                   household=household and self._household_ctx(household),
                   unit=unit and self._unit_ctx(unit), lease=_lease_ctx(t) if t and t.start else None)
        return meta, ctx

    def _household_ctx(self, h):
        vocab = self.registry.vocabularies
        return {"applicant_name": h["applicant"]["name"], "id_number": h["applicant"]["id_number"],
                "members": [dict(m, relation=vocab["relations"].title(m["relation"])) for m in h["members"]],
                "category": vocab["categories"].title(h["category"]),
                **{k: h[k] for k in ("income_per_capita", "assets", "housing_area_per_capita",
                                     "address", "phone", "district")}}

    def _unit_ctx(self, u):
        vocab = self.registry.vocabularies
        return dict({k: u[k] for k in ("project", "building", "unit_no", "address", "district",
                                       "area", "rent", "owner")},
                    layout=vocab["layouts"].title(u["layout"]),
                    ownership=vocab["ownerships"].title(u["ownership"]))

    def summary(self):
        """Counts, each household's stage and the archive numbers of the planted faults."""
        f = self.faults
        return {"households": len(self.households), "units": len(self.units),
                "documents": self.counts["documents"], "refiled": self.counts["refiles"],
                "edits": self.counts["edits"],
                "by_stage": dict(collections.Counter(h.stage for h in self.households)),
                "by_jurisdiction": dict(collections.Counter(h.city.code for h in self.households)),
                "stages": {h.archive_no: h.stage for h in self.households},
                "faults": {"missing_pledge": f["missing_pledge"].archive_no,
                           "double_let_unit": f["double_let_unit"].archive_no,
                           "double_let_households": [h.archive_no for h in f["double_let_households"]]}}


def _lease_ctx(t):
    u, h = t.unit.cstruct, t.household
    years = 2 if h.city.code == "tengchong" and h.cstruct["category"] in ("dibao", "tekun") else 3
    deposit = (800 if u["area"] < 50 else 1200) if h.city.code == "tengchong" else 2 * u["rent"]
    return {"start": t.start, "end": years_before(t.start, -years) - DAY, "rent": u["rent"],
            "deposit": float(deposit)}  # 腾冲: 1–2 year 廉租 leases, 800 / 1200 yuan deposits


