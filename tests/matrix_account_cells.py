"""The cells of the permission matrix (tests/test_permission_matrix.py) for accounts,
sessions, groups, roles and the work queue: for each field, one small real operation run as
one kind of person, answering its outcome (see tests/matrix_cells.py)."""

from __future__ import annotations

from typing import Any

from matrix_world import OK, USERNAMES, World, mutation, outcome, registry, seen
from people_support import role_id
from support import TEST_PASSWORD, gid, graphql

from archivist.core.db import database
from archivist.core.models import AccessToken
from archivist.core.permissions import BUILTIN_ROLES, PERMISSIONS

CELLS, cell = registry()


# ---- queries


@cell("Query.me")
def _me(w: World, who: str) -> str:
    body = w.ask(who, "{ me { username } }")
    if body.get("errors"):
        return outcome(body, "me")
    return "self" if body["data"]["me"]["username"] == USERNAMES[who] else str(body)


@cell("Query.ocrLanguages")
def _languages(w: World, who: str) -> str:
    return outcome(w.ask(who, "{ ocrLanguages { engine } }"), "ocrLanguages")


@cell("Query.workQueue")
def _work_queue(w: World, who: str) -> str:
    return outcome(w.ask(who, "{ workQueue { at } }"), "workQueue")


@cell("Query.permissions")
def _permissions(w: World, who: str) -> Any:
    body = w.ask(who, "{ permissions { name } }")
    if body.get("errors"):
        return outcome(body, "permissions")
    return [p["name"] for p in body["data"]["permissions"]] == list(PERMISSIONS) or body


@cell("Query.roles")
def _roles(w: World, who: str) -> Any:
    return seen(w.ask(who, "{ roles { name } }"), "roles", "name",
                {name: name for name in BUILTIN_ROLES})  # fmt: skip


@cell("Query.users")
def _users(w: World, who: str) -> Any:
    return seen(w.ask(who, "{ users { username } }"), "users", "username",
                {"alice": "alice", "friend": "friend"})  # fmt: skip


@cell("Query.groups")
def _groups(w: World, who: str) -> Any:
    return seen(w.ask(who, "{ groups { name } }"), "groups", "name", {"G": "G", "Other": "Other"})


@cell("Query.myTokens")
def _my_tokens(w: World, who: str) -> Any:
    body = w.ask(who, "{ myTokens { id } }")
    if body.get("errors"):
        return outcome(body, "myTokens")
    with database.connection_context():
        own = {gid("AccessToken", t.id) for t in AccessToken.select().where(
            (AccessToken.user == w.account(who)) & AccessToken.revoked_at.is_null())}  # fmt: skip
    listed = {token["id"] for token in body["data"]["myTokens"]}
    return "own" if listed and listed <= own else (listed, own)


# ---- mutations: accounts and sessions


@cell("Mutation.login")
def _login(w: World, who: str) -> str:
    query = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { errors { code } } }"
    return outcome(
        graphql(w.client, query, {"u": USERNAMES.get(who, "friend"), "p": TEST_PASSWORD}), "login"
    )


@cell("Mutation.logout")
def _logout(w: World, who: str) -> str:
    """With a login of its own: the person's token lives on."""
    token = w.login_token(who)[0] if who in w.tokens else None
    body = graphql(w.client, "mutation { logout { errors { code } } }", token=token)
    return outcome(body, "logout")


@cell("Mutation.changePassword")
def _change_password(w: World, who: str) -> str:
    """Changed and changed back with a fresh login, which then serves the person's later
    cells (the change revokes their other tokens)."""
    token = w.login_token(who)[0] if who in w.tokens else None
    query = """mutation($o: String!, $n: String!) { changePassword(oldPassword: $o,
      newPassword: $n) { errors { code } } }"""
    there = graphql(w.client, query, {"o": TEST_PASSWORD, "n": "another good passphrase"},
                    token=token)  # fmt: skip
    if outcome(there, "changePassword") == OK:
        back = graphql(w.client, query, {"o": "another good passphrase", "n": TEST_PASSWORD},
                       token=token)  # fmt: skip
        assert outcome(back, "changePassword") == OK, back
        w.tokens[who] = token
    return outcome(there, "changePassword")


@cell("Mutation.createApiToken")
def _create_api_token(w: World, who: str) -> str:
    return mutation(w, who, "createApiToken", "$n: String!", "name: $n, expiresInDays: 30",
                    n=w.name("script"))  # fmt: skip


