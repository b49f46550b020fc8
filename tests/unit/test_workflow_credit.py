"""The credit record (诚信档案): events against a person, and the bans each city sets off."""
from __future__ import annotations

import datetime as dt

import pytest
import ZODB

from archive.workflow.credit import CreditError, record
from archive.root import bootstrap
from conftest import household_input

NOW = dt.datetime(2026, 3, 2, 2, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 3, 1)


@pytest.fixture
def root(registry):
    return bootstrap(ZODB.DB(None).open().root(), registry)


def household(root, procedure, city, region, seq=11):
    from archive.schema import idnumber
    data = household_input(seq=seq, jurisdiction=city)
    data["applicant"]["id_number"] = idnumber.make(region, dt.date(1985, 5, 1), seq)
    return procedure.open_dossier(root, "household", data, "archivist", when=NOW)


def applicant(dossier):
    return dossier.metadata["applicant"]["id_number"]


def test_fraud_in_tengchong_bars_the_person_for_five_years(root, procedure):
    h = household(root, procedure, "tengchong", "530581")
    event = record(root, procedure.profile(h), h, applicant(h), "fraud", DAY, "隐瞒名下房产", "archivist", NOW)
    assert (event.kind, event.dossier, event.recorded_by, event.ban_until) == \
        ("fraud", h.archive_no, "archivist", dt.date(2031, 3, 1))
    bans = root.credit.active_bans(applicant(h), dt.date(2031, 2, 28))
    assert [(b.reason, b.event_id) for b in bans] == [("fraud", event.event_id)]
    assert root.credit.active_bans(applicant(h), dt.date(2031, 3, 1)) == []    # ends on its end date
    assert root.credit.events(applicant(h)) == [event]


def test_changzhou_records_fraud_without_a_ban_in_years(root, procedure):
    h = household(root, procedure, "changzhou", "320402")
    event = record(root, procedure.profile(h), h, applicant(h), "fraud", DAY, "虚报收入", "archivist", NOW)
    assert event.ban_until is None and root.credit.bans(applicant(h)) == ()
    assert root.credit.events(applicant(h)) == [event]


def test_changzhou_bars_declining_for_two_years(root, procedure):
    h = household(root, procedure, "changzhou", "320402")
    event = record(root, procedure.profile(h), h, applicant(h), "decline", DAY, "无正当理由放弃选房",
                   "reviewer", NOW)
    assert event.ban_until == dt.date(2028, 3, 1)


def test_tengchong_exit_offences_bar_for_five_years(root, procedure):
    h = household(root, procedure, "tengchong", "530581")
    event = record(root, procedure.profile(h), h, applicant(h), "sublet", DAY, "将住房转租他人", "archivist", NOW)
    assert event.ban_until == dt.date(2031, 3, 1)


@pytest.mark.parametrize("number, kind, description, evidence, message", [
    ("530581198505011234", "fraud", "x", "", "身份证号码：校验码错误"),
    ("110101199003070011", "fraud", "x", "", "没有身份证号码为该号码"),
    (None, "gambling", "x", "", "失信行为类别：没有“gambling”"),
    (None, "fraud", "  ", "", "请写明失信行为的具体情况"),
    (None, "fraud", "x", "D0099", "证据文件 D0099 不在档案"),
])
def test_bad_events_are_refused_and_nothing_is_kept(root, procedure, number, kind, description,
                                                   evidence, message):
    h = household(root, procedure, "tengchong", "530581")
    with pytest.raises(CreditError, match=message):
        record(root, procedure.profile(h), h, number or applicant(h), kind, DAY, description, "archivist",
               NOW, evidence=evidence)
    assert root.credit.events() == [] and root.credit.bans(applicant(h)) == ()


def test_an_event_in_the_future_is_refused(root, procedure):
    h = household(root, procedure, "tengchong", "530581")
    with pytest.raises(CreditError, match="不能晚于今天"):
        record(root, procedure.profile(h), h, applicant(h), "fraud", dt.date(2026, 4, 1), "x", "archivist", NOW)


def test_a_banned_applicant_is_refused_until_the_ban_ends(root, procedure):
    h = household(root, procedure, "tengchong", "530581")
    record(root, procedure.profile(h), h, applicant(h), "fraud", DAY, "伪造收入证明", "archivist", NOW)
    again = household(root, procedure, "tengchong", "530581")     # the same person applies again
    accept = procedure.workflows["household"].transition("accept")
    during = dt.datetime(2031, 2, 28, 2, tzinfo=dt.timezone.utc)
    messages = [p.message for p in procedure.check(root, again, accept, when=during)]
    assert any("因“提供虚假材料”被限制申请，至 2031-02-28 止" in m for m in messages)
    after = dt.datetime(2031, 3, 1, 2, tzinfo=dt.timezone.utc)
    assert not any("限制申请" in p.message for p in procedure.check(root, again, accept, when=after))


def test_declining_in_changzhou_records_an_event_and_its_ban(root, procedure):
    """The workflow's own ban (decline) goes through the credit record as an event too."""
    h = household(root, procedure, "changzhou", "320402")
    flow = procedure.workflows["household"].transition("decline")
    procedure._ban(root, h, flow, procedure._context(root, h, flow, {}, NOW, "reviewer"), "放弃")
    events = root.credit.events(applicant(h))
    assert [(e.kind, e.ban_until) for e in events] == [("decline", dt.date(2028, 3, 2))]
