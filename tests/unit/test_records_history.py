"""Case history (案件历程) and the inspections (案件核查): one timeline per household, and the
queries across households an inspector relies on."""
import datetime as dt

import pytest

from archive.records import filing
from archive.records import history
from archive.schema import idnumber
from archive.search import inspections
from archive.workflow import leases
from archive.workflow.credit import Ban
import walk
from conftest import household_input, make_pdf
from walk import DAY, T0, file, prepared, stage_docs, step

HOUR = dt.timedelta(hours=1)
OTHER_FILE = make_pdf("经济状况核对报告（更正）")


def edit(registry, dossier, when, comment, **changes):
    data = registry["household"].colander().serialize({**dossier.metadata, **changes})
    return filing.edit_dossier(dossier, registry, data, "archivist", comment, when=when)


def doc_of(dossier, doc_type):
    return next(d for d in dossier.documents.values() if d.metadata["doc_type"] == doc_type)


@pytest.fixture
def walked(root, registry, procedure):
    """A household from application to exit, with a correction before and after approval, a
    refiled, edited and withdrawn document, a restore, a renewed lease, and a member barred
    (years ago, for another household) — the whole life a timeline must tell."""
    household = walk.new_household(procedure, root)
    member_id = household.metadata["members"][0]["id_number"]
    root.credit.record_ban(Ban(member_id, "fraud", dt.date(2019, 3, 1), dt.date(2024, 3, 1),
                               note="隐瞒名下房产", recorded_by="reviewer", dossier="CZ-HH-2019-Y-00007"))
    unit = walk.new_unit(procedure, root)
    prepared(procedure, root, registry, household, "accept", T0 + HOUR)
    edit(registry, household, T0 + 2 * HOUR, "申请人更换手机号码", phone="13900001111")
    prepared(procedure, root, registry, household, "approve", T0 + DAY)
    edit(registry, household, T0 + DAY + HOUR, "补报收入", income_per_capita=1500.0)
    report = doc_of(household, "check_report")
    filing.refile_document(household, report.doc_id, OTHER_FILE, "核对报告.pdf", "archivist",
                           "更正核对报告", when=T0 + DAY + 2 * HOUR)
    cstruct = registry["document"].colander().serialize({**report.metadata, "title": "核对报告（更正）"})
    filing.edit_document(household, registry, report.doc_id, cstruct, "archivist", "更正题名",
                         when=T0 + DAY + 3 * HOUR)
    before_withdrawal = household.latest.number
    household.withdraw_document(report.doc_id, "误归档", "archivist", T0 + DAY + 4 * HOUR)
    household.restore(before_withdrawal, "archivist", T0 + DAY + 5 * HOUR, "撤出有误")
    prepared(procedure, root, registry, household, "publish", T0 + 2 * DAY)
    when = walk.after_period(procedure, household, "publicity", T0 + 2 * DAY)
    prepared(procedure, root, registry, household, "register", when)
    step(procedure, root, household, "allocate", when + HOUR, inputs={"unit": unit.archive_no})
    prepared(procedure, root, registry, household, "sign", when + DAY,
             inputs={"start": "2026-05-01", "end": "2027-04-30"})
    prepared(procedure, root, registry, household, "renew", when + 300 * DAY,
             inputs={"end": "2029-04-30"})
    prepared(procedure, root, registry, household, "exit", when + 400 * DAY, comment="收入超标")
    prepared(procedure, root, registry, household, "complete_exit", when + 460 * DAY)
    return household, unit


def kinds(events):
    return [e.kind for e in events]


# -- the timeline ----------------------------------------------------------------------------
def test_every_kind_of_event_appears_once_in_time_order(root, registry, procedure, walked):
    household, unit = walked
    events = history.timeline(household, root, registry, procedure=procedure)
    assert events[0].kind == "ban" and events[0].date_only and events[0].day == dt.date(2019, 3, 1)
    assert events[1].kind == "created"
    assert [e.when for e in events[1:]] == sorted(e.when for e in events[1:])
    assert {"created", "filed", "edited", "refiled", "document_edited", "withdrawn", "restored",
            "transition", "ban"} == set(kinds(events))
    steps = [e.transition for e in events if e.kind == "transition"]
    assert steps == ["accept", "approve", "publish", "register", "allocate", "sign", "renew",
                     "exit", "complete_exit"]
    # one event per version, plus the ban: nothing listed twice
    assert len(events) == len(household.versions) + 1


