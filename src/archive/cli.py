"""The command line (命令行): what an administrator does before and beside the web server.

Setting up an office means making its first administrators (a system administrator, a
security officer and an auditor: three people, 三员分立), issuing API tokens for the
systems that feed the archive, upgrading the database after an update and, for training
and demonstrations, filling an empty archive with the demo city. Each subcommand opens the
store named in the ini file (the same one the web server uses), works in one transaction,
commits when it succeeds and aborts when it fails, so a refused command changes nothing.
Messages are in Chinese, for the office's administrator; a refusal exits with status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import getpass
import io
import os
import pathlib
import sys

import transaction
from pyramid.paster import get_appsettings
from zc.lockfile import LockError
from ZODB.POSException import ConflictError

from . import evolve, store
from .root import ROOT_KEY, bootstrap
from .schema.registry import SchemaRegistry, default_directory
from .access.users import ROLES, hasher_from_settings, role_title
from .workers.progress import ProgressBar, columns, pad

ACTOR = "cli"


class CommandError(ValueError):
    """A command the administrator must correct; the message says how, in Chinese."""


def _install_rules(registry):
    """The command's retention rules and disposition schedule, from the schemas it runs on
    (as the web server's, so a command and the server keep the same disposition dates)."""
    from . import install_rules
    from .custody.arrangement import ArrangementError
    from .disposition.schedule import ScheduleError, compile_schedule
    try:
        install_rules(compile_schedule(registry))     # the retention rules compiled with it
    except (ArrangementError, ScheduleError) as exc:
        raise CommandError(f"保管期限表配置有误：{exc}") from None


class Session:
    """One command's store, schemas and password hasher, opened from the ini file."""

    def __init__(self, settings):
        self.settings = settings
        self.registry = SchemaRegistry(settings.get("archive.schemas_dir") or default_directory())
        _install_rules(self.registry)
        self.hasher = hasher_from_settings(settings)
        self.patterns = {k.rsplit(".", 1)[1]: v for k, v in settings.items()
                         if k.startswith("archive.number_pattern.") and v}
        _make_local_directories(settings["zodbconn.uri"])
        self.db = store.open_database(settings["zodbconn.uri"])
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self._root = None

    @property
    def procedure(self):
        """The installation's procedure (workflows and city profiles), compiled once."""
        if getattr(self, "_procedure", None) is None:
            from .access.security import RoleMatrix
            from .workflow import WorkflowError, procedure_from_settings
            schemas_dir = pathlib.Path(self.settings.get("archive.schemas_dir") or default_directory())
            try:
                self._procedure = procedure_from_settings(self.settings, self.registry,
                                                          RoleMatrix(schemas_dir / "roles.yaml"))
            except WorkflowError as exc:
                raise CommandError(f"办理流程配置有误：{exc}") from None
        return self._procedure

    @property
    def search_index(self):
        """The full-text index the web server uses (archive.index_dir, or beside Data.fs)."""
        from . import PROJECT_DIR
        from .search import index_directory
        from .search.index import SearchIndex
        if getattr(self, "_search_index", None) is None:
            self._search_index = SearchIndex(index_directory(self.settings, PROJECT_DIR))
        return self._search_index

    @property
    def root(self):
        """The ArchiveRoot, created or upgraded on first use (as the web server does)."""
        if self._root is None:
            self._root = bootstrap(self.conn.root(), self.registry)
            self._root.log.seal()   # what the server left waiting, before the command reads it
        return self._root

    def password(self, read):
        """The password the command was given, read once (a command run again after a
        conflict must not read standard input a second time)."""
        if getattr(self, "_password", None) is None:
            self._password = read()
        return self._password

    def forget(self):
        """After an abort: the root is read afresh by the next attempt."""
        self._root = None

    def commit(self):
        """Seal the command's log entries into the chain, then commit (archive.access.auditlog)."""
        if self._root is not None:
            self._root.log.seal()
        self.tm.commit()

    def close(self):
        self.tm.abort()
        self.conn.close()
        self.db.close()


def _make_local_directories(uri):
    """Create a FileStorage's directories, so a fresh checkout's first command needs no mkdir."""
    from urllib.parse import urlparse
    if uri.startswith("file://"):  # ZODB makes the blob directory itself, with safe permissions
        os.makedirs(os.path.dirname(urlparse(uri).path) or ".", exist_ok=True)


ATTEMPTS = 5   # a command meeting a conflict with the servers beside it runs again this often


def main(argv=None) -> int:
    """Run one subcommand; returns the exit status (0, or 2 when the command is refused).

    With ZEO or RelStorage the command runs beside the web servers and the worker, and its
    commit may meet a conflict (someone saved the same object first): it is then aborted
    and run again from the start, up to ``ATTEMPTS`` times, like a request. What it prints
    on standard output is held back until it has committed, so a token is printed once,
    and only the token that was stored."""
    args = _parser().parse_args(argv)
    if getattr(args, "without_store", False):   # backup, restore: below ZODB (archive.preservation)
        return _without_store(args)
    try:
        session = Session(_settings(args.config))
    except CommandError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except LockError:  # a FileStorage has one writer: usually the web server
        print("错误：数据库正被其他进程（如正在运行的网站服务）使用，请先停止该进程，"
              "或改用 ZEO/RelStorage 等可多进程访问的存储", file=sys.stderr)
        return 2
    try:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _attempt(session, args)
            except ConflictError as exc:
                session.tm.abort()
                session.forget()
                if attempt == ATTEMPTS:
                    print(f"错误：其他进程一直在修改同一数据，{ATTEMPTS} 次尝试均未成功，请稍后再试（{exc}）",
                          file=sys.stderr)
                    return 1
                print(f"与其他进程的修改冲突，重试（第 {attempt + 1} 次）……", file=sys.stderr)
    except ValueError as exc:  # UserError, ValidationFailed, CommandError: the input is wrong
        session.tm.abort()
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    finally:
        session.close()


def _attempt(session, args) -> int:
    """Run the command and commit; standard output is written only after the commit
    (except for the worker, which runs until it is stopped and logs as it goes)."""
    if getattr(args, "streams", False):
        status = args.command(session, args) or 0
        session.commit()
        return status
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = args.command(session, args) or 0
        session.commit()
    sys.stdout.write(out.getvalue())
    sys.stdout.flush()
    return status


def _without_store(args) -> int:
    """Run a command that works on the store's files or database rather than through ZODB."""
    try:
        return args.command(_settings(args.config), args) or 0
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


def _settings(config):
    if not os.path.exists(config.split("#", 1)[0]):
        raise CommandError(f"找不到配置文件“{config}”（用 -c 或环境变量 ARCHIVE_CONFIG 指定）")
    settings = get_appsettings(config)
    if not settings.get("zodbconn.uri"):
        raise CommandError(f"配置文件“{config}”中没有 zodbconn.uri")
    return settings


def _parser():
    parser = argparse.ArgumentParser(prog="archive", description="公租房档案管理系统 命令行工具")
    parser.add_argument("-c", "--config", default=os.environ.get("ARCHIVE_CONFIG", "development.ini"),
                        help="ini 配置文件（默认 development.ini，或环境变量 ARCHIVE_CONFIG）")
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    user = commands.add_parser("user", help="管理用户").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="添加用户；密码从标准输入读取（第一行）")
    add.add_argument("login")
    add.add_argument("--role", action="append", required=True, dest="roles",
                     help=f"角色，可重复：{', '.join(ROLES)}；只在一个辖区或一份档案内有效的局部角色"
                          "写作 角色@辖区代码 或 角色@档号（如 reviewer@qujing）")
    add.add_argument("--name", default="", help="显示的姓名")
    add.set_defaults(command=user_add)
    user.add_parser("list", help="列出用户").set_defaults(command=user_list)
    password = user.add_parser("password", help="设置用户的新密码（从标准输入读取），并结束其所有会话；"
                               "安全保密管理员和安全审计员的密码只能由本人或在此修改")
    password.add_argument("login")
    password.set_defaults(command=user_password)
    for action, text, command in (("grant-local", "授予局部角色（如 reviewer@qujing）", user_grant_local),
                                  ("revoke-local", "收回局部角色", user_revoke_local)):
        local = user.add_parser(action, help=text)
        local.add_argument("login")
        local.add_argument("entries", nargs="+", metavar="ROLE@PLACE",
                           help="角色@辖区代码 或 角色@档号")
        local.set_defaults(command=command)

    token = commands.add_parser("token", help="为用户签发 API 令牌（只显示这一次）")
    token.add_argument("login")
    token.add_argument("--label", default="", help="令牌用途说明")
    token.set_defaults(command=issue_token)

    demo = commands.add_parser("demo", help="生成演示用户和演示城市数据")
    demo.add_argument("--if-empty", action="store_true", help="档案库已有住户档案时不做任何事")
    demo.add_argument("--seed", type=int, default=2026, help="随机种子（相同种子生成相同数据）")
    demo.add_argument("--today", default="", metavar="YYYY-MM-DD",
                      help="演示城市的“今天”：历史截至前一天，期限从这天算起（默认今天，北京时间；"
                           "相同种子和日期生成相同数据）")
    from .demo.city import DEFAULT_SIZE
    for size, text in (("households", "住户档案数"), ("units", "房源档案数"),
                       ("documents", "文件总数：恰好生成这么多份，不得少于各档案办理步骤所需的文件数")):
        demo.add_argument(f"--{size}", type=int, default=DEFAULT_SIZE[size], metavar="N",
                          help=f"{text}（默认 {DEFAULT_SIZE[size]}）")
    demo.set_defaults(command=demo_city)

    commands.add_parser("evolve", help="升级数据库到当前版本").set_defaults(command=run_evolve)
    commands.add_parser("reindex", help="从数据库重建全文检索索引").set_defaults(command=reindex)
    check = commands.add_parser("index-check", help="检查全文检索索引与数据库是否一致（不一致时退出码为 1）")
    check.add_argument("--fix", action="store_true", help="把缺失或过期的档案重新编入索引")
    check.set_defaults(command=index_check)
    worker = commands.add_parser("worker", help="运行后台工作进程（文本层、OCR、检索索引、审计、日志封存），直到被停止")
    worker.set_defaults(command=run_worker, streams=True)
    commands.add_parser("ocr", help="立即识别排队中的扫描件（OCR），每份文件提交一次").set_defaults(command=run_ocr)
    from .audit import commands as audit_commands
    audit_commands.register(commands)
    from .custody import commands as custody_commands
    custody_commands.register(commands)
    from .exchange import commands as exchange_commands
    exchange_commands.register(commands)
    from .preservation import commands as preservation_commands
    preservation_commands.register(commands)
    from .disposition import commands as disposition_commands
    disposition_commands.register(commands)
    return parser


