"""Writing what a refused request must leave on the record, after its transaction aborted.

pyramid_tm aborts every 4xx answer, which is what keeps a refused request from writing
half of anything. But a refusal is itself a fact of the case (who tried which step, why
it was refused; every attempt at a lottery draw), and the abort would take its record
with it. Answering the refusal with a status that commits (or with pyramid_tm's
``x-tm: commit``) would commit whatever the refused step had already changed before
it was refused (an effect that failed half-way), so that is not an option.

So the refusal is written in a transaction of its own: a finished callback, which Pyramid
runs after the tween chain — after pyramid_tm has aborted — and before the response leaves
the server, opens its own connection, applies the writer to the root, and commits,
retrying on a conflict like pyramid_retry does. The writer only appends to conflict-free
inboxes (the dossier's attempts, the audit log), so it does not create a dossier version
and does not compete with officers changing the dossier. When the 4xx reaches the client
the record of the refusal is on disk. A writer that still fails is logged, never turned
into an error for the clerk: the refusal itself was answered correctly.
"""
from __future__ import annotations

import logging

import transaction
from ZODB.POSException import ConflictError

from ..records import attempts
from ..root import ROOT_KEY

log = logging.getLogger(__name__)
ATTEMPTS = 5


def after_abort(request, writer):
    """Run ``writer(root)`` in a transaction of its own once this request has ended."""
    def write(request):
        db = getattr(request.registry, "_zodb_databases", {}).get("")
        if db is None:
            return
        for attempt in range(ATTEMPTS):
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            try:
                with tm:
                    writer(conn.root()[ROOT_KEY])
                return
            except ConflictError:
                if attempt == ATTEMPTS - 1:
                    log.exception("refusal record lost after %d conflicts", ATTEMPTS)
            except Exception:       # noqa: BLE001 — the clerk already has the right answer
                log.exception("refusal record could not be written")
                return
            finally:
                conn.close()
    request.add_finished_callback(write)


def record_refusal(request, exc):
    """Keep the refused step in the dossier's case history, after this request's abort
    (views/aftermath.py), and in the audit log."""
    if exc.attempt is None or exc.dossier is None:
        return
    kind, no = exc.dossier
    attempt = exc.attempt

    def write(root):
        dossier = root.container(kind).get(no)
        if dossier is not None:
            attempts.record(dossier, attempt)
            root.log.append(attempt.actor, "refused", no,
                            f"{attempt.title}：{'；'.join(attempt.reasons)}"[:500], attempt.when)
    after_abort(request, write)


def record_lottery_attempt(request, exc):
    """Keep a refused draw in the case history of every household of its batch."""
    if exc.attempt is None:
        return
    attempt, numbers = exc.attempt, tuple(exc.households)

    def write(root):
        for no in numbers:
            dossier = root.households.get(no)
            if dossier is not None:
                attempts.record(dossier, attempt)
        root.log.append(attempt.actor, "lottery", exc.lottery_id or "",
                        f"摇号被拒绝：{'；'.join(attempt.reasons)}"[:500], attempt.when)
    after_abort(request, write)
