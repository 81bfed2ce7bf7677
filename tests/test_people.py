"""Roles, groups and accounts over GraphQL: what each person may do, and nothing more."""

from __future__ import annotations

from typing import Any

from people_support import call, codes, person, role_id, special
from starlette.testclient import TestClient
from support import TEST_PASSWORD, gid, graphql, login, make_document, row_id

from archivist.core.db import database
from archivist.core.models import AccessToken, Membership, Node, User
from archivist.core.permissions import BUILTIN_ROLES, PERMISSIONS
from archivist.core.search import page_records, search_index
from archivist.core.settings import Settings

NODE = "query($id: ID!) { node(id: $id) { id ... on Item { title } } }"
FOLDER = """mutation($p: ID, $t: String!) { createFolder(parentId: $p, title: $t) {
  node { id } errors { code message } } }"""
RENAME = """mutation($id: ID!, $t: String!) { renameNode(id: $id, title: $t) {
  node { title } errors { code } } }"""
SEARCH = (
    "query($q: String!) { search(query: $q) { totalCount edges { node { document { id } } } } }"
)
ME = "{ me { id username permissions roles { name } } }"


def test_the_permissions_and_builtin_roles_are_listed(client: TestClient, make_user: Any) -> None:
    _, token = person(make_user, client, "alice")
    data = call(
        client, token, "{ permissions { name description } roles { name builtin permissions } }"
    )
    assert [p["name"] for p in data["permissions"]] == list(PERMISSIONS)
    assert all(p["description"] for p in data["permissions"])
    roles = {role["name"]: role for role in data["roles"]}
    assert set(roles) == set(BUILTIN_ROLES)
    assert roles["Viewer"]["permissions"] == sorted(BUILTIN_ROLES["Viewer"])
    assert all(role["builtin"] for role in roles.values())
    me = call(client, token, ME)["me"]
    assert [r["name"] for r in me["roles"]] == ["Editor"]  # the default for a new account
    assert me["permissions"] == sorted(BUILTIN_ROLES["Editor"])


def test_a_viewer_role_sees_its_own_folders_but_changes_nothing(
    client: TestClient, make_user: Any
) -> None:
    user, token = person(make_user, client, "val", "Viewer")
    home = gid("Folder", special(user.id))
    assert call(client, token, NODE, id=home)["node"] == {"id": home, "title": "Home"}
    made = call(client, token, FOLDER, p=None, t="Taxes")["createFolder"]
    assert codes(made) == ["PERMISSION_DENIED"] and "node.create" in made["errors"][0]["message"]
    tag = call(client, token, 'mutation { createTag(name: "x") { errors { code } } }')
    assert codes(tag["createTag"]) == ["PERMISSION_DENIED"]


def test_without_any_role_nothing_is_visible(client: TestClient, make_user: Any) -> None:
    user = make_user("nobody", roles=[])
    token = login(client, "nobody")
    assert call(client, token, NODE, id=gid("Folder", special(user.id)))["node"] is None


def test_only_an_administrator_manages_accounts(client: TestClient, make_user: Any) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    _, alice = person(make_user, client, "alice")
    create = """mutation($r: [ID!]) { createUser(username: "bob", password: "secret-pw-1",
      roleIds: $r) { user { id username roles { name } isActive home { id } } errors { code } } }"""
    refused = call(client, alice, create, r=None)["createUser"]
    assert codes(refused) == ["PERMISSION_DENIED"] and refused["user"] is None
    body = graphql(client, "{ users { username } }", token=alice)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    made = call(client, admin, create, r=[role_id("Viewer")])["createUser"]
    assert made["errors"] == [] and made["user"]["roles"] == [{"name": "Viewer"}]
    # An administrator sees the account, not its folders.
    assert made["user"]["home"] is None
    names = [u["username"] for u in call(client, admin, "{ users { username } }")["users"]]
    assert names == ["alice", "bob", "root"]
    assert login(client, "bob", "secret-pw-1")


