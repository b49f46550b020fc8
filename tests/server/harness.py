"""A real server for tests: ``pserve`` (waitress) on a throw-away store, and its clients.

WebTest runs every request in the test's own thread, through one connection, so it cannot
show what happens when officers work at the same time, when a conflict is retried, or when
the process dies between a commit and its after-commit work. These helpers start the
application as production runs it — its own process, waitress threads, the background
workers — on a FileStorage under a temporary ``var/``, and talk to it over HTTP with the
standard library only (no new test dependency).

    server = Server(tmp_path)            # settings as development.ini, store under tmp_path/var
    server = Server(tmp_path, **{"archive.ocr_worker": False, "threads": 8})
    server.start()
    no = create_household(server, 1)
    reply = file_pdf(server, no, "first page")
    server.kill(); server.restart()

With the default FileStorage only one process may open the store: ``Server.cli`` (the
``archive`` command) works only while the server is stopped.
"""
from __future__ import annotations

import atexit
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
VENV_BIN = TOP / ".venv" / "bin"
ROLES = ("archivist", "reviewer", "sysadmin", "secadmin", "auditor", "inspector", "borrower")
PASSWORD = "Server-pass-123!"
NOISE = re.compile(r"Task queue depth is|DB\.open\(\) has \d+ open connections")
START_TIMEOUT = 90  # seconds; pserve imports the whole application and opens the store

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


