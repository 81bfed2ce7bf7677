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


def test_the_root_and_ui_lead_to_the_progress_page(client: TestClient) -> None:
    for path in ("/", "/ui"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 307 and response.headers["location"] == "/ui/", path
    response = client.get("/ui/")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert "<title>Archivist · Progress</title>" in response.text


def test_the_progress_page_loads_only_its_own_files(client: TestClient) -> None:
    """No CDN, no inline script or style: every file comes from this server, under a policy
    that allows nothing else (the browser test proves the page needs nothing else)."""
    page = client.get("/ui/").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/graphiql-assets/graphql-ws.min.js" in sources and "/ui/progress.js" in sources
    assert all(s.startswith(("/ui/", "/graphiql-assets/", "#")) for s in sources), sources
    assert "style=" not in page and re.search(r"<script(?![^>]*\bsrc=)", page) is None
    files = [s for s in sources if s.startswith("/")]
    files += [
        f"/ui/{name}"
        for name in re.findall(r'from "\./([a-z]+\.js)"', client.get("/ui/progress.js").text)
    ]
    for path in files:
        asset = client.get(path)
        assert asset.status_code == 200 and len(asset.content) > 100, path
        if path.startswith("/ui/"):
            assert asset.headers["cache-control"] == "no-cache", path
            again = client.get(path, headers={"If-None-Match": asset.headers["etag"]})
            assert again.status_code == 304, path
    policy = dict(
        part.strip().split(" ", 1)
        for part in client.get("/ui/").headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "img-src", "connect-src"):
        assert policy[directive] == "'self'", directive
    assert policy["frame-ancestors"] == "'none'"


def test_the_progress_page_serves_nothing_else(client: TestClient) -> None:
    """Only the page's own static files: no data, nothing of the package beside them."""
    for path in ("/ui/progress_page.py", "/ui/../progress_page.py", "/ui/%2e%2e/app.py",
                 "/ui/..%2fapp.py", "/ui/data", "/ui/graphql"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
