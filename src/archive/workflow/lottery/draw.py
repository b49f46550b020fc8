"""The lottery (摇号) for a batch of registered households: an order anyone can re-run.

The algorithm (version ``HMAC-SHA256-v1``), stated so it can be checked in a few lines of
any language:

1. Each household belongs to the first priority tier (``tiers``, from the jurisdiction
   profile, e.g. Changzhou [[elderly70, disabled], [dibao, tekun, ...]]) in which any of
   its priority groups appears; a household in none of them is in the last, general tier.
2. Tiers choose in order: every household of tier 1 comes before any of tier 2, and so on.
3. Within a tier, households are ordered by the lowercase hexadecimal HMAC-SHA256 of the
   archive number (档号), keyed with the seed, both UTF-8, smallest first. In Python:
   ``hmac.new(seed.encode(), archive_no.encode(), "sha256").hexdigest()``. Archive numbers
   are unique, so two households never share a key.

The order depends only on the seed, the tiers and who takes part (with their groups),
never on the order the participants are given in. Each lottery is kept with its inputs
and result, and its digest is the SHA-256 of their canonical JSON (see
``Lottery.canonical``), written in the hash-chained audit log as well as on the page and
in the PDF filed into every participating household's dossier (一户一档).

A lottery is announced with the SHA-256 commitment of its seed and drawn once (holding.py);
where the profile sets an advance notice period (``lottery.notice_days``, 预告期) the draw
date is at least that many days after the notice (``check_notice``).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

from persistent import Persistent

from ...records.book import NumberedBook


ALGORITHM = "HMAC-SHA256-v1"
ALGORITHM_ZH = ("先按优先组分档：住户归入其任一优先保障情形所在的第一档，均不在其中的归入一般档，各档依次在前；"
                "同档内按 HMAC-SHA256（密钥为摇号种子，消息为档号，均按UTF-8编码）的十六进制值从小到大排序。"
                "任何人可用种子与档号复算，例如 Python："
                "hmac.new(种子.encode(), 档号.encode(), \"sha256\").hexdigest()。")
REGISTERED = "registered"       # the procedure state a household must be in to take part
DEFAULT_ISSUER = "住房保障部门"
MAX_BATCH = 500   # each copy lists the whole batch: ~15 ms a household at 500 (lottery_pdf)
SEED_MIN, SEED_MAX = 8, 128
SEED_MESSAGE = f"摇号种子应为{SEED_MIN}至{SEED_MAX}个可见ASCII字符（字母、数字或英文符号，不含空格和中文）"
NOTICE_MESSAGE = "预告发布日期应为 YYYY-MM-DD 格式的日期（如 2026-03-01）"
COMMITMENT_MESSAGE = "种子承诺值应为64位十六进制字符（摇号种子的SHA-256值）"


class LotteryError(ValueError):
    """A lottery refused before anything is stored; ``field`` names the input at fault and
    ``status`` the HTTP answer (422 for bad input, 409 for a step the batch's state forbids,
    403 for the wrong officer). A refused draw carries the ``attempt`` to record in the
    batch's ``households`` (see holding.py)."""

    attempt = None
    households = ()
    lottery_id = None

    def __init__(self, message, field=None, status=422):
        super().__init__(message)
        self.field = field
        self.status = status


# -- the draw ------------------------------------------------------------------------------
def new_seed() -> str:
    """32 hexadecimal characters from the operating system's secure random source."""
    return secrets.token_hex(16)


def check_seed(seed):
    """Refuse a seed that is not 8–128 visible ASCII characters.

    Spaces are refused too: a seed is read off a notice or a PDF to re-run the draw, and
    a leading or trailing blank cannot be seen there.
    """
    if (not isinstance(seed, str) or not SEED_MIN <= len(seed) <= SEED_MAX
            or any(not "!" <= c <= "~" for c in seed)):
        raise LotteryError(SEED_MESSAGE, "seed")


def sort_key(seed: str, archive_no: str) -> str:
    """The within-tier key: HMAC-SHA256(key=seed, msg=archive_no) as lowercase hex."""
    return hmac.new(seed.encode("utf-8"), archive_no.encode("utf-8"), hashlib.sha256).hexdigest()


