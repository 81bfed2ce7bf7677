"""Who may do what, as one table: every root field, subscription and file route has a written
decision, a cell that runs a small real operation of it for every kind of person (the owner,
a group member with each built-in role, a share viewer, a share editor, a stranger and a
superuser), and the exact outcome expected of each cell. A new field without all three fails.

The world is prepared once for the module (tests/matrix_world.py); a cell that changes
something changes fresh objects made for it, so the cells do not depend on each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from matrix_world import (
    NULL,
    OK,
    PEOPLE,
    USERNAMES,
    Cell,
    World,
    feed_delivers,
    first_message,
    multipart,
    outcome,
    prepare,
)
from peewee import Database
from people_support import role_id
from starlette.testclient import TestClient
from support import TEST_PASSWORD, clear_tables, gid, graphql, settings_env

from archivist.core.db import database
from archivist.core.models import AccessToken, Document, DocumentType, Node, Page, Tag
from archivist.core.permissions import BUILTIN_ROLES, PERMISSIONS
from archivist.core.queue import redis_connection
from archivist.core.settings import load_settings, use_settings
from archivist.graphql.schema import build_schema

SIGNED_IN = "any signed-in person, on their own things only"
NODE_ACCESS = "the access module: the node's access and the permission named"
# Every root field and file route, and what guards it.
DECISIONS: dict[str, str] = {
    "Query.me": SIGNED_IN,
    "Query.node": NODE_ACCESS + " (node.view), or the type's own rule",
    "Query.document": NODE_ACCESS + " (node.view)",
    "Query.search": NODE_ACCESS + " (reader terms in the index, then node.view per hit)",
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


CELLS: dict[str, Cell] = {}


def cell(name: str) -> Callable[[Cell], Cell]:
    def register(function: Cell) -> Cell:
        CELLS[name] = function
        return function

    return register


def _mutation(w: World, who: str, name: str, signature: str, arguments: str, **v: Any) -> str:
    """The outcome of ``mutation(signature) { name(arguments) { errors { code } } }``."""
    query = f"mutation({signature}) {{ {name}({arguments}) {{ errors {{ code }} }} }}"
    return outcome(w.ask(who, query, **v), name)


def _doc(document: int) -> str:
    return gid("Document", document)


def _folder(folder: int) -> str:
    return gid("Folder", folder)


# ---- queries


@cell("Query.me")
def _me(w: World, who: str) -> str:
    body = w.ask(who, "{ me { username } }")
    return "self" if body["data"]["me"]["username"] == USERNAMES[who] else str(body)


@cell("Query.node")
def _node(w: World, who: str) -> tuple[str, ...]:
    """The place's document, Alice's tag, group G, Alice herself."""
    query = "query($id: ID!) { node(id: $id) { id } }"
    ids = (_doc(w.indexed[w.place(who)]), gid("Tag", w.tag("owner")), gid("Group", w.group),
           gid("User", w.users["owner"]))  # fmt: skip
    return tuple(outcome(w.ask(who, query, id=node_id), "node") for node_id in ids)


@cell("Query.document")
def _document(w: World, who: str) -> str:
    query = "query($id: ID!) { document(id: $id) { title } }"
    return outcome(w.ask(who, query, id=_doc(w.indexed[w.place(who)])), "document")


@cell("Query.search")
def _search(w: World, who: str) -> Any:
    """Whose indexed documents (Alice's, the group's) the hits are of."""
    body = w.ask(who, '{ search(query: "matrixword") { edges { node { document { id } } } } }')
    if body.get("errors"):
        return outcome(body, "search")
    places = {_doc(document): place for place, document in w.indexed.items()}
    return tuple(places[edge["node"]["document"]["id"]] for edge in body["data"]["search"]["edges"])


@cell("Query.trash")
def _trash(w: World, who: str) -> str:
    trashed = _doc(w.fresh_document(who, trashed=True))
    body = w.ask(who, "{ trash(first: 100) { edges { node { id } } } }")
    if body.get("errors"):
        return outcome(body, "trash")
    listed = {edge["node"]["id"] for edge in body["data"]["trash"]["edges"]}
    return "listed" if trashed in listed else "absent"


def _seen(body: dict[str, Any], name: str, key: str, wanted: dict[str, str]) -> Any:
    """Which of ``wanted`` (label: value of ``key``) a list answer holds, or its error."""
    if body.get("errors"):
        return outcome(body, name)
    values = {item[key] for item in body["data"][name]}
    return tuple(label for label, value in wanted.items() if value in values)


@cell("Query.tags")
def _tags(w: World, who: str) -> Any:
    """Of the person's own tag and Alice's, which the list holds."""
    with database.connection_context():
        wanted = {"own": Tag.get_by_id(w.tag(who)).name}
        if who != "owner":
            wanted["alice's"] = Tag.get_by_id(w.tag("owner")).name
    return _seen(w.ask(who, "{ tags { name } }"), "tags", "name", wanted)


@cell("Query.documentTypes")
def _types(w: World, who: str) -> Any:
    with database.connection_context():
        wanted = {"own": DocumentType.get_by_id(w.doc_type(who)[0]).name}
        if who != "owner":
            wanted["alice's"] = DocumentType.get_by_id(w.doc_type("owner")[0]).name
    body = w.ask(who, "{ documentTypes { name } }")
    return _seen(body, "documentTypes", "name", wanted)


@cell("Query.ocrLanguages")
def _languages(w: World, who: str) -> str:
    return outcome(w.ask(who, "{ ocrLanguages { engine } }"), "ocrLanguages")


@cell("Query.workQueue")
def _work_queue(w: World, who: str) -> str:
    return outcome(w.ask(who, "{ workQueue { at } }"), "workQueue")


@cell("Query.permissions")
def _permissions(w: World, who: str) -> Any:
    body = w.ask(who, "{ permissions { name } }")
    return [p["name"] for p in body["data"]["permissions"]] == list(PERMISSIONS) or body


@cell("Query.roles")
def _roles(w: World, who: str) -> Any:
    return _seen(w.ask(who, "{ roles { name } }"), "roles", "name",
                 {name: name for name in BUILTIN_ROLES})  # fmt: skip


@cell("Query.users")
def _users(w: World, who: str) -> Any:
    return _seen(w.ask(who, "{ users { username } }"), "users", "username",
                 {"alice": "alice", "friend": "friend"})  # fmt: skip


@cell("Query.groups")
def _groups(w: World, who: str) -> Any:
    return _seen(w.ask(who, "{ groups { name } }"), "groups", "name", {"G": "G", "Other": "Other"})


@cell("Query.sharedWithMe")
def _shared_with_me(w: World, who: str) -> Any:
    body = w.ask(who, "{ sharedWithMe { id } }")
    if body.get("errors"):
        return outcome(body, "sharedWithMe")
    shared = {_folder(w.folders["alice"]): "Alice's Shared"}
    return tuple(shared.get(item["id"], item["id"]) for item in body["data"]["sharedWithMe"])


@cell("Query.myTokens")
def _my_tokens(w: World, who: str) -> Any:
    body = w.ask(who, "{ myTokens { id } }")
    if body.get("errors"):
        return outcome(body, "myTokens")
    with database.connection_context():
        own = {gid("AccessToken", t.id) for t in AccessToken.select().where(
            (AccessToken.user == w.users[who]) & AccessToken.revoked_at.is_null())}  # fmt: skip
    listed = {token["id"] for token in body["data"]["myTokens"]}
    return "own" if listed and listed <= own else (listed, own)


@cell("Query.auditLog")
def _audit_log(w: World, who: str) -> str:
    """The history of the person's place."""
    query = "query($id: ID!) { auditLog(nodeId: $id) { totalCount } }"
    return outcome(w.ask(who, query, id=_folder(w.folder(who))), "auditLog")


