"""The lottery (摇号): a re-runnable draw, its record, and holding one for a batch."""
import datetime as dt
import hashlib
import hmac
import io
import random

import pytest
from pypdf import PdfReader

from archive import evolve
from archive.records import filing
from archive.workflow.lottery import draw as lottery
from archive.workflow.lottery.draw import LotteryError, draw
from archive.root import ROOT_KEY, ArchiveRoot, bootstrap
from archive.schema.registry import default_directory
from archive.workflow.profiles import Profiles
from conftest import household_input

WHEN = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.timezone.utc)
SEED = "seed-2026-CZ-0001"
CHANGZHOU = [["elderly70", "disabled"], ["dibao", "tekun", "youfu", "jianyiyongwei", "jisheng"]]
TENGCHONG = [["disabled"], ["dibao", "tekun"]]
PEOPLE = [  # (name, priority groups)
    ("张三明", ["dibao"]), ("李四", []), ("王老五", ["elderly70"]), ("赵六", ["talent"]),
    ("欧阳小华", ["disabled", "dibao"]), ("孙七", ["tekun"]), ("周八", [])]


def _participants(n=30):
    groups = [[], ["dibao"], ["elderly70"], ["talent"], ["disabled", "tekun"]]
    return [(f"CZ-HH-2026-Y-{i:05d}", groups[i % len(groups)]) for i in range(1, n + 1)]


# -- the draw -----------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_order():
    assert draw(SEED, _participants(), CHANGZHOU) == draw(SEED, _participants(), CHANGZHOU)


def test_the_order_does_not_depend_on_the_order_of_the_participants():
    expected = draw(SEED, _participants(), CHANGZHOU)
    shuffled = _participants()
    for n in range(5):
        random.Random(n).shuffle(shuffled)
        assert draw(SEED, shuffled, CHANGZHOU) == expected
    assert draw(SEED, reversed(_participants()), CHANGZHOU) == expected


def test_different_seeds_give_different_orders():
    orders = {tuple(no for _, no, _ in draw(f"{SEED}-{n}", _participants(), [])) for n in range(5)}
    assert len(orders) == 5


def test_ranks_run_from_one_and_everyone_is_placed_once():
    order = draw(SEED, _participants(), CHANGZHOU)
    assert [rank for rank, _, _ in order] == list(range(1, 31))
    assert sorted(no for _, no, _ in order) == sorted(no for no, _ in _participants())


def test_tiers_choose_first_in_order_and_the_rest_are_general():
    order = draw(SEED, _participants(), CHANGZHOU)
    groups = dict(_participants())
    tiers = [tier for _, _, tier in order]
    assert tiers == sorted(tiers) and set(tiers) == {1, 2, 3}
    for _, no, tier in order:
        expected = (1 if {"elderly70", "disabled"} & set(groups[no]) else
                    2 if {"dibao", "tekun"} & set(groups[no]) else 3)
        assert tier == expected, no  # disabled + tekun: the first tier naming a group wins


def test_without_tiers_everyone_is_in_one_tier():
    assert {tier for _, _, tier in draw(SEED, _participants(), [])} == {1}


def test_within_a_tier_the_order_is_the_published_hmac_order():
    """What the PDF tells the public to compute, done here independently of the module."""
    order = draw(SEED, _participants(), CHANGZHOU)
    for tier in (1, 2, 3):
        nos = [no for _, no, t in order if t == tier]
        keys = [hmac.new(SEED.encode(), no.encode(), "sha256").hexdigest() for no in nos]
        assert keys == sorted(keys)


def test_new_seed_is_32_hex_characters_and_fresh():
    seeds = {lottery.new_seed() for _ in range(20)}
    assert len(seeds) == 20
    for seed in seeds:
        assert len(seed) == 32 and int(seed, 16) >= 0
        lottery.check_seed(seed)


@pytest.mark.parametrize("seed", ["short", "x" * 129, "has space1", "中文种子12345678", "tab\tabcdefg",
                                  "", None, 12345678, b"abcdefgh"])
def test_invalid_seeds_are_refused(seed):
    with pytest.raises(LotteryError) as exc:
        draw(seed, _participants(), [])
    assert str(exc.value) == lottery.SEED_MESSAGE and exc.value.field == "seed"


def test_seeds_of_8_and_128_visible_characters_are_taken():
    assert draw("!" * 8, _participants(3), []) and draw("~" * 128, _participants(3), [])


def test_duplicate_participants_are_refused_by_the_draw():
    with pytest.raises(LotteryError, match="档号重复"):
        draw(SEED, _participants(3) + _participants(1), [])


# -- the record ---------------------------------------------------------------------------------
def _record(**kw):
    parts = _participants(10)
    order = draw(SEED, parts, CHANGZHOU)
    args = dict(lottery_id="YH-CZ-2026-001", jurisdiction="changzhou", seed=SEED,
                tiers=CHANGZHOU, participants=parts, order=order, when=WHEN, actor="reviewer")
    args.update(kw)
    return lottery.Lottery(**args)


def test_verify_re_runs_the_draw():
    assert _record().verify() is True


