"""Upgrading stored data when the model changes (Substance D's evolve, in small).

Each step is a function taking (root, registry) and bringing the database from one
generation to the next. ``CURRENT`` is the generation this code writes; a new database
starts there, an older one runs the missing steps in order, each step once.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import inspect
import logging
import sys

log = logging.getLogger(__name__)


def _listing_indexes(root, registry):
    """Generation 1: make sure every field listed in the schemas has its index."""
    from .records.container import listing_paths
    for kind in ("household", "unit"):
        container = root.container(kind)
        for path in listing_paths(registry, kind):
            container.ensure_index(path)


def _text_queue(root, registry):
    """Generation 2: the queue of file revisions waiting for their text layer."""
    from .workers.textlayer import TextQueue
    if getattr(root, "text_queue", None) is None:
        root.text_queue = TextQueue()


def _procedure(root, registry):
    """Generation 3: leases, the credit record, and every dossier placed in the procedure.

    Units keep the state their metadata carried (the field moves out of the metadata);
    households stored before the procedure start at 待受理, and a stored ``unit_ref`` —
    the old free-text link to a unit — leaves the metadata for the lease record, noted in
    the version's comment so nothing is lost without a trace.
    """
    import datetime as _dt

    from .records.container import ALWAYS
    from .workflow.credit import CreditRecord
    from .workflow.leases import LeaseBook
    if getattr(root, "leases", None) is None:
        root.leases = LeaseBook()
    if getattr(root, "credit", None) is None:
        root.credit = CreditRecord()
    when = _dt.datetime.now(_dt.timezone.utc)
    for kind in ("household", "unit"):
        container = root.container(kind)
        for path in ALWAYS:
            container.ensure_index(path)
        for dossier in list(container.values()):
            if dossier.state is not None:
                continue
            metadata = dict(dossier.metadata)
            if kind == "unit":
                state = metadata.pop("state", None) or "building"
                note = "房源状态改由房源流转管理"
            else:
                state, ref = "applied", metadata.pop("unit_ref", None)
                note = "纳入住房保障办理流程" + (f"；原配租房源档号 {ref} 改由租赁记录管理" if ref else "")
            dossier.adopt_state(state, "system", when, note, metadata)


def _lotteries(root, registry):
    """Generation 4: the book of lotteries (摇号记录)."""
    from .workflow.lottery.draw import LotteryBook
    if getattr(root, "lotteries", None) is None:
        root.lotteries = LotteryBook()


def _search_queue(root, registry):
    """Generation 5: the search indexer's queue, holding every dossier so far.

    The index itself lives outside ZODB; queueing every dossier makes the web server's
    indexer build it at the first start after the upgrade.
    """
    from .search.queue import IndexQueue
    if getattr(root, "index_queue", None) is None:
        root.index_queue = IndexQueue()
    for kind in ("household", "unit"):
        for dossier in root.container(kind).values():
            root.index_queue.add(f"{kind}/{dossier.archive_no}")


def _ocr_queue(root, registry):
    """Generation 6: the queue of scanned files (blank text layer) waiting for OCR."""
    from .workers.ocr import OcrQueue
    if getattr(root, "ocr_queue", None) is None:
        root.ocr_queue = OcrQueue()


def _audits(root, registry):
    """Generation 7: audit runs, credit events beside the bans, and the log's head."""
    from .audit.runs import AuditBook
    if getattr(root, "audits", None) is None:
        root.audits = AuditBook()
    root.credit._ensure()
    log = root.log
    if log.head is None:
        log.head = (log.entries.maxKey(), log.entries[log.entries.maxKey()].hash) \
            if len(log.entries) else (0, "0" * 64)


def _fixity_index(root, registry):
    """Generation 8: the archive's fixity index, from every dossier's stored files."""
    from .records.fixity import FixityIndex
    if getattr(root, "fixity", None) is None:
        root.fixity = FixityIndex()
    for kind in ("household", "unit"):
        for dossier in root.container(kind).values():
            root.fixity.record_dossier(dossier)