# -- subcommands -------------------------------------------------------------------------
def user_add(session, args):
    """``user add LOGIN --role R``: the password comes from stdin, never from the command line
    (where ``ps`` and the shell history would keep it)."""
    root = session.root
    if args.login.strip().lower() in root.users:  # refuse before asking for a password
        raise CommandError(f"登录名“{args.login.strip().lower()}”已存在")
    from .access.local import split_roles
    roles, local = split_roles(args.roles)
    places = _places(session)
    root.users.check_local(local, places)     # refuse a wrong place before asking for a password
    user = root.users.add(args.login, args.name, roles, session.password(_read_password), session.hasher,
                          local, places)
    root.log.append(actor=ACTOR, action="user.add", target=user.login,
                    detail=",".join(user.roles + user.local_roles))
    print(f"已添加用户 {user.login}（{_roles(user.roles, user.local_roles)}）")


def _places(session):
    from .access.local import known_place
    return known_place(session.root, session.registry.vocabularies)


def _set_local(session, args, change):
    """Grant or revoke local roles; the change (before → after) goes to the audit log."""
    root = session.root
    user = root.users.get(args.login)
    if user is None:
        raise CommandError(f"用户“{args.login}”不存在")
    before = user.local_roles
    wanted = root.users.check_local(args.entries, None)
    after = root.users.set_local_roles(user.login, change(before, wanted), _places(session))
    if after != before:
        root.log.append(actor=ACTOR, action="user.local_roles", target=user.login,
                        detail=f"{' '.join(before) or '-'} → {' '.join(after) or '-'}")
    print(f"用户 {user.login}：{_roles(user.roles, user.local_roles)}")


