"""Parsed and validated documents are cached by text, and the limits still hold for each request."""

from __future__ import annotations

from starlette.testclient import TestClient
from support import gid, graphql, login, make_document

from archivist.core.db import database
from archivist.core.models import Node
from archivist.graphql.query_cache import ValidatedDocuments, size_variables
from archivist.graphql.validation import QueryLimits, parse_bounded

LIMITS = QueryLimits(max_depth=15, max_cost=5000, max_aliases=30, max_tokens=5000, max_length=10**5)
LISTING = """query($id: ID!, $n: Int) { node(id: $id) { ... on Folder {
  children(first: $n) { totalCount edges { node { id } } } } } }"""


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def test_a_cached_document_is_validated_again_for_other_page_sizes(
    client: TestClient, make_user
) -> None:
    user = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == user.id) & (Node.special == "home")).id
    for i in range(3):
        make_document(home, user.id, f"d{i}", ["x"])
    token = login(client, "alice")
    folder = gid("Folder", home)
    for _ in range(2):  # the second time from the cache
        small = graphql(client, LISTING, {"id": folder, "n": 2}, token=token)
        assert len(small["data"]["node"]["children"]["edges"]) == 2
    huge = graphql(client, LISTING, {"id": folder, "n": 100_000_000}, token=token)
    assert codes(huge) == ["INVALID_FIRST"]
    assert codes(graphql(client, LISTING, {"id": folder, "n": -1}, token=token)) == [
        "INVALID_FIRST"
    ]
    again = graphql(client, LISTING, {"id": folder, "n": 2}, token=token)
    assert len(again["data"]["node"]["children"]["edges"]) == 2


def test_a_mutation_cached_from_a_post_is_still_refused_over_get(client: TestClient) -> None:
    mutation = 'mutation { login(username: "nobody", password: "nothing at all") { token } }'
    client.post("/graphql", json={"query": mutation})
    response = client.get("/graphql", params={"query": mutation})
    assert response.status_code == 405


def test_the_cache_keys_on_the_values_the_cost_reads_and_stays_bounded() -> None:
    cache = ValidatedDocuments(size=2)
    document = parse_bounded(LISTING, LIMITS)
    assert cache.document(LISTING) is None
    cache.remember(LISTING, document, {"id": "a", "n": 2})
    assert cache.document(LISTING) is document
    assert cache.passed(LISTING, {"id": "another folder", "n": 2})  # ids do not matter
    assert not cache.passed(LISTING, {"id": "a", "n": 3})
    assert not cache.passed(LISTING, {"id": "a", "n": 2.0})  # not the same value to the rule
    assert not cache.passed(LISTING, {"id": "a"})
    for other in ("{ me { id } }", "{ __typename }"):
        cache.remember(other, parse_bounded(other, LIMITS), {})
    assert cache.document(LISTING) is None  # the least recently used went
    assert cache.passed("{ __typename }", None)


def test_size_variables_are_found_in_fragments_too() -> None:
    query = """query($a: Int, $b: Int, $c: Int) { ...F trash(first: 3) { totalCount } }
    fragment F on Query { search(query: "x", first: $a, last: $b) { totalCount } }"""
    assert size_variables(parse_bounded(query, LIMITS)) == ("a", "b")