# -- replies -------------------------------------------------------------------------------
@dataclass
class Reply:
    """One HTTP answer. A 4xx/5xx is a Reply too: tests assert on statuses, not exceptions."""

    status: int
    headers: dict = field(repr=False)  # lower-case names
    body: bytes = field(repr=False)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def is_json(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/json")

    def error(self) -> str:
        """The API's error message (``error``), or the start of whatever the body is."""
        if self.is_json():
            try:
                return str(self.json().get("error"))
            except (ValueError, AttributeError):
                pass
        return " ".join(self.text.split())[:160]

    def __str__(self):
        return f"{self.status} {self.error() if self.status >= 400 else ''}".strip()


# -- the server ----------------------------------------------------------------------------
class Server:
    """``pserve`` on a copy of development.ini whose store, blobs, index and secrets live under
    ``root/var``; users of every role (login = role name, password ``PASSWORD``) and one API
    token each are made with the CLI before the first start.

    ``settings`` override ini keys by their exact name (``archive.text_worker``, ``threads``,
    ``retry.attempts`` …); a key the ini lacks is added to ``[app:main]``.
    """

    def __init__(self, root, template="development.ini", tokens=None, **settings):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.var = self.root / "var"
        self.ini = self.root / "server.ini"
        self.log_path = self.root / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self._tokens = dict(tokens or {})   # given: a cluster's server, on a store made already
        self._log = None
        self.ini.write_text(server_ini(self.var, self.port, settings, template), encoding="utf-8")

    # life cycle
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Start pserve and wait until the API answers; users and tokens are made first."""
        if self.running:
            return self
        if not self._tokens:
            self._provision()
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(VENV_BIN / "pserve"), str(self.ini)], cwd=self.root,
                                     env=_env(), stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"pserve exited with {self.proc.returncode} at start:\n"
                                     f"{self.log_tail()}")
            try:
                if self.request("GET", "/api/openapi.json", token=None, timeout=5).status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass  # not listening yet, or closed the connection while starting
            time.sleep(0.2)
        self.kill()
        raise AssertionError(f"pserve did not answer /api/openapi.json in {START_TIMEOUT} s:\n"
                             f"{self.log_tail()}")

    def kill(self):
        """SIGKILL the whole process group (waitress and every worker thread die at once)."""
        self._signal(signal.SIGKILL)

    def stop(self):
        """A clean shutdown: SIGINT first, which pserve handles as Ctrl-C (waitress stops,
        the interpreter exits normally, exit status 0); SIGTERM only if that does not end
        it. The application installs no SIGTERM handler, so SIGTERM alone ends Python as
        abruptly as SIGKILL (no ``finally``, no ``atexit``)."""
        self._signal(signal.SIGINT, then=signal.SIGTERM)

    def restart(self):
        if self.running:
            self.stop()
        return self.start()

    def _signal(self, sig, then=signal.SIGKILL):
        """Send ``sig`` to the process group and wait; ``then``, then SIGKILL, if it lingers."""
        if self.proc is None:
            return
        for each in dict.fromkeys((sig, then, signal.SIGKILL)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, each)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                continue
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    # the command line and the log
    def cli(self, *args, input=None, timeout=300) -> subprocess.CompletedProcess:
        """``archive -c INI *args``. With FileStorage, only while the server is stopped."""
        return subprocess.run([str(VENV_BIN / "archive"), "-c", str(self.ini), *args], input=input,
                              capture_output=True, text=True, cwd=self.root, env=_env(),
                              timeout=timeout)

    def cli_many(self, *commands, timeout=300) -> list[subprocess.CompletedProcess]:
        """Several ``archive`` commands (each a tuple of arguments) through the CLI's own
        ``main`` in one Python process: the same code and exit statuses as ``cli``, without
        paying the ~3 s import of the application per command. Server stopped, as for ``cli``."""
        jobs = [(str(i), ["-c", str(self.ini), *args], "") for i, args in enumerate(commands)]
        results = _run_cli_batch(jobs, self.root, timeout)
        return [subprocess.CompletedProcess(["archive", *args], *results[str(i)])
                for i, args in enumerate(commands)]

    def _provision(self):
        """Users of every role and a token each, from a template store made once per process."""
        template, tokens = _provisioned_template()
        if self.var.exists():
            shutil.rmtree(self.var)
        shutil.copytree(template, self.var)
        self._tokens = dict(tokens)

    def token(self, name="archivist") -> str:
        if not self._tokens:
            self._provision()
        return self._tokens[name]

    def log_text(self) -> str:
        if self._log:
            self._log.flush()
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40) -> str:
        """The log's last lines, without waitress's and ZODB's load notices (queue depth,
        connection pool), which under concurrent clients would fill it."""
        kept = [line for line in self.log_text().splitlines() if not NOISE.search(line)]
        return "\n".join(kept[-lines:])

    # HTTP
    def request(self, method, path, *, json=None, body=None, content_type=None, headers=None,
                token="archivist", timeout=60) -> Reply:
        """One request on a fresh connection; connection errors (a killed server) raise OSError
        or http.client.HTTPException, every HTTP status is returned as a Reply."""
        send = {"Accept": "application/json", "Connection": "close"}
        if token:
            send["Authorization"] = f"Bearer {self.token(token)}"
        if json is not None:
            body = _json_bytes(json)
            content_type = content_type or "application/json"
        if content_type:
            send["Content-Type"] = content_type
        send.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=send)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         response.read())
        finally:
            conn.close()


def server_ini(var: Path, port: int, settings: dict, template="development.ini") -> str:
    """development.ini (or another of the example ini files) with the store under ``var``
    and the settings a test server needs."""
    text = (TOP / template).read_text(encoding="utf-8")
    text = text.replace("%(here)s/var", str(var)).replace("%(here)s", str(TOP))
    wanted = {"listen": f"127.0.0.1:{port}", "archive.index_dir": str(var / "index"),
              "archive.session_secret": secrets.token_hex(32),
              "archive.argon2.time_cost": 1, "archive.argon2.memory_cost": 1024,
              "archive.audit_at": "", "archive.text_worker": True,
              "archive.search_worker": True, "archive.ocr_worker": True}
    wanted.update(settings)
    for key, value in wanted.items():
        text = _set_ini(text, key, value)
    return text


def _set_ini(text, key, value):
    value = ("true" if value else "false") if isinstance(value, bool) else str(value)
    line = f"{key} = {value}".rstrip()
    pattern = re.compile(rf"(?m)^#?\s*{re.escape(key)}\s*=.*$")
    if pattern.search(text):
        return pattern.sub(lambda _: line, text, count=1)
    return text.replace("[app:main]\n", f"[app:main]\n{line}\n", 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    return dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")


def _json_bytes(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# -- users and tokens, made once per test process ------------------------------------------
_TEMPLATE = {}

CLI_BATCH = """\
import contextlib, io, json, sys
from archive.cli import main
out = {}
for name, argv, stdin in json.load(sys.stdin):
    sys.stdin, buf, err = io.StringIO(stdin), io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code
    out[name] = [status, buf.getvalue(), err.getvalue()]
