"""Officers at the same time, against a real server (issue 15, part 1).

Eight clients file 50 PDFs each, all into one dossier and each into its own, and eight
clients save one household's metadata 25 times each. Every request must either succeed or
be refused with a JSON 409 (someone else saved first: the only true refusal for a valid
request); nothing answers 5xx; every acknowledged document downloads with the SHA-256 its
201 reported; every successful edit is exactly one version. WebTest runs requests one at a
time in the test's thread, so only a real server with several client threads shows this.
"""
from __future__ import annotations

import collections

import pytest

from server.harness import (create_household, download_problem, file_pdf, household_body,
                            log_exceptions, make_pdf, report, retry_mentions, run_clients,
                            sha256)

pytestmark = pytest.mark.server

CLIENTS = 8
UPLOADS = 50
EDITS = 25
EMPTY_FILE = "文件为空"


# -- shared by filing and editing ------------------------------------------------------------
def flatten(results):
    """The clients' records in one list; a client that raised fails the test with its error."""
    crashed = [r for r in results if isinstance(r, BaseException)]
    assert not crashed, f"a client thread failed: {crashed[0]!r}"
    return [record for records in results for record in records]


def server_errors(records):
    """5xx answers: never acceptable, whatever the load."""
    return [f"{label} -> {reply}" for label, reply in records if reply.status >= 500]


def untrue_refusals(records, ok):
    """4xx answers other than a JSON 409 to a valid request: the input was fine, so the only
    true refusal is "someone else saved first" (e.g. never 文件为空 for a valid PDF)."""
    problems = []
    for label, reply in records:
        if reply.status == ok or reply.status >= 500:
            continue
        if reply.status == 409 and reply.is_json() and reply.json().get("status") == 409:
            continue
        untrue = " (untrue: the PDF was not empty)" if EMPTY_FILE in reply.text else ""
        problems.append(f"{label} -> {reply.status} {reply.error()!r}{untrue}")
    return problems


def headline(label, records, log_before, server):
    """One line for the test output: statuses, and what the server's log says it did."""
    statuses = collections.Counter(reply.status for _, reply in records)
    log = server.log_text()[log_before:]
    seen = {name: n for name, (n, _) in log_exceptions(log).items()}
    line = (f"{label}: {len(records)} requests, statuses {dict(sorted(statuses.items()))}, "
            f"5xx {sum(n for s, n in statuses.items() if s >= 500)}, 409 {statuses.get(409, 0)}; "
            f"server log: conflicts {retry_mentions(log)}, exceptions {seen or 'none'}")
    print(line)
    return line


def check(line, sections, server):
    if any(sections.values()):
        pytest.fail(report(line, sections, server), pytrace=False)


# -- filing ----------------------------------------------------------------------------------
def upload_client(k, server, dossiers, tag):
    """One officer filing ``UPLOADS`` distinct PDFs, one after the other, into ``dossiers[k]``;
    returns (archive_no, title, sha256 sent, reply) for each."""
    archive_no = dossiers[k % len(dossiers)]
    sent = []
    for j in range(UPLOADS):
        title = f"{tag}-{k}-{j}"
        data = make_pdf(f"concurrent filing {title}")
        sent.append((archive_no, title, sha256(data), file_pdf(server, archive_no, title, data=data)))
    return sent


def lost_documents(server, uploads):
    """Acknowledged documents whose content is not what was sent, or cannot be read back."""
    problems = []
    for no, title, sent, reply in uploads:
        if reply.status != 201:
            continue
        doc = reply.json()
        reported = doc["files"][0]["sha256"]
        if reported != sent:
            problems.append(f"{title}: 201 reported sha256 {reported[:12]}… for a file of {sent[:12]}…")
        problems += filter(None, [download_problem(server, no, doc["doc_id"], reported, title)])
    return problems


def wrong_counts(server, uploads):
    """Dossiers whose documents are not exactly the acknowledged ones."""
    problems = []
    filed = collections.defaultdict(set)
    for no, title, _, reply in uploads:
        filed[no].update([title] if reply.status == 201 else [])
    for no in sorted({u[0] for u in uploads}):
        listing = server.request("GET", f"/api/households/{no}/documents")
        assert listing.status == 200, f"GET documents of {no}: {listing}"
        present = [d["metadata"]["title"] for d in listing.json()["items"]]
        if len(present) != len(filed[no]) or set(present) != filed[no]:
            problems.append(f"{no}: {len(present)} documents, {len(filed[no])} acknowledged; "
                            f"not acknowledged: {sorted(set(present) - filed[no])[:5]}; "
                            f"missing: {sorted(filed[no] - set(present))[:5]}")
    return problems


