"""Hostile input against a real server (issue 15, part 4).

More than a thousand requests, generated deterministically (fields × hostile values ×
endpoints, and seeded byte-level corruptions), from several client threads at once: malformed
JSON, wrong types, 1 MB strings, deep nesting, NUL and lone surrogates, impossible dates,
negative money; broken, truncated, encrypted, mislabelled and oversized files, decompression
and image bombs, more pages than the limit; traversal and control-character filenames;
malformed multipart; 10,000-character and unbalanced searches; forged form posts; invalid
UTF-8 in paths and query strings; lying Content-Lengths. Each must get a clear 4xx (a JSON
{"error", "status"} in Chinese under /api/, a Chinese page elsewhere) within its client
timeout, never a 5xx; afterwards the store is exactly as it was, the audit log verifies, and
the server still files and indexes valid (if unusual) input.

WebTest cannot show this: waitress parses the request line, the headers and the body's
length before the application sees anything, and buffers the body; the application's
workers run beside the requests.
"""
from __future__ import annotations

import base64
import collections
import concurrent.futures
import http.client
import io
import json
import random
import re
import socket
import time
import urllib.parse
import zlib

import pytest

from server.harness import (PASSWORD, create_household, file_pdf, household_body, id_number,
                            log_exceptions, make_pdf, multipart, openapi, report, sha256)
from conftest import raw_pdf

pytestmark = pytest.mark.server

SEED = 15
THREADS = 4
TIMEOUT = 60            # seconds a client waits for any one answer: no request may hang
CJK = re.compile(r"[\u4e00-\u9fff]")


