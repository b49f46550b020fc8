"""The demo city (演示城市): households and units of the five seed jurisdictions.

A demonstration, the functional tests and the audits all need an archive that looks like
a real office's — Chinese names, valid ID numbers, children younger than their parents,
households in every state of the procedure (待受理 → 审核 → 公示 → 登记轮候 → 配租 → 在租 →
年审、续租 → 退出, and the branches: 退回补正, 撤回, 不予保障, 公示异议, 放弃配租, 强制退出),
units delivered, let, handed back, repaired and let again — without anyone's real data.

Everything goes through the archive's own operations, at the historical dates: dossiers
are opened and moved by the real procedure (``archive.workflow``: guards, leases, deadlines
and all), documents are filed through ``archive.records.filing`` before the step that needs them
(the household's city profile says which: ``profile.required_documents(stage)``), and the
comments are what a clerk would write. Everything is drawn from one ``random.Random(seed)``
and counted back from ``today``, the demo's last day: ``archive demo`` passes the day it runs
(so a newcomer's worklist has deadlines mostly ahead, a few just passed, and the first audit
finds the planted faults, not a year of lapsed deadlines); tests pass ``BASE_DATE``. A seed and
a day always give the same archive, archive numbers included. Another day gives the same city
moved in time: the same people taking the same ways, the units drawn alike, the same faults
planted; dates differ by the shift, give or take the working days and holidays that fall
differently (each step still lands on a working day and passes its guards). The draws that
decide who is who never depend on a date, so a holiday moved by the shift cannot change them
(only an allocation whose unit came free within those few days could go the other way).

The ``documents`` budget is exact: every dossier first gets what its steps need (and every
household its 承诺书, an applicant its whole application set), then the rest is dealt out
round-robin from the records its history would have produced. A budget below what the
steps need is refused before anything is filed.

Deliberate faults, for the audits to find (returned under ``summary["faults"]``):

* ``missing_pledge`` — a household awaiting acceptance (待受理) in a city whose profile
  requires the 承诺书 (truthfulness pledge, 承诺书制度, seed 000), holding every application
  document except the pledge: nothing has stopped it yet, since no step was taken.
* ``double_let_unit`` — a unit with two current leases: the second was "migrated from the
  old paper register" (按纸质台账补录) straight into the lease book, attaching a waiting
  household to a unit already let, which the procedure itself would refuse.
  ``double_let_households`` names both households (the rightful tenant first).
* ``arrears`` — a tenant whose rent record stops seven months before the demo's today,
  while every other current tenant is recorded as paid through last month (登记缴租).

Also shown on purpose (``summary["banned_applicant"]``, ``summary["overrides"]``): a household
stuck awaiting acceptance because a member is under a credit ban for fraud (the accept
step is refused with the ban's reason), and the few steps taken as 破格 (override) over a
city's income limit, each with its reason.
"""
from __future__ import annotations

import collections
import copy
import datetime as _dt
import random
import zlib

from ..records import filing
from ..workflow import leases
from ..workflow.credit import ban_for
from ..records.dossier import NothingChanged
from ..access.users import ROLES, role_title
from ..workflow.workdays import describe
from .family import SCENARIOS, Families, _needs
from .places import CITIES, DEPARTMENTS, DOC_STYLE, PROOFS
from .plan import DAY, Doc, Plan, Step, between, workday, years_before
from .subsidies import plan_subsidies

DEMO_PASSWORD_PREFIX = "demo-"  # demo passwords are this plus the login: public, so demo data only
BASE_DATE = _dt.date(2026, 1, 1)   # the tests' demo day; ``archive demo`` uses the day it runs
DELIVERED = (3650, 6 * 365)        # units delivered from 10 years before today, over 6 years
PENDING_RETURN = 21                # days: a hand-back as recent as this still awaits inspection
ACTOR = "archivist"
DEFAULT_SIZE = {"households": 200, "units": 150, "documents": 3000}
DOC_ORDER = {doc_type: i for i, doc_type in enumerate(DOC_STYLE)}
CST = _dt.timezone(_dt.timedelta(hours=8))
# (layout, weight, area range in m²): 厦门 single room ~30, one-bedroom ~45, two ~60, three ~70
LAYOUTS = (("studio", 20, (26, 33)), ("one", 35, (40, 50)), ("two", 35, (55, 65)),
           ("three", 10, (66, 75)))
DEZHOU_AREA = {"studio": 30.0, "one": 45.0, "two": 60.0, "three": 60.0}
# Order of a dossier's events on one day: opened, papers received, data corrected, the
# step, the step's own outcome filed, later corrections; the paper-register migration last.
CREATE, FILE, EDIT, STEP, FILE_AFTER, EDIT_AFTER, MIGRATE = range(7)

ACCEPTS = ("申请材料齐全，予以受理", "经核对原件，申请材料齐全，符合受理条件", "材料齐全，予以受理，转入审核")
REFUSALS = ("申请人在本市无户籍且无稳定就业证明，不符合申请条件，不予受理",
            "申请人已享受单位公寓保障，不符合申请条件，不予受理")
REJECTIONS = ("经不动产登记信息核查，申请人配偶名下有住房一套，不符合住房困难条件，不予保障",
              "经居民家庭经济状况核对，申请家庭名下有机动车两辆，财产状况不符合准入标准，不予保障",
              "经核查，申请人在外地已享受住房保障，不予重复保障")
OBJECTIONS = ("公示期间收到实名书面异议，反映申请人名下有营运车辆", "公示期间收到群众来信，反映申请人家庭实际收入高于申报收入",
              "公示期间接到电话反映，申请人在老家有自建住房")
