"""Page edits in the API: each makes a new version; text carries over, nothing is OCR'd."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType
from graphql import GraphQLResolveInfo

from archivist.core import page_edits
from archivist.core.models import Node
from archivist.core.nodes import parse_id
from archivist.core.users import Viewer
from archivist.graphql.context import Context
from archivist.graphql.organise import (
    call_service,
    feed_first,
    feed_listed,
    reindex_later,
    second,
)
from archivist.graphql.payloads import ok

mutation = MutationType()


def _document(info: GraphQLResolveInfo, document_id: str) -> Any:
    def build(documents: list[int]) -> dict[str, Any]:
        reindex_later(info.context, documents)
        return ok(document=Node.get_by_id(parse_id(document_id)))

    return build


def _settings(info: GraphQLResolveInfo) -> Any:
    context: Context = info.context
    return context.settings


def _with_settings(function: Any, settings: Any) -> Any:
    def call(viewer: Viewer, *args: Any) -> Any:
        return function(settings, viewer, *args)

    return call


@mutation.field("rotatePages")
async def resolve_rotate(
    _: Any, info: GraphQLResolveInfo, document_id: str, pages: list[dict[str, int]]
) -> dict[str, Any]:
    rotations: dict[int, int] = {}
    for item in pages:
        rotations[item["page"]] = rotations.get(item["page"], 0) + item["degrees"]
    service = _with_settings(page_edits.rotate, _settings(info))
    return await call_service(
        info, service, document_id, rotations, payload=_document(info, document_id), reindex=list,
        feed=feed_first,
    )  # fmt: skip


@mutation.field("reorderPages")
async def resolve_reorder(
    _: Any, info: GraphQLResolveInfo, document_id: str, order: list[int]
) -> dict[str, Any]:
    service = _with_settings(page_edits.reorder, _settings(info))
    return await call_service(
        info, service, document_id, order, payload=_document(info, document_id), reindex=list,
        feed=feed_first,
    )  # fmt: skip


@mutation.field("deletePages")
async def resolve_delete_pages(
    _: Any, info: GraphQLResolveInfo, document_id: str, pages: list[int]
) -> dict[str, Any]:
    service = _with_settings(page_edits.delete, _settings(info))
    return await call_service(
        info, service, document_id, pages, payload=_document(info, document_id), reindex=list,
        feed=feed_first,
    )  # fmt: skip


@mutation.field("extractPages")
async def resolve_extract(
    _: Any, info: GraphQLResolveInfo, document_id: str, pages: list[int],
    folder_id: str | None = None, one_per_page: bool = False,
) -> dict[str, Any]:  # fmt: skip
    def build(result: tuple[list[Node], list[int]]) -> dict[str, Any]:
        documents, changed = result
        reindex_later(info.context, changed)
        return ok(documents=documents)

    service = _with_settings(page_edits.extract, _settings(info))
    return await call_service(
        info, service, document_id, pages, folder_id, one_per_page, payload=build, reindex=second,
        feed=feed_first,
    )  # fmt: skip


@mutation.field("movePages")
async def resolve_move_pages(
    _: Any, info: GraphQLResolveInfo, source_id: str, pages: list[int], target_id: str,
    mode: str = "APPEND",
) -> dict[str, Any]:  # fmt: skip
    service = _with_settings(page_edits.move_pages, _settings(info))
    return await call_service(
        info, service, source_id, pages, target_id, mode == "REPLACE",
        payload=_document(info, target_id), reindex=list,
        feed=lambda source, _pages, target, _replace: [source, target],
    )  # fmt: skip


@mutation.field("mergeDocuments")
async def resolve_merge(
    _: Any, info: GraphQLResolveInfo, ids: list[str], title: str | None = None,
    folder_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    def build(result: tuple[Node, list[int]]) -> dict[str, Any]:
        merged, changed = result
        reindex_later(info.context, changed)
        return ok(document=merged)

    service = _with_settings(page_edits.merge, _settings(info))
    return await call_service(
        info, service, ids, title, folder_id, payload=build, reindex=second, feed=feed_listed
    )


bindables = [mutation]
