"""``search`` through GraphQL: a processed upload is found, with snippet and word boxes."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import graphql, login, run_worker_burst, upload

from archivist.core.settings import Settings

pytestmark = pytest.mark.slow

SEARCH = """
query Search($q: String!, $group: SearchGrouping) {
  search(query: $q, groupBy: $group) {
    totalCount
    tagFacets { tag count }
    edges { node {
      pageNumber snippet score
      document { id title }
      highlights { text x0 y0 x1 y1 }
      pages { pageNumber }
    } }
  }
}
"""

ALICE_PAGES = [
    ["Invoice", "from", "Acme", "Corporation", "for", "garden", "tools", "and", "seeds"],
    ["Payment", "terms", "thirty", "days", "after", "the", "invoice", "date", "please"],
]
BOB_PAGES = [["Another", "invoice", "that", "belongs", "to", "somebody", "else", "entirely"]]


@pytest.fixture
def indexed(client: TestClient, make_user, redis_client, settings: Settings, tmp_path: Path):
    make_user("alice")
    make_user("bob")
    alice, bob = login(client, "alice"), login(client, "bob")
    body = upload(client, alice, "acme.pdf", text_pdf(tmp_path / "a.pdf", ALICE_PAGES).read_bytes())
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    upload(client, bob, "other.pdf", text_pdf(tmp_path / "b.pdf", BOB_PAGES).read_bytes())
    run_worker_burst(settings)
    return alice, bob, document_id


def test_search_finds_the_page_with_snippet_and_boxes(client: TestClient, indexed) -> None:
    alice, _bob, document_id = indexed
    result = graphql(client, SEARCH, {"q": "acme"}, token=alice)["data"]["search"]
    assert result["totalCount"] == 1
    (edge,) = result["edges"]
    hit = edge["node"]
    assert (hit["document"]["id"], hit["document"]["title"], hit["pageNumber"]) == (
        document_id, "acme", 1,
    )  # fmt: skip
    assert "<mark>Acme</mark>" in hit["snippet"]
    (box,) = hit["highlights"]
    assert box["text"] == "Acme" and 0 < box["x0"] < box["x1"] and 0 < box["y0"] < box["y1"]


def test_search_sees_only_what_the_viewer_may_read(client: TestClient, indexed) -> None:
    alice, bob, _ = indexed
    mine = graphql(client, SEARCH, {"q": "invoice"}, token=alice)["data"]["search"]
    assert mine["totalCount"] == 2  # both of alice's pages, not bob's
    assert {e["node"]["document"]["title"] for e in mine["edges"]} == {"acme"}
    theirs = graphql(client, SEARCH, {"q": "acme"}, token=bob)["data"]["search"]
    assert (theirs["totalCount"], theirs["edges"], theirs["tagFacets"]) == (0, [], [])


def test_search_grouped_by_document(client: TestClient, indexed) -> None:
    alice, _, _ = indexed
    result = graphql(client, SEARCH, {"q": "invoice", "group": "DOCUMENT"}, token=alice)
    search = result["data"]["search"]
    assert search["totalCount"] == 1
    assert sorted(p["pageNumber"] for p in search["edges"][0]["node"]["pages"]) == [1, 2]


def test_malformed_query_is_a_clear_error(client: TestClient, indexed) -> None:
    alice, _, _ = indexed
    body = graphql(client, SEARCH, {"q": '"unbalanced phrase'}, token=alice)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_QUERY"
    assert "quote" in error["message"].lower()
