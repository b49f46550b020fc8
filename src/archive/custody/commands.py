"""``archive bind OUTDIR --city X --year Y``: bind a city's dossiers of a year, one PDF each.

For the yearly binding (or a hand-over), every household and unit dossier of the city
opened in that year is bound (archive.custody.volume) into ``OUTDIR/<档号>.pdf``, with a
progress bar; each volume written is an export in the audit log, as a download is.
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
    bind.add_argument("outdir", metavar="OUTDIR", help="写入的目录（每卷一个 <档号>.pdf）")
    bind.add_argument("--city", required=True, help="辖区代码或名称，如 changzhou 或 常州")
    bind.add_argument("--year", required=True, type=int, help="建档年度（档号中的年度）")
    bind.add_argument("--binder", default="", help="立卷人（默认留空，手写签名）")
    bind.add_argument("--checker", default="", help="检查人（默认留空，手写签名）")
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
    from .volume import bind_volume
    registry = session.registry
    city = city_code(registry.vocabularies["jurisdictions"], args.city.strip())
    rules = compile_rules(registry)
    doc_types = {t.code: t.zh for t in registry.vocabularies["document_types"].terms}
    root = session.root
    dossiers = dossiers_of(root, city, args.year)
    if not dossiers:
        print(f"{args.city} {args.year} 年度没有建档的档案，未装订。")
        return 0
    outdir = pathlib.Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    today = _dt.date.today()
    progress, items = ProgressBar(sys.stderr), 0
    for done, dossier in enumerate(dossiers, 1):
        data = bind_volume(dossier, rules, doc_types=doc_types, binder=args.binder,
                           checker=args.checker, when=today)
        path = outdir / f"{dossier.archive_no}.pdf"
        path.write_bytes(data)
        root.log.append(ACTOR, "export", dossier.archive_no, f"装订案卷 {path}（{len(data)} 字节）")
        items += len(dossier.active_documents())
        progress(done, len(dossiers))
    print(f"已装订 {len(dossiers)} 卷（{items} 件文件），写入 {outdir}")
    return 0
