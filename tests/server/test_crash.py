"""SIGKILL while officers file and edit, then a restart on the same var/ (issue 15, part 3).

A server may die at any moment: power cut, OOM killer, an operator's ``kill -9``. What it
acknowledged must survive (documents with the SHA-256 the 201 reported, edits as
versions); what it did not acknowledge must be absent, except the requests in flight at the
kill, each present whole or not at all; the store opens, the audit log's chain verifies, the
audit finds nothing critical and the after-commit queues (text layers, search index) finish
the work left pending. Three moments: just after the first acknowledgements, in the middle
of a burst, and right after a burst ends, when its after-commit work is still queued.
"""
from __future__ import annotations

import collections
import http.client
import re
import threading
import time
from dataclasses import dataclass

import pytest

from server.harness import (create_household, download_problem, file_pdf, household_body,
                            log_exceptions, make_pdf, report, sha256)

pytestmark = pytest.mark.server

FILERS = 4          # clients 0 and 1 share a dossier (so they also conflict), 2 and 3 have their own
EDITORS = 2         # both save one other household
PLAN = 40           # requests each client would send if nobody killed the server
BURST = 10          # requests each client sends in the burst that ends before the kill
TEXT_DONE = {"done", "failed", "ocr_done", "ocr_failed"}
WAIT_ACKS = 120     # seconds to reach the kill moment before the test gives up (setup, not a claim)
WAIT_QUEUES = 180   # seconds for the text worker to finish after the restart (bounded poll)

MOMENTS = {"early": 2, "mid-burst": 40, "after-burst": None}  # acknowledgements before the kill


# -- what the clients sent and what they heard -------------------------------------------------
@dataclass
class Attempt:
    kind: str            # "file" or "edit"
    archive_no: str
    label: str           # the document's title, or the edit's comment
    sent: object         # the file's SHA-256, or the edit's body
    outcome: str = "sending"   # acked, refused, in-flight (no answer), unsent (connection refused)
    reply: object = None


class Ledger:
    """Every attempt of every client, and a way to wait for the n-th acknowledgement."""

    def __init__(self):
        self.attempts = []
        self.acked = 0
        self.changed = threading.Condition()

    def add(self, attempt):
        with self.changed:
            self.attempts.append(attempt)

    def settle(self, attempt, outcome, reply=None):
        with self.changed:
            attempt.outcome, attempt.reply = outcome, reply
            self.acked += outcome == "acked"
            self.changed.notify_all()

    def wait_acked(self, count, clients):
        """True once ``count`` requests were acknowledged; False if the clients all ended first
        or it takes longer than WAIT_ACKS (the server stalled)."""
        deadline = time.monotonic() + WAIT_ACKS
        with self.changed:
            while self.acked < count:
                if not any(t.is_alive() for t in clients) or time.monotonic() > deadline:
                    return False
                self.changed.wait(0.2)
        return True

    def of(self, kind, outcome=None):
        return [a for a in self.attempts if a.kind == kind and outcome in (None, a.outcome)]


def send(ledger, attempt, request):
    """Run one request and record its outcome; False when the server is gone."""
    ledger.add(attempt)
    try:
        reply = request()
    except ConnectionRefusedError:
        ledger.settle(attempt, "unsent")
        return False
    except (OSError, http.client.HTTPException):
        ledger.settle(attempt, "in-flight")
        return False
    ok = reply.status in (200, 201)
    ledger.settle(attempt, "acked" if ok else "refused", reply)
    return True


def filer(server, ledger, stop, archive_no, k, count, tag):
    for j in range(count):
        title = f"crash-{tag}-{k}-{j}"
        data = make_pdf(f"crash test {title}")
        attempt = Attempt("file", archive_no, title, sha256(data))
        if stop.is_set() or not send(ledger, attempt, lambda: file_pdf(
                server, archive_no, title, data=data, timeout=30)):
            return


def editor(server, ledger, stop, archive_no, k, count, tag, base):
    for j in range(count):
        body = dict(base, notes=f"{tag} editor {k} save {j}", income_per_capita=3000 + 100 * k + j,
                    comment=f"崩溃测试 {tag} {k}-{j}")
        attempt = Attempt("edit", archive_no, body["comment"], body)
        if stop.is_set() or not send(ledger, attempt, lambda: server.request(
                "PUT", f"/api/households/{archive_no}", json=body, timeout=30)):
            return


def start_clients(server, ledger, stop, dossiers, count, tag, base):
    shared, own_a, own_b, edited = dossiers
    jobs = [(filer, shared, 0), (filer, shared, 1), (filer, own_a, 2), (filer, own_b, 3)]
    jobs += [(editor, edited, k) for k in range(EDITORS)]
    threads = []
    for work, archive_no, k in jobs:
        extra = (base,) if work is editor else ()
        threads.append(threading.Thread(target=work, daemon=True, args=(
            server, ledger, stop, archive_no, k, count, tag, *extra)))
    for t in threads:
        t.start()
    return threads


