"""``archive bind OUTDIR --city X --year Y``: one bound volume per dossier, a progress bar,
each volume an export in the audit log; an unknown city is refused."""
from __future__ import annotations

import datetime as dt
import io
import sys

import pytest
import transaction
from pypdf import PdfReader

from archive import cli, store
from archive.records import filing
from archive.root import bootstrap
from conftest import household_input, make_pdf, unit_input


@pytest.fixture
def ini(tmp_path, registry):
    path = tmp_path / "test.ini"
    path.write_text("[app:main]\nuse = egg:archive\n"
                    "zodbconn.uri = file://%(here)s/Data.fs?blobstorage_dir=%(here)s/blobs\n",
                    encoding="utf-8")
    db = store.open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        root = bootstrap(conn.root(), registry)
        made = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
        for n, when in ((11, made), (13, made), (15, made.replace(year=2025))):
            d = filing.create_dossier(root, registry, "household", household_input(seq=n), "clerk", when=when)
            filing.file_document(d, registry, {"doc_type": "pledge", "title": "承诺书", "date": "2026-03-02",
                                               "issuer": "张三"}, make_pdf("承诺书正文", pages=2), "f.pdf", "clerk")
        filing.create_dossier(root, registry, "unit", unit_input(), "clerk", when=made)
        filing.create_dossier(root, registry, "household", household_input(seq=17, jurisdiction="dezhou",
                                                                           district="德城区", hukou_district="德城区"),
                              "clerk", when=made)
    conn.close()
    db.close()
    return path


def run(ini, monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    status = cli.main(["-c", str(ini), *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_bind_writes_one_volume_per_dossier_of_the_city_and_year(ini, tmp_path, monkeypatch, capsys):
    outdir = tmp_path / "volumes"
    status, out, err = run(ini, monkeypatch, capsys, "bind", str(outdir), "--city", "常州",
                           "--year", "2026", "--binder", "李档案")
    assert status == 0 and "已装订 3 卷" in out and "3/3" in err
    names = sorted(p.name for p in outdir.iterdir())
    assert names == ["CZ-FY-2026-Y-00001.pdf", "CZ-HH-2026-Y-00001.pdf", "CZ-HH-2026-Y-00002.pdf"]
    texts = [p.extract_text() for p in PdfReader(outdir / "CZ-HH-2026-Y-00001.pdf").pages]
    assert len(texts) == 2 + 2 + 1 and "案 卷 封 面" in texts[0] and "李档案" in texts[-1]
    db = store.open_database(f"file://{tmp_path}/Data.fs?blobstorage_dir={tmp_path}/blobs")
    try:
        conn = db.open()
        entries = [e for e in conn.root()["archive"].log.newest(10) if e.action == "export"]
        assert sorted(e.target for e in entries) == [n.removesuffix(".pdf") for n in names]
        assert all("装订案卷" in e.detail and e.actor == "cli" for e in entries)
        conn.close()
    finally:
        db.close()


def test_bind_by_city_code_and_a_year_without_dossiers(ini, tmp_path, monkeypatch, capsys):
    status, out, _ = run(ini, monkeypatch, capsys, "bind", str(tmp_path / "v"), "--city", "dezhou",
                         "--year", "2024")
    assert status == 0 and "没有建档的档案" in out and not (tmp_path / "v").exists()


def test_bind_refuses_an_unknown_city(ini, tmp_path, monkeypatch, capsys):
    status, _, err = run(ini, monkeypatch, capsys, "bind", str(tmp_path / "v"), "--city", "北京",
                         "--year", "2026")
    assert status == 2 and "没有辖区“北京”" in err and "changzhou（常州市）" in err
