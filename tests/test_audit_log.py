"""The audit log: every change and sign-in is recorded; reading it needs audit_log.view and,
for what concerns a node, that the reader may see the node."""

from __future__ import annotations

import json
from typing import Any

from people_support import call, person
from starlette.testclient import TestClient
from support import LOGIN, gid, graphql

from archivist.core.db import database
from archivist.core.models import AuditEntry
from archivist.graphql.schema import build_schema

LOG = """query($n: ID, $u: ID, $s: DateTime, $first: Int, $after: String) {
  auditLog(nodeId: $n, userId: $u, since: $s, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id action actorName actor { username } node { id } details at } } } }"""
FOLDER = "mutation($t: String!) { createFolder(title: $t) { node { id } errors { code } } }"
RENAME = """mutation($id: ID!, $t: String!) { renameNode(id: $id, title: $t) {
  errors { code } } }"""


def _error(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def test_changes_and_sign_ins_are_recorded_and_read_by_permission(
    client: TestClient, make_user: Any
) -> None:
    _, alice = person(make_user, client, "alice", "Editor", "Administrator")
    _, bob = person(make_user, client, "bob")
    _, admin = person(make_user, client, "root", "Administrator")
    graphql(client, LOGIN, {"username": "bob", "password": "wrong one"})
    folder = call(client, alice, FOLDER, t="Taxes")["createFolder"]["node"]["id"]
    call(client, alice, RENAME, id=folder, t="Taxes 2024")
    call(client, bob, FOLDER, t="Bob's")
    # Without audit_log.view: refused.
    assert _error(graphql(client, LOG, {}, token=bob)) == "PERMISSION_DENIED"
    # A node's history, for its owner.
    history = call(client, alice, LOG, n=folder)["auditLog"]
    entries = [edge["node"] for edge in history["edges"]]
    assert [e["action"] for e in entries] == ["renameNode", "createFolder"]
    assert entries[0]["actor"] == {"username": "alice"} and entries[0]["node"] == {"id": folder}
    assert json.loads(entries[0]["details"]) == {"id": folder, "title": "Taxes 2024"}
    # An administrator reads the log but not the history of nodes they may not see.
    assert _error(graphql(client, LOG, {"n": folder}, token=admin)) == "NOT_FOUND"
    seen = call(client, admin, LOG)["auditLog"]["edges"]
    actions = [(e["node"]["action"], e["node"]["actorName"]) for e in seen]
    assert ("login.failed", "bob") in actions and ("login", "alice") in actions
    assert not any(e["node"]["action"] in {"renameNode", "createFolder"} for e in seen)
    # By person, and page by page.
    mine = call(client, alice, LOG, first=1)["auditLog"]
    assert mine["pageInfo"]["hasNextPage"]
    following = call(client, alice, LOG, first=1, after=mine["pageInfo"]["endCursor"])["auditLog"]
    assert following["edges"][0]["node"]["id"] != mine["edges"][0]["node"]["id"]
    with database.connection_context():
        bob_id = AuditEntry.get(AuditEntry.action == "createFolder", AuditEntry.actor_name == "bob")
    by_bob = call(client, admin, LOG, u=gid("User", bob_id.actor_id))["auditLog"]["edges"]
    assert [e["node"]["action"] for e in by_bob] == ["login"]  # bob's folder is bob's to see


def test_account_events_are_recorded_without_secrets(client: TestClient, make_user: Any) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    made = call(client, admin, """mutation { createUser(username: "bob", password: "secret-pw-1")
      { user { id } } }""")["createUser"]["user"]  # fmt: skip
    call(client, admin, """mutation($id: ID!) { resetPassword(id: $id, password: "other-pw-22")
      { errors { code } } }""", id=made["id"])  # fmt: skip
    call(client, admin, """mutation { createApiToken(name: "cron", expiresInDays: 3)
      { errors { code } } }""")  # fmt: skip
    entries = call(client, admin, LOG)["auditLog"]["edges"]
    actions = [e["node"]["action"] for e in entries]
    for action in ("user.create", "user.reset_password", "token.create", "login"):
        assert action in actions
    text = json.dumps(entries)
    assert "secret-pw-1" not in text and "other-pw-22" not in text


def test_the_log_is_append_only_through_the_api() -> None:
    schema = build_schema()
    assert schema.mutation_type is not None
    assert not [name for name in schema.mutation_type.fields if "audit" in name.lower()]
