"""Audit rules (审计规则): each a small unit with an id, a severity, a description and the
四性检测 category it serves (DA/T 70-2018: authenticity, integrity, usability, security).

A rule has a scope that says what the audit hands it, so the audit walks the archive once:
``file`` rules get every stored file revision with its bytes read once for all of them,
``dossier`` rules get every dossier, ``archive`` rules run once over the whole archive.
A rule yields findings; it never changes anything.
"""
from __future__ import annotations

import datetime as _dt
import types
from dataclasses import dataclass

from ..workflow import leases
from ..workflow import subsidy as subsidies
from ..access.auditlog import STALE_SECONDS
from ..workflow.credit import reason_title
from ..schema.idnumber import mask as mask_id
from ..workflow import guards

SEVERITIES = {   # most serious first
    "critical": ("严重", "Critical"),
    "major": ("重要", "Major"),
    "minor": ("一般", "Minor"),
}
CATEGORIES = {   # 四性检测
    "authenticity": ("真实性", "Authenticity"),
    "integrity": ("完整性", "Integrity"),
    "usability": ("可用性", "Usability"),
    "security": ("安全性", "Security"),
}


def title_of(table, code, locale="zh"):
    zh, en = table.get(code, (code, code))
    return en if locale == "en" else zh


@dataclass(frozen=True)
class Finding:
    """One fault found: which rule, how serious, where, and what a clerk should read.

    ``subject`` names the thing inside the dossier (a document's file, a lease, a masked
    ID number), so the same fault found by the next run has the same fingerprint."""
    rule: str
    severity: str
    message: str
    dossier: str = ""
    kind: str = ""          # household | unit | "" (the archive as a whole)
    subject: str = ""

    @property
    def fingerprint(self) -> str:
        return f"{self.rule}|{self.dossier}|{self.subject}"


@dataclass(frozen=True)
class Rule:
    """A check the audit runs, described for the audit page and the report."""
    id: str
    severity: str
    category: str
    scope: str              # file | dossier | archive
    titles: tuple           # (zh, en)
    descriptions: tuple     # (zh, en)
    check: object

    def title(self, locale="zh"):
        return self.titles[1] if locale == "en" else self.titles[0]

    def description(self, locale="zh"):
        return self.descriptions[1] if locale == "en" else self.descriptions[0]

    def finding(self, message, dossier=None, subject=""):
        return Finding(self.id, self.severity, message,
                       getattr(dossier, "archive_no", "") or "", getattr(dossier, "kind", "") or "",
                       subject)


RULES: dict[str, Rule] = {}


def rule(id, severity, category, scope, titles, descriptions):
    """Register a rule function under its id (the order of registration is report order)."""
    assert severity in SEVERITIES and category in CATEGORIES and scope in ("file", "dossier", "archive")

    def register(check):
        RULES[id] = Rule(id, severity, category, scope, titles, descriptions, check)
        return check
    return register


# -- files ---------------------------------------------------------------------------------
@rule("fixity", "critical", "authenticity", "file",
      ("固化信息校验", "Fixity"),
      ("重新计算每个文件每个版本的SHA-256和SM3（同一次读取），与归档时记录的值比对。",
       "Recompute the SHA-256 and SM3 of every stored file, every revision (one read feeds both), "
       "against the values recorded at filing."))
def fixity(rule, ctx, dossier, stored):
    if not stored.readable:
        yield rule.finding(f"文件 {stored.doc_id} 第 {stored.file_no} 版的内容无法读取（存储文件缺失）",
                           dossier, stored.subject)
    elif stored.digest != stored.sha256:
        yield rule.finding(f"文件 {stored.doc_id} 第 {stored.file_no} 版的SHA-256与归档时不符"
                           f"（归档时 {stored.sha256[:12]}…，现为 {stored.digest[:12]}…），内容已被改动",
                           dossier, stored.subject)
    elif stored.recorded_sm3 and stored.sm3_digest != stored.recorded_sm3:
        yield rule.finding(f"文件 {stored.doc_id} 第 {stored.file_no} 版的SM3与归档时不符"
                           f"（归档时 {stored.recorded_sm3[:12]}…，现为 {stored.sm3_digest[:12]}…），"
                           f"固化信息已被改动", dossier, stored.subject)


