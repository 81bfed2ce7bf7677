"""``search`` through GraphQL: a processed upload is found, with snippet and word boxes."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import graphql, login, row_id, run_worker_burst, upload

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


def test_reindex_and_index_check_repair_the_index(client: TestClient, indexed, settings) -> None:
    import subprocess
    import sys

    from support import settings_env

    from archivist.core.search import search_index

    alice, _, document_id = indexed
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings.data_dir, settings.database_url)}

    def archivist(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "archivist.core.cli", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    assert archivist("index", "check").stdout.strip() == (
        "Index check: 0 missing, 0 stale, 0 outdated, 0 extra."
    )
    search_index(settings).delete_document(row_id(document_id))  # the index loses a document
    check = archivist("index", "check")
    assert check.returncode == 1 and "1 missing" in check.stdout
    assert archivist("index", "check", "--repair").returncode == 0
    assert archivist("index", "check").returncode == 0
    assert graphql(client, SEARCH, {"q": "acme"}, token=alice)["data"]["search"]["totalCount"] == 1
    rebuilt = archivist("reindex")
    assert rebuilt.returncode == 0 and rebuilt.stdout.startswith("Indexed 2 document(s)")
    assert graphql(client, SEARCH, {"q": "acme"}, token=alice)["data"]["search"]["totalCount"] == 1
    # Compacting swaps the index folder under the API's open handle: it answers the same.
    compacted = archivist("index", "compact")
    assert compacted.returncode == 0, compacted.stderr
    assert compacted.stdout.startswith("Compacted the xapian index")
    assert graphql(client, SEARCH, {"q": "acme"}, token=alice)["data"]["search"]["totalCount"] == 1
    assert archivist("index", "check").returncode == 0


COUNTED_BY_FRAGMENT = """
query($q: String!) { search(query: $q) { ...Counted } }
fragment Counted on SearchConnection {
  totalCount totalCountIsExact facets { tags { tag { name } count } }
}
"""


def test_facets_asked_through_a_fragment_are_counted(
    client: TestClient, indexed, settings: Settings
) -> None:
    """Facets are counted only when asked for (the search then checks every match), also
    when a fragment asks; a total under the exact bound is exact either way."""
    alice, _, document_id = indexed
    created = graphql(client, 'mutation { createTag(name: "Paid") { tag { id } } }', token=alice)[
        "data"
    ]["createTag"]["tag"]
    tagged = graphql(
        client,
        "mutation($n: [ID!]!, $t: [ID!]!) { tagNodes(nodeIds: $n, tagIds: $t) { errors { code } } }",
        {"n": [document_id], "t": [created["id"]]},
        token=alice,
    )
    assert tagged["data"]["tagNodes"]["errors"] == []
    run_worker_burst(settings)
    counted = graphql(client, COUNTED_BY_FRAGMENT, {"q": "invoice"}, token=alice)["data"]
    assert counted["search"] == {
        "totalCount": 2,
        "totalCountIsExact": True,
        "facets": {"tags": [{"tag": {"name": "Paid"}, "count": 2}]},
    }
    bare = "query($q: String!) { search(query: $q) { totalCount totalCountIsExact } }"
    answer = graphql(client, bare, {"q": "invoice"}, token=alice)["data"]["search"]
    assert answer == {"totalCount": 2, "totalCountIsExact": True}


def test_a_phrase_highlights_only_where_it_stands_whole(
    client: TestClient, indexed, settings: Settings, tmp_path: Path
) -> None:
    alice, _, _ = indexed
    words = ["The", "close", "of", "the", "year", "and", "the", "books", "of", "our", "firm"]
    pdf = text_pdf(tmp_path / "close.pdf", [words])
    upload(client, alice, "close.pdf", pdf.read_bytes())
    run_worker_burst(settings)
    result = graphql(client, SEARCH, {"q": '"of the" books'}, token=alice)["data"]["search"]
    (edge,) = result["edges"]
    boxes = edge["node"]["highlights"]
    assert [box["text"] for box in boxes] == ["of", "the", "books"]  # not "The", "the", "of"
    assert boxes[0]["x1"] <= boxes[1]["x0"]  # the pair, side by side