WITHDRAWALS = ("申请人书面申请撤回：家庭已购买商品住房", "申请人书面申请撤回：工作调动离开本市",
               "申请人书面申请撤回：已入住单位职工公寓")
EXCUSES = ("申请人母亲行动不便，所配房源位于高层且无电梯，经核实属正当理由，保留轮候资格",
           "所配房源户型与家庭人口不符，经核实属正当理由，保留轮候资格")
REPAIRS = ("腾退验收发现卫生间渗水、墙面霉变，送修", "厨房给排水管道老化漏水，送修",
           "入户门锁及窗户五金件损坏，送修")


# One demo user per role, login = role, except the two administrators of 三员分立: the
# system administrator keeps the login ``admin`` every demo has had, the security officer
# is ``security``.
DEMO_LOGINS = {"sysadmin": "admin", "secadmin": "security"}


def create_demo_users(root, hasher):
    """One demo user per role, password DEMO_PASSWORD_PREFIX + login (DEMO_LOGINS).

    Existing logins are left alone (their passwords are not reset); returns
    ``[(login, password, role)]`` for the users made.
    """
    made = []
    for role in ROLES:
        login = DEMO_LOGINS.get(role, role)
        if login not in root.users:
            password = DEMO_PASSWORD_PREFIX + login
            root.users.add(login, f"演示{role_title(role)}", [role], password, hasher)
            made.append((login, password, role))
    return made


# Demo users with a role in one jurisdiction only (局部角色, archive.access.local):
# login, name, local roles; the password is DEMO_PASSWORD_PREFIX + login as for the others.
LOCAL_DEMO_USERS = (("qujing", "演示曲靖市审核员", ("reviewer@qujing",)),)


def create_local_demo_users(root, hasher):
    """The LOCAL_DEMO_USERS not yet there; returns ``[(login, password, local roles)]``."""
    made = []
    for login, name, local in LOCAL_DEMO_USERS:
        if login not in root.users:
            password = DEMO_PASSWORD_PREFIX + login
            root.users.add(login, name, (), password, hasher, local_roles=local)
            made.append((login, password, local))
    return made


def default_procedure(registry):
    """The procedure of the installation's workflows, for callers without settings."""
    from ..access.security import RoleMatrix
    from ..workflow import build
    return build(registry, RoleMatrix(registry.directory / "roles.yaml"))


def build_city(root, registry, procedure=None, *, households=DEFAULT_SIZE["households"],
               units=DEFAULT_SIZE["units"], documents=DEFAULT_SIZE["documents"], seed=2026,
               today=BASE_DATE, progress=None, commit=None, render=None, patterns=None,
               collective=False) -> dict:
    """Plan the whole city, then carry out its history day by day in the caller's transaction.

    ``today`` is the demo's last day (Beijing date): everything happens before it, open
    deadlines run from it. The same seed and day give the same archive.

    ``procedure`` is the installation's (``archive.workflow.procedure_from_settings``; the
    default workflows when None). ``progress(done, total)`` counts dossiers' worth of work
    (each dossier once) and ``commit`` (e.g. ``transaction.commit``) is called after every
    50 of them, so a big build does not hold everything in one transaction; ``render``
    defaults to the demo's PDF renderer; ``patterns`` are the office's 档号 patterns.
    ``collective`` adds one batch of employers' collective applications (``archive demo`` does).
    Returns the summary (counts, each household's state, the faults, the ban, overrides).
    """
    if render is None:
        from .pdfs import render_document as render
    procedure = procedure or default_procedure(registry)
    city = _City(random.Random(seed), registry, procedure, today, patterns)
    plans = city.plan(households, units, documents)
    city.carry_out(root, plans, render, progress, commit)
    city.record_rent()
    summary = city.summary(root)
    if collective:    # 单位集体申请: one Xiamen batch beside the city (demo/collective.py)
        from .collective import walk_batch
        summary["collective"] = walk_batch(root, registry, procedure, today, patterns)
    root.log.seal()   # a built city's log is chained, as after any command
    return summary


class DemoError(RuntimeError):
    """The procedure refused a step the demo planned: a bug in the demo or the workflows."""


