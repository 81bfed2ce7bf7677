"""``search`` for a frontend: the hit's page, a folder scope by id, orders, tag objects, and
READY only once the pages are searchable."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from samples import text_pdf
from starlette.testclient import TestClient
from support import gid, graphql, login, make_document, row_id, upload

from archivist.core.db import database
from archivist.core.models import Node, NodeTag, Tag
from archivist.core.progress import ProgressEvent, channel
from archivist.core.search import index_documents, search_index
from archivist.core.settings import Settings

SEARCH = """query($q: String!, $folder: ID, $order: SearchOrder, $group: SearchGrouping) {
  search(query: $q, folderId: $folder, orderBy: $order, groupBy: $group) {
    totalCount
    facets { tags { tag { id name color } count } }
    edges { node { pageNumber document { title }
      page { id number width height status previewUrl(size: LARGE) } } } } }"""
CREATE = """mutation($p: ID, $t: String!) { createFolder(parentId: $p, title: $t) {
  node { id } errors { code } } }"""


def run(client: TestClient, token: str, query: str, **variables: Any) -> Any:
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def library(client: TestClient, make_user, settings: Settings):
    alice = make_user("alice")
    make_user("bob")
    token = login(client, "alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == alice.id) & (Node.special == "home")).id
    quoted = run(client, token, CREATE, p=gid("Folder", home), t='Say "hi" (2024)')["createFolder"][
        "node"
    ]["id"]
    below = run(client, token, CREATE, p=quoted, t="Below")["createFolder"]["node"]["id"]
    documents = {
        "Zebra notes": make_document(home, alice.id, "Zebra notes", ["orchard apples", "x"]),
        "apple report": make_document(row_id(quoted), alice.id, "apple report", ["orchard"]),
        "Étude": make_document(row_id(below), alice.id, "Étude", ["the orchard gate"]),
    }
    with database.connection_context(), database.atomic():
        tag = Tag.create(name="garden", color="#00aa00", owner_user=alice.id)
        NodeTag.create(node=documents["Étude"], tag=tag)
        Node.update(created_at="2020-01-01 00:00:00").where(
            Node.id == documents["Zebra notes"]
        ).execute()
    with database.connection_context():
        index_documents(search_index(settings), list(documents.values()))
    return token, login(client, "bob"), quoted, below, documents, tag.id


def test_hits_carry_their_page(client: TestClient, library) -> None:
    token, *_ = library
    found = run(client, token, SEARCH, q="apples")["search"]
    (edge,) = found["edges"]
    page = edge["node"]["page"]
    assert (page["number"], page["width"], page["height"], page["status"]) == (1, 595, 842, "DONE")
    assert page["number"] == edge["node"]["pageNumber"] and "/large?" in page["previewUrl"]
    listed = run(client, token, "query($id: ID!) { document(id: $id) { pages { edges { node {"
                 " id } } } } }", id=gid("Document", library[4]["Zebra notes"]))  # fmt: skip
    assert page["id"] == listed["document"]["pages"]["edges"][0]["node"]["id"]


def test_folder_scope_by_id_whatever_the_title(client: TestClient, library) -> None:
    token, bob, quoted, below, _documents, _tag = library

    def titles(folder: str | None) -> set[str]:
        found = run(client, token, SEARCH, q="orchard", folder=folder)["search"]["edges"]
        return {edge["node"]["document"]["title"] for edge in found}

    assert titles(None) == {"Zebra notes", "apple report", "Étude"}
    assert titles(quoted) == {"apple report", "Étude"}
    assert titles(below) == {"Étude"}
    # Someone else's folder, a document or a made-up id: NOT_FOUND on folderId.
    for folder, who in (
        (quoted, bob),
        (gid("Document", library[4]["Étude"]), token),
        (gid("Folder", 999999), token),
    ):
        body = graphql(client, SEARCH, {"q": "orchard", "folder": folder}, token=who)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body


def test_orders(client: TestClient, library) -> None:
    token, *_ = library

    def titles(order: dict | None, group: str = "PAGE") -> list[str]:
        found = run(client, token, SEARCH, q="orchard", order=order, group=group)["search"]
        return [edge["node"]["document"]["title"] for edge in found["edges"]]

    assert titles({"by": "TITLE"}) == ["apple report", "Étude", "Zebra notes"]
    assert titles({"by": "TITLE", "direction": "DESC"}) == ["Zebra notes", "Étude", "apple report"]
    assert titles({"by": "CREATED"})[-1] == "Zebra notes"  # newest first by default
    assert titles({"by": "CREATED", "direction": "ASC"})[0] == "Zebra notes"
    assert titles({"by": "TITLE"}, "DOCUMENT") == ["apple report", "Étude", "Zebra notes"]
    assert len(titles({"by": "RELEVANCE"})) == 3


def test_tag_facets_are_tag_objects(client: TestClient, library) -> None:
    token, *_rest, tag_id = library
    found = run(client, token, SEARCH, q="orchard")["search"]
    assert found["facets"]["tags"] == [
        {"tag": {"id": gid("Tag", tag_id), "name": "garden", "color": "#00aa00"}, "count": 1}
    ]


@pytest.mark.slow
def test_ready_is_published_once_the_pages_are_searchable(
    client: TestClient, make_user, workers, redis_client: Redis, settings: Settings,
    tmp_path: Path,
) -> None:  # fmt: skip
    alice = make_user("alice")
    token = login(client, "alice")
    listener = redis_client.pubsub()
    listener.subscribe(channel(redis_client))
    words = [["Quince", "marmalade", "recipe", "from", "grandmother", "kitchen", "notes", "book"]]
    body = upload(client, token, "q.pdf", text_pdf(tmp_path / "q.pdf", words).read_bytes())
    document_id = row_id(body["data"]["uploadDocument"]["document"]["id"])
    workers.start("one")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=1)
        if message is None or message["type"] != "message":
            continue
        event = ProgressEvent.from_json(message["data"])
        if event.document_id == document_id and event.status == "ready":
            break
    else:
        raise AssertionError("no READY event: " + workers.logs())
    # At the moment READY arrives, search finds the page (no index job still to come).
    found = search_index(settings).search("marmalade", principals=[f"user:{alice.id}"])
    assert [hit.document_id for hit in found.hits] == [document_id]
    listener.close()
