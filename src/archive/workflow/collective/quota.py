"""How many units each applying employer rents (申请单位房源租赁数量): the seed's three methods.

厦门 seed 002, 单位集体申请 程序(三): within 5 working days after the review's publicity the
operator proposes an allocation and the employers negotiate (协商确定); “经协商未达成一致的”
it uses one of:

1. ``draw`` — 以审核后的房源申请数量，采用一个号码对应一套房源指标的摇号方式: every approved
   unit an employer asked for is one ticket (``档号#1`` … ``档号#n``); the tickets are ordered by
   the lottery's keyed hash and the first *N* (units in the batch) win; an employer rents as
   many units as it has winning tickets.
2. ``proportional`` — 审核后的申请单位房源申请数 ÷ 审核后的所有单位房源申请总数 × 该批次总房源数，
   取整数. The text says only “取整数”. Taking every share down (floor) leaves units unlet
   that the batch was meant to let, and rounding each to nearest can promise more units than
   there are; so the shares are floored and the units left over go one each to the largest
   remainders (largest-remainder, Hamilton), which gives every employer its share rounded
   down or up and lets exactly *N*. Equal remainders are ordered by the draw (the same keyed
   hash of the employer's 档号 with the committed seed), not by when the employer applied:
   the batch plan sets one application period (批次租赁方案: 申请时间) in which every application
   stands equal, and the rule asks for 公开、公平、公正. An employer never gets more than it
   was approved for (when the batch has more units than all approved requests, each gets its
   approved number and the rest are 剩余房源, published after the batch).
3. ``order`` — 通过公开摇号的方式产生选房顺序号，申请单位根据其审核后房源租赁数量按照选房顺序号的
   先后顺序依次选房: the employers are ordered by the keyed hash of their 档号; each in turn
   takes its approved number, or what is left.

Every method is computed from the seed alone (``lottery.draw.sort_key``: HMAC-SHA256 keyed
with the seed), so anyone holding the seed can re-run it; the seed is committed before the
draw (collective/batch.py, as lotteries are).
"""
from __future__ import annotations

from fractions import Fraction

from ..lottery.draw import check_seed, sort_key

METHODS = {
    "draw": ("一个号码对应一套房源指标摇号", "One ticket per approved unit"),
    "proportional": ("按比例确定（最大余数法）", "Proportional (largest remainder)"),
    "order": ("公开摇号产生选房顺序号", "Draw of choosing order"),
}
AGREED = "agreed"       # 协商确定: not a method, the proposal the employers agreed to


class QuotaError(ValueError):
    """Inputs no method can share out (no employers, a negative count)."""


def _check(requests, units):
    if not requests:
        raise QuotaError("没有审核通过的申请单位，无法确定房源租赁数量")
    if not isinstance(units, int) or isinstance(units, bool) or units < 0:
        raise QuotaError("批次房源数应为不小于0的整数")
    for no, approved in requests.items():
        if not isinstance(approved, int) or isinstance(approved, bool) or approved < 0:
            raise QuotaError(f"{no} 的审核后房源申请数应为不小于0的整数")


def ticket(archive_no, k) -> str:
    """The k-th ticket (1-based) of an employer: ``XM-DW-2026-Y-00001#3``."""
    return f"{archive_no}#{k}"


def by_draw(seed, requests: dict, units: int) -> dict:
    """Method 1: {employer 档号: {"quota", "tickets": [(rank, ticket, won)]}}."""
    check_seed(seed)
    _check(requests, units)
    tickets = sorted((sort_key(seed, ticket(no, k)), no, ticket(no, k))
                     for no, approved in requests.items() for k in range(1, approved + 1))
    out = {no: {"quota": 0, "tickets": []} for no in requests}
    for rank, (_, no, name) in enumerate(tickets, 1):
        won = rank <= units
        out[no]["quota"] += won
        out[no]["tickets"].append((rank, name, won))
    return out


def proportional(seed, requests: dict, units: int) -> dict:
    """Method 2: {employer 档号: {"quota", "share" (exact, as "p/q"), "floor", "extra", "tie_rank"}}.

    ``tie_rank`` is the employer's place in the draw that orders equal remainders."""
    check_seed(seed)
    _check(requests, units)
    total = sum(requests.values())
    if total <= units:      # enough for everyone: each rents what it was approved for
        return {no: {"quota": a, "share": str(Fraction(a)), "floor": a, "extra": 0, "tie_rank": None}
                for no, a in requests.items()}
    shares = {no: Fraction(a * units, total) for no, a in requests.items()}
    floors = {no: s.numerator // s.denominator for no, s in shares.items()}
    left = units - sum(floors.values())
    tie = {no: rank for rank, (_, no) in enumerate(sorted((sort_key(seed, no), no) for no in requests), 1)}
    # largest remainder first; equal remainders in draw order
    ranked = sorted(requests, key=lambda no: (-(shares[no] - floors[no]), tie[no]))
    extra = {no: int(i < left) for i, no in enumerate(ranked)}
    return {no: {"quota": floors[no] + extra[no], "share": str(shares[no]), "floor": floors[no],
                 "extra": extra[no], "tie_rank": tie[no]} for no in requests}


def by_order(seed, requests: dict, units: int) -> dict:
    """Method 3: {employer 档号: {"quota", "order"}}: in draw order each takes its approved
    number or what is left."""
    check_seed(seed)
    _check(requests, units)
    left, out = units, {}
    for rank, (_, no) in enumerate(sorted((sort_key(seed, no), no) for no in requests), 1):
        take = min(requests[no], left)
        left -= take
        out[no] = {"quota": take, "order": rank}
    return out


COMPUTE = {"draw": by_draw, "proportional": proportional, "order": by_order}


def compute(method, seed, requests, units) -> dict:
    """The method's result; every method's answer has ``quota`` per employer."""
    if method not in COMPUTE:
        raise QuotaError(f"未知的确定方式：{method}")
    return COMPUTE[method](seed, dict(requests), units)


def method_title(method, locale="zh") -> str:
    if method == AGREED:
        return "协商确定" if locale == "zh" else "Agreed"
    zh, en = METHODS.get(method, (method, method))
    return en if locale == "en" else zh
