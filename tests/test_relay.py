"""Relay conventions: global ids, ``node(id)`` for every type, full connections, keyset cursors."""

from __future__ import annotations

import base64

import pytest
from graphql import GraphQLObjectType
from starlette.testclient import TestClient
from support import gid, graphql, login, make_document
from support import graphql_data as run

from archivist.core.accounts.roles import ensure_builtin_roles, give_roles
from archivist.core.db import database
from archivist.core.ids import TYPES
from archivist.core.models import DocumentVersion, Node, Page
from archivist.graphql.schema import build_schema


@pytest.fixture
def alice(client: TestClient, make_user) -> tuple[str, int, int]:
    user = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == user.id) & (Node.special == "home"))
    return login(client, "alice"), user.id, home.id


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
TYPE = """mutation { createDocumentType(name: "Bill", fields: [{name: "Amount", kind: NUMBER}]) {
  documentType { id fields { id } } } }"""


def test_every_object_with_an_id_is_a_node_and_found_again(client: TestClient, alice) -> None:
    token, user, home = alice
    document = make_document(home, user, "letter", ["hello"])
    with database.connection_context():
        version = DocumentVersion.get(DocumentVersion.document == document)
        page = Page.get(Page.version == version.id)
    tag = run(client, token, 'mutation { createTag(name: "red") { tag { id } } }')
    kind = run(client, token, TYPE)["createDocumentType"]["documentType"]
    me = run(client, token, "{ me { id home { id } } }")["me"]
    with database.connection_context():  # an Administrator may see groups and the audit log
        give_roles(user, [ensure_builtin_roles()["Administrator"]])
    token = login(client, "alice")
    made = run(client, token, 'mutation { createGroup(name: "Family") { group { id } } }')
    group = made["createGroup"]["group"]["id"]
    roles = {
        role["name"]: role["id"] for role in run(client, token, "{ roles { id name } }")["roles"]
    }
    shared = run(
        client, token,
        "mutation($n: ID!, $r: ID!, $g: ID) { shareNode(nodeId: $n, roleId: $r, groupId: $g) "
        "{ share { id } errors { code } } }",
        n=gid("Document", document), r=roles["Viewer"], g=group,
    )["shareNode"]  # fmt: skip
    assert shared["errors"] == []
    tokens = run(client, token, "{ myTokens { id current } }")["myTokens"]
    log = run(client, token, "{ auditLog(first: 1) { edges { node { id } } } }")["auditLog"]
    ids = {
        "User": me["id"],
        "Folder": me["home"]["id"],
        "Document": gid("Document", document),
        "DocumentVersion": gid("DocumentVersion", version.id),
        "Page": gid("Page", page.id),
        "Tag": tag["createTag"]["tag"]["id"],
        "DocumentType": kind["id"],
        "CustomField": kind["fields"][0]["id"],
        "Group": group,
        "Role": roles["Editor"],
        "Share": shared["share"]["id"],
        "AccessToken": next(t["id"] for t in tokens if t["current"]),
        "AuditEntry": log["edges"][0]["node"]["id"],
    }
    assert set(ids) == set(TYPES)
    for type_name, value in ids.items():
        assert run(client, token, NODE, id=value)["node"] == {"__typename": type_name, "id": value}
    # Global ids are unique across types: the same row number never names two things.
    assert len(set(ids.values())) == len(ids)
    assert base64.urlsafe_b64decode(ids["Folder"] + "==").decode() == f"Folder:{home}"


def test_every_type_with_an_id_implements_node() -> None:
    schema = build_schema()
    with_ids = {
        name: named
        for name, named in schema.type_map.items()
        if isinstance(named, GraphQLObjectType) and "id" in named.fields
    }
    assert set(with_ids) == set(TYPES)
    for name, named in with_ids.items():
        assert "Node" in [interface.name for interface in named.interfaces], name


