"""Workflow definitions (办理流程), compiled once at start-up from ``workflows/*.yaml``.

The YAML is what an office edits: states, transitions, who may take them, the guards they
must pass and what else they set off. Compiling checks it against everything else the
installation knows — roles and permissions, document types, the jurisdiction profiles,
the metadata schemas — so a typo stops start-up with a message naming the file and the
key, instead of surfacing as a wrong refusal months later at a reviewer's desk.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import yaml

from .profiles import ProfileError, Profiles
from .subsidy import SubsidyError, scheme as subsidy_scheme
from .subsidy_steps import CHECKS as SUBSIDY_CHECKS
from .collective.rules import compile_rules

GUARD_KINDS = ("documents", "no_ban", "elapsed", "field", "lease_term", "unit_area", "draw_order",
               "subsidy")
TRANSITION_KEYS = {"name", "title", "from", "to", "roles", "permission", "comment", "guards",
                   "effect", "driven_by", "keep_clock", "flag", "ban"}
STATE_KEYS = {"name", "title", "worklist", "deadline", "remind", "final"}


class WorkflowError(Exception):
    """A workflow or profile file is wrong; raised at start-up only."""


@dataclass(frozen=True)
class Guard:
    """One condition of a transition; ``arg`` is the guard kind's value in the YAML."""
    kind: str
    arg: object
    options: dict

    @property
    def overridable(self):
        return bool(self.options.get("overridable"))


@dataclass(frozen=True)
class State:
    name: str
    titles: dict
    worklist: tuple = ()
    deadline: str | None = None
    remind: dict | None = None
    final: bool = False

    def title(self, locale="zh"):
        return self.titles.get(locale) or self.titles["zh"]


@dataclass(frozen=True)
class Transition:
    name: str
    titles: dict
    sources: tuple
    target: str
    roles: tuple = ()
    permission: str = "transition"
    comment_required: bool = False
    guards: tuple = ()
    effect: str | None = None
    driven_by: str | None = None
    keep_clock: bool = False
    flag: str | None = None
    ban: str | None = None

    def title(self, locale="zh"):
        return self.titles.get(locale) or self.titles["zh"]

    @property
    def manual(self):
        """Offered to users; a driven transition happens only as another's consequence."""
        return self.driven_by is None


class Workflow:
    """One kind's procedure: its states and the transitions between them."""

    def __init__(self, kind, titles, initial, entry, states, transitions):
        self.kind, self.titles, self.initial = kind, titles, initial
        self.entry = entry
        self.states = states
        self.transitions = transitions

    def title(self, locale="zh"):
        return self.titles.get(locale) or self.titles["zh"]

    def state(self, name) -> State | None:
        return self.states.get(name)

    def transition(self, name) -> Transition | None:
        return self.transitions.get(name)

    def outgoing(self, state):
        return [t for t in self.transitions.values() if state in t.sources]

    def driven(self, effect_name):
        """The driven transition of this kind with that name (unit.allocate for a lease...)."""
        t = self.transitions.get(effect_name)
        return t if t is not None and not t.manual else None


