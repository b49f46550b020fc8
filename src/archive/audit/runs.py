"""Audit runs (审计记录): every run kept with its counts and findings, compared with the
run before it, and the auditors' acknowledgements of findings.

A run is written by the audit as it goes (its progress) and once at the end (its
findings); nothing offers to change a finished run. Acknowledgements are kept apart, by
finding fingerprint, so a finding acknowledged once stays acknowledged in the next run
that finds it again, with who, when and why.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .rules import RULES, SEVERITIES

STATUSES = {"queued": ("排队中", "Queued"), "running": ("进行中", "Running"),
            "done": ("已完成", "Finished"), "failed": ("失败", "Failed")}
MAX_ACK = 2000


class AuditError(ValueError):
    """A request about audits the archive refuses; the message is for the auditor."""


@dataclass(frozen=True)
class Ack:
    """An auditor's acknowledgement of a finding (确认), with the reason."""
    fingerprint: str
    actor: str
    when: _dt.datetime
    comment: str
    run_id: int


@dataclass(frozen=True)
class Comparison:
    """A run's findings against the run before it."""
    previous: int | None
    new: tuple
    still_open: tuple
    resolved: tuple       # findings of the previous run no longer found
    new_keys: frozenset = frozenset()

    def status(self, finding) -> str:
        """"new" (not in the previous run) or "open" (found again)."""
        return "new" if finding.fingerprint in self.new_keys else "open"


class AuditRun(Persistent):
    """One integrity audit: who started it, how far it got, what it checked and found."""

    def __init__(self, run_id: int, actor: str, when: _dt.datetime, trigger: str, rules=None):
        self.run_id = run_id
        self.actor, self.requested, self.trigger = actor, when, trigger
        self.rules = tuple(rules or RULES)
        self.status = "queued"
        self.started = self.finished = None
        self.progress = (0, 0)
        self.counts = {}
        self.findings = ()
        self.error = ""

    def status_title(self, locale="zh"):
        zh, en = STATUSES[self.status]
        return en if locale == "en" else zh

    @property
    def done(self):
        return self.status == "done"

    def by_rule(self) -> dict:
        """Findings per rule id, every rule of the run listed (0 when silent)."""
        out = {r: 0 for r in self.rules}
        for f in self.findings:
            out[f.rule] = out.get(f.rule, 0) + 1
        return out

    def by_severity(self) -> dict:
        out = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            out[f.severity] += 1
        return out

    @property
    def critical(self) -> int:
        return sum(1 for f in self.findings if f.severity == "critical")

    def grouped(self):
        """[(rule, severity, [findings])] in rule order, only groups with findings."""
        groups = {}
        for f in self.findings:
            groups.setdefault(f.rule, []).append(f)
        order = list(self.rules) + [r for r in groups if r not in self.rules]
        return [(RULES.get(r), r, groups[r]) for r in order if r in groups]

    def seconds(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


class AuditBook(Persistent):
    """Every run by number, and the acknowledgements by finding fingerprint."""

    def __init__(self):
        self._runs = IOBTree()
        self._acks = OOBTree()

    def __len__(self):
        return len(self._runs)

    def new_run(self, actor, when, trigger="web", rules=None) -> AuditRun:
        unknown = [r for r in (rules or ()) if r not in RULES]
        if unknown:
            raise AuditError(f"没有名为“{unknown[0]}”的审计规则，可选：{'、'.join(RULES)}")
        run_id = (self._runs.maxKey() + 1) if len(self._runs) else 1
        run = AuditRun(run_id, actor, when, trigger, rules)
        self._runs[run_id] = run
        return run

    def get(self, run_id) -> AuditRun | None:
        try:
            return self._runs.get(int(run_id))
        except (TypeError, ValueError, OverflowError):
            return None

    def newest(self, limit=20) -> list:
        out = []
        for run_id in reversed(list(self._runs.keys())):
            out.append(self._runs[run_id])
            if len(out) >= limit:
                break
        return out

    def pending(self, window=50) -> list:
        """Runs waiting for the audit worker, oldest first (running ones were cut off).

        Runs are queued in order and run oldest first, so waiting ones are among the
        newest: the worker asks every few seconds, and reading every run ever kept (each
        with its findings) each time would grow with the archive's history."""
        return [r for r in reversed(self.newest(window)) if r.status in ("queued", "running")]

    def previous(self, run) -> AuditRun | None:
        """The last finished run before this one (what "new" and "resolved" are against)."""
        for run_id in reversed(list(self._runs.keys(max=run.run_id - 1))) if run.run_id > 1 else ():
            candidate = self._runs[run_id]
            if candidate.done:
                return candidate
        return None

    def compare(self, run) -> Comparison:
        before = self.previous(run)
        old = {f.fingerprint: f for f in before.findings} if before else {}
        now = {f.fingerprint for f in run.findings}
        new = tuple(f for f in run.findings if f.fingerprint not in old)
        return Comparison(before.run_id if before else None, new,
                          tuple(f for f in run.findings if f.fingerprint in old),
                          tuple(f for fp, f in old.items() if fp not in now),
                          frozenset(f.fingerprint for f in new))

    def acknowledge(self, run, fingerprint, actor, when, comment) -> Ack:
        """Record that an auditor has seen a finding and why it stands (or is accepted)."""
        if not run.done or fingerprint not in {f.fingerprint for f in run.findings}:
            raise AuditError("该次审计中没有这条发现")
        comment = comment.strip() if isinstance(comment, str) else ""
        if not comment:
            raise AuditError("确认审计发现必须填写说明")
        if len(comment) > MAX_ACK:
            raise AuditError(f"说明不能超过{MAX_ACK}个字符")
        ack = Ack(fingerprint, actor, when, comment, run.run_id)
        self._acks[fingerprint] = self._acks.get(fingerprint, ()) + (ack,)
        return ack

    def acks(self, fingerprint) -> tuple:
        return self._acks.get(fingerprint, ())

    def history(self, limit=10) -> list:
        """(run id, finished, {rule: count}) of the last finished runs, oldest first: the chart."""
        runs = [r for r in self.newest(limit * 3) if r.done][:limit]
        return [(r.run_id, r.finished, r.by_rule()) for r in reversed(runs)]
