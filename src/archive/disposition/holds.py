"""Holds (冻结): a dossier with open matters (未了事项, DA/T 94) must not be destroyed,
appraised, nor lose a document, until the matter is closed.

A hold is placed with a reason from ``schemas/disposition.yaml`` (稽查, 诉讼, 审计, 其他) and
released with a note; both are versions of the dossier (so its history shows them) and
entries of the audit log. Two matters hold a household by themselves, with nobody placing
anything: an open credit case (a finding in the credit record whose ban still runs, against
a person of the household) and an open inspection (a person of the household is also a
member of another household still in the procedure, the inspections page's first query,
answered from the search index's ID-number field when one is at hand).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace


from .book import book_of, key_of
from .errors import Invalid, NotFound, WrongState

MAX_NOTE = 1900   # the version's comment adds a short heading; the whole stays within 2,000


@dataclass(frozen=True)
class Hold:
    """One hold as placed, and (once) as released; never changed otherwise."""
    hold_id: str
    reason: str
    note: str
    placed_by: str
    placed_at: _dt.datetime
    released_by: str = ""
    released_at: _dt.datetime | None = None
    release_note: str = ""

    @property
    def open(self) -> bool:
        return self.released_at is None


def _note(note, title, required=True) -> str:
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise Invalid(f"{title}：应为文本", "note")
    note = note.strip()
    if required and not note:
        raise Invalid(f"{title}：请写明", "note")
    if len(note) > MAX_NOTE:
        raise Invalid(f"{title}：不能超过{MAX_NOTE}个字符", "note")
    return note


def place(root, schedule, dossier, reason, note, actor, when) -> Hold:
    """冻结 the dossier for ``reason``; recorded as a version and in the audit log."""
    if not isinstance(reason, str) or reason not in schedule.hold_reasons:
        raise Invalid(f"冻结原因：应为{'、'.join(z for z, _ in schedule.hold_reasons.values())}之一",
                      "reason")
    note = _note(note, "冻结说明")
    _not_destroyed(dossier)
    book = book_of(root)
    hold = Hold(book.next_hold_id(), reason, note, actor, when)
    book.holds[key_of(dossier)] = book.holds_of(dossier) + (hold,)
    title = schedule.title("hold_reasons", reason)
    dossier.note("held", actor, when, f"冻结（{title}）：{note}",
                 details=(("冻结编号", hold.hold_id), ("冻结原因", title)))
    return hold


def release(root, schedule, dossier, hold_id, note, actor, when) -> Hold:
    """解除冻结: the hold stays listed with who released it, when and why."""
    note = _note(note, "解除说明")
    book = book_of(root)
    holds = list(book.holds_of(dossier))
    for i, hold in enumerate(holds):
        if hold.hold_id == hold_id:
            if not hold.open:
                raise WrongState(f"冻结 {hold_id} 已于 {hold.released_at:%Y-%m-%d} 解除", "hold")
            holds[i] = released = replace(hold, released_by=actor, released_at=when, release_note=note)
            book.holds[key_of(dossier)] = tuple(holds)
            dossier.note("released", actor, when, f"解除冻结 {hold_id}：{note}",
                         details=(("冻结编号", hold_id),))
            return released
    raise NotFound(f"档案 {dossier.archive_no} 没有冻结 {hold_id}")


def every_hold(root):
    """(dossier key, hold) of every hold ever placed, open ones first (the holds page)."""
    rows = [(key, h) for key, holds in book_of(root).holds.items() for h in holds]
    return sorted(rows, key=lambda r: (not r[1].open, r[1].placed_at), reverse=False)


def _not_destroyed(dossier):
    if getattr(dossier, "destruction", None) is not None:
        raise WrongState(f"档案 {dossier.archive_no} 已销毁", "archive_no")
