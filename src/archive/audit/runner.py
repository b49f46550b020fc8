"""Running an integrity audit (完整性审计): one walk over the archive, every rule applied.

The walk visits each dossier once and hands it to the dossier rules; then every stored
file of the fixity index is read once for all the file rules (fixity, usability:
archive.audit.files reads them in worker processes); then the archive-wide rules run. It
reads and never writes the archive; what it writes is the run: progress as it goes,
counts and findings at the end, and one entry in the audit log.
"""
from __future__ import annotations

import datetime as _dt
import time

from ..records.container import containers
from .files import FileReader
from .rules import RULES, Finding

GC_EVERY = 200          # dossiers between trimming the ZODB cache on a long walk
WALKED = {"shared_person"}   # archive-wide rules that need what the walk of dossiers gathers


class AuditContext:
    """What the rules may look at, and what the walk gathers for the archive-wide rules."""

    def __init__(self, root, procedure, schemas, now, search_index=None):
        self.root, self.procedure, self.schemas = root, procedure, schemas
        self.now = now
        self.today = procedure.today(now)
        self.search_index = search_index
        self.counts = {"dossiers": 0, "households": 0, "units": 0, "employers": 0, "documents": 0,
                       "files": 0, "bytes": 0, "versions": 0}
        self.people = {}          # ID number -> archive numbers of active households
        self._history = (None, None)
        self.lease_states = {k: _lease_states(procedure.workflows[k]) for k in ("household", "unit")}
        flow = procedure.workflows["household"]
        # open applications: states a ban-checked step leaves, other than a tenancy's
        ban_checked = {s for t in flow.transitions.values() if t.manual
                       for g in t.guards if g.kind == "no_ban" for s in t.sources}
        self.application_states = ban_checked - self.lease_states["household"]["current"]
        # the application set (申请材料): what the steps out of the first state require
        self.application_stages = tuple(g.arg for t in flow.outgoing(flow.initial) if t.manual
                                        for g in t.guards if g.kind == "documents")
        self.final_states = {k: {s.name for s in procedure.workflows[k].states.values() if s.final}
                             for k in ("household", "unit")}

    def history(self, dossier) -> list:
        """The dossier's versions, oldest first, read once however many rules ask."""
        if self._history[0] is not dossier:
            versions = [box.version for box in dossier.versions.values()]
            self._history = (dossier, versions)
            self.counts["versions"] += len(versions)
        return self._history[1]

    def stored_files(self, dossier) -> dict:
        """(document id, file number) -> SHA-256 recorded at filing (the fixity index)."""
        return {(e.doc_id, e.file_no): e.sha256 for e in self.root.fixity.of(dossier.kind, dossier.archive_no)}

    def steps_taken(self, dossier) -> list:
        return [v.transition for v in self.history(dossier) if v.action == "transition"]


def _lease_states(workflow) -> dict:
    """Which procedure states go with an offered and with a current lease, read from the
    workflow itself: where the allocating and lease-starting steps lead, and every state
    reached from there without a step that ends or cancels the lease."""
    opening = {"allocate": "offered", "start_lease": "current"}
    closing = {"cancel_allocation", "release", "end_lease", "start_lease"}
    out = {"offered": set(), "current": set()}
    for lease_state in ("offered", "current"):
        todo = [t.target for t in workflow.transitions.values()
                if opening.get(t.effect or (t.name if not t.manual else None)) == lease_state]
        while todo:
            state = todo.pop()
            if state in out[lease_state]:
                continue
            out[lease_state].add(state)
            todo += [t.target for t in workflow.outgoing(state)
                     if (t.effect or (t.name if not t.manual else "")) not in closing | set(opening)]
    return out


def run_audit(root, run, procedure, schemas, now=None, search_index=None, progress=None,
              clock=time.monotonic) -> list:
    """Apply the run's rules to the whole archive; the run ends ``done`` with its findings.

    ``progress(done, total)`` is called after each dossier (the CLI's bar, the web job's
    committed progress). Returns the findings."""
    measured = now is None
    now = now or _dt.datetime.now(_dt.timezone.utc)
    ctx = AuditContext(root, procedure, schemas, now, search_index)
    chosen = [RULES[r] for r in run.rules if r in RULES]
    by_scope = {s: [r for r in chosen if r.scope == s] for s in ("file", "dossier", "archive")}
    run.status, run.started = "running", now
    findings: list[Finding] = []
    started = clock()
    files = len(root.fixity) if by_scope["file"] else 0
    walk = bool(by_scope["dossier"]) or any(r.id in WALKED for r in by_scope["archive"])
    walked = containers(root) if walk else []
    total = sum(len(c) for c in walked) + files
    run.progress = (0, total)
    done = 0
    for container in walked:
        kind, rules = container.kind, [r for r in by_scope["dossier"] if container.kind in r.kinds]
        for dossier in container.values():
            findings.extend(_dossier(ctx, dossier, rules))
            ctx.counts["dossiers"] += 1
            ctx.counts[kind + "s"] += 1
            done += 1
            if done % GC_EVERY == 0 and getattr(root, "_p_jar", None) is not None:
                root._p_jar.cacheGC()
            if progress is not None:
                progress(done, total)
    if by_scope["file"]:
        findings.extend(_files(ctx, root, by_scope["file"], done, total, progress))
        done += files
    for rule in by_scope["archive"]:
        findings += list(rule.check(rule, ctx))
    ctx.counts["seconds"] = round(clock() - started, 2)
    run.counts = dict(ctx.counts)
    run.findings = tuple(findings)
    run.progress = (total, total)
    run.status = "done"
    run.finished = (_dt.datetime.now(_dt.timezone.utc) if measured
                    else now + _dt.timedelta(seconds=ctx.counts["seconds"]))
    severity = run.by_severity()
    root.log.append(run.actor, "audit.run", f"audit/{run.run_id}",
                    f"{ctx.counts['dossiers']} 份档案、{ctx.counts['files']} 个文件；发现 {len(findings)} 条"
                    f"（严重 {severity['critical']}）", run.finished)
    return findings


def _dossier(ctx, dossier, rules) -> list:
    out = []
    if dossier.kind == "household" and dossier.state not in ctx.final_states["household"]:
        for person in dossier.people():
            number = person.get("id_number")
            if number:
                nos = ctx.people.setdefault(number, [])
                if dossier.archive_no not in nos:
                    nos.append(dossier.archive_no)
    for rule in rules:
        out += list(rule.check(rule, ctx, dossier))
    return out


def _files(ctx, root, rules, done, total, progress) -> list:
    """The file rules on every stored file of the fixity index, one pass, read ahead."""
    out, documents = [], set()
    reader = FileReader(root, open_pdf=any(r.id == "usability" for r in rules))
    for n, (entry, stored) in enumerate(reader.stored_files(root.fixity.entries()), 1):
        ctx.counts["files"] += 1
        ctx.counts["bytes"] += stored.size
        documents.add((entry.kind, entry.archive_no, entry.doc_id))
        for rule in rules:   # the entry names its dossier (kind, archive_no) without loading it
            out += list(rule.check(rule, ctx, entry, stored))
        if progress is not None and (n % 500 == 0):
            progress(done + n, total)
    ctx.counts["documents"] = len(documents)
    if progress is not None:
        progress(total, total)
    return out
