"""Evolve: a stored database is brought to the code's generation step by step, each step once."""
import types

import pytest

from archive import evolve
from archive.root import ROOT_KEY, ArchiveRoot, bootstrap


def _recording_steps(calls, count=3):
    def make(n):
        def step(root, registry):
            calls.append((n, root.generation))
        step.__doc__ = f"Generation {n + 1}: test step."
        return step
    return [make(n) for n in range(count)]


def test_upgrade_runs_every_missing_step_in_order():
    calls, root = [], types.SimpleNamespace(generation=0)
    ran = evolve.upgrade(root, None, _recording_steps(calls))
    assert (ran, calls, root.generation) == (3, [(0, 0), (1, 1), (2, 2)], 3)


def test_upgrade_runs_only_the_steps_a_root_has_not_had():
    calls, root = [], types.SimpleNamespace(generation=2)
    evolve.upgrade(root, None, _recording_steps(calls))
    assert calls == [(2, 2)]


def test_upgrade_runs_each_step_once():
    calls, root = [], types.SimpleNamespace(generation=0)
    steps = _recording_steps(calls)
    evolve.upgrade(root, None, steps)
    assert evolve.upgrade(root, None, steps) == 0 and len(calls) == 3


def test_failing_step_leaves_the_generation_before_it():
    def broken(root, registry):
        raise RuntimeError("boom")
    root = types.SimpleNamespace(generation=0)
    with pytest.raises(RuntimeError):
        evolve.upgrade(root, None, _recording_steps([], 1) + [broken])
    assert root.generation == 1


def test_bootstrap_on_an_empty_root_creates_the_archive_root(registry):
    zodb_root = {}
    root = bootstrap(zodb_root, registry)
    assert isinstance(root, ArchiveRoot) and zodb_root[ROOT_KEY] is root


def test_new_root_starts_at_the_current_generation(registry):
    assert bootstrap({}, registry).generation == evolve.CURRENT


def test_new_root_has_an_index_for_every_listed_field(registry):
    root = bootstrap({}, registry)
    assert {"jurisdiction", "category", "district", "applicant.name",
            "income_per_capita", "modified", "state", "due"} <= set(root.households.indexes)


def test_bootstrap_returns_the_stored_root_when_there_is_one(registry):
    zodb_root = {}
    first = bootstrap(zodb_root, registry)
    assert bootstrap(zodb_root, registry) is first


def test_bootstrap_upgrades_an_old_root(registry):
    """A generation-0 database that predates an index gets it on the next start."""
    old = ArchiveRoot(registry)
    del old.units.indexes["layout"]
    old.generation = 0
    root = bootstrap({ROOT_KEY: old}, registry)
    assert "layout" in root.units.indexes and root.generation == evolve.CURRENT


def test_bootstrap_gives_an_old_root_its_text_queue(registry):
    old = ArchiveRoot(registry)
    del old.text_queue
    old.generation = 1
    root = bootstrap({ROOT_KEY: old}, registry)
    assert len(root.text_queue) == 0 and root.generation == evolve.CURRENT


def test_bootstrap_gives_an_old_root_its_ocr_queue(registry):
    old = ArchiveRoot(registry)
    del old.ocr_queue
    old.generation = 5
    root = bootstrap({ROOT_KEY: old}, registry)
    assert len(root.ocr_queue) == 0 and root.generation == evolve.CURRENT


def test_generation_7_and_8_add_audits_credit_events_the_log_head_and_the_fixity_index(registry):
    """A database from before the audits: no audit book, no credit events, no log head and
    dossiers without fixity registers; the two steps add all four from what is stored."""
    import datetime as dt

    import ZODB

    from archive.records import filing
    from archive.records.pdf import inspect
    from conftest import household_input, make_pdf
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist")
    data = make_pdf()
    doc = dossier.file_document({"doc_type": "income_proof", "title": "收入证明"}, data, inspect(data),
                                "a.pdf", "archivist", dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc))
    del root.audits
    root.credit._events = root.credit._by_person = None
    root.log.seal()
    root.log.head = None
    del root.fixity
    evolve._audits(root, registry)
    evolve._fixity_index(root, registry)
    assert len(root.audits) == 0 and root.credit.events() == []
    assert root.log.check().ok and root.log.head[0] == len(root.log)
    assert [(e.doc_id, e.file_no, e.sha256) for e in root.fixity.of("household", dossier.archive_no)] == \
        [(doc.doc_id, 1, doc.current_file.sha256)]


