"""Folders, trash, tags, document types and custom fields in the API.

Mutations that change what the search index holds for documents (title, folder path, tags,
type, trash) hand those documents to index jobs; the request itself never writes the index.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from ariadne import MutationType, ObjectType, QueryType
from graphql import GraphQLError, GraphQLResolveInfo
from redis.exceptions import RedisError

from archivist.core import doctypes, folders, tags
from archivist.core.db import run_db
from archivist.core.errors import UserFacingError
from archivist.core.listing import ChildrenQuery, children
from archivist.core.models import CustomField, DocumentType, Node, Tag
from archivist.core.queue import enqueue_index, redis_connection
from archivist.core.users import Viewer
from archivist.graphql.connections import connection, offset_after
from archivist.graphql.context import Context, require_viewer
from archivist.graphql.loaders import load
from archivist.graphql.nodes import node_interface  # one binding per type: its resolve_type
from archivist.graphql.payloads import ok, user_errors

query = QueryType()
mutation = MutationType()
folder_type = ObjectType("Folder")
document_type = ObjectType("Document")
custom_field_type = ObjectType("CustomField")
document_type_type = ObjectType("DocumentType")


def reindex_later(context: Context, document_ids: list[int]) -> None:
    """Queue index jobs; with Redis down, `archivist index check --repair` catches up."""
    if document_ids and context.settings.redis_url:
        with contextlib.suppress(RedisError):
            enqueue_index(redis_connection(context.settings), *sorted(set(document_ids)))


async def call_service(
    info: GraphQLResolveInfo,
    service: Callable[..., Any],
    *args: Any,
    payload: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Run a domain service for the viewer; its UserFacingErrors become the payload's errors."""
    viewer = require_viewer(info)
    try:
        result = await run_db(service, viewer, *args)
    except doctypes.FieldErrors as errors:
        merged: dict[str, Any] = {"errors": []}
        for error in errors.errors:
            merged["errors"].extend(user_errors(error)["errors"])
        return merged
    except UserFacingError as error:
        return user_errors(error)
    return payload(result)


def _with_reindex(info: GraphQLResolveInfo, key: str) -> Callable[[Any], dict[str, Any]]:
    """Payload for services returning (value, documents to re-index)."""

    def build(result: tuple[Any, list[int]]) -> dict[str, Any]:
        value, documents = result
        reindex_later(info.context, documents)
        return ok(**{key: value})

    return build


def _count_reindexing(info: GraphQLResolveInfo) -> Callable[[list[int]], dict[str, Any]]:
    def build(documents: list[int]) -> dict[str, Any]:
        reindex_later(info.context, documents)
        return ok(count=len(documents))

    return build


# Folders and trash


@mutation.field("createFolder")
async def resolve_create_folder(
    _: Any, info: GraphQLResolveInfo, title: str, parent_id: str | None = None
) -> dict[str, Any]:
    return await call_service(
        info, folders.create_folder, parent_id, title, payload=lambda n: ok(node=n)
    )


@mutation.field("renameNode")
async def resolve_rename(_: Any, info: GraphQLResolveInfo, id: str, title: str) -> dict[str, Any]:
    return await call_service(
        info, folders.rename_node, id, title, payload=_with_reindex(info, "node")
    )


@mutation.field("moveNodes")
async def resolve_move(
    _: Any, info: GraphQLResolveInfo, ids: list[str], target_id: str
) -> dict[str, Any]:
    return await call_service(
        info, folders.move_nodes, ids, target_id, payload=_with_reindex(info, "nodes")
    )


