"""The steps of a batch of collective applications (单位集体申请, 厦门 seed 002), each checked
before anything is written and recorded everywhere it touches.

1. **publish** the batch plan (批次租赁方案): its units, the application period and the units
   (单位) named to apply.
2. **apply**: a named employer (or its sector authority, or park committee) applies for its
   staff: its own dossier (EmployerDossier, 档号 ``XM-DW-…``) with the member households'
   archive numbers (名册); each member keeps its household dossier (一户一档).
3. **close** after the application period; the review is due 10 working days after the
   closing day (程序(二) 受理申请截止之日起10个工作日内完成审核工作).
4. **review** each employer: members approved or refused with a reason; the employer's
   dossier must hold its documents and each approved member its employment contract. A
   review after the deadline needs a recorded reason and is flagged.
5. **publish the results** (审核结果公示, 5 days).
6. **propose** within 5 working days after the publicity (程序(三) 提出初步分配方案); then either
   **agree** (协商确定) or **announce** a method with the commitment to its seed and
   **decide** once on or after the announced day (quota.py; the seed must match).
7. **report** the employer's allocation of its units to its members (申请单位应当将配租结果报运营企业).

Every step is an event of the batch, a version of every employer and member household
dossier (and unit dossier) it concerns, and an audit-log entry.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re

from ...records.dossier import MAX_COMMENT, EmployerDossier
from ...records import filing
from ...records.pdf import inspect
from ..lottery.draw import LotteryError, check_commitment, check_seed, commitment_of, new_seed
from ..workdays import add_working_days, after
from . import quota
from .batch import BatchEvent, BatchPlan, CollectiveError, QuotaDecision, Review, book
from .rules import APPLICANTS

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PLAN_FIELDS = {"location": "房源坐落", "targets": "租赁对象", "conditions": "申请条件",
               "rent_standard": "租金标准", "rent_discount": "租金优惠", "selection_rules": "选房规则",
               "approval": "市住房保障行政管理部门审核同意文号"}
MAX_MEMBERS = 500


# -- input --------------------------------------------------------------------------------
def credit_check_char(first17: str) -> str:
    """统一社会信用代码 (GB 32100-2015) check character: mod 31 over the first 17."""
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def check_credit_code(value) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if (len(code) != 18 or any(c not in CREDIT_CHARS for c in code)
            or credit_check_char(code[:17]) != code[17]):
        raise CollectiveError("统一社会信用代码应为18位，且校验位正确（GB 32100-2015）", "credit_code")
    return code


def _text(value, field, title, required=True, limit=200):
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit:
        raise CollectiveError(f"{title}应为不超过{limit}个字符的文本", field)
    if required and not value.strip():
        raise CollectiveError(f"请填写{title}", field)
    return value.strip()


def _date(value, field, title) -> _dt.date:
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CollectiveError(f"{title}应为 YYYY-MM-DD 格式的日期", field)


def _numbers(value, field, title):
    if (not isinstance(value, (list, tuple)) or not value or len(value) > MAX_MEMBERS
            or any(not isinstance(v, str) or len(v) > 64 for v in value)):
        raise CollectiveError(f"{title}应为1至{MAX_MEMBERS}个档号的列表", field)
    if len(set(value)) != len(value):
        raise CollectiveError(f"{title}中有重复的档号", field)
    return tuple(value)


def _listed(numbers, limit=10):
    return "、".join(numbers[:limit]) + (f" 等{len(numbers)}个" if len(numbers) > limit else "")


def rules_of(procedure, jurisdiction):
    rules = procedure.workflows.collective.get(jurisdiction) if isinstance(jurisdiction, str) else None
    if rules is None:
        raise CollectiveError(f"辖区 {jurisdiction} 的政策未规定单位集体申请", "jurisdiction")
    return rules


# -- recording ----------------------------------------------------------------------------
def _touch(root, batch, action, title, actor, when, comment="", details=(), employers=None,
           members=None, units=(), flagged=False):
    """The step as an event of the batch, a version of every dossier it concerns, a log entry."""
    details = tuple((str(k), str(v)) for k, v in details)
    batch.record(BatchEvent(when, actor, action, title, comment, details, flagged))
    text = f"{batch.batch_id} {title}" + (f"：{comment}" if comment else "")
    if len(text) > MAX_COMMENT:
        text = text[:MAX_COMMENT - 1] + "…"
    noted = details + (("批次", batch.batch_id),) + ((("逾期办理", "是"),) if flagged else ())
    employers = batch.applications if employers is None else employers
    for no in employers:
        employer = book(root).employer(no)
        employer.note("collective", actor, when, text, noted)
        for member in (employer.metadata.get("members") or ()) if members is None else members.get(no, ()):
            household = root.households.get(member)
            if household is not None:
                household.note("collective", actor, when, text, noted + (("申请单位", f"{employer.title}（{no}）"),))
    for no in units:
        unit = root.units.get(no)
        if unit is not None:
            unit.note("collective", actor, when, text, noted)
    root.log.append(actor, f"collective.{action}", batch.batch_id, text[:500], when)


def _state(batch, *states):
    if batch.state not in states:
        from .batch import STATES
        raise CollectiveError(f"批次 {batch.batch_id} 处于“{batch.state_title()}”，不能办理此步骤"
                              f"（应在：{'、'.join(STATES[s][0] for s in states)}）", None, 409)


def _deadline(due, today, late_reason, what):
    """A step past its deadline is taken only with a recorded reason (flagged); returns the flag."""
    late_reason = _text(late_reason, "late_reason", "逾期原因", required=False, limit=MAX_COMMENT)
    if due is None or today <= due:
        return False
    if not (late_reason or "").strip():
        raise CollectiveError(f"已超过{what}期限（{due.isoformat()}），请写明逾期原因", "late_reason")
    return True


# -- 1. the plan --------------------------------------------------------------------------
def publish(root, registry, procedure, jurisdiction, title, units, employers, opens_on, closes_on,
            actor, when, plan=None):
    """Publish a batch plan: (the BatchPlan)."""
    rules = rules_of(procedure, jurisdiction)
    title = _text(title, "title", "批次名称")
    opens_on, closes_on = _date(opens_on, "opens_on", "申请开始日期"), _date(closes_on, "closes_on", "申请截止日期")
    if closes_on < opens_on:
        raise CollectiveError("申请截止日期不能早于开始日期", "closes_on")
    units = _numbers(units, "units", "批次房源")
    unknown = [no for no in units if root.units.get(no) is None]
    if unknown:
        raise CollectiveError(f"房源档案不存在：{_listed(unknown)}", "units")
    elsewhere = [no for no in units if root.units[no].metadata.get("jurisdiction") != jurisdiction]
    if elsewhere:
        raise CollectiveError(f"不属于本辖区的房源不能列入批次：{_listed(elsewhere)}", "units")
    taken = [f"{no}（{b.batch_id}）" for b in book(root).values() if b.state != "decided"
             for no in b.units if no in units]
    if taken:
        raise CollectiveError(f"以下房源已列入尚未完成的批次：{_listed(taken)}", "units", 409)
    if not isinstance(employers, (list, tuple)) or not employers or len(employers) > MAX_MEMBERS:
        raise CollectiveError("批次租赁方案应当明确负责集体申请的单位：请列出至少一个单位", "employers")
    named = []
    for i, e in enumerate(employers):
        if not isinstance(e, dict):
            raise CollectiveError("负责集体申请的单位应为对象（统一社会信用代码、名称、类型）", "employers")
        code = check_credit_code(e.get("credit_code"))
        kind = e.get("type", "employer")
        if kind not in rules.applicants:
            raise CollectiveError(f"单位类型应为：{'、'.join(rules.applicants)}", "employers")
        named.append((code, _text(e.get("name"), "employers", "单位名称", limit=100), kind))
    if len({n[0] for n in named}) != len(named):
        raise CollectiveError("负责集体申请的单位重复", "employers")
    plan = plan or {}
    if not isinstance(plan, dict) or set(plan) - set(PLAN_FIELDS):
        raise CollectiveError(f"方案内容只能包含：{'、'.join(PLAN_FIELDS)}", "plan")
    plan = {k: _text(v, "plan", PLAN_FIELDS[k], required=False, limit=500) for k, v in plan.items()}
    fonds = filing.fonds_of(registry, {"jurisdiction": jurisdiction})
    batch = BatchPlan(book(root).issue_id(fonds, procedure.today(when).year), jurisdiction, title,
                      units, named, opens_on, closes_on, plan, actor, when)
    book(root).add(batch)
    _touch(root, batch, "publish", "公布批次租赁方案", actor, when, title, (
        ("房源数", len(units)), ("申请时间", f"{opens_on.isoformat()} 至 {closes_on.isoformat()}"),
        ("负责集体申请的单位", "、".join(n[1] for n in named))), units=units)
    return batch


# -- 2. an employer applies ---------------------------------------------------------------
def apply(root, registry, procedure, batch, credit_code, members, actor, when, contact="", comment=""):
    """An employer named by the plan applies for its staff: (its EmployerDossier)."""
    _state(batch, "open")
    today = procedure.today(when)
    if not batch.opens_on <= today <= batch.closes_on:
        raise CollectiveError(f"不在申请时间内（{batch.opens_on.isoformat()} 至 {batch.closes_on.isoformat()}）",
                              None, 409)
    code = check_credit_code(credit_code)
    named = batch.named(code)
    if named is None:
        raise CollectiveError("该单位不是本批次租赁方案明确的负责集体申请的单位", "credit_code")
    books = book(root)
    if any(books.employer(no).metadata["credit_code"] == code for no in batch.applications):
        raise CollectiveError(f"{named[1]} 已在本批次提出集体申请", "credit_code", 409)
    members = _numbers(members, "members", "申请人员名册")
    dossiers = [root.households.get(no) for no in members]
    unknown = [no for no, d in zip(members, dossiers) if d is None]
    if unknown:
        raise CollectiveError(f"住户档案不存在：{_listed(unknown)}（请先为每户建档，一户一档）", "members")
    elsewhere = [d.archive_no for d in dossiers if d.metadata.get("jurisdiction") != batch.jurisdiction]
    if elsewhere:
        raise CollectiveError(f"不属于本辖区的住户：{_listed(elsewhere)}", "members")
    twice = []
    for no in members:
        other, employer_no = books.batch_of(no)
        if other is not None:
            twice.append(f"{no}（{other.batch_id} {employer_no}）")
    if twice:
        raise CollectiveError(f"以下住户已列入尚未完成的集体申请：{_listed(twice)}", "members", 409)
    contact = _text(contact, "contact", "联系人", required=False, limit=100)
    comment = _text(comment, "comment", "说明", required=False, limit=MAX_COMMENT)
    metadata = {"name": named[1], "credit_code": code, "applicant_type": named[2],
                "jurisdiction": batch.jurisdiction, "batch": batch.batch_id,
                "members": list(members), "requested": len(members), "contact": contact}
    number = root.numbers.issue(registry.numbering["employer"], "employer",
                                filing.fonds_of(registry, metadata), today.year)
    employer = EmployerDossier(number, metadata, actor, when, comment or f"单位集体申请（{batch.batch_id}）")
    root.employers.add(employer)   # indexed, logged, its fixity record made (records.container)
    batch.applications = batch.applications + (number,)
    _touch(root, batch, "apply", "单位集体申请", actor, when, f"{named[1]} 申请 {len(members)} 套",
           (("申请单位", f"{named[1]}（{number}）"), ("申请房源数", len(members))), employers=(number,))
    return employer


def file_document(root, registry, employer, doc_type, title, data, filename, actor, when,
                  date=None, issuer="", doc_no=""):
    """File a document into an employer's dossier (the PDF checked as at any filing)."""
    types = registry.vocabularies["document_types"]
    if doc_type not in types or types[doc_type].extra.get("kind") != "employer":
        raise CollectiveError(f"文件类型不属于单位集体申请档案：{doc_type}", "doc_type")
    metadata = {"doc_type": doc_type, "title": _text(title, "title", "题名"),
                "date": date or when.date(), "issuer": issuer or employer.title,
                "doc_no": doc_no}
    facts = inspect(data, None, filing.max_pages({}))
    doc = employer.file_document(metadata, data, facts, filename, actor, when, title)
    filing.record_intake(None, employer, doc, facts)
    filing.queue_text(employer, doc)   # its text, once read, is searched like any dossier's
    return doc


