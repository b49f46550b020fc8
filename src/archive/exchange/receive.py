"""Receiving a hand-over package (接收): check the bag, run the intake check on every
record, and only then bring every dossier in whole — or nothing.

Order of work, so that a refusal changes nothing but the register of receipts:
1. the bag: ``bagit`` checks its structure and completeness (every payload file in the
   manifest, nothing missing, Payload-Oxum); the SHA-256 *and* SM3 of every payload file
   are computed here in one read and compared with both manifests (and the tag manifests
   with the tag files), so a changed byte or a deleted manifest line is found;
2. the records: each dossier's JSON read, its 档号 checked against the archive (an
   existing one refuses the package) and the rule, its metadata against the schema, and
   each file revision through the same checks as filing (``records.intake``), its digests
   against the ones the package recorded;
3. the dossiers built as they were (``Dossier.imported``: versions, who, when, comments,
   snapshots, manifests, every file revision) and added to the archive.

Steps 2 and 3 do not wait for step 1 to finish: worker processes hash and check the
payload dossier by dossier, each writing the bytes it checked to a spool file, while the
main process reads, checks and builds each dossier whose files are done, its blobs taking
over the spool files (one read and one write of each file). Only adding the dossiers to
the archive waits for the verdict on the whole package; a refused one drops what was built.
"""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
import pathlib
import shutil
import tempfile

import bagit

from ..custody.bound import BoundVolume
from ..records import intake
from ..records.pdf import digests as digests_of
from ..records.document import Document, FileRevision, Spooled
from ..records.container import find_dossier
from ..records.dossier import KINDS
from ..records.filing import ValidationFailed, check_document_type, max_pages, validate
from ..records.version import DocEntry, Version
from . import codec
from .receipts import RecordResult


class ImportRefused(ValueError):
    """A package refused as a whole; ``report`` is its 四性检测 report, kept in the register."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


def _manifest(path) -> dict:
    """{path in the bag: digest} of a (tag) manifest; {} when it does not exist."""
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.strip().split(maxsplit=1)
            entries[name.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")] = digest.lower()
    return entries


def check_bag(path, reader=None, arrived=None, folders=None) -> tuple[list, dict]:
    """(problems, {payload path: (sha256, sm3)}): the bag's faults in Chinese, one per line.
    ``reader`` (a ``PayloadReader``) reads and hashes the payload in worker processes,
    started before bagit's own check so that both run at once; ``arrived(folder)`` is
    called in the order of ``_dossier_dirs`` as soon as every payload file of that
    dossier's folder is read (the caller reads and builds the dossier meanwhile), whatever
    the bag's faults turn out to be — the caller decides on them at the end. ``folders``:
    the bag's dossier folders (``_dossier_dirs``), when the caller has listed them."""
    path = pathlib.Path(path)
    reader = reader or PayloadReader(path)
    problems = []
    try:
        # bagit reads the bag first: a manifest naming a path outside the bag refuses it
        # before any worker opens a file
        bag, fatal = _bagit_step(lambda: bagit.Bag(str(path)), problems)
        if fatal:
            return fatal, {}
        manifests = {alg: _manifest(path / f"manifest-{alg}.txt") for alg in ("sha256", "sm3")}
        names = sorted(set(manifests["sha256"]) | set(manifests["sm3"]))
        problems += [f"{name}：路径在移交包之外，未读取" for name in names if _outside(name)]
        names = [name for name in names if not _outside(name)]     # bagit never reads manifest-sm3.txt
        groups = reader.groups(_by_folder(_dossier_dirs(path) if folders is None else folders, names))
        if bag is not None:   # its completeness (a walk of the payload) while the workers read
            _, fatal = _bagit_step(lambda: bag.validate(completeness_only=True), problems)
            if fatal:
                return fatal, {}
        found = {}
        for folder, done in groups:
            found.update(done)
            if folder is not None and arrived is not None:
                arrived(folder)
    finally:
        reader.close()
    for alg, entries in manifests.items():
        if not entries:
            problems.append(f"缺少 manifest-{alg}.txt 或其为空")
    return problems + _payload_problems(names, found, manifests) + _tag_problems(path), \
        {name: got for name, got in found.items() if got is not None}