print(json.dumps(out))
"""


def _run_cli_batch(jobs, cwd, timeout=300) -> dict:
    """{name: [exit status, stdout, stderr]} of (name, argv, stdin) jobs run by archive.cli.main
    one after the other in a single process."""
    done = subprocess.run([str(VENV_BIN / "python"), "-c", CLI_BATCH], input=json.dumps(jobs),
                          capture_output=True, text=True, cwd=cwd, env=_env(), timeout=timeout)
    assert done.returncode == 0, f"the CLI batch failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _provisioned_template():
    """(var directory, tokens): users of every role and their tokens, made by the CLI's own
    ``user add`` and ``token`` commands. All ten run in one Python process (``cli_many``'s
    batch), because each ``archive`` process takes about 3 s to import the application;
    every server then starts from a copy of this store."""
    if not _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="archive-server-template-"))
        atexit.register(shutil.rmtree, root, True)
        ini = root / "template.ini"
        ini.write_text(server_ini(root / "var", free_port(), {}), encoding="utf-8")
        jobs = []
        for role in ROLES:
            jobs.append((f"add {role}", ["-c", str(ini), "user", "add", role, "--role", role],
                         f"{PASSWORD}\n{PASSWORD}\n"))
            jobs.append((role, ["-c", str(ini), "token", role], ""))
        results = _run_cli_batch(jobs, root, 120)
        refused = {k: v for k, v in results.items() if v[0] != 0}
        assert not refused, f"the CLI refused: {refused}"
        _TEMPLATE["var"] = root / "var"
        _TEMPLATE["tokens"] = {role: results[role][1].split()[-1] for role in ROLES}
    return _TEMPLATE["var"], _TEMPLATE["tokens"]


# -- request bodies ------------------------------------------------------------------------
def make_pdf(text: str) -> bytes:
    """A small valid one-page PDF whose text layer is ``text`` (Helvetica: characters outside
    Latin-1 become ``?``). Its text is not blank, so it never waits for OCR."""
    raw = text.encode("latin-1", "replace")
    raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 12 Tf 20 100 Td (" + raw + b") Tj ET"
    objects = [b"<</Type/Catalog/Pages 2 0 R>>",
               b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R"
               b"/Resources<</Font<</F1 5 0 R>>>>>>",
               b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
               b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj" % number + obj + b"endobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request; ``files`` maps a field name to
    (filename, bytes, content type)."""
    boundary = "----archive-test-" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + str(value).encode("utf-8") + b"\r\n")
    for name, (filename, data, ctype) in files.items():
        quoted = re.sub(r'["\\\r\n]', "_", filename)  # as a browser sends it: UTF-8, no escapes
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{quoted}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def id_number(seq: int, region="530302", birth="19900101") -> str:
    """A valid GB 11643 ID number (region, birth date, sequence, check character)."""
    body = f"{region}{birth}{seq % 1000:03d}"
    return body + ID_CHECK[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]


_SPEC = {}


def openapi(server) -> dict:
    """The server's OpenAPI document (the enums for bodies come from it), read once."""
    if server.url not in _SPEC:
        reply = server.request("GET", "/api/openapi.json", token=None)
        assert reply.status == 200, f"GET /api/openapi.json: {reply}"
        _SPEC[server.url] = reply.json()
    return _SPEC[server.url]


def _enum(server, schema, prop):
    return openapi(server)["components"]["schemas"][schema]["properties"][prop]["enum"]