def tier_of(groups, tiers) -> int:
    """1-based tier: the first tier naming any of the groups, else len(tiers) + 1 (general)."""
    groups = set(groups or ())
    for number, tier in enumerate(tiers, 1):
        if groups & set(tier):
            return number
    return len(tiers) + 1


def draw(seed: str, participants, tiers) -> list:
    """[(rank, archive_no, tier)] for (archive_no, priority_groups) pairs; see the module doc."""
    check_seed(seed)
    tiers = normalize_tiers(tiers)
    keyed, seen = [], set()
    for archive_no, groups in participants:
        if archive_no in seen:
            raise LotteryError(f"档号重复：{archive_no}", "households")
        seen.add(archive_no)
        keyed.append((tier_of(groups, tiers), sort_key(seed, archive_no), archive_no))
    keyed.sort()
    return [(rank, archive_no, tier) for rank, (tier, _, archive_no) in enumerate(keyed, 1)]


def normalize_tiers(tiers) -> tuple:
    """Tiers as a tuple of tuples of group codes (what is stored and hashed)."""
    try:
        out = tuple(tuple(tier) for tier in tiers or ())
    except TypeError:
        out = None
    if out is None or any(not isinstance(code, str) for tier in out for code in tier):
        raise LotteryError("优先组设置应为优先保障情形代码列表的列表", "tiers")
    return out


