"""Users: argon2id passwords, authentication, API tokens stored only as digests."""
import pytest

from archive.access.users import UserError, Users, make_hasher, token_digest

PASSWORD = "secret-pass-1"


@pytest.fixture(scope="module")
def hasher():
    return make_hasher(time_cost=1, memory_cost=1024)


@pytest.fixture
def users(hasher):
    users = Users()
    users.add("archivist", "王档案", ["archivist"], PASSWORD, hasher)
    return users


def test_stored_hash_is_argon2id_not_the_password(users):
    stored = users["archivist"].password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_same_password_hashes_differently_for_two_users(users, hasher):
    users.add("reviewer", "审核员", ["reviewer"], PASSWORD, hasher)
    assert users["reviewer"].password_hash != users["archivist"].password_hash


def test_right_password_authenticates(users, hasher):
    assert users.authenticate("archivist", PASSWORD, hasher) is users["archivist"]


def test_login_is_matched_case_and_blank_insensitively(users, hasher):
    assert users.authenticate("  Archivist ", PASSWORD, hasher) is users["archivist"]


def test_wrong_password_is_refused(users, hasher):
    assert users.authenticate("archivist", "secret-pass-2", hasher) is None


def test_empty_password_is_refused(users, hasher):
    assert users.authenticate("archivist", None, hasher) is None


def test_unknown_login_is_refused(users, hasher):
    assert users.authenticate("nobody", PASSWORD, hasher) is None


def test_inactive_user_is_refused(users, hasher):
    users["archivist"].active = False
    assert users.authenticate("archivist", PASSWORD, hasher) is None


def test_short_password_is_refused(users, hasher):
    with pytest.raises(UserError, match="密码至少需要8个字符"):
        users.add("reviewer", "审核员", ["reviewer"], "short", hasher)
    assert "reviewer" not in users


def test_login_is_stored_lower_case(users, hasher):
    users.add("Reviewer", "审核员", ["reviewer"], PASSWORD, hasher)
    assert "reviewer" in users


@pytest.mark.parametrize("login", ["a", "张三", "has space", "x" * 33, "semi;colon", ""])
def test_bad_login_names_are_refused(users, hasher, login):
    with pytest.raises(UserError, match="登录名"):
        users.add(login, "某人", ["reviewer"], PASSWORD, hasher)


def test_duplicate_login_is_refused(users, hasher):
    with pytest.raises(UserError, match="已存在"):
        users.add("ARCHIVIST", "另一人", ["reviewer"], PASSWORD, hasher)


def test_unknown_role_is_refused(users, hasher):
    with pytest.raises(UserError, match="角色无效"):
        users.add("reviewer", "审核员", ["reviewer", "superuser"], PASSWORD, hasher)


def test_an_account_may_wait_for_its_roles(users, hasher):
    """The system administrator makes the account, the security officer gives the roles."""
    assert users.add("reviewer", "审核员", [], PASSWORD, hasher).roles == ()


@pytest.mark.parametrize("roles", [["sysadmin", "secadmin"], ["sysadmin", "auditor"],
                                   ["secadmin", "auditor"], ["sysadmin", "secadmin", "auditor"]])
def test_no_one_holds_two_of_the_three_duties(users, hasher, roles):
    with pytest.raises(UserError, match="三员分立"):
        users.add("boss", "王主任", roles, PASSWORD, hasher)
    assert "boss" not in users
    with pytest.raises(UserError, match="三员分立"):
        users.set_roles("archivist", roles)
    assert users["archivist"].roles == ("archivist",)


def test_an_administrator_may_also_do_business_work(users, hasher):
    assert users.add("boss", "王主任", ["sysadmin", "archivist"], PASSWORD, hasher).roles == (
        "sysadmin", "archivist")


def test_no_one_changes_his_own_roles(users, hasher):
    users.add("security", "保密员", ["secadmin"], PASSWORD, hasher)
    with pytest.raises(UserError, match="不能修改自己的角色"):
        users.set_roles("security", ["secadmin", "archivist"], by="security")
    users.set_roles("archivist", ["archivist", "reviewer"], by="security")
    assert users["archivist"].roles == ("archivist", "reviewer")


@pytest.mark.parametrize("role", ["secadmin", "auditor"])
def test_system_administrator_keeps_off_the_other_officers_credentials(users, hasher, role):
    admin = users.add("admin", "系统管理员", ["sysadmin"], PASSWORD, hasher)
    officer = users.add("officer", "某员", [role], PASSWORD, hasher)
    with pytest.raises(UserError, match="命令行"):
        users.check_credentials(admin, officer)
    users.check_credentials(officer, officer)          # his own
    users.check_credentials(None, officer)             # the command line
    users.check_credentials(admin, users["archivist"])  # anyone else's


def test_unknown_role_is_refused_when_changing_roles(users):
    with pytest.raises(UserError):
        users.set_roles("archivist", ["root"])
    assert users["archivist"].roles == ("archivist",)


def test_issued_token_finds_its_user(users):
    token = users.issue_token("archivist", "城建系统对接")
    assert users.by_token(token) is users["archivist"]


def test_token_is_stored_only_as_its_digest(users):
    token = users.issue_token("archivist")
    assert list(users["archivist"].tokens.keys()) == [token_digest(token)]


def test_each_token_is_different(users):
    assert users.issue_token("archivist") != users.issue_token("archivist")


@pytest.mark.parametrize("token", ["not-a-token", "", None])
def test_unknown_token_finds_nobody(users, token):
    users.issue_token("archivist")
    assert users.by_token(token) is None


def test_revoked_tokens_find_nobody(users):
    tokens = [users.issue_token("archivist"), users.issue_token("archivist")]
    users.revoke_tokens("archivist")
    assert [users.by_token(t) for t in tokens] == [None, None]


def test_revoking_one_users_tokens_keeps_anothers(users, hasher):
    users.add("reviewer", "审核员", ["reviewer"], PASSWORD, hasher)
    token = users.issue_token("reviewer")
    users.issue_token("archivist")
    users.revoke_tokens("archivist")
    assert users.by_token(token) is users["reviewer"]


def test_token_of_an_inactive_user_finds_nobody(users):
    token = users.issue_token("archivist")
    users["archivist"].active = False
    assert users.by_token(token) is None