def _outside(name) -> bool:
    """A manifest's path that leads out of the bag (absolute, or ``..`` above it): never
    opened. bagit refuses such a path in the manifests it reads, and it does not read
    SM3's, whose paths the workers would otherwise open (``/dev/zero`` among them)."""
    normal = os.path.normpath(name)
    return os.path.isabs(normal) or normal == ".." or normal.startswith(".." + os.sep)


def _bagit_step(step, problems):
    """(what ``step`` returned, None); its faults added to ``problems`` when bagit finds the
    bag incomplete (None, None), or (None, [the refusal]) when it is no valid bag at all."""
    try:
        return step(), None
    except bagit.BagValidationError as exc:
        problems += [f"移交包不完整：{d}" for d in exc.details] or [f"移交包不完整：{exc.message}"]
        return None, None
    except bagit.BagError as exc:
        return None, [f"不是有效的BagIt移交包：{exc}"]


def _payload_problems(names, found, manifests) -> list:
    """Each payload file missing, or whose SHA-256 or SM3 differs from (or is not in) its
    manifest, in the order of the names."""
    problems = []
    for name in names:
        got = found.get(name)
        if got is None:
            problems.append(f"{name}：文件缺失")
            continue
        for alg, value in zip(("sha256", "sm3"), got):
            entries = manifests[alg]
            if name not in entries:
                problems.append(f"{name}：manifest-{alg}.txt 中没有这个文件的校验值")
            elif entries[name] != value:
                problems.append(f"{name}：{alg.upper()} 校验值不符（清单 {entries[name][:12]}…，实际 {value[:12]}…）")
    return problems


def _tag_problems(path) -> list:
    """The tag files checked against both tag manifests."""
    problems = []
    for alg in ("sha256", "sm3"):
        for name, digest in _manifest(path / f"tagmanifest-{alg}.txt").items():
            try:
                if hashlib.new(alg, (path / name).read_bytes()).hexdigest() != digest:
                    problems.append(f"{name}：{alg.upper()} 校验值与 tagmanifest-{alg}.txt 不符")
            except OSError:
                problems.append(f"{name}：标签文件缺失")
    return problems


def _by_folder(folders, names) -> list:
    """[(dossier folder or None, [payload names])]: the names grouped by the dossier folder
    they lie in, the folders in ``_dossier_dirs`` order (the order dossiers are read and
    imported), then the names in no dossier's folder, so that each dossier can be read as
    soon as its own files are."""
    prefixes = {f"data/{folder.name}/": [] for folder in folders}
    rest = []
    for name in names:
        head = name.split("/", 2)
        group = prefixes.get(f"{head[0]}/{head[1]}/") if len(head) == 3 else None
        (rest if group is None else group).append(name)
    return [(folder, prefixes[f"data/{folder.name}/"]) for folder in folders] + [(None, rest)]


def _read_payload(base, jobs, limit_pages, spool=None, spool_from=None):
    """A worker's job: each payload file read once, its SHA-256 and SM3 from that read and,
    for a file the dossiers list, its intake check and (with ``spool``) its bytes for the
    file revision's blob (``_spool``), and for a bound volume (``keep``) its bytes alone:
    [((sha256, sm3), (facts, checks) or None, spooled file or bytes or None) or None
    (missing)]."""
    out = []
    for index, name, check, keep in jobs:
        try:
            data = (base / name).read_bytes()
        except OSError:
            out.append(None)
            continue
        known = digests_of(data)
        checked = intake.check_file(data, None, limit_pages, known) if check else None
        kept = _spool(spool, index, data, spool_from) if spool and (keep or checked and checked[0] is not None) \
            else None
        out.append((known, checked, kept))
    return out


SPOOL_FROM = 64 * 1024     # bytes: a smaller file comes back to the main process as it is


def _spool(spool, index, data, spool_from=None):
    """The bytes just hashed and checked, for the file revision's blob: written to a file
    of their own in ``spool`` (its path returned), or returned themselves when small (a file
    made for 2.6 KB cost the worker more than passing the bytes back: 0.35 ms a file). Either
    way the blob gets exactly these bytes, not a second read of the bag's file. None when
    the file cannot be written (the import then reads the bag's file again). ``spool_from``:
    ``SPOOL_FROM`` as the parent read it (a worker started by a fork server imports this
    module afresh)."""
    if len(data) < (SPOOL_FROM if spool_from is None else spool_from):
        return data
    target = os.path.join(spool, f"{index}.pdf")
    try:
        with open(target, "wb") as fh:
            fh.write(data)
    except OSError:
        return None
    return target