# ---- mutations: accounts and sessions


@cell("Mutation.login")
def _login(w: World, who: str) -> str:
    query = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { errors { code } } }"
    return outcome(graphql(w.client, query, {"u": USERNAMES[who], "p": TEST_PASSWORD}), "login")


@cell("Mutation.logout")
def _logout(w: World, who: str) -> str:
    """With a login of its own: the person's token lives on."""
    token, _ = w.login_token(who)
    body = graphql(w.client, "mutation { logout { errors { code } } }", token=token)
    return outcome(body, "logout")


@cell("Mutation.changePassword")
def _change_password(w: World, who: str) -> str:
    """Changed and changed back with a fresh login, which then serves the person's later
    cells (the change revokes their other tokens)."""
    token, _ = w.login_token(who)
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
    return _mutation(w, who, "createApiToken", "$n: String!", "name: $n, expiresInDays: 30",
                     n=w.name("script"))  # fmt: skip


@cell("Mutation.revokeToken")
def _revoke_token(w: World, who: str) -> tuple[str, str]:
    """A token of their own, and one of Alice's."""
    outcomes = []
    for whose in (who, "owner"):
        _, token_id = w.login_token(whose)
        outcomes.append(_mutation(w, who, "revokeToken", "$id: ID!", "id: $id", id=token_id))
    return outcomes[0], outcomes[1]


