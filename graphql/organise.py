"""Folders, trash, tags, document types and custom fields in the API.

Mutations that change what the search index holds for documents (title, folder path, tags,
type, trash) record that index work is owed in the same transaction as the change (see
core/index_state.py), then hand those documents to index jobs; the request itself never writes
the index. If the jobs are lost (Redis down or flushed), the reconciler enqueues them again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ariadne import MutationType, ObjectType, QueryType
from graphql import GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_argument_values
from redis.exceptions import RedisError

from archivist.core import doctypes, folders, node_events, tags
from archivist.core.accounts import audit
from archivist.core.db import database, run_db
from archivist.core.errors import UserFacingError
from archivist.core.ids import global_id
from archivist.core.index_state import mark_for_index
from archivist.core.listing import ChildrenQuery, children, cursor_shape
from archivist.core.models import CustomField, DocumentType, Node, Tag
from archivist.core.nodes import get_node, parse_id
from archivist.core.paging import Slice
from archivist.core.permissions import visible_part
from archivist.core.queue import enqueue_index, redis_connection
from archivist.core.users import Viewer
from archivist.graphql.connections import connection, window
from archivist.graphql.context import Context, require_viewer
from archivist.graphql.loaders import fetch_for_rows, prime_all, then_in, wanted_loaders
from archivist.graphql.nodes import item_interface  # one binding per type: its resolve_type
from archivist.graphql.payloads import ok, user_errors
from archivist.graphql.plain_fields import ContextResolver, SourceResolver

query = QueryType()
mutation = MutationType()
folder_type = ObjectType("Folder")
document_type = ObjectType("Document")
custom_field_type = ObjectType("CustomField")
document_type_type = ObjectType("DocumentType")


def reindex_later(context: Context, document_ids: list[int]) -> None:
    """Queue index jobs, after the change's commit; with Redis down the reconciler enqueues
    them when it is back (the debt is in the database)."""
    if document_ids and context.settings.redis_url:
        with contextlib.suppress(RedisError):
            enqueue_index(redis_connection(context.settings), *sorted(set(document_ids)))


def _ids(values: Iterable[Any]) -> list[int]:
    """The well-formed ids among ``values`` (a bad one is the service's to refuse)."""
    found = []
    for value in values:
        with contextlib.suppress(UserFacingError):
            found.append(parse_id(value))
    return found


def _result_nodes(result: Any) -> list[int]:
    """The nodes a service returned: a node, a list of them, or (either, documents)."""
    value = result[0] if isinstance(result, tuple) else result
    return [n.id for n in (value if isinstance(value, list) else [value]) if isinstance(n, Node)]


def arguments(info: GraphQLResolveInfo) -> dict[str, Any]:
    """The arguments of the field being resolved, as the client gave them (for the log)."""
    assert info.parent_type is not None
    field = info.parent_type.fields[info.field_name]
    return dict(get_argument_values(field, info.field_nodes[0], info.variable_values))


def _publisher(context: Context) -> Any:
    return redis_connection(context.settings) if context.settings.redis_url else None


async def call_service(
    info: GraphQLResolveInfo,
    service: Callable[..., Any],
    *args: Any,
    payload: Callable[[Any], dict[str, Any]],
    reindex: Callable[[Any], list[int]] | None = None,
    feed: Callable[..., Iterable[Any]] | None = None,
) -> dict[str, Any]:
    """Run a domain service for the viewer; its UserFacingErrors become the payload's errors.

    With ``reindex`` (which documents of the service's result need index work), the service
    runs in one transaction with :func:`mark_for_index` of those documents. With ``feed``
    (which node ids of the arguments the service changes), the folder change feed gets what
    happened to those nodes and to the nodes the service returns, after the commit (see
    :mod:`archivist.core.node_events`).
    """
    viewer = require_viewer(info)

    def in_transaction(*call_args: Any) -> Any:
        with database.atomic():
            touched = _ids(feed(*call_args[1:])) if feed is not None else []
            before = node_events.node_states(touched)
            result = service(*call_args)
            if reindex is not None:
                mark_for_index(reindex(result))
            audit.record_mutation(
                viewer, info.field_name, [*touched, *_result_nodes(result)], arguments(info)
            )
            if feed is not None:
                after = node_events.node_states([*touched, *_result_nodes(result)])
                changes = node_events.changes_between(before, after)
        if feed is not None:
            node_events.publish(_publisher(info.context), changes)
        return result

    try:
        result = await run_db(in_transaction, viewer, *args)
    except doctypes.FieldErrors as errors:
        merged: dict[str, Any] = {"errors": []}
        for error in errors.errors:
            merged["errors"].extend(user_errors(error)["errors"])
        return merged
    except UserFacingError as error:
        return user_errors(error)
    return payload(result)


def second(result: tuple[Any, list[int]]) -> list[int]:
    """The documents to re-index of a service returning (value, documents)."""
    return result[1]


def node_ids(result: Node) -> list[int]:
    """The document to re-index of a service returning it."""
    return [result.id]


def _with_reindex(info: GraphQLResolveInfo, key: str) -> dict[str, Any]:
    """call_service's payload and reindex for services returning (value, documents)."""

    def build(result: tuple[Any, list[int]]) -> dict[str, Any]:
        value, documents = result
        reindex_later(info.context, documents)
        return ok(**{key: value})

    return {"payload": build, "reindex": second}


def _count_reindexing(info: GraphQLResolveInfo) -> dict[str, Any]:
    """call_service's payload and reindex for services returning the documents."""

    def build(documents: list[int]) -> dict[str, Any]:
        reindex_later(info.context, documents)
        return ok(count=len(documents))

    return {"payload": build, "reindex": list}


# Folders and trash

# Which node ids of a mutation's arguments it changes, for the change feed (see call_service).


def feed_none(*_: Any) -> list[Any]:
    return []


def feed_first(first: Any, *_: Any) -> list[Any]:
    return [first]


def feed_listed(ids: list[Any], *_: Any) -> list[Any]:
    return list(ids)


@mutation.field("createFolder")
async def resolve_create_folder(
    _: Any, info: GraphQLResolveInfo, title: str, parent_id: str | None = None
) -> dict[str, Any]:
    return await call_service(
        info, folders.create_folder, parent_id, title, payload=lambda n: ok(node=n),
        feed=feed_none,
    )  # fmt: skip


@mutation.field("renameNode")
async def resolve_rename(_: Any, info: GraphQLResolveInfo, id: str, title: str) -> dict[str, Any]:
    return await call_service(
        info, folders.rename_node, id, title, **_with_reindex(info, "node"), feed=feed_first
    )


@mutation.field("moveNodes")
async def resolve_move(
    _: Any, info: GraphQLResolveInfo, ids: list[str], target_id: str
) -> dict[str, Any]:
    def build(result: tuple[folders.Move, list[int]]) -> dict[str, Any]:
        move, documents = result
        reindex_later(info.context, documents)
        return ok(nodes=move.nodes, sources=move.sources, target=move.target)

    return await call_service(
        info, folders.move_nodes, ids, target_id, payload=build, reindex=second,
        feed=feed_listed,
    )  # fmt: skip


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

    return await call_service(
        info, folders.copy_document, id, target_id, title, payload=payload, reindex=node_ids,
        feed=feed_none,
    )  # fmt: skip


@mutation.field("deleteNodes")
async def resolve_delete(_: Any, info: GraphQLResolveInfo, ids: list[str]) -> dict[str, Any]:
    def trash(viewer: Viewer, ids: list[str]) -> tuple[list[Node], list[int]]:
        # Looked up before they go: what a share's editor trashes lands in its owner's trash,
        # which the editor does not see (a lookup after it would refuse, and undo, the work).
        nodes = [get_node(viewer, node_id, "ids") for node_id in ids]
        documents = folders.trash_nodes(viewer, ids)
        return [Node.get_by_id(node.id) for node in nodes], documents

    return await call_service(info, trash, ids, **_with_reindex(info, "nodes"), feed=feed_listed)


@mutation.field("restoreNodes")
async def resolve_restore(_: Any, info: GraphQLResolveInfo, ids: list[str]) -> dict[str, Any]:
    return await call_service(
        info, folders.restore_nodes, ids, **_with_reindex(info, "nodes"), feed=feed_listed
    )


@mutation.field("emptyTrash")
async def resolve_empty_trash(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    return await call_service(info, folders.empty_trash, **_count_reindexing(info))


@query.field("trash")
async def resolve_trash(_: Any, info: GraphQLResolveInfo, **arguments: Any) -> dict[str, Any]:
    viewer = require_viewer(info)
    listing = "trash"

    def load() -> tuple[Slice, int]:
        asked = window("Query", "trash", listing, (datetime, int), **arguments)
        return folders.trash_page(viewer, asked)

    try:
        page, total = await run_db(load)
    except UserFacingError as error:
        raise GraphQLError(error.message, extensions={"code": error.code}) from None
    return connection(page, total, listing)


@folder_type.field("children")
async def resolve_children(
    folder: Node,
    info: GraphQLResolveInfo,
    order_by: dict[str, Any] | None = None,
    filter: dict[str, Any] | None = None,
    **arguments: Any,
) -> dict[str, Any]:
    viewer = require_viewer(info)
    order_by, filter = order_by or {}, filter or {}
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
    )
    # A cursor belongs to one order: another order's cursor is refused, not misread.
    listing = ":".join(
        ("children", spec.order_by, "desc" if spec.descending else "asc", spec.field_id or "")
    )
    wanted = wanted_loaders(info)

    def load() -> tuple[Slice, int, dict[str, dict[Any, Any]]]:
        shape = cursor_shape(viewer, spec)
        asked = window("Folder", "children", listing, shape, **arguments)
        page, total = children(viewer, folder, replace(spec, window=asked))
        # What the rows' fields need, read in this same call (see archivist.graphql.loaders).
        return page, total, fetch_for_rows(page.items, wanted)

    try:
        page, total, found = await run_db(load)
    except UserFacingError as error:
        raise GraphQLError(
            error.message, extensions={"code": error.code, "field": error.field}
        ) from None
    prime_all(info, found)
    return connection(page, total, listing)


def _tags_of(node: Node, context: Context) -> Any:
    return then_in(context, "tags", node.id, _same)


def _same(found: Any) -> Any:
    return found


item_interface.set_field("tags", ContextResolver(_tags_of))


@item_interface.field("breadcrumb")
async def resolve_breadcrumb(node: Node, info: GraphQLResolveInfo) -> list[Node]:
    viewer = require_viewer(info)
    return await run_db(lambda: visible_part(viewer, node, folders.ancestors(node)))


# Tags


@query.field("tags")
async def resolve_all_tags(
    _: Any, info: GraphQLResolveInfo, group_id: str | None = None
) -> list[Tag]:
    return await run_db(tags.tags_of, require_viewer(info), group_id)


@mutation.field("createTag")
async def resolve_create_tag(
    _: Any,
    info: GraphQLResolveInfo,
    name: str,
    color: str | None = None,
    group_id: str | None = None,
) -> dict[str, Any]:
    return await call_service(
        info, tags.create_tag, name, color, group_id, payload=lambda t: ok(tag=t)
    )


@mutation.field("updateTag")
async def resolve_update_tag(
    _: Any, info: GraphQLResolveInfo, id: str, name: str | None = None, color: str | None = None
) -> dict[str, Any]:
    return await call_service(info, tags.update_tag, id, name, color, **_with_reindex(info, "tag"))


@mutation.field("deleteTag")
async def resolve_delete_tag(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    def build(result: tuple[tuple[int, list[Node]], list[int]]) -> dict[str, Any]:
        (tag_id, nodes), documents = result
        reindex_later(info.context, documents)
        return ok(deleted_tag_id=global_id("Tag", tag_id), nodes=nodes, count=len(documents))

    return await call_service(info, tags.delete_tag, id, payload=build, reindex=second)


@mutation.field("tagNodes")
async def resolve_tag_nodes(
    _: Any, info: GraphQLResolveInfo, node_ids: list[str], tag_ids: list[str]
) -> dict[str, Any]:
    return await call_service(
        info, tags.tag_nodes, node_ids, tag_ids, **_with_reindex(info, "nodes"),
        feed=feed_listed,
    )  # fmt: skip


@mutation.field("untagNodes")
async def resolve_untag_nodes(
    _: Any, info: GraphQLResolveInfo, node_ids: list[str], tag_ids: list[str]
) -> dict[str, Any]:
    return await call_service(
        info, tags.untag_nodes, node_ids, tag_ids, **_with_reindex(info, "nodes"),
        feed=feed_listed,
    )  # fmt: skip


# Document types and custom fields


@query.field("documentTypes")
async def resolve_document_types(
    _: Any, info: GraphQLResolveInfo, group_id: str | None = None
) -> list[DocumentType]:
    return await run_db(doctypes.types_of, require_viewer(info), group_id)


@mutation.field("createDocumentType")
async def resolve_create_type(
    _: Any,
    info: GraphQLResolveInfo,
    name: str,
    fields: list[dict[str, Any]],
    group_id: str | None = None,
) -> dict[str, Any]:
    specs = [
        doctypes.FieldSpec(f["name"], str(f["kind"]).lower(), tuple(f.get("options") or ()))
        for f in fields
    ]
    return await call_service(
        info, doctypes.create_document_type, name, specs, group_id,
        payload=lambda t: ok(document_type=t),
    )  # fmt: skip


@mutation.field("updateDocumentType")
async def resolve_update_type(
    _: Any, info: GraphQLResolveInfo, id: str, name: str
) -> dict[str, Any]:
    return await call_service(
        info, doctypes.update_document_type, id, name, **_with_reindex(info, "document_type")
    )


@mutation.field("deleteDocumentType")
async def resolve_delete_type(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    return await call_service(info, doctypes.delete_document_type, id, **_count_reindexing(info))


@mutation.field("setDocumentType")
async def resolve_set_type(
    _: Any, info: GraphQLResolveInfo, document_id: str, type_id: str | None = None
) -> dict[str, Any]:
    def payload(node: Node) -> dict[str, Any]:
        reindex_later(info.context, [node.id])
        return ok(document=node)

    return await call_service(
        info, doctypes.set_document_type, document_id, type_id, payload=payload, reindex=node_ids,
        feed=feed_first,
    )  # fmt: skip


@mutation.field("setCustomFieldValues")
async def resolve_set_values(
    _: Any, info: GraphQLResolveInfo, document_id: str, values: list[dict[str, Any]]
) -> dict[str, Any]:
    pairs = [(str(v["field_id"]), v.get("value")) for v in values]
    return await call_service(
        info, doctypes.set_field_values, document_id, pairs, payload=lambda n: ok(document=n),
        feed=feed_first,
    )  # fmt: skip


def _document_type_of(node: Node, context: Context) -> Any:
    def of(document: Any) -> Any:
        if document is None or document.document_type_id is None:
            return None
        return then_in(context, "document_type", document.document_type_id, _same)

    return then_in(context, "document", node.id, of)


def _custom_fields_of(node: Node, context: Context) -> Any:
    def of(document: Any) -> Any:
        if document is None or document.document_type_id is None:
            return []
        return then_in(
            context, "fields", document.document_type_id,
            lambda fields: then_in(context, "values", node.id, lambda values: [
                {"field": field, "value": doctypes.format_value(field, values[field.id])
                 if field.id in values else None}
                for field in fields
            ]),
        )  # fmt: skip

    return then_in(context, "document", node.id, of)


def _type_fields_of(row: DocumentType, context: Context) -> Any:
    return then_in(context, "fields", row.id, _same)


def _field_kind(field: CustomField) -> str:
    return str(field.kind).upper()


def _field_options(field: CustomField) -> list[str]:
    options: list[str] = json.loads(field.options)
    return options


# Functions of the row and the request's loaders alone: read the plain way in a listing.
document_type.set_field("documentType", ContextResolver(_document_type_of))
document_type.set_field("customFields", ContextResolver(_custom_fields_of))
document_type_type.set_field("fields", ContextResolver(_type_fields_of))
custom_field_type.set_field("kind", SourceResolver(_field_kind))
custom_field_type.set_field("options", SourceResolver(_field_options))

bindables = [
    query,
    mutation,
    folder_type,
    document_type,
    custom_field_type,
    document_type_type,
]
