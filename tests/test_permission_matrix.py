"""Who may do what, as one table: every root field and file route has a decision written
here (a new one without a decision fails), and the node operations run for every kind of
person: the owner, a group member with each built-in role, a share viewer, a share editor,
a stranger and a superuser; each cell's outcome is asserted exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from people_support import call, person, role_id, special
from starlette.testclient import TestClient
from support import gid, graphql, make_document, row_id

from archivist.core.db import database
from archivist.core.models import Document, Node
from archivist.core.search import page_records, search_index
from archivist.core.settings import Settings
from archivist.core.storage import Storage
from archivist.graphql.schema import build_schema

SIGNED_IN = "any signed-in person, on their own things only"
NODE_ACCESS = "the access module: the node's access and the permission named"
# Every root field and file route, and what guards it.
DECISIONS: dict[str, str] = {
    "Query.me": SIGNED_IN,
    "Query.node": NODE_ACCESS + " (node.view), or the type's own rule",
    "Query.document": NODE_ACCESS + " (node.view)",
    "Query.search": NODE_ACCESS + " (reader terms in the index, then node.view per hit)",
    "Query.searchSuggestions": NODE_ACCESS
    + " (words: reader terms in the index; tags, types, folders: own or on readable nodes)",
    "Query.similarDocuments": NODE_ACCESS + " (node.view on the document, reader terms, per hit)",
    "Query.trash": "own and group nodes only (node.view)",
    "Query.tags": "tag.view, own tags",
    "Query.documentTypes": "document_type.view, own types",
    "Query.ocrLanguages": SIGNED_IN,
    "Query.workQueue": "superusers (can_administer_queue)",
    "Query.permissions": SIGNED_IN,
    "Query.roles": SIGNED_IN,
    "Query.users": "user.view",
    "Query.groups": "group.view, else own groups",
    "Query.sharedWithMe": SIGNED_IN,
    "Query.myTokens": SIGNED_IN,
    "Query.auditLog": "audit_log.view, and node.view on each entry's node",
    "Mutation.login": "anyone (throttled)",
    "Mutation.logout": SIGNED_IN,
    "Mutation.uploadDocument": NODE_ACCESS + " (document.upload on the folder)",
    "Mutation.retryPage": NODE_ACCESS + " (page.edit)",
    "Mutation.reprocessDocument": NODE_ACCESS + " (page.edit)",
    "Mutation.createFolder": NODE_ACCESS + " (node.create on the parent)",
    "Mutation.renameNode": NODE_ACCESS + " (node.update)",
    "Mutation.moveNodes": NODE_ACCESS + " (node.move; node.create on the target)",
    "Mutation.copyDocument": NODE_ACCESS + " (node.view; node.create on the target)",
    "Mutation.deleteNodes": NODE_ACCESS + " (node.delete)",
    "Mutation.restoreNodes": NODE_ACCESS + " (node.delete)",
    "Mutation.emptyTrash": "node.delete, own trash",
    "Mutation.createTag": "tag.create",
    "Mutation.updateTag": "tag.update, own tags",
    "Mutation.deleteTag": "tag.delete, own tags",
    "Mutation.tagNodes": NODE_ACCESS + " (node.update), own tags",
    "Mutation.untagNodes": NODE_ACCESS + " (node.update), own tags",
    "Mutation.createDocumentType": "document_type.create",
    "Mutation.deleteDocumentType": "document_type.delete, own types",
    "Mutation.setDocumentType": NODE_ACCESS + " (node.update)",
    "Mutation.rotatePages": NODE_ACCESS + " (page.edit)",
    "Mutation.reorderPages": NODE_ACCESS + " (page.edit)",
    "Mutation.deletePages": NODE_ACCESS + " (page.edit)",
    "Mutation.extractPages": NODE_ACCESS + " (page.edit; node.create on the folder)",
    "Mutation.movePages": NODE_ACCESS + " (page.edit on both)",
    "Mutation.mergeDocuments": NODE_ACCESS + " (page.edit; node.create on the folder)",
    "Mutation.setCustomFieldValues": NODE_ACCESS + " (node.update)",
    "Mutation.retryJob": "superusers (can_administer_queue)",
    "Mutation.discardJob": "superusers (can_administer_queue)",
    "Mutation.createUser": "user.create",
    "Mutation.updateUser": "user.update",
    "Mutation.deleteUser": "user.delete",
    "Mutation.resetPassword": "user.update",
    "Mutation.setUserRoles": "user.update",
    "Mutation.changePassword": SIGNED_IN + " (the old password)",
    "Mutation.createApiToken": SIGNED_IN,
    "Mutation.revokeToken": SIGNED_IN + " (own tokens)",
    "Mutation.createGroup": "group.create",
    "Mutation.renameGroup": "group.update",
    "Mutation.addGroupMembers": "group.update",
    "Mutation.removeGroupMembers": "group.update",
    "Mutation.setGroupRoles": "group.update",
    "Mutation.deleteGroup": "group.delete",
    "Mutation.createRole": "role.create",
    "Mutation.updateRole": "role.update",
    "Mutation.deleteRole": "role.delete",
    "Mutation.shareNode": NODE_ACCESS + " (share.create, owner's side only)",
    "Mutation.revokeShare": NODE_ACCESS + " (share.delete, owner's side only)",
    "Subscription.documentProgress": NODE_ACCESS + " (node.view, at every event)",
    "Subscription.documentsProgress": NODE_ACCESS + " (node.view, at every event)",
    "Subscription.nodeEvents": NODE_ACCESS + " (node.view, at every event)",
    "Subscription.queueStats": "superusers (can_administer_queue)",
    "GET /files/zip": NODE_ACCESS + " (document.download)",
    "GET /files/originals/{document_id:int}": NODE_ACCESS + " (document.download)",
    "GET /files/versions/{version_id:int}": NODE_ACCESS + " (document.download)",
    "GET /files/previews/{page_id:int}/{size:str}": NODE_ACCESS + " (node.view)",
}


def test_every_root_field_and_file_route_has_a_decision(settings: Settings) -> None:
    from archivist.graphql.app import create_app

    schema = build_schema()
    found = {
        f"{root.name}.{name}"
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
        for name in root.fields
    }
    routes = {
        f"GET {route.path}"
        for route in create_app(settings).routes
        if getattr(route, "path", "").startswith("/files/")
    }
    assert found | routes == set(DECISIONS)


VIEW = "query($id: ID!) { node(id: $id) { ... on Item { title } } }"
LIST = """query($id: ID!) { node(id: $id) { ... on Folder { children { totalCount } } } }"""
RENAME = """mutation($id: ID!, $t: String!) { renameNode(id: $id, title: $t) {
  errors { code } } }"""
CREATE = """mutation($p: ID!, $t: String!) { createFolder(parentId: $p, title: $t) {
  errors { code } } }"""
SEARCH = "query($q: String!) { search(query: $q) { totalCount } }"
SHARES = "query($id: ID!) { node(id: $id) { ... on Folder { shares { id } } } }"
HISTORY = "query($id: ID!) { auditLog(nodeId: $id) { totalCount } }"

OK, DENIED, HIDDEN = "ok", "PERMISSION_DENIED", "NOT_FOUND"
# Person: view, list, rename, create in, download, search hits, sees the folder's shares (the
# group's folder is shared with no one), the folder's history in the audit log.
MATRIX: dict[str, tuple[str, str, str, str, int, int, bool, str]] = {
    "owner": (OK, OK, OK, OK, 200, 1, True, DENIED),
    "member Viewer": (OK, OK, DENIED, DENIED, 200, 1, False, DENIED),
    "member Editor": (OK, OK, OK, OK, 200, 1, False, DENIED),
    "member Administrator": (OK, OK, OK, OK, 200, 1, False, OK),
    "share viewer": (OK, OK, DENIED, DENIED, 200, 1, False, DENIED),
    "share editor": (OK, OK, OK, OK, 200, 1, False, DENIED),
    "stranger": (HIDDEN, HIDDEN, HIDDEN, HIDDEN, 404, 0, False, DENIED),
    "superuser": (HIDDEN, HIDDEN, HIDDEN, HIDDEN, 404, 0, False, HIDDEN),
}


def _outcome(payload: dict[str, Any]) -> str:
    return str(payload["errors"][0]["code"]) if payload["errors"] else OK


@pytest.fixture
def world(client: TestClient, make_user: Any, settings: Settings, tmp_path: Path) -> Any:
    """Alice's folder (shared with a viewer and an editor) and a group's folder (for members
    with each built-in role), each with one indexed document with a stored file."""
    _, admin = person(make_user, client, "root", "Administrator")
    alice, alice_token = person(make_user, client, "alice")
    tokens = {"owner": alice_token}
    members = {}
    for role in ("Viewer", "Editor", "Administrator"):
        user, tokens[f"member {role}"] = person(make_user, client, f"m{role.lower()}", role)
        members[role] = user
    share_viewer, tokens["share viewer"] = person(make_user, client, "sv")
    share_editor, tokens["share editor"] = person(make_user, client, "se")
    _, tokens["stranger"] = person(make_user, client, "stranger")
    _, tokens["superuser"] = person(make_user, client, "boss", "Administrator")
    with database.connection_context():
        from archivist.core.models import User

        User.update(is_superuser=True).where(User.username == "boss").execute()
    group = call(client, admin, """mutation($m: [ID!]) { createGroup(name: "G", memberIds: $m)
      { group { id } } }""", m=[gid("User", u.id) for u in members.values()])  # fmt: skip
    group_row = row_id(group["createGroup"]["group"]["id"])
    source = tmp_path / "f.pdf"
    source.write_bytes(b"%PDF-1.4\n% matrix\n")
    digest = Storage(settings.storage_dir).put(source)
    targets = {}
    for key, parent, owner in (
        ("alice", special(alice.id), {"owner_user": alice.id}),
        ("group", special(group_id=group_row), {"owner_user": None, "owner_group": group_row}),
    ):
        with database.connection_context():
            folder = Node.create(kind="folder", title="Shared", parent=parent, **owner)
            document = make_document(folder.id, alice.id, "doc", [f"matrixword {key}"])
            Node.update(**owner).where(Node.id == document).execute()
            Document.update(original_hash=digest).where(Document.node == document).execute()
        targets[key] = (gid("Folder", folder.id), document)
    folder = targets["alice"][0]
    for user, role in ((share_viewer, "Viewer"), (share_editor, "Editor")):
        call(client, alice_token, """mutation($n: ID!, $r: ID!, $u: ID) { shareNode(nodeId: $n,
          roleId: $r, userId: $u) { errors { code } } }""",
             n=folder, r=role_id(role), u=gid("User", user.id))  # fmt: skip
    with database.connection_context():
        for _, document in targets.values():
            search_index(settings).replace_document(document, page_records(document))
    return tokens, targets


@pytest.mark.parametrize("who", list(MATRIX))
def test_the_matrix(client: TestClient, world: Any, who: str) -> None:
    tokens, targets = world
    token = tokens[who]
    folder, document = targets["group" if who.startswith("member") else "alice"]
    doc_id = gid("Document", document)
    viewed = call(client, token, VIEW, id=doc_id)["node"]
    listed = call(client, token, LIST, id=folder)["node"]
    renamed = _outcome(call(client, token, RENAME, id=doc_id, t=f"by {who}")["renameNode"])
    created = _outcome(call(client, token, CREATE, p=folder, t=f"new {who}")["createFolder"])
    download = client.get(
        f"/files/originals/{document}", headers={"Authorization": f"Bearer {token}"}
    ).status_code
    hits = call(client, token, SEARCH, q="matrixword")["search"]["totalCount"]
    shares = call(client, token, SHARES, id=folder)["node"]
    body = graphql(client, HISTORY, {"id": folder}, token=token)
    history = body["errors"][0]["extensions"]["code"] if body.get("errors") else OK
    got = (
        OK if viewed else HIDDEN,
        OK if listed else HIDDEN,
        renamed,
        created,
        download,
        hits,
        bool(shares and shares["shares"]),
        history,
    )
    assert got == MATRIX[who], who
