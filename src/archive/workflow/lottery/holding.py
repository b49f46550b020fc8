"""Holding a lottery (组织摇号): announce with a commitment, draw once, redraw only with a
reason and a second officer.

Without these rules an officer could draw again and again with new seeds until the order
suited someone ("seed shopping"). So:

1. **Announce** (摇号预告): the batch of households, the draw's date and the SHA-256 of the
   seed (the *commitment*) are fixed and published with the notice, at least the profile's
   ``lottery.notice_days`` before the draw (腾冲 第十二条(一): 15 days), counted from the
   later of the notice's date and the day the commitment was recorded — a notice dated
   back cannot shorten the period after the seed was fixed. The seed is not stored: the
   officer brings a seed (sealed with the notary, say) and gives only its commitment, or
   the system makes one and shows it once, in the answer to the announcement.
2. **Draw** (摇号) on or after the announced date, with the seed whose SHA-256 is the
   commitment, once. A seed that does not match, a draw before its date, or a second draw
   of the same batch is refused; every attempt — drawn or refused — is recorded in the
   case history of each household of the batch (records/attempts.py).
3. **Redraw** (重新摇号): one officer asks, with a reason and the commitment of a new
   seed; another officer with the lottery permission consents. The consent makes a new
   lottery (``redraw_of``) announced that day, with the same notice period again; the old
   one is kept, "superseded", with everything it recorded.

Every refusal is a LotteryError raised before anything is written.
"""
from __future__ import annotations

import datetime as _dt
import zoneinfo

from ...records import attempts, filing
from ...records.dossier import MAX_COMMENT
from .draw import (ALGORITHM, ALGORITHM_ZH, REGISTERED, Lottery, LotteryError, RedrawRequest,
                   _batch, _listed, check_commitment, check_notice, check_seed, commitment_of,
                   draw, mask_name, new_seed, parse_notice_date, sort_key)

DEFAULT_ISSUER = "住房保障部门"
DRAW_ON_MESSAGE = "摇号日期应为 YYYY-MM-DD 格式的日期（如 2026-03-16）"
VERIFY_ZH = ("复核方法：① 计算摇号种子（UTF-8）的 SHA-256，应等于预告时公布的种子承诺值；"
             "② 按上述排序算法，以种子为密钥对每个参加住户的档号计算 HMAC-SHA256，"
             "先按优先组、同组内按该值从小到大排序，所得顺序应与本表相同。")


def _local(when, zone):
    return when.astimezone(zoneinfo.ZoneInfo(zone))


def _now(when):
    """Whole seconds, UTC: the time is part of the digest and is read back off the PDF."""
    return (when or filing.now()).astimezone(_dt.timezone.utc).replace(microsecond=0)


def _date(value, field, message) -> _dt.date:
    try:
        day = parse_notice_date(value)
    except LotteryError:
        raise LotteryError(message, field) from None
    if day is None:
        raise LotteryError(message, field)
    return day


