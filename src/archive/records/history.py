"""Case history (案件历程): one timeline of everything that ever happened to a dossier.

The timeline merges, by time, what is kept in several places: the dossier's versions (what
changed, the documents filed, refiled, edited and withdrawn, restores, procedure steps),
the leases of the lease book (a lease step taken through the procedure is already a
version; a lease entered past the procedure, e.g. from the paper register, is not) and the
credit record's bans on anyone who was ever a member. A fact kept twice — a lease step
that is also a version, a ban recorded by the step that set it off — is shown once, as one
event carrying both. Values of personal fields are masked unless the caller asks
otherwise (and logs it: that is the view's business). Nothing here knows about the web.
"""
from __future__ import annotations

import datetime as _dt
import zoneinfo
from dataclasses import dataclass, replace

from ..workflow.credit import reason_title
from ..schema.idnumber import mask as mask_id
from ..access.personal import mask_path
from . import attempts
from .version import action_title, compare

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")   # when no procedure (which knows the office's zone) is given
LEASE_ID = "租赁编号"                        # the detail label lease steps record their lease under
# An event belongs to one or more of these groups; the history page filters by them.
GROUPS = {"changes": ("信息变更", "Changes"), "documents": ("文件", "Documents"),
          "procedure": ("办理", "Procedure"), "lease": ("租赁", "Leases"),
          "credit": ("诚信", "Credit"), "use": ("利用", "Use"),
          "attempts": ("办理尝试", "Attempts"), "subsidy": ("租赁补贴", "Rent subsidy")}
SUBSIDY_ID = "补贴编号"                      # the detail label every subsidy step records (workflow/subsidy_steps.py)
GROUP_OF = {"created": "changes", "edited": "changes", "restored": "changes",
            "filed": "documents", "refiled": "documents", "document_edited": "documents",
            "withdrawn": "documents", "transition": "procedure", "adopted": "procedure",
            "lease": "lease"}
DOCUMENT_ACTIONS = ("filed", "refiled", "document_edited", "withdrawn")
FACTS = {   # lease, credit and use facts, as a clerk calls them
    "lease_offer": ("配租", "Unit offered"), "lease_start": ("租赁开始", "Lease started"),
    "lease_renewal": ("续租", "Lease renewed"),
    "lease_transition": ("进入退出过渡期", "Exit transition period"),
    "lease_end": ("租赁终止", "Lease ended"), "lease_cancelled": ("配租取消", "Allocation cancelled"),
    "lease": ("租赁变动", "Lease change"), "ban": ("限制申请", "Barred from applying"),
    "use": ("利用", "Use"),     # a loan's request, decision, view, download, lending, return
}
EFFECT_FACT = {"allocate": "lease_offer", "start_lease": "lease_start", "renew_lease": "lease_renewal",
               "begin_transition": "lease_transition", "end_lease": "lease_end",
               "cancel_allocation": "lease_cancelled"}
DRIVEN_EFFECT = {"release": "cancel_allocation"}    # a unit's driven steps named unlike the effect
DOC_CHANGES = {"added": ("新增", "Added"), "removed": ("不在此版本", "Not in this version"),
               "withdrawn": ("撤出", "Withdrawn"), "reinstated": ("恢复", "Reinstated"),
               "file": ("替换文件", "New file"), "metadata": ("修改文件信息", "Details edited")}
LABELS = {  # labels of the facts this module writes (version details keep their own)
    "unit": ("房源档号", "Unit"), "term": ("租期", "Term"), "rent": ("月租金（元）", "Monthly rent (yuan)"),
    "deposit": ("履约保证金（元）", "Deposit (yuan)"), "renewal": ("续租", "Renewal"),
    "ended": ("终止日期", "Ended on"), "reason": ("原因", "Reason"), "name": ("姓名", "Name"),
    "id_number": ("身份证号码", "ID number"), "period": ("限制期间", "Barred"),
    "note": ("说明", "Note"), "dossier": ("记录档案", "Recorded in"),
    "transition_until": ("过渡期至", "Transition period until"),
}
RESTORED = ("恢复到第 {n} 版", "Restored version {n}")
REASON = ("拒绝原因", "Refused because")


