"""``archive audit`` and ``archive verify-log``: the audits from the command line (cron).

``audit`` runs every rule (or those named), shows a progress bar, prints a summary table
per rule with the change against the previous run, can write the report as CSV or PDF,
and exits 1 when critical findings exist, so a nightly cron job can alert on it.
``verify-log`` walks the audit log's hash chain and says where it breaks (exit 1).
"""
from __future__ import annotations

import datetime as _dt
import pathlib
import sys
import zoneinfo

from .rules import CATEGORIES, RULES, SEVERITIES, title_of
from ..workers.progress import ProgressBar, columns, pad

ACTOR = "cli"
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")


def register(commands):
    """Add the subcommands to the CLI's parser."""
    audit = commands.add_parser("audit", help="完整性审计（四性检测）；有严重问题时退出码为 1")
    audit.add_argument("--rule", action="append", dest="rules", metavar="RULE",
                       help=f"只运行这些规则，可重复：{', '.join(RULES)}")
    audit.add_argument("--csv", metavar="FILE", help="把审计报告写成 CSV 文件")
    audit.add_argument("--pdf", metavar="FILE", help="把审计报告写成 PDF 文件")
    audit.add_argument("--list", action="store_true", help="只列出审计规则")
    audit.set_defaults(command=audit_command)
    verify = commands.add_parser("verify-log", help="校验审计日志的哈希链；断开时指出位置，退出码为 1")
    verify.set_defaults(command=verify_log)


def audit_command(session, args):
    from .report import as_csv, as_pdf
    from .runner import run_audit
    from ..records.container import containers
    if args.list:
        for rule in RULES.values():
            print(f"{rule.id:20} {title_of(SEVERITIES, rule.severity)}  {title_of(CATEGORIES, rule.category)}  "
                  f"{rule.title()}：{rule.description()}")
        return 0
    root = session.root
    procedure = session.procedure
    run = root.audits.new_run(ACTOR, _dt.datetime.now(_dt.timezone.utc), "cli", args.rules)
    print(f"第 {run.run_id} 次完整性审计：{len(run.rules)} 条规则，"
          f"{sum(len(c) for c in containers(root))} 份档案", file=sys.stderr)
    run_audit(root, run, procedure, session.registry, search_index=session.search_index,
              progress=ProgressBar(sys.stderr))
    session.commit()
    _summary(root.audits, run)
    local = (lambda when: when.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") if when else "")
    for path, make in ((args.csv, lambda: as_csv(root.audits, run)),
                       (args.pdf, lambda: as_pdf(root.audits, run, local))):
        if path:
            pathlib.Path(path).write_bytes(make())
            root.log.append(ACTOR, "export", f"audit/{run.run_id}", path)
            print(f"报告已写入 {path}")
    return 1 if run.critical else 0


def _summary(book, run):
    comparison = book.compare(run)
    new = {}
    for f in comparison.new:
        new[f.rule] = new.get(f.rule, 0) + 1
    resolved = {}
    for f in comparison.resolved:
        resolved[f.rule] = resolved.get(f.rule, 0) + 1
    rows = [("规则", "四性类别", "严重程度", "发现", "新增", "已解决")]
    for rule_id, n in run.by_rule().items():
        rule = RULES[rule_id]
        rows.append((rule.title(), title_of(CATEGORIES, rule.category), title_of(SEVERITIES, rule.severity),
                     str(n), str(new.get(rule_id, 0)), str(resolved.get(rule_id, 0))))
    widths = [max(columns(r[i]) for r in rows) + 2 for i in range(len(rows[0]))]
    for row in rows:
        print("".join(pad(cell, w) for cell, w in zip(row, widths)).rstrip())
    c = run.counts
    severity = run.by_severity()
    print(f"检查档案 {c['dossiers']} 份、存储文件 {c['files']} 个（{c['bytes'] / 1048576:.1f} MB）、"
          f"历史版本 {c['versions']} 个，用时 {c['seconds']} 秒；发现 {len(run.findings)} 条："
          + "，".join(f"{title_of(SEVERITIES, s)} {n}" for s, n in severity.items())
          + (f"（对比第 {comparison.previous} 次）" if comparison.previous else ""))
    for f in run.findings:
        if f.severity == "critical":
            print(f"  严重｜{RULES[f.rule].title()}｜{f.dossier or '—'}｜{f.message}")


def verify_log(session, args):
    report = session.root.log.check(progress=ProgressBar(sys.stderr))
    if report.ok:
        number, digest = report.head
        print(f"审计日志完整：共 {report.entries} 条，哈希链无断开。末条第 {number} 条，哈希 {digest}"
              + (f"；另有 {report.waiting} 条等待封存" if report.waiting else ""))
        return 0
    print(f"审计日志哈希链断开：{report.reason}（第 {report.broken_at} 条）。"
          f"此前 {max(report.broken_at - 1, 0)} 条完好。")
    return 1