# -- 3. close, 4. review -------------------------------------------------------------------
def close(root, procedure, batch, actor, when):
    """Close the application period; the review's deadline starts (程序(二))."""
    _state(batch, "open")
    today = procedure.today(when)
    if today <= batch.closes_on:
        raise CollectiveError(f"申请时间至 {batch.closes_on.isoformat()} 截止，尚未截止，不能结束受理", None, 409)
    if not batch.applications:
        raise CollectiveError("本批次没有任何单位提出申请", None, 409)
    rules = rules_of(procedure, batch.jurisdiction)
    batch.review_due = after(batch.closes_on, rules.review).day
    batch.state = "closed"
    _touch(root, batch, "close", "受理截止", actor, when, "",
           (("审核期限", f"{batch.review_due.isoformat()}（受理申请截止之日起{rules.review}）"),))


def review(root, procedure, batch, employer_no, approved, refused, actor, when, late_reason=""):
    """Review one employer's application: every member approved, or refused with a reason."""
    _state(batch, "closed")
    if not isinstance(employer_no, str) or employer_no not in batch.applications:
        raise CollectiveError(f"本批次没有申请单位 {employer_no}", "employer", 404)
    if employer_no in batch.reviews:
        raise CollectiveError(f"{employer_no} 已审核", "employer", 409)
    rules = rules_of(procedure, batch.jurisdiction)
    employer = book(root).employer(employer_no)
    members = list(employer.metadata["members"])
    approved = tuple(approved or ())
    if not isinstance(refused, dict) or any(not isinstance(v, str) or not v.strip() for v in refused.values()):
        raise CollectiveError("不予通过的住户须逐户写明原因", "refused")
    if sorted(list(approved) + list(refused)) != sorted(members) or len(set(approved) & set(refused)):
        raise CollectiveError("名册中的每一户都须审核一次：通过或不予通过", "approved")
    have = {d.metadata.get("doc_type") for d in employer.active_documents()}
    missing = [registry_title(procedure, c) for c in rules.required_documents if c not in have]
    if missing:
        raise CollectiveError(f"单位申请材料不齐：缺少{'、'.join(missing)}", "employer")
    lacking = []
    for no in approved:
        docs = {d.metadata.get("doc_type") for d in root.households[no].active_documents()}
        lacking += [f"{no}（{registry_title(procedure, c)}）" for c in rules.member_documents if c not in docs]
    if lacking:
        raise CollectiveError(f"以下住户的材料不齐：{_listed(lacking)}", "approved")
    late = _deadline(batch.review_due, procedure.today(when), late_reason, "审核")
    batch.reviews[employer_no] = Review(when, actor, approved, tuple(sorted(refused.items())),
                                        late_reason.strip() if late else "")
    employer.metadata = dict(employer.metadata, approved=list(approved))   # recorded by _touch's version
    _touch(root, batch, "review", "审核", actor, when, late_reason if late else "",
           (("审核通过", len(approved)), ("不予通过", len(refused)))
           + tuple((f"不予通过 {no}", why) for no, why in sorted(refused.items())),
           employers=(employer_no,), flagged=late)


