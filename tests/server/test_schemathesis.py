"""The API keeps its word (issue 15, part 5): schemathesis against the app's own OpenAPI
document, on a real server.

``schemathesis run`` (pinned in the test extras) reads ``/api/openapi.json`` from a
``pserve`` started by the harness, generates valid and invalid requests for every operation
and checks each answer: no 5xx, only documented status codes and content types, bodies that
match the documented schemas, valid data accepted and invalid data refused, undeclared
methods answered 405 with ``Allow``. What it needs to get past 401/403/404 — a token of a
role holding each operation's permission, existing archive numbers, documents, versions and
audits, real ID numbers and PDFs — is made here and handed to
``server/schemathesis_hooks.py`` (see there).

The run is bounded (``MAX_EXAMPLES`` per operation and phase, a fixed seed; about two
minutes on two cores); ``ARCHIVE_ST_MAX_EXAMPLES`` and ``ARCHIVE_ST_SEED`` change it for a
longer hunt. Every failure must be fixed in the server or the document, or listed in
``DEVIATIONS`` below with the reason it stands.
"""
from __future__ import annotations

import base64
import collections
import datetime as dt
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from server.harness import (TOP, VENV_BIN, Server, create_household, file_pdf,
                            household_body, make_pdf, multipart, openapi)

pytestmark = pytest.mark.server

MAX_EXAMPLES = int(os.environ.get("ARCHIVE_ST_MAX_EXAMPLES", "12"))
SEED = int(os.environ.get("ARCHIVE_ST_SEED", "15"))
TIME_LIMIT = 600  # seconds for the whole schemathesis run before the test gives up
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance",
          "negative_data_rejection", "positive_data_acceptance", "unsupported_method",
          "missing_required_header", "ignored_auth")
# Roles tried first for an operation's permission (the first one that holds it asks).
ROLE_ORDER = ("archivist", "reviewer", "auditor", "inspector", "sysadmin", "secadmin", "borrower")

# Failures that stand, each with the reason. Keys: (operation, failure code, what the failure
# says or the server answered), each a regular expression; the first that matches explains it.
STATE = ("a refusal that depends on the data the request meets, not on the request: JSON Schema "
         "describes requests, so a schema-valid request can still be refused, with the reason, "
         "when the archive is not in the state the step needs")
