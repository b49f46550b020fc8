"""``archive backup``, ``archive restore`` and ``archive pack`` on the command line.

Backup and restore work on the store's files or database below ZODB, so they do not open
the store as the other commands do: a backup runs beside the web server, and a restore
refuses a store that anything holds open. Pack opens it like every other command.
"""
from __future__ import annotations

import sys

from ..workers.progress import ProgressBar
from .stores import PreservationError

ACTOR = "cli"


def register(commands):
    """Add the subcommands to the CLI's parser."""
    backup = commands.add_parser("backup", help="备份数据库和文件到目录；同一目录再次备份为增量备份")
    backup.add_argument("directory", metavar="DIR")
    backup.add_argument("--restart", action="store_true",
                        help="重新开始备份链：全量备份完成后删除此前的备份点（销毁并打包后，旧备份仍含被销毁的文件）")
    backup.set_defaults(command=backup_command, without_store=True)
    restore = commands.add_parser("restore", help="从备份目录恢复数据库和文件（目标须为空，或加 --force）")
    restore.add_argument("directory", metavar="DIR")
    restore.add_argument("--at", metavar="YYYY-MM-DD-HH-MM-SS",
                         help="恢复到这一时刻（UTC）或之前最近的备份点（默认最新）")
    restore.add_argument("--force", action="store_true", help="目标数据库不为空时也恢复（原有文件改名保留）")
    restore.add_argument("--list", action="store_true", help="只列出备份点")
    restore.set_defaults(command=restore_command, without_store=True)
    pack = commands.add_parser("pack", help="压缩数据库：删除 N 天前的对象历史（档案版本、文件和日志全部保留）")
    pack.add_argument("--days", type=float, default=None, metavar="N",
                      help="保留最近 N 天的对象历史（默认 archive.pack_days，未设置为 0）")
    pack.set_defaults(command=pack_command)


def backup_command(settings, args):
    """``backup DIR``: a new backup point; the first in DIR is full, later ones incremental.
    ``--restart``: a full one, then the earlier points removed (``backup.restart``)."""
    from .backup import backup, restart
    run = restart if args.restart else backup
    try:
        report = run(settings["zodbconn.uri"], args.directory, progress=ProgressBar(sys.stderr))
    except PreservationError as exc:
        raise ValueError(str(exc)) from None
    if args.restart:
        say_point(report.backup)
        print(say_restart(report))
    else:
        say_point(report)


def say_restart(report) -> str:
    """What starting a chain over removed, as the officer reads it."""
    return (f"已删除此前的备份点 {len(report.points_removed)} 个"
            f"（{'、'.join(report.points_removed) or '无'}）和只属于它们的文件（blob）{report.blobs_removed} 个。")


def say_point(report):
    """The point a backup made, as the officer reads it."""
    kind = {"full": "全量备份", "incremental": "增量备份", "pg_dump": "数据库转储（pg_dump）"}[report.kind]
    print(f"备份点 {report.point}（UTC）：{kind}，{report.bytes / 2**20:.1f} MiB"
          + (f"，新复制文件 {report.blobs} 个" if report.kind != "pg_dump" else "") + "。")


def restore_command(settings, args):
    """``restore DIR``: the newest point (or ``--at``) put back into an empty store."""
    from .backup import points
    from .restore import restore
    if args.list:
        for stamp, kind in points(args.directory):
            print(f"{stamp}  {kind}")
        return 0
    try:
        report = restore(settings["zodbconn.uri"], args.directory, at=args.at, force=args.force,
                         progress=ProgressBar(sys.stderr))
    except PreservationError as exc:
        raise ValueError(str(exc)) from None
    print(f"已恢复到备份点 {report.point}（UTC）。请运行 archive reindex 重建全文检索索引，"
          "并用 archive verify-log 和 archive audit 核对。")


def pack_command(session, args):
    """``pack [--days N]``: object history older than N days dropped; the archive's own
    history (versions, file revisions, log entries) is current data and stays."""
    from .pack import pack, record, settings_days
    days = args.days if args.days is not None else settings_days(session.settings)
    if days < 0:
        raise ValueError("--days 不能为负数")
    print(f"压缩数据库：删除 {days:g} 天前的对象历史……", file=sys.stderr)
    root = session.root
    session.commit()                         # what the command sealed, before the pack reads
    report = pack(session.db, days)
    session.tm.begin()
    record(root, report, ACTOR)
    if report.size_before is not None:
        print(f"已压缩：Data.fs 从 {report.size_before / 2**20:.1f} MiB 减到 {report.size_after / 2**20:.1f} MiB。")
    else:
        print("已压缩。")
