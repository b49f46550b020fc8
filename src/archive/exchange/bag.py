"""The hand-over package (移交包) as a BagIt bag (RFC 8493): what leaves the archive in it,
and how its files are named and its manifests written.

Layout (README, "Hand-over packages, SM3 and the intake check")::

    bagit.txt  bag-info.txt  manifest-sha256.txt  manifest-sm3.txt
    tagmanifest-sha256.txt  tagmanifest-sm3.txt  移交清册.pdf
    data/<档号>/dossier.json       metadata, documents, every file revision and its intake check
    data/<档号>/versions.json      every version as recorded
    data/<档号>/history.json       the case history (案件历程), for reading
    data/<档号>/volume.pdf         the bound volume
    data/<档号>/files/<档号>-<件号>.v<n>.pdf            each file revision
    data/<档号>/files/<档号>-<件号>.v<n>.current.pdf    the revision the dossier shows

Each payload file is hashed as it is written (SHA-256 and SM3 over the same bytes), so
the bag is read once, not again to make its manifests. The ``bagit`` library (1.9) knows
only the algorithms hashlib guarantees, which SM3 is not: ``manifest-sm3.txt`` is written
here in the same format and listed in the tag manifests, so ``python -m bagit --validate``
checks everything it knows and the SM3 manifest's own integrity.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import pathlib
from dataclasses import dataclass, field

import bagit

from ..custody.arrangement import item_no
from ..records.container import every_dossier, find_dossier
from ..records.formats import EXTENSIONS
from ..records.history import timeline
from . import codec
from .lists import transfer_list_pdf

TRANSFER_LIST = "移交清册.pdf"
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says why, in Chinese."""


@dataclass
class Writer:
    """Payload files written into a bag, each hashed (SHA-256 and SM3) as it is written."""
    base: pathlib.Path
    lines: list = field(default_factory=list)      # (path in bag, sha256, sm3)
    bytes: int = 0

    def write(self, relative: str, data: bytes):
        path = self.base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        self.lines.append((relative, hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()))
        self.bytes += len(data)

    def write_json(self, relative: str, value):
        # one line per file: json's C encoder (an ``indent`` makes it the pure-Python one,
        # ten times slower on a dossier's versions); ``python -m json.tool`` prints it indented
        self.write(relative, json.dumps(value, ensure_ascii=False).encode("utf-8"))


@dataclass(frozen=True)
class Summary:
    """What a bag holds (bag-info.txt and the 移交清册 say the same)."""
    path: pathlib.Path
    dossiers: int
    documents: int
    files: int
    payload_files: int
    payload_bytes: int


def select(root, archive_nos=(), city=None, year=None) -> list:
    """The dossiers to hand over: by 档号, or every dossier of a city (jurisdiction code)
    opened in a year; an unknown 档号 or an empty choice is refused, naming it."""
    chosen = []
    for number in archive_nos:
        dossier = find_dossier(root, number)
        if dossier is None:
            raise ExportError(f"档号 {number} 不存在")
        chosen.append(dossier)
    if city or year:
        for dossier in every_dossier(root):
            if city and dossier.metadata.get("jurisdiction") != city:
                continue
            if year and dossier.created.year != int(year):
                continue
            chosen.append(dossier)
    chosen = list({d.archive_no: d for d in chosen}.values())
    if not chosen:
        raise ExportError("没有符合条件的档案可以移交")
    return chosen


def filing_order(dossier) -> list:
    """The dossier's documents in 件号 order (the order they were filed)."""
    return sorted(dossier.documents.values(), key=lambda d: (d.item_no or 0, len(d.doc_id), d.doc_id))


def _volume_sheets(dossier, registry):
    """What the dossier's bound volume (案卷) shows, as the custody concern binds it."""
    from ..custody.volume import sheets
    schemas = getattr(registry, "archive_schemas", registry)
    doc_types = {t.code: t.zh for t in schemas.vocabularies["document_types"].terms}
    return sheets(dossier, getattr(registry, "archive_custody", None), doc_types=doc_types)


class Binder:
    """The bound volumes of an export, drawn in worker processes (one per core) while the
    main process writes the next dossiers' files: a volume costs far more than a dossier's
    files (reportlab lays out its front matter, pypdf copies every page). The volumes are
    written into the bag as they come back, in the order of the dossiers. One volume, or a
    machine of one core: drawn here, no process started."""

    AHEAD = 16     # volumes in flight

    def __init__(self, writer, dossiers: int):
        from ..workers.processes import context, cores
        self.writer, self.pending = writer, []
        self.pool = context().Pool(cores()) if dossiers > 1 and cores() > 1 else None

    def bind(self, relative, sheet):
        from ..custody.volume import render
        if self.pool is None:
            self.writer.write(relative, render(sheet))
            return
        self.pending.append((relative, self.pool.apply_async(render, (sheet,))))
        if len(self.pending) > self.AHEAD:
            self._write_one()

    def _write_one(self):
        relative, result = self.pending.pop(0)
        self.writer.write(relative, result.get())

    def finish(self):
        while self.pending:
            self._write_one()
        self.close()

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def file_name(dossier, doc, revision) -> str:
    item = item_no(doc)
    mark = ".current" if revision.number == doc.current_no else ""
    ext = EXTENSIONS.get(getattr(revision, "content_type", ""), ".pdf")   # an OFD stays .ofd
    return f"{dossier.archive_no}-{item:04d}.v{revision.number}{mark}{ext}"