def user_grant_local(session, args):
    """``user grant-local LOGIN reviewer@qujing``: a role in one jurisdiction (or dossier)."""
    _set_local(session, args, lambda before, wanted: before + tuple(e for e in wanted if e not in before))


def user_revoke_local(session, args):
    """``user revoke-local LOGIN reviewer@qujing``."""
    def change(before, wanted):
        missing = [e for e in wanted if e not in before]
        if missing:
            raise CommandError(f"用户没有局部角色：{'、'.join(missing)}")
        return tuple(e for e in before if e not in wanted)
    _set_local(session, args, change)


def user_password(session, args):
    """``user password LOGIN``: the server's own way to set a password, for every account,
    the security officer's and the auditor's included (the web's system administrator may
    not: 三员分立, archive.access.users)."""
    root = session.root
    user = root.users.get(args.login.strip().lower())
    if user is None:
        raise CommandError(f"用户“{args.login}”不存在")
    user.set_password(session.password(_read_password), session.hasher)
    root.log.append(actor=ACTOR, action="user.password", target=user.login)
    print(f"已为 {user.login} 设置新密码")


def user_list(session, args):
    """``user list``: who can log in, with which roles."""
    rows = [("登录名", "姓名", "角色", "状态")]
    rows += [(u.login, u.name, _roles(u.roles, u.local_roles), "启用" if u.active else "停用")
             for u in session.root.users.values()]
    for row in rows:
        print("  ".join(pad(cell, max(columns(r[i]) for r in rows)) for i, cell in enumerate(row)).rstrip())


