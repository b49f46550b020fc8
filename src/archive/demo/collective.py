"""One batch of collective applications walked in the demo city (厦门, seed 002 单位集体申请).

Six units of a talent apartment project are let in a batch plan naming three units (单位): a
park committee, a company and a district education bureau apply for eleven staff households
in all. The park committee's fifth member is refused at review (contract under a year), the
operator's proposal is not agreed (the company wants all four), so the proportional method
is announced with the commitment to its seed and decided on the announced day: 6 × 4/10 =
2.4 for the park committee and the company, 1.2 for the bureau — floors 2, 2, 1 and one unit
left for two equal remainders, which the committed draw gives to one of them. Each employer
then reports its allocation.

Everything goes through ``archive.workflow.collective.steps`` at dates counted back from
the demo's ``today`` (deterministic for a given day), so every deadline is met and the
batch is decided before today. The member households are new dossiers without a procedure
state: they apply through their employer, not through the individual procedure, so no
individual deadline runs for them.
"""
from __future__ import annotations

import datetime as _dt
import hashlib

from ..records import filing
from ..schema import idnumber
from ..workflow.collective import steps
from ..workflow.lottery.draw import commitment_of
from ..workflow.workdays import add_working_days, is_working_day
from .pdfs import render_document

ACTOR, REVIEWER = "archivist", "reviewer"
CST = _dt.timezone(_dt.timedelta(hours=8))
PROJECT = ("湖里数字产业园人才公寓", "湖里区", "厦门市湖里区枋钟路", "厦门市住房保障中心")
EMPLOYERS = (   # (first 17 characters of the credit code, name, kind, staff)
    ("12350206MB0312345", "厦门湖里数字产业园管理委员会", "park",
     ("林志远", "陈雅琳", "黄俊杰", "郑晓燕", "吴浩然")),
    ("91350206MA2Y8K3P7", "厦门鹭江智能科技有限公司", "employer", ("王思琪", "李承泽", "张梦瑶", "刘嘉诚")),
    ("11350211MB0287654", "厦门市集美区教育局", "authority", ("许文静", "蔡明轩")),
)
LAYOUTS = (("studio", 30.5), ("one", 45.2), ("one", 44.8), ("two", 59.6), ("studio", 31.0), ("one", 46.1))


def _pdf(doc_type, title, day, **ctx) -> bytes:
    """The document as the demo renders every record (demo/pdfs.py), in 厦门's words."""
    return render_document(doc_type, dict(ctx, title=title, date=day, jurisdiction="厦门市"))


def _at(day, minutes=0):
    return (_dt.datetime.combine(day, _dt.time(9), CST) + _dt.timedelta(minutes=minutes)).astimezone(_dt.timezone.utc)


def _workday_back(today, n):
    """The working day n working days before today (counted back)."""
    day, left = today, n
    while left:
        day -= _dt.timedelta(days=1)
        left -= is_working_day(day)
    return day