def _history(dossier, root, registry, procedure):
    """The case history as JSON: the version-made events and the lease and credit facts."""
    return [_fields(event) for event in timeline(dossier, root, registry, procedure=procedure, unmasked=True)]


def _fields(value):
    """A dataclass as JSON values, as ``codec.plain(asdict(value))`` makes it without asdict's
    deep copy of every value (the case history of every dossier goes through it)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _fields(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [_fields(v) for v in value]
    return codec.plain(value)


def write_dossier(writer, dossier, root, registry, procedure, binder=None):
    """One dossier's part of the payload; returns (documents, file revisions) written.
    The bound volume goes to ``binder`` (drawn in a worker process) when one is given."""
    base, documents, files = dossier.archive_no, [], 0
    for doc in filing_order(dossier):
        paths = {}
        for revision in doc.files:
            paths[revision.number] = f"files/{file_name(dossier, doc, revision)}"
            writer.write(f"{base}/{paths[revision.number]}", revision.read())
            files += 1
        documents.append(codec.document_json(doc, item_no(doc), paths))
    writer.write_json(f"{base}/dossier.json", codec.dossier_json(dossier, documents))
    writer.write_json(f"{base}/versions.json", [codec.version_json(box.version) for box in dossier.versions.values()])
    writer.write_json(f"{base}/history.json", _history(dossier, root, registry, procedure))
    sheet = _volume_sheets(dossier, registry)
    if binder is None:
        from ..custody.volume import render
        writer.write(f"{base}/volume.pdf", render(sheet))
    else:
        binder.bind(f"{base}/volume.pdf", sheet)
    return len(documents), files


def export_bag(root, dossiers, out, registry, *, office, actor, when=None, procedure=None,
               progress=None) -> Summary:
    """Write the hand-over package for ``dossiers`` into the new directory ``out``."""
    out = pathlib.Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"目录 {out} 已存在且不为空，请指定新的目录")
    when = when or _dt.datetime.now(_dt.timezone.utc)
    writer = Writer(out / "data")
    rows, documents, files = [], 0, 0
    binder = Binder(writer, len(dossiers))
    try:
        for n, dossier in enumerate(dossiers, 1):
            docs, revs = write_dossier(writer, dossier, root, registry, procedure, binder)
            documents, files = documents + docs, files + revs
            rows.append((dossier, docs, revs))
            if progress is not None:
                progress(n, len(dossiers))
        binder.finish()
    finally:
        binder.close()
    (out / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    for alg, column in (("sha256", 1), ("sm3", 2)):
        _manifest(out / f"manifest-{alg}.txt", [(line[column], "data/" + line[0]) for line in writer.lines])
    fonds = sorted({dossier.archive_no.split("-", 1)[0] for dossier in dossiers})
    summary = Summary(out, len(dossiers), documents, files, len(writer.lines), writer.bytes)
    bagit._make_tag_file(str(out / "bag-info.txt"), {
        "Source-Organization": office, "移交单位": office, "全宗": " ".join(fonds),
        "Bagging-Date": when.date().isoformat(), "Payload-Oxum": f"{writer.bytes}.{len(writer.lines)}",
        "Bag-Size": f"{writer.bytes / 1048576:.1f} MB", "档案数": str(len(dossiers)),
        "文件数": str(documents), "文件版本数": str(files), "字节数": str(writer.bytes),
        "Bag-Software-Agent": f"gzf-archive (bagit {bagit.VERSION})",
        "External-Description": f"公租房档案移交包：{len(dossiers)} 份档案，{documents} 件文件",
    })
    (out / TRANSFER_LIST).write_bytes(transfer_list_pdf(rows, summary, office, actor, when, fonds))
    _tag_manifests(out)
    return summary


def _manifest(path, entries):
    """A manifest in bagit's own form (digest, two spaces, the path; CR, LF and % encoded)."""
    with open(path, "w", encoding="utf-8") as fh:
        for digest, name in entries:
            fh.write(f"{digest}  {_encode(name)}\n")


def _encode(name):
    return name.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _tag_manifests(out):
    """Every tag file (the manifests, bag-info, the 移交清册) by SHA-256 and SM3."""
    tags = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-"))
    for alg in ("sha256", "sm3"):
        with open(out / f"tagmanifest-{alg}.txt", "w", encoding="utf-8") as fh:
            for name in tags:
                fh.write(f"{hashlib.new(alg, (out / name).read_bytes()).hexdigest()}  {_encode(name)}\n")


def zipped(directory) -> bytes:
    """A bag as one zip (for a download from the web), its top folder named as the bag."""
    import zipfile
    directory = pathlib.Path(directory)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:   # PDFs do not compress further
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, os.path.join(directory.name, path.relative_to(directory).as_posix()))
    return buf.getvalue()