def issue_token(session, args):
    """``token LOGIN``: only the token on stdout, so a script can capture it; it is shown once."""
    root = session.root
    if args.login not in root.users:
        raise CommandError(f"用户“{args.login}”不存在")
    token = root.users.issue_token(args.login, args.label)
    root.log.append(actor=ACTOR, action="token.issue", target=args.login, detail=args.label)
    print(token)


def demo_city(session, args):
    """``demo``: demo users and the demo city, committed every 50 dossiers' worth of work.

    The city is built through the installation's own procedure (the workflows and
    jurisdiction profiles the ini file names), so its dossiers pass the same guards as a
    clerk's. A build that fails part-way keeps the batches already committed; ``--if-empty``
    lets ``make run`` call it on every start. The city's history ends on the day it is built
    (``--today``, by default today in Beijing), so its deadlines are those of a live office.
    """

    from .demo.city import build_city, create_demo_users, create_local_demo_users
    from .workers.textlayer import drain
    root = session.root
    if args.if_empty and len(root.households):
        print(f"档案库中已有 {len(root.households)} 份住户档案，未生成演示数据。")
        return
    procedure = session.procedure
    try:
        today = _dt.date.fromisoformat(args.today) if args.today else procedure.today()
    except ValueError:
        raise CommandError(f"日期“{args.today}”应为 YYYY-MM-DD") from None
    users = create_demo_users(root, session.hasher)
    for login, _, role in users:
        root.log.append(actor=ACTOR, action="user.add", target=login, detail=role)
    local_users = create_local_demo_users(root, session.hasher)   # a 曲靖 reviewer only
    for login, _, local in local_users:
        root.log.append(actor=ACTOR, action="user.add", target=login, detail=",".join(local))
    summary = build_city(root, session.registry, procedure, households=args.households, units=args.units,
                         documents=args.documents, seed=args.seed, today=today,
                         progress=ProgressBar(sys.stderr), commit=session.commit, patterns=session.patterns,
                         collective=True)
    print("读取文件文本层……", file=sys.stderr)
    drain(root, commit=session.commit, progress=ProgressBar(sys.stderr))
    print("编制全文检索索引……", file=sys.stderr)
    from .search.index import drain as index_drain
    index_drain(root, session.registry, session.search_index, commit=session.commit,
                progress=ProgressBar(sys.stderr))
    root.log.append(actor=ACTOR, action="demo.build", detail=(
        f"seed={args.seed} today={today.isoformat()} households={summary['households']} "
        f"units={summary['units']} documents={summary['documents']}"))
    faults, ban = summary["faults"], summary["banned_applicant"]
    households, units = procedure.workflows["household"], procedure.workflows["unit"]
    print(f"演示城市（截至 {today:%Y-%m-%d}）：住户档案 {summary['households']} 份，房源档案 {summary['units']} 份，"
          f"文件 {summary['documents']} 份（另有 {summary['refiled']} 份补交的新文件），"
          f"办理步骤 {summary['steps']} 步，租赁记录 {summary['leases']} 条，信息修改 {summary['edits']} 次。")
    print("住户办理状态：" + "，".join(f"{households.state(s).title()} {n}"
                                   for s, n in summary["by_stage"].items()))
    print("房源状态：" + "，".join(f"{units.state(s).title()} {n}"
                               for s, n in summary["units_by_state"].items()))
    print(f"预置问题：缺承诺书的申请 {faults['missing_pledge']}；"
          f"房源 {faults['double_let_unit']} 同时租给 {'、'.join(faults['double_let_households'])}"
          "（后者按纸质台账补录）")
    print(f"信用限制：{ban['household']} 不能受理：{ban['refusal']}")
    for item in summary["overrides"]:
        title = households.transition(item["step"]).title()
        print(f"破格办理：{item['household']} {title}（{item['comment']}）")
    if summary.get("collective"):     # demo/collective.py
        batch = summary["collective"]
        print(f"单位集体申请：批次 {batch['batch']}，申请单位 {'、'.join(batch['employers'])}，"
              f"房源租赁数量 {'、'.join(str(n) for n in batch['quotas'].values())} 套（按比例，最大余数法）")
    if users:
        print("演示用户（登录名 / 密码 / 角色）：")
        for login, password, role in users:
            print(f"  {login} / {password} / {role_title(role)}")
    for login, password, local in local_users:
        print(f"  {login} / {password} / {_roles((), local)}（只限所列辖区）")


