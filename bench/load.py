"""Load benchmark: simulated officers against a real `pserve` (issue 15, part 6), printing figures.

    python bench/load.py [--users 20] [--seconds 300] [--households N] [--warmup 30] [--think S]
                         [--seed 15] [--keep]

1. set-up: a temporary directory with a copy of development.ini whose var/ (Data.fs, blobs,
   index) lives under it and whose server listens on a free port; the demo city loaded with
   `archive demo` (200 households, 150 units, 3,000 PDFs by default; `--households N` scales
   units and documents with it) and API tokens issued with `archive token` (the CLI runs only
   while the server is stopped: FileStorage), then `pserve` started on it;
2. warm-up: every dossier listed and opened once (which also yields the documents to download)
   and a few searches; the idle latency of a trivial request (a static file); then the users
   below for `--warmup` seconds (30), not measured, so that the caches (ZODB's per connection,
   the search index's) are filled when the server's RSS at start is taken;
3. load: N users (threads, one keep-alive HTTP connection each, no think time unless
   `--think`) loop for the duration over a weighted mix of what officers do through the JSON
   API with bearer tokens: browse (list pages, open a dossier, its documents, its versions,
   download a document and check its SHA-256), search (Chinese words, phrases, AND/OR/NOT,
   field:value, names and parts of names, archive numbers), file a small Chinese PDF, edit a
   household's metadata (GET unmasked, then PUT with a comment), and the worklist. One user in
   four is a reviewer (reads, searches, worklist); the others are archivists. Dossiers are
   picked at random (seeded); a quarter of the writes go to a few "hot" households so that
   users collide on one dossier. A probe thread times the trivial request twice a second
   beside the load: the reference for reading the figures against the machine's state;
4. after the load: every document filed in the run is downloaded again and checked against
   the SHA-256 its 201 reported; the server is stopped (SIGTERM, SIGKILL after 20 s).

Figures per kind: count, requests/s, p50/p95/max; totals; errors by status (every answer that
is neither 2xx nor 409, plus connection errors and SHA-256 mismatches; the first bodies are
printed); 409s separately (a clear conflict answer), with their bodies; the server's RSS at
start, every 30 s and at the end. Exit status 1 when any error happened (5xx, connection,
unexpected 4xx, lost or altered content), else 0.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import http.client
import io
import json
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
TOP = HERE.parent
VENV_BIN = TOP / ".venv" / "bin"
REFERENCE_PATH = "/static/archive.css"

# kind -> weight, for archivists and reviewers (who may not file or edit)
MIX_ARCHIVIST = {"list": 12, "dossier": 18, "documents": 8, "versions": 8, "download": 12,
                 "search": 20, "file": 8, "edit": 6, "worklist": 4}
MIX_REVIEWER = {"list": 12, "dossier": 20, "documents": 10, "versions": 10, "download": 12,
                "search": 24, "worklist": 12}
KIND_ORDER = ["list", "dossier", "documents", "versions", "download", "search", "file",
              "edit-read", "edit", "worklist"]
# words of the demo's documents and of the policy texts, queries as officers type them
SEARCH_WORDS = ["收入证明", "承诺书", "租赁合同", "公共租赁住房", "人均月收入", "申请表", "经济状况核对",
                "腾退验收", "年度申报", "配租确认通知书", "住房保障", "户口簿", "婚姻状况", "履约保证金",
                "审核意见", "公示", "轮候", "退出通知", "维修记录", "低保", "人才公寓", "街道办事处",
                "\"人均月收入\"", "\"公共租赁住房\"", "承诺书 NOT 撤回", "收入证明 OR 租赁合同",
                "(租赁合同 OR 交接单) 常州", "类型:收入证明", "类型:收入证明 辖区:曲靖", "辖区:常州",
                "辖区:厦门 租金", "辖区:腾冲", "辖区:德州 申请", "曲靖", "腾冲", "厦门"]
FILE_TYPES = ["income_proof", "annual_declaration", "rent_record", "change_request", "special_status",
              "housing_proof", "marriage_proof", "hukou", "id_card", "check_report"]


# -- set-up ------------------------------------------------------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_ini(work, port):
    """development.ini with var/ under `work`, a free port, and no nightly audit (so that runs
    taken at any hour measure the same thing); workers and threads as configured."""
    ini = (TOP / "development.ini").read_text(encoding="utf-8")
    ini = ini.replace("%(here)s/var", f"{work}/var").replace("%(here)s", str(TOP))
    ini = re.sub(r"(?m)^listen\s*=.*$", f"listen = 127.0.0.1:{port}", ini)
    ini = re.sub(r"(?m)^archive\.audit_at\s*=.*$", "archive.audit_at =", ini)
    path = pathlib.Path(work) / "load.ini"
    path.write_text(ini, encoding="utf-8")
    (pathlib.Path(work) / "var").mkdir(exist_ok=True)
    threads = re.search(r"(?m)^threads\s*=\s*(\d+)", ini)
    return path, int(threads.group(1)) if threads else 4


def cli(cfg, *args, timeout=1800):
    res = subprocess.run([str(VENV_BIN / "archive"), "-c", str(cfg), *args], capture_output=True,
                         text=True, cwd=TOP, timeout=timeout)
    if res.returncode:
        sys.exit(f"archive {' '.join(args)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return res.stdout


def demo_args(households):
    if households is None:
        return []
    return ["--households", str(households), "--units", str(max(1, households * 3 // 4)),
            "--documents", str(households * 15)]


def start_server(cfg, work):
    log = open(pathlib.Path(work) / "server.log", "wb")
    proc = subprocess.Popen([str(VENV_BIN / "pserve"), str(cfg)], cwd=TOP, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def wait_for(port, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", REFERENCE_PATH)
            ok = c.getresponse().status == 200
            c.close()
            if ok:
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def stop_server(proc):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return None, None


# -- the client ------------------------------------------------------------------------------
class Client:
    """One keep-alive connection; reconnects after a connection error."""

    def __init__(self, port, token=None, timeout=120):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = None

    def request(self, method, path, body=None, ctype=None):
        """(status, body bytes, ms); status 0 and the exception's text on a connection error."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if ctype:
            headers["Content-Type"] = ctype
        t0 = time.perf_counter()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, data, (time.perf_counter() - t0) * 1000
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # a kept-alive connection the server closed between requests: retry once anew
                self.close()
                if attempt == 2 or not _idempotent(method):
                    return 0, f"{type(exc).__name__}: {exc}".encode(), (time.perf_counter() - t0) * 1000
                t0 = time.perf_counter()
            except OSError as exc:
                self.close()
                return 0, f"{type(exc).__name__}: {exc}".encode(), (time.perf_counter() - t0) * 1000

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _idempotent(method):
    return method in ("GET", "HEAD", "PUT")


