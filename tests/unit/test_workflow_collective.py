"""Xiamen's collective applications by employers (issue 16, item 9; 厦门 seed 002 单位集体申请):
the three quota methods, the largest remainder, the guards (batch closed, review deadline,
publicity, a draw once with the committed seed) and the records in every dossier touched."""
import datetime as dt
import hashlib
from collections import Counter

import pytest

from archive.records import filing
from archive.workflow.collective import quota, steps
from archive.workflow.collective.batch import CollectiveError
from archive.workflow.lottery.draw import sort_key
from conftest import household_input, make_pdf, unit_input

SEED = "xm-collective-2026-seed"
UTC = dt.timezone.utc


def at(day, hour=2):    # 10:00 in China
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def code(first17):
    return first17 + steps.credit_check_char(first17)


EMPLOYERS = [{"credit_code": code("91350200MA2XXXX0" + c), "name": n, "type": t}
             for c, n, t in (("1", "厦门软件园管委会", "park"), ("2", "厦门市第一医院", "employer"),
                             ("3", "厦门市教育局", "authority"))]


# -- the quota methods ----------------------------------------------------------------------
def test_draw_gives_one_ticket_per_approved_unit_and_the_first_n_win():
    requests = {"A": 5, "B": 3, "C": 2}
    out = quota.by_draw(SEED, requests, 6)
    assert sum(r["quota"] for r in out.values()) == 6
    tickets = sorted((sort_key(SEED, f"{no}#{k}"), no) for no, n in requests.items() for k in range(1, n + 1))
    assert {no: n for no, n in Counter(no for _, no in tickets[:6]).items()} == \
        {no: r["quota"] for no, r in out.items() if r["quota"]}
    assert all(len(out[no]["tickets"]) == n for no, n in requests.items())
    assert quota.by_draw(SEED, requests, 20) == quota.by_draw(SEED, requests, 20)
    assert {no: r["quota"] for no, r in quota.by_draw(SEED, requests, 20).items()} == requests


def test_proportional_floors_then_gives_the_remainder_to_the_largest_remainders():
    # 10 units; shares 10*6/13=4.615, 10*4/13=3.077, 10*3/13=2.308 → floors 4,3,2 (9), one left:
    # the largest remainder (.615) takes it
    out = quota.proportional(SEED, {"A": 6, "B": 4, "C": 3}, 10)
    assert {no: r["quota"] for no, r in out.items()} == {"A": 5, "B": 3, "C": 2}
    assert out["A"]["share"] == "60/13" and out["A"]["floor"] == 4 and out["A"]["extra"] == 1


def test_proportional_ties_are_broken_by_the_draw_not_by_order_of_application():
    # 5 units, three equal requests: 5/3 each → floors 1,1,1, two left for three equal remainders
    requests = {"A": 2, "B": 2, "C": 2}
    out = quota.proportional(SEED, requests, 5)
    assert sum(r["quota"] for r in out.values()) == 5
    drawn = [no for _, no in sorted((sort_key(SEED, no), no) for no in requests)]
    assert [out[no]["quota"] for no in drawn] == [2, 2, 1]
    assert out == quota.proportional(SEED, dict(reversed(list(requests.items()))), 5)
    other = quota.proportional("another-seed-123", requests, 5)
    assert sum(r["quota"] for r in other.values()) == 5


def test_proportional_never_gives_more_than_approved():
    out = quota.proportional(SEED, {"A": 2, "B": 1}, 10)
    assert {no: r["quota"] for no, r in out.items()} == {"A": 2, "B": 1}


def test_order_lets_each_employer_choose_its_number_in_draw_order():
    requests = {"A": 4, "B": 3, "C": 3}
    out = quota.by_order(SEED, requests, 6)
    ranked = sorted(requests, key=lambda no: out[no]["order"])
    assert ranked == [no for _, no in sorted((sort_key(SEED, no), no) for no in requests)]
    left, expected = 6, {}
    for no in ranked:
        expected[no] = min(requests[no], left)
        left -= expected[no]
    assert {no: r["quota"] for no, r in out.items()} == expected


