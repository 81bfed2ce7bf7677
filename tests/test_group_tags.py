"""Tags and document types of groups, and whose labels a folder or document may carry.

A group owns tags and types like it owns folders: its members list, make, rename and delete
them and put them on the group's things as their roles allow. A node carries only its
owner's tags and type: an editor of a share uses the owner's, never their own (which the
owner would otherwise see), and a group's document takes no member's private tag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from people_support import call, codes, person, role_id, special
from samples import text_pdf
from starlette.testclient import TestClient
from support import gid, graphql, make_document, row_id, run_worker_burst, upload

from archivist.core.db import database
from archivist.core.models import AuditEntry, Document, Node, NodeTag, Tag
from archivist.core.search import page_records, search_index
from archivist.core.settings import Settings

GROUP = """mutation($m: [ID!]) { createGroup(name: "Household", memberIds: $m) {
  group { id } errors { code } } }"""
CREATE_TAG = """mutation($n: String!, $g: ID) { createTag(name: $n, groupId: $g) {
  tag { id name group { name } } errors { code } } }"""
UPDATE_TAG = """mutation($id: ID!, $n: String!) { updateTag(id: $id, name: $n) {
  tag { name } errors { code } } }"""
DELETE_TAG = "mutation($id: ID!) { deleteTag(id: $id) { count errors { code } } }"
TAGS = "query($g: ID) { tags(groupId: $g) { id name group { name } } }"
TAG = """mutation($n: [ID!]!, $t: [ID!]!) { tagNodes(nodeIds: $n, tagIds: $t) {
  errors { code field } } }"""
UNTAG = """mutation($n: [ID!]!, $t: [ID!]!) { untagNodes(nodeIds: $n, tagIds: $t) {
  errors { code } } }"""
CREATE_TYPE = """mutation($n: String!, $g: ID) { createDocumentType(name: $n, groupId: $g,
  fields: [{name: "Amount", kind: MONETARY}]) { documentType { id name group { name }
  fields { id } } errors { code } } }"""
TYPES = "query($g: ID) { documentTypes(groupId: $g) { id name } }"
SET_TYPE = """mutation($d: ID!, $t: ID) { setDocumentType(documentId: $d, typeId: $t) {
  errors { code field } } }"""
SET_VALUE = """mutation($d: ID!, $f: ID!, $v: String) { setCustomFieldValues(documentId: $d,
  values: [{fieldId: $f, value: $v}]) { errors { code } } }"""
DOCUMENT = """query($id: ID!) { node(id: $id) { ... on Document { tags { id name }
  availableTags { id name } availableDocumentTypes { id name fields { id } }
  documentType { id name } customFields { value } } } }"""
SEARCH = """query($q: String!) { search(query: $q) { totalCount
  facets { tags { tag { id name group { name } } count } } } }"""
SHARE = """mutation($n: ID!, $r: ID!, $u: ID) { shareNode(nodeId: $n, roleId: $r, userId: $u) {
  errors { code } } }"""
COPY = """mutation($id: ID!, $t: ID) { copyDocument(id: $id, targetId: $t) {
  document { id } errors { code } } }"""
DELETE_GROUP = """mutation($id: ID!, $u: ID) { deleteGroup(id: $id, handToUserId: $u) {
  errors { code } } }"""


def _household(client: TestClient, make_user: Any) -> dict[str, Any]:
    """A group with an Editor and a Viewer member, a document in its Home, and a stranger."""
    _, admin = person(make_user, client, "root", "Administrator")
    editor, editor_token = person(make_user, client, "ed", "Editor")
    viewer, viewer_token = person(make_user, client, "vi", "Viewer")
    _, stranger_token = person(make_user, client, "stranger")
    members = [gid("User", editor.id), gid("User", viewer.id)]
    group = call(client, admin, GROUP, m=members)["createGroup"]["group"]["id"]
    with database.connection_context():
        document = make_document(special(group_id=row_id(group)), editor.id, "bill", ["gas bill"])
        Node.update(owner_user=None, owner_group=row_id(group)).where(Node.id == document).execute()
    return {
        "group": group, "document": gid("Document", document), "document_row": document,
        "editor": editor_token, "viewer": viewer_token, "stranger": stranger_token,
        "admin": admin,
    }  # fmt: skip


def test_members_make_list_apply_rename_and_delete_group_tags_as_their_roles_allow(
    client: TestClient, make_user: Any, settings: Settings
) -> None:
    h = _household(client, make_user)
    group, document = h["group"], h["document"]
    made = call(client, h["editor"], CREATE_TAG, n="Utilities", g=group)["createTag"]
    assert made["errors"] == [] and made["tag"]["group"] == {"name": "Household"}
    tag = made["tag"]["id"]
    with database.connection_context():  # the audit log names the group as the target
        entry = AuditEntry.get(AuditEntry.action == "createTag")
        assert entry.target_group_id == row_id(group)
    # The same name is free for a member's own tags (unique per owner), taken in the group.
    own = call(client, h["editor"], CREATE_TAG, n="Utilities")["createTag"]
    assert own["errors"] == [] and own["tag"]["group"] is None
    again = call(client, h["editor"], CREATE_TAG, n="Utilities", g=group)["createTag"]
    assert codes(again) == ["TAG_EXISTS"]
    assert codes(call(client, h["viewer"], CREATE_TAG, n="X", g=group)["createTag"]) == [
        "PERMISSION_DENIED"
    ]
    assert codes(call(client, h["stranger"], CREATE_TAG, n="X", g=group)["createTag"]) == [
        "NOT_FOUND"
    ]
    # Members list the group's tags; the stranger cannot; nobody's own list mixes them in.
    for who in ("editor", "viewer"):
        assert [t["name"] for t in call(client, h[who], TAGS, g=group)["tags"]] == ["Utilities"]
    refused = graphql(client, TAGS, {"g": group}, token=h["stranger"])
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert [t["id"] for t in call(client, h["editor"], TAGS)["tags"]] == [own["tag"]["id"]]

    # Applying: the group's tag on the group's document, as node.update allows.
    assert codes(call(client, h["viewer"], TAG, n=[document], t=[tag])["tagNodes"]) == [
        "PERMISSION_DENIED"
    ]
    assert call(client, h["editor"], TAG, n=[document], t=[tag])["tagNodes"]["errors"] == []
    # A member's own tag does not go on the group's document, nor the group's on their own.
    mismatch = call(client, h["editor"], TAG, n=[document], t=[own["tag"]["id"]])["tagNodes"]
    assert mismatch["errors"] == [{"code": "OWNER_MISMATCH", "field": "tagIds"}]
    with database.connection_context():
        editor_id = _user("ed")
    mine = make_document(special(editor_id), editor_id, "mine", ["x"])
    wrong = call(client, h["editor"], TAG, n=[gid("Document", mine)], t=[tag])["tagNodes"]
    assert codes(wrong) == ["OWNER_MISMATCH"]
    seen = call(client, h["viewer"], DOCUMENT, id=document)["node"]
    assert seen["tags"] == [{"id": tag, "name": "Utilities"}]
    assert seen["availableTags"] == []  # a Viewer may not tag it

    # Search: the tag filter and the facet work for every member.
    with database.connection_context():
        search_index(settings).replace_document(h["document_row"], page_records(h["document_row"]))
    for who in ("editor", "viewer"):
        found = call(client, h[who], SEARCH, q='tag:"Utilities" gas')["search"]
        assert found["totalCount"] == 1, who
        facet = found["facets"]["tags"]
        assert facet == [{"tag": {"id": tag, "name": "Utilities",
                                  "group": {"name": "Household"}}, "count": 1}]  # fmt: skip
    assert call(client, h["stranger"], SEARCH, q='tag:"Utilities"')["search"]["totalCount"] == 0

    # Rename and delete follow tag.update and tag.delete; a stranger finds nothing.
    assert codes(call(client, h["viewer"], UPDATE_TAG, id=tag, n="Bills")["updateTag"]) == [
        "PERMISSION_DENIED"
    ]
    assert codes(call(client, h["stranger"], UPDATE_TAG, id=tag, n="Bills")["updateTag"]) == [
        "NOT_FOUND"
    ]
    renamed = call(client, h["editor"], UPDATE_TAG, id=tag, n="Bills")["updateTag"]
    assert renamed == {"tag": {"name": "Bills"}, "errors": []}
    assert codes(call(client, h["stranger"], DELETE_TAG, id=tag)["deleteTag"]) == ["NOT_FOUND"]
    assert codes(call(client, h["viewer"], DELETE_TAG, id=tag)["deleteTag"]) == [
        "PERMISSION_DENIED"
    ]
    assert call(client, h["editor"], DELETE_TAG, id=tag)["deleteTag"] == {
        "count": 1,
        "errors": [],
    }
    assert call(client, h["viewer"], DOCUMENT, id=document)["node"]["tags"] == []


def _user(name: str) -> int:
    from archivist.core.models import User

    return int(User.get(User.username == name).id)


def test_group_document_types_go_on_group_documents_only(
    client: TestClient, make_user: Any
) -> None:
    h = _household(client, make_user)
    group, document = h["group"], h["document"]
    made = call(client, h["editor"], CREATE_TYPE, n="Invoice", g=group)["createDocumentType"]
    assert made["errors"] == [] and made["documentType"]["group"] == {"name": "Household"}
    group_type, field = made["documentType"]["id"], made["documentType"]["fields"][0]["id"]
    own = call(client, h["editor"], CREATE_TYPE, n="Invoice")["createDocumentType"]
    assert own["errors"] == [] and own["documentType"]["group"] is None
    assert codes(call(client, h["editor"], CREATE_TYPE, n="Invoice", g=group)[
        "createDocumentType"]) == ["TYPE_EXISTS"]  # fmt: skip
    assert codes(call(client, h["viewer"], CREATE_TYPE, n="Other", g=group)[
        "createDocumentType"]) == ["PERMISSION_DENIED"]  # fmt: skip
    assert codes(call(client, h["stranger"], CREATE_TYPE, n="Other", g=group)[
        "createDocumentType"]) == ["NOT_FOUND"]  # fmt: skip
    assert [t["id"] for t in call(client, h["viewer"], TYPES, g=group)["documentTypes"]] == [
        group_type
    ]
    wrong = call(client, h["editor"], SET_TYPE, d=document, t=own["documentType"]["id"])
    assert wrong["setDocumentType"]["errors"] == [{"code": "OWNER_MISMATCH", "field": "typeId"}]
    offered = call(client, h["editor"], DOCUMENT, id=document)["node"]["availableDocumentTypes"]
    assert [t["id"] for t in offered] == [group_type]
    assert call(client, h["editor"], SET_TYPE, d=document, t=group_type)["setDocumentType"][
        "errors"] == []  # fmt: skip
    assert call(client, h["editor"], SET_VALUE, d=document, f=field, v="EUR12.50")[
        "setCustomFieldValues"]["errors"] == []  # fmt: skip
    seen = call(client, h["viewer"], DOCUMENT, id=document)["node"]
    assert seen["documentType"] == {"id": group_type, "name": "Invoice"}
    assert seen["customFields"] == [{"value": "EUR12.50"}]
    assert codes(call(client, h["viewer"], SET_TYPE, d=document, t=None)["setDocumentType"]) == [
        "PERMISSION_DENIED"
    ]


def test_a_share_editor_uses_the_owners_tags_and_types_never_their_own(
    client: TestClient, make_user: Any
) -> None:
    """The leak: an editor of a share put their own tag (or type) on the owner's document,
    and the owner then saw its name. Now only the owner's labels go on it."""
    alice, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    vera, vera_token = person(make_user, client, "vera")
    with database.connection_context():
        folder = Node.create(kind="folder", title="Shared", parent=special(alice.id),
                             owner_user=alice.id)  # fmt: skip
        document = gid("Document", make_document(folder.id, alice.id, "lease", ["lease"]))
    for user, role in ((bob, "Editor"), (vera, "Viewer")):
        shared = call(client, alice_token, SHARE, n=gid("Folder", folder.id), r=role_id(role),
                      u=gid("User", user.id))  # fmt: skip
        assert shared["shareNode"]["errors"] == []
    secret = call(client, bob_token, CREATE_TAG, n="bob-private")["createTag"]["tag"]["id"]
    home = call(client, alice_token, CREATE_TAG, n="Home")["createTag"]["tag"]["id"]
    alice_type = call(client, alice_token, CREATE_TYPE, n="Lease")["createDocumentType"]
    bob_type = call(client, bob_token, CREATE_TYPE, n="bob-kind")["createDocumentType"]

    refused = call(client, bob_token, TAG, n=[document], t=[secret])["tagNodes"]
    assert refused["errors"] == [{"code": "OWNER_MISMATCH", "field": "tagIds"}]
    typed = call(client, bob_token, SET_TYPE, d=document, t=bob_type["documentType"]["id"])
    assert typed["setDocumentType"]["errors"] == [{"code": "OWNER_MISMATCH", "field": "typeId"}]
    as_alice = call(client, alice_token, DOCUMENT, id=document)["node"]
    assert as_alice["tags"] == [] and as_alice["documentType"] is None
    with database.connection_context():
        assert not NodeTag.select().where(NodeTag.tag == row_id(secret)).exists()

    # The editor is offered the owner's tags and types, and may use them.
    as_bob = call(client, bob_token, DOCUMENT, id=document)["node"]
    assert as_bob["availableTags"] == [{"id": home, "name": "Home"}]
    offered = as_bob["availableDocumentTypes"]
    assert [t["id"] for t in offered] == [alice_type["documentType"]["id"]]
    assert call(client, bob_token, TAG, n=[document], t=[home])["tagNodes"]["errors"] == []
    assert call(client, bob_token, SET_TYPE, d=document, t=offered[0]["id"])[
        "setDocumentType"]["errors"] == []  # fmt: skip
    assert call(client, bob_token, SET_VALUE, d=document, f=offered[0]["fields"][0]["id"],
                v="900")["setCustomFieldValues"]["errors"] == []  # fmt: skip
    as_alice = call(client, alice_token, DOCUMENT, id=document)["node"]
    assert as_alice["tags"] == [{"id": home, "name": "Home"}]
    assert as_alice["documentType"]["name"] == "Lease"
    assert as_alice["customFields"] == [{"value": "900.00"}]
    # The owner's tag may come off again by the editor; a share viewer is offered nothing.
    assert call(client, bob_token, UNTAG, n=[document], t=[home])["untagNodes"]["errors"] == []
    as_vera = call(client, vera_token, DOCUMENT, id=document)["node"]
    assert as_vera["availableTags"] == [] and as_vera["availableDocumentTypes"] == []
    assert codes(call(client, vera_token, TAG, n=[document], t=[home])["tagNodes"]) == [
        "PERMISSION_DENIED"
    ]
    # A stranger's tag id is not found at all (its name stays theirs).
    assert codes(call(client, alice_token, TAG, n=[document], t=[secret])["tagNodes"]) == [
        "NOT_FOUND"
    ]

    # A copy into the editor's own folder takes the editor's tags of the same names, and no
    # type of the owner's.
    call(client, bob_token, TAG, n=[document], t=[home])
    bobs_home = call(client, bob_token, CREATE_TAG, n="Home")["createTag"]["tag"]["id"]
    copied = call(client, bob_token, COPY, id=document, t=gid("Folder", special(bob.id)))
    copy = copied["copyDocument"]["document"]["id"]
    as_bob = call(client, bob_token, DOCUMENT, id=copy)["node"]
    assert as_bob["tags"] == [{"id": bobs_home, "name": "Home"}]
    assert as_bob["documentType"] is None