def _conflict_free(root, registry):
    """Generation 9: inboxes for the log and the queues, the modified index by the hour."""
    from .records.container import FieldIndex, modified_hour
    from .workers.inbox import Inbox
    for holder in (root.log, root.text_queue, root.ocr_queue, root.index_queue):
        if getattr(holder, "_inbox", None) is None:
            holder._inbox = Inbox()
    for kind in ("household", "unit"):
        container = root.container(kind)
        index = container.indexes["modified"] = FieldIndex("modified")
        for dossier in container.values():
            index.index(dossier.archive_no, modified_hour(dossier.modified))


def _loan_book(root, registry):
    """The loan book (利用登记簿: archive.custody.loans)."""
    from .custody.loans import LoanBook
    if getattr(root, "loans", None) is None:
        root.loans = LoanBook()


def _item_numbers(root, registry, progress=None):
    """Custody: 件号 for documents filed before, in filing order; the register of shelves."""
    from .custody.arrangement import number_items
    from .custody.shelving import Stacks
    number_items(root, progress)
    if getattr(root, "stacks", None) is None:
        root.stacks = Stacks()


def _cluster(root, registry):
    """The worker lease and heartbeat, login failures and the session secret in ZODB, shared
    by every server of a cluster (README "More than one server")."""
    from .workers.lease import ensure
    ensure(root)


def _sm3(root, registry, progress=None):
    """SM3 (GB/T 32905) beside SHA-256 for every file filed before it was recorded at filing:
    each stored file is read once, its SHA-256 checked against the record (a file that no
    longer matches keeps no SM3: the fixity audit reports it, rather than the upgrade
    sealing altered bytes with a fresh digest) and its SM3 kept on the file revision and
    in the fixity index."""
    import hashlib
    dossiers = [d for kind in ("household", "unit") for d in root.container(kind).values()]
    for n, dossier in enumerate(dossiers, 1):
        digests = {}
        for doc in dossier.documents.values():
            for revision in doc.files:
                if not revision.sm3:
                    try:
                        data = revision.read()
                    except Exception:   # a missing blob: fixity reports it, nothing to seal
                        continue
                    if hashlib.sha256(data).hexdigest() == revision.sha256:
                        revision.sm3 = hashlib.new("sm3", data).hexdigest()
                if revision.sm3:
                    digests[(doc.doc_id, revision.number)] = revision.sm3
        root.fixity.add_sm3(dossier, digests)
        if progress is not None:
            progress(n, len(dossiers))


def _receipts(root, registry):
    """The register of hand-over packages received, with their 四性检测 reports."""
    from .exchange.receipts import ReceiptBook
    if getattr(root, "receipts", None) is None:
        root.receipts = ReceiptBook()


def _small_records(root, registry):
    """What every filing rewrites made small (bench/growth.py): each dossier's
    fixity facts in a record of its own, the listing indexes and the log's sealed entries in
    small buckets, the inboxes of the log and the queues sharded."""
    from .access.auditlog import LogEntries
    from .records.container import small
    from .workers.inbox import sharded
    root.fixity.compact()
    for kind in ("household", "unit"):
        for index in root.container(kind).indexes.values():
            index.forward, index.reverse = small(index.forward), small(index.reverse)
    for holder in (root.log, root.text_queue, root.ocr_queue, root.index_queue):
        holder._inbox = sharded(getattr(holder, "_inbox", None))
    log = root.log
    if not isinstance(log.entries, LogEntries):
        entries = LogEntries()
        entries.update(log.entries)
        log.entries = entries


def _small_trees(root, registry):
    """The containers' dossiers and the fixity index's records in small buckets (IndexTree):
    a new dossier rewrites a bucket of 8 entries, not one of 30 (about 1 KB each,
    bench/growth.py)."""
    from .records.container import small
    for kind in ("household", "unit"):
        container = root.container(kind)
        container._items = small(container._items)
    root.fixity._entries = small(root.fixity._entries)


def _disposition(root, registry, progress=None):
    """Disposition: the book of disposition dates, holds, appraisals and destruction lists."""
    from .disposition.book import fill
    fill(root, progress=progress)


# The all-powerful administrator as roles.yaml had it before 三员分立, for the upgrade's report.
OLD_ADMIN = ("view", "view_personal", "create", "edit", "file", "restore", "manage_users",
             "view_log", "inspect", "audit", "shelve", "lend", "export", "dispose", "statistics")


