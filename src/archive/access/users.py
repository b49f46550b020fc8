"""Users (用户), their roles, passwords and API tokens.

Passwords are hashed with argon2id; API tokens are random and only their SHA-256 is
stored, so a stolen database reveals neither.

Administration is split three ways (三员分立, GB/T 39784 系统管理): the system administrator
(系统管理员) keeps the accounts, the security officer (安全保密管理员) gives them roles, the
security auditor (安全审计员) reads the log of both. No one holds two of the three, no one
changes his own roles, and the system administrator does not touch the credentials of the
other two (who change their own password, or have it set at the server's command line,
where their tokens are issued too): otherwise one
person could become two of the three.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from BTrees.OOBTree import OOBTree
from persistent import Persistent

ROLES = ("sysadmin", "secadmin", "archivist", "reviewer", "inspector", "auditor", "borrower")
ROLE_TITLES = {"sysadmin": ("系统管理员", "System administrator"),
               "secadmin": ("安全保密管理员", "Security officer"),
               "archivist": ("档案管理员", "Archivist"),
               "reviewer": ("审核员", "Reviewer"), "inspector": ("稽查员", "Inspector"),
               "auditor": ("安全审计员", "Security auditor"), "borrower": ("利用者", "Borrower")}
# 三员: held by three different people, never two by one (GB/T 39784)
SEPARATED = ("sysadmin", "secadmin", "auditor")
# whose credentials (password, tokens, activation) only they (their password) and the
# command line change
GUARDED = ("secadmin", "auditor")
LOGIN = re.compile(r"^[a-z0-9_.-]{2,32}$")
MIN_PASSWORD = 8


class UserError(ValueError):
    """A user change the system refuses; the message is for the administrator."""


def make_hasher(time_cost=3, memory_cost=65536, parallelism=1) -> PasswordHasher:
    """argon2id with the given cost; tests lower it, production keeps the defaults."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher_from_settings(settings) -> PasswordHasher:
    """The hasher with the ini's costs (archive.argon2.time_cost / memory_cost), if set."""
    costs = {k: int(settings[f"archive.argon2.{k}"]) for k in ("time_cost", "memory_cost")
             if settings.get(f"archive.argon2.{k}")}
    return make_hasher(**costs)


def role_title(role, locale="zh"):
    zh, en = ROLE_TITLES.get(role, (role, role))
    return en if locale == "en" else zh