class PayloadReader:
    """The payload of a bag read once: digests for the bag check and, for the files the
    dossiers list, the intake check (pypdf's parse of every file, the import's main cost)
    and a spooled copy for the blob, from the same read, in worker processes (one per core)
    for a bag of many files."""

    BATCH = 32

    def __init__(self, path, listed=frozenset(), limit_pages=None, spool=None, volumes=frozenset()):
        self.base, self.listed, self.limit_pages = pathlib.Path(path), frozenset(listed), limit_pages
        self.volumes = frozenset(volumes)     # payload paths of bound volumes: kept, not checked
        self.spool = spool
        self.intake = {}      # payload path -> (facts or None, checks)
        self.spooled = {}     # payload path -> its checked bytes, or the file they were written to (spool)
        self.hashed = {}      # payload path -> (sha256, sm3), as the files are read
        self.pool = None

    def groups(self, groups):
        """Start reading the files of ``groups`` ([(key, [names])]) now, in that order;
        returns an iterator of (key, {name: (sha256, sm3) or None}), one group at a time as
        soon as all its files are read (call ``close`` when done with it)."""
        jobs = [(i, name, name in self.listed, name in self.volumes)
                for i, name in enumerate(n for _, names in groups for n in names)]
        return self._grouped(groups, self._results(jobs))

    def _results(self, jobs):
        """Each job's result in order: in worker processes, started here, for many files."""
        batches = [jobs[i:i + self.BATCH] for i in range(0, len(jobs), self.BATCH)]
        from ..workers.processes import context, cores
        if len(batches) > 1 and cores() > 1:
            self.pool = context().Pool(cores())
            results = self.pool.imap(_Job(self.base, self.limit_pages, self.spool, SPOOL_FROM), batches)
            return (got for batch in results for got in batch)
        return iter(_read_payload(self.base, jobs, self.limit_pages, self.spool))

    def _grouped(self, groups, results):
        """The results taken in order as the caller asks for the next group (the workers
        run ahead), each file's intake check, spooled file and digests kept on the reader."""
        for key, names in groups:
            done = {}
            for name in names:
                got = next(results)
                if got is not None and got[1] is not None:
                    self.intake[name] = got[1]
                if got is not None and got[2] is not None:
                    self.spooled[name] = got[2]
                done[name] = None if got is None else got[0]
                if got is not None:
                    self.hashed[name] = got[0]
            yield key, done

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


class _Job:
    """``_read_payload`` with the bag, the page limit and the spool bound (picklable, for ``imap``)."""

    def __init__(self, base, limit_pages, spool=None, spool_from=None):
        self.base, self.limit_pages, self.spool, self.spool_from = base, limit_pages, spool, spool_from

    def __call__(self, jobs):
        return _read_payload(self.base, jobs, self.limit_pages, self.spool, self.spool_from)


def _volumes(records) -> set:
    """The payload paths of the bound volumes the dossiers' JSON says were kept as stored
    (``_kept_volume`` takes them): their bytes are spooled by the worker that hashes them."""
    return {f"data/{folder.name}/volume.pdf" for folder, record in records.items()
            if isinstance(record, dict) and isinstance(record.get("volume"), dict)
            and record["volume"].get("source") == "stored" and record["volume"].get("path") == "volume.pdf"}


def _listed(folders, records=None) -> set:
    """The payload paths the dossiers' JSON lists as file revisions (what the intake check
    reads); a malformed record lists nothing here and is reported where it is read.
    ``records`` ({folder: record}) keeps each record read, which is then not read twice."""
    names = set()
    for folder in folders:
        try:
            record = json.loads((folder / "dossier.json").read_text(encoding="utf-8"))
            if records is not None:
                records[folder] = record
            for doc in record.get("documents") or ():
                for f in doc.get("files") or ():
                    names.add(f"data/{folder.name}/{f['path']}")
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            continue
    return names