@cell("Mutation.revokeToken")
def _revoke_token(w: World, who: str) -> tuple[str, str]:
    """A token of their own, and one of Alice's."""
    outcomes = []
    for whose in (who, "owner"):
        _, token_id = w.login_token(whose)
        outcomes.append(mutation(w, who, "revokeToken", "$id: ID!", "id: $id", id=token_id))
    return outcomes[0], outcomes[1]


@cell("Mutation.createUser")
def _create_user(w: World, who: str) -> str:
    return mutation(w, who, "createUser", "$u: String!, $p: String!", "username: $u, password: $p",
                    u=w.name("new"), p=TEST_PASSWORD)  # fmt: skip


@cell("Mutation.updateUser")
def _update_user(w: World, who: str) -> str:
    return mutation(w, who, "updateUser", "$id: ID!", 'id: $id, email: "v@example.org"',
                    id=gid("User", w.user()))  # fmt: skip


@cell("Mutation.deleteUser")
def _delete_user(w: World, who: str) -> str:
    return mutation(w, who, "deleteUser", "$id: ID!, $to: ID", "id: $id, handToUserId: $to",
                    id=gid("User", w.user()), to=gid("User", w.friend))  # fmt: skip


@cell("Mutation.resetPassword")
def _reset_password(w: World, who: str) -> str:
    return mutation(w, who, "resetPassword", "$id: ID!", 'id: $id, password: "a new passphrase!"',
                    id=gid("User", w.user()))  # fmt: skip


@cell("Mutation.setUserRoles")
def _set_user_roles(w: World, who: str) -> str:
    return mutation(w, who, "setUserRoles", "$id: ID!, $r: [ID!]!", "userId: $id, roleIds: $r",
                    id=gid("User", w.user()), r=[role_id("Viewer")])  # fmt: skip


@cell("Mutation.createGroup")
def _create_group(w: World, who: str) -> str:
    return mutation(w, who, "createGroup", "$n: String!", "name: $n", n=w.name("group"))


@cell("Mutation.renameGroup")
def _rename_group(w: World, who: str) -> str:
    return mutation(w, who, "renameGroup", "$id: ID!, $n: String!", "id: $id, name: $n",
                    id=w.new_group(), n=w.name("renamed"))  # fmt: skip


@cell("Mutation.addGroupMembers")
def _add_members(w: World, who: str) -> str:
    return mutation(w, who, "addGroupMembers", "$id: ID!, $u: [ID!]!", "id: $id, userIds: $u",
                    id=w.new_group(), u=[gid("User", w.friend)])  # fmt: skip


@cell("Mutation.removeGroupMembers")
def _remove_members(w: World, who: str) -> str:
    group, friend = w.new_group(), [gid("User", w.friend)]
    added = mutation(w, "member Administrator", "addGroupMembers", "$id: ID!, $u: [ID!]!",
                     "id: $id, userIds: $u", id=group, u=friend)  # fmt: skip
    assert added == OK
    return mutation(w, who, "removeGroupMembers", "$id: ID!, $u: [ID!]!",
                    "id: $id, userIds: $u", id=group, u=friend)  # fmt: skip


@cell("Mutation.setGroupRoles")
def _set_group_roles(w: World, who: str) -> str:
    return mutation(w, who, "setGroupRoles", "$id: ID!, $r: [ID!]!", "groupId: $id, roleIds: $r",
                    id=w.new_group(), r=[role_id("Viewer")])  # fmt: skip


@cell("Mutation.deleteGroup")
def _delete_group(w: World, who: str) -> str:
    return mutation(w, who, "deleteGroup", "$id: ID!, $to: ID", "id: $id, handToUserId: $to",
                    id=w.new_group(), to=gid("User", w.friend))  # fmt: skip


@cell("Mutation.createRole")
def _create_role(w: World, who: str) -> str:
    return mutation(w, who, "createRole", "$n: String!", 'name: $n, permissions: ["node.view"]',
                    n=w.name("role"))  # fmt: skip


@cell("Mutation.updateRole")
def _update_role(w: World, who: str) -> str:
    return mutation(w, who, "updateRole", "$id: ID!, $n: String!", "id: $id, name: $n",
                    id=w.role(), n=w.name("renamed"))  # fmt: skip


@cell("Mutation.deleteRole")
def _delete_role(w: World, who: str) -> str:
    return mutation(w, who, "deleteRole", "$id: ID!", "id: $id", id=w.role())


@cell("Mutation.retryJob")
def _retry_job(w: World, who: str) -> str:
    return mutation(w, who, "retryJob", "$j: String!", "jobId: $j", j="no-such-job")


@cell("Mutation.discardJob")
def _discard_job(w: World, who: str) -> str:
    return mutation(w, who, "discardJob", "$j: String!", "jobId: $j", j="no-such-job")