DEVIATIONS: dict[tuple[str, str, str], str] = {
    (r"POST /api/(households|units)/\{no\}/transitions", "ST202", r"不能办理|必须填写|填写的内容有误"):
        STATE + ": a step's guards (documents the city requires at this step, publicity days "
        "left, income limits, the lease inputs) are listed in `problems` with a 422.",
    (r"POST /api/lotteries", "ST202",
     r"住户档案不存在|已登记轮候|不属于.*的住户|预告|辖区|摇号日期|尚未摇号的批次"):
        STATE + ": a lottery announces households that are 已登记轮候 in the named jurisdiction "
        "and in no other batch awaiting its draw, with a draw date no earlier than today and, "
        "in some cities, at least N days after the notice; the store schemathesis runs on holds "
        "no waiting household (the hooks name existing ones, so the refusal is the state's, "
        "not an unknown number's).",
    (r"POST /api/lotteries/\{lottery_id\}/(draw|redraw|redraw/approve)", "ST202",
     r"摇号批次不存在|只摇一次|未到预告的摇号日期|承诺值不符|不能再摇|无人可摇|重新摇号|摇号日期"):
        STATE + ": a batch is drawn once, on or after its announced date, with the seed whose "
        "SHA-256 is the published commitment; a redraw is asked for once and approved by "
        "another officer (403 for the same one). The store holds no announced batch.",
    (r"POST /api/batches", "ST202",
     r"房源档案不存在|未规定单位集体申请|统一社会信用代码|已列入|申请截止日期不能早于|不属于本辖区|"
     r"负责集体申请的单位重复|单位类型应为"):
        STATE + ": a batch plan (单位集体申请, 厦门) lists existing units of a city whose profile has "
        "collective applications (and allows the applicant type), in no other open batch, each "
        "employer once with a credit code whose GB 32100 check character is right, and closes "
        "no earlier than it opens (the hooks give spare 厦门 units and valid codes; a unit "
        "taken by an earlier example of the run is a 409).",
    (r"POST /api/batches/\{batch_id\}/steps", "ST202",
     r"批次不存在|不能办理此步骤|已在本批次提出集体申请|已列入尚未完成的集体申请|不是本批次租赁方案明确的|"
     r"统一社会信用代码|住户档案不存在|不属于本辖区的住户|本批次没有申请单位|尚未截止|未知的步骤|"
     r"应为1至\d+个档号的列表|审核通过的住户应为档号列表|不予通过的住户须逐户写明原因|名册中的每一户|"
     r"初步分配方案应为|不在申请时间内|种子|配租结果应为|确定方式应为|摇号（确定）日期|"
     r"协商未达成一致|应为 YYYY-MM-DD|应为不超过\d+个字符的文本|请填写|中有重复的档号|无权办理此步骤"):
        STATE + ": each step of a batch needs the batch in its state (the harness's batch is open, "
        "so apply succeeds and the later steps are a 409), the fields that step reads (a step's "
        "fields are one schema for nine steps: JSON Schema cannot say which step needs which) "
        "and, for apply, an employer the plan names that has not applied yet and households "
        "of 厦门 in no other open application (the hooks pick spare ones; one taken earlier in "
        "the run is a 409).",
    (r"POST /api/(households|units)/\{no\}/documents/\{doc\}/files", "ST202", r"已撤出"):
        STATE + ": a withdrawn document (schemathesis withdraws some during the run) is not "
        "refiled until it is reinstated.",
    (r"POST /api/audits/\{run_id\}/acks", "ST202", r"没有这条发现"):
        STATE + ": a finding is acknowledged in a finished audit that found it.",
    (r"GET /api/search", "ST202", r"没有可检索的词|未知的检索字段|无法理解检索式"):
        "the search syntax (words, phrases, AND/OR/NOT, field:value) is a small language of "
        "its own; a query it cannot answer is a 400 with the reason, as the README says. "
        "The document says what q must be (1 to 200 characters with a word in them).",
    (r"POST /api/places", "ST202", r"已经登记过"):
        STATE + ": a place is registered once; schemathesis sends the same code again.",
    (r"PUT /api/(households|units|employers)/\{no\}/place", "ST202", r"无需移动"):
        STATE + ": a volume is not moved to the box it already stands in.",
    # disposition (views/disposition.py): every step depends on what the dossier and the
    # lists hold — a proposal pending or decided, a hold placed, four eyes, a list approved.
    (r"POST /api/(households|units|employers)/\{no\}/(appraisals|holds)", "ST202",
     r"没有第 \d+ 号鉴定意见|须由提出人以外|已由 .* 审批|已冻结|已有待审批|没有冻结|已于 .* 解除|已销毁"):
        STATE + ": an appraisal is decided once, by someone other than its proposer, while the "
        "dossier is not held; a hold is released once (the numbers are the store's, not the schema's).",
    (r"(GET|POST) /api/destruction-lists", "ST202",
     r"销毁清册.*不存在|档号 .* 不存在|没有经批准的销毁鉴定意见|尚未批准|已由 .* 批准|拟制人以外|监销人须是|"
     r"已列入另一份|处置日期|已销毁|已冻结|已于 .* 执行"):
        STATE + ": a destruction list names dossiers whose destruction an appraisal approved, is "
        "approved by another and carried out by a third person, once, when every dossier is due "
        "and not held.",
    (r"POST /api/(households|units|employers)/\{no\}/restore", "ST202", r"版本：应为版本号（整数）"):
        "JSON Schema counts 3.0 as an integer; the server takes a version number only as "
        "a JSON integer or digits (views/api.py restore), never as a float.",
}


# -- what the server holds before schemathesis starts -----------------------------------------
def role_for_permissions() -> dict:
    roles = yaml.safe_load((TOP / "schemas" / "roles.yaml").read_text(encoding="utf-8"))["roles"]
    out = {}
    for permission in {p for perms in roles.values() for p in perms}:
        out[permission] = next(r for r in ROLE_ORDER if permission in roles.get(r, ()))
    return out


def _enum(server, schema, prop):
    return openapi(server)["components"]["schemas"][schema]["properties"][prop]["enum"]


