"""What a stranger learns and can do: the same answer for "not yours" and "missing",
and headers that keep the served pages out of other sites' frames."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import gid, graphql, login, make_document

from archivist.core.db import database
from archivist.core.models import DocumentVersion, Node, Page

TYPE = """mutation($n: String!, $f: [CustomFieldInput!]!) { createDocumentType(name: $n, fields: $f) {
  documentType { id fields { id } } errors { code } } }"""
FILTERED = """query($id: ID!, $field: ID!) { node(id: $id) { ... on Folder {
  children(filter: {fieldValue: {fieldId: $field, value: "nope"}}) { totalCount } } } }"""
ORDERED = """query($id: ID!, $field: ID!) { node(id: $id) { ... on Folder {
  children(orderBy: {by: FIELD, fieldId: $field}) { totalCount } } } }"""


@pytest.fixture
def people(client: TestClient, make_user) -> dict:
    found = {}
    for name in ("alice", "bob"):
        user = make_user(name)
        with database.connection_context():
            home = Node.get((Node.owner_user == user.id) & (Node.special == "home"))
        found[name] = (login(client, name), user.id, home.id)
    return found


def errors_of(body: dict) -> list[tuple]:
    return [(e["message"], e["extensions"]["code"]) for e in body["errors"]]


def test_children_filter_says_nothing_of_another_users_field(client: TestClient, people) -> None:
    bob_token = people["bob"][0]
    fields = [{"name": "Diagnosis", "kind": "SELECT", "options": ["secret-a", "secret-b"]}]
    created = graphql(client, TYPE, {"n": "Medical", "f": fields}, token=bob_token)
    bobs_field = created["data"]["createDocumentType"]["documentType"]["fields"][0]["id"]
    alice_token, _, alice_home = people["alice"]
    for query in (FILTERED, ORDERED):
        theirs = graphql(client, query, {"id": gid("Folder", alice_home), "field": bobs_field},
                         token=alice_token)  # fmt: skip
        missing = graphql(client, query, {"id": gid("Folder", alice_home), "field": "987654"},
                          token=alice_token)  # fmt: skip
        assert (
            errors_of(theirs) == errors_of(missing) == [("No such custom field.", "UNKNOWN_FIELD")]
        )
        assert "secret" not in str(theirs) and "Diagnosis" not in str(theirs)


def test_own_fields_still_filter(client: TestClient, people) -> None:
    token, _, home = people["alice"]
    fields = [{"name": "State", "kind": "SELECT", "options": ["paid", "open"]}]
    created = graphql(client, TYPE, {"n": "Bill", "f": fields}, token=token)
    field = created["data"]["createDocumentType"]["documentType"]["fields"][0]["id"]
    body = graphql(client, FILTERED, {"id": gid("Folder", home), "field": field}, token=token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VALUE"  # "nope" is no option


def test_retrying_another_users_page_looks_like_a_missing_page(client: TestClient, people) -> None:
    _, bob_id, bob_home = people["bob"]
    document = make_document(bob_home, bob_id, "bob's", ["private"])
    with database.connection_context():
        page = Page.select().join(DocumentVersion).where(DocumentVersion.document == document).get()
    retry = "mutation($id: ID!) { retryPage(pageId: $id) { errors { code message field } } }"
    alice_token = people["alice"][0]
    theirs = graphql(client, retry, {"id": gid("Page", page.id)}, token=alice_token)
    missing = graphql(client, retry, {"id": "987654"}, token=alice_token)
    assert theirs["data"]["retryPage"]["errors"] == missing["data"]["retryPage"]["errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/graphql"), ("POST", "/graphql"), ("GET", "/health"),
     ("GET", "/files/originals/1"), ("GET", "/graphiql-assets/graphiql.min.js"),
     ("GET", "/ui/"), ("GET", "/ui/progress.js")],
)  # fmt: skip
def test_every_response_forbids_framing_and_sniffing(
    client: TestClient, method: str, path: str
) -> None:
    if method == "GET":
        response = client.get(path, headers={"Accept": "text/html"})
    else:
        response = client.post(path, json={"query": "{ __typename }"})
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_graphiql_may_run_only_its_own_scripts(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]
    assert "unsafe-eval" not in policy
