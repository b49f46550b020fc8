"""Worker processes for CPU-bound batch work (the audit's file reader, the hand-over
package's bound volumes, the intake check of an import): how to start them safely.

A fork is instant, but forking a process whose other threads may hold a lock at that
moment (the web server's waitress and worker threads) can leave the child waiting on it
forever; there a fork server starts them (about two seconds, once per pool). The CLI runs
one thread, so its pools fork.
"""
from __future__ import annotations

import multiprocessing
import threading


def context():
    """The multiprocessing context to start workers with (see the module's docstring)."""
    return multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")


def cores() -> int:
    """Worker processes to use: the cores this process may run on (at least one)."""
    import os
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
