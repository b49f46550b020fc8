"""Appraisal (鉴定): a proposal for a dossier — extend its period by N years, destroy it, or
transfer it to the 档案馆 — made by one officer and decided by another (four eyes).

Both the proposal and the decision are versions of the dossier and entries of the audit
log. An approved extension moves the disposition date at once; an approved destruction
lets the dossier onto a destruction list (archive.disposition.destruction); an approved
transfer takes it off the worklist (the hand-over package itself is archive.exchange's).
A held dossier is neither appraised nor decided on.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace

from .book import book_of, key_of
from .errors import Invalid, NotFound, SamePerson, WrongState
from .blocking import check_not_held
from .holds import _note

STATUS = {"proposed": ("待审批", "Awaiting decision"), "approved": ("已批准", "Approved"),
          "refused": ("未批准", "Refused")}


@dataclass(frozen=True)
class Appraisal:
    """One proposal and, once, its decision."""
    number: int
    action: str            # extend | destroy | transfer
    years: int             # extend only
    reason: str
    proposed_by: str
    proposed_at: _dt.datetime
    status: str = "proposed"
    decided_by: str = ""
    decided_at: _dt.datetime | None = None
    opinion: str = ""


def pending(root, dossier) -> Appraisal | None:
    """The proposal awaiting a decision, if any (one at a time per dossier)."""
    return next((a for a in book_of(root).appraisals_of(dossier) if a.status == "proposed"), None)


def approved_destruction(root, dossier) -> Appraisal | None:
    """The newest decision, when it approved destroying the dossier."""
    decided = [a for a in book_of(root).appraisals_of(dossier) if a.status != "proposed"]
    last = decided[-1] if decided else None
    return last if last is not None and last.status == "approved" and last.action == "destroy" else None


def propose(root, schedule, dossier, action, years, reason, actor, when, search=None) -> Appraisal:
    """鉴定意见 proposed; refused for a held, destroyed or already-proposed dossier."""
    if not isinstance(action, str) or action not in schedule.actions:
        raise Invalid("鉴定处置意见：应为延长保管期限、销毁或移交档案馆", "action")
    if action == "extend":
        if isinstance(years, bool) or not isinstance(years, int) or \
                not 1 <= years <= schedule.max_extension_years:
            raise Invalid(f"延长年限：应为1到{schedule.max_extension_years}之间的整数", "years")
    else:
        years = 0
    reason = _note(reason, "鉴定理由")
    if getattr(dossier, "destruction", None) is not None:
        raise WrongState(f"档案 {dossier.archive_no} 已销毁", "archive_no")
    check_not_held(root, dossier, when.date(), "鉴定", search)
    if pending(root, dossier) is not None:
        raise WrongState(f"档案 {dossier.archive_no} 已有待审批的鉴定意见", "action")
    book = book_of(root)
    appraisal = Appraisal(len(book.appraisals_of(dossier)) + 1, action, years, reason, actor, when)
    book.appraisals[key_of(dossier)] = book.appraisals_of(dossier) + (appraisal,)
    what = schedule.title("actions", action) + (f" {years} 年" if years else "")
    dossier.note("appraisal", actor, when, f"鉴定意见（第 {appraisal.number} 号）：{what}。{reason}",
                 details=(("鉴定处置意见", what),))
    return appraisal


def decide(root, schedule, dossier, number, approve, opinion, actor, when, search=None) -> Appraisal:
    """批准 or 不批准 a proposal, by someone other than who proposed it."""
    if not isinstance(approve, bool):
        raise Invalid("审批结论：应为批准或不批准", "approve")
    opinion = _note(opinion, "审批意见")
    book = book_of(root)
    found = [a for a in book.appraisals_of(dossier) if a.number == number]
    if not found:
        raise NotFound(f"档案 {dossier.archive_no} 没有第 {number} 号鉴定意见")
    appraisal = found[0]
    if appraisal.status != "proposed":
        raise WrongState(f"第 {number} 号鉴定意见已由 {appraisal.decided_by} 审批", "number")
    if appraisal.proposed_by == actor:
        raise SamePerson("鉴定意见须由提出人以外的另一人审批（提出人不能审批自己的意见）", "approve")
    check_not_held(root, dossier, when.date(), "审批鉴定意见", search)
    decided = replace(appraisal, status="approved" if approve else "refused", decided_by=actor,
                      decided_at=when, opinion=opinion)
    key = key_of(dossier)
    book.appraisals[key] = tuple(decided if a.number == number else a for a in book.appraisals_of(dossier))
    if approve and appraisal.action == "extend":
        book.extensions[key] = book.extensions.get(key, 0) + appraisal.years
    if approve and appraisal.action == "transfer":
        book.closed[key] = "transfer"
    verdict = "批准" if approve else "不批准"
    dossier.note("appraisal_decided", actor, when, f"{verdict}第 {number} 号鉴定意见：{opinion}",
                 details=(("审批结论", verdict),))
    book.reindex(dossier, schedule)
    return decided