def _tr(pair, locale):
    return pair[1] if locale == "en" else pair[0]


@dataclass(frozen=True)
class FieldLine:
    """One metadata field changed: its path and title, old and new as displayed."""
    path: str
    title: str
    old: str
    new: str


@dataclass(frozen=True)
class DocumentLine:
    """One document changed: what happened to it, and the file revision it now points to."""
    doc_id: str
    change: str
    change_title: str
    title: str
    doc_type: str
    file_no: int | None = None
    old_file_no: int | None = None
    fields: tuple = ()          # titles of the document's changed fields
    reason: str = ""            # why it was withdrawn


@dataclass(frozen=True)
class Fact:
    """A lease or credit fact joined to an event; ``link`` is (kind, archive no) or None."""
    kind: str
    title: str
    ref: str                    # the lease id, or the masked ID number of the barred person
    details: tuple = ()
    link: tuple | None = None


@dataclass(frozen=True)
class Event:
    """One thing that happened, with when, who, what and (for versions) what changed.

    ``when`` is a UTC datetime, or a date for facts recorded by day only (a ban, the end of
    a lease entered outside the procedure); ``day`` is the office's local date of either.
    """
    when: object
    day: _dt.date
    date_only: bool
    actor: str
    kind: str                   # a version action (edited, filed, transition ...) or a fact kind
    groups: tuple
    title: str
    comment: str = ""
    version: int | None = None
    restored_from: int | None = None
    transition: str = ""
    from_state: str = ""
    to_state: str = ""
    from_title: str = ""
    to_title: str = ""
    details: tuple = ()
    flagged: bool = False       # taken as an override (破格) or flagged by its procedure step
    fields: tuple = ()
    documents: tuple = ()
    facts: tuple = ()

    def joined(self, *facts) -> "Event":
        """The same event also carrying these facts (a lease step that is also a version)."""
        groups = self.groups + tuple(_group_of_fact(f) for f in facts)
        return replace(self, facts=self.facts + facts, groups=tuple(dict.fromkeys(groups)))


def _group_of_fact(fact):
    return "credit" if fact.kind == "ban" else "lease"


def timeline(dossier, root, registry, locale="zh", *, procedure=None, unmasked=False) -> list:
    """Every event of the dossier, oldest first (a view may reverse it).

    ``registry`` is the SchemaRegistry (or an application registry carrying
    ``archive_schemas`` and ``archive_procedure``); ``procedure`` gives step and state titles
    and which step set off which lease effect; ``unmasked`` shows personal data as stored.
    """
    schemas = getattr(registry, "archive_schemas", registry)
    procedure = procedure or getattr(registry, "archive_procedure", None)
    zone = getattr(procedure, "zone", None) or ZONE
    workflow = _workflow_of(procedure, dossier)
    events, people, prev = [], {}, None
    for box in dossier.versions.values():
        version = box.version
        for person in _people(version.metadata):
            people[person["id_number"]] = person.get("name", "")
        events.append(_version_event(version, prev, dossier, schemas, workflow, locale, unmasked, zone))
        prev = version
    events = _with_leases(events, dossier, workflow, locale, zone)
    events = _with_bans(events, dossier, root, people, workflow, locale, unmasked)
    events += _uses(dossier, root, locale, zone)
    events += [_attempt_event(a, workflow, locale, zone) for a in attempts.of(dossier)]
    return sorted(events, key=_order)


def filtered(events, groups) -> list:
    """The events that belong to any of ``groups`` (all of them when none is named)."""
    wanted = set(groups or ())
    return [e for e in events if not wanted or wanted & set(e.groups)]


def _order(event):
    """By the office's local day; facts known only by day come after that day's timed events."""
    if event.date_only:
        return (event.day, 1, _dt.datetime.min.replace(tzinfo=_dt.timezone.utc), 0)
    return (event.day, 0, event.when, event.version or 0)