def test_an_id_of_another_type_or_person_is_answered_as_missing(
    client: TestClient, alice, make_user
) -> None:
    token, user, home = alice
    document = gid("Document", make_document(home, user, "letter", ["hello"]))
    tag = run(client, token, 'mutation { createTag(name: "red") { tag { id } } }')
    tag_id = tag["createTag"]["tag"]["id"]
    bob = make_user("bob")
    bob_token = login(client, "bob")
    with database.connection_context():
        bobs_home = Node.get((Node.owner_user == bob.id) & (Node.special == "home")).id
    # Row 1 of every table exists; only the type in the id says which one is meant.
    for value in (
        gid("Tag", home),  # a tag id with the Home folder's row number
        gid("User", home),
        gid("Document", home),  # Home is a folder
        gid("Folder", row_id_of(document)),
        gid("Folder", bobs_home),
        gid("User", bob.id),
        "Rm9sZGVyOjEy=",  # padded: not the spelling we give out
        "Rm9sZGVyOjAxMg",  # Folder:012
        tag_id + "x",
    ):
        assert run(client, token, NODE, id=value)["node"] is None, value
    assert run(client, bob_token, NODE, id=tag_id)["node"] is None
    rename = (
        'mutation($id: ID!) { renameNode(id: $id, title: "x") { errors { code message field } } }'
    )
    as_tag = run(client, token, rename, id=gid("Tag", home))["renameNode"]["errors"]
    missing = run(client, token, rename, id=gid("Folder", 2**31 - 1))["renameNode"]["errors"]
    assert as_tag == missing == [
        {"code": "NOT_FOUND", "field": "id",
         "message": "No node with this id exists, or you may not see it."}
    ]  # fmt: skip
    update = 'mutation($id: ID!) { updateTag(id: $id, name: "x") { errors { code message } } }'
    folder_as_tag = run(client, token, update, id=gid("Folder", home))["updateTag"]["errors"]
    assert (
        folder_as_tag == run(client, token, update, id=gid("Tag", 2**31 - 1))["updateTag"]["errors"]
    )


def row_id_of(value: str) -> int:
    return int(base64.urlsafe_b64decode(value + "==").decode().split(":")[1])


