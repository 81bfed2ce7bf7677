"""``Document.thumbnailUrl``: a listing's thumbnails in a fixed number of queries, served only
to who may read the document."""

from __future__ import annotations

import hashlib
import io

from PIL import Image
from starlette.testclient import TestClient
from support import gid, graphql, login, make_document, row_id
from test_organise import CREATE, _count_queries, run

from archivist.core.db import database
from archivist.core.models import DocumentVersion, Node
from archivist.core.settings import Settings
from archivist.core.storage import Storage

LISTING = """query($id: ID!, $n: Int!) { node(id: $id) { ... on Folder { children(first: $n) {
  edges { node { id title ... on Document { thumbnailUrl small: thumbnailUrl(size: MEDIUM) } } }
} } } }"""


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 28), "white").save(buffer, "JPEG")
    return buffer.getvalue()


def _documents(settings: Settings, folder: int, owner: int, count: int, rendered: bool) -> None:
    """``count`` documents, each with its own file; ``rendered``: their first page has
    previews."""
    storage = Storage(settings.storage_dir)
    for i in range(count):
        node_id = make_document(folder, owner, f"doc {folder}-{i}", ["first page", "second"])
        file_hash = hashlib.sha256(f"{folder}-{i}".encode()).hexdigest()
        with database.connection_context():
            DocumentVersion.update(file_hash=file_hash).where(
                DocumentVersion.document == node_id
            ).execute()
        if rendered:
            for size in ("thumbnail", "medium"):
                storage.write_preview(file_hash, 1, size, _jpeg())


def test_thumbnails_cost_the_same_queries_for_5_or_60(
    client: TestClient, make_user, settings: Settings
) -> None:
    alice = make_user("alice")
    make_user("bob")
    token, bob = login(client, "alice"), login(client, "bob")
    counts = {}
    urls: list[str] = []
    for size in (5, 60):
        folder = row_id(run(client, token, CREATE, t=f"F{size}")["createFolder"]["node"]["id"])
        _documents(settings, folder, alice.id, size, rendered=True)
        counts[size] = _count_queries(client, token, LISTING, id=gid("Folder", folder), n=size)
        listed = run(client, token, LISTING, id=gid("Folder", folder), n=size)["node"]["children"][
            "edges"
        ]
        assert len(listed) == size
        urls = [edge["node"]["thumbnailUrl"] for edge in listed]
        assert all(url and "/thumbnail?" in url for url in urls)
        assert all("/medium?" in edge["node"]["small"] for edge in listed)
    assert counts[5] == counts[60], counts
    # The URLs serve the first page's preview, each its own document's...
    with database.connection_context():
        first = Node.get(Node.title == f"doc {folder}-0")
    response = client.get(urls[0])
    assert (response.status_code, response.headers["content-type"]) == (200, "image/jpeg")
    assert response.content == _jpeg()
    assert len(set(urls)) == len(urls)
    # ...and only to who may read the document: not to another user, nor without a signature.
    bare = urls[0].split("?")[0]
    assert client.get(bare, headers={"Authorization": f"Bearer {bob}"}).status_code == 404
    assert client.get(bare).status_code == 404
    assert client.get(bare, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    hidden = graphql(
        client,
        "query($id: ID!) { document(id: $id) { thumbnailUrl } }",
        {"id": gid("Document", first.id)},
        bob,
    )
    assert hidden["data"]["document"] is None


def test_no_thumbnail_before_the_first_page_is_rendered(
    client: TestClient, make_user, settings: Settings
) -> None:
    alice = make_user("alice")
    token = login(client, "alice")
    folder = row_id(run(client, token, CREATE, t="Fresh")["createFolder"]["node"]["id"])
    _documents(settings, folder, alice.id, 2, rendered=False)
    listed = run(client, token, LISTING, id=gid("Folder", folder), n=10)["node"]["children"][
        "edges"
    ]
    assert [edge["node"]["thumbnailUrl"] for edge in listed] == [None, None]