# -- the advance notice (预告) ----------------------------------------------------------------
def parse_notice_date(value) -> _dt.date | None:
    """The notice's publication date from a date or a ``YYYY-MM-DD`` string; None for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:      # 2026-02-30
            pass
    raise LotteryError(NOTICE_MESSAGE, "announced_on")


def check_notice(announced_on, draw_date, notice_days, title):
    """Refuse a notice dated after the draw, and, where the profile sets a notice period, a
    lottery without a notice or held before the period has run.

    ``notice_days`` is the profile's ``lottery.notice_days`` (None: no period). Reading of
    腾冲 第十二条(一) “在摇号、抽签、直接配租前15天内向社会预告”: the notice is published at
    least 15 days before the draw, counted back from the draw day, which itself is not
    counted (the day before the draw is day 1, the 15th day before it is day 15). So a
    notice of 3月1日 allows a draw on 3月16日 at the earliest: draw date >= notice date + 15.
    “天” are calendar days (the same article writes 工作日 where it means them: 7个工作日).
    The literal “内” (within the 15 days) would also bar a notice given earlier than that;
    more notice serves the article's purpose (the public learns the time and place), so an
    earlier notice is accepted.
    """
    if (notice_days is not None and
            (isinstance(notice_days, bool) or not isinstance(notice_days, int) or notice_days < 0)):
        raise ValueError(f"lottery.notice_days is a whole number of days, not {notice_days!r}")
    rule = f"{title}要求摇号前至少提前 {notice_days} 日向社会预告"
    if announced_on is None:
        if notice_days is not None:
            raise LotteryError(f"{rule}：请填写预告发布日期", "announced_on")
        return
    if announced_on > draw_date:
        raise LotteryError(f"预告发布日期不能晚于摇号日期：预告发布于 {announced_on.isoformat()}，"
                           f"摇号日期为 {draw_date.isoformat()}", "announced_on")
    earliest = announced_on + _dt.timedelta(days=notice_days or 0)
    if draw_date < earliest:
        raise LotteryError(f"{rule}：预告发布于 {announced_on.isoformat()}，最早可于 "
                           f"{earliest.isoformat()} 摇号（本次摇号日期为 {draw_date.isoformat()}）",
                           "announced_on")


# -- the record ----------------------------------------------------------------------------
class Lottery(Persistent):
    """One lottery batch (摇号批次): announced with a commitment to its seed, drawn once.

    Announced (``state`` "announced"): the batch of households, the tiers, the date of the
    notice and of the draw, and the SHA-256 of the seed (``commitment``) are fixed and
    published; the seed itself is not kept. Drawn ("drawn"): the seed that matched the
    commitment, the order, who drew it when and the digest, written once. A redraw is a new
    lottery (``redraw_of``) made by a second officer's consent; this one is then
    "superseded", everything it recorded kept. Lotteries stored before announcements
    existed are drawn lotteries without a commitment (the class defaults below).
    """

    announced_on = None     # 预告发布日期 (a date); lotteries stored before it was kept have none
    state = "drawn"         # announced | drawn | superseded
    commitment = None       # SHA-256 (hex) of the seed, published with the notice
    draw_on = None          # the draw's date as announced
    announced_at = None     # when the announcement (and its commitment) was recorded
    announced_by = ""
    absent = ()             # announced households no longer waiting at the draw (not drawn)
    redraw_of = None        # the lottery this one redraws
    superseded_by = None    # the lottery that redrew this one
    redraw = None           # a RedrawRequest awaiting (or given) a second officer's consent
    approval = None         # for a redraw: the RedrawRequest it was made from, with its approver

    def __init__(self, lottery_id, jurisdiction, seed, tiers, participants, order, when,
                 actor, comment="", names=(), announced_on=None, commitment=None,
                 draw_on=None, state="drawn"):
        self.lottery_id = lottery_id
        self.jurisdiction = jurisdiction
        self.seed = seed
        self.tiers = normalize_tiers(tiers)
        self.participants = tuple(sorted((no, tuple(sorted(groups or ())))
                                         for no, groups in participants))
        self.order = tuple(tuple(place) for place in order)
        self.when = when
        self.actor = actor
        self.comment = comment or ""
        self.names = tuple(names)   # (archive_no, masked applicant name) as published
        self.documents = ()         # (archive_no, doc_id) of the filed result, per household
        self.announced_on = parse_notice_date(announced_on)
        self.commitment = commitment
        self.draw_on = draw_on
        self.state = state
        self.digest = self.compute_digest() if state == "drawn" else ""

    @property
    def drawn(self) -> bool:
        return self.seed is not None and bool(self.order)

    def record_draw(self, seed, participants, order, when, actor, absent=()):
        """The draw's result, once; the digest covers it with the announcement's facts."""
        self.seed = seed
        self.participants = tuple(sorted((no, tuple(sorted(groups or ())))
                                         for no, groups in participants))
        self.order = tuple(tuple(place) for place in order)
        self.when, self.actor = when, actor
        self.absent = tuple(sorted(absent))
        self.state = "drawn"
        self.digest = self.compute_digest()

    def canonical(self) -> bytes:
        """The inputs and the result as canonical JSON (sorted keys, no spaces, UTF-8).

        ``announced_on`` ("YYYY-MM-DD"), ``commitment``, ``draw_on``, ``absent`` and
        ``redraw_of`` are keys only when there is one, so that lotteries stored before
        they were kept give the same bytes, and the same digest, as before.
        """
        facts = {
            "algorithm": ALGORITHM, "lottery_id": self.lottery_id,
            "jurisdiction": self.jurisdiction, "when": self.when.isoformat(),
            "seed": self.seed, "tiers": [list(t) for t in self.tiers],
            "participants": [[no, list(groups)] for no, groups in self.participants],
            "order": [list(place) for place in self.order],
        }
        if self.announced_on is not None:
            facts["announced_on"] = self.announced_on.isoformat()
        if self.commitment:
            facts["commitment"] = self.commitment
        if self.draw_on is not None:
            facts["draw_on"] = self.draw_on.isoformat()
        if self.absent:
            facts["absent"] = list(self.absent)
        if self.redraw_of:
            facts["redraw_of"] = self.redraw_of
        return json.dumps(facts, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode("utf-8")

    def compute_digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def verify(self) -> bool | None:
        """Re-run the draw: True when it gives the stored order, the seed matches the
        published commitment and the digest still holds; None while not yet drawn."""
        if not self.drawn:
            return None
        if self.commitment and commitment_of(self.seed) != self.commitment:
            return False
        try:
            again = tuple(tuple(p) for p in draw(self.seed, self.participants, self.tiers))
        except LotteryError:
            return False
        return again == tuple(tuple(p) for p in self.order) and self.compute_digest() == self.digest

    def households(self) -> list:
        """Every household of the batch as announced (drawn or absent), in archive order."""
        return sorted({no for no, _ in self.participants} | set(self.absent))

    def groups_of(self, archive_no) -> tuple:
        return dict(self.participants).get(archive_no, ())

    def name_of(self, archive_no) -> str:
        return dict(self.names).get(archive_no, "")

    def rank_of(self, archive_no) -> int | None:
        return next((rank for rank, no, _ in self.order if no == archive_no), None)

    def document_of(self, archive_no) -> str | None:
        return dict(self.documents).get(archive_no)

    def tier_groups(self, tier) -> tuple:
        """The group codes of a priority tier (empty for the general tier)."""
        return self.tiers[tier - 1] if tier <= len(self.tiers) else ()

    def sort_time(self):
        return self.when or self.announced_at


@dataclass(frozen=True)
class RedrawRequest:
    """A redraw asked for with its reason and the commitment of the new seed; a second
    officer with the lottery permission (not the one who asked) consents to it."""
    requested_by: str
    requested_at: _dt.datetime
    reason: str
    commitment: str
    draw_on: _dt.date
    approved_by: str = ""
    approved_at: _dt.datetime | None = None


def commitment_of(seed: str) -> str:
    """The published commitment to a seed: SHA-256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def check_commitment(value):
    """A commitment is 64 hexadecimal characters (a SHA-256); returned in lowercase."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value.strip()):
        raise LotteryError(COMMITMENT_MESSAGE, "commitment")
    return value.strip().lower()


class LotteryBook(NumberedBook):
    """Every lottery held, by id (``YH-{全宗号}-{year}-{seq:03d}``); ids are never reused."""

    PREFIX = "YH"

    def add(self, lottery) -> Lottery:
        if lottery.lottery_id in self._items:
            raise LotteryError(f"摇号批次 {lottery.lottery_id} 已存在")
        self._items[lottery.lottery_id] = lottery
        return lottery

    def newest(self, limit=None) -> list:
        """Newest first. Lotteries are rare events (a few per batch of units), so sorting
        them all is cheap and spares a second index."""
        items = sorted(self._items.values(), key=lambda lot: (lot.sort_time(), lot.lottery_id),
                       reverse=True)
        return items if limit is None else items[:limit]


# -- holding one ---------------------------------------------------------------------------
def mask_name(name: str) -> str:
    """A name as a public notice shows it: 张*明, 李*, 欧阳**华."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _listed(numbers, limit=10):
    shown = "、".join(numbers[:limit])
    return shown + (f" 等{len(numbers)}户" if len(numbers) > limit else "")