@cell("Mutation.createUser")
def _create_user(w: World, who: str) -> str:
    return _mutation(w, who, "createUser", "$u: String!, $p: String!", "username: $u, password: $p",
                     u=w.name("new"), p=TEST_PASSWORD)  # fmt: skip


@cell("Mutation.updateUser")
def _update_user(w: World, who: str) -> str:
    return _mutation(w, who, "updateUser", "$id: ID!", 'id: $id, email: "v@example.org"',
                     id=gid("User", w.user()))  # fmt: skip


@cell("Mutation.deleteUser")
def _delete_user(w: World, who: str) -> str:
    return _mutation(w, who, "deleteUser", "$id: ID!, $to: ID", "id: $id, handToUserId: $to",
                     id=gid("User", w.user()), to=gid("User", w.friend))  # fmt: skip


@cell("Mutation.resetPassword")
def _reset_password(w: World, who: str) -> str:
    return _mutation(w, who, "resetPassword", "$id: ID!", 'id: $id, password: "a new passphrase!"',
                     id=gid("User", w.user()))  # fmt: skip


@cell("Mutation.setUserRoles")
def _set_user_roles(w: World, who: str) -> str:
    return _mutation(w, who, "setUserRoles", "$id: ID!, $r: [ID!]!", "userId: $id, roleIds: $r",
                     id=gid("User", w.user()), r=[role_id("Viewer")])  # fmt: skip


@cell("Mutation.createGroup")
def _create_group(w: World, who: str) -> str:
    return _mutation(w, who, "createGroup", "$n: String!", "name: $n", n=w.name("group"))


@cell("Mutation.renameGroup")
def _rename_group(w: World, who: str) -> str:
    return _mutation(w, who, "renameGroup", "$id: ID!, $n: String!", "id: $id, name: $n",
                     id=w.new_group(), n=w.name("renamed"))  # fmt: skip


@cell("Mutation.addGroupMembers")
def _add_members(w: World, who: str) -> str:
    return _mutation(w, who, "addGroupMembers", "$id: ID!, $u: [ID!]!", "id: $id, userIds: $u",
                     id=w.new_group(), u=[gid("User", w.friend)])  # fmt: skip


@cell("Mutation.removeGroupMembers")
def _remove_members(w: World, who: str) -> str:
    group, friend = w.new_group(), [gid("User", w.friend)]
    added = _mutation(w, "member Administrator", "addGroupMembers", "$id: ID!, $u: [ID!]!",
                      "id: $id, userIds: $u", id=group, u=friend)  # fmt: skip
    assert added == OK
    return _mutation(w, who, "removeGroupMembers", "$id: ID!, $u: [ID!]!",
                     "id: $id, userIds: $u", id=group, u=friend)  # fmt: skip


@cell("Mutation.setGroupRoles")
def _set_group_roles(w: World, who: str) -> str:
    return _mutation(w, who, "setGroupRoles", "$id: ID!, $r: [ID!]!", "groupId: $id, roleIds: $r",
                     id=w.new_group(), r=[role_id("Viewer")])  # fmt: skip


@cell("Mutation.deleteGroup")
def _delete_group(w: World, who: str) -> str:
    return _mutation(w, who, "deleteGroup", "$id: ID!, $to: ID", "id: $id, handToUserId: $to",
                     id=w.new_group(), to=gid("User", w.friend))  # fmt: skip


