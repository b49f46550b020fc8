"""``archive export OUT --bag`` and ``archive import BAG``: hand-over packages from the
command line, with a progress bar; a refused import prints its report and exits 1."""
from __future__ import annotations

import datetime as _dt
import sys

from ..workers.progress import ProgressBar

ACTOR = "cli"
OFFICE = "公共租赁住房档案室"


def register(commands):
    """Add the subcommands to the CLI's parser."""
    export = commands.add_parser("export", help="导出移交包（BagIt，含 SHA-256 与 SM3 清单、移交清册）")
    export.add_argument("out", metavar="OUT", help="移交包目录（新建，须不存在或为空）")
    export.add_argument("--bag", action="store_true", required=True, help="写成 BagIt 移交包（RFC 8493）")
    export.add_argument("--dossier", action="append", default=[], metavar="档号", help="移交这份档案，可重复")
    export.add_argument("--city", metavar="CODE", help="移交这个城市（辖区代码，如 changzhou）的档案")
    export.add_argument("--year", type=int, metavar="YYYY", help="只移交这一年建档的档案")
    export.add_argument("--volumes", choices=("draw", "stored"), default="draw",
                        help="案卷：已装订且未变动的用保存的一份；其余 draw（默认）现在装订，stored 不装订并在 bag-info 中列为未装订")
    export.add_argument("--office", default=None, help=f"移交单位（默认 archive.office 或“{OFFICE}”）")
    export.set_defaults(command=export_command)
    receive = commands.add_parser("import", help="接收移交包：先校验并逐件接收检测，不合格则全部拒收")
    receive.add_argument("bag", metavar="BAG", help="移交包目录")
    receive.add_argument("--csv", metavar="FILE", help="把四性检测报告写成 CSV 文件")
    receive.add_argument("--pdf", metavar="FILE", help="把四性检测报告写成 PDF 文件")
    receive.set_defaults(command=import_command)


def export_command(session, args):
    from .bag import ExportError, export_bag, select
    if not args.dossier and not args.city and not args.year:
        raise ExportError("请用 --dossier 指定档号，或用 --city / --year 指定范围")
    root = session.root
    dossiers = select(root, args.dossier, args.city, args.year)
    office = args.office or session.settings.get("archive.office") or OFFICE
    print(f"移交 {len(dossiers)} 份档案 → {args.out}", file=sys.stderr)
    summary = export_bag(root, dossiers, args.out, session.registry, office=office, actor=ACTOR,
                         procedure=session.procedure, progress=ProgressBar(sys.stderr),
                         volumes=args.volumes)
    for dossier in dossiers:
        root.log.append(ACTOR, "exchange.export", dossier.archive_no, f"移交包 {args.out}")
    print(f"已写入移交包 {summary.path}：{summary.dossiers} 份档案，{summary.documents} 件文件，"
          f"{summary.files} 个文件版本，载荷 {summary.payload_files} 个文件 {summary.payload_bytes:,} 字节。")
    print(f"案卷：已装订保存的 {summary.volumes_stored} 卷，移交时装订的 {summary.volumes_drawn} 卷"
          + (f"，未装订 {len(summary.unbound)} 卷" if summary.unbound else "") + "。")


def import_command(session, args):
    import pathlib

    from .lists import intake_csv, intake_pdf
    from .receive import ImportRefused, receive_bag
    root = session.root
    print(f"校验并接收移交包 {args.bag}", file=sys.stderr)
    status = 0
    try:
        report = receive_bag(root, args.bag, session.registry, actor=ACTOR, patterns=session.patterns,
                             when=_dt.datetime.now(_dt.timezone.utc), progress=ProgressBar(sys.stderr))
        print(f"已接收 {report.dossiers} 份档案、{report.files} 个文件版本（第 {report.number} 次接收检测，全部通过）。")
    except ImportRefused as refused:
        report, status = refused.report, 1
        print(f"拒收：{refused}", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
        for result in report.failed[:20]:
            for check in result.checks:
                if not check.passed:
                    print(f"  {result.archive_no} {result.doc_id} {result.file_no or ''} "
                          f"【{check.category_title()}】{check.title()}：{check.detail}", file=sys.stderr)
        print("未接收任何档案。", file=sys.stderr)
    root.log.append(ACTOR, "exchange.receipt", f"receipt/{report.number}",
                    "接收" if report.accepted else f"拒收：{report.refusal[:150]}")
    for path, make in ((args.csv, lambda: intake_csv(report)), (args.pdf, lambda: intake_pdf(report))):
        if path:
            pathlib.Path(path).write_bytes(make())
            print(f"四性检测报告已写入 {path}")
    return status