def test_bad_inputs_are_refused():
    with pytest.raises(quota.QuotaError):
        quota.proportional(SEED, {}, 3)
    with pytest.raises(quota.QuotaError):
        quota.compute("other", SEED, {"A": 1}, 3)


# -- a batch --------------------------------------------------------------------------------
@pytest.fixture
def city(root, registry, procedure):
    """A published batch of 5 units for three employers; 9 member households with contracts."""
    units = [filing.create_dossier(root, registry, "unit", unit_input(
        jurisdiction="xiamen", district="集美区", address=f"厦门市集美区园博路{i}号", unit_no=f"10{i}"),
        "archivist", when=at("2026-03-01")).archive_no for i in range(5)]
    households = []
    for i in range(9):
        h = filing.create_dossier(root, registry, "household", household_input(
            name=f"职工{i}", seq=20 + 2 * i, jurisdiction="xiamen", hukou_district="集美区",
            district="集美区", address="厦门市集美区园博路1号"), "archivist", when=at("2026-03-01"))
        filing.file_document(h, registry, {"doc_type": "employment_contract", "title": "劳动合同",
                                           "date": "2026-01-05", "issuer": "单位"},
                             make_pdf("劳动合同"), "contract.pdf", "archivist", when=at("2026-03-01"))
        households.append(h.archive_no)
    batch = steps.publish(root, registry, procedure, "xiamen", "2026年第一批人才公租房", units,
                          EMPLOYERS, "2026-03-02", "2026-03-13", "reviewer", at("2026-03-02"),
                          plan={"rent_discount": "市场租金的70%"})
    return {"batch": batch, "units": units, "households": households}


def _apply_all(root, registry, procedure, city, files=True):
    batch, hh = city["batch"], city["households"]
    groups = (hh[:4], hh[4:7], hh[7:])
    employers = []
    for e, members in zip(EMPLOYERS, groups):
        employer = steps.apply(root, registry, procedure, batch, e["credit_code"], members,
                               "archivist", at("2026-03-05"))
        if files:
            for doc_type in ("collective_application", "staff_roster", "employer_license", "employer_pledge"):
                steps.file_document(root, registry, employer, doc_type, doc_type, make_pdf(doc_type),
                                    f"{doc_type}.pdf", "archivist", at("2026-03-05"))
        employers.append(employer.archive_no)
    return employers


def _through_publicity(root, registry, procedure, city):
    employers = _apply_all(root, registry, procedure, city)
    batch = city["batch"]
    steps.close(root, procedure, batch, "reviewer", at("2026-03-16"))
    for no in employers:
        members = root.batches.employer(no).metadata["members"]
        steps.review(root, procedure, batch, no, members[:-1] if no == employers[0] else members,
                     {members[-1]: "劳动合同不足1年"} if no == employers[0] else {}, "reviewer", at("2026-03-20"))
    steps.publish_results(root, procedure, batch, "reviewer", at("2026-03-23"))
    return employers


def test_publishing_checks_the_units_and_the_named_employers(root, registry, procedure, city):
    batch = city["batch"]
    assert batch.batch_id == "PC-XM-2026-001" and batch.state == "open" and len(batch.units) == 5
    assert root.units[city["units"][0]].latest.action == "collective"
    with pytest.raises(CollectiveError, match="已列入尚未完成的批次"):
        steps.publish(root, registry, procedure, "xiamen", "重复", city["units"][:1], EMPLOYERS,
                      "2026-03-02", "2026-03-13", "reviewer", at("2026-03-02"))
    with pytest.raises(CollectiveError, match="统一社会信用代码"):
        steps.check_credit_code("91350200MA2XXXX01Z")
    assert steps.check_credit_code("91350100M000100Y43") == "91350100M000100Y43"   # a published code
    with pytest.raises(CollectiveError, match="未规定单位集体申请"):
        steps.publish(root, registry, procedure, "changzhou", "x", city["units"], EMPLOYERS,
                      "2026-03-02", "2026-03-13", "reviewer", at("2026-03-02"))


