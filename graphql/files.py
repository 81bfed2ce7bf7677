"""File routes: originals, version PDFs and page previews, behind the same authentication.

A request is allowed with a bearer token (``Authorization`` header) or a signed URL from the
API (see :mod:`archivist.core.signing`); either way the viewer must be able to read the
document now. Anything else is a 404 that says nothing about whether the file exists, except
a signed URL whose time is up: 403 ``URL_EXPIRED`` (ask the API for a fresh one).

The API hands out absolute URLs, on ``ARCHIVIST_PUBLIC_URL`` or else on the URL the request
came to. What a file URL answers never changes (versions, originals and previews are
content-addressed, ids never reused), so a signed one may be cached by the browser until it
expires (``Cache-Control: private, max-age=<until expiry>, immutable``); with a bearer header
the browser asks again each time (``private, no-cache``), so access is checked again.
A refusal is never cached (``no-store``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLResolveInfo
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from archivist.core.archives import collect, stream_zip
from archivist.core.db import run_db
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.images import PREVIEW_SIZES
from archivist.core.models import Document, DocumentVersion, Node, Page, User
from archivist.core.nodes import get_node, parse_id
from archivist.core.settings import Settings
from archivist.core.signing import ExpiredURL, sign_path, url_expiry, verify
from archivist.core.storage import Storage
from archivist.core.users import AuthenticationError, Viewer, viewer_for
from archivist.graphql.context import Context, authenticate

EXTENSIONS = {
    "application/pdf": "pdf",
    "image/tiff": "tif",
    "image/jpeg": "jpg",
    "image/png": "png",
}


NO_STORE = {"Cache-Control": "no-store"}


def _not_found() -> Response:
    return JSONResponse(
        {"error": "NOT_FOUND", "message": "No such file, or you may not see it."}, 404,
        headers=NO_STORE,
    )  # fmt: skip


def _denied(error: UserFacingError) -> Response:
    return JSONResponse({"error": error.code, "message": error.message}, 403, headers=NO_STORE)


def _expired() -> Response:
    return JSONResponse(
        {"error": "URL_EXPIRED",
         "message": "This link has expired; ask the API for the file's URL again."},
        403, headers=NO_STORE,
    )  # fmt: skip


def _request_expiry(info: GraphQLResolveInfo) -> int:
    """The expiry of every signed URL in this response (one, even across a window's end)."""
    context: Context = info.context
    if context.url_expiry is None:
        context.url_expiry = url_expiry(context.settings.file_url_window)
    return context.url_expiry


def _base_url(context: Context) -> str:
    if context.settings.public_url:
        return context.settings.public_url
    base = str(context.request.base_url).rstrip("/")
    return base.replace("ws://", "http://", 1).replace("wss://", "https://", 1)


def signed_url(info: GraphQLResolveInfo, viewer: Viewer, path: str) -> str:
    """The absolute URL of file route ``path``, signed for ``viewer``."""
    context: Context = info.context
    signed = sign_path(context.settings.secret_key, path, viewer.id, _request_expiry(info))
    return _base_url(context) + signed


def urls_expire_at(info: GraphQLResolveInfo) -> datetime:
    """When the signed URLs of this response expire."""
    return datetime.fromtimestamp(_request_expiry(info), UTC)


def _cache_headers(request: HTTPConnection) -> dict[str, str]:
    expires = request.query_params.get("expires", "")
    if "signature" in request.query_params and expires.isdigit():
        left = max(0, int(expires) - int(time.time()))
        return {"Cache-Control": f"private, max-age={left}, immutable"}
    return {"Cache-Control": "private, no-cache", "Vary": "Authorization"}


def _viewer_by_id(viewer_id: int) -> Viewer | None:
    user = User.get_or_none((User.id == viewer_id) & (User.is_active == True))  # noqa: E712
    return viewer_for(user) if user else None


async def _viewer(request: Request, settings: Settings) -> Viewer | None:
    """Who asks, by signed URL or bearer header; None for nobody.

    Raises ExpiredURL: a signed URL whose time is up.
    """
    params = request.query_params
    if "signature" in params:
        viewer_id = verify(
            settings.secret_key, request.url.path, params.get("viewer", ""),
            params.get("expires", ""), params["signature"],
        )  # fmt: skip
        return await run_db(_viewer_by_id, viewer_id) if viewer_id is not None else None
    try:
        viewer, _token = await authenticate(request.headers.get("authorization"))
    except AuthenticationError:
        return None
    return viewer


def _safe_name(title: str, extension: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in title).strip()
    return f"{cleaned or 'document'}.{extension}"


def _expired_answered(route: Callable[[Request], Awaitable[Response]]) -> Any:
    """``route``, with a signed URL whose time is up answered 403 ``URL_EXPIRED``."""

    async def answer(request: Request) -> Response:
        try:
            return await route(request)
        except ExpiredURL:
            return _expired()

    return answer


def file_routes(settings: Settings) -> list[Route]:
    storage = Storage(settings.storage_dir)

    async def original(request: Request) -> Response:
        viewer = await _viewer(request, settings)
        if viewer is None:
            return _not_found()

        def load() -> tuple[Node, Document]:
            node = get_node(viewer, request.path_params["document_id"], need="document.download")
            document = Document.get_or_none(Document.node == node.id)
            if document is None:
                raise NotFound()
            return node, document

        try:
            node, document = await run_db(load)
        except NotFound:
            return _not_found()
        except UserFacingError as error:  # PERMISSION_DENIED: seen, but not to be downloaded
            return _denied(error)
        name = _safe_name(node.title, EXTENSIONS.get(document.original_type, "bin"))
        return FileResponse(
            storage.path(document.original_hash), media_type=document.original_type,
            filename=name, content_disposition_type="attachment", headers=_cache_headers(request),
        )  # fmt: skip

    async def version(request: Request) -> Response:
        viewer = await _viewer(request, settings)
        if viewer is None:
            return _not_found()

        def load() -> tuple[Node, DocumentVersion]:
            row = DocumentVersion.get_or_none(
                DocumentVersion.id == parse_id(request.path_params["version_id"])
            )
            if row is None:
                raise NotFound()
            return get_node(viewer, row.document_id, need="document.download"), row

        try:
            node, row = await run_db(load)
        except NotFound:
            return _not_found()
        except UserFacingError as error:  # PERMISSION_DENIED: seen, but not to be downloaded
            return _denied(error)
        return FileResponse(
            storage.path(row.file_hash), media_type="application/pdf",
            filename=_safe_name(f"{node.title} v{row.number}", "pdf"),
            headers=_cache_headers(request),
        )  # fmt: skip

    async def preview(request: Request) -> Response:
        viewer = await _viewer(request, settings)
        size = request.path_params["size"]
        if viewer is None or size not in PREVIEW_SIZES:
            return _not_found()

        def load() -> tuple[str, int]:
            page = Page.get_or_none(Page.id == parse_id(request.path_params["page_id"]))
            if page is None:
                raise NotFound()
            row = DocumentVersion.get_by_id(page.version_id)
            get_node(viewer, row.document_id)
            return str(row.file_hash), int(page.number)

        try:
            file_hash, number = await run_db(load)
        except NotFound:
            return _not_found()
        except UserFacingError as error:  # PERMISSION_DENIED: seen, but not to be downloaded
            return _denied(error)
        path = storage.preview_path(file_hash, number, size)
        if not path.exists():
            return JSONResponse(
                {"error": "NOT_READY", "message": "This page has not been rendered yet."}, 404,
                headers=NO_STORE,
            )  # fmt: skip
        return FileResponse(path, media_type="image/jpeg", headers=_cache_headers(request))

    async def archive(request: Request) -> Response:
        """GET /files/zip?ids=1,2: the chosen folders and documents as one zip."""
        viewer = await _viewer(request, settings)
        ids = [part for part in request.query_params.get("ids", "").split(",") if part.strip()]
        if viewer is None:
            return _not_found()
        try:
            entries = await run_db(collect, settings, viewer, ids)
        except UserFacingError:
            return _not_found()
        return StreamingResponse(
            stream_zip(entries), media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="archivist.zip"', **NO_STORE},
        )  # fmt: skip

    return [
        Route("/files/zip", _expired_answered(archive)),
        Route("/files/originals/{document_id:int}", _expired_answered(original)),
        Route("/files/versions/{version_id:int}", _expired_answered(version)),
        Route("/files/previews/{page_id:int}/{size:str}", _expired_answered(preview)),
    ]