def _people(metadata):
    applicant = metadata.get("applicant")
    for person in ([applicant] if isinstance(applicant, dict) else []) + list(metadata.get("members") or ()):
        if isinstance(person, dict) and person.get("id_number"):
            yield person


# -- versions ------------------------------------------------------------------------------
def changes(schemas, kind, old, new, locale="zh", unmasked=False):
    """(field lines, document lines) from version ``old`` to ``new``, personal values masked."""
    schema, doc_schema = schemas[kind], schemas["document"]
    fields, documents = compare(old, new)
    show = (lambda p, v: v) if unmasked else (lambda p, v: mask_path(schema, p, v))
    field_lines = tuple(FieldLine(c.path, schema.field_title(c.path, locale),
                                  schema.display(c.path, show(c.path, c.old), locale),
                                  schema.display(c.path, show(c.path, c.new), locale)) for c in fields)
    doc_lines = []
    for c in documents:
        entry = c.new or c.old
        doc_lines.append(DocumentLine(
            c.doc_id, c.change, _tr(DOC_CHANGES[c.change], locale), entry.metadata.get("title", ""),
            doc_schema.display("doc_type", entry.metadata.get("doc_type"), locale),
            c.new.file_no if c.new else None, c.old.file_no if c.old else None,
            tuple(doc_schema.field_title(f, locale) for f in c.fields),
            c.new.reason if c.new is not None and c.new.withdrawn else ""))
    return field_lines, tuple(doc_lines)


def _workflow_of(procedure, dossier):
    """The procedure that moves the dossier, or None: without a procedure, or for a kind no
    workflow moves (an employer's dossier follows its batch's steps, workflow/collective)."""
    if procedure is None:
        return None
    try:
        return procedure.workflow(dossier)
    except KeyError:
        return None


def _version_event(version, prev, dossier, schemas, workflow, locale, unmasked, zone):
    fields, documents = ((), ()) if prev is None else changes(
        schemas, dossier.kind, prev, version, locale, unmasked)
    title = action_title(version.action, locale)
    step = workflow.transition(version.transition) if workflow and version.transition else None
    if version.action == "transition":
        title = step.title(locale) if step else version.transition
    elif version.action in DOCUMENT_ACTIONS and documents:
        title = f"{title}{'：' if locale != 'en' else ': '}{'、'.join(d.title for d in documents)}"
    elif version.action == "restored":
        title = _tr(RESTORED, locale).format(n=version.restored_from)
    from_state = prev.state if prev is not None else ""
    moved = version.action in ("transition", "adopted")
    return Event(
        when=version.when, day=_local_day(version.when, zone), date_only=False, actor=version.actor,
        kind=version.action, groups=(GROUP_OF.get(version.action, "changes"),)
        + (("subsidy",) if any(d[0] == SUBSIDY_ID for d in version.details) else ()), title=title,
        comment=version.comment, version=version.number, restored_from=version.restored_from,
        transition=version.transition, from_state=from_state if moved else "",
        to_state=version.state if moved else "",
        from_title=_state_title(workflow, from_state, locale) if moved else "",
        to_title=_state_title(workflow, version.state, locale) if moved else "",
        details=tuple(tuple(d) for d in version.details),
        flagged=any(d[0] in ("破格办理", "标记") for d in version.details),
        fields=fields, documents=documents)


def _state_title(workflow, name, locale):
    state = workflow.state(name) if workflow is not None and name else None
    return state.title(locale) if state else name


def _local_day(when, zone):
    if isinstance(when, _dt.datetime):
        return (when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)).astimezone(zone).date()
    return when