def test_deleting_a_group_hands_its_tags_and_types_to_the_recipient(
    client: TestClient, make_user: Any
) -> None:
    h = _household(client, make_user)
    group, document = h["group"], h["document"]
    alice, alice_token = person(make_user, client, "alice")
    tag = call(client, h["editor"], CREATE_TAG, n="Utilities", g=group)["createTag"]["tag"]["id"]
    solo = call(client, h["editor"], CREATE_TAG, n="Garden", g=group)["createTag"]["tag"]["id"]
    kind = call(client, h["editor"], CREATE_TYPE, n="Invoice", g=group)["createDocumentType"]
    call(client, h["editor"], TAG, n=[document], t=[tag, solo])
    call(client, h["editor"], SET_TYPE, d=document, t=kind["documentType"]["id"])
    alices = call(client, alice_token, CREATE_TAG, n="Utilities")["createTag"]["tag"]["id"]
    call(client, alice_token, CREATE_TYPE, n="Invoice")

    gone = call(client, h["admin"], DELETE_GROUP, id=group, u=gid("User", alice.id))
    assert gone["deleteGroup"]["errors"] == []
    seen = call(client, alice_token, DOCUMENT, id=document)["node"]
    # The group's "Utilities" joined hers; "Garden" is hers now; the type kept apart by name.
    assert seen["tags"] == [{"id": solo, "name": "Garden"}, {"id": alices, "name": "Utilities"}]
    assert seen["documentType"] == {
        "id": kind["documentType"]["id"],
        "name": "Invoice (from group Household)",
    }
    assert sorted(t["name"] for t in call(client, alice_token, TAGS)["tags"]) == [
        "Garden",
        "Utilities",
    ]
    assert sorted(t["name"] for t in call(client, alice_token, TYPES)["documentTypes"]) == [
        "Invoice",
        "Invoice (from group Household)",
    ]
    with database.connection_context():
        assert Tag.get_or_none(Tag.id == row_id(tag)) is None
        assert Document.get(Document.node == h["document_row"]).index_revision > 0