@rule("usability", "major", "usability", "file",
      ("可用性检测", "Usability"),
      ("每个PDF文件仍能由PDF引擎打开、未加密，且页数与归档时记录一致。",
       "Every PDF still opens in a PDF engine, is not encrypted, and has the page count recorded at filing."))
def usability(rule, ctx, dossier, stored):
    if not stored.readable:
        return   # fixity reports the missing file
    pages, problem = stored.found_pages, stored.problem
    if problem:
        yield rule.finding(f"文件 {stored.doc_id} 第 {stored.file_no} 版无法打开：{problem}", dossier,
                           stored.subject)
    elif stored.pages is not None and pages != stored.pages:
        yield rule.finding(f"文件 {stored.doc_id} 第 {stored.file_no} 版现有 {pages} 页，"
                           f"归档时记录为 {stored.pages} 页", dossier, stored.subject)


# -- one dossier at a time -------------------------------------------------------------------
@rule("manifest", "critical", "authenticity", "dossier",
      ("版本记录与文件一致", "Versions match the files"),
      ("每个历史版本记录的文件及其SHA-256都确实存在于档案中（元数据记录的位置即内容所在）。",
       "Every version's record of a document points at a stored file with the recorded SHA-256."))
def manifest(rule, ctx, dossier):
    stored = ctx.stored_files(dossier)
    seen = _destroyed(dossier)   # a stub's files went by a destruction list, recorded there
    for version in ctx.history(dossier):
        for entry in version.manifest:
            key = (entry.doc_id, entry.file_no, entry.sha256)
            if key in seen:
                continue
            seen.add(key)
            recorded = stored.get((entry.doc_id, entry.file_no))
            if recorded is None:
                yield rule.finding(f"第 {version.number} 版记录的文件 {entry.doc_id} 第 {entry.file_no} 版不存在",
                                   dossier, f"{entry.doc_id}#{entry.file_no}")
            elif recorded != entry.sha256:
                yield rule.finding(f"第 {version.number} 版记录的文件 {entry.doc_id} 第 {entry.file_no} 版"
                                   f"SHA-256与文件本身的记录不符", dossier, f"{entry.doc_id}#{entry.file_no}")


@rule("completeness", "major", "integrity", "dossier",
      ("文件齐全", "Completeness"),
      ("档案已办理的每个步骤所需的文件（按所属辖区规则）均已归档且未撤出；待受理的申请须有全套申请材料。",
       "Every document the dossier's city requires for the steps it has been through is filed and not "
       "withdrawn; an application awaiting acceptance holds the whole application set."))
def completeness(rule, ctx, dossier):
    profile = ctx.procedure.profile(dossier)
    if profile is None or getattr(dossier, "destruction", None) is not None:
        return   # a stub (its files lawfully destroyed) is complete as what it is
    workflow = ctx.procedure.workflow(dossier)
    initial = dossier.kind == "household" and dossier.state == workflow.initial
    stages = list(ctx.application_stages) if initial else []
    for name in ctx.steps_taken(dossier):
        transition = workflow.transition(name)
        for guard in (transition.guards if transition else ()):
            if guard.kind == "documents" and guard.arg not in stages:
                stages.append(guard.arg)
    history = ctx.history(dossier)
    current = history[-1].manifest if history else ()     # the documents as they stand now
    present = {d.metadata.get("doc_type") for d in current if not d.withdrawn}
    missing = []
    for stage in stages:
        missing += [c for c in profile.required_documents(stage) if c not in present and c not in missing]
    if missing:
        vocab = ctx.schemas.vocabularies["document_types"]
        names = "、".join(vocab.title(c) for c in missing)
        yield rule.finding(f"已办理步骤所需的文件缺失：{names}（{profile.title()}）", dossier,
                           ",".join(sorted(missing)))


