"""The disposition schedule (保管期限表): when a dossier's retention period starts and ends.

The period is custody's (``archive.custody.arrangement.volume_retention``: the longest
period of the dossier's current documents, by ``schemas/retention.yaml``); the event that
starts it comes from ``schemas/disposition.yaml`` per dossier kind: a household's exit (its
procedure reaching a final state), a unit leaving the stock, or filing (an employer's
collective application, which has no procedure of its own). The disposition
date (处置日期) is the event's date plus the period's years, later by any extension an
appraisal approved; a permanent period (永久) has none.
"""
from __future__ import annotations

import datetime as _dt
import functools
import pathlib
from dataclasses import dataclass

import yaml

from ..custody import arrangement
from ..records.container import KINDS

EVENTS = {  # code: (zh, en)
    "exit": ("住户退出", "Household exit"),
    "stock_exit": ("房源退出", "Unit left the stock"),
    "filing": ("归档", "Filing"),
}


class ScheduleError(Exception):
    """A schedule that cannot be used; stops start-up with the file and key."""


@dataclass(frozen=True)
class KindRule:
    """One dossier kind's trigger: the event and, for exit events, the states that end it."""
    event: str
    states: frozenset


@dataclass(frozen=True)
class Schedule:
    """The compiled ``disposition.yaml`` beside the custody rules it builds on."""
    kinds: dict
    hold_reasons: dict      # code -> (zh, en)
    actions: dict           # code -> (zh, en)
    max_extension_years: int
    rules: arrangement.Rules

    def start(self, dossier) -> _dt.date | None:
        """The date the dossier's period started, or None while the event has not happened."""
        rule = self.kinds.get(dossier.kind)
        if rule is None:
            return None
        if rule.event == "filing":
            return _day(dossier.created)
        if dossier.state in rule.states and dossier.state_since is not None:
            return _day(dossier.state_since)
        return None

    def period(self, dossier) -> str:
        """保管期限 of the dossier: its volume's, or its kind's default when it holds nothing."""
        return arrangement.volume_retention(dossier, self.rules) or self.rules.defaults[dossier.kind]

    def due(self, dossier, extension_years=0) -> _dt.date | None:
        """处置日期: start + period (+ approved extensions); None for 永久 or not yet started."""
        start = self.start(dossier)
        years = self.rules.periods.get(self.period(dossier))
        if start is None or years is None:
            return None
        return add_years(start, years + extension_years)

    def title(self, table, code, locale="zh") -> str:
        pair = getattr(self, table).get(code) if table != "events" else EVENTS.get(code)
        if pair is None:
            return code or ""
        return pair[1] if locale == "en" else pair[0]


def add_years(day: _dt.date, years: int) -> _dt.date:
    """``day`` ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _day(value) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    return value


def _pairs(path, where, data) -> dict:
    out = {}
    for code, titles in (data or {}).items():
        if not isinstance(titles, dict) or not titles.get("zh"):
            raise ScheduleError(f"{path}: {where}.{code}: needs zh and en titles")
        out[code] = (titles["zh"], titles.get("en") or titles["zh"])
    return out


def compile_schedule(schemas, workflows=None, path=None, rules=None) -> Schedule:
    """Read ``disposition.yaml`` beside the schemas; ``workflows`` ({kind: Workflow}) lets
    the states be checked against the procedure."""
    path = pathlib.Path(path or pathlib.Path(schemas.directory) / "disposition.yaml")
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ScheduleError(f"cannot read {path}: {exc}") from exc
    kinds = {}
    for kind in KINDS:   # every kind of dossier has a rule, or start-up stops
        spec = (data.get("kinds") or {}).get(kind)
        if not isinstance(spec, dict) or spec.get("event") not in EVENTS:
            raise ScheduleError(f"{path}: kinds.{kind}.event: one of {sorted(EVENTS)}")
        states = frozenset(spec.get("states") or ())
        if workflows is not None and states:   # an employer has no workflow, and no states
            flow = getattr(workflows, "kinds", workflows).get(kind)
            unknown = states - set(flow.states if flow is not None else ())
            if unknown:
                raise ScheduleError(f"{path}: kinds.{kind}.states: unknown states {sorted(unknown)}")
        kinds[kind] = KindRule(spec["event"], states)
    reasons = _pairs(path, "hold_reasons", data.get("hold_reasons"))
    actions = _pairs(path, "actions", data.get("actions"))
    if set(actions) != {"extend", "destroy", "transfer"}:
        raise ScheduleError(f"{path}: actions: exactly extend, destroy and transfer")
    if not reasons:
        raise ScheduleError(f"{path}: hold_reasons: at least one reason")
    years = data.get("max_extension_years", 50)
    if not isinstance(years, int) or years < 1:
        raise ScheduleError(f"{path}: max_extension_years: a positive whole number")
    return Schedule(kinds, reasons, actions, years,
                    rules or arrangement.compile_rules(schemas))


_installed = []          # the schedule the running app or command compiled from its schemas


def install(schedule):
    """Make ``schedule`` the one ``default_schedule`` gives in this process (the app and
    every command, at start-up, from ``archive.schemas_dir``): the disposition dates the
    model keeps as dossiers change then follow the installation's ``disposition.yaml`` and
    ``retention.yaml``, not the shipped ones. ``None`` goes back to the shipped schedule."""
    _installed[:] = [schedule] if schedule is not None else []


def installed():
    """The schedule ``install`` made current (None: the shipped one)."""
    return _installed[0] if _installed else None


def default_schedule() -> Schedule:
    """The schedule of the running installation (``install``), else of the code's ``schemas/``."""
    return _installed[0] if _installed else _shipped_schedule()


@functools.lru_cache(maxsize=1)
def _shipped_schedule() -> Schedule:
    from ..schema.registry import SchemaRegistry, default_directory
    return compile_schedule(SchemaRegistry(default_directory()), rules=arrangement._shipped_rules())
