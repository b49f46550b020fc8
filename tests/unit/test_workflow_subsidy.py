"""Rent subsidies (租赁补贴): the city's standard, the steps and their guards, the audit rules."""
import datetime as dt
import pathlib
import types

import pytest

from archive.access.security import RoleMatrix
from archive.audit.rules import RULES
from archive.schema.registry import default_directory
from archive.workflow import TransitionRefused, WorkflowError, build
from archive.workflow import subsidy
import walk
from conftest import edited_workflows
from walk import DAY, T0, step

D = dt.date


def at(day):
    """09:00 in Shanghai on ``day``."""
    return dt.datetime.combine(day, dt.time(1), dt.timezone.utc)


def household(procedure, root, registry, city="changzhou", category="dibao", seq=11, members=None, **extra):
    data = dict(jurisdiction=city, category=category, seq=seq, **extra)
    if members is not None:
        data["members"] = members
    dossier = walk.new_household(procedure, root, T0, **data)
    when = walk.to_registered(procedure, root, registry, dossier, T0)
    assert dossier.state == "registered"
    return dossier, when


def apply(procedure, root, registry, dossier, when, **inputs):
    walk.file(registry, dossier, *walk.stage_docs(procedure, dossier, "apply_subsidy"), when=when)
    inputs.setdefault("rent_paid", 1500)
    return step(procedure, root, dossier, "apply_subsidy", when, roles=("archivist",), inputs=inputs)


def granted(procedure, root, registry, dossier, when, grant_inputs=None, **inputs):
    apply(procedure, root, registry, dossier, when, **inputs)
    walk.file(registry, dossier, *walk.stage_docs(procedure, dossier, "grant_subsidy"), when=when)
    step(procedure, root, dossier, "grant_subsidy", when, inputs=grant_inputs or {})
    return dossier.subsidy


def voucher(registry, dossier, when):
    walk.file(registry, dossier, "subsidy_payment", when=when)
    return [d for d in dossier.active_documents() if d.metadata.get("doc_type") == "subsidy_payment"][-1].doc_id


def pay(procedure, root, registry, dossier, period, amount, when):
    doc = voucher(registry, dossier, when)
    return step(procedure, root, dossier, "pay_subsidy", when, roles=("archivist",),
                inputs={"period": period.isoformat(), "amount": amount, "document": doc})


def refused(procedure, root, dossier, name, when, **kw):
    with pytest.raises(TransitionRefused) as info:
        step(procedure, root, dossier, name, when, **kw)
    return " ".join(info.value.problems), info.value


def youth(seq):
    from archive.schema import idnumber
    return {"applicant": {"name": "赵青", "id_number": idnumber.make("371402", D(1999, 3, 4), seq)},
            "members": []}


# -- periods -----------------------------------------------------------------------------------
def test_quarters_begin_in_january_april_july_and_october():
    assert subsidy.period_of(D(2026, 3, 31), "quarter") == (D(2026, 1, 1), D(2026, 3, 31))
    assert subsidy.period_of(D(2026, 4, 1), "quarter") == (D(2026, 4, 1), D(2026, 6, 30))
    assert subsidy.period_of(D(2026, 12, 31), "quarter") == (D(2026, 10, 1), D(2026, 12, 31))
    assert subsidy.period_of(D(2026, 2, 14), "month") == (D(2026, 2, 1), D(2026, 2, 28))
    assert subsidy.period_label(D(2026, 4, 1), "quarter") == "2026年第2季度"
    assert subsidy.months_between(D(2026, 4, 1), D(2029, 3, 31)) == 36


# -- the city's standard -----------------------------------------------------------------------
def test_dezhou_new_employees_get_300_a_month_and_50_more_each_grade(procedure):
    scheme = subsidy.scheme(procedure.profiles["dezhou"])
    tier = scheme.tiers["new_employee"]
    assert scheme.standard(tier, 1, "college")[0] == 300           # 第十九条 最低不低于300元/月
    assert scheme.standard(tier, 1, "bachelor")[0] == 350          # each grade ≥ 50 more
    assert scheme.standard(tier, 2, "bachelor")[0] == 400          # household size: one grade more
    assert scheme.standard(tier, 5, "doctor")[0] == 550            # 3 + 2 grades
    assert tier.cap_months == 36 and tier.once_per_household and tier.other_subsidy_excluded
    assert scheme.tier_for("tekun") is None and "tekun" in scheme.in_kind_only


