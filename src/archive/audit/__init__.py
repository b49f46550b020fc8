"""Integrity audits (完整性审计, 四性检测): rules, runs, reports.

``rules`` holds the checks, ``runner`` walks the archive applying them, ``runs`` keeps
every run with its findings and the auditors' acknowledgements, ``report`` writes a run
as CSV or PDF, and ``worker`` runs audits started from the web after their commit.
"""
from .rules import CATEGORIES, RULES, SEVERITIES, Finding, Rule  # noqa: F401
from .runner import run_audit  # noqa: F401
from .runs import AuditBook, AuditError, AuditRun  # noqa: F401