def _batch(root, jurisdiction, title, archive_nos) -> list:
    """The dossiers of the batch, or a LotteryError naming every household at fault."""
    if (not isinstance(archive_nos, (list, tuple))
            or any(not isinstance(n, str) for n in archive_nos)):
        raise LotteryError("参加摇号的住户应为档号列表", "households")
    if not archive_nos:
        raise LotteryError("请至少选择一户参加摇号", "households")
    if len(archive_nos) > MAX_BATCH:
        raise LotteryError(f"一次摇号最多{MAX_BATCH}户，本次选择了{len(archive_nos)}户", "households")
    seen, twice = set(), []
    for no in archive_nos:
        if no in seen and no not in twice:
            twice.append(no)
        seen.add(no)
    if twice:
        raise LotteryError(f"档号重复：{_listed(twice)}", "households")
    dossiers = [root.households.get(no) for no in archive_nos]
    unknown = [no for no, d in zip(archive_nos, dossiers) if d is None]
    if unknown:
        raise LotteryError(f"住户档案不存在：{_listed(unknown)}", "households")
    elsewhere = [d.archive_no for d in dossiers if d.metadata.get("jurisdiction") != jurisdiction]
    if elsewhere:
        raise LotteryError(f"不属于{title}的住户不能参加本次摇号：{_listed(elsewhere)}", "households")
    waiting = [d.archive_no for d in dossiers if getattr(d, "state", None) != REGISTERED]
    if waiting:
        raise LotteryError(f"未处于“已登记轮候”状态的住户不能参加摇号：{_listed(waiting)}", "households")
    return dossiers