def test_deactivating_revokes_tokens_at_once(client: TestClient, make_user: Any) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    bob, bob_token = person(make_user, client, "bob")
    update = """mutation($id: ID!, $a: Boolean) { updateUser(id: $id, isActive: $a) {
      user { isActive } errors { code } } }"""
    assert codes(
        call(client, bob_token, update, id=gid("User", bob.id), a=False)["updateUser"]
    ) == ["PERMISSION_DENIED"]
    done = call(client, admin, update, id=gid("User", bob.id), a=False)["updateUser"]
    assert done == {"user": {"isActive": False}, "errors": []}
    body = graphql(client, "{ me { id } }", token=bob_token)
    assert body["errors"][0]["extensions"]["code"] in {"INVALID_TOKEN", "TOKEN_REVOKED"}
    with database.connection_context():
        assert (
            not AccessToken.select()
            .where((AccessToken.user == bob.id) & AccessToken.revoked_at.is_null())
            .exists()
        )


def test_deleting_an_account_hands_its_documents_on(
    client: TestClient, make_user: Any, settings: Settings
) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    bob, _ = person(make_user, client, "bob")
    carol, carol_token = person(make_user, client, "carol")
    with database.connection_context():
        letter = make_document(special(bob.id), bob.id, "letter", ["zebra letter"])
        scan = make_document(special(bob.id, which="inbox"), bob.id, "scan", ["zebra scan"])
    delete = """mutation($id: ID!, $u: ID, $g: ID) { deleteUser(id: $id, handToUserId: $u,
      handToGroupId: $g) { deletedId errors { code } } }"""
    missing = call(client, admin, delete, id=gid("User", bob.id))["deleteUser"]
    assert codes(missing) == ["HAND_TO_REQUIRED"]
    done = call(client, admin, delete, id=gid("User", bob.id), u=gid("User", carol.id))
    assert done["deleteUser"] == {"deletedId": gid("User", bob.id), "errors": []}
    with database.connection_context():
        assert User.get_or_none(User.id == bob.id) is None
        for document in (letter, scan):
            node = Node.get_by_id(document)
            assert node.owner_user_id == carol.id
        handed = Node.get((Node.parent == special(carol.id)) & (Node.title == "From bob"))
        assert Node.get_by_id(letter).parent_id == handed.id
        inbox = Node.get((Node.parent == handed.id) & (Node.title == "Inbox"))
        assert Node.get_by_id(scan).parent_id == inbox.id
    assert call(client, carol_token, NODE, id=gid("Document", letter))["node"]["title"] == "letter"


def test_password_changes_and_resets(client: TestClient, make_user: Any) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    bob, first = person(make_user, client, "bob")
    second = login(client, "bob")
    change = """mutation($o: String!, $n: String!) { changePassword(oldPassword: $o,
      newPassword: $n) { count errors { code field } } }"""
    wrong = call(client, second, change, o="nope", n="new-password-1")["changePassword"]
    assert wrong["errors"] == [{"code": "INVALID_CREDENTIALS", "field": "oldPassword"}]
    done = call(client, second, change, o=TEST_PASSWORD, n="new-password-1")["changePassword"]
    assert done == {"count": 1, "errors": []}  # the other token
    assert "errors" in graphql(client, "{ me { id } }", token=first)
    assert call(client, second, "{ me { username } }")["me"]["username"] == "bob"
    assert login(client, "bob", "new-password-1")
    reset = """mutation($id: ID!) { resetPassword(id: $id, password: "from-admin-1") {
      errors { code } } }"""
    assert call(client, admin, reset, id=gid("User", bob.id))["resetPassword"]["errors"] == []
    assert "errors" in graphql(client, "{ me { id } }", token=second)
    assert login(client, "bob", "from-admin-1")