def walk_batch(root, registry, procedure, today, patterns=None) -> dict:
    """Publish, apply, review, publicise, propose, announce, decide and report one batch."""
    start = _workday_back(today, 45)
    opens, closes = start, add_working_days(start, 8).day
    units = []
    for i, (layout, area) in enumerate(LAYOUTS):
        unit = procedure.open_dossier(root, "unit", {
            "project": PROJECT[0], "building": "2", "unit_no": f"{5 + i // 3}0{1 + i % 3}",
            "address": f"{PROJECT[2]}{88 + i}号", "jurisdiction": "xiamen", "district": PROJECT[1],
            "layout": layout, "area": area, "ownership": "government", "owner": PROJECT[3],
            "rent": round(area * 28 * 0.7), "notes": "人才公寓（单位集体申请批次房源）"},
            ACTOR, "房源建档（已竣工交付）", when=_at(start, -60), patterns=patterns, state="vacant")
        units.append(unit.archive_no)
    staff, seq = {}, 0
    for first17, name, kind, people in EMPLOYERS:
        staff[first17] = []
        for person in people:
            seq += 1
            born = _dt.date(1988 + seq % 9, 1 + seq % 12, 3 + seq)
            household = filing.create_dossier(root, registry, "household", {
                "applicant": {"name": person, "id_number": idnumber.make("350206", born, 100 + 2 * seq)},
                "members": [], "category": "xinjiuye", "priority_groups": [],
                "income_per_capita": 6800 + 150 * seq, "assets": 0, "housing_area_per_capita": 0,
                "phone": f"1385921{seq:04d}", "jurisdiction": "xiamen", "hukou_district": PROJECT[1],
                "district": PROJECT[1], "address": f"厦门市湖里区江头北路{seq}号（租住）", "notes": f"{name}职工"},
                ACTOR, "单位集体申请：随申请人员名册建档", when=_at(start, -30 + seq), patterns=patterns)
            months = 8 if person == "吴浩然" else 36     # the park committee's fifth: under a year
            signed = start - _dt.timedelta(days=30 * months // 3)
            title = f"劳动合同（{name}）"
            filing.file_document(household, registry, {
                "doc_type": "employment_contract", "title": title, "date": signed.isoformat(), "issuer": name},
                _pdf("employment_contract", title, signed, employer=name, months=months, household={
                    "applicant_name": person, "id_number": household.metadata["applicant"]["id_number"]}),
                "contract.pdf", ACTOR, when=_at(start, -20 + seq))
            staff[first17].append(household.archive_no)
    named = [{"credit_code": f + steps.credit_check_char(f), "name": n, "type": k} for f, n, k, _ in EMPLOYERS]
    batch = steps.publish(root, registry, procedure, "xiamen", f"{start.year}年湖里数字产业园人才公寓批次",
                          units, named, opens, closes, REVIEWER, _at(start), plan={
                              "location": f"{PROJECT[2]}（{PROJECT[0]}2号楼）", "targets": "各类人才、在厦稳定就业职工",
                              "rent_discount": "市场租金标准的30%", "selection_rules": "按单位房源租赁数量，由单位在本单位申请人中分配",
                              "approval": f"厦住保〔{start.year}〕17号"})
    employers = []
    for k, (first17, name, _, _) in enumerate(EMPLOYERS):
        day = add_working_days(opens, 2 + k).day
        employer = steps.apply(root, registry, procedure, batch, first17 + steps.credit_check_char(first17),
                               staff[first17], ACTOR, _at(day), contact="人事部", comment=f"{name}集体申请")
        for doc_type, title in (("collective_application", "单位集体申请表"), ("staff_roster", "申请人员名册"),
                                ("employer_license", "统一社会信用代码证书"), ("employer_pledge", "单位承诺书")):
            names = "、".join(root.households[no].title for no in staff[first17])
            steps.file_document(root, registry, employer, doc_type, title,
                                _pdf(doc_type, title, day, employer=name, batch=batch.batch_id,
                                     credit_code=employer.metadata["credit_code"],
                                     requested=len(staff[first17]), roster=f"申请人员：{names}"),
                                f"{doc_type}.pdf", ACTOR, _at(day, 10), date=day)
        employers.append(employer.archive_no)
    day = add_working_days(closes, 1).day
    steps.close(root, procedure, batch, REVIEWER, _at(day))
    for k, no in enumerate(employers):
        members = list(root.batches.employer(no).metadata["members"])
        refused = {members[-1]: "劳动合同期限不足1年（对象(二)2.）"} if k == 0 else {}
        steps.review(root, procedure, batch, no, [m for m in members if m not in refused], refused,
                     REVIEWER, _at(add_working_days(day, 3 + k).day))
    day = add_working_days(day, 7).day
    steps.publish_results(root, procedure, batch, REVIEWER, _at(day), day)
    day = add_working_days(batch.publicity_to, 1).day
    steps.propose(root, procedure, batch, dict(zip(employers, (2, 2, 2))), REVIEWER, _at(day))
    seed = hashlib.sha256(f"demo-collective-{today.isoformat()}".encode()).hexdigest()[:32]
    announced = add_working_days(day, 1).day
    draw_on = add_working_days(announced, 3).day
    steps.announce(root, procedure, batch, "proportional", "鹭江智能科技要求4套，未能协商一致", draw_on,
                   REVIEWER, _at(announced), commitment_of(seed))
    steps.decide(root, procedure, batch, seed, REVIEWER, _at(draw_on, 60))
    left = list(units)
    for k, no in enumerate(employers):
        approved = batch.reviews[no].approved
        mine = {h: left.pop(0) for h in approved[:batch.quota_of(no)]}
        steps.report(root, procedure, batch, no, mine, ACTOR, _at(add_working_days(draw_on, 2 + k).day))
    return {"batch": batch.batch_id, "employers": employers, "units": units,
            "quotas": dict(batch.decision.result), "seed": seed}
