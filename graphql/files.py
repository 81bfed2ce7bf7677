"""File routes: originals, version PDFs and page previews, behind the same authentication.

A request is allowed with a bearer token (``Authorization`` header) or a signed URL from the
API (see :mod:`archivist.core.signing`); either way the viewer must be able to read the
document now. Anything else is a 404 that says nothing about whether the file exists.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from archivist.core.archives import collect, stream_zip
from archivist.core.db import run_db
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.images import PREVIEW_SIZES
from archivist.core.models import Document, DocumentVersion, Node, Page, User
from archivist.core.nodes import get_node
from archivist.core.settings import Settings
from archivist.core.signing import verify
from archivist.core.storage import Storage
from archivist.core.users import AuthenticationError, Viewer, viewer_for
from archivist.graphql.context import authenticate

EXTENSIONS = {
    "application/pdf": "pdf",
    "image/tiff": "tif",
    "image/jpeg": "jpg",
    "image/png": "png",
}


def _not_found() -> Response:
    return JSONResponse(
        {"error": "NOT_FOUND", "message": "No such file, or you may not see it."}, 404
    )


def _viewer_by_id(viewer_id: int) -> Viewer | None:
    user = User.get_or_none((User.id == viewer_id) & (User.is_active == True))  # noqa: E712
    return viewer_for(user) if user else None


async def _viewer(request: Request, settings: Settings) -> Viewer | None:
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


def file_routes(settings: Settings) -> list[Route]:
    storage = Storage(settings.storage_dir)

    async def original(request: Request) -> Response:
        viewer = await _viewer(request, settings)
        if viewer is None:
            return _not_found()

        def load() -> tuple[Node, Document]:
            node = get_node(viewer, request.path_params["document_id"])
            document = Document.get_or_none(Document.node == node.id)
            if document is None:
                raise NotFound()
            return node, document

        try:
            node, document = await run_db(load)
        except NotFound:
            return _not_found()
        name = _safe_name(node.title, EXTENSIONS.get(document.original_type, "bin"))
        return FileResponse(
            storage.path(document.original_hash), media_type=document.original_type,
            filename=name, content_disposition_type="attachment",
        )  # fmt: skip

    async def version(request: Request) -> Response:
        viewer = await _viewer(request, settings)
        if viewer is None:
            return _not_found()

        def load() -> tuple[Node, DocumentVersion]:
            row = DocumentVersion.get_or_none(
                DocumentVersion.id == request.path_params["version_id"]
            )
            if row is None:
                raise NotFound()
            return get_node(viewer, row.document_id), row

        try:
            node, row = await run_db(load)
        except NotFound:
            return _not_found()
        return FileResponse(
            storage.path(row.file_hash), media_type="application/pdf",
            filename=_safe_name(f"{node.title} v{row.number}", "pdf"),
        )  # fmt: skip

    async def preview(request: Request) -> Response:
        viewer = await _viewer(request, settings)
        size = request.path_params["size"]
        if viewer is None or size not in PREVIEW_SIZES:
            return _not_found()

        def load() -> tuple[str, int]:
            page = Page.get_or_none(Page.id == request.path_params["page_id"])
            if page is None:
                raise NotFound()
            row = DocumentVersion.get_by_id(page.version_id)
            get_node(viewer, row.document_id)
            return str(row.file_hash), int(page.number)

        try:
            file_hash, number = await run_db(load)
        except NotFound:
            return _not_found()
        path = storage.preview_path(file_hash, number, size)
        if not path.exists():
            return JSONResponse(
                {"error": "NOT_READY", "message": "This page has not been rendered yet."}, 404
            )
        return FileResponse(path, media_type="image/jpeg")

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
            headers={"Content-Disposition": 'attachment; filename="archivist.zip"'},
        )  # fmt: skip

    return [
        Route("/files/zip", archive),
        Route("/files/originals/{document_id:int}", original),
        Route("/files/versions/{version_id:int}", version),
        Route("/files/previews/{page_id:int}/{size:str}", preview),
    ]