def test_an_employer_applies_with_its_own_dossier_and_its_members_keep_theirs(root, registry, procedure, city):
    employers = _apply_all(root, registry, procedure, city)
    employer = root.batches.employer(employers[0])
    assert employer.archive_no == "XM-DW-2026-Y-00001" and employer.kind == "employer"
    assert employer.metadata["requested"] == 4 and employer.metadata["batch"] == "PC-XM-2026-001"
    assert len(employer.active_documents()) == 4 and len(employer.versions) >= 5
    member = root.households[city["households"][0]]
    assert member.latest.action == "collective" and dict(member.latest.details)["批次"] == "PC-XM-2026-001"
    with pytest.raises(CollectiveError, match="已在本批次提出集体申请"):
        steps.apply(root, registry, procedure, city["batch"], EMPLOYERS[0]["credit_code"],
                    city["households"][:1], "archivist", at("2026-03-05"))
    stranger = code("91350200MA2XXXX0" + "9")
    with pytest.raises(CollectiveError, match="不是本批次租赁方案明确的"):
        steps.apply(root, registry, procedure, city["batch"], stranger, city["households"][:1],
                    "archivist", at("2026-03-05"))


def test_no_application_after_the_period_and_no_review_before_the_close(root, registry, procedure, city):
    batch = city["batch"]
    with pytest.raises(CollectiveError, match="不在申请时间内"):
        steps.apply(root, registry, procedure, batch, EMPLOYERS[0]["credit_code"], city["households"][:2],
                    "archivist", at("2026-03-14"))
    employers = _apply_all(root, registry, procedure, city)
    with pytest.raises(CollectiveError, match="受理申请"):
        steps.review(root, procedure, batch, employers[0], [], {}, "reviewer", at("2026-03-10"))
    with pytest.raises(CollectiveError, match="尚未截止"):
        steps.close(root, procedure, batch, "reviewer", at("2026-03-13"))
    steps.close(root, procedure, batch, "reviewer", at("2026-03-16"))
    # 10 working days from Friday 13 March 2026: 27 March
    assert batch.review_due == dt.date(2026, 3, 27)


def test_the_review_needs_the_documents_and_a_reason_after_its_deadline(root, registry, procedure, city):
    employers = _apply_all(root, registry, procedure, city, files=False)
    batch = city["batch"]
    steps.close(root, procedure, batch, "reviewer", at("2026-03-16"))
    members = root.batches.employer(employers[0]).metadata["members"]
    with pytest.raises(CollectiveError, match="单位申请材料不齐：缺少单位集体申请表"):
        steps.review(root, procedure, batch, employers[0], members, {}, "reviewer", at("2026-03-20"))
    employer = root.batches.employer(employers[0])
    for doc_type in ("collective_application", "staff_roster", "employer_license", "employer_pledge"):
        steps.file_document(root, registry, employer, doc_type, doc_type, make_pdf(doc_type),
                            f"{doc_type}.pdf", "archivist", at("2026-03-20"))
    with pytest.raises(CollectiveError, match="每一户都须审核"):
        steps.review(root, procedure, batch, employers[0], members[:1], {}, "reviewer", at("2026-03-20"))
    with pytest.raises(CollectiveError, match="已超过审核期限（2026-03-27）"):
        steps.review(root, procedure, batch, employers[0], members, {}, "reviewer", at("2026-03-30"))
    steps.review(root, procedure, batch, employers[0], members, {}, "reviewer", at("2026-03-30"),
                 late_reason="税务部门协助调查")
    assert batch.events[-1].flagged and dict(employer.latest.details)["逾期办理"] == "是"