def run_evolve(session, args):
    """``evolve``: upgrade a stored archive without bootstrapping it first (bootstrap would
    run the same steps silently)."""
    existing = session.conn.root().get(ROOT_KEY)
    if existing is None:
        root = session.root
        print(f"新建档案库（第 {root.generation} 代），无需升级。")
        return
    ran = evolve.upgrade(existing, session.registry, progress=ProgressBar(sys.stderr), report=print)
    print(f"运行了 {ran} 个升级步骤，数据库现为第 {existing.generation} 代。")


def run_worker(session, args):
    """``worker``: the cluster's after-commit work in this process, until SIGTERM or Ctrl-C.

    The web servers of a cluster run with ``archive.workers = off``; this process takes the
    cluster's lease (archive.workers.lease) and does each queued item once for all of them.
    A second worker started beside it waits as a stand-by and takes over when the first
    stops or dies."""
    import signal
    import threading

    from .workers.lease import STALE
    from .workers.service import Service
    if not store.is_shared(session.settings["zodbconn.uri"]):
        print("提示：FileStorage 只允许一个进程打开；网站服务本身即运行后台任务，"
              "archive worker 用于 ZEO 或 RelStorage 集群。", file=sys.stderr)
    _log_from_ini(args.config)
    session.root                      # bootstrap or upgrade, then let go of the snapshot
    session.commit()
    service = Service(session.db, session.settings, session.registry, session.procedure,
                      session.search_index)
    if not service.workers:
        raise CommandError("配置中所有后台任务均已关闭（archive.text_worker 等），无事可做")
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    service.start()
    print(f"后台工作进程 {service.claim.me} 已启动：{'、'.join(service.workers)}；"
          f"若另一工作进程持有租约，本进程在其心跳停止 {STALE:.0f} 秒后接替。", file=sys.stderr)
    while not stopping.wait(1.0):
        pass
    print("正在停止后台工作进程……", file=sys.stderr)
    service.stop()


def _log_from_ini(config):
    """The ini's [loggers] for a long-running command, as pserve does for the web server."""
    from pyramid.paster import setup_logging
    try:
        setup_logging(config)
    except Exception:   # an ini without logging sections: Python's defaults
        import logging
        logging.basicConfig(level=logging.INFO)


