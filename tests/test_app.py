"""The HTTP surface besides GraphQL operations: health, GraphiQL and its assets, limits."""

from __future__ import annotations

import re

from starlette.testclient import TestClient
from support import graphql, login


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_graphiql_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    page = response.text
    assert "graphiql.min.js" in page
    # Every script and stylesheet comes from this server.
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/graphiql-assets/") for source in sources)
    assert "unpkg" not in page and "cdn" not in page.lower()
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 100, source


def test_queries_nested_too_deep_are_refused(client: TestClient, make_user) -> None:
    make_user("alice")
    token = login(client, "alice")
    deep = "{ me { " + "home { __typename " * 1 + "} } }"
    assert "errors" not in graphql(client, deep, token=token)
    nested = "fragment F on User { home { title } } " + "{ me { ...F } }"
    assert "errors" not in graphql(client, nested, token=token)
    too_deep = "{ " + "me { " * 13 + "id" + " }" * 13 + " }"
    body = graphql(client, too_deep, token=token)
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert "QUERY_TOO_DEEP" in codes


def test_introspection_needs_no_token(client: TestClient) -> None:
    body = graphql(client, "{ __schema { queryType { name } } }")
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
