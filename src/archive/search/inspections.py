"""Inspections (案件核查): the questions an inspector (稽查员) asks across households.

Which households share a person (the same ID number as applicant or co-applicant in two
or more households), an address or a phone number, and which were changed after their
approval (审核通过) — what changed, when and by whom. Each query reads the current
households once, in a single pass over the container, and returns groups sorted so the
ones most worth a look come first. Values are returned as stored (the key of a group);
masking them for display is the caller's business (archive.access.personal).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..records.history import changes

APPROVE = "approve"        # workflows/household.yaml: the step that approves a household
CHANGE_ACTIONS = ("edited", "filed", "refiled", "document_edited", "withdrawn", "restored")
# Changes to what the approval saw; a newly filed document (公示记录, 租赁合同 …) is mostly the
# procedure going on, so households with only those are listed after the others.
ALTERING = ("edited", "refiled", "document_edited", "withdrawn", "restored")
QUERIES = ("members", "addresses", "phones", "changed")
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FULL_WIDTH[0x3000] = 0x20                                  # the ideographic space
_SPACE = re.compile(r"\s+")


def normalise_address(value) -> str:
    """An address compared loosely: full-width characters as half-width, no whitespace,
    Latin letters in one case (``龙锦路８８号 A座`` is ``龙锦路88号a座``)."""
    if not isinstance(value, str):
        return ""
    return _SPACE.sub("", value.translate(_FULL_WIDTH)).casefold()


def normalise_phone(value) -> str:
    """A phone number compared by its digits (``0519-8888 6666`` is ``051988886666``)."""
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value.translate(_FULL_WIDTH) if c.isdigit())


@dataclass(frozen=True)
class Holder:
    """A household in a group: its dossier's facts and who in it carries the shared value."""
    archive_no: str
    title: str
    state: str
    jurisdiction: str
    people: tuple = ()          # (name, role) — role "applicant" or the member's relation code
    value: str = ""             # the value as this household stores it (e.g. the address as typed)


@dataclass(frozen=True)
class Group:
    """Households sharing one value (``key``: the ID number, or the normalised address or phone)."""
    key: str
    households: tuple
    active: int                 # how many of them are not in a final state of the procedure


@dataclass(frozen=True)
class Change:
    """One version after approval that changed metadata or documents."""
    version: int
    when: object
    actor: str
    action: str
    comment: str
    fields: tuple               # archive.records.history.FieldLine, personal values masked
    documents: tuple            # archive.records.history.DocumentLine


@dataclass(frozen=True)
class ChangedAfterApproval:
    """A household changed after its first approval, with every such change."""
    household: Holder
    approved: object            # when the household was first approved
    approved_by: str
    changes: tuple

    @property
    def last(self):
        return self.changes[-1].when

    @property
    def altering(self) -> int:
        """How many of the changes altered what was approved (not a new filing)."""
        return sum(c.action in ALTERING for c in self.changes)


def shared_members(households, final_states=()) -> list:
    """Groups of households whose applicant or co-applicants share an ID number."""
    def keys(dossier):
        for role, person in _people(dossier.metadata):
            yield person.get("id_number"), (person.get("name", ""), role), person.get("id_number")
    return _shared(households, keys, final_states)


def shared_addresses(households, final_states=()) -> list:
    """Groups of households giving the same current address (normalised)."""
    def keys(dossier):
        address = dossier.metadata.get("address")
        yield normalise_address(address), None, address
    return _shared(households, keys, final_states)


def shared_phones(households, final_states=()) -> list:
    """Groups of households giving the same phone number (by its digits)."""
    def keys(dossier):
        phone = dossier.metadata.get("phone")
        yield normalise_phone(phone), None, phone
    return _shared(households, keys, final_states)


def changed_after_approval(households, schemas, locale="zh", unmasked=False, workflow=None,
                           approve=APPROVE) -> list:
    """Households with a version changing metadata or documents after their first
    ``approve`` step: those that altered what was approved first, then by the latest change.

    Reading versions is where the time of this query goes; given the household
    ``workflow``, households in a state no approved household can be in are passed over,
    and when the approval can happen only once the versions before it are never read.
    """
    skip, once = _approval_facts(workflow, approve) if workflow is not None else (set(), False)
    out = []
    for dossier in households:
        if dossier.state in skip:
            continue
        approval, later = _after_approval(dossier, approve, once)
        found, prev = [], approval
        for version in later:
            if version.action in CHANGE_ACTIONS:
                fields, documents = changes(schemas, dossier.kind, prev, version, locale, unmasked)
                found.append(Change(version.number, version.when, version.actor, version.action,
                                    version.comment, fields, documents))
            prev = version
        if found:
            out.append(ChangedAfterApproval(_holder(dossier), approval.when, approval.actor,
                                            tuple(found)))
    out.sort(key=lambda c: (c.altering > 0, c.last, c.household.archive_no), reverse=True)
    return out


def _after_approval(dossier, approve, once):
    """(the first approval, the versions after it, oldest first), or (None, ())."""
    def approves(version):
        return version.action == "transition" and version.transition == approve
    if once:    # newest first, stopping at the approval: earlier versions are never loaded
        later = []
        for number in reversed(dossier.versions.keys()):
            version = dossier.versions[number].version
            if approves(version):
                return version, later[::-1]
            later.append(version)
        return None, ()
    versions = (box.version for box in dossier.versions.values())
    for version in versions:
        if approves(version):
            return version, list(versions)
    return None, ()


def states_before(workflow, approve=APPROVE) -> set:
    """The states no approved household can be in: those not reachable from the approval.

    A dossier's state changes by procedure steps (restoring a version never moves it), so a
    household in one of these was never approved. ``adopt_state`` may place a dossier
    anywhere, but it places dossiers that predate the procedure, and leases taken over from
    the paper register (在租), which is reachable from the approval.
    """
    return _approval_facts(workflow, approve)[0]


def _approval_facts(workflow, approve):
    """(states before any approval, whether a household can be approved only once)."""
    step = workflow.transition(approve)
    if step is None:
        return set(), False
    reached, todo = set(), [step.target]
    while todo:
        state = todo.pop()
        if state not in reached:
            reached.add(state)
            todo.extend(t.target for t in workflow.outgoing(state))
    return set(workflow.states) - reached, not (set(step.sources) & reached)


def _shared(households, keys, final_states):
    """One pass: key -> {archive no: Holder}; the keys held by two households or more."""
    seen = {}
    for dossier in households:
        for key, person, value in keys(dossier):
            if not key:
                continue
            holders = seen.setdefault(key, {})
            people = holders[dossier.archive_no][0] if dossier.archive_no in holders else ()
            holders[dossier.archive_no] = (people + ((person,) if person else ()), value, dossier)
    groups = []
    for key, holders in seen.items():
        if len(holders) < 2:
            continue
        members = tuple(_holder(d, people, value) for people, value, d in holders.values())
        groups.append(Group(key, members, sum(h.state not in final_states for h in members)))
    groups.sort(key=lambda g: (-g.active, -len(g.households), g.key))
    return groups


def _holder(dossier, people=(), value=""):
    return Holder(dossier.archive_no, dossier.title, dossier.state or "",
                  dossier.metadata.get("jurisdiction", ""), tuple(people), value or "")


def _people(metadata):
    applicant = metadata.get("applicant")
    if isinstance(applicant, dict) and applicant.get("id_number"):
        yield "applicant", applicant
    for member in metadata.get("members") or ():
        if isinstance(member, dict) and member.get("id_number"):
            yield member.get("relation") or "member", member
