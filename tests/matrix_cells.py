"""The cells of the permission matrix (tests/test_permission_matrix.py) for folders,
documents, pages, tags and types, search, subscriptions and file routes: for each field, one
small real operation run as one kind of person, answering its outcome (an error code, what a
list holds, an HTTP status). Accounts: tests/matrix_account_cells.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matrix_world import (
    NULL,
    OK,
    World,
    feed_delivers,
    first_message,
    multipart,
    mutation,
    outcome,
    registry,
    seen,
)
from people_support import role_id
from support import gid

from archivist.core.db import database
from archivist.core.models import (
    AccessToken,
    AuditEntry,
    Document,
    DocumentType,
    Node,
    Page,
    Share,
    Tag,
)

CELLS, cell = registry()


def _doc(document: int) -> str:
    return gid("Document", document)


def _folder(folder: int) -> str:
    return gid("Folder", folder)


def _own_and_alices(run: Callable[[str], str], who: str) -> tuple[str, str]:
    """``run`` with an object of the person's own, then with one of Alice's."""
    return run(who), run("owner")


# ---- queries


@cell("Query.node")
def _node(w: World, who: str) -> str:
    """Which of an object of every type the person finds by its id: their place's folder,
    its indexed document with its version and page, Alice's tag, type and custom field,
    group G, the Viewer role, Alice's share with the share viewer, a token of Alice's, an
    audit entry on the place's folder, and Alice's account."""
    place, document = w.place(who), w.indexed[w.place(who)]
    kind, custom = w.doc_type("owner")
    with database.connection_context():
        share = Share.get(
            (Share.node == w.folders["alice"]) & (Share.user == w.users["share viewer"])
        )
        token = AccessToken.select().where(AccessToken.user == w.users["owner"]).get()
        entry = AuditEntry.select().where(AuditEntry.node_id == w.folders[place]).get()
    ids = {
        "folder": _folder(w.folders[place]),
        "document": _doc(document),
        "version": gid("DocumentVersion", w.version(document)),
        "page": gid("Page", w.page(document).logical),
        "tag": gid("Tag", w.tag("owner")),
        "type": gid("DocumentType", kind),
        "field": gid("CustomField", custom),
        "group": gid("Group", w.group),
        "role": role_id("Viewer"),
        "share": gid("Share", share.id),
        "token": gid("AccessToken", token.id),
        "entry": gid("AuditEntry", entry.id),
        "user": gid("User", w.users["owner"]),
    }
    variables = ", ".join(f"${label}: ID!" for label in ids)
    fields = " ".join(f"{label}: node(id: ${label}) {{ id }}" for label in ids)
    body = w.ask(who, f"query({variables}) {{ {fields} }}", **ids)
    if body.get("errors"):
        return outcome(body, "folder")
    return " ".join(label for label in ids if body["data"][label] is not None)


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


@cell("Query.searchSuggestions")
def _suggestions(w: World, who: str) -> Any:
    """Whether the indexed documents' word is offered to complete its prefix."""
    body = w.ask(who, '{ searchSuggestions(prefix: "matrixw") { kind text } }')
    if body.get("errors"):
        return outcome(body, "searchSuggestions")
    return tuple(item["text"] for item in body["data"]["searchSuggestions"])


@cell("Query.similarDocuments")
def _similar(w: World, who: str) -> Any:
    """Documents like Alice's indexed one (the group's has the same text): whose they are."""
    document = _doc(w.indexed["alice"])
    body = w.ask(
        who, "query($id: ID!) { similarDocuments(id: $id) { document { id } } }", id=document
    )
    if body.get("errors"):
        return outcome(body, "similarDocuments")
    places = {_doc(document): place for place, document in w.indexed.items()}
    found = body["data"]["similarDocuments"]
    return NULL if found is None else tuple(places.get(i["document"]["id"], "other") for i in found)


@cell("Query.trash")
def _trash(w: World, who: str) -> str:
    trashed = _doc(w.fresh_document(who, trashed=True))
    body = w.ask(who, "{ trash(first: 100) { edges { node { id } } } }")
    if body.get("errors"):
        return outcome(body, "trash")
    listed = {edge["node"]["id"] for edge in body["data"]["trash"]["edges"]}
    return "listed" if trashed in listed else "absent"


@cell("Query.tags")
def _tags(w: World, who: str) -> Any:
    """Of the person's own tag and Alice's, which the list holds."""
    with database.connection_context():
        wanted = {"own": Tag.get_by_id(w.tag(who)).name}
        if who != "owner":
            wanted["alice's"] = Tag.get_by_id(w.tag("owner")).name
    return seen(w.ask(who, "{ tags { name } }"), "tags", "name", wanted)


