"""The intake check (接收检测, DA/T 70-2018 at filing): what was checked of one record as it
entered the archive, and the result, kept with the file revision.

Filing already refuses a record that fails most of these checks (``records.pdf.inspect``
for the file, ``records.filing.validate`` for the metadata): nothing here checks them a
second time. This module *records* them — each check by name, passed or failed, and its
四性 category — so the record carries the proof of its own intake, and an import (where a
failed check must be reported rather than only refused) gets the same list from the same
checks. The only check of its own is the 档号's form, which filing never needs to make
(the archive issues its numbers itself) but an import must.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .formats import inspect
from .frozen import compact
from .pdf import BOMB, InvalidDocument

CATEGORIES = {   # 四性 (DA/T 70-2018)
    "authenticity": ("真实性", "Authenticity"),
    "integrity": ("完整性", "Integrity"),
    "usability": ("可用性", "Usability"),
    "security": ("安全性", "Security"),
}

CHECKS = {   # id: (zh, en, 四性 category), in the order they are shown
    "format": ("格式为可接收的PDF、OFD或图像（JPEG、PNG、TIFF）",
               "An accepted format (PDF, OFD, JPEG, PNG, TIFF)", "usability"),
    "opens": ("文件可以打开", "The file opens", "usability"),
    "not_encrypted": ("未加密、无密码", "Not encrypted", "usability"),
    "pages": ("有页面且页数在上限之内", "Has pages, within the page limit", "integrity"),
    "safe_content": ("无异常内容（压缩炸弹、超大图像、异常页面树）",
                     "No hostile content (decompression bombs, huge images, page-tree loops)", "security"),
    "fixity": ("已计算固化信息（SHA-256、SM3）", "Fixity values computed (SHA-256, SM3)", "authenticity"),
    "metadata_required": ("必填元数据齐全", "Required metadata present", "integrity"),
    "metadata_valid": ("元数据类型、长度、格式、范围符合规则", "Metadata type, length, format and range valid",
                       "authenticity"),
    "archive_no": ("档号符合编号规则", "Archive number well formed", "authenticity"),
}
NOT_REACHED = "未检测（前一项检测未通过）"
FILE_CHECKS = ("format", "opens", "not_encrypted", "pages", "safe_content", "fixity")


@compact
@dataclass(frozen=True)
class Check:
    """One intake check's result: which check, whether it passed, and why not."""
    id: str
    passed: bool
    detail: str = ""

    @property
    def category(self) -> str:
        return CHECKS[self.id][2]

    def title(self, locale="zh") -> str:
        zh, en, _ = CHECKS[self.id]
        return en if locale == "en" else zh

    def category_title(self, locale="zh") -> str:
        zh, en = CATEGORIES[self.category]
        return en if locale == "en" else zh


def _failed_file_check(message: str) -> str:
    """Which check a refusal by ``records.formats.inspect`` was, from its (fixed) message."""
    if "已损坏" in message:
        return "opens"
    if "不是PDF" in message:          # formats.UNKNOWN names the image formats it takes
        return "format"
    if message == BOMB or any(w in message for w in ("压缩炸弹", "XML声明", "页面结构", "像素", "图像")):
        return "safe_content"
    if "加密" in message:
        return "not_encrypted"
    if "页" in message:
        return "pages"
    if "为空" in message or "不是PDF" in message or "大小超过" in message:
        return "format"
    return "opens"


def file_checks(facts=None, refusal: InvalidDocument | None = None) -> tuple:
    """The file's checks: all passed when ``inspect`` returned ``facts``; else the one its
    ``refusal`` names failed and those after it not reached (recorded as failed too)."""
    if refusal is None:
        return tuple(Check(c, True) for c in FILE_CHECKS if c != "fixity") + \
            (Check("fixity", bool(facts and facts.sha256 and facts.sm3)),)
    failed = _failed_file_check(str(refusal))
    order = FILE_CHECKS.index(failed)
    return tuple(Check(c, False, str(refusal)) if c == failed
                 else Check(c, True) if FILE_CHECKS.index(c) < order and c != "fixity"
                 else Check(c, False, NOT_REACHED) for c in FILE_CHECKS)


def check_file(data: bytes, limit=None, max_pages=None, known=None):
    """(facts or None, checks) of a file to import: ``inspect`` run, its refusal recorded;
    ``known``: its (SHA-256, SM3) from the same read, not computed again."""
    try:
        facts = inspect(data, limit, max_pages, known)
    except InvalidDocument as exc:
        return None, file_checks(refusal=exc)
    return facts, file_checks(facts)


def metadata_checks(schema, metadata, problems: dict | None = None) -> tuple:
    """Required fields present (from the schema), and the schema's own verdict ``problems``
    ({path: message} from ``filing.validate``; None or {} when it accepted the metadata)."""
    missing = [spec.label() for spec in schema.fields
               if spec.required and metadata.get(spec.name) in (None, "", [], ())]
    problems = problems or {}
    return (Check("metadata_required", not missing, "、".join(missing)),
            Check("metadata_valid", not problems, "；".join(problems.values())))


def pattern_regex(pattern: str) -> re.Pattern:
    """A 档号 pattern (``{fonds}-HH-{year}-Y-{seq:05d}``) as a regular expression."""
    parts, pos = [], 0
    for m in re.finditer(r"\{(\w+)(?::0?(\d+)d)?\}", pattern):
        parts.append(re.escape(pattern[pos:m.start()]))
        name, width = m.group(1), m.group(2)
        parts.append({"fonds": r"[A-Za-z0-9]+", "kind": r"\w+", "year": r"\d{4}"}.get(
            name, r"\d{%s,}" % width if width else r"\d+"))
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("".join(parts) + r"\Z")


def archive_no_check(archive_no: str, pattern: str) -> Check:
    """The 档号 in the form its kind's rule gives (DA/T 22: no stray characters, the 件号's width)."""
    ok = bool(pattern_regex(pattern).match(archive_no or ""))
    return Check("archive_no", ok, "" if ok else f"档号“{archive_no}”不符合规则“{pattern}”")


def at_filing(facts, schema, metadata, archive_no, pattern) -> tuple:
    """The record of a filing's intake: filing has passed every check but the 档号's, which
    is made here (the archive issued the number, so a failure means a changed pattern)."""
    return file_checks(facts) + metadata_checks(schema, metadata) + (archive_no_check(archive_no, pattern),)


def passed(checks) -> bool:
    return all(c.passed for c in checks)
