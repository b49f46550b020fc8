"""Schemathesis hooks for tests/server/test_schemathesis.py: realistic data, so that the
generated requests reach the views instead of stopping at 401, 403 and 404.

Loaded by ``schemathesis run`` itself (``SCHEMATHESIS_HOOKS=server.schemathesis_hooks``) in
its own process; what the test made on the server (archive numbers, document ids, version
counts, tokens) comes in the JSON file named by ``ARCHIVE_ST_FIXTURES``.

- **Who asks.** Each operation is called with the token of a role that holds the permission
  the document names for it (``x-permission``), so the data is checked, not only the role.
- **Existing things.** Path parameters are mostly replaced by archive numbers, document ids,
  version numbers and audit ids that exist (one value in ten is left as generated, so the
  404 answers are still exercised); schemathesis re-validates a changed case, so a negative
  case stays negative only if its mutation is still there.
- **Valid people and files.** ``format: gb11643`` (an ID number) is drawn as a real number
  of an adult; a positive case's household is made to satisfy the cross-field rules the
  document lists under ``x-rules`` (ID numbers once per household, a birth date matching the
  number), which JSON Schema cannot say; a positive upload carries a real PDF.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re

import schemathesis
from hypothesis import strategies as st
from schemathesis.transport.serialization import Binary

FIXTURES = json.loads(open(os.environ["ARCHIVE_ST_FIXTURES"], encoding="utf-8").read()) \
    if os.environ.get("ARCHIVE_ST_FIXTURES") else {}

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
REGIONS = ("320402", "320404", "530302", "110101", "440305", "350203")


def id_number(region, born, seq):
    body = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return body + ID_CHECK[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]


@st.composite
def adult_id_numbers(draw):
    """A valid GB 11643 number of someone born 1940–2000 (so an adult applicant)."""
    born = draw(st.dates(dt.date(1940, 1, 1), dt.date(2000, 12, 31)))
    return id_number(draw(st.sampled_from(REGIONS)), born, draw(st.integers(0, 999)))


schemathesis.openapi.format("gb11643", adult_id_numbers())


# -- who asks ----------------------------------------------------------------------------------
def _token(case):
    definition = getattr(case.operation.definition, "raw", None) or {}
    role = FIXTURES.get("role_for", {}).get(definition.get("x-permission") or "view", "archivist")
    return FIXTURES.get("tokens", {}).get(role)


@schemathesis.auth(refresh_interval=None)
class ByPermission:
    """The bearer token of a role holding the operation's permission (x-permission)."""

    def get(self, case, ctx):
        return _token(case)

    def set(self, case, data, ctx):
        if data:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# -- existing things ---------------------------------------------------------------------------
def _keep_generated(value) -> bool:
    """One generated value in ten stays (deterministically), so 404s are still asked for."""
    return int(hashlib.sha256(repr(value).encode()).hexdigest(), 16) % 10 == 0


def _pick(values, seed):
    if not values:
        return None
    return values[int(hashlib.sha256(repr(seed).encode()).hexdigest(), 16) % len(values)]


def _kind(path):
    for kind in ("units", "employers"):
        if path.startswith(f"/api/{kind}/"):
            return kind
    return "households"


def _existing_path_parameters(case):
    params = case.path_parameters
    if not params or _keep_generated(params):
        return
    new = dict(params)
    kind = _kind(case.operation.path)
    if "no" in new:
        new["no"] = _pick(FIXTURES.get(kind, []), params) or new["no"]
    no = new.get("no")
    if "doc" in new:
        new["doc"] = _pick(FIXTURES.get("documents", {}).get(no, []), params) or new["doc"]
    if "n" in new and isinstance(new["n"], int) and new["n"] >= 1:
        count = FIXTURES.get("versions", {}).get(no, 0)
        if count:
            new["n"] = 1 + new["n"] % count
    if "run_id" in new and isinstance(new["run_id"], int) and new["run_id"] >= 1:
        new["run_id"] = _pick(FIXTURES.get("audits", []), params) or new["run_id"]
    if "batch_id" in new:   # 单位集体申请: the harness's 厦门 batch
        new["batch_id"] = _pick(FIXTURES.get("batches", []), params) or new["batch_id"]
    if "lottery_id" in new:
        new["lottery_id"] = _pick(FIXTURES.get("lotteries", []), params) or new["lottery_id"]
    if "code" in new:   # custody: a storage place, a stock-take
        new["code"] = _pick(FIXTURES.get("places", []), params) or new["code"]
    if "number" in new and isinstance(new["number"], int) and new["number"] >= 1:
        new["number"] = _pick(FIXTURES.get("stocktakes", []), params) or new["number"]
    if new != params:
        case.path_parameters = new