def _dossier_dirs(path):
    data = pathlib.Path(path) / "data"
    return sorted(p for p in data.iterdir() if (p / "dossier.json").is_file()) if data.is_dir() else []


def _read_json(path, problems):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name}：无法读取（{exc}）")
        return None


def _dossier_checks(root, registry, record, versions, patterns):
    """The dossier's own checks: 档号 new to the archive and well formed, metadata valid."""
    kind, number = record.get("kind"), record.get("archive_no", "")
    if kind not in KINDS:
        return (intake.Check("metadata_valid", False, f"未知的档案类别“{kind}”"),)
    checks = [intake.archive_no_check(number, patterns.get(kind) or registry.numbering[kind])]
    if find_dossier(root, number) is not None:
        checks.append(intake.Check("archive_no", False, f"档号 {number} 在本档案库中已存在"))
    when = codec.when(versions[-1]["when"]).date() if versions else None
    problems = {}
    try:
        validate(registry, kind, record.get("metadata") or {}, today=when)
    except ValidationFailed as exc:
        problems = exc.errors
    return tuple(checks) + intake.metadata_checks(registry[kind], record.get("metadata") or {}, problems)


class _Dossier:
    """A dossier read from the package, with its file revisions' facts."""

    def __init__(self, folder, record, versions):
        self.folder, self.record, self.versions = folder, record, versions
        self.facts = {}       # (doc_id, file no) -> PdfFacts
        self.parsed = []      # the versions as Version records


def _file_checks(registry, dossier, doc, bag_dossier, digests, bag_path, limit_pages, checked=None):
    """Each file revision of a document: the filing checks, and its digests as recorded."""
    results = []
    doc_problems = {}
    try:
        validate(registry, "document", doc.get("metadata") or {})
        check_document_type(registry, _Kind(bag_dossier.record.get("kind")), codec.metadata(
            registry["document"], doc.get("metadata") or {}))
    except ValidationFailed as exc:
        doc_problems = exc.errors
    meta = intake.metadata_checks(registry["document"], doc.get("metadata") or {}, doc_problems)
    for f in doc.get("files") or ():
        name = f"data/{bag_dossier.folder.name}/{f['path']}"
        if checked and name in checked:       # checked as the bag was read
            facts, checks = checked[name]
        else:
            data = b""
            if name in digests:                # only a payload file the manifests list and
                try:                           # the bag check read: never a path of the
                    data = (bag_path / name).read_bytes()   # JSON's own (``..``, a device)
                except (OSError, KeyError):
                    pass
            facts, checks = intake.check_file(data, None, limit_pages)
        if facts is not None:
            sha, sm3 = digests.get(name, (facts.sha256, facts.sm3))
            same = (not f.get("sha256") or f["sha256"] == sha) and (not f.get("sm3") or f["sm3"] == sm3)
            checks = tuple(intake.Check("fixity", same, "" if same else "文件的校验值与档案记录不符")
                           if c.id == "fixity" else c for c in checks)
            bag_dossier.facts[(doc["doc_id"], int(f["number"]))] = facts
        results.append(RecordResult(dossier, checks + meta, doc["doc_id"], doc.get("item_no"), int(f["number"])))
    return results


def _read_dossier(root, registry, folder, record, versions, digests, path, patterns, results, checked=None):
    """Check one dossier of the package and its files (results appended); its versions are
    parsed here too, so a malformed one refuses the package before anything is built."""
    if not isinstance(record, dict) or not isinstance(versions, list):
        raise TypeError("dossier.json / versions.json")
    bag_dossier = _Dossier(folder, record, versions)
    kind = record["kind"] if record.get("kind") in KINDS else None
    if kind is not None:
        bag_dossier.parsed = [codec.version_from(v, registry[kind], registry["document"]) for v in versions]
    number = record.get("archive_no", folder.name)
    results.append(RecordResult(number, _dossier_checks(root, registry, record, versions, patterns)))
    for doc in record.get("documents") or ():
        if not isinstance(doc, dict) or not doc.get("doc_id"):
            raise KeyError("doc_id")
        for f in doc.get("files") or ():
            int(f["number"])      # every file revision has a number
        results += _file_checks(registry, number, doc, bag_dossier, digests, path, max_pages({}), checked)
    return bag_dossier