def registry_title(procedure, code):
    return procedure.schemas.vocabularies["document_types"].title(code)


# -- 5. publicity, 6. the quota ----------------------------------------------------------------
def publish_results(root, procedure, batch, actor, when, starts_on=None):
    """审核结果公示: every application reviewed; the publicity runs the profile's days."""
    _state(batch, "closed")
    waiting = [no for no in batch.applications if no not in batch.reviews]
    if waiting:
        raise CollectiveError(f"尚有申请单位未审核：{_listed(waiting)}", None, 409)
    rules = rules_of(procedure, batch.jurisdiction)
    batch.publicity_from = _date(starts_on, "starts_on", "公示开始日期") if starts_on else procedure.today(when)
    # the publicity's last day: 5 days from the 23rd are the 23rd to the 27th
    batch.publicity_to = after(batch.publicity_from, rules.publicity).day - _dt.timedelta(days=1)
    batch.proposal_due = after(batch.publicity_to, rules.proposal).day
    batch.state = "publicity"
    _touch(root, batch, "publicity", "审核结果公示", actor, when, "", (
        ("公示期", f"{batch.publicity_from.isoformat()} 至 {batch.publicity_to.isoformat()}"),
        ("初步分配方案期限", batch.proposal_due.isoformat())))


def propose(root, procedure, batch, proposal, actor, when, late_reason=""):
    """初步分配方案: units per employer, within the batch and the approved requests."""
    _state(batch, "publicity")
    today = procedure.today(when)
    if today <= batch.publicity_to:
        raise CollectiveError(f"审核结果公示至 {batch.publicity_to.isoformat()} 结束，公示期内不能提出分配方案",
                              None, 409)
    approved = batch.approved()
    if (not isinstance(proposal, dict) or set(proposal) != set(approved)
            or any(type(v) is not int or v < 0 for v in proposal.values())):
        raise CollectiveError("初步分配方案应为每个申请单位（档号）一个不小于0的整数", "proposal")
    over = [no for no, n in proposal.items() if n > approved[no]]
    if over:
        raise CollectiveError(f"分配数不能超过审核后的申请数：{_listed(over)}", "proposal")
    if sum(proposal.values()) > len(batch.units):
        raise CollectiveError(f"分配总数 {sum(proposal.values())} 超过本批次房源数 {len(batch.units)}", "proposal")
    late = _deadline(batch.proposal_due, today, late_reason, "提出初步分配方案")
    batch.proposal = dict(proposal)
    batch.state = "proposed"
    _touch(root, batch, "propose", "提出初步分配方案", actor, when, late_reason if late else "",
           tuple((book(root).employer(no).title, n) for no, n in sorted(proposal.items())), flagged=late)