# -- hostile values -----------------------------------------------------------------------------------
def nested(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


RAW = object()  # marks a value spliced into the JSON text as is (not valid Python JSON output)
EVERYWHERE = {  # never valid in any field: text, number, choice, list or object
    "lone surrogate": "\ud800", "low surrogate in text": "张\udfff三", "NUL": "a\x00b",
    "escape sequence": "\x1b[2J\x1b[H", "1 MB string": "x" * 1_000_000,
    "1 MB of Chinese": "档" * (1_000_000 // 3), "nested 40 deep": nested(40),
    "operator object": {"$gt": ""}, "NaN": (RAW, "NaN"), "Infinity": (RAW, "-Infinity"),
    "1e999": (RAW, "1e999"), "5000 digits": (RAW, "9" * 5000),
}
MONEY = {"negative": -1, "negative cents": -0.01, "over a trillion": 1e13, "true": True,
         "string": "一千二百"}
DATES = {"30 February": "2026-02-30", "29 February 2026": "2026-02-29", "month 13": "2026-13-01",
         "day 0": "2026-01-00", "year 0": "0000-01-01", "slashes": "2026/01/05",
         "words": "下周一", "time of day": "2026-01-05T25:61:00"}


def to_json(body: dict) -> bytes:
    """JSON text of ``body``; (RAW, text) values are spliced in verbatim."""
    marks = {}

    def mark(value):
        if isinstance(value, tuple) and value and value[0] is RAW:
            key = f"@@raw{len(marks)}@@"
            marks[key] = value[1]
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value
    text = json.dumps(mark(body))  # ASCII: surrogates travel as \ud800 escapes
    for key, raw in marks.items():
        text = text.replace(f'"{key}"', raw)
    return text.encode("ascii")


def put_at(body, path, value):
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


# -- the server's state ------------------------------------------------------------------------------
def snapshot(server, numbers):
    """What hostile requests must not change: counts of dossiers and lotteries, and for each
    household its version, state, documents and their file revisions."""
    state = {}
    for kind in ("households", "units"):
        reply = server.request("GET", f"/api/{kind}?per_page=1")
        assert reply.status == 200, reply
        state[kind] = reply.json()["total"]
    reply = server.request("GET", "/api/lotteries", token="reviewer")
    state["lotteries"] = reply.json().get("total", len(reply.json().get("items", []))) \
        if reply.status == 200 else reply.status
    for no in numbers:
        dossier = server.request("GET", f"/api/households/{no}").json()
        state[no] = (dossier["version"], dossier["state"],
                     [(d["doc_id"], d["withdrawn"], len(d["files"]), d["metadata"]["title"])
                      for d in dossier["documents"]])
    return state


# -- requests -------------------------------------------------------------------------------------
class Case:
    """One generated request and what its answer must be."""

    def __init__(self, label, method, path, *, body=None, content_type=None, token="archivist",
                 headers=None, accept=(), api=None):
        self.label, self.method, self.path = label, method, path
        self.body, self.content_type, self.token = body, content_type, token
        self.headers = headers or {}
        self.accept = set(accept)   # 2xx statuses allowed because the input is in fact valid
        self.api = path.startswith("/api/") if api is None else api
        self.reply = self.error = None
        self.seconds = 0.0

    def run(self, server):
        started = time.monotonic()
        try:
            self.reply = server.request(self.method, self.path, body=self.body,
                                        content_type=self.content_type, token=self.token,
                                        headers=self.headers, timeout=TIMEOUT)
        except (OSError, http.client.HTTPException) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        self.seconds = time.monotonic() - started
        return self

    def problem(self):
        """Why the answer breaks the rule, or None."""
        if self.error:
            return f"no answer ({self.error}) after {self.seconds:.0f} s"
        reply = self.reply
        if reply.status in self.accept:
            return None
        if not 400 <= reply.status < 500:
            return f"{reply.status}: {reply.text[:160]!r}"
        if self.api:
            if not reply.is_json():
                return f"{reply.status} as {reply.headers.get('content-type')}: {reply.text[:100]!r}"
            body = reply.json()
            if body.get("status") != reply.status or not CJK.search(str(body.get("error"))):
                return f"{reply.status} {str(body)[:160]}"
        elif not CJK.search(reply.text):
            return f"{reply.status} page without a Chinese message: {reply.text[:100]!r}"
        return None


def json_case(label, method, path, body, token="archivist", **kw):
    data = body if isinstance(body, bytes) else to_json(body)
    return Case(label, method, path, body=data, content_type="application/json", token=token, **kw)


# -- valid bodies (each checked once, at set-up) -----------------------------------------------------
def member():
    return {"name": "李梅", "relation": "spouse", "id_number": id_number(7, birth="19910203")}


def household(server, i):
    return {**household_body(i, server), "members": [member()], "priority_groups": [],
            "assets": 30000, "housing_area_per_capita": 8.5, "hukou_district": "城区",
            "notes": "", "comment": "受理"}


def unit(server):
    enum = openapi(server)["components"]["schemas"]["UnitMetadata"]["properties"]
    return {"project": "测试公租房", "building": "3", "unit_no": "502", "address": "测试路1号",
            "jurisdiction": enum["jurisdiction"]["enum"][0], "district": "城区",
            "layout": enum["layout"]["enum"][0], "area": 58.6,
            "ownership": enum["ownership"]["enum"][0], "owner": "住房保障中心", "rent": 620,
            "notes": "", "comment": "建档"}


def document(server):
    enum = openapi(server)["components"]["schemas"]["DocumentMetadata"]["properties"]
    return {"doc_type": enum["doc_type"]["enum"][0], "title": "申请表", "date": "2026-01-05",
            "issuer": "测试单位", "doc_no": "", "comment": "修改"}


HOUSEHOLD_FIELDS = [("applicant", "name"), ("applicant", "id_number"), ("members", 0, "name"),
                    ("members", 0, "relation"), ("members", 0, "id_number"), ("category",),
                    ("priority_groups",), ("income_per_capita",), ("assets",),
                    ("housing_area_per_capita",), ("phone",), ("jurisdiction",), ("district",),
                    ("hukou_district",), ("address",), ("notes",), ("comment",)]
HOUSEHOLD_MONEY = [("income_per_capita",), ("assets",), ("housing_area_per_capita",)]
UNIT_FIELDS = [("project",), ("building",), ("unit_no",), ("address",), ("jurisdiction",),
               ("district",), ("layout",), ("area",), ("ownership",), ("owner",), ("rent",),
               ("notes",), ("comment",)]


def json_cases(server, target, doc, run_id):
    """Every field of every JSON endpoint × every hostile value (and money and date values
    where they apply): about 850 requests."""
    h = f"/api/households/{target}"
    endpoints = [  # (label, method, path, role, valid body, fields, money fields, date fields)
        ("create household", "POST", "/api/households", "archivist", household(server, 900),
         HOUSEHOLD_FIELDS, HOUSEHOLD_MONEY, []),
        ("edit household", "PUT", h, "archivist", household(server, 901), HOUSEHOLD_FIELDS,
         HOUSEHOLD_MONEY, []),
        ("create unit", "POST", "/api/units", "archivist", unit(server), UNIT_FIELDS,
         [("area",), ("rent",)], []),
        ("edit document", "PUT", f"{h}/documents/{doc}", "archivist", document(server),
         [(k,) for k in ("doc_type", "title", "date", "issuer", "doc_no", "comment")], [], [("date",)]),
        ("withdraw", "POST", f"{h}/documents/{doc}/withdraw", "archivist", {"reason": "重复"},
         [("reason",)], [], []),
        ("restore", "POST", f"{h}/restore", "archivist", {"version": 1, "comment": "恢复"},
         [("version",), ("comment",)], [], []),
        ("transition", "POST", f"{h}/transitions", "reviewer",
         {"transition": "accept", "comment": "受理", "override": False},
         [("transition",), ("comment",), ("override",)], [], []),
        ("credit", "POST", f"{h}/credit", "reviewer",
         {"id_number": id_number(1), "kind": "fraud", "day": "2026-01-05", "description": "虚假材料",
          "evidence": "调查笔录"},
         [(k,) for k in ("id_number", "kind", "day", "description", "evidence")], [], [("day",)]),
        ("lottery", "POST", "/api/lotteries", "reviewer",
         {"jurisdiction": "qujing", "households": [target], "comment": "摇号", "announced_on": "2026-01-05",
          "draw_on": "2026-01-20"},
         [("jurisdiction",), ("households",), ("households", 0), ("comment",), ("announced_on",),
          ("draw_on",), ("commitment",)],
         [], [("announced_on",), ("draw_on",)]),
        ("audit", "POST", "/api/audits", "auditor", {"rules": ["log_chain"]}, [("rules",), ("rules", 0)],
         [], []),
        ("acknowledge", "POST", f"/api/audits/{run_id}/acks", "auditor",
         {"fingerprint": "0" * 64, "comment": "已核实"}, [("fingerprint",), ("comment",)], [], []),
    ]
    cases = []
    for label, method, path, role, valid, fields, money, dates in endpoints:
        for field in fields:
            for name, value in EVERYWHERE.items():
                cases.append(json_case(f"{label} {'.'.join(map(str, field))} {name}", method, path,
                                       put_at(valid, field, value), role))
        for field in money:
            for name, value in MONEY.items():
                cases.append(json_case(f"{label} {field[0]} {name}", method, path,
                                       put_at(valid, field, value), role))
        for field in dates:
            for name, value in DATES.items():
                cases.append(json_case(f"{label} {field[0]} {name}", method, path,
                                       put_at(valid, field, value), role))
    return cases, endpoints


MALFORMED = [b"", b"{", b"}", b"{'a': 1}", b'{"a": }', b'{"a": 1,}', b"nul", b"\xff\xfe{}",
             b'"text"', b"42", b"null", b"[]", b"[" * 100_000 + b"]" * 100_000,
             b'{"a": ' * 20_000 + b"1" + b"}" * 20_000, b"\x00" * 64, b'{"a": "\\ud800"}']


def malformed_cases(endpoints, rng):
    """Malformed bodies, and seeded byte-level corruptions of each endpoint's valid body."""
    cases = []
    for label, method, path, role, valid, *_ in endpoints:
        for body in MALFORMED:
            empty_is_all_rules = path == "/api/audits" and body == b""  # documented: every rule
            cases.append(json_case(f"{label} malformed {body[:24]!r}", method, path, body, role,
                                   accept=(202,) if empty_is_all_rules else ()))
        text = to_json(valid)
        for k in range(8):
            corrupt = bytearray(text)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(corrupt))
                choice = rng.random()
                if choice < 0.4:
                    del corrupt[at]
                elif choice < 0.7:
                    corrupt[at:at] = bytes([rng.choice(b'{}[]",:\\\x00\xff\xc3')])
                else:
                    corrupt[at] = rng.randrange(256)
            cases.append(json_case(f"{label} corrupted #{k}", method, path, bytes(corrupt), role,
                                   accept=(200, 201, 202)))  # a corruption may still be valid
        for ctype in ("text/plain", "application/json; charset=latin-1", "application/json; charset=binary",
                      "application/x-www-form-urlencoded", "multipart/form-data"):
            cases.append(Case(f"{label} as {ctype}", method, path, body=text, content_type=ctype,
                              token=role))
    return cases


# -- files and multipart -------------------------------------------------------------------------------


def pages_pdf(content, pages=1, resources=b"<< >>", extra=()):
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources " + resources
                + b" /Contents %d 0 R >>" % (3 + pages)] * pages
    return raw_pdf(objects + [content, *extra])