class Workflows:
    """Both procedures and every jurisdiction profile, checked against each other."""

    def __init__(self, directory, schemas, roles, effects=()):
        self.directory = pathlib.Path(directory)
        try:
            self.profiles = Profiles(self.directory / "jurisdictions")
        except ProfileError as exc:
            raise WorkflowError(str(exc)) from None
        self._schemas, self._roles = schemas, roles
        self._effects = set(effects)
        self.kinds = {}
        for path in sorted(self.directory.glob("*.yaml")):
            workflow = self._compile(_load(path), path.name)
            self.kinds[workflow.kind] = workflow
        for kind in ("household", "unit"):
            if kind not in self.kinds:
                raise WorkflowError(f"{self.directory}: no workflow for {kind} dossiers")
        self._check_profiles()

    def __getitem__(self, kind) -> Workflow:
        return self.kinds[kind]

    def initial_state(self, kind, requested=None):
        """Where a new dossier starts: the procedure's start, or (units taken over from
        existing stock) one of its declared entry states."""
        workflow = self.kinds[kind]
        if requested in (None, "", workflow.initial):
            return workflow.initial
        if requested not in workflow.entry:
            from ..records.filing import ValidationFailed
            allowed = "、".join(workflow.states[s].title() for s in workflow.entry)
            raise ValidationFailed({"state": f"状态：新建档案只能处于以下状态之一：{allowed}"})
        return requested

    # -- compiling -------------------------------------------------------------------
    def _compile(self, data, where) -> Workflow:
        kind = data.get("kind")
        if kind not in ("household", "unit"):
            raise WorkflowError(f"{where}: kind must be household or unit")
        states = {}
        for raw in data.get("states") or ():
            state = self._state(raw, where)
            if state.name in states:
                raise WorkflowError(f"{where}: state {state.name!r} defined twice")
            states[state.name] = state
        transitions = {}
        for raw in data.get("transitions") or ():
            t = self._transition(raw, states, kind, where)
            if t.name in transitions:
                raise WorkflowError(f"{where}: transition {t.name!r} defined twice")
            transitions[t.name] = t
        initial = data.get("initial")
        if initial not in states:
            raise WorkflowError(f"{where}: initial state {initial!r} is not a state")
        entry = tuple(data.get("entry") or (initial,))
        for name in entry:
            if name not in states:
                raise WorkflowError(f"{where}: entry state {name!r} is not a state")
        for t in transitions.values():
            for g in t.guards:
                unknown = [p for p in g.options.get("passes") or () if p not in transitions]
                if g.kind == "draw_order" and unknown:
                    raise WorkflowError(f"{where}: transition {t.name!r}: guard: draw_order passes "
                                        f"unknown step(s) {', '.join(map(str, unknown))}")
        workflow = Workflow(kind, _titles(data.get("title"), where), initial, entry, states, transitions)
        _check_graph(workflow, where)
        return workflow

    def _state(self, raw, where):
        name = raw.get("name")
        here = f"{where}: state {name!r}"
        _no_unknown(raw, STATE_KEYS, here)
        for role in raw.get("worklist") or ():
            self._check_role(role, here)
        return State(name, _titles(raw.get("title"), here), tuple(raw.get("worklist") or ()),
                     raw.get("deadline"), raw.get("remind"), bool(raw.get("final")))

    def _transition(self, raw, states, kind, where):
        name = raw.get("name")
        here = f"{where}: transition {name!r}"
        _no_unknown(raw, TRANSITION_KEYS, here)
        sources = tuple(raw.get("from") or ())
        for state in sources + (raw.get("to"),):
            if state not in states:
                raise WorkflowError(f"{here}: unknown state {state!r}")
        roles = tuple(raw.get("roles") or ())
        for role in roles:
            self._check_role(role, here)
        permission = raw.get("permission", "transition")
        if permission not in self._roles.permissions:
            raise WorkflowError(f"{here}: unknown permission {permission!r}")
        if raw.get("driven_by") is None and not roles:
            raise WorkflowError(f"{here}: no role may take it")
        effect = raw.get("effect")
        if effect is not None and effect not in self._effects:
            raise WorkflowError(f"{here}: unknown effect {effect!r}")
        guards = tuple(self._guard(g, kind, f"{here}: guard") for g in raw.get("guards") or ())
        comment = raw.get("comment")
        if comment not in (None, "required", "optional"):
            raise WorkflowError(f"{here}: comment is required or optional")
        return Transition(name, _titles(raw.get("title"), here), sources, raw["to"], roles,
                          permission, comment == "required", guards, effect,
                          raw.get("driven_by"), bool(raw.get("keep_clock")), raw.get("flag"),
                          raw.get("ban"))

    def _guard(self, raw, kind, here):
        if not isinstance(raw, dict):
            raise WorkflowError(f"{here}: a guard is a mapping like {{documents: accept}}")
        kinds = [k for k in raw if k in GUARD_KINDS]
        if len(kinds) != 1:
            raise WorkflowError(f"{here}: unknown guard {raw!r}; kinds are {', '.join(GUARD_KINDS)}")
        gkind = kinds[0]
        options = {k: v for k, v in raw.items() if k != gkind}
        if gkind == "field":
            if self._schemas[kind].spec(raw["field"]) is None:
                raise WorkflowError(f"{here}: unknown field {raw['field']!r}")
            if not ({"max", "min"} & set(options)):
                raise WorkflowError(f"{here}: a field guard needs max or min")
        if gkind == "documents" and options.get("dated") not in (None, "review_year"):
            raise WorkflowError(f"{here}: dated is review_year (or left out)")
        if gkind == "subsidy" and raw["subsidy"] not in SUBSIDY_CHECKS:
            raise WorkflowError(f"{here}: subsidy is one of {', '.join(SUBSIDY_CHECKS)}")
        if gkind == "unit_area" and not ({"max", "min"} & set(options)):
            raise WorkflowError(f"{here}: a unit_area guard needs max or min")
        return Guard(gkind, raw[gkind], options)

    def _check_role(self, role, here):
        if role not in self._roles.roles:
            raise WorkflowError(f"{here}: unknown role {role!r}")

    def _check_profiles(self):
        """Every stage, duration and document a workflow names exists in every profile."""
        doc_types = self._schemas.vocabularies["document_types"]
        groups = self._schemas.vocabularies["priority_groups"]
        self.collective = {}
        for profile in self.profiles:
            for kind, workflow in self.kinds.items():
                needed_durations = {s.deadline for s in workflow.states.values() if s.deadline}
                needed_stages = set()
                for t in workflow.transitions.values():
                    for g in t.guards:
                        if g.kind == "elapsed":
                            needed_durations.add(g.arg)
                        elif g.kind == "documents":
                            needed_stages.add(g.arg)
                    if t.ban and profile.value(f"bans.{t.ban}") is not None:
                        if not isinstance(profile.value(f"bans.{t.ban}"), int):
                            raise WorkflowError(f"{profile.where}: bans.{t.ban} is a number of years")
                for name in sorted(needed_durations):
                    if profile.duration(name) is None:
                        raise WorkflowError(f"{profile.where}: durations.{name} is missing "
                                            f"(used by {kind} workflow)")
                for stage in sorted(needed_stages):
                    if stage not in profile.documents:
                        raise WorkflowError(f"{profile.where}: required_documents.{stage} is missing "
                                            f"(used by {kind} workflow)")
                    for code in profile.required_documents(stage):
                        if code not in doc_types:
                            raise WorkflowError(f"{profile.where}: required_documents.{stage}: "
                                                f"unknown document type {code!r}")
                        if doc_types[code].extra.get("kind") not in (kind, "both") and \
                                stage in _stages_of(workflow):
                            raise WorkflowError(f"{profile.where}: required_documents.{stage}: "
                                                f"{code!r} is not a {kind} document")
            self._check_limits(profile)
            try:
                subsidy_scheme(profile)      # 租赁补贴: tiers, amounts, caps (workflow/subsidy.py)
            except SubsidyError as exc:
                raise WorkflowError(str(exc)) from None
            try:    # 单位集体申请 (workflow/collective): None where the city has none
                self.collective[profile.code] = compile_rules(profile, doc_types)
            except ProfileError as exc:
                raise WorkflowError(str(exc)) from None
            for tier in profile.value("lottery.priority_tiers", []) or []:
                for code in tier:
                    if code not in groups:
                        raise WorkflowError(f"{profile.where}: lottery.priority_tiers: "
                                            f"unknown priority group {code!r}")
            notice = profile.value("lottery.notice_days", None)
            if notice is not None and (type(notice) is not int or notice < 1):
                raise WorkflowError(f"{profile.where}: lottery.notice_days must be a whole number "
                                    f"of days (1 or more) or null, not {notice!r}")


    def _check_limits(self, profile):
        """Every limit a field or unit_area guard reads has a shape the guard understands
        (a number, {below|above: n}, or a table by household size), for every size."""
        for workflow in self.kinds.values():
            for t in workflow.transitions.values():
                for g in t.guards:
                    if g.kind not in ("field", "unit_area"):
                        continue
                    for bound in ("max", "min"):
                        if bound in g.options:
                            try:
                                for size in range(1, 10):
                                    profile.limit(g.options[bound], size)
                            except ProfileError as exc:
                                raise WorkflowError(str(exc)) from None


