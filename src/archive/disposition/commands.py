"""``archive due`` and ``archive purge``: the disposition worklist on the command line, and
the pack that makes a destruction unrecoverable when the web server could not run it."""
from __future__ import annotations

import datetime as _dt
import sys

from ..preservation.commands import say_restart
from ..preservation.stores import PreservationError
from ..workers.progress import ProgressBar


def register(commands):
    """Add the subcommands to the CLI's parser."""
    due = commands.add_parser("due", help="列出到期待鉴定的档案（处置日期已到）")
    due.add_argument("--date", default="", help="以该日期为准（YYYY-MM-DD，默认今天）")
    due.set_defaults(command=due_command)
    purge = commands.add_parser("purge", help="销毁后：重写已销毁档案的检索条目、压缩索引、打包数据库（不可恢复）")
    purge.add_argument("--backups", action="append", default=[], metavar="DIR",
                       help="打包后重新开始该备份目录的备份链，删除销毁前的备份点（可多次给出；默认 archive.backup_dir）")
    purge.set_defaults(command=purge_command)


def due_command(session, args):
    from .book import book_of, dossier_by_key
    try:
        today = _dt.date.fromisoformat(args.date) if args.date else _dt.date.today()
    except ValueError:
        raise ValueError(f"日期“{args.date}”应为 YYYY-MM-DD") from None
    book = book_of(session.root)
    rows = list(book.due(today))
    for day, key in rows:
        dossier = dossier_by_key(session.root, key)
        print(f"{day:%Y-%m-%d}  {key[1]}  {dossier.title if dossier else ''}")
    print(f"共 {len(rows)} 份档案到期待鉴定（截至 {today:%Y-%m-%d}）")
    return 0


def purge_command(session, args):
    from ..search.index import drain
    from .book import book_of
    from .purge import backup_dirs, compact_index, pack_store, restart_backups
    root = session.root
    progress = ProgressBar(sys.stderr)
    stubs = [k for k, why in book_of(root).closed.items() if why == "destroyed"]
    drain(root, session.registry, session.search_index, progress=progress)
    session.commit()
    compact_index(session.search_index)
    removed = pack_store(session.db)
    print(f"已压缩检索索引并打包数据库（{len(stubs)} 份已销毁档案）；已删除：{', '.join(removed) or '无'}")
    directories = args.backups or backup_dirs(session.settings)
    if directories:
        try:
            restarted = restart_backups(session.db, session.settings["zodbconn.uri"], directories, actor="cli")
        except PreservationError as exc:
            raise ValueError(f"备份目录重建失败：{exc}") from None
        for directory, found in zip(directories, restarted):
            print(f"{directory}：新的全量备份点 {found.backup.point}（UTC）。{say_restart(found)}")
    else:
        print("提示：销毁前的备份仍含被销毁的文件；请用 --backups DIR（或设置 archive.backup_dir）重建备份链。")
    return 0
