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
from archive.workflow.lottery.draw import LotteryError, draw, hold_lottery
from archive.root import ROOT_KEY, ArchiveRoot, bootstrap
from archive.schema.registry import SchemaRegistry, default_directory
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


# -- holding one --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry():
    return SchemaRegistry(default_directory())


@pytest.fixture
def root(registry):
    return ArchiveRoot(registry)


def _household(root, registry, name, groups, seq, state="registered", **extra):
    # Placed straight into 'registered'; once the procedure can be walked cheaply in tests,
    # these households should get there through archive.workflow instead.
    data = household_input(name=name, seq=seq, priority_groups=groups, **extra)
    return filing.create_dossier(root, registry, "household", data, "archivist",
                                 when=WHEN - dt.timedelta(days=30), state=state)


@pytest.fixture
def batch(root, registry):
    return [_household(root, registry, name, groups, 10 + 2 * i).archive_no
            for i, (name, groups) in enumerate(PEOPLE)]


def _hold(root, registry, nos, seed=SEED, **kw):
    return hold_lottery(root, registry, kw.pop("jurisdiction", "changzhou"), nos, seed,
                        "reviewer", kw.pop("tiers", CHANGZHOU), when=WHEN, **kw)


def test_holding_a_lottery_stores_it_and_files_a_result_in_every_dossier(root, registry, batch):
    before = {no: root.households[no].latest.number for no in batch}
    queued = len(root.text_queue)
    held = _hold(root, registry, batch, comment="2026年第一批")
    assert len(root.text_queue) == queued + len(batch)   # read after the commit, like any filing
    assert held.lottery_id == "YH-CZ-2026-001" and root.lotteries.get(held.lottery_id) is held
    assert held.when == WHEN.replace(microsecond=0) and held.verify()
    assert [no for _, no, _ in held.order] == [no for _, no, _ in draw(SEED, held.participants,
                                                                       CHANGZHOU)]
    assert held.tiers == tuple(tuple(t) for t in CHANGZHOU) and held.comment == "2026年第一批"
    for no in batch:
        dossier = root.households[no]
        assert dossier.latest.number == before[no] + 1 and dossier.latest.action == "filed"
        doc = dossier.document(held.document_of(no))
        assert doc.metadata == {"doc_type": "lottery_record", "title": "摇号结果（YH-CZ-2026-001）",
                                "date": dt.date(2026, 3, 2), "issuer": "住房保障部门",
                                "doc_no": "YH-CZ-2026-001"}
        assert f"第 {held.rank_of(no)} 号" in dossier.latest.comment
        assert doc.current_file.filename == f"YH-CZ-2026-001-{no}.pdf"
    entry = root.log.newest(1)[0]
    assert (entry.action, entry.target) == ("lottery", "YH-CZ-2026-001") and held.digest in entry.detail
    assert _hold(root, registry, batch[:2]).lottery_id == "YH-CZ-2026-002"


def test_the_draw_date_is_the_local_date(root, registry, batch):
    late = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.timezone.utc)   # 01:00 on 3 March in China
    held = hold_lottery(root, registry, "changzhou", batch[:1], SEED, "reviewer", [], when=late)
    doc = root.households[batch[0]].document(held.document_of(batch[0]))
    assert doc.metadata["date"] == dt.date(2026, 3, 3)


def test_the_pdf_states_the_rank_and_lists_everyone_masked(root, registry, batch):
    held = _hold(root, registry, batch)
    for no in batch:
        doc = root.households[no].document(held.document_of(no))
        text = _text(doc.current_file.read())
        rank = held.rank_of(no)
        assert "摇号结果公告" in text and "YH-CZ-2026-001" in text and "常州市" in text
        assert f"本户档号 {no}" in text and f"选房顺序号：第 {rank} 号，共 {len(batch)} 户" in text
        assert SEED in text and held.digest in text and "HMAC-SHA256" in text
        assert "2026-03-02 17:30:15" in text           # the local time of the draw
        assert all(other in text for other in batch)   # the full order
        assert "张*明" in text and "欧**华" in text and "张三明" not in text
        assert root.households[no].metadata["applicant"]["id_number"] not in text
        assert "本户）" in text                         # its own row is marked


def _text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_long_batch_spans_pages_and_the_row_is_on_the_stated_page(root, registry):
    nos = [_household(root, registry, f"测试{i}", [], 100 + 2 * i).archive_no for i in range(45)]
    held = _hold(root, registry, nos, tiers=[])
    last = held.order[-1][1]
    reader = PdfReader(io.BytesIO(root.households[last].document(held.document_of(last))
                                  .current_file.read()))
    assert "本户在摇号结果表第 2 页" in reader.pages[0].extract_text()
    assert f"{last}" in reader.pages[-1].extract_text() and "本户）" in reader.pages[-1].extract_text()
    assert "本户）" not in reader.pages[1].extract_text()