# -- leases --------------------------------------------------------------------------------
def _with_leases(events, dossier, workflow, locale, zone):
    """Lease steps that are versions get their lease fact; leases no version mentions
    (entered past the procedure) become events of their own, joined to a version made
    at the very same moment if there is one (the migration's ``adopted`` version)."""
    mentioned, out = set(), []
    for event in events:
        lease_id = dict(event.details).get(LEASE_ID)
        if lease_id:
            mentioned.add(lease_id)
            kind = _lease_fact_kind(event, workflow)
            lease = _lease(dossier, lease_id)
            event = event.joined(Fact(kind, _tr(FACTS[kind], locale), lease_id,
                                      link=_other_side(dossier, lease)))
        out.append(event)
    by_when = {e.when: i for i, e in enumerate(out) if not e.date_only}
    for lease in getattr(dossier, "leases", ()):
        if lease.lease_id in mentioned:
            continue
        for when, actor, fact in _lease_facts(dossier, lease, locale):
            if not isinstance(when, _dt.datetime):
                out.append(_fact_event(when, when, True, actor, fact))
            elif when in by_when:
                out[by_when[when]] = out[by_when[when]].joined(fact)
            else:
                out.append(_fact_event(when, _local_day(when, zone), False, actor, fact))
    return out


def _fact_event(when, day, date_only, actor, fact):
    return Event(when=when, day=day, date_only=date_only, actor=actor, kind=fact.kind,
                 groups=(_group_of_fact(fact),), title=fact.title, details=fact.details, facts=(fact,))


def _lease_fact_kind(event, workflow):
    """Which lease fact a version records: its step's effect, or a lease note's labels."""
    if event.kind == "transition":
        step = workflow.transition(event.transition) if workflow is not None else None
        effect = (step.effect if step is not None and step.effect
                  else DRIVEN_EFFECT.get(event.transition, event.transition))
        return EFFECT_FACT.get(effect, "lease")
    labels = dict(event.details)
    if "续租" in labels:
        return "lease_renewal"
    if "过渡期至" in labels:
        return "lease_transition"
    return "lease"


def _lease(dossier, lease_id):
    return next((lease for lease in getattr(dossier, "leases", ()) if lease.lease_id == lease_id), None)


def _other_side(dossier, lease):
    if lease is None:
        return None
    return ("unit", lease.unit_no) if dossier.kind == "household" else ("household", lease.household_no)


def _lease_facts(dossier, lease, locale):
    """(when, actor, fact) for a lease no version records, from the lease book's own data."""
    link, L = _other_side(dossier, lease), (lambda key: _tr(LABELS[key], locale))
    first = ((L("unit"), lease.unit_no),)
    renewals = tuple(lease.renewals or ())
    if lease.start:
        end = renewals[0][0] if renewals else lease.end     # the term as first agreed
        first += ((L("term"), f"{lease.start.isoformat()} — {end.isoformat()}"),
                  (L("rent"), f"{lease.rent or 0:,.2f}"))
        if lease.deposit is not None:
            first += ((L("deposit"), f"{lease.deposit:,.2f}"),)
    kind = "lease_start" if lease.start else "lease_offer"
    yield lease.allocated, lease.allocated_by, Fact(kind, _tr(FACTS[kind], locale), lease.lease_id,
                                                    first, link)
    for old_end, new_end, when, actor in renewals:
        yield when, actor, Fact("lease_renewal", _tr(FACTS["lease_renewal"], locale), lease.lease_id,
                                ((L("renewal"), f"{old_end.isoformat()} → {new_end.isoformat()}"),), link)
    if lease.state in ("ended", "cancelled") and lease.ended_on:
        kind = "lease_end" if lease.state == "ended" else "lease_cancelled"
        details = ((L("ended"), lease.ended_on.isoformat()), (L("reason"), lease.end_reason or ""))
        if lease.transition_until:
            details += ((L("transition_until"), lease.transition_until.isoformat()),)
        yield lease.ended_on, "", Fact(kind, _tr(FACTS[kind], locale), lease.lease_id, details, link)


