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
never on the order the participants are given in. Each held lottery is kept with its
inputs and result, and its digest is the SHA-256 of their canonical JSON (see
``Lottery.canonical``), written in the hash-chained audit log as well as on the page and
in the PDF filed into every participating household's dossier (一户一档).

Where the jurisdiction's profile sets an advance notice period (``lottery.notice_days``,
预告期), the lottery is held only once that many days have passed since the notice was
published (``announced_on``, 预告发布日期); see ``check_notice``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import re
import secrets
import zoneinfo

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ...records import filing
from ...records.dossier import MAX_COMMENT

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


class LotteryError(ValueError):
    """A lottery refused before anything is stored; ``field`` names the input at fault."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


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
    """One held lottery: its inputs, its result and who held it when. Written once."""

    announced_on = None     # 预告发布日期 (a date); lotteries stored before it was kept have none

    def __init__(self, lottery_id, jurisdiction, seed, tiers, participants, order, when,
                 actor, comment="", names=(), announced_on=None):
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
        self.digest = self.compute_digest()

    def canonical(self) -> bytes:
        """The inputs and the result as canonical JSON (sorted keys, no spaces, UTF-8).

        ``announced_on`` ("YYYY-MM-DD") is a key only when there is one, so that lotteries
        stored before it was kept give the same bytes, and the same digest, as before.
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
        return json.dumps(facts, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode("utf-8")

    def compute_digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def verify(self) -> bool:
        """Re-run the draw: True when it gives the stored order and the digest still holds."""
        try:
            again = tuple(tuple(p) for p in draw(self.seed, self.participants, self.tiers))
        except LotteryError:
            return False
        return again == tuple(tuple(p) for p in self.order) and self.compute_digest() == self.digest

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


class LotteryBook(Persistent):
    """Every lottery held, by id (``YH-{全宗号}-{year}-{seq:03d}``); ids are never reused."""

    def __init__(self):
        self._items = OOBTree()
        self._counters = OOBTree()

    def __len__(self):
        return len(self._items)

    def issue_id(self, fonds, year) -> str:
        seq = self._counters.get((fonds, year), 0) + 1
        self._counters[(fonds, year)] = seq
        return f"YH-{fonds}-{year}-{seq:03d}"

    def add(self, lottery) -> Lottery:
        if lottery.lottery_id in self._items:
            raise LotteryError(f"摇号批次 {lottery.lottery_id} 已存在")
        self._items[lottery.lottery_id] = lottery
        return lottery

    def get(self, lottery_id, default=None):
        try:
            return self._items.get(lottery_id, default)
        except TypeError:       # a key that does not compare with strings
            return default

    def values(self):
        return self._items.values()

    def newest(self, limit=None) -> list:
        """Newest first. Lotteries are rare events (a few per batch of units), so sorting
        them all is cheap and spares a second index."""
        items = sorted(self._items.values(), key=lambda lot: (lot.when, lot.lottery_id),
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


def hold_lottery(root, registry, jurisdiction, archive_nos, seed, actor, tiers, when=None,
                 comment="", zone="Asia/Shanghai", issuer=DEFAULT_ISSUER, announced_on=None,
                 notice_days=None) -> Lottery:
    """Check the batch, draw, keep the Lottery and file its PDF into each household's dossier.

    ``registry`` is the SchemaRegistry; ``tiers`` the profile's ``lottery.priority_tiers``
    and ``notice_days`` its ``lottery.notice_days``; ``announced_on`` the date the notice
    was published (a date or "YYYY-MM-DD"), required where ``notice_days`` is set.
    Every refusal is a LotteryError raised before anything is written.
    """
    from .pdf import ResultPdf  # reportlab is loaded only when a lottery is held
    check_seed(seed)
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise LotteryError(f"说明应为不超过{MAX_COMMENT}个字符的文本", "comment")
    vocab = registry.vocabularies["jurisdictions"]
    if not isinstance(jurisdiction, str) or jurisdiction not in vocab:
        raise LotteryError(f"辖区不存在：{jurisdiction}", "jurisdiction")
    title = vocab.title(jurisdiction)
    # whole seconds: the time is part of the digest and is read back off the PDF
    when = (when or filing.now()).astimezone(_dt.timezone.utc).replace(microsecond=0)
    local = when.astimezone(zoneinfo.ZoneInfo(zone))
    announced_on = parse_notice_date(announced_on)
    check_notice(announced_on, local.date(), notice_days, title)
    dossiers = _batch(root, jurisdiction, title, archive_nos)
    participants = [(d.archive_no, tuple(d.metadata.get("priority_groups") or ()))
                    for d in dossiers]
    order = draw(seed, participants, tiers)
    lottery_id = root.lotteries.issue_id(filing.fonds_of(registry, {"jurisdiction": jurisdiction}),
                                         local.year)
    names = [(d.archive_no, mask_name((d.metadata.get("applicant") or {}).get("name", "")))
             for d in dossiers]
    lottery = root.lotteries.add(Lottery(lottery_id, jurisdiction, seed, tiers, participants,
                                         order, when, actor, comment.strip(), names,
                                         announced_on))
    pdfs = ResultPdf(lottery, title, registry.vocabularies["priority_groups"], local, issuer,
                     f"{ALGORITHM}。{ALGORITHM_ZH}", lambda no: sort_key(lottery.seed, no))
    filed = []
    for dossier in dossiers:
        rank = lottery.rank_of(dossier.archive_no)
        pdf = pdfs.for_household(dossier.archive_no)
        doc = filing.file_document(
            dossier, registry,
            {"doc_type": "lottery_record", "title": f"摇号结果（{lottery_id}）",
             "date": local.date().isoformat(), "issuer": issuer, "doc_no": lottery_id},
            pdf, f"{lottery_id}-{dossier.archive_no}.pdf", actor,
            f"摇号 {lottery_id}：选房顺序号第 {rank} 号（共 {len(order)} 户）", when=when)
        filed.append((dossier.archive_no, doc.doc_id))
    lottery.documents = tuple(filed)
    root.log.append(actor, "lottery", lottery_id,
                    f"{title} {len(order)}户；摘要 {lottery.digest}", when)
    return lottery
