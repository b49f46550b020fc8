"""Holding a lottery (issue 16, item 1): announced with a commitment to its seed, drawn
once on or after its date with the committed seed, redrawn only with a reason and the
consent of a second officer; every attempt in the case history of every household."""
import datetime as dt
import hashlib
import io
import re

import pytest
from pypdf import PdfReader

from archive.records import attempts, filing
from archive.workflow.lottery import draw as lottery
from archive.workflow.lottery import holding
from archive.workflow.lottery.draw import LotteryError, draw
from conftest import household_input

ANNOUNCED = dt.datetime(2026, 2, 10, 2, 0, tzinfo=dt.timezone.utc)      # 10:00 in China
WHEN = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.timezone.utc)
SEED = "seed-2026-CZ-0001"
COMMITMENT = hashlib.sha256(SEED.encode()).hexdigest()
CHANGZHOU = [["elderly70", "disabled"], ["dibao", "tekun", "youfu", "jianyiyongwei", "jisheng"]]
PEOPLE = [("张三明", ["dibao"]), ("李四", []), ("王老五", ["elderly70"]), ("赵六", ["talent"]),
          ("欧阳小华", ["disabled", "dibao"]), ("孙七", ["tekun"]), ("周八", [])]


def _household(root, registry, name, groups, seq, state="registered", **extra):
    data = household_input(name=name, seq=seq, priority_groups=groups, **extra)
    return filing.create_dossier(root, registry, "household", data, "archivist",
                                 when=ANNOUNCED - dt.timedelta(days=30), state=state)


@pytest.fixture
def batch(root, registry):
    return [_household(root, registry, name, groups, 10 + 2 * i).archive_no
            for i, (name, groups) in enumerate(PEOPLE)]


def _announce(root, registry, nos, draw_on="2026-03-02", commitment=COMMITMENT, **kw):
    return holding.announce(root, registry, kw.pop("jurisdiction", "changzhou"), nos, "reviewer",
                            kw.pop("tiers", CHANGZHOU), draw_on, commitment,
                            when=kw.pop("when", ANNOUNCED), **kw)


def _held(root, registry, nos, seed=SEED, **kw):
    held, _ = _announce(root, registry, nos, commitment=hashlib.sha256(seed.encode()).hexdigest(), **kw)
    return holding.draw_lottery(root, registry, held, seed, "reviewer2", when=WHEN)


def _text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# -- announcing ---------------------------------------------------------------------------------
def test_announcing_fixes_the_batch_and_the_commitment_and_records_it(root, registry, batch):
    held, seed = _announce(root, registry, batch, comment="2026年第一批")
    assert seed is None and held.state == "announced" and held.seed is None and not held.order
    assert held.commitment == COMMITMENT and held.draw_on == dt.date(2026, 3, 2)
    assert held.announced_on == dt.date(2026, 2, 10) and held.announced_by == "reviewer"
    assert held.households() == sorted(batch) and held.verify() is None
    for no in batch:
        (attempt,) = attempts.of(root.households[no])
        assert attempt.outcome == "announced" and ("种子承诺值（SHA-256）", COMMITMENT) in attempt.details
        assert root.households[no].latest.number == 1       # an attempt is not a version
    assert root.log.newest(1)[0].action == "lottery.announce"


def test_without_a_commitment_a_seed_is_made_shown_once_and_not_kept(root, registry, batch):
    held, seed = _announce(root, registry, batch, commitment=None)
    assert len(seed) == 32 and held.commitment == hashlib.sha256(seed.encode()).hexdigest()
    assert seed not in repr(held.__getstate__())


@pytest.mark.parametrize("kw, message, field", [
    (dict(commitment="abc"), lottery.COMMITMENT_MESSAGE, "commitment"),
    (dict(draw_on=None), holding.DRAW_ON_MESSAGE, "draw_on"),
    (dict(draw_on="2026-02-09"), "摇号日期不能早于今天（2026-02-10）", "draw_on"),
    (dict(announced_on="2026-02-11"), "预告发布日期不能晚于今天", "announced_on"),
    (dict(jurisdiction="atlantis"), "辖区不存在：atlantis", "jurisdiction"),
    (dict(comment="长" * 2001), "说明应为不超过2000个字符的文本", "comment"),
])
def test_announcement_refusals_store_nothing(root, registry, batch, kw, message, field):
    with pytest.raises(LotteryError) as exc:
        _announce(root, registry, batch, **kw)
    assert message in str(exc.value) and exc.value.field == field
    assert len(root.lotteries) == 0 and not attempts.of(root.households[batch[0]])