def run_ocr(session, args):
    """``ocr``: recognise every queued scan now, e.g. with the web server's OCR worker off or
    stopped; each file is committed as soon as it is read, so an interrupted run keeps them."""
    from .workers.ocr import OcrOptions, drain
    root = session.root
    queued = [revision for _, revision, _ in root.ocr_queue.take(len(root.ocr_queue))]
    print(f"待识别的扫描件：{len(queued)} 份", file=sys.stderr)
    done = drain(root, OcrOptions.from_settings(session.settings), commit=session.commit,
                 progress=ProgressBar(sys.stderr))
    failed = [r for r in queued if r.text_status == "ocr_failed"]
    print(f"识别了 {done} 份文件" + (f"，其中 {len(failed)} 份失败：{failed[0].text_error}"
                                  if failed else "") + "。")


def reindex(session, args):
    """``reindex``: the index emptied and rebuilt from ZODB, the only source of truth."""
    import time

    from .search.index import rebuild
    started = time.perf_counter()
    count = rebuild(session.root, session.registry, session.search_index,
                    commit=session.commit, progress=ProgressBar(sys.stderr))
    seconds = time.perf_counter() - started
    print(f"已重建全文检索索引：{count} 份档案，{session.search_index.doc_count()} 条索引记录，"
          f"用时 {seconds:.1f} 秒。")


def index_check(session, args):
    """``index-check``: dossiers whose indexed version is not the current one; exit 1 if any."""
    from .search.index import check, rebuild
    root = session.root
    if session.search_index.outdated:
        if args.fix:
            count = rebuild(root, session.registry, session.search_index, commit=session.commit,
                            progress=ProgressBar(sys.stderr))
            print(f"索引为旧版本格式，已按当前格式重建：{count} 份档案。")
            return 0
        print("索引为旧版本格式（仍可检索，但较慢）：运行 archive reindex 或 archive index-check --fix 重建。")
        return 1
    report = check(root, session.search_index, progress=ProgressBar(sys.stderr))
    _print_index_report(report)
    if report.ok:
        print("索引与数据库一致。")
        return 0
    if args.fix:
        from .search.index import drain as index_drain
        keys = report.keys_to_fix()
        session.search_index.failures.forget(keys)       # tried afresh, however often they failed
        for key in keys:
            root.index_queue.add(key)
        index_drain(root, session.registry, session.search_index, commit=session.commit)
        print(f"已重新编入索引 {len(keys)} 份档案。")
        after = check(root, session.search_index, grace=0)   # what failed again is still queued
        if after.ok:
            return 0
        print("仍不一致：")
        _print_index_report(after, totals=False)
        return 1
    print("索引与数据库不一致：运行 archive index-check --fix 或 archive reindex 修复。")
    return 1


def _print_index_report(report, totals=True):
    if totals:
        print(f"检查了 {report.checked} 份档案；待编入索引 {report.queued} 份。")
    for key in report.missing:
        print(f"  缺失：{key}")
    for key, indexed, current in report.stale:
        print(f"  过期：{key}（索引为第 {indexed} 版，当前为第 {current} 版）")
    for key, indexed, current in report.lagging:
        was = f"索引为第 {indexed} 版" if indexed is not None else "索引中没有"
        print(f"  滞后：{key}（{was}，当前为第 {current} 版，在索引队列中等待已久：索引线程未运行或落后）")
    for key, indexed, current, attempts, error in report.failed:
        was = f"索引仍为第 {indexed} 版" if indexed is not None else "索引中没有"
        print(f"  失败：{key}（第 {current} 版编入索引失败 {attempts} 次后已放弃，{was}）：{error}")
    for key in report.orphaned:
        print(f"  多余：{key}（数据库中已无此档案）")
    if report.merge_error:
        merge = report.merge_error
        print(f"  注意：合并索引分段失败 {merge.get('times', 1)} 次（最近 {merge.get('at', '')}）："
              f"{merge.get('error', '')}；索引仍在更新，但检索会变慢，请运行 archive reindex。")


# -- terminal helpers --------------------------------------------------------------------
def _read_password():
    """The first line of standard input; at a terminal, asked twice without echo."""
    if sys.stdin.isatty():
        first, second = getpass.getpass("密码："), getpass.getpass("再次输入密码：")
        if first != second:
            raise CommandError("两次输入的密码不一致")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _roles(roles, local=()):
    """Role titles; local roles as 审核员@qujing."""
    return "、".join([role_title(r) for r in roles] +
                    [f"{role_title(e.partition('@')[0])}@{e.partition('@')[2]}" for e in local]) \
        or "（待分配角色）"