def _unchanged(root, batch, versions):
    assert len(root.lotteries) == 0
    assert {no: root.households[no].latest.number for no in batch} == versions
    assert not root.log.newest(1000, action="lottery")


@pytest.mark.parametrize("case, message, field", [
    (lambda nos: dict(nos=[]), "请至少选择一户参加摇号", "households"),
    (lambda nos: dict(nos=nos[:2] + nos[:1]), "档号重复：", "households"),
    (lambda nos: dict(nos=nos[:2] + ["CZ-HH-2026-Y-09999"]), "住户档案不存在：CZ-HH-2026-Y-09999",
     "households"),
    (lambda nos: dict(nos="CZ-HH-2026-Y-00001"), "参加摇号的住户应为档号列表", "households"),
    (lambda nos: dict(seed="short"), lottery.SEED_MESSAGE, "seed"),
    (lambda nos: dict(seed="含有中文的种子abcdef"), lottery.SEED_MESSAGE, "seed"),
    (lambda nos: dict(jurisdiction="atlantis"), "辖区不存在：atlantis", "jurisdiction"),
    (lambda nos: dict(comment="长" * 2001), "说明应为不超过2000个字符的文本", "comment"),
    (lambda nos: dict(tiers=[["dibao"], 3]), "优先组设置应为", "tiers"),
])
def test_refusals_name_the_problem_and_store_nothing(root, registry, batch, case, message, field):
    versions = {no: root.households[no].latest.number for no in batch}
    args = dict(nos=batch, seed=SEED)
    args.update(case(batch))
    with pytest.raises(LotteryError) as exc:
        _hold(root, registry, args.pop("nos"), args.pop("seed"), **args)
    assert message in str(exc.value) and exc.value.field == field
    assert isinstance(exc.value, ValueError)
    _unchanged(root, batch, versions)


def test_households_of_another_jurisdiction_are_refused(root, registry, batch):
    xiamen = _household(root, registry, "陈九", [], 90, jurisdiction="xiamen").archive_no
    versions = {no: root.households[no].latest.number for no in batch}
    with pytest.raises(LotteryError) as exc:
        _hold(root, registry, batch + [xiamen])
    assert str(exc.value) == f"不属于常州市的住户不能参加本次摇号：{xiamen}"
    _unchanged(root, batch, versions)


def test_households_not_registered_are_refused(root, registry, batch):
    waiting = _household(root, registry, "吴十", [], 92, state="approved").archive_no
    unplaced = _household(root, registry, "郑一", [], 94, state=None).archive_no
    versions = {no: root.households[no].latest.number for no in batch}
    with pytest.raises(LotteryError) as exc:
        _hold(root, registry, [waiting] + batch + [unplaced])
    assert str(exc.value) == f"未处于“已登记轮候”状态的住户不能参加摇号：{waiting}、{unplaced}"
    _unchanged(root, batch, versions)


def test_too_large_a_batch_is_refused(root, registry, batch, monkeypatch):
    monkeypatch.setattr(lottery, "MAX_BATCH", 3)
    with pytest.raises(LotteryError, match="一次摇号最多3户，本次选择了7户"):
        _hold(root, registry, batch)


def test_a_long_list_of_problems_is_shortened():
    numbers = [f"N{i}" for i in range(12)]
    assert lottery._listed(numbers) == "、".join(numbers[:10]) + " 等12户"


# -- the advance notice (预告期) ----------------------------------------------------------------
def test_the_profiles_state_the_notice_period_of_their_texts():
    profiles = Profiles(default_directory().parent / "workflows" / "jurisdictions")
    days = {p.code: p.value("lottery.notice_days") for p in profiles}
    assert days == {"tengchong": 15, "changzhou": None, "qujing": None, "xiamen": None,
                    "dezhou": None}   # 腾冲 第十二条(一): 摇号前15天内向社会预告


@pytest.fixture
def tengchong(root, registry):
    return [_household(root, registry, name, groups, 10 + 2 * i, jurisdiction="tengchong").archive_no
            for i, (name, groups) in enumerate(PEOPLE[:3])]


def _hold_tc(root, registry, nos, announced_on=None):
    """WHEN is 17:30 on 2 March 2026 in China: the draw date is 2026-03-02."""
    return _hold(root, registry, nos, jurisdiction="tengchong", tiers=TENGCHONG,
                 notice_days=15, announced_on=announced_on)


