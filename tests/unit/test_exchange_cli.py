"""``archive export OUT --bag`` and ``archive import BAG`` through the command line: a
round trip between two archives with progress, and a tampered bag refused (exit 1)."""
from __future__ import annotations

import shutil

import transaction
import ZODB
import zodburi

from archive import cli
from archive.records import filing
from archive.root import ROOT_KEY, bootstrap
from archive.schema.registry import SchemaRegistry, default_directory
from conftest import doc_fields, household_input, make_pdf


def _ini(folder):
    folder.mkdir()
    path = folder / "test.ini"
    path.write_text("[app:main]\nuse = egg:archive\n"
                    "zodbconn.uri = file://%(here)s/Data.fs?blobstorage_dir=%(here)s/blobs\n", encoding="utf-8")
    return path


def _db(ini):
    factory, kw = zodburi.resolve_uri(f"file://{ini.parent}/Data.fs?blobstorage_dir={ini.parent}/blobs")
    return ZODB.DB(factory(), **kw)


def _fill(ini):
    registry = SchemaRegistry(default_directory())
    db = _db(ini)
    tm = transaction.TransactionManager()
    root = bootstrap(db.open(transaction_manager=tm).root(), registry)
    numbers = []
    for seq in (11, 21):
        dossier = filing.create_dossier(root, registry, "household", household_input(seq=seq), "archivist")
        fields = doc_fields()
        fields.pop("comment")
        filing.file_document(dossier, registry, fields, make_pdf(f"申请表 {seq}"), "a.pdf", "archivist")
        numbers.append(dossier.archive_no)
    tm.commit()
    db.close()
    return numbers


def _numbers(ini):
    db = _db(ini)
    try:
        root = db.open().root()[ROOT_KEY]
        return sorted(root.households.keys()), len(root.receipts)
    finally:
        db.close()


def test_export_and_import_round_trip(tmp_path, capsys):
    source, target = _ini(tmp_path / "a"), _ini(tmp_path / "b")
    numbers = _fill(source)
    bag = tmp_path / "bag"
    assert cli.main(["-c", str(source), "export", str(bag), "--bag", "--city", "changzhou"]) == 0
    out, err = capsys.readouterr()
    assert "已写入移交包" in out and "2/2" in err
    assert cli.main(["-c", str(source), "export", str(tmp_path / "x"), "--bag", "--dossier", "NO-SUCH"]) == 2
    assert "不存在" in capsys.readouterr().err
    bad = tmp_path / "bad"
    shutil.copytree(bag, bad)
    victim = next((bad / "data").rglob("*.current.pdf"))
    victim.write_bytes(victim.read_bytes() + b"\n")
    assert cli.main(["-c", str(target), "import", str(bad), "--csv", str(tmp_path / "r.csv")]) == 1
    assert "未接收任何档案" in capsys.readouterr().err
    assert _numbers(target) == ([], 1)
    assert cli.main(["-c", str(target), "import", str(bag), "--pdf", str(tmp_path / "r.pdf")]) == 0
    assert "已接收 2 份档案" in capsys.readouterr().out
    assert _numbers(target) == (sorted(numbers), 2)
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_bind_then_export_carries_the_kept_volumes(tmp_path, capsys, monkeypatch):
    """``archive bind`` (no OUTDIR) keeps the volumes; ``export --volumes stored`` then
    carries them, and a second bind leaves the unchanged ones as bound."""
    import io
    import json
    import sys
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    source = _ini(tmp_path / "a")
    numbers = _fill(source)
    year = str(__import__("datetime").date.today().year)    # _fill files the dossiers today
    assert cli.main(["-c", str(source), "bind", "--city", "常州", "--year", year]) == 0
    assert "已装订 2 卷" in capsys.readouterr().out
    assert cli.main(["-c", str(source), "bind", "--city", "常州", "--year", year]) == 0
    out = capsys.readouterr().out
    assert "已装订 0 卷" in out and "2 卷已装订且未变动" in out
    bag = tmp_path / "bag"
    assert cli.main(["-c", str(source), "export", str(bag), "--bag", "--city", "changzhou", "--volumes", "stored"]) == 0
    assert "已装订保存的 2 卷，移交时装订的 0 卷" in capsys.readouterr().out
    for number in numbers:
        record = json.loads((bag / "data" / number / "dossier.json").read_text(encoding="utf-8"))
        assert record["volume"]["source"] == "stored"
        assert (bag / "data" / number / "volume.pdf").read_bytes().startswith(b"%PDF")
