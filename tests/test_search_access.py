"""Every search hit is checked against the viewer, whatever the index still says.

The index can be behind the database: a purged document's entries stay until its index job
runs, and a document can change hands. Search must then answer nothing of anyone else's.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient
from support import graphql, login, make_document

from archivist.core.db import database
from archivist.core.models import Node
from archivist.core.search import page_records, search_index
from archivist.core.settings import Settings

SEARCH = """query S($q: String!) { search(query: $q) {
  totalCount tagFacets { tag }
  edges { node { snippet document { id title } } }
} }"""


def _home(user_id: int) -> int:
    return int(Node.get((Node.owner_user == user_id) & (Node.special == Node.HOME)).id)


def _index(settings: Settings, document_id: int) -> None:
    search_index(settings).replace_document(document_id, page_records(document_id))


def test_a_purged_documents_entry_never_shows_the_next_document(
    client: TestClient, make_user: Any, settings: Settings
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    with database.connection_context():
        gone = make_document(_home(alice.id), alice.id, "old", ["zebra crossing minutes"])
        _index(settings, gone)
        Node.delete_by_id(gone)  # purged; its index job has not run yet
        # Bob's new document, not indexed yet either; it must not take the old entry's id.
        new = make_document(_home(bob.id), bob.id, "bob secret", ["private zebra notes"])
    found = graphql(client, SEARCH, {"q": "zebra"}, token=login(client, "alice"))["data"]
    assert found["search"] == {"totalCount": 0, "tagFacets": [], "edges": []}
    assert new != gone  # ids are never reused


def test_a_hit_the_viewer_may_no_longer_read_is_dropped_and_not_counted(
    client: TestClient, make_user: Any, settings: Settings
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    with database.connection_context():
        mine = make_document(_home(alice.id), alice.id, "kept", ["quarterly zebra report"])
        given = make_document(_home(alice.id), alice.id, "given", ["zebra handover memo"])
        _index(settings, mine)
        _index(settings, given)
        # The document changes hands; the index still lists alice as its reader.
        Node.update(owner_user=bob.id, parent=_home(bob.id)).where(Node.id == given).execute()
    found = graphql(client, SEARCH, {"q": "zebra"}, token=login(client, "alice"))["data"]
    titles = [edge["node"]["document"]["title"] for edge in found["search"]["edges"]]
    assert (found["search"]["totalCount"], titles) == (1, ["kept"])
    only = graphql(client, SEARCH, {"q": "handover"}, token=login(client, "alice"))["data"]
    assert only["search"] == {"totalCount": 0, "tagFacets": [], "edges": []}


def test_a_full_page_of_grouped_hits_loads_every_hit_page_with_its_highlights(
    client: TestClient, make_user: Any, settings: Settings
) -> None:
    from archivist.core.models import Page
    from archivist.core.search import index_documents

    alice = make_user("alice")
    with database.connection_context():
        ids = [
            make_document(
                _home(alice.id), alice.id, f"doc {n}", [f"walrus page {p}" for p in "123"]
            )
            for n in range(100)
        ]
        Page.update(words='[["walrus",1,2,3,4,0.9],["page",5,2,9,4,0.9]]').execute()
        assert index_documents(search_index(settings), ids) == 300  # one batch, 100 documents
    query = """{ search(query: "walrus", groupBy: DOCUMENT, first: 100) { totalCount edges {
      node { pageNumber highlights { text x0 } pages { pageNumber highlights { text } } } } } }"""
    found = graphql(client, query, token=login(client, "alice"))
    assert "errors" not in found, found
    edges = found["data"]["search"]["edges"]
    assert found["data"]["search"]["totalCount"] == 100 and len(edges) == 100
    for edge in edges:
        assert edge["node"]["highlights"] == [{"text": "walrus", "x0": 1.0}]
        assert len(edge["node"]["pages"]) == 3
        assert all(page["highlights"] == [{"text": "walrus"}] for page in edge["node"]["pages"])