def test_lease_steps_are_one_event_with_both_facts(root, registry, procedure, walked):
    household, unit = walked
    events = history.timeline(household, root, registry, procedure=procedure)
    lease_events = [e for e in events if "lease" in e.groups]
    assert [(e.transition, [f.kind for f in e.facts]) for e in lease_events] == [
        ("allocate", ["lease_offer"]), ("sign", ["lease_start"]), ("renew", ["lease_renewal"]),
        ("exit", ["lease_transition"]), ("complete_exit", ["lease_end"])]
    sign = lease_events[1]
    assert sign.groups == ("procedure", "lease")
    assert (sign.from_title, sign.to_title) == ("已配租待签约", "在租")
    assert dict(sign.details)["租期"] == "2026-05-01 至 2027-04-30"
    assert sign.facts[0].ref == household.leases[0].lease_id
    assert sign.facts[0].link == ("unit", unit.archive_no)


def test_changes_are_listed_with_field_titles_and_personal_data_masked(root, registry, procedure, walked):
    household, _ = walked
    events = history.timeline(household, root, registry, procedure=procedure)
    phone = next(e for e in events if e.comment == "申请人更换手机号码")
    assert [(f.title, f.old, f.new) for f in phone.fields] == [("联系电话", "138****5678", "139****1111")]
    income = next(e for e in events if e.comment == "补报收入")
    assert [(f.title, f.old, f.new) for f in income.fields] == [("家庭人均月收入（元）", "1,200.50", "1,500.00")]
    refiled = next(e for e in events if e.kind == "refiled")
    assert [(d.change, d.old_file_no, d.file_no) for d in refiled.documents] == [("file", 1, 2)]
    withdrawn = next(e for e in events if e.kind == "withdrawn")
    assert withdrawn.documents[0].reason == "误归档" and withdrawn.title.startswith("撤出文件：")
    restored = next(e for e in events if e.kind == "restored")
    assert [d.change for d in restored.documents] == ["reinstated"]
    ban = events[0]
    member = household.metadata["members"][0]
    assert ban.facts[0].ref == idnumber.mask(member["id_number"])
    assert dict(ban.details)["姓名"] == member["name"] and ban.actor == "reviewer"
    text = repr(events)
    for person in household.people():
        assert person["id_number"] not in text
    assert "13900001111" not in text and "13812345678" not in text
    assert household.metadata["address"] not in text


def test_unmasked_on_request_and_titles_in_english(root, registry, procedure, walked):
    household, _ = walked
    events = history.timeline(household, root, registry, "en", procedure=procedure, unmasked=True)
    phone = next(e for e in events if e.comment == "申请人更换手机号码")
    assert [(f.title, f.old, f.new) for f in phone.fields] == [("Phone", "13812345678", "13900001111")]
    accept = next(e for e in events if e.transition == "accept")
    assert (accept.title, accept.from_title, accept.to_title) == (
        "Accept", "Awaiting acceptance", "Under review")
    assert events[0].title == "Barred from applying: False material"
    assert household.metadata["members"][0]["id_number"] in repr(events[0])


def test_filtering_by_group(root, registry, procedure, walked):
    household, _ = walked
    events = history.timeline(household, root, registry, procedure=procedure)
    assert {e.kind for e in history.filtered(events, ["documents"])} == {
        "filed", "refiled", "document_edited", "withdrawn"}
    assert kinds(history.filtered(events, ["credit"])) == ["ban"]
    assert [e.transition for e in history.filtered(events, ["lease"])] == [
        "allocate", "sign", "renew", "exit", "complete_exit"]
    assert history.filtered(events, []) == events


