"""Mutation payloads carry what an optimistic UI needs to update its cache."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import gid, login, make_document
from support import graphql_data as run

from archivist.core.db import database
from archivist.core.models import Node


@pytest.fixture
def alice(client: TestClient, make_user) -> tuple[str, int, int]:
    user = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == user.id) & (Node.special == "home"))
    return login(client, "alice"), user.id, home.id


CREATE = "mutation($p: ID, $t: String!) { createFolder(parentId: $p, title: $t) { node { id } } }"
MOVE = """mutation($ids: [ID!]!, $t: ID!) { moveNodes(ids: $ids, targetId: $t) {
  nodes { id } sources { id title } target { id title } errors { code field } } }"""


def test_move_names_the_folders_left_and_entered(client: TestClient, alice) -> None:
    token, user, home = alice
    a = run(client, token, CREATE, t="A")["createFolder"]["node"]["id"]
    b = run(client, token, CREATE, t="B")["createFolder"]["node"]["id"]
    inner = run(client, token, CREATE, p=a, t="inner")["createFolder"]["node"]["id"]
    letter = gid("Document", make_document(home, user, "letter", ["hello"]))
    moved = run(client, token, MOVE, ids=[inner, letter], t=b)["moveNodes"]
    assert moved == {
        "nodes": [{"id": inner}, {"id": letter}],
        "sources": [{"id": a, "title": "A"}, {"id": gid("Folder", home), "title": "Home"}],
        "target": {"id": b, "title": "B"},
        "errors": [],
    }


@pytest.mark.parametrize(
    ("mutation", "argument"),
    [
        ("moveNodes(ids: $ids, targetId: $home)", "ids"),
        ("deleteNodes(ids: $ids)", "ids"),
        ("restoreNodes(ids: $ids)", "ids"),
        ("tagNodes(nodeIds: $ids, tagIds: [])", "nodeIds"),
    ],
)
def test_errors_name_the_argument_at_fault(
    client: TestClient, alice, mutation: str, argument: str
) -> None:
    token, _, home = alice
    home_variable = ", $home: ID!" if "$home" in mutation else ""
    query = f"mutation($ids: [ID!]!{home_variable}) {{ {mutation} {{ errors {{ code field }} }} }}"
    variables = {"home": gid("Folder", home)} if home_variable else {}
    data = run(client, token, query, ids=[gid("Folder", 2**31 - 1)], **variables)
    assert next(iter(data.values()))["errors"] == [{"code": "NOT_FOUND", "field": argument}]


def test_delete_tag_names_the_tag_and_what_carried_it(client: TestClient, alice) -> None:
    token, user, home = alice
    tag = run(client, token, 'mutation { createTag(name: "red") { tag { id } } }')
    tag_id = tag["createTag"]["tag"]["id"]
    folder = run(client, token, CREATE, t="A")["createFolder"]["node"]["id"]
    letter = gid("Document", make_document(home, user, "letter", ["hello"]))
    run(
        client, token,
        "mutation($n: [ID!]!, $t: [ID!]!) { tagNodes(nodeIds: $n, tagIds: $t) { errors { code } } }",
        n=[folder, letter], t=[tag_id],
    )  # fmt: skip
    deleted = run(
        client, token,
        "mutation($id: ID!) { deleteTag(id: $id) { deletedTagId count errors { code }"
        " nodes { id tags { name } } } }",
        id=tag_id,
    )["deleteTag"]  # fmt: skip
    assert deleted == {
        "deletedTagId": tag_id,
        "count": 1,
        "errors": [],
        "nodes": [{"id": folder, "tags": []}, {"id": letter, "tags": []}],
    }
    again = run(client, token, "mutation($id: ID!) { deleteTag(id: $id) { deletedTagId errors { code field } } }", id=tag_id)  # fmt: skip
    assert again["deleteTag"] == {
        "deletedTagId": None, "errors": [{"code": "NOT_FOUND", "field": "id"}]
    }  # fmt: skip
