"""Work without a limit: every limit is checked before anything runs, with a coded error."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from support import LOGIN, TEST_PASSWORD, gid, graphql, login, make_document

from archivist.core.db import database
from archivist.core.models import LoginAttempt, Node
from archivist.core.settings import Settings
from archivist.graphql.schema import build_schema
from archivist.graphql.validation import operation_cost


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.fixture
def alice(client: TestClient, make_user) -> tuple[str, int, int]:
    user = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == user.id) & (Node.special == "home"))
    return login(client, "alice"), user.id, home.id


@pytest.fixture
def roomy_client(settings: Settings) -> Iterator[TestClient]:
    """A client whose token and alias limits are high, so that the cost limit is what holds."""
    from archivist.graphql.app import create_app

    roomy = dataclasses.replace(settings, query_max_tokens=100_000, query_max_aliases=10_000)
    with TestClient(create_app(roomy)) as test_client:
        yield test_client


def test_twenty_thousand_aliases_are_refused_before_parsing_ends(client: TestClient) -> None:
    query = "{" + " ".join(f"a{i}: __typename" for i in range(20_000)) + "}"
    started = time.perf_counter()
    response = client.post("/graphql", json={"query": query})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200  # a request error: 400 only as graphql-response+json
    assert codes(response.json()) == ["QUERY_TOO_LARGE"]
    assert "at most 5000 tokens" in response.json()["errors"][0]["message"]
    assert elapsed < 2.0, elapsed  # the whole document is not even parsed (it took 2-4 s)


def test_too_many_aliases(client: TestClient, alice) -> None:
    token, _, _ = alice
    query = "{" + " ".join(f"a{i}: me {{ id }}" for i in range(31)) + "}"
    body = graphql(client, query, token=token)
    assert codes(body) == ["TOO_MANY_ALIASES"]
    assert body["errors"][0]["message"] == "The query uses more than 30 aliases."
    query = "{" + " ".join(f"a{i}: me {{ id }}" for i in range(30)) + "}"
    assert "errors" not in graphql(client, query, token=token)


def test_five_hundred_aliased_folder_listings_are_too_costly(roomy_client: TestClient) -> None:
    # Anonymous: refused before authentication, so before any database work.
    listing = (
        '{n}: node(id: "1") {{ ... on Folder {{ children {{ edges {{ node {{ id }} }} }} }} }}'
    )
    query = "{" + " ".join(listing.format(n=f"f{i}") for i in range(500)) + "}"
    body = graphql(roomy_client, query)
    assert codes(body) == ["QUERY_TOO_COSTLY"]
    assert "the limit is 10000" in body["errors"][0]["message"]


def test_cost_counts_first_and_dear_fields() -> None:
    schema = build_schema()
    one = '{ node(id: "1") { ... on Folder { children(first: 10) { edges { node { id } } } } } }'
    ten = one.replace("first: 10", "first: 100")
    assert operation_cost(schema, ten) > 5 * operation_cost(schema, one)
    # Without first or last, a listing costs its default page size (100 children).
    default = one.replace("(first: 10)", "")
    assert operation_cost(schema, default) == operation_cost(schema, ten)
    backward = one.replace("first: 10", "last: 10")
    assert operation_cost(schema, backward) == operation_cost(schema, one)
    by_variable = one.replace("first: 10", "first: $n").replace(
        "{ node", "query($n: Int) { node", 1
    )
    assert operation_cost(schema, by_variable, {"n": 100}) == operation_cost(schema, ten)
    text = '{ document(id: "1") { pages { edges { node { text } } } } }'
    number = '{ document(id: "1") { pages { edges { node { number } } } } }'
    assert operation_cost(schema, text) > operation_cost(schema, number)
    assert operation_cost(schema, '{ search(query: "x") { totalCount } }') >= 50


def test_fragments_spreading_fragments_are_analysed_quickly(client: TestClient) -> None:
    # 2**40 paths through the fragments: analysis must measure each fragment once.
    fragments = " ".join(
        f"fragment F{i} on Folder {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40)
    )
    query = '{ node(id: "1") { ...F0 } } ' + fragments + " fragment F40 on Folder { id }"
    result: dict = {}

    def send() -> None:
        result["body"] = client.post("/graphql", json={"query": query}).json()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "validating the fragments did not finish"
    assert codes(result["body"]) == ["UNAUTHENTICATED"]


def test_page_sizes_have_caps_and_cannot_be_negative(client: TestClient, alice) -> None:
    token, user, home = alice
    for i in range(3):
        make_document(home, user, f"d{i}", ["x"])
    listing = """query($id: ID!, $n: Int, $l: Int) { node(id: $id) { ... on Folder {
      children(first: $n, last: $l) { totalCount edges { node { id } } } } } }"""
    folder = gid("Folder", home)
    at_cap = graphql(client, listing, {"id": folder, "n": 1000}, token=token)
    assert len(at_cap["data"]["node"]["children"]["edges"]) == 3
    huge = graphql(client, listing, {"id": folder, "n": 100_000_000}, token=token)
    assert codes(huge) == ["INVALID_FIRST"]
    assert huge["errors"][0]["message"] == "'first' must be between 0 and 1000 (got 100000000)."
    assert codes(graphql(client, listing, {"id": folder, "n": -1}, token=token)) == [
        "INVALID_FIRST"
    ]
    assert codes(graphql(client, listing, {"id": folder, "l": 1001}, token=token)) == [
        "INVALID_LAST"
    ]
    both = graphql(client, listing, {"id": folder, "n": 1, "l": 1}, token=token)
    assert codes(both) == ["INVALID_PAGINATION"]
    trash = graphql(client, "{ trash(first: -5) { totalCount } }", token=token)
    assert codes(trash) == ["INVALID_FIRST"]
    too_many = graphql(client, "{ trash(last: 1001) { totalCount } }", token=token)
    assert codes(too_many) == ["INVALID_LAST"]
    search = graphql(client, '{ search(query: "x", first: 101) { totalCount } }', token=token)
    assert codes(search) == ["INVALID_FIRST"]


def test_a_plain_json_body_has_a_small_limit(client: TestClient, alice) -> None:
    token, _, _ = alice
    padding = "x" * (1024 * 1024 + 10)
    response = client.post(
        "/graphql",
        content=json.dumps({"query": "{ me { id } }", "variables": {"pad": padding}}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert codes(response.json()) == ["BODY_TOO_LARGE"]
    assert response.json()["errors"][0]["message"] == (
        "The request body is larger than the limit of 1024 KiB."
    )


def test_an_upload_may_still_be_larger_than_the_json_limit(client: TestClient, alice) -> None:
    token, _, _ = alice
    from support import upload

    body = upload(client, token, "big.bin", b"\0" * (3 * 1024 * 1024))
    # Refused for its content (not a PDF or image), not for its size.
    assert body["data"]["uploadDocument"]["errors"][0]["code"] != "BODY_TOO_LARGE"
    assert body["data"]["uploadDocument"]["document"] is None


def test_aliased_login_checks_one_password_per_request(client: TestClient, make_user) -> None:
    make_user("alice")
    tries = " ".join(
        f'l{i}: login(username: "alice", password: "guess{i}") {{ errors {{ code }} }}'
        for i in range(5)
    )
    body = graphql(client, "mutation {" + tries + "}")
    assert "errors" not in body
    assert body["data"]["l0"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert [body["data"][f"l{i}"]["errors"][0]["code"] for i in range(1, 5)] == [
        "TOO_MANY_LOGINS"
    ] * 4
    with database.connection_context():
        assert LoginAttempt.select().count() == 1
    ok = graphql(client, LOGIN, {"username": "alice", "password": TEST_PASSWORD})
    assert ok["data"]["login"]["errors"] == []
