"""``archive audit`` and ``archive verify-log`` against a real ini file and FileStorage."""
from __future__ import annotations

import dataclasses

import pytest
from test_cli import ini, run, store  # noqa: F401  (the ini fixture)


@pytest.fixture
def archive(ini, monkeypatch, capsys):  # noqa: F811
    return lambda *args, stdin="": run(ini, *args, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)


@pytest.fixture
def city(archive, ini):  # noqa: F811
    status, out, err = archive("demo", "--households", "30", "--units", "20", "--documents", "420")
    assert status == 0, err
    return ini


def test_audit_prints_a_table_and_exits_1_on_critical_findings(archive, city, tmp_path):
    report = tmp_path / "report.csv"
    status, out, err = archive("audit", "--csv", str(report))
    assert status == 1                                   # the demo's double let is critical
    assert "一套多租" in out and "严重｜" in out and "检查档案 70 份" in out   # 50 of the city, 17 of its collective batch, its 3 employers
    assert "[##############################]" in err and "50/" in err
    assert report.read_bytes().startswith("\ufeff审计编号".encode("utf-8"))
    with store(city) as root:
        run = root.audits.get(1)
        assert run.done and run.trigger == "cli" and run.critical >= 1
        assert [e.action for e in root.log.newest(2)] == ["export", "audit.run"]


def test_audit_of_rules_that_find_nothing_exits_0_and_compares(archive, city):
    assert archive("audit", "--rule", "fixity", "--rule", "usability")[0] == 0
    status, out, _ = archive("audit", "--rule", "fixity")
    assert status == 0 and "对比第 1 次" in out


def test_an_unknown_rule_is_refused(archive, city):
    status, out, err = archive("audit", "--rule", "nope")
    assert status == 2 and "没有名为“nope”的审计规则" in err


def test_verify_log_finds_an_edited_entry(archive, city):
    status, out, _ = archive("verify-log")
    assert status == 0 and "审计日志完整" in out
    with store(city) as root:
        entry = root.log.entries[3]
        root.log.entries[3] = dataclasses.replace(entry, detail="改动过的内容")
        root._p_jar.transaction_manager.commit()
    status, out, _ = archive("verify-log")
    assert status == 1 and "第 3 条的内容与其哈希不符" in out and "此前 2 条完好" in out
