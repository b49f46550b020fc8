"""The audit log (审计日志): append-only, each entry chained to the one before by hash."""
import dataclasses
import datetime as dt

import pytest

from archive.access.auditlog import GENESIS, AuditLog, entry_hash

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def log():
    log = AuditLog()
    for i, (actor, action, target) in enumerate([
            ("admin", "login", ""), ("inspector", "view_personal", "CZ-HH-2026-Y-00001"),
            ("admin", "user_added", "archivist"), ("inspector", "view_personal", "CZ-HH-2026-Y-00002")]):
        log.append(actor, action, target, "", when=T0 + dt.timedelta(minutes=i))
    log.seal()
    return log


def test_entries_are_numbered_from_one(log):
    assert list(log.entries.keys()) == [1, 2, 3, 4]


def test_first_entry_links_to_the_genesis_hash(log):
    assert log.entries[1].prev_hash == GENESIS


def test_each_entry_links_to_the_hash_of_the_one_before(log):
    assert all(log.entries[n].prev_hash == log.entries[n - 1].hash for n in (2, 3, 4))


def test_entry_hash_covers_its_content(log):
    e = log.entries[2]
    assert e.hash == entry_hash(e.number, e.when, e.actor, e.action, e.target, e.detail, e.prev_hash)


def test_append_records_who_what_and_when():
    entry = AuditLog().append("inspector", "view_personal", "CZ-HH-2026-Y-00001", "身份证号码", when=T0)
    assert (entry.actor, entry.action, entry.target, entry.detail, entry.when) == \
        ("inspector", "view_personal", "CZ-HH-2026-Y-00001", "身份证号码", T0)


def test_append_without_a_time_uses_an_aware_now():
    assert AuditLog().append("admin", "login").when.tzinfo is not None


def test_entry_cannot_be_changed_in_place(log):
    with pytest.raises(dataclasses.FrozenInstanceError):
        log.entries[2].actor = "nobody"


def test_intact_log_verifies(log):
    assert log.verify() is None


def test_empty_log_verifies():
    assert AuditLog().verify() is None


def test_tampered_entry_is_found(log):
    log.entries[2] = dataclasses.replace(log.entries[2], actor="admin")
    assert log.verify() == 2


def test_tampered_entry_with_a_recomputed_hash_breaks_the_next_link(log):
    e = dataclasses.replace(log.entries[2], target="CZ-HH-2026-Y-00099")
    log.entries[2] = dataclasses.replace(e, hash=entry_hash(
        e.number, e.when, e.actor, e.action, e.target, e.detail, e.prev_hash))
    assert log.verify() == 3


def test_removed_entry_is_found_and_named(log):
    del log.entries[2]
    report = log.check()
    assert (report.ok, report.broken_at) == (False, 2) and "缺少第 2 条" in report.reason


def test_edited_entry_is_named_with_the_reason(log):
    log.entries[3] = dataclasses.replace(log.entries[3], detail="改过")
    report = log.check()
    assert report.broken_at == 3 and "内容与其哈希不符" in report.reason


def test_entries_cut_off_the_end_are_found_through_the_head(log):
    del log.entries[4]
    report = log.check()
    assert not report.ok and "日志头记录到第 4 条" in report.reason


def test_intact_log_reports_its_head(log):
    report = log.check()
    assert report.ok and report.entries == 4 and report.head == (4, log.entries[4].hash)


def test_a_log_kept_before_the_head_existed_still_verifies(log):
    log.head = None
    assert log.check().ok


def test_newest_filters_by_target(log):
    assert [e.number for e in log.newest(target="CZ-HH-2026-Y-00002")] == [4]


def test_action_titles_read_in_chinese_and_english():
    from archive.access.auditlog import action_title
    assert action_title("dossier.filed") == "归档文件"
    assert action_title("transition.accept", "en") == "Step: accept"


def test_newest_lists_latest_first_and_filters_by_action(log):
    assert [e.number for e in log.newest(action="view_personal")] == [4, 2]


def test_newest_respects_the_limit(log):
    assert [e.number for e in log.newest(limit=2)] == [4, 3]


def test_appended_entries_wait_unnumbered_until_sealed():
    log = AuditLog()
    waiting = log.append("archivist", "dossier.filed", "CZ-HH-2026-Y-00001", "v2", when=T0)
    assert waiting.number is None and len(log) == 1 and not len(log.entries)
    assert [e.action for e in log.newest()] == ["dossier.filed"]
    report = log.check()
    assert report.ok and report.waiting == 1
    assert log.seal() == 1 and log.seal() == 0
    assert log.entries[1].target == "CZ-HH-2026-Y-00001" and log.head == (1, log.entries[1].hash)
    assert log.check().waiting == 0


def test_sealing_chains_in_the_order_entries_were_appended(log):
    log.append("a", "x", "first", when=T0 + dt.timedelta(days=1))
    log.append("b", "y", "second", when=T0)          # an earlier clock does not reorder
    log.seal()
    assert [log.entries[n].target for n in (5, 6)] == ["first", "second"]
    assert log.entries[5].prev_hash == log.entries[4].hash and log.check().ok


def test_newest_shows_waiting_entries_first(log):
    log.append("admin", "login", "", when=T0)
    assert [e.number for e in log.newest(limit=3)] == [None, 4, 3]


def test_a_long_wait_seals_in_the_appender():
    """With no sealer running, an appender seals them all once more than SEAL_AT wait (seen
    when its shard of the inbox is past twice its share): never below, the wait bounded."""
    from archive.access.auditlog import SEAL_AT
    log = AuditLog()
    most = 0
    for i in range(3 * SEAL_AT):
        log.append("cli", "demo.build", f"t{i}", when=T0)
        most = max(most, log.waiting())
        if i < SEAL_AT:
            assert not len(log.entries)
    assert len(log.entries) > 0 and len(log) == 3 * SEAL_AT and log.check().ok
    assert most <= len(log._inbox._shards) * log._inbox.limit(SEAL_AT)


def test_a_lone_surrogate_does_not_make_the_log_unsealable():
    log = AuditLog()
    log.append("archivist", "dossier.edited", "CZ-HH-2026-Y-00001", "坏\ud800字", when=T0)
    assert log.seal() == 1 and log.check().ok


def test_hashes_of_plain_text_are_as_before():
    """surrogatepass changes nothing for text without lone surrogates: old chains hold."""
    import hashlib
    import json
    payload = json.dumps([1, T0.isoformat(), "admin", "login", "", "中文", GENESIS],
                         ensure_ascii=False, separators=(",", ":"))
    assert entry_hash(1, T0, "admin", "login", "", "中文", GENESIS) == \
        hashlib.sha256(payload.encode("utf-8")).hexdigest()


def test_stale_waiting_entries_are_reported(monkeypatch):
    import time
    from archive.access import auditlog
    log = AuditLog()
    log.append("admin", "login", "", when=T0)
    later = time.time_ns() + int((auditlog.STALE_SECONDS + 60) * 1e9)
    monkeypatch.setattr(auditlog.time, "time_ns", lambda: later)
    report = log.check()
    assert report.ok and report.waiting == 1 and report.oldest_wait > auditlog.STALE_SECONDS
