"""Shared fixtures: a fresh application on a temporary FileStorage (with blobs) per test,
users of every role, and realistic input made with the project's own generators."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import shutil
import threading

import pytest
import transaction

from archive.schema import idnumber

ROLES = ("sysadmin", "secadmin", "archivist", "reviewer", "inspector", "auditor")
# 三员分立: the two administrators see no dossiers (nor the log, which is the auditor's)
ADMINS = ("sysadmin", "secadmin")
READERS = tuple(r for r in ROLES if r not in ADMINS)
PASSWORD = "secret-pass-1"


def make_pdf(text="公共租赁住房申请表 张三", pages=1) -> bytes:
    """A small real PDF with Chinese text (reportlab's STSong-Light, which pypdf reads back)."""
    from reportlab.pdfgen import canvas
    _register_song()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for i in range(pages):
        c.setFont("STSong-Light", 14)
        c.drawString(72, 750, f"{text} 第{i + 1}页")
        c.showPage()
    c.save()
    return buf.getvalue()


def raw_pdf(objects, header=b"%PDF-1.7\n") -> bytes:
    """A PDF of the given object bodies (object n is objects[n - 1]; 1 is the catalogue),
    with its cross-reference table: for files that reportlab would never write."""
    out, offsets = io.BytesIO(), []
    out.write(header)
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _register_song():
    """reportlab's built-in Chinese font (no font file needed), registered once per process."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def edit_text(path, old, new, count=1):
    """``old`` replaced by ``new`` in a copied file, once (or ``count`` times, -1 every time):
    for the tests that a wrong definition stops start-up. ``old`` must be there, so such a
    test cannot pass by missing what it meant to break."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def edited_workflows(tmp_path, name, old, new, count=1):
    """The installation's workflows copied to ``tmp_path``/workflows, with the file ``name``
    edited as ``edit_text`` does."""
    import shutil
    from archive.workflow.definition import default_directory
    directory = tmp_path / "workflows"
    shutil.copytree(default_directory(), directory)
    edit_text(directory / name, old, new, count)
    return directory


SCAN = ("公共租赁住房申请表", "申请人 王秀英", "家庭人均月收入 1200 元")


def make_scanned_pdf(lines=SCAN, pages=1, dpi=300) -> bytes:
    """A scan as a copier makes it: A4 pages of the lines at 14 pt rendered to grey images
    at ``dpi``, in a PDF holding only those images, so it has no text layer at all."""
    from archive.demo.scans import page_images, scanned_pdf
    return scanned_pdf(page_images([lines] * pages, dpi), dpi)


def scan_images(lines=SCAN, pages=1, dpi=300):
    """Pages of Chinese text as a scanner sees them: grey PIL images at ``dpi``, each only
    as tall as its lines (small, so OCR of them stays quick)."""
    from archive.demo.scans import page_images
    height = 120 + 28 * len(lines)   # a margin as on paper: Tesseract's layout needs one
    return page_images([lines] * pages, dpi, pagesize=(420, height), top=height - 72)


def make_scan_image(fmt="JPEG", lines=SCAN, pages=1, dpi=300) -> bytes:
    """A photo or a scanner's file of the lines: JPEG, PNG, or a (multi-page) TIFF."""
    images = scan_images(lines, pages, dpi)
    out = io.BytesIO()
    extra = {"save_all": True, "append_images": images[1:], "compression": "tiff_deflate"} \
        if fmt == "TIFF" else {}
    images[0].save(out, fmt, dpi=(dpi, dpi), **extra)
    return out.getvalue()


OFD_NS = "http://www.ofdspec.org/2016"


def make_ofd(pages=(("公共租赁住房申请表", "申请人 王秀英"),), drop=None, replace=None) -> bytes:
    """A minimal OFD (GB/T 33190): OFD.xml, a document root, a page per tuple of lines, each
    line a TextObject. ``drop``: a part left out; ``replace``: {part: bytes} swapped in."""
    import zipfile
    ns = f'xmlns:ofd="{OFD_NS}"'
    parts = {"OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
                        '<ofd:DocBody><ofd:DocInfo><ofd:DocID>test</ofd:DocID></ofd:DocInfo>'
                        '<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>',
             "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData>'
                                   '<ofd:MaxUnitID>99</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297'
                                   '</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages>'
                                   + "".join(f'<ofd:Page ID="{n + 10}" BaseLoc="Pages/Page_{n}/Content.xml"/>'
                                             for n in range(len(pages)))
                                   + '</ofd:Pages></ofd:Document>'}
    for n, lines in enumerate(pages):
        objects = "".join(
            f'<ofd:TextObject ID="{100 + i}" Boundary="20 {30 + 10 * i} 170 10" Font="1" Size="5">'
            f'<ofd:TextCode X="0" Y="5">{line}</ofd:TextCode></ofd:TextObject>' for i, line in enumerate(lines))
        parts[f"Doc_0/Pages/Page_{n}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="{50 + n}">'
            f'{objects}</ofd:Layer></ofd:Content></ofd:Page>')
    parts = {k: v.encode("utf-8") for k, v in parts.items() if k != drop}
    parts.update(replace or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def doc_fields(**extra):
    """A document's description as the upload forms and the API take it."""
    fields = {"doc_type": "application_form", "title": "公共租赁住房申请表",
              "date": "2026-03-02", "issuer": "张三", "doc_no": "", "comment": "收件归档"}
    fields.update(extra)
    return fields


def encrypted_pdf() -> bytes:
    """A real PDF protected by a password, which filing must refuse."""
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf())).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def schema_errors(registry, kind, data, today=dt.date(2026, 3, 2), locale="zh"):
    """{path: message} for the input as the schema reports it, {} when it is valid."""
    import colander

    from archive.schema.registry import error_messages
    schema = registry[kind]
    try:
        schema.colander(locale, today=today).deserialize(data)
    except colander.Invalid as exc:
        return error_messages(exc, schema, locale)
    return {}