def _no_escapes_in_path(case):
    """Generated path parameters without "%": the HTTP client keeps a "%0A" that happens to be
    in a generated value as an escape (requests' requote_uri), so the server would be sent a
    newline the case never held, and rightly refuse it."""
    params = case.path_parameters
    if params and any(isinstance(v, str) and "%" in v for v in params.values()):
        case.path_parameters = {k: v.replace("%", "") if isinstance(v, str) else v
                                for k, v in params.items()}


# -- valid people, files and references ------------------------------------------------------
# what the hostile-input guard refuses (views/input.py): C0 controls, DEL, lone surrogates
CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _clean(value):
    """``value`` with every control character removed, in keys and values alike."""
    if isinstance(value, str) and not isinstance(value, Binary):
        return CONTROL.sub("", value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _valid_id(number) -> bool:
    if not isinstance(number, str) or not re.fullmatch(r"[1-9][0-9]{16}[0-9X]", number):
        return False
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return (dt.date(1900, 1, 1) <= born <= dt.date.today() and number[:2] in PROVINCES
            and ID_CHECK[sum(int(c) * w for c, w in zip(number, ID_WEIGHTS)) % 11] == number[17])


PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
             "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
             "63", "64", "65", "71", "81", "82", "83", "91"}


def _people(body):
    if isinstance(body.get("applicant"), dict):
        yield body["applicant"]
    for member in body.get("members") or ():
        if isinstance(member, dict):
            yield member


def _satisfy_household_rules(body):
    """Real ID numbers (an adult applicant), each once per household, and birth dates that
    match them: the rules JSON Schema cannot say (GB 11643's check character, x-rules)."""
    seen = set()
    for k, person in enumerate(_people(body)):
        number = person.get("id_number")
        if not isinstance(number, str):
            continue
        seq = sum(map(ord, number)) + 7 * k
        if not _valid_id(number) or (k == 0 and int(number[6:10]) > dt.date.today().year - 19):
            number = id_number(REGIONS[seq % len(REGIONS)], dt.date(1960 + seq % 40, 1 + seq % 12, 1 + seq % 28), seq)
        while number in seen:
            seq += 1
            number = id_number(number[:6], dt.date(int(number[6:10]), int(number[10:12]),
                                                   int(number[12:14])), seq)
        person["id_number"] = number
        seen.add(number)
        if person.get("birth_date"):
            person["birth_date"] = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"


def _pdf():
    import base64
    return Binary(base64.b64decode(FIXTURES["pdf"])) if FIXTURES.get("pdf") else None