def q(path, **params):
    return path + "?" + urllib.parse.urlencode(params) if params else path


def pdf_maker():
    """A function (user, n) -> a small unique one-page PDF with Chinese text (reportlab, as the
    demo city's documents), so each filing is distinct and searchable."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    lock = threading.Lock()

    def make(user, n):
        buf = io.BytesIO()
        with lock:
            c = canvas.Canvas(buf, invariant=1)
            c.setFont("STSong-Light", 12)
            c.drawString(60, 780, f"负载测试材料 第{user}号用户 第{n}份")
            for line in range(1, 8):
                c.drawString(60, 780 - line * 22, f"家庭成员收入证明：申请人家庭人均月收入及住房情况说明，第{line}行。")
            c.showPage()
            c.save()
        return buf.getvalue()
    return make


def multipart(fields, filename, data):
    boundary = "----load" + os.urandom(8).hex()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Stats:
    """Every request's (kind, ms, status); errors and 409s with their first bodies."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []            # (kind, ms, status, t)
        self.errors = collections.Counter()      # status (0: connection, "sha256") -> count
        self.error_bodies = []
        self.conflicts = collections.Counter()   # kind -> count
        self.conflict_bodies = []
        self.filed = []              # (path of the content, sha256 reported)

    def add(self, kind, method, path, status, body, ms):
        with self.lock:
            self.samples.append((kind, ms, status, time.monotonic()))
            if status == 409:
                self.conflicts[kind] += 1
                if len(self.conflict_bodies) < 5:
                    self.conflict_bodies.append((kind, method, path, status, _text(body)))
            elif not 200 <= status < 300:
                self.errors[status] += 1
                if len(self.error_bodies) < 8:
                    self.error_bodies.append((kind, method, path, status, _text(body)))

    def integrity(self, kind, path, detail):
        with self.lock:
            self.errors["sha256"] += 1
            if len(self.error_bodies) < 8:
                self.error_bodies.append((kind, "GET", path, "sha256", detail))