def _separated_duties(root, registry, report=log.warning):
    """三员分立: each user holding the old ``admin`` role becomes a system administrator
    (accounts) who keeps his work on the dossiers as an archivist (档案管理员 holds every
    business permission the old admin had, less ``inspect`` and ``audit``, plus the
    procedure's steps, credit events and holds). One who was also an auditor stays the
    auditor, as archivist, and is not made system administrator: no one holds two of the
    three. Nobody is made security officer: that is a choice for the office, made at the
    command line (``archive user add LOGIN --role secadmin``). Each change goes into the
    audit log (actor ``evolve``) and is reported, with what the user gained and lost."""
    import datetime as _dt

    import yaml

    from .access.users import role_title
    # roles.yaml read as data, not through access.security (which reaches the store, whose
    # root runs these steps: an import circle)
    with open(registry.directory / "roles.yaml", encoding="utf-8") as fh:
        matrix_roles = yaml.safe_load(fh)["roles"]
    when = _dt.datetime.now(_dt.timezone.utc)
    users = list(root.users.values())
    for user in users:
        if "admin" not in user.roles:
            continue
        before = tuple(user.roles)
        kept = [r for r in before if r != "admin"]
        duty = [] if "auditor" in kept else ["sysadmin"]
        user.roles = tuple(dict.fromkeys(duty + kept + ["archivist"]))
        held = {p for r in user.roles for p in matrix_roles.get(r, ())}
        had = set(OLD_ADMIN) | {p for r in kept for p in matrix_roles.get(r, ())}
        had = {"manage_accounts", "manage_roles"} | had - {"manage_users"}
        gained, lost = sorted(held - had), sorted(had - held)
        root.log.append("evolve", "user.roles", user.login,
                        f"{','.join(before)} -> {','.join(user.roles)}", when)
        report(f"三员分立：用户 {user.login} 原为{'、'.join(role_title(r) for r in before)}，"
               f"现为{'、'.join(role_title(r) for r in user.roles)}"
               + (f"；新增权限 {', '.join(gained)}" if gained else "")
               + (f"；不再有 {', '.join(lost)}" if lost else ""))
    for role, what in (("sysadmin", "管理账号"), ("secadmin", "分配角色")):
        if users and not any(role in u.roles for u in users):
            report(f"三员分立：尚无{role_title(role)}，无人能在网页上{what}；请在服务器上运行 "
                   f"archive user add <登录名> --role {role} 任命一位（三员须由不同的人担任）")


def _subsidies(root, registry):
    """Rent subsidies (租赁补贴): the book of grants and their payments."""
    from .workflow.subsidy import SubsidyBook
    if getattr(root, "subsidies", None) is None:
        root.subsidies = SubsidyBook()


def _batches(root, registry):
    """单位集体申请: the book of batch plans and employers' dossiers (workflow/collective)."""
    from .workflow.collective.batch import BatchBook
    if getattr(root, "batches", None) is None:
        root.batches = BatchBook()


def _access_copies(root, registry, progress=None):
    """Scans filed before OCRmyPDF (archive.workers.ocr) queued again for their access copy
    (利用副本, PDF/A with a text layer): every revision the old OCR read or failed to read and
    that has no access copy. Their text stays searchable until OCRmyPDF replaces it."""
    dossiers = [d for kind in ("household", "unit") for d in root.container(kind).values()]
    for n, dossier in enumerate(dossiers, 1):
        for doc in dossier.documents.values():
            for revision in doc.files:
                if revision.text_status in ("ocr_done", "ocr_failed") and revision.access_copy is None:
                    revision.text_status = "ocr_pending"
                    root.ocr_queue.add(revision, dossier)
        if progress is not None:
            progress(n, len(dossiers))