def household_body(i: int, server=None) -> dict:
    """Valid metadata for POST /api/households: an adult applicant with a valid ID number.

    Category and jurisdiction are the first of the OpenAPI document's enums when ``server``
    is given, else read from the repository's schemas/ and workflows/ (the same source)."""
    if server is not None:
        category = _enum(server, "HouseholdMetadata", "category")[0]
        jurisdiction = _enum(server, "HouseholdMetadata", "jurisdiction")[0]
    else:
        category, jurisdiction = _default_codes()
    return {"applicant": {"name": f"测试{i}", "id_number": id_number(i)}, "members": [],
            "category": category, "income_per_capita": 1000 + i, "phone": "13800138000",
            "jurisdiction": jurisdiction, "district": "城区", "address": f"测试路{i}号"}


def _default_codes():
    """(first category code, first jurisdiction profile) without asking a server."""
    import yaml
    vocabularies = yaml.safe_load((TOP / "schemas" / "vocabularies.yaml").read_text(encoding="utf-8"))
    profiles = sorted((TOP / "workflows" / "jurisdictions").glob("*.yaml"))
    return vocabularies["categories"][0]["code"], profiles[0].stem


def create_household(server, i: int) -> str:
    """A new household dossier; its archive number."""
    reply = server.request("POST", "/api/households", json=household_body(i, server))
    assert reply.status == 201, f"POST /api/households: {reply}"
    return reply.json()["archive_no"]


def document_fields(server, title, comment="测试归档") -> dict:
    return {"doc_type": _enum(server, "DocumentMetadata", "doc_type")[0], "title": title,
            "date": "2026-01-05", "issuer": "测试单位", "comment": comment}


def file_pdf(server, archive_no, text, token="archivist", title=None, data=None,
             timeout=60) -> Reply:
    """POST /api/households/{no}/documents with ``make_pdf(text)`` (or ``data``), titled
    ``title`` (default: ``text``)."""
    data = make_pdf(text) if data is None else data
    body, ctype = multipart(document_fields(server, title or text),
                            {"file": (f"{text[:40]}.pdf", data, "application/pdf")})
    return server.request("POST", f"/api/households/{archive_no}/documents", body=body,
                          content_type=ctype, token=token, timeout=timeout)


# -- running clients and reading the log -----------------------------------------------------
def run_clients(count, client, *args):
    """Run ``client(k, *args)`` in ``count`` threads released together (a barrier), so their
    requests really overlap; returns their results in client order. An exception in a client
    is returned in its place, never lost."""
    import threading
    barrier = threading.Barrier(count)
    results = [None] * count

    def body(k):
        barrier.wait()
        try:
            results[k] = client(k, *args)
        except BaseException as exc:  # noqa: BLE001 - the caller reports it
            results[k] = exc
    threads = [threading.Thread(target=body, args=(k,), daemon=True) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception|Conflict\w*))\b[:\s]?(.*)$")


def log_exceptions(text: str) -> dict:
    """{exception name: (count, first message)} of the tracebacks in a server log, so a
    failure message can say what the server itself saw (POSKeyError, ConflictError …)."""
    found = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if i == 0 or not lines[i - 1].startswith(" "):
            continue  # the last line of a traceback follows an indented frame line
        match = EXCEPTION_LINE.match(line)
        if match:
            count, first = found.get(match.group(1), (0, line.strip()[:200]))
            found[match.group(1)] = (count + 1, first)
    return found


def log_count(text: str, pattern: str) -> int:
    """Lines of the server log matching ``pattern`` (case-insensitive)."""
    return sum(1 for line in text.splitlines() if re.search(pattern, line, re.I))


def retry_mentions(text: str) -> dict:
    """How often the server says it retried a conflicting request and gave up (0 when it
    does not log them), for the test output."""
    return {"retried": log_count(text, r"\bretr(y|ying|ied)\b|重试"),
            "gave up": log_count(text, r"not resolved after|giving up|放弃重试")}