def _destroyed(dossier) -> set:
    """(doc_id, file_no, sha256) of the files a destruction list destroyed (a stub's record)."""
    record = getattr(dossier, "destruction", None)
    if record is None:
        return set()
    return ({(f.doc_id, f.file_no, f.sha256) for f in record.files}
            | {(d.doc_id, 0, "") for d in dossier.documents.values()})   # versions since: no file


@rule("stub", "critical", "authenticity", "dossier",
      ("销毁存根", "Destruction stubs"),
      ("已按销毁清册销毁的档案不再有任何文件（文件版本和固化信息登记均已清除），且存根记录了每个被销毁文件的SHA-256。",
       "A dossier destroyed by a destruction list holds no file any more (no revision, no fixity entry) "
       "and its stub records the SHA-256 of every destroyed file."))
def stub(rule, ctx, dossier):
    record = getattr(dossier, "destruction", None)
    if record is None:
        return
    left = [f"{d.doc_id}#{r.number}" for d in dossier.documents.values() for r in d.files]
    left += [f"{e[0]}#{e[1]}" for e in ctx.stored_files(dossier)]
    if left:
        yield rule.finding(f"档案已按销毁清册第 {record.list_number} 号销毁，但仍有文件：{'、'.join(sorted(set(left)))}",
                           dossier, "files")
    missing = [f"{f.doc_id}#{f.file_no}" for f in record.files if len(f.sha256 or "") != 64]
    if missing:
        yield rule.finding(f"销毁存根缺少文件 {'、'.join(missing)} 的SHA-256", dossier, "sha256")


@rule("lease_link", "critical", "integrity", "dossier",
      ("一户一套对应", "One unit, one household"),
      ("在租或已配租的租赁关系在住户档案和房源档案两侧一致，状态相符。",
       "An open lease is held by both its household and its unit, and both dossiers' states agree with it."))
def lease_link(rule, ctx, dossier):
    lease = leases.current_lease(dossier)
    other_kind = "unit" if dossier.kind == "household" else "household"
    if lease is not None and lease.open:
        other_no = lease.unit_no if dossier.kind == "household" else lease.household_no
        other = ctx.root.container(other_kind).get(other_no)
        if other is None:
            yield rule.finding(f"租赁 {lease.lease_id} 指向的档案 {other_no} 不存在", dossier, lease.lease_id)
        elif leases.current_lease(other) is not lease:
            held = leases.current_lease(other)
            yield rule.finding(f"租赁 {lease.lease_id} 在 {other_no} 一侧不是当前租赁"
                               f"（该档案当前为 {held.lease_id if held else '无'}）", dossier, lease.lease_id)
        expected = ctx.lease_states[dossier.kind][lease.state]
        if dossier.state not in expected:
            yield rule.finding(f"租赁 {lease.lease_id} 为“{lease.state_title()}”，但档案处于"
                               f"“{ctx.procedure.state_title(dossier)}”", dossier, f"{lease.lease_id}:state")
    elif dossier.state in ctx.lease_states[dossier.kind]["current"] | ctx.lease_states[dossier.kind]["offered"]:
        yield rule.finding(f"档案处于“{ctx.procedure.state_title(dossier)}”，却没有在租或已配租的租赁",
                           dossier, "no-lease")


@rule("lease_expired", "major", "integrity", "dossier",
      ("租期届满未处理", "Lease past its end"),
      ("租期已届满，既未续租也未办理退出。", "A lease past its end date with no renewal and no exit."))
def lease_expired(rule, ctx, dossier):
    lease = leases.current_lease(dossier)
    if dossier.kind != "household" or lease is None or lease.state != "current" or lease.end is None:
        return
    if lease.end < ctx.today and dossier.state != "exiting":
        yield rule.finding(f"租赁 {lease.lease_id} 已于 {lease.end.isoformat()} 届满，"
                           f"已过 {(ctx.today - lease.end).days} 天，未续租也未办理退出", dossier, lease.lease_id)