def test_pages_taken_into_a_share_editors_folder_leave_the_owners_type_behind(
    client: TestClient, make_user: Any, redis_client: Any, settings: Settings, tmp_path: Path
) -> None:
    """extractPages from a shared document into the editor's own folder: the new document
    is the editor's, so it has no type of the owner's; within the owner's folder it keeps it."""
    _, alice_token = person(make_user, client, "alice")
    bob, bob_token = person(make_user, client, "bob")
    pdf = text_pdf(tmp_path / "report.pdf", [["Alpha", "page"], ["Beta", "page"]])
    body = upload(client, alice_token, "report.pdf", pdf.read_bytes())
    document = body["data"]["uploadDocument"]["document"]["id"]
    run_worker_burst(settings)
    kind = call(client, alice_token, CREATE_TYPE, n="Report")["createDocumentType"]
    call(client, alice_token, SET_TYPE, d=document, t=kind["documentType"]["id"])
    shared = call(
        client, alice_token, SHARE, n=document, r=role_id("Editor"), u=gid("User", bob.id)
    )
    assert shared["shareNode"]["errors"] == []
    extract = """mutation($id: ID!, $f: ID) { extractPages(documentId: $id, pages: [1],
      folderId: $f) { documents { id } errors { code } } }"""
    for token, folder, expected in (
        (bob_token, gid("Folder", special(bob.id)), None),
        (alice_token, None, {"id": kind["documentType"]["id"], "name": "Report"}),
    ):
        made = call(client, token, extract, id=document, f=folder)["extractPages"]
        assert made["errors"] == []
        new = call(client, token, DOCUMENT, id=made["documents"][0]["id"])["node"]
        assert new["documentType"] == expected