def _employers(root, registry, report=None):
    """单位集体申请档案 become dossiers like the others: the employers' dossiers kept beside the
    batch plans move to the root's employers/ container (listing indexes, the search index's
    queue, the fixity index, disposition dates), which the batch book then reads.

    Reindex: the moved dossiers are queued for the search index (the worker indexes them
    after the upgrade commits; ``archive reindex`` or ``archive index-check --fix`` does it
    at once), their documents' files for the text layer the step never read; their versions
    were logged when made and are not logged again."""
    from BTrees.OOBTree import OOBTree

    from .records.container import DossierContainer, listing_paths
    from .workflow.collective.batch import BatchBook
    if getattr(root, "employers", None) is None:
        root.employers = DossierContainer("employers", "employer", listing_paths(registry, "employer"))
        root.employers.__parent__ = root
    if getattr(root, "batches", None) is None:
        root.batches = BatchBook(root.employers)
    kept = root.batches.employers
    moved = 0
    if kept is not root.employers:
        for no, dossier in list(kept.items()) if isinstance(kept, OOBTree) else ():
            if no not in root.employers:
                root.employers.place(dossier)
                moved += 1
                for doc in dossier.documents.values():   # filed then without a text layer read
                    if doc.current_file is not None and doc.current_file.text_status == "pending":
                        root.text_queue.add(doc.current_file, dossier)
        root.batches.employers = root.employers
    if moved and report is not None:
        report(f"单位集体申请档案：{moved} 卷移入 employers/，已排队重建检索索引")


def _employer_disposition(root, registry, progress=None):
    """Disposition dates for the employers' dossiers (schemas/disposition.yaml gave their
    kind a rule: filing): the book indexes every dossier again, writing only changed dates."""
    from .disposition.book import fill
    fill(root, progress=progress)


STEPS = [_listing_indexes, _text_queue, _procedure, _lotteries, _search_queue,
         _ocr_queue, _audits, _fixity_index, _conflict_free, _item_numbers,
         _loan_book, _cluster, _sm3, _receipts, _small_records,
         _disposition, _separated_duties, _subsidies, _batches, _access_copies,
         _small_trees, _employers, _employer_disposition]   # STEPS[n]: generation n to n + 1
CURRENT = len(STEPS)


def upgrade(root, registry, steps=None, progress=None, report=None) -> int:
    """Run the steps the root has not had yet; returns how many ran.

    ``progress(done, total)`` is handed to the steps that take it (long walks over every
    dossier), so ``archive evolve`` shows a bar; ``report(line)`` to the steps that say
    what they changed (``archive evolve`` prints it; otherwise it goes to the log)."""
    import inspect
    steps = STEPS if steps is None else steps
    ran = 0
    while root.generation < len(steps):
        step = steps[root.generation]
        log.info("evolve: generation %s -> %s (%s)", root.generation, root.generation + 1,
                 step.__doc__.strip().splitlines()[0] if step.__doc__ else step.__name__)
        takes = inspect.signature(step).parameters
        extra = {}
        if progress is not None and "progress" in takes:
            extra["progress"] = progress
        if "report" in takes:
            extra["report"] = report or log.warning
        step(root, registry, **extra)
        root.generation += 1
        ran += 1
    return ran


# Modules that moved into packages (one package per concern): ZODB pickles name a class by
# its module, so a database written before the move names the old ones. These names stay
# importable as aliases of the new modules, for ever: any record not rewritten since still
# loads, and a record rewritten by a change names the new module.
MOVED = {
    "archive.dossier": "archive.records.dossier", "archive.document": "archive.records.document",
    "archive.version": "archive.records.version", "archive.container": "archive.records.container",
    "archive.numbering": "archive.records.numbering", "archive.fixity": "archive.records.fixity",
    "archive.filing": "archive.records.filing", "archive.pdf": "archive.records.pdf",
    "archive.history": "archive.records.history",
    "archive.schemas": "archive.schema.registry", "archive.validators": "archive.schema.validators",
    "archive.idnumber": "archive.schema.idnumber",
    "archive.security": "archive.access.security", "archive.users": "archive.access.users",
    "archive.personal": "archive.access.personal", "archive.auditlog": "archive.access.auditlog",
    "archive.leases": "archive.workflow.leases", "archive.credit": "archive.workflow.credit",
    "archive.workdays": "archive.workflow.workdays",
    "archive.lottery": "archive.workflow.lottery.draw",
    "archive.lottery_pdf": "archive.workflow.lottery.pdf",
    "archive.background": "archive.workers.background",
    "archive.textlayer": "archive.workers.textlayer", "archive.ocr": "archive.workers.ocr",
    "archive.inbox": "archive.workers.inbox", "archive.inspections": "archive.search.inspections",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as the module it became (``MOVED``)."""

    def find_spec(self, name, path=None, target=None):
        if name in MOVED:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        pass


def alias_moved_modules():
    """Install the aliases once (archive/__init__ does, before any database is opened)."""
    if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
        sys.meta_path.append(_MovedModules())