def _refused(root, nos, call):
    versions = {no: root.households[no].latest.number for no in nos}
    with pytest.raises(LotteryError) as exc:
        call()
    assert exc.value.field == "announced_on"
    _unchanged(root, nos, versions)
    assert all(len(root.households[no].documents) == 0 for no in nos)
    return str(exc.value)


def test_tengchong_refuses_a_lottery_without_a_notice(root, registry, tengchong):
    message = _refused(root, tengchong, lambda: _hold_tc(root, registry, tengchong))
    assert message == "腾冲市要求摇号前至少提前 15 日向社会预告：请填写预告发布日期"


def test_tengchong_refuses_a_notice_of_14_days(root, registry, tengchong):
    message = _refused(root, tengchong, lambda: _hold_tc(root, registry, tengchong, "2026-02-16"))
    assert message == ("腾冲市要求摇号前至少提前 15 日向社会预告：预告发布于 2026-02-16，"
                       "最早可于 2026-03-03 摇号（本次摇号日期为 2026-03-02）")


def test_tengchong_holds_the_lottery_15_days_after_the_notice(root, registry, tengchong):
    held = _hold_tc(root, registry, tengchong, "2026-02-15")
    assert held.announced_on == dt.date(2026, 2, 15) and held.verify()
    assert '"announced_on":"2026-02-15"' in held.canonical().decode()
    assert held.digest in root.log.newest(1)[0].detail
    for no in tengchong:
        text = _text(root.households[no].document(held.document_of(no)).current_file.read())
        assert "预告发布日期" in text and "2026-02-15" in text


def test_the_draw_date_is_the_local_date_for_the_notice_too(root, registry, tengchong):
    # 17:00 UTC on 2 March is 01:00 on 3 March in China: 15 days after a notice of 16 February
    late = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.timezone.utc)
    held = hold_lottery(root, registry, "tengchong", tengchong, SEED, "reviewer", TENGCHONG,
                        when=late, announced_on=dt.date(2026, 2, 16), notice_days=15)
    assert held.announced_on == dt.date(2026, 2, 16)


def test_changzhou_holds_a_lottery_without_a_notice_and_records_one_given(root, registry, batch):
    held = _hold(root, registry, batch[:2], notice_days=None)
    assert held.announced_on is None and held.digest == hashlib.sha256(held.canonical()).hexdigest()
    doc = root.households[batch[0]].document(held.document_of(batch[0]))
    assert "预告发布日期" not in _text(doc.current_file.read())
    same_day = _hold(root, registry, batch[2:4], notice_days=None, announced_on="2026-03-02")
    assert same_day.announced_on == dt.date(2026, 3, 2) and same_day.verify()


@pytest.mark.parametrize("notice_days", [None, 15])
@pytest.mark.parametrize("announced_on, message", [
    ("2026-03-03", "预告发布日期不能晚于摇号日期：预告发布于 2026-03-03，摇号日期为 2026-03-02"),
    ("2026/03/01", lottery.NOTICE_MESSAGE), ("2026-02-30", lottery.NOTICE_MESSAGE),
    ("20260301", lottery.NOTICE_MESSAGE), ("昨天", lottery.NOTICE_MESSAGE),
    (20260301, lottery.NOTICE_MESSAGE), (dt.datetime(2026, 3, 1), lottery.NOTICE_MESSAGE),
])
def test_a_future_or_unreadable_notice_date_is_refused(root, registry, batch, notice_days,
                                                       announced_on, message):
    message_got = _refused(root, batch, lambda: _hold(root, registry, batch, notice_days=notice_days,
                                                      announced_on=announced_on))
    assert message_got == message


@pytest.mark.parametrize("notice_days", ["15", -1, True, 1.5])
def test_a_malformed_notice_period_is_a_configuration_error(root, registry, batch, notice_days):
    with pytest.raises(ValueError, match="lottery.notice_days") as exc:
        _hold(root, registry, batch, notice_days=notice_days, announced_on="2026-02-01")
    assert not isinstance(exc.value, LotteryError)
    assert len(root.lotteries) == 0


# -- upgrading --------------------------------------------------------------------------------
def test_an_older_database_gets_its_lottery_book(registry):
    old = ArchiveRoot(registry)
    del old.lotteries
    old.generation = evolve.STEPS.index(evolve._lotteries)
    root = bootstrap({ROOT_KEY: old}, registry)
    assert len(root.lotteries) == 0 and root.generation == evolve.CURRENT