class _Kind:
    """What ``check_document_type`` asks of a dossier: its kind."""

    def __init__(self, kind):
        self.kind = kind


def receive_bag(root, path, registry, *, actor, when=None, patterns=None, progress=None, queue_text=True):
    """Import the package at ``path`` whole, or refuse it (ImportRefused) having imported
    nothing; either way its 四性检测 report is kept in ``root.receipts`` and returned.
    The file revisions' bytes are spooled (written by the workers that hash them) into a
    folder of their own beside the blobs' temporary files, removed when done."""
    spool = tempfile.mkdtemp(prefix="archive-import-")
    try:
        return _receive(root, pathlib.Path(path), registry, actor, when or _dt.datetime.now(_dt.timezone.utc),
                        patterns or {}, progress, queue_text, spool)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _receive(root, path, registry, actor, when, patterns, progress, queue_text, spool):
    """``receive_bag``: the bag checked while its dossiers are read and built as their files
    arrive (``_Incoming``), then refused or added to the archive whole."""
    records = {}
    folders = _dossier_dirs(path)
    reader = PayloadReader(path, _listed(folders, records), max_pages({}), spool, _volumes(records))
    incoming = _Incoming(root, registry, path, reader, patterns, when, progress, len(folders), records)
    problems, digests = check_bag(path, reader, incoming.arrived, folders)
    read, results = [], []
    if not problems:
        if not folders:
            problems.append("移交包的 data/ 中没有任何档案（data/<档号>/dossier.json）")
        for folder in folders:
            if folder not in incoming.done:      # a folder made while the bag was read
                incoming.arrived(folder)
            got = incoming.done[folder]
            problems += got.problems
            results += got.results
            if got.dossier is not None:
                read.append(got.dossier)
    files = sum(1 for r in results if r.file_no is not None)
    failed = [r for r in results if not r.passed]
    refusal = ""
    if problems:
        refusal = f"移交包校验未通过（{len(problems)} 处）：" + "；".join(problems[:5])
    elif failed:
        existing = [r.archive_no for r in failed for c in r.checks if not c.passed and "已存在" in c.detail]
        refusal = (f"档号已存在：{'、'.join(existing)}" if existing else
                   f"{len(failed)} 项记录未通过接收检测，例如 {failed[0].archive_no} "
                   f"{failed[0].doc_id}：" + "；".join(c.detail or c.title() for c in failed[0].checks if not c.passed))
    report = root.receipts.add(when=when, actor=actor, bag=path.name, accepted=not refusal, refusal=refusal,
                               problems=tuple(problems), dossiers=len(read), files=files, results=tuple(results))
    if refusal:
        incoming.discard()
        raise ImportRefused(refusal, report)
    checks = {(r.archive_no, r.doc_id, r.file_no): r.checks for r in results if r.file_no is not None}
    for n, bag_dossier in enumerate(read, 1):
        built = incoming.built.pop(bag_dossier.folder, None) or \
            _build(registry, bag_dossier, checks, when)     # what could not be built early, built now
        _attach(root, built, path, report, actor, when, queue_text)
        if progress is not None:
            progress(len(read) + n, 2 * len(read))
    return report


class _Read:
    """What reading one dossier's folder gave: its faults, its records' results, and the
    dossier read (None when its records could not be read)."""

    def __init__(self, problems, results, dossier):
        self.problems, self.results, self.dossier = problems, results, dossier


