"""The role matrix from roles.yaml, and login throttling with an injected clock."""
import shutil

import pytest
from pyramid.authorization import DENY_ALL

from archive.schema.registry import default_directory
from archive.access.security import RoleMatrix
from archive.access.throttle import LoginThrottle
from conftest import edit_text

ROLES_FILE = default_directory() / "roles.yaml"


@pytest.fixture(scope="module")
def matrix():
    return RoleMatrix(ROLES_FILE)


@pytest.fixture
def roles_copy(tmp_path):
    target = tmp_path / "roles.yaml"
    shutil.copy(ROLES_FILE, target)
    return target


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# -- role matrix --------------------------------------------------------------------------------
@pytest.mark.parametrize("role, permission", [
    ("archivist", "file"), ("archivist", "restore"), ("sysadmin", "manage_accounts"),
    ("secadmin", "manage_roles"), ("auditor", "view_log"), ("reviewer", "view_personal"),
])
def test_role_has_the_permissions_roles_yaml_grants(matrix, role, permission):
    assert matrix.allows(role, permission)


@pytest.mark.parametrize("role, permission", [
    ("reviewer", "edit"), ("inspector", "file"), ("auditor", "view_personal"),
    ("archivist", "manage_accounts"), ("archivist", "manage_roles"), ("nobody", "view"),
])
def test_role_lacks_the_permissions_roles_yaml_does_not_grant(matrix, role, permission):
    assert not matrix.allows(role, permission)


def test_three_administrators_have_separate_duties(matrix):
    """三员分立: the system administrator keeps accounts (no business data, no log), the
    security officer gives roles, only the auditor reads the log."""
    assert matrix.roles["sysadmin"] == ["manage_accounts"]
    assert matrix.roles["secadmin"] == ["manage_roles"]
    assert [r for r, perms in matrix.roles.items() if "view_log" in perms] == ["auditor"]
    assert not {"manage_accounts", "manage_roles"} & set(matrix.roles["auditor"])


def test_acl_grants_per_role_and_ends_by_denying_everything(matrix):
    acl = matrix.acl()
    assert ("Allow", "role:auditor", ("view", "view_log", "inspect", "audit", "statistics")) in acl and acl[-1] == DENY_ALL


def test_unknown_permission_in_roles_file_is_refused(roles_copy):
    edit_text(roles_copy, "auditor:   [view, view_log, inspect, audit, statistics]", "auditor:   [view, view_log, inspect, audit, statistics, delete_all]")
    with pytest.raises(ValueError, match="delete_all"):
        RoleMatrix(roles_copy)


def test_unknown_role_in_roles_file_is_refused(roles_copy):
    edit_text(roles_copy, "auditor:   [view, view_log, inspect, audit, statistics]", "auditor:   [view, view_log, inspect, audit, statistics]\n  janitor: [view]")
    with pytest.raises(ValueError, match="janitor"):
        RoleMatrix(roles_copy)


# -- login throttle ---------------------------------------------------------------------------------


@pytest.fixture
def db(registry, tmp_path):
    """A real database with an archive root, where the throttle keeps its failures (a
    FileStorage: MappingStorage does not resolve conflicts, a server's store does)."""
    import transaction
    import ZODB
    from ZODB.FileStorage import FileStorage
    from archive.root import bootstrap
    database = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    conn = database.open()
    bootstrap(conn.root(), registry)
    transaction.commit()
    conn.close()
    yield database
    database.close()

def test_login_is_not_blocked_before_the_limit(db):
    throttle = LoginThrottle(db, failures=3, window_seconds=60, clock=Clock())
    for _ in range(2):
        throttle.failed("archivist")
    assert not throttle.blocked("archivist")


def test_login_is_blocked_after_n_failures(db):
    throttle = LoginThrottle(db, failures=3, window_seconds=60, clock=Clock())
    for _ in range(3):
        throttle.failed("archivist")
    assert throttle.blocked("archivist")


def test_block_lifts_after_the_window(db):
    clock = Clock()
    throttle = LoginThrottle(db, failures=3, window_seconds=60, clock=clock)
    for _ in range(3):
        throttle.failed("archivist")
    clock.now += 61
    assert not throttle.blocked("archivist")


def test_only_failures_within_the_window_count(db):
    clock = Clock()
    throttle = LoginThrottle(db, failures=3, window_seconds=60, clock=clock)
    throttle.failed("archivist")
    clock.now += 50
    throttle.failed("archivist")
    clock.now += 20               # the first failure is now 70 s old
    throttle.failed("archivist")
    assert not throttle.blocked("archivist")


def test_block_ignores_the_case_of_the_login(db):
    throttle = LoginThrottle(db, failures=2, window_seconds=60, clock=Clock())
    throttle.failed("Archivist")
    throttle.failed("ARCHIVIST")
    assert throttle.blocked("archivist")


def test_block_applies_to_one_login_only(db):
    throttle = LoginThrottle(db, failures=2, window_seconds=60, clock=Clock())
    throttle.failed("archivist")
    throttle.failed("archivist")
    assert not throttle.blocked("reviewer")


def test_success_clears_earlier_failures(db):
    throttle = LoginThrottle(db, failures=3, window_seconds=60, clock=Clock())
    throttle.failed("archivist")
    throttle.failed("archivist")
    throttle.succeeded("archivist")
    throttle.failed("archivist")
    assert not throttle.blocked("archivist")


def test_failures_count_across_servers(db):
    """Two web servers (two throttles, each its own connections) share one count."""
    clock = Clock()
    first = LoginThrottle(db, failures=3, window_seconds=60, clock=clock)
    second = LoginThrottle(db, failures=3, window_seconds=60, clock=clock)
    first.failed("archivist")
    second.failed("archivist")
    first.failed("archivist")
    assert second.blocked("archivist")


def test_concurrent_failures_merge_instead_of_conflicting(db):
    """Two servers recording a failure at the same moment: both kept, neither refused."""
    import transaction
    from archive.access.throttle import LoginFailures
    tms = [transaction.TransactionManager() for _ in range(2)]
    conns = [db.open(transaction_manager=tm) for tm in tms]
    books = [c.root()["archive"].login_failures for c in conns]
    assert isinstance(books[0], LoginFailures)
    books[0].add("archivist", 1000.0)
    books[1].add("archivist", 1000.0)
    tms[0].commit()
    tms[1].commit()
    assert LoginThrottle(db, failures=2, window_seconds=60, clock=Clock()).blocked("archivist")
    for c in conns:
        c.close()


def test_old_failures_are_dropped_when_new_ones_come(db):
    import transaction
    clock = Clock()
    throttle = LoginThrottle(db, failures=3, window_seconds=60, clock=clock)
    throttle.failed("archivist")
    clock.now += 120
    throttle.failed("reviewer")
    conn = db.open()
    assert [key[0] for key, _ in conn.root()["archive"].login_failures.items()] == ["reviewer"]
    conn.close()
    transaction.abort()