class _City:
    """Draws the city from one random generator; every draw happens in a fixed order."""

    def __init__(self, rng, registry, procedure, today, patterns=None):
        self.rng, self.registry, self.procedure = rng, registry, procedure
        self.today, self.patterns = today, patterns
        self.workflows = procedure.workflows
        self.families = Families(rng, today, procedure)
        self.unit_keys, self.doc_numbers = set(), {}
        self.households, self.units, self.faults = [], [], {}
        self.migration = self.ban = self.pending_return = None
        self.counts = collections.Counter()
        self.overrides, self.refusal = [], ""

    def profile(self, plan):
        return self.procedure.profiles[plan.city.code]

    # -- planning ----------------------------------------------------------------------
    def plan(self, households, units, documents):
        """Units and households in the order they are opened, each with its whole history."""
        # the first unit was just delivered and is not listed yet: its 入库 deadline runs
        self.units = sorted((self._unit(0.06 if i == 0 else None) for i in range(units)),
                            key=lambda p: p.created)
        pledged = [c for c in CITIES
                   if "pledge" in self.procedure.profiles[c.code].required_documents("accept")]
        self.households = []
        for i in range(households):
            if i == 0:    # the planted fault: an applicant whose city requires the pledge
                h = self.families.draw("applied", pledged or CITIES)
                h.role = "missing_pledge"
            elif i == 1:  # a household with a member under a credit ban
                h = self.families.draw("applied")
                h.role = "banned"
            else:         # every way through the procedure once (lately), then as they come
                first = i - 2 < len(SCENARIOS)
                h = self.families.draw(SCENARIOS[i - 2][0] if first else None, recent=first)
            h.index = i
            self.households.append(h)
        self.faults["missing_pledge"] = self.households[0]
        self._plan_ban(self.households[1])
        self._let_units()
        for u in self.units:
            self._idle_repair(u)
        self._repair_now()
        self._plant_double_let()
        self._choose_overrides()
        household_flow = self.workflows["household"]
        for h in self.households:
            self.families.documents(h, household_flow)
            story = self._income_story(h)
            closed = self.workflows["household"].state(self.final_state(h)).final
            until = h.steps[-1].day if closed else None
            if h.role == "double_let":   # the paper-register migration stays its last word
                until = self.migration[0]
            self.families.history(h, protect=story, until=until)
            self.families.rent_records(h)
            self._narrate(h)
        plan_subsidies(self)            # 租赁补贴: a few waiting households (demo/subsidies.py)
        for u in self.units:
            self._unit_history(u)
        self._deal(self.units + self.households, documents)
        self.households.sort(key=lambda p: (p.created, p.index))  # 档号 follow the order of application
        plans = self.units + self.households
        for i, p in enumerate(plans):
            p.index = i
        return plans

    def _unit(self, kind=None):
        """A unit of one of the city's estates: delivered ten to four years ago (some
        registered while still being built), a few still being built, one or two just
        delivered. Its chance draws for later (an idle repair) are made here, in draw order,
        so that later steps taken in date order never change what is drawn."""
        rng = self.rng
        city = rng.choices(CITIES, [c.weight for c in CITIES])[0]
        project, district, road, ownership, owner = rng.choice(city.projects)
        layout, _, (low, high) = rng.choices(LAYOUTS, [w for _, w, _ in LAYOUTS])[0]
        key = None
        while key is None or key in self.unit_keys:  # building 1–12, floors 1–18, 4 flats a floor
            key = (project, str(rng.randint(1, 12)), f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}")
        self.unit_keys.add(key)
        area = round(rng.uniform(low, high), 2)
        if city.code == "dezhou":   # 德州 第十条 新建套型 ≤ 60㎡, sized to 第二十条's 30/45/60 standard
            area = min(area, DEZHOU_AREA[layout])
        number = 8 + sum(map(ord, project)) % 190  # one street number per estate
        cstruct = {"project": project, "building": key[1], "unit_no": key[2],
                   "address": f"{city.name}{district}{road}{number}号{project}{key[1]}栋{key[2]}室",
                   "jurisdiction": city.code, "district": district, "layout": layout, "area": area,
                   "ownership": ownership, "owner": owner,
                   "rent": float(round(area * city.rent_per_m2 * rng.uniform(0.92, 1.08))), "notes": ""}
        draw = rng.random()
        delivered = workday(self.today - DELIVERED[0] * DAY + rng.randint(0, DELIVERED[1]) * DAY)
        later = (rng.random(), rng.random(), rng.randint(10, 40))   # _idle_repair's draws
        kind = draw if kind is None else kind
        if kind < 0.05:     # still being built
            return Plan("unit", city, workday(self.today - rng.randint(30, 300) * DAY), cstruct,
                        entry="building")
        if kind < 0.065:    # just delivered, not yet listed (its 入库 deadline is running)
            return Plan("unit", city, workday(self.today - rng.randint(3, 12) * DAY), cstruct,
                        entry="delivered")
        if kind < 0.25:     # registered while being built, then delivered
            u = Plan("unit", city, workday(delivered - rng.randint(200, 500) * DAY), cstruct,
                     entry="building")
            u.steps.append(Step("deliver", delivered, "竣工验收备案完成，验收交付", ACTOR))
        else:
            u = Plan("unit", city, delivered, cstruct, entry="delivered")
        listed = workday(delivered + rng.randint(5, 25) * DAY)
        u.steps.append(Step("list", listed, "不动产登记及租金标准核定完成，入库待配", ACTOR))
        u.free_from = listed + 10 * DAY
        u.later = later
        return u

    def _let_units(self):
        """Give each allocation a unit of the household's city that was free at the time (and
        within the city's area standard for its size), in the order the allocations happened;
        an allocation for which no unit was free did not happen: the household is still
        waiting (登记/轮候). Among the free units the one ranked first for this allocation
        (``_rank``: the household's own draw, not the city's) is let, so which unit a
        household gets does not hang on how many others happened to be free that day."""
        offers = sorted((t for h in self.households for t in h.tenancies),
                        key=lambda t: (t.allocated, t.household.index))
        for t in offers:
            h = t.household
            if t not in h.tenancies:
                continue   # an earlier allocation of this household found no unit
            free = [u for u in self.units if u.city is h.city and u.free_from
                    and u.free_from <= t.allocated - 10 * DAY]
            free = [u for u in free if self._fits(h, u)]   # 德州: within the area standard
            if not free:
                self.families.truncate(h, t)
                continue
            unit = min(free, key=lambda u: _rank(t, u))
            t.unit = unit
            unit.tenancies.append(t)
            t.rent = unit.cstruct["rent"]
            t.deposit = self._deposit(h, unit)
            unit.free_from = self._hand_back(unit, t)

    def _fits(self, h, unit):
        """Within the city's area standard for the household's size (德州 第二十条), if any."""
        limit = self.profile(h).limit("allocation.area_standard", 1 + len(h.cstruct["members"]))
        return limit is None or unit.cstruct["area"] <= limit.value

    def _deposit(self, h, unit):
        """腾冲: 1,200 yuan (廉租 800); elsewhere the profile's, or two months' rent."""
        if h.city.code == "tengchong" and h.cstruct["category"] in ("dibao", "tekun"):
            return 800.0
        fixed = self.profile(h).value("lease.deposit")
        return float(fixed) if fixed is not None else 2 * unit.cstruct["rent"]

    def _hand_back(self, unit, t):
        """The unit's own steps after a tenancy; returns the day it can be allocated again."""
        rng = self.rng
        if t.outcome in ("excused", "declined"):
            declined = next(s.day for s in t.household.steps
                            if s.tenancy is t and s.name.startswith("decline"))
            return declined + 10 * DAY
        if t.ended is None:
            return None
        if t.ended >= self.today - PENDING_RETURN * DAY and not self.pending_return:
            self.pending_return = unit   # the latest hand-back still awaits its inspection
            return None
        day = workday(t.ended + rng.randint(2, 10) * DAY)
        if rng.random() < 0.25:
            steps = [Step("send_to_repair", day, rng.choice(REPAIRS), ACTOR, tenancy=t),
                     Step("repaired", workday(day + rng.randint(10, 40) * DAY), "维修完成，经验收合格", ACTOR)]
        else:
            steps = [Step("accept_return", day, "腾退验收合格，房屋及附属设施完好，入库待配", ACTOR, tenancy=t)]
        for s in steps:
            if s.day >= self.today:
                return None
            unit.steps.append(s)
        return steps[-1].day + 10 * DAY

    def _idle_repair(self, u):
        """Some units never let were repaired while vacant (a few still are)."""
        listed = next((s.day for s in u.steps if s.name == "list"), None)
        chance, when, took = getattr(u, "later", (1, 0, 0))   # drawn with the unit
        if u.tenancies or listed is None or chance >= 0.12:
            return
        first, last = listed + 90 * DAY, self.today - 20 * DAY
        day = workday(first + int(when * (max(0, (last - first).days) + 1)) * DAY)
        if day >= self.today:
            return
        u.steps.append(Step("send_to_repair", day, "房屋空置期间检查发现屋面渗漏，送修", ACTOR))
        done = workday(day + took * DAY)
        if done < self.today:
            u.steps.append(Step("repaired", done, "维修完成，经验收合格", ACTOR))
        u.free_from = None

    def _repair_now(self):
        """One vacant unit never let is being repaired now (the archivists' worklist)."""
        for u in self.units:
            if not u.tenancies and u.steps and u.steps[-1].name == "list" \
                    and u.steps[-1].day < self.today - 60 * DAY:
                day = workday(self.today - self.rng.randint(8, 25) * DAY)
                u.steps.append(Step("send_to_repair", day, "空置房源巡查发现外墙渗水，送修", ACTOR))
                u.free_from = None
                return

    def _plan_ban(self, h):
        """A co-applicant (or the applicant) barred for fraud before this application: the
        accept step will be refused with the ban's reason and end."""
        rng = self.rng
        person = (h.cstruct["members"] or [h.cstruct["applicant"]])[0]
        h.created = workday(self.today - rng.randint(10, 20) * DAY)
        since = workday(h.created - rng.randint(200, 1000) * DAY)
        self.ban = ban_for(person["id_number"], "fraud", 5, since,
                           note=f"{since.year}年申请公共租赁住房时隐瞒名下房产，经查实记入诚信档案",
                           recorded_by="reviewer")
        h.ban_person = self.ban_name = person["name"]
        h.steps = [Step("accept", workday(h.created + rng.randint(1, 3) * DAY),
                        rng.choice(ACCEPTS), refused=True)]

    def _plant_double_let(self):
        """The second fault: a waiting household put into a let unit from the paper register."""
        final = {h: self.final_state(h) for h in self.households}
        def quiet(h):   # no step of its own in the last days, so the migration comes last
            return not h.role and h.steps and workday(h.steps[-1].day + DAY) < self.today - 5 * DAY
        tenants = [h for h in self.households if final[h] == "leased" and quiet(h)
                   and h.tenancies and h.tenancies[-1].outcome == "signed"]
        # a waiting household, best; else any household of the city without an open lease
        for states in (("registered",), ("registered", "approved", "publicity", "withdrawn", "lapsed",
                                         "rejected", "exited")):
            pairs = [(first, h) for first in tenants for h in self.households
                     if h.city is first.city and quiet(h) and final[h] in states]
            if pairs:
                first, second = pairs[0]
                t = first.tenancies[-1]
                break
        else:
            raise ValueError("the demo needs a tenant and a waiting household in one city for its "
                             "planted fault: ask for more households")
        rng = self.rng
        day = workday(self.today - rng.randint(8, 25) * DAY)
        day = max(day, workday(second.steps[-1].day + DAY), workday(first.steps[-1].day + DAY))
        start = max(second.steps[-1].day + DAY, day - rng.randint(30, 200) * DAY)
        first.role, second.role = "double_let_tenant", "double_let"
        self.migration = (day, first, second, t.unit, start)
        self.faults.update(double_let_unit=t.unit, double_let_households=[first, second])

    def _choose_overrides(self):
        """Two steps taken over the city's income limit on purpose (破格): one approval,
        one annual review. Each needs a comment giving the reason; the step is flagged."""
        def limited(h):
            return self.families.limit(h) is not None and not h.role
        for h in self.households:
            names = [s.name for s in h.steps]
            if limited(h) and "approve" in names and "annual_review" not in names:
                h.role = "override_approve"
                limit = self.families.limit(h)
                h.cstruct["income_per_capita"] = round(limit * self.rng.uniform(1.03, 1.07), 2)
                next(s for s in h.steps if s.name == "approve").override = True
                break
        for h in self.households:
            names = [s.name for s in h.steps]
            if limited(h) and "annual_review" in names and self.final_state(h) == "leased":
                h.role = "override_annual"
                break

    def _income_story(self, h):
        """Income changes that decide a step: an exit for income over the limit, the annual
        review taken over the limit. True when the household has such a story."""
        rng, limit = self.rng, self.families.limit(h)
        if h.role == "override_approve":
            return True
        if h.role == "override_annual":
            i, review = [(i, s) for i, s in enumerate(h.steps) if s.name == "annual_review"][-1]
            review.override = True
            day = max(h.steps[i - 1].day + DAY, review.day - rng.randint(5, 20) * DAY)
            self.families.new_income(h, day, round(limit * rng.uniform(1.02, 1.06), 2),
                                     "年度申报：家庭人均月收入增加，更新收入证明")
            return True
        exits = [(i, s) for i, s in enumerate(h.steps) if s.name == "exit"]
        h.exit_reason = None
        if exits:
            i, s = exits[0]
            t = s.tenancy
            reasons = ["bought", "moved"] + (["income", "income"] if limit is not None else [])
            if (t.end_on(s.day) - s.day).days < 120:
                reasons.append("expiry")
            h.exit_reason = rng.choice(reasons)
            if h.exit_reason == "income":
                day = max(h.steps[i - 1].day + DAY, s.day - rng.randint(20, 60) * DAY)
                self.families.new_income(h, day, round(limit * rng.uniform(1.05, 1.2), 2),
                                         "承租人申报家庭收入增加，更新人均月收入")
                return True
        return False

    def _narrate(self, h):
        """Comments, inputs and the edits that go with the steps, as a clerk records them."""
        rng, c, profile = self.rng, h.cstruct, self.profile(h)
        city, vocab = h.city.name, self.registry.vocabularies["document_types"]
        limit = self.families.limit(h)
        size = 1 + len(c["members"])
        for i, s in enumerate(h.steps):
            t, income = s.tenancy, self._income_on(h, s.day)
            unit = t.unit.cstruct if t and t.unit else None
            n = s.name
            if n == "return":
                s.comment = (f"申请材料不全：缺少{vocab.title(h.missing)}，请于"
                             f"{describe(profile.duration('completion'))}内补正")
            elif n == "resubmit":
                s.actor, s.comment = ACTOR, f"申请人已补交{vocab.title(h.missing)}，重新提交受理"
            elif n == "refuse":
                s.comment = rng.choice(REFUSALS)
            elif n == "accept" and not s.comment:
                s.comment = rng.choice(ACCEPTS)
            elif n == "reject":
                s.comment = rng.choice(REJECTIONS)
            elif n == "approve":
                s.comment = (f"经民政、公安、不动产登记等部门联审，家庭人均月收入{income:,.2f}元，"
                             f"符合{city}公共租赁住房保障条件，同意纳入保障")
                if s.override:
                    s.comment = (f"家庭人均月收入{income:,.2f}元，超过本市{limit:,}元的标准。申请人配偶身患"
                                 "尿毒症需长期透析，医疗支出大，经住房保障工作领导小组集体研究，同意破格审核通过")
            elif n == "publish":
                s.comment = (f"审核结果在{c['district']}公示栏及{city}住房和城乡建设局网站公示"
                             f"{describe(profile.duration('publicity'))}")
            elif n == "object":
                s.comment = rng.choice(OBJECTIONS)
            elif n == "dismiss_objection":
                s.comment = "经入户调查并核对车辆、不动产登记信息，异议反映情况不属实，异议不成立，予以登记"
            elif n == "uphold_objection":
                s.comment = "经核查，申请人隐瞒个体经营收入，异议成立，不予保障，已书面告知申请人"
            elif n == "register":
                s.comment = "公示期满无异议，登记为公共租赁住房保障对象，纳入轮候"
            elif n == "withdraw":
                s.comment = rng.choice(WITHDRAWALS)
            elif n == "allocate":
                s.inputs = {"unit": t.unit}
                s.comment = f"摇号配租：{unit['project']}{unit['building']}栋{unit['unit_no']}室"
            elif n == "decline":
                years = profile.value("bans.decline")
                s.comment = ("申请人以所配房源距工作单位较远为由放弃配租，无正当理由"
                             + (f"，{years}年内不得再次申请" if years else ""))
            elif n == "decline_with_cause":
                s.comment = rng.choice(EXCUSES)
            elif n == "sign":
                s.inputs = {"start": t.start, "end": t.end, "rent": t.rent, "deposit": t.deposit}
                s.comment = f"签订租赁合同，租期{t.start:%Y-%m-%d}至{t.end:%Y-%m-%d}，月租金{t.rent:,.2f}元"
                h.edits.append((s.day, {"address": unit["address"], "district": unit["district"]},
                                "签约入住，现住址变更为配租房源", EDIT_AFTER))
            elif n == "annual_review":
                s.comment = f"{s.day.year - 1}年度复核：家庭人均月收入{income:,.2f}元，仍符合保障条件，继续保障"
                if s.override:
                    s.comment = (f"{s.day.year - 1}年度复核：家庭人均月收入{income:,.2f}元，超过本市{limit:,}元"
                                 "的标准。承租人独自抚养重度残疾子女，经集体研究给予一年观察期，暂缓退出")
            elif n == "renew":
                s.comment = f"租赁期满前申请续租，经复核仍符合保障条件，续租至{s.inputs['end']:%Y-%m-%d}"
            elif n == "change":
                child = self.families.newborn(h, s.day)
                h.edits.append((s.day, {"members": c["members"] + [child]}, "新生子女随迁入户，增加共同申请人",
                                EDIT))
                s.comment = f"新生子女{child['name']}随迁入户，家庭人口由{size}人变更为{size + 1}人"
                size += 1
            elif n == "exit":
                s.comment = {
                    "income": f"经核查，家庭人均月收入{income:,.2f}元，超过本市{limit or 0:,}元的保障标准，应当退出",
                    "bought": "承租人已购买商品住房，书面申请退出公共租赁住房",
                    "moved": "承租人工作调动离开本市，书面申请退出公共租赁住房",
                    "expiry": "租赁期满不再续租，办理退出"}[h.exit_reason]
                s.comment += f"，给予{describe(profile.duration('transition'))}过渡期"
            elif n == "complete_exit":
                s.comment = "房屋腾退验收合格，租金、水电费已结清，办理退租结算"
            elif n == "force_exit":
                s.comment = ("经巡查核实，承租人将住房转租他人，解除租赁合同，收回住房"
                             if getattr(h, "force_reason", "") == "sublet" else "过渡期满拒不腾退，解除租赁合同，依法收回住房")
            if n in ("complete_exit", "force_exit"):
                district, _, roads = rng.choice(h.city.districts)
                h.edits.append((s.day, {"district": district, "address": self.families.address(
                    h.city, district, roads)}, "退出保障，现住址变更", EDIT_AFTER))

    def _income_on(self, h, day):
        income = h.cstruct["income_per_capita"]
        for when, changes, *_ in sorted(h.edits, key=lambda e: e[0]):
            if when <= day and "income_per_capita" in changes:
                income = changes["income_per_capita"]
        return income

    def final_state(self, h):
        """Where the household's planned steps leave it (refused steps change nothing)."""
        flow, state = self.workflows[h.kind], h.entry or self.workflows[h.kind].initial
        for s in h.steps:
            if not s.refused:
                state = flow.transition(s.name).target
        return state

    def _unit_history(self, u):
        """The unit's records: delivery papers, the copies of each lease, each hand-back."""
        rng, c = self.rng, u.created
        listed = next((s.day for s in u.steps if s.name == "list"), None)
        delivered = next((s.day for s in u.steps if s.name == "deliver"), c)
        base = [Doc("floor_plan", c - rng.randint(100, 400) * DAY)]
        if u.entry == "delivered" or delivered != c:
            earliest = 0 if delivered != c else 20   # a unit delivered on registering: weeks before
            base += [Doc("completion_acceptance", delivered - rng.randint(earliest, 90) * DAY),
                     Doc("property_registration", (listed or c) - rng.randint(0, 15) * DAY)]
        if listed:
            base.append(Doc("rent_standard", between(rng, delivered, listed)))
        others = []
        for t in u.tenancies:
            others.append(Doc("allocation_notice", t.allocated, tenancy=t, after=True))
            if t.signed:
                others += [Doc("lease_contract", t.signed, tenancy=t),
                           Doc("handover", t.start + rng.randint(1, 7) * DAY, tenancy=t)]
            if t.ended:
                others.append(Doc("vacate_inspection", t.ended, tenancy=t))
        for s in u.steps:
            if s.name == "repaired":
                others.append(Doc("repair_record", s.day - rng.randint(0, 3) * DAY))
        docs = sorted(base + others, key=lambda d: d.date)
        profile, flow, core = self.profile(u), self.workflows["unit"], []
        for s in u.steps:
            for code in _needs(flow, profile, s.name):
                if any(d.doc_type == code for d in core):
                    continue
                found = [d for d in docs if d.doc_type == code and d.date <= s.day]
                doc = next((d for d in found if d.tenancy is s.tenancy), found[0] if found else None)
                if doc is None:
                    doc = Doc(code, s.day)
                    docs.append(doc)
                doc.after = doc.after and doc.date < s.day
                core.append(doc)
        if not core:
            core = [d for d in docs if d.doc_type == "floor_plan"]
        u.core = core
        u.extras = [d for d in docs if d not in core and d.date < self.today]

    def _deal(self, plans, total):
        """Exactly ``total`` documents: every core first, then extras round-robin."""
        for p in plans:
            p.docs = list(p.core)
        need = total - sum(len(p.docs) for p in plans)
        if need < 0:
            raise ValueError(f"documents={total}: the dossiers' procedures need at least {total - need}")
        order = list(plans)
        self.rng.shuffle(order)
        depth = 0
        while need > 0:
            takers = [p for p in order if depth < len(p.extras)][:need]
            if not takers:
                raise ValueError(f"documents={total}: more than the demo's histories produce "
                                 f"(at most {total - need})")
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

    # -- carrying out ------------------------------------------------------------------
    def carry_out(self, root, plans, render, progress=None, commit=None):
        """Replay every dossier's history in date order: the procedure's steps move units
        and households together, so the city's days are replayed, not one dossier at a time."""
        events = []
        for p in plans:
            mine = [(p.created, CREATE, 0, "create", None)]
            mine += [(max(d.date, p.created), FILE_AFTER if d.after else FILE, DOC_ORDER[d.doc_type],
                      "file", d) for d in p.docs]
            mine += [(s.day, STEP, 0, "step", s) for s in p.steps]
            mine += [(e[0], e[3] if len(e) > 3 else EDIT, 0, "edit", e) for e in p.edits]
            mine += [(day, EDIT_AFTER, 1, "refile", d) for day, d in p.refiles]
            mine.sort(key=lambda e: e[:3])
            events += [(day, rank, p.index, n, action, p, arg)
                       for n, (day, rank, _, action, arg) in enumerate(mine)]
        if self.ban:
            events.append((self.ban.since, -1, -1, 0, "ban", None, self.ban))
        if self.migration:
            events.append((self.migration[0], MIGRATE, 1 << 30, 0, "migrate", None, self.migration))
        events.sort(key=lambda e: e[:4])
        self.root, self.render, self.dossiers, self.current = root, render, {}, {}
        self.filed = {}
        total, done, day, k = len(plans), 0, None, 0
        for n, (when_day, _, _, _, action, plan, arg) in enumerate(events, 1):
            k = k + 1 if when_day == day else 0
            day = when_day
            when = (_dt.datetime.combine(day, _dt.time(9), CST) + _dt.timedelta(seconds=90 * k)
                    ).astimezone(_dt.timezone.utc)
            getattr(self, "_do_" + action)(plan, arg, when)
            while done < total and (done + 1) * len(events) <= n * total:
                done += 1
                if progress:
                    progress(done, total)
                if commit and done % 50 == 0:
                    commit()

    def _do_create(self, plan, _, when):
        current = self.current[plan] = copy.deepcopy(plan.cstruct)
        comment = ("受理窗口收件，建档" if plan.kind == "household" else
                   "房源建档（在建）" if plan.entry == "building" else "房源建档（已竣工交付）")
        dossier = self.procedure.open_dossier(self.root, plan.kind, current, ACTOR, comment, when=when,
                                              patterns=self.patterns, state=plan.entry)
        plan.archive_no = dossier.archive_no
        self.dossiers[plan] = dossier

    def _do_file(self, plan, doc, when):
        meta, ctx = self._describe(plan, doc, self.current[plan])
        data = self.render(doc.doc_type, ctx)
        name = f"{doc.doc_type}_{doc.date:%Y%m%d}.pdf"
        self.filed[doc] = filing.file_document(self.dossiers[plan], self.registry, meta, data, name, ACTOR,
                                               when=when).doc_id
        self.counts["documents"] += 1

    def _do_refile(self, plan, doc, when):
        day = self.procedure.today(when)
        again = Doc(doc.doc_type, day, doc.variant, doc.tenancy)
        meta, ctx = self._describe(plan, again, self.current[plan])
        filing.refile_document(self.dossiers[plan], self.filed[doc], self.render(doc.doc_type, ctx),
                               f"{doc.doc_type}_{day:%Y%m%d}.pdf", ACTOR, "补交新的收入证明", when=when,
                               registry=self.registry)
        self.counts["refiles"] += 1

    def _do_edit(self, plan, edit, when):
        _, changes, comment, *_ = edit
        current = self.current[plan]
        current.update(copy.deepcopy(changes))
        try:
            filing.edit_dossier(self.dossiers[plan], self.registry, current, ACTOR, comment, when=when)
            self.counts["edits"] += 1
        except NothingChanged:
            pass

    def _do_step(self, plan, step, when):
        from ..workflow import TransitionRefused
        dossier = self.dossiers[plan]
        inputs = {k: (v.archive_no if isinstance(v, Plan) else self.filed[v] if isinstance(v, Doc) else v)
                  for k, v in step.inputs.items()}
        try:
            self.procedure.perform(self.root, dossier, step.name, step.actor, (step.actor,), step.comment,
                                   override=step.override, inputs=inputs, when=when)
        except TransitionRefused as exc:
            if not step.refused:
                raise DemoError(f"{plan.archive_no}（{self.procedure.state_title(dossier)}）"
                                f"{step.name} {step.day}: {exc} {exc.problems}") from None
            self.refusal = "；".join(exc.problems) or str(exc)
            current = self.current[plan]
            current["notes"] = f"受理审查：{self.refusal}。暂缓受理，已告知申请人。"
            filing.edit_dossier(dossier, self.registry, current, ACTOR, f"受理审查未通过：{self.refusal}",
                                when=when)
            self.counts["edits"] += 1
            return
        if step.refused:
            raise DemoError(f"{plan.archive_no}: {step.name} was expected to be refused")
        self.counts["steps"] += 1
        if step.override:
            self.overrides.append({"household": plan.archive_no, "step": step.name, "comment": step.comment})

    def _do_ban(self, _, ban, when):
        """The earlier finding, recorded as a credit event (its dossier predates the archive)."""
        years = (ban.until.year - ban.since.year)
        self.root.credit.record_event(ban.id_number, self.ban_name, ban.reason, ban.since, ban.note,
                                      ban.recorded_by, when, ban_years=years)

    def _do_migrate(self, _, migration, when):
        """按纸质台账补录: a lease typed in from the paper register, past the procedure."""
        day, first, second, unit_plan, start = migration
        household, unit = self.dossiers[second], self.dossiers[unit_plan]
        lease = self.root.leases.new(household, unit, when, ACTOR)
        years = self.families.lease_years(second)
        lease.start, lease.end = start, years_before(start, -years) - DAY
        lease.rent = float(unit_plan.cstruct["rent"])
        lease.deposit = self._deposit(second, unit_plan)
        lease.state = "current"
        leases.attach(household, lease)
        leases.attach(unit, lease)
        current = self.current[second]
        current.update(address=unit_plan.cstruct["address"], district=unit_plan.cstruct["district"])
        note = (f"按纸质台账补录租赁关系：{unit_plan.cstruct['project']}{unit_plan.cstruct['building']}栋"
                f"{unit_plan.cstruct['unit_no']}室，租期{lease.start:%Y-%m-%d}至{lease.end:%Y-%m-%d}")
        metadata = filing.validate(self.registry, "household", current, today=day)
        household.adopt_state("leased", ACTOR, when, note, metadata)
        due = self.procedure.due(household)
        household.set_due(due.day if due else None, bool(due and due.estimated))
        unit.note_lease(ACTOR, when, f"按纸质台账补录租赁关系（住户 {household.archive_no}）", lease.summary())

    def _describe(self, plan, doc, current):
        """The document's metadata and the context its PDF is rendered from."""
        title, issuer, prefix = DOC_STYLE[doc.doc_type]
        city, fmt = plan.city, {}
        t = doc.tenancy
        if t is None and plan.kind == "household":
            t = next((x for x in reversed(plan.tenancies) if x.unit and x.allocated <= doc.date), None)
        household = current if plan.kind == "household" else (t.household.cstruct if t else None)
        unit = current if plan.kind == "unit" else (t.unit.cstruct if t and t.unit else None)
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
                   "employer": plan.employer or (t.household.employer if t else ""),
                   "owner": unit and unit["owner"]}
        issuer = parties.get(issuer) or city.name + issuer
        who = (f"{unit['project']}{unit['building']}栋{unit['unit_no']}室" if plan.kind == "unit"
               else current["applicant"]["name"])
        meta = {"doc_type": doc.doc_type, "title": f"{title.format(**fmt)}（{who}）",
                "date": doc.date.isoformat(), "issuer": issuer,
                "doc_no": self._doc_no(city, prefix.format(**fmt), doc.date.year) if prefix else ""}
        ctx = dict(meta, date=doc.date, jurisdiction=city.name,
                   household=household and self._household_ctx(household),
                   unit=unit and self._unit_ctx(unit),
                   lease=_lease_ctx(t, doc.date) if t and t.start else None)
        if doc.doc_type == "objection":
            ctx["upheld"] = bool(doc.variant)
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

    # -- the rent ledger ---------------------------------------------------------------
    def record_rent(self):
        """Every current tenant's rent recorded as paid through the last month (登记缴租),
        the day before the demo's today; one tenant (the ``arrears`` fault) stopped paying
        seven months ago, which the audit must find (arrears ≥ 6 months → must exit)."""
        when = _dt.datetime.combine(self.today - DAY, _dt.time(16), CST).astimezone(_dt.timezone.utc)
        last_month = self.today.replace(day=1) - DAY
        stopped = (self.today.replace(day=1) - 200 * DAY).replace(day=1) - DAY   # 7 months ago
        behind = None
        for h in sorted(self.households, key=lambda p: p.index):
            dossier = self.dossiers[h]
            lease = leases.current_lease(dossier)
            if lease is None or lease.state != "current" or lease.start is None \
                    or h.role == "double_let":   # the planted fault stays as the register left it
                continue
            paid = last_month
            if behind is None and not h.role and dossier.state == "leased" \
                    and lease.start < stopped - 30 * DAY:   # paid a month or more, then stopped
                behind, paid = h, stopped
                h.role = "arrears"
            if paid <= lease.start:
                continue
            name = "record_rent" if dossier.state == "leased" else "record_transition_rent"
            self.procedure.perform(self.root, dossier, name, ACTOR, (ACTOR,), "租金缴纳记录核对登记",
                                   inputs={"paid_through": paid.isoformat()}, when=when)
            self.counts["rent"] += 1
        self.faults["arrears"] = behind

    # -- the summary -------------------------------------------------------------------
    def summary(self, root):
        """Counts, each household's workflow state and the archive numbers of the faults."""
        f, states = self.faults, self.workflows["household"].states
        dossiers = [self.dossiers[h] for h in self.households]
        by_stage = collections.Counter(d.state for d in dossiers)
        units = collections.Counter(self.dossiers[u].state for u in self.units)
        banned = self.households_by_role("banned")
        return {"households": len(self.households), "units": len(self.units),
                "documents": self.counts["documents"], "refiled": self.counts["refiles"],
                "edits": self.counts["edits"], "steps": self.counts["steps"],
                "rent_recorded": self.counts["rent"],
                "leases": len(root.leases),
                "by_stage": {s: by_stage[s] for s in states if by_stage[s]},
                "units_by_state": {s: units[s] for s in self.workflows["unit"].states if units[s]},
                "by_jurisdiction": dict(collections.Counter(h.city.code for h in self.households)),
                "stages": {d.archive_no: d.state for d in dossiers},
                "faults": {"missing_pledge": f["missing_pledge"].archive_no,
                           "double_let_unit": f["double_let_unit"].archive_no,
                           "double_let_households": [h.archive_no for h in f["double_let_households"]],
                           "arrears": f["arrears"].archive_no if f.get("arrears") else None},
                "banned_applicant": {"household": banned.archive_no, "person": banned.ban_person,
                                     "reason": self.ban.reason, "until": self.ban.until.isoformat(),
                                     "refusal": self.refusal},
                "overrides": list(self.overrides)}

    def households_by_role(self, role):
        return next(h for h in self.households if h.role == role)


def _rank(t, unit):
    """The order in which free units are offered for allocation ``t``: fixed by the
    household's own draw and the unit's address, so the same on any demo day."""
    k = t.household.tenancies.index(t)
    c = unit.cstruct
    return zlib.crc32(f"{t.household.seed}/{k}/{c['project']}/{c['building']}/{c['unit_no']}".encode())


def _lease_ctx(t, day):
    """The lease term in force on ``day`` (a renewal's contract shows the renewed term)."""
    start, end = t.start, t.end
    for when, new_end in t.renewals:
        if when <= day:
            start, end = end + DAY, new_end
    return {"start": start, "end": end, "rent": t.rent, "deposit": t.deposit}