def test_verify_detects_a_tampered_order():
    record = _record()
    order = list(record.order)
    (r1, n1, t1), (r2, n2, t2) = order[0], order[1]
    order[0], order[1] = (r1, n2, t1), (r2, n1, t2)
    record.order = tuple(order)
    assert record.verify() is False


def test_verify_detects_a_changed_seed_tiers_participant_or_digest():
    for change in (dict(seed="another-seed-1"), dict(tiers=()),
                   dict(participants=_participants(10)[:9] + [("CZ-HH-2026-Y-00010", ["elderly70"])]),
                   dict(digest="0" * 64), dict(when=WHEN + dt.timedelta(seconds=1))):
        record = _record()
        for name, value in change.items():
            setattr(record, name, value)
        assert record.verify() is False, change


def test_digest_is_the_sha256_of_the_canonical_json():
    record = _record()
    assert record.digest == hashlib.sha256(record.canonical()).hexdigest()
    text = record.canonical().decode()
    assert text.startswith('{"algorithm":"HMAC-SHA256-v1","jurisdiction":"changzhou"')
    assert '"seed":"seed-2026-CZ-0001"' in text and ", " not in text and ": " not in text
    assert '"when":"2026-03-02T09:30:15.123456+00:00"' in text


def test_participants_are_stored_sorted_whatever_the_input_order():
    a = _record()
    b = _record(participants=list(reversed(_participants(10))))
    assert a.participants == b.participants and a.digest == b.digest


# A lottery as stored before the notice date was kept: its canonical JSON, hence its digest,
# must not change, or every earlier lottery would fail verification.
OLD_DIGEST = "93887eaf5d239b72b8529ad94decff5a96a846a708e0498bfe83bf47584241a4"


def test_a_lottery_without_a_notice_keeps_its_digest():
    record = _record()
    assert record.announced_on is None and "announced_on" not in record.canonical().decode()
    assert record.digest == OLD_DIGEST and record.verify()


def test_a_lottery_stored_before_the_notice_date_reads_none_and_verifies():
    state = _record().__getstate__()
    state.pop("announced_on")                       # what an older pickle holds
    old = lottery.Lottery.__new__(lottery.Lottery)
    old.__setstate__(state)
    assert "announced_on" not in old.__dict__ and old.announced_on is None
    assert old.compute_digest() == OLD_DIGEST and old.verify()


def test_the_notice_date_is_covered_by_the_digest():
    record = _record(announced_on="2026-02-15")
    assert record.announced_on == dt.date(2026, 2, 15)
    assert '"announced_on":"2026-02-15"' in record.canonical().decode()
    assert record.digest != OLD_DIGEST and record.verify()
    for tampered in (dt.date(2026, 2, 14), None):
        record = _record(announced_on=dt.date(2026, 2, 15))
        record.announced_on = tampered
        assert record.verify() is False, tampered


def test_book_numbers_per_fonds_and_year_and_lists_newest_first():
    book = lottery.LotteryBook()
    assert [book.issue_id("CZ", 2026), book.issue_id("CZ", 2026), book.issue_id("XM", 2026),
            book.issue_id("CZ", 2027)] == ["YH-CZ-2026-001", "YH-CZ-2026-002", "YH-XM-2026-001",
                                           "YH-CZ-2027-001"]
    old = book.add(_record(lottery_id="YH-CZ-2026-001"))
    new = book.add(_record(lottery_id="YH-CZ-2026-002", when=WHEN + dt.timedelta(days=1)))
    assert book.newest() == [new, old] and book.newest(1) == [new] and len(book) == 2
    assert book.get("YH-CZ-2026-001") is old and book.get("nope") is None and book.get(3) is None
    with pytest.raises(LotteryError):
        book.add(_record(lottery_id="YH-CZ-2026-001"))


@pytest.mark.parametrize("name, masked", [("张三明", "张*明"), ("李四", "李*"), ("欧阳小华", "欧**华"),
                                          ("王", "*"), ("", "")])
def test_names_are_masked_as_on_a_public_notice(name, masked):
    assert lottery.mask_name(name) == masked


def test_a_long_list_of_problems_is_shortened():
    numbers = [f"N{i}" for i in range(12)]
    assert lottery._listed(numbers) == "、".join(numbers[:10]) + " 等12户"


# -- the advance notice (预告期) ----------------------------------------------------------------
def test_the_profiles_state_the_notice_period_of_their_texts():
    profiles = Profiles(default_directory().parent / "workflows" / "jurisdictions")
    days = {p.code: p.value("lottery.notice_days") for p in profiles}
    assert days == {"tengchong": 15, "changzhou": None, "qujing": None, "xiamen": None,
                    "dezhou": None}   # 腾冲 第十二条(一): 摇号前15天内向社会预告


# -- upgrading --------------------------------------------------------------------------------
def test_an_older_database_gets_its_lottery_book(registry):
    old = ArchiveRoot(registry)
    del old.lotteries
    old.generation = evolve.STEPS.index(evolve._lotteries)
    root = bootstrap({ROOT_KEY: old}, registry)
    assert len(root.lotteries) == 0 and root.generation == evolve.CURRENT