def agree(root, procedure, batch, actor, when, comment=""):
    """协商确定: the employers agreed to the proposal; it becomes the decision."""
    _state(batch, "proposed")
    comment = _text(comment, "comment", "协商情况", required=False, limit=MAX_COMMENT)
    result = tuple(sorted(batch.proposal.items()))
    decision = QuotaDecision(quota.AGREED, requests=tuple(sorted(batch.approved().items())),
                             units=len(batch.units), result=result, when=when, actor=actor)
    batch.decision = _digested(decision)
    _decided(root, procedure, batch, actor, when, comment or "申请单位协商一致")


def announce(root, procedure, batch, method, reason, draw_on, actor, when, commitment=None):
    """经协商未达成一致: the method and the commitment to its seed are fixed before the draw;
    returns the seed made here (shown once) or None when a commitment was given."""
    _state(batch, "proposed")
    rules = rules_of(procedure, batch.jurisdiction)
    if method not in rules.methods:
        raise CollectiveError(f"确定方式应为：{'、'.join(quota.method_title(m) for m in rules.methods)}", "method")
    reason = _text(reason, "reason", "协商未达成一致的情况", limit=MAX_COMMENT)
    draw_on = _date(draw_on, "draw_on", "摇号（确定）日期")
    if draw_on < procedure.today(when):
        raise CollectiveError("摇号（确定）日期不能早于今天", "draw_on")
    seed = None
    try:
        if commitment in (None, ""):
            seed = new_seed()
            commitment = commitment_of(seed)
        else:
            commitment = check_commitment(commitment)
    except LotteryError as exc:
        raise CollectiveError(str(exc), "commitment") from None
    batch.decision = QuotaDecision(method, reason, commitment, draw_on, when, actor,
                                   requests=tuple(sorted(batch.approved().items())), units=len(batch.units))
    batch.state = "announced"
    _touch(root, batch, "announce", "预告确定方式", actor, when, reason, (
        ("确定方式", quota.method_title(method)), ("日期", draw_on.isoformat()),
        ("种子承诺值（SHA-256）", commitment)))
    return seed


