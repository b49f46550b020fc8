"""The application root (档案库): containers, users, numbering, the log, the generation.

``bootstrap`` makes the root on an empty database and upgrades an older one step by step
(see archive.evolve), so a stored database always matches the code that opens it.
"""
from __future__ import annotations

from persistent import Persistent

from .audit.runs import AuditBook
from .access.auditlog import AuditLog
from .records.container import CONTAINERS, DossierContainer, listing_paths
from .workflow.credit import CreditRecord
from .custody.loans import LoanBook
from .records.fixity import FixityIndex
from .workflow.leases import LeaseBook
from .workflow.subsidy import SubsidyBook
from .workflow.lottery.draw import LotteryBook
from .records.numbering import ArchiveNumbers
from .workers.ocr import OcrQueue
from .search.queue import IndexQueue
from .workers.textlayer import TextQueue
from .exchange.receipts import ReceiptBook
from .access.users import Users
from .custody.shelving import Stacks
from .workers.lease import ensure as cluster_state
from .disposition.book import DispositionBook
from .workflow.collective.batch import BatchBook

ROOT_KEY = "archive"


class ArchiveRoot(Persistent):
    """档案库: the top of the object tree."""

    __name__ = ""
    __parent__ = None

    def __init__(self, registry):
        self.households = DossierContainer("households", "household", listing_paths(registry, "household"))
        self.units = DossierContainer("units", "unit", listing_paths(registry, "unit"))
        # 单位集体申请档案 (厦门): employers' dossiers, made by a batch's application step
        self.employers = DossierContainer("employers", "employer", listing_paths(registry, "employer"))
        self.users = Users()
        self.numbers = ArchiveNumbers()
        self.log = AuditLog()
        self.text_queue = TextQueue()
        self.leases = LeaseBook()
        self.subsidies = SubsidyBook()   # 租赁补贴 (archive.workflow.subsidy)
        self.credit = CreditRecord()
        self.lotteries = LotteryBook()
        self.index_queue = IndexQueue()
        self.ocr_queue = OcrQueue()
        self.audits = AuditBook()
        self.fixity = FixityIndex()
        self.stacks = Stacks()   # 库房管理: the register of storage places and the stock-takes
        self.loans = LoanBook()
        cluster_state(self)
        self.receipts = ReceiptBook()     # hand-over packages received (archive.exchange)
        self.disposition = DispositionBook()   # 鉴定与处置: dates, holds, appraisals, destruction
        self.batches = BatchBook(self.employers)   # 单位集体申请: batch plans (reads employers/)
        for child in (self.households, self.units, self.employers, self.users, self.log):
            child.__parent__ = self
        self.generation = 0

    def __getitem__(self, name):
        if name in ("households", "units", "employers", "users", "log"):
            return getattr(self, name)
        raise KeyError(name)

    def container(self, kind) -> DossierContainer:
        return getattr(self, CONTAINERS[kind])


def bootstrap(zodb_root, registry):
    """The ArchiveRoot in a ZODB root mapping, created or upgraded as needed."""
    from . import evolve
    root = zodb_root.get(ROOT_KEY)
    if root is None:
        root = zodb_root[ROOT_KEY] = ArchiveRoot(registry)
        root.generation = evolve.CURRENT
    evolve.upgrade(root, registry)
    return root