@rule("annual_review", "major", "integrity", "dossier",
      ("年度申报逾期", "Annual declaration overdue"),
      ("在租住户未在规定期限内完成年度申报与复核。",
       "A tenant household past its city's deadline for the yearly declaration and review."))
def annual_review(rule, ctx, dossier):
    if dossier.kind != "household" or dossier.state != "leased":
        return
    due = ctx.procedure.due(dossier)
    if due is not None and due.day < ctx.today:
        yield rule.finding(f"年度申报应于 {due.day.isoformat()} 前完成，已逾期 {(ctx.today - due.day).days} 天",
                           dossier, f"due:{due.day.isoformat()}")


@rule("arrears", "major", "integrity", "dossier",
      ("欠租6个月以上", "Rent arrears of 6 months or more"),
      ("在租住户的租金缴纳记录落后6个月以上（应当退出）。",
       "A tenant whose rent record is 6 months or more behind (the household must exit)."))
def arrears(rule, ctx, dossier):
    lease = leases.current_lease(dossier)
    if dossier.kind != "household" or lease is None or lease.state != "current" or lease.start is None:
        return
    months = leases.months_in_arrears(lease, ctx.today)
    if months >= 6:
        paid = lease.paid_through.isoformat() if lease.paid_through else "无缴纳记录"
        yield rule.finding(f"租赁 {lease.lease_id} 欠租 {months} 个月（已缴至：{paid}）", dossier, lease.lease_id)


@rule("transition_overstay", "major", "integrity", "dossier",
      ("超期未腾退", "Transition period overstayed"),
      ("退出过渡期已满，住户仍未腾退。", "The exit transition period has ended and the household has not vacated."))
def transition_overstay(rule, ctx, dossier):
    lease = leases.current_lease(dossier)
    if dossier.kind != "household" or dossier.state != "exiting" or lease is None \
            or lease.transition_until is None:
        return
    if lease.transition_until < ctx.today:
        yield rule.finding(f"过渡期已于 {lease.transition_until.isoformat()} 届满，"
                           f"超期 {(ctx.today - lease.transition_until).days} 天仍未腾退", dossier, lease.lease_id)


@rule("threshold", "critical", "authenticity", "dossier",
      ("突破限额未记录破格", "Threshold breached without override"),
      ("办理时档案信息超过所属辖区限额（收入、资产、住房面积），却没有记录破格办理及其理由。",
       "A step taken while the dossier's values broke its city's limits, with no override recorded."))
def threshold(rule, ctx, dossier):
    profile = ctx.procedure.profile(dossier)
    if profile is None:
        return
    workflow = ctx.procedure.workflow(dossier)
    for version in ctx.history(dossier):
        if version.action != "transition":
            continue
        transition = workflow.transition(version.transition)
        limits = [g for g in (transition.guards if transition else ()) if g.kind == "field"]
        if not limits or any(label == "破格办理" for label, _ in version.details):
            continue
        shadow = types.SimpleNamespace(root=ctx.root, dossier=types.SimpleNamespace(
            kind=dossier.kind, metadata=version.metadata), profile=profile, schemas=ctx.schemas)
        problems = [p.message for g in limits for p in guards.field(g, shadow, ctx.procedure)]
        if problems:
            yield rule.finding(f"第 {version.number} 版“{transition.title()}”时：{'；'.join(problems)}，"
                               f"未记录破格办理", dossier, f"v{version.number}")


@rule("banned_applicant", "critical", "security", "dossier",
      ("受限人员在办申请", "Banned person in an open application"),
      ("在办申请中的申请人或共同申请人正处于诚信限制期。",
       "An applicant or co-applicant of an open application is under an active credit ban."))
