"""The live progress page: plain HTML, JavaScript and CSS under ``/ui/``, served from the package.

The page is public static content. Everything it shows comes through the GraphQL API with the
token of whoever signs in on it (``POST /graphql``, and graphql-transport-ws on the same URL for
live progress), so it adds no data route and no rule of its own about who may see what. Its
websocket client is the ``graphql-ws`` bundle that GraphiQL's assets already ship
(:data:`archivist.graphql.explorer.ASSETS_PATH`). There is no build step: the files in
``graphql/ui/`` are what the browser runs, and setup.cfg ships them as package data.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

UI_PATH = "/ui"

# The page runs its own files only: no inline script or style, no other origin, no framing.
# 'self' in connect-src covers the websocket to the same host (ws:/wss:) as well.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def ui_directory() -> Path:
    """Where the page's files are (inside the installed package)."""
    return Path(__file__).resolve().parent / "ui"


def is_ui_path(path: str) -> bool:
    return path == UI_PATH or path.startswith(UI_PATH + "/")


class PageFiles(StaticFiles):
    """The page's files, revalidated on every load (a 304 while unchanged): after an upgrade a
    browser never runs old modules with new ones."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


async def _to_the_page(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{UI_PATH}/", status_code=307)


def ui_routes() -> list[BaseRoute]:
    """``/`` and ``/ui`` lead to the page; ``/ui/`` serves ``index.html`` and its files."""
    return [
        Route("/", _to_the_page, methods=["GET", "HEAD"]),
        Route(UI_PATH, _to_the_page, methods=["GET", "HEAD"]),
        Mount(UI_PATH, PageFiles(directory=ui_directory(), html=True), name="ui"),
    ]