def _applicant_id(no):
    """The household's applicant's ID number as it stands now (schemathesis edits households
    too), read from the server with the unmasked view, or None."""
    import urllib.request
    if not FIXTURES.get("url") or not no:
        return None
    request = urllib.request.Request(f"{FIXTURES['url']}/api/households/{no}?unmask=1", headers={
        "Authorization": f"Bearer {FIXTURES['tokens']['archivist']}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["metadata"]["applicant"]["id_number"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _positive_references(case, body):
    """Bodies that name things (a version, a person, a finding) name ones that exist."""
    path, method = case.operation.path, case.method.upper()
    no = (case.path_parameters or {}).get("no")
    versions = FIXTURES.get("versions", {}).get(no, 0)
    if path.endswith("/restore") and isinstance(body.get("version"), int) and versions:
        body["version"] = 1 + (body["version"] - 1) % versions
    if path == "/api/households/{no}/credit":
        person = _applicant_id(no)
        if person and "id_number" in body:
            body["id_number"] = person
        if isinstance(body.get("day"), str) and body["day"] > dt.date.today().isoformat():
            body["day"] = dt.date.today().isoformat()
        if "evidence" in body:
            body["evidence"] = None
    if path == "/api/audits/{run_id}/acks" and FIXTURES.get("fingerprints"):
        case.path_parameters = {**case.path_parameters, "run_id": FIXTURES["audits"][0]}
        if "fingerprint" in body:
            body["fingerprint"] = _pick(FIXTURES["fingerprints"], body)
    if path == "/api/lotteries" and isinstance(body.get("households"), list) and body["households"]:
        body["households"] = sorted(set(FIXTURES.get("households", [])))[:len(body["households"])]
    if path.endswith("/{no}/place") and method == "PUT" and "place" in body:
        body["place"] = _pick(FIXTURES.get("boxes", []), body) or body["place"]
    if path == "/api/places" and method == "POST" and isinstance(body.get("parent"), str):
        body["parent"] = _pick(FIXTURES.get("shelves", []), body) or body["parent"]
    if path in ("/api/households", "/api/households/{no}") and method in ("POST", "PUT"):
        _satisfy_household_rules(body)
    if path == "/api/loans" and method == "POST":
        _existing_loan_items(body)
    if path == "/api/batches" and method == "POST":
        _spare_batch(body)
    if path == "/api/batches/{batch_id}/steps" and _pick((True, False), body):
        _an_application(case, body)


def _spare_batch(body):
    """A batch plan the server can publish: 厦门, a spare unit of the harness's, employers
    with valid credit codes (each once), and a closing day no earlier than the opening one."""
    spare = FIXTURES.get("collective", {})
    body["jurisdiction"] = "xiamen"
    if isinstance(body.get("units"), list) and spare.get("units"):
        body["units"] = [_pick(spare["units"], body)]
    employers = [e for e in body.get("employers") or () if isinstance(e, dict)]
    if employers and spare.get("new_codes"):
        start = int(hashlib.sha256(repr(body).encode()).hexdigest(), 16) % len(spare["new_codes"])
        for k, employer in enumerate(employers[:len(spare["new_codes"])]):
            employer["credit_code"] = spare["new_codes"][(start + k) % len(spare["new_codes"])]
        body["employers"] = employers[:len(spare["new_codes"])]
    days = [body.get("opens_on"), body.get("closes_on")]
    if all(isinstance(d, str) for d in days) and days[0] > days[1]:
        body["opens_on"], body["closes_on"] = days[1], days[0]


def _an_application(case, body):
    """Half the positive steps are an application to the harness's open batch by an employer
    its plan names, for a spare 厦门 household (one taken earlier in the run is a 409)."""
    spare = FIXTURES.get("collective", {})
    if not spare.get("codes") or not FIXTURES.get("batches"):
        return
    case.path_parameters = {**(case.path_parameters or {}), "batch_id": FIXTURES["batches"][0]}
    body.clear()
    body.update(step="apply", credit_code=_pick(spare["codes"], ("code", repr(case.body))),
                members=[_pick(spare["households"], ("member", repr(case.body)))])


def _existing_loan_items(body):
    """A loan request names dossiers that exist, a last day from today to a year on, and
    says what "other" is for (views/loans.py refuses the rest with the reason)."""
    if isinstance(body.get("items"), list) and body["items"]:
        nos = sorted(set(FIXTURES.get("households", [])))
        body["items"] = [_pick(nos, item) for item in body["items"]][:len(nos)] if nos else body["items"]
    if isinstance(body.get("end"), str):
        body["end"] = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    if body.get("purpose") == "other" and not (isinstance(body.get("note"), str) and body["note"].strip()):
        body["note"] = "课题研究"


def _positive_query(case):
    query = dict(case.query or {})
    no = (case.path_parameters or {}).get("no")
    versions = FIXTURES.get("versions", {}).get(no, 0)
    if case.operation.path.endswith("/diff") and versions:
        for name in ("from", "to"):
            if isinstance(query.get(name), int) and query[name] >= 1:
                query[name] = 1 + (query[name] - 1) % versions
    return query


def _fill_upload(body):
    """A positive upload carries a real PDF. The generated file is replaced in place (its
    bytes only): a changed multipart body is re-validated by schemathesis, which cannot
    validate binary parts and would call the case negative."""
    upload = body.get("file")
    pdf = _pdf()
    if isinstance(upload, Binary) and pdf is not None:
        upload.data = pdf.data


@schemathesis.hook
def map_case(ctx, case):
    _existing_path_parameters(case)
    _no_escapes_in_path(case)
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    # A positive case is one a clerk's program could send. The document's patterns keep control
    # characters out of the fields it declares; undeclared fields and parameters (schemathesis
    # adds some) lose theirs here. The hostile-input tests (tests/functional/test_hostile_input.py,
    # tests/server/test_hostile.py) send such characters on purpose.
    if case.query:
        query = _clean(_positive_query(case))
        if query != case.query:
            case.query = query
    if isinstance(case.body, dict):
        if (case.media_type or "").startswith("multipart/"):
            _fill_upload(case.body)
            return case
        body = _clean(json.loads(json.dumps(case.body)))
        _positive_references(case, body)
        if body != case.body:
            case.body = body
    return case
