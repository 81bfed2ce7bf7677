"""Documents, versions and pages: upload, reprocessing, and what a client reads of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from operator import attrgetter
from typing import Any

from ariadne import MutationType, ObjectType, upload_scalar
from graphql import GraphQLResolveInfo
from starlette.datastructures import UploadFile

from archivist.core import node_events
from archivist.core.accounts import audit
from archivist.core.db import run_db
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.errors import UserFacingError
from archivist.core.ingestion.duplicates import DuplicateDocument
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.pages import decode_words
from archivist.core.paging import Slice, keyset_page
from archivist.core.queue import redis_connection
from archivist.core.reprocess import reprocess_document, retry_page
from archivist.core.settings import Settings
from archivist.core.storage import Storage
from archivist.graphql.connections import connection, window
from archivist.graphql.context import Context, require_viewer
from archivist.graphql.files import signed_url, urls_expire_at
from archivist.graphql.loaders import load, then_in
from archivist.graphql.payloads import ok, user_errors
from archivist.graphql.plain_fields import ContextResolver, PlainResolver

mutation = MutationType()
document_type = ObjectType("Document")
version_type = ObjectType("DocumentVersion")
page_type = ObjectType("Page")
word_type = ObjectType("Word")

# Name conversion would look for "x_0"; a word is a dict from Word's fields (read as plain
# fields: see archivist.graphql.plain_fields).
for coordinate in ("x0", "y0", "x1", "y1"):
    word_type.set_field(coordinate, PlainResolver(coordinate))


def _redis(settings: Settings) -> Any:
    return redis_connection(settings) if settings.redis_url else None


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


@mutation.field("uploadDocument")
async def resolve_upload(
    _: Any,
    info: GraphQLResolveInfo,
    file: UploadFile,
    folder_id: str | None = None,
    title: str | None = None,
    languages: list[str] | None = None,
    ocr_mode: str = "AUTO",
    password: str | None = None,
    allow_duplicate: bool = False,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    context: Context = info.context
    viewer = require_viewer(info)
    options = UploadOptions(
        filename=file.filename or "upload",
        folder_id=folder_id,
        title=title,
        languages=tuple(languages) if languages else None,
        ocr_mode=ocr_mode.lower(),
        password=password or None,
        allow_duplicate=bool(allow_duplicate),
        idempotency_key=idempotency_key,
    )
    settings = context.settings

    def upload() -> Node:
        redis = _redis(settings)
        node = upload_document(settings, viewer, file.file, options, redis)
        node_events.publish_updated(redis, [node.id], kind=node_events.CREATED)
        return node

    try:
        node = await run_db(upload)
    except DuplicateDocument as error:
        existing = await run_db(Node.get_by_id, error.existing_id)
        return {**user_errors(error), "duplicate_of": existing}
    except UserFacingError as error:
        return user_errors(error)
    finally:
        await file.close()
    return ok(document=node)


@mutation.field("retryPage")
async def resolve_retry_page(
    _: Any,
    info: GraphQLResolveInfo,
    page_id: str,
    languages: list[str] | None = None,
    engine: str | None = None,
) -> dict[str, Any]:
    context: Context = info.context
    viewer = require_viewer(info)
    try:
        node = await run_db(
            retry_page, context.settings, viewer, _redis(context.settings), page_id, languages,
            _lower(engine),
        )  # fmt: skip
    except UserFacingError as error:
        return user_errors(error)
    await run_db(audit.record, viewer, "retryPage", node_id=node.id, pageId=page_id)
    return ok(document=node)


@mutation.field("reprocessDocument")
async def resolve_reprocess(
    _: Any,
    info: GraphQLResolveInfo,
    document_id: str,
    languages: list[str] | None = None,
    engine: str | None = None,
    ocr_mode: str | None = None,
) -> dict[str, Any]:
    context: Context = info.context
    viewer = require_viewer(info)
    try:
        node = await run_db(
            reprocess_document, context.settings, viewer, _redis(context.settings), document_id,
            languages, _lower(engine), _lower(ocr_mode),
        )  # fmt: skip
    except UserFacingError as error:
        return user_errors(error)
    await run_db(audit.record, viewer, "reprocessDocument", node_id=node.id)
    return ok(document=node)


def _with_document(context: Context, node: Node, use: Callable[[Document], Any]) -> Any:
    """``use`` of the node's Document row: at once when the request has it (see loaders)."""
    return then_in(context, "document", node.id, use)


def _with_version(context: Context, node: Node, use: Callable[[DocumentVersion], Any]) -> Any:
    """``use`` of the document's current version: at once when the request has it."""
    return then_in(context, "current_version", node.id, use)


async def _current_version(info: GraphQLResolveInfo, node: Node) -> DocumentVersion:
    version: DocumentVersion = await load(info, "current_version", node.id)
    return version


def _signed(info: GraphQLResolveInfo, path: str) -> str:
    return signed_url(info, require_viewer(info), path)