def household_input(name="张三", seq=11, **extra):
    """A valid household as the API and forms take it."""
    data = {
        "applicant": {"name": name, "id_number": idnumber.make("320402", dt.date(1980, 5, 6), seq)},
        "members": [{"name": "李梅", "relation": "spouse",
                     "id_number": idnumber.make("320402", dt.date(1982, 7, 1), seq + 1)}],
        "category": "dibao", "priority_groups": ["dibao"], "income_per_capita": 1200.5,
        "assets": 30000, "housing_area_per_capita": 8.5, "phone": "13812345678",
        "jurisdiction": "changzhou", "hukou_district": "天宁区", "district": "天宁区",
        "address": "常州市天宁区青龙街道龙锦路88号", "notes": "",
    }
    data.update(extra)
    return data


def employer_dossier(root, registry, procedure, when=None, name="厦门鹭江智能科技有限公司",
                     first17="91350206MA2Y8K3P7", members=2, seq=60, documents=True):
    """A Xiamen batch plan with one unit and ``members`` households, and the employer's
    collective application (单位集体申请档案, XM-DW-…) with its four documents, made today
    (or ``when``) through the model's steps; returns the EmployerDossier."""
    from archive.records import filing
    from archive.workflow.collective import steps
    when = when or dt.datetime.now(dt.timezone.utc)
    today = procedure.today(when)
    xm = dict(jurisdiction="xiamen", district="湖里区", address="厦门市湖里区枋钟路1号")
    unit = filing.create_dossier(root, registry, "unit", unit_input(unit_no=f"9{seq}", **xm),
                                 "archivist", when=when)
    households = [filing.create_dossier(root, registry, "household", household_input(
        name=f"职工{seq + i}", seq=seq + 2 * i, hukou_district="湖里区", **xm), "archivist",
        when=when).archive_no for i in range(members)]
    code = first17 + steps.credit_check_char(first17)
    batch = steps.publish(root, registry, procedure, "xiamen", f"{name}人才公寓批次", [unit.archive_no],
                          [{"credit_code": code, "name": name, "type": "employer"}], today.isoformat(),
                          (today + dt.timedelta(days=10)).isoformat(), "reviewer", when)
    employer = steps.apply(root, registry, procedure, batch, code, households, "archivist", when)
    for doc_type in ("collective_application", "staff_roster", "employer_license", "employer_pledge") \
            if documents else ():
        steps.file_document(root, registry, employer, doc_type, f"{name} {doc_type}",
                            make_pdf(f"{name} 单位集体申请材料 {doc_type}"), f"{doc_type}.pdf", "archivist", when)
    return employer


def unit_input(**extra):
    data = {"project": "丽华新村公租房", "building": "3", "unit_no": "502",
            "address": "常州市天宁区丽华北路12号", "jurisdiction": "changzhou",
            "district": "天宁区", "layout": "two", "area": 58.6, "ownership": "government",
            "owner": "常州市住房保障中心", "rent": 620, "state": "vacant"}
    data.update(extra)
    return data


@contextlib.contextmanager
def flipped_byte(revision):
    """A stored file with one byte changed in its middle, as bit rot or tampering leaves it,
    put back (read-only, as ZODB keeps blobs) when the block ends."""
    import os
    path = revision.blob.committed()
    backup = path + ".bak"
    shutil.copy(path, backup)
    try:
        os.chmod(path, 0o644)
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0x01
        open(path, "wb").write(bytes(data))
        yield path
    finally:
        os.chmod(path, 0o644)
        shutil.move(backup, path)
        os.chmod(path, 0o444)


def memory_archive(registry):
    """An archive root on a connection of its own in memory (MappingStorage), never
    committed: its transaction manager is private, so what a test files there is not left
    joined to the thread's transaction for the next test's commit to trip over."""
    import ZODB
    from archive.root import bootstrap
    conn = ZODB.DB(None).open(transaction_manager=transaction.TransactionManager())
    return bootstrap(conn.root(), registry)


def file_archive(where, registry):
    """(db, transaction manager, archive root) of a FileStorage with blobs under ``where``:
    the tests that fork, bind or export need real files on disk, not a MappingStorage."""
    import ZODB
    import zodburi
    from archive.root import bootstrap
    factory, kw = zodburi.resolve_uri(f"file://{where}/Data.fs?blobstorage_dir={where}/blobs")
    db = ZODB.DB(factory(), **kw)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    return db, tm, bootstrap(conn.root(), registry)


