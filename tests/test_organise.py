"""Folders, trash, tags, document types and custom fields, through GraphQL."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import gid, graphql, login, make_document, row_id

from archivist.core.db import database
from archivist.core.models import Node


@pytest.fixture
def alice(client: TestClient, make_user):
    user = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == user.id) & (Node.special == "home"))
    return login(client, "alice"), user.id, home.id


def run(client: TestClient, token: str, query: str, **variables):
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


CREATE = "mutation($p: ID, $t: String!) { createFolder(parentId: $p, title: $t) { node { id title } errors { code message field } } }"
CHILDREN = """query($id: ID!, $order: ChildrenOrder, $filter: ChildrenFilter) { node(id: $id) {
  ... on Folder { children(orderBy: $order, filter: $filter) { totalCount edges { node {
    id title tags { name } ... on Document { documentType { name } pageCount } } } } } } }"""


def titles(data) -> list[str]:
    return [edge["node"]["title"] for edge in data["node"]["children"]["edges"]]


def test_folders_create_rename_breadcrumb(client: TestClient, alice) -> None:
    token, _, home = alice
    taxes = run(client, token, CREATE, t="Taxes")["createFolder"]["node"]
    year = run(client, token, CREATE, p=taxes["id"], t="2024")["createFolder"]["node"]
    clash = run(client, token, CREATE, t="Taxes")["createFolder"]
    assert clash == {"node": None, "errors": [{"code": "TITLE_TAKEN", "field": "title",
        "message": "There is already something called 'Taxes' in that folder."}]}  # fmt: skip
    bad = run(client, token, CREATE, t="a/b")["createFolder"]["errors"][0]["code"]
    assert bad == "INVALID_TITLE"
    for odd in ("nul\x00byte", "bell\x07"):  # PostgreSQL cannot even store a NUL
        assert run(client, token, CREATE, t=odd)["createFolder"]["errors"][0]["code"] == (
            "INVALID_TITLE"
        )
    crumbs = run(
        client,
        token,
        "query($id: ID!) { node(id: $id) { ... on Item { breadcrumb { title } } } }",
        id=year["id"],
    )
    assert [c["title"] for c in crumbs["node"]["breadcrumb"]] == ["Home", "Taxes"]
    renamed = run(
        client,
        token,
        'mutation($id: ID!) { renameNode(id: $id, title: "Tax") { node { title } errors { code } } }',
        id=taxes["id"],
    )
    assert renamed["renameNode"] == {"node": {"title": "Tax"}, "errors": []}
    home_rename = run(
        client,
        token,
        'mutation($id: ID!) { renameNode(id: $id, title: "X") { errors { code } } }',
        id=gid("Folder", home),
    )
    assert home_rename["renameNode"]["errors"] == [{"code": "SPECIAL_FOLDER"}]


MOVE = "mutation($ids: [ID!]!, $t: ID!) { moveNodes(ids: $ids, targetId: $t) { nodes { id } errors { code message } } }"


def test_move_refuses_a_folder_into_its_own_subtree(client: TestClient, alice) -> None:
    token, user, home = alice
    a = run(client, token, CREATE, t="A")["createFolder"]["node"]["id"]
    b = run(client, token, CREATE, p=a, t="B")["createFolder"]["node"]["id"]
    c = run(client, token, CREATE, t="C")["createFolder"]["node"]["id"]
    doc = gid("Document", make_document(home, user, "letter", ["hello"]))
    assert run(client, token, MOVE, ids=[a], t=b)["moveNodes"]["errors"] == [
        {"code": "MOVE_INTO_ITSELF", "message": "'A' cannot go into itself or a folder inside it."}
    ]
    assert (
        run(client, token, MOVE, ids=[a], t=a)["moveNodes"]["errors"][0]["code"]
        == "MOVE_INTO_ITSELF"
    )
    moved = run(client, token, MOVE, ids=[a, doc], t=c)["moveNodes"]
    assert moved["errors"] == [] and {n["id"] for n in moved["nodes"]} == {a, doc}
    assert titles(run(client, token, CHILDREN, id=c)) == ["A", "letter"]
    assert titles(run(client, token, CHILDREN, id=gid("Folder", home))) == ["C"]


def test_strangers_cannot_touch_folders(client: TestClient, alice, make_user) -> None:
    token, _, home = alice
    make_user("mallory")
    other = login(client, "mallory")
    folder = run(client, token, CREATE, t="Private")["createFolder"]["node"]["id"]
    for mutation in (
        'mutation($id: ID!) { renameNode(id: $id, title: "x") { errors { code } } }',
        "mutation($id: ID!) { deleteNodes(ids: [$id]) { errors { code } } }",
    ):
        data = run(client, other, mutation, id=folder)
        assert next(iter(data.values()))["errors"] == [{"code": "NOT_FOUND"}]
    assert run(client, other, CHILDREN, id=gid("Folder", home))["node"] is None


TRASH = "{ trash { totalCount edges { node { id title deletedAt } } } }"


def test_trash_restore_and_empty(client: TestClient, alice) -> None:
    token, user, home = alice
    folder = run(client, token, CREATE, t="Old")["createFolder"]["node"]["id"]
    make_document(row_id(folder), user, "receipt", ["paid"])
    deleted = run(
        client,
        token,
        "mutation($id: ID!) { deleteNodes(ids: [$id]) { errors { code } } }",
        id=folder,
    )
    assert deleted["deleteNodes"]["errors"] == []
    assert titles(run(client, token, CHILDREN, id=gid("Folder", home))) == []
    trash = run(client, token, TRASH)["trash"]
    assert trash["totalCount"] == 1 and trash["edges"][0]["node"]["deletedAt"]
    # A new folder takes the old name meanwhile: restoring keeps both.
    run(client, token, CREATE, t="Old")
    restored = run(
        client,
        token,
        "mutation($id: ID!) { restoreNodes(ids: [$id]) { nodes { title } errors { code } } }",
        id=folder,
    )
    assert restored["restoreNodes"] == {"nodes": [{"title": "Old (2)"}], "errors": []}
    assert titles(run(client, token, CHILDREN, id=gid("Folder", home))) == ["Old", "Old (2)"]
    assert titles(run(client, token, CHILDREN, id=folder)) == ["receipt"]
    run(
        client,
        token,
        "mutation($id: ID!) { deleteNodes(ids: [$id]) { errors { code } } }",
        id=folder,
    )
    emptied = run(client, token, "mutation { emptyTrash { count errors { code } } }")
    assert emptied["emptyTrash"] == {"count": 1, "errors": []}  # one document gone for good
    assert run(client, token, TRASH)["trash"]["totalCount"] == 0
    assert run(client, token, "query($id: ID!) { node(id: $id) { id } }", id=folder)["node"] is None


def test_restore_into_home_when_the_folder_is_gone(client: TestClient, alice) -> None:
    token, user, home = alice
    folder = run(client, token, CREATE, t="Box")["createFolder"]["node"]["id"]
    doc = gid("Document", make_document(row_id(folder), user, "deed", ["land"]))
    delete = "mutation($id: ID!) { deleteNodes(ids: [$id]) { errors { code } } }"
    run(client, token, delete, id=doc)
    run(client, token, delete, id=folder)  # its folder is in the trash too now
    restore = "mutation($id: ID!) { restoreNodes(ids: [$id]) { nodes { breadcrumb { title } } errors { code } } }"
    restored = run(client, token, restore, id=doc)["restoreNodes"]
    assert restored == {"nodes": [{"breadcrumb": [{"title": "Home"}]}], "errors": []}
    assert titles(run(client, token, CHILDREN, id=gid("Folder", home))) == ["deed"]
    again = run(client, token, restore, id=doc)["restoreNodes"]
    assert again["errors"] == [{"code": "NOT_IN_TRASH"}]


TAG = "mutation($n: String!, $c: String) { createTag(name: $n, color: $c) { tag { id name color } errors { code field } } }"


def test_tags_on_many_nodes_and_filtering(client: TestClient, alice) -> None:
    token, user, home = alice
    red = run(client, token, TAG, n="urgent", c="#FF0000")["createTag"]["tag"]
    blue = run(client, token, TAG, n="tax", c="#0000ff")["createTag"]["tag"]
    assert red["color"] == "#ff0000"
    assert run(client, token, TAG, n="urgent")["createTag"]["errors"] == [
        {"code": "TAG_EXISTS", "field": "name"}
    ]
    assert run(client, token, TAG, n="x", c="red")["createTag"]["errors"] == [
        {"code": "INVALID_COLOR", "field": "color"}
    ]
    docs = [gid("Document", make_document(home, user, f"doc {i}", ["text"])) for i in range(3)]
    tag_all = (
        "mutation($n: [ID!]!, $t: [ID!]!) { tagNodes(nodeIds: $n, tagIds: $t) { errors { code } } }"
    )
    run(client, token, tag_all, n=docs, t=[red["id"]])
    run(client, token, tag_all, n=docs[:1], t=[blue["id"]])
    run(client, token, tag_all, n=docs, t=[red["id"]])  # again: no duplicates
    urgent = run(client, token, CHILDREN, id=gid("Folder", home), filter={"tags": [red["id"]]})
    assert urgent["node"]["children"]["totalCount"] == 3
    both = run(
        client, token, CHILDREN, id=gid("Folder", home), filter={"tags": [red["id"], blue["id"]]}
    )
    assert titles(both) == ["doc 0"]
    assert both["node"]["children"]["edges"][0]["node"]["tags"] == [
        {"name": "tax"},
        {"name": "urgent"},
    ]
    run(
        client,
        token,
        "mutation($n: [ID!]!, $t: [ID!]!) { untagNodes(nodeIds: $n, tagIds: $t) { errors { code } } }",
        n=docs[:2],
        t=[red["id"]],
    )
    assert titles(
        run(client, token, CHILDREN, id=gid("Folder", home), filter={"tags": [red["id"]]})
    ) == ["doc 2"]
    renamed = run(
        client,
        token,
        'mutation($id: ID!) { updateTag(id: $id, name: "later", color: "#00ff00") { tag { name color } } }',
        id=red["id"],
    )
    assert renamed["updateTag"]["tag"] == {"name": "later", "color": "#00ff00"}
    run(client, token, "mutation($id: ID!) { deleteTag(id: $id) { count } }", id=red["id"])
    assert [t["name"] for t in run(client, token, "{ tags { name } }")["tags"]] == ["tax"]


TYPE = """mutation($n: String!, $f: [CustomFieldInput!]!) { createDocumentType(name: $n, fields: $f) {
  documentType { id fields { id name kind options } } errors { code field } } }"""
SET_TYPE = (
    "mutation($d: ID!, $t: ID) { setDocumentType(documentId: $d, typeId: $t) { errors { code } } }"
)
SET_VALUES = """mutation($d: ID!, $v: [CustomFieldValueInput!]!) { setCustomFieldValues(documentId: $d, values: $v) {
  document { ... on Document { customFields { field { name } value } } } errors { code message field } } }"""


def test_document_types_validate_values_by_kind(client: TestClient, alice) -> None:
    token, user, home = alice
    kinds = ["TEXT", "INTEGER", "NUMBER", "MONETARY", "DATE", "BOOLEAN", "SELECT", "URL"]
    fields = [
        {"name": k.title(), "kind": k, "options": ["paid", "open"] if k == "SELECT" else None}
        for k in kinds
    ]
    created = run(client, token, TYPE, n="Invoice", f=fields)["createDocumentType"]
    assert created["errors"] == []
    ids = {f["name"]: f["id"] for f in created["documentType"]["fields"]}
    assert [f["kind"] for f in created["documentType"]["fields"]] == kinds
    doc = gid("Document", make_document(home, user, "bill", ["due"]))
    assert (
        run(client, token, SET_VALUES, d=doc, v=[])["setCustomFieldValues"]["errors"][0]["code"]
        == "NO_DOCUMENT_TYPE"
    )
    run(client, token, SET_TYPE, d=doc, t=created["documentType"]["id"])
    good = {"Text": "hello", "Integer": "42", "Number": "3.25", "Monetary": "EUR12.50",
            "Date": "2024-02-29", "Boolean": "true", "Select": "paid", "Url": "https://example.org/x"}  # fmt: skip
    result = run(
        client,
        token,
        SET_VALUES,
        d=doc,
        v=[{"fieldId": ids[k], "value": v} for k, v in good.items()],
    )
    values = {
        f["field"]["name"]: f["value"]
        for f in result["setCustomFieldValues"]["document"]["customFields"]
    }
    assert values == good
    bad = {"Integer": "4.2", "Number": "lots", "Monetary": "12,50", "Date": "2024-02-30",
           "Boolean": "yes", "Select": "maybe", "Url": "ftp://x"}  # fmt: skip
    result = run(
        client,
        token,
        SET_VALUES,
        d=doc,
        v=[{"fieldId": ids[k], "value": v} for k, v in bad.items()],
    )
    errors = result["setCustomFieldValues"]["errors"]
    assert [e["field"] for e in errors] == [f"values.{i}" for i in range(len(bad))]
    assert {e["code"] for e in errors} == {"INVALID_VALUE"}
    assert errors[0]["message"] == "Integer: expected a whole number, got '4.2'."
    # Nothing was changed by the refused batch.
    again = run(
        client, token, "query($id: ID!) { document(id: $id) { customFields { value } } }", id=doc
    )
    assert [f["value"] for f in again["document"]["customFields"]] == list(good.values())


def test_children_ordered_and_filtered_by_custom_field(client: TestClient, alice) -> None:
    token, user, home = alice
    kind = run(client, token, TYPE, n="Receipt", f=[{"name": "Amount", "kind": "NUMBER"}])[
        "createDocumentType"
    ]
    type_id, field = kind["documentType"]["id"], kind["documentType"]["fields"][0]["id"]
    for title, amount in (("a", "100"), ("b", "9.5"), ("c", None), ("d", "20")):
        doc = gid("Document", make_document(home, user, title, ["x"]))
        run(client, token, SET_TYPE, d=doc, t=type_id)
        if amount:
            run(client, token, SET_VALUES, d=doc, v=[{"fieldId": field, "value": amount}])
    make_document(home, user, "untyped", ["x"])
    by_amount = run(client, token, CHILDREN, id=gid("Folder", home), order={"by": "FIELD", "fieldId": field},
                    filter={"documentType": type_id})  # fmt: skip
    assert titles(by_amount) == ["b", "d", "a", "c"]  # numerically, the unset one last
    down = run(client, token, CHILDREN, id=gid("Folder", home), order={"by": "FIELD", "fieldId": field, "direction": "DESC"},
               filter={"documentType": type_id})  # fmt: skip
    assert titles(down) == ["a", "d", "b", "c"]
    assert (
        titles(
            run(
                client,
                token,
                CHILDREN,
                id=gid("Folder", home),
                order={"by": "TITLE", "direction": "DESC"},
            )
        )[0]
        == "untyped"
    )


def test_copy_document_runs_no_ocr(client: TestClient, alice, redis_client) -> None:
    token, user, home = alice
    doc = gid("Document", make_document(home, user, "contract", ["first page", "second page"]))
    copy = run(
        client,
        token,
        "mutation($id: ID!) { copyDocument(id: $id) { document { id title ... on Document { status pages { edges { node { text status } } } } } errors { code } } }",
        id=doc,
    )
    document = copy["copyDocument"]["document"]
    assert document["title"] == "contract (2)" and document["status"] == "READY"
    assert [e["node"]["text"] for e in document["pages"]["edges"]] == ["first page", "second page"]
    from rq import Queue

    assert Queue("pages", connection=redis_client).count == 0  # nothing to OCR


SEARCH = (
    "query($q: String!) { search(query: $q) { totalCount edges { node { document { title } } } } }"
)


@pytest.mark.slow
def test_search_follows_every_change(client: TestClient, alice, redis_client, settings) -> None:
    from support import run_worker_burst

    from archivist.core.queue import enqueue_index

    token, user, home = alice
    doc = gid(
        "Document", make_document(home, user, "acme bill", ["Invoice from Acme for garden tools"])
    )
    enqueue_index(redis_client, row_id(doc))
    run_worker_burst(settings)

    def found(query: str) -> int:
        run_worker_burst(settings)  # the index jobs the last mutation queued
        return int(run(client, token, SEARCH, q=query)["search"]["totalCount"])

    assert found("garden") == 1 and found("title:acme") == 1
    run(
        client,
        token,
        'mutation($id: ID!) { renameNode(id: $id, title: "hardware receipt") { errors { code } } }',
        id=doc,
    )
    assert found("title:hardware") == 1 and found("title:acme") == 0
    sub = run(client, token, CREATE, t="Garden")["createFolder"]["node"]["id"]
    run(client, token, MOVE, ids=[doc], t=sub)
    assert found('garden in:"Home/Garden"') == 1
    parent = run(client, token, CREATE, t="Projects")["createFolder"]["node"]["id"]
    run(client, token, MOVE, ids=[sub], t=parent)  # the path of everything below changes
    assert found('in:"Home/Projects/Garden" garden') == 1 and found('in:"Home/Garden" garden') == 0
    tag = run(client, token, TAG, n="urgent")["createTag"]["tag"]["id"]
    run(
        client,
        token,
        "mutation($n: [ID!]!, $t: [ID!]!) { tagNodes(nodeIds: $n, tagIds: $t) { errors { code } } }",
        n=[doc],
        t=[tag],
    )
    assert found("tag:urgent garden") == 1
    kind = run(client, token, TYPE, n="Invoice", f=[])["createDocumentType"]["documentType"]["id"]
    run(client, token, SET_TYPE, d=doc, t=kind)
    assert found("type:Invoice") == 1
    renamed = run(
        client, token,
        "mutation($id: ID!, $n: String!) { updateDocumentType(id: $id, name: $n) {"
        " documentType { name } errors { code } } }",
        id=kind, n="  Paid   bill ",
    )["updateDocumentType"]  # fmt: skip
    assert renamed == {"documentType": {"name": "Paid bill"}, "errors": []}
    assert found('type:"Paid bill"') == 1 and found("type:Invoice") == 0
    run(
        client,
        token,
        "mutation($id: ID!) { deleteNodes(ids: [$id]) { errors { code } } }",
        id=parent,
    )
    assert found("garden") == 0
    run(
        client,
        token,
        "mutation($id: ID!) { restoreNodes(ids: [$id]) { errors { code } } }",
        id=parent,
    )
    assert found("garden") == 1


def _count_queries(client: TestClient, token: str, query: str, **variables) -> int:
    import logging

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
        run(client, token, query, **variables)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return len(counted)


def test_listing_children_costs_the_same_queries_for_10_or_1000(client: TestClient, alice) -> None:
    from archivist.core.models import Document, DocumentType, DocumentVersion, NodeTag, Tag

    token, user, _home = alice
    listing = """query($id: ID!, $n: Int!) { node(id: $id) { ... on Folder { children(first: $n) {
      totalCount edges { node { id title tags { name color } ... on Document {
        status pageCount pagesProcessed documentType { name fields { name } }
        customFields { value } } } } } } } }"""
    counts = {}
    for size in (10, 1000):
        folder = run(client, token, CREATE, t=f"F{size}")["createFolder"]["node"]["id"]
        with database.connection_context(), database.atomic():
            kind = DocumentType.create(name=f"T{size}", owner_user=user)
            tags = [Tag.create(name=f"t{size}-{i}", owner_user=user) for i in range(3)]
            for start in range(0, size, 250):
                nodes = [
                    {
                        "kind": "document",
                        "title": f"d{i}",
                        "parent": row_id(folder),
                        "owner_user": user,
                    }
                    for i in range(start, min(size, start + 250))
                ]
                Node.insert_many(nodes).execute()
            ids = [n.id for n in Node.select(Node.id).where(Node.parent == row_id(folder))]
            Document.insert_many([
                {"node": i, "original_hash": "0" * 64, "original_name": "x.pdf",
                 "original_type": "application/pdf", "original_size": 1, "ocr_languages": "en",
                 "ocr_mode": "auto", "ocr_engine": "easyocr", "status": "ready",
                 "document_type": kind.id} for i in ids
            ]).execute()  # fmt: skip
            DocumentVersion.insert_many([
                {"document": i, "number": 1, "file_hash": "0" * 64, "base_hash": "0" * 64, "page_count": 2} for i in ids
            ]).execute()  # fmt: skip
            NodeTag.insert_many([{"node": i, "tag": t.id} for i in ids for t in tags]).execute()
        counts[size] = _count_queries(client, token, listing, id=folder, n=size)
    print(f"SQL queries to list children: {counts}")
    assert counts[10] == counts[1000], counts
