"""The demo's documents: every document type renders, reads back through pypdf with its
title and its people or unit, and renders to the same bytes every time."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from archive.demo.pdfs import render_document

VOCABULARIES = Path(__file__).parents[2] / "schemas" / "vocabularies.yaml"
DOC_TYPES = {t["code"]: t for t in yaml.safe_load(VOCABULARIES.read_text("utf-8"))["document_types"]}

CTX = {
    "doc_no": "常住建〔2024〕123号",
    "date": dt.date(2024, 6, 18),
    "jurisdiction": "常州市",
    "household": {
        "applicant_name": "周建国", "id_number": "320402198005060011", "category": "低保",
        "members": [{"name": "李秀梅", "id_number": "32040219820701002X", "relation": "配偶"},
                    {"name": "周子涵", "id_number": "320402201003030015", "relation": "子女"}],
        "income_per_capita": 1200.5, "assets": 30000.0, "housing_area_per_capita": 8.5,
        "address": "常州市天宁区青龙街道龙锦路88号2幢301室", "phone": "13812345678", "district": "天宁区",
    },
    "unit": {
        "project": "丽华新村公租房", "building": "3", "unit_no": "502", "address": "常州市天宁区丽华北路12号",
        "district": "天宁区", "layout": "两房一厅", "area": 58.6, "rent": 620.0, "ownership": "政府产权",
        "owner": "常州市住房保障中心",
    },
    "lease": {"start": dt.date(2024, 1, 1), "end": dt.date(2026, 12, 31),
              "rent": 620.0, "deposit": 1240.0},
}


def text_of(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("code", sorted(DOC_TYPES))
def test_every_document_type_renders_readable_text(code):
    owner = "丽华新村公租房3栋502室" if DOC_TYPES[code]["kind"] == "unit" else "周建国"
    title = f"{owner} {DOC_TYPES[code]['zh']}"
    pages, text = text_of(render_document(code, dict(CTX, title=title)))
    assert pages >= 1
    assert title in text
    if DOC_TYPES[code]["kind"] in ("household", "both"):
        assert "周建国" in text
    if DOC_TYPES[code]["kind"] in ("unit", "both"):
        assert "丽华新村公租房" in text
    assert "常住建〔2024〕123号" in text


def test_forms_that_run_long_take_two_pages():
    for code in ("application_form", "lease_contract"):
        assert text_of(render_document(code, dict(CTX, title="x")))[0] == 2


def test_the_lease_states_term_rent_deposit_and_the_sublet_and_arrears_rules():
    _, text = text_of(render_document("lease_contract", dict(CTX, title="租赁合同")))
    for phrase in ("共3年", "620.00", "1,240.00", "壹仟贰佰肆拾元整", "转租", "出借", "六个月以上未缴纳租金"):
        assert phrase in text, phrase


def test_the_pledge_names_the_ban_and_the_market_rent():
    _, text = text_of(render_document("pledge", dict(CTX, title="承诺书")))
    assert "五年内不得再次申请" in text and "按市场租金补缴" in text


def test_same_input_gives_the_same_bytes():
    ctx = dict(CTX, title="周建国 公共租赁住房申请表")
    assert render_document("application_form", ctx) == render_document("application_form", ctx)
    assert render_document("floor_plan", ctx) == render_document("floor_plan", dict(ctx))


def test_a_bare_context_still_renders_with_blanks():
    for code in DOC_TYPES:
        pages, text = text_of(render_document(code, {"title": "空白样张"}))
        assert pages >= 1 and "空白样张" in text


def test_unknown_document_type_is_refused():
    with pytest.raises(ValueError):
        render_document("no_such_type", dict(CTX, title="x"))