@cell("Query.documentTypes")
def _types(w: World, who: str) -> Any:
    with database.connection_context():
        wanted = {"own": DocumentType.get_by_id(w.doc_type(who)[0]).name}
        if who != "owner":
            wanted["alice's"] = DocumentType.get_by_id(w.doc_type("owner")[0]).name
    body = w.ask(who, "{ documentTypes { name } }")
    return seen(body, "documentTypes", "name", wanted)


@cell("Query.sharedWithMe")
def _shared_with_me(w: World, who: str) -> Any:
    body = w.ask(who, "{ sharedWithMe { id } }")
    if body.get("errors"):
        return outcome(body, "sharedWithMe")
    shared = {_folder(w.folders["alice"]): "Alice's Shared"}
    return tuple(shared.get(item["id"], item["id"]) for item in body["data"]["sharedWithMe"])


@cell("Query.auditLog")
def _audit_log(w: World, who: str) -> str:
    """The history of the person's place."""
    query = "query($id: ID!) { auditLog(nodeId: $id) { totalCount } }"
    return outcome(w.ask(who, query, id=_folder(w.folder(who))), "auditLog")


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
    return mutation(w, who, "retryPage", "$p: ID!", "pageId: $p", p=gid("Page", page.logical))


@cell("Mutation.reprocessDocument")
def _reprocess(w: World, who: str) -> str:
    return mutation(w, who, "reprocessDocument", "$d: ID!", "documentId: $d",
                    d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.createFolder")
def _create_folder(w: World, who: str) -> str:
    return mutation(w, who, "createFolder", "$p: ID, $t: String!", "parentId: $p, title: $t",
                    p=_folder(w.folder(who)), t=w.name("made"))  # fmt: skip


@cell("Mutation.renameNode")
def _rename(w: World, who: str) -> str:
    return mutation(w, who, "renameNode", "$id: ID!, $t: String!", "id: $id, title: $t",
                    id=_doc(w.fresh_document(who)), t=w.name("renamed"))  # fmt: skip


@cell("Mutation.moveNodes")
def _move(w: World, who: str) -> str:
    return mutation(w, who, "moveNodes", "$ids: [ID!]!, $t: ID!", "ids: $ids, targetId: $t",
                    ids=[_doc(w.fresh_document(who))], t=_folder(w.fresh_folder(who)))  # fmt: skip


@cell("Mutation.copyDocument")
def _copy(w: World, who: str) -> str:
    return mutation(w, who, "copyDocument", "$id: ID!, $t: ID", "id: $id, targetId: $t",
                    id=_doc(w.fresh_document(who)), t=_folder(w.folder(who)))  # fmt: skip


@cell("Mutation.deleteNodes")
def _delete(w: World, who: str) -> tuple[str, str]:
    """The outcome, and where the document is then (the payload names what was trashed)."""
    document = w.fresh_document(who)
    query = """mutation($ids: [ID!]!) { deleteNodes(ids: $ids) { nodes { id title }
      errors { code } } }"""
    body = w.ask(who, query, ids=[_doc(document)])
    done = outcome(body, "deleteNodes")
    if done == OK:
        assert [n["id"] for n in body["data"]["deleteNodes"]["nodes"]] == [_doc(document)], body
    with database.connection_context():
        trashed = Node.get_by_id(document).deleted_at is not None
    return done, "trashed" if trashed else "in place"


@cell("Mutation.restoreNodes")
def _restore(w: World, who: str) -> str:
    return mutation(w, who, "restoreNodes", "$ids: [ID!]!", "ids: $ids",
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
    """A document of their place, with a type of their own and with one of the place's
    owner (a node carries only its owner's labels)."""

    def run(kind: int) -> str:
        return mutation(w, who, "setDocumentType", "$d: ID!, $t: ID", "documentId: $d, typeId: $t",
                        d=_doc(w.fresh_document(who)), t=gid("DocumentType", kind))  # fmt: skip

    return run(w.doc_type(who)[0]), run(w.place_type(who)[0])


@cell("Mutation.setCustomFieldValues")
def _set_values(w: World, who: str) -> str:
    """On a document of their place whose type is the place owner's (Alice's, or for the
    group's place its Editor member's)."""
    kind, custom = w.doc_type("member Editor" if w.place(who) == "group" else "owner")
    document = w.fresh_document(who)
    with database.connection_context():
        Document.update(document_type=kind).where(Document.node == document).execute()
    return mutation(w, who, "setCustomFieldValues", "$d: ID!, $v: [CustomFieldValueInput!]!",
                    "documentId: $d, values: $v", d=_doc(document),
                    v=[{"fieldId": gid("CustomField", custom), "value": "12"}])  # fmt: skip


@cell("Mutation.shareNode")
def _share(w: World, who: str) -> str:
    return mutation(w, who, "shareNode", "$n: ID!, $r: ID!, $u: ID",
                    "nodeId: $n, roleId: $r, userId: $u", n=_doc(w.fresh_document(who)),
                    r=role_id("Viewer"), u=gid("User", w.friend))  # fmt: skip


@cell("Mutation.revokeShare")
def _revoke_share(w: World, who: str) -> str:
    return mutation(w, who, "revokeShare", "$id: ID!", "id: $id", id=w.share(who))


# ---- mutations: tags and types


@cell("Mutation.createTag")
def _create_tag(w: World, who: str) -> str:
    return mutation(w, who, "createTag", "$n: String!", "name: $n", n=w.name("made"))


@cell("Mutation.updateTag")
def _update_tag(w: World, who: str) -> tuple[str, str]:
    def run(whose: str) -> str:
        return mutation(w, who, "updateTag", "$id: ID!", 'id: $id, color: "#123456"',
                        id=gid("Tag", w.tag(whose)))  # fmt: skip

    return _own_and_alices(run, who)


@cell("Mutation.deleteTag")
def _delete_tag(w: World, who: str) -> tuple[str, str]:
    def run(whose: str) -> str:
        return mutation(w, who, "deleteTag", "$id: ID!", "id: $id", id=gid("Tag", w.tag(whose)))

    return _own_and_alices(run, who)


@cell("Mutation.tagNodes")
def _tag_nodes(w: World, who: str) -> tuple[str, str]:
    """A document of their place, with a tag of their own and with one of the place's
    owner (a node carries only its owner's labels)."""

    def run(tag: int) -> str:
        return mutation(w, who, "tagNodes", "$n: [ID!]!, $t: [ID!]!", "nodeIds: $n, tagIds: $t",
                        n=[_doc(w.fresh_document(who))], t=[gid("Tag", tag)])  # fmt: skip

    return run(w.tag(who)), run(w.place_tag(who))


@cell("Mutation.untagNodes")
def _untag_nodes(w: World, who: str) -> tuple[str, str]:
    def run(tag: int) -> str:
        return mutation(w, who, "untagNodes", "$n: [ID!]!, $t: [ID!]!", "nodeIds: $n, tagIds: $t",
                        n=[_doc(w.tagged(who, tag))], t=[gid("Tag", tag)])  # fmt: skip

    return run(w.tag(who)), run(w.place_tag(who))


@cell("Mutation.createDocumentType")
def _create_type(w: World, who: str) -> str:
    return mutation(w, who, "createDocumentType", "$n: String!",
                    'name: $n, fields: [{name: "Amount", kind: TEXT}]', n=w.name("made"))  # fmt: skip


@cell("Mutation.updateDocumentType")
def _update_type(w: World, who: str) -> tuple[str, str]:
    def run(whose: str) -> str:
        return mutation(w, who, "updateDocumentType", "$id: ID!, $n: String!", "id: $id, name: $n",
                        id=gid("DocumentType", w.doc_type(whose)[0]), n=w.name("renamed"))  # fmt: skip

    return _own_and_alices(run, who)


@cell("Mutation.deleteDocumentType")
def _delete_type(w: World, who: str) -> tuple[str, str]:
    def run(whose: str) -> str:
        return mutation(w, who, "deleteDocumentType", "$id: ID!", "id: $id",
                        id=gid("DocumentType", w.doc_type(whose)[0]))  # fmt: skip

    return _own_and_alices(run, who)


# ---- mutations: pages (fresh documents with a real PDF)


@cell("Mutation.rotatePages")
def _rotate(w: World, who: str) -> str:
    return mutation(w, who, "rotatePages", "$d: ID!", "documentId: $d, pages: [{page: 1, degrees: 90}]",
                    d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.reorderPages")
def _reorder(w: World, who: str) -> str:
    return mutation(w, who, "reorderPages", "$d: ID!", "documentId: $d, order: [3, 1, 2]",
                    d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.deletePages")
def _delete_pages(w: World, who: str) -> str:
    return mutation(w, who, "deletePages", "$d: ID!", "documentId: $d, pages: [3]",
                    d=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.extractPages")
def _extract(w: World, who: str) -> str:
    return mutation(w, who, "extractPages", "$d: ID!, $f: ID", "documentId: $d, pages: [1], folderId: $f",
                    d=_doc(w.fresh_document(who)), f=_folder(w.folder(who)))  # fmt: skip


@cell("Mutation.movePages")
def _move_pages(w: World, who: str) -> str:
    return mutation(w, who, "movePages", "$s: ID!, $t: ID!", "sourceId: $s, pages: [1], targetId: $t",
                    s=_doc(w.fresh_document(who)), t=_doc(w.fresh_document(who)))  # fmt: skip


@cell("Mutation.mergeDocuments")
def _merge(w: World, who: str) -> str:
    return mutation(w, who, "mergeDocuments", "$ids: [ID!]!, $f: ID", "ids: $ids, folderId: $f",
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