def test_named_api_tokens(client: TestClient, make_user: Any) -> None:
    _, token = person(make_user, client, "alice")
    made = call(
        client,
        token,
        """mutation { createApiToken(name: "backup script",
      expiresInDays: 30) { token accessToken { id name current } errors { code } } }""",
    )
    made = made["createApiToken"]
    assert made["errors"] == [] and made["accessToken"]["name"] == "backup script"
    assert not made["accessToken"]["current"]
    script = made["token"]
    assert call(client, script, "{ me { username } }")["me"]["username"] == "alice"
    mine = call(client, token, "{ myTokens { id name current } }")["myTokens"]
    assert [(t["name"], t["current"]) for t in mine] == [("backup script", False), (None, True)]
    bad = call(
        client,
        token,
        """mutation { createApiToken(name: "x", expiresInDays: 0) {
      errors { code } } }""",
    )
    assert codes(bad["createApiToken"]) == ["INVALID_EXPIRY"]
    # Someone else's token id is not found; one's own is revoked at once.
    _, bob = person(make_user, client, "bob")
    revoke = (
        "mutation($id: ID!) { revokeToken(id: $id) { accessToken { revokedAt } errors { code } } }"
    )
    assert codes(call(client, bob, revoke, id=made["accessToken"]["id"])["revokeToken"]) == [
        "NOT_FOUND"
    ]
    done = call(client, token, revoke, id=made["accessToken"]["id"])["revokeToken"]
    assert done["errors"] == [] and done["accessToken"]["revokedAt"]
    assert "errors" in graphql(client, "{ me { id } }", token=script)


GROUP = """mutation($n: String!, $m: [ID!]) { createGroup(name: $n, memberIds: $m) {
  group { id name home { id } members { username } } errors { code } } }"""


def test_group_members_share_the_groups_folders_and_search(
    client: TestClient, make_user: Any, settings: Settings
) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob", "Viewer")
    _, carol_token = person(make_user, client, "carol")
    refused = call(client, alice_token, GROUP, n="Family", m=[])["createGroup"]
    assert codes(refused) == ["PERMISSION_DENIED"]
    made = call(client, admin, GROUP, n="Family", m=[gid("User", alice.id), gid("User", bob.id)])
    group = made["createGroup"]["group"]
    assert group["home"] is None  # the administrator is no member: no access
    assert [m["username"] for m in group["members"]] == ["alice", "bob"]
    group_row = row_id(group["id"])
    home = special(group_id=group_row)
    # alice (Editor) works in the group's Home; bob (Viewer) sees it but changes nothing.
    folder = call(client, alice_token, FOLDER, p=gid("Folder", home), t="Bills")["createFolder"]
    assert folder["errors"] == []
    assert codes(call(client, bob_token, RENAME, id=folder["node"]["id"], t="x")["renameNode"]) == [
        "PERMISSION_DENIED"
    ]
    assert call(client, bob_token, NODE, id=folder["node"]["id"])["node"]["title"] == "Bills"
    assert call(client, carol_token, NODE, id=folder["node"]["id"])["node"] is None
    with database.connection_context():
        document = make_document(home, alice.id, "power bill", ["zebra electricity"])
        Node.update(owner_user=None, owner_group=group_row).where(Node.id == document).execute()
        search_index(settings).replace_document(document, page_records(document))
    for token, count in ((alice_token, 1), (bob_token, 1), (carol_token, 0), (admin, 0)):
        assert call(client, token, SEARCH, q="zebra")["search"]["totalCount"] == count
    groups = call(client, bob_token, "{ groups { name home { id } } }")["groups"]
    assert groups == [{"name": "Family", "home": {"id": gid("Folder", home)}}]
    # Removing a member takes their access away at their next request.
    remove = """mutation($g: ID!, $u: [ID!]!) { removeGroupMembers(id: $g, userIds: $u) {
      group { members { username } } errors { code } } }"""
    done = call(client, admin, remove, g=group["id"], u=[gid("User", bob.id)])
    assert done["removeGroupMembers"]["group"]["members"] == [{"username": "alice"}]
    assert call(client, bob_token, NODE, id=folder["node"]["id"])["node"] is None
    assert call(client, bob_token, SEARCH, q="zebra")["search"]["totalCount"] == 0
    with database.connection_context():
        assert Membership.select().count() == 1