# -- checks shared by the tests ----------------------------------------------------------------
def download_problem(server, archive_no, doc_id, expected_sha, label=""):
    """None if the document's current file downloads with ``expected_sha`` in its bytes and its
    X-Content-SHA256 header; else what is wrong, in one line."""
    got = server.request("GET", f"/api/households/{archive_no}/documents/{doc_id}/content")
    name = f"{label} ({archive_no}/{doc_id})" if label else f"{archive_no}/{doc_id}"
    if got.status != 200:
        return f"{name}: download answered {got}"
    actual, header = sha256(got.body), got.headers.get("x-content-sha256", "")
    if actual != expected_sha or header != expected_sha:
        return (f"{name}: downloaded sha256 {actual[:12]}…, header {header[:12]}…, "
                f"expected {expected_sha[:12]}…")
    return None


def report(headline, sections: dict, server, limit=12) -> str:
    """A failure message: the headline, each non-empty section's count and first problems,
    and the server log's tail."""
    lines = [headline]
    for name, problems in sections.items():
        if problems:
            lines.append(f"{name}: {len(problems)}")
            lines += [f"    {p}" for p in problems[:limit]]
            if len(problems) > limit:
                lines.append(f"    … and {len(problems) - limit} more")
    lines.append("--- server log tail ---")
    lines.append(server.log_tail(25))
    return "\n".join(lines)


# -- clusters: several processes on one ZEO or RelStorage store ------------------------------
class Postgres:
    """A throw-away database on the machine's PostgreSQL (127.0.0.1:5432, user postgres,
    trust), made by ``create`` and dropped, whoever still holds it open, by ``drop``.
    The processes open it as relstorage.ini says, each with its own blob cache."""

    template = "relstorage.ini"
    DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

    def __init__(self, root):
        self.name = f"archive_test_{secrets.token_hex(6)}"

    def create(self):
        self._sql(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self):
        self._sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def uri(self, cache: Path) -> str:
        return (f"postgresql://postgres@127.0.0.1:5432/{self.name}"
                f"?blob_dir={cache}&shared_blob_dir=false")

    def _sql(self, statement):
        import psycopg2
        conn = psycopg2.connect(self.DSN)
        try:
            conn.autocommit = True          # CREATE/DROP DATABASE cannot run in a transaction
            with conn.cursor() as cursor:
                cursor.execute(statement)
        finally:
            conn.close()


class Zeo:
    """A ZEO server on a free port over a FileStorage with blobs under ``root``, started with
    the venv's ``runzeo`` (which can import archive, as the inbox merges need)."""

    template = "zeo.ini"

    def __init__(self, root):
        self.root = Path(root)
        self.port = free_port()
        self.proc = None
        self.log_path = self.root / "zeo.log"

    def create(self):
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "zeo.conf"
        conf.write_text(f"<zeo>\n  address 127.0.0.1:{self.port}\n</zeo>\n"
                        f"<filestorage 1>\n  path {self.root / 'Data.fs'}\n"
                        f"  blob-dir {self.root / 'blobs'}\n</filestorage>\n", encoding="utf-8")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([str(VENV_BIN / "runzeo"), "-C", str(conf)], cwd=self.root,
                                         env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-2000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"runzeo did not listen on {self.port}")

    def drop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)

    def uri(self, cache: Path) -> str:
        return f"zeo://127.0.0.1:{self.port}?blob_dir={cache}&shared_blob_dir=false"


