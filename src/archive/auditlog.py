"""The audit log (审计日志): an append-only record of who did what, chained by hash.

Every action is appended: logins, user changes, every change to a dossier (create, edit,
file, restore, procedure step), unmasked views of personal data, exports, credit events
and audit runs. Each entry carries the SHA-256 of the previous entry, so an edited or
removed entry breaks the chain; the log also keeps its head (the last number and hash),
so cutting entries off the end is found too. Nothing here offers to change an entry.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass

from BTrees.LOBTree import LOBTree
from persistent import Persistent

GENESIS = "0" * 64

ACTIONS = {   # how a clerk reads an action; transitions read "办理：<step>"
    "login": ("登录", "Login"),
    "user.add": ("新增用户", "User added"),
    "user.edit": ("修改用户", "User changed"),
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
    "export": ("导出", "Export"),
    "credit.record": ("记录失信行为", "Credit event recorded"),
    "audit.run": ("完整性审计", "Integrity audit"),
    "audit.ack": ("确认审计发现", "Audit finding acknowledged"),
    "lottery": ("摇号", "Lottery"),
    "demo.build": ("生成演示数据", "Demo data built"),
}


def action_title(action, locale="zh") -> str:
    if action.startswith("transition."):
        return ("Step: " if locale == "en" else "办理：") + action.split(".", 1)[1]
    zh, en = ACTIONS.get(action, (action, action))
    return en if locale == "en" else zh


@dataclass(frozen=True)
class LogEntry:
    """One immutable log entry."""
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

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def entry_hash(number, when, actor, action, target, detail, prev_hash) -> str:
    payload = json.dumps([number, when.isoformat(), actor, action, target, detail, prev_hash],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _own_hash(e) -> str:
    return entry_hash(e.number, e.when, e.actor, e.action, e.target, e.detail, e.prev_hash)


class AuditLog(Persistent):
    """Entries by number, each linked to the one before; ``head`` is the last link."""

    head = None     # (number, hash) of the newest entry; None for logs kept before it existed

    def __init__(self):
        self.__name__, self.__parent__ = "log", None
        self.entries = LOBTree()
        self.head = (0, GENESIS)

    def __len__(self):
        return self._last()

    def _last(self) -> int:
        """The newest entry's number: O(log n), where len() of a BTree reads every bucket."""
        try:
            return self.entries.maxKey()
        except ValueError:
            return 0

    def append(self, actor, action, target="", detail="", when=None) -> LogEntry:
        when = when or _dt.datetime.now(_dt.timezone.utc)
        number = self._last() + 1
        prev = self.entries[number - 1].hash if number > 1 else GENESIS
        digest = entry_hash(number, when, actor, action, target, str(detail), prev)
        entry = LogEntry(number, when, actor, action, target, str(detail), prev, digest)
        self.entries[number] = entry
        self.head = (number, digest)
        return entry

    def newest(self, limit=50, action=None, target=None):
        """The latest entries first, optionally of one action and/or about one target."""
        out = []
        number = self._last()
        while number > 0 and len(out) < limit:
            entry = self.entries.get(number)
            number -= 1
            if entry is None or (action is not None and entry.action != action) \
                    or (target is not None and entry.target != target):
                continue
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
        return ChainReport(count, None, "", (expected - 1, prev))


def record_version(log, dossier, version):
    """Log a dossier change as it is recorded (the version is the what, who, when, why)."""
    if version.action == "transition":
        action, detail = f"transition.{version.transition}", f"→ {version.state}"
    else:
        action, detail = f"dossier.{version.action}", version.comment[:200]
    log.append(version.actor, action, dossier.archive_no, f"v{version.number} {detail}".strip(),
               version.when)
