"""The hand-over package (移交包) as a BagIt bag (RFC 8493): what leaves the archive in it,
and how its files are named and its manifests written.

Layout (README, "Hand-over packages, SM3 and the intake check")::

    bagit.txt  bag-info.txt  manifest-sha256.txt  manifest-sm3.txt
    tagmanifest-sha256.txt  tagmanifest-sm3.txt  移交清册.pdf
    data/<档号>/dossier.json       metadata, documents, every file revision and its intake check
    data/<档号>/versions.json      every version as recorded
    data/<档号>/history.json       the case history (案件历程), for reading
    data/<档号>/volume.pdf         the bound volume: as kept when the dossier was bound
                                   (archive.custody.bound), drawn now when it changed since
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
import threading
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
    folders: set = field(default_factory=set)      # made already (one mkdir per folder)

    def write(self, relative: str, data: bytes):
        path = os.path.join(self.base, relative)
        folder = os.path.dirname(path)
        if folder not in self.folders:
            os.makedirs(folder, exist_ok=True)
            self.folders.add(folder)
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
    volumes_stored: int = 0      # kept bound volumes that still showed their dossier
    volumes_drawn: int = 0       # drawn for this package (never bound, or changed since)
    unbound: tuple = ()          # 档号 of dossiers whose volume was left out (未装订)


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


VOLUMES = ("draw", "stored")     # a stale or missing volume: drawn now, or left out (未装订)


class Binder:
    """The bound volumes of an export: a dossier's kept volume (archive.custody.bound) when
    it still shows the dossier, else drawn in worker processes while the main process
    writes the next dossiers' files (``volumes="draw"``), or left out and listed as not
    bound (``volumes="stored"``). Volumes are written into the bag in dossier order."""

    def __init__(self, writer, dossiers: int, volumes="draw"):
        from ..custody.bound import Drawing
        if volumes not in VOLUMES:
            raise ExportError(f"案卷的取法只能是 {' 或 '.join(VOLUMES)}")
        self.writer, self.volumes = writer, volumes
        self.stored, self.drawn, self.unbound = 0, 0, []
        self.drawing = Drawing(self.writer.write, dossiers) if volumes == "draw" else None

    def volume(self, dossier, registry, relative) -> dict:
        """Put the dossier's volume into the bag (or not); what dossier.json says of it."""
        from ..custody.bound import current
        kept = current(dossier)
        if kept is not None:
            self.writer.write(relative, kept.read())
            self.stored += 1
            return {"path": "volume.pdf", "source": "stored", "version": kept.version,
                    "bound_by": kept.binder, "bound_at": codec.plain(kept.bound_at)}
        if self.drawing is None:
            self.unbound.append(dossier.archive_no)
            return {"path": None, "source": "not_bound"}
        self.drawing.add(relative, _volume_sheets(dossier, registry))
        self.drawn += 1
        return {"path": "volume.pdf", "source": "drawn", "version": dossier.versions.maxKey()}

    def finish(self):
        if self.drawing is not None:
            self.drawing.finish()

    def close(self):
        if self.drawing is not None:
            self.drawing.close()


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
    """One dossier's part of the payload; returns its row of the 移交清册: (档号, 题名,
    documents, file revisions, pages of the current files).
    The bound volume comes from ``binder`` (kept, drawn in a worker process, or left out);
    without one it is drawn here."""
    base, documents, files = dossier.archive_no, [], 0
    for doc in filing_order(dossier):
        paths = {}
        for revision in doc.files:
            paths[revision.number] = f"files/{file_name(dossier, doc, revision)}"
            writer.write(f"{base}/{paths[revision.number]}", revision.read())
            files += 1
        documents.append(codec.document_json(doc, item_no(doc), paths))
    if binder is None:
        from ..custody.volume import render
        writer.write(f"{base}/volume.pdf", render(_volume_sheets(dossier, registry)))
        volume = {"path": "volume.pdf", "source": "drawn", "version": dossier.versions.maxKey()}
    else:
        volume = binder.volume(dossier, registry, f"{base}/volume.pdf")
    writer.write_json(f"{base}/dossier.json", dict(codec.dossier_json(dossier, documents), volume=volume))
    writer.write_json(f"{base}/versions.json", [codec.version_json(box.version) for box in dossier.versions.values()])
    writer.write_json(f"{base}/history.json", _history(dossier, root, registry, procedure))
    pages = sum((d.current_file.pages or 0) for d in dossier.documents.values() if d.current_file)
    return (dossier.archive_no, dossier.title, len(documents), files, pages)