# -- credit ---------------------------------------------------------------------------------
def _with_bans(events, dossier, root, people, workflow, locale, unmasked):
    """Bans on anyone who was ever a member; a ban set off by one of this dossier's steps
    (declining an allocation) joins that step's event."""
    credit = getattr(root, "credit", None)
    if credit is None:
        return events
    out = list(events)
    for id_number, name in people.items():
        for ban in credit.bans(id_number):
            fact = _ban_fact(ban, name, locale, unmasked)
            i = _banning_step(out, dossier, ban, workflow)
            if i is None:
                out.append(_fact_event(ban.since, ban.since, True, ban.recorded_by, fact))
            else:
                out[i] = out[i].joined(fact)
    return out


def _ban_fact(ban, name, locale, unmasked):
    L = (lambda key: _tr(LABELS[key], locale))
    shown = ban.id_number if unmasked else mask_id(ban.id_number)
    details = ((L("name"), name), (L("id_number"), shown),
               (L("period"), f"{ban.since.isoformat()} — {ban.until.isoformat()}"))
    if ban.note:
        details += ((L("note"), ban.note),)
    if ban.dossier:
        details += ((L("dossier"), ban.dossier),)
    title = f"{_tr(FACTS['ban'], locale)}{'：' if locale != 'en' else ': '}{reason_title(ban.reason, locale)}"
    return Fact("ban", title, shown, details, ("household", ban.dossier) if ban.dossier else None)


def _banning_step(events, dossier, ban, workflow):
    """The index of this dossier's step that recorded the ban, if it was one."""
    if ban.dossier != dossier.archive_no or workflow is None:
        return None
    for i, event in enumerate(events):
        step = workflow.transition(event.transition) if event.kind == "transition" else None
        if step is not None and step.ban == ban.reason and event.day == ban.since \
                and event.actor == ban.recorded_by:
            return i
    return None


# -- use (利用记录) -------------------------------------------------------------------------
USE_TITLES = {"request": ("申请利用", "Use requested"), "approve": ("批准利用", "Use approved"),
              "refuse": ("不予利用", "Use refused"), "view": ("按借阅单查阅", "Viewed under a loan"),
              "download": ("按借阅单下载复制件", "Copy downloaded under a loan"),
              "lend": ("借出纸质档案", "Paper volume lent"), "return": ("归还纸质档案", "Paper volume returned")}
LOAN_LABEL = ("借阅单", "Loan")


def _uses(dossier, root, locale, zone):
    """Every use of the dossier under a loan (the loan book's records: archive.custody.loans)."""
    book = getattr(root, "loans", None)
    if book is None:
        return []
    out = []
    for use in book.uses_of(dossier.kind, dossier.archive_no):
        loan = book.get(use.loan_id)
        label = loan.label if loan is not None else use.loan_id
        details = ((_tr(LOAN_LABEL, locale), label),)
        if use.doc_id:
            details += ((_tr(("文件", "Document"), locale), use.doc_id),)
        if use.detail:
            details += ((_tr(LABELS["note"], locale), use.detail),)
        title = _tr(USE_TITLES.get(use.action, (use.action, use.action)), locale)
        fact = Fact("use", title, label, details)
        out.append(Event(when=use.when, day=_local_day(use.when, zone), date_only=False,
                         actor=use.actor, kind="use", groups=("use",), title=title,
                         details=details, facts=(fact,)))
    return out


# -- attempts (records/attempts.py) -------------------------------------------------------------
def _attempt_event(attempt, workflow, locale, zone):
    """A refused step or a lottery attempt: not a version, shown among them by time."""
    step = workflow.transition(attempt.name) if workflow is not None and attempt.kind == "step" else None
    title = step.title(locale) if step is not None else attempt.title
    sep = ": " if locale == "en" else "："
    details = tuple((_tr(REASON, locale), r) for r in attempt.reasons) + tuple(attempt.details)
    return Event(when=attempt.when, day=_local_day(attempt.when, zone), date_only=False,
                 actor=attempt.actor, kind="attempt", groups=("attempts",),
                 title=f"{attempt.outcome_title(locale)}{sep}{title}",
                 transition=attempt.name if step is not None else "", details=details,
                 flagged=attempt.outcome == "refused")
