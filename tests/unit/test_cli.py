"""The `archive` command against a real ini file and a FileStorage with blobs."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import sys

import pytest
import transaction
import ZODB
import zodburi

from archive import cli
from archive.root import ROOT_KEY
from archive.access.users import make_hasher

PASSWORD = "secret-pass-1"
HASHER = make_hasher(time_cost=1, memory_cost=1024)


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / "test.ini"
    path.write_text(
        "[app:main]\n"
        "use = egg:archive\n"
        "zodbconn.uri = file://%(here)s/Data.fs?blobstorage_dir=%(here)s/blobs\n"
        "archive.argon2.time_cost = 1\n"
        "archive.argon2.memory_cost = 1024\n", encoding="utf-8")
    return path


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def run(ini, *args, stdin="", monkeypatch=None, capsys=None):
    """Exit status, stdout and stderr of one command."""
    monkeypatch.setattr(sys, "stdin", stdin if isinstance(stdin, io.StringIO) else io.StringIO(stdin))
    status = cli.main(["-c", str(ini), *args])
    out, err = capsys.readouterr()
    return status, out, err


@contextlib.contextmanager
def store(ini):
    """The archive root as the command left it (read-only, closed afterwards)."""
    factory, kw = zodburi.resolve_uri(f"file://{ini.parent}/Data.fs?blobstorage_dir={ini.parent}/blobs")
    db = ZODB.DB(factory(), **kw)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        yield conn.root().get(ROOT_KEY)
    finally:
        tm.abort()
        conn.close()
        db.close()


@pytest.fixture
def archive(ini, monkeypatch, capsys):
    def call(*args, stdin=""):
        return run(ini, *args, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)
    return call


def test_user_add_reads_the_password_from_stdin(archive, ini):
    status, out, _ = archive("user", "add", "Boss", "--role", "sysadmin", "--role", "archivist",
                             "--name", "王主任", stdin=PASSWORD + "\nignored\n")
    assert status == 0 and "已添加用户 boss" in out
    with store(ini) as root:
        user = root.users["boss"]
        assert (user.name, user.roles) == ("王主任", ("sysadmin", "archivist"))
        assert root.users.authenticate("boss", PASSWORD, HASHER) is user
        entry = root.log.newest(1)[0]
        assert (entry.actor, entry.action, entry.target) == ("cli", "user.add", "boss")


def test_two_of_the_three_duties_are_refused(archive, ini):
    """三员分立 at the command line too: one person is not system administrator and auditor."""
    archive("evolve")
    status, out, err = archive("user", "add", "boss", "--role", "sysadmin", "--role", "auditor",
                               stdin=PASSWORD + "\n")
    assert status == 2 and "三员分立" in err and "系统管理员和安全审计员" in err and out == ""
    with store(ini) as root:
        assert "boss" not in root.users


def test_user_password_sets_a_new_password_for_any_officer(archive, ini):
    archive("user", "add", "security", "--role", "secadmin", stdin=PASSWORD + "\n")
    status, out, _ = archive("user", "password", "security", stdin="another-pass-2\n")
    assert status == 0 and "security" in out
    with store(ini) as root:
        assert root.users.authenticate("security", "another-pass-2", HASHER) is not None
        entry = root.log.newest(1)[0]
        assert (entry.actor, entry.action, entry.target) == ("cli", "user.password", "security")
    status, _, err = archive("user", "password", "nobody", stdin="another-pass-2\n")
    assert status == 2 and "不存在" in err


def test_bad_role_is_refused_and_nothing_stored(archive, ini):
    archive("evolve")  # an archive to look into afterwards
    status, out, err = archive("user", "add", "king", "--role", "emperor", stdin=PASSWORD + "\n")
    assert status == 2 and "角色无效" in err and out == ""
    with store(ini) as root:
        assert "king" not in root.users and len(root.log) == 0


@pytest.mark.parametrize("stdin, message", [("short\n", "密码至少需要8个字符"), ("", "密码至少需要8个字符")])
def test_weak_password_is_refused(archive, ini, stdin, message):
    archive("evolve")
    status, _, err = archive("user", "add", "clerk", "--role", "archivist", stdin=stdin)
    assert status == 2 and message in err
    with store(ini) as root:
        assert "clerk" not in root.users


def test_duplicate_login_is_refused(archive):
    archive("user", "add", "clerk", "--role", "archivist", stdin=PASSWORD + "\n")
    status, _, err = archive("user", "add", "clerk", "--role", "reviewer", stdin=PASSWORD + "\n")
    assert status == 2 and "已存在" in err


def test_password_at_a_terminal_is_asked_twice(archive, ini, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    status, _, err = archive("user", "add", "clerk", "--role", "archivist", stdin=FakeTTY())
    assert status == 2 and "两次输入的密码不一致" in err
    answers = iter([PASSWORD, PASSWORD])
    assert archive("user", "add", "clerk", "--role", "archivist", stdin=FakeTTY())[0] == 0


def test_user_list(archive):
    archive("user", "add", "clerk", "--role", "archivist", "--name", "李档案", stdin=PASSWORD + "\n")
    status, out, _ = archive("user", "list")
    assert status == 0
    header, row = out.splitlines()
    assert header.split() == ["登录名", "姓名", "角色", "状态"]
    assert row.split() == ["clerk", "李档案", "档案管理员", "启用"]


def test_token_is_printed_alone_and_authenticates(archive, ini):
    archive("user", "add", "feeder", "--role", "archivist", stdin=PASSWORD + "\n")
    status, out, _ = archive("token", "feeder", "--label", "街道系统")
    token = out.strip()
    assert status == 0 and out == token + "\n" and len(token) >= 40
    with store(ini) as root:
        assert root.users.by_token(token).login == "feeder"
        entry = root.log.newest(1)[0]
        assert (entry.action, entry.target, entry.detail) == ("token.issue", "feeder", "街道系统")
    status, out, err = archive("token", "nobody")
    assert status == 2 and out == "" and "不存在" in err


def test_demo_if_empty(archive, ini):
    status, out, err = archive("demo", "--if-empty", "--households", "30", "--units", "20",
                               "--documents", "420")
    assert status == 0
    assert "住户档案 30 份" in out and "admin / demo-admin" in out and "50/50" in err
    with store(ini) as root:
        # the city's 30 and 20, and the collective batch's 11 staff households and 6 units
        assert (len(root.households), len(root.units)) == (30 + 11, 20 + 6)
        assert len(root.batches) == 1 and "单位集体申请：批次 PC-XM-" in out
        assert root.users.authenticate("auditor", "demo-auditor", HASHER) is not None
        numbers = sorted(root.households.keys())
        built = next(e for e in root.log.newest(5) if e.action == "demo.build")
        day = dt.date.fromisoformat(built.detail.split("today=")[1].split()[0])
        # the day it ran (Beijing), around when the log entry was made
        assert abs((day - built.when.date()).days) <= 1 and f"（截至 {day:%Y-%m-%d}）" in out
        assert max(v.when for h in root.households.values() for v in h.history()).date() < day
    status, out, _ = archive("demo", "--if-empty", "--households", "30", "--units", "20",
                             "--documents", "420")
    assert status == 0 and "未生成演示数据" in out
    with store(ini) as root:
        assert sorted(root.households.keys()) == numbers


def test_demo_refusal_leaves_the_store_empty(archive, ini):
    archive("evolve")
    status, _, err = archive("demo", "--households", "30", "--units", "20", "--documents", "10")
    assert status == 2 and "documents=10" in err
    status, _, err = archive("demo", "--today", "2026-13-01")
    assert status == 2 and "日期“2026-13-01”应为 YYYY-MM-DD" in err
    with store(ini) as root:
        assert len(root.households) == 0 and "admin" not in root.users


def test_evolve(archive, ini):
    status, out, _ = archive("evolve")
    assert status == 0 and "新建档案库" in out
    status, out, _ = archive("evolve")
    assert status == 0 and "运行了 0 个升级步骤" in out


def test_config_from_the_environment(tmp_path, ini, monkeypatch, capsys):
    monkeypatch.setenv("ARCHIVE_CONFIG", str(ini))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["evolve"]) == 0
    monkeypatch.setenv("ARCHIVE_CONFIG", str(tmp_path / "missing.ini"))
    assert cli.main(["evolve"]) == 2
    assert "找不到配置文件" in capsys.readouterr().err


def test_a_store_in_use_is_reported(archive, ini):
    archive("evolve")
    with store(ini):  # holds the FileStorage lock, as a running web server does
        status, _, err = archive("user", "list")
    assert status == 2 and "数据库正被其他进程" in err


def test_local_roles_added_granted_revoked_and_logged(archive, ini):
    """A role in one jurisdiction only (局部角色): ``--role reviewer@qujing``, grant-local, revoke-local."""
    status, out, _ = archive("user", "add", "qj", "--role", "reviewer@qujing", stdin=PASSWORD + "\n")
    assert status == 0 and "审核员@qujing" in out
    status, out, _ = archive("user", "grant-local", "qj", "inspector@qujing", "reviewer@dezhou")
    assert status == 0
    status, _, err = archive("user", "grant-local", "qj", "reviewer@atlantis")
    assert status == 2 and "既不是辖区代码，也不是现有档号" in err
    status, _, err = archive("user", "revoke-local", "qj", "auditor@qujing")
    assert status == 2 and "没有局部角色" in err
    assert archive("user", "revoke-local", "qj", "reviewer@dezhou")[0] == 0
    status, _, err = archive("user", "grant-local", "qj", "secadmin@qujing")
    assert status == 2 and "只能作为全局角色" in err
    with store(ini) as root:
        user = root.users["qj"]
        assert user.roles == () and user.local_roles == ("reviewer@qujing", "inspector@qujing")
        entries = [e for e in root.log.newest(10) if e.target == "qj"]
        assert [e.action for e in entries] == ["user.local_roles", "user.local_roles", "user.add"]
        assert entries[0].detail == "reviewer@qujing inspector@qujing reviewer@dezhou → reviewer@qujing inspector@qujing"
    status, out, _ = archive("user", "list")
    assert "审核员@qujing、稽查员@qujing" in out
    status, _, err = archive("user", "add", "nowhere", "--role", "reviewer@atlantis", stdin=PASSWORD + "\n")
    assert status == 2 and "atlantis" in err