def test_generation_10_makes_what_a_filing_rewrites_small_and_keeps_everything(registry):
    """A generation-9 archive (plain inboxes, 60-entry log buckets, 30-entry index buckets,
    every dossier's fixity facts as a tuple in a shared bucket) keeps every entry, queued
    item and index value through the step, in the new shapes."""
    import datetime as dt

    import ZODB
    from BTrees.LOBTree import LOBTree
    from BTrees.OOBTree import OOBTree

    from archive.access.auditlog import LogEntries
    from archive.records import filing
    from archive.records.container import IndexTree
    from archive.records.fixity import DossierFiles
    from archive.workers.inbox import Inbox, ShardedInbox
    from conftest import doc_fields, household_input, make_pdf
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    dossier = filing.create_dossier(root, registry, "household", household_input(), "archivist")
    filing.file_document(dossier, registry, doc_fields(), make_pdf(), "a.pdf", "archivist")
    root.log.seal()
    root.log.append("admin", "login", when=dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc))  # waiting
    before = (root.log.check().head, [e.hash for e in root.log.entries.values()], len(root.log),
              list(root.fixity.entries()), len(root.text_queue), len(root.index_queue),
              {p: list(i.forward.items()) for p, i in root.households.indexes.items()})
    # the generation-9 shapes
    root.log.entries = LOBTree(root.log.entries)
    for holder in (root.log, root.text_queue, root.ocr_queue, root.index_queue):
        old = Inbox()
        for key, value in holder._inbox.items():
            old.put(key, value)
        holder._inbox = old
    for index in root.households.indexes.values():
        index.forward, index.reverse = OOBTree(index.forward), OOBTree(index.reverse)
    entries = root.fixity._entries
    for key, held in list(entries.items()):
        entries[key] = tuple((f[0], f[1], f[2].hex(), *f[3:]) for f in held.files)
    root.generation = 9
    evolve.upgrade(root, registry)
    assert isinstance(root.log.entries, LogEntries) and isinstance(root.log._inbox, ShardedInbox)
    assert isinstance(root.text_queue._inbox, ShardedInbox)
    assert all(isinstance(i.forward, IndexTree) and isinstance(i.reverse, IndexTree)
               for i in root.households.indexes.values())
    assert all(isinstance(v, DossierFiles) for v in root.fixity._entries.values())
    after = (root.log.check().head, [e.hash for e in root.log.entries.values()], len(root.log),
             list(root.fixity.entries()), len(root.text_queue), len(root.index_queue),
             {p: list(i.forward.items()) for p, i in root.households.indexes.items()})
    assert after == before and root.log.seal() == 1 and root.log.check().ok


def test_separated_duties_maps_every_old_administrator_and_says_so(registry):
    """三员分立: an old ``admin`` becomes system administrator and archivist; one who was also
    the auditor stays auditor (never two of the three); each change is logged and reported,
    and the missing security officer is pointed out."""
    import ZODB

    from archive.access.users import make_hasher
    root = bootstrap(ZODB.DB(None).open().root(), registry)
    hasher = make_hasher(time_cost=1, memory_cost=1024)
    for login, roles in (("boss", ("admin",)), ("wang", ("admin", "auditor")),
                         ("li", ("archivist",))):
        root.users.add(login, login, [], "secret-pass-1", hasher).roles = roles
    root.generation = evolve.STEPS.index(evolve._separated_duties)
    lines = []
    assert evolve.upgrade(root, registry, report=lines.append) >= 1
    assert root.users["boss"].roles == ("sysadmin", "archivist")
    assert root.users["wang"].roles == ("auditor", "archivist")
    assert root.users["li"].roles == ("archivist",)
    entries = {e.target: e for e in root.log.newest(10, "user.roles")}
    assert set(entries) == {"boss", "wang"} and entries["boss"].actor == "evolve"
    assert entries["boss"].detail == "admin -> sysadmin,archivist"
    boss = next(line for line in lines if "boss" in line)
    assert "系统管理员、档案管理员" in boss and "新增权限 credit, hold, transition" in boss
    assert "不再有 audit, inspect, manage_roles, view_log" in boss
    assert any("尚无安全保密管理员" in line and "--role secadmin" in line for line in lines)


def test_the_access_copy_step_is_a_step(registry):
    assert evolve._access_copies in evolve.STEPS
