"""The bound volume kept (已装订案卷): binding a dossier stores its volume PDF with the version
it was drawn from, so a hand-over package carries the volume as it was bound instead of
drawing it again.

Binding (``archive bind``, the dossier page's 装订 button, ``POST /api/{kind}/{no}/volume``)
draws the volume (archive.custody.volume), records a version of the dossier (action
``bound``: who bound it, when) and keeps the PDF as a blob on the dossier with that
version's number. The volume stays *current* while the dossier's newest version records
the same metadata and the same documents (current file, metadata, withdrawn or not) as
the bound version: shelving it or a lease note afterwards leaves it current; filing,
refiling, editing, withdrawing or restoring makes it stale, and a stale volume is never
handed out as the dossier's (``current`` returns None; the export draws it afresh).

    bind(dossier, rules, *, doc_types, actor, when, binder="", checker="") -> BoundVolume
    current(dossier) -> BoundVolume | None
"""
from __future__ import annotations

import collections
import hashlib

from persistent import Persistent

from ..records.document import BlobContent

from .volume import render, sheets

ACTION = "bound"          # the version a binding records (records.version.ACTIONS: 装订案卷)


class BoundVolume(BlobContent, Persistent):
    """案卷 as bound: the PDF (a blob), the dossier version it matches, who bound it and when."""

    def __init__(self, data, version: int, binder: str, when):
        """``data``: the PDF's bytes, or a file holding them (``records.document.Spooled``,
        an import's, written by the worker that hashed it), which the blob takes over."""
        self.version, self.binder, self.bound_at = version, binder, when
        if isinstance(data, bytes):
            self.size, self.sha256 = len(data), hashlib.sha256(data).hexdigest()
        else:
            self.size, self.sha256 = data.size(), data.sha256()
        self._keep(data)


def current(dossier):
    """The dossier's kept volume when it still shows what the dossier holds, else None
    (never bound, destroyed, or changed since: metadata or documents differ)."""
    volume = getattr(dossier, "bound_volume", None)
    if volume is None or dossier.destruction is not None:
        return None
    latest = dossier.versions.maxKey()
    if latest == volume.version:
        return volume
    try:
        then, now = dossier.version(volume.version), dossier.latest
    except KeyError:
        return None
    if then.metadata == now.metadata and then.manifest == now.manifest:
        return volume
    return None


def keep(dossier, data: bytes, actor, when, binder="", comment="") -> BoundVolume:
    """Store ``data`` (the volume just drawn) as the dossier's bound volume: a version
    records the binding, and the volume is kept with that version's number."""
    version = dossier.note(ACTION, actor, when, comment or f"装订案卷（{len(data)} 字节）")
    dossier.bound_volume = BoundVolume(data, version.number, binder or actor, when)
    return dossier.bound_volume


def bind(dossier, rules=None, *, doc_types=None, actor, when, binder="", checker="") -> BoundVolume:
    """Draw the dossier's volume now and keep it (see ``keep``); a dossier whose files were
    destroyed is refused (DossierError: a 400 on the web)."""
    dossier._check_not_destroyed()
    sheet = sheets(dossier, rules, doc_types=doc_types, binder=binder, checker=checker, when=when.date()
                   if hasattr(when, "date") else when)
    return keep(dossier, render(sheet), actor, when, binder)


class Drawing:
    """Volumes drawn in worker processes (one per core) while the caller gathers the next:
    a volume costs far more than gathering it (reportlab lays out its front matter, pypdf
    copies every page). ``done(key, data)`` is called in the order the volumes were
    added. One volume, or a machine of one core: drawn in place, no process started."""

    AHEAD = 16     # volumes in flight

    def __init__(self, done, count: int):
        from ..workers.processes import cores
        self.done, self.pending = done, collections.deque()
        self.parallel = count > 1 and cores() > 1
        self.pool = None      # started with the first volume to draw (a package of kept ones needs none)

    def add(self, key, sheet):
        if not self.parallel:
            self.done(key, render(sheet))
            return
        if self.pool is None:
            from ..workers.processes import context, cores
            self.pool = context().Pool(cores())
        self.pending.append((key, self.pool.apply_async(render, (sheet,))))
        if len(self.pending) > self.AHEAD:
            self._one()

    def _one(self):
        key, result = self.pending.popleft()
        self.done(key, result.get())

    def finish(self):
        while self.pending:
            self._one()
        self.close()

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def bind_many(dossiers, rules=None, *, doc_types=None, actor, when, binder="", checker="",
              again=False, progress=None, each=None) -> tuple:
    """Bind and keep every dossier's volume, drawn in worker processes; one whose kept
    volume is current is left as it is unless ``again``. ``each(dossier, volume)`` is
    called for every dossier (a volume just kept or the current one). Returns (bound, kept
    before)."""
    todo, skipped = [], []
    for dossier in dossiers:
        (todo if again or current(dossier) is None else skipped).append(dossier)
    day = when.date() if hasattr(when, "date") else when
    count = [0]

    def done(dossier, data):
        volume = keep(dossier, data, actor, when, binder)
        count[0] += 1
        if each is not None:
            each(dossier, volume)
        if progress is not None:
            progress(count[0], len(todo))

    with Drawing(done, len(todo)) as drawing:
        for dossier in todo:
            drawing.add(dossier, sheets(dossier, rules, doc_types=doc_types, binder=binder,
                                        checker=checker, when=day))
        drawing.finish()
    if each is not None:
        for dossier in skipped:
            each(dossier, dossier.bound_volume)
    return len(todo), len(skipped)