def test_group_rename_roles_and_delete(client: TestClient, make_user: Any) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    alice, alice_token = person(make_user, client, "alice", "Viewer")
    group = call(client, admin, GROUP, n="Office", m=[gid("User", alice.id)])["createGroup"][
        "group"
    ]
    # Roles through the group: Editor for its members.
    give = """mutation($g: ID!, $r: [ID!]!) { setGroupRoles(groupId: $g, roleIds: $r) {
      group { roles { name } } errors { code } } }"""
    done = call(client, admin, give, g=group["id"], r=[role_id("Editor")])["setGroupRoles"]
    assert done == {"group": {"roles": [{"name": "Editor"}]}, "errors": []}
    me = call(client, alice_token, ME)["me"]
    assert "node.create" in me["permissions"] and [r["name"] for r in me["roles"]] == ["Viewer"]
    made = call(client, alice_token, FOLDER, p=None, t="Own")["createFolder"]
    assert made["errors"] == []
    rename = """mutation($g: ID!) { renameGroup(id: $g, name: "Office 2") { group { name }
      errors { code } } }"""
    assert (
        call(client, alice_token, rename, g=group["id"])["renameGroup"]["errors"][0]["code"]
        == "PERMISSION_DENIED"
    )
    assert call(client, admin, rename, g=group["id"])["renameGroup"]["group"]["name"] == "Office 2"
    taken = call(client, admin, GROUP, n="Office 2", m=[])["createGroup"]
    assert codes(taken) == ["NAME_TAKEN"]
    # Deleting it hands its folders to alice.
    group_row = row_id(group["id"])
    with database.connection_context():
        document = make_document(special(group_id=group_row), alice.id, "minutes", ["x"])
        Node.update(owner_user=None, owner_group=group_row).where(Node.id == document).execute()
    delete = """mutation($g: ID!, $u: ID) { deleteGroup(id: $g, handToUserId: $u) {
      deletedId errors { code } } }"""
    done = call(client, admin, delete, g=group["id"], u=gid("User", alice.id))["deleteGroup"]
    assert done == {"deletedId": group["id"], "errors": []}
    with database.connection_context():
        assert Node.get_by_id(document).owner_user_id == alice.id
    # Without the group, alice is a Viewer again.
    assert codes(call(client, alice_token, FOLDER, p=None, t="More")["createFolder"]) == [
        "PERMISSION_DENIED"
    ]


def test_custom_roles(client: TestClient, make_user: Any) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    bob, bob_token = person(make_user, client, "bob")
    create = """mutation($n: String!, $p: [String!]!) { createRole(name: $n, permissions: $p) {
      role { id name permissions builtin } errors { code } } }"""
    bad = call(client, admin, create, n="Odd", p=["node.fly"])["createRole"]
    assert codes(bad) == ["UNKNOWN_PERMISSION"]
    assert codes(call(client, bob_token, create, n="R", p=[])["createRole"]) == [
        "PERMISSION_DENIED"
    ]
    role = call(client, admin, create, n="Reader", p=["node.view", "tag.view"])["createRole"][
        "role"
    ]
    assert role["permissions"] == ["node.view", "tag.view"] and not role["builtin"]
    builtin = call(
        client,
        admin,
        """mutation($id: ID!) { updateRole(id: $id, name: "X") {
      errors { code } } }""",
        id=role_id("Editor"),
    )["updateRole"]
    assert codes(builtin) == ["BUILTIN_ROLE"]
    give = """mutation($u: ID!, $r: [ID!]!) { setUserRoles(userId: $u, roleIds: $r) {
      user { roles { name } } errors { code } } }"""
    done = call(client, admin, give, u=gid("User", bob.id), r=[role["id"]])["setUserRoles"]
    assert done == {"user": {"roles": [{"name": "Reader"}]}, "errors": []}
    assert codes(call(client, bob_token, FOLDER, p=None, t="x")["createFolder"]) == [
        "PERMISSION_DENIED"
    ]
    delete = """mutation($id: ID!) { deleteRole(id: $id) { deletedId errors { code } } }"""
    assert call(client, admin, delete, id=role["id"])["deleteRole"]["errors"] == []
    assert call(client, bob_token, ME)["me"]["permissions"] == []