def test_a_ban_set_off_by_declining_joins_the_step(root, registry, procedure):
    household = walk.new_household(procedure, root)
    unit = walk.new_unit(procedure, root)
    when = walk.to_registered(procedure, root, registry, household)
    step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
    step(procedure, root, household, "decline", when + DAY, comment="不愿入住")
    events = history.timeline(household, root, registry, procedure=procedure)
    decline = events[-1]
    assert decline.transition == "decline" and decline.flagged
    assert [f.kind for f in decline.facts] == ["lease_cancelled", "ban", "ban"]
    assert set(decline.groups) == {"procedure", "lease", "credit"}
    assert "ban" not in kinds(events)       # not listed a second time


def test_a_lease_entered_past_the_procedure_joins_the_version_made_with_it(root, registry, procedure):
    """按纸质台账补录 (as the demo city does): no step mentions the lease, so the lease book
    supplies it, joined to the version recorded at the same moment; its end comes by day."""
    household = walk.new_household(procedure, root)
    unit = walk.new_unit(procedure, root)
    when = T0 + 3 * DAY
    lease = root.leases.new(household, unit, when, "archivist")
    lease.start, lease.end, lease.rent, lease.deposit = dt.date(2025, 1, 1), dt.date(2027, 12, 31), 620.0, 800.0
    lease.state = "current"
    leases.attach(household, lease)
    household.adopt_state("leased", "archivist", when, "按纸质台账补录租赁关系")
    lease.state, lease.ended_on, lease.end_reason = "ended", dt.date(2026, 6, 30), "腾退完成"
    events = history.timeline(household, root, registry, procedure=procedure)
    assert kinds(events) == ["created", "adopted", "lease_end"]
    adopted = events[1]
    assert [f.kind for f in adopted.facts] == ["lease_start"] and "lease" in adopted.groups
    assert dict(adopted.facts[0].details)["租期"] == "2025-01-01 — 2027-12-31"
    assert events[2].date_only and events[2].day == dt.date(2026, 6, 30)


# -- the inspections ---------------------------------------------------------------------------
def person(seq, year=1980):
    return idnumber.make("320402", dt.date(year, 5, 6), seq)


def households(procedure, root, *specs):
    return [walk.new_household(procedure, root, name=name, seq=seq, **extra)
            for name, seq, extra in specs]


def test_households_sharing_a_member(root, procedure):
    a, b, c = households(procedure, root, ("张三", 11, {}), ("王五", 31, {}), ("赵六", 41, {}))
    assert inspections.shared_members(root.households.values()) == []
    spouse = a.metadata["members"][0]
    b.metadata = {**b.metadata, "members": b.metadata["members"] + [dict(spouse, relation="other")]}
    c.metadata = {**c.metadata, "applicant": {**c.metadata["applicant"], "id_number": spouse["id_number"]}}
    groups = inspections.shared_members(root.households.values())
    assert len(groups) == 1 and groups[0].key == spouse["id_number"]
    assert [(h.archive_no, h.people) for h in groups[0].households] == [
        (a.archive_no, (("李梅", "spouse"),)), (b.archive_no, (("李梅", "other"),)),
        (c.archive_no, (("赵六", "applicant"),))]


def test_households_sharing_an_address_or_a_phone_however_typed(root, procedure):
    a, b, c, d = households(
        procedure, root,
        ("张三", 11, {"address": "常州市天宁区龙锦路88号A座", "phone": "0519-88886666"}),
        ("王五", 31, {"address": "常州市天宁区 龙锦路８８号 ａ座", "phone": "0519 8888 6666"}),
        ("赵六", 41, {"address": "常州市天宁区龙锦路89号", "phone": "13912345678"}),
        ("钱七", 51, {"address": "常州市钟楼区南大街1号", "phone": "13812345679"}))
    addresses = inspections.shared_addresses(root.households.values())
    assert [[h.archive_no for h in g.households] for g in addresses] == [[a.archive_no, b.archive_no]]
    assert addresses[0].households[1].value == "常州市天宁区 龙锦路８８号 ａ座"
    phones = inspections.shared_phones(root.households.values())
    assert [(g.key, [h.archive_no for h in g.households]) for g in phones] == [
        ("051988886666", [a.archive_no, b.archive_no])]
    c.metadata = {**c.metadata, "phone": "13812345679"}
    d.state = "exited"
    phones = inspections.shared_phones(root.households.values(), final_states={"exited"})
    assert [(g.key, g.active) for g in phones] == [("051988886666", 2), ("13812345679", 1)]