class User(Persistent):
    """A person who logs in, with one or more roles."""

    # Sessions live in signed cookies; a session is valid only while it carries the
    # user's current epoch, so logging out, a new password or deactivation ends them all.
    session_epoch = 0
    # Roles held in some places only ("reviewer@qujing", "archivist@<档号>"): archive.access.local
    local_roles = ()

    def __init__(self, login, name, roles):
        self.login, self.name = login, name
        self.roles = tuple(roles)
        self.password_hash = ""
        self.active = True
        self.tokens = OOBTree()  # sha256(token) -> (created, label)

    def set_password(self, password, hasher):
        if len(password or "") < MIN_PASSWORD:
            raise UserError(f"密码至少需要{MIN_PASSWORD}个字符")
        self.password_hash = hasher.hash(password)
        self.end_sessions()

    def end_sessions(self):
        self.session_epoch += 1

    def check_password(self, password, hasher) -> bool:
        if not self.password_hash or not self.active:
            return False
        try:
            return hasher.verify(self.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Users(Persistent):
    """Every user by login, and an index of token digests to logins."""

    def __init__(self):
        self.__name__, self.__parent__ = "users", None
        self._users = OOBTree()
        self._tokens = OOBTree()

    def __getitem__(self, login):
        return self._users[login]

    def get(self, login):
        return self._users.get(login)

    def __contains__(self, login):
        return login in self._users

    def __len__(self):
        return len(self._users)

    def values(self):
        return self._users.values()

    def add(self, login, name, roles, password, hasher, local_roles=(), places=None) -> User:
        """A new account; ``roles`` may be empty (the web's system administrator makes the
        account, the security officer then gives it roles). ``local_roles``
        ("reviewer@qujing", the command line's way) are checked against ``places`` (a
        callable saying whether a jurisdiction code or archive number exists)."""
        login = (login or "").strip().lower()
        if not LOGIN.match(login):
            raise UserError("登录名应为2–32位小写字母、数字或 _ . -")
        if login in self._users:
            raise UserError(f"登录名“{login}”已存在")
        local_roles = self.check_local(local_roles, places)
        self._check_roles(roles)
        user = User(login, name or login, roles)
        user.local_roles = local_roles
        user.set_password(password, hasher)
        self._users[login] = user
        return user

    def set_roles(self, login, roles, by=None):
        """Give the user exactly these roles; ``by`` (the security officer's login, None at the
        command line) may not be the user himself."""
        self._not_own(login, by)
        self._check_roles(roles)
        self[login].roles = tuple(dict.fromkeys(roles))

    def set_local_roles(self, login, entries, places=None, by=None):
        """Replace the user's local roles (``by`` as for ``set_roles``)."""
        self._not_own(login, by)
        user = self[login]
        local_roles = self.check_local(entries, places)
        user.local_roles = local_roles
        return local_roles

    @staticmethod
    def _not_own(login, by):
        if by is not None and by == login:
            raise UserError("不能修改自己的角色，须由另一位安全保密管理员办理")

    @staticmethod
    def _check_roles(roles):
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise UserError(f"角色无效：{'、'.join(unknown)}")
        held = [r for r in SEPARATED if r in roles]
        if len(held) > 1:
            raise UserError("三员分立：系统管理员、安全保密管理员、安全审计员须由不同的人担任，"
                            f"一个用户不能同时是{'和'.join(role_title(r) for r in held)}")

    @staticmethod
    def check_credentials(by, user):
        """Refuse an administrator changing the password, tokens or activation of an account
        that holds another of the three duties (``by``: the acting User, None at the command
        line): he could log in as that officer and be two of the three."""
        if by is None or by.login == user.login:
            return
        guarded = [r for r in GUARDED if r in user.roles]
        if guarded:
            raise UserError(f"“{user.login}”是{role_title(guarded[0])}：其密码由本人修改（修改密码），或在服务器上用"
                            "命令行（archive user password、archive token）办理；停用须先由安全保密管理员撤销其角色")

    @staticmethod
    def check_local(entries, places):
        """Local roles as stored ("role@place", no repeats); UserError for a malformed one,
        an unknown role, one of the two administrators (they keep the whole installation,
        never a place; a local auditor audits one city's dossiers but reads no log), or a place ``places`` does not know (None: not
        checked)."""
        from .local import LocalRoleError, parse
        out = []
        for entry in entries:
            if not (entry or "").strip():
                continue
            try:
                role, place = parse(entry)
            except LocalRoleError as exc:
                raise UserError(str(exc)) from None
            if role not in ROLES:
                raise UserError(f"局部角色“{entry}”：没有“{role}”这个角色")
            if role in SEPARATED[:2]:
                raise UserError(f"局部角色“{entry}”：{role_title(role)}管理整个系统，只能作为全局角色由安全保密管理员分配")
            if places is not None and not places(place):
                raise UserError(f"局部角色“{entry}”：“{place}”既不是辖区代码，也不是现有档号")
            if f"{role}@{place}" not in out:
                out.append(f"{role}@{place}")
        return tuple(out)

    def authenticate(self, login, password, hasher) -> User | None:
        user = self._users.get((login or "").strip().lower())
        if user is not None and user.check_password(password, hasher):
            return user
        return None

    def issue_token(self, login, label="", when=None) -> str:
        """A new API token for the user; shown once, stored only as its digest."""
        user = self[login]
        token = secrets.token_urlsafe(32)
        digest = token_digest(token)
        user.tokens[digest] = (when or _dt.datetime.now(_dt.timezone.utc), label)
        self._tokens[digest] = login
        return token

    def revoke_tokens(self, login):
        user = self[login]
        for digest in list(user.tokens.keys()):
            self._tokens.pop(digest, None)
        user.tokens.clear()

    def by_token(self, token) -> User | None:
        login = self._tokens.get(token_digest(token or ""))
        user = self._users.get(login) if login else None
        return user if user is not None and user.active else None