@pytest.mark.parametrize("shared", [True, False], ids=["one-dossier", "own-dossiers"])
def test_concurrent_filing(server, shared):
    """8 clients × 50 PDFs at once, into one dossier or each into its own: every upload is
    filed (201) or refused with a JSON 409, and every filed one is there, intact."""
    tag = "shared" if shared else "own"
    first = 100 if shared else 200
    dossiers = [create_household(server, first + k) for k in range(1 if shared else CLIENTS)]
    log_before = len(server.log_text())
    uploads = flatten(run_clients(CLIENTS, upload_client, server, dossiers, tag))
    records = [(title, reply) for _, title, _, reply in uploads]
    line = headline(f"filing into {len(dossiers)} dossier(s)", records, log_before, server)
    check(line, {"5xx answers": server_errors(records),
                 "refusals that are not a JSON 409": untrue_refusals(records, ok=201),
                 "acknowledged documents lost or altered": lost_documents(server, uploads),
                 "dossiers not holding exactly the acknowledged documents": wrong_counts(server, uploads)},
          server)


# -- editing ---------------------------------------------------------------------------------
def edit_body(base, k, j):
    """The full metadata with values no other edit uses, and the comment that names it."""
    return dict(base, notes=f"client {k} edit {j}", income_per_capita=2000 + 100 * k + j,
                comment=f"并发修改 {k}-{j}")


def edit_client(k, server, archive_no, base):
    """One officer saving the household ``EDITS`` times; returns (body sent, reply) each."""
    sent = []
    for j in range(EDITS):
        body = edit_body(base, k, j)
        sent.append((body, server.request("PUT", f"/api/households/{archive_no}", json=body)))
    return sent


def version_problems(server, archive_no, saved):
    """Successful edits that are not exactly one version, and versions no edit made."""
    listing = server.request("GET", f"/api/households/{archive_no}/versions").json()["items"]
    by_number = {v["number"]: v for v in listing}
    problems = []
    if len(listing) != 1 + len(saved):
        problems.append(f"{len(listing)} versions for 1 creation + {len(saved)} successful edits")
    for body, answer in saved:
        version = by_number.get(answer["version"])
        if version is None or version["comment"] != body["comment"]:
            problems.append(f"edit {body['comment']} answered version {answer['version']}, whose "
                            f"comment is {version and version['comment']!r}")
    comments = collections.Counter(v["comment"] for v in listing if v["number"] > 1)
    problems += [f"{c!r} is {n} versions" for c, n in comments.items() if n > 1]
    return problems


def final_metadata_problems(server, archive_no, saved):
    """The dossier's metadata must be its latest version's, which the last 200 wrote."""
    if not saved:
        return ["no edit succeeded"]
    last_body, last_answer = max(saved, key=lambda s: s[1]["version"])
    current = server.request("GET", f"/api/households/{archive_no}?unmask=1").json()
    latest = server.request("GET", f"/api/households/{archive_no}/versions/{current['version']}"
                                   "?unmask=1").json()
    problems = []
    if current["version"] != last_answer["version"]:
        problems.append(f"current version {current['version']}, last acknowledged edit made "
                        f"{last_answer['version']}")
    if current["metadata"] != latest["metadata"]:
        problems.append("the dossier's metadata differs from its latest version's")
    for key in ("notes", "income_per_capita"):
        if current["metadata"].get(key) != last_body[key]:
            problems.append(f"final {key} {current['metadata'].get(key)!r}, last successful edit "
                            f"({last_body['comment']}) saved {last_body[key]!r}")
    return problems


def test_concurrent_edits(server):
    """8 clients × 25 saves of one household: each 200 is exactly one version, each refusal
    a JSON 409, none a 5xx, and the dossier ends as the last successful save left it."""
    base = household_body(300, server)
    archive_no = create_household(server, 300)
    log_before = len(server.log_text())
    edits = flatten(run_clients(CLIENTS, edit_client, server, archive_no, base))
    records = [(body["comment"], reply) for body, reply in edits]
    saved = [(body, reply.json()) for body, reply in edits if reply.status == 200]
    line = headline("editing one dossier", records, log_before, server)
    check(line, {"5xx answers": server_errors(records),
                 "refusals that are not a JSON 409": untrue_refusals(records, ok=200),
                 "successful edits that are not exactly one version": version_problems(
                     server, archive_no, saved),
                 "final metadata": final_metadata_problems(server, archive_no, saved)}, server)