class Cluster:
    """Web servers and workers on one shared store (``Postgres`` or ``Zeo``), as relstorage.ini
    or zeo.ini set them up: web servers with ``archive.workers = off``, one search index
    directory, the session secret kept in the database; users of every role and their
    tokens made once by the CLI before anything starts.

        cluster = Cluster(tmp_path, Postgres)
        first, second = cluster.server("web1"), cluster.server("web2")
        worker = cluster.worker()
        ...
        cluster.close()                    # every process stopped, the database dropped
    """

    def __init__(self, root, store_type):
        self.root = Path(root)
        self.store = store_type(self.root / "store").create()
        self.index = self.root / "index"
        self.processes = []
        self.tokens = {}
        self.admin = self._ini("cli")
        self._provision()

    def settings(self, name) -> dict:
        """A process's settings: the shared store (its own blob cache) and the shared index."""
        return {"zodbconn.uri": self.store.uri(self.root / name / "blobcache"),
                "archive.index_dir": str(self.index), "archive.session_secret": ""}

    def _ini(self, name) -> Path:
        ini = self.root / name / "process.ini"
        ini.parent.mkdir(parents=True, exist_ok=True)
        ini.write_text(server_ini(self.root / name / "var", free_port(), self.settings(name),
                                  self.store.template), encoding="utf-8")
        return ini

    def _provision(self):
        jobs = []
        for role in ROLES:
            jobs.append((f"add {role}", ["-c", str(self.admin), "user", "add", role, "--role", role],
                         f"{PASSWORD}\n"))
            jobs.append((role, ["-c", str(self.admin), "token", role], ""))
        results = _run_cli_batch(jobs, self.root, 180)
        refused = {k: v for k, v in results.items() if v[0] != 0}
        assert not refused, f"the CLI refused: {refused}"
        self.tokens = {role: results[role][1].split()[-1] for role in ROLES}

    def server(self, name, **settings) -> Server:
        """A web server (workers off, as relstorage.ini and zeo.ini have it), started."""
        server = Server(self.root / name, template=self.store.template, tokens=self.tokens,
                        **self.settings(name), **settings)
        self.processes.append(server)
        return server.start()

    def worker(self, name="worker") -> "WorkerProcess":
        """``archive worker`` on the cluster's store, started."""
        worker = WorkerProcess(self._ini(name))
        self.processes.append(worker)
        return worker.start()

    def cli(self, *args, input=None, timeout=300) -> subprocess.CompletedProcess:
        """An ``archive`` command beside the running processes."""
        return subprocess.run([str(VENV_BIN / "archive"), "-c", str(self.admin), *args], input=input,
                              capture_output=True, text=True, cwd=self.root, env=_env(),
                              timeout=timeout)

    def read(self, code: str):
        """Run ``code`` (Python with ``root``, the ArchiveRoot, in scope, setting ``result``) in a
        process of its own on the shared store, beside the running servers; returns ``result``."""
        script = ("import json, sys\nfrom pyramid.paster import get_appsettings\n"
                  "from archive import store\nsettings = get_appsettings(sys.argv[1])\n"
                  "db = store.open_database(settings['zodbconn.uri'])\nconn = db.open()\n"
                  "root = conn.root()['archive']\nresult = None\n" + code +
                  "\nprint(json.dumps(result))\nconn.close()\ndb.close()\n")
        done = subprocess.run([str(VENV_BIN / "python"), "-c", script, str(self.admin)],
                              capture_output=True, text=True, cwd=self.root, env=_env(), timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def logs(self) -> str:
        return "\n".join(p.log_text() for p in self.processes)

    def close(self):
        for process in self.processes:
            process.kill()
        self.store.drop()


class WorkerProcess:
    """``archive -c INI worker`` in its own process group, with its log; like ``Server``."""

    def __init__(self, ini: Path):
        self.ini = ini
        self.log_path = ini.parent / "worker.log"
        self.proc = None
        self._log = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Start it and wait until it says it has started its threads."""
        self._log = open(self.log_path, "ab")
        before = self.log_text().count("已启动")
        self.proc = subprocess.Popen([str(VENV_BIN / "archive"), "-c", str(self.ini), "worker"],
                                     cwd=self.ini.parent, env=_env(), stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"archive worker exited:\n{self.log_text()[-3000:]}"
            if self.log_text().count("已启动") > before:
                return self
            time.sleep(0.2)
        raise AssertionError(f"archive worker did not start:\n{self.log_text()[-3000:]}")

    def kill(self):
        Server._signal(self, signal.SIGKILL)

    def stop(self):
        Server._signal(self, signal.SIGINT, then=signal.SIGTERM)

    def log_text(self) -> str:
        if self._log:
            self._log.flush()
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


def wait_for(condition, timeout=60.0, interval=0.25, what="the condition"):
    """Poll ``condition()`` until it returns something true; that value. No wall-clock limit
    is asserted: ``timeout`` only ends a wait that would otherwise never end."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(interval)