@mutation.field("copyDocument")
async def resolve_copy(
    _: Any,
    info: GraphQLResolveInfo,
    id: str,
    target_id: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    def payload(node: Node) -> dict[str, Any]:
        reindex_later(info.context, [node.id])
        return ok(document=node)

    return await call_service(info, folders.copy_document, id, target_id, title, payload=payload)


@mutation.field("deleteNodes")
async def resolve_delete(_: Any, info: GraphQLResolveInfo, ids: list[str]) -> dict[str, Any]:
    def trash(viewer: Viewer, ids: list[str]) -> tuple[list[Node], list[int]]:
        documents = folders.trash_nodes(viewer, ids)
        return [Node.get_by_id(int(node_id)) for node_id in ids], documents

    return await call_service(info, trash, ids, payload=_with_reindex(info, "nodes"))


@mutation.field("restoreNodes")
async def resolve_restore(_: Any, info: GraphQLResolveInfo, ids: list[str]) -> dict[str, Any]:
    return await call_service(
        info, folders.restore_nodes, ids, payload=_with_reindex(info, "nodes")
    )


@mutation.field("emptyTrash")
async def resolve_empty_trash(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    return await call_service(info, folders.empty_trash, payload=_count_reindexing(info))


@query.field("trash")
async def resolve_trash(
    _: Any, info: GraphQLResolveInfo, first: int = 100, after: str | None = None
) -> dict[str, Any]:
    viewer = require_viewer(info)
    offset = offset_after(after)
    items = await run_db(folders.trash_items, viewer)
    return connection(items[offset : offset + max(0, first)], len(items), offset)


@folder_type.field("children")
async def resolve_children(
    folder: Node,
    info: GraphQLResolveInfo,
    first: int = 100,
    after: str | None = None,
    order_by: dict[str, Any] | None = None,
    filter: dict[str, Any] | None = None,
) -> dict[str, Any]:
    viewer = require_viewer(info)
    order_by, filter = order_by or {}, filter or {}
    offset = offset_after(after)
    spec = ChildrenQuery(
        order_by=str(order_by.get("by", "TITLE")).lower(),
        descending=order_by.get("direction") == "DESC",
        field_id=order_by.get("field_id"),
        tag_ids=tuple(filter.get("tags") or ()),
        kind=filter["kind"].lower() if filter.get("kind") else None,
        document_type_id=filter.get("document_type"),
        field_equals=(
            (str(filter["field_value"]["field_id"]), str(filter["field_value"]["value"]))
            if filter.get("field_value")
            else None
        ),
        first=first,
        offset=offset,
    )
    try:
        nodes, total = await run_db(children, viewer, str(folder.id), spec)
    except UserFacingError as error:
        raise GraphQLError(error.message, extensions={"code": error.code}) from None
    return connection(nodes, total, offset)


@node_interface.field("tags")
async def resolve_tags(node: Node, info: GraphQLResolveInfo) -> list[Tag]:
    found: list[Tag] = await load(info, "tags", node.id)
    return found


@node_interface.field("breadcrumb")
async def resolve_breadcrumb(node: Node, info: GraphQLResolveInfo) -> list[Node]:
    return await run_db(folders.ancestors, node)


# Tags


@query.field("tags")
async def resolve_all_tags(_: Any, info: GraphQLResolveInfo) -> list[Tag]:
    return await run_db(tags.tags_of, require_viewer(info))


@mutation.field("createTag")
async def resolve_create_tag(
    _: Any, info: GraphQLResolveInfo, name: str, color: str | None = None
) -> dict[str, Any]:
    return await call_service(info, tags.create_tag, name, color, payload=lambda t: ok(tag=t))


@mutation.field("updateTag")
async def resolve_update_tag(
    _: Any, info: GraphQLResolveInfo, id: str, name: str | None = None, color: str | None = None
) -> dict[str, Any]:
    return await call_service(
        info, tags.update_tag, id, name, color, payload=_with_reindex(info, "tag")
    )


@mutation.field("deleteTag")
async def resolve_delete_tag(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    return await call_service(info, tags.delete_tag, id, payload=_count_reindexing(info))


@mutation.field("tagNodes")
async def resolve_tag_nodes(
    _: Any, info: GraphQLResolveInfo, node_ids: list[str], tag_ids: list[str]
) -> dict[str, Any]:
    return await call_service(
        info, tags.tag_nodes, node_ids, tag_ids, payload=_with_reindex(info, "nodes")
    )


@mutation.field("untagNodes")
async def resolve_untag_nodes(
    _: Any, info: GraphQLResolveInfo, node_ids: list[str], tag_ids: list[str]
) -> dict[str, Any]:
    return await call_service(
        info, tags.untag_nodes, node_ids, tag_ids, payload=_with_reindex(info, "nodes")
    )


# Document types and custom fields


@query.field("documentTypes")
async def resolve_document_types(_: Any, info: GraphQLResolveInfo) -> list[DocumentType]:
    viewer = require_viewer(info)

    def load_types() -> list[DocumentType]:
        query = DocumentType.select().where(DocumentType.owner_user == viewer.id)
        return list(query.order_by(DocumentType.name))

    return await run_db(load_types)


@mutation.field("createDocumentType")
async def resolve_create_type(
    _: Any, info: GraphQLResolveInfo, name: str, fields: list[dict[str, Any]]
) -> dict[str, Any]:
    specs = [
        doctypes.FieldSpec(f["name"], str(f["kind"]).lower(), tuple(f.get("options") or ()))
        for f in fields
    ]
    return await call_service(
        info, doctypes.create_document_type, name, specs, payload=lambda t: ok(document_type=t)
    )


@mutation.field("deleteDocumentType")
async def resolve_delete_type(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    return await call_service(
        info, doctypes.delete_document_type, id, payload=_count_reindexing(info)
    )


@mutation.field("setDocumentType")
async def resolve_set_type(
    _: Any, info: GraphQLResolveInfo, document_id: str, type_id: str | None = None
) -> dict[str, Any]:
    def payload(node: Node) -> dict[str, Any]:
        reindex_later(info.context, [node.id])
        return ok(document=node)

    return await call_service(
        info, doctypes.set_document_type, document_id, type_id, payload=payload
    )


@mutation.field("setCustomFieldValues")
async def resolve_set_values(
    _: Any, info: GraphQLResolveInfo, document_id: str, values: list[dict[str, Any]]
) -> dict[str, Any]:
    pairs = [(str(v["field_id"]), v.get("value")) for v in values]
    return await call_service(
        info, doctypes.set_field_values, document_id, pairs, payload=lambda n: ok(document=n)
    )


@document_type.field("documentType")
async def resolve_document_type(node: Node, info: GraphQLResolveInfo) -> DocumentType | None:
    document = await load(info, "document", node.id)
    if document is None or document.document_type_id is None:
        return None
    found: DocumentType | None = await load(info, "document_type", document.document_type_id)
    return found


@document_type.field("customFields")
async def resolve_custom_fields(node: Node, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    document = await load(info, "document", node.id)
    if document is None or document.document_type_id is None:
        return []
    fields: list[CustomField] = await load(info, "fields", document.document_type_id)
    values = await load(info, "values", node.id)
    return [
        {"field": field, "value": doctypes.format_value(field, values[field.id])
         if field.id in values else None}
        for field in fields
    ]  # fmt: skip


@document_type_type.field("fields")
async def resolve_type_fields(row: DocumentType, info: GraphQLResolveInfo) -> list[CustomField]:
    found: list[CustomField] = await load(info, "fields", row.id)
    return found


@custom_field_type.field("kind")
def resolve_field_kind(field: CustomField, *_: Any) -> str:
    return str(field.kind).upper()


@custom_field_type.field("options")
def resolve_field_options(field: CustomField, *_: Any) -> list[str]:
    options: list[str] = json.loads(field.options)
    return options


bindables = [
    query,
    mutation,
    folder_type,
    document_type,
    custom_field_type,
    document_type_type,
]