def _stages_of(workflow):
    return {g.arg for t in workflow.transitions.values() for g in t.guards if g.kind == "documents"}


def _check_graph(workflow, where):
    """Every state reachable from the start, and none but final states a dead end."""
    reached, todo = set(workflow.entry), list(workflow.entry)
    while todo:
        state = todo.pop()
        for t in workflow.outgoing(state):
            if t.target not in reached:
                reached.add(t.target)
                todo.append(t.target)
    unreachable = [s for s in workflow.states if s not in reached]
    if unreachable:
        raise WorkflowError(f"{where}: unreachable state(s) {', '.join(unreachable)}")
    for state in workflow.states.values():
        if not state.final and not workflow.outgoing(state.name):
            raise WorkflowError(f"{where}: state {state.name!r} has no way out and is not final")
        if state.final and workflow.outgoing(state.name):
            raise WorkflowError(f"{where}: final state {state.name!r} has transitions out")


def _titles(raw, here):
    if not isinstance(raw, dict) or not raw.get("zh"):
        raise WorkflowError(f"{here}: title needs at least zh")
    return dict(raw)


def _no_unknown(raw, known, here):
    unknown = set(raw) - known
    if unknown:
        raise WorkflowError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}")


def _load(path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{path.name}: {exc}") from None


def default_directory() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parents[3] / "workflows"