def test_changzhou_tiers_follow_income_band_and_household_size(procedure):
    scheme = subsidy.scheme(procedure.profiles["changzhou"])
    assert scheme.period == "quarter" and scheme.while_waiting and scheme.stop == "next_period"
    assert scheme.standard(scheme.tier_for("dibao"), 2)[0] == 900
    assert scheme.standard(scheme.tier_for("dishouru"), 1)[0] == 450
    assert scheme.standard(scheme.tier_for("zhongdeng"), 4)[0] == 700     # 3 = 3人及以上
    assert subsidy.scheme(procedure.profiles["qujing"]) is None


@pytest.mark.parametrize("figure, message, error", [
    ("base: 300", "base: 280", "below the floor"), ("step: 50", "step: 40", "below the floor"),
    ("period: month ", "period: weekly ", "subsidy.period"), ("cap_months: 36", "cap_months: -1", "cap_months"),
    ("{1: 300, 2: 400, 3: 500}", "{one: 300}", "by_household_size")])
def test_a_wrong_subsidy_section_stops_start_up(tmp_path, registry, figure, message, error):
    directory = edited_workflows(tmp_path, "jurisdictions/dezhou.yaml", figure, message, count=1)
    with pytest.raises(WorkflowError, match=error):
        build(registry, RoleMatrix(default_directory() / "roles.yaml"), directory)