def export_bag(root, dossiers, out, registry, *, office, actor, when=None, procedure=None,
               progress=None, volumes="draw") -> Summary:
    """Write the hand-over package for ``dossiers`` into the new directory ``out``. Each
    dossier's kept bound volume goes in when it still shows the dossier; otherwise
    ``volumes="draw"`` draws it now, ``"stored"`` leaves it out (bag-info lists it 未装订)."""
    out = pathlib.Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"目录 {out} 已存在且不为空，请指定新的目录")
    when = when or _dt.datetime.now(_dt.timezone.utc)
    writer = Writer(out / "data")
    if volumes not in VOLUMES:
        raise ExportError(f"案卷的取法只能是 {' 或 '.join(VOLUMES)}")
    parts = _Parts.start(root, dossiers, out, registry, procedure, volumes)   # before any thread
    binder = Binder(writer, 1 if parts else len(dossiers), volumes)   # the workers draw their own
    try:
        rows = parts.run(writer, binder, progress) if parts else \
            _write_here(writer, binder, dossiers, root, registry, procedure, progress)
        binder.finish()
    finally:
        binder.close()
        if parts:
            parts.close()
    documents, files = sum(r[2] for r in rows), sum(r[3] for r in rows)
    (out / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    for alg, column in (("sha256", 1), ("sm3", 2)):
        _manifest(out / f"manifest-{alg}.txt", [(line[column], "data/" + line[0]) for line in writer.lines])
    fonds = sorted({dossier.archive_no.split("-", 1)[0] for dossier in dossiers})
    summary = Summary(out, len(dossiers), documents, files, len(writer.lines), writer.bytes,
                      binder.stored, binder.drawn, tuple(binder.unbound))
    bagit._make_tag_file(str(out / "bag-info.txt"), {
        "Source-Organization": office, "移交单位": office, "全宗": " ".join(fonds),
        "Bagging-Date": when.date().isoformat(), "Payload-Oxum": f"{writer.bytes}.{len(writer.lines)}",
        "Bag-Size": f"{writer.bytes / 1048576:.1f} MB", "档案数": str(len(dossiers)),
        "文件数": str(documents), "文件版本数": str(files), "字节数": str(writer.bytes),
        "Bag-Software-Agent": f"gzf-archive (bagit {bagit.VERSION})",
        "External-Description": f"公租房档案移交包：{len(dossiers)} 份档案，{documents} 件文件",
        "案卷": _volumes_line(summary),
        **({"未装订案卷": " ".join(binder.unbound)} if binder.unbound else {}),
    })
    (out / TRANSFER_LIST).write_bytes(transfer_list_pdf(rows, summary, office, actor, when, fonds))
    _tag_manifests(out)
    return summary


def _write_here(writer, binder, dossiers, root, registry, procedure, progress) -> list:
    """Every dossier written by this process (rows of the 移交清册)."""
    rows = []
    for n, dossier in enumerate(dossiers, 1):
        rows.append(write_dossier(writer, dossier, root, registry, procedure, binder))
        if progress is not None:
            progress(n, len(dossiers))
    return rows


CHUNK = 8          # dossiers per job of an export worker
_INHERITED = {}    # what a forked export worker finds: the database, the registry, the procedure


def _write_part(job):
    """An export worker's job: some dossiers written into the bag by this process, read
    through its own connection; returns what the main process needs of them (manifest
    lines, bytes, rows of the 移交清册, the volumes' account)."""
    oids, root_oid, base, volumes = job
    state = _INHERITED
    if "conn" not in state:
        from ..store import reopen_in_child
        reopen_in_child(state["db"])
        state["conn"] = state["db"].open()
    conn = state["conn"]
    root = conn.get(root_oid)
    writer = Writer(base)
    binder = Binder(writer, 1, volumes)    # a volume to draw is drawn here: this is a core's worker
    rows = [write_dossier(writer, conn.get(oid), root, state["registry"], state["procedure"], binder)
            for oid in oids]
    conn.cacheGC()
    return writer.lines, writer.bytes, rows, binder.stored, binder.drawn, binder.unbound


class _Parts:
    """The dossiers of a big export written by worker processes, one per core, each
    reading the database through its own connection (a FileStorage, from a process of one
    thread: the CLI's; see ``store.forkable``). The dossier's JSON, versions, case history
    and files are Python work per dossier, which one core cannot spread."""

    def __init__(self, pool, jobs):
        self.pool, self.jobs = pool, jobs

    @classmethod
    def start(cls, root, dossiers, out, registry, procedure, volumes):
        """The workers for this export, or None where the dossiers are written here: few
        dossiers, one core, a web server's threads (no fork), a database a child cannot read,
        or changes not yet committed (a worker reads what is committed)."""
        from ..store import forkable
        from ..workers.processes import context, cores
        jar = getattr(root, "_p_jar", None)
        if (len(dossiers) < 2 * CHUNK or cores() < 2 or threading.active_count() != 1 or jar is None
                or not forkable(jar.db()) or jar._registered_objects or jar._added
                or any(d._p_oid is None or d._p_changed for d in dossiers)):
            return None
        _INHERITED.clear()
        _INHERITED.update(db=jar.db(), registry=registry, procedure=procedure)
        oids = [d._p_oid for d in dossiers]
        jobs = [(oids[i:i + CHUNK], root._p_oid, out / "data", volumes) for i in range(0, len(oids), CHUNK)]
        return cls(context().Pool(cores()), jobs)

    def run(self, writer, binder, progress) -> list:
        """Every dossier written, in order; the workers' manifest lines joined to ``writer``."""
        rows, done, total = [], 0, sum(len(j[0]) for j in self.jobs)
        try:
            for lines, size, part, stored, drawn, unbound in self.pool.imap(_write_part, self.jobs):
                writer.lines += lines
                writer.bytes += size
                rows += part
                binder.stored, binder.drawn = binder.stored + stored, binder.drawn + drawn
                binder.unbound += unbound
                done += len(part)
                if progress is not None:
                    progress(done, total)
        finally:
            self.close()
        return rows

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        _INHERITED.clear()


def _volumes_line(summary) -> str:
    """bag-info's 案卷: where each dossier's data/<档号>/volume.pdf came from."""
    line = f"已装订保存的 {summary.volumes_stored} 卷，移交时装订的 {summary.volumes_drawn} 卷"
    return line + (f"，未装订 {len(summary.unbound)} 卷（无 volume.pdf）" if summary.unbound else "")


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
