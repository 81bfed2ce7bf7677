"""Shares: a folder or document shared with a user or a group, with a role; what is below a
shared folder is shared too; revoking takes effect at once. Attacked as a stranger and as
the person it is shared with (no reading or changing beyond what the share's role allows)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from people_support import call, codes, person, role_id, special
from starlette.testclient import TestClient
from support import gid, graphql, make_document, row_id

from archivist.core.db import database
from archivist.core.models import Document, DocumentVersion, Node
from archivist.core.search import index_entry, page_records, search_index
from archivist.core.settings import Settings
from archivist.core.storage import Storage

SHARE = """mutation($n: ID!, $r: ID!, $u: ID, $g: ID) { shareNode(nodeId: $n, roleId: $r,
  userId: $u, groupId: $g) { share { id role { name } user { username } group { name } }
  node { id } errors { code } } }"""
REVOKE = "mutation($id: ID!) { revokeShare(id: $id) { deletedId errors { code } } }"
NODE = """query($id: ID!) { node(id: $id) { id ... on Item { title breadcrumb { title }
  ... on Document { originalUrl } } } }"""
FOLDER = """mutation($p: ID, $t: String!) { createFolder(parentId: $p, title: $t) {
  node { id } errors { code } } }"""
RENAME = """mutation($id: ID!, $t: String!) { renameNode(id: $id, title: $t) {
  node { title } errors { code } } }"""
SEARCH = (
    "query($q: String!) { search(query: $q) { totalCount edges { node { document { id } } } } }"
)
SHARED = "{ sharedWithMe { id title } }"


def _with_file(settings: Settings, tmp_path: Path, document: int) -> None:
    """Give a document made in the database a real stored file (for the file routes)."""
    source = tmp_path / "file.pdf"
    source.write_bytes(b"%PDF-1.4\n% a stand-in for a file route test\n")
    digest = Storage(settings.storage_dir).put(source)
    Document.update(original_hash=digest).where(Document.node == document).execute()
    DocumentVersion.update(file_hash=digest).where(DocumentVersion.document == document).execute()


def _index(settings: Settings, *documents: int) -> None:
    for document in documents:
        search_index(settings).replace_document(document, page_records(document))


def test_a_shared_folder_is_seen_with_everything_below_it_and_nothing_above(
    client: TestClient, make_user: Any, settings: Settings, tmp_path: Path
) -> None:
    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    _, carol_token = person(make_user, client, "carol")
    taxes = call(client, alice_token, FOLDER, t="Taxes")["createFolder"]["node"]["id"]
    private = call(client, alice_token, FOLDER, t="Private")["createFolder"]["node"]["id"]
    with database.connection_context():
        bill = make_document(row_id(taxes), alice.id, "bill", ["zebra tax bill"])
        diary = make_document(row_id(private), alice.id, "diary", ["zebra diary"])
        _with_file(settings, tmp_path, bill)
    shared = call(client, alice_token, SHARE, n=taxes, r=role_id("Viewer"), u=gid("User", bob.id))
    share = shared["shareNode"]["share"]
    assert share["role"] == {"name": "Viewer"} and share["user"] == {"username": "bob"}
    # Added after sharing: shared too.
    later = call(client, alice_token, FOLDER, p=taxes, t="2025")["createFolder"]["node"]["id"]
    with database.connection_context():
        _index(settings, bill, diary)
        assert "user:%d" % bob.id in index_entry(bill).readers  # noqa: UP031
    assert call(client, bob_token, SHARED)["sharedWithMe"] == [{"id": taxes, "title": "Taxes"}]
    document = call(client, bob_token, NODE, id=gid("Document", bill))["node"]
    assert document["title"] == "bill"
    assert document["breadcrumb"] == [{"title": "Taxes"}]  # not alice's Home
    assert call(client, bob_token, NODE, id=later)["node"]["title"] == "2025"
    assert call(client, bob_token, NODE, id=gid("Document", diary))["node"] is None
    assert call(client, bob_token, NODE, id=gid("Folder", special(alice.id)))["node"] is None
    assert client.get(document["originalUrl"]).status_code == 200
    hits = call(client, bob_token, SEARCH, q="zebra")["search"]
    assert [h["node"]["document"]["id"] for h in hits["edges"]] == [gid("Document", bill)]
    # Viewer: no changes, no passing it on, no seeing its shares, not in bob's trash.
    assert codes(
        call(client, bob_token, RENAME, id=gid("Document", bill), t="x")["renameNode"]
    ) == ["PERMISSION_DENIED"]
    assert codes(call(client, bob_token, FOLDER, p=taxes, t="mine")["createFolder"]) == [
        "PERMISSION_DENIED"
    ]
    again = call(client, bob_token, SHARE, n=taxes, r=role_id("Editor"), u=gid("User", bob.id))
    assert codes(again["shareNode"]) == ["PERMISSION_DENIED"]
    shares = "query($id: ID!) { node(id: $id) { ... on Folder { shares { id } } } }"
    assert call(client, bob_token, shares, id=taxes)["node"]["shares"] == []
    assert call(client, alice_token, shares, id=taxes)["node"]["shares"] == [{"id": share["id"]}]
    refused = call(client, bob_token, REVOKE, id=share["id"])["revokeShare"]
    assert codes(refused) == ["PERMISSION_DENIED"]
    # A stranger sees none of it.
    assert call(client, carol_token, SHARED)["sharedWithMe"] == []
    assert call(client, carol_token, NODE, id=taxes)["node"] is None
    assert call(client, carol_token, SEARCH, q="zebra")["search"]["totalCount"] == 0
    assert codes(call(client, carol_token, REVOKE, id=share["id"])["revokeShare"]) == ["NOT_FOUND"]
    # Revoked: gone at once, signed URLs already handed out and search included (the index
    # still names bob until its job runs: the access module drops the hit).
    assert call(client, alice_token, REVOKE, id=share["id"])["revokeShare"]["errors"] == []
    assert call(client, bob_token, NODE, id=gid("Document", bill))["node"] is None
    assert client.get(document["originalUrl"]).status_code == 404
    assert call(client, bob_token, SEARCH, q="zebra")["search"]["totalCount"] == 0
    assert call(client, bob_token, SHARED)["sharedWithMe"] == []
    with database.connection_context():
        assert index_entry(bill).readers == (f"user:{alice.id}",)


def test_an_editor_share_with_a_group_lets_its_members_change_things(
    client: TestClient, make_user: Any
) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    _, carol_token = person(make_user, client, "carol")
    made = call(client, admin, """mutation($m: [ID!]) { createGroup(name: "Team", memberIds: $m)
      { group { id } } }""", m=[gid("User", bob.id)])  # fmt: skip
    group = made["createGroup"]["group"]["id"]
    with database.connection_context():
        report = make_document(special(alice.id), alice.id, "report", ["quarterly"])
    document = gid("Document", report)
    shared = call(client, alice_token, SHARE, n=document, r=role_id("Editor"), g=group)
    assert shared["shareNode"]["share"]["group"] == {"name": "Team"}
    assert call(client, bob_token, RENAME, id=document, t="Q3 report")["renameNode"] == {
        "node": {"title": "Q3 report"},
        "errors": [],
    }
    assert (
        call(client, carol_token, RENAME, id=document, t="mine")["renameNode"]["errors"][0]["code"]
        == "NOT_FOUND"
    )
    with database.connection_context():
        node = Node.get_by_id(report)
        assert node.owner_user_id == alice.id  # an editor's change keeps the owner
    # What an editor deletes goes to the owner's trash, not theirs.
    trash = "{ trash { totalCount } }"
    gone = call(client, bob_token, "mutation($id: ID!) { deleteNodes(ids: [$id]) { errors { code } } }",
                id=document)  # fmt: skip
    assert gone["deleteNodes"]["errors"] == []
    assert call(client, bob_token, trash)["trash"]["totalCount"] == 0
    assert call(client, alice_token, trash)["trash"]["totalCount"] == 1


def _counted(client: TestClient, token: str, query: str, **variables: Any) -> tuple[Any, int]:
    """The answer to ``query`` and how many SQL statements it took."""
    counted: list[str] = []

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name == "peewee":  # SQL; "peewee.pool" logs connection handling
                counted.append(record.getMessage())

    logger = logging.getLogger("peewee")
    handler, level = Counter(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        body = graphql(client, query, variables, token=token)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return body, len(counted)


def test_listing_a_shared_folder_costs_the_same_queries_for_10_or_1000(
    client: TestClient, make_user: Any
) -> None:
    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    listing = """query($id: ID!, $n: Int!) { node(id: $id) { ... on Folder { children(first: $n)
      { totalCount edges { node { id title tags { name } } } } } } }"""
    counts = {}
    for size in (10, 1000):
        folder = call(client, alice_token, FOLDER, t=f"F{size}")["createFolder"]["node"]["id"]
        with database.connection_context(), database.atomic():
            Node.insert_many(
                [
                    {
                        "kind": "folder",
                        "title": f"f{i}",
                        "parent": row_id(folder),
                        "owner_user": alice.id,
                    }
                    for i in range(size)
                ]
            ).execute()
        call(client, alice_token, SHARE, n=folder, r=role_id("Viewer"), u=gid("User", bob.id))
        body, counts[size] = _counted(client, bob_token, listing, id=folder, n=size)
        assert body["data"]["node"]["children"]["totalCount"] == size, body
    print(f"SQL statements to list a shared folder: {counts}")
    assert counts[10] == counts[1000], counts


def test_uploading_into_a_shared_folder_reveals_none_of_the_owners_other_documents(
    client: TestClient, make_user: Any, tmp_path: Path, redis_client: Any
) -> None:
    from samples import blank_pdf
    from support import upload

    _, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    content = blank_pdf(tmp_path / "same.pdf", 1).read_bytes()
    private = upload(client, alice_token, "same.pdf", content)["data"]["uploadDocument"]
    assert private["errors"] == []
    shared = call(client, alice_token, FOLDER, t="Shared")["createFolder"]["node"]["id"]
    call(client, alice_token, SHARE, n=shared, r=role_id("Editor"), u=gid("User", bob.id))
    # The same file, by bob into alice's shared folder: alice's private copy stays unseen.
    again = upload(client, bob_token, "same.pdf", content, {"folder": shared})
    made = again["data"]["uploadDocument"]
    assert made["errors"] == [] and made["document"]["id"] != private["document"]["id"]
    with database.connection_context():
        node = Node.get_by_id(row_id(made["document"]["id"]))
        assert node.owner_user_id != bob.id  # it is alice's, in her folder
    # A share viewer may not upload there at all.
    call(client, alice_token, SHARE, n=shared, r=role_id("Viewer"), u=gid("User", bob.id))
    refused = upload(client, bob_token, "other.pdf", content, {"folder": shared})
    assert [e["code"] for e in refused["data"]["uploadDocument"]["errors"]] == ["PERMISSION_DENIED"]


def test_progress_subscriptions_follow_shares(
    client: TestClient, make_user: Any, redis_client: Any
) -> None:
    from test_progress_access import ONE, _socket

    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    _, carol_token = person(make_user, client, "carol")
    with database.connection_context():
        report = make_document(special(alice.id), alice.id, "report", ["text"])
    document = gid("Document", report)
    # A stranger is refused, as for a document that does not exist.
    socket, ws = _socket(client, carol_token, ONE, {"id": document})
    answer = ws.receive_json()
    socket.__exit__(None, None, None)
    assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["NOT_FOUND"]
    made = call(client, alice_token, SHARE, n=document, r=role_id("Viewer"), u=gid("User", bob.id))
    assert made["shareNode"]["errors"] == []
    socket, ws = _socket(client, bob_token, ONE, {"id": document})
    try:
        first = ws.receive_json()
        assert first["payload"]["data"]["documentProgress"]["status"] == "READY", first
    finally:
        socket.__exit__(None, None, None)
    # Revoked: refused like the stranger.
    call(client, alice_token, REVOKE, id=made["shareNode"]["share"]["id"])
    socket, ws = _socket(client, bob_token, ONE, {"id": document})
    answer = ws.receive_json()
    socket.__exit__(None, None, None)
    assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["NOT_FOUND"]


def test_a_share_whose_role_cannot_view_shows_nothing(client: TestClient, make_user: Any) -> None:
    _, admin = person(make_user, client, "root", "Administrator")
    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    role = call(client, admin, """mutation { createRole(name: "Blind", permissions: ["tag.view"])
      { role { id } } }""")["createRole"]["role"]["id"]  # fmt: skip
    with database.connection_context():
        report = make_document(special(alice.id), alice.id, "report", ["text"])
    made = call(
        client, alice_token, SHARE, n=gid("Document", report), r=role, u=gid("User", bob.id)
    )
    share = made["shareNode"]["share"]["id"]
    assert call(client, bob_token, SHARED)["sharedWithMe"] == []
    assert call(client, bob_token, NODE, id=gid("Document", report))["node"] is None
    seen = call(client, bob_token, "query($id: ID!) { node(id: $id) { ... on Share { node { id } } } }",
                id=share)  # fmt: skip
    assert seen["node"] == {"node": None}


LABELS = """query($id: ID!) { node(id: $id) { ... on Document { tags { id name }
  documentType { id name } } } }"""
LABEL = """query($id: ID!) { node(id: $id) { __typename ... on Tag { name color }
  ... on DocumentType { name fields { name } } } }"""
TAG_NODES = """mutation($n: [ID!]!, $t: [ID!]!) {
  tagNodes(nodeIds: $n, tagIds: $t) { errors { code } } }"""
SET_TYPE = """mutation($d: ID!, $t: ID) {
  setDocumentType(documentId: $d, typeId: $t) { errors { code } } }"""


def test_a_shared_documents_tags_and_type_are_found_by_id_only_while_shared(
    client: TestClient, make_user: Any
) -> None:
    """What a shared document shows (its owner's tags and type) ``node(id)`` finds too, as
    Relay clients refetch it; the owner's other labels stay unknown, nothing becomes
    changeable, and revoking the share takes them away again."""
    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    _, carol_token = person(make_user, client, "carol")
    tag = """mutation($n: String!) { createTag(name: $n, color: "#aa0000") { tag { id } } }"""
    paid = call(client, alice_token, tag, n="Paid")["createTag"]["tag"]["id"]
    hidden = call(client, alice_token, tag, n="Hidden")["createTag"]["tag"]["id"]
    kinds = """mutation($n: String!) { createDocumentType(name: $n, fields: [{name: "Total",
      kind: MONETARY}]) { documentType { id } errors { code } } }"""
    invoice = call(client, alice_token, kinds, n="Invoice")["createDocumentType"]
    invoice = invoice["documentType"]["id"]
    contract = call(client, alice_token, kinds, n="Contract")["createDocumentType"]
    contract = contract["documentType"]["id"]
    with database.connection_context():
        bill = make_document(special(alice.id), alice.id, "bill", ["text"])
    bill_id = gid("Document", bill)
    tagged = call(client, alice_token, TAG_NODES, n=[bill_id], t=[paid])
    assert tagged["tagNodes"]["errors"] == []
    typed = call(client, alice_token, SET_TYPE, d=bill_id, t=invoice)
    assert typed["setDocumentType"]["errors"] == []
    # Before the share bob knows none of them.
    for label in (paid, hidden, invoice, contract):
        assert call(client, bob_token, LABEL, id=label)["node"] is None
    share = call(client, alice_token, SHARE, n=bill_id, r=role_id("Viewer"), u=gid("User", bob.id))
    share = share["shareNode"]["share"]["id"]
    shown = call(client, bob_token, LABELS, id=bill_id)["node"]
    assert shown == {
        "tags": [{"id": paid, "name": "Paid"}],
        "documentType": {"id": invoice, "name": "Invoice"},
    }
    assert call(client, bob_token, LABEL, id=paid)["node"] == {
        "__typename": "Tag", "name": "Paid", "color": "#aa0000",
    }  # fmt: skip
    assert call(client, bob_token, LABEL, id=invoice)["node"] == {
        "__typename": "DocumentType", "name": "Invoice", "fields": [{"name": "Total"}],
    }  # fmt: skip
    # Not on the shared document: unknown, as to a stranger, who knows none of them.
    assert call(client, bob_token, LABEL, id=hidden)["node"] is None
    assert call(client, bob_token, LABEL, id=contract)["node"] is None
    for label in (paid, hidden, invoice, contract):
        assert call(client, carol_token, LABEL, id=label)["node"] is None
    # Seeing is not changing: the sharee's edits find nothing.
    renamed = call(client, bob_token, """mutation($id: ID!) { updateTag(id: $id, name: "Mine")
      { errors { code } } }""", id=paid)  # fmt: skip
    assert codes(renamed["updateTag"]) == ["NOT_FOUND"]
    # The owner's own still work, and the share's end takes the labels away from bob.
    assert call(client, alice_token, LABEL, id=hidden)["node"]["name"] == "Hidden"
    assert call(client, alice_token, REVOKE, id=share)["revokeShare"]["errors"] == []
    assert call(client, bob_token, LABEL, id=paid)["node"] is None
    assert call(client, bob_token, LABEL, id=invoice)["node"] is None