LIST = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
  $order: ChildrenOrder) { node(id: $id) { ... on Folder {
  children(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount edges { cursor node { title } }
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } } } }"""
CREATE = "mutation($t: String!) { createFolder(title: $t) { node { id } errors { code } } }"


def children(client: TestClient, token: str, home: int, **arguments) -> dict:
    data = run(client, token, LIST, id=gid("Folder", home), **arguments)
    listing: dict = data["node"]["children"]
    return listing


def titles(listing: dict) -> list[str]:
    return [edge["node"]["title"] for edge in listing["edges"]]


def test_cursors_keep_their_place_when_items_come_and_go(client: TestClient, alice) -> None:
    token, _, home = alice
    for title in ("b", "d", "f", "h"):
        run(client, token, CREATE, t=title)
    first = children(client, token, home, first=2)
    assert titles(first) == ["b", "d"]
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    # Someone adds an item before the cursor: the next page neither repeats nor skips.
    run(client, token, CREATE, t="a")
    after = children(client, token, home, first=2, after=first["pageInfo"]["endCursor"])
    assert titles(after) == ["f", "h"]
    assert after["pageInfo"]["hasPreviousPage"] is True
    assert after["pageInfo"]["hasNextPage"] is False
    assert after["totalCount"] == 5
    # Backward from the end and from a cursor.
    assert titles(children(client, token, home, last=2)) == ["f", "h"]
    back = children(client, token, home, last=2, before=after["pageInfo"]["startCursor"])
    assert titles(back) == ["b", "d"]
    assert back["pageInfo"]["hasPreviousPage"] is True  # "a" came meanwhile
    assert back["pageInfo"]["hasNextPage"] is True
    # A cursor is for the order it came with.
    body = graphql(
        client, LIST,
        {"id": gid("Folder", home), "after": first["pageInfo"]["endCursor"],
         "order": {"by": "CREATED"}},
        token=token,
    )  # fmt: skip
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]


@pytest.mark.parametrize("by", ["TITLE", "CREATED", "UPDATED", "KIND", "TYPE"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_paging_through_any_order_gives_each_item_once(
    client: TestClient, alice, by: str, direction: str
) -> None:
    token, user, home = alice
    for title in ("Same", "same 2", "other", "Zed"):  # (MariaDB: titles ignore case)
        make_document(home, user, title, ["x"])
        run(client, token, CREATE, t=f"{title} folder")
    order = {"by": by, "direction": direction}
    whole = titles(children(client, token, home, first=100, order=order))
    assert sorted(whole) == sorted(set(whole)) and len(whole) == 8
    seen, cursor = [], None
    while True:
        page = children(client, token, home, first=3, after=cursor, order=order)
        assert page["pageInfo"]["hasPreviousPage"] is (cursor is not None)
        seen += titles(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert seen == whole
    seen, cursor = [], None
    while True:
        page = children(client, token, home, last=3, before=cursor, order=order)
        assert page["pageInfo"]["hasNextPage"] is (cursor is not None)
        seen = titles(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        cursor = page["pageInfo"]["startCursor"]
    assert seen == whole


def test_paging_by_a_custom_field_with_missing_values(client: TestClient, alice) -> None:
    token, user, home = alice
    kind = run(client, token, TYPE)["createDocumentType"]["documentType"]
    field = kind["fields"][0]["id"]
    for title, amount in (("a", "5"), ("b", None), ("c", "1.5"), ("d", None), ("e", "5")):
        doc = gid("Document", make_document(home, user, title, ["x"]))
        run(client, token, 'mutation($d: ID!, $t: ID) { setDocumentType(documentId: $d, typeId: $t) { errors { code } } }', d=doc, t=kind["id"])  # fmt: skip
        if amount is not None:
            run(client, token, "mutation($d: ID!, $v: [CustomFieldValueInput!]!) { setCustomFieldValues(documentId: $d, values: $v) { errors { code } } }", d=doc, v=[{"fieldId": field, "value": amount}])  # fmt: skip
    order = {"by": "FIELD", "fieldId": field}
    whole = titles(children(client, token, home, first=100, order=order))
    assert whole == ["c", "a", "e", "b", "d"]
    seen, cursor = [], None
    for _ in range(5):
        page = children(client, token, home, first=1, after=cursor, order=order)
        assert page["pageInfo"]["hasPreviousPage"] is (cursor is not None)
        seen += titles(page)
        cursor = page["pageInfo"]["endCursor"]
    assert seen == whole


def test_trash_and_pages_page_by_key(client: TestClient, alice) -> None:
    token, user, home = alice
    document = gid("Document", make_document(home, user, "long", ["one", "two", "three"]))
    pages = """query($id: ID!, $after: String) { document(id: $id) { pages(first: 2, after: $after) {
      edges { node { number } } pageInfo { hasNextPage endCursor } } } }"""
    first = run(client, token, pages, id=document)["document"]["pages"]
    assert [e["node"]["number"] for e in first["edges"]] == [1, 2]
    rest = run(client, token, pages, id=document, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["number"] for e in rest["document"]["pages"]["edges"]] == [3]
    folders = [run(client, token, CREATE, t=t)["createFolder"]["node"]["id"] for t in "xyz"]
    delete = "mutation($ids: [ID!]!) { deleteNodes(ids: $ids) { errors { code } } }"
    for folder in folders:
        run(client, token, delete, ids=[folder])
    trash = "query($after: String) { trash(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }"  # fmt: skip
    whole = run(client, token, "{ trash { edges { node { id } } } }")["trash"]["edges"]
    page = run(client, token, trash)["trash"]
    rest = run(client, token, trash, after=page["pageInfo"]["endCursor"])["trash"]
    assert page["edges"] + rest["edges"] == whole
    assert sorted(e["node"]["id"] for e in whole) == sorted(folders)
    # A trash cursor is no folder listing's cursor.
    body = graphql(client, LIST, {"id": gid("Folder", home), "after": page["pageInfo"]["endCursor"]},
                   token=token)  # fmt: skip
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]
