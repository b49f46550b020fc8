"""Documents of the right period (issue 16, item 4): the annual review's documents must be
dated in the review's year — from the signing (or the last review or renewal: when the yearly
deadline started) to the day of the review; last year's declaration, still filed, does not
pass it."""
import datetime as dt

import pytest

import walk
from archive.access.security import RoleMatrix
from archive.records import filing
from archive.root import ArchiveRoot
from archive.schema.registry import default_directory
from archive.workflow import TransitionRefused, WorkflowError, build
from conftest import edited_workflows
from walk import DAY, T0, step

REVIEW = dt.datetime(2027, 2, 5, 1, 0, tzinfo=dt.timezone.utc)   # the review, in 2027


@pytest.fixture
def tenant(procedure, registry):
    root = ArchiveRoot(registry)
    household = walk.new_household(procedure, root)
    when = walk.to_registered(procedure, root, registry, household)
    unit = walk.new_unit(procedure, root)
    step(procedure, root, household, "allocate", when, inputs={"unit": unit.archive_no})
    walk.prepared(procedure, root, registry, household, "sign", when + DAY,
                  inputs={"start": "2026-05-01", "end": "2029-04-30"})
    return root, household


def _file(registry, household, code, day, title):
    return filing.file_document(household, registry, {"doc_type": code, "title": title, "date": day,
                                                      "issuer": "住建局"}, walk.PDF, f"{code}.pdf",
                                "archivist", when=REVIEW - DAY)


def test_last_year_s_documents_do_not_pass_this_year_s_review(procedure, registry, tenant):
    root, household = tenant
    signed = procedure.today(household.state_since)
    _file(registry, household, "annual_declaration", "2026-11-30", "2026年度收入申报")
    _file(registry, household, "recheck_opinion", "2027-02-01", "2027年复核意见")
    step(procedure, root, household, "annual_review", REVIEW)        # the first year: since signing
    second = REVIEW + 365 * DAY
    with pytest.raises(TransitionRefused) as exc:
        step(procedure, root, household, "annual_review", second)
    period = f"{REVIEW.date().isoformat()} 至 {second.date().isoformat()}"
    declaration = [d for d in household.active_documents() if d.metadata["doc_type"] == "annual_declaration"][0]
    opinion = [d for d in household.active_documents() if d.metadata["doc_type"] == "recheck_opinion"][0]
    assert exc.value.problems == [
        f"年度申报表“2026年度收入申报”（{declaration.doc_id}）日期为 2026-11-30，不属于本次年审的年度"
        f"（{period}，自签约或上次年审、续租起算）：请归档本年度的年度申报表",
        f"复核意见“2027年复核意见”（{opinion.doc_id}）日期为 2027-02-01，不属于本次年审的年度"
        f"（{period}，自签约或上次年审、续租起算）：请归档本年度的复核意见"]
    assert signed < REVIEW.date()
    assert not exc.value.overridable and household.latest.transition == "annual_review"
    assert exc.value.attempt.reasons == tuple(exc.value.problems)      # refusals on the record
    _file(registry, household, "annual_declaration", "2027-12-20", "2027年度收入申报")
    _file(registry, household, "recheck_opinion", "2028-01-30", "2028年复核意见")
    step(procedure, root, household, "annual_review", second)


def test_missing_documents_are_still_named_as_missing(procedure, registry, tenant):
    root, household = tenant
    _file(registry, household, "recheck_opinion", "2026-01-01", "复核意见")
    with pytest.raises(TransitionRefused) as exc:
        step(procedure, root, household, "annual_review", REVIEW)
    assert exc.value.problems[0].startswith("缺少文件：年度申报表")
    assert "复核意见“复核意见”" in exc.value.problems[1] and "日期为 2026-01-01" in exc.value.problems[1]


def test_a_document_dated_after_the_review_is_refused(procedure, registry, tenant):
    root, household = tenant
    _file(registry, household, "annual_declaration", "2027-01-20", "申报")
    _file(registry, household, "recheck_opinion", "2027-03-01", "复核")
    with pytest.raises(TransitionRefused) as exc:
        step(procedure, root, household, "annual_review", REVIEW)
    (problem,) = exc.value.problems
    assert "“复核”" in problem and "日期为 2027-03-01，晚于今天" in problem


def test_an_unknown_dated_option_stops_start_up(tmp_path, registry):
    directory = edited_workflows(tmp_path, "household.yaml", "dated: review_year", "dated: last_week",
                                 count=-1)
    with pytest.raises(WorkflowError, match="dated is review_year"):
        build(registry, RoleMatrix(default_directory() / "roles.yaml"), directory)