def decide(root, procedure, batch, seed, actor, when):
    """Run the announced method once, with the seed whose SHA-256 is the commitment."""
    if batch.state == "decided":
        raise CollectiveError(f"批次 {batch.batch_id} 的房源租赁数量已于 {batch.decision.when:%Y-%m-%d} 确定，只确定一次",
                              None, 409)
    _state(batch, "announced")
    pending = batch.decision
    if procedure.today(when) < pending.draw_on:
        raise CollectiveError(f"未到预告的日期 {pending.draw_on.isoformat()}", None, 409)
    try:
        check_seed(seed)
    except LotteryError as exc:
        raise CollectiveError(str(exc), "seed") from None
    if commitment_of(seed) != pending.commitment:
        raise CollectiveError("种子与预告公布的种子承诺值不符，未确定", "seed")
    answer = quota.compute(pending.method, seed, dict(pending.requests), pending.units)
    result = tuple(sorted((no, r["quota"]) for no, r in answer.items()))
    detail = json.dumps(answer, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    batch.decision = _digested(QuotaDecision(
        pending.method, pending.reason, pending.commitment, pending.draw_on, pending.announced_at,
        pending.announced_by, seed, pending.requests, pending.units, result, detail, when, actor))
    _decided(root, procedure, batch, actor, when, f"种子 {seed}")


def _digested(decision):
    import dataclasses
    return dataclasses.replace(decision, digest=hashlib.sha256(decision.canonical()).hexdigest())


def _decided(root, procedure, batch, actor, when, comment):
    from .pdf import decision_pdf
    batch.state = "decided"
    d = batch.decision
    data = decision_pdf(batch, book(root), procedure.today(when))
    for no in batch.applications:
        employer = book(root).employer(no)
        employer.metadata = dict(employer.metadata, quota=batch.quota_of(no) or 0)
        file_document(root, procedure.schemas, employer, "quota_decision",
                      f"房源租赁数量确定结果（{batch.batch_id}）", data, f"{batch.batch_id}-{no}.pdf",
                      actor, when, issuer="运营企业", doc_no=batch.batch_id)
    _touch(root, batch, "decide", "确定房源租赁数量", actor, when, comment,
           (("确定方式", quota.method_title(d.method)), ("结果摘要", d.digest))
           + tuple((book(root).employer(no).title, n) for no, n in d.result))


# -- 7. the employer's allocation ---------------------------------------------------------
def report(root, procedure, batch, employer_no, allocation, actor, when):
    """配租结果: the employer lets its units to approved members ({household no: unit no})."""
    _state(batch, "decided")
    quota_n = batch.quota_of(employer_no) if isinstance(employer_no, str) else None
    if quota_n is None:
        raise CollectiveError(f"本批次没有申请单位 {employer_no}", "employer", 404)
    if not isinstance(allocation, dict) or not allocation or \
            any(not isinstance(k, str) or not isinstance(v, str) for k, v in allocation.items()):
        raise CollectiveError("配租结果应为 住户档号 → 房源档号", "allocation")
    members = set(batch.reviews[employer_no].approved)
    done = {h for e, h, _ in batch.allocations if e == employer_no}
    strangers = [no for no in allocation if no not in members]
    if strangers:
        raise CollectiveError(f"不是本单位审核通过的申请人：{_listed(strangers)}", "allocation")
    again = [no for no in allocation if no in done]
    if again:
        raise CollectiveError(f"已报送过配租结果的住户：{_listed(again)}", "allocation", 409)
    if len(done) + len(allocation) > quota_n:
        raise CollectiveError(f"超过本单位房源租赁数量 {quota_n} 套", "allocation")
    taken = {u for _, _, u in batch.allocations}
    units = list(allocation.values())
    bad = [u for u in units if u not in batch.units or u in taken or units.count(u) > 1]
    if bad:
        raise CollectiveError(f"不是本批次的房源或已配出：{_listed(bad)}", "allocation", 409)
    batch.allocations = batch.allocations + tuple((employer_no, h, u) for h, u in sorted(allocation.items()))
    _touch(root, batch, "report", "报送配租结果", actor, when, "",
           tuple((h, u) for h, u in sorted(allocation.items())), employers=(employer_no,),
           members={employer_no: tuple(sorted(allocation))}, units=tuple(sorted(units)))