class _Incoming:
    """The dossiers of a package read, checked and built while the workers still hash and
    check the files of the next ones (``arrived``, called by ``check_bag`` as each dossier's
    files are done): only adding them to the archive waits for the verdict on the whole
    package, and a refused package's built dossiers are dropped (``discard``)."""

    def __init__(self, root, registry, path, reader, patterns, when, progress, total, records=None):
        self.root, self.registry, self.path, self.reader = root, registry, path, reader
        self.patterns, self.when, self.progress, self.total = patterns, when, progress, total
        self.records = records if records is not None else {}    # folder -> dossier.json, read by _listed
        self.done = {}        # folder -> _Read
        self.built = {}       # folder -> _Built, for a dossier whose every check passed

    def arrived(self, folder):
        """Read and check the dossier in ``folder`` (its files are hashed and checked) and,
        when it passed every check, build it."""
        problems, results, bag_dossier = [], [], None
        record = self.records.pop(folder, None)
        if record is None:
            record = _read_json(folder / "dossier.json", problems)
        versions = (_read_json(folder / "versions.json", problems)
                    if (folder / "versions.json").exists() else None) or []
        if record is not None:
            try:
                bag_dossier = _read_dossier(self.root, self.registry, folder, record, versions,
                                            self.reader.hashed, self.path, self.patterns, results,
                                            self.reader.intake)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                problems.append(f"{folder.name}/dossier.json 或 versions.json 的格式不正确（字段 {exc} 缺少或有误）")
                bag_dossier = None
        self.done[folder] = _Read(problems, results, bag_dossier)
        if bag_dossier is None:
            return
        if self.progress is not None:
            self.progress(len(self.done), 2 * self.total)
        if not problems and all(r.passed for r in results):
            self.built[folder] = self._build(bag_dossier, results)

    def _build(self, bag_dossier, results):
        """The dossier built now, its blobs taking over the spooled files; None when it
        cannot be (it is then built after the verdict, from the bag's files, as before —
        and fails there the same way)."""
        checks = {(r.archive_no, r.doc_id, r.file_no): r.checks for r in results if r.file_no is not None}
        try:
            return _build(self.registry, bag_dossier, checks, self.when, self.reader.spooled)
        except Exception:       # noqa: BLE001 — reported, if at all, by the build after the verdict
            return None

    def discard(self):
        """A refused package: the blobs built for it give back their files now."""
        for built in self.built.values():
            if built is not None:
                built.discard()
        self.built.clear()


def _first_version(record, metadata, documents):
    """Version 1 of a dossier that comes without a version history (an office's existing
    electronic records): its state as received, by whom it was made and when."""
    when = codec.when(record.get("created")) or _dt.datetime.now(_dt.timezone.utc)
    manifest = tuple(DocEntry(d.doc_id, d.current_no, d.current_file.sha256 if d.current_file else "",
                              dict(d.metadata), d.withdrawn, d.withdraw_reason) for d in documents)
    return Version(1, when, record.get("created_by") or "import", "接收移交（移交包中没有版本记录）", "created",
                   copy.deepcopy(metadata), manifest, state=record.get("state") or "")


class _Built:
    """A dossier built from the package, not yet in the archive."""

    def __init__(self, bag_dossier, dossier, documents, versions):
        self.bag_dossier, self.dossier, self.documents, self.versions = bag_dossier, dossier, documents, versions

    def discard(self):
        """Remove the blob files its file revisions and volume took over (a blob outside a
        database removes its file only when it is garbage-collected)."""
        blobs = [r.blob for d in self.documents for r in d.files]
        if self.dossier.bound_volume is not None:
            blobs.append(self.dossier.bound_volume.blob)
        for blob in blobs:
            filename = blob._uncommitted()      # ZODB's hand-over of a blob's uncommitted file
            if filename and os.path.exists(filename):
                os.remove(filename)


def _content(bag_dossier, name, f, spooled):
    """A file revision's content: the bytes the worker hashed and checked, as it passed
    them back or as the file it wrote (taken once: a second revision naming the same file
    reads it again), else the bag's file read now."""
    kept = _taken(spooled, name)
    return (bag_dossier.folder / f["path"]).read_bytes() if kept is None else kept


def _taken(spooled, name):
    """What a worker kept of a payload file for its blob (``PayloadReader.spooled``), taken
    once: its bytes, or the file it wrote as ``Spooled``; None when nothing was kept."""
    kept = spooled.pop(name, None) if spooled is not None else None
    return kept if kept is None or isinstance(kept, bytes) else Spooled(kept)