def banned_applicant(rule, ctx, dossier):
    if dossier.kind != "household" or dossier.state not in ctx.application_states:
        return
    for person in dossier.people():
        number = person.get("id_number")
        for ban in ctx.root.credit.active_bans(number, ctx.today) if number else ():
            yield rule.finding(f"{person.get('name', '')}（{mask_id(number)}）因“{reason_title(ban.reason)}”"
                               f"被限制申请至 {ban.last_day.isoformat()}，申请仍在办理", dossier,
                               f"{mask_id(number)}:{ban.since.isoformat()}")


# -- rent subsidies (租赁补贴: archive.workflow.subsidy) -----------------------------------------
def _grants(dossier):
    return getattr(dossier, "subsidies", ()) if dossier.kind == "household" else ()


@rule("subsidy_after_end", "critical", "integrity", "dossier",
      ("停发后仍有补贴发放", "Subsidy paid after it ended"),
      ("租赁补贴停发（年度复审不符合条件自下个季度起停发、签约实物配租、终止）后仍登记了发放。",
       "A rent subsidy payment for a period after the grant ended (failed yearly review: from the next quarter; a lease signed; ended)."))
def subsidy_after_end(rule, ctx, dossier):
    for grant in _grants(dossier):
        for p in grant.payments:
            if grant.end is not None and p.first > grant.end:
                label = subsidies.period_label(p.first, grant.period)
                yield rule.finding(f"补贴 {grant.grant_id} 已于 {grant.end.isoformat()} 截止"
                                   f"（{grant.end_reason or '补贴期满'}），却登记了{label}的发放 {p.amount:,.2f} 元",
                                   dossier, f"{grant.grant_id}:{p.first.isoformat()}")


@rule("subsidy_over_cap", "critical", "integrity", "dossier",
      ("补贴超过累计期限", "Subsidy past its cap"),
      ("阶段性租赁补贴累计发放月数超过所属辖区的上限（德州 第十八条：36个月）。",
       "Months of a capped subsidy paid to one household beyond the city's cap (Dezhou art. 18: 36 months)."))
def subsidy_over_cap(rule, ctx, dossier):
    seen = set()
    for grant in _grants(dossier):
        if grant.cap_months is None or grant.tier in seen:
            continue
        seen.add(grant.tier)
        used = subsidies.months_used(dossier, grant.tier)
        if used > grant.cap_months:
            yield rule.finding(f"{grant.tier_title}累计发放 {used} 个月，超过上限 {grant.cap_months} 个月",
                               dossier, f"cap:{grant.tier}")


@rule("subsidy_above_rent", "major", "integrity", "dossier",
      ("补贴高于实际租金或应发额", "Subsidy above the rent or the amount due"),
      ("月补贴额高于住户实际承担的租金，或一期发放金额高于该期应发额。",
       "A monthly subsidy above the rent the household pays, or a payment above what its period was due."))
def subsidy_above_rent(rule, ctx, dossier):
    for grant in _grants(dossier):
        if grant.monthly is not None and grant.monthly > grant.rent_paid + 1e-9:
            yield rule.finding(f"补贴 {grant.grant_id} 月补贴额 {grant.monthly:,.2f} 元高于实际承担月租金 "
                               f"{grant.rent_paid:,.2f} 元", dossier, f"{grant.grant_id}:monthly")
        for p in grant.payments:
            due = round(min(grant.monthly or 0, grant.rent_paid) * p.months, 2)
            if p.amount > due + 1e-9:
                label = subsidies.period_label(p.first, grant.period)
                yield rule.finding(f"补贴 {grant.grant_id} {label}发放 {p.amount:,.2f} 元，高于应发 {due:,.2f} 元",
                                   dossier, f"{grant.grant_id}:{p.first.isoformat()}:amount")


@rule("subsidy_missing_payment", "major", "integrity", "dossier",
      ("补贴未按期发放", "Subsidy period not paid"),
      ("发放中的租赁补贴有发放期过了发放时限仍无发放记录（常州 第三十九条：每季度第一个月拨付）。",
       "A subsidy period whose payment window has closed with no payment recorded (Changzhou art. 39: in the quarter's first month)."))