@cell("Mutation.createRole")
def _create_role(w: World, who: str) -> str:
    return _mutation(w, who, "createRole", "$n: String!", 'name: $n, permissions: ["node.view"]',
                     n=w.name("role"))  # fmt: skip


@cell("Mutation.updateRole")
def _update_role(w: World, who: str) -> str:
    return _mutation(w, who, "updateRole", "$id: ID!, $n: String!", "id: $id, name: $n",
                     id=w.role(), n=w.name("renamed"))  # fmt: skip


@cell("Mutation.deleteRole")
def _delete_role(w: World, who: str) -> str:
    return _mutation(w, who, "deleteRole", "$id: ID!", "id: $id", id=w.role())


@cell("Mutation.retryJob")
def _retry_job(w: World, who: str) -> str:
    return _mutation(w, who, "retryJob", "$j: String!", "jobId: $j", j="no-such-job")


@cell("Mutation.discardJob")
def _discard_job(w: World, who: str) -> str:
    return _mutation(w, who, "discardJob", "$j: String!", "jobId: $j", j="no-such-job")


# ---- mutations: folders and documents (fresh ones in the person's place)


@cell("Mutation.uploadDocument")
def _upload(w: World, who: str) -> str:
    query = """mutation($file: Upload!, $f: ID) { uploadDocument(file: $file, folderId: $f,
      allowDuplicate: true) { errors { code } } }"""
    body = multipart(w, who, query, {"f": _folder(w.folder(who))}, w.pdf_bytes)
    return outcome(body, "uploadDocument")


@cell("Mutation.retryPage")
def _retry_page(w: World, who: str) -> str:
    document = w.fresh_document(who)
    page = w.page(document)
    with database.connection_context():
        Page.update(status="failed", error="matrix").where(Page.id == page.id).execute()
    return _mutation(w, who, "retryPage", "$p: ID!", "pageId: $p", p=gid("Page", page.logical))