def test_changes_after_approval_with_what_and_who(root, registry, procedure):
    clean, edited, before = households(procedure, root, ("张三", 11, {}), ("王五", 31, {}), ("赵六", 41, {}))
    for household in (clean, edited, before):
        prepared(procedure, root, registry, household, "accept", T0 + HOUR)
    edit(registry, before, T0 + 2 * HOUR, "审核前更正", district="钟楼区")
    for household in (clean, edited, before):
        prepared(procedure, root, registry, household, "approve", T0 + DAY)
        prepared(procedure, root, registry, household, "publish", T0 + 2 * DAY)   # steps only
    assert inspections.changed_after_approval(root.households.values(), registry) == []
    edit(registry, edited, T0 + 3 * DAY, "收入更正", income_per_capita=4000.0, phone="13900001111")
    file(registry, edited, "income_proof", when=T0 + 4 * DAY)
    found = inspections.changed_after_approval(root.households.values(), registry)
    assert [c.household.archive_no for c in found] == [edited.archive_no]
    item = found[0]
    assert item.approved == T0 + DAY and item.approved_by == "reviewer"
    assert [(c.action, c.actor, c.when) for c in item.changes] == [
        ("edited", "archivist", T0 + 3 * DAY), ("filed", "archivist", T0 + 4 * DAY)]
    assert [(f.title, f.old, f.new) for f in item.changes[0].fields] == [
        ("家庭人均月收入（元）", "1,200.50", "4,000.00"), ("联系电话", "138****5678", "139****1111")]
    assert [(d.change, d.doc_type) for d in item.changes[1].documents] == [("added", "收入证明")]


def test_households_that_altered_what_was_approved_come_first(root, registry, procedure):
    filings_only, altered = households(procedure, root, ("张三", 11, {}), ("王五", 31, {}))
    for household in (filings_only, altered):
        prepared(procedure, root, registry, household, "accept", T0 + HOUR)
        prepared(procedure, root, registry, household, "approve", T0 + DAY)
    edit(registry, altered, T0 + 2 * DAY, "更正", district="钟楼区")
    file(registry, filings_only, "publicity_record", when=T0 + 3 * DAY)     # the later change
    found = inspections.changed_after_approval(root.households.values(), registry)
    assert [(c.household.archive_no, c.altering) for c in found] == [
        (altered.archive_no, 1), (filings_only.archive_no, 0)]


def test_states_no_approved_household_can_be_in(root, registry, procedure):
    workflow = procedure.workflows["household"]
    before = inspections.states_before(workflow)
    assert before == {"applied", "returned", "accepted"}
    waiting, approved = households(procedure, root, ("张三", 11, {}), ("王五", 31, {}))
    for household in (waiting, approved):
        prepared(procedure, root, registry, household, "accept", T0 + HOUR)
    prepared(procedure, root, registry, approved, "approve", T0 + DAY)
    for household in (waiting, approved):
        edit(registry, household, T0 + 2 * DAY, "更正", district="钟楼区")
    for given in (None, workflow):
        assert [c.household.archive_no for c in inspections.changed_after_approval(
            root.households.values(), registry, workflow=given)] == [approved.archive_no]


def test_normalisation():
    assert inspections.normalise_address(" 龙锦路８８号　Ａ座 ") == "龙锦路88号a座"
    assert inspections.normalise_phone("０５１９-8888 6666") == "051988886666"
    assert inspections.normalise_address(None) == inspections.normalise_phone("") == ""