def test_a_household_waits_in_one_open_batch_only(root, registry, batch):
    first, _ = _announce(root, registry, batch[:3])
    with pytest.raises(LotteryError) as exc:
        _announce(root, registry, batch[2:5])
    assert exc.value.status == 409 and f"{batch[2]}（{first.lottery_id}）" in str(exc.value)


def test_households_of_another_city_or_not_waiting_are_refused(root, registry, batch):
    xiamen = _household(root, registry, "陈九", [], 90, jurisdiction="xiamen").archive_no
    waiting = _household(root, registry, "吴十", [], 92, state="approved").archive_no
    with pytest.raises(LotteryError, match=f"不属于常州市的住户不能参加本次摇号：{xiamen}"):
        _announce(root, registry, batch + [xiamen])
    with pytest.raises(LotteryError, match=f"未处于“已登记轮候”状态的住户不能参加摇号：{waiting}"):
        _announce(root, registry, batch + [waiting])


# -- the lead time (腾冲 第十二条(一): 15 days) -----------------------------------------------------
@pytest.fixture
def tengchong(root, registry):
    return [_household(root, registry, name, groups, 10 + 2 * i, jurisdiction="tengchong").archive_no
            for i, (name, groups) in enumerate(PEOPLE[:3])]


def test_tengchong_announces_15_days_ahead(root, registry, tengchong):
    held, _ = _announce(root, registry, tengchong, draw_on="2026-02-25", jurisdiction="tengchong",
                        tiers=[], notice_days=15)
    assert held.draw_on == dt.date(2026, 2, 25)


def test_tengchong_refuses_a_draw_date_14_days_ahead(root, registry, tengchong):
    with pytest.raises(LotteryError) as exc:
        _announce(root, registry, tengchong, draw_on="2026-02-24", jurisdiction="tengchong",
                  tiers=[], notice_days=15)
    assert str(exc.value) == ("腾冲市要求摇号前至少提前 15 日向社会预告：预告发布于 2026-02-10，"
                              "最早可于 2026-02-25 摇号（本次摇号日期为 2026-02-24）")


def test_a_notice_dated_back_does_not_shorten_the_period_after_the_commitment(root, registry, tengchong):
    with pytest.raises(LotteryError, match="最早可于 2026-02-25 摇号"):
        _announce(root, registry, tengchong, draw_on="2026-02-20", announced_on="2026-02-01",
                  jurisdiction="tengchong", tiers=[], notice_days=15)


# -- drawing ------------------------------------------------------------------------------------
def test_the_draw_with_the_committed_seed_files_the_result_in_every_dossier(root, registry, batch):
    held = _held(root, registry, batch)
    assert held.state == "drawn" and held.seed == SEED and held.actor == "reviewer2"
    assert held.when == WHEN.replace(microsecond=0) and held.verify() is True
    assert [no for _, no, _ in held.order] == [no for _, no, _ in draw(SEED, held.participants, CHANGZHOU)]
    assert f'"commitment":"{COMMITMENT}"' in held.canonical().decode()
    for no in batch:
        dossier = root.households[no]
        assert dossier.latest.action == "filed" and f"第 {held.rank_of(no)} 号" in dossier.latest.comment
        assert [a.outcome for a in attempts.of(dossier)] == ["announced", "drawn"]
    assert root.log.newest(1)[0].action == "lottery"


def test_the_pdf_shows_commitment_and_seed_and_re_running_it_gives_its_order(root, registry, batch):
    held = _held(root, registry, batch)
    no = batch[0]
    text = _text(root.households[no].document(held.document_of(no)).current_file.read())
    assert COMMITMENT in text and "复核方法" in text and "预告摇号日期" in text
    seed = re.search(r"摇号种子\s*(\S+)", text).group(1)
    stated = re.findall(r"CZ-HH-\d{4}-Y-\d{5}", text.split("摇号结果表")[-1])
    order = list(dict.fromkeys(stated))      # the table's archive numbers, rank by rank
    assert hashlib.sha256(seed.encode()).hexdigest() == COMMITMENT
    again = draw(seed, [(n, root.households[n].metadata.get("priority_groups") or ()) for n in batch],
                 [list(t) for t in held.tiers])
    assert [n for _, n, _ in again] == order


def _refused_draw(root, registry, held, seed, when=WHEN):
    with pytest.raises(LotteryError) as exc:
        holding.draw_lottery(root, registry, held, seed, "reviewer2", when=when)
    assert exc.value.attempt.outcome == "refused" and exc.value.households == tuple(held.households())
    return exc.value