def _build(registry, bag_dossier, checks, when, spooled=None) -> _Built:
    """Build one dossier as it was, outside the archive.
    ``checks``: the intake checks of its files, by (档号, document, file); ``spooled``:
    {payload path: file holding its checked bytes} (``PayloadReader.spooled``)."""
    record, kind = bag_dossier.record, bag_dossier.record["kind"]
    schema, doc_schema = registry[kind], registry["document"]
    documents = []
    for doc in record.get("documents") or ():
        revisions = []
        for f in doc.get("files") or ():
            number = int(f["number"])
            data = _content(bag_dossier, f"data/{bag_dossier.folder.name}/{f['path']}", f, spooled)
            facts = bag_dossier.facts[(doc["doc_id"], number)]
            revision = FileRevision(number, data, facts, f.get("filename", ""),
                                    f.get("filed_by") or record.get("created_by") or "import",
                                    codec.when(f.get("filed_at") or record.get("created")) or when,
                                    getattr(facts, "content_type", "") or f.get("content_type")
                                    or "application/pdf")   # the bytes' type, as at filing
            revision.intake = checks[(record["archive_no"], doc["doc_id"], number)]
            revisions.append(revision)
        documents.append(Document.imported(doc["doc_id"], codec.metadata(doc_schema, doc.get("metadata") or {}),
                                           revisions, int(doc.get("current_file") or 0),
                                           bool(doc.get("withdrawn")), doc.get("withdraw_reason", ""),
                                           _item_no(doc.get("item_no"))))
    metadata = codec.metadata(schema, record.get("metadata") or {})
    versions = bag_dossier.parsed or \
        [_first_version(record, metadata, documents)]
    dossier = KINDS[kind].imported(
        record["archive_no"], metadata, documents, versions,
        created=codec.when(record.get("created")) or versions[0].when,
        created_by=record.get("created_by") or versions[0].actor,
        modified=codec.when(record.get("modified")) or versions[-1].when,
        state=record.get("state"), state_since=codec.when(record.get("state_since")),
        due=codec.day(record.get("due")), due_estimated=bool(record.get("due_estimated")))
    dossier.bound_volume = _kept_volume(bag_dossier, dossier, spooled)
    return _Built(bag_dossier, dossier, documents, versions)


def _attach(root, built, bag_path, report, actor, when, queue_text):
    """Add a built dossier to the archive: its 档号 registered, its files queued for the
    text layer, the import logged."""
    dossier, documents = built.dossier, built.documents
    root.container(built.bag_dossier.record["kind"]).add(dossier)
    root.numbers.issued.add(dossier.archive_no)     # never issued again by this archive
    if queue_text:
        for doc in documents:
            for revision in doc.files:
                root.text_queue.add(revision, dossier)
    root.log.append(actor, "exchange.import", dossier.archive_no,
                    f"接收移交包 {os.path.basename(str(bag_path))}（第 {report.number} 次接收检测），"
                    f"{len(built.versions)} 个版本，{sum(len(d.files) for d in documents)} 个文件版本"
                    + ("，已装订案卷" if dossier.bound_volume is not None else ""), when)


def _kept_volume(bag_dossier, dossier, spooled=None):
    """The bound volume (案卷) the sending archive kept, kept here as it was bound (who, when,
    which version) when the package carries it as stored and that version came with the
    dossier; a volume drawn for the package (the dossier was never bound, or changed since)
    is not a binding, and is left in the package. Its bytes were checked with the bag, and
    are the ones the worker read and hashed then (``spooled``), else the bag's file read now."""
    volume = bag_dossier.record.get("volume")
    if not isinstance(volume, dict) or volume.get("source") != "stored" or volume.get("path") != "volume.pdf":
        return None
    number = volume.get("version")
    try:
        bound = dossier.versions.get(number) if isinstance(number, int) and not isinstance(number, bool) else None
    except (TypeError, OverflowError):         # beyond what a version number can be
        bound = None
    if bound is None:
        return None
    data = _taken(spooled, f"data/{bag_dossier.folder.name}/volume.pdf")
    try:
        if data is None:
            data = (bag_dossier.folder / "volume.pdf").read_bytes()
        if not (data if isinstance(data, bytes) else data.head()).startswith(b"%PDF-"):
            return None
    except OSError:
        return None
    try:
        bound_at = codec.when(volume.get("bound_at"))
    except (TypeError, ValueError):
        bound_at = None
    return BoundVolume(data, number, str(volume.get("bound_by") or ""),
                       bound_at or bound.when)


def _item_no(value):
    """The package's 件号 of a document, when it gives a usable one (a positive whole number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