def _text(value, field, title, required=False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > MAX_COMMENT:
        raise LotteryError(f"{title}应为不超过{MAX_COMMENT}个字符的文本", field)
    if required and not value.strip():
        raise LotteryError(f"请写明{title}", field)
    return value.strip()


def _commitment(commitment):
    """(commitment, the seed made for it or None): a given commitment, or a new seed's."""
    if commitment in (None, ""):
        seed = new_seed()
        return commitment_of(seed), seed
    return check_commitment(commitment), None


def _record_all(root, lottery, attempt):
    for no in lottery.households():
        dossier = root.households.get(no)
        if dossier is not None:
            attempts.record(dossier, attempt)


def _attempt(lottery, when, actor, outcome, reasons=(), details=()):
    return attempts.Attempt(when, actor, "lottery", lottery.lottery_id,
                            f"摇号 {lottery.lottery_id}", outcome, tuple(reasons), tuple(details))


# -- 1. announce ---------------------------------------------------------------------------
def announce(root, registry, jurisdiction, archive_nos, actor, tiers, draw_on, commitment=None,
             announced_on=None, notice_days=None, comment="", when=None, zone="Asia/Shanghai"):
    """Announce a batch: (the Lottery, the seed made for it or None when a commitment was given)."""
    comment = _text(comment, "comment", "说明")
    vocab = registry.vocabularies["jurisdictions"]
    if not isinstance(jurisdiction, str) or jurisdiction not in vocab:
        raise LotteryError(f"辖区不存在：{jurisdiction}", "jurisdiction")
    title = vocab.title(jurisdiction)
    when = _now(when)
    today = _local(when, zone).date()
    announced_on = parse_notice_date(announced_on) or today
    if announced_on > today:
        raise LotteryError(f"预告发布日期不能晚于今天（{today.isoformat()}）：种子承诺值随预告一同公布",
                           "announced_on")
    draw_on = _date(draw_on, "draw_on", DRAW_ON_MESSAGE)
    if draw_on < today:
        raise LotteryError(f"摇号日期不能早于今天（{today.isoformat()}）", "draw_on")
    # the period runs from the day the commitment is fixed here, however early the notice
    check_notice(max(announced_on, today), draw_on, notice_days, title)
    commitment, seed = _commitment(commitment)
    dossiers = _batch(root, jurisdiction, title, archive_nos)
    waiting = _in_open_batches(root, {d.archive_no for d in dossiers})
    if waiting:
        raise LotteryError("以下住户已在尚未摇号的批次中，不能再参加另一批次："
                           + _listed([f"{no}（{lid}）" for no, lid in waiting]), "households", 409)
    participants = [(d.archive_no, tuple(d.metadata.get("priority_groups") or ())) for d in dossiers]
    names = [(d.archive_no, mask_name((d.metadata.get("applicant") or {}).get("name", "")))
             for d in dossiers]
    lottery = Lottery(root.lotteries.issue_id(filing.fonds_of(registry, {"jurisdiction": jurisdiction}),
                                              today.year),
                      jurisdiction, None, tiers, participants, (), None, "", comment, names,
                      announced_on, commitment, draw_on, state="announced")
    lottery.announced_at, lottery.announced_by = when, actor
    root.lotteries.add(lottery)
    _record_all(root, lottery, _attempt(lottery, when, actor, "announced", details=(
        ("预告发布日期", announced_on.isoformat()), ("摇号日期", draw_on.isoformat()),
        ("种子承诺值（SHA-256）", commitment))))
    root.log.append(actor, "lottery.announce", lottery.lottery_id,
                    f"{title} {len(participants)}户；摇号日期 {draw_on.isoformat()}；承诺值 {commitment}",
                    when)
    return lottery, seed


def _in_open_batches(root, numbers):
    """(archive no, lottery id) of these households already in a batch not yet drawn."""
    out = []
    for lottery in root.lotteries.values():
        if lottery.state == "announced":
            out += [(no, lottery.lottery_id) for no in lottery.households() if no in numbers]
    return sorted(out)


# -- 2. draw -------------------------------------------------------------------------------
def draw_lottery(root, registry, lottery, seed, actor, when=None, zone="Asia/Shanghai",
                 issuer=DEFAULT_ISSUER) -> Lottery:
    """Draw the announced batch with the committed seed, once; file the result PDF into every
    drawn household's dossier. A refusal carries the attempt to record (see the module doc)."""
    when = _now(when)
    try:
        return _draw(root, registry, lottery, seed, actor, when, zone, issuer)
    except LotteryError as exc:
        exc.lottery_id, exc.households = lottery.lottery_id, tuple(lottery.households())
        shown = seed if isinstance(seed, str) and len(seed) <= 200 else "（无法识别）"
        exc.attempt = _attempt(lottery, when, actor, "refused", (str(exc),),
                               (("所用种子", shown),) if seed else ())
        raise


def _draw(root, registry, lottery, seed, actor, when, zone, issuer):
    from .pdf import ResultPdf  # reportlab is loaded only when a lottery is drawn
    if lottery.state == "superseded":
        raise LotteryError(f"摇号批次 {lottery.lottery_id} 已由 {lottery.superseded_by} 重新摇号，"
                           f"不能再摇", None, 409)
    if lottery.state == "drawn":
        raise LotteryError(
            f"摇号批次 {lottery.lottery_id} 已于 {_local(lottery.when, zone):%Y-%m-%d %H:%M} 由 "
            f"{lottery.actor} 摇号，同一批次只摇一次；确需重新摇号的，须写明理由，并经另一名摇号人员同意",
            None, 409)
    local = _local(when, zone)
    if lottery.draw_on is not None and local.date() < lottery.draw_on:
        raise LotteryError(f"未到预告的摇号日期 {lottery.draw_on.isoformat()}，今天不能摇号", None, 409)
    check_seed(seed)
    if lottery.commitment and commitment_of(seed) != lottery.commitment:
        raise LotteryError(f"摇号种子与预告公布的种子承诺值不符：该种子的SHA-256为 "
                           f"{commitment_of(seed)[:16]}…，承诺值为 {lottery.commitment[:16]}…；未摇号",
                           "seed")
    dossiers = [root.households.get(no) for no in lottery.households()]
    present = [d for d in dossiers if d is not None and d.state == REGISTERED]
    absent = [no for no, d in zip(lottery.households(), dossiers) if d not in present]
    if not present:
        raise LotteryError("本批次的住户均已不在“已登记轮候”状态，无人可摇", "households", 409)
    participants = [(d.archive_no, tuple(d.metadata.get("priority_groups") or ())) for d in present]
    order = draw(seed, participants, lottery.tiers)
    lottery.record_draw(seed, participants, order, when, actor, absent)
    title = registry.vocabularies["jurisdictions"].title(lottery.jurisdiction)
    pdfs = ResultPdf(lottery, title, registry.vocabularies["priority_groups"], local, issuer,
                     f"{ALGORITHM}。{ALGORITHM_ZH}", lambda no: sort_key(lottery.seed, no),
                     VERIFY_ZH)
    filed = []
    for dossier in present:
        rank = lottery.rank_of(dossier.archive_no)
        doc = filing.file_document(
            dossier, registry,
            {"doc_type": "lottery_record", "title": f"摇号结果（{lottery.lottery_id}）",
             "date": local.date().isoformat(), "issuer": issuer, "doc_no": lottery.lottery_id},
            pdfs.for_household(dossier.archive_no), f"{lottery.lottery_id}-{dossier.archive_no}.pdf",
            actor, f"摇号 {lottery.lottery_id}：选房顺序号第 {rank} 号（共 {len(order)} 户）", when=when)
        filed.append((dossier.archive_no, doc.doc_id))
    lottery.documents = tuple(filed)
    details = (("摇号种子", seed), ("种子承诺值（SHA-256）", lottery.commitment or "—"),
               ("结果摘要", lottery.digest))
    if absent:
        details += (("未参加（已不在轮候）", "、".join(absent)),)
    _record_all(root, lottery, _attempt(lottery, when, actor, "drawn", details=details))
    root.log.append(actor, "lottery", lottery.lottery_id,
                    f"{title} {len(order)}户；摘要 {lottery.digest}", when)
    return lottery


# -- 3. redraw -----------------------------------------------------------------------------
def request_redraw(root, lottery, actor, reason, draw_on, commitment=None, when=None,
                   zone="Asia/Shanghai"):
    """Ask for a redraw: (the Lottery, the new seed made for it or None)."""
    if lottery.state == "superseded":
        raise LotteryError(f"摇号批次 {lottery.lottery_id} 已由 {lottery.superseded_by} 重新摇号",
                           None, 409)
    pending = lottery.redraw
    if pending is not None and not pending.approved_by:
        raise LotteryError(f"已有待同意的重新摇号申请（申请人 {pending.requested_by}）", None, 409)
    reason = _text(reason, "reason", "重新摇号的理由", required=True)
    when = _now(when)
    draw_on = _date(draw_on, "draw_on", DRAW_ON_MESSAGE)
    if draw_on < _local(when, zone).date():
        raise LotteryError(f"摇号日期不能早于今天（{_local(when, zone).date().isoformat()}）", "draw_on")
    commitment, seed = _commitment(commitment)
    lottery.redraw = RedrawRequest(actor, when, reason, commitment, draw_on)
    _record_all(root, lottery, _attempt(lottery, when, actor, "redraw_requested", details=(
        ("理由", reason), ("新种子承诺值（SHA-256）", commitment), ("摇号日期", draw_on.isoformat()))))
    root.log.append(actor, "lottery.redraw", lottery.lottery_id, f"申请重新摇号：{reason}"[:500], when)
    return lottery, seed


def approve_redraw(root, registry, lottery, actor, notice_days=None, when=None,
                   zone="Asia/Shanghai") -> Lottery:
    """A second officer consents: a new lottery of the same batch, announced today with the
    requested commitment and draw date (the notice period runs again)."""
    pending = lottery.redraw
    if lottery.state == "superseded" or pending is None or pending.approved_by:
        raise LotteryError(f"摇号批次 {lottery.lottery_id} 没有待同意的重新摇号申请", None, 409)
    if actor == pending.requested_by:
        raise LotteryError(f"重新摇号须由申请人（{pending.requested_by}）以外的另一名摇号人员同意",
                           None, 403)
    when = _now(when)
    today = _local(when, zone).date()
    title = registry.vocabularies["jurisdictions"].title(lottery.jurisdiction)
    check_notice(today, pending.draw_on, notice_days, title)
    approved = RedrawRequest(pending.requested_by, pending.requested_at, pending.reason,
                             pending.commitment, pending.draw_on, actor, when)
    batch = [(no, lottery.groups_of(no)) for no in lottery.households()]
    fonds = filing.fonds_of(registry, {"jurisdiction": lottery.jurisdiction})
    new = Lottery(root.lotteries.issue_id(fonds, today.year),
                  lottery.jurisdiction, None, lottery.tiers, batch, (), None, "",
                  lottery.comment, lottery.names, today, pending.commitment, pending.draw_on,
                  state="announced")
    new.announced_at, new.announced_by = when, actor
    new.redraw_of, new.approval = lottery.lottery_id, approved
    root.lotteries.add(new)
    lottery.redraw, lottery.state, lottery.superseded_by = approved, "superseded", new.lottery_id
    _record_all(root, lottery, _attempt(lottery, when, actor, "redraw_approved", details=(
        ("理由", pending.reason), ("申请人", pending.requested_by), ("同意人", actor),
        ("新批次", new.lottery_id), ("摇号日期", pending.draw_on.isoformat()))))
    root.log.append(actor, "lottery.redraw", new.lottery_id,
                    f"同意重新摇号 {lottery.lottery_id}（申请人 {pending.requested_by}）：{pending.reason}"[:500],
                    when)
    return new


def latest_drawn(root, archive_no):
    """The newest drawn (not superseded) lottery in which this household has a place."""
    found = [lot for lot in root.lotteries.values()
             if lot.state == "drawn" and lot.rank_of(archive_no) is not None]
    return max(found, key=lambda lot: (lot.when, lot.lottery_id)) if found else None