def stream(entries, data):
    return b"<< " + entries + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def deflated_spaces(size):
    packer = zlib.compressobj(9)
    return b"".join(packer.compress(b" " * 2**20) for _ in range(size // 2**20)) + packer.flush()


def encrypted():
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf("secret"))))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def hostile_files():
    bomb = deflated_spaces(2**30)  # 1 GB of content in 1 MB
    image = stream(b"/Type /XObject /Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceGray"
                   b" /BitsPerComponent 8 /Filter /FlateDecode", zlib.compress(b"\0" * 100))
    return {
        "empty": b"", "truncated": make_pdf("truncated")[:200],
        "broken": b"%PDF-1.4\n" + bytes(range(256)) * 200, "encrypted": encrypted(),
        "JPEG as PDF": b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\0" * 400,
        "zip as PDF": b"PK\x03\x04" + b"\0" * 400, "HTML as PDF": b"<html>%PDF-1.4</html>",
        "decompression bomb": pages_pdf(stream(b"/Filter /FlateDecode", bomb)),
        "bomb in ASCII85": pages_pdf(stream(b"/Filter [/A85 /Fl]",
                                            base64.a85encode(deflated_spaces(200 * 2**20), adobe=True))),
        "image bomb": pages_pdf(stream(b"", b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
                                resources=b"<< /XObject << /Im1 5 0 R >> >>", extra=[image]),
        "3000 pages": pages_pdf(stream(b"", b"BT ET"), pages=3000),
        "501 pages": pages_pdf(stream(b"", b"BT ET"), pages=501),
    }


def file_cases(server, target, doc):
    fields = document(server)
    h = f"/api/households/{target}"
    cases = []
    for name, data in hostile_files().items():
        for ctype in ("application/pdf", "image/jpeg"):
            for url in (f"{h}/documents", f"{h}/documents/{doc}/files"):
                body, content_type = multipart(fields, {"file": ("x.pdf", data, ctype)})
                cases.append(Case(f"file {name} {ctype} → {url[-5:]}", "POST", url, body=body,
                                  content_type=content_type))
    return cases


def part(name, value, extra=b"", filename=None):
    disposition = b'form-data; name="%s"' % name + (b'; filename="%s"' % filename if filename else b"")
    return b"--XX\r\nContent-Disposition: " + disposition + b"\r\n" + extra + b"\r\n" + value + b"\r\n"


def multipart_cases(server, target, doc):
    fields = b"".join(part(k.encode(), v.encode()) for k, v in document(server).items())
    pdf = make_pdf("multipart")
    one = part(b"file", pdf, b"Content-Type: application/pdf\r\n", b"a.pdf")
    bodies = {
        "no boundary": ("multipart/form-data", fields + one + b"--XX--\r\n"),
        "empty boundary": ('multipart/form-data; boundary=""', fields + one + b"--XX--\r\n"),
        "boundary not in the body": ("multipart/form-data; boundary=YY", fields + one + b"--XX--\r\n"),
        "part typed multipart/mixed": ("multipart/form-data; boundary=XX", fields + part(
            b"file", pdf, b"Content-Type: multipart/mixed\r\n", b"a.pdf") + b"--XX--\r\n"),
        "no file part": ("multipart/form-data; boundary=XX", fields + b"--XX--\r\n"),
        "file sent as a field": ("multipart/form-data; boundary=XX", fields + part(b"file", pdf) + b"--XX--\r\n"),
        "two file parts": ("multipart/form-data; boundary=XX", fields + one + one + b"--XX--\r\n"),
        "truncated": ("multipart/form-data; boundary=XX", fields + one[:len(one) // 2]),
        "no closing delimiter": ("multipart/form-data; boundary=XX", fields + one),
        "part without a name": ("multipart/form-data; boundary=XX",
                                b"--XX\r\nContent-Type: text/plain\r\n\r\nx\r\n" + fields + one + b"--XX--\r\n"),
        "endless part headers": ("multipart/form-data; boundary=XX",
                                 b"--XX\r\n" + b"X-Junk: a\r\n" * 50_000 + b"\r\nx\r\n--XX--\r\n"),
        "20,000 fields": ("multipart/form-data; boundary=XX", part(b"a", b"1") * 20_000 + one + b"--XX--\r\n"),
        "text part in latin-1": ("multipart/form-data; boundary=XX", part(
            b"title", b"caf\xe9", b"Content-Type: text/plain; charset=latin-1\r\n") + fields + one + b"--XX--\r\n"),
        "text part in charset binary": ("multipart/form-data; boundary=XX", part(
            b"title", b"t", b"Content-Type: text/plain; charset=binary\r\n") + fields + one + b"--XX--\r\n"),
        "form in latin-1": ("multipart/form-data; boundary=XX; charset=latin-1", fields + one + b"--XX--\r\n"),
        "NUL in the title": ("multipart/form-data; boundary=XX",
                             fields.replace("申请表".encode(), b"a\x00b") + one + b"--XX--\r\n"),
        "surrogate bytes in the title": ("multipart/form-data; boundary=XX",
                                         fields.replace("申请表".encode(), b"\xed\xa0\x80") + one + b"--XX--\r\n"),
        "garbage": ("multipart/form-data; boundary=XX", bytes(range(256)) * 64),
    }
    h = f"/api/households/{target}"
    urls = [(f"{h}/documents", "archivist"), (f"{h}/documents/{doc}/files", "archivist"),
            ("/api/audits", "auditor"), ("/api/lotteries", "reviewer"), ("/api/households", "archivist")]
    cases = []
    for name, (ctype, body) in bodies.items():
        for url, role in urls:
            cases.append(Case(f"multipart {name} → {url}", "POST", url, body=body, content_type=ctype,
                              token=role))
    for name in (".", "..", "../../etc/passwd", "..\\..\\boot.ini", "\x00.pdf", "a\x01\x1f.pdf",
                 "\u202efdp.exe", "con.pdf", " . ", "x" * 5000 + ".pdf"):
        body = fields + part(b"file", pdf, b"Content-Type: application/pdf\r\n", name.encode()) + b"--XX--\r\n"
        cases.append(Case(f"filename {name[:20]!r}", "POST", f"{h}/documents", body=body,
                          content_type="multipart/form-data; boundary=XX", accept=(201,)))
    return cases


SAFE_NAME = re.compile(r"^[^\x00-\x1f\x7f/\\\u202e]{1,200}$")


# -- search, paths, query strings -------------------------------------------------------------------
QUERIES = ["张" * 10_000, "a" * 10_000, "(" * 5000, ")" * 5000, "(" * 2000 + "张" + ")" * 1999, '"' * 10_000,
           '"未闭合', "((张三", "张三))", "AND", "OR OR", "NOT", "NOT NOT 张", "类型:", ":", "姓名:" * 1000,
           "档号:*", "*", "?", "\\", "{[}]", "张" + " OR 张" * 2000, "张三 AND (OR)", "日期:[2026 TO]"]
PATHS = ["/api/households/%ff", "/households/%ff", "/api/%ff", "/%ff", "/api/households/%C0%AF",
         "/api/households/%ED%A0%80", "/households/%ED%A0%80/edit", "/api/households/%00",
         "/households/a%00b", "/api/households/" + "9" * 5000, "/" + "a/" * 3000, "/static/%ff",
         "/api/search%ff", "/households/%ff/documents/new", "/api/units/%E4%B8"]
QUERY_STRINGS = ["q=%ff", "page=%ff", "x=%ED%A0%80", "_LOCALE_=%ff", "q=%00", "sort=%1b", "%ff=1",
                 "q=%C0%AF", "unmask=%ff", "per_page=%FF%FE", "page=" + "9" * 5000,
                 "per_page=" + "9" * 5000, "limit=" + "9" * 5000]


def url_cases(target, doc, cookie):
    """Searches, paths and query strings; pages are asked by a logged-in browser (``cookie``)."""
    h = f"/api/households/{target}"
    page = {"token": None, "headers": {"Cookie": cookie, "Accept": "text/html"}}
    cases = []
    for q in QUERIES:
        quoted = urllib.parse.quote(q)
        cases.append(Case(f"API search {q[:20]!r}", "GET", f"/api/search?q={quoted}", accept=(200,)))
        cases.append(Case(f"page search {q[:20]!r}", "GET", f"/search?q={quoted}", api=False,
                          accept=(200,), **page))
    for path in PATHS:
        for method in ("GET", "POST", "PUT"):
            cases.append(Case(f"{method} {path[:40]}", method, path, body=b"{}" if method != "GET" else None,
                              content_type="application/json" if method != "GET" else None))
        cases.append(Case(f"page {path[:40]}", "GET", path, api=path.startswith("/api/"), **page))
    for query in QUERY_STRINGS:
        for target_path in ("/api/households", h, f"{h}/documents/{doc}/content", "/api/search",
                            f"{h}/versions", "/api/worklist", "/api/lotteries", "/api/audits"):
            cases.append(Case(f"GET {target_path[-20:]}?{query[:20]}", "GET", f"{target_path}?{query}",
                              accept=(200,) if "9" * 5000 in query else ()))  # where there is no paging
        for where in ("/households", "/search", "/login", "/", f"/households/{target}"):
            cases.append(Case(f"page {where}?{query[:20]}", "GET", f"{where}?{query}", api=False,
                              accept=(200,) if "9" * 5000 in query else (), **page))  # pages clamp paging
    for number in ("%C2%B2", "%D9%A3", "-1", "1e3", "9" * 30, "%EF%BC%91", "0x1"):
        cases.append(Case(f"content ?file={number}", "GET", f"{h}/documents/{doc}/content?file={number}"))
    return cases


# -- forged form posts (a logged-in browser without the CSRF token) ------------------------------------
def log_in(server, login="archivist"):
    """A session cookie, by the login form as a browser does it."""
    page = server.request("GET", "/login", token=None, headers={"Accept": "text/html"})
    cookie = page.headers.get("set-cookie", "").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = urllib.parse.urlencode({"login": login, "password": PASSWORD, "csrf_token": token})
    reply = server.request("POST", "/login", body=form.encode(), token=None,
                           content_type="application/x-www-form-urlencoded", headers={"Cookie": cookie})
    assert reply.status in (302, 303), f"log-in: {reply}"
    return reply.headers.get("set-cookie", cookie).split(";", 1)[0]


def forged_cases(server, target, doc, cookie):
    forms = [("/households/new", {"name": "伪造"}), ("/units/new", {"project": "伪造"}),
             (f"/households/{target}/edit", {"name": "伪造", "_comment": "伪造"}),
             (f"/households/{target}/restore", {"version": "1", "comment": "伪造"}),
             (f"/households/{target}/documents/{doc}/withdraw", {"reason": "伪造"}),
             (f"/households/{target}/documents/{doc}/refile", {"comment": "伪造"}),
             (f"/households/{target}/transitions/accept", {"comment": "伪造"}),
             ("/users/new", {"login": "mallory", "password": "x" * 12}),
             ("/logout", {})]
    cases = []
    for url, data in forms:
        for token in (None, "forged", "x" * 5000):
            body = urllib.parse.urlencode(dict(data, **({"csrf_token": token} if token else {})))
            cases.append(Case(f"forged {url} {str(token)[:8]!r}", "POST", url, body=body.encode(),
                              content_type="application/x-www-form-urlencoded", token=None,
                              headers={"Cookie": cookie}, api=False))
        body, ctype = multipart(data, {"upload": ("a.pdf", make_pdf("forged"), "application/pdf")})
        cases.append(Case(f"forged {url} multipart", "POST", url, body=body, content_type=ctype, token=None,
                          headers={"Cookie": cookie}, api=False))
    # the API from a browser session: a form post, not a token call
    cases.append(json_case("forged API edit by cookie", "PUT", f"/api/households/{target}",
                           household(server, 902), token=None, headers={"Cookie": cookie}))
    return cases


# -- requests the harness cannot send: raw sockets ----------------------------------------------------
def raw_exchange(server, data: bytes, timeout=10, then_wait=True):
    """Send ``data`` on a new connection; (status, headers and body text, seconds). Status 0:
    no answer before ``timeout`` (a client that lies about its length waits, not the server)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if not then_wait and b"\r\n\r\n" in b"".join(chunks):
                    break
        except socket.timeout:
            pass
    answer = b"".join(chunks).decode("utf-8", "replace")
    match = re.match(r"HTTP/1\.[01] (\d{3})", answer)
    return (int(match.group(1)) if match else 0), answer, time.monotonic() - started


def header_block(server, method, path: bytes, headers: dict, token="archivist"):
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
             b"Authorization: Bearer " + server.token(token).encode()]
    lines += [f"{k}: {v}".encode("latin-1") for k, v in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


# -- the test -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def arena(server):
    """Two households (one with a filed document), one unit and one audit run, made before the
    hostile requests; their state is what must not change."""
    target = create_household(server, 801)
    other = server.request("POST", "/api/households", json=household(server, 802))
    assert other.status == 201, f"the valid base household body is refused: {other}"
    reply = file_pdf(server, target, "hostile input target")
    assert reply.status == 201, reply
    doc = reply.json()["doc_id"]
    for label, method, path, body, role in (
            ("unit", "POST", "/api/units", unit(server), "archivist"),
            ("document", "PUT", f"/api/households/{target}/documents/{doc}", document(server), "archivist")):
        reply = server.request(method, path, json=body, token=role)
        assert reply.status in (200, 201), f"the valid base {label} body is refused: {reply}"
    run = server.request("POST", "/api/audits", json={"rules": ["log_chain"]}, token="auditor")
    assert run.status == 202, run
    return target, other.json()["archive_no"], doc, run.json()["run_id"]


def test_a_thousand_hostile_requests_get_clear_4xx_and_change_nothing(server, arena):
    target, other, doc, run_id = arena
    rng = random.Random(SEED)
    cases, endpoints = json_cases(server, target, doc, run_id)
    cases += malformed_cases(endpoints, rng)
    cases += file_cases(server, target, doc)
    cases += multipart_cases(server, target, doc)
    cookie = log_in(server)
    cases += url_cases(target, doc, cookie)
    cases += forged_cases(server, target, doc, cookie)
    rng.shuffle(cases)
    time.sleep(1)  # let the set-up's after-commit work (text layer, index) settle
    before = snapshot(server, (target, other))
    log_start = len(server.log_text())
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        done = list(pool.map(lambda c: c.run(server), cases))
    elapsed = time.monotonic() - started
    # corrupted bodies and filenames may be valid: what they changed is accounted for
    accepted = [c for c in done if c.reply is not None and 200 <= c.reply.status < 300]
    problems = [f"{c.label}: {why}" for c in done if (why := c.problem())]
    names = [c.reply.json()["files"][-1]["filename"] for c in accepted if c.label.startswith("filename")]
    unsafe = [repr(n) for n in names if not SAFE_NAME.match(n) or n in (".", "..") or n.startswith(".")]
    statuses = collections.Counter(c.reply.status if c.reply else "no answer" for c in done)
    slowest = max(done, key=lambda c: c.seconds)
    log = server.log_text()[log_start:]
    seen = {name: n for name, (n, _) in log_exceptions(log).items()}
    line = (f"{len(done)} hostile requests in {elapsed:.0f} s ({THREADS} clients): statuses "
            f"{dict(sorted(statuses.items(), key=str))}; slowest {slowest.seconds:.1f} s ({slowest.label[:50]}); "
            f"{len(accepted)} valid after all; server log exceptions {seen or 'none'}")
    print(line)
    print("valid after all:", collections.Counter(re.sub(r" [#'].*", "", c.label) for c in accepted))
    assert len(done) >= 1000
    if problems or unsafe:
        pytest.fail(report(line, {"not a clear 4xx": problems, "unsafe stored filenames": unsafe}, server),
                    pytrace=False)

    after = snapshot(server, (target, other))
    for no in (target, other):  # a dossier a valid request wrote to: compare what can be counted
        if expected_after(before, accepted, (target, other))[no][1] is None:
            after[no] = (after[no][0], None, len(after[no][2]))
    assert after == expected_after(before, accepted, (target, other)), (
        f"hostile requests changed the store beyond what {len(accepted)} valid ones did:\n"
        f"before {before}\nafter  {after}\nvalid: {[c.label for c in accepted]}")
    assert statuses.get("no answer", 0) == 0 and slowest.seconds < TIMEOUT


def expected_after(before, accepted, numbers):
    """The snapshot after the requests that turned out valid (a corruption that still parses,
    an odd filename): one version per write to a dossier, one document per filing, one
    dossier or lottery per creation; nothing else."""
    writes = [c for c in accepted if c.method != "GET"]
    expected = dict(before)
    for kind in ("households", "units"):
        expected[kind] += sum(1 for c in writes if c.method == "POST" and c.path == f"/api/{kind}")
    if isinstance(before["lotteries"], int):
        expected["lotteries"] += sum(1 for c in writes if c.path == "/api/lotteries")
    for no in numbers:
        mine = [c for c in writes if c.path.startswith(f"/api/households/{no}")
                and "/credit" not in c.path]
        if not mine:
            continue
        version, state, docs = before[no]
        filed = sum(1 for c in mine if c.path == f"/api/households/{no}/documents")
        expected[no] = (version + len(mine), None, len(docs) + filed)
    return expected


def test_lying_content_lengths_and_raw_request_lines(server, arena):
    target, other, doc, _ = arena
    before = snapshot(server, (target, other))
    path = f"/api/households/{target}/documents".encode()
    problems = []

    # declared far over the limit: refused from the header alone, nothing sent after it
    status, answer, seconds = raw_exchange(server, header_block(
        server, "POST", path, {"Content-Type": "multipart/form-data; boundary=XX",
                               "Content-Length": str(200 * 2**20)}))
    if status != 413 or seconds > 5:
        problems.append(f"declared 200 MB: {status} after {seconds:.1f} s: {answer[:120]!r}")

    # over the application's limit (50 MB + 1 MB for the form) but under waitress's (52 MB):
    # the application refuses it from its length, in Chinese, without parsing it
    body = b"--XX\r\n" + b"0" * (51 * 2**20 + 2**19)
    status, answer, seconds = raw_exchange(server, header_block(
        server, "POST", path, {"Content-Type": "multipart/form-data; boundary=XX",
                               "Content-Length": str(len(body))}) + body, timeout=60)
    if status != 413 or "上限" not in answer or seconds > 20:
        problems.append(f"51 MB body: {status} after {seconds:.1f} s: {answer[-200:]!r}")

    # declares 1,000 bytes, sends 10 and stalls: that client waits, the server serves others
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    stalled.sendall(header_block(server, "POST", path, {"Content-Type": "application/json",
                                                       "Content-Length": "1000"}) + b'{"a": 1,  ')
    reply = server.request("GET", f"/api/households/{target}", timeout=10)
    if reply.status != 200:
        problems.append(f"while a client stalls: {reply}")
    stalled.close()

    # declares less than it sends: the rest is not a request
    extra = b'{"comment": "' + b"x" * 100 + b'"}'
    status, answer, _ = raw_exchange(server, header_block(
        server, "PUT", f"/api/households/{target}".encode(),
        {"Content-Type": "application/json", "Content-Length": "10"}) + extra)
    if not 400 <= status < 500:
        problems.append(f"short Content-Length: {status}: {answer[:160]!r}")

    for value in ("abc", "-1", "1e3", "99999999999999999999999"):
        status, answer, _ = raw_exchange(server, header_block(
            server, "POST", path, {"Content-Type": "application/json", "Content-Length": value}) + b"{}")
        if not 400 <= status < 500:
            problems.append(f"Content-Length {value}: {status}: {answer[:120]!r}")

    # chunked: no length declared; the body is still bounded and checked
    chunk = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4 x'
    chunked = b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n"
    status, answer, _ = raw_exchange(server, header_block(
        server, "POST", path, {"Content-Type": "multipart/form-data; boundary=XX",
                               "Transfer-Encoding": "chunked"}) + chunked)
    if not 400 <= status < 500 or "application/json" not in answer:
        problems.append(f"chunked truncated multipart: {status}: {answer[:200]!r}")

    # bytes that are not ASCII in the request line itself, not escaped: waitress refuses them
    # ("Bad URI") before the application sees them; escaped, they reach it (the first test)
    for raw_path in (b"/api/households/\xff", b"/households/\xc3\x28", b"/api/search?q=\xff\xfe",
                     b"/api/households?page=\xed\xa0\x80", b"/api/households/\x00"):
        status, answer, _ = raw_exchange(server, header_block(server, "GET", raw_path, {}))
        if not 400 <= status < 500:
            problems.append(f"raw {raw_path!r}: {status}: {answer[:200]!r}")

    assert not problems, "\n".join(problems)
    assert snapshot(server, (target, other)) == before


def test_after_hostile_input_the_server_files_searches_and_its_log_verifies(server, arena):
    """Valid but unusual input still works (the indexer survived everything it was given):
    rare and astral characters, right-to-left text, combining marks, the longest notes; then
    the audit log's chain verifies and the index agrees with the store."""
    target, *_ = arena
    odd = {"applicant": {"name": "𠀀𪚥龘", "id_number": id_number(555)},
           "notes": "مرحبا \u0301\u0302 🏠 " + "档" * 1900, "address": "测试路\u3000１号 ①",
           "comment": "𠀀"}
    body = {**household(server, 555), **odd}
    reply = server.request("POST", "/api/households", json=body)
    assert reply.status == 201, reply
    no = reply.json()["archive_no"]
    filed = file_pdf(server, no, "unusual but valid")
    assert filed.status == 201, filed
    deadline, found = time.monotonic() + 60, False
    while time.monotonic() < deadline and not found:
        hits = server.request("GET", "/api/search?q=" + urllib.parse.quote("𪚥"))
        found = hits.status == 200 and no in hits.text
        time.sleep(0.5)
    assert found, f"the index never showed {no}: {hits}\n{server.log_tail()}"
    assert sha256(server.request("GET", f"/api/households/{no}/documents/{filed.json()['doc_id']}/content").body) \
        == filed.json()["files"][0]["sha256"]
    server.stop()
    try:
        for command in (("verify-log",), ("index-check",)):
            done = server.cli(*command)
            assert done.returncode == 0, f"archive {' '.join(command)}: {done.stdout[-800:]}{done.stderr[-800:]}"
    finally:
        server.start()