def create_unit(server, i):
    body = {"project": f"测试公租房{i}", "building": str(i), "unit_no": f"{i}01",
            "address": f"测试路{i}号", "jurisdiction": _enum(server, "UnitMetadata", "jurisdiction")[0],
            "district": "城区", "layout": _enum(server, "UnitMetadata", "layout")[0], "area": 55.5,
            "ownership": _enum(server, "UnitMetadata", "ownership")[0], "rent": 600,
            "state": "vacant"}
    reply = server.request("POST", "/api/units", json=body)
    assert reply.status == 201, f"POST /api/units: {reply}"
    return reply.json()["archive_no"]


def file_unit_pdf(server, no, text):
    doc_type = openapi(server)["components"]["schemas"]["UnitDocumentUpload"]["properties"][
        "doc_type"]["enum"][0]
    body, ctype = multipart({"doc_type": doc_type, "title": text, "date": "2026-01-05",
                             "issuer": "测试单位", "comment": "测试归档"},
                            {"file": (f"{text}.pdf", make_pdf(text), "application/pdf")})
    reply = server.request("POST", f"/api/units/{no}/documents", body=body, content_type=ctype)
    assert reply.status == 201, f"POST /api/units/{no}/documents: {reply}"
    return reply.json()["doc_id"]


def arrange(server) -> dict:
    """Households and units with documents and several versions, and a finished audit."""
    households, units, documents, versions, people = [], [], {}, {}, {}
    for i in range(3):
        no = create_household(server, 900 + i)
        people[no] = household_body(900 + i, server)["applicant"]["id_number"]
        docs = []
        for j in range(2):
            reply = file_pdf(server, no, f"schemathesis {i}-{j}")
            assert reply.status == 201, reply
            docs.append(reply.json()["doc_id"])
        households.append(no)
        documents[no] = docs
        versions[no] = 3
    for i in range(2):
        no = create_unit(server, i + 1)
        documents[no] = [file_unit_pdf(server, no, f"unit {i}")]
        units.append(no)
        versions[no] = 2
    # custody: a register of places, a shelved volume and a stock-take
    for parent, code in ((None, "A"), ("A", "01"), ("A-01", "01"), ("A-01-01", "001"), ("A-01-01", "002")):
        reply = server.request("POST", "/api/places", json={"parent": parent, "code": code})
        assert reply.status == 201, reply
    reply = server.request("PUT", f"/api/households/{households[0]}/place", json={"place": "A-01-01-001"})
    assert reply.status == 200, reply
    versions[households[0]] += 1
    take = server.request("POST", "/api/places/A-01-01/stocktakes", json={"scanned": [households[0]]})
    assert take.status == 201, take
    started = server.request("POST", "/api/audits", json={}, token="auditor")
    assert started.status == 202, started
    run_id = started.json()["run_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = server.request("GET", f"/api/audits/{run_id}", token="auditor").json()
        if run["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    collective = arrange_collective(server)   # 单位集体申请: an employer's versions counted too
    versions.update(collective.pop("employer_versions"))
    loan = server.request("POST", "/api/loans", token="borrower", json={
        "items": [households[0], f"{units[0]}/{documents[units[0]][0]}"], "purpose": "judicial",
        "form": "read", "end": (dt.date.today() + dt.timedelta(days=30)).isoformat()})
    assert loan.status == 201, loan    # so that the loan list and its schema hold something
    return {"tokens": {role: server.token(role) for role in ROLE_ORDER},
            "role_for": role_for_permissions(), "households": households, "units": units,
            "documents": documents, "versions": versions, "people": people, "url": server.url,
            "audits": [run_id], "lotteries": [],
            "places": ["A", "A-01", "A-01-01", "A-01-01-001", "A-01-01-002"],
            "shelves": ["A", "A-01", "A-01-01"], "boxes": ["A-01-01-001", "A-01-01-002"],
            "stocktakes": [take.json()["number"]],
            "fingerprints": [f["fingerprint"] for f in run.get("items", [])],
            "pdf": base64.b64encode(make_pdf("schemathesis upload")).decode(),
            **collective}


XM = {"jurisdiction": "xiamen", "district": "湖里区"}
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(seq: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015: mod 31 check character) of a made-up employer."""
    first17 = f"91350206MA{seq:07d}"
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return first17 + CREDIT_CHARS[(31 - total % 31) % 31]


def create_xiamen_unit(server, i):
    body = {"project": "湖里数字产业园人才公寓", "building": "8", "unit_no": f"{800 + i}",
            "address": f"厦门市湖里区枋钟路{i}号", **XM, "layout": _enum(server, "UnitMetadata", "layout")[0],
            "area": 45.2, "ownership": _enum(server, "UnitMetadata", "ownership")[0], "rent": 900,
            "state": "vacant"}
    reply = server.request("POST", "/api/units", json=body)
    assert reply.status == 201, f"POST /api/units: {reply}"
    return reply.json()["archive_no"]


def create_xiamen_household(server, i):
    body = {**household_body(i, server), **XM, "address": f"厦门市湖里区枋钟路{i}号"}
    reply = server.request("POST", "/api/households", json=body)
    assert reply.status == 201, f"POST /api/households: {reply}"
    return reply.json()["archive_no"]


def arrange_collective(server) -> dict:
    """单位集体申请 (厦门): a batch plan, open from yesterday for a month, naming eight employers;
    one has applied for a household and filed its four documents. Spare 厦门 units, households
    and credit codes let the hooks publish more batches and make more applications."""
    units = [create_xiamen_unit(server, i) for i in range(8)]
    households = [create_xiamen_household(server, 950 + i) for i in range(8)]
    codes = [credit_code(k) for k in range(1, 9)]
    today = dt.date.today()
    reply = server.request("POST", "/api/batches", json={
        "jurisdiction": "xiamen", "title": "2026年第一批人才公寓", "units": units[:2],
        "employers": [{"credit_code": c, "name": f"厦门测试单位{k}", "type": "employer"}
                      for k, c in enumerate(codes, 1)],
        "opens_on": (today - dt.timedelta(days=1)).isoformat(),
        "closes_on": (today + dt.timedelta(days=30)).isoformat(), "plan": {"rent_discount": "市场租金的70%"}})
    assert reply.status == 201, f"POST /api/batches: {reply}"
    batch_id = reply.json()["batch_id"]
    reply = server.request("POST", f"/api/batches/{batch_id}/steps",
                           json={"step": "apply", "credit_code": codes[0], "members": households[:1]})
    assert reply.status == 200, f"apply: {reply}"
    employer = reply.json()["employer"]["archive_no"]
    for doc_type in ("collective_application", "staff_roster", "employer_license", "employer_pledge"):
        body, ctype = multipart({"doc_type": doc_type, "title": doc_type},
                                {"file": (f"{doc_type}.pdf", make_pdf(doc_type), "application/pdf")})
        reply = server.request("POST", f"/api/employers/{employer}/documents", body=body, content_type=ctype)
        assert reply.status == 201, f"POST /api/employers/{employer}/documents: {reply}"
    versions = server.request("GET", f"/api/employers/{employer}/versions").json()["total"]
    return {"batches": [batch_id], "employers": [employer], "employer_versions": {employer: versions},
            "collective": {"units": units[2:], "households": households[1:], "codes": codes[1:],
                           "new_codes": [credit_code(k) for k in range(100, 120)]}}


# -- the run ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def st_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("schemathesis"), **{"archive.ocr_worker": False})
    srv.start()
    yield srv
    srv.stop()


def run_schemathesis(server, work: Path) -> tuple[subprocess.CompletedProcess, list]:
    fixtures = work / "fixtures.json"
    fixtures.write_text(json.dumps(arrange(server), ensure_ascii=False), encoding="utf-8")
    report = work / "report.ndjson"
    env = dict(os.environ, ARCHIVE_ST_FIXTURES=str(fixtures),
               SCHEMATHESIS_HOOKS="server.schemathesis_hooks",
               PYTHONPATH=os.pathsep.join([str(TOP / "tests"), str(TOP / "src")]),
               NO_COLOR="1", COLUMNS="120")
    cmd = [str(VENV_BIN / "schemathesis"), "run", f"{server.url}/api/openapi.json",
           "--checks", ",".join(CHECKS), "--max-examples", str(MAX_EXAMPLES),
           "--seed", str(SEED), "--workers", "2", "--continue-on-failure",
           "--request-timeout", "60", "--report", "ndjson", "--report-ndjson-path", str(report),
           "--suppress-health-check", "all", "--warnings", "off"]
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                          timeout=TIME_LIMIT)
    (work / "schemathesis.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    return done, failures_in(report)


def failures_in(report: Path) -> list:
    """Failure(operation, code, title, message, status, answer) from schemathesis's NDJSON
    event stream, one per distinct (operation, code, message, answer)."""
    out = set()
    if not report.exists():
        return []
    for line in report.read_text(encoding="utf-8").splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                failure = (check.get("failure_info") or {}).get("failure")
                if check.get("status") != "failure" or not failure:
                    continue
                response = (recorder.get("interactions", {}).get(case_id) or {}).get("response") or {}
                content = response.get("content") or {}
                answer = (base64.b64decode(content["$base64"]).decode("utf-8", "replace")
                          if isinstance(content, dict) and "$base64" in content else str(content))
                out.add(Failure(failure.get("operation", "?"), failure.get("code", "?"),
                                failure.get("title", check["name"]),
                                (failure.get("message") or "").strip(),
                                response.get("status_code"), answer[:500]))
    return sorted(out)


def answered(report: Path) -> dict:
    """{operation: set of statuses it answered} over the whole run."""
    out = collections.defaultdict(set)
    for line in report.read_text(encoding="utf-8").splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        recorder = (finished or {}).get("recorder") or {}
        for case_id, interaction in recorder.get("interactions", {}).items():
            case = recorder.get("cases", {}).get(case_id, {}).get("value", {})
            if interaction.get("response") and case.get("method"):
                out[f"{case['method'].upper()} {case['path']}"].add(interaction["response"]["status_code"])
    return out


class Failure(tuple):
    def __new__(cls, *fields):
        return super().__new__(cls, fields)

    operation, code, title, message, status, answer = (property(lambda self, i=i: self[i])
                                                       for i in range(6))

    def __str__(self):
        return f"{self.operation}: {self.code} {self.title}: {self.message}\n    -> {self.status} {self.answer}"


def deviation(failure):
    """The reason a failure stands, when DEVIATIONS lists it."""
    said = f"{failure.message}\n{failure.answer or ''}"
    for (operation, code, pattern), why in DEVIATIONS.items():
        if re.fullmatch(operation, failure.operation) and code == failure.code \
                and re.search(pattern, said):
            return why
    return None


def test_the_api_keeps_its_word(st_server, tmp_path):
    started = time.monotonic()
    done, failures = run_schemathesis(st_server, tmp_path)
    seconds = time.monotonic() - started
    unexplained = [f for f in failures if deviation(f) is None]
    summary = "\n".join(done.stdout.splitlines()[-30:])
    print(f"schemathesis: {len(failures)} failures ({len(unexplained)} unexplained) "
          f"in {seconds:.0f} s\n{summary}")
    assert "Test cases:" in done.stdout, f"schemathesis did not run:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    explained = collections.Counter((f.operation, f.code, deviation(f)) for f in failures
                                    if f not in unexplained)
    for (operation, code, why), count in sorted(explained.items()):
        print(f"documented deviation ×{count}: {operation} {code}: {why[:120]}…")
    assert not unexplained, "\n".join(map(str, unexplained))
    # the data reached the views: most documented operations answered 2xx at least once
    operations = {f"{m.upper()} {path}" for path, item in openapi(st_server)["paths"].items()
                  for m in item if m != "parameters"}
    statuses = answered(tmp_path / "report.ndjson")
    succeeded = {op for op in operations if any(200 <= s < 300 for s in statuses.get(op, ()))}
    print(f"operations answering 2xx: {len(succeeded)} of {len(operations)}; never: "
          f"{sorted(operations - succeeded)}")
    # 单位集体申请: the harness's 厦门 batch and employer reach every collective operation
    # (an employer's holds, appraisals and place are disposition's and custody's, whose
    # state-bound steps are held to the same share as a household's)
    collective = {op for op in operations if ("/api/batches" in op or "/api/employers" in op)
                  and not re.search(r"/(holds|appraisals|place)\b", op)}
    assert collective <= succeeded, sorted(collective - succeeded)
    assert len(succeeded) >= 0.8 * len(operations), sorted(operations - succeeded)