@pytest.fixture(scope="session")
def registry():
    """The compiled schemas (modules that need other ones define their own)."""
    from archive.schema.registry import SchemaRegistry, default_directory
    return SchemaRegistry(default_directory())


@pytest.fixture(scope="session")
def procedure(registry):
    """The default workflows and city profiles, compiled once."""
    from archive.demo.city import default_procedure
    return default_procedure(registry)


@pytest.fixture
def root(registry):
    """A fresh archive root in memory (no database) for model tests; modules that need it
    stored define their own."""
    from archive.root import ArchiveRoot
    return ArchiveRoot(registry)


@pytest.fixture(autouse=True)
def _shipped_rules():
    """Every test starts and ends on the shipped retention rules and schedule: an app or a
    command a test makes on schemas of its own installs theirs for the process."""
    from archive import install_rules
    install_rules(None)
    yield
    install_rules(None)


@pytest.fixture
def settings(tmp_path):
    return {
        "zodbconn.uri": f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs",
        "archive.session_secret": "test-secret",
        "archive.argon2.time_cost": "1",
        "archive.argon2.memory_cost": "1024",
        "archive.max_upload_mb": "2",
        "archive.log_sealer": "false",
        "archive.loan_sealer": "false",
        "archive.text_worker": "false",
        "archive.search_worker": "false",
        "archive.ocr_worker": "false",
        "archive.audit_worker": "false",
    }


@pytest.fixture
def app(settings):
    from archive import close, main
    application = main({}, **settings)
    yield application
    close(application)


class Api:
    """A WebTest client speaking to /api/ with a role's Bearer token."""

    def __init__(self, app, tokens):
        import webtest
        self.client = webtest.TestApp(app)
        self.tokens = tokens

    def headers(self, role):
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, url, role="archivist", status=200, **kw):
        return self.client.get(url, headers=self.headers(role), status=status, **kw)

    def post_json(self, url, body, role="archivist", status=200):
        return self.client.post_json(url, body, headers=self.headers(role), status=status)

    def put_json(self, url, body, role="archivist", status=200):
        return self.client.put_json(url, body, headers=self.headers(role), status=status)

    def upload(self, url, content=None, fields=None, role="archivist", status=201,
               filename="申请表.pdf"):
        content = make_pdf() if content is None else content
        files = [("file", filename, content, "application/pdf")]
        return self.client.post(url, fields or {}, headers=self.headers(role),
                                upload_files=files, status=status)

    # arranging -------------------------------------------------------------------
    def household(self, role="archivist", **extra):
        return self.post_json("/api/households", {**household_input(**extra), "comment": "受理"},
                              role=role, status=201).json

    def filed(self, role="archivist"):
        """A household with one filed document: (archive_no, doc_id)."""
        no = self.household(role)["archive_no"]
        doc = self.upload(f"/api/households/{no}/documents", fields=doc_fields(), role=role).json
        return no, doc["doc_id"]


@pytest.fixture
def api(app, users):
    """An ``Api`` client with a token for every role."""
    return Api(app, users)


@contextlib.contextmanager
def aborted(db):
    """(ZODB root mapping, transaction manager) on a connection of its own, aborted and closed
    afterwards: a test's view of a shared database that leaves nothing behind."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    tm.begin()
    try:
        yield conn.root(), tm
    finally:
        tm.abort()
        conn.close()


class Store:
    """Direct access to the application's database, for arranging and checking."""

    def __init__(self, app):
        self.db = app.registry._zodb_databases[""]
        self.registry = app.registry

    def __enter__(self):
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.tm.begin()
        return self.conn.root()["archive"]

    def __exit__(self, exc_type, *rest):
        if exc_type is None:
            self.tm.commit()
        else:
            self.tm.abort()
        self.conn.close()


@pytest.fixture
def store(app):
    return lambda: Store(app)


@pytest.fixture
def users(app, store):
    """One user per role, login = role; returns {role: api token}."""
    tokens = {}
    with store() as root:
        for role in ROLES:
            root.users.add(role, f"{role}用户", [role], PASSWORD, app.registry.archive_hasher)
            tokens[role] = root.users.issue_token(role)
    return tokens


@pytest.fixture
def browser(app, users):
    """A WebTest client with a helper to log in as a role."""
    import webtest
    client = webtest.TestApp(app)

    def login(role):
        client.reset()
        form = client.get("/login").forms[0]
        form["login"], form["password"] = role, PASSWORD
        return form.submit().follow()
    client.login = login
    return client


# -- the browser tests (tests/e2e): a live server and a page in headless Chromium ---------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def live_server(app, users):
    from waitress.server import create_server
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def log_in(page, role):
    """Log in through the login form in the browser, as ``role`` (login = role)."""
    page.goto(page.base + "/login")
    page.fill("#login", role)
    page.fill("#password", PASSWORD)
    page.click("button[name=submit]")
    page.wait_for_selector("#nav-search")


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        context = browser.new_context(locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(15000)
        pg.base = live_server
        yield pg
        browser.close()
