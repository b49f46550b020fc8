"""The audit log (审计日志): an append-only record of who did what, chained by hash.

Every action is appended: logins, user changes, every change to a dossier (create, edit,
file, restore, procedure step), unmasked views of personal data, exports, credit events
and audit runs. Each entry carries the SHA-256 of the previous entry, so an edited or
removed entry breaks the chain; the log also keeps its head (the last number and hash),
so cutting entries off the end is found too. Nothing here offers to change an entry.

Appending and chaining are two steps, so that concurrent requests do not conflict. A
request appends its entry to the log's inbox (``archive.workers.inbox``: concurrent additions
merge), in its own transaction, so an aborted request leaves no entry and a committed one
always has its entry. The sealer (``seal``: the server's ``LogSealer`` thread a moment after
each commit, every command of the CLI before it commits, and any request that finds more
than a few hundred waiting) takes the waiting entries in the order they were appended,
numbers them and chains them by hash. Only the sealer writes the chain and its head, so
the hot object every write once rewrote is written by one thread. Between the two steps an
entry is visible (``newest``, ``len``) but not yet in the chain; the audit reports entries
left waiting for more than ``STALE_SECONDS`` (a sealer that has stopped).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from BTrees.LOBTree import LOBTree
from persistent import Persistent

from ..workers.background import Worker
from ..workers.inbox import ShardedInbox, crowded

GENESIS = "0" * 64
SEAL_AT = 200          # waiting entries beyond which the appender seals them itself
STALE_SECONDS = 600    # waiting longer than this, an entry is reported by the audit

ACTIONS = {   # how a clerk reads an action; transitions read "办理：<step>"
    "login": ("登录", "Login"),
    "user.add": ("新增用户", "User added"),
    "user.edit": ("修改用户", "User changed"),
    "user.roles": ("分配角色", "Roles assigned"),
    "user.password": ("重置密码", "Password reset"),
    "user.refused": ("用户管理被拒绝", "User change refused"),
    "token.issue": ("签发令牌", "Token issued"),
    "personal.unmask": ("查看未脱敏个人信息", "Unmasked personal data"),
    "dossier.created": ("建档", "Dossier created"),
    "dossier.edited": ("修改档案信息", "Dossier edited"),
    "dossier.filed": ("归档文件", "Document filed"),
    "dossier.refiled": ("替换文件", "File replaced"),
    "dossier.document_edited": ("修改文件信息", "Document edited"),
    "dossier.withdrawn": ("撤出文件", "Document withdrawn"),
    "dossier.restored": ("恢复版本", "Version restored"),
    "dossier.lease": ("租赁变动", "Lease change"),
    "dossier.adopted": ("纳入流程管理", "Brought under the procedure"),
    "dossier.shelved": ("上架/移库", "Volume shelved or moved"),
    "export": ("导出", "Export"),
    "credit.record": ("记录失信行为", "Credit event recorded"),
    "audit.run": ("完整性审计", "Integrity audit"),
    "audit.ack": ("确认审计发现", "Audit finding acknowledged"),
    "lottery": ("摇号", "Lottery"),
    "lottery.announce": ("摇号预告", "Lottery announced"),
    "lottery.redraw": ("重新摇号", "Lottery redraw"),
    "refused": ("办理被拒绝", "Step refused"),
    "demo.build": ("生成演示数据", "Demo data built"),
    "loan.request": ("申请利用", "Use requested"),
    "loan.approve": ("批准利用", "Use approved"),
    "loan.refuse": ("不予利用", "Use refused"),
    "loan.view": ("按借阅单查阅", "Viewed under a loan"),
    "loan.download": ("按借阅单下载复制件", "Copy downloaded under a loan"),
    "loan.lend": ("借出纸质档案", "Paper volume lent"),
    "loan.return": ("归还纸质档案", "Paper volume returned"),
    "store.pack": ("压缩数据库历史", "Database history packed"),
}


class LogEntries(LOBTree):
    """The sealed entries by number, in small buckets: a seal rewrites the newest bucket,
    and with a bucket of at most 8 entries that is about 2 KB, not the 9 KB of a
    60-entry bucket (bench/growth.py), on every commit of a quiet server where each seal
    holds one entry. Internal nodes are kept small for the same reason."""
    max_leaf_size = 8
    max_internal_size = 32


def action_title(action, locale="zh") -> str:
    if action.startswith("transition."):
        return ("Step: " if locale == "en" else "办理：") + action.split(".", 1)[1]
    zh, en = ACTIONS.get(action, (action, action))
    return en if locale == "en" else zh


@dataclass(frozen=True)
class LogEntry:
    """One immutable log entry; ``number`` is None (and the hashes empty) while it waits
    to be sealed into the chain."""
    number: int
    when: _dt.datetime
    actor: str
    action: str
    target: str
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """What ``AuditLog.check`` found: how many entries hold, and where the chain breaks."""
    entries: int
    broken_at: int | None = None
    reason: str = ""
    head: tuple = (0, GENESIS)
    waiting: int = 0            # entries appended but not yet sealed
    oldest_wait: float = 0.0    # seconds the oldest of them has waited

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def entry_hash(number, when, actor, action, target, detail, prev_hash) -> str:
    payload = json.dumps([number, when.isoformat(), actor, action, target, detail, prev_hash],
                         ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: a lone surrogate that reached the log must not make it unsealable;
    # every other string encodes exactly as plain UTF-8, so stored hashes still hold.
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _own_hash(e) -> str:
    return entry_hash(e.number, e.when, e.actor, e.action, e.target, e.detail, e.prev_hash)


class AuditLog(Persistent):
    """Entries by number, each linked to the one before; ``head`` is the last link; new
    entries wait in ``_inbox`` until ``seal`` chains them."""

    head = None     # (number, hash) of the newest entry; None for logs kept before it existed
    _inbox = None   # logs kept before the inbox get one from evolve (generation 9; sharded: 10)

    def __init__(self):
        self.__name__, self.__parent__ = "log", None
        self.entries = LogEntries()
        self.head = (0, GENESIS)
        self._inbox = ShardedInbox()

    def __len__(self):
        return self._last() + self.waiting()

    def _last(self) -> int:
        """The newest entry's number: O(log n), where len() of a BTree reads every bucket."""
        try:
            return self.entries.maxKey()
        except ValueError:
            return 0

    def waiting(self) -> int:
        """How many appended entries wait to be sealed."""
        return len(self._inbox) if self._inbox is not None else 0

    def append(self, actor, action, target="", detail="", when=None) -> LogEntry:
        """Record an action; it is chained by the next ``seal`` (see the module docstring)."""
        when = when or _dt.datetime.now(_dt.timezone.utc)
        record = (when, actor, action, target, str(detail))
        if self._inbox is None:     # a log from before generation 9, not yet evolved
            return self._chain([record])[-1]
        if crowded(self._inbox, self._inbox.put((time.time_ns(), secrets.token_hex(4)), record), SEAL_AT):
            self.seal()
        return LogEntry(None, *record, "", "")

    def seal(self) -> int:
        """Number and chain every waiting entry, in the order they were appended."""
        if self._inbox is None or not len(self._inbox):
            return 0
        return len(self._chain([record for _, record in self._inbox.drain()]))

    def _chain(self, records) -> list:
        number = self._last()
        prev = self.entries[number].hash if number else GENESIS
        out = []
        for when, actor, action, target, detail in records:
            number += 1
            digest = entry_hash(number, when, actor, action, target, detail, prev)
            entry = LogEntry(number, when, actor, action, target, detail, prev, digest)
            self.entries[number] = entry
            out.append(entry)
            prev = digest
        self.head = (number, prev)
        return out

    def _waiting_entries(self):
        """The waiting entries as unnumbered LogEntry values, oldest first."""
        if self._inbox is None:
            return []
        return [LogEntry(None, *record, "", "") for _, record in self._inbox.items()]

    def newest(self, limit=50, action=None, target=None, actors=None):
        """The latest entries first (those waiting to be sealed before them), optionally
        of one action and/or about one target and/or by one of ``actors``."""
        def wanted(entry):
            return (action is None or entry.action == action) and \
                (target is None or entry.target == target) and \
                (actors is None or entry.actor in actors)
        out = [e for e in reversed(self._waiting_entries()) if wanted(e)][:limit]
        number = self._last()
        while number > 0 and len(out) < limit:
            entry = self.entries.get(number)
            number -= 1
            if entry is not None and wanted(entry):
                out.append(entry)
        return out

    def verify(self) -> int | None:
        """The number of the first entry whose chain is broken, or None when all hold."""
        return self.check().broken_at

    def check(self, progress=None) -> ChainReport:
        """Walk the chain from the first entry: each entry's own hash, its link to the one
        before, unbroken numbering, and the recorded head at the end."""
        prev, expected, count = GENESIS, 1, 0
        total = self._last()
        for number, e in self.entries.items():
            count += 1
            if progress is not None and count % 5000 == 0:
                progress(count, total)
            if number != expected:
                return ChainReport(count, expected, f"缺少第 {expected} 条（已被删除）", self.head)
            if e.number != number or e.hash != _own_hash(e):
                return ChainReport(count, number, f"第 {number} 条的内容与其哈希不符（已被改动）", self.head)
            if e.prev_hash != prev:
                return ChainReport(count, number,
                                   f"第 {number} 条记录的前一条哈希与第 {number - 1} 条不符（前一条已被改动）",
                                   self.head)
            prev, expected = e.hash, expected + 1
        if progress is not None:
            progress(total, total)
        head = self.head
        if head is not None and tuple(head) != (expected - 1, prev):
            return ChainReport(count, expected - 1 if head[0] < expected else expected,
                               f"日志头记录到第 {head[0]} 条，实际只到第 {expected - 1} 条"
                               if head[0] >= expected else
                               f"日志头记录的第 {head[0]} 条与实际末条不符", head)
        return ChainReport(count, None, "", (expected - 1, prev), *self._wait())

    def _wait(self):
        """(how many entries wait to be sealed, seconds the oldest has waited)."""
        if self._inbox is None or not len(self._inbox):
            return 0, 0.0
        (appended_ns, _), _record = self._inbox.items()[0]
        return len(self._inbox), max(0.0, (time.time_ns() - appended_ns) / 1e9)


def record_version(log, dossier, version):
    """Log a dossier change as it is recorded (the version is the what, who, when, why)."""
    if version.action == "transition":
        action, detail = f"transition.{version.transition}", f"→ {version.state}"
    else:
        action, detail = f"dossier.{version.action}", version.comment[:200]
    log.append(version.actor, action, dossier.archive_no, f"v{version.number} {detail}".strip(),
               version.when)


class LogSealer(Worker):
    """Seals waiting log entries in the web server, shortly after the commits that made them."""

    label = "archive-log-sealer"

    def __init__(self, db, interval=0.5):
        super().__init__(db, interval)

    def work(self, root, commit) -> int:
        sealed = root.log.seal()
        if sealed:
            commit()
        return 0   # one seal a pass; entries appended meanwhile wait for the next