def test_a_seed_that_does_not_match_its_commitment_is_refused(root, registry, batch):
    held, _ = _announce(root, registry, batch)
    exc = _refused_draw(root, registry, held, "another-seed-2026")
    assert "摇号种子与预告公布的种子承诺值不符" in str(exc) and exc.field == "seed"
    assert held.state == "announced" and held.seed is None
    assert ("所用种子", "another-seed-2026") in exc.attempt.details


def test_a_draw_before_its_date_is_refused(root, registry, batch):
    held, _ = _announce(root, registry, batch)
    exc = _refused_draw(root, registry, held, SEED, when=dt.datetime(2026, 2, 28, tzinfo=dt.timezone.utc))
    assert str(exc) == "未到预告的摇号日期 2026-03-02，今天不能摇号" and exc.status == 409


def test_a_batch_is_drawn_once(root, registry, batch):
    held = _held(root, registry, batch)
    exc = _refused_draw(root, registry, held, SEED, when=WHEN + dt.timedelta(hours=1))
    assert exc.status == 409 and "同一批次只摇一次" in str(exc) and "另一名摇号人员同意" in str(exc)


def test_households_no_longer_waiting_are_left_out_and_named(root, registry, batch):
    held, _ = _announce(root, registry, batch)
    root.households[batch[1]].state = "withdrawn"
    holding.draw_lottery(root, registry, held, SEED, "reviewer2", when=WHEN)
    assert held.absent == (batch[1],) and held.rank_of(batch[1]) is None and held.verify()
    assert len(held.order) == len(batch) - 1 and '"absent"' in held.canonical().decode()


# -- redrawing ----------------------------------------------------------------------------------
NEW_SEED = "redraw-seed-2026"
NEW_COMMITMENT = hashlib.sha256(NEW_SEED.encode()).hexdigest()


def test_a_redraw_needs_a_reason_and_a_second_officer(root, registry, batch):
    held = _held(root, registry, batch)
    with pytest.raises(LotteryError, match="请写明重新摇号的理由"):
        holding.request_redraw(root, held, "reviewer", " ", "2026-03-20", NEW_COMMITMENT, when=WHEN)
    holding.request_redraw(root, held, "reviewer", "公证员未到场", "2026-03-20", NEW_COMMITMENT, when=WHEN)
    with pytest.raises(LotteryError, match="已有待同意的重新摇号申请（申请人 reviewer）"):
        holding.request_redraw(root, held, "reviewer2", "再来", "2026-03-20", NEW_COMMITMENT, when=WHEN)
    with pytest.raises(LotteryError) as exc:
        holding.approve_redraw(root, registry, held, "reviewer", when=WHEN)
    assert exc.value.status == 403 and "另一名摇号人员" in str(exc.value)
    assert held.state == "drawn"
    new = holding.approve_redraw(root, registry, held, "reviewer2", when=WHEN)
    assert held.state == "superseded" and held.superseded_by == new.lottery_id and held.verify()
    assert new.redraw_of == held.lottery_id and new.state == "announced"
    assert new.approval.reason == "公证员未到场" and new.approval.approved_by == "reviewer2"
    assert new.commitment == NEW_COMMITMENT and new.households() == held.households()
    with pytest.raises(LotteryError, match="不能再摇"):
        holding.draw_lottery(root, registry, held, SEED, "reviewer", when=WHEN)
    drawn = holding.draw_lottery(root, registry, new, NEW_SEED, "reviewer",
                                 when=dt.datetime(2026, 3, 20, 2, tzinfo=dt.timezone.utc))
    assert drawn.verify() and f'"redraw_of":"{held.lottery_id}"' in drawn.canonical().decode()
    outcomes = [a.outcome for a in attempts.of(root.households[batch[0]])]
    assert outcomes == ["announced", "drawn", "redraw_requested", "redraw_approved", "drawn"]
    assert holding.latest_drawn(root, batch[0]) is drawn


def test_the_redraw_s_notice_period_runs_again(root, registry):
    nos = [_household(root, registry, "张三", [], 70, jurisdiction="tengchong").archive_no]
    held, _ = _announce(root, registry, nos, draw_on="2026-02-25", jurisdiction="tengchong",
                        tiers=[], notice_days=15)
    holding.request_redraw(root, held, "reviewer", "种子遗失", "2026-03-10", NEW_COMMITMENT, when=WHEN)
    with pytest.raises(LotteryError, match="最早可于 2026-03-17 摇号"):
        holding.approve_redraw(root, registry, held, "reviewer2", notice_days=15, when=WHEN)
    assert held.state == "announced"