@cell("Mutation.reprocessDocument")
def _reprocess(w: World, who: str) -> str:
    return _mutation(w, who, "reprocessDocument", "$d: ID!", "documentId: $d",
                     d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.createFolder")
def _create_folder(w: World, who: str) -> str:
    return _mutation(w, who, "createFolder", "$p: ID, $t: String!", "parentId: $p, title: $t",
                     p=_folder(w.folder(who)), t=w.name("made"))  # fmt: skip


@cell("Mutation.renameNode")
def _rename(w: World, who: str) -> str:
    return _mutation(w, who, "renameNode", "$id: ID!, $t: String!", "id: $id, title: $t",
                     id=_doc(w.fresh_document(who)), t=w.name("renamed"))  # fmt: skip


@cell("Mutation.moveNodes")
def _move(w: World, who: str) -> str:
    return _mutation(w, who, "moveNodes", "$ids: [ID!]!, $t: ID!", "ids: $ids, targetId: $t",
                     ids=[_doc(w.fresh_document(who))], t=_folder(w.fresh_folder(who)))  # fmt: skip


@cell("Mutation.copyDocument")
def _copy(w: World, who: str) -> str:
    return _mutation(w, who, "copyDocument", "$id: ID!, $t: ID", "id: $id, targetId: $t",
                     id=_doc(w.fresh_document(who)), t=_folder(w.folder(who)))  # fmt: skip


@cell("Mutation.deleteNodes")
def _delete(w: World, who: str) -> tuple[str, str]:
    """The outcome, and where the document is then."""
    document = w.fresh_document(who)
    done = _mutation(w, who, "deleteNodes", "$ids: [ID!]!", "ids: $ids", ids=[_doc(document)])
    with database.connection_context():
        trashed = Node.get_by_id(document).deleted_at is not None
    return done, "trashed" if trashed else "in place"


@cell("Mutation.restoreNodes")
def _restore(w: World, who: str) -> str:
    return _mutation(w, who, "restoreNodes", "$ids: [ID!]!", "ids: $ids",
                     ids=[_doc(w.fresh_document(who, trashed=True))])  # fmt: skip


@cell("Mutation.emptyTrash")
def _empty_trash(w: World, who: str) -> tuple[str, str]:
    """The outcome, and whether the trashed document of the person's place is gone."""
    document = w.fresh_document(who, trashed=True)
    done = outcome(w.ask(who, "mutation { emptyTrash { errors { code } } }"), "emptyTrash")
    with database.connection_context():
        gone = Node.get_or_none(Node.id == document) is None
    return done, "place's emptied" if gone else "place's kept"


@cell("Mutation.setDocumentType")
def _set_type(w: World, who: str) -> tuple[str, str]:
    """Their own type, and one of Alice's."""
    return tuple(  # type: ignore[return-value]
        _mutation(w, who, "setDocumentType", "$d: ID!, $t: ID", "documentId: $d, typeId: $t",
                  d=_doc(w.fresh_document(who)), t=gid("DocumentType", w.doc_type(whose)[0]))
        for whose in (who, "owner")
    )  # fmt: skip


@cell("Mutation.setCustomFieldValues")
def _set_values(w: World, who: str) -> str:
    """On a document of their place whose type is the place owner's (Alice's, or for the
    group's place its Editor member's)."""
    kind, custom = w.doc_type("member Editor" if w.place(who) == "group" else "owner")
    document = w.fresh_document(who)
    with database.connection_context():
        Document.update(document_type=kind).where(Document.node == document).execute()
    return _mutation(w, who, "setCustomFieldValues", "$d: ID!, $v: [CustomFieldValueInput!]!",
                     "documentId: $d, values: $v", d=_doc(document),
                     v=[{"fieldId": gid("CustomField", custom), "value": "12"}])  # fmt: skip


@cell("Mutation.shareNode")
def _share(w: World, who: str) -> str:
    return _mutation(w, who, "shareNode", "$n: ID!, $r: ID!, $u: ID",
                     "nodeId: $n, roleId: $r, userId: $u", n=_doc(w.fresh_document(who)),
                     r=role_id("Viewer"), u=gid("User", w.friend))  # fmt: skip


@cell("Mutation.revokeShare")
def _revoke_share(w: World, who: str) -> str:
    return _mutation(w, who, "revokeShare", "$id: ID!", "id: $id", id=w.share(who))


# ---- mutations: tags and types


@cell("Mutation.createTag")
def _create_tag(w: World, who: str) -> str:
    return _mutation(w, who, "createTag", "$n: String!", "name: $n", n=w.name("made"))


def _own_and_alices(w: World, who: str, run: Callable[[str], str]) -> tuple[str, str]:
    return run(who), run("owner")


@cell("Mutation.updateTag")
def _update_tag(w: World, who: str) -> tuple[str, str]:
    """Their own tag, and one of Alice's."""
    return _own_and_alices(
        w,
        who,
        lambda whose: _mutation(
            w,
            who,
            "updateTag",
            "$id: ID!",
            'id: $id, color: "#123456"',
            id=gid("Tag", w.tag(whose)),
        ),
    )


@cell("Mutation.deleteTag")
def _delete_tag(w: World, who: str) -> tuple[str, str]:
    return _own_and_alices(
        w,
        who,
        lambda whose: _mutation(
            w, who, "deleteTag", "$id: ID!", "id: $id", id=gid("Tag", w.tag(whose))
        ),
    )


@cell("Mutation.tagNodes")
def _tag_nodes(w: World, who: str) -> tuple[str, str]:
    """A document of their place with their own tag, and with one of Alice's."""
    return _own_and_alices(
        w,
        who,
        lambda whose: _mutation(
            w,
            who,
            "tagNodes",
            "$n: [ID!]!, $t: [ID!]!",
            "nodeIds: $n, tagIds: $t",
            n=[_doc(w.fresh_document(who))],
            t=[gid("Tag", w.tag(whose))],
        ),
    )


@cell("Mutation.untagNodes")
def _untag_nodes(w: World, who: str) -> tuple[str, str]:
    def run(whose: str) -> str:
        tag = w.tag(whose)
        return _mutation(w, who, "untagNodes", "$n: [ID!]!, $t: [ID!]!", "nodeIds: $n, tagIds: $t",
                         n=[_doc(w.tagged(who, tag))], t=[gid("Tag", tag)])  # fmt: skip

    return _own_and_alices(w, who, run)


@cell("Mutation.createDocumentType")
def _create_type(w: World, who: str) -> str:
    return _mutation(w, who, "createDocumentType", "$n: String!",
                     'name: $n, fields: [{name: "Amount", kind: TEXT}]', n=w.name("made"))  # fmt: skip


@cell("Mutation.deleteDocumentType")
def _delete_type(w: World, who: str) -> tuple[str, str]:
    return _own_and_alices(
        w,
        who,
        lambda whose: _mutation(
            w,
            who,
            "deleteDocumentType",
            "$id: ID!",
            "id: $id",
            id=gid("DocumentType", w.doc_type(whose)[0]),
        ),
    )


# ---- mutations: pages (fresh documents with a real PDF)


@cell("Mutation.rotatePages")
def _rotate(w: World, who: str) -> str:
    return _mutation(w, who, "rotatePages", "$d: ID!", "documentId: $d, pages: [{page: 1, degrees: 90}]",
                     d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.reorderPages")
def _reorder(w: World, who: str) -> str:
    return _mutation(w, who, "reorderPages", "$d: ID!", "documentId: $d, order: [3, 1, 2]",
                     d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.deletePages")
def _delete_pages(w: World, who: str) -> str:
    return _mutation(w, who, "deletePages", "$d: ID!", "documentId: $d, pages: [3]",
                     d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.extractPages")
def _extract(w: World, who: str) -> str:
    return _mutation(w, who, "extractPages", "$d: ID!, $f: ID", "documentId: $d, pages: [1], folderId: $f",
                     d=_doc(w.fresh_document(who)), f=_folder(w.folder(who)))  # fmt: skip


@cell("Mutation.movePages")
def _move_pages(w: World, who: str) -> str:
    return _mutation(w, who, "movePages", "$s: ID!, $t: ID!", "sourceId: $s, pages: [1], targetId: $t",
                     s=_doc(w.fresh_document(who)), t=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.mergeDocuments")
def _merge(w: World, who: str) -> str:
    return _mutation(w, who, "mergeDocuments", "$ids: [ID!]!, $f: ID", "ids: $ids, folderId: $f",
                     ids=[_doc(w.fresh_document(who)), _doc(w.fresh_document(who))],
                     f=_folder(w.folder(who)))  # fmt: skip


# ---- subscriptions


@cell("Subscription.documentProgress")
def _document_progress(w: World, who: str) -> str:
    document = w.fresh_document(who, status="processing")
    query = "subscription($d: ID!) { documentProgress(documentId: $d) { status } }"
    return first_message(w, who, query, "documentProgress", d=_doc(document))


@cell("Subscription.documentsProgress")
def _documents_progress(w: World, who: str) -> str:
    return feed_delivers(w, who, w.fresh_document(who, status="processing"))


@cell("Subscription.nodeEvents")
def _node_events(w: World, who: str) -> str:
    query = "subscription($f: ID!) { nodeEvents(folderId: $f) { kind } }"
    return first_message(w, who, query, "nodeEvents", f=_folder(w.folder(who)))


@cell("Subscription.queueStats")
def _queue_stats(w: World, who: str) -> str:
    query = "subscription { queueStats(intervalSeconds: 1) { at } }"
    return first_message(w, who, query, "queueStats")


# ---- file routes: the HTTP status


@cell("GET /files/zip")
def _zip(w: World, who: str) -> int:
    return w.get(who, f"/files/zip?ids={_doc(w.fresh_document(who))}")


@cell("GET /files/originals/{document_id:int}")
def _original(w: World, who: str) -> int:
    return w.get(who, f"/files/originals/{w.fresh_document(who)}")


@cell("GET /files/versions/{version_id:int}")
def _version(w: World, who: str) -> int:
    return w.get(who, f"/files/versions/{w.version(w.fresh_document(who))}")


@cell("GET /files/previews/{page_id:int}/{size:str}")
def _preview(w: World, who: str) -> int:
    return w.get(who, f"/files/previews/{w.page(w.fresh_document(who)).id}/medium")


DENIED, HIDDEN, FORBIDDEN = "PERMISSION_DENIED", "NOT_FOUND", "FORBIDDEN"
# Rows that many fields share, in the order of PEOPLE: owner; member Viewer, Editor,
# Administrator; share viewer, share editor; stranger; superuser.
EVERYONE = (OK,) * 8
EDITS_THE_PLACE = (OK, DENIED, OK, OK, DENIED, OK, HIDDEN, HIDDEN)
ADMINISTERS = (DENIED, DENIED, DENIED, OK, DENIED, DENIED, DENIED, OK)
QUEUE = (FORBIDDEN,) * 7 + ("JOB_NOT_FOUND",)
DOWNLOADS = (200, 200, 200, 200, 200, 200, 404, 404)
OWN_AND_ALICES = (
    (OK, OK),
    (DENIED, DENIED),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (OK, HIDDEN),
)
# On a document of their place, with their own tag (type) and with one of Alice's.
LABELS_THE_PLACE = (
    (OK, OK),
    (DENIED, DENIED),
    (OK, HIDDEN),
    (OK, HIDDEN),
    (DENIED, DENIED),
    (OK, HIDDEN),
    (HIDDEN, HIDDEN),
    (HIDDEN, HIDDEN),
)
OWN = (("own",),) * 8
BUILTIN = (tuple(BUILTIN_ROLES),) * 8

# The outcome of every cell (see each cell's function for what it runs).
EXPECTED: dict[str, tuple[Any, ...]] = {
    "Query.me": ("self",) * 8,
    # The place's document, Alice's tag, group G, Alice's account.
    "Query.node": (
        (OK, OK, NULL, OK),
        (OK, NULL, OK, NULL),
        (OK, NULL, OK, NULL),
        (OK, NULL, OK, OK),
        (OK, NULL, NULL, NULL),
        (OK, NULL, NULL, NULL),
        (NULL, NULL, NULL, NULL),
        (NULL, NULL, OK, OK),
    ),
    "Query.document": (OK, OK, OK, OK, OK, OK, NULL, NULL),
    "Query.search": (("alice",), *(("group",),) * 3, ("alice",), ("alice",), (), ()),
    # The trash is the owner's: a group's members see the group's, a share's people not.
    "Query.trash": ("listed",) * 4 + ("absent",) * 4,
    "Query.tags": OWN,
    "Query.documentTypes": OWN,
    "Query.ocrLanguages": EVERYONE,
    "Query.workQueue": (FORBIDDEN,) * 7 + (OK,),
    "Query.permissions": (True,) * 8,
    "Query.roles": BUILTIN,
    "Query.users": (*ADMINISTERS[:3], ("alice", "friend"), *ADMINISTERS[4:7], ("alice", "friend")),
    "Query.groups": ((), ("G",), ("G",), ("G", "Other"), (), (), (), ("G", "Other")),
    "Query.sharedWithMe": ((), (), (), (), ("Alice's Shared",), ("Alice's Shared",), (), ()),
    "Query.myTokens": ("own",) * 8,
    # Needs audit_log.view, and then the place: Alice's is hidden from the superuser.
    "Query.auditLog": (DENIED, DENIED, DENIED, OK, DENIED, DENIED, DENIED, HIDDEN),
    "Mutation.login": EVERYONE,
    "Mutation.logout": EVERYONE,
    "Mutation.uploadDocument": EDITS_THE_PLACE,
    "Mutation.retryPage": EDITS_THE_PLACE,
    "Mutation.reprocessDocument": EDITS_THE_PLACE,
    "Mutation.createFolder": EDITS_THE_PLACE,
    "Mutation.renameNode": EDITS_THE_PLACE,
    "Mutation.moveNodes": EDITS_THE_PLACE,
    "Mutation.copyDocument": EDITS_THE_PLACE,
    # A share's editor trashes into the owner's trash, so cannot restore from it.
    "Mutation.deleteNodes": tuple(
        (done, "trashed" if done == OK else "in place") for done in EDITS_THE_PLACE
    ),
    "Mutation.restoreNodes": (OK, DENIED, OK, OK, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    # Everyone empties their own trash (a member the group's too), as their roles allow.
    "Mutation.emptyTrash": (
        (OK, "place's emptied"),
        (DENIED, "place's kept"),
        (OK, "place's emptied"),
        (OK, "place's emptied"),
        (OK, "place's kept"),
        (OK, "place's kept"),
        (OK, "place's kept"),
        (OK, "place's kept"),
    ),
    "Mutation.createTag": (OK, DENIED) + (OK,) * 6,
    "Mutation.updateTag": OWN_AND_ALICES,
    "Mutation.deleteTag": OWN_AND_ALICES,
    "Mutation.tagNodes": LABELS_THE_PLACE,
    "Mutation.untagNodes": LABELS_THE_PLACE,
    "Mutation.createDocumentType": (OK, DENIED) + (OK,) * 6,
    "Mutation.deleteDocumentType": OWN_AND_ALICES,
    "Mutation.setDocumentType": LABELS_THE_PLACE,
    "Mutation.rotatePages": EDITS_THE_PLACE,
    "Mutation.reorderPages": EDITS_THE_PLACE,
    "Mutation.deletePages": EDITS_THE_PLACE,
    "Mutation.extractPages": EDITS_THE_PLACE,
    "Mutation.movePages": EDITS_THE_PLACE,
    "Mutation.mergeDocuments": EDITS_THE_PLACE,
    "Mutation.setCustomFieldValues": EDITS_THE_PLACE,
    "Mutation.retryJob": QUEUE,
    "Mutation.discardJob": QUEUE,
    "Mutation.createUser": ADMINISTERS,
    "Mutation.updateUser": ADMINISTERS,
    "Mutation.deleteUser": ADMINISTERS,
    "Mutation.resetPassword": ADMINISTERS,
    "Mutation.setUserRoles": ADMINISTERS,
    "Mutation.changePassword": EVERYONE,
    "Mutation.createApiToken": EVERYONE,
    # Their own token, and one of Alice's.
    "Mutation.revokeToken": ((OK, OK),) + ((OK, HIDDEN),) * 7,
    "Mutation.createGroup": ADMINISTERS,
    "Mutation.renameGroup": ADMINISTERS,
    "Mutation.addGroupMembers": ADMINISTERS,
    "Mutation.removeGroupMembers": ADMINISTERS,
    "Mutation.setGroupRoles": ADMINISTERS,
    "Mutation.deleteGroup": ADMINISTERS,
    "Mutation.createRole": ADMINISTERS,
    "Mutation.updateRole": ADMINISTERS,
    "Mutation.deleteRole": ADMINISTERS,
    # Sharing is the owner's side's: a share's editor may not pass it on.
    "Mutation.shareNode": (OK, DENIED, OK, OK, DENIED, DENIED, HIDDEN, HIDDEN),
    "Mutation.revokeShare": (OK, DENIED, OK, OK, DENIED, DENIED, HIDDEN, HIDDEN),
    "Subscription.documentProgress": ("next PROCESSING",) * 6 + (HIDDEN, HIDDEN),
    "Subscription.documentsProgress": ("delivered",) * 6 + ("withheld",) * 2,
    "Subscription.nodeEvents": ("next SUBSCRIBED",) * 6 + (HIDDEN, HIDDEN),
    "Subscription.queueStats": (FORBIDDEN,) * 7 + ("next ok",),
    "GET /files/zip": DOWNLOADS,
    "GET /files/originals/{document_id:int}": DOWNLOADS,
    "GET /files/versions/{version_id:int}": DOWNLOADS,
    "GET /files/previews/{page_id:int}/{size:str}": DOWNLOADS,
}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, migrated_database: Database
) -> Iterator[World]:
    """One world for the module (every cell makes the fresh objects it changes)."""
    from archivist.graphql.app import create_app

    clear_tables()
    tmp = tmp_path_factory.mktemp("matrix")
    settings = load_settings(settings_env(tmp / "data", database_url))
    use_settings(settings)
    redis = redis_connection(settings)
    redis.flushdb()
    with TestClient(create_app(settings)) as client:
        yield prepare(client, settings, tmp)
    redis.flushdb()


def test_every_root_field_and_file_route_has_a_decision_and_a_cell(world: World) -> None:
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
        for route in create_app(world.settings).routes
        if getattr(route, "path", "").startswith("/files/")
    }
    assert found | routes == set(DECISIONS) == set(CELLS) == set(EXPECTED)


@pytest.mark.parametrize("name", list(DECISIONS))
def test_the_matrix(world: World, name: str) -> None:
    got = {who: CELLS[name](world, who) for who in PEOPLE}
    assert got == dict(zip(PEOPLE, EXPECTED[name], strict=True)), name