def test_a_method_is_announced_with_a_commitment_and_decided_once(root, registry, procedure, city):
    employers = _through_publicity(root, registry, procedure, city)
    batch = city["batch"]
    assert batch.approved() == {employers[0]: 3, employers[1]: 3, employers[2]: 2}
    with pytest.raises(CollectiveError, match="公示期内不能提出"):
        steps.propose(root, procedure, batch, {no: 1 for no in employers}, "reviewer", at("2026-03-24"))
    with pytest.raises(CollectiveError, match="超过本批次房源数"):
        steps.propose(root, procedure, batch, {no: 2 for no in employers}, "reviewer", at("2026-03-30"))
    steps.propose(root, procedure, batch, {employers[0]: 2, employers[1]: 2, employers[2]: 1},
                  "reviewer", at("2026-03-30"))
    commitment = hashlib.sha256(SEED.encode()).hexdigest()
    assert steps.announce(root, procedure, batch, "proportional", "第一医院不同意", "2026-04-03",
                          "reviewer", at("2026-03-31"), commitment) is None
    with pytest.raises(CollectiveError, match="未到预告的日期"):
        steps.decide(root, procedure, batch, SEED, "reviewer", at("2026-04-02"))
    with pytest.raises(CollectiveError, match="承诺值不符"):
        steps.decide(root, procedure, batch, "not-the-seed-1", "reviewer", at("2026-04-03"))
    steps.decide(root, procedure, batch, SEED, "reviewer", at("2026-04-03"))
    d = batch.decision
    assert sum(n for _, n in d.result) == 5 and d.verify() is True
    expected = quota.proportional(SEED, batch.approved(), 5)
    assert dict(d.result) == {no: r["quota"] for no, r in expected.items()}
    with pytest.raises(CollectiveError, match="只确定一次"):
        steps.decide(root, procedure, batch, SEED, "reviewer", at("2026-04-03"))
    employer = root.batches.employer(employers[0])
    filed = [doc for doc in employer.active_documents() if doc.metadata["doc_type"] == "quota_decision"]
    assert len(filed) == 1 and employer.metadata["quota"] == dict(d.result)[employers[0]]
    # the employer lets its units to approved members; the refused one cannot get one
    refused = root.batches.employer(employers[0]).metadata["members"][-1]
    with pytest.raises(CollectiveError, match="不是本单位审核通过的申请人"):
        steps.report(root, procedure, batch, employers[0], {refused: city["units"][0]}, "archivist",
                     at("2026-04-08"))
    approved = batch.reviews[employers[0]].approved
    steps.report(root, procedure, batch, employers[0], {approved[0]: city["units"][0]}, "archivist",
                 at("2026-04-08"))
    assert dict(root.units[city["units"][0]].latest.details)[approved[0]] == city["units"][0]


def test_an_agreed_proposal_is_the_decision(root, registry, procedure, city):
    employers = _through_publicity(root, registry, procedure, city)
    batch = city["batch"]
    steps.propose(root, procedure, batch, {employers[0]: 2, employers[1]: 2, employers[2]: 1},
                  "reviewer", at("2026-03-30"))
    steps.agree(root, procedure, batch, "reviewer", at("2026-04-01"), "三家单位书面确认")
    assert batch.state == "decided" and batch.decision.method == "agreed" and batch.decision.verify() is None


def test_a_late_proposal_needs_a_reason(root, registry, procedure, city):
    employers = _through_publicity(root, registry, procedure, city)
    batch = city["batch"]
    # publicity 23–27 March; 5 working days after Friday 27 March: 3 April
    assert batch.proposal_due == dt.date(2026, 4, 3)
    with pytest.raises(CollectiveError, match="逾期原因"):
        steps.propose(root, procedure, batch, {no: 1 for no in employers}, "reviewer", at("2026-04-07"))


def test_the_profile_section_is_checked_at_start_up(registry, procedure):
    from types import SimpleNamespace

    from archive.workflow.collective.rules import compile_rules
    from archive.workflow.profiles import ProfileError
    rules = procedure.workflows.collective["xiamen"]
    assert rules.review == {"working_days": 10} and rules.methods == ("draw", "proportional", "order")
    assert procedure.workflows.collective["changzhou"] is None
    good = dict(procedure.profiles["xiamen"].data["collective"])
    doc_types = registry.vocabularies["document_types"]
    for bad, message in ((dict(good, methods=["lottery"]), "unknown 'lottery'"),
                         (dict(good, review={"weeks": 2}), "a duration"),
                         (dict(good, required_documents=["id_card"]), "not a employer document"),
                         (dict(good, colour="red"), "unknown key")):
        with pytest.raises(ProfileError, match=message):
            compile_rules(SimpleNamespace(data={"collective": bad}, where="xiamen.yaml"), doc_types)
