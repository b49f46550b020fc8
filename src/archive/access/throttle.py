"""Login throttling (登录限制): too many failed logins for one name lock it for a while.

The failures are kept in ZODB so that every web server of a cluster counts the same ones.
"""
from __future__ import annotations

import secrets
import time

from ..workers.inbox import Inbox


class LoginFailures(Inbox):
    """Failed logins of the last window, kept in ZODB so every web server sees them (登录失败记录).

    Keys are (login, time in ns, random), values the failure's epoch second: two servers
    recording failures at the same instant merge instead of conflicting (archive.workers.inbox).
    """

    def failures(self, login, since) -> int:
        return sum(1 for (name, *_), when in self._items.items() if name == login and when >= since)

    def add(self, login, when):
        self.put((login, time.time_ns(), secrets.token_hex(4)), when)

    def forget(self, login=None, before=None):
        """Drop one login's failures, or every failure older than ``before``."""
        for key, when in list(self._items.items()):
            if (login is not None and key[0] == login) or (before is not None and when < before):
                self.pop(key)


class LoginThrottle:
    """Refuse further attempts after too many failures for one login within a window.

    Kept in the database (``root.login_failures``), not per process: with several web servers
    a guesser would otherwise get five tries per server. A failed login answers 401, which
    never commits the request's transaction, so the throttle writes in a short transaction
    of its own; failures merge on conflict, so concurrent attempts cost no retries.
    """

    def __init__(self, db, failures=5, window_seconds=900, clock=time.time):
        self.db, self.failures, self.window, self.clock = db, failures, window_seconds, clock

    def _book(self, conn):
        root = conn.root().get("archive")      # archive.root.ROOT_KEY (root imports this module)
        book = getattr(root, "login_failures", None)
        if book is None:
            raise LookupError("the archive has no login_failures (archive evolve)")
        return book

    def _run(self, change):
        """``change(book)`` in its own transaction, retried when ZODB asks to."""
        import transaction
        from ZODB.POSException import ConflictError
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            for attempt in range(5):
                try:
                    with tm:
                        return change(self._book(conn))
                except ConflictError:
                    if attempt == 4:
                        raise
        finally:
            conn.close()

    def blocked(self, login) -> bool:
        key, since = (login or "").lower(), self.clock() - self.window
        return self._run(lambda book: book.failures(key, since) >= self.failures)

    def failed(self, login):
        now = self.clock()

        def record(book):
            book.forget(before=now - self.window)     # keeps the record a window long
            book.add((login or "").lower(), now)
        self._run(record)

    def succeeded(self, login):
        key = (login or "").lower()

        def clear(book):
            if book.failures(key, 0):
                book.forget(login=key)
        self._run(clear)