def burst_and_kill(server, tag, moment):
    """Start the clients, SIGKILL the server at ``moment``; the ledger and the dossiers (three
    filed into, the last edited), each case its own."""
    n = list(MOMENTS).index(moment)
    dossiers = [create_household(server, 400 + 10 * n + i) for i in range(3)]
    dossiers.append(create_household(server, 450 + n))
    base = household_body(450 + n, server)
    ledger, stop = Ledger(), threading.Event()
    at = MOMENTS[moment]
    threads = start_clients(server, ledger, stop, dossiers, BURST if at is None else PLAN, tag, base)
    if at is None:
        for t in threads:
            t.join()
        reached = True
    else:
        reached = ledger.wait_acked(at, threads)
    server.kill()
    stop.set()
    for t in threads:
        t.join(60)
    assert reached, (f"the kill moment ({at} acknowledgements) was never reached: "
                     f"{ledger.acked} acknowledged\n{server.log_tail(20)}")
    return ledger, dossiers


# -- after the restart -------------------------------------------------------------------------
def wait_for_text_layers(server, dossiers):
    """Poll the documents until every file's text layer is read (bounded); their statuses."""
    deadline = time.monotonic() + WAIT_QUEUES
    while True:
        statuses = {}
        for no in dossiers:
            for doc in server.request("GET", f"/api/households/{no}/documents").json()["items"]:
                for f in doc["files"]:
                    statuses[f"{no}/{doc['doc_id']} {doc['metadata']['title']}"] = f["text_status"]
        if all(s in TEXT_DONE for s in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.5)


def documents_of(server, no):
    """{title: document JSON} of a dossier as the restarted server has it."""
    reply = server.request("GET", f"/api/households/{no}/documents")
    assert reply.status == 200, f"GET documents of {no} after the restart: {reply}"
    return {d["metadata"]["title"]: d for d in reply.json()["items"]}


def document_problems(server, ledger):
    """(lost, unexplained): acknowledged documents missing or altered; present documents that
    were neither acknowledged nor in flight, or that are not whole."""
    lost, unexplained = [], []
    present = {}
    for no in {a.archive_no for a in ledger.of("file")}:
        present.update({(no, t): d for t, d in documents_of(server, no).items()})
    attempts = {(a.archive_no, a.label): a for a in ledger.of("file")}
    for a in ledger.of("file", "acked"):
        doc = present.get((a.archive_no, a.label))
        reported = a.reply.json()["files"][0]["sha256"]
        if doc is None:
            lost.append(f"{a.label}: acknowledged (201 {a.reply.json()['doc_id']}) but absent")
        elif doc["files"][0]["sha256"] != reported or reported != a.sent:
            lost.append(f"{a.label}: stored sha256 {doc['files'][0]['sha256'][:12]}…, "
                        f"201 reported {reported[:12]}…, sent {a.sent[:12]}…")
        else:
            lost += filter(None, [download_problem(server, a.archive_no, doc["doc_id"], a.sent, a.label)])
    for key, doc in present.items():
        a = attempts.get(key)
        if a is None or a.outcome not in ("acked", "in-flight"):
            unexplained.append(f"{key[1]} ({doc['doc_id']}) is present, but its request was "
                               f"{a.outcome if a else 'never sent'}")
        elif a.outcome == "in-flight":
            unexplained += filter(None, [download_problem(server, key[0], doc["doc_id"], a.sent,
                                                          f"in-flight {a.label}")])
    return lost, unexplained


def edit_problems(server, ledger):
    """(lost, unexplained) for the edits: each acknowledged one is its version with what it
    saved; every other edit version belongs to an edit in flight and is whole."""
    lost, unexplained = [], []
    edits = ledger.of("edit")
    if not edits:
        return ["no edit was sent"], []
    no = edits[0].archive_no
    versions = server.request("GET", f"/api/households/{no}/versions").json()["items"]
    by_comment = {v["comment"]: v for v in versions if v["number"] > 1}
    attempts = {a.label: a for a in edits}
    for a in ledger.of("edit", "acked"):
        version = by_comment.get(a.label)
        if version is None or version["number"] != a.reply.json()["version"]:
            lost.append(f"edit {a.label!r}: acknowledged as version {a.reply.json()['version']}, "
                        f"after the restart {version and version['number']}")
    for comment, version in by_comment.items():
        a = attempts.get(comment)
        if a is None or a.outcome not in ("acked", "in-flight"):
            unexplained.append(f"version {version['number']} ({comment!r}) is present, but its "
                               f"request was {a.outcome if a else 'never sent'}")
            continue
        saved = server.request("GET", f"/api/households/{no}/versions/{version['number']}").json()
        if saved["metadata"].get("notes") != a.sent["notes"]:
            unexplained.append(f"version {version['number']} ({comment!r}) holds notes "
                               f"{saved['metadata'].get('notes')!r}, not {a.sent['notes']!r}")
    if len(versions) != 1 + len(by_comment):
        unexplained.append(f"{no}: {len(versions)} versions, {len(by_comment)} of them edits")
    return lost, unexplained