def subsidy_missing_payment(rule, ctx, dossier):
    for grant in _grants(dossier):
        if grant.state not in ("current", "ended"):
            continue
        for first in subsidies.periods_due(grant, ctx.today):
            if grant.paid(first) is None:
                label = subsidies.period_label(first, grant.period)
                yield rule.finding(f"补贴 {grant.grant_id} {label}应于 {subsidies.due_date(grant, first).isoformat()} "
                                   f"前发放，未见发放记录", dossier, f"{grant.grant_id}:{first.isoformat()}")


@rule("subsidy_review_overdue", "major", "integrity", "dossier",
      ("补贴年度复审逾期", "Subsidy yearly review overdue"),
      ("发放中的租赁补贴超过一年未年度复审（常州 第四十条；复审不符合条件的自下个季度起停发）。",
       "A subsidy being paid with no yearly review within the city's period (Changzhou art. 40)."))
def subsidy_review_overdue(rule, ctx, dossier):
    grant = subsidies.current(dossier) if dossier.kind == "household" else None
    if grant is None or grant.state != "current" or grant.granted is None:
        return
    scheme = subsidies.scheme(ctx.procedure.profile(dossier))
    spec = scheme.review if scheme else {"years": 1}
    since = max([grant.granted] + [r[0] for r in grant.reviews])
    due = subsidies.add_months(since, spec.get("years", 0) * 12 + spec.get("months", 0))
    if due < ctx.today:
        yield rule.finding(f"补贴 {grant.grant_id} 上次复审（或核定）于 {since.isoformat()}，应于 {due.isoformat()} "
                           f"前年度复审，已逾期 {(ctx.today - due).days} 天", dossier, f"{grant.grant_id}:review")


@rule("subsidy_with_lease", "critical", "integrity", "dossier",
      ("补贴与在租并存", "Subsidy and lease at once"),
      ("住户在租公租房的同时仍在领取租赁补贴（两种保障方式不得同时享受）。",
       "A household holding a current lease while its rent subsidy is still being paid."))
def subsidy_with_lease(rule, ctx, dossier):
    grant = subsidies.current(dossier) if dossier.kind == "household" else None
    lease = leases.current_lease(dossier)
    if grant is not None and grant.state == "current" and lease is not None and lease.state == "current":
        yield rule.finding(f"住户在租 {lease.unit_no}（租赁 {lease.lease_id}），租赁补贴 {grant.grant_id} 仍在发放",
                           dossier, grant.grant_id)


# -- the archive as a whole ------------------------------------------------------------------
@rule("shared_person", "major", "integrity", "archive",
      ("一人多户", "One person in two households"),
      ("同一身份证号码出现在两个以上仍在保障中的住户档案中。",
       "The same ID number in two or more households still under housing security."))
def shared_person(rule, ctx):
    for number, nos in sorted(ctx.people.items()):
        if len(nos) > 1:
            for no in nos:
                others = "、".join(n for n in nos if n != no)
                yield Finding(rule.id, rule.severity,
                              f"身份证号码 {mask_id(number)} 同时出现在 {others}", no, "household",
                              mask_id(number))


@rule("unit_double_let", "critical", "integrity", "archive",
      ("一套多租", "A unit let twice"),
      ("租赁台账中同一房源或同一住户同时有两份以上在租或已配租的租赁。",
       "The lease book holds two open leases for one unit or for one household."))
def unit_double_let(rule, ctx):
    by_unit, by_household = {}, {}
    for lease in ctx.root.leases.values():
        if lease.open:
            by_unit.setdefault(lease.unit_no, []).append(lease.lease_id)
            by_household.setdefault(lease.household_no, []).append(lease.lease_id)
    for kind, table in (("unit", by_unit), ("household", by_household)):
        for no, ids in sorted(table.items()):
            if len(ids) > 1:
                yield Finding(rule.id, rule.severity, f"同时有 {len(ids)} 份未终止的租赁：{'、'.join(ids)}",
                              no, kind, ",".join(ids))


