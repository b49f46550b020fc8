"""The procedure (办理): which steps a user may take on a dossier, why a step is refused,
taking it, deadlines in Chinese working days, and the worklists (待我处理).

Everything a city decides comes from its profile; everything a step changes is recorded
as a version of the dossier (and of the unit's, for lease steps) with who, when and why.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import zoneinfo
from dataclasses import dataclass

from ..records import attempts
from ..records.dossier import DossierError, _check_comment
from .leases import LeaseError
from .workdays import Due, after
from . import guards, subsidy, subsidy_steps
from .definition import State
from .effects import EffectError, Effects, parse_inputs


class UnknownTransition(DossierError):
    """A step name the procedure does not have (or that no user may take)."""


class TransitionRefused(DossierError):
    """A step refused for the reasons listed in ``problems`` (messages for the clerk)."""

    attempt = None      # the Attempt to put on the record (set by Procedure.perform)
    dossier = None      # (kind, archive number) of the dossier it was refused on

    def __init__(self, message, problems=(), overridable=False):
        super().__init__(message)
        self.problems = list(problems)
        self.overridable = overridable


class NotPermitted(TransitionRefused):
    """The user's roles may not take this step."""


class WrongState(TransitionRefused):
    """The dossier is not in a state the step starts from (someone else moved it first)."""


# The worklist's row for a subsidy period waiting to be paid (not a state of the procedure).
PAYMENT_DUE = State("subsidy_payment", {"zh": "租赁补贴待发放", "en": "Subsidy payment due"})


@dataclass
class Context:
    """What a guard or effect may look at while a step is being taken."""
    root: object
    dossier: object
    transition: object
    profile: object
    inputs: dict
    today: _dt.date
    when: _dt.datetime
    actor: str
    schemas: object


@dataclass(frozen=True)
class WorkItem:
    """A dossier on someone's worklist."""
    dossier: object
    state: object
    due: _dt.date | None
    overdue: bool
    days_left: int | None