def version_count_problems(server, ledger):
    """A filing is a document and a version together: never one without the other."""
    problems = []
    for no in sorted({a.archive_no for a in ledger.of("file")}):
        docs = documents_of(server, no)
        versions = server.request("GET", f"/api/households/{no}/versions").json()["total"]
        if versions != 1 + len(docs):
            problems.append(f"{no}: {len(docs)} documents but {versions} versions (1 + one per filing)")
    return problems


def in_flight_bound(ledger, server):
    """Present documents may exceed the acknowledged ones only by the requests in flight."""
    acked = len(ledger.of("file", "acked"))
    in_flight = len(ledger.of("file", "in-flight"))
    present = sum(len(documents_of(server, no)) for no in {a.archive_no for a in ledger.of("file")})
    problem = [] if acked <= present <= acked + in_flight else [
        f"{present} documents present, {acked} acknowledged + {in_flight} in flight"]
    return problem, (acked, in_flight, present)


def outcome_counts(ledger):
    return {kind: dict(collections.Counter(a.outcome for a in ledger.of(kind)))
            for kind in ("file", "edit")}


def refusals(ledger):
    """Refusals must be a JSON 409 (the clients send only valid requests), never a 5xx."""
    out = []
    for a in ledger.attempts:
        if a.outcome == "refused" and not (a.reply.status == 409 and a.reply.is_json()):
            out.append(f"{a.kind} {a.label} -> {a.reply}")
    return out


# -- the store, checked by the CLI with the server stopped --------------------------------------
def cli_problems(server):
    """verify-log must pass, the audit find nothing critical, index-check agree; the summaries."""
    problems, said = [], []
    verify, audit, index = server.cli_many(("verify-log",), ("audit",), ("index-check",))
    said.append(verify.stdout.strip())
    if verify.returncode != 0:
        problems.append(f"verify-log exit {verify.returncode}: {one_line(verify.stdout)} "
                        f"{last_line(verify.stderr)}")
    totals = [line for line in audit.stdout.splitlines() if line.startswith("检查档案")]
    critical = [line.strip() for line in audit.stdout.splitlines() if line.strip().startswith("严重｜")]
    count = re.search(r"严重 (\d+)", totals[-1]) if totals else None
    said.append(totals[-1] if totals else audit.stdout[-300:])
    if audit.returncode != 0 or count is None or int(count.group(1)) or critical:
        problems.append(f"audit exit {audit.returncode}, {count and count.group(1)} critical "
                        f"findings: {critical[:5]} {last_line(audit.stderr)}")
    said.append(one_line(index.stdout))
    if index.returncode != 0:
        problems.append(f"index-check exit {index.returncode}: {one_line(index.stdout)} "
                        f"{last_line(index.stderr)}")
    return problems, said


def one_line(text, limit=300):
    return " ".join(text.split())[:limit]


def last_line(text):
    """The error a command ended with (its stderr also holds progress bars)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("[")]
    return lines[-1][:300] if lines else ""


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_keeps_what_was_acknowledged(server, moment):
    """Kill -9 while 4 clients file and 2 edit, restart, and account for every request."""
    server.start()
    ledger, dossiers = burst_and_kill(server, moment, moment)
    log_before = len(server.log_text())
    server.start()  # the store opens again: Data.fs is readable after the kill
    statuses = wait_for_text_layers(server, dossiers[:3])
    not_done = [f"{k}: {s}" for k, s in statuses.items() if s != "done"]
    lost_docs, extra_docs = document_problems(server, ledger)
    lost_edits, extra_edits = edit_problems(server, ledger)
    bound, (acked, in_flight, present) = in_flight_bound(ledger, server)
    halves = version_count_problems(server, ledger)
    seen = {name: n for name, (n, _) in log_exceptions(server.log_text()[log_before:]).items()}
    server.stop()
    store, said = cli_problems(server)
    line = (f"SIGKILL {moment}: requests {outcome_counts(ledger)}; documents acknowledged "
            f"{acked}, in flight {in_flight}, present after restart {present}; text layers "
            f"{dict(collections.Counter(statuses.values()))}; exceptions after restart "
            f"{seen or 'none'}; {' | '.join(said)}")
    print(line)
    sections = {"acknowledged documents lost or altered": lost_docs,
                "acknowledged edits lost": lost_edits,
                "present without acknowledgement (or not whole)": extra_docs + extra_edits + bound,
                "document without its version or version without its document": halves,
                "refusals that are not a JSON 409": refusals(ledger),
                "text layers not read after the restart": not_done,
                "store checks (verify-log, audit, index-check)": store}
    if any(sections.values()):
        pytest.fail(report(line, sections, server), pytrace=False)
