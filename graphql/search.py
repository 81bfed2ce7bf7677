"""``search``: page hits from the index, with snippets and the boxes of the matched words.

The index filters by the viewer's reader terms inside the engine query, so totals, pages
and facets are right for each viewer; here the hits only get their documents and boxes.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLResolveInfo

from archivist.core.db import run_db
from archivist.core.errors import UserFacingError
from archivist.core.models import Node, Page
from archivist.core.pages import decode_words
from archivist.core.search import search_index
from archivist.core.settings import Settings
from archivist.core.users import Viewer
from archivist.graphql.connections import offset_after
from archivist.graphql.context import Context, require_viewer
from archivist.indexes import PageHit, QueryError, SearchResults

query = QueryType()
hit_type = ObjectType("SearchHit")

MAX_FIRST = 100
WORD_EDGES = re.compile(r"^\W+|\W+$")


def _normal(text: str) -> str:
    return WORD_EDGES.sub("", text).casefold()


def _highlights(pages: dict[tuple[int, int], Page], hit: PageHit) -> list[dict[str, Any]]:
    page = pages.get((hit.version_id, hit.page_number))
    if page is None:
        return []
    wanted = {_normal(term) for term in hit.matched_terms}
    return [asdict(word) for word in decode_words(page.words) if _normal(word.text) in wanted]


def _run_search(
    settings: Settings, viewer: Viewer, text: str, limit: int, offset: int, grouped: bool
) -> tuple[SearchResults, dict[int, Node], dict[tuple[int, int], Page]]:
    try:
        results = search_index(settings).search(
            text, principals=viewer.principals, limit=limit, offset=offset,
            group_by_document=grouped,
        )  # fmt: skip
    except QueryError as error:
        raise UserFacingError("INVALID_QUERY", str(error), "query") from None
    hits = [hit for top in results.hits for hit in (top.pages or [top])]
    nodes = {
        node.id: node
        for node in Node.select().where(Node.id.in_({hit.document_id for hit in hits} or {0}))
    }
    wanted = {(hit.version_id, hit.page_number) for hit in hits}
    # One query for every hit's page: the cross product of versions and numbers is a small
    # superset (at most the hits squared), filtered here.
    candidates = Page.select().where(
        Page.version.in_({v for v, _ in wanted} or {0})
        & Page.number.in_({n for _, n in wanted} or {0})
    )
    pages = {(p.version_id, p.number): p for p in candidates if (p.version_id, p.number) in wanted}
    return results, nodes, pages


@query.field("search")
async def resolve_search(
    _: Any,
    info: GraphQLResolveInfo,
    query: str,
    first: int = 20,
    after: str | None = None,
    group_by: str = "PAGE",
) -> dict[str, Any]:
    context: Context = info.context
    viewer = require_viewer(info)
    offset = offset_after(after)
    limit = max(1, min(first, MAX_FIRST))
    results, nodes, pages = await run_db(
        _run_search, context.settings, viewer, query, limit, offset, group_by == "DOCUMENT"
    )

    def as_hit(hit: PageHit) -> dict[str, Any] | None:
        node = nodes.get(hit.document_id)
        if node is None:  # deleted since it was indexed
            return None
        return {
            "document": node,
            "page_number": hit.page_number,
            "score": hit.score,
            "snippet": hit.snippet,
            "highlights": _highlights(pages, hit),
            "pages": [p for p in (as_hit(page) for page in hit.pages) if p is not None],
        }

    # A hit whose document was deleted since it was indexed is left out; cursors keep the
    # positions the index gave, so the next page starts where this one ended.
    edges = [
        {"cursor": str(offset + index), "node": node}
        for index, hit in enumerate(results.hits)
        if (node := as_hit(hit)) is not None
    ]
    return {
        "total_count": results.total,
        "edges": edges,
        "page_info": {
            "has_next_page": offset + len(results.hits) < results.total,
            "end_cursor": str(offset + len(results.hits) - 1) if results.hits else None,
        },
        "tag_facets": [
            {"tag": tag, "count": count}
            for tag, count in sorted(results.tag_facets.items(), key=lambda item: -item[1])
        ],
    }


bindables = [query, hit_type]