class Procedure:
    """The compiled workflows and profiles, applied to dossiers."""

    def __init__(self, workflows, schemas, zone="Asia/Shanghai"):
        self.workflows, self.schemas = workflows, schemas
        self.profiles = workflows.profiles
        self.zone = zoneinfo.ZoneInfo(zone)
        self.effects = Effects(self)

    # -- reading -------------------------------------------------------------------
    def today(self, when=None) -> _dt.date:
        when = when or _dt.datetime.now(_dt.timezone.utc)
        return when.astimezone(self.zone).date()

    def workflow(self, dossier):
        return self.workflows[dossier.kind]

    def state(self, dossier):
        workflow = self.workflow(dossier)
        return workflow.state(dossier.state or workflow.initial)

    def state_title(self, dossier, locale="zh"):
        state = self.state(dossier)
        return state.title(locale) if state else str(dossier.state)

    def profile(self, dossier):
        return self.profiles.get(dossier.metadata.get("jurisdiction"))

    def options(self, dossier, roles):
        """Steps from the current state that these roles may take (guards not yet checked)."""
        state = self.state(dossier)
        workflow = self.workflow(dossier)
        return [t for t in workflow.outgoing(state.name)
                if t.manual and set(roles) & set(t.roles)]

    def inputs_of(self, transition):
        return Effects.INPUTS.get(transition.effect, ()) if transition.effect else ()

    def check(self, root, dossier, transition, inputs=None, when=None):
        """The guard problems a step would meet now (an empty list means it may go)."""
        when = when or _dt.datetime.now(_dt.timezone.utc)
        ctx = self._context(root, dossier, transition, inputs or {}, when, "")
        return guards.check(ctx, self)

    def due(self, dossier) -> Due | None:
        """The current state's deadline, from the profile, counted from entering the state."""
        state, profile = self.state(dossier), self.profile(dossier)
        if state is None or not state.deadline or profile is None or dossier.state_since is None:
            return None
        spec = profile.duration(state.deadline)
        return after(self.today(dossier.state_since), spec) if spec else None

    # -- acting --------------------------------------------------------------------
    def open_dossier(self, root, kind, cstruct, actor, comment="", when=None, patterns=None,
                     locale="zh", state=None, scope=None):
        """Create a dossier (archive.records.filing) placed at the start of its procedure, with the
        start's deadline; ``state`` may name an entry state (units from existing stock);
        ``scope``: a local role's places, the only jurisdictions it may create in."""
        from ..records.filing import create_dossier
        start = self.workflows.initial_state(kind, state)
        dossier = create_dossier(root, self.schemas, kind, cstruct, actor, comment, when,
                                 patterns, locale, state=start, scope=scope)
        due = self.due(dossier)
        dossier.set_due(due.day if due else None, bool(due and due.estimated))
        return dossier

    def perform(self, root, dossier, name, actor, roles, comment="", override=False,
                inputs=None, when=None):
        """Take step ``name``; raises before changing anything when it may not be taken.

        A refusal carries the Attempt to record (who tried which step, when, why refused):
        the caller keeps it on the dossier once the refused transaction is gone
        (records/attempts.py, views/aftermath.py)."""
        when = when or _dt.datetime.now(_dt.timezone.utc)
        transition = self._transition(dossier, name)
        try:
            return self._perform(root, dossier, transition, actor, roles, comment, override,
                                 inputs, when)
        except TransitionRefused as exc:
            exc.dossier = (dossier.kind, dossier.archive_no)
            exc.attempt = attempts.Attempt(
                when, actor, "step", transition.name, transition.title(), "refused",
                tuple(exc.problems or [str(exc)]),
                ((("说明", comment.strip()),) if isinstance(comment, str) and comment.strip()
                 else ()) + ((("破格办理", "是"),) if override is True else ()))
            raise

    def _perform(self, root, dossier, transition, actor, roles, comment, override, inputs, when):
        state = self.state(dossier)
        if state.name not in transition.sources:
            message = f"档案当前处于“{state.title()}”，不能办理“{transition.title()}”"
            raise WrongState(message, [message])
        if not set(roles) & set(transition.roles):
            who = "、".join(self._role_title(r) for r in transition.roles)
            message = f"“{transition.title()}”只能由{who}办理"
            raise NotPermitted(message, [message])
        comment = (comment or "").strip() if isinstance(comment, str) else comment
        _check_comment(comment)
        if transition.comment_required and not comment:
            raise TransitionRefused(f"办理“{transition.title()}”必须填写说明",
                                    [f"办理“{transition.title()}”必须填写说明"])
        today = self.today(when)
        values, problems = parse_inputs(self.inputs_of(transition), inputs, today)
        if problems:
            raise TransitionRefused("填写的内容有误：" + "；".join(problems), problems)
        ctx = self._context(root, dossier, transition, values, when, actor)
        found = guards.check(ctx, self)
        blocking = [p for p in found if not p.overridable]
        waivable = [p for p in found if p.overridable]
        if blocking or (waivable and not override):
            hint = ("；如确需破格办理，请勾选“破格办理”并在说明中写明理由"
                    if waivable and not blocking else "")
            raise TransitionRefused(f"不能办理“{transition.title()}”{hint}",
                                    [p.message for p in found],
                                    overridable=bool(waivable and not blocking))
        details = ()
        if waivable:
            if not comment:
                raise TransitionRefused("破格办理必须在说明中写明理由", ["破格办理必须在说明中写明理由"])
            details += (("破格办理", "；".join(p.message for p in waivable)),)
        if transition.effect:
            try:
                details += self.effects.run(transition.effect, ctx)
            except (EffectError, LeaseError) as exc:
                raise TransitionRefused(str(exc), [str(exc)]) from None
        details += subsidy_steps.follow(ctx, transition, self.workflow(dossier).state(transition.target))
        if transition.flag:
            details += (("标记", transition.title()),)
        version = self._move(dossier, transition, actor, when, comment, details)
        if transition.ban:
            self._ban(root, dossier, transition, ctx, comment)
        return version

    def drive(self, dossier, name, actor, when, comment, details):
        """A driven step on another dossier (the unit of a lease step)."""
        transition = self.workflow(dossier).driven(name)
        state = self.state(dossier)
        if transition is None or state.name not in transition.sources:
            raise EffectError(f"{dossier.archive_no} 当前处于“{state.title()}”，不能{name}")
        return self._move(dossier, transition, actor, when, comment, details)

    def _move(self, dossier, transition, actor, when, comment, details):
        keep = transition.keep_clock and transition.target == dossier.state
        version = dossier.move(transition.name, transition.target, actor, when, comment,
                               details, keep_clock=keep)
        if not keep:
            due = self.due(dossier)
            dossier.set_due(due.day if due else None, bool(due and due.estimated))
        return version

    def _ban(self, root, dossier, transition, ctx, comment):
        """Record the profile's ban on every member (e.g. declining without cause)."""
        years = ctx.profile.value(f"bans.{transition.ban}") if ctx.profile else None
        if not years:
            return
        for person in dossier.people():
            if person.get("id_number"):
                root.credit.record_event(
                    person["id_number"], person.get("name", ""), transition.ban, ctx.today,
                    f"{transition.title()}：{comment}" if comment else transition.title(),
                    ctx.actor, ctx.when, dossier=dossier.archive_no, ban_years=years,
                    note=transition.title())

    def _transition(self, dossier, name):
        transition = self.workflow(dossier).transition(name) if isinstance(name, str) else None
        if transition is None or not transition.manual:
            raise UnknownTransition(f"没有名为“{name}”的办理步骤")
        return transition

    def _context(self, root, dossier, transition, inputs, when, actor):
        return Context(root, dossier, transition, self.profile(dossier), inputs,
                       self.today(when), when, actor, self.schemas)

    @staticmethod
    def _role_title(role):
        from ..access.users import ROLE_TITLES
        return ROLE_TITLES.get(role, (role,))[0]

    # -- worklists -----------------------------------------------------------------
    def worklist(self, root, roles, when=None, limit=50, within=None):
        """Dossiers waiting for one of these roles, soonest deadline first, overdue marked.

        ``within(container, roles)``, when given, says which ids of the container those of
        the roles reach (a set), or None for all (local roles: archive.access.local)."""
        today = self.today(when)
        items = []
        for kind in ("household", "unit"):
            workflow = self.workflows[kind]
            container = root.container(kind)
            for state in workflow.states.values():
                matching = set(roles) & set(state.worklist)
                if not matching:
                    continue
                horizon = None
                if state.remind:
                    horizon = after(today, state.remind).day
                allowed = within(container, frozenset(matching)) if within is not None else None
                for key in self._ids(container, state.name, horizon):
                    if allowed is not None and key not in allowed:
                        continue
                    items.append((container.indexes["due"].reverse.get(key), kind, key, state))
        items += self._payments_due(root, roles, today)
        items.sort(key=lambda i: (i[0] is None, i[0] or _dt.date.max, i[2]))
        out = []
        for due, kind, key, state in itertools.islice(items, limit):
            out.append(WorkItem(root.container(kind)[key], state, due,
                                due is not None and due < today,
                                None if due is None else (due - today).days))
        return out, len(items)

    def _payments_due(self, root, roles, today):
        """租赁补贴待发放: a period begun and not paid, for the roles that record payments
        (常州 第三十九条: due in the quarter's first month)."""
        pay = self.workflows["household"].transition("pay_subsidy")
        book = getattr(root, "subsidies", None)
        if pay is None or book is None or not set(roles) & set(pay.roles):
            return []
        title = PAYMENT_DUE
        return [(due, "household", grant.household_no, title)
                for grant, first, due in subsidy.payments_due(book, today)
                if grant.household_no in root.households]

    @staticmethod
    def _ids(container, state, horizon):
        ids = container.indexes["state"].ids(state)
        if horizon is None:
            return list(ids)
        due = container.indexes["due"].reverse
        return [k for k in ids if due.get(k) is not None and due.get(k) <= horizon]
