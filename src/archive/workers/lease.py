"""Which process does the cluster's after-commit work (工作进程租约), and its heartbeat.

With several web servers on one ZEO or RelStorage database, each queue item (a text layer,
a scan to read, a dossier to index, an audit, log entries to seal) must be done once per
cluster, not once per server. The queues are in ZODB, so two processes could each take the
same item and both commit (the queues merge removals on conflict). Instead one process
holds the **lease**: a persistent object naming its owner, taken in a transaction (two
processes taking it at once conflict, one wins). Every worker transaction reads the lease
with ``readCurrent`` before it commits, so a process that lost the lease meanwhile cannot
commit work another process now owns: ZODB refuses the commit and the item stays queued.

The owner proves it is alive with a **heartbeat**, a second small object only the owner
writes every few seconds: no request ever writes it, so it conflicts with nothing, and the
lease itself changes only when the owner changes (worker transactions that read it are
not disturbed by the heartbeat). A heartbeat older than ``STALE`` seconds, or an owner
process on this host that no longer exists (SIGKILL, restart), frees the lease.
"""
from __future__ import annotations

import os
import secrets
import socket
import time

from persistent import Persistent

from .background import LeaseLost

HEARTBEAT = 2.0     # seconds between heartbeats of the lease's owner on a shared store
ALONE = 60.0        # ... on the embedded FileStorage, which no other process can open: a
                    # heartbeat there only feeds /healthz, and each one is a transaction in Data.fs
STALE = 20.0        # a heartbeat this old (or three intervals): the owner is gone


class WorkerLease(Persistent):
    """The owner of the cluster's after-commit work; rewritten only when the owner changes."""

    def __init__(self):
        self.owner, self.host, self.pid, self.since = "", "", 0, 0.0


class Heartbeat(Persistent):
    """The lease owner's last sign of life (epoch seconds); written by the owner alone."""

    every = HEARTBEAT   # the owner's interval between beats

    def __init__(self):
        self.owner, self.at, self.started = "", 0.0, 0.0


def stale_after(beat) -> float:
    """Seconds after its last beat an owner counts as gone."""
    return max(STALE, 3 * beat.every)


def ensure(root):
    """What every server of a cluster shares beyond the records (a new root, evolve): the
    worker lease and heartbeat, recent failed logins, and the secret that signs session
    cookies when the ini gives none (so a session made by one server is good on another)."""
    from ..access.throttle import LoginFailures
    if getattr(root, "worker_lease", None) is None:
        root.worker_lease = WorkerLease()
    if getattr(root, "worker_heartbeat", None) is None:
        root.worker_heartbeat = Heartbeat()
    if getattr(root, "login_failures", None) is None:
        root.login_failures = LoginFailures()
    if not getattr(root, "session_secret", None):
        root.session_secret = secrets.token_hex(32)


class Claim:
    """This process's claim on the lease: its identity, and the checks its workers make."""

    def __init__(self, host=None, pid=None, clock=time.time, every=HEARTBEAT):
        self.every = every
        self.host = host or socket.gethostname()
        self.pid = pid or os.getpid()
        self.me = f"{self.host}:{self.pid}:{secrets.token_hex(4)}"
        self.clock = clock
        self.started = clock()

    def holds(self, root) -> bool:
        """Whether, as this transaction sees it, this process owns the work."""
        lease = getattr(root, "worker_lease", None)
        return lease is not None and lease.owner == self.me

    def check(self, root):
        """Before a worker commits: the lease is still ours and must be unchanged at the
        commit (``readCurrent``), or the commit fails and the work stays queued."""
        if not self.holds(root):
            raise LeaseLost(self.me)
        root._p_jar.readCurrent(root.worker_lease)

    def renew(self, root) -> bool:
        """In a transaction: beat if we own the lease, take it if its owner is gone.
        Returns whether we own it (the caller commits)."""
        ensure(root)
        lease, beat, now = root.worker_lease, root.worker_heartbeat, self.clock()
        if lease.owner != self.me:
            if lease.owner and not self._gone(lease, beat, now):
                return False
            lease.owner, lease.host, lease.pid, lease.since = self.me, self.host, self.pid, now
            beat.started = now
        beat.owner, beat.at = self.me, now
        if beat.every != self.every:
            beat.every = self.every
        return True

    def release(self, root):
        """On a clean stop: free the lease at once, so a successor need not wait."""
        lease = getattr(root, "worker_lease", None)
        if lease is not None and lease.owner == self.me:
            lease.owner = ""
            root.worker_heartbeat.at = 0.0

    def _gone(self, lease, beat, now) -> bool:
        if beat.owner != lease.owner or now - beat.at > stale_after(beat):
            return True
        return lease.host == self.host and lease.pid != self.pid and not _alive(lease.pid)


def _alive(pid) -> bool:
    """Whether a process with this id exists on this host (a killed owner's does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(root, now=None) -> dict:
    """The worker's side of ``/healthz``: who owns the work and its last heartbeat."""
    now = time.time() if now is None else now
    lease, beat = getattr(root, "worker_lease", None), getattr(root, "worker_heartbeat", None)
    if lease is None or not lease.owner or beat is None or not beat.at:
        return {"owner": None, "heartbeat": None, "heartbeat_age": None, "alive": False}
    age = max(0.0, now - beat.at)
    return {"owner": lease.owner, "heartbeat": _iso(beat.at), "heartbeat_age": round(age, 1),
            "alive": age <= stale_after(beat)}


def _iso(epoch) -> str:
    import datetime as _dt
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).isoformat(timespec="seconds")
