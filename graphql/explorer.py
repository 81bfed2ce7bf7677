"""GraphiQL, served by the app itself so that it works with no internet.

Ariadne's explorers load GraphiQL from a CDN. Ours takes GraphiQL, React and graphql-ws from
the ``graphene-django-graphiql-static`` package (an install-time dependency that ships the
built bundles and nothing else we import) and serves them under :data:`ASSETS_PATH`.
Subscriptions go over graphql-transport-ws on the same URL, with the headers typed in
GraphiQL's header editor (``{"Authorization": "Bearer <token>"}``) as connection parameters;
a socket refused with 4403 (the token) is not retried, so the reason shows at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from ariadne.explorer import Explorer

ASSETS_PACKAGE = "graphene_django_graphiql_static"
ASSETS_SUBDIR = "static/graphene_django_graphiql_static"
ASSETS_PATH = "/graphiql-assets"

DEFAULT_QUERY = """# Welcome to Archivist's GraphQL API.
#
# Log in first, then put the token into the Headers tab below as
#   {"Authorization": "Bearer <token>"}
mutation Login {
  login(username: "admin", password: "") {
    token
    user { username }
    errors { code message }
  }
}

query Me {
  me { id username home { id title } inbox { id title } }
}
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Archivist · GraphiQL</title>
  <style>html, body, #graphiql {{ height: 100%; margin: 0; overflow: hidden; }}</style>
  <link rel="stylesheet" href="{assets}/graphiql.min.css">
  <link rel="stylesheet" href="{assets}/style.css">
  <script src="{assets}/react.production.min.js"></script>
  <script src="{assets}/react-dom.production.min.js"></script>
  <script src="{assets}/graphiql.min.js"></script>
  <script src="{assets}/graphql-ws.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>{script}</script>
</body>
</html>
"""

SCRIPT = """
    const params = new URLSearchParams(window.location.search);
    const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host
      + location.pathname;
    function storedHeaders() {{
      try {{ return JSON.parse(localStorage.getItem("graphiql:headers") || "{{}}"); }}
      catch (error) {{ return {{}}; }}
    }}
    const fetcher = GraphiQL.createFetcher({{
      url: location.pathname,
      wsClient: graphqlWs.createClient({{
        url: wsUrl, lazy: true, connectionParams: () => storedHeaders(),
        // 4403: no token, or a bad, expired or revoked one. Retrying cannot help (graphql-ws
        // would retry for about 40 s), so GraphiQL shows "Socket closed with event 4403 ...".
        shouldRetry: (event) => Boolean(event && typeof event.code === "number"
          && event.code !== 4403),
      }}),
    }});
    ReactDOM.render(
      React.createElement(GraphiQL, {{
        fetcher,
        shouldPersistHeaders: true,
        defaultEditorToolsVisibility: true,
        defaultQuery: params.get("query") || {default_query},
      }}),
      document.getElementById("graphiql"),
    );
"""


def assets_directory() -> Path:
    """Where the installed GraphiQL bundles are."""
    return Path(str(files(ASSETS_PACKAGE) / ASSETS_SUBDIR))


def _script() -> str:
    return SCRIPT.format(default_query=json.dumps(DEFAULT_QUERY))


def page_policy() -> str:
    """The Content-Security-Policy of the GraphiQL page: its own scripts and this one only.

    The inline script is allowed by its hash (no 'unsafe-inline' for scripts); GraphiQL sets
    inline styles, so styles may be inline. No other site may frame the page.
    """
    digest = base64.b64encode(hashlib.sha256(_script().encode()).digest()).decode()
    return (
        f"default-src 'self'; script-src 'self' 'sha256-{digest}'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


class OfflineGraphiQL(Explorer):
    """Ariadne explorer rendering GraphiQL from :data:`ASSETS_PATH`."""

    def __init__(self) -> None:
        self._html = PAGE.format(assets=ASSETS_PATH, script=_script())

    def html(self, request: Any) -> str:
        return self._html