def _document_field(attribute: str) -> ContextResolver:
    def read(node: Node, context: Context) -> Any:
        return _with_document(context, node, attrgetter(attribute))

    return ContextResolver(read)


for graphql_name, attribute in (
    ("error", "error"),
    ("originalName", "original_name"),
    ("originalType", "original_type"),
    ("originalSize", "original_size"),
):
    document_type.set_field(graphql_name, _document_field(attribute))


def _status(node: Node, context: Context) -> Any:
    return _with_document(context, node, lambda row: str(row.status).upper())


def _ocr_languages(node: Node, context: Context) -> Any:
    return _with_document(context, node, lambda row: str(row.ocr_languages).split(","))


def _ocr_mode(node: Node, context: Context) -> Any:
    return _with_document(context, node, lambda row: str(row.ocr_mode).upper())


def _ocr_engine(node: Node, context: Context) -> Any:
    return _with_document(context, node, lambda row: str(row.ocr_engine).upper())


def _version_of(node: Node, context: Context) -> Any:
    return _with_version(context, node, lambda version: version)


def _page_count(node: Node, context: Context) -> Any:
    return _with_version(context, node, lambda version: int(version.page_count))


def _pages_processed(node: Node, context: Context) -> Any:
    return _with_version(
        context, node, lambda version: then_in(context, "processed", version.id, int)
    )


# Functions of the row and the request's loaders alone: read the plain way in a listing.
for graphql_name, read in (
    ("status", _status),
    ("ocrLanguages", _ocr_languages),
    ("ocrMode", _ocr_mode),
    ("ocrEngine", _ocr_engine),
    ("currentVersion", _version_of),
    ("pageCount", _page_count),
    ("pagesProcessed", _pages_processed),
):
    document_type.set_field(graphql_name, ContextResolver(read))


@document_type.field("versions")
async def resolve_versions(node: Node, info: GraphQLResolveInfo) -> list[DocumentVersion]:
    def load() -> list[DocumentVersion]:
        query = DocumentVersion.select().where(DocumentVersion.document == node.id)
        return list(query.order_by(DocumentVersion.number))

    return await run_db(load)


@document_type.field("pages")
async def resolve_pages(node: Node, info: GraphQLResolveInfo, **arguments: Any) -> dict[str, Any]:
    version = await _current_version(info, node)
    listing = "pages"
    asked = window("Document", "pages", listing, (int, int), **arguments)

    def load() -> tuple[Slice, int]:
        query = Page.select().where(Page.version == version.id)
        return keyset_page(query, [(Page.number, False), (Page.id, False)], asked), query.count()

    page, total = await run_db(load)
    return connection(page, total, listing)


@document_type.field("originalUrl")
def resolve_original_url(node: Node, info: GraphQLResolveInfo) -> str:
    return _signed(info, f"/files/originals/{node.id}")


@document_type.field("downloadUrl")
async def resolve_download_url(node: Node, info: GraphQLResolveInfo) -> str:
    version = await _current_version(info, node)
    return _signed(info, f"/files/versions/{version.id}")


@document_type.field("thumbnailUrl")
async def resolve_thumbnail_url(
    node: Node, info: GraphQLResolveInfo, size: str = "THUMBNAIL"
) -> str | None:
    """The first page's preview, through one batch for a whole listing (see loaders)."""
    context: Context = info.context
    version = await _current_version(info, node)
    path = Storage(context.settings.storage_dir).preview_path(version.file_hash, 1, size.lower())
    page_id: int | None = await load(info, "thumbnail", (version.id, str(path)))
    return None if page_id is None else _signed(info, f"/files/previews/{page_id}/{size.lower()}")


@version_type.field("downloadUrl")
def resolve_version_url(version: DocumentVersion, info: GraphQLResolveInfo) -> str:
    return _signed(info, f"/files/versions/{version.id}")


@page_type.field("id")
def resolve_page_id(page: Page, *_: Any) -> int:
    return page.logical


@page_type.field("status")
def resolve_page_status(page: Page, *_: Any) -> str:
    return str(page.status).upper()


@page_type.field("source")
def resolve_page_source(page: Page, *_: Any) -> str | None:
    return str(page.source).upper() if page.source else None


@page_type.field("engine")
def resolve_page_engine(page: Page, *_: Any) -> str | None:
    return str(page.engine).upper() if page.engine else None


@page_type.field("words")
def resolve_words(page: Page, *_: Any) -> list[dict[str, Any]]:
    return [asdict(word) for word in decode_words(page.words)]


@document_type.field("urlsExpireAt")
@version_type.field("urlsExpireAt")
@page_type.field("urlsExpireAt")
def resolve_urls_expire_at(_: Any, info: GraphQLResolveInfo) -> datetime:
    require_viewer(info)
    return urls_expire_at(info)


@page_type.field("previewUrl")
def resolve_preview_url(page: Page, info: GraphQLResolveInfo, size: str = "MEDIUM") -> str:
    return _signed(info, f"/files/previews/{page.id}/{size.lower()}")


bindables = [upload_scalar, mutation, document_type, version_type, page_type, word_type]
