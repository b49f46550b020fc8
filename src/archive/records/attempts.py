"""Attempts on the record (办理尝试记录): a step refused by its guards, a lottery drawn or
refused — case-history events that are not versions of the dossier.

A refused step changes nothing in the dossier, so it must not become a version (the
version history lists what the dossier *was*); yet who tried what, when, and why it was
refused belongs to the case history (案件历程). Attempts are kept beside the versions in
an ``Inbox`` (archive.workers.inbox) hung on the dossier: two officers refused on one
dossier at the same moment merge instead of conflicting, and writing one never rewrites
the dossier object once the inbox exists.

The request that was refused answers 4xx and pyramid_tm aborts it, so the web layer
writes the attempt in a transaction of its own after that abort (views/aftermath.py).
Attempts are written once and never changed; keys are (time, sequence, actor) so the
case history lists them in order.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import secrets
from dataclasses import dataclass

from ..workers.inbox import Inbox

OUTCOMES = {"refused": ("被拒绝", "Refused"), "drawn": ("已摇号", "Drawn"),
            "announced": ("已预告", "Announced"),
            "redraw_requested": ("申请重新摇号", "Redraw requested"),
            "redraw_approved": ("同意重新摇号", "Redraw approved")}
_seq = itertools.count()


@dataclass(frozen=True)
class Attempt:
    """One attempt: who tried which step (or lottery) when, and the outcome with reasons."""
    when: _dt.datetime
    actor: str
    kind: str                   # "step" (a procedure step) or "lottery"
    name: str                   # the step's name, or the lottery id
    title: str                  # the step's or lottery's title as a clerk reads it
    outcome: str                # a key of OUTCOMES
    reasons: tuple = ()         # why it was refused, one message each
    details: tuple = ()         # (label, value) pairs

    def outcome_title(self, locale="zh"):
        zh, en = OUTCOMES.get(self.outcome, (self.outcome, self.outcome))
        return en if locale == "en" else zh


def record(dossier, attempt: Attempt) -> Attempt:
    """Keep an attempt on the dossier (creating its inbox the first time)."""
    box = getattr(dossier, "attempts", None)
    if box is None:
        box = dossier.attempts = Inbox()
    key = (attempt.when.isoformat(), next(_seq), attempt.actor, secrets.token_hex(4))
    box.put(key, attempt)
    return attempt


def of(dossier) -> list:
    """The dossier's attempts, oldest first."""
    box = getattr(dossier, "attempts", None)
    return [value for _, value in box.items()] if box is not None else []