@rule("loan_overdue", "major", "security", "archive",
      ("借出档案逾期未还", "Paper loan overdue"),
      ("外借的纸质档案已过借阅单的截止日期仍未归还（催还）。",
       "A paper volume lent under a loan is past the loan's last day and not returned."))
def loan_overdue(rule, ctx):
    book = getattr(ctx.root, "loans", None)
    for loan in (book.overdue(ctx.today) if book is not None else ()):
        for kind, no in loan.dossiers():
            yield Finding(rule.id, rule.severity,
                          f"借阅单 {loan.label}（{loan.borrower_name}）借出的纸质档案应于 "
                          f"{loan.end.isoformat()} 归还，已逾期 {(ctx.today - loan.end).days} 天",
                          no, kind, f"loan:{loan.loan_id}")


@rule("log_chain", "critical", "security", "archive",
      ("审计日志哈希链", "Audit log chain"),
      ("审计日志的哈希链从第一条到最后一条完整无缺，没有条目被改动、删除或截去。",
       "The audit log's hash chain holds from the first entry to the last: nothing edited, removed or cut off."))
def log_chain(rule, ctx):
    report = ctx.root.log.check()
    ctx.counts["log_entries"] = report.entries
    if not report.ok:
        yield Finding(rule.id, rule.severity, f"审计日志哈希链断开：{report.reason}", "", "",
                      f"log#{report.broken_at}")
    if report.oldest_wait > STALE_SECONDS:
        yield Finding(rule.id, rule.severity,
                      f"有 {report.waiting} 条审计日志等待封存已超过 {report.oldest_wait / 60:.0f} 分钟"
                      "（封存线程未运行？），这些条目尚未进入哈希链", "", "", "log#waiting")


@rule("search_index", "minor", "usability", "archive",
      ("检索索引与档案一致", "Search index in step"),
      ("全文检索索引中每份档案的版本与档案库一致（索引可随时由档案库重建：archive reindex）。",
       "Every dossier's entry in the search index is of its current version (rebuild with archive reindex)."))
def search_index(rule, ctx):
    if ctx.search_index is None:
        return
    from ..search.index import check
    if ctx.search_index.outdated:
        yield Finding(rule.id, rule.severity, "检索索引为旧版本格式（仍可检索，但较慢），请运行 archive reindex 重建",
                      "", "", "format")
        return
    report = check(ctx.root, ctx.search_index, now=ctx.now)
    for key in report.missing:
        yield _index_finding(rule, key, "检索索引中没有该档案")
    for key, indexed, current in report.stale:
        yield _index_finding(rule, key, f"检索索引为第 {indexed} 版，档案已是第 {current} 版")
    for key, indexed, current in report.lagging:
        was = f"检索索引为第 {indexed} 版" if indexed is not None else "检索索引中没有该档案"
        yield _index_finding(rule, key, f"{was}，档案已是第 {current} 版，在索引队列中等待已久"
                                        "（索引线程未运行或落后）")
    for key, indexed, current, attempts, error in report.failed:
        was = f"检索索引仍为第 {indexed} 版" if indexed is not None else "检索索引中没有该档案"
        yield _index_finding(rule, key, f"第 {current} 版编入索引失败 {attempts} 次后已放弃，{was}：{error}")
    for key in report.orphaned:
        yield _index_finding(rule, key, "检索索引中有档案库里不存在的条目")
    if report.merge_error:
        yield Finding(rule.id, rule.severity,
                      f"检索索引合并分段失败（{report.merge_error.get('times', 1)} 次，最近 "
                      f"{report.merge_error.get('at', '')}）：{report.merge_error.get('error', '')}；"
                      "索引仍在更新，但分段增多、检索变慢，请运行 archive reindex", "", "", "merge")


def _index_finding(rule, key, message):
    kind, _, no = key.partition("/")
    return Finding(rule.id, rule.severity, message, no, kind if kind in ("household", "unit") else "", key)