def _text(body, limit=400):
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class Corpus:
    """What the users know of the archive: dossiers, their documents (path -> sha256), names."""

    def __init__(self):
        self.lock = threading.Lock()
        self.dossiers = []       # (kind, archive_no)
        self.households = []
        self.documents = {}      # (kind, no) -> [(doc content path, sha256)]
        self.names = []

    def add_document(self, key, path, sha):
        with self.lock:
            self.documents.setdefault(key, []).append((path, sha))


def discover(port, token, corpus, workers=4):
    """List every dossier and open each once (the warm-up)."""
    client = Client(port, token)
    for kind in ("households", "units"):
        page = 1
        while True:
            st, body, _ = client.request("GET", q(f"/api/{kind}", page=page, per_page=100))
            if st != 200:
                sys.exit(f"listing /api/{kind} failed: {st} {_text(body)}")
            data = json.loads(body)
            for item in data["items"]:
                corpus.dossiers.append((kind, item["archive_no"]))
                if kind == "households":
                    corpus.households.append(item["archive_no"])
                    name = (item.get("columns") or {}).get("applicant.name") or item.get("title")
                    if name:
                        corpus.names.append(name)
            if page * data["per_page"] >= data["total"]:
                break
            page += 1
    client.close()
    todo = list(corpus.dossiers)
    failed = []

    def opener():
        c = Client(port, token)
        while True:
            with corpus.lock:
                if not todo:
                    break
                kind, no = todo.pop()
            st, body, _ = c.request("GET", f"/api/{kind}/{no}")
            if st != 200:
                failed.append((kind, no, st, _text(body)))
                continue
            for doc in json.loads(body)["documents"]:
                current = next((f for f in doc["files"] if f["current"]), None)
                if current and not doc["withdrawn"]:
                    corpus.add_document((kind, no), f"/api/{kind}/{no}/documents/{doc['doc_id']}/content",
                                        current["sha256"])
        c.close()
    threads = [threading.Thread(target=opener) for _ in range(workers)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    if failed:
        sys.exit(f"opening dossiers failed: {failed[:3]}")


class User(threading.Thread):
    def __init__(self, index, role, token, port, corpus, stats, stop, args, doc_types, make_pdf, hot,
                 recording):
        super().__init__(daemon=True, name=f"user-{index}")
        self.recording = recording
        self.index, self.role = index, role
        self.client = Client(port, token)
        self.corpus, self.stats, self.stop, self.args = corpus, stats, stop, args
        self.rng = random.Random(args.seed * 1000 + index)
        mix = MIX_ARCHIVIST if role == "archivist" else MIX_REVIEWER
        self.kinds, self.weights = list(mix), list(mix.values())
        self.doc_types, self.make_pdf, self.hot = doc_types, make_pdf, hot
        self.n = 0

    def call(self, kind, method, path, body=None, ctype=None):
        st, data, ms = self.client.request(method, path, body, ctype)
        # recorded from the end of the warm-up until the stop; writes in flight at the stop too
        if self.recording.is_set() and (not self.stop.is_set() or kind in ("file", "edit")):
            self.stats.add(kind, method, path, st, data, ms)
        return st, data

    def pick(self):
        return self.rng.choice(self.corpus.dossiers)

    def pick_household(self):
        if self.rng.random() < 0.25:
            return self.rng.choice(self.hot)
        return self.rng.choice(self.corpus.households)

    def run(self):
        while not self.stop.is_set():
            kind = self.rng.choices(self.kinds, self.weights)[0]
            self.n += 1
            getattr(self, "do_" + kind)()
            if self.args.think:
                self.stop.wait(self.rng.expovariate(1 / self.args.think))
        self.client.close()

    def do_list(self):
        kind = "households" if self.rng.random() < 0.6 else "units"
        pages = max(1, -(-sum(1 for k, _ in self.corpus.dossiers if k == kind) // 20))
        self.call("list", "GET", q(f"/api/{kind}", page=self.rng.randint(1, pages)))

    def do_dossier(self):
        kind, no = self.pick()
        self.call("dossier", "GET", f"/api/{kind}/{no}")

    def do_documents(self):
        kind, no = self.pick()
        self.call("documents", "GET", f"/api/{kind}/{no}/documents")

    def do_versions(self):
        kind, no = self.pick()
        self.call("versions", "GET", f"/api/{kind}/{no}/versions")

    def do_download(self):
        with self.corpus.lock:
            key = self.pick()
            docs = self.corpus.documents.get(key)
            if not docs:
                return
            path, sha = self.rng.choice(docs)
        st, data = self.call("download", "GET", path)
        if st == 200 and hashlib.sha256(data).hexdigest() != sha:
            self.stats.integrity("download", path, f"SHA-256 {hashlib.sha256(data).hexdigest()[:16]}… "
                                                   f"!= {sha[:16]}… ({len(data)} bytes)")

    def do_search(self):
        r = self.rng.random()
        if r < 0.55:
            query = self.rng.choice(SEARCH_WORDS)
        elif r < 0.75:
            name = self.rng.choice(self.corpus.names)
            query = name if self.rng.random() < 0.5 else name[:2]
        elif r < 0.9:
            query = self.rng.choice(self.corpus.dossiers)[1]
        else:
            query = "姓名:" + self.rng.choice(self.corpus.names)[:1]
        params = {"q": query}
        if self.rng.random() < 0.2:
            params["page"] = 2
        if self.rng.random() < 0.15:
            params["sort"] = "date"
        self.call("search", "GET", q("/api/search", **params))

    def do_file(self):
        no = self.pick_household()
        doc_type = self.rng.choice(self.doc_types)
        data = self.make_pdf(self.index, self.n)
        fields = {"doc_type": doc_type, "title": f"负载测试材料（用户{self.index}-{self.n}）",
                  "date": "2026-01-05", "issuer": "街道办事处", "comment": f"负载测试归档 {self.index}-{self.n}"}
        body, ctype = multipart(fields, f"load-{self.index}-{self.n}.pdf", data)
        st, resp = self.call("file", "POST", f"/api/households/{no}/documents", body, ctype)
        if st == 201:
            doc = json.loads(resp)
            sha = hashlib.sha256(data).hexdigest()
            reported = next((f["sha256"] for f in doc["files"] if f["current"]), None)
            path = f"/api/households/{no}/documents/{doc['doc_id']}/content"
            if reported != sha:
                self.stats.integrity("file", path, f"reported SHA-256 {reported} != sent {sha}")
            self.corpus.add_document(("households", no), path, sha)
            with self.stats.lock:
                self.stats.filed.append((path, sha))

    def do_edit(self):
        no = self.pick_household()
        st, data = self.call("edit-read", "GET", f"/api/households/{no}?unmask=1")
        if st != 200 or self.stop.is_set():
            return
        meta = json.loads(data)["metadata"]
        # a marker no earlier edit wrote (an unchanged PUT is refused: 409 没有修改任何内容)
        base = re.sub(r"（核对[\d-]+）$", "", meta.get("address") or "")
        meta["address"] = f"{base}（核对{self.index}-{self.n}）"
        meta["comment"] = f"负载测试：核对地址（用户{self.index}-{self.n}）"
        self.call("edit", "PUT", f"/api/households/{no}", json.dumps(meta, ensure_ascii=False).encode(),
                  "application/json; charset=utf-8")

    def do_worklist(self):
        self.call("worklist", "GET", q("/api/worklist", limit=50))


def reference_probe(port, stop, out, recording, interval=0.5):
    """The trivial request, timed twice a second beside the load."""
    c = Client(port)
    while not stop.wait(interval):
        st, _, ms = c.request("GET", REFERENCE_PATH)
        if recording.is_set():
            out.append((ms, st))
    c.close()


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]


def verify_filed(port, token, filed, workers=4):
    """Every document acknowledged in the run, downloaded again: (ok, problems)."""
    todo, problems, ok = list(filed), [], [0]
    lock = threading.Lock()

    def worker():
        c = Client(port, token)
        while True:
            with lock:
                if not todo:
                    break
                path, sha = todo.pop()
            st, data, _ = c.request("GET", path)
            with lock:
                if st == 200 and hashlib.sha256(data).hexdigest() == sha:
                    ok[0] += 1
                else:
                    problems.append((path, st, _text(data, 200) if st != 200 else "SHA-256 differs"))
        c.close()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return ok[0], problems


def server_exceptions(work):
    """The distinct exception lines of the server's log, most frequent first."""
    try:
        text = (pathlib.Path(work) / "server.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0, [], []
    lines = re.findall(r"(?m)^([A-Za-z_][\w.]*(?:Error|Exception|Conflict\w*)\b.*)$", text)
    tracebacks = text.count("Traceback (most recent call last)")
    common = collections.Counter(_text(line, 160) for line in lines).most_common(5)
    # where the first one happened: its last frames
    first = re.search(r"Traceback \(most recent call last\):\n((?:[ \t].*\n)+)", text)
    frames = re.findall(r'(?m)^\s*File "([^"]+)", line (\d+), in (\S+)', first.group(1)) if first else []
    where = [f"{path.split('site-packages/')[-1].split('/src/')[-1]}:{line} {func}"
             for path, line, func in frames[-4:]]
    return tracebacks, common, where


def conflict_retries(work):
    """How many requests the server retried after a write conflict so far (its log's
    `retrying … after ConflictError` lines)."""
    try:
        text = (pathlib.Path(work) / "server.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return len(re.findall(r"(?m) retrying \S+ \S+ after \w*Conflict", text))


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


# -- the run ---------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--households", type=int, default=None,
                        help="demo city size (default: the demo's own, 200; units and documents scale with it)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean think time between a user's requests, seconds (default 0: closed loop)")
    parser.add_argument("--warmup", type=float, default=30,
                        help="seconds of the same mix, not measured, before the figures start (default 30)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not (VENV_BIN / "pserve").exists():
        sys.exit("no .venv/bin/pserve: run `make install` first")

    def say(msg):
        print(msg, file=sys.stderr, flush=True)

    work = tempfile.mkdtemp(prefix="archive-load-")
    proc = log = None
    code = 1
    try:
        port = free_port()
        cfg, threads = write_ini(work, port)
        say(f"load benchmark in {work}: loading the demo city …")
        t0 = time.monotonic()
        cli(cfg, "demo", *demo_args(args.households))
        tokens = {role: cli(cfg, "token", role, "--label", "bench/load.py").strip().split()[-1]
                  for role in ("archivist", "reviewer")}
        say(f"  demo city and tokens in {time.monotonic() - t0:.0f} s; starting pserve on :{port}")
        proc, log = start_server(cfg, work)
        if not wait_for(port, proc):
            sys.exit(f"pserve did not answer; its log:\n{(pathlib.Path(work) / 'server.log').read_text()[-3000:]}")
        spec = json.loads(Client(port).request("GET", "/api/openapi.json")[1])
        enum = (spec.get("components", {}).get("schemas", {}).get("DocumentMetadata", {})
                .get("properties", {}).get("doc_type", {}).get("enum")) or FILE_TYPES
        doc_types = [t for t in FILE_TYPES if t in enum] or list(enum)
        corpus = Corpus()
        t0 = time.monotonic()
        discover(port, tokens["archivist"], corpus)
        warm = Client(port, tokens["archivist"])
        for query in SEARCH_WORDS[:10]:
            warm.request("GET", q("/api/search", q=query))
        warm.request("GET", q("/api/worklist", limit=50))
        warm.close()
        hot = random.Random(args.seed).sample(corpus.households, min(6, len(corpus.households)))
        ndocs = sum(len(v) for v in corpus.documents.values())
        say(f"  warm-up: {len(corpus.dossiers)} dossiers opened, {ndocs} documents, "
            f"{time.monotonic() - t0:.0f} s")
        idle_client, idle = Client(port), []
        for _ in range(100):
            idle.append(idle_client.request("GET", REFERENCE_PATH)[2])
            time.sleep(0.01)
        idle_client.close()

        stats, stop, probe_stop, probe = Stats(), threading.Event(), threading.Event(), []
        recording = threading.Event()
        make_pdf = pdf_maker()
        users = [User(i, "reviewer" if i % 4 == 3 else "archivist",
                      tokens["reviewer" if i % 4 == 3 else "archivist"], port, corpus, stats, stop, args,
                      doc_types, make_pdf, hot, recording) for i in range(args.users)]
        prober = threading.Thread(target=reference_probe, args=(port, probe_stop, probe, recording),
                                  daemon=True)
        say(f"  {args.users} users ({sum(u.role == 'reviewer' for u in users)} reviewers): "
            f"{args.warmup:.0f} s of warm-up, not measured, server RSS {rss_mib(proc.pid)[0]:.0f} MiB")
        [u.start() for u in users]
        prober.start()
        time.sleep(max(0.0, args.warmup))
        retries_before = conflict_retries(work)
        rss = [(0.0, *rss_mib(proc.pid))]
        load_start = loadavg()
        filed_in_warmup = len(stats.filed)
        started = time.monotonic()
        recording.set()
        say(f"  measuring for {args.seconds:.0f} s, server RSS {rss[0][1]:.0f} MiB")
        last_t, last_n, last_p = started, 0, 0
        next_rss = started + 30
        try:
            while True:
                now = time.monotonic()
                if now - started >= args.seconds or proc.poll() is not None:
                    break
                time.sleep(min(10 - (now - started) % 10, args.seconds - (now - started)) + 0.001)
                now = time.monotonic()
                if now >= next_rss or now - started >= args.seconds:
                    rss.append((now - started, *rss_mib(proc.pid)))
                    next_rss += 30
                n, np_ = len(stats.samples), len(probe)
                errs, confl = sum(stats.errors.values()), sum(stats.conflicts.values())
                ref = pct([ms for ms, _ in probe[last_p:np_]], 50)
                say(f"  {now - started:5.0f} s  {n:6d} requests  {(n - last_n) / (now - last_t):6.1f}/s  "
                    f"errors {errs}  409 {confl}  filed {len(stats.filed)}  "
                    f"RSS {rss_mib(proc.pid)[0] or 0:.0f} MiB  reference p50 {ref:.0f} ms  "
                    f"load {' '.join(loadavg())}")
                last_t, last_n, last_p = now, n, np_
        except KeyboardInterrupt:
            say("  interrupted: stopping the users")
        elapsed = time.monotonic() - started
        stop.set()
        for u in users:
            u.join(150)
        probe_stop.set()
        prober.join(5)
        rss_end = rss_mib(proc.pid)
        if rss[-1][0] < elapsed - 1:
            rss.append((elapsed, *rss_end))
        load_end = loadavg()
        server_died = proc.poll() is not None
        say(f"  load done; checking the {len(stats.filed)} documents filed in the run …")
        verified, lost = (0, []) if server_died else verify_filed(port, tokens["archivist"], stats.filed)
        tracebacks, exceptions, where = server_exceptions(work)
        retries = conflict_retries(work) - retries_before

        # -- report --
        by_kind = collections.defaultdict(list)
        for kind, ms, st, _ in stats.samples:
            by_kind[kind].append((ms, st))
        print(f"load: {args.users} users ({sum(u.role == 'reviewer' for u in users)} reviewers) for "
              f"{elapsed:.0f} s against pserve (waitress, {threads} threads), demo city "
              f"{len(corpus.households)} households / {len(corpus.dossiers) - len(corpus.households)} units / "
              f"{ndocs} documents at start, think time {args.think:g} s, seed {args.seed}")
        print(f"machine: {os.cpu_count()} cores, load average {' '.join(load_start)} at start, "
              f"{' '.join(load_end)} at end")
        print()
        print(f"{'kind':<10} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
              f"{'409':>5} {'errors':>6}")
        rows = KIND_ORDER + sorted(k for k in by_kind if k not in KIND_ORDER)
        for kind in rows:
            items = by_kind.get(kind)
            if not items:
                continue
            ms = [m for m, _ in items]
            c409 = sum(1 for _, s in items if s == 409)
            cerr = sum(1 for _, s in items if s != 409 and not 200 <= s < 300)
            print(f"{kind:<10} {len(items):7d} {len(items) / elapsed:7.2f} {pct(ms, 50):8.1f} "
                  f"{pct(ms, 95):8.1f} {max(ms):8.1f} {c409:5d} {cerr:6d}")
        allms = [ms for _, ms, _, _ in stats.samples]
        print(f"{'all':<10} {len(allms):7d} {len(allms) / elapsed:7.2f} {pct(allms, 50):8.1f} "
              f"{pct(allms, 95):8.1f} {max(allms, default=float('nan')):8.1f} "
              f"{sum(stats.conflicts.values()):5d} {sum(stats.errors.values()):6d}")
        pms = [ms for ms, st in probe]
        print(f"reference  GET {REFERENCE_PATH} (static file, no auth): idle before the load "
              f"p50 {pct(idle, 50):.1f} / p95 {pct(idle, 95):.1f} ms; under the load ({len(pms)} probes) "
              f"p50 {pct(pms, 50):.1f} / p95 {pct(pms, 95):.1f} / max {max(pms, default=float('nan')):.1f} ms"
              + (f", {sum(1 for _, s in probe if s != 200)} failed" if any(s != 200 for _, s in probe) else ""))
        print()
        print("server RSS (MiB): " + ", ".join(f"{t:.0f} s {r:.0f}" for t, r, _ in rss if r is not None)
              + (f"; peak (VmHWM) {rss_end[1]:.0f}" if rss_end[1] else "")
              + (f"; end - start {rss[-1][1] - rss[0][1]:+.0f}" if rss[-1][1] and rss[0][1] else ""))
        print(f"filed in the run: {len(stats.filed)} acknowledged (201; {filed_in_warmup} during the warm-up); after the load {verified} downloaded "
              f"with the SHA-256 they reported, {len(lost)} not" + ("" if not server_died else " (server died)"))
        for path, st, why in lost[:5]:
            print(f"  lost: {path} -> {st} {why}")
        writes = sum(len(by_kind.get(k, ())) for k in ("file", "edit", "edit-read", "download"))
        print(f"conflicts retried by the server (pyramid_retry, from its log): {retries} during the "
              f"measured run, against {writes} requests that write (file, edit; edit-read and download "
              f"append to the audit log)")
        if stats.conflicts:
            print(f"409 (conflict, answered clearly): {sum(stats.conflicts.values())} — "
                  + ", ".join(f"{k} {n}" for k, n in stats.conflicts.most_common()))
            for kind, method, path, st, body in stats.conflict_bodies:
                print(f"  {kind}: {method} {path} -> {st} {body}")
        else:
            print("409 (conflict, answered clearly): 0")
        nerr = sum(stats.errors.values()) + len(lost) + (1 if server_died else 0)
        print(f"errors: {nerr}" + (" — " + ", ".join(
            f"{'connection' if s == 0 else s} {n}" for s, n in stats.errors.most_common()) if stats.errors else "")
            + (f", lost documents {len(lost)}" if lost else "") + (", server died" if server_died else ""))
        for kind, method, path, st, body in stats.error_bodies:
            print(f"  {kind}: {method} {path} -> {'connection' if st == 0 else st} {body}")
        if tracebacks or exceptions:
            print(f"server log: {tracebacks} tracebacks; exception lines, most frequent first:")
            for line, n in exceptions:
                print(f"  {n:5d}  {line}")
            if where:
                print("  the first one's last frames: " + " <- ".join(reversed(where)))
        fatal = sum(n for s, n in stats.errors.items() if s == 0 or s == "sha256" or (isinstance(s, int) and s >= 500))
        code = 1 if nerr else 0
        if fatal or server_died:
            print(f"FAIL: {fatal} 5xx/connection/integrity errors" + (", server died" if server_died else ""))
        elif nerr:
            print("FAIL: unexpected 4xx answers or lost documents")
        else:
            print("OK: no errors")
    finally:
        stop_server(proc)
        if log:
            log.close()
        if args.keep:
            print(f"kept {work} (server log: {work}/server.log)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