# -- Changzhou: quarterly, while waiting, stopped from the next quarter --------------------------
def test_changzhou_grant_pays_by_quarter_and_the_amount_never_exceeds_the_rent(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    assert dossier.metadata["category"] == "dibao"
    grant = granted(procedure, root, registry, dossier, when, rent_paid=700)
    assert dossier.state == "registered" and grant.state == "current"
    assert grant.standard == 900 and grant.monthly == 700        # 2 persons: 900, rent 700
    assert grant.start == D(2026, 1, 1)                           # the quarter it was granted in
    assert "按实际承担的费用发放" in grant.basis
    pay(procedure, root, registry, dossier, D(2026, 2, 1), 2100, when)
    assert grant.payments[0].months == 3 and grant.months_paid() == 3
    problems, _ = refused(procedure, root, dossier, "pay_subsidy", when, roles=("archivist",),
                          inputs={"period": "2026-03-15", "amount": 10, "document": voucher(registry, dossier, when)})
    assert "2026年第1季度已登记发放" in problems
    problems, _ = refused(procedure, root, dossier, "pay_subsidy", when, roles=("archivist",),
                          inputs={"period": "2026-04-01", "amount": 2101, "document": voucher(registry, dossier, when)})
    assert "超过2026年第2季度应发 2,100.00 元" in problems


def test_a_payment_needs_its_voucher_filed_in_the_dossier(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    granted(procedure, root, registry, dossier, when)
    other = [d for d in dossier.active_documents() if d.metadata.get("doc_type") == "review_opinion"][0]
    problems, _ = refused(procedure, root, dossier, "pay_subsidy", when, roles=("archivist",),
                          inputs={"period": "2026-02-01", "amount": 100, "document": other.doc_id})
    assert "不是本档案中的租赁补贴发放凭证" in problems


def test_failed_yearly_review_stops_from_the_next_quarter(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, when)
    later = at(D(2026, 5, 20))
    walk.file(registry, dossier, *walk.stage_docs(procedure, dossier, "review_subsidy"), when=later)
    step(procedure, root, dossier, "stop_subsidy", later, comment="年度复审收入超标")
    assert grant.state == "ended" and grant.end == D(2026, 6, 30)          # 第四十条 自下个季度起
    assert dossier.latest.details and any("2026-07-01" in v for _, v in dossier.latest.details)
    pay(procedure, root, registry, dossier, D(2026, 4, 1), 2700, later)     # Q2 still due
    problems, _ = refused(procedure, root, dossier, "pay_subsidy", later, roles=("archivist",),
                          inputs={"period": "2026-07-01", "amount": 100, "document": voucher(registry, dossier, later)})
    assert "已于 2026-06-30 截止" in problems


def test_changzhou_allocates_a_waiting_subsidised_household_and_signing_ends_the_subsidy(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, when)
    unit = walk.new_unit(procedure, root)
    step(procedure, root, dossier, "allocate", when, inputs={"unit": unit.archive_no})   # 第二十一条
    assert dossier.state == "allocated" and grant.state == "current"
    walk.file(registry, dossier, *walk.stage_docs(procedure, dossier, "sign"), when=when)
    step(procedure, root, dossier, "sign", when + DAY, inputs={"start": "2026-05-10", "end": "2028-05-09"})
    assert grant.state == "ended" and grant.end == D(2026, 3, 31) and dossier.subsidy is None
    assert "签约入住" in grant.end_reason


def test_a_second_subsidy_in_one_household_is_refused_and_the_refusal_kept(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    granted(procedure, root, registry, dossier, when)
    problems, exc = refused(procedure, root, dossier, "apply_subsidy", when, roles=("archivist",),
                            inputs={"rent_paid": 900})
    assert "同一户不能同时享受两份补贴" in problems
    assert exc.attempt.outcome == "refused" and any("两份补贴" in r for r in exc.attempt.reasons)


def test_a_person_with_a_subsidy_in_another_household_is_refused(root, registry, procedure):
    first, when = household(procedure, root, registry, seq=11)
    granted(procedure, root, registry, first, when)
    # the spouse (seq 12) applies again as applicant of a second household
    person = first.metadata["members"][0]
    second, when2 = household(procedure, root, registry, seq=31, members=[])
    second.metadata = dict(second.metadata, members=[{"name": person["name"], "id_number": person["id_number"],
                                                      "relation": "spouse"}])
    problems, _ = refused(procedure, root, second, "apply_subsidy", when2, roles=("archivist",),
                          inputs={"rent_paid": 900})
    assert f"已在 {first.archive_no} 享受租赁补贴" in problems


def test_cities_without_a_subsidy_refuse_the_application(root, registry, procedure):
    dossier, when = household(procedure, root, registry, city="qujing")
    walk.file(registry, dossier, *walk.stage_docs(procedure, dossier, "apply_subsidy"), when=when)
    problems, _ = refused(procedure, root, dossier, "apply_subsidy", when, roles=("archivist",),
                          inputs={"rent_paid": 900})
    assert "曲靖市未设租赁补贴" in problems


# -- Dezhou: the form follows the category, 36 months, once per household -------------------------
def dezhou_youth(procedure, root, registry, seq=21, **extra):
    return household(procedure, root, registry, city="dezhou", category="xinjiuye", seq=seq,
                     **youth(seq), **extra)


def test_dezhou_grant_runs_36_months_and_no_payment_past_the_cap(root, registry, procedure):
    dossier, when = dezhou_youth(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, when, rent_paid=1200, education="bachelor")
    assert grant.monthly == 350 and grant.period == "month"
    assert grant.end == D(2029, 2, 28) and grant.months_planned() == 36       # 第十八条
    grant.payments = tuple(subsidy.Payment(subsidy.add_months(grant.start, i), subsidy.add_months(grant.start, i),
                                           1, 350.0, "x", grant.start, when, "archivist") for i in range(36))
    problems, _ = refused(procedure, root, dossier, "pay_subsidy", when, roles=("archivist",),
                          inputs={"period": "2029-03-01", "amount": 350, "document": voucher(registry, dossier, when)})
    assert "已于 2029-02-28 截止" in problems


def test_dezhou_grant_past_the_cap_is_refused(root, registry, procedure):
    dossier, when = dezhou_youth(procedure, root, registry)
    apply(procedure, root, registry, dossier, when, education="college")
    walk.file(registry, dossier, *walk.stage_docs(procedure, dossier, "grant_subsidy"), when=when)
    problems, _ = refused(procedure, root, dossier, "grant_subsidy", when,
                          inputs={"start": "2026-03-01", "end": "2029-03-31"})
    assert "补贴期 37 个月" in problems and "累计上限 36 个月" in problems
    step(procedure, root, dossier, "grant_subsidy", when, inputs={"start": "2026-03-01", "end": "2029-02-28"})
    assert dossier.subsidy.state == "current"


def test_dezhou_once_per_household_and_cap_reached(root, registry, procedure):
    dossier, when = dezhou_youth(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, when, rent_paid=250)
    assert grant.monthly == 250                                  # rent below the 300 standard
    step(procedure, root, dossier, "end_subsidy", when, comment="本人申请终止")
    problems, _ = refused(procedure, root, dossier, "apply_subsidy", when, roles=("archivist",),
                          inputs={"rent_paid": 900})
    assert "同一家庭不重复享受" in problems
    grant.payments = tuple(subsidy.Payment(subsidy.add_months(D(2026, 1, 1), i), D(2026, 1, 1), 1, 250.0,
                                           "x", D(2026, 1, 1), when, "a") for i in range(36))
    problems, _ = refused(procedure, root, dossier, "apply_subsidy", when, roles=("archivist",),
                          inputs={"rent_paid": 900})
    assert "已累计发放 36 个月，达到上限 36 个月" in problems and "变更保障类别" in problems


def test_dezhou_excludes_other_housing_subsidies_and_the_extremely_poor(root, registry, procedure):
    dossier, when = dezhou_youth(procedure, root, registry)
    walk.file(registry, dossier, *walk.stage_docs(procedure, dossier, "apply_subsidy"), when=when)
    problems, _ = refused(procedure, root, dossier, "apply_subsidy", when, roles=("archivist",),
                          inputs={"rent_paid": 900, "other_subsidy": "人才租房补贴"})
    assert "人才租房补贴" in problems and "第十九条" in problems
    poor, when = household(procedure, root, registry, city="dezhou", category="tekun", seq=41)
    walk.file(registry, poor, *walk.stage_docs(procedure, poor, "apply_subsidy"), when=when)
    problems, _ = refused(procedure, root, poor, "apply_subsidy", when, roles=("archivist",),
                          inputs={"rent_paid": 900})
    assert "采取实物保障" in problems


def test_dezhou_refuses_a_unit_while_the_subsidy_runs(root, registry, procedure):
    dossier, when = dezhou_youth(procedure, root, registry)
    granted(procedure, root, registry, dossier, when)
    unit = walk.new_unit(procedure, root, jurisdiction="dezhou", area=30)
    problems, _ = refused(procedure, root, dossier, "allocate", when, inputs={"unit": unit.archive_no})
    assert "不能同时实物配租" in problems and "终止租赁补贴" in problems


def test_withdrawing_ends_an_open_application(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    apply(procedure, root, registry, dossier, when)
    grant = dossier.subsidy
    assert dossier.state == "subsidy_review" and grant.state == "applied"
    step(procedure, root, dossier, "withdraw", when, roles=("reviewer",), comment="本人撤回")
    assert grant.state == "refused" and dossier.subsidy is None


# -- audit rules --------------------------------------------------------------------------------
def audit(procedure, root, registry, dossier, today, rule):
    ctx = types.SimpleNamespace(root=root, procedure=procedure, schemas=registry, today=today)
    return [f.message for f in RULES[rule].check(RULES[rule], ctx, dossier)]


def test_audit_finds_missing_quarterly_payments_after_the_first_month(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, at(D(2026, 1, 10)))
    grant.granted = D(2026, 1, 10)
    pay(procedure, root, registry, dossier, D(2026, 1, 1), 2700, when)
    assert audit(procedure, root, registry, dossier, D(2026, 4, 30), "subsidy_missing_payment") == []
    found = audit(procedure, root, registry, dossier, D(2026, 5, 1), "subsidy_missing_payment")
    assert len(found) == 1 and "2026年第2季度应于 2026-04-30 前发放" in found[0]


def test_audit_finds_payments_after_the_end_over_the_cap_and_above_the_rent(root, registry, procedure):
    dossier, when = dezhou_youth(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, when, rent_paid=400)
    grant.payments = tuple(subsidy.Payment(subsidy.add_months(grant.start, i), subsidy.add_months(grant.start, i),
                                           1, 300.0, "x", grant.start, when, "a") for i in range(37))
    assert "超过上限 36 个月" in audit(procedure, root, registry, dossier, D(2026, 3, 3), "subsidy_over_cap")[0]
    assert "却登记了2029年3月的发放" in audit(procedure, root, registry, dossier, D(2026, 3, 3), "subsidy_after_end")[0]
    grant.monthly, grant.rent_paid = 300.0, 200.0
    found = audit(procedure, root, registry, dossier, D(2026, 3, 3), "subsidy_above_rent")
    assert "高于实际承担月租金 200.00 元" in found[0] and "高于应发 200.00 元" in found[1]


def test_audit_finds_an_overdue_yearly_review_and_a_subsidy_beside_a_lease(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, when)
    assert audit(procedure, root, registry, dossier, grant.granted + dt.timedelta(days=300), "subsidy_review_overdue") == []
    assert "应于" in audit(procedure, root, registry, dossier, grant.granted + dt.timedelta(days=400),
                          "subsidy_review_overdue")[0]
    dossier.lease = types.SimpleNamespace(state="current", unit_no="CZ-U-1", lease_id="CZ-U-1/01", open=True)
    assert "仍在发放" in audit(procedure, root, registry, dossier, D(2026, 4, 1), "subsidy_with_lease")[0]


# -- the yearly statistics ------------------------------------------------------------------------
def test_the_yearly_report_counts_both_forms_and_the_money_paid(root, registry, procedure):
    from archive.custody.statistics import sections, titles, yearly_report
    dossier, when = household(procedure, root, registry)
    grant = granted(procedure, root, registry, dossier, when)
    pay(procedure, root, registry, dossier, D(2026, 1, 1), 2700, when)
    assert subsidy.form_of(dossier) == "subsidy"
    report = yearly_report(root, 2026)
    forms = report.forms["changzhou"]
    assert (forms.in_kind, forms.subsidy, forms.payments, forms.paid, forms.share) == (0, 1, 1, 2700.0, "100.0%")
    grant.end = D(2026, 6, 30)                      # stopped mid-year: not secured on 31 December
    assert yearly_report(root, 2026).forms["changzhou"].subsidy == 0
    heading, head, rows = sections(report, titles(registry))[-1]
    assert heading.startswith("十二、保障方式") and rows == [["常州市", 0, 1, "100.0%", 1, "2,700.00"]]


def test_unpaid_periods_are_on_the_worklist_of_who_records_payments(root, registry, procedure):
    dossier, when = household(procedure, root, registry)
    granted(procedure, root, registry, dossier, when)
    pay(procedure, root, registry, dossier, D(2026, 1, 1), 2700, when)
    items, _ = procedure.worklist(root, ("archivist",), at(D(2026, 5, 5)))
    due = [(i.dossier.archive_no, i.due, i.overdue) for i in items if i.state.name == "subsidy_payment"]
    assert due == [(dossier.archive_no, D(2026, 4, 30), True)]          # Q2: paid in April
    assert procedure.worklist(root, ("inspector",), at(D(2026, 5, 5)))[1] == 0
    pay(procedure, root, registry, dossier, D(2026, 4, 1), 2700, at(D(2026, 5, 6)))
    items, _ = procedure.worklist(root, ("archivist",), at(D(2026, 5, 6)))
    assert not [i for i in items if i.state.name == "subsidy_payment"]
