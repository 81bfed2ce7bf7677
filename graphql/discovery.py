"""Finding more than a query says: ``searchSuggestions`` for a search box, ``similarDocuments``
for a document view, and the "did you mean" of a search that found nothing.

Each answers only with what the viewer may see: words are checked against the viewer's reader
terms in the index (``archivist.indexes.spelling``), names through the access module
(``archivist.core.suggestions``), documents through :func:`readable_by` as search hits are.
"""

from __future__ import annotations

import logging
from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from archivist.core.db import run_db
from archivist.core.errors import NotFound, UserFacingError
from archivist.core.ids import global_id
from archivist.core.models import Node
from archivist.core.nodes import get_node
from archivist.core.permissions import readable_by
from archivist.core.search import search_index
from archivist.core.settings import Settings
from archivist.core.suggestions import named_suggestions
from archivist.core.users import Viewer
from archivist.graphql.context import Context, require_viewer
from archivist.indexes import IndexUnavailable, QueryError

logger = logging.getLogger("archivist.graphql")

query = QueryType()

MAX_FIRST = 50


def _first(first: int | None) -> int:
    count = 10 if first is None else first
    if not 1 <= count <= MAX_FIRST:
        raise UserFacingError("INVALID_FIRST", f"`first` must be 1 to {MAX_FIRST}.", "first")
    return count


def _unavailable(error: IndexUnavailable) -> UserFacingError:
    logger.warning("%s", error)
    return UserFacingError(
        "SEARCH_UNAVAILABLE", "The search index cannot be reached; try again in a moment."
    )


def suggestions(
    settings: Settings, viewer: Viewer, prefix: str, limit: int
) -> list[dict[str, Any]]:
    """Named things first (tags, types, folders), then words, at most ``limit`` in all."""
    found: list[dict[str, Any]] = [
        {
            "kind": named.kind,
            "text": named.text,
            "object_id": global_id(named.type_name, named.row_id),
        }
        for named in named_suggestions(viewer, prefix, limit)
    ][:limit]
    if len(found) < limit:
        try:
            words = search_index(settings).complete(
                prefix[:1000], principals=viewer.principals, limit=limit - len(found)
            )
        except IndexUnavailable as error:
            raise _unavailable(error) from None
        found += [{"kind": "WORD", "text": word, "object_id": None} for word in words]
    return found


@query.field("searchSuggestions")
async def resolve_search_suggestions(
    _: Any, info: GraphQLResolveInfo, prefix: str, first: int | None = 10
) -> list[dict[str, Any]]:
    context: Context = info.context
    viewer = require_viewer(info)
    limit = _first(first)
    return await run_db(suggestions, context.settings, viewer, prefix, limit)


def similar(settings: Settings, viewer: Viewer, document_id: str, limit: int) -> list[Any]:
    node = get_node(viewer, document_id)  # NOT_FOUND when the viewer may not see it
    if node.kind != Node.DOCUMENT or node.deleted_at is not None:
        raise NotFound("document")
    try:
        found = search_index(settings).similar_documents(
            int(node.id), principals=viewer.principals, limit=limit
        )
    except IndexUnavailable as error:
        raise _unavailable(error) from None
    # The index's reader terms can be behind the database: the access module decides.
    ids = [document for document, _ in found]
    readable = Node.select().where(
        Node.id.in_(ids or [0]) & readable_by(viewer) & Node.deleted_at.is_null()
    )
    nodes = {row.id: row for row in readable}
    return [
        {"document": nodes[document], "score": score} for document, score in found
        if document in nodes
    ]  # fmt: skip


@query.field("similarDocuments")
async def resolve_similar_documents(
    _: Any, info: GraphQLResolveInfo, id: str, first: int | None = 10
) -> list[Any]:
    context: Context = info.context
    viewer = require_viewer(info)
    limit = _first(first)
    return await run_db(similar, context.settings, viewer, id, limit)


def suggested_query(
    settings: Settings, viewer: Viewer, text: str, folder_id: int | None
) -> str | None:
    """The respelled query of a search that found nothing, if it finds something."""
    try:
        return search_index(settings).suggest_query(
            text, principals=viewer.principals, folder_id=folder_id
        )
    except QueryError:
        return None
    except IndexUnavailable as error:
        raise _unavailable(error) from None


bindables = [query]
