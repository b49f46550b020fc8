"""``archive bind [OUTDIR] --city X --year Y``: bind a city's dossiers of a year, one PDF each.

For the yearly binding (or before a hand-over), every household and unit dossier of the
city opened in that year is bound (archive.custody.volume, drawn in worker processes) and
kept with the dossier (archive.custody.bound: a version ``bound`` each), with a progress
bar; a dossier whose kept volume still shows it is left as bound unless ``--again``.
With OUTDIR each volume is also written to ``OUTDIR/<档号>.pdf``, an export in the audit
log, as a download is.
"""
from __future__ import annotations

import datetime as _dt
import pathlib
import sys

from ..records.container import every_dossier
from ..workers.progress import ProgressBar

ACTOR = "cli"


class BindError(ValueError):
    """A command the administrator must correct (the CLI exits 2 with the message)."""


def register(commands):
    """Add the subcommand to the CLI's parser."""
    bind = commands.add_parser("bind", help="把某市某年度建档的档案逐卷装订为PDF（案卷封面、卷内目录、页号、备考表）")
    bind.add_argument("outdir", metavar="OUTDIR", nargs="?", help="另写入的目录（每卷一个 <档号>.pdf；不给则只保存在档案中）")
    bind.add_argument("--city", required=True, help="辖区代码或名称，如 changzhou 或 常州")
    bind.add_argument("--year", required=True, type=int, help="建档年度（档号中的年度）")
    bind.add_argument("--binder", default="", help="立卷人（默认留空，手写签名）")
    bind.add_argument("--checker", default="", help="检查人（默认留空，手写签名）")
    bind.add_argument("--again", action="store_true", help="已装订且未变动的案卷也重新装订")
    bind.set_defaults(command=bind_command)


def city_code(vocabulary, city) -> str:
    """A jurisdiction by its code or its Chinese name (常州 or 常州市)."""
    for term in vocabulary.terms:
        if city in (term.code, term.zh, term.zh.removesuffix("市"), term.en):
            return term.code
    raise BindError(f"没有辖区“{city}”；可用：{'、'.join(f'{t.code}（{t.zh}）' for t in vocabulary.terms)}")


def dossiers_of(root, city, year) -> list:
    """Every dossier of the city (households, units, employers) opened in ``year``."""
    return [d for d in every_dossier(root)
            if (d.metadata or {}).get("jurisdiction") == city and d.created.year == year]


def bind_command(session, args):
    from .arrangement import compile_rules
    from .bound import bind_many
    registry = session.registry
    city = city_code(registry.vocabularies["jurisdictions"], args.city.strip())
    rules = compile_rules(registry)
    doc_types = {t.code: t.zh for t in registry.vocabularies["document_types"].terms}
    root = session.root
    dossiers = dossiers_of(root, city, args.year)
    if not dossiers:
        print(f"{args.city} {args.year} 年度没有建档的档案，未装订。")
        return 0
    outdir = pathlib.Path(args.outdir) if args.outdir else None
    if outdir is not None:
        outdir.mkdir(parents=True, exist_ok=True)
    items = sum(len(d.active_documents()) for d in dossiers)

    def write(dossier, volume):
        if outdir is None:
            return
        data = volume.read()
        path = outdir / f"{dossier.archive_no}.pdf"
        path.write_bytes(data)
        root.log.append(ACTOR, "export", dossier.archive_no, f"装订案卷 {path}（{len(data)} 字节）")

    bound, kept = bind_many(dossiers, rules, doc_types=doc_types, actor=ACTOR,
                            when=_dt.datetime.now(_dt.timezone.utc), binder=args.binder,
                            checker=args.checker, again=args.again, progress=ProgressBar(sys.stderr),
                            each=write)
    where = f"，写入 {outdir}" if outdir is not None else ""
    print(f"已装订 {bound} 卷（共 {len(dossiers)} 卷 {items} 件文件；{kept} 卷已装订且未变动，沿用）{where}")
    return 0
