"""Local roles (archive.access.local): parsing, the roles held on a dossier, a user's scope
as ids of a container and as a search filter, and the security policy's answers."""
from types import SimpleNamespace

import pytest

from archive.access.local import LocalRoleError, Scope, parse, roles_on, scope_of, split_roles
from archive.access.security import ArchiveSecurityPolicy, RoleMatrix
from archive.access.users import User, UserError, Users, make_hasher
from archive.schema.registry import default_directory
from conftest import memory_archive

import walk

PASSWORD = "secret-pass-1"


@pytest.fixture(scope="module")
def matrix():
    return RoleMatrix(default_directory() / "roles.yaml")


def user(roles=(), local=()):
    u = User("u", "u", roles)
    u.local_roles = tuple(local)
    return u


def test_parse_and_split():
    assert parse(" reviewer@qujing ") == ("reviewer", "qujing")
    for bad in ("reviewer", "@qujing", "reviewer@", ""):
        with pytest.raises(LocalRoleError):
            parse(bad)
    assert split_roles(["admin", "reviewer@qujing", " "]) == (["admin"], ["reviewer@qujing"])


def test_userscheck_local_roles_and_keep_administrators_global():
    users, hasher = Users(), make_hasher(time_cost=1, memory_cost=1024)
    known = {"qujing", "QJ-HH-2026-Y-00001"}.__contains__
    u = users.add("qj", "", (), PASSWORD, hasher, ("reviewer@qujing", "reviewer@qujing"), known)
    assert u.roles == () and u.local_roles == ("reviewer@qujing",)
    with pytest.raises(UserError, match="没有“emperor”这个角色"):
        users.set_local_roles("qj", ["emperor@qujing"], known)
    with pytest.raises(UserError, match="既不是辖区代码"):
        users.set_local_roles("qj", ["reviewer@mars"], known)
    for admin in ("sysadmin", "secadmin"):     # 三员: the administrators keep the whole system
        with pytest.raises(UserError, match="只能作为全局角色"):
            users.set_local_roles("qj", [f"{admin}@qujing"], known)
    with pytest.raises(UserError, match="不能修改自己的角色"):
        users.set_local_roles("qj", ["inspector@qujing"], known, by="qj")
    assert users.set_local_roles("qj", ["auditor@qujing"], known) == ("auditor@qujing",)
    assert users.set_local_roles("qj", [], known) == ()     # an account may wait for its roles
    assert users.set_local_roles("qj", ["archivist@QJ-HH-2026-Y-00001"], known) == ("archivist@QJ-HH-2026-Y-00001",)


def test_roles_on_a_dossier_and_off_it():
    u = user(["auditor"], ["reviewer@qujing", "archivist@CZ-HH-2026-Y-00002"])
    qj = SimpleNamespace(archive_no="QJ-HH-2026-Y-00001", metadata={"jurisdiction": "qujing"}, __parent__=None)
    cz = SimpleNamespace(archive_no="CZ-HH-2026-Y-00002", metadata={"jurisdiction": "changzhou"}, __parent__=None)
    inside = SimpleNamespace(__parent__=qj)        # e.g. a grant's context within the dossier
    assert roles_on(u, qj) == ("auditor", "reviewer")
    assert roles_on(u, inside) == ("auditor", "reviewer")
    assert roles_on(u, cz) == ("auditor", "archivist")
    assert roles_on(u, SimpleNamespace(__parent__=None)) == ("auditor",)


def test_scope_of(matrix):
    assert scope_of(user(["reviewer"]), matrix) is None
    found = scope_of(user([], ["reviewer@qujing", "auditor@dezhou"]), matrix, "transition")
    assert found == Scope(frozenset({"qujing"}))
    assert scope_of(user([], ["reviewer@qujing", "auditor@dezhou"]), matrix, "view").places == {"qujing", "dezhou"}
    assert scope_of(user([], ["borrower@qujing"]), matrix).places == frozenset()


def test_scope_ids_come_from_the_index_and_keys(registry, procedure):
    root = memory_archive(registry)
    cz = walk.new_household(procedure, root)
    qj = walk.new_household(procedure, root, name="赵六", seq=41, jurisdiction="qujing",
                            hukou_district="麒麟区", district="麒麟区", address="曲靖市麒麟区南宁西路1号")
    other = walk.new_household(procedure, root, name="钱七", seq=51)
    ids = Scope(frozenset({"qujing", cz.archive_no})).ids(root.households)
    assert set(ids) == {qj.archive_no, cz.archive_no}
    total, items = root.households.query({}, within=ids)
    assert total == 2 and other not in items
    assert root.households.indexes["jurisdiction"].values(ids) == [("changzhou", 1), ("qujing", 1)]
    assert root.households.newest(5, ids)[0] in (qj, cz)
    assert Scope(frozenset({"qujing"})).admits(qj) and not Scope(frozenset({"qujing"})).admits(cz)


class _Request:
    def __init__(self, identity, route=None):
        self.environ = {"archive.identity": identity}
        self.matched_route = SimpleNamespace(name=route) if route else None


def test_policy_local_roles_on_dossiers_and_on_narrowed_views_only(matrix):
    policy = ArchiveSecurityPolicy(matrix)
    root = SimpleNamespace(__parent__=None, __name__="")
    container = SimpleNamespace(__parent__=root, __name__="households")
    qj = SimpleNamespace(archive_no="QJ-1", metadata={"jurisdiction": "qujing"}, __parent__=container)
    cz = SimpleNamespace(archive_no="CZ-1", metadata={"jurisdiction": "changzhou"}, __parent__=container)
    u = user([], ["reviewer@qujing"])
    request = _Request(u, "dossier")
    assert policy.permits(request, qj, "transition")
    assert policy.permits(request, qj, "view_personal")
    assert not policy.permits(request, qj, "edit")          # not a reviewer's permission anywhere
    assert not policy.permits(request, cz, "view")
    assert not policy.permits(request, root, "view")         # a page across dossiers not narrowed
    assert policy.permits(_Request(u, "dossiers"), root, "view")
    assert not policy.permits(_Request(u, "dossiers"), root, "transition")   # not in roles.yaml local
    assert not policy.permits(_Request(u, "receipts"), root, "view")   # 接收检测: not narrowed
    assert "role:reviewer@qujing" in policy.principals(request)
    everywhere = _Request(user(["reviewer"]), "credit")
    assert policy.permits(everywhere, root, "view") and policy.permits(everywhere, cz, "transition")
