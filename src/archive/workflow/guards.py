"""Guards: the conditions a step must meet, each saying exactly what is wrong.

A guard never says just "not allowed": it names the missing documents, the banned member
and the ban's end, the publicity days left, the income over the city's limit. Guards that
test a threshold may be overridden (破格) with a comment; the step is then flagged.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from . import leases, subsidy_steps
from .lottery.draw import REGISTERED
from .lottery.holding import latest_drawn
from .credit import reason_title
from ..records.version import flatten
from .workdays import after, describe, working_days_between


@dataclass(frozen=True)
class Problem:
    message: str
    overridable: bool = False


def check(ctx, procedure) -> list:
    """Every problem of every guard of the step, in the order the workflow lists them."""
    out = []
    for guard in ctx.transition.guards:
        out.extend(GUARDS[guard.kind](guard, ctx, procedure))
    return out


def documents(guard, ctx, procedure):
    """The profile's required documents for this stage are filed and not withdrawn; with
    ``dated: review_year`` (the annual review) each must be dated in the review's year:
    last year's declaration, still in the dossier, does not prove this year's income."""
    if ctx.profile is None:
        return []
    required = ctx.profile.required_documents(guard.arg)
    active = list(ctx.dossier.active_documents())
    present = {d.metadata.get("doc_type") for d in active}
    missing = [c for c in required if c not in present]
    vocab = ctx.schemas.vocabularies["document_types"]
    out = []
    if missing:
        names = "、".join(vocab.title(c) for c in missing)
        out.append(Problem(f"缺少文件：{names}（{ctx.profile.title()}办理此步骤须备）"))
    if guard.options.get("dated") == "review_year" and ctx.dossier.state_since is not None:
        out += _outside_review_year(required, active, ctx, procedure, vocab)
    return out


def _outside_review_year(required, active, ctx, procedure, vocab):
    """Each required type needs a document dated in the review year: from the day the
    yearly deadline started (the signing, the last review or renewal: the state's clock)
    up to today. A document of last year's review, still filed, is named as such."""
    since, today = procedure.today(ctx.dossier.state_since), ctx.today
    out = []
    for code in required:
        of_type = [d for d in active if d.metadata.get("doc_type") == code]
        if not of_type or any(since <= (_date_of(d) or _dt.date.min) <= today for d in of_type):
            continue
        newest = max(of_type, key=lambda d: (_date_of(d) or _dt.date.min, d.doc_id))
        day = _date_of(newest)
        when = ("未填写日期" if day is None else
                f"日期为 {day.isoformat()}，晚于今天" if day > today else f"日期为 {day.isoformat()}")
        out.append(Problem(
            f"{vocab.title(code)}“{newest.metadata.get('title', '')}”（{newest.doc_id}）{when}，"
            f"不属于本次年审的年度（{since.isoformat()} 至 {today.isoformat()}，自签约或上次年审、续租起算）："
            f"请归档本年度的{vocab.title(code)}"))
    return out


def _date_of(document):
    day = document.metadata.get("date")
    return day if isinstance(day, _dt.date) else None


def no_ban(guard, ctx, procedure):
    """No applicant or co-applicant is under an active credit ban today."""
    out = []
    for person in ctx.dossier.people():
        number = person.get("id_number")
        if not number:
            continue
        for ban in ctx.root.credit.active_bans(number, ctx.today):
            out.append(Problem(
                f"{person.get('name', '')}因“{reason_title(ban.reason)}”被限制申请，"
                f"至 {(ban.until - _dt.timedelta(days=1)).isoformat()} 止"))
    return out


def elapsed(guard, ctx, procedure):
    """A period (e.g. publicity) has run its course since the dossier entered its state."""
    spec = ctx.profile.duration(guard.arg) if ctx.profile else None
    since = ctx.dossier.state_since
    if spec is None or since is None:
        return []
    start = procedure.today(since)
    end = after(start, spec).day          # the period's last day
    if ctx.today > end:
        return []
    (unit, _), = spec.items()
    if unit == "working_days":
        left = working_days_between(ctx.today - _dt.timedelta(days=1), end)
        remaining = f"{left}个工作日"
    else:
        remaining = f"{(end - ctx.today).days + 1}天"
    label = {"publicity": "公示期"}.get(guard.arg, "规定期限")
    return [Problem(f"{label}未满：{describe(spec)}，自 {start.isoformat()} 起算，"
                    f"至 {end.isoformat()} 期满，还剩{remaining}")]


def household_size(dossier) -> int:
    """The applicant and every co-applicant (共同申请人) listed."""
    return 1 + len(dossier.metadata.get("members") or ())


def field(guard, ctx, procedure):
    """A metadata value within the profile's limit (income, assets, housing area).

    A limit is a number (the value may reach it: 不高于), ``{below: n}`` / ``{above: n}``
    (strictly: 低于 / 高于), as the city's text words it, or a table by household size
    (profiles.Profile.limit)."""
    path = guard.arg
    spec = ctx.schemas[ctx.dossier.kind].spec(path)
    label = spec.label() if spec else path
    value = flatten(ctx.dossier.metadata).get(path)
    return _within(guard, ctx, label, value)


def unit_area(guard, ctx, procedure):
    """The unit offered is within the city's area standard for the household's size
    (德州 第二十条: 1人30、2人45、3人及以上60平方米)."""
    unit = ctx.root.units.get(ctx.inputs.get("unit")) if ctx.inputs.get("unit") else None
    if unit is None:
        return []       # no unit named yet, or an unknown one: the allocation says which
    return _within(guard, ctx, f"房源 {unit.archive_no} 的建筑面积（㎡）", unit.metadata.get("area"))


def _within(guard, ctx, label, value):
    out = []
    size = household_size(ctx.dossier) if ctx.dossier.kind == "household" else 1
    for bound in ("max", "min"):
        if bound not in guard.options:
            continue
        limit = ctx.profile.limit(guard.options[bound], size) if ctx.profile else None
        if limit is None:
            continue
        strict, figure, city = limit.strict, limit.value, ctx.profile.title()
        basis = f"；{limit.basis}" if limit.basis else ""
        if value is None:
            out.append(Problem(f"未填写{label}，无法核对{city}的限额 {figure:,}", guard.overridable))
        elif bound == "max" and (value >= figure if strict else value > figure):
            rule = "应低于" if strict else "不得高于"
            out.append(Problem(f"{label} {value:,} 超过{city}的限额（{rule} {figure:,}{basis}）",
                               guard.overridable))
        elif bound == "min" and (value <= figure if strict else value < figure):
            rule = "应高于" if strict else "不得低于"
            out.append(Problem(f"{label} {value:,} 低于{city}的下限（{rule} {figure:,}{basis}）",
                               guard.overridable))
    return out


def lease_term(guard, ctx, procedure):
    """The lease term asked for lies within the city's limits."""
    start, end = ctx.inputs.get("start"), ctx.inputs.get("end")
    if start is None:   # a renewal runs on from the current lease's end
        lease = leases.current_lease(ctx.dossier)
        start = lease.end if lease is not None and lease.end else ctx.today
    if end is None or ctx.profile is None:
        return []
    return [Problem(m) for m in leases.check_term(
        start, end, ctx.profile.value("lease.min_years"), ctx.profile.value("lease.max_years"))]


def draw_order(guard, ctx, procedure):
    """Units are offered in the order of the household's newest drawn lottery (选房顺序号,
    tier by tier, as the draw ordered them): refused while a household ahead still waits to
    choose, unless a step of ``passes`` (declined with cause, absent) was recorded for it
    since the draw. The household ahead is named as the published notice names it (masked
    name and archive number: personal data is masked for every role by default)."""
    lottery = latest_drawn(ctx.root, ctx.dossier.archive_no)
    if lottery is None:
        return []           # not allocated through a lottery (e.g. direct allocation)
    rank = lottery.rank_of(ctx.dossier.archive_no)
    passes = set(guard.options.get("passes") or ())
    for ahead, no, _ in lottery.order:
        if ahead >= rank:
            break
        other = ctx.root.households.get(no)
        if other is None or other.state != REGISTERED or _passed(other, lottery, passes):
            continue
        return [Problem(f"选房顺序未到：本户为摇号 {lottery.lottery_id} 第 {rank} 号，排在前面的第 {ahead} 号 "
                        f"{lottery.name_of(no) or '—'}（{no}）尚未选房；如其有正当理由放弃或未到场，"
                        f"请先在其档案中办理“有正当理由放弃”或“未到场选房，顺延”")]
    return []


def _passed(dossier, lottery, passes) -> bool:
    """A step of ``passes`` (or an allocation) recorded on the dossier since the draw."""
    for version in dossier.history():
        if version.when < lottery.when:
            break
        if version.transition in passes or version.transition == "allocate":
            return True
    return False


def subsidy(guard, ctx, procedure):
    """The subsidy rules of the step (workflow/subsidy_steps.py: apply, grant, pay, change,
    current, no_current), each refusal naming the seed article."""
    return [Problem(m) for m in subsidy_steps.check(guard.arg, ctx)]


GUARDS = {"documents": documents, "no_ban": no_ban, "elapsed": elapsed, "field": field,
          "lease_term": lease_term, "unit_area": unit_area, "draw_order": draw_order,
          "subsidy": subsidy}
